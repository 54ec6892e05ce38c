//! Inspect and maintain the knowledge base: status, list, query, clear, push (Chroma directory -> Chroma server),
//! and the health checks.

use super::embed::{self, Embedder, DIMENSION, MODEL_NAME};
use super::items::Collection;
use super::stores::{self, chroma, persistent, Hit, Record, Store};
use crate::config::Settings;
use crate::error::fail;
use crate::health::{timed, Check, Status};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct CollectionStatus {
    pub count: usize,
    pub dimension: Option<usize>,
    pub foreign: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusOutcome {
    pub store: String,
    pub store_kind: &'static str,
    pub collections: BTreeMap<Collection, CollectionStatus>,
    pub model: Option<String>,
    pub last_trained: Option<String>,
}

pub fn status(store: &mut dyn Store) -> Result<StatusOutcome> {
    let mut collections = BTreeMap::new();
    for c in Collection::ALL {
        let s = store.state(c)?;
        collections.insert(
            c,
            CollectionStatus {
                count: s.ids.len(),
                dimension: s.dimension,
                foreign: s.ids.values().filter(|v| v.is_none()).count(),
            },
        );
    }
    let trained = store.trained()?;
    Ok(StatusOutcome {
        store: store.describe(),
        store_kind: store.kind(),
        collections,
        model: trained.as_ref().map(|t| t.0.clone()),
        last_trained: trained.map(|t| t.1),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub collection: Collection,
    #[serde(flatten)]
    pub record: Record,
}

pub fn list(store: &mut dyn Store, only: &[Collection]) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    for c in Collection::ALL {
        if !only.is_empty() && !only.contains(&c) {
            continue;
        }
        for r in store.records(c, false)? {
            out.push(Listed {
                collection: c,
                record: r,
            });
        }
    }
    Ok(out)
}

/// What the app would retrieve for a question: top-k per collection with distances.
pub fn query(
    store: &mut dyn Store,
    model_dir: &Path,
    question: &str,
    k: usize,
    only: &[Collection],
) -> Result<BTreeMap<Collection, Vec<Hit>>> {
    let embedder = Embedder::load(model_dir)?;
    let v = embedder.embed(&[question], &|_| {})?.remove(0);
    let mut out = BTreeMap::new();
    for c in Collection::ALL {
        if only.is_empty() || only.contains(&c) {
            out.insert(c, store.query(c, &v, k)?);
        }
    }
    Ok(out)
}

/// Remove every record of the given collections (all when empty); returns counts removed.
pub fn clear(store: &mut dyn Store, only: &[Collection]) -> Result<BTreeMap<Collection, usize>> {
    let mut out = BTreeMap::new();
    for c in Collection::ALL {
        if only.is_empty() || only.contains(&c) {
            let n = store.count(c)?;
            store.clear(c)?;
            out.insert(c, n);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    pub from: String,
    pub to: String,
    pub collections: BTreeMap<Collection, PushCounts>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct PushCounts {
    pub source: usize,
    pub already_present: usize,
    pub copied: usize,
}

/// Copy one store into another (the Chroma directory into a server, or back): ids the
/// destination already has are skipped. Checks every collection's dimension before writing.
pub fn push(from: &mut dyn Store, to: &mut dyn Store, dry_run: bool) -> Result<PushOutcome> {
    let mut plan: Vec<(Collection, Vec<Record>, PushCounts)> = Vec::new();
    for c in Collection::ALL {
        let recs = from.records(c, true)?;
        let state = to.state(c)?;
        if let Some(d) = state.dimension {
            let src = recs.first().map(|r| r.embedding.len()).unwrap_or(DIMENSION);
            if d != src {
                return Err(fail(
                    "dimension_mismatch",
                    format!(
                        "collection {c} in {} holds {d}-dimensional embeddings but {} has {src}; nothing was copied",
                        to.describe(),
                        from.describe()
                    ),
                ));
            }
        }
        let have: BTreeSet<&String> = state.ids.keys().collect();
        let mut counts = PushCounts {
            source: recs.len(),
            ..Default::default()
        };
        let new: Vec<Record> = recs.into_iter().filter(|r| !have.contains(&r.id)).collect();
        counts.already_present = counts.source - new.len();
        counts.copied = new.len();
        plan.push((c, new, counts));
    }
    if !dry_run {
        for (c, recs, _) in &plan {
            if !recs.is_empty() {
                to.add(*c, recs)?;
            }
        }
        if let Some((m, at)) = from.trained()? {
            to.set_trained(&m, &at)?;
        }
    }
    Ok(PushOutcome {
        from: from.describe(),
        to: to.describe(),
        collections: plan.into_iter().map(|(c, _, n)| (c, n)).collect(),
        dry_run,
    })
}

/// Health: the store is reachable, what it holds, and that its embeddings are MiniLM-sized.
pub fn health_checks(settings: &Settings) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut opened: Option<Box<dyn Store>> = None;
    let name = if settings.chroma_url.is_some() {
        "chroma reachable"
    } else {
        "chroma directory"
    };
    checks.push(timed("knowledge", name, || {
        if settings.chroma_url.is_none() {
            let db = settings.chroma_path.join(persistent::DB_FILE);
            if settings.knowledge_db_path.is_file() {
                return (
                    Status::Warn,
                    format!(
                        "{} (vannactl's former format, which the app cannot read) is converted into {} by the next `vannactl train`",
                        settings.knowledge_db_path.display(),
                        settings.chroma_path.display()
                    ),
                );
            }
            if !db.exists() {
                return (
                    Status::Warn,
                    format!(
                        "{} does not exist yet; run `vannactl train`",
                        settings.chroma_path.display()
                    ),
                );
            }
            let mut s: Box<dyn Store> =
                Box::new(persistent::PersistentStore::new(&settings.chroma_path));
            return match s.count(Collection::Ddl) {
                Ok(_) => {
                    let d = s.describe();
                    opened = Some(s);
                    (Status::Ok, format!("{d} opens, schema known"))
                }
                Err(e) => (Status::Critical, crate::error::message(&e)),
            };
        }
        match stores::open(settings) {
            Ok(mut s) => match s.count(Collection::Ddl) {
                Ok(_) => {
                    let d = s.describe();
                    opened = Some(s);
                    (Status::Ok, d)
                }
                Err(e) => (Status::Critical, crate::error::message(&e)),
            },
            Err(e) => (Status::Critical, crate::error::message(&e)),
        }
    }));
    if let Some(mut s) = opened {
        checks.push(timed("knowledge", "collections", || {
            match status(s.as_mut()) {
                Ok(st) => {
                    let counts: Vec<String> = st
                        .collections
                        .iter()
                        .map(|(c, v)| format!("{c} {}", v.count))
                        .collect();
                    let wrong: Vec<String> = st
                        .collections
                        .iter()
                        .filter_map(|(c, v)| {
                            v.dimension
                                .filter(|d| *d != DIMENSION)
                                .map(|d| format!("{c} has dimension {d}"))
                        })
                        .collect();
                    let trained = st
                        .last_trained
                        .map(|t| format!(", last trained {t}"))
                        .unwrap_or_default();
                    if !wrong.is_empty() {
                        (
                            Status::Critical,
                            format!("{}; expected {DIMENSION} ({MODEL_NAME})", wrong.join(", ")),
                        )
                    } else if st.collections.values().all(|v| v.count == 0) {
                        (
                            Status::Warn,
                            format!("empty; run `vannactl train` ({})", counts.join(", ")),
                        )
                    } else {
                        (Status::Ok, format!("{}{trained}", counts.join(", ")))
                    }
                }
                Err(e) => (Status::Critical, crate::error::message(&e)),
            }
        }));
    }
    checks.push(timed("knowledge", "embedding model", || {
        let dir = embed::model_dir(settings.embedding_model_dir.as_deref());
        let missing = embed::missing_files(&dir);
        if missing.is_empty() {
            (Status::Ok, format!("{MODEL_NAME} in {}", dir.display()))
        } else {
            let next = if settings.hf_hub_offline {
                "`vannactl train` needs it and HF_HUB_OFFLINE forbids fetching it".to_string()
            } else {
                let endpoint = super::model_fetch::FetchConfig::from_settings(settings)
                    .map(|c| crate::config::mask_url(&c.endpoint))
                    .unwrap_or_default();
                format!("`vannactl train` fetches it from {endpoint}")
            };
            (
                Status::Warn,
                format!(
                    "{MODEL_NAME} missing in {} ({}); {next}",
                    dir.display(),
                    missing.join(", ")
                ),
            )
        }
    }));
    checks
}

/// The store to push into: an explicit URL or CHROMA_URL.
pub fn chroma_store(settings: &Settings, url: &str) -> Result<chroma::ChromaStore> {
    chroma::ChromaStore::connect(chroma::ChromaConfig::from_settings(settings, url))
}

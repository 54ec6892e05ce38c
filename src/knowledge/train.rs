//! `train`: compute the desired items, compare ids with the store, embed and write only what is new,
//! and (with prune, confirmed) remove vannactl's items whose source is gone.
//!
//! Everything that can fail on bad input — schema, training files, the check of every pair, store
//! reachability, embedding dimension, the model, embedding itself — happens before the first write.

use super::ddl_text::ddl_text;
use super::embed::{Embedder, DIMENSION, MODEL_NAME};
use super::items::{Collection, Item};
use super::sources;
use super::stores::{Record, Store};
use crate::config::Settings;
use crate::error::fail;
use crate::output::Output;
use crate::schema::read_only::{self, Dialect};
use crate::schema::samples::Samples;
use crate::schema::{ObjectKind, Schema, Target, Verdict};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

/// Source tags of DDL items start with this; such an item is keyed by its table or view.
pub const DDL_SOURCE_PREFIX: &str = "schema:";

#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Training files; empty = every file in ONTOLOGY_DIR/pairs/ (when present).
    pub pairs: Vec<PathBuf>,
    /// Documentation files; empty = every file in ONTOLOGY_DIR/docs/ (when present).
    pub docs: Vec<PathBuf>,
    pub prune: bool,
    pub dry_run: bool,
    pub model_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SchemaSummary {
    pub source: String,
    pub tables: usize,
    pub views: usize,
    pub skipped: Vec<String>,
}

/// The desired knowledge base and what was read to build it.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub items: Vec<Item>,
    pub schema: SchemaSummary,
    pub pairs_files: Vec<PathBuf>,
    pub docs_files: Vec<PathBuf>,
    pub ontology_terms: usize,
    pub warnings: Vec<String>,
    /// Source prefixes that could not be read this time: their items are never pruned.
    pub unavailable: Vec<String>,
    pub duplicates: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct CollectionPlan {
    pub desired: usize,
    pub present: usize,
    pub to_add: usize,
    pub already_present: usize,
    /// vannactl's items whose source is gone.
    pub stale: usize,
    /// vannactl's DDL items of a table or view whose text changed: removed in the same run.
    pub replaced: usize,
    /// Items others wrote (e.g. the app); never touched.
    pub foreign: usize,
    pub added: usize,
    pub removed: usize,
    /// Items in the collection after the run (before it, for a dry run).
    pub items: usize,
    #[serde(skip)]
    pub stale_ids: Vec<String>,
    #[serde(skip)]
    pub replaced_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainOutcome {
    pub store: String,
    pub store_kind: &'static str,
    pub target: SchemaSummary,
    pub pairs_files: Vec<PathBuf>,
    pub docs_files: Vec<PathBuf>,
    pub ontology_terms: usize,
    pub duplicates: usize,
    pub collections: BTreeMap<Collection, CollectionPlan>,
    pub dry_run: bool,
    pub pruned: bool,
    pub embedded: usize,
    pub embed_ms: u64,
    pub texts_per_sec: f64,
    pub duration_ms: u64,
    pub model: Option<String>,
    pub warnings: Vec<String>,
}

impl TrainOutcome {
    pub fn total(&self, f: impl Fn(&CollectionPlan) -> usize) -> usize {
        self.collections.values().map(f).sum()
    }

    /// Prometheus samples: items per collection after the run.
    pub fn metrics(&self) -> Vec<crate::metrics::Sample> {
        self.collections
            .iter()
            .map(|(c, p)| {
                crate::metrics::Sample::new(
                    "vannactl_knowledge_items",
                    &[("collection", c.name())],
                    p.items as f64,
                )
            })
            .collect()
    }
}

/// Build the desired items: one DDL per table/view, documentation, checked question/SQL pairs.
pub fn desired(settings: &Settings, opts: &TrainOptions) -> Result<Desired> {
    let mut d = Desired::default();
    let mut target = Target::open(settings)?;
    let schema = target.schema()?;
    d.schema = SchemaSummary {
        source: schema.source.clone(),
        tables: schema
            .objects
            .iter()
            .filter(|o| o.kind == ObjectKind::Table)
            .count(),
        views: schema
            .objects
            .iter()
            .filter(|o| o.kind != ObjectKind::Table)
            .count(),
        skipped: schema.skipped.clone(),
    };
    d.items = ddl_items(&mut target, &schema, settings.train_sample_values)?;

    // Training pairs: parse every file, then check every pair; any failure stops the run.
    d.pairs_files = if opts.pairs.is_empty() {
        sources::files_in(
            &sources::default_pairs_dir(settings),
            &["yaml", "yml", "json"],
        )?
    } else {
        opts.pairs.clone()
    };
    let mut pairs = Vec::new();
    for f in &d.pairs_files {
        pairs.extend(sources::load_pairs(f)?);
    }
    let dialect = target.dialect();
    for p in &pairs {
        check_pair(&mut target, dialect, p)?;
        d.items
            .push(Item::question_sql(&p.question, &p.sql, p.origin()));
    }

    // Documentation: files, then the business ontology (a missing system DB is only a warning).
    d.docs_files = if opts.docs.is_empty() {
        sources::files_in(&sources::default_docs_dir(settings), &["md", "txt"])?
    } else {
        opts.docs.clone()
    };
    for f in &d.docs_files {
        for (i, text) in sources::load_docs(f)?.iter().enumerate() {
            d.items.push(Item::documentation(
                text,
                format!("docs:{}#{}", f.display(), i + 1),
            ));
        }
    }
    match sources::ontology_terms(settings) {
        Ok(terms) => {
            d.ontology_terms = terms.len();
            for t in terms {
                d.items.push(Item::documentation(
                    &t.text(),
                    format!("ontology:{}", t.term),
                ));
            }
        }
        Err(w) => {
            d.warnings.push(w);
            d.unavailable.push("ontology:".into());
        }
    }

    // Same content from two sources is one item (same id): keep the first.
    let mut seen = BTreeSet::new();
    let before = d.items.len();
    d.items.retain(|i| seen.insert(i.id.clone()));
    d.duplicates = before - d.items.len();
    Ok(d)
}

/// A pair must be one read-only query (it teaches the app's LLM what SQL to write) and compile
/// against the target: our reading of the statement first, then the database's own verdict.
fn check_pair(target: &mut Target, dialect: Dialect, p: &sources::Pair) -> Result<()> {
    let where_ = || {
        format!(
            "training file {} item {} ({:?})",
            p.file.display(),
            p.index,
            p.question
        )
    };
    let not_read_only = |why: String| {
        fail(
            "training_sql_not_read_only",
            format!(
                "{}: refused, {why}; a training pair teaches the app's LLM what SQL to write, so it \
                 must be one read-only query (SELECT, WITH … SELECT or VALUES): fix or remove it \
                 (nothing was written)",
                where_()
            ),
        )
    };
    read_only::check(&p.sql, dialect).map_err(not_read_only)?;
    match target.check_query(&p.sql) {
        Ok(Verdict::ReadOnly) => Ok(()),
        Ok(Verdict::Writes(why)) => Err(not_read_only(why)),
        Err(e) => Err(fail(
            "training_sql_invalid",
            format!(
                "{}: the SQL does not run against {}: {}; fix or remove it (nothing was written)",
                where_(),
                target.describe(),
                crate::error::message(&e)
            ),
        )),
    }
}

/// One DDL item per table and view (see `ddl_text`), sample values read from `target` when asked.
pub fn ddl_items(target: &mut Target, schema: &Schema, sample_values: bool) -> Result<Vec<Item>> {
    let mut items = Vec::with_capacity(schema.objects.len());
    for o in &schema.objects {
        // Views are not sampled: computing one can cost as much as any query the app runs.
        let samples = if sample_values && o.kind == ObjectKind::Table {
            target.samples(o)?
        } else {
            Samples::default()
        };
        items.push(Item::ddl(
            &ddl_text(schema, o, &samples),
            format!("{DDL_SOURCE_PREFIX}{} {}", o.kind.as_str(), o.name),
        ));
    }
    Ok(items)
}

/// Run training into `store`. `confirm` is asked before pruning (before anything is written).
pub fn train(
    settings: &Settings,
    opts: &TrainOptions,
    store: &mut dyn Store,
    out: &Output,
    confirm: &dyn Fn(&str) -> Result<()>,
) -> Result<TrainOutcome> {
    let started = Instant::now();
    let desired = desired(settings, opts)?;
    let mut outcome = TrainOutcome {
        store: store.describe(),
        store_kind: store.kind(),
        target: desired.schema.clone(),
        pairs_files: desired.pairs_files.clone(),
        docs_files: desired.docs_files.clone(),
        ontology_terms: desired.ontology_terms,
        duplicates: desired.duplicates,
        collections: BTreeMap::new(),
        dry_run: opts.dry_run,
        pruned: false,
        embedded: 0,
        embed_ms: 0,
        texts_per_sec: 0.0,
        duration_ms: 0,
        model: None,
        warnings: desired.warnings.clone(),
    };

    // Compare with what the store holds (read-only).
    let mut new_items: Vec<&Item> = Vec::new();
    for c in Collection::ALL {
        let state = store.state(c)?;
        if let Some(dim) = state.dimension.filter(|d| *d != DIMENSION) {
            return Err(fail(
                "dimension_mismatch",
                format!(
                    "collection {c} in {} holds {dim}-dimensional embeddings, but {MODEL_NAME} makes {DIMENSION}; \
                     it was trained with another model — clear it (`vannactl train clear --collection {c}`) and train again",
                    store.describe()
                ),
            ));
        }
        let want: Vec<&Item> = desired.items.iter().filter(|i| i.collection == c).collect();
        let want_ids: BTreeSet<&str> = want.iter().map(|i| i.id.as_str()).collect();
        // A DDL item is keyed by its object: a new text for the same table replaces the old one.
        let want_ddl_sources: BTreeSet<&str> = want
            .iter()
            .map(|i| i.source.as_str())
            .filter(|s| c == Collection::Ddl && s.starts_with(DDL_SOURCE_PREFIX))
            .collect();
        let mut plan = CollectionPlan {
            desired: want.len(),
            present: state.ids.len(),
            items: state.ids.len(),
            ..Default::default()
        };
        for i in &want {
            if state.ids.contains_key(&i.id) {
                plan.already_present += 1;
            } else {
                new_items.push(i);
            }
        }
        plan.to_add = want.len() - plan.already_present;
        for (id, source) in &state.ids {
            if want_ids.contains(id.as_str()) {
                continue;
            }
            match source {
                Some(s) if want_ddl_sources.contains(s.as_str()) => {
                    plan.replaced_ids.push(id.clone())
                }
                Some(s)
                    if !desired
                        .unavailable
                        .iter()
                        .any(|p| s.starts_with(p.as_str())) =>
                {
                    plan.stale_ids.push(id.clone())
                }
                Some(_) => {}
                None => plan.foreign += 1,
            }
        }
        plan.stale = plan.stale_ids.len();
        plan.replaced = plan.replaced_ids.len();
        outcome.collections.insert(c, plan);
    }
    let stale_total = outcome.total(|p| p.stale);
    let replaced_total = outcome.total(|p| p.replaced);
    if opts.dry_run
        || (new_items.is_empty() && replaced_total == 0 && (stale_total == 0 || !opts.prune))
    {
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(outcome);
    }
    if opts.prune && stale_total > 0 {
        confirm(&format!(
            "Remove {stale_total} knowledge item(s) whose source no longer exists from {}?",
            store.describe()
        ))?;
    }

    // Embed everything new before writing anything.
    let mut adds: Vec<(Collection, Vec<Record>)> = Vec::new();
    if !new_items.is_empty() {
        let fetch = super::model_fetch::FetchConfig::from_settings(settings)?;
        super::model_fetch::ensure(&opts.model_dir, &fetch, out)?;
        let embedder = Embedder::load(&opts.model_dir)?;
        outcome.model = Some(format!("{MODEL_NAME} ({})", opts.model_dir.display()));
        let texts: Vec<&str> = new_items.iter().map(|i| i.document.as_str()).collect();
        let bar = out.progress(texts.len() as u64, "embedding", false);
        let t = Instant::now();
        let vecs = embedder.embed(&texts, &|n| bar.inc(n as u64))?;
        bar.finish();
        outcome.embed_ms = t.elapsed().as_millis() as u64;
        outcome.embedded = vecs.len();
        outcome.texts_per_sec = vecs.len() as f64 / t.elapsed().as_secs_f64().max(1e-9);
        for c in Collection::ALL {
            let recs: Vec<Record> = new_items
                .iter()
                .zip(&vecs)
                .filter(|(i, _)| i.collection == c)
                .map(|(i, v)| Record {
                    id: i.id.clone(),
                    document: i.document.clone(),
                    source: Some(i.source.clone()),
                    embedding: v.clone(),
                })
                .collect();
            adds.push((c, recs));
        }
    }
    // Replaced items always go (their successor is written in the same apply); stale ones only
    // with --prune.
    let deletes: Vec<(Collection, Vec<String>)> = outcome
        .collections
        .iter()
        .map(|(c, p)| {
            let mut ids = p.replaced_ids.clone();
            if opts.prune {
                ids.extend(p.stale_ids.iter().cloned());
            }
            (*c, ids)
        })
        .collect();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    store.apply_trained(&adds, &deletes, (MODEL_NAME, &now))?;
    for (c, recs) in &adds {
        outcome.collections.get_mut(c).expect("planned").added = recs.len();
    }
    for p in outcome.collections.values_mut() {
        if opts.prune {
            p.removed = p.stale_ids.len();
        }
        p.items = p.present + p.added - p.removed - p.replaced;
    }
    outcome.pruned = opts.prune;
    outcome.duration_ms = started.elapsed().as_millis() as u64;
    Ok(outcome)
}

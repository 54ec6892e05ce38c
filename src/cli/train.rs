//! `vannactl train`: build and maintain the knowledge base. Without a subcommand it trains.

use super::{Context, GlobalArgs};
use crate::knowledge::embed;
use crate::knowledge::items::Collection;
use crate::knowledge::ops::{self, PushOutcome, StatusOutcome};
use crate::knowledge::stores::{self, Hit};
use crate::knowledge::train::{self, TrainOptions, TrainOutcome};
use crate::output::{kv_table, table, Output, Report};
use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TrainArgs {
    #[command(subcommand)]
    pub action: Option<TrainAction>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where the knowledge base and the model are (flags override the variables).
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// Chroma server to use (overrides CHROMA_URL; empty CHROMA_URL = the Chroma directory)
    #[arg(long, global = true, value_name = "URL")]
    pub chroma_url: Option<String>,
    /// Chroma persistent directory (overrides CHROMA_PATH)
    #[arg(long, global = true, value_name = "PATH")]
    pub chroma_path: Option<PathBuf>,
    /// Folder with all-MiniLM-L6-v2 (overrides EMBEDDING_MODEL_DIR)
    #[arg(long, global = true, value_name = "PATH")]
    pub model_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Question/SQL training file (YAML or JSON list of {question, sql}); repeatable.
    /// Default: every file in ONTOLOGY_DIR/pairs/
    #[arg(long = "pairs", value_name = "FILE")]
    pub pairs: Vec<PathBuf>,
    /// Documentation file (Markdown/text, one item per heading section); repeatable.
    /// Default: every file in ONTOLOGY_DIR/docs/
    #[arg(long = "docs", value_name = "FILE")]
    pub docs: Vec<PathBuf>,
    /// Also remove vannactl's items whose source no longer exists (asks first)
    #[arg(long)]
    pub prune: bool,
    /// Show the plan (what would be added/removed); change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum TrainAction {
    /// Counts per collection, embedding dimension, last trained, model
    Status,
    /// List stored items
    List(ListArgs),
    /// Top-k items per collection for a question, with distances (what the app would retrieve)
    Query(QueryArgs),
    /// Remove all items of the given collections (all by default); asks first
    Clear(ClearArgs),
    /// Copy the Chroma directory into a Chroma server (promote a dev knowledge base)
    Push(PushArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this collection (ddl, documentation, sql); repeatable
    #[arg(long = "collection", value_name = "NAME", value_parser = parse_collection)]
    pub collections: Vec<Collection>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The question
    pub question: String,
    /// Results per collection (Vanna's default n_results is 10)
    #[arg(short = 'k', long, default_value_t = 10)]
    pub top_k: usize,
    /// Only this collection; repeatable
    #[arg(long = "collection", value_name = "NAME", value_parser = parse_collection)]
    pub collections: Vec<Collection>,
}

#[derive(Debug, Args)]
pub struct ClearArgs {
    /// Only this collection; repeatable
    #[arg(long = "collection", value_name = "NAME", value_parser = parse_collection)]
    pub collections: Vec<Collection>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Chroma server to copy into (default: CHROMA_URL / --chroma-url)
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Show what would be copied; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_collection(s: &str) -> std::result::Result<Collection, String> {
    Collection::parse(s)
        .ok_or_else(|| format!("unknown collection {s:?}; use ddl, documentation or sql"))
}

pub fn run(g: &GlobalArgs, out: &Output, args: TrainArgs) -> Result<Box<dyn Report>> {
    let mut flags = BTreeMap::new();
    if let Some(u) = &args.store.chroma_url {
        flags.insert("CHROMA_URL".to_string(), u.clone());
    }
    if let Some(p) = &args.store.chroma_path {
        flags.insert("CHROMA_PATH".to_string(), p.display().to_string());
    }
    if let Some(p) = &args.store.model_dir {
        flags.insert("EMBEDDING_MODEL_DIR".to_string(), p.display().to_string());
    }
    let ctx = Context::new(g, out, flags)?;
    let s = &ctx.settings;
    let model_dir = embed::model_dir(s.embedding_model_dir.as_deref());
    match args.action {
        None => {
            let opts = TrainOptions {
                pairs: args.run.pairs,
                docs: args.run.docs,
                prune: args.run.prune,
                dry_run: args.run.dry_run,
                model_dir,
            };
            let _lock = if opts.dry_run {
                None
            } else {
                Some(crate::lock::acquire(&s.lock_path, "train")?)
            };
            let mut store = stores::open(s)?;
            let result = train::train(s, &opts, store.as_mut(), out, &|q| ctx.confirm(q));
            if !opts.dry_run {
                ctx.audit("train", &store.describe(), &result, |o| {
                    json!({
                        "added": o.total(|p| p.added),
                        "removed": o.total(|p| p.removed),
                        "replaced": o.total(|p| p.replaced),
                        "skipped": o.total(|p| p.already_present),
                    })
                });
            }
            let o = result?;
            for w in &o.warnings {
                // The report shows warnings (stderr for humans, the JSON field for scripts).
                tracing::warn!(target: crate::logging::FILE_ONLY, "{w}");
            }
            tracing::info!(
                store = %o.store,
                added = o.total(|p| p.added),
                removed = o.total(|p| p.removed),
                dry_run = o.dry_run,
                "train"
            );
            Ok(Box::new(TrainReport(o)))
        }
        Some(TrainAction::Status) => {
            let mut store = stores::open(s)?;
            Ok(Box::new(StatusReport(ops::status(store.as_mut())?)))
        }
        Some(TrainAction::List(a)) => {
            let mut store = stores::open(s)?;
            let items = ops::list(store.as_mut(), &a.collections)?;
            Ok(Box::new(ListReport {
                store: store.describe(),
                items,
            }))
        }
        Some(TrainAction::Query(a)) => {
            if a.top_k == 0 {
                return Err(crate::error::usage("--top-k must be at least 1"));
            }
            let mut store = stores::open(s)?;
            let fetch = crate::knowledge::model_fetch::FetchConfig::from_settings(s)?;
            crate::knowledge::model_fetch::ensure(&model_dir, &fetch, out)?;
            let hits = ops::query(
                store.as_mut(),
                &model_dir,
                &a.question,
                a.top_k,
                &a.collections,
            )?;
            Ok(Box::new(QueryReport {
                question: a.question,
                store: store.describe(),
                hits,
            }))
        }
        Some(TrainAction::Clear(a)) => {
            let _lock = crate::lock::acquire(&s.lock_path, "train clear")?;
            let mut store = stores::open(s)?;
            let which = if a.collections.is_empty() {
                "all collections".to_string()
            } else {
                a.collections
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            ctx.confirm(&format!(
                "Remove every item of {which} from {}?",
                store.describe()
            ))?;
            let result = ops::clear(store.as_mut(), &a.collections);
            ctx.audit(
                "train clear",
                &store.describe(),
                &result,
                |r| json!({ "removed": r }),
            );
            let removed = result?;
            tracing::info!(store = %store.describe(), ?removed, "train clear");
            Ok(Box::new(ClearReport {
                store: store.describe(),
                removed,
            }))
        }
        Some(TrainAction::Push(a)) => {
            let url = a.url.or_else(|| s.chroma_url.clone()).ok_or_else(|| {
                crate::error::usage(
                    "train push needs a Chroma URL: give it as an argument or set CHROMA_URL",
                )
            })?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(crate::error::usage(format!(
                    "{} is not a Chroma URL; use http://host:port",
                    crate::config::mask_url(&url)
                )));
            }
            let _lock = if a.dry_run {
                None
            } else {
                Some(crate::lock::acquire(&s.lock_path, "train push")?)
            };
            let mut from = stores::open_directory(s)?;
            if !from.db_path().exists() {
                return Err(crate::error::fail(
                    "store_missing",
                    format!(
                        "the Chroma directory {} does not exist; train it first (`vannactl train` with CHROMA_URL empty)",
                        s.chroma_path.display()
                    ),
                ));
            }
            let mut to = ops::chroma_store(s, &url)?;
            let result = ops::push(&mut from, &mut to, a.dry_run);
            if !a.dry_run {
                ctx.audit(
                    "train push",
                    &crate::config::mask_url(&url),
                    &result,
                    |o| json!({ "from": o.from, "to": o.to }),
                );
            }
            let o = result?;
            tracing::info!(from = %o.from, to = %o.to, "train push");
            Ok(Box::new(PushReport(o)))
        }
    }
}

struct TrainReport(TrainOutcome);

impl Report for TrainReport {
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        self.0.metrics()
    }

    fn json(&self) -> Value {
        let o = &self.0;
        json!({
            "command": "train",
            "store": o.store,
            "store_kind": o.store_kind,
            "dry_run": o.dry_run,
            "added": o.total(|p| p.added),
            "skipped": o.total(|p| p.already_present),
            "removed": o.total(|p| p.removed),
            "replaced": o.total(|p| p.replaced),
            "stale": o.total(|p| p.stale),
            "to_add": o.total(|p| p.to_add),
            "collections": o.collections,
            "target": o.target,
            "pairs_files": o.pairs_files,
            "docs_files": o.docs_files,
            "ontology_terms": o.ontology_terms,
            "duplicates": o.duplicates,
            "embedded": o.embedded,
            "embed_ms": o.embed_ms,
            "texts_per_sec": o.texts_per_sec,
            "duration_ms": o.duration_ms,
            "model": o.model,
            "warnings": o.warnings,
        })
    }

    fn human(&self, _out: &Output) {
        let o = &self.0;
        for w in &o.warnings {
            eprintln!("warning: {w}");
        }
        let head = if o.dry_run {
            format!("plan for {} ({}), nothing changed:", o.store, o.store_kind)
        } else if o.total(|p| p.added) + o.total(|p| p.removed) + o.total(|p| p.replaced) == 0 {
            format!("{} is up to date", o.store)
        } else {
            format!("trained {} ({})", o.store, o.store_kind)
        };
        println!("{head}");
        let rows = o.collections.iter().map(|(c, p)| {
            vec![
                c.name().to_string(),
                p.desired.to_string(),
                p.already_present.to_string(),
                if o.dry_run { p.to_add } else { p.added }.to_string(),
                p.replaced.to_string(),
                p.stale.to_string(),
                p.removed.to_string(),
                p.foreign.to_string(),
            ]
        });
        let add_col = if o.dry_run { "to add" } else { "added" };
        println!(
            "{}",
            table(
                &[
                    "collection",
                    "desired",
                    "present",
                    add_col,
                    "replaced",
                    "stale",
                    "removed",
                    "others'"
                ],
                rows
            )
        );
        let mut kv = vec![(
            "target",
            format!(
                "{}: {} tables, {} views{}",
                o.target.source,
                o.target.tables,
                o.target.views,
                if o.target.skipped.is_empty() {
                    String::new()
                } else {
                    format!(" (skipped: {})", o.target.skipped.join(", "))
                }
            ),
        )];
        if o.embedded > 0 {
            kv.push((
                "embedding",
                format!(
                    "{} texts in {} ms ({:.1} texts/s)",
                    o.embedded, o.embed_ms, o.texts_per_sec
                ),
            ));
        }
        if o.total(|p| p.stale) > 0 && !o.pruned {
            kv.push((
                "stale",
                "run with --prune to remove items whose source is gone".into(),
            ));
        }
        kv.push(("duration", format!("{} ms", o.duration_ms)));
        println!("{}", kv_table(kv));
    }
}

struct StatusReport(StatusOutcome);

impl Report for StatusReport {
    fn json(&self) -> Value {
        let o = &self.0;
        json!({"command": "train status", "store": o.store, "store_kind": o.store_kind,
               "collections": o.collections, "model": o.model, "last_trained": o.last_trained})
    }

    fn human(&self, _out: &Output) {
        let o = &self.0;
        println!("{} ({})", o.store, o.store_kind);
        let rows = o.collections.iter().map(|(c, v)| {
            vec![
                c.name().to_string(),
                v.count.to_string(),
                v.dimension
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                v.foreign.to_string(),
            ]
        });
        println!(
            "{}",
            table(&["collection", "items", "dimension", "others'"], rows)
        );
        println!(
            "{}",
            kv_table([
                ("model", o.model.clone().unwrap_or_else(|| "-".into())),
                (
                    "last trained",
                    o.last_trained.clone().unwrap_or_else(|| "never".into())
                ),
            ])
        );
    }
}

struct ListReport {
    store: String,
    items: Vec<ops::Listed>,
}

fn preview(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n {
        format!("{}…", one.chars().take(n).collect::<String>())
    } else {
        one
    }
}

impl Report for ListReport {
    fn json(&self) -> Value {
        json!({"command": "train list", "store": self.store, "count": self.items.len(), "items": self.items})
    }

    fn human(&self, _out: &Output) {
        let rows = self.items.iter().map(|i| {
            vec![
                i.collection.name().to_string(),
                i.record.id.clone(),
                i.record
                    .source
                    .clone()
                    .unwrap_or_else(|| "(not vannactl)".into()),
                preview(&i.record.document, 70),
            ]
        });
        println!(
            "{}",
            table(&["collection", "id", "source", "document"], rows)
        );
        println!("{} item(s) in {}", self.items.len(), self.store);
    }
}

struct QueryReport {
    question: String,
    store: String,
    hits: BTreeMap<Collection, Vec<Hit>>,
}

impl Report for QueryReport {
    fn json(&self) -> Value {
        json!({"command": "train query", "question": self.question, "store": self.store,
               "distance": "l2 (squared Euclidean, Chroma's default)", "results": self.hits})
    }

    fn human(&self, _out: &Output) {
        for (c, hits) in &self.hits {
            println!("{c}:");
            let rows = hits.iter().map(|h| {
                vec![
                    format!("{:.4}", h.distance),
                    h.id.clone(),
                    preview(&h.document, 80),
                ]
            });
            println!("{}", table(&["distance", "id", "document"], rows));
        }
    }
}

struct ClearReport {
    store: String,
    removed: BTreeMap<Collection, usize>,
}

impl Report for ClearReport {
    fn json(&self) -> Value {
        json!({"command": "train clear", "store": self.store, "removed": self.removed})
    }

    fn human(&self, _out: &Output) {
        let parts: Vec<String> = self
            .removed
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!("cleared {}: {}", self.store, parts.join(", "));
    }
}

struct PushReport(PushOutcome);

impl Report for PushReport {
    fn json(&self) -> Value {
        let o = &self.0;
        json!({"command": "train push", "from": o.from, "to": o.to, "dry_run": o.dry_run,
               "copied": o.collections.values().map(|c| c.copied).sum::<usize>(),
               "collections": o.collections})
    }

    fn human(&self, _out: &Output) {
        let o = &self.0;
        println!(
            "{} {} → {}",
            if o.dry_run { "would copy" } else { "copied" },
            o.from,
            o.to
        );
        let rows = o.collections.iter().map(|(c, n)| {
            vec![
                c.name().to_string(),
                n.source.to_string(),
                n.already_present.to_string(),
                n.copied.to_string(),
            ]
        });
        let col = if o.dry_run { "to copy" } else { "copied" };
        println!(
            "{}",
            table(
                &["collection", "in the directory", "already there", col],
                rows
            )
        );
    }
}

//! `init`: bring a new or existing environment up to date, idempotently.
//!
//! 1. configuration and system DB connectivity  (critical)
//! 2. golden copy of the target DB               (critical; skipped with ENABLE_TARGET_DB)
//! 3. migrations, admin user, business ontology  (critical)
//! 4. demo data when SEED_DEMO_DATA              (warning on failure)
//! 5. knowledge base when AUTO_TRAIN_CHROMA      (warning on failure)
//!
//! A critical failure stops the run; the steps before it stay done. A second run changes nothing.

use crate::config::Settings;
use crate::error::{classify, message, ExitStatus};
use crate::golden_copy;
use crate::output::Output;
use crate::system_db::{self, admin, Db, OpenMode};
use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct Options {
    /// Update ontology terms whose YAML changed (default: skip them).
    pub update_ontology: bool,
    /// Journal lines of demo data.
    pub seed_rows: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Changed something.
    Done,
    /// Already as wanted.
    Unchanged,
    Skipped,
    /// A non-critical step failed; init went on.
    Warning,
    /// A critical step failed; init stopped.
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Unchanged => "unchanged",
            StepStatus::Skipped => "skipped",
            StepStatus::Warning => "warning",
            StepStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub status: StepStatus,
    pub detail: String,
    pub counts: Value,
    pub duration_ms: u128,
}

/// The critical error that stopped init.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub kind: &'static str,
    pub message: String,
    /// Same shape as every other command's error object.
    pub exit_code: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct InitOutcome {
    pub system_db: String,
    pub steps: Vec<Step>,
    pub changed: bool,
    pub error: Option<Failure>,
    /// Prometheus samples of the steps that ran (golden copy, knowledge base).
    #[serde(skip)]
    pub metrics: Vec<crate::metrics::Sample>,
}

impl InitOutcome {
    pub fn warnings(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Warning)
            .count()
    }
}

struct Runner {
    steps: Vec<Step>,
    error: Option<Failure>,
    /// Something changed that no step's status shows.
    changed: bool,
    metrics: Vec<crate::metrics::Sample>,
}

type StepResult = Result<(StepStatus, String, Value)>;

impl Runner {
    /// Run a step; `Err` from a critical step stops init (returns false).
    fn step(&mut self, name: &'static str, critical: bool, f: impl FnOnce() -> StepResult) -> bool {
        let t = Instant::now();
        let r = f();
        let duration_ms = t.elapsed().as_millis();
        match r {
            Ok((status, detail, counts)) => {
                self.steps.push(Step {
                    name,
                    status,
                    detail,
                    counts,
                    duration_ms,
                });
                true
            }
            Err(e) => {
                let msg = message(&e);
                // A critical failure is printed once by the report; the log file gets it too.
                if critical {
                    tracing::error!(target: crate::logging::FILE_ONLY, "init step {name} failed: {msg}");
                } else {
                    tracing::warn!("init step {name} failed: {msg}");
                }
                self.steps.push(Step {
                    name,
                    status: if critical {
                        StepStatus::Failed
                    } else {
                        StepStatus::Warning
                    },
                    detail: msg.clone(),
                    counts: json!({}),
                    duration_ms,
                });
                if critical {
                    let (kind, status) = classify(&e);
                    // A configuration value to change (e.g. a refused INIT_ADMIN_PASSWORD) exits 2
                    // as in every other command; anything else that stops init exits 1.
                    let status = match status {
                        ExitStatus::Usage => ExitStatus::Usage,
                        _ => ExitStatus::Failure,
                    };
                    self.error = Some(Failure {
                        kind,
                        message: msg,
                        exit_code: status.code(),
                    });
                }
                !critical
            }
        }
    }
}

fn changed(yes: bool) -> StepStatus {
    if yes {
        StepStatus::Done
    } else {
        StepStatus::Unchanged
    }
}

/// Run the steps. Never returns `Err`: failures are in the outcome (`error` for a critical one).
pub fn run(
    settings: &Settings,
    out: &Output,
    confirm: &dyn Fn(&str) -> Result<()>,
    opts: &Options,
) -> InitOutcome {
    let mut r = Runner {
        steps: Vec::new(),
        error: None,
        changed: false,
        metrics: Vec::new(),
    };
    let url = settings.database_url.masked();
    let mut db: Option<Db> = None;
    let ok = r.step("connectivity", true, || {
        let t = Instant::now();
        let existed = match &settings.database_url {
            crate::config::SystemDbUrl::Sqlite(p) => p.exists(),
            crate::config::SystemDbUrl::Postgres(_) => true,
        };
        // A refused admin password stops init before it creates or migrates anything.
        if !existed {
            admin::precheck_init(None, settings)?;
        }
        let mut conn = Db::open_settings(settings, OpenMode::Create)?;
        conn.query_i64("SELECT 1", &[])?;
        if existed {
            admin::precheck_init(Some(&mut conn), settings)?;
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let kind = conn.kind();
        db = Some(conn);
        let mut detail = format!(
            "profile {}; {kind} {url} {} ({ms:.1} ms)",
            settings.profile.as_str(),
            if existed { "reachable" } else { "created" }
        );
        let mut status = changed(!existed);
        // An existing file copied by hand may be group/other-readable: warn, do not chmod.
        if let crate::config::SystemDbUrl::Sqlite(p) = &settings.database_url {
            if let Some(w) = system_db::sqlite::loose_files_warning(p) {
                detail.push_str(&format!("; warning: {w}"));
                status = StepStatus::Warning;
            }
        }
        Ok((
            status,
            detail,
            json!({ "latency_ms": (ms * 10.0).round() / 10.0 }),
        ))
    });
    if ok {
        let mut samples = Vec::new();
        r.step("golden copy", true, || {
            if settings.enable_target_db {
                return Ok((
                    StepStatus::Skipped,
                    "ENABLE_TARGET_DB is true: the app uses the external target database".into(),
                    json!({}),
                ));
            }
            let o = golden_copy::run(
                &golden_copy::Options {
                    source: settings.target_db_source.clone(),
                    dest: settings.target_db_path.clone(),
                    verify: false,
                },
                out,
                confirm,
            )?;
            let status = changed(o.action != golden_copy::Action::UpToDate);
            samples = o.metrics();
            Ok((
                status,
                format!("{} {}", o.copy.path.display(), o.action.as_str()),
                json!({ "bytes_copied": o.bytes_copied, "size": o.copy.size }),
            ))
        });
        r.metrics.extend(samples);
    }
    let mut db = db;
    if r.error.is_none() {
        if let Some(db) = db.as_mut() {
            steps_with_db(&mut r, db, settings, opts);
        }
        if r.error.is_none() {
            train_step(&mut r, settings, out, confirm);
        }
    }
    let changed = r.changed || r.steps.iter().any(|s| s.status == StepStatus::Done);
    InitOutcome {
        system_db: url,
        steps: r.steps,
        changed,
        error: r.error,
        metrics: r.metrics,
    }
}

fn steps_with_db(r: &mut Runner, db: &mut Db, settings: &Settings, opts: &Options) {
    let ok = r.step("migrations", true, || {
        // Held for the rest of init (migrations, admin user, ontology, demo data).
        db.lock_for_init()?;
        system_db::ownership::check_db(db, &settings.database_url.masked())?;
        let m = system_db::migrations::migrate(db)?;
        let detail = if m.applied.is_empty() {
            format!("schema at version {}", m.to_version)
        } else {
            format!(
                "version {} → {} ({})",
                m.from_version,
                m.to_version,
                m.applied.join(", ")
            )
        };
        Ok((
            changed(!m.applied.is_empty()),
            detail,
            json!({ "applied": m.applied.len(), "version": m.to_version }),
        ))
    });
    if !ok {
        return;
    }
    let mut admin_created = false;
    let ok = r.step("admin user", true, || {
        let a = admin::ensure_admin(db, settings)?;
        admin_created = a.action == admin::AdminAction::Created;
        let mut status = match a.action {
            admin::AdminAction::Created => StepStatus::Done,
            admin::AdminAction::NotConfigured => StepStatus::Skipped,
            _ => StepStatus::Unchanged,
        };
        let mut detail = a.detail;
        // Development accepts a password production would refuse, and says so.
        for w in &a.warnings {
            tracing::warn!("{w}");
            detail.push_str(&format!("; warning: {w}"));
            status = StepStatus::Warning;
        }
        Ok((status, detail, json!({ "created": admin_created as u8 })))
    });
    // A warning status hides that the admin was created.
    r.changed |= admin_created;
    if !ok {
        return;
    }
    let ok = r.step("ontology", true, || {
        let dir = &settings.ontology_dir;
        if !dir.is_dir() {
            return Ok((
                StepStatus::Warning,
                format!(
                    "no ontology folder at {}; no business terms loaded (set ONTOLOGY_DIR)",
                    dir.display()
                ),
                json!({ "added": 0, "skipped": 0, "updated": 0, "stale": 0 }),
            ));
        }
        let o = crate::ontology::load(db, dir, opts.update_ontology)?;
        let mut detail = format!(
            "{} added, {} skipped, {} updated from {} file(s) in {}",
            o.added,
            o.skipped,
            o.updated,
            o.files.len(),
            dir.display()
        );
        if !o.differing.is_empty() {
            detail.push_str(&format!(
                "; {} term(s) differ from the YAML and were kept ({}); pass --update-ontology to update them",
                o.differing.len(),
                o.differing.join(", ")
            ));
        }
        if !o.stale.is_empty() {
            detail.push_str(&format!(
                "; {} term(s) in the DB are no longer in the YAML: {} (kept; delete them by hand if the app does not need them)",
                o.stale.len(),
                o.stale.join(", ")
            ));
        }
        Ok((
            changed(o.changed()),
            detail,
            json!({ "added": o.added, "skipped": o.skipped, "updated": o.updated, "stale": o.stale.len(), "files": o.files.len() }),
        ))
    });
    if !ok {
        return;
    }
    r.step("demo data", false, || {
        if !settings.seed_demo_data {
            return Ok((
                StepStatus::Skipped,
                "SEED_DEMO_DATA is false".into(),
                json!({}),
            ));
        }
        let s = crate::seed::seed(db, opts.seed_rows)?;
        let inserted: i64 = s.inserted.values().sum();
        let mut detail = if s.changed() {
            format!(
                "{} journal lines in {} transactions ({} rows/s)",
                s.journal_lines, s.transactions, s.rows_per_sec
            )
        } else {
            format!("present: {} journal lines", s.journal_lines)
        };
        if let Some(n) = &s.note {
            detail.push_str(&format!("; {n}"));
        }
        Ok((
            changed(s.changed()),
            detail,
            json!({ "inserted": inserted, "journal_lines": s.journal_lines, "tables": s.inserted }),
        ))
    });
}

/// Step 5: train the knowledge base when AUTO_TRAIN_CHROMA (incremental: a trained base is a no-op).
fn train_step(
    r: &mut Runner,
    settings: &Settings,
    out: &Output,
    confirm: &dyn Fn(&str) -> Result<()>,
) {
    use crate::knowledge::{embed, stores, train};
    let mut samples = Vec::new();
    r.step("knowledge base", false, || {
        if !settings.auto_train_chroma {
            return Ok((
                StepStatus::Skipped,
                "AUTO_TRAIN_CHROMA is false".into(),
                json!({}),
            ));
        }
        let opts = train::TrainOptions {
            pairs: Vec::new(),
            docs: Vec::new(),
            prune: false,
            dry_run: false,
            model_dir: embed::model_dir(settings.embedding_model_dir.as_deref()),
        };
        let mut store = stores::open(settings)?;
        let o = train::train(settings, &opts, store.as_mut(), out, confirm)?;
        samples = o.metrics();
        let added = o.total(|p| p.added);
        let present = o.total(|p| p.already_present);
        let replaced = o.total(|p| p.replaced);
        let mut detail = format!(
            "{added} added ({replaced} replacing an item of a changed table), {present} already present in {}",
            o.store
        );
        for w in &o.warnings {
            detail.push_str(&format!("; {w}"));
        }
        Ok((
            changed(added > 0),
            detail,
            json!({ "added": added, "replaced": replaced, "skipped": present }),
        ))
    });
    r.metrics.extend(samples);
}

/// `init --check`: is the schema what this build expects? Changes nothing.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub system_db: String,
    pub schema: system_db::SchemaCheck,
    pub tables: BTreeMap<String, i64>,
}

pub fn check(settings: &Settings) -> Result<CheckOutcome> {
    let mut db = Db::open_settings(settings, OpenMode::Existing)?;
    let extra = if settings.seed_demo_data {
        crate::seed::expected_tables()?
    } else {
        crate::seed::expected_tables_if_present(&mut db)?
    };
    let schema = system_db::check_schema(&mut db, &extra)?;
    let mut tables = BTreeMap::new();
    for t in system_db::SYSTEM_TABLES
        .iter()
        .chain(crate::seed::DEMO_TABLES)
    {
        if db.table_exists(t)? {
            tables.insert(t.to_string(), db.count(t)?);
        }
    }
    Ok(CheckOutcome {
        system_db: settings.database_url.masked(),
        schema,
        tables,
    })
}

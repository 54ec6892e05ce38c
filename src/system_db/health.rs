//! System DB checks for `vannactl health`.

use super::{Db, OpenMode, SYSTEM_TABLES};
use crate::config::Settings;
use crate::error::message;
use crate::health::{timed, Check, Options, Status};
use std::time::Instant;

const COMPONENT: &str = "system_db";

/// Connectivity and latency, migration version and schema drift, with `--stats` row counts per
/// table, and on SQLite the files' permissions. Connection details are masked.
pub fn health_checks(settings: &Settings, opts: &Options) -> Vec<Check> {
    let url = settings.database_url.masked();
    let started = Instant::now();
    let mut db = match Db::open_settings(settings, OpenMode::Existing) {
        Ok(db) => db,
        Err(e) => {
            return vec![Check {
                component: COMPONENT,
                name: "connectivity".into(),
                status: Status::Critical,
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
                detail: message(&e),
            }]
        }
    };
    let mut checks = vec![timed(COMPONENT, "connectivity", || {
        match db.query_i64("SELECT 1", &[]) {
            Ok(_) => (
                Status::Ok,
                format!(
                    "{} {url} (connected in {:.1} ms)",
                    db.kind(),
                    started.elapsed().as_secs_f64() * 1000.0
                ),
            ),
            Err(e) => (Status::Critical, format!("{url}: {e:#}")),
        }
    })];
    checks.push(timed(COMPONENT, "schema", || {
        let extra = crate::seed::expected_tables_if_present(&mut db).unwrap_or_default();
        match super::check_schema(&mut db, &extra) {
            Ok(c) if c.version == 0 => (
                Status::Critical,
                format!("{url} has no migrations applied; run `vannactl init`"),
            ),
            Ok(c) if !c.drift.is_empty() => (
                Status::Critical,
                format!(
                    "version {} (expected {}); drift: {}",
                    c.version,
                    c.expected_version,
                    c.drift.join("; ")
                ),
            ),
            Ok(c) if !c.pending.is_empty() => (
                Status::Warn,
                format!(
                    "version {} of {}: pending {}; run `vannactl init`",
                    c.version,
                    c.expected_version,
                    c.pending.join(", ")
                ),
            ),
            Ok(c) => (Status::Ok, format!("migration version {}", c.version)),
            Err(e) => (Status::Critical, format!("{e:#}")),
        }
    }));
    if opts.stats {
        checks.push(timed(COMPONENT, "row counts", || {
            let mut tables: Vec<&str> = SYSTEM_TABLES.to_vec();
            tables.extend(crate::seed::DEMO_TABLES);
            let mut parts = Vec::new();
            for t in tables {
                match db.table_exists(t) {
                    Ok(true) => match db.count(t) {
                        Ok(n) => parts.push(format!("{t}={n}")),
                        Err(e) => return (Status::Warn, format!("count {t}: {e:#}")),
                    },
                    Ok(false) => {}
                    Err(e) => return (Status::Warn, format!("{e:#}")),
                }
            }
            (Status::Ok, parts.join(", "))
        }));
    }
    if let crate::config::SystemDbUrl::Sqlite(p) = &settings.database_url {
        checks.push(timed(
            COMPONENT,
            "file permissions",
            || match super::sqlite::loose_files_warning(p) {
                Some(w) => (Status::Warn, w),
                None => (
                    Status::Ok,
                    format!("{} and its -wal/-shm files are private", p.display()),
                ),
            },
        ));
    }
    checks
}

//! Audit log: every administrative action (init, seed, golden-copy refresh, train, clear, backup,
//! restore, admin reset) writes an `audit_logs` row: actor, action, resource, details, outcome.
//!
//! Recording never fails the caller: when the system DB is unreachable or not initialised the
//! entry goes to the log file instead (tracing target `vannactl::audit`).

use crate::config::Settings;
use crate::system_db::{now_text, Db, OpenMode, Val};
use anyhow::Result;
use serde_json::{json, Value};

pub const LOG_TARGET: &str = "vannactl::audit";

/// Outcome values used by vannactl itself.
pub const SUCCESS: &str = "success";
pub const FAILURE: &str = "failure";

/// Where an entry ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Database,
    LogFile,
}

/// Record an administrative action. Never fails: falls back to the log file.
pub fn record(
    settings: &Settings,
    actor: &str,
    action: &str,
    resource: &str,
    details: Value,
    outcome: &str,
) -> Recorded {
    let at = now_text();
    match try_record(settings, &at, actor, action, resource, &details, outcome) {
        Ok(()) => {
            tracing::info!(target: LOG_TARGET, actor, action, resource, outcome, "audit entry recorded");
            Recorded::Database
        }
        Err(e) => {
            let why = crate::error::message(&e);
            log_only(
                settings, &at, actor, action, resource, details, outcome, &why,
            )
        }
    }
}

/// Write the entry to the log file only. (A system DB found unreachable earlier in the run is not
/// dialled again: `Db::open` fails at once.)
#[allow(clippy::too_many_arguments)]
fn log_only(
    settings: &Settings,
    at: &str,
    actor: &str,
    action: &str,
    resource: &str,
    details: Value,
    outcome: &str,
    why: &str,
) -> Recorded {
    let entry = json!({
        "occurred_at": at, "actor": actor, "action": action, "resource": resource,
        "details": details, "outcome": outcome,
    });
    tracing::warn!(
        target: LOG_TARGET,
        "audit entry written to the log file only (system DB {}: {why}): {entry}",
        settings.database_url.masked(),
    );
    Recorded::LogFile
}

fn try_record(
    settings: &Settings,
    at: &str,
    actor: &str,
    action: &str,
    resource: &str,
    details: &Value,
    outcome: &str,
) -> Result<()> {
    let mut db = Db::open_settings(settings, OpenMode::Existing)?;
    insert(&mut db, at, actor, action, resource, details, outcome)
}

/// Insert one entry on an open connection.
pub fn insert(
    db: &mut Db,
    at: &str,
    actor: &str,
    action: &str,
    resource: &str,
    details: &Value,
    outcome: &str,
) -> Result<()> {
    if !db.table_exists("audit_logs")? {
        anyhow::bail!("audit_logs does not exist yet (run `vannactl init`)");
    }
    db.exec(
        "INSERT INTO audit_logs (occurred_at, actor, action, resource, details, outcome) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            Val::text(at),
            Val::text(actor),
            Val::text(action),
            Val::text(resource),
            Val::text(details.to_string()),
            Val::text(outcome),
        ],
    )?;
    Ok(())
}

/// `success` or `failure` for a result.
pub fn outcome_of<T>(r: &Result<T>) -> &'static str {
    if r.is_ok() {
        SUCCESS
    } else {
        FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sources;

    fn settings(db_url: &str) -> Settings {
        let sources = Sources {
            flags: [("DATABASE_URL".to_string(), db_url.to_string())].into(),
            env: Default::default(),
            env_file: None,
            no_dotenv: true,
        };
        Settings::load(&sources).unwrap()
    }

    #[test]
    fn missing_db_falls_back_without_creating_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("system.db");
        let s = settings(&format!("sqlite://{}", p.display()));
        let r = record(
            &s,
            "me@host",
            "backup",
            "backups/x.tar.gz",
            json!({}),
            SUCCESS,
        );
        assert_eq!(r, Recorded::LogFile);
        assert!(!p.exists());
    }

    #[test]
    fn initialised_db_gets_the_row() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("system.db");
        let mut db = Db::open(
            &crate::config::SystemDbUrl::Sqlite(p.clone()),
            OpenMode::Create,
        )
        .unwrap();
        crate::system_db::migrations::migrate(&mut db).unwrap();
        drop(db);
        let s = settings(&format!("sqlite://{}", p.display()));
        let r = record(&s, "me@host", "restore", "x", json!({"n": 1}), FAILURE);
        assert_eq!(r, Recorded::Database);
        let mut db = Db::open(&s.database_url, OpenMode::Existing).unwrap();
        let rows = db
            .query(
                "SELECT actor, action, details, outcome FROM audit_logs",
                &[],
            )
            .unwrap();
        assert_eq!(
            rows,
            vec![vec![
                Val::text("me@host"),
                Val::text("restore"),
                Val::text("{\"n\":1}"),
                Val::text("failure")
            ]]
        );
    }
}

//! The system database: the app's own state (users, queries, feedback, audit log, configuration,
//! business ontology) on PostgreSQL (production) or an embedded SQLite file (zero-setup default).
//!
//! Both backends sit behind one small [`Db`] type: SQL is written with `$1, $2, ...` placeholders
//! and simple values ([`Val`]); each backend converts them. Per-backend DDL lives in the
//! versioned migrations (`migrations/{postgres,sqlite}/NNNN_name.sql`).

pub mod admin;
mod health;
pub mod migrations;
pub mod ownership;
pub mod password_policy;
mod postgres;
pub(crate) mod sqlite;

pub use self::postgres::connect as connect_postgres;
pub use self::postgres::describe as describe_pg;
pub use health::health_checks;
pub use migrations::{check_schema, SchemaCheck, EXPECTED_VERSION};

use crate::config::{Settings, SystemDbUrl};
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// PostgreSQL URLs found unreachable in this process, with the (masked) reason.
static UNREACHABLE: std::sync::Mutex<BTreeMap<String, String>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Key of the PostgreSQL advisory lock that serialises `init` runs from several hosts.
pub const INIT_LOCK_KEY: i64 = 0x7661_6e6e_6169_6e69; // "vannaini"

/// The system tables every migrated system DB has (besides `schema_migrations`).
pub const SYSTEM_TABLES: &[&str] = &[
    "users",
    "queries",
    "feedback",
    "audit_logs",
    "configurations",
    "business_ontologies",
];

/// A value passed to or read from either backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Val {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn text(s: impl Into<String>) -> Val {
        Val::Text(s.into())
    }
}

impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        v.map(Val::Text).unwrap_or(Val::Null)
    }
}

/// Remember a PostgreSQL system DB URL found unreachable by another client (the backup's dump
/// connection), so the audit entry that follows does not wait the login deadline again.
pub fn note_unreachable(url: &str, message: String) {
    UNREACHABLE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(url.to_string(), message);
}

/// An open system DB connection.
pub enum Db {
    Pg(::postgres::Client),
    Lite(rusqlite::Connection),
}

/// How to open the system DB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the SQLite file (mode 0600) when it does not exist.
    Create,
    /// Fail when the SQLite file does not exist (health, audit, checks must not create it).
    Existing,
}

impl Db {
    /// Connect to the configured system DB. Errors are classified (`db_unreachable`,
    /// `db_auth_failed`, `db_missing`, `db_not_initialised`) and never show the password.
    ///
    /// A PostgreSQL URL found unreachable is remembered for the rest of the process: later opens
    /// (e.g. the audit entry after a failed command) fail at once instead of waiting the connect
    /// timeout again.
    pub fn open(url: &SystemDbUrl, mode: OpenMode) -> Result<Db> {
        match url {
            SystemDbUrl::Postgres(u) => {
                let mut known = UNREACHABLE.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(msg) = known.get(u) {
                    return Err(crate::error::fail(
                        "db_unreachable",
                        format!("{msg} (found unreachable earlier in this run; not retried)"),
                    ));
                }
                // Held while connecting: a concurrent open of the same URL waits for this answer.
                let r = postgres::connect(u);
                if let Err(e) = &r {
                    if crate::error::classify(e).0 == "db_unreachable" {
                        known.insert(u.clone(), crate::error::message(e));
                    }
                }
                r.map(Db::Pg)
            }
            SystemDbUrl::Sqlite(p) => sqlite::open(p, mode).map(Db::Lite),
        }
    }

    pub fn open_settings(settings: &Settings, mode: OpenMode) -> Result<Db> {
        Db::open(&settings.database_url, mode)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Db::Pg(_) => "postgres",
            Db::Lite(_) => "sqlite",
        }
    }

    /// Run several statements (DDL, migrations).
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        match self {
            Db::Pg(c) => c.batch_execute(sql).map_err(postgres::describe),
            Db::Lite(c) => c.execute_batch(sql).map_err(Into::into),
        }
    }

    /// One statement with parameters; returns the number of rows changed.
    pub fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        match self {
            Db::Pg(c) => postgres::exec(c, sql, params),
            Db::Lite(c) => sqlite::exec(c, sql, params),
        }
    }

    /// Rows of a query as [`Val`]s. Columns of types other than integers, floats, text, booleans
    /// and JSON must be cast in SQL (e.g. `CAST(applied_at AS TEXT)`).
    pub fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>> {
        match self {
            Db::Pg(c) => postgres::query(c, sql, params),
            Db::Lite(c) => sqlite::query(c, sql, params),
        }
    }

    /// The first column of the first row as an integer (0 when there is no row or it is NULL).
    pub fn query_i64(&mut self, sql: &str, params: &[Val]) -> Result<i64> {
        let rows = self.query(sql, params)?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(Val::as_i64)
            .unwrap_or(0))
    }

    /// Run `f` in a transaction: committed when it returns Ok, rolled back otherwise.
    pub fn in_tx<T>(&mut self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        // SQLite: take the write lock up front (waiting up to the busy timeout). A deferred
        // transaction that reads first fails at once with SQLITE_BUSY when the app wrote meanwhile.
        self.batch(match self {
            Db::Pg(_) => "BEGIN",
            Db::Lite(_) => "BEGIN IMMEDIATE",
        })?;
        match f(self) {
            Ok(v) => {
                self.batch("COMMIT").context("commit failed")?;
                Ok(v)
            }
            Err(e) => {
                if let Err(rb) = self.batch("ROLLBACK") {
                    tracing::warn!("rollback failed: {rb:#}");
                }
                Err(e)
            }
        }
    }

    /// Wait until no other `init` works on this PostgreSQL system DB (`LOCK_PATH` covers one host
    /// only; CI runners and app replicas share the database). A session advisory lock, released
    /// when the connection closes. SQLite needs none: its file is local to one host.
    pub fn lock_for_init(&mut self) -> Result<()> {
        let Db::Pg(c) = self else { return Ok(()) };
        let got: bool = c
            .query_one("SELECT pg_try_advisory_lock($1)", &[&INIT_LOCK_KEY])
            .map_err(postgres::describe)?
            .get(0);
        if !got {
            tracing::warn!(
                "another vannactl init is working on this system DB; waiting for it to finish"
            );
            c.execute("SELECT pg_advisory_lock($1)", &[&INIT_LOCK_KEY])
                .map_err(postgres::describe)?;
        }
        Ok(())
    }

    /// Every user table with its columns in order.
    pub fn tables(&mut self) -> Result<BTreeMap<String, Vec<String>>> {
        let sql = match self {
            Db::Pg(_) => {
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            }
            Db::Lite(_) => {
                "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
            }
        };
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in self.query(sql, &[])? {
            if let [Val::Text(t), Val::Text(c)] = row.as_slice() {
                out.entry(t.clone()).or_default().push(c.clone());
            }
        }
        Ok(out)
    }

    pub fn table_exists(&mut self, table: &str) -> Result<bool> {
        let sql = match self {
            Db::Pg(_) => {
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
            Db::Lite(_) => "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        };
        Ok(self.query_i64(sql, &[Val::text(table)])? > 0)
    }

    /// `count(*)` of a table (the name must come from our own constants, never from input).
    pub fn count(&mut self, table: &str) -> Result<i64> {
        self.query_i64(&format!("SELECT count(*) FROM {table}"), &[])
    }
}

/// Now as RFC 3339 UTC with milliseconds: the one timestamp format we write on both backends.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_transaction_holds_the_write_lock_from_its_start() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("system.db");
        let mut db = Db::open(&SystemDbUrl::Sqlite(p.clone()), OpenMode::Create).unwrap();
        db.batch("CREATE TABLE t (x INTEGER)").unwrap();
        db.in_tx(|db| {
            // Read first, as seed and the ontology loader do, while another writer (the app) runs.
            db.count("t")?;
            let app = rusqlite::Connection::open(&p)?;
            app.busy_timeout(std::time::Duration::ZERO)?;
            assert!(
                app.execute("INSERT INTO t VALUES (2)", []).is_err(),
                "another connection could write inside our transaction"
            );
            db.exec("INSERT INTO t VALUES (1)", &[])?;
            Ok(())
        })
        .unwrap();
        assert_eq!(db.count("t").unwrap(), 1);
    }
}

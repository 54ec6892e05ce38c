//! Versioned migrations, one SQL file per version and backend, embedded in the binary.
//!
//! `schema_migrations(version, name, checksum, applied_at)` records what ran. All pending
//! migrations run in one transaction together with their bookkeeping rows (which also creates the
//! table), so a failure or a kill leaves the previous version intact, never a version in between.
//! An applied migration whose SQL changed since is an error, never a silent re-run; a database
//! newer than this build is an error too.

use super::{now_text, Db, Val};
use crate::error::fail;
use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

macro_rules! migration {
    ($v:expr, $name:literal, $backend:literal) => {
        Migration {
            version: $v,
            name: $name,
            sql: include_str!(concat!("migrations/", $backend, "/", $name, ".sql")),
        }
    };
}

const POSTGRES: &[Migration] = &[
    migration!(1, "0001_core", "postgres"),
    migration!(2, "0002_queries_feedback", "postgres"),
];

const SQLITE: &[Migration] = &[
    migration!(1, "0001_core", "sqlite"),
    migration!(2, "0002_queries_feedback", "sqlite"),
];

/// The migration version this build brings a system DB to.
pub const EXPECTED_VERSION: i64 = 2;

pub fn for_backend(db: &Db) -> &'static [Migration] {
    match db {
        Db::Pg(_) => POSTGRES,
        Db::Lite(_) => SQLITE,
    }
}

const CREATE_TABLE_PG: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

const CREATE_TABLE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)";

#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub checksum: String,
    pub applied_at: String,
}

/// What `migrate` did.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateOutcome {
    pub from_version: i64,
    pub to_version: i64,
    pub applied: Vec<String>,
}

/// Migrations recorded in the DB (empty when `schema_migrations` does not exist yet).
pub fn applied(db: &mut Db) -> Result<Vec<Applied>> {
    if !db.table_exists("schema_migrations")? {
        return Ok(Vec::new());
    }
    let rows = db.query(
        "SELECT version, name, checksum, CAST(applied_at AS TEXT) FROM schema_migrations ORDER BY version",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| Applied {
            version: r[0].as_i64().unwrap_or(0),
            name: r[1].as_str().unwrap_or_default().to_string(),
            checksum: r[2].as_str().unwrap_or_default().to_string(),
            applied_at: r[3].as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

/// Problems with the recorded migrations: changed checksums, unknown (newer) versions.
pub fn verify_history(known: &[Migration], applied: &[Applied]) -> Vec<String> {
    let mut problems = Vec::new();
    for a in applied {
        match known.iter().find(|m| m.version == a.version) {
            None => problems.push(format!(
                "migration {} ({}) is recorded in schema_migrations but unknown to this build (expects version {EXPECTED_VERSION}); the database was migrated by a newer vannactl — upgrade vannactl",
                a.version, a.name
            )),
            Some(m) if m.checksum() != a.checksum => problems.push(format!(
                "migration {} ({}) was changed after it was applied (recorded checksum {}, this build {}); restore the original migration file instead of editing it, and add a new migration",
                a.version,
                a.name,
                &a.checksum[..a.checksum.len().min(12)],
                &m.checksum()[..12]
            )),
            Some(_) => {}
        }
    }
    problems
}

/// Bring the DB to [`EXPECTED_VERSION`]. The pending migrations and their bookkeeping rows commit
/// together.
pub fn migrate(db: &mut Db) -> Result<MigrateOutcome> {
    let create_table = match db {
        Db::Pg(_) => CREATE_TABLE_PG,
        Db::Lite(_) => CREATE_TABLE_SQLITE,
    };
    let known = for_backend(db);
    let done = applied(db)?;
    let problems = verify_history(known, &done);
    if !problems.is_empty() {
        return Err(fail("migration_history", problems.join("; ")));
    }
    let from = done.iter().map(|a| a.version).max().unwrap_or(0);
    let pending: Vec<&Migration> = known
        .iter()
        .filter(|m| !done.iter().any(|a| a.version == m.version))
        .collect();
    if pending.is_empty() {
        return Ok(MigrateOutcome {
            from_version: from,
            to_version: from,
            applied: Vec::new(),
        });
    }
    // All pending migrations and their bookkeeping rows commit together (DDL is transactional in
    // both backends): a run killed or failing anywhere leaves the DB exactly at `from`, never
    // between two versions.
    db.in_tx(|db| {
        // Created in the same transaction: a run that does not commit leaves no empty
        // bookkeeping table behind.
        db.batch(create_table)
            .context("cannot create schema_migrations")?;
        for m in &pending {
            db.batch(m.sql)
                .and_then(|_| {
                    db.exec(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                        &[
                            Val::Int(m.version),
                            Val::text(m.name),
                            Val::text(m.checksum()),
                            Val::text(now_text()),
                        ],
                    )
                })
                .with_context(|| format!("migration {} ({})", m.version, m.name))?;
        }
        Ok(())
    })
    .map_err(|e| {
        fail(
            "migration_failed",
            format!("{e:#}; rolled back: the system DB stays at version {from}"),
        )
    })?;
    let applied_now: Vec<String> = pending.iter().map(|m| m.name.to_string()).collect();
    for m in &pending {
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(MigrateOutcome {
        from_version: from,
        to_version: known.iter().map(|m| m.version).max().unwrap_or(0),
        applied: applied_now,
    })
}

/// Tables and columns the migrations up to `version` create, from the SQLite migrations applied
/// to a scratch in-memory DB (the PostgreSQL migrations define the same names; `init --check` on
/// PostgreSQL in the end-to-end tests keeps the two honest).
pub fn expected_tables(version: i64) -> Result<BTreeMap<String, Vec<String>>> {
    let mut db = Db::Lite(rusqlite::Connection::open_in_memory()?);
    db.batch(CREATE_TABLE_SQLITE)?;
    for m in SQLITE.iter().filter(|m| m.version <= version) {
        db.batch(m.sql)?;
    }
    db.tables()
}

/// Result of validating a system DB against this build.
#[derive(Debug, Clone, Serialize)]
pub struct SchemaCheck {
    pub backend: &'static str,
    pub expected_version: i64,
    pub version: i64,
    pub pending: Vec<String>,
    /// Every difference, precisely (empty when the schema is what this build expects).
    pub drift: Vec<String>,
}

impl SchemaCheck {
    pub fn ok(&self) -> bool {
        self.drift.is_empty() && self.pending.is_empty()
    }
}

/// Compare the DB with what this build expects: migration history, tables, columns. `extra`
/// adds expected tables (the demo tables when demo data is on). Changes nothing.
pub fn check_schema(db: &mut Db, extra: &BTreeMap<String, Vec<String>>) -> Result<SchemaCheck> {
    let known = for_backend(db);
    let done = applied(db)?;
    let mut drift = verify_history(known, &done);
    let version = done.iter().map(|a| a.version).max().unwrap_or(0);
    let pending: Vec<String> = known
        .iter()
        .filter(|m| !done.iter().any(|a| a.version == m.version))
        .map(|m| m.name.to_string())
        .collect();
    // Drift is measured against what the recorded migrations created: tables of pending
    // migrations are pending, not missing. A DB with none recorded is compared with everything.
    let mut expected = expected_tables(if version == 0 {
        EXPECTED_VERSION
    } else {
        version
    })?;
    expected.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let actual = db.tables()?;
    for (table, cols) in &expected {
        let Some(have) = actual.get(table) else {
            drift.push(format!("table {table} is missing"));
            continue;
        };
        for c in cols {
            if !have.contains(c) {
                drift.push(format!("column {table}.{c} is missing"));
            }
        }
        for c in have {
            if !cols.contains(c) {
                drift.push(format!("column {table}.{c} is not in the expected schema"));
            }
        }
    }
    Ok(SchemaCheck {
        backend: db.kind(),
        expected_version: EXPECTED_VERSION,
        version,
        pending,
        drift,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> Db {
        Db::Lite(rusqlite::Connection::open_in_memory().unwrap())
    }

    #[test]
    fn versions_are_consecutive_and_match_both_backends() {
        for set in [POSTGRES, SQLITE] {
            for (i, m) in set.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1);
                assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            }
            assert_eq!(set.last().unwrap().version, EXPECTED_VERSION);
        }
        let names = |s: &[Migration]| s.iter().map(|m| m.name).collect::<Vec<_>>();
        assert_eq!(names(POSTGRES), names(SQLITE));
    }

    #[test]
    fn migrate_is_idempotent_and_check_is_clean() {
        let mut db = mem();
        let first = migrate(&mut db).unwrap();
        assert_eq!((first.from_version, first.applied.len()), (0, 2));
        let second = migrate(&mut db).unwrap();
        assert!(second.applied.is_empty());
        let check = check_schema(&mut db, &BTreeMap::new()).unwrap();
        assert!(check.ok(), "{check:?}");
        for t in super::super::SYSTEM_TABLES {
            assert!(db.table_exists(t).unwrap(), "{t}");
        }
    }

    #[test]
    fn changed_migration_is_an_error_not_a_rerun() {
        let mut db = mem();
        migrate(&mut db).unwrap();
        db.exec(
            "UPDATE schema_migrations SET checksum = 'abc' WHERE version = 1",
            &[],
        )
        .unwrap();
        let err = migrate(&mut db).unwrap_err();
        assert!(
            format!("{err:#}").contains("was changed after it was applied"),
            "{err:#}"
        );
        let check = check_schema(&mut db, &BTreeMap::new()).unwrap();
        assert_eq!(check.drift.len(), 1, "{check:?}");
    }

    #[test]
    fn drift_is_reported_precisely() {
        let mut db = mem();
        migrate(&mut db).unwrap();
        db.batch("ALTER TABLE users ADD COLUMN nickname TEXT; DROP TABLE feedback;")
            .unwrap();
        let check = check_schema(&mut db, &BTreeMap::new()).unwrap();
        assert_eq!(
            check.drift,
            vec![
                "table feedback is missing".to_string(),
                "column users.nickname is not in the expected schema".to_string()
            ]
        );
    }

    #[test]
    fn pending_migration_is_pending_not_drift() {
        // A DB at version 1 (e.g. before `init` of a newer build): migration 2's tables are
        // pending, not missing.
        let mut db = mem();
        db.batch(CREATE_TABLE_SQLITE).unwrap();
        db.batch(SQLITE[0].sql).unwrap();
        db.exec(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (1, $1, $2)",
            &[Val::text(SQLITE[0].name), Val::text(SQLITE[0].checksum())],
        )
        .unwrap();
        let check = check_schema(&mut db, &BTreeMap::new()).unwrap();
        assert_eq!(check.version, 1);
        assert_eq!(check.pending, vec!["0002_queries_feedback".to_string()]);
        assert!(check.drift.is_empty(), "{check:?}");
        // Real drift at that version is still reported.
        db.batch("DROP TABLE configurations").unwrap();
        let check = check_schema(&mut db, &BTreeMap::new()).unwrap();
        assert_eq!(
            check.drift,
            vec!["table configurations is missing".to_string()]
        );
    }

    #[test]
    fn failed_migration_rolls_back() {
        let mut db = mem();
        migrate(&mut db).unwrap();
        // A table in the way makes migration 2 fail when replayed from scratch.
        let mut fresh = mem();
        fresh.batch("CREATE TABLE queries (x)").unwrap();
        let err = migrate(&mut fresh).unwrap_err();
        // One transaction: migration 1, which succeeded, is rolled back with it.
        assert!(format!("{err:#}").contains("stays at version 0"), "{err:#}");
        assert!(
            format!("{err:#}").contains("migration 2 (0002_queries_feedback)"),
            "{err:#}"
        );
        assert!(applied(&mut fresh).unwrap().is_empty());
        assert!(!fresh.table_exists("feedback").unwrap());
        assert!(!fresh.table_exists("users").unwrap());
    }

    #[test]
    fn failed_first_migration_leaves_no_bookkeeping_table() {
        // A table in the way of migration 1: nothing commits, so nothing at all is created (a
        // run killed before the first commit leaves the database as it was, too).
        let mut db = mem();
        db.batch("CREATE TABLE users (x)").unwrap();
        let err = migrate(&mut db).unwrap_err();
        assert!(format!("{err:#}").contains("stays at version 0"), "{err:#}");
        assert!(!db.table_exists("schema_migrations").unwrap());
        assert!(applied(&mut db).unwrap().is_empty());
    }
}

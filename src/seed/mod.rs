//! Demo data (`SEED_DEMO_DATA`): departments, a chart of accounts and a balanced double-entry
//! journal (`accounting_transactions`). Deterministic and idempotent: a re-run inserts nothing.
//! PostgreSQL gets one `COPY` in one transaction; SQLite one prepared statement in one transaction.
//! `reset` drops the demo tables only; system tables are never touched.

pub mod generate;

use crate::error::{fail, usage};
use crate::system_db::{Db, Val};
use anyhow::{Context, Result};
use generate::{money, Journal, ACCOUNTS, DEPARTMENTS};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

/// The demo tables, in the order they can be dropped.
pub const DEMO_TABLES: &[&str] = &[
    "accounting_transactions",
    "chart_of_accounts",
    "departments",
];

pub const DEFAULT_ROWS: i64 = 10_000;

/// A journal transaction has at least two lines.
const MIN_ROWS: i64 = 2;

fn too_small(rows: i64) -> String {
    format!("{rows} is too small: a journal transaction has at least {MIN_ROWS} lines")
}

/// Clap parser for `seed --rows` and `init --seed-rows`: refuses a bad size before anything runs.
pub fn parse_rows(s: &str) -> std::result::Result<i64, String> {
    let rows: i64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number of journal lines"))?;
    if rows < MIN_ROWS {
        return Err(too_small(rows));
    }
    Ok(rows)
}

const SCHEMA_PG: &str = include_str!("schema/postgres.sql");
const SCHEMA_SQLITE: &str = include_str!("schema/sqlite.sql");
const KEYS_PG: &str = include_str!("schema/postgres_keys.sql");
const KEYS_SQLITE: &str = include_str!("schema/sqlite_keys.sql");

#[derive(Debug, Clone, Serialize)]
pub struct SeedOutcome {
    pub requested_rows: i64,
    /// Rows inserted per demo table by this run (all zero on a re-run).
    pub inserted: BTreeMap<String, i64>,
    /// Journal lines present after the run.
    pub journal_lines: i64,
    pub transactions: i64,
    pub duration_ms: u128,
    pub rows_per_sec: u64,
    /// Set when the journal already held a different number of lines than requested.
    pub note: Option<String>,
}

impl SeedOutcome {
    pub fn changed(&self) -> bool {
        self.inserted.values().any(|n| *n > 0)
    }
}

fn schema(db: &Db) -> &'static str {
    match db {
        Db::Pg(_) => SCHEMA_PG,
        Db::Lite(_) => SCHEMA_SQLITE,
    }
}

/// Tables and columns of the demo schema.
pub fn expected_tables() -> Result<BTreeMap<String, Vec<String>>> {
    let mut db = Db::Lite(rusqlite::Connection::open_in_memory()?);
    db.batch(SCHEMA_SQLITE)?;
    db.tables()
}

/// The demo tables' expected columns when any demo table exists (for schema checks).
pub fn expected_tables_if_present(db: &mut Db) -> Result<BTreeMap<String, Vec<String>>> {
    for t in DEMO_TABLES {
        if db.table_exists(t)? {
            return expected_tables();
        }
    }
    Ok(BTreeMap::new())
}

/// Create the demo tables and fill them with `rows` journal lines (when empty).
pub fn seed(db: &mut Db, rows: i64) -> Result<SeedOutcome> {
    if rows < MIN_ROWS {
        return Err(usage(too_small(rows)));
    }
    let started = Instant::now();
    let ddl = schema(db);
    // Keys and indexes of a freshly created journal are built after the load (see the DDL).
    let mut outcome = db.in_tx(|db| {
        let created = !db.table_exists("accounting_transactions")?;
        db.batch(ddl).context("cannot create the demo tables")?;
        let mut inserted = BTreeMap::new();
        let mut n = 0;
        for (id, code, name, cc) in DEPARTMENTS {
            n += db.exec(
                "INSERT INTO departments (id, code, name, cost_center) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[Val::Int(*id), Val::text(*code), Val::text(*name), Val::text(*cc)],
            )? as i64;
        }
        inserted.insert("departments".to_string(), n);
        let mut n = 0;
        for (id, code, name, ty, normal) in ACCOUNTS {
            n += db.exec(
                "INSERT INTO chart_of_accounts (id, code, name, account_type, normal_balance) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[Val::Int(*id), Val::text(*code), Val::text(*name), Val::text(*ty), Val::text(*normal)],
            )? as i64;
        }
        inserted.insert("chart_of_accounts".to_string(), n);
        let existing = db.count("accounting_transactions")?;
        let mut note = None;
        let lines = if existing == 0 {
            let t = Instant::now();
            let n = match db {
                Db::Pg(c) => copy_pg(c, rows, created)?,
                Db::Lite(c) => insert_sqlite(c, rows)?,
            };
            tracing::info!("loaded {n} journal lines in {} ms", t.elapsed().as_millis());
            let t = Instant::now();
            match db {
                Db::Pg(_) if created => db.batch(KEYS_PG)?,
                Db::Pg(_) => {}
                Db::Lite(_) => db.batch(KEYS_SQLITE)?,
            }
            tracing::info!("built keys and indexes in {} ms", t.elapsed().as_millis());
            n
        } else {
            if existing != rows {
                note = Some(format!(
                    "the journal already holds {existing} lines (asked for {rows}); run `vannactl seed --reset` first to change its size"
                ));
            }
            0
        };
        inserted.insert("accounting_transactions".to_string(), lines);
        Ok(SeedOutcome {
            requested_rows: rows,
            inserted,
            journal_lines: 0,
            transactions: 0,
            duration_ms: 0,
            rows_per_sec: 0,
            note,
        })
    })?;
    outcome.journal_lines = db.count("accounting_transactions")?;
    // Transaction ids are consecutive from 1 (the generator's invariant): no full scan needed.
    outcome.transactions = db.query_i64(
        "SELECT max(transaction_id) FROM accounting_transactions",
        &[],
    )?;
    outcome.duration_ms = started.elapsed().as_millis();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    outcome.rows_per_sec = (outcome.inserted.values().sum::<i64>() as f64 / secs) as u64;
    Ok(outcome)
}

/// `fresh`: the table was created in this transaction, so `FREEZE` applies (no later vacuum
/// rewrite of every page, as `pgbench -i` does).
fn copy_pg(c: &mut postgres::Client, rows: i64, fresh: bool) -> Result<i64> {
    let sql = format!(
        "COPY accounting_transactions (id, transaction_id, line_no, entry_date, account_id, department_id, description, reference, debit, credit) FROM STDIN{}",
        if fresh { " WITH (FREEZE)" } else { "" }
    );
    let mut w = c
        .copy_in(&sql)
        .map_err(|e| anyhow::anyhow!("COPY into accounting_transactions failed: {e}"))?;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut n = 0;
    for l in Journal::new(rows) {
        // Text COPY format: tab-separated, \N for NULL; our descriptions hold no tabs or backslashes.
        let dept = l.department_id.map(|d| d.to_string());
        writeln!(
            buf,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            l.id,
            l.transaction_id,
            l.line_no,
            l.entry_date,
            l.account_id,
            dept.as_deref().unwrap_or("\\N"),
            l.description,
            l.reference,
            money(l.debit),
            money(l.credit)
        )?;
        n += 1;
        if buf.len() > (1 << 20) - 512 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    w.finish()
        .map_err(crate::system_db::describe_pg)
        .context("COPY into accounting_transactions failed")?;
    Ok(n)
}

fn insert_sqlite(c: &mut rusqlite::Connection, rows: i64) -> Result<i64> {
    let mut stmt = c.prepare(
        "INSERT INTO accounting_transactions (id, transaction_id, line_no, entry_date, account_id, department_id, description, reference, debit, credit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut n = 0;
    for l in Journal::new(rows) {
        stmt.execute(rusqlite::params![
            l.id,
            l.transaction_id,
            l.line_no,
            l.entry_date.to_string(),
            l.account_id,
            l.department_id,
            l.description,
            l.reference,
            l.debit as f64 / 100.0,
            l.credit as f64 / 100.0,
        ])?;
        n += 1;
    }
    Ok(n)
}

#[derive(Debug, Clone, Serialize)]
pub struct ResetOutcome {
    /// Rows each dropped demo table held.
    pub removed: BTreeMap<String, i64>,
}

/// Drop the demo tables (and their rows). System tables are never touched.
pub fn reset(db: &mut Db) -> Result<ResetOutcome> {
    db.in_tx(|db| {
        let mut removed = BTreeMap::new();
        for t in DEMO_TABLES {
            if db.table_exists(t)? {
                removed.insert(t.to_string(), db.count(t)?);
                db.batch(&format!("DROP TABLE {t}"))?;
            }
        }
        Ok(ResetOutcome { removed })
    })
}

/// Demo data needs an initialised system DB (for its audit log and schema checks).
pub fn require_initialised(db: &mut Db) -> Result<()> {
    let applied = crate::system_db::migrations::applied(db)?;
    if applied.is_empty() {
        return Err(fail(
            "db_not_initialised",
            "the system DB has no migrations applied; run `vannactl init` first",
        ));
    }
    Ok(())
}

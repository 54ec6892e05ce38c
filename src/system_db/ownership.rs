//! Is the database `DATABASE_URL` names really a vannactl system DB? Ours when it holds
//! `schema_migrations`, or no table at all (new, or an init killed before its first commit).
//! Anything else is someone's data: nothing is written to it, not even SQLite's journal-mode header
//! or an audit row, and neither migrations nor a restore touch it.

use crate::error::{Classified, ExitStatus};
use anyhow::Result;

const BOOKKEEPING: &str = "schema_migrations";

/// Exit 2 unless `tables` (the database's user tables) are those of a vannactl system DB.
pub fn check_tables(shown_url: &str, tables: &[String]) -> Result<()> {
    if tables.is_empty() || tables.iter().any(|t| t == BOOKKEEPING) {
        return Ok(());
    }
    let mut names = tables.to_vec();
    names.sort();
    let more = names.len().saturating_sub(5);
    names.truncate(5);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Err(not_ours(format!(
        "DATABASE_URL={shown_url} holds tables ({}{more}) but no {BOOKKEEPING}: it is not a vannactl \
         system DB and was left untouched — point DATABASE_URL at the system DB (or an empty database)",
        names.join(", ")
    )))
}

/// A file that SQLite cannot read as a database.
pub fn not_sqlite(shown_url: &str) -> anyhow::Error {
    not_ours(format!(
        "DATABASE_URL={shown_url} is not a SQLite database and was left untouched — point \
         DATABASE_URL at the system DB"
    ))
}

fn not_ours(message: String) -> anyhow::Error {
    Classified::new("not_a_system_db", ExitStatus::Usage, message).into()
}

/// User tables of a SQLite database.
pub fn sqlite_tables(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Exit 2 unless the open database is a vannactl system DB (for PostgreSQL: a SQLite file is
/// checked when it is opened, before anything is written).
pub fn check_db(db: &mut super::Db, shown_url: &str) -> Result<()> {
    let super::Db::Pg(_) = db else {
        return Ok(());
    };
    let tables: Vec<String> = db
        .query(PG_TABLES, &[])?
        .into_iter()
        .filter_map(|row| match row.into_iter().next() {
            Some(super::Val::Text(t)) => Some(t),
            _ => None,
        })
        .collect();
    check_tables(shown_url, &tables)
}

/// Tables of the current schema, those an extension owns (PostGIS' `spatial_ref_sys`) excepted.
pub const PG_TABLES: &str = "SELECT c.relname::text FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_empty_or_with_bookkeeping() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_tables("sqlite://x", &[]).is_ok());
        assert!(check_tables("sqlite://x", &t(&["users", "schema_migrations"])).is_ok());
        let e = check_tables("sqlite://x", &t(&["invoices", "a", "b", "c", "d", "e"])).unwrap_err();
        assert_eq!(crate::error::classify(&e).1, ExitStatus::Usage);
        assert!(e.to_string().contains("(a, b, c, d, e and 1 more)"), "{e}");
    }
}

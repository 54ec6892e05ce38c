//! Before a restore replaces anything: is what is there now really the role it is configured as?
//! A system DB with vannactl's migrations (or nothing yet), a golden copy with its manifest, an
//! embedded knowledge store of our format. Anything else is left untouched (exit 2): a restore is
//! permission to put back our data, not to overwrite whatever a setting happens to name.

use super::knowledge::Store;
use super::system_postgres::Pg;
use crate::backup::manifest::{Component, ComponentInfo};
use crate::config::{Settings, SystemDbUrl};
use crate::error::{Classified, ExitStatus};
use crate::system_db::ownership;
use anyhow::Result;
use std::path::Path;

fn not_ours(message: String) -> anyhow::Error {
    Classified::new("not_ours", ExitStatus::Usage, message).into()
}

/// Refuse (exit 2) unless the place component `c` restores into holds that component, or nothing.
/// `archived` is what the archive says of the component (where it was taken from).
pub fn check(c: Component, s: &Settings, archived: &ComponentInfo) -> Result<()> {
    match c {
        Component::System => match &s.database_url {
            SystemDbUrl::Sqlite(p) => system_sqlite(p, &s.database_url.masked()),
            SystemDbUrl::Postgres(url) => {
                let pg = Pg::parse(url)?;
                let mut client = pg.connect()?;
                let tables: Vec<String> = client
                    .query(ownership::PG_TABLES, &[])?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                ownership::check_tables(&pg.masked, &tables)
            }
        },
        Component::Knowledge => match Store::from_settings(s) {
            Store::Embedded(p) => knowledge_store(&p),
            // A server's collections are addressed by name: there is nothing else to mistake.
            Store::Chroma { .. } => Ok(()),
        },
        Component::Target => golden_copy_role(&s.target_db_path, &archived.source),
    }
}

/// The embedded knowledge store: a SQLite file with only the store's tables (a first run killed
/// while creating them may have left some), or nothing. Checked before a backup reads it too, so
/// a foreign file is named as such (exit 2) instead of failing halfway.
pub fn knowledge_store(path: &Path) -> Result<()> {
    const OURS: [&str; 3] = ["collections", "records", "meta"];
    let shown = path.display().to_string();
    let what = "an embedded knowledge store";
    sqlite_role(path, &[], "KNOWLEDGE_DB_PATH", &shown, what)?;
    let tables = crate::target::open_readonly(path)
        .ok()
        .and_then(|c| ownership::sqlite_tables(&c).ok())
        .unwrap_or_default();
    let foreign: Vec<&String> = tables
        .iter()
        .filter(|t| !OURS.contains(&t.as_str()))
        .collect();
    match foreign.first() {
        None => Ok(()),
        Some(t) => Err(not_ours(format!(
            "KNOWLEDGE_DB_PATH={shown} holds other tables ({t}…), not {what}; it was left untouched — point KNOWLEDGE_DB_PATH at the right file"
        ))),
    }
}

/// A SQLite file holding `tables` (or no table at all: created, never migrated), or no file.
fn sqlite_role(path: &Path, tables: &[&str], var: &str, shown: &str, what: &str) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let refuse = |why: &str| {
        not_ours(format!(
            "{var}={shown} {why}, not {what}; restore left it untouched — point {var} at the right file"
        ))
    };
    if !meta.is_file() {
        return Err(refuse("is not a regular file"));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let names: Vec<String> = match crate::target::open_readonly(path).and_then(|conn| {
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }) {
        Ok(n) => n,
        Err(_) => return Err(refuse("is not a SQLite database")),
    };
    if names.is_empty() || tables.iter().all(|t| names.iter().any(|n| n == t)) {
        return Ok(());
    }
    let mut shown_names = names.clone();
    shown_names.sort();
    shown_names.truncate(5);
    Err(refuse(&format!(
        "holds other tables ({})",
        shown_names.join(", ")
    )))
}

/// The SQLite system DB, read-only (no side file, no header write), as `system_db` opens it.
fn system_sqlite(path: &Path, shown: &str) -> Result<()> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
        Ok(m) if !m.is_file() => return Err(ownership::not_sqlite(shown)),
        Ok(m) if m.len() == 0 => return Ok(()),
        Ok(_) => {}
    }
    let tables = crate::target::open_readonly(path)
        .ok()
        .and_then(|c| ownership::sqlite_tables(&c).ok())
        .ok_or_else(|| ownership::not_sqlite(shown))?;
    ownership::check_tables(shown, &tables)
}

/// The runtime copy is replaced only when it has its manifest, when the archive's copy was taken
/// from this very file (a copy made by other means, which the backup already treated as the
/// target), or when nothing is there.
fn golden_copy_role(path: &Path, archived_from: &str) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let manifest = crate::golden_copy::manifest::path_for(path);
    let has_manifest = matches!(crate::golden_copy::manifest::read(&manifest), Ok(Some(_)));
    let same_place =
        crate::layout::real_path(Path::new(archived_from)) == crate::layout::real_path(path);
    if meta.is_file() && (has_manifest || same_place) {
        return Ok(());
    }
    Err(not_ours(format!(
        "TARGET_DB_PATH={} is not a golden copy (no valid manifest {}); restore left it untouched — \
         move it away or point TARGET_DB_PATH at the runtime copy",
        path.display(),
        manifest.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_roles() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.db");
        let check = |p: &Path| {
            sqlite_role(
                p,
                &["schema_migrations"],
                "DATABASE_URL",
                "sqlite://x.db",
                "a system DB",
            )
        };
        assert!(check(&p).is_ok(), "absent");
        std::fs::write(&p, b"").unwrap();
        assert!(check(&p).is_ok(), "empty");
        std::fs::write(&p, b"not a database at all, just text that is long enough").unwrap();
        let e = check(&p).unwrap_err();
        assert!(e.to_string().contains("is not a SQLite database"), "{e}");
        std::fs::remove_file(&p).unwrap();
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch("CREATE TABLE customers(id)").unwrap();
        let e = check(&p).unwrap_err();
        assert!(
            e.to_string().contains("holds other tables (customers)"),
            "{e}"
        );
        assert_eq!(crate::error::classify(&e).1, ExitStatus::Usage);
        c.execute_batch("CREATE TABLE schema_migrations(version)")
            .unwrap();
        assert!(check(&p).is_ok());
        assert!(check(d.path())
            .unwrap_err()
            .to_string()
            .contains("not a regular file"));
    }

    #[test]
    fn golden_copy_needs_its_manifest() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("copy.db");
        let elsewhere = d.path().join("data/vanna_db.db").display().to_string();
        assert!(golden_copy_role(&p, &elsewhere).is_ok());
        std::fs::write(&p, b"x").unwrap();
        let e = golden_copy_role(&p, &elsewhere).unwrap_err();
        assert!(e.to_string().contains("is not a golden copy"), "{e}");
        // The archive's copy came from this very file: it is the target's place.
        assert!(golden_copy_role(&p, p.to_str().unwrap()).is_ok());
        std::fs::write(crate::golden_copy::manifest::path_for(&p), b"{ not json").unwrap();
        assert!(golden_copy_role(&p, &elsewhere).is_err());
    }
}

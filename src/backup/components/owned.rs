//! Before a restore replaces anything: is what is there now really the role it is configured as?
//! A system DB with vannactl's migrations (or nothing yet), a golden copy with its manifest, a
//! Chroma directory of a known schema. Anything else is left untouched (exit 2): a restore is
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
            Store::Directory(_) => super::chroma_dir::check_role(s),
            // A server's collections are addressed by name: there is nothing else to mistake.
            Store::Chroma { .. } => Ok(()),
        },
        Component::Target => golden_copy_role(&s.target_db_path, &archived.source),
    }
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

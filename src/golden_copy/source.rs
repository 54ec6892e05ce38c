//! Checks on the golden source before anything is touched.

use crate::error::fail;
use anyhow::Result;
use std::fs::File;
use std::io::Read;
use std::path::Path;

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Refuse (naming the path and the fix) unless `path` is a non-empty, readable SQLite database
/// without pending WAL content.
pub fn validate(path: &Path) -> Result<()> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                "source_missing",
                format!("target DB source {shown} does not exist; set TARGET_DB_SOURCE to the original SQLite database"),
            ))
        }
        Err(e) => {
            return Err(fail(
                "source_unreadable",
                format!("cannot read target DB source {shown}: {e}; check its permissions"),
            ))
        }
    };
    if !meta.is_file() {
        return Err(fail(
            "source_not_file",
            format!("target DB source {shown} is not a regular file; point TARGET_DB_SOURCE at a SQLite database file"),
        ));
    }
    if meta.len() == 0 {
        return Err(fail(
            "source_empty",
            format!(
                "target DB source {shown} is empty (0 bytes); restore the original database file"
            ),
        ));
    }
    let mut header = [0u8; 16];
    let read = File::open(path).and_then(|mut f| f.read_exact(&mut header));
    if let Err(e) = read {
        let (kind, msg) = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            (
                "source_not_sqlite",
                format!("target DB source {shown} is too short to be a SQLite database"),
            )
        } else {
            (
                "source_unreadable",
                format!("cannot read target DB source {shown}: {e}; check its permissions"),
            )
        };
        return Err(fail(kind, msg));
    }
    if &header != SQLITE_HEADER {
        return Err(fail(
            "source_not_sqlite",
            format!("target DB source {shown} is not a SQLite database (bad header); point TARGET_DB_SOURCE at a .db/.sqlite file"),
        ));
    }
    let wal = {
        let mut s = path.as_os_str().to_owned();
        s.push("-wal");
        std::path::PathBuf::from(s)
    };
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(fail(
            "source_has_wal",
            format!(
                "target DB source {shown} has uncheckpointed changes in {}; a file copy would miss them. \
                 Stop its writers and run: sqlite3 {shown} 'PRAGMA wal_checkpoint(TRUNCATE)'",
                wal.display()
            ),
        ));
    }
    let conn = crate::target::open_immutable(path).map_err(|e| {
        fail(
            "source_not_sqlite",
            format!("target DB source {shown} cannot be opened as SQLite: {e:#}"),
        )
    })?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| {
        fail(
            "source_not_sqlite",
            format!("target DB source {shown} is not a readable SQLite database: {e}"),
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify;

    fn kind(r: Result<()>) -> &'static str {
        classify(&r.unwrap_err()).0
    }

    #[test]
    fn rejects_bad_sources_by_kind() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.db");
        assert_eq!(kind(validate(&p)), "source_missing");
        std::fs::write(&p, b"").unwrap();
        assert_eq!(kind(validate(&p)), "source_empty");
        std::fs::write(&p, b"SQLite").unwrap();
        assert_eq!(kind(validate(&p)), "source_not_sqlite");
        std::fs::write(&p, b"this is a text file, not a database at all").unwrap();
        assert_eq!(kind(validate(&p)), "source_not_sqlite");
        assert_eq!(kind(validate(d.path())), "source_not_file");
    }

    #[test]
    fn accepts_real_sqlite() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ok.db");
        rusqlite::Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE t(a)")
            .unwrap();
        validate(&p).unwrap();
    }
}

//! The one way to open the target database: the golden copy, read-only, through a `file:` URI with
//! `mode=ro`, so no consumer can write to it even by accident.

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// `file:` URI for a path, percent-encoding what URIs reserve (spaces, `?`, `#`, `%`).
pub fn readonly_uri(path: &Path) -> String {
    uri(path, "mode=ro")
}

fn uri(path: &Path, params: &str) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::from("file:");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out.push('?');
    out.push_str(params);
    out
}

/// Open a SQLite database read-only (`file:…?mode=ro`). Fails if it does not exist.
pub fn open_readonly(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(readonly_uri(path), flags)
        .with_context(|| format!("cannot open {} read-only", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Open a file that must not even get `-wal`/`-shm` side files (the golden source): read-only and
/// `immutable=1`, so SQLite takes no locks and creates nothing beside it. Only for files nobody
/// writes while we read them.
pub fn open_immutable(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(uri(path, "mode=ro&immutable=1"), flags)
        .with_context(|| format!("cannot open {} read-only", path.display()))
}

/// Open the runtime copy of the target database (`TARGET_DB_PATH`) read-only.
pub fn open_target(settings: &crate::config::Settings) -> Result<Connection> {
    open_readonly(&settings.target_db_path).with_context(|| {
        format!(
            "target database copy {} is not usable; run `vannactl golden-copy` first",
            settings.target_db_path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escapes_reserved_characters() {
        let u = readonly_uri(Path::new("/tmp/a b/c?d#e%f.db"));
        assert_eq!(u, "file:/tmp/a%20b/c%3Fd%23e%25f.db?mode=ro");
    }

    #[test]
    fn readonly_connection_rejects_writes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t x.db");
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE t(a)")
            .unwrap();
        let c = open_readonly(&p).unwrap();
        let err = c.execute("INSERT INTO t VALUES (1)", []).unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
    }

    #[test]
    fn missing_file_is_an_error_not_a_new_db() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope.db");
        assert!(open_readonly(&p).is_err());
        assert!(!p.exists());
    }
}

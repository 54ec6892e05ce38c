//! Embedded SQLite backend. The file holds password hashes, so it is created mode 0600 before
//! SQLite opens it (SQLite gives its -wal/-shm/-journal files the database file's mode).

use super::ownership;
use super::{OpenMode, Val};
use crate::error::fail;
use anyhow::{Context, Result};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

pub fn open(path: &Path, mode: OpenMode) -> Result<Connection> {
    let created = !path.exists();
    let r = open_inner(path, mode);
    // A file this call created and could not make a database of (a full disk) is not left behind.
    if r.is_err() && created {
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(path);
        }
        for side in ["-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(side);
            let _ = std::fs::remove_file(p);
        }
    }
    r.map_err(|e| {
        crate::error::or_disk_full(e, &crate::fsutil::parent_dir(path), Some("DATABASE_URL"))
    })
}

fn open_inner(path: &Path, mode: OpenMode) -> Result<Connection> {
    if !path.exists() {
        if mode == OpenMode::Existing {
            return Err(fail(
                "db_not_initialised",
                format!(
                    "system DB sqlite://{} does not exist; run `vannactl init` to create it",
                    path.display()
                ),
            ));
        }
        let dir = crate::fsutil::parent_dir(path);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create folder {} for the system DB", dir.display()))?;
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot create system DB file {}", path.display()))
            }
        }
        crate::fsutil::sync_dir(&dir)?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open system DB sqlite://{}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Before the first write (the journal-mode header): is this our database at all?
    let shown = format!("sqlite://{}", path.display());
    let tables = ownership::sqlite_tables(&conn).map_err(|_| ownership::not_sqlite(&shown))?;
    ownership::check_tables(&shown, &tables)?;
    // WAL lets the app read while vannactl writes; foreign keys are per connection in SQLite.
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
        .with_context(|| {
            format!(
                "sqlite://{} is not a usable SQLite database",
                path.display()
            )
        })?;
    Ok(conn)
}

/// The database file and its `-wal`/`-shm`/`-journal` companions that group or others can access
/// (e.g. 0644 after a manual copy), with their modes. They hold password hashes; vannactl reports
/// them rather than chmod them (the app may run as another user).
pub fn loose_files(path: &Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut f = path.as_os_str().to_owned();
        f.push(suffix);
        let f = std::path::PathBuf::from(f);
        if let Ok(m) = std::fs::metadata(&f) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push((f, mode));
            }
        }
    }
    out
}

/// One line for `health` and `init`: which files are too open and the command that fixes it;
/// `None` when all are private.
pub fn loose_files_warning(path: &Path) -> Option<String> {
    let loose = loose_files(path);
    if loose.is_empty() {
        return None;
    }
    let listed: Vec<String> = loose
        .iter()
        .map(|(f, m)| format!("{} is mode {m:04o}", f.display()))
        .collect();
    let names: Vec<String> = loose.iter().map(|(f, _)| f.display().to_string()).collect();
    Some(format!(
        "{} (group/others can read the password hashes); fix: chmod 600 {}",
        listed.join(", "),
        names.join(" ")
    ))
}

/// `$1, $2` → `?1, ?2` outside string literals and quoted identifiers.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

fn to_value(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Int(i) => Value::Integer(*i),
        Val::Float(f) => Value::Real(*f),
        Val::Text(s) => Value::Text(s.clone()),
    }
}

pub fn exec(c: &mut Connection, sql: &str, vals: &[Val]) -> Result<u64> {
    let mut stmt = c.prepare_cached(&placeholders(sql))?;
    let n = stmt.execute(rusqlite::params_from_iter(vals.iter().map(to_value)))?;
    Ok(n as u64)
}

pub fn query(c: &mut Connection, sql: &str, vals: &[Val]) -> Result<Vec<Vec<Val>>> {
    let mut stmt = c.prepare_cached(&placeholders(sql))?;
    let n = stmt.column_count();
    let rows = stmt.query_map(rusqlite::params_from_iter(vals.iter().map(to_value)), |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(x) => Val::Int(x),
                    ValueRef::Real(x) => Val::Float(x),
                    ValueRef::Text(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Val::Text(hex::encode(b)),
                })
            })
            .collect::<rusqlite::Result<Vec<Val>>>()
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_rewritten_outside_quotes_only() {
        assert_eq!(
            placeholders("SELECT '$1', \"$2\" FROM t WHERE a = $1 AND b = $12"),
            "SELECT '$1', \"$2\" FROM t WHERE a = ?1 AND b = ?12"
        );
    }

    #[test]
    fn new_file_is_private_and_existing_mode_does_not_create() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/system.db");
        assert!(open(&p, OpenMode::Existing).is_err());
        assert!(!p.exists());
        let c = open(&p, OpenMode::Create).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        for f in ["sub/system.db", "sub/system.db-wal", "sub/system.db-shm"] {
            let mode = std::fs::metadata(d.path().join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
}

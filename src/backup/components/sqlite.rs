//! SQLite files (embedded system DB): snapshots through the online backup
//! API (consistent while the app keeps writing), restores through it too (one write transaction on
//! the live file, so readers never see half a database and a crash rolls back).

use crate::error::fail;
use crate::fsutil::TempFile;
use anyhow::{Context, Result};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait for another process's write lock before giving up.
const BUSY_LIMIT: Duration = Duration::from_secs(30);

pub(super) fn copy_db(src: &Connection, dst: &mut Connection, what: &str) -> Result<()> {
    let backup = Backup::new(src, dst).with_context(|| format!("cannot start copying {what}"))?;
    let started = Instant::now();
    loop {
        // -1: all pages in one step, i.e. one consistent snapshot / one write transaction.
        match backup
            .step(-1)
            .with_context(|| format!("copying {what} failed"))?
        {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => {
                if started.elapsed() > BUSY_LIMIT {
                    return Err(fail(
                        "database_busy",
                        format!("{what} stayed locked by another process for {BUSY_LIMIT:?}; retry when it is idle"),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Consistent copy of `src` into a temporary file named after `stage`.
pub fn snapshot(src: &Path, stage: &Path) -> Result<TempFile> {
    let tmp = TempFile::new(stage, 0o600)?;
    let from = crate::target::open_readonly(src)?;
    let mut to = Connection::open(&tmp.path)
        .with_context(|| format!("cannot open {}", tmp.path.display()))?;
    copy_db(&from, &mut to, &src.display().to_string())?;
    // A WAL-mode source gives a WAL-mode copy, and every later open of the archived file would
    // leave -wal/-shm files behind; the archive holds a self-contained rollback-journal database.
    to.pragma_update(None, "journal_mode", "DELETE")?;
    Ok(tmp)
}

/// Rows per user table.
pub fn counts(conn: &Connection) -> Result<BTreeMap<String, u64>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = BTreeMap::new();
    for n in names {
        let q = format!("SELECT count(*) FROM \"{}\"", n.replace('"', "\"\""));
        let c: i64 = conn.query_row(&q, [], |r| r.get(0))?;
        out.insert(n, c as u64);
    }
    Ok(out)
}

pub fn counts_of(path: &Path) -> Result<BTreeMap<String, u64>> {
    counts(&crate::target::open_readonly(path)?)
        .with_context(|| format!("cannot count rows in {}", path.display()))
}

/// `max(version)` of `schema_migrations`, when that table exists.
pub fn migration_version(conn: &Connection) -> Result<Option<String>> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    let v: rusqlite::types::Value =
        conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
    Ok(match v {
        rusqlite::types::Value::Integer(i) => Some(i.to_string()),
        rusqlite::types::Value::Real(f) => Some(f.to_string()),
        rusqlite::types::Value::Text(t) => Some(t),
        _ => None,
    })
}

/// `PRAGMA integrity_check` must say exactly `ok`.
pub fn integrity_check(path: &Path) -> Result<()> {
    let conn = crate::target::open_readonly(path)?;
    let rows: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect());
    let rows = match rows {
        Ok(rows) => rows,
        // Damage bad enough to stop the check itself (e.g. a zeroed b-tree page).
        Err(e @ rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            return Err(fail(
                "archive_corrupt",
                format!("PRAGMA integrity_check: {e}"),
            ))
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("integrity check of {} failed to run", path.display()))
        }
    };
    if rows != ["ok"] {
        // Up to 100 lines: the first few say enough on one line.
        let more = match rows.len() {
            n if n > 3 => format!("; … ({n} problems)"),
            _ => String::new(),
        };
        return Err(fail(
            "archive_corrupt",
            format!(
                "PRAGMA integrity_check: {}{more}",
                rows.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            ),
        ));
    }
    Ok(())
}

/// Rows per table found against the manifest's (both come from the same snapshot).
pub fn compare_counts(
    found: &BTreeMap<String, u64>,
    manifest: &BTreeMap<String, u64>,
) -> Result<()> {
    let differ = |msg: String| Err(fail("archive_corrupt", msg));
    for (table, &want) in manifest {
        match found.get(table) {
            Some(&n) if n == want => {}
            Some(&n) => {
                return differ(format!(
                    "table {table} holds {n} rows, the manifest says {want}"
                ))
            }
            None => {
                return differ(format!(
                    "table {table} of the manifest ({want} rows) is missing"
                ))
            }
        }
    }
    if let Some(extra) = found.keys().find(|t| !manifest.contains_key(*t)) {
        return differ(format!("table {extra} is not in the manifest"));
    }
    Ok(())
}

/// Make `dest` the staged database: into the existing file through the backup API (one
/// transaction), or by rename when there is no file yet.
pub fn apply(staged: TempFile, dest: &Path) -> Result<()> {
    if dest.exists() {
        let from = crate::target::open_readonly(&staged.path)?;
        let mut to = Connection::open(dest)
            .with_context(|| format!("cannot open {} for writing", dest.display()))?;
        copy_db(&from, &mut to, &dest.display().to_string())?;
        return Ok(());
    }
    std::fs::set_permissions(&staged.path, std::fs::Permissions::from_mode(0o600))?;
    staged.persist()
}

/// Remove a database file and its SQLite side files (rollback of a restore onto "no file").
pub fn remove(dest: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = dest.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", Path::new(&p).display()))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_apply_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("a.db");
        let c = Connection::open(&src).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_migrations(version INTEGER); INSERT INTO schema_migrations VALUES (1),(4);
             CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);",
        )
        .unwrap();
        assert_eq!(migration_version(&c).unwrap().as_deref(), Some("4"));
        let snap = snapshot(&src, &d.path().join("stage")).unwrap();
        integrity_check(&snap.path).unwrap();
        assert_eq!(counts_of(&snap.path).unwrap()["t"], 3);
        c.execute("DELETE FROM t", []).unwrap();
        apply(snap, &src).unwrap();
        assert_eq!(counts(&c).unwrap()["t"], 3);
        // Nothing left behind but the database.
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn garbage_fails_integrity_check() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.db");
        std::fs::write(&p, vec![7u8; 8192]).unwrap();
        assert!(integrity_check(&p).is_err());
    }
}

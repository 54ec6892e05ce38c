//! vannactl's former embedded store (`KNOWLEDGE_DB_PATH`, one SQLite file of its own format that
//! no Chroma client reads). Only read now: on first use it is converted into the Chroma directory
//! (same ids, documents and vectors, nothing re-embedded) and kept as `<file>.bak` until the next
//! verified backup.

use super::{Full, PersistentStore};
use crate::knowledge::items::Collection;
use anyhow::{Context, Result};
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Where the old file is kept after conversion.
pub fn backup_path(legacy: &Path) -> PathBuf {
    let mut p = legacy.as_os_str().to_owned();
    p.push(".bak");
    PathBuf::from(p)
}

/// The user tables of a database, sorted.
fn tables(conn: &Connection) -> Result<Vec<String>> {
    let mut names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    names.sort();
    Ok(names)
}

/// A store of the old format: its three tables, nothing else.
fn is_legacy_tables(t: &[String]) -> bool {
    t == ["collections", "meta", "records"]
}

fn is_legacy(conn: &Connection) -> Result<bool> {
    Ok(is_legacy_tables(&tables(conn)?))
}

fn read(conn: &Connection) -> Result<Vec<super::CollectionRecords>> {
    let mut out = Vec::new();
    for c in Collection::ALL {
        let mut st = conn.prepare(
            "SELECT id, document, embedding, source FROM records WHERE collection = ?1 ORDER BY id",
        )?;
        let recs = st
            .query_map([c.name()], |r| {
                let source: Option<String> = r.get(3)?;
                let mut metadata = Map::new();
                if let Some(s) = source {
                    metadata.insert(super::SOURCE_KEY.into(), Value::String(s));
                }
                Ok((
                    r.get::<_, String>(0)?,
                    Full {
                        document: Some(r.get(1)?),
                        metadata,
                        embedding: Some(super::from_blob(&r.get::<_, Vec<u8>>(2)?)),
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push((c, recs));
    }
    Ok(out)
}

/// Everything a file of the former format holds, as a directory export (a restored archive).
pub fn read_file(path: &Path) -> Result<super::Export> {
    let what = format!("the archived knowledge store {}", path.display());
    let conn = crate::target::open_readonly(path).with_context(|| format!("cannot open {what}"))?;
    if !is_legacy(&conn).with_context(|| format!("cannot read {what}"))? {
        return Err(crate::error::fail(
            "archive_corrupt",
            format!("{what} is not a vannactl knowledge store"),
        ));
    }
    let all = read(&conn).with_context(|| format!("cannot read {what}"))?;
    Ok(super::Export {
        collections: all
            .into_iter()
            .map(|(c, recs)| (c, recs.into_iter().collect()))
            .collect(),
        trained: stamp(&conn),
    })
}

fn stamp(conn: &Connection) -> Option<(String, String)> {
    let get = |k: &str| -> Option<String> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .ok()
    };
    Some((get("model")?, get("last_trained")?))
}

/// Convert `legacy` into `store` when it exists: records the directory lacks are added (a run
/// killed between the two steps converts nothing twice), then the file is renamed to `.bak`.
/// Returns the number of records converted, or None when there was nothing to convert.
pub fn convert(legacy: &Path, store: &mut PersistentStore) -> Result<Option<usize>> {
    if !legacy.is_file() {
        return Ok(None);
    }
    let what = format!(
        "the old knowledge store KNOWLEDGE_DB_PATH={}",
        legacy.display()
    );
    // Classified read-only first: a file that is not ours is never opened for writing.
    let probe = crate::target::open_readonly(legacy)
        .ok()
        .map(|c| (tables(&c), c));
    match probe {
        Some((Ok(t), _)) if t.is_empty() => return Ok(None), // an empty file: nothing to convert
        Some((Ok(t), c)) if is_legacy_tables(&t) => drop(c),
        _ => {
            return Err(crate::error::usage(format!(
                "KNOWLEDGE_DB_PATH={} is not a vannactl knowledge store (the former format, converted into CHROMA_PATH on first use); it was left untouched — point KNOWLEDGE_DB_PATH elsewhere or move the file away",
                legacy.display()
            )))
        }
    }
    let conn = Connection::open(legacy).with_context(|| format!("cannot open {what}"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Fold the WAL into the file, so the renamed `.bak` alone holds everything.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .with_context(|| format!("cannot read {what}"))?;
    let all = read(&conn).with_context(|| format!("cannot read {what}"))?;
    let stamp = stamp(&conn);
    drop(conn);
    let mut adds = Vec::new();
    let mut n = 0;
    for (c, recs) in all {
        let have = store.full(c, false)?;
        let missing: Vec<_> = recs
            .into_iter()
            .filter(|(id, _)| !have.contains_key(id))
            .collect();
        n += missing.len();
        adds.push((c, missing));
    }
    let stamp_ref = stamp.as_ref().map(|(m, t)| (m.as_str(), t.as_str()));
    store.write_full(&adds, &[], stamp_ref)?;
    let bak = backup_path(legacy);
    match std::fs::rename(legacy, &bak) {
        Ok(()) => {}
        // Another vannactl converted it at the same moment: the records are in either way.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot rename {what} to {}", bak.display()))
        }
    }
    for suffix in ["-wal", "-shm"] {
        let mut p = legacy.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    Ok(Some(n))
}

//! The knowledge base in a Chroma persistent directory (`CHROMA_PATH`).
//!
//! Backup is a logical export: every record of every collection with its document, metadata and
//! exact vector, read in one SQLite read transaction (so a consistent point even while the app
//! writes) and written as a fresh Chroma database (log rows only) — the archive member is itself
//! a `chroma.sqlite3` the unmodified app opens. Copying the live files instead would not be
//! consistent: the HNSW segment files are written by the app's process outside SQLite's locks.
//!
//! Restore replaces the live `chroma.sqlite3` through SQLite's backup API in one write
//! transaction (readers never see half a database; a crash rolls back), then removes the segment
//! folders of the replaced database, which Chroma would otherwise keep as unused files.

use super::{present, Snapshot, StagedComponent};
use crate::backup::components::sqlite;
use crate::config::Settings;
use crate::error::fail;
use crate::fsutil::TempFile;
use crate::knowledge::stores::persistent::{self, legacy, Export, PersistentStore, DB_FILE};
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The archive member: a Chroma database.
pub const MEMBER: &str = "knowledge/chroma/chroma.sqlite3";
pub const KIND: &str = "chroma-directory";

fn db(s: &Settings) -> PathBuf {
    s.chroma_path.join(DB_FILE)
}

/// A folder the export is built in, removed when dropped.
struct StageFolder(PathBuf);

impl StageFolder {
    fn new(stage: &Path) -> Result<StageFolder> {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(".vannactl-chroma-{}-{at}", std::process::id());
        let p = crate::fsutil::parent_dir(stage).join(name);
        std::fs::create_dir_all(&p)
            .with_context(|| format!("cannot create the staging folder {}", p.display()))?;
        Ok(StageFolder(p))
    }
}

impl Drop for StageFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Write `e` as a fresh Chroma database into a temporary file named after `stage`.
fn write_export(e: &Export, stage: &Path) -> Result<TempFile> {
    let tmp = TempFile::new(stage, 0o600)?;
    let folder = StageFolder::new(stage)?;
    let mut store = PersistentStore::new(&folder.0);
    store.import(e)?;
    drop(store);
    let built = folder.0.join(DB_FILE);
    if built.exists() {
        std::fs::rename(&built, &tmp.path)
            .with_context(|| format!("cannot stage {}", tmp.path.display()))?;
    } else {
        // Nothing to write (no records): still a valid, empty Chroma database.
        let conn = Connection::open(&tmp.path)?;
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        persistent::schema::create(&conn)?;
    }
    Ok(tmp)
}

pub fn snapshot(s: &Settings, stage_dir: &Path) -> Result<Snapshot> {
    let mut store = crate::knowledge::stores::open_directory(s)?;
    let source = s.chroma_path.display().to_string();
    if !db(s).exists() {
        return Ok(super::absent(
            source,
            format!("no Chroma directory at {} yet", s.chroma_path.display()),
        ));
    }
    let export = store.export()?;
    drop(store);
    let file = write_export(&export, &stage_dir.join("stage-chroma.sqlite3"))?;
    let mut info = present(KIND, source);
    info.counts = export.counts();
    let (size, sha) = crate::backup::archive::hash_file(&file.path)?;
    let m = super::staged_member(MEMBER, &mut info, file, size, sha);
    Ok(Snapshot {
        info,
        members: vec![m],
    })
}

/// Deep check of a staged member: a Chroma database of a known schema whose every record has
/// its vector, with the records per collection the manifest recorded.
pub fn check_member(path: &Path, counts: &BTreeMap<String, u64>) -> Result<()> {
    sqlite::integrity_check(path)?;
    let conn = crate::target::open_readonly(path)?;
    let e = persistent::export(&conn, &crate::fsutil::parent_dir(path))
        .map_err(|e| fail("archive_corrupt", crate::error::message(&e)))?;
    let found = e.counts();
    let want: BTreeMap<String, u64> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let nonzero = |m: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        m.iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    if nonzero(&found) != nonzero(&want) {
        return Err(fail(
            "archive_corrupt",
            format!("{MEMBER} holds records {found:?}, the manifest says {want:?}"),
        ));
    }
    Ok(())
}

/// Make the live directory hold the staged database (a Chroma member, or an embedded store of
/// vannactl's former format, converted here).
pub fn apply(mut staged: StagedComponent, s: &Settings) -> Result<()> {
    let file = if staged.files.contains_key(MEMBER) {
        staged.take(MEMBER)?
    } else {
        let old = staged.take(super::KNOWLEDGE_DB)?;
        let e = legacy::read_file(&old.path)?;
        write_export(&e, &s.backup_dir.join("stage-chroma.sqlite3"))?
    };
    let dest = db(s);
    std::fs::create_dir_all(&s.chroma_path)
        .with_context(|| format!("cannot create {}", s.chroma_path.display()))?;
    let from = crate::target::open_readonly(&file.path)?;
    let mut to = Connection::open(&dest)
        .with_context(|| format!("cannot open {} for writing", dest.display()))?;
    to.busy_timeout(std::time::Duration::from_secs(30))?;
    sqlite::copy_db(&from, &mut to, &dest.display().to_string())?;
    drop(to);
    remove_orphans(s);
    Ok(())
}

/// Remove segment folders the database no longer refers to; a failure only leaves unused files.
fn remove_orphans(s: &Settings) {
    let orphans = PersistentStore::new(&s.chroma_path).orphan_segments();
    for p in orphans.unwrap_or_default() {
        if let Err(e) = std::fs::remove_dir_all(&p) {
            tracing::warn!(
                "cannot remove the unused Chroma segment folder {}: {e}",
                p.display()
            );
        }
    }
}

/// Rollback onto "there was nothing": the database and its segment folders.
pub fn remove(s: &Settings) -> Result<()> {
    let segments = persistent::segment_folders(&s.chroma_path)?;
    sqlite::remove(&db(s))?;
    for p in segments {
        std::fs::remove_dir_all(&p).with_context(|| format!("cannot remove {}", p.display()))?;
    }
    let _ = std::fs::remove_dir(&s.chroma_path);
    Ok(())
}

/// Records per collection now (None: no directory).
pub fn current_counts(s: &Settings) -> Result<Option<BTreeMap<String, u64>>> {
    if !db(s).exists() {
        return Ok(None);
    }
    let mut store = PersistentStore::new(&s.chroma_path);
    let mut out = BTreeMap::new();
    for c in crate::knowledge::items::Collection::ALL {
        out.insert(c.name().to_string(), store.full(c, false)?.len() as u64);
    }
    Ok(Some(out))
}

/// Before a restore replaces it: `CHROMA_PATH` is a Chroma directory of a known schema, or
/// empty, or missing (exit 2 otherwise, untouched).
pub fn check_role(s: &Settings) -> Result<()> {
    let mut store = PersistentStore::new(&s.chroma_path);
    store.check_role()
}

//! Embedded (SQLite) system DB. It holds password hashes: every copy we create is mode 0600.

use super::sqlite;
use anyhow::Result;
use std::path::Path;

pub struct Snapshot {
    pub file: crate::fsutil::TempFile,
    pub size: u64,
    pub sha256: String,
    pub migration_version: Option<String>,
    pub counts: std::collections::BTreeMap<String, u64>,
}

pub fn snapshot(db: &Path, stage: &Path) -> Result<Snapshot> {
    let file = sqlite::snapshot(db, stage)?;
    let conn = crate::target::open_readonly(&file.path)?;
    let counts = sqlite::counts(&conn)?;
    let migration_version = sqlite::migration_version(&conn)?;
    drop(conn);
    let (size, sha256) = super::super::archive::hash_file(&file.path)?;
    Ok(Snapshot {
        file,
        size,
        sha256,
        migration_version,
        counts,
    })
}

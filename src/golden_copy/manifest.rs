//! The manifest beside the runtime copy: what was copied, from where, when, and the file identity of
//! both sides, so an unchanged re-run is decided from `stat` alone (no re-reading gigabytes).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub const FORMAT: u32 = 1;

/// Identity of a file as `stat` reports it; any write changes mtime (and usually size).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub inode: u64,
}

impl FileStamp {
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        let m = std::fs::metadata(path)?;
        Ok(FileStamp {
            size: m.len(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            inode: m.ino(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub source_path: PathBuf,
    pub source: FileStamp,
    /// RFC 3339 form of the source mtime, for people.
    pub source_mtime: String,
    pub sha256: String,
    pub copy_path: PathBuf,
    pub copy: FileStamp,
    pub copied_at: String,
    pub tool_version: String,
}

/// `data/vanna_db.db` → `data/vanna_db.db.manifest.json`.
pub fn path_for(copy: &Path) -> PathBuf {
    let mut s = copy.as_os_str().to_owned();
    s.push(".manifest.json");
    PathBuf::from(s)
}

/// Read the manifest; `Ok(None)` when there is none, an error when it exists but does not parse.
pub fn read(path: &Path) -> Result<Option<Manifest>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("manifest {} does not parse", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read manifest {}", path.display())),
    }
}

pub fn write(path: &Path, m: &Manifest) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(m)?;
    json.push(b'\n');
    crate::fsutil::write_atomic(path, &json, 0o644)
}

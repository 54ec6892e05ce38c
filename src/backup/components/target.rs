//! The target DB's golden copy (and its manifest). Streamed straight from the file into the archive;
//! its SHA-256 comes from the golden-copy manifest when the file's stat still matches it (so a GB
//! target is read once), and the streamed bytes are checked against it.

use crate::fsutil::{write_atomic, TempFile};
use crate::golden_copy::manifest::{self as gc, FileStamp};
use anyhow::{Context, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// (size, sha256, golden-copy manifest bytes if any) of the copy at `path`.
pub fn identify(path: &Path) -> Result<(u64, String, Option<Vec<u8>>)> {
    let mpath = gc::path_for(path);
    let manifest_bytes = match std::fs::read(&mpath) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", mpath.display())),
    };
    let stamp = FileStamp::of(path).with_context(|| format!("cannot stat {}", path.display()))?;
    let recorded: Option<gc::Manifest> = manifest_bytes
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok());
    if let Some(m) = recorded {
        if m.copy == stamp && m.sha256.len() == 64 {
            return Ok((stamp.size, m.sha256, manifest_bytes));
        }
    }
    let (size, sha) = super::super::archive::hash_file(path)?;
    Ok((size, sha, manifest_bytes))
}

/// Put the staged copy in place (read-only, by rename), then its manifest, re-stamped for the new
/// file so `golden-copy` sees it as unchanged. `manifest` is the archived golden-copy manifest.
pub fn apply(staged: TempFile, manifest: Option<&[u8]>, dest: &Path) -> Result<()> {
    std::fs::set_permissions(&staged.path, std::fs::Permissions::from_mode(0o444))?;
    staged.persist()?;
    let mpath = gc::path_for(dest);
    match manifest.and_then(|b| serde_json::from_slice::<gc::Manifest>(b).ok()) {
        Some(mut m) => {
            m.copy = FileStamp::of(dest)?;
            m.copy_path = std::path::absolute(dest)?;
            let mut json = serde_json::to_vec_pretty(&m)?;
            json.push(b'\n');
            write_atomic(&mpath, &json, 0o644)?;
        }
        // A manifest describing the replaced file would be wrong now.
        None => match std::fs::remove_file(&mpath) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", mpath.display())),
        },
    }
    Ok(())
}

/// The copy at `dest` already holds the archived data: it stays (read-only), and the archived
/// golden-copy manifest is written for it, re-stamped, when it describes the same SHA-256.
pub fn keep(manifest: Option<&[u8]>, dest: &Path) -> Result<()> {
    let mode = std::fs::metadata(dest)?.permissions().mode();
    if mode & 0o222 != 0 {
        std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o444))
            .with_context(|| format!("cannot make {} read-only", dest.display()))?;
    }
    let (_, sha, _) = identify(dest)?;
    if let Some(mut m) = manifest.and_then(|b| serde_json::from_slice::<gc::Manifest>(b).ok()) {
        if m.sha256 == sha {
            m.copy = FileStamp::of(dest)?;
            m.copy_path = std::path::absolute(dest)?;
            let mut json = serde_json::to_vec_pretty(&m)?;
            json.push(b'\n');
            write_atomic(&gc::path_for(dest), &json, 0o644)?;
        }
    }
    Ok(())
}

/// Remove the copy and its manifest (rollback onto "there was no copy").
pub fn remove(dest: &Path) -> Result<()> {
    for p in [dest.to_path_buf(), gc::path_for(dest)] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", p.display())),
        }
    }
    Ok(())
}

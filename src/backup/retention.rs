//! Keep the newest `BACKUP_RETENTION_COUNT` archives. Only files matching the archive naming
//! pattern are ever considered; 0 means keep everything.

use super::archive::list_archives;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Archives that pruning would remove if `new` more archives were added first.
pub fn candidates(dir: &Path, keep: u32, new: usize) -> Result<Vec<PathBuf>> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let keep_existing = (keep as usize).saturating_sub(new);
    Ok(list_archives(dir)?
        .into_iter()
        .skip(keep_existing)
        .map(|(_, p)| p)
        .collect())
}

/// Remove archives beyond the newest `keep`; returns what was removed.
pub fn prune(dir: &Path, keep: u32) -> Result<Vec<PathBuf>> {
    let doomed = candidates(dir, keep, 0)?;
    for p in &doomed {
        std::fs::remove_file(p)
            .with_context(|| format!("retention: cannot remove {}", p.display()))?;
    }
    if !doomed.is_empty() {
        crate::fsutil::sync_dir(dir)?;
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest_and_ignores_strangers() {
        let d = tempfile::tempdir().unwrap();
        let names = [
            "backup_20260101T000000.000Z.tar.gz",
            "backup_20260102T000000.000Z.tar.gz",
            "backup_20260103T000000.000Z.tar.gz",
            "notes.txt",
            "backup_old.tar.gz",
        ];
        for n in names {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        assert_eq!(
            candidates(d.path(), 2, 1).unwrap(),
            vec![d.path().join(names[1]), d.path().join(names[0])]
        );
        assert!(candidates(d.path(), 0, 1).unwrap().is_empty());
        assert_eq!(prune(d.path(), 2).unwrap(), vec![d.path().join(names[0])]);
        for n in &names[1..] {
            assert!(d.path().join(n).exists(), "{n}");
        }
    }
}

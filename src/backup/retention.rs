//! Keep the newest `BACKUP_RETENTION_COUNT` archives. Only files matching the archive naming
//! pattern are ever considered; 0 means keep everything.

use super::archive::list_archives;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Archives pruning removes after a run wrote `written` (None: a dry run, before anything is
/// written). The run's own archive counts as the newest whatever its name says, so an archive
/// named from a clock that was ahead never pushes the fresh backup out.
pub fn candidates(dir: &Path, keep: u32, written: Option<&Path>) -> Result<Vec<PathBuf>> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    Ok(list_archives(dir)?
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| Some(p.as_path()) != written)
        .skip(keep as usize - 1)
        .collect())
}

/// Remove archives beyond the newest `keep` (counting `written`); returns what was removed.
pub fn prune(dir: &Path, keep: u32, written: &Path) -> Result<Vec<PathBuf>> {
    let doomed = candidates(dir, keep, Some(written))?;
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
            candidates(d.path(), 2, None).unwrap(),
            vec![d.path().join(names[1]), d.path().join(names[0])]
        );
        assert!(candidates(d.path(), 0, None).unwrap().is_empty());
        // names[2] is the run's own archive: kept with one other, whatever the names say.
        let written = d.path().join(names[0]);
        assert_eq!(
            prune(d.path(), 2, &written).unwrap(),
            vec![d.path().join(names[1])]
        );
        for n in [names[0], names[2], names[3], names[4]] {
            assert!(d.path().join(n).exists(), "{n}");
        }
    }
}

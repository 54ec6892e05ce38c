//! Keep the newest `BACKUP_RETENTION_COUNT` archives of the repository. Only names matching the
//! archive pattern are ever considered (other files or objects under the prefix are never touched);
//! 0 means keep everything. Runs only after the new archive is complete.

use super::repo::{Entry, Repo, SUM_SUFFIX};
use anyhow::{Context, Result};

/// Names pruning removes after a run wrote `written` (None: a dry run, before anything is
/// written). The run's own archive counts as the newest whatever its name says, so an archive
/// named from a clock that was ahead never pushes the fresh backup out.
pub fn candidates(entries: &[Entry], keep: u32, written: Option<&str>) -> Vec<String> {
    if keep == 0 {
        return Vec::new();
    }
    entries
        .iter()
        .map(|e| e.name.clone())
        .filter(|n| Some(n.as_str()) != written)
        .skip(keep as usize - 1)
        .collect()
}

/// Remove archives beyond the newest `keep` (counting `written`), each with its checksum file;
/// returns the locations removed.
pub fn prune(repo: &Repo, keep: u32, written: &str) -> Result<Vec<String>> {
    let entries = repo.list()?;
    let mut removed = Vec::new();
    for name in candidates(&entries, keep, Some(written)) {
        let location = repo.location(&name);
        repo.remove(&name)
            .with_context(|| format!("retention: cannot remove {location}"))?;
        if super::archive::is_encrypted(&name) {
            repo.remove(&format!("{name}{SUM_SUFFIX}"))
                .with_context(|| format!("retention: cannot remove {location}{SUM_SUFFIX}"))?;
        }
        removed.push(location);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::repo::local::Local;

    #[test]
    fn keeps_newest_and_ignores_strangers() {
        let d = tempfile::tempdir().unwrap();
        let names = [
            "backup_20260101T000000.000Z.tar.gz",
            "backup_20260102T000000.000Z.tar.gz.age",
            "backup_20260103T000000.000Z.tar.gz",
            "notes.txt",
            "backup_old.tar.gz",
        ];
        for n in names {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        let sum = format!("{}{SUM_SUFFIX}", names[1]);
        std::fs::write(d.path().join(&sum), b"x").unwrap();
        let repo = Repo::Local(Local::new(d.path()));
        let entries = repo.list().unwrap();
        assert_eq!(
            candidates(&entries, 2, None),
            vec![names[1].to_string(), names[0].to_string()]
        );
        assert!(candidates(&entries, 0, None).is_empty());
        // names[0] is the run's own archive: kept with one other, whatever the names say.
        let pruned = prune(&repo, 2, names[0]).unwrap();
        assert_eq!(pruned, vec![d.path().join(names[1]).display().to_string()]);
        assert!(
            !d.path().join(&sum).exists(),
            "checksum file pruned with its archive"
        );
        for n in [names[0], names[2], names[3], names[4]] {
            assert!(d.path().join(n).exists(), "{n}");
        }
    }
}

//! The local folder snapshots and deep checks are staged in (`BACKUP_STAGE_DIR` for an S3
//! repository, the backup folder itself otherwise). It is checked before any repository is
//! contacted, so a full or unwritable stage is reported as such, and a run that fails leaves no
//! folder it created behind.

use crate::error::fail;
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes written (and removed) to prove the stage folder has room: a full disk refuses them.
const PROBE_BYTES: usize = 64 << 10;

/// The stage folder, ready. Dropped before [`Stage::keep`], it removes the folders this run
/// created (those still empty), so a failed run leaves the deployment as it was.
pub struct Stage {
    created: Vec<PathBuf>,
    keep: bool,
}

impl Stage {
    /// Create `dir` if needed (remembering which folders were new) and prove it takes a write.
    /// `setting` is the variable that chose it, for the message.
    pub fn prepare(dir: &Path, setting: &str) -> Result<Stage> {
        let mut created = Vec::new();
        let mut p = Some(dir);
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            created.push(d.to_path_buf());
            p = d.parent();
        }
        // Armed from here, so a creation that fails half-way removes what it made.
        let stage = Stage {
            created,
            keep: false,
        };
        let unusable = |what: String, e: std::io::Error| {
            if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) {
                return crate::error::disk_full(dir, Some(setting));
            }
            fail(
                "stage_unusable",
                format!(
                    "{what} {}: {e}; set {setting} to a writable local folder with free space",
                    dir.display()
                ),
            )
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| unusable(format!("cannot create the stage folder ({setting})"), e))?;
        if !dir.is_dir() {
            return Err(fail(
                "stage_unusable",
                format!(
                    "{setting}={} is not a folder; set it to a local folder for staging",
                    dir.display()
                ),
            ));
        }
        let probe = dir.join(format!(".vannactl-stage-probe-{}", std::process::id()));
        let wrote = std::fs::File::create(&probe).and_then(|mut f| {
            f.write_all(&[0u8; PROBE_BYTES])?;
            f.sync_all()
        });
        let _ = std::fs::remove_file(&probe);
        wrote.map_err(|e| unusable(format!("cannot write in the stage folder ({setting})"), e))?;
        Ok(stage)
    }

    /// The run succeeded: the folder stays.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if !self.keep {
            // Deepest first; `remove_dir` leaves any folder that is not empty.
            for d in &self.created {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_removes_the_folders_it_created_only() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/b/stage");
        let s = Stage::prepare(&dir, "BACKUP_STAGE_DIR").unwrap();
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "probe removed");
        drop(s);
        assert!(!t.path().join("a").exists());
        assert!(t.path().exists());

        Stage::prepare(&dir, "BACKUP_STAGE_DIR").unwrap().keep();
        assert!(dir.is_dir());
        // An existing folder is never removed.
        drop(Stage::prepare(&dir, "BACKUP_STAGE_DIR").unwrap());
        assert!(dir.is_dir());
    }

    #[test]
    fn a_file_is_not_a_stage_folder() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        let e = Stage::prepare(&f, "BACKUP_STAGE_DIR").err().unwrap();
        let msg = crate::error::message(&e);
        assert!(
            msg.contains("BACKUP_STAGE_DIR") && msg.contains("file"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&f).unwrap(), b"x");
    }
}

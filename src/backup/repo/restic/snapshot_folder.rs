//! The folder a restic snapshot is taken of: the archive's members as files under their member
//! paths, always at the same path in the stage. restic then finds the previous snapshot of that
//! path as its parent and skips every file whose size, mtime and inode did not change without
//! reading it: the golden copy is hard-linked here, so an unchanged one costs nothing.

use crate::backup::manifest::MANIFEST_NAME;
use crate::backup::repo::{MemberFile, MemberSource};
use crate::error::fail;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Under the stage folder; only vannactl writes here, and a backup empties it when done.
pub const DIR: &str = ".vannactl-restic-snapshot";

pub struct SnapshotFolder {
    pub path: PathBuf,
    /// Members that could not be hard-linked (another filesystem) and were copied: restic reads
    /// them in full on every backup.
    pub copied: Vec<String>,
}

impl SnapshotFolder {
    /// Lay out `manifest.json` and the members. What a killed run left here is removed first.
    pub fn build(stage: &Path, manifest_json: &[u8], members: &[MemberFile]) -> Result<Self> {
        let path = stage.join(DIR);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot empty {}", path.display())),
        }
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut folder = SnapshotFolder {
            path,
            copied: Vec::new(),
        };
        std::fs::write(folder.path.join(MANIFEST_NAME), manifest_json)?;
        for m in members {
            crate::backup::archive::check_member_path(m.path)?;
            let dest = folder.path.join(m.path);
            std::fs::create_dir_all(crate::fsutil::parent_dir(&dest))?;
            match &m.source {
                MemberSource::Bytes(b) => std::fs::write(&dest, b)
                    .with_context(|| format!("cannot write {}", dest.display()))?,
                MemberSource::File(src) => {
                    if let Err(e) = std::fs::hard_link(src, &dest) {
                        tracing::warn!(
                            "cannot hard-link {} into the restic snapshot folder ({e}); copying it, \
                             so restic reads it on every backup (keep BACKUP_STAGE_DIR on its filesystem)",
                            src.display()
                        );
                        std::fs::copy(src, &dest).with_context(|| {
                            format!("cannot copy {} to {}", src.display(), dest.display())
                        })?;
                        folder.copied.push(m.path.to_string());
                    }
                }
            }
            // The manifest promises this many bytes; a file that changed since is caught here
            // rather than stored.
            let n = std::fs::metadata(&dest)?.len();
            if n != m.size {
                return Err(fail(
                    "backup_source_changed",
                    format!(
                        "{}: expected {} bytes but found {n}; the source changed during the backup, retry",
                        m.path, m.size
                    ),
                ));
            }
        }
        Ok(folder)
    }
}

impl Drop for SnapshotFolder {
    fn drop(&mut self) {
        // Links and copies only: the golden copy itself keeps its other name.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_are_linked_and_the_folder_goes_afterwards() {
        let t = tempfile::tempdir().unwrap();
        let golden = t.path().join("golden.db");
        std::fs::write(&golden, b"0123456789").unwrap();
        let stage = t.path().join("stage");
        // Leftovers of a killed run are replaced.
        std::fs::create_dir_all(stage.join(DIR).join("old")).unwrap();
        let members = [
            MemberFile {
                path: "target/target.db",
                size: 10,
                source: MemberSource::File(&golden),
            },
            MemberFile {
                path: "target/target.db.manifest.json",
                size: 2,
                source: MemberSource::Bytes(b"{}"),
            },
        ];
        let f = SnapshotFolder::build(&stage, b"{\"m\":1}", &members).unwrap();
        let linked = f.path.join("target/target.db");
        assert_eq!(
            std::fs::metadata(&linked).unwrap().ino(),
            std::fs::metadata(&golden).unwrap().ino()
        );
        assert!(f.copied.is_empty());
        assert!(!f.path.join("old").exists());
        assert_eq!(
            std::fs::read(f.path.join(MANIFEST_NAME)).unwrap(),
            b"{\"m\":1}"
        );
        drop(f);
        assert!(!stage.join(DIR).exists());
        assert_eq!(std::fs::read(&golden).unwrap(), b"0123456789");

        // A size that no longer matches the manifest is refused.
        let short = [MemberFile {
            path: "target/target.db",
            size: 11,
            source: MemberSource::File(&golden),
        }];
        let e = SnapshotFolder::build(&stage, b"{}", &short).err().unwrap();
        assert_eq!(crate::error::classify(&e).0, "backup_source_changed");
    }
}

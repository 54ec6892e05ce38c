//! The local-folder repository: today's behaviour (temp file in the folder, fsync, rename).

use super::{Entry, Opened, Upload};
use crate::backup::archive::{self, list_archives};
use crate::backup::folder;
use crate::fsutil::{sync_dir, write_atomic, TempFile};
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub struct Local {
    pub dir: PathBuf,
}

impl Local {
    pub fn new(dir: &Path) -> Local {
        Local {
            dir: dir.to_path_buf(),
        }
    }

    pub fn list(&self) -> Result<Vec<Entry>> {
        Ok(list_archives(&self.dir)?
            .into_iter()
            .map(|(at, p)| Entry {
                size: std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                at,
            })
            .collect())
    }

    pub fn reader(&self, name: &str) -> Result<Box<dyn Read + Send>> {
        let p = self.dir.join(name);
        let f = File::open(&p).with_context(|| format!("cannot open archive {}", p.display()))?;
        Ok(Box::new(f))
    }

    /// A plain tar that `restic dump ID /` made of a snapshot folder (manifest not first).
    fn is_restic_dump(&self, name: &str) -> Result<bool> {
        let mut head = [0u8; 2];
        let mut f = self.reader(name)?;
        let n = f.read(&mut head)?;
        if n == 2 && head == [0x1f, 0x8b] || archive::is_encrypted(name) {
            return Ok(false);
        }
        Ok(!folder::manifest_first(self.reader(name)?).unwrap_or(true))
    }

    /// The head of the archive: a folder's manifest, or the manifest found in a restic dump, as a
    /// one-member tar; otherwise the first `len` bytes.
    pub fn head(&self, name: &str, len: u64) -> Result<Box<dyn Read + Send>> {
        let p = self.dir.join(name);
        let label = p.display().to_string();
        let json = if p.is_dir() {
            folder::manifest_bytes(&label, &p)?
        } else if self.is_restic_dump(name)? {
            folder::find_manifest(&label, self.reader(name)?)?
        } else {
            return Ok(Box::new(self.reader(name)?.take(len)));
        };
        Ok(Box::new(io::Cursor::new(archive::manifest_tar(&json)?)))
    }

    /// The archive to read: a folder as it is, a restic dump unpacked into a folder in `stage`,
    /// any other file as a stream.
    pub fn open_archive(&self, name: &str, stage: &Path) -> Result<Opened<'static>> {
        let p = self.dir.join(name);
        if p.is_dir() {
            return Ok(Opened::Folder {
                path: p,
                _temp: None,
            });
        }
        if self.is_restic_dump(name)? {
            let t = folder::TempFolder::new(stage, "unpacked")?;
            folder::unpack(&p.display().to_string(), self.reader(name)?, &t.path)?;
            return Ok(Opened::Folder {
                path: t.path.clone(),
                _temp: Some(t),
            });
        }
        Ok(Opened::Stream(self.reader(name)?))
    }

    pub fn writer(&self, name: &str) -> Result<Box<dyn Upload + '_>> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create backup folder {}", self.dir.display()))?;
        Ok(Box::new(LocalUpload {
            file: TempFile::new(&self.dir.join(name), 0o600)?,
            dir: self.dir.clone(),
        }))
    }

    pub fn put_small(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.dir.join(name), bytes, 0o600)
    }

    pub fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let p = self.dir.join(name);
        match std::fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
        }
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        let p = self.dir.join(name);
        match std::fs::remove_file(&p) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
        }
    }
}

struct LocalUpload {
    file: TempFile,
    dir: PathBuf,
}

impl LocalUpload {
    /// A full disk is said as such, naming the backup folder (the archive writer's own context
    /// only knows the member it was writing).
    fn blame(&self, e: io::Error) -> io::Error {
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
                io::Error::new(e.kind(), crate::error::Classified::new(
                    "disk_full",
                    crate::error::ExitStatus::Failure,
                    format!(
                        "{e}; the disk holding the backup folder {} is full; free space there (older archives \
                         can go) or set BACKUP_DIR (--dir) to a folder on a larger disk",
                        self.dir.display()
                    ),
                ))
            }
            _ => e,
        }
    }
}

impl Write for LocalUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.file().write(buf).map_err(|e| self.blame(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.file().flush().map_err(|e| self.blame(e))
    }
}

impl Upload for LocalUpload {
    fn commit(self: Box<Self>) -> Result<()> {
        self.file.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_names_the_backup_folder() {
        let d = tempfile::tempdir().unwrap();
        let up = LocalUpload {
            file: TempFile::new(&d.path().join("a.tar.gz"), 0o600).unwrap(),
            dir: d.path().to_path_buf(),
        };
        let e = up.blame(io::Error::from_raw_os_error(libc::ENOSPC));
        let err = anyhow::Error::new(e).context("cannot write member x to the archive");
        assert_eq!(crate::error::classify(&err).0, "disk_full");
        let msg = crate::error::message(&err);
        assert!(
            msg.contains(&format!(
                "the disk holding the backup folder {} is full",
                d.path().display()
            )),
            "{msg}"
        );
        // Other errors pass unchanged.
        let e = up.blame(io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
    }
}

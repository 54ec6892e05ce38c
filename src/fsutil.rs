//! Crash-safe file writes: temp file in the destination folder, fsync, rename, fsync the folder.

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Prefix of every temporary file vannactl creates; a later run removes leftovers by this prefix.
pub const TEMP_PREFIX: &str = ".vannactl-tmp-";

/// A temporary file next to `dest`; removed on drop unless persisted.
pub struct TempFile {
    pub path: PathBuf,
    pub file: Option<File>,
    dest: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// The temporary path next to `dest`, its folder created.
    fn path_for(dest: &Path) -> Result<PathBuf> {
        let dir = parent_dir(dest);
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(dir.join(format!("{TEMP_PREFIX}{}-{name}", std::process::id())))
    }

    pub fn new(dest: &Path, mode: u32) -> Result<Self> {
        let dir = parent_dir(dest);
        let path = Self::path_for(dest)?;
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .with_context(|| format!("cannot create temporary file {}", path.display()))
            .map_err(|e| crate::error::or_disk_full(e, &dir, None))?;
        Ok(TempFile {
            path,
            file: Some(file),
            dest: dest.to_path_buf(),
            persisted: false,
        })
    }

    /// `src`, a file this run made and no one else holds (a member restic restored into a
    /// temporary folder), moved to be the temporary file next to `dest` instead of copied.
    /// `None` when the two are on different filesystems: the caller copies.
    pub fn adopt(src: &Path, dest: &Path, mode: u32) -> Result<Option<Self>> {
        use std::os::unix::fs::PermissionsExt;
        let path = Self::path_for(dest)?;
        match fs::rename(src, &path) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot move {} to {}", src.display(), path.display())
                })
            }
        }
        let mut t = TempFile {
            path,
            file: None,
            dest: dest.to_path_buf(),
            persisted: false,
        };
        fs::set_permissions(&t.path, fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", t.path.display()))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&t.path)
            .with_context(|| format!("cannot open {}", t.path.display()))?;
        t.file = Some(file);
        Ok(Some(t))
    }

    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("temp file is open until persisted")
    }

    /// fsync, rename over the destination, fsync the folder.
    pub fn persist(mut self) -> Result<()> {
        let f = self.file.take().expect("persist once");
        f.sync_all()
            .with_context(|| format!("fsync {}", self.path.display()))
            .map_err(|e| crate::error::or_disk_full(e, &parent_dir(&self.dest), None))?;
        drop(f);
        fs::rename(&self.path, &self.dest).with_context(|| {
            format!(
                "cannot rename {} to {}",
                self.path.display(),
                self.dest.display()
            )
        })?;
        self.persisted = true;
        sync_dir(&parent_dir(&self.dest))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
            // A temp file opened as a SQLite database may have grown side files.
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut side = self.path.clone().into_os_string();
                side.push(suffix);
                let _ = fs::remove_file(side);
            }
        }
    }
}

/// Write `bytes` to `dest` atomically with the given mode.
pub fn write_atomic(dest: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut tmp = TempFile::new(dest, mode)?;
    tmp.file()
        .write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.path.display()))
        .map_err(|e| crate::error::or_disk_full(e, &parent_dir(dest), None))?;
    tmp.persist()
}

/// `std::fs::read_to_string`, but only of a regular file: a FIFO would block the run forever and a
/// device or folder is nobody's configuration.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or folder)",
        ));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut &f, &mut text)?;
    Ok(text)
}

pub fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// fsync a directory so a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot fsync folder {}", dir.display()))
}

/// Remove temporary files a killed earlier run left in `dir` (only ours: by prefix, and only when
/// the PID in the name is no longer running). Returns the removed paths.
pub fn clean_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        let pid: Option<i32> = rest.split('-').next().and_then(|p| p.parse().ok());
        if pid.is_some_and(process_alive) {
            continue;
        }
        // A folder (a restic restore, an unpacked archive) goes with everything in it.
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        let gone = if is_dir {
            fs::remove_dir_all(e.path())
        } else {
            fs::remove_file(e.path())
        };
        if gone.is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// Whether a process with this PID exists (EPERM counts as alive).
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("f.json");
        write_atomic(&dest, b"one", 0o644).unwrap();
        write_atomic(&dest, b"two", 0o644).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn dropped_temp_is_removed_and_dest_untouched() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("f");
        fs::write(&dest, b"old").unwrap();
        {
            let mut t = TempFile::new(&dest, 0o600).unwrap();
            t.file().write_all(b"half").unwrap();
        }
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_of_dead_pids_are_cleaned_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        let dead = d.path().join(format!("{TEMP_PREFIX}999999999-x"));
        let live = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-x", std::process::id()));
        let other = d.path().join("unrelated.tmp");
        for p in [&dead, &live, &other] {
            fs::write(p, b"").unwrap();
        }
        let removed = clean_stale_temps(d.path());
        assert_eq!(removed, vec![dead.clone()]);
        assert!(live.exists() && other.exists());
    }
}

//! Merge one run's samples into the metrics file: flock'd lock file beside it, read, merge,
//! atomic write (mode 0644) — so concurrent runs lose nothing and readers never see half a file.

use super::{MetricsFile, Sample};
use anyhow::{Context, Result};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

pub fn lock_path(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

pub fn write_merged(file: &Path, run: &[Sample]) -> Result<()> {
    let lp = lock_path(file);
    let dir = crate::fsutil::parent_dir(file);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create metrics folder {}", dir.display()))?;
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&lp)
        .with_context(|| format!("cannot open metrics lock file {}", lp.display()))?;
    // SAFETY: a valid open descriptor; blocking: the other writer holds it for milliseconds.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot lock {}", lp.display()));
    }
    let existing = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let (mut m, bad) = MetricsFile::parse(&existing);
    for line in bad {
        tracing::warn!(
            "metrics file {}: dropped unreadable line {line:?}",
            file.display()
        );
    }
    m.merge(run);
    crate::fsutil::write_atomic(file, m.render().as_bytes(), 0o644)
        .with_context(|| format!("cannot write metrics file {}", file.display()))
}

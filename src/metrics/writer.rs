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
    // Refused before the lock file is created beside it; read again under the lock.
    read_existing(file)?;
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
    let mut m = read_existing(file)?;
    m.merge(run);
    crate::fsutil::write_atomic(file, m.render().as_bytes(), 0o644)
        .with_context(|| format!("cannot write metrics file {}", file.display()))
}

/// The metrics now in `file` (empty when there is none).
fn read_existing(file: &Path) -> Result<MetricsFile> {
    let existing = match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        Ok(meta) if !meta.is_file() => return Err(not_metrics(file, "is not a regular file")),
        Ok(_) => match std::fs::read(file) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| not_metrics(file, "holds binary data, not Prometheus metrics"))?,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        },
    };
    // Only a file of metrics is replaced: a METRICS_FILE that names a database, a config file or
    // anything else is someone's data.
    let (m, bad) = MetricsFile::parse(&existing);
    if let Some(first) = bad.first() {
        let first: String = first.chars().take(60).collect();
        return Err(not_metrics(
            file,
            &format!(
                "holds {} lines that are not Prometheus metrics (first: {first:?})",
                bad.len()
            ),
        ));
    }
    Ok(m)
}

fn not_metrics(file: &Path, what: &str) -> anyhow::Error {
    crate::error::usage(format!(
        "METRICS_FILE={} {what}; it was not overwritten — point METRICS_FILE at a file of its own",
        file.display()
    ))
}

//! One vannactl operation at a time per environment: an flock'd lock file holding the holder's PID,
//! operation and start time. The kernel drops the flock when a process dies, so a lock left by a
//! killed run is taken over at once (and reported); a live holder makes us exit 5.

use crate::error::locked;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub pid: u32,
    pub operation: String,
    pub started_at: String,
    pub host: String,
}

/// Held until dropped.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    pub path: PathBuf,
    /// A previous holder that died without releasing (its record was still in the file).
    pub took_over: Option<Holder>,
}

pub fn acquire(path: &Path, operation: &str) -> Result<LockGuard> {
    let dir = crate::fsutil::parent_dir(path);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create lock folder {}", dir.display()))?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    // SAFETY: a valid open descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    let mut previous = read_holder(&mut file);
    if rc != 0 {
        // The holder writes its record right after taking the lock: read again briefly when it
        // is not there yet, so the message can name the holder.
        for _ in 0..50 {
            if previous.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            previous = read_holder(&mut file);
        }
        let who = match &previous {
            Some(h) => format!(
                "{} (pid {} on {}, since {})",
                h.operation, h.pid, h.host, h.started_at
            ),
            None => "another vannactl process".into(),
        };
        return Err(locked(format!(
            "{operation}: lock {} is held by {who}; wait for it to finish, then retry",
            path.display()
        )));
    }
    let me = Holder {
        pid: std::process::id(),
        operation: operation.to_string(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        host: crate::cli::hostname(),
    };
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(serde_json::to_string(&me)?.as_bytes())?;
    file.sync_all()?;
    if let Some(h) = &previous {
        tracing::warn!(
            "took over stale lock {} left by {} (pid {}, started {}), which is no longer running",
            path.display(),
            h.operation,
            h.pid,
            h.started_at
        );
    }
    let guard = LockGuard {
        file,
        path: path.to_path_buf(),
        took_over: previous,
    };
    // Lets the concurrency tests hold the lock exactly while competitors try it.
    crate::backup::testhook::at(&format!("lock:{operation}"))?;
    Ok(guard)
}

/// The record in the lock file (None: empty, released cleanly, or not written yet).
fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // An empty file means "released cleanly"; the flock itself goes with the descriptor.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_locked_until_release() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("vannactl.lock");
        let g = acquire(&p, "backup").unwrap();
        assert!(g.took_over.is_none());
        let err = acquire(&p, "restore").unwrap_err();
        assert_eq!(
            crate::error::classify(&err).1,
            crate::error::ExitStatus::Locked
        );
        assert!(err.to_string().contains("backup (pid"), "{err}");
        drop(g);
        assert!(acquire(&p, "restore").unwrap().took_over.is_none());
    }

    #[test]
    fn leftover_record_is_reported_as_takeover() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("vannactl.lock");
        std::fs::write(
            &p,
            r#"{"pid":999999999,"operation":"backup","started_at":"2026-01-01T00:00:00Z","host":"h"}"#,
        )
        .unwrap();
        let g = acquire(&p, "backup").unwrap();
        assert_eq!(g.took_over.as_ref().unwrap().pid, 999999999);
    }
}

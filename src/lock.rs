//! One vannactl operation at a time per environment: an flock'd lock file holding the holder's PID,
//! operation and start time. The kernel drops the flock when a process dies, so a lock left by a
//! killed run is taken over at once (and reported); a live holder makes us exit 5.

use crate::error::{locked, usage};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::os::unix::fs::FileExt;
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
    let existed = match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err(not_a_lock(path, "is not a regular file")),
        Ok(_) => true,
        Err(_) => false,
    };
    // O_NONBLOCK: a FIFO swapped in after the check must not hang the run.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    if !file.metadata()?.is_file() {
        return Err(not_a_lock(path, "is not a regular file"));
    }
    // SAFETY: a valid open descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    let mut previous = read_holder(&mut file);
    if rc != 0 {
        // The holder writes its record right after taking the lock: read again briefly when it
        // is not there yet, so the message can name the holder.
        for _ in 0..50 {
            if matches!(previous, Content::Holder(_)) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            previous = read_holder(&mut file);
        }
        let who = match &previous {
            Content::Holder(h) => format!(
                "{} (pid {} on {}, since {})",
                h.operation, h.pid, h.host, h.started_at
            ),
            _ => "another vannactl process".into(),
        };
        return Err(locked(format!(
            "{operation}: lock {} is held by {who}; wait for it to finish, then retry",
            path.display()
        )));
    }
    // Holding the flock, the content is stable: only a holder writes it.
    let previous = match previous {
        Content::Empty => None,
        Content::Holder(h) => Some(h),
        Content::Foreign(n) => {
            return Err(not_a_lock(
                path,
                &format!("holds {n} bytes that are not a vannactl lock record (left untouched)"),
            ))
        }
    };
    let me = Holder {
        pid: std::process::id(),
        operation: operation.to_string(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        host: crate::host::hostname(),
    };
    // One write at offset 0, then cut: a crash in between leaves our record followed by the tail
    // of an older one, which `read_holder` still recognises.
    let record = serde_json::to_string(&me)?;
    let written = file
        .write_all_at(record.as_bytes(), 0)
        .and_then(|_| file.set_len(record.len() as u64))
        .and_then(|_| file.sync_all());
    if let Err(e) = written {
        // A lock file this run created is not left behind (a full disk, a read-only mount).
        if !existed {
            let _ = std::fs::remove_file(path);
        }
        return Err(crate::error::or_disk_full(
            anyhow::Error::new(e).context(format!(
                "cannot write the lock file LOCK_PATH={}",
                path.display()
            )),
            &crate::fsutil::parent_dir(path),
            Some("LOCK_PATH"),
        ));
    }
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

/// LOCK_PATH names something the lock must not write to (exit 2).
fn not_a_lock(path: &Path, what: &str) -> anyhow::Error {
    usage(format!(
        "LOCK_PATH={} {what}; point LOCK_PATH at a file of its own (default data/vannactl.lock)",
        path.display()
    ))
}

/// What the lock file holds.
enum Content {
    /// Empty (released cleanly, or new).
    Empty,
    Holder(Holder),
    /// Anything else: this many bytes of someone else's data.
    Foreign(u64),
}

/// The record in the lock file. The first JSON value counts, so a record followed by the tail of a
/// longer, older one (a crash between write and cut) is still ours.
fn read_holder(file: &mut File) -> Content {
    let mut bytes = Vec::new();
    if file
        .rewind()
        .and_then(|_| file.read_to_end(&mut bytes))
        .is_err()
    {
        return Content::Foreign(0);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Content::Empty;
    }
    match serde_json::Deserializer::from_slice(&bytes)
        .into_iter::<Holder>()
        .next()
    {
        Some(Ok(h)) => Content::Holder(h),
        _ => Content::Foreign(bytes.len() as u64),
    }
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

    #[test]
    fn a_record_with_an_older_tail_is_still_ours() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("vannactl.lock");
        std::fs::write(
            &p,
            r#"{"pid":999999998,"operation":"init","started_at":"2026-01-01T00:00:00Z","host":"h"}1","host":"longer-host"}"#,
        )
        .unwrap();
        let g = acquire(&p, "backup").unwrap();
        assert_eq!(g.took_over.as_ref().unwrap().pid, 999999998);
        let now: Holder = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
        drop(g);
        assert_eq!(std::fs::read(&p).unwrap().len(), 0);
    }

    #[test]
    fn never_writes_to_a_file_that_is_not_a_lock() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("system.db");
        let data = b"SQLite format 3\0 and the users table".to_vec();
        std::fs::write(&p, &data).unwrap();
        let err = acquire(&p, "backup").unwrap_err();
        assert_eq!(
            crate::error::classify(&err).1,
            crate::error::ExitStatus::Usage
        );
        assert!(err.to_string().contains("LOCK_PATH="), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), data);
        // A folder or a FIFO is refused too, without blocking.
        let err = acquire(d.path(), "backup").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = acquire(&fifo, "backup").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}

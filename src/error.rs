//! Exit statuses and user-facing error classification.
//!
//! Library code returns `anyhow::Error`; where the caller (or `main`) must branch on what went wrong,
//! the error chain carries a [`Classified`] with a stable `kind` (for `--json`) and an [`ExitStatus`].

use std::fmt;

/// The documented exit codes (README, man page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Unhealthy = 3,
    ConfirmationRequired = 4,
    Locked = 5,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error whose kind and exit status callers can rely on.
#[derive(Debug)]
pub struct Classified {
    pub kind: &'static str,
    pub status: ExitStatus,
    pub message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

impl Classified {
    pub fn new(kind: &'static str, status: ExitStatus, message: impl Into<String>) -> Self {
        Classified {
            kind,
            status,
            message: message.into(),
        }
    }
}

/// A failure (exit 1) with a stable kind, e.g. `fail("source_missing", "...")`.
pub fn fail(kind: &'static str, message: impl Into<String>) -> anyhow::Error {
    Classified::new(kind, ExitStatus::Failure, message).into()
}

/// A usage error (exit 2): bad flag values, bad configuration values.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Classified::new("usage", ExitStatus::Usage, message).into()
}

/// A destructive action was not confirmed (exit 4).
pub fn confirmation_required(message: impl Into<String>) -> anyhow::Error {
    Classified::new(
        "confirmation_required",
        ExitStatus::ConfirmationRequired,
        message,
    )
    .into()
}

/// Another vannactl operation holds the lock (exit 5).
pub fn locked(message: impl Into<String>) -> anyhow::Error {
    Classified::new("locked", ExitStatus::Locked, message).into()
}

/// The kind and exit status of any error: the outermost [`Classified`] in the chain wins (also
/// one carried inside an `io::Error`, as a write that ran out of space reports it), a disk that
/// is full is `disk_full`, anything else is a generic failure.
pub fn classify(err: &anyhow::Error) -> (&'static str, ExitStatus) {
    err.chain()
        .find_map(classified)
        .map(|c| (c.kind, c.status))
        .or_else(|| is_disk_full(err).then_some(("disk_full", ExitStatus::Failure)))
        .unwrap_or(("failure", ExitStatus::Failure))
}

fn classified<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Classified> {
    e.downcast_ref::<Classified>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<Classified>())
    })
}

/// Whether the error comes from a full disk (or an exhausted quota): `ENOSPC`/`EDQUOT`, or
/// SQLite's "database or disk is full".
pub fn is_disk_full(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        let io = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.raw_os_error())
            .is_some_and(|c| c == libc::ENOSPC || c == libc::EDQUOT);
        let sqlite = matches!(
            e.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DiskFull
        );
        io || sqlite
    })
}

/// What to say after a write failed for lack of space in `folder` (`setting`, when known, is the
/// variable that chose the folder).
fn disk_full_advice(folder: &std::path::Path, setting: Option<&str>) -> String {
    let or = setting
        .map(|v| format!(" or set {v} to a folder on a larger disk"))
        .unwrap_or_default();
    format!(
        "the disk holding {} is full; free space there{or}",
        folder.display()
    )
}

/// The disk holding `folder` is full (exit 1, kind `disk_full`).
pub fn disk_full(folder: &std::path::Path, setting: Option<&str>) -> anyhow::Error {
    fail("disk_full", disk_full_advice(folder, setting))
}

/// `err`, or a `disk_full` error naming `folder` and what to do when a full disk caused it (and
/// nothing closer named the folder yet). What failed stays at the front of the message.
pub fn or_disk_full(
    err: anyhow::Error,
    folder: &std::path::Path,
    setting: Option<&str>,
) -> anyhow::Error {
    let named = err
        .chain()
        .filter_map(classified)
        .any(|c| c.kind == "disk_full");
    if is_disk_full(&err) && !named {
        fail(
            "disk_full",
            format!(
                "{}; {}",
                chain_text(&err),
                disk_full_advice(folder, setting)
            ),
        )
    } else {
        err
    }
}

/// The full message of an error chain on one line ("context: cause: cause"): whatever a part
/// holds (a server's multi-line answer, a tool's stderr), line breaks and control characters
/// never reach the terminal.
pub fn message(err: &anyhow::Error) -> String {
    let text = chain_text(err);
    let advised = err
        .chain()
        .filter_map(classified)
        .any(|c| c.kind == "disk_full");
    if is_disk_full(err) && !advised {
        // Whatever wrote, the path it names is on a full disk.
        return format!("{text}; the disk is full: free space on it and retry");
    }
    text
}

fn chain_text(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.chain() {
        let s = one_line(&e.to_string());
        // anyhow contexts often repeat the source's text; keep each distinct part once.
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Line breaks become "; ", other control characters U+FFFD, runs of blanks one space.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        for c in line.chars() {
            match c {
                '\t' => out.push(' '),
                c if c.is_control() => out.push('\u{FFFD}'),
                c => out.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn classify_finds_inner_classified_through_context() {
        let err: anyhow::Result<()> = Err(locked("held by pid 7"));
        let err = err.context("backup").unwrap_err();
        assert_eq!(classify(&err), ("locked", ExitStatus::Locked));
        assert_eq!(message(&err), "backup: held by pid 7");
    }

    #[test]
    fn messages_are_one_line() {
        let err = anyhow::anyhow!("pg_dump: error:\n  connection failed\r\n\tdetail\x07")
            .context("backup of system failed");
        assert_eq!(
            message(&err),
            "backup of system failed: pg_dump: error:; connection failed; detail\u{FFFD}"
        );
    }

    #[test]
    fn full_disk_is_classified_also_inside_io_errors() {
        let enospc = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let err = anyhow::Error::new(enospc).context("cannot write x");
        assert_eq!(classify(&err), ("disk_full", ExitStatus::Failure));
        let named = or_disk_full(err, std::path::Path::new("/mnt/small"), Some("BACKUP_DIR"));
        assert_eq!(classify(&named).0, "disk_full");
        assert!(
            message(&named).starts_with("cannot write x: ")
                && message(&named).contains("the disk holding /mnt/small is full")
                && message(&named).contains("set BACKUP_DIR"),
            "{}",
            message(&named)
        );
        let wrapped =
            std::io::Error::other(Classified::new("disk_full", ExitStatus::Failure, "full"));
        let err = anyhow::Error::new(wrapped).context("archive");
        assert_eq!(classify(&err).0, "disk_full");
        assert_eq!(
            classify(&or_disk_full(
                anyhow::anyhow!("other"),
                std::path::Path::new("/"),
                None
            ))
            .0,
            "failure"
        );
    }

    #[test]
    fn unclassified_is_failure() {
        let err = anyhow::anyhow!("boom");
        assert_eq!(classify(&err), ("failure", ExitStatus::Failure));
    }
}

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

/// The kind and exit status of any error: the outermost [`Classified`] in the chain wins,
/// anything else is a generic failure.
pub fn classify(err: &anyhow::Error) -> (&'static str, ExitStatus) {
    err.chain()
        .find_map(|e| e.downcast_ref::<Classified>())
        .map(|c| (c.kind, c.status))
        .unwrap_or(("failure", ExitStatus::Failure))
}

/// The full message of an error chain on one line ("context: cause: cause").
pub fn message(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.chain() {
        let s = e.to_string();
        // anyhow contexts often repeat the source's text; keep each distinct part once.
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
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
    fn unclassified_is_failure() {
        let err = anyhow::anyhow!("boom");
        assert_eq!(classify(&err), ("failure", ExitStatus::Failure));
    }
}

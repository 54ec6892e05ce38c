//! `health`: every component reports checks with a status and latency. Exit 0 when healthy or only
//! warnings, 3 when any critical check fails. Components add their checks in [`run`].

mod files;
mod layout;
mod redis;
mod target;

pub use files::human_bytes;
pub use layout::layout_check;

use crate::config::Settings;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Warn,
    Critical,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Warn => "warn",
            Status::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub component: &'static str,
    pub name: String,
    pub status: Status,
    pub latency_ms: f64,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run `PRAGMA quick_check` on SQLite files (reads them whole).
    pub quick_check: bool,
    /// Row counts and other statistics.
    pub stats: bool,
}

/// Run a check and time it.
pub fn timed(component: &'static str, name: &str, f: impl FnOnce() -> (Status, String)) -> Check {
    let t = Instant::now();
    let (status, detail) = f();
    Check {
        component,
        name: name.to_string(),
        status,
        latency_ms: t.elapsed().as_secs_f64() * 1000.0,
        detail,
    }
}

/// All checks for a loaded configuration.
pub fn run(settings: &Settings, opts: &Options) -> Vec<Check> {
    let mut checks = vec![Check {
        component: "config",
        name: "configuration".into(),
        status: Status::Ok,
        latency_ms: 0.0,
        detail: format!(
            "profile {}, system DB {}",
            settings.profile.as_str(),
            settings.database_url.masked()
        ),
    }];
    checks.extend(files::golden_copy(settings, opts));
    checks.extend(files::folders(settings));
    checks.extend(crate::system_db::health_checks(settings, opts));
    checks.extend(crate::knowledge::health_checks(settings));
    checks.extend(crate::backup::health::checks(settings));
    checks.extend(redis::checks(settings));
    checks
}

/// The worst status among the checks.
pub fn overall(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

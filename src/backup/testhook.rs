//! Test-only fault injection, so end-to-end tests can kill or fail a run at an exact point without
//! timing games. Inert unless `VANNACTL_TEST_HOOK` is set; documented in docs/backup.md (Test hook).
//!
//! `VANNACTL_TEST_HOOK=pause:<point>[,fail:<point>…]`: at `pause:` points the process prints
//! `vannactl-test-hook: paused at <point>` on stderr and sleeps (the test then kills it or runs a
//! competing command) until the file named by `VANNACTL_TEST_HOOK_RESUME` exists, if set; at
//! `hold:` points it prints `vannactl-test-hook: holding at <point>` and waits until its stdin has
//! a line or is closed; at `fail:` points the step fails with an error.
//! Points: `backup:<component>` (before its snapshot), `backup:archive` (archive half written),
//! `restore:<component>` (before putting it back), `restore:system-commit` (PostgreSQL: the whole
//! script was fed to psql, COMMIT not yet sent), `restore:knowledge-swap` (Chroma: after the
//! first collection was swapped in), `train:written` (records written; Chroma directory: not yet
//! committed, Chroma: the "trained" stamp not yet set), `lock:<operation>` (the operation lock was
//! just taken, e.g. `lock:backup`, `lock:golden-copy`).

use crate::error::fail;
use anyhow::Result;

pub const ENV: &str = "VANNACTL_TEST_HOOK";
/// A file whose appearance ends a pause (so a test can break something, then let the run go on).
pub const RESUME_ENV: &str = "VANNACTL_TEST_HOOK_RESUME";

fn pause() {
    let resume = std::env::var_os(RESUME_ENV).map(std::path::PathBuf::from);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while std::time::Instant::now() < until {
        if resume.as_ref().is_some_and(|p| p.exists()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

pub fn at(point: &str) -> Result<()> {
    let Ok(spec) = std::env::var(ENV) else {
        return Ok(());
    };
    for item in spec.split(',').map(str::trim) {
        if item.strip_prefix("pause:") == Some(point) {
            eprintln!("vannactl-test-hook: paused at {point}");
            pause();
        }
        if item.strip_prefix("hold:") == Some(point) {
            // Resumable pause: the test closes (or writes a line to) our stdin to let us go on.
            eprintln!("vannactl-test-hook: holding at {point}");
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        if item.strip_prefix("fail:") == Some(point) {
            return Err(fail(
                "test_hook",
                format!("injected failure at {point} ({ENV})"),
            ));
        }
    }
    Ok(())
}

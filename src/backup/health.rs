//! `health` checks for backups: is there a recent archive, and does its manifest read.

use super::archive::{list_archives, read_manifest};
use crate::config::Settings;
use crate::health::{timed, Check, Status};

/// Older than this, the newest archive is a warning (a daily cron job has missed a run).
const STALE_HOURS: i64 = 48;

pub fn checks(s: &Settings) -> Vec<Check> {
    vec![timed("backup", "newest archive", || newest(s))]
}

fn newest(s: &Settings) -> (Status, String) {
    let dir = &s.backup_dir;
    let archives = match list_archives(dir) {
        Ok(a) => a,
        Err(e) => return (Status::Warn, crate::error::message(&e)),
    };
    let Some((at, path)) = archives.into_iter().next() else {
        return (
            Status::Warn,
            format!(
                "no archives in {}; run `vannactl backup` (e.g. from cron)",
                dir.display()
            ),
        );
    };
    let age_h = (chrono::Utc::now() - at).num_hours();
    match read_manifest(&path) {
        Err(e) => (
            Status::Warn,
            format!(
                "newest archive is unreadable: {}",
                crate::error::message(&e)
            ),
        ),
        Ok(m) if age_h > STALE_HOURS => (
            Status::Warn,
            format!(
                "newest archive {} is {age_h} h old (components {}); is the backup job running?",
                path.display(),
                m.present_list()
            ),
        ),
        Ok(m) => (
            Status::Ok,
            format!(
                "{} ({age_h} h old, components {})",
                path.display(),
                m.present_list()
            ),
        ),
    }
}

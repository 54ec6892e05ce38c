//! `health` checks for backups: is there a recent archive, and does its manifest read.

use super::repo::{ArchiveRef, Repo};
use crate::config::Settings;
use crate::health::{timed, Check, Status};

/// Older than this, the newest archive is a warning (a daily cron job has missed a run).
const STALE_HOURS: i64 = 48;

pub fn checks(s: &Settings) -> Vec<Check> {
    vec![timed("backup", "newest archive", || newest(s))]
}

fn newest(s: &Settings) -> (Status, String) {
    let newest = Repo::open(s).and_then(|repo| {
        let display = repo.display();
        let first = repo.list()?.into_iter().next();
        Ok((display, first.map(|e| (e, repo))))
    });
    let (dir, first) = match newest {
        Ok(x) => x,
        // The repository cannot be opened or listed (a wrong endpoint, credentials, a server
        // that is down): no backup can be written or read, which is critical.
        Err(e) => return (Status::Critical, crate::error::message(&e)),
    };
    let Some((entry, repo)) = first else {
        return (
            Status::Warn,
            format!("no archives in {dir}; run `vannactl backup` (e.g. from cron)"),
        );
    };
    let age_h = (chrono::Utc::now() - entry.at).num_hours();
    let a = ArchiveRef {
        repo,
        name: entry.name,
    };
    let path = a.location();
    // Without the private key the name and size are all there is to look at.
    let head = if a.encrypted() && s.backup_age_identity_file.is_none() {
        Ok("? (encrypted)".to_string())
    } else {
        a.read_manifest(s).map(|m| m.present_list())
    };
    match head {
        Err(e) => (
            Status::Warn,
            format!(
                "newest archive is unreadable: {}",
                crate::error::message(&e)
            ),
        ),
        Ok(c) if age_h > STALE_HOURS => (
            Status::Warn,
            format!(
                "newest archive {path} is {age_h} h old (components {c}); is the backup job running?"
            ),
        ),
        Ok(c) => (
            Status::Ok,
            format!("{path} ({age_h} h old, components {c})"),
        ),
    }
}

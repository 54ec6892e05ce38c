//! The external target database (ENABLE_TARGET_DB): reachable with the configured URL, in the
//! read-only session `train` uses, and how many tables and views the app can see.

use super::{timed, Check, Status};
use crate::config::Settings;
use crate::schema::Target;

pub fn external(settings: &Settings) -> Check {
    timed("target", "external target DB", || {
        let mut target = match Target::open(settings) {
            Ok(t) => t,
            Err(e) => return (Status::Critical, crate::error::message(&e)),
        };
        let version = match target.server_version() {
            Ok(v) => v,
            Err(e) => {
                return (
                    Status::Critical,
                    format!("{}: {}", target.describe(), crate::error::message(&e)),
                )
            }
        };
        match target.schema() {
            Ok(s) if s.objects.is_empty() => (
                Status::Warn,
                format!(
                    "{} ({version}) is reachable but has no tables or views the configured user can read",
                    target.describe()
                ),
            ),
            Ok(s) => (
                Status::Ok,
                format!(
                    "{} ({version}): {} tables/views, read-only session",
                    target.describe(),
                    s.objects.len()
                ),
            ),
            Err(e) => (Status::Critical, crate::error::message(&e)),
        }
    })
}

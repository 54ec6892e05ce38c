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

/// One group of checks that runs on its own thread: the checks of one component.
struct Group {
    component: &'static str,
    /// The name of its first check, reported critical when the group does not finish in time.
    first_check: &'static str,
    /// What it talks to, for that message (URLs masked).
    talks_to: String,
    /// False for `--quick-check` on local files: reading a large file whole takes what it takes.
    bounded: bool,
    run: fn(&Settings, &Options) -> Vec<Check>,
}

fn groups(settings: &Settings, opts: &Options) -> Vec<Group> {
    let masked = |u: &Option<String>| u.as_deref().map(crate::config::mask_url);
    let target = if settings.enable_target_db {
        Group {
            component: "target",
            first_check: "external target DB",
            talks_to: format!(
                "target DB {}",
                masked(&settings.target_database_url).unwrap_or_default()
            ),
            bounded: true,
            run: files::golden_copy,
        }
    } else {
        Group {
            component: "target",
            first_check: "golden copy",
            talks_to: format!("golden copy {}", settings.target_db_path.display()),
            bounded: !opts.quick_check,
            run: files::golden_copy,
        }
    };
    let (knowledge_check, knowledge_at) = match &settings.chroma_url {
        Some(u) => (
            "chroma reachable",
            format!("Chroma at {}", crate::config::mask_url(u)),
        ),
        None => (
            "chroma directory",
            format!("Chroma directory {}", settings.chroma_path.display()),
        ),
    };
    vec![
        target,
        Group {
            component: "files",
            first_check: "log folder writable",
            talks_to: "the log, backup and data folders".into(),
            bounded: true,
            run: |s, _| files::folders(s),
        },
        Group {
            component: "system_db",
            first_check: "connectivity",
            talks_to: format!("system DB {}", settings.database_url.masked()),
            bounded: true,
            run: crate::system_db::health_checks,
        },
        Group {
            component: "knowledge",
            first_check: knowledge_check,
            talks_to: knowledge_at,
            bounded: true,
            run: |s, _| crate::knowledge::health_checks(s),
        },
        Group {
            component: "backup",
            first_check: "newest archive",
            talks_to: match &settings.backup_repo {
                crate::config::BackupRepo::Local(d) => format!("backups in {}", d.display()),
                crate::config::BackupRepo::S3 { bucket, prefix } => {
                    format!("backups in s3://{bucket}/{prefix}")
                }
                r @ crate::config::BackupRepo::Restic(_) => format!("backups in {r}"),
            },
            bounded: true,
            run: |s, _| crate::backup::health::checks(s),
        },
        Group {
            component: "redis",
            first_check: "server",
            talks_to: format!(
                "Redis at {}",
                masked(&settings.redis_url).unwrap_or_default()
            ),
            bounded: true,
            run: |s, _| redis::checks(s),
        },
    ]
}

/// What is left of [`crate::net::HEALTH_BOUND`] for printing once the checks are given up on.
const REPORT_MARGIN: std::time::Duration = std::time::Duration::from_millis(1000);

/// All checks for a loaded configuration, in a fixed order. Components are checked concurrently,
/// each under the probe deadlines of [`crate::net`]; one that has not finished when the run
/// nears [`crate::net::HEALTH_BOUND`] is reported critical and left behind (its thread ends with
/// the process), so a run never takes longer than the bound (`--quick-check` excepted: reading
/// a large golden copy whole is not bounded).
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
    let give_up_after = crate::net::HEALTH_BOUND - REPORT_MARGIN;
    checks.extend(gather(
        settings,
        opts,
        groups(settings, opts),
        give_up_after,
    ));
    checks
}

/// Run the groups concurrently; wait for the bounded ones at most `give_up_after`.
fn gather(
    settings: &Settings,
    opts: &Options,
    groups: Vec<Group>,
    give_up_after: std::time::Duration,
) -> Vec<Check> {
    let started = Instant::now();
    let deadline = started + give_up_after;
    type Outcome = Result<Vec<Check>, ()>;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Outcome)>();
    for (i, g) in groups.iter().enumerate() {
        let (tx, s, o, run) = (tx.clone(), settings.clone(), opts.clone(), g.run);
        std::thread::spawn(move || {
            let checks = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::net::probing(|| run(&s, &o))
            }));
            let _ = tx.send((i, checks.map_err(|_| ())));
        });
    }
    drop(tx);
    let mut results: Vec<Option<Outcome>> = groups.iter().map(|_| None).collect();
    let pending = |r: &[Option<Outcome>], bounded: bool| {
        r.iter()
            .zip(&groups)
            .any(|(r, g)| r.is_none() && g.bounded == bounded)
    };
    while pending(&results, true) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, c)) => results[i] = Some(c),
            Err(_) => break,
        }
    }
    while pending(&results, false) {
        match rx.recv() {
            Ok((i, c)) => results[i] = Some(c),
            Err(_) => break,
        }
    }
    let waited_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut checks = Vec::new();
    for (g, r) in groups.iter().zip(results) {
        let detail = match r {
            Some(Ok(c)) => {
                checks.extend(c);
                continue;
            }
            Some(Err(())) => format!(
                "{}: the check stopped unexpectedly (a panic in vannactl; please report it)",
                g.talks_to
            ),
            None => format!(
                "{}: no answer within {} (health's bound is {}); check that it is up and reachable",
                g.talks_to,
                crate::net::secs(give_up_after),
                crate::net::secs(crate::net::HEALTH_BOUND)
            ),
        };
        checks.push(Check {
            component: g.component,
            name: g.first_check.into(),
            status: Status::Critical,
            latency_ms: waited_ms,
            detail,
        });
    }
    checks
}

/// The worst status among the checks.
pub fn overall(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn group(
        component: &'static str,
        bounded: bool,
        run: fn(&Settings, &Options) -> Vec<Check>,
    ) -> Group {
        Group {
            component,
            first_check: "first",
            talks_to: format!("{component} server"),
            bounded,
            run,
        }
    }

    fn ok(component: &'static str) -> Vec<Check> {
        vec![timed(component, "first", || (Status::Ok, "fine".into()))]
    }

    #[test]
    fn slow_and_broken_groups_are_critical_and_the_wait_is_bounded() {
        let settings = crate::config::Settings::load(&crate::config::Sources {
            no_dotenv: true,
            ..Default::default()
        })
        .unwrap();
        let groups = vec![
            group("fast", true, |_, _| ok("fast")),
            group("slow", true, |_, _| {
                std::thread::sleep(Duration::from_secs(30));
                ok("slow")
            }),
            group("broken", true, |_, _| panic!("a bug")),
            // Unbounded (a quick check of a large file): waited for beyond the bound.
            group("local", false, |_, _| {
                std::thread::sleep(Duration::from_millis(2500));
                ok("local")
            }),
        ];
        let t = Instant::now();
        let checks = gather(
            &settings,
            &Options::default(),
            groups,
            Duration::from_secs(2),
        );
        assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
        let by = |c: &str| checks.iter().find(|x| x.component == c).unwrap();
        assert_eq!(by("fast").status, Status::Ok);
        assert_eq!(by("local").status, Status::Ok);
        assert_eq!(by("slow").status, Status::Critical);
        assert!(
            by("slow")
                .detail
                .starts_with("slow server: no answer within 2 s"),
            "{}",
            by("slow").detail
        );
        assert_eq!(by("broken").status, Status::Critical);
        assert!(
            by("broken").detail.contains("stopped unexpectedly"),
            "{}",
            by("broken").detail
        );
        // The order is the groups' order, whatever finished first.
        let order: Vec<&str> = checks.iter().map(|c| c.component).collect();
        assert_eq!(order, ["fast", "slow", "broken", "local"]);
    }
}

//! Which archives to keep after a backup: restic's `forget` rules (`--keep-last`, `--keep-hourly`,
//! ..., `--keep-yearly`) with the semantics of the restic in Debian 12 (0.14): archives newest
//! first; a rule with n > 0 keeps an archive whose bucket (hour, day, ISO week, month, year in
//! local time, `TZ` honoured) differs from the bucket of the last archive that rule kept, until it
//! has kept n; keep-last keeps the n newest. An archive kept by any rule is kept, the newest always
//! is, and a policy of all zeros keeps everything. Only names matching the archive pattern are ever
//! considered (other files or objects under the prefix are never touched). Pruning runs only after
//! the new archive is complete, its members checked against their snapshots and its checksum file
//! written (`backup::create`), on every repository kind through `Repo`.

use super::repo::{Entry, Repo, SUM_SUFFIX};
use anyhow::{Context, Result};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

/// How many archives each rule keeps; 0 switches a rule off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

/// Why an archive is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
    /// The newest archive, when no rule kept it (only a safeguard: every rule keeps it).
    Newest,
    /// Every rule is 0: nothing is pruned.
    KeepAll,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Last => "last",
            Reason::Hourly => "hourly",
            Reason::Daily => "daily",
            Reason::Weekly => "weekly",
            Reason::Monthly => "monthly",
            Reason::Yearly => "yearly",
            Reason::Newest => "newest",
            Reason::KeepAll => "keep all",
        }
    }
}

impl Policy {
    /// Today's default and `BACKUP_RETENTION_COUNT`: the newest n.
    pub fn keep_last(n: u32) -> Policy {
        Policy {
            last: n,
            ..Policy::default()
        }
    }

    /// No rule set: nothing is pruned.
    pub fn keeps_all(&self) -> bool {
        self.rules().iter().all(|(_, n)| *n == 0)
    }

    fn rules(&self) -> [(Reason, u32); 6] {
        [
            (Reason::Last, self.last),
            (Reason::Hourly, self.hourly),
            (Reason::Daily, self.daily),
            (Reason::Weekly, self.weekly),
            (Reason::Monthly, self.monthly),
            (Reason::Yearly, self.yearly),
        ]
    }

    /// `last 7, daily 14, monthly 12`, or `keep all`, for messages.
    pub fn describe(&self) -> String {
        if self.keeps_all() {
            return "keep all".into();
        }
        self.rules()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{} {n}", r.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The bucket of `t` under `rule` in `tz`; keep-last gives every archive its own bucket.
fn bucket(rule: Reason, t: Timestamp, tz: &TimeZone, index: usize) -> i64 {
    let d = t.to_zoned(tz.clone()).datetime();
    let (y, m, day, h) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
        i64::from(d.hour()),
    );
    match rule {
        Reason::Hourly => ((y * 100 + m) * 100 + day) * 100 + h,
        Reason::Daily => (y * 100 + m) * 100 + day,
        Reason::Weekly => {
            let w = d.date().iso_week_date();
            i64::from(w.year()) * 100 + i64::from(w.week())
        }
        Reason::Monthly => y * 100 + m,
        Reason::Yearly => y,
        _ => index as i64,
    }
}

/// For archive times given newest first (index 0 is the newest), the rules that keep each one;
/// an empty list means it is pruned. Restic's `ApplyPolicy` without its duration and tag rules.
pub fn apply(policy: &Policy, newest_first: &[Timestamp], tz: &TimeZone) -> Vec<Vec<Reason>> {
    if policy.keeps_all() {
        return vec![vec![Reason::KeepAll]; newest_first.len()];
    }
    let mut rules: Vec<(Reason, u32, Option<i64>)> = policy
        .rules()
        .into_iter()
        .map(|(r, n)| (r, n, None))
        .collect();
    let mut out = Vec::with_capacity(newest_first.len());
    for (i, t) in newest_first.iter().enumerate() {
        let mut reasons = Vec::new();
        for (rule, left, last) in rules.iter_mut() {
            if *left == 0 {
                continue;
            }
            let b = bucket(*rule, *t, tz, i);
            if *last != Some(b) {
                *last = Some(b);
                *left -= 1;
                reasons.push(*rule);
            }
        }
        if i == 0 && reasons.is_empty() {
            reasons.push(Reason::Newest);
        }
        out.push(reasons);
    }
    out
}

/// The local time zone the buckets are cut in (`TZ`, else the system's).
pub fn local_tz() -> Result<TimeZone> {
    TimeZone::try_system().map_err(|e| {
        crate::error::usage(format!(
            "cannot tell the local time zone for backup retention (TZ={:?}): {e}; set TZ to a zone such as Europe/Berlin",
            std::env::var("TZ").unwrap_or_default()
        ))
    })
}

/// A zone's name for reports: its IANA name, else `TZ` as given.
pub fn tz_name(tz: &TimeZone) -> String {
    tz.iana_name()
        .map(str::to_string)
        .or_else(|| std::env::var("TZ").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "local".into())
}

/// `2026-03-29T03:00:00+02:00`: the time the buckets were cut from.
pub fn local_time(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// One archive (or, in a dry run, the backup about to be written: `name` None) and its verdict.
#[derive(Debug, Clone)]
pub struct Decision {
    pub name: Option<String>,
    pub at: Timestamp,
    /// Empty: pruned.
    pub reasons: Vec<Reason>,
}

pub fn timestamp(e: &Entry) -> Timestamp {
    Timestamp::from_millisecond(e.at.timestamp_millis()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The policy over the repository's archives. `written` is the run's own archive, or with
/// `planned` the backup a dry run would write now; either counts as the newest whatever the names
/// say, so an archive named from a clock that was ahead never pushes the fresh backup out.
pub fn plan(
    entries: &[Entry],
    policy: &Policy,
    tz: &TimeZone,
    written: Option<&str>,
    planned: Option<Timestamp>,
) -> Vec<Decision> {
    let mut items: Vec<(Option<String>, Timestamp)> = Vec::with_capacity(entries.len() + 1);
    if let Some(t) = planned {
        items.push((None, t));
    }
    if let Some(w) = written.and_then(|w| entries.iter().find(|e| e.name == w)) {
        items.push((Some(w.name.clone()), timestamp(w)));
    }
    let pinned = items.len();
    items.extend(
        entries
            .iter()
            .filter(|e| Some(e.name.as_str()) != written)
            .map(|e| (Some(e.name.clone()), timestamp(e))),
    );
    // Stable, like restic's sort: equal times keep the listing's order.
    items[pinned..].sort_by_key(|i| std::cmp::Reverse(i.1));
    let times: Vec<Timestamp> = items.iter().map(|(_, t)| *t).collect();
    apply(policy, &times, tz)
        .into_iter()
        .zip(items)
        .map(|(reasons, (name, at))| Decision { name, at, reasons })
        .collect()
}

/// Remove the archives `policy` does not keep once `written` is in the repository, each with its
/// checksum file; returns the locations removed.
pub fn prune(repo: &Repo, policy: &Policy, tz: &TimeZone, written: &str) -> Result<Vec<String>> {
    let entries = repo.list()?;
    let mut removed = Vec::new();
    for d in plan(&entries, policy, tz, Some(written), None) {
        let Some(name) = d.name.filter(|_| d.reasons.is_empty()) else {
            continue;
        };
        let location = repo.location(&name);
        repo.remove(&name)
            .with_context(|| format!("retention: cannot remove {location}"))?;
        if super::archive::is_encrypted(&name) {
            repo.remove(&format!("{name}{SUM_SUFFIX}"))
                .with_context(|| format!("retention: cannot remove {location}{SUM_SUFFIX}"))?;
        }
        removed.push(location);
    }
    repo.reclaim()
        .with_context(|| format!("retention: cannot reclaim the space of {}", repo.display()))?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::repo::local::Local;
    use jiff::civil::DateTime;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    /// Local wall-clock times in `tz`, given in any order; returned newest first.
    fn times(tz: &TimeZone, wall: &[&str]) -> Vec<Timestamp> {
        let mut t: Vec<Timestamp> = wall
            .iter()
            .map(|w| {
                w.parse::<DateTime>()
                    .unwrap()
                    .to_zoned(tz.clone())
                    .unwrap()
                    .timestamp()
            })
            .collect();
        t.sort_by_key(|t| std::cmp::Reverse(*t));
        t
    }

    /// The wall-clock times `policy` keeps, newest first.
    fn kept(policy: Policy, tz: &TimeZone, wall: &[&str]) -> Vec<String> {
        let t = times(tz, wall);
        apply(&policy, &t, tz)
            .iter()
            .zip(&t)
            .filter(|(r, _)| !r.is_empty())
            .map(|(_, t)| t.to_zoned(tz.clone()).strftime("%F %T").to_string())
            .collect()
    }

    #[test]
    fn daily_keeps_the_newest_of_each_day_and_several_an_hour_count_once() {
        let tz = TimeZone::UTC;
        let p = Policy {
            daily: 2,
            ..Policy::default()
        };
        let wall = [
            "2026-05-03T10:05:00",
            "2026-05-03T10:20:00",
            "2026-05-03T10:50:00",
            "2026-05-02T23:59:59",
            "2026-05-02T00:00:00",
            "2026-05-01T12:00:00",
        ];
        assert_eq!(
            kept(p, &tz, &wall),
            ["2026-05-03 10:50:00", "2026-05-02 23:59:59"]
        );
        let p = Policy {
            hourly: 3,
            ..Policy::default()
        };
        assert_eq!(
            kept(p, &tz, &wall),
            [
                "2026-05-03 10:50:00",
                "2026-05-02 23:59:59",
                "2026-05-02 00:00:00"
            ]
        );
    }

    #[test]
    fn month_ends_and_leap_days_fall_in_their_own_month() {
        let tz = TimeZone::UTC;
        let p = Policy {
            monthly: 4,
            ..Policy::default()
        };
        let wall = [
            "2024-01-31T23:59:00",
            "2024-02-01T00:01:00",
            "2024-02-29T22:00:00",
            "2024-03-01T00:00:00",
            "2024-03-31T23:00:00",
            "2024-04-30T23:59:59",
        ];
        assert_eq!(
            kept(p, &tz, &wall),
            [
                "2024-04-30 23:59:59",
                "2024-03-31 23:00:00",
                "2024-02-29 22:00:00",
                "2024-01-31 23:59:00"
            ]
        );
        // Yearly: the last one of each year, across the new year.
        let p = Policy {
            yearly: 5,
            ..Policy::default()
        };
        let wall = [
            "2024-12-31T23:59:59",
            "2025-01-01T00:00:00",
            "2025-06-01T00:00:00",
        ];
        assert_eq!(
            kept(p, &tz, &wall),
            ["2025-06-01 00:00:00", "2024-12-31 23:59:59"]
        );
    }

    #[test]
    fn weeks_are_iso_weeks_across_the_year_boundary() {
        let tz = TimeZone::UTC;
        let p = Policy {
            weekly: 3,
            ..Policy::default()
        };
        // 2026-01-01 is a Thursday: 2025-12-29 .. 2026-01-04 is ISO week 2026-W01.
        let wall = [
            "2025-12-28T12:00:00", // Sunday, 2025-W52
            "2025-12-29T00:00:00", // Monday, 2026-W01
            "2026-01-04T23:00:00", // Sunday, 2026-W01
            "2026-01-05T00:00:00", // Monday, 2026-W02
        ];
        assert_eq!(
            kept(p, &tz, &wall),
            [
                "2026-01-05 00:00:00",
                "2026-01-04 23:00:00",
                "2025-12-28 12:00:00"
            ]
        );
    }

    #[test]
    fn buckets_are_local_time_across_dst_changes() {
        let tz = berlin();
        // 2026-03-29: clocks go from 02:00 to 03:00 (CET to CEST). 01:30 and 03:30 local are one
        // real hour apart but in different local hours and the same local day.
        let p = Policy {
            hourly: 10,
            ..Policy::default()
        };
        let wall = [
            "2026-03-29T01:30:00",
            "2026-03-29T03:30:00",
            "2026-03-29T03:45:00",
        ];
        assert_eq!(
            kept(p, &tz, &wall),
            ["2026-03-29 03:45:00", "2026-03-29 01:30:00"]
        );
        let p = Policy {
            daily: 10,
            ..Policy::default()
        };
        assert_eq!(kept(p, &tz, &wall), ["2026-03-29 03:45:00"]);
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice. Both are the
        // same local hour: hourly keeps only the later.
        let first = "2026-10-25T02:30:00+02:00[Europe/Berlin]"
            .parse::<jiff::Zoned>()
            .unwrap()
            .timestamp();
        let second = "2026-10-25T02:30:00+01:00[Europe/Berlin]"
            .parse::<jiff::Zoned>()
            .unwrap()
            .timestamp();
        assert_eq!(second.as_second() - first.as_second(), 3600);
        let p = Policy {
            hourly: 10,
            ..Policy::default()
        };
        let r = apply(&p, &[second, first], &tz);
        assert_eq!(r, vec![vec![Reason::Hourly], vec![]]);
        // In UTC the same two instants are two hours.
        let r = apply(&p, &[second, first], &TimeZone::UTC);
        assert_eq!(r, vec![vec![Reason::Hourly], vec![Reason::Hourly]]);
        // A day boundary in local time that is not one in UTC: 00:30 CEST is 22:30 UTC the day before.
        let p = Policy {
            daily: 10,
            ..Policy::default()
        };
        let wall = ["2026-07-01T00:30:00", "2026-07-01T23:00:00"];
        assert_eq!(kept(p, &tz, &wall), ["2026-07-01 23:00:00"]);
        assert_eq!(kept(p, &TimeZone::UTC, &wall).len(), 1);
        let t = times(&tz, &wall);
        assert_eq!(
            apply(&p, &t, &TimeZone::UTC)
                .iter()
                .filter(|r| !r.is_empty())
                .count(),
            2
        );
    }

    #[test]
    fn keep_last_zero_with_bucket_rules_only_and_rules_combine() {
        let tz = TimeZone::UTC;
        let wall = [
            "2026-01-10T08:00:00",
            "2026-01-10T20:00:00",
            "2026-01-11T08:00:00",
            "2026-01-11T20:00:00",
            "2026-02-01T08:00:00",
        ];
        let t = times(&tz, &wall);
        let p = Policy {
            last: 0,
            daily: 2,
            monthly: 2,
            ..Policy::default()
        };
        use Reason::*;
        assert_eq!(
            apply(&p, &t, &tz),
            vec![
                vec![Daily, Monthly], // 02-01 08:00
                vec![Daily, Monthly], // 01-11 20:00
                vec![],               // 01-11 08:00
                vec![],               // 01-10 20:00: daily used up
                vec![],               // 01-10 08:00
            ]
        );
        let p = Policy {
            last: 3,
            monthly: 2,
            ..Policy::default()
        };
        assert_eq!(
            apply(&p, &t, &tz),
            vec![
                vec![Last, Monthly],
                vec![Last, Monthly],
                vec![Last],
                vec![],
                vec![],
            ]
        );
    }

    #[test]
    fn the_newest_is_always_kept_and_all_zero_keeps_everything() {
        let tz = berlin();
        let wall = [
            "2025-01-01T00:00:00",
            "2025-01-01T00:10:00",
            "2025-03-30T02:30:00",
            "2025-10-26T02:30:00",
            "2025-12-31T23:59:00",
            "2026-01-01T00:00:00",
        ];
        let t = times(&tz, &wall);
        for bits in 1..64u32 {
            let n = |i: u32| (bits >> i) & 1;
            let p = Policy {
                last: n(0),
                hourly: n(1),
                daily: n(2),
                weekly: n(3),
                monthly: n(4),
                yearly: n(5),
            };
            let r = apply(&p, &t, &tz);
            assert!(!r[0].is_empty(), "{p:?}");
            assert!(!r[0].contains(&Reason::Newest), "{p:?}: a rule keeps it");
            // Each rule keeps at most its count.
            for (rule, n) in p.rules() {
                let c = r.iter().filter(|x| x.contains(&rule)).count() as u32;
                assert!(c <= n, "{p:?} {rule:?}");
            }
        }
        let r = apply(&Policy::default(), &t, &tz);
        assert!(r.iter().all(|x| x == &vec![Reason::KeepAll]));
        assert!(apply(&Policy::keep_last(3), &[], &tz).is_empty());
    }

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.into(),
            at: crate::backup::archive::parse_name(name).unwrap(),
            size: 1,
        }
    }

    #[test]
    fn the_runs_own_archive_counts_as_newest_and_a_dry_run_plans_one() {
        let entries = [
            entry("backup_20990101T000000.000Z.tar.gz"), // a clock that was ahead
            entry("backup_20260102T000000.000Z.tar.gz"),
            entry("backup_20260101T000000.000Z.tar.gz"),
        ];
        let tz = TimeZone::UTC;
        let p = Policy::keep_last(2);
        let d = plan(&entries, &p, &tz, Some(&entries[1].name), None);
        let names: Vec<_> = d
            .iter()
            .map(|d| (d.name.as_deref().unwrap(), d.reasons.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("backup_20260102T000000.000Z.tar.gz", 1),
                ("backup_20990101T000000.000Z.tar.gz", 1),
                ("backup_20260101T000000.000Z.tar.gz", 0)
            ]
        );
        let now: Timestamp = "2026-01-03T00:00:00Z".parse().unwrap();
        let d = plan(&entries, &p, &tz, None, Some(now));
        assert_eq!(d[0].name, None);
        assert_eq!(d[0].reasons, [Reason::Last]);
        assert_eq!(d.iter().filter(|d| !d.reasons.is_empty()).count(), 2);
    }

    #[test]
    fn prune_removes_what_no_rule_keeps_and_ignores_strangers() {
        let d = tempfile::tempdir().unwrap();
        let names = [
            "backup_20260101T000000.000Z.tar.gz",
            "backup_20260102T000000.000Z.tar.gz.age",
            "backup_20260103T000000.000Z.tar.gz",
            "notes.txt",
            "backup_old.tar.gz",
        ];
        for n in names {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        let sum = format!("{}{SUM_SUFFIX}", names[1]);
        std::fs::write(d.path().join(&sum), b"x").unwrap();
        let repo = Repo::Local(Local::new(d.path()));
        // names[0] is the run's own archive: kept with one other, whatever the names say.
        let pruned = prune(&repo, &Policy::keep_last(2), &TimeZone::UTC, names[0]).unwrap();
        assert_eq!(pruned, vec![d.path().join(names[1]).display().to_string()]);
        assert!(
            !d.path().join(&sum).exists(),
            "checksum file pruned with its archive"
        );
        for n in [names[0], names[2], names[3], names[4]] {
            assert!(d.path().join(n).exists(), "{n}");
        }
        // All rules 0 keeps everything.
        assert!(prune(&repo, &Policy::default(), &TimeZone::UTC, names[0])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn describe() {
        assert_eq!(Policy::default().describe(), "keep all");
        let p = Policy {
            last: 7,
            weekly: 4,
            ..Policy::default()
        };
        assert_eq!(p.describe(), "last 7, weekly 4");
    }
}

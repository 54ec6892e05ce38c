//! Calendar retention judged by restic itself: the same synthetic backup times go into a real
//! restic repository and through vannactl's policy, and `restic forget --dry-run` must keep the
//! same snapshots for the same rules (and name the same rules for each). Needs the `restic` binary
//! (Debian package; scripts/test installs it). Both sides cut buckets in Europe/Berlin.

mod common;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use vannactl::backup::retention::{apply, Policy, Reason};

const TZ: &str = "Europe/Berlin";

fn restic(repo: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("restic")
        .args(args)
        .env("RESTIC_REPOSITORY", repo.join("repo"))
        .env("RESTIC_PASSWORD", "retention-test")
        .env("RESTIC_CACHE_DIR", repo.join("cache"))
        .env("TZ", TZ)
        .current_dir(repo)
        .output()
        .unwrap_or_else(|e| panic!("cannot run restic ({e}): apt-get install restic"));
    assert!(out.status.success(), "restic {args:?}: {out:?}");
    out
}

/// About 40 local wall-clock times over two years: month and year ends, ISO week boundaries, both
/// DST changes, several backups in one hour, and pseudo-random ones in between. Local 02:xx is
/// left out: on the autumn change it names two instants, and which one restic (Go) picks is
/// unspecified.
fn wall_times(tz: &TimeZone) -> Vec<String> {
    let mut wall: Vec<String> = [
        "2024-12-31 23:59:30",
        "2025-01-01 00:00:30",
        "2025-01-31 23:30:00",
        "2025-02-01 00:30:00",
        "2025-02-28 23:45:00",
        "2025-03-30 01:30:00",
        "2025-03-30 03:30:00",
        "2025-06-15 10:05:00",
        "2025-06-15 10:25:00",
        "2025-06-15 10:55:00",
        "2025-06-15 11:05:00",
        "2025-10-26 01:30:00",
        "2025-10-26 03:30:00",
        "2025-12-28 12:00:00",
        "2025-12-29 09:00:00",
        "2026-03-29 01:59:00",
        "2026-03-29 03:00:00",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let start = Timestamp::from_second(1_730_419_200).unwrap(); // 2024-11-01
    let span = 2 * 365 * 86_400_i64;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while wall.len() < 42 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let t = start + jiff::SignedDuration::from_secs((x >> 11) as i64 % span);
        let z = t.to_zoned(tz.clone());
        let s = z.strftime("%Y-%m-%d %H:%M:%S").to_string();
        if z.hour() != 2 && !wall.contains(&s) {
            wall.push(s);
        }
    }
    wall
}

fn restic_reason(m: &str) -> Reason {
    match m {
        "last snapshot" => Reason::Last,
        "hourly snapshot" => Reason::Hourly,
        "daily snapshot" => Reason::Daily,
        "weekly snapshot" => Reason::Weekly,
        "monthly snapshot" => Reason::Monthly,
        "yearly snapshot" => Reason::Yearly,
        other => panic!("unexpected restic reason {other:?}"),
    }
}

fn flags(p: &Policy) -> Vec<String> {
    [
        ("--keep-last", p.last),
        ("--keep-hourly", p.hourly),
        ("--keep-daily", p.daily),
        ("--keep-weekly", p.weekly),
        ("--keep-monthly", p.monthly),
        ("--keep-yearly", p.yearly),
    ]
    .iter()
    .filter(|(_, n)| *n > 0)
    .flat_map(|(f, n)| [f.to_string(), n.to_string()])
    .collect()
}

#[test]
fn vannactl_keeps_what_restic_forget_keeps() {
    let tz = TimeZone::get(TZ).unwrap();
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("f"), b"x").unwrap();
    restic(d.path(), &["init", "-q"]);
    let wall = wall_times(&tz);
    for w in &wall {
        restic(
            d.path(),
            &["backup", "-q", "--host", "h", "--time", w.as_str(), "f"],
        );
    }
    // Times as restic recorded them, by snapshot id.
    let snaps: Value =
        serde_json::from_slice(&restic(d.path(), &["snapshots", "--json"]).stdout).unwrap();
    let mut by_id: BTreeMap<String, Timestamp> = BTreeMap::new();
    for s in snaps.as_array().unwrap() {
        let t: Timestamp = s["time"].as_str().unwrap().parse().unwrap();
        by_id.insert(s["id"].as_str().unwrap().to_string(), t);
    }
    assert_eq!(by_id.len(), wall.len());
    let mut newest_first: Vec<(Timestamp, String)> =
        by_id.iter().map(|(id, t)| (*t, id.clone())).collect();
    newest_first.sort();
    newest_first.reverse();
    let times: Vec<Timestamp> = newest_first.iter().map(|(t, _)| *t).collect();

    let p = |last, hourly, daily, weekly, monthly, yearly| Policy {
        last,
        hourly,
        daily,
        weekly,
        monthly,
        yearly,
    };
    let policies = [
        p(5, 0, 0, 0, 0, 0),
        p(0, 6, 0, 0, 0, 0),
        p(0, 0, 7, 0, 0, 0),
        p(0, 0, 0, 6, 0, 0),
        p(0, 0, 0, 0, 12, 0),
        p(0, 0, 0, 0, 0, 3),
        p(2, 3, 5, 4, 6, 2),
        p(0, 2, 5, 0, 0, 0),
        p(0, 0, 0, 0, 100, 0),
        p(1, 0, 0, 10, 0, 1),
    ];
    let mut pruned_somewhere = false;
    for policy in &policies {
        let mut args = vec!["forget", "--dry-run", "--json"];
        let f = flags(policy);
        args.extend(f.iter().map(String::as_str));
        let out: Value = serde_json::from_slice(&restic(d.path(), &args).stdout)
            .unwrap_or_else(|e| panic!("restic {args:?} printed no JSON: {e}"));
        let groups = out.as_array().unwrap();
        assert_eq!(groups.len(), 1, "one host, one path: one group");
        let keep = groups[0]["keep"].as_array().unwrap();
        let reasons = groups[0]["reasons"].as_array().unwrap();
        let want: BTreeMap<String, Vec<Reason>> = keep
            .iter()
            .zip(reasons)
            .map(|(k, r)| {
                let m = r["matches"].as_array().unwrap();
                (
                    k["id"].as_str().unwrap().to_string(),
                    m.iter()
                        .map(|x| restic_reason(x.as_str().unwrap()))
                        .collect(),
                )
            })
            .collect();
        let got: BTreeMap<String, Vec<Reason>> = apply(policy, &times, &tz)
            .into_iter()
            .zip(&newest_first)
            .filter(|(r, _)| !r.is_empty())
            .map(|(r, (_, id))| (id.clone(), r))
            .collect();
        let show = |m: &BTreeMap<String, Vec<Reason>>| {
            m.iter()
                .map(|(id, r)| {
                    format!("{} {r:?}", by_id[id].to_zoned(tz.clone()).strftime("%F %T"))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            show(&got),
            show(&want),
            "policy {policy:?}: vannactl (left) and restic forget {f:?} (right) keep different backups"
        );
        pruned_somewhere |= want.len() < times.len();
    }
    assert!(
        pruned_somewhere,
        "no policy pruned anything: the comparison is vacuous"
    );
}

/// The binary reads `TZ` and applies the configured rules to a folder's archive names the same way
/// (the planned backup counts as the newest).
#[test]
fn backup_dry_run_shows_the_rules_that_keep_each_archive() {
    let tz = TimeZone::get(TZ).unwrap();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    let wall = wall_times(&tz);
    let mut names = Vec::new();
    for w in &wall {
        let t = w
            .replace(' ', "T")
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp();
        let name = format!("backup_{}.tar.gz", t.strftime("%Y%m%dT%H%M%S.000Z"));
        std::fs::write(dir.join(&name), b"x").unwrap();
        names.push((t, name));
    }
    std::fs::write(dir.join("notes.txt"), b"not an archive").unwrap();
    let out = common::cli::vannactl(d.path())
        .env("TZ", TZ)
        .env("BACKUP_DIR", &dir)
        .env("BACKUP_KEEP_DAILY", "4")
        .env("BACKUP_KEEP_MONTHLY", "6")
        .args(["--json", "backup", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = common::cli::json_of(&out);
    let r = &j["retention"];
    assert_eq!(r["time_zone"], TZ);
    assert_eq!(r["policy"]["daily"], 4);
    assert_eq!(r["policy"]["monthly"], 6);
    assert_eq!(r["policy"]["last"], 0);
    let kept = r["kept"].as_array().unwrap();
    // The backup the run would write comes first and is kept by both rules.
    assert_eq!(kept[0]["id"], Value::Null);
    assert_eq!(kept[0]["reasons"], serde_json::json!(["daily", "monthly"]));
    let planned: Timestamp = kept[0]["created_at"].as_str().unwrap().parse().unwrap();

    let mut all = names.clone();
    all.push((planned, String::new()));
    all.sort();
    all.reverse();
    let times: Vec<Timestamp> = all.iter().map(|(t, _)| *t).collect();
    let policy = Policy {
        daily: 4,
        monthly: 6,
        ..Policy::default()
    };
    let verdicts = apply(&policy, &times, &tz);
    let want_kept: Vec<(String, Vec<&str>)> = verdicts
        .iter()
        .zip(&all)
        .filter(|(v, (_, n))| !v.is_empty() && !n.is_empty())
        .map(|(v, (_, n))| (n.clone(), v.iter().map(|r| r.as_str()).collect()))
        .collect();
    let got_kept: Vec<(String, Vec<&str>)> = kept[1..]
        .iter()
        .map(|k| {
            (
                k["id"].as_str().unwrap().to_string(),
                k["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(got_kept, want_kept);
    assert_eq!(r["kept_existing"], want_kept.len());
    // The rest would go, named by their paths.
    let want_pruned: Vec<String> = verdicts
        .iter()
        .zip(&all)
        .filter(|(v, _)| v.is_empty())
        .map(|(_, (_, n))| dir.join(n).display().to_string())
        .collect();
    assert_eq!(r["would_prune"], serde_json::json!(want_pruned));
    assert_eq!(
        want_pruned.len() + want_kept.len(),
        wall.len(),
        "notes.txt is never a candidate"
    );
    // Each kept archive's local time, with the zone's offset at that instant.
    let time_of: BTreeMap<&str, Timestamp> = names.iter().map(|(t, n)| (n.as_str(), *t)).collect();
    for k in &kept[1..] {
        let t = time_of[k["id"].as_str().unwrap()];
        let want = t
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string();
        assert_eq!(k["created_at"], want.as_str());
    }
    // Nothing was written or removed.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), wall.len() + 1);
}

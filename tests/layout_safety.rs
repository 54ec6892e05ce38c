//! One wrong setting must never destroy data: starting from what `vannactl init` makes, settings
//! that name another role's file (or a foreign file) are refused with exit 2, one `error:` line
//! naming both variables, and every file of the deployment unchanged.

mod common;

use common::cli::{init_with_target, json_of, stderr, vannactl};
use common::sha256_file;
use std::collections::BTreeMap;
use std::path::Path;

/// Digest of every file under `dir` (path → sha256 and mode), the log folder excepted. The system
/// DB is compared by its contents without `audit_logs`: a refused action is still audited.
fn digest(dir: &Path) -> BTreeMap<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            // The digest's own read of the WAL-mode system DB makes its -wal/-shm.
            if rel == "logs" || rel.ends_with("-wal") || rel.ends_with("-shm") {
                continue;
            }
            if meta.is_dir() {
                stack.push(p);
            } else if rel == "data/system.db" {
                let rows: Vec<_> = common::sqlite::contents(&p)
                    .into_iter()
                    .filter(|(t, _)| t != "audit_logs" && t != "sqlite_sequence")
                    .collect();
                out.insert(rel, format!("{rows:?}"));
            } else if meta.is_file() {
                let mode = meta.permissions().mode() & 0o7777;
                out.insert(rel, format!("{} {mode:o}", sha256_file(&p)));
            } else {
                out.insert(rel, format!("{:?}", meta.file_type()));
            }
        }
    }
    out
}

/// A deployment as `vannactl init` makes it, with one archive in `backups/`.
fn deployment() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    init_with_target(d.path(), "car_1.sqlite");
    let out = vannactl(d.path()).args(["backup"]).output().unwrap();
    assert!(out.status.success(), "backup: {}", stderr(&out));
    d
}

/// The golden source every run of these tests names (the shared sample, never written).
fn source() -> String {
    common::paths::testdata("car_1.sqlite")
        .display()
        .to_string()
}

/// Runs `args` with `env`; asserts exit `code`, a single `error:` line containing each of `names`,
/// and that nothing in the deployment changed.
fn refused(d: &Path, env: &[(&str, &str)], args: &[&str], code: i32, names: &[&str]) -> String {
    let before = digest(d);
    let mut cmd = vannactl(d);
    cmd.env("TARGET_DB_SOURCE", source());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{args:?} {env:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in names {
        assert!(lines[0].contains(n), "{n} missing from: {err}");
    }
    let after = digest(d);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{args:?} {env:?} changed {changed:?}");
    err
}

#[test]
fn the_issue_s_typos_change_nothing() {
    let d = deployment();
    let p = d.path();
    let err = refused(
        p,
        &[("LOCK_PATH", "data/system.db")],
        &["backup"],
        2,
        &[
            "LOCK_PATH=data/system.db",
            "DATABASE_URL=sqlite://data/system.db",
        ],
    );
    assert!(err.contains("same file"), "{err}");
    assert_ne!(
        std::fs::metadata(p.join("data/system.db")).unwrap().len(),
        0
    );
    refused(
        p,
        &[("DATABASE_URL", "sqlite://data/vanna_db.db")],
        &["--yes", "init"],
        2,
        &[
            "DATABASE_URL=sqlite://data/vanna_db.db",
            "TARGET_DB_PATH=data/vanna_db.db",
        ],
    );
    refused(
        p,
        &[("TARGET_DB_PATH", "data/system.db")],
        &["--yes", "golden-copy"],
        2,
        &["TARGET_DB_PATH=data/system.db", "DATABASE_URL"],
    );
    // The golden source named as the runtime copy: never chmod-ed, no manifest beside it.
    let src = source();
    refused(
        p,
        &[("TARGET_DB_PATH", &src)],
        &["--yes", "golden-copy"],
        2,
        &["TARGET_DB_SOURCE", "TARGET_DB_PATH"],
    );
    assert!(!Path::new(&format!("{src}.manifest.json")).exists());
}

#[test]
fn other_spellings_and_folders_are_caught() {
    let d = deployment();
    let p = d.path();
    std::os::unix::fs::symlink(p.join("data"), p.join("alias")).unwrap();
    for (var, value, other) in [
        ("KNOWLEDGE_DB_PATH", "alias/system.db", "DATABASE_URL"),
        ("LOCK_PATH", "logs/../data/./vanna_db.db", "TARGET_DB_PATH"),
        ("METRICS_FILE", "data/system.db-wal", "DATABASE_URL"),
        ("BACKUP_DIR", "data", "DATABASE_URL"),
        ("LOG_DIR", "data/system.db", "DATABASE_URL"),
    ] {
        refused(p, &[(var, value)], &["--yes", "init"], 2, &[var, other]);
        refused(p, &[(var, value)], &["train"], 2, &[var, other]);
    }
    // The --metrics-file flag is the same setting.
    refused(
        p,
        &[],
        &["--metrics-file", "data/system.db", "golden-copy"],
        2,
        &["METRICS_FILE", "DATABASE_URL"],
    );
}

#[test]
fn foreign_files_are_never_overwritten() {
    let d = deployment();
    let p = d.path();
    std::fs::write(p.join("notes.txt"), "ledger totals, do not lose\n").unwrap();
    // The lock only writes to an empty file or a lock record.
    refused(
        p,
        &[("LOCK_PATH", "notes.txt")],
        &["backup"],
        2,
        &["LOCK_PATH=notes.txt", "not a vannactl lock record"],
    );
    // The golden copy only replaces a runtime copy that has its manifest, --yes or not.
    let foreign = p.join("data/other.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE invoices(id); INSERT INTO invoices VALUES (1);")
        .unwrap();
    refused(
        p,
        &[("TARGET_DB_PATH", "data/other.db")],
        &["--yes", "golden-copy"],
        2,
        &["TARGET_DB_PATH=data/other.db", "not a golden copy"],
    );
    // restore replaces only files whose role it has verified.
    refused(
        p,
        &[("DATABASE_URL", "sqlite://data/other.db")],
        &[
            "--yes",
            "restore",
            "--no-safety-backup",
            "--only",
            "system",
            &newest(p),
        ],
        2,
        &["DATABASE_URL=sqlite://data/other.db", "invoices"],
    );
    refused(
        p,
        &[("TARGET_DB_PATH", "data/other.db")],
        &[
            "--yes",
            "restore",
            "--no-safety-backup",
            "--only",
            "target",
            &newest(p),
        ],
        2,
        &["TARGET_DB_PATH=data/other.db", "not a golden copy"],
    );
    // A metrics file that holds something else is left alone; the command itself succeeds.
    let before = sha256_file(&p.join("notes.txt"));
    let out = vannactl(p)
        .env("TARGET_DB_SOURCE", source())
        .env("METRICS_FILE", "notes.txt")
        .args(["golden-copy"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("METRICS_FILE=notes.txt"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sha256_file(&p.join("notes.txt")), before);
}

fn newest(p: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(p.join("backups"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("backup_"))
        .collect();
    names.sort();
    p.join("backups")
        .join(names.pop().unwrap())
        .display()
        .to_string()
}

#[test]
fn config_shows_and_health_reports_the_conflict() {
    let d = deployment();
    let p = d.path();
    let before = digest(p);
    let out = vannactl(p)
        .env("TARGET_DB_SOURCE", source())
        .env("LOCK_PATH", "data/system.db")
        .args(["--json", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let j = json_of(&out);
    let conflicts = j["layout"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{j}");
    assert_eq!(conflicts[0]["first"], "DATABASE_URL");
    assert_eq!(conflicts[0]["second"], "LOCK_PATH");
    assert!(j["layout"]["roles"].as_array().unwrap().len() >= 8);

    let out = vannactl(p)
        .env("TARGET_DB_SOURCE", source())
        .env("LOCK_PATH", "data/system.db")
        .args(["--json", "health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let j = json_of(&out);
    let layout = common::cli::named(&j, "checks", "layout");
    assert_eq!(layout["status"], "critical");
    assert!(layout["detail"].as_str().unwrap().contains("LOCK_PATH"));
    assert_eq!(digest(p), before);

    // Without the typo, both are clean.
    let out = vannactl(p)
        .env("TARGET_DB_SOURCE", source())
        .args(["--json", "config"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(json_of(&out)["layout"]["conflicts"], serde_json::json!([]));
}

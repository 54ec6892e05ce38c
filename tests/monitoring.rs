//! Prometheus textfile metrics end to end: init/backup/failing restore merge into one file that
//! `promtool check metrics` accepts; concurrent runs lose nothing; a failing metrics write is only a
//! warning. promtool must be installed (scripts/test does it): missing promtool fails the tests.

mod common;
mod system_db_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use system_db_support::*;

fn promtool_check(file: &Path) {
    let text = std::fs::read(file).unwrap();
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool not found: scripts/test installs the Debian package prometheus");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn value(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|r| r.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
}

#[test]
fn runs_merge_into_one_valid_file_and_failures_keep_last_success() {
    let env = Env::initialised(Backend::Sqlite, 5);
    let mf = env.path().join("metrics/vannactl.prom");
    let mfs = mf.to_str().unwrap();
    let (code, _, out) = env.run_json(&["init", "--metrics-file", mfs]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    let (code, _, _) = env.run_json(&["backup", "--metrics-file", mfs]);
    assert_eq!(code, 0);
    promtool_check(&mf);
    let text = std::fs::read_to_string(&mf).unwrap();
    let ok_at = value(
        &text,
        "vannactl_last_success_timestamp_seconds{command=\"backup\"}",
    )
    .unwrap();
    assert!(value(&text, "vannactl_backup_last_size_bytes").unwrap() > 0.0);
    assert_eq!(
        value(&text, "vannactl_last_run_exit_code{command=\"init\"}"),
        Some(0.0)
    );
    assert_eq!(
        std::fs::metadata(&mf).unwrap().permissions().mode() & 0o777,
        0o644
    );

    // backup into an unwritable folder fails: exit code recorded, last success kept.
    let ro = env.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
    let ro_s = ro.join("x").to_str().unwrap().to_string();
    let (code, _, _) = env.run_json(&["backup", "--dir", &ro_s, "--metrics-file", mfs]);
    let text = std::fs::read_to_string(&mf).unwrap();
    if unsafe { libc::geteuid() } != 0 {
        assert_ne!(code, 0);
    }
    assert_eq!(
        value(&text, "vannactl_last_run_exit_code{command=\"backup\"}"),
        Some(f64::from(code))
    );
    if code != 0 {
        assert_eq!(
            value(
                &text,
                "vannactl_last_success_timestamp_seconds{command=\"backup\"}"
            ),
            Some(ok_at)
        );
    }
    // a missing archive fails restore for sure (also as root)
    let (code, _, _) = env.run_json(&[
        "restore",
        "/nonexistent/a.tar.zst",
        "--yes",
        "--metrics-file",
        mfs,
    ]);
    assert_ne!(code, 0);
    let text = std::fs::read_to_string(&mf).unwrap();
    assert_eq!(
        value(&text, "vannactl_last_run_exit_code{command=\"restore\"}"),
        Some(f64::from(code))
    );
    assert!(value(
        &text,
        "vannactl_last_success_timestamp_seconds{command=\"restore\"}"
    )
    .is_none());
    assert!(value(&text, "vannactl_last_run_exit_code{command=\"init\"}").is_some());
    promtool_check(&mf);
}

#[test]
fn concurrent_runs_lose_nothing() {
    let env = Env::initialised(Backend::Sqlite, 5);
    let mf = env.path().join("m.prom");
    let mfs = mf.to_str().unwrap().to_string();
    std::thread::scope(|s| {
        for c in ["health", "seed", "golden-copy", "health"] {
            let (env, mfs) = (&env, &mfs);
            s.spawn(move || {
                env.cmd()
                    .args([c, "--metrics-file", mfs, "--json"])
                    .output()
                    .unwrap()
            });
        }
    });
    let text = std::fs::read_to_string(&mf).unwrap();
    for c in ["health", "seed", "golden-copy"] {
        assert!(
            value(
                &text,
                &format!("vannactl_last_run_exit_code{{command=\"{c}\"}}")
            )
            .is_some(),
            "{c} missing:\n{text}"
        );
    }
    assert!(
        text.contains("vannactl_health_check_status{check="),
        "{text}"
    );
    assert!(text.contains("vannactl_health_check_latency_seconds{check="));
    promtool_check(&mf);
}

#[test]
fn unwritable_metrics_folder_is_a_warning_not_a_failure() {
    let env = Env::initialised(Backend::Sqlite, 5);
    let mf = "/proc/vannactl-no-such/m.prom";
    let (code, _, out) = env.run_json(&["health", "--metrics-file", mf]);
    let (plain, _, _) = env.run_json(&["health"]);
    assert_eq!(code, plain);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: metrics not written"));
}

#[test]
fn alert_rules_check_and_pass_their_unit_tests() {
    let dir = common::paths::repo().join("contrib/prometheus");
    for args in [
        ["check", "rules", "vannactl-rules.yml"],
        ["test", "rules", "vannactl-rules.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("promtool not found: scripts/test installs the Debian package prometheus");
        assert!(
            out.status.success(),
            "promtool {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The families of golden copy, knowledge base and backup retention, from what init makes: init
/// (golden copy + training into the embedded store), drift found by --verify and repaired by a
/// refresh, three backups under a retention of two.
#[test]
fn golden_copy_knowledge_and_archive_families() {
    let mut env = Env::new(Backend::Sqlite);
    let target = common::paths::repo().join("assets/databases/vanna_db.db");
    env.set("TARGET_DB_SOURCE", target.to_str().unwrap())
        .set("AUTO_TRAIN_CHROMA", "true")
        .set(
            "EMBEDDING_MODEL_DIR",
            common::paths::model_dir().to_str().unwrap(),
        )
        .set("BACKUP_RETENTION_COUNT", "2");
    let mf = env.path().join("m.prom");
    let mfs = mf.to_str().unwrap();
    let (code, v, out) = env.run_json(&["init", "--metrics-file", mfs]);
    assert_eq!(code, 0, "{v}\n{}", common::cli::stderr(&out));
    let text = std::fs::read_to_string(&mf).unwrap();
    let copy = env.path().join("data/vanna_db.db");
    let size = std::fs::metadata(&copy).unwrap().len() as f64;
    assert_eq!(value(&text, "vannactl_golden_copy_bytes"), Some(size));
    assert_eq!(value(&text, "vannactl_golden_copy_drift"), Some(0.0));
    assert!(value(&text, "vannactl_golden_copy_duration_seconds").unwrap() >= 0.0);

    // What init counted is what a no-op train counts.
    let (code, t, _) = env.run_json(&["train", "--metrics-file", mfs]);
    assert_eq!(code, 0, "{t}");
    let text = std::fs::read_to_string(&mf).unwrap();
    for c in ["ddl", "documentation", "sql"] {
        let items = t["collections"][c]["items"].as_f64().unwrap();
        assert_eq!(
            value(
                &text,
                &format!("vannactl_knowledge_items{{collection=\"{c}\"}}")
            ),
            Some(items),
            "{c}:\n{text}"
        );
    }
    assert!(t["collections"]["ddl"]["items"].as_u64().unwrap() > 0);
    assert!(t["collections"]["sql"]["items"].as_u64().unwrap() > 0);

    // Drift: the copy changed behind vannactl's back.
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&copy)
            .unwrap();
        f.write_all(b"tampered").unwrap();
    }
    let (code, _, _) = env.run_json(&["golden-copy", "--verify", "--metrics-file", mfs]);
    assert_eq!(code, 1);
    let text = std::fs::read_to_string(&mf).unwrap();
    assert_eq!(value(&text, "vannactl_golden_copy_drift"), Some(1.0));
    assert_eq!(
        value(
            &text,
            "vannactl_last_run_exit_code{command=\"golden-copy\"}"
        ),
        Some(1.0)
    );
    let (code, v, out) = env.run_json(&["golden-copy", "--yes", "--metrics-file", mfs]);
    assert_eq!(code, 0, "{v}\n{}", common::cli::stderr(&out));
    let text = std::fs::read_to_string(&mf).unwrap();
    assert_eq!(value(&text, "vannactl_golden_copy_drift"), Some(0.0));
    assert_eq!(value(&text, "vannactl_golden_copy_bytes"), Some(size));

    for n in 1..=3 {
        let (code, v, _) = env.run_json(&["backup", "--metrics-file", mfs]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["archives"].as_u64(), Some(n.min(2)));
        let text = std::fs::read_to_string(&mf).unwrap();
        assert_eq!(
            value(&text, "vannactl_backup_archives"),
            Some(n.min(2) as f64)
        );
    }
    // Listing is a sub-action: it changes no metric.
    let before = std::fs::read_to_string(&mf).unwrap();
    let (code, _, _) = env.run_json(&["backup", "list", "--metrics-file", mfs]);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_to_string(&mf).unwrap(), before);
    promtool_check(&mf);
}

/// A run whose configuration is invalid exits 2 and is still recorded, with the file named in .env.
#[test]
fn invalid_configuration_run_is_recorded() {
    let env = Env::initialised(Backend::Sqlite, 5);
    let mf = env.path().join("from-dotenv.prom");
    std::fs::write(
        env.path().join("custom.env"),
        format!(
            "METRICS_FILE={}\nBACKUP_RETENTION_COUNT=many\n",
            mf.display()
        ),
    )
    .unwrap();
    // Not env.cmd(): that passes --no-dotenv.
    let out = common::cli::vannactl(env.path())
        .env("DATABASE_URL", env.database_url())
        .args(["backup", "--env-file", "custom.env", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = std::fs::read_to_string(&mf).unwrap();
    assert_eq!(
        value(&text, "vannactl_last_run_exit_code{command=\"backup\"}"),
        Some(2.0)
    );
    assert!(value(&text, "vannactl_backup_last_size_bytes").is_none());
    promtool_check(&mf);
}

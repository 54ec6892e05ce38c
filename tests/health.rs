//! `vannactl health`, foundation checks: exit 0 healthy/warnings, 3 critical.

mod common;

use common::cli::{json_of, named, vannactl};
use common::paths::testdata;

fn health(d: &std::path::Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = vannactl(d)
        .env("TARGET_DB_SOURCE", testdata("car_1.sqlite"))
        .args(["--json", "health"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code(), json_of(&out))
}

fn check<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    named(j, "checks", name)
}

#[test]
fn healthy_after_golden_copy_then_critical_when_copy_is_gone_or_changed() {
    let d = tempfile::tempdir().unwrap();
    let (code, j) = health(d.path(), &[]);
    assert_eq!(code, Some(3), "no copy yet is critical: {j}");
    assert_eq!(check(&j, "golden copy")["status"], "critical");
    assert!(check(&j, "golden copy")["detail"]
        .as_str()
        .unwrap()
        .contains("vannactl golden-copy"));

    // `init` makes the golden copy and the embedded system DB.
    common::cli::init_with_target(d.path(), "car_1.sqlite");
    let (code, j) = health(d.path(), &["--quick-check"]);
    assert_eq!(code, Some(0), "{j}");
    assert_eq!(j["ok"], true);
    assert_eq!(check(&j, "golden copy")["status"], "ok");
    assert_eq!(check(&j, "golden copy integrity")["status"], "ok");
    for c in j["checks"].as_array().unwrap() {
        assert!(c["latency_ms"].as_f64().unwrap() >= 0.0);
    }

    // Writable copy: a warning, still exit 0.
    use std::os::unix::fs::PermissionsExt;
    let copy = d.path().join("data/vanna_db.db");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, j) = health(d.path(), &[]);
    assert_eq!(
        (code, check(&j, "golden copy")["status"].as_str()),
        (Some(0), Some("warn"))
    );

    // Changed copy: critical.
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute_batch("UPDATE cars_data SET MPG = '0'")
        .unwrap();
    let (code, j) = health(d.path(), &[]);
    assert_eq!(code, Some(3));
    assert_eq!(j["ok"], false);
    assert_eq!(j["status"], "critical");
}

#[test]
fn broken_configuration_is_unhealthy_not_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let out = vannactl(d.path())
        .env("SEED_DEMO_DATA", "perhaps")
        .args(["--json", "health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let j = json_of(&out);
    assert_eq!(check(&j, "configuration")["status"], "critical");
}

#[test]
fn unwritable_folders_are_warnings() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("not-a-dir"), b"").unwrap();
    let out = vannactl(d.path())
        .env("BACKUP_DIR", "not-a-dir/backups")
        .args(["--json", "health"])
        .output()
        .unwrap();
    let j = json_of(&out);
    assert_eq!(check(&j, "backup folder writable")["status"], "warn");
    assert!(check(&j, "free disk space")["detail"]
        .as_str()
        .unwrap()
        .contains("free of"));
}

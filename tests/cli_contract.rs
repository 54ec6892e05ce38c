//! The CLI contract every subcommand follows: configuration precedence and masking, --json, exit codes.

mod common;

use common::cli::{json_of, vannactl};
use common::paths::testdata;

fn config_json(cmd: &mut assert_cmd::Command) -> serde_json::Value {
    let out = cmd.args(["--json", "config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    json_of(&out)
}

#[test]
fn precedence_flag_env_dotenv_default() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join(".env"),
        "BACKUP_DIR=from-dotenv\nLOG_DIR=dotenv-logs\nBACKUP_RETENTION_COUNT=3\n",
    )
    .unwrap();
    let j = config_json(
        vannactl(d.path())
            .env("BACKUP_DIR", "from-env")
            .args(["--app-env", "development"]),
    );
    let s = &j["settings"];
    assert_eq!(s["BACKUP_DIR"]["value"], "from-env");
    assert_eq!(s["BACKUP_DIR"]["source"], "environment");
    assert_eq!(s["LOG_DIR"]["value"], "dotenv-logs");
    assert_eq!(s["LOG_DIR"]["source"], ".env");
    assert_eq!(s["BACKUP_RETENTION_COUNT"]["value"], "3");
    assert_eq!(s["TARGET_DB_PATH"]["value"], "data/vanna_db.db");
    assert_eq!(s["TARGET_DB_PATH"]["source"], "default (development)");
    assert_eq!(s["APP_ENV"]["source"], "flag");
    // --no-dotenv ignores the file; --env-file picks another one.
    let j = config_json(vannactl(d.path()).arg("--no-dotenv"));
    assert_eq!(j["settings"]["LOG_DIR"]["value"], "logs");
    std::fs::write(d.path().join("other.env"), "LOG_DIR=other\n").unwrap();
    let j = config_json(vannactl(d.path()).args(["--env-file", "other.env"]));
    assert_eq!(j["settings"]["LOG_DIR"]["value"], "other");
    // A flag beats everything: golden-copy --dest overrides TARGET_DB_PATH.
    let out = vannactl(d.path())
        .env("TARGET_DB_PATH", "data/env.db")
        .args([
            "--json",
            "golden-copy",
            "--dest",
            "data/flag.db",
            "--source",
        ])
        .arg(testdata("car_1.sqlite"))
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["copy"]["path"], "data/flag.db");
}

#[test]
fn production_profile_flips_feature_defaults() {
    let d = tempfile::tempdir().unwrap();
    let j = config_json(
        vannactl(d.path())
            .env("APP_ENV", "production")
            .env("TARGET_DATABASE_URL", "postgres://reader:pw@db/sales"),
    );
    let s = &j["settings"];
    assert_eq!(j["profile"], "production");
    assert_eq!(s["SEED_DEMO_DATA"]["value"], "false");
    assert_eq!(s["ENABLE_TARGET_DB"]["value"], "true");
    assert_eq!(s["AUTO_TRAIN_CHROMA"]["value"], "true");
    assert_eq!(s["SEED_DEMO_DATA"]["source"], "default (production)");
    let j = config_json(&mut vannactl(d.path()));
    assert_eq!(j["settings"]["SEED_DEMO_DATA"]["value"], "true");
    assert_eq!(j["settings"]["ENABLE_TARGET_DB"]["value"], "false");
}

#[test]
fn secrets_never_appear_in_output_or_logs() {
    let d = tempfile::tempdir().unwrap();
    let secrets = ["hunter2pass", "tok-abcdef", "adminSecret123"];
    let run = |args: &[&str]| {
        vannactl(d.path())
            .env(
                "DATABASE_URL",
                "postgres://app:hunter2pass@db.example:5432/app",
            )
            .env(
                "TARGET_DATABASE_URL",
                "postgres://ro:hunter2pass@db/sales?sslmode=require",
            )
            .env("CHROMA_AUTH_TOKEN", "tok-abcdef")
            .env("INIT_ADMIN_PASSWORD", "adminSecret123")
            .args(args)
            .output()
            .unwrap()
    };
    let mut seen = String::new();
    for args in [
        &["config"][..],
        &["--json", "config"],
        &["-vvv", "health"],
        &["--json", "health"],
    ] {
        let out = run(args);
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    seen.push_str(&std::fs::read_to_string(d.path().join("logs/vannactl.log")).unwrap_or_default());
    for s in secrets {
        assert!(!seen.contains(s), "secret {s} leaked:\n{seen}");
    }
    assert!(
        seen.contains("postgres://app:****@db.example:5432/app"),
        "{seen}"
    );
}

#[test]
fn bad_configuration_is_a_usage_error_naming_the_variable() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        (
            "SEED_DEMO_DATA",
            "maybe",
            "SEED_DEMO_DATA=\"maybe\" is not a boolean",
        ),
        ("APP_ENV", "staging", "APP_ENV=\"staging\" is not a profile"),
        ("BACKUP_RETENTION_COUNT", "many", "BACKUP_RETENTION_COUNT"),
        (
            "DATABASE_URL",
            "mysql://u:pw@h/db",
            "DATABASE_URL=mysql://u:****@h/db is not supported",
        ),
        (
            "CHROMA_URL",
            "localhost:8000",
            "CHROMA_URL=localhost:8000 must start with http",
        ),
        ("ENABLE_TARGET_DB", "yes", "TARGET_DATABASE_URL is empty"),
    ];
    for (var, value, msg) in cases {
        let out = vannactl(d.path())
            .env(var, value)
            .args(["--json", "config"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}: {out:?}");
        let j = json_of(&out);
        assert_eq!(j["ok"], false);
        assert_eq!(j["error"]["kind"], "usage");
        assert!(
            j["error"]["message"].as_str().unwrap().contains(msg),
            "{var}: {j}"
        );
    }
    // Booleans accept the documented spellings.
    for v in ["true", "FALSE", "1", "0", "yes", "No"] {
        let out = vannactl(d.path())
            .env("SEED_DEMO_DATA", v)
            .arg("config")
            .output()
            .unwrap();
        assert!(out.status.success(), "{v}");
    }
    // A missing --env-file is an error, not silently ignored; a malformed one names the file.
    let out = vannactl(d.path())
        .args(["--env-file", "nope.env", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.env"));
    std::fs::write(
        d.path().join("bad.env"),
        "GOOD=1\nthis line is not an assignment\n",
    )
    .unwrap();
    let out = vannactl(d.path())
        .args(["--env-file", "bad.env", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.env"));
}

#[test]
fn usage_errors_exit_2_and_json_stays_one_object() {
    let d = tempfile::tempdir().unwrap();
    let out = vannactl(d.path()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = vannactl(d.path())
        .args(["--json", "golden-copy", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let j = json_of(&out);
    assert_eq!(
        (j["ok"].as_bool(), j["error"]["kind"].as_str()),
        (Some(false), Some("usage"))
    );
    let out = vannactl(d.path())
        .args(["--quiet", "--verbose", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = vannactl(d.path()).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "init",
        "golden-copy",
        "seed",
        "train",
        "backup",
        "restore",
        "health",
        "config",
        "completions",
    ] {
        assert!(help.contains(sub), "--help lacks {sub}");
    }
    assert!(help.contains("5  another vannactl operation holds the lock"));
}

#[test]
fn quiet_prints_nothing_on_success() {
    let d = tempfile::tempdir().unwrap();
    let out = vannactl(d.path())
        .args(["-q", "golden-copy", "--source"])
        .arg(testdata("car_1.sqlite"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn logs_go_to_stderr_and_log_dir_never_stdout() {
    let d = tempfile::tempdir().unwrap();
    let out = vannactl(d.path())
        .env("LOG_DIR", "var/log")
        .args(["--json", "-vv", "golden-copy", "--source"])
        .arg(testdata("car_1.sqlite"))
        .output()
        .unwrap();
    json_of(&out); // stdout is exactly the JSON object
    assert!(String::from_utf8_lossy(&out.stderr).contains("golden copy"));
    let log = std::fs::read_to_string(d.path().join("var/log/vannactl.log")).unwrap();
    assert!(
        log.contains("golden copy") && log.contains("action=\"copied\""),
        "{log}"
    );
}

#[test]
fn completions_for_each_shell() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = vannactl(d.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("golden-copy"));
    }
    let out = vannactl(d.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

//! The admin password policy end to end, through the built binary, on embedded SQLite and on
//! PostgreSQL 15: `init` (INIT_ADMIN_PASSWORD) and `admin reset-password`, in production (refuses,
//! exit 2, zxcvbn's feedback, never the password) and development (accepts, warns).

mod common;
mod system_db_support;

use common::cli::{json_of, stderr, step};
use serde_json::Value;
use std::process::Output;
use system_db_support::*;

const STRONG: &str = "quiet-lantern-orbit-2817";

fn production(b: Backend) -> Env {
    let mut env = Env::new(b);
    env.set("APP_ENV", "production")
        .set("ENABLE_TARGET_DB", "false")
        .set("AUTO_TRAIN_CHROMA", "false")
        .set("INIT_ADMIN_USERNAME", "carol");
    env
}

/// The password appears nowhere: not on stdout/stderr, not in the log file, not in audit rows.
fn assert_never_shown(env: &Env, out: &Output, password: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains(password),
        "output shows the password: {text}"
    );
    let log = std::fs::read_to_string(env.path().join("logs/vannactl.log")).unwrap_or_default();
    assert!(!log.contains(password), "log shows the password: {log}");
    if env.backend == Backend::Postgres || env.sqlite_path().exists() {
        let mut db = env.db();
        if db.table_exists("audit_logs").unwrap() {
            let rows = db
                .query("SELECT CAST(details AS TEXT) FROM audit_logs", &[])
                .unwrap();
            for r in rows {
                let d = r[0].as_str().unwrap_or_default().to_string();
                assert!(!d.contains(password), "audit row shows the password: {d}");
            }
        }
    }
}

/// A refused INIT_ADMIN_PASSWORD stops init before it creates or migrates anything.
fn assert_untouched(env: &Env) {
    match env.backend {
        Backend::Sqlite => assert!(!env.sqlite_path().exists(), "system DB file created"),
        Backend::Postgres => {
            for t in ["schema_migrations", "users"] {
                assert!(!env.table_exists(t), "{t} created");
            }
        }
    }
    assert!(
        !env.path().join("data/vanna_db.db").exists(),
        "golden copy made"
    );
}

fn hash_of(env: &Env, user: &str) -> String {
    env.query(&format!(
        "SELECT password_hash FROM users WHERE username = '{user}'"
    ))[0][0]
        .as_str()
        .unwrap()
        .to_string()
}

fn reset(env: &Env, user: &str, password: &str, extra: &[&str]) -> (i32, Value, Output) {
    let out = env
        .cmd()
        .args(["--json", "admin", "reset-password", "--username", user])
        .args(["--password-stdin", "--yes"])
        .args(extra)
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), json_of(&out), out)
}

#[test]
fn init_in_production_refuses_guessable_example_and_username_passwords_with_exit_2() {
    for b in BACKENDS {
        let mut env = production(b);
        for (pw, why) in [
            (
                "AdminPassword123",
                "published example value (a well-known example password)",
            ),
            ("adminpassword123", "a well-known example password"),
            ("change-me-please", "published example value"),
            ("CHANGE_ME", "(DATABASE_URL)"),
            (
                "Carol-quartz-meadow-4471",
                "contains the username \"carol\"",
            ),
            ("password1234", "zxcvbn score"),
            ("mnbvcxzlkjhgfd", "Straight rows of keys are easy to guess"),
            ("Tr0ub4dor", "9 characters, fewer than 12"),
        ] {
            env.set("INIT_ADMIN_PASSWORD", pw);
            let (code, r, out) = env.run_json(&["init"]);
            assert_eq!(code, 2, "{b:?} {pw}: {r}");
            assert_eq!(r["ok"], false, "{r}");
            assert_eq!(r["error"]["kind"], "weak_password", "{r}");
            assert_eq!(r["error"]["exit_code"], 2, "{r}");
            let msg = r["error"]["message"].as_str().unwrap();
            assert!(msg.contains(why), "{b:?} {pw}: want {why:?} in {msg}");
            assert!(
                msg.contains("INIT_ADMIN_PASSWORD for \"carol\" is refused by the production password policy"),
                "{msg}"
            );
            assert_eq!(step(&r, "connectivity")["status"], "failed", "{r}");
            assert_untouched(&env);
            assert_never_shown(&env, &out, pw);
        }
        // zxcvbn's feedback: the warning and the suggestions.
        env.set("INIT_ADMIN_PASSWORD", "password1234");
        let (_, r, _) = env.run_json(&["init"]);
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains("This is a very common password."), "{msg}");
        assert!(msg.contains("Add another word or two"), "{msg}");
        // The human form says the same on stderr, with the same exit code.
        let out = env.cmd().arg("init").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("zxcvbn score"), "{}", stderr(&out));
        assert_never_shown(&env, &out, "password1234");
        // A strong one is accepted and works with the app's bcrypt.
        env.set("INIT_ADMIN_PASSWORD", STRONG);
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(step(&r, "admin user")["status"], "done", "{r}");
        assert_eq!(
            step(&r, "demo data")["status"],
            "skipped",
            "production has no demo data"
        );
        assert!(python_bcrypt_verifies(&hash_of(&env, "carol"), STRONG));
        // An existing admin is never overwritten, so a weak INIT_ADMIN_PASSWORD left in the
        // configuration afterwards is not used, and not refused.
        env.set("INIT_ADMIN_PASSWORD", "AdminPassword123");
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(step(&r, "admin user")["status"], "unchanged", "{r}");
    }
}

#[test]
fn production_refuses_values_of_every_env_example_it_finds() {
    let b = Backend::Sqlite;
    // The working folder's .env.example: any variable's value, commented-out lines included.
    let mut env = production(b);
    std::fs::write(
        env.path().join(".env.example"),
        "INIT_ADMIN_PASSWORD=Team-Example-Glacier-58\n#CHROMA_AUTH_TOKEN=\"Vivid-Anchor-Token-9f8e\"\nDATABASE_URL=postgres://app:Orbit-Sample-Pass-77@db/app\n",
    )
    .unwrap();
    for (pw, origin) in [
        (
            "Team-Example-Glacier-58",
            ".env.example line 1 (INIT_ADMIN_PASSWORD)",
        ),
        (
            "vivid-anchor-token-9F8E",
            ".env.example line 2 (CHROMA_AUTH_TOKEN)",
        ),
        ("Orbit-Sample-Pass-77", ".env.example line 3 (DATABASE_URL)"),
    ] {
        env.set("INIT_ADMIN_PASSWORD", pw);
        let (code, r, out) = env.run_json(&["init"]);
        assert_eq!(code, 2, "{pw}: {r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains(origin), "{pw}: want {origin:?} in {msg}");
        assert_never_shown(&env, &out, pw);
    }
    assert_untouched(&env);

    // The .env.example beside the --env-file the deployment is configured with.
    let env = Env::new(b);
    let conf = env.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("prod.env"),
        "APP_ENV=production\nENABLE_TARGET_DB=false\nAUTO_TRAIN_CHROMA=false\nINIT_ADMIN_USERNAME=carol\nINIT_ADMIN_PASSWORD=Beside-Env-File-Sample-31\n",
    )
    .unwrap();
    std::fs::write(
        conf.join(".env.example"),
        "# INIT_ADMIN_PASSWORD=Beside-Env-File-Sample-31\n",
    )
    .unwrap();
    let run = |env: &Env| {
        let mut c = common::cli::vannactl(env.path());
        c.env("DATABASE_URL", env.database_url())
            .env(
                "TARGET_DB_SOURCE",
                common::paths::testdata("Chinook_Sqlite.sqlite"),
            )
            .arg("--env-file")
            .arg(conf.join("prod.env"))
            .args(["--json", "init"]);
        c.output().unwrap()
    };
    let out = run(&env);
    let r = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "{} line 1 (INIT_ADMIN_PASSWORD)",
            conf.join(".env.example").display()
        )),
        "{msg}"
    );
    assert_never_shown(&env, &out, "Beside-Env-File-Sample-31");
    assert_untouched(&env);
    // Without that example file the same configuration is accepted.
    std::fs::remove_file(conf.join(".env.example")).unwrap();
    let out = run(&env);
    assert_eq!(out.status.code(), Some(0), "{}", json_of(&out));
}

#[test]
fn init_in_development_accepts_a_weak_password_and_warns() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false")
            .set("INIT_ADMIN_PASSWORD", "AdminPassword123");
        let (code, r, out) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{b:?}: {r}");
        let s = step(&r, "admin user");
        assert_eq!(s["status"], "warning", "{r}");
        assert_eq!(s["counts"]["created"], 1, "{r}");
        let detail = s["detail"].as_str().unwrap();
        assert!(detail.contains("admin \"admin\" created"), "{detail}");
        assert!(
            detail.contains("would be refused in production: it is a published example value"),
            "{detail}"
        );
        assert!(
            detail.contains("contains the username \"admin\""),
            "{detail}"
        );
        assert_eq!(r["changed"], true, "creating the admin is a change: {r}");
        assert_eq!(r["warnings"], 1, "{r}");
        assert!(
            stderr(&out).contains("would be refused in production"),
            "{}",
            stderr(&out)
        );
        assert_never_shown(&env, &out, "AdminPassword123");
        assert!(python_bcrypt_verifies(
            &hash_of(&env, "admin"),
            "AdminPassword123"
        ));
    }
}

#[test]
fn reset_password_in_production_refuses_the_same_passwords_and_changes_nothing() {
    for b in BACKENDS {
        let mut env = production(b);
        env.set("INIT_ADMIN_PASSWORD", STRONG);
        env.cmd().arg("init").assert().success();
        let before = hash_of(&env, "carol");
        let audit_before = env.count("audit_logs");
        for (pw, why) in [
            ("AdminPassword123", "a well-known example password"),
            ("CHANGE_ME", "the .env.example shipped with vannactl line"),
            ("Glacier-CAROL-anchor-58", "contains the username \"carol\""),
            ("mnbvcxzlkjhgfd", "Straight rows of keys are easy to guess"),
            ("password1234", "Add another word or two"),
        ] {
            let (code, r, out) = reset(&env, "carol", pw, &[]);
            assert_eq!(code, 2, "{b:?} {pw}: {r}");
            assert_eq!(r["error"]["kind"], "weak_password", "{r}");
            let msg = r["error"]["message"].as_str().unwrap();
            assert!(msg.contains(why), "{b:?} {pw}: want {why:?} in {msg}");
            assert!(
                msg.contains(
                    "the new password for \"carol\" is refused by the production password policy"
                ),
                "{msg}"
            );
            assert_never_shown(&env, &out, pw);
        }
        // The hard limits, in any profile.
        let (code, r, _) = reset(&env, "carol", "", &[]);
        assert_eq!(code, 2, "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains("is empty"),
            "{r}"
        );
        let (code, r, _) = reset(&env, "carol", &"long-".repeat(15), &[]);
        assert_eq!(code, 2, "{r}");
        assert!(
            r["error"]["message"].as_str().unwrap().contains("75 bytes"),
            "{r}"
        );
        // INIT_ADMIN_PASSWORD as the new password (no --password-stdin) follows the same rule.
        let out = env
            .cmd()
            .env("INIT_ADMIN_PASSWORD", "AdminPassword123")
            .args([
                "--json",
                "admin",
                "reset-password",
                "--username",
                "carol",
                "--yes",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", json_of(&out));
        // Nothing was changed or recorded as done.
        assert_eq!(hash_of(&env, "carol"), before, "{b:?}");
        assert_eq!(env.count("audit_logs"), audit_before, "{b:?}");
        // A strong password goes through.
        let (code, r, _) = reset(&env, "carol", "amber-harbor-violin-6203", &[]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["warnings"], serde_json::json!([]), "{r}");
        assert!(python_bcrypt_verifies(
            &hash_of(&env, "carol"),
            "amber-harbor-violin-6203"
        ));
    }
}

#[test]
fn reset_password_in_development_accepts_and_warns() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        env.cmd().arg("init").assert().success();
        let (code, r, out) = reset(&env, "admin", "password1234", &[]);
        assert_eq!(code, 0, "{b:?}: {r}");
        let warnings: Vec<&str> = r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("the new password for \"admin\" would be refused in production: it is easy to guess (zxcvbn score")),
            "{warnings:?}"
        );
        // Shown before the change on stderr too, once.
        let err = stderr(&out);
        assert_eq!(err.matches("zxcvbn score").count(), 1, "{err}");
        assert_never_shown(&env, &out, "password1234");
        assert!(python_bcrypt_verifies(
            &hash_of(&env, "admin"),
            "password1234"
        ));
        // Empty stays refused in development.
        let (code, r, _) = reset(&env, "admin", "", &[]);
        assert_eq!(code, 2, "{r}");
    }
}

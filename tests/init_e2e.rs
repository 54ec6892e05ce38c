//! `vannactl init` end to end, on embedded SQLite and on PostgreSQL 15 (127.0.0.1:5432).

mod common;
mod system_db_support;

use common::cli::{stderr, step};
use common::paths::repo;
use serde_json::Value;
use system_db_support::*;
use vannactl::system_db::Val;

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn fresh_init_then_second_run_changes_nothing() {
    for b in BACKENDS {
        let env = Env::new(b);
        let (code, first, out) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{b:?}: {first}\n{}", stderr(&out));
        assert_eq!(first["changed"], true);
        for (name, want) in [
            ("golden copy", "done"),
            ("migrations", "done"),
            ("admin user", "done"),
            ("ontology", "done"),
            ("demo data", "done"),
            ("knowledge base", "skipped"),
        ] {
            assert_eq!(step(&first, name)["status"], want, "{b:?} {name}: {first}");
        }
        assert_eq!(step(&first, "migrations")["counts"]["version"], 2);
        assert!(
            step(&first, "ontology")["counts"]["added"]
                .as_i64()
                .unwrap()
                >= 30
        );
        for t in vannactl::system_db::SYSTEM_TABLES {
            assert!(env.table_exists(t), "{b:?}: {t}");
        }
        assert_eq!(env.count("users"), 1);
        let terms = env.count("business_ontologies");
        let max = env.query("SELECT max(version) FROM schema_migrations");
        assert_eq!(max[0][0].as_i64(), Some(2), "{b:?}");

        let (code, second, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{second}");
        assert_eq!(second["changed"], false, "{b:?}: {second}");
        for (name, status) in statuses(&second) {
            assert!(
                status == "unchanged" || status == "skipped",
                "{b:?}: second run changed {name}: {status}"
            );
        }
        assert_eq!(env.count("business_ontologies"), terms);
        let human = env.cmd().arg("init").output().unwrap();
        assert!(
            String::from_utf8_lossy(&human.stdout).contains("nothing changed"),
            "{}",
            String::from_utf8_lossy(&human.stdout)
        );

        let (code, check, _) = env.run_json(&["init", "--check"]);
        assert_eq!(code, 0, "{b:?}: {check}");
        assert_eq!(check["drift"], serde_json::json!([]));
        assert_eq!(check["version"], 2);

        // Every run was audited, with actor and outcome.
        let rows = env.query(
            "SELECT actor, action, outcome FROM audit_logs WHERE action = 'init' ORDER BY id",
        );
        assert_eq!(rows.len(), 3, "{b:?}: {rows:?}");
        assert_eq!(
            rows[0][0].as_str().unwrap().split('@').next(),
            Some("e2e-tester")
        );
        assert!(rows.iter().all(|r| r[2] == Val::text("success")));
    }
}

#[test]
fn contract_queries_of_other_components_work() {
    for b in BACKENDS {
        let env = Env::new(b);
        env.cmd().arg("init").assert().success();
        let rows = env.query(
            "SELECT term, definition, CAST(synonyms AS TEXT), category, CAST(mappings AS TEXT) FROM business_ontologies ORDER BY term",
        );
        assert!(rows.len() >= 30);
        let revenue = rows
            .iter()
            .find(|r| r[0] == Val::text("Revenue"))
            .expect("Revenue term");
        let syn: Vec<String> = serde_json::from_str(revenue[2].as_str().unwrap()).unwrap();
        assert!(syn.contains(&"turnover".to_string()), "{syn:?}");
        let maps: Vec<Value> = serde_json::from_str(revenue[4].as_str().unwrap()).unwrap();
        assert_eq!(maps[0]["table"], "accounting_transactions", "{b:?}");
        assert_eq!(maps[0]["column"], "credit");
        assert_eq!(revenue[3], Val::text("finance"));
    }
}

#[test]
fn demo_flag_off_then_on() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        let (code, off, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{off}");
        assert_eq!(step(&off, "demo data")["status"], "skipped");
        for t in vannactl::seed::DEMO_TABLES {
            assert!(!env.table_exists(t), "{b:?}: {t} exists with the flag off");
        }
        let (code, refused, _) = env.run_json(&["seed"]);
        assert_eq!(code, 2, "{refused}");
        assert!(refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SEED_DEMO_DATA is false"));
        let (code, check, _) = env.run_json(&["init", "--check"]);
        assert_eq!(
            code, 0,
            "demo tables are not expected with the flag off: {check}"
        );

        env.set("SEED_DEMO_DATA", "true");
        let (code, on, _) = env.run_json(&["init", "--seed-rows", "3001"]);
        assert_eq!(code, 0, "{on}");
        assert_eq!(step(&on, "demo data")["status"], "done");
        assert_eq!(env.count("accounting_transactions"), 3001);
        assert_eq!(env.count("departments"), 8);
        assert_eq!(env.count("chart_of_accounts"), 21);
        let unbalanced = env.query(
            "SELECT count(*) FROM (SELECT transaction_id FROM accounting_transactions GROUP BY transaction_id HAVING round(sum(debit) - sum(credit), 2) <> 0) u",
        );
        assert_eq!(unbalanced[0][0].as_i64(), Some(0), "{b:?}");
        let (code, check, _) = env.run_json(&["init", "--check"]);
        assert_eq!(code, 0, "{check}");
    }
}

#[test]
fn malformed_yaml_names_file_line_column_and_loads_nothing() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        let onto = env.path().join("onto");
        std::fs::create_dir(&onto).unwrap();
        std::fs::copy(
            repo().join("ontology/accounting.yaml"),
            onto.join("a_good.yaml"),
        )
        .unwrap();
        std::fs::write(
            onto.join("b_bad.yaml"),
            "terms:\n  - term: Churn\n    definition: Customers lost\n    synonyms: [attrition\n",
        )
        .unwrap();
        env.set("ONTOLOGY_DIR", onto.to_str().unwrap());
        let (code, r, out) = env.run_json(&["init"]);
        assert_eq!(code, 1, "{r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("b_bad.yaml:5:1") || msg.contains("b_bad.yaml:4:"),
            "{b:?}: {msg}"
        );
        assert_eq!(r["error"]["kind"], "ontology_invalid");
        assert_eq!(step(&r, "ontology")["status"], "failed");
        assert_eq!(
            env.count("business_ontologies"),
            0,
            "the good file must not be loaded either"
        );
        // Init stopped at the critical step: no demo data.
        assert!(!env.table_exists("accounting_transactions"));
        assert!(stderr(&out).is_empty() || !stderr(&out).contains("panicked"));

        // A wrong field name is located too.
        std::fs::write(
            onto.join("b_bad.yaml"),
            "terms:\n  - term: Churn\n    defintion: Customers lost\n",
        )
        .unwrap();
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 1);
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains("b_bad.yaml:3:"), "{msg}");
        assert!(msg.contains("defintion"), "{msg}");

        // Fixed: everything loads; a changed term is kept unless --update-ontology.
        std::fs::write(
            onto.join("b_bad.yaml"),
            "terms:\n  - term: Churn\n    definition: Customers lost\n",
        )
        .unwrap();
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{r}");
        let added = step(&r, "ontology")["counts"]["added"].as_i64().unwrap();
        assert_eq!(env.count("business_ontologies"), added);
        std::fs::write(
            onto.join("b_bad.yaml"),
            "terms:\n  - term: Churn\n    definition: Share of customers lost in a period\n",
        )
        .unwrap();
        let (_, r, _) = env.run_json(&["init"]);
        assert_eq!(step(&r, "ontology")["status"], "unchanged");
        assert!(step(&r, "ontology")["detail"]
            .as_str()
            .unwrap()
            .contains("--update-ontology"));
        let (_, r, _) = env.run_json(&["init", "--update-ontology"]);
        assert_eq!(step(&r, "ontology")["counts"]["updated"], 1, "{r}");
        let def = env.query("SELECT definition FROM business_ontologies WHERE term = 'Churn'");
        assert_eq!(def[0][0], Val::text("Share of customers lost in a period"));
    }
}

#[test]
fn init_check_reports_drift_precisely_and_changes_nothing() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        let (code, r, _) = env.run_json(&["init", "--check"]);
        if b == Backend::Sqlite {
            assert_eq!(code, 1, "{r}");
            assert_eq!(r["error"]["kind"], "db_not_initialised");
            assert!(
                !env.sqlite_path().exists(),
                "--check must not create the DB"
            );
        } else {
            assert_eq!(code, 1, "{r}");
            assert_eq!(r["version"], 0);
            assert!(
                r["drift"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d == "table users is missing"),
                "{r}"
            );
        }
        env.cmd().arg("init").assert().success();
        let mut db = env.db();
        db.batch("ALTER TABLE users ADD COLUMN nickname TEXT")
            .unwrap();
        db.batch("DROP TABLE feedback").unwrap();
        let (code, r, _) = env.run_json(&["init", "--check"]);
        assert_eq!(code, 1, "{r}");
        let drift: Vec<&str> = r["drift"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(
            drift,
            vec![
                "table feedback is missing",
                "column users.nickname is not in the expected schema"
            ],
            "{b:?}"
        );
        assert!(
            env.table_exists("users") && !env.table_exists("feedback"),
            "--check changed nothing"
        );

        // An applied migration that changed is an error, never a silent re-run.
        db.exec(
            "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 2",
            &[],
        )
        .unwrap();
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 1, "{r}");
        assert_eq!(r["error"]["kind"], "migration_history");
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("0002_queries_feedback) was changed after it was applied"));
    }
}

#[test]
fn admin_password_verified_by_python_bcrypt_and_never_overwritten() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        env.cmd().arg("init").assert().success();
        let hash_of = |env: &Env| {
            env.query("SELECT password_hash, role, is_active FROM users WHERE username = 'admin'")
                [0]
            .clone()
        };
        let row = hash_of(&env);
        let hash = row[0].as_str().unwrap().to_string();
        assert!(hash.starts_with("$2b$12$"), "{hash}");
        assert_eq!(row[1], Val::text("admin"));
        assert_eq!(row[2].as_i64(), Some(1));
        assert!(python_bcrypt_verifies(&hash, ADMIN_PASSWORD), "{b:?}");
        assert!(!python_bcrypt_verifies(&hash, "not-the-password"));

        // A re-run with another password leaves the admin alone.
        env.set("INIT_ADMIN_PASSWORD", "another-password-456");
        let (_, r, _) = env.run_json(&["init"]);
        assert_eq!(step(&r, "admin user")["status"], "unchanged");
        assert_eq!(hash_of(&env)[0].as_str().unwrap(), hash);

        // Reset is explicit and confirmed: refused without a TTY or --yes.
        let out = env
            .cmd()
            .args(["admin", "reset-password", "--password-stdin"])
            .write_stdin("brand-new-password-789\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert_eq!(hash_of(&env)[0].as_str().unwrap(), hash);
        let out = env
            .cmd()
            .args(["admin", "reset-password", "--password-stdin", "--yes"])
            .write_stdin("brand-new-password-789\n")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let new_hash = hash_of(&env)[0].as_str().unwrap().to_string();
        assert!(
            python_bcrypt_verifies(&new_hash, "brand-new-password-789"),
            "{b:?}"
        );
        let audit = env.query(
            "SELECT resource, outcome FROM audit_logs WHERE action = 'admin reset-password'",
        );
        assert_eq!(
            audit,
            vec![vec![Val::text("users/admin"), Val::text("success")]],
            "{b:?}"
        );
        // Unknown user: clear error, audited as a failure.
        let out = env
            .cmd()
            .args(["admin", "reset-password", "--username", "ghost", "--yes"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("no user \"ghost\""),
            "{}",
            stderr(&out)
        );
        // ... said before asking for a confirmation that could not help.
        let out = env
            .cmd()
            .args(["admin", "reset-password", "--username", "ghost"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("no user \"ghost\""),
            "{}",
            stderr(&out)
        );
        let failures = env.query(
            "SELECT count(*) FROM audit_logs WHERE action = 'admin reset-password' AND resource = 'users/ghost' AND outcome = 'failure'",
        );
        assert_eq!(failures[0][0].as_i64(), Some(2), "{b:?}");
    }
}

#[test]
fn sqlite_system_db_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(Backend::Sqlite);
    env.cmd().arg("init").assert().success();
    let data = env.path().join("data");
    for name in ["system.db", "system.db-wal", "system.db-shm"] {
        let p = data.join(name);
        if name == "system.db" || p.exists() {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }
}

#[test]
fn health_reports_the_system_db() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        let (code, r, _) = env.run_json(&["health"]);
        assert_eq!(code, 3, "not initialised is critical: {r}");
        env.cmd().arg("init").assert().success();
        let (code, r, _) = env.run_json(&["health", "--stats"]);
        assert_eq!(code, 0, "{r}");
        let checks: Vec<&Value> = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["component"] == "system_db")
            .collect();
        let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
        let mut want = vec!["connectivity", "schema", "row counts"];
        if b == Backend::Sqlite {
            want.push("file permissions");
        }
        assert_eq!(names, want, "{b:?}");
        assert!(checks.iter().all(|c| c["status"] == "ok"), "{r}");
        assert_eq!(checks[1]["detail"], "migration version 2");
        assert!(
            checks[2]["detail"].as_str().unwrap().contains("users=1"),
            "{r}"
        );
    }
}

#[test]
fn golden_copy_runs_are_audited() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        env.cmd().arg("init").assert().success();
        env.cmd()
            .args(["golden-copy", "--dest", "data/second.db"])
            .assert()
            .success();
        env.cmd()
            .args([
                "golden-copy",
                "--source",
                "missing.db",
                "--dest",
                "data/third.db",
            ])
            .assert()
            .failure();
        let rows = env.query("SELECT action, resource, outcome FROM audit_logs WHERE action LIKE 'golden-copy%' ORDER BY id");
        assert_eq!(
            rows,
            vec![
                vec![
                    Val::text("golden-copy copied"),
                    Val::text("data/second.db"),
                    Val::text("success")
                ],
                vec![
                    Val::text("golden-copy"),
                    Val::text("data/third.db"),
                    Val::text("failure")
                ],
            ],
            "{b:?}"
        );
    }
}

#[test]
fn audit_falls_back_to_the_log_file_when_the_db_is_missing() {
    let mut env = Env::new(Backend::Sqlite);
    env.set("SEED_DEMO_DATA", "false");
    env.cmd().args(["golden-copy"]).assert().success();
    assert!(
        !env.sqlite_path().exists(),
        "auditing must not create the system DB"
    );
    let log = std::fs::read_to_string(env.path().join("logs/vannactl.log")).unwrap();
    assert!(
        log.contains("audit entry written to the log file only"),
        "{log}"
    );
    assert!(log.contains("\"action\":\"golden-copy copied\""), "{log}");
}

#[test]
fn bad_seed_rows_is_refused_before_init_changes_anything() {
    for rows in ["1", "-5", "0"] {
        let env = Env::new(Backend::Sqlite);
        let flag = format!("--seed-rows={rows}");
        let (code, r, _) = env.run_json(&["init", &flag]);
        assert_eq!(code, 2, "--seed-rows {rows}: {r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at least 2 lines"),
            "{r}"
        );
        assert!(
            !env.path().join("data").exists(),
            "--seed-rows {rows}: init ran before refusing the flag"
        );
    }
}

#[test]
fn db_of_an_older_build_has_pending_migrations_not_drift() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        env.cmd().arg("init").assert().success();
        // Roll the DB back to what a build with only migration 1 left.
        env.db()
            .batch("DROP TABLE feedback; DROP TABLE queries; DELETE FROM schema_migrations WHERE version = 2")
            .unwrap();
        let (code, r, _) = env.run_json(&["init", "--check"]);
        assert_eq!(code, 1, "{b:?}: {r}");
        assert_eq!(r["version"], 1);
        assert_eq!(r["pending"], serde_json::json!(["0002_queries_feedback"]));
        assert_eq!(r["drift"], serde_json::json!([]), "{b:?}: {r}");
        let (_, h, _) = env.run_json(&["health"]);
        let schema = h["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == "system_db" && c["name"] == "schema")
            .unwrap();
        assert_eq!(schema["status"], "warn", "{b:?}: {schema}");
        // init brings it up to date.
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(step(&r, "migrations")["counts"]["applied"], 1, "{r}");
        let (code, r, _) = env.run_json(&["init", "--check"]);
        assert_eq!(code, 0, "{b:?}: {r}");
    }
}

#[test]
fn init_from_another_host_waits_for_the_running_one_on_postgres() {
    // The lock file serialises runs on one host only; two hosts (CI runners, app replicas) share
    // the PostgreSQL system DB. This test's connection plays the other host's init.
    let env = Env::new(Backend::Postgres);
    let mut other = env.db();
    other
        .exec(
            "SELECT pg_advisory_lock($1)",
            &[Val::Int(vannactl::system_db::INIT_LOCK_KEY)],
        )
        .unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vannactl"));
    for spec in vannactl::config::VARS {
        cmd.env_remove(spec.name);
    }
    let mut child = cmd
        .current_dir(env.path())
        .env("DATABASE_URL", env.database_url())
        .env(
            "TARGET_DB_SOURCE",
            common::paths::testdata("Chinook_Sqlite.sqlite"),
        )
        .env("ONTOLOGY_DIR", repo().join("ontology"))
        .env("INIT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SEED_DEMO_DATA", "false")
        .args(["--no-dotenv", "init", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                   WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'vannactl'";
    let mut seen_waiting = false;
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("init finished ({status}) while another init held the system DB");
        }
        if other.query_i64(waiting, &[]).unwrap() == 1 {
            seen_waiting = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(seen_waiting, "init never queued for the init lock");
    assert_eq!(
        other
            .query_i64("SELECT count(*) FROM users", &[])
            .unwrap_or(0),
        0,
        "init wrote before it had the lock"
    );
    other
        .exec(
            "SELECT pg_advisory_unlock($1)",
            &[Val::Int(vannactl::system_db::INIT_LOCK_KEY)],
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = common::cli::json_of(&out);
    assert_eq!(step(&r, "migrations")["status"], "done", "{r}");
}

#[test]
fn terms_removed_from_the_yaml_are_reported_as_stale_and_kept() {
    for b in BACKENDS {
        let mut env = Env::new(b);
        env.set("SEED_DEMO_DATA", "false");
        let onto = env.path().join("onto");
        std::fs::create_dir(&onto).unwrap();
        std::fs::write(
            onto.join("t.yaml"),
            "terms:\n  - term: Churn\n    definition: Customers lost\n  - term: Backlog\n    definition: Open orders\n  - term: Runway\n    definition: Months of cash left\n",
        )
        .unwrap();
        env.set("ONTOLOGY_DIR", onto.to_str().unwrap());
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(step(&r, "ontology")["counts"]["stale"], 0, "{b:?}: {r}");
        std::fs::write(
            onto.join("t.yaml"),
            "terms:\n  - term: Churn\n    definition: Customers lost\n",
        )
        .unwrap();
        let (code, r, _) = env.run_json(&["init"]);
        assert_eq!(code, 0, "{r}");
        let o = step(&r, "ontology");
        assert_eq!(o["counts"]["stale"], 2, "{b:?}: {r}");
        let detail = o["detail"].as_str().unwrap();
        assert!(
            detail.contains("2 term(s) in the DB are no longer in the YAML: Backlog, Runway"),
            "{b:?}: {detail}"
        );
        assert_eq!(o["status"], "unchanged", "{b:?}: {r}");
        // Kept: the app may rely on them.
        assert_eq!(env.count("business_ontologies"), 3, "{b:?}");
    }
}

#[test]
fn group_readable_sqlite_files_are_reported_not_changed() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::new(Backend::Sqlite);
    env.set("SEED_DEMO_DATA", "false");
    let (code, r, _) = env.run_json(&["init"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(step(&r, "connectivity")["status"], "done", "{r}");
    let db = env.sqlite_path();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Healthy: private files pass the check.
    let (code, h, _) = env.run_json(&["health"]);
    assert_eq!(code, 0, "{h}");
    let perm = common::cli::named(&h, "checks", "file permissions");
    assert_eq!(perm["status"], "ok", "{h}");

    // A manual copy left it 0644.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, r, _) = env.run_json(&["init"]);
    assert_eq!(code, 0, "a loose mode is a warning, not a failure: {r}");
    let c = step(&r, "connectivity");
    assert_eq!(c["status"], "warning", "{r}");
    let detail = c["detail"].as_str().unwrap();
    // Named as DATABASE_URL gives it (here relative to the working folder).
    let shown = "data/system.db";
    assert!(
        detail.contains(shown) && detail.contains("0644") && detail.contains("chmod 600"),
        "{detail}"
    );
    assert_eq!(r["warnings"], 1, "{r}");
    assert_eq!(r["changed"], false, "{r}");

    let (code, h, _) = env.run_json(&["health"]);
    assert_eq!(code, 0, "a warning keeps exit 0: {h}");
    let perm = common::cli::named(&h, "checks", "file permissions");
    assert_eq!(perm["status"], "warn", "{h}");
    let detail = perm["detail"].as_str().unwrap();
    assert!(
        detail.contains(shown) && detail.contains("0644") && detail.contains("chmod 600"),
        "{detail}"
    );
    // Reported, not silently changed (the app may run as another user).
    assert_eq!(mode(&db), 0o644);
}

#[test]
fn password_stdin_on_a_terminal_is_hidden_and_asked_twice() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let mut env = Env::new(Backend::Sqlite);
    env.set("SEED_DEMO_DATA", "false");
    env.cmd().arg("init").assert().success();
    let secret = "typed-at-a-terminal-4242";
    // `script` gives the command a pseudo-terminal and forwards our stdin to it.
    let inner = format!(
        "{} --no-dotenv admin reset-password --password-stdin --yes",
        env!("CARGO_BIN_EXE_vannactl")
    );
    let mut child = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .current_dir(env.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", env.path())
        .env("TERM", "xterm")
        .env("USER", "e2e-tester")
        .env("DATABASE_URL", env.database_url())
        .env("INIT_ADMIN_USERNAME", "admin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Collect the screen as it comes, to type each line only once its prompt is shown.
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let screen = screen.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let shows = |text: &str| screen.lock().unwrap().contains(text);
    // The prompt switches the terminal to no-echo and may drop input typed just before that, so a
    // line is typed again (bounded) until the next prompt, or the end, shows it was taken.
    for (prompt, next) in [("New password for admin", "Repeat it"), ("Repeat it", "")] {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !shows(prompt) {
            assert!(
                std::time::Instant::now() < deadline,
                "no prompt {prompt:?}: {}",
                screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut tries = 0;
        loop {
            std::thread::sleep(Duration::from_millis(200));
            // Ignore a closed pipe: a command that stopped reading fails the assertions below.
            let _ = stdin.write_all(format!("{secret}\r").as_bytes());
            let _ = stdin.flush();
            tries += 1;
            let waited = std::time::Instant::now();
            let taken = loop {
                let done = child.try_wait().unwrap().is_some();
                if (!next.is_empty() && shows(next)) || done {
                    break true;
                }
                if waited.elapsed() > Duration::from_secs(3) {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            if taken || tries == 5 {
                break;
            }
        }
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let out = std::process::Output {
        status,
        stdout: screen.lock().unwrap().clone().into_bytes(),
        stderr: Vec::new(),
    };
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains(secret), "the password was echoed: {shown}");
    assert!(
        shown.contains("Repeat it"),
        "no confirmation asked: {shown}"
    );
    let hash = env.query("SELECT password_hash FROM users WHERE username = 'admin'")[0][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(python_bcrypt_verifies(&hash, secret));
}

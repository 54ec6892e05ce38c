//! `vannactl seed`: deterministic, identical on both backends, idempotent, reset touches demo
//! tables only.

mod common;
mod system_db_support;

use common::cli::stderr;
use system_db_support::*;
use vannactl::system_db::Val;

/// Every journal line as text, amounts in cents (backend-neutral).
fn journal(env: &Env) -> Vec<String> {
    env.query(
        "SELECT id, transaction_id, line_no, CAST(entry_date AS TEXT), account_id, department_id, description, reference, CAST(round(debit * 100) AS BIGINT), CAST(round(credit * 100) AS BIGINT) FROM accounting_transactions ORDER BY id",
    )
    .into_iter()
    .map(|r| format!("{r:?}"))
    .collect()
}

fn initialised(b: Backend) -> Env {
    let mut env = Env::new(b);
    env.set("SEED_DEMO_DATA", "false");
    env.cmd().arg("init").assert().success();
    env.set("SEED_DEMO_DATA", "true");
    env
}

#[test]
fn deterministic_identical_across_backends_and_idempotent() {
    let mut dumps = Vec::new();
    for b in BACKENDS {
        let env = initialised(b);
        let (code, r, _) = env.run_json(&["seed", "--rows", "4999"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["changed"], true);
        assert_eq!(r["inserted"]["accounting_transactions"], 4999);
        let first = journal(&env);
        assert_eq!(first.len(), 4999);

        let (code, again, _) = env.run_json(&["seed", "--rows", "4999"]);
        assert_eq!(code, 0);
        assert_eq!(again["changed"], false, "a re-run inserts nothing: {again}");
        assert_eq!(again["inserted"]["accounting_transactions"], 0);
        let (_, other, _) = env.run_json(&["seed", "--rows", "100"]);
        assert_eq!(other["changed"], false);
        assert!(
            other["note"].as_str().unwrap().contains("seed --reset"),
            "{other}"
        );

        env.cmd()
            .args(["seed", "--reset", "--yes"])
            .assert()
            .success();
        env.cmd()
            .args(["seed", "--rows", "4999"])
            .assert()
            .success();
        assert_eq!(
            journal(&env),
            first,
            "{b:?}: two runs must give identical rows"
        );

        let unbalanced = env.query(
            "SELECT count(*) FROM (SELECT transaction_id FROM accounting_transactions GROUP BY transaction_id HAVING round(sum(debit) - sum(credit), 2) <> 0 OR count(*) < 2) u",
        );
        assert_eq!(unbalanced[0][0].as_i64(), Some(0), "{b:?}");
        let one_sided = env
            .query("SELECT count(*) FROM accounting_transactions WHERE (debit > 0) = (credit > 0)");
        assert_eq!(one_sided[0][0].as_i64(), Some(0));
        let orphans = env.query(
            "SELECT count(*) FROM accounting_transactions t LEFT JOIN chart_of_accounts a ON a.id = t.account_id WHERE a.id IS NULL",
        );
        assert_eq!(orphans[0][0].as_i64(), Some(0));
        dumps.push(first);
    }
    assert_eq!(
        dumps[0], dumps[1],
        "SQLite and PostgreSQL must hold identical demo rows"
    );
}

#[test]
fn reset_is_confirmed_and_touches_demo_tables_only() {
    for b in BACKENDS {
        let env = initialised(b);
        env.cmd().args(["seed", "--rows", "500"]).assert().success();
        let users = env.count("users");
        let terms = env.count("business_ontologies");

        let out = env.cmd().args(["seed", "--reset"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(4),
            "no TTY and no --yes: {}",
            stderr(&out)
        );
        assert_eq!(env.count("accounting_transactions"), 500);

        let (code, r, _) = env.run_json(&["seed", "--reset", "--yes"]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["removed"]["accounting_transactions"], 500);
        for t in vannactl::seed::DEMO_TABLES {
            assert!(!env.table_exists(t), "{b:?}: {t}");
        }
        for t in vannactl::system_db::SYSTEM_TABLES {
            assert!(env.table_exists(t), "{b:?}: {t}");
        }
        assert_eq!(env.count("users"), users);
        assert_eq!(env.count("business_ontologies"), terms);
        let (code, check, _) = env.run_json(&["init", "--check"]);
        assert_eq!(
            code, 1,
            "with SEED_DEMO_DATA on, missing demo tables are drift: {check}"
        );
        assert!(check["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "table accounting_transactions is missing"));

        let audit = env
            .query("SELECT action, outcome FROM audit_logs WHERE action LIKE 'seed%' ORDER BY id");
        assert_eq!(
            audit,
            vec![
                vec![Val::text("seed"), Val::text("success")],
                vec![Val::text("seed --reset"), Val::text("success")],
            ],
            "{b:?} (the declined reset changed nothing and is not an action)"
        );
    }
}

#[test]
fn bad_row_counts_and_uninitialised_db_are_refused() {
    for b in BACKENDS {
        let env = initialised(b);
        let (code, r, _) = env.run_json(&["seed", "--rows", "1"]);
        assert_eq!(code, 2, "{r}");
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least 2 lines"));
        let (code, _, _) = env.run_json(&["seed", "--rows", "many"]);
        assert_eq!(code, 2);
    }
    let mut env = Env::new(Backend::Sqlite);
    env.set("SEED_DEMO_DATA", "true");
    let (code, r, _) = env.run_json(&["seed"]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["error"]["kind"], "db_not_initialised");
}

//! `init` with AUTO_TRAIN_CHROMA on the shipped demo target, ontology and training pairs (embedded
//! store), and the audit trail of the admin actions that follow.

mod common;

use common::cli::{json_of, step, vannactl};
use common::paths::{model_dir, repo};
use std::path::Path;

fn cmd(dir: &Path) -> assert_cmd::Command {
    let mut c = vannactl(dir);
    c.env("AUTO_TRAIN_CHROMA", "true")
        .env("EMBEDDING_MODEL_DIR", model_dir())
        .env(
            "TARGET_DB_SOURCE",
            repo().join("assets/databases/vanna_db.db"),
        )
        .env("ONTOLOGY_DIR", repo().join("ontology"))
        .env("INIT_ADMIN_PASSWORD", "a-long-enough-password")
        .args(["--actor", "ci-bot"]);
    c
}

#[test]
fn init_trains_the_demo_knowledge_base_once_and_actions_are_audited() {
    let d = tempfile::tempdir().unwrap();
    let out = cmd(d.path()).args(["--json", "init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of(&out);
    let kb = step(&j, "knowledge base");
    assert_eq!(kb["status"], "done", "{j}");
    let added = kb["counts"]["added"].as_i64().unwrap();
    // 8 tables + 1 view, 15 shipped pairs, and the ontology's terms.
    assert!(added >= 8 + 1 + 15 + 30, "{kb}");
    assert_eq!(kb["counts"]["replaced"], 0, "{kb}");

    // The demo target's DDL items: categories sampled, people's names never.
    let out = cmd(d.path())
        .args(["--json", "train", "list", "--collection", "ddl"])
        .output()
        .unwrap();
    let list = json_of(&out);
    let doc = |source: &str| -> String {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["source"] == source)
            .and_then(|i| i["document"].as_str())
            .unwrap_or_else(|| panic!("no {source} in {list}"))
            .to_string()
    };
    let orders = doc("schema:table orders");
    assert!(
        orders.contains("-- Sample values: status: ") && orders.contains("\nCREATE TABLE orders ("),
        "{orders}"
    );
    let employees = doc("schema:table employees");
    assert!(
        employees.contains(
            "-- employees referenced by customers (account manager), employees (manager), orders."
        ) && !employees.contains("first name: ")
            && !employees.contains("last name: "),
        "{employees}"
    );

    let out = cmd(d.path()).args(["--json", "init"]).output().unwrap();
    let j = json_of(&out);
    assert_eq!(j["changed"], false, "{j}");
    assert_eq!(step(&j, "knowledge base")["status"], "unchanged");

    // What the app would retrieve for a question about the demo data.
    let out = cmd(d.path())
        .args([
            "--json",
            "train",
            "query",
            "What is the revenue by region?",
            "--collection",
            "sql",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of(&out);
    assert!(
        j.to_string().contains("What is the revenue by region?"),
        "{j}"
    );

    // Admin actions land in audit_logs with the actor.
    let out = cmd(d.path())
        .args(["--yes", "train", "clear", "--collection", "sql"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = cmd(d.path()).args(["-q", "backup"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let db = rusqlite::Connection::open(d.path().join("data/system.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT action, outcome FROM audit_logs WHERE actor = 'ci-bot' ORDER BY id")
        .unwrap();
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for action in ["init", "train clear", "backup"] {
        assert!(
            rows.iter().any(|(a, o)| a == action && o == "success"),
            "no audit row for {action}: {rows:?}"
        );
    }
}

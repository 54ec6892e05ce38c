//! Training pairs must be read-only queries: `train` refuses `DROP TABLE customers`, a `DELETE`, a
//! data-modifying CTE or a second statement with the file, item and question named (exit 1),
//! before anything is written, and the target database is exactly as it was.

mod common;

use common::cli::{json_of, vannactl};
use common::paths::repo;
use common::pg::PgDatabase;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// (question, sql, what the refusal says): each is item 2 of its file, after a good pair.
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "Start over without customers",
        "DROP TABLE customers",
        "it is a DROP statement",
    ),
    (
        "Forget customer 1",
        "-- tidy up\nDELETE FROM customers WHERE customer_id = 1;",
        "it is a DELETE statement",
    ),
    (
        "How many customers were removed?",
        "WITH gone AS (DELETE FROM customers RETURNING *) SELECT count(*) FROM gone",
        "common table expression gone: it is a DELETE statement",
    ),
    (
        "Count, then drop",
        "SELECT count(*) FROM customers; DROP TABLE customers",
        "more than one statement",
    ),
    (
        "Copy the customers",
        "SELECT * INTO customers_copy FROM customers",
        "SELECT … INTO",
    ),
];

const GOOD: (&str, &str) = (
    "How many customers are there?",
    "SELECT count(*) FROM customers WHERE note <> 'x; DROP TABLE customers'",
);

fn pairs_file(dir: &Path, name: &str, bad: (&str, &str)) -> PathBuf {
    let p = dir.join(name);
    let list = json!([
        {"question": GOOD.0, "sql": GOOD.1},
        {"question": bad.0, "sql": bad.1},
    ]);
    std::fs::write(&p, serde_json::to_vec_pretty(&list).unwrap()).unwrap();
    p
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

/// `train` (with `extra` arguments) of each refused pair: exit 1, named, nothing written.
fn each_refused(dir: &Path, cmd: &dyn Fn() -> assert_cmd::Command, digest: &dyn Fn() -> String) {
    let before = digest();
    let store = dir.join("data/knowledge.db");
    for (i, (question, sql, why)) in REFUSED.iter().enumerate() {
        let file = pairs_file(dir, &format!("pairs-{i}.json"), (question, sql));
        for dry in [false, true] {
            let mut c = cmd();
            c.args(["--json", "train", "--pairs", file.to_str().unwrap()]);
            if dry {
                c.arg("--dry-run");
            }
            let out = c.output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{sql}: {out:?}");
            let v: Value = json_of(&out);
            assert_eq!(
                v["error"]["kind"], "training_sql_not_read_only",
                "{sql}: {v}"
            );
            let msg = v["error"]["message"].as_str().unwrap();
            assert!(
                msg.contains(&format!("pairs-{i}.json"))
                    && msg.contains("item 2")
                    && msg.contains(question)
                    && msg.contains(why)
                    && !msg.contains('\n'),
                "{sql}: {msg}"
            );
            assert!(!store.exists(), "{sql}: the knowledge store was written");
        }
    }
    assert_eq!(digest(), before, "the target database changed");
    // The good pair alone passes, so the refusals above are about the bad ones.
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        serde_json::to_vec(&json!([{"question": GOOD.0, "sql": GOOD.1}])).unwrap(),
    )
    .unwrap();
    let out = cmd()
        .args([
            "--json",
            "train",
            "--dry-run",
            "--pairs",
            good.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["collections"]["sql"]["to_add"], 1);
    assert_eq!(digest(), before, "the target database changed");
}

#[test]
fn sqlite_target_from_init_refuses_writing_pairs() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let source = dir.join("source.db");
    std::fs::copy(repo().join("assets/databases/vanna_db.db"), &source).unwrap();
    // A column the good pair's string literal can be compared with.
    rusqlite::Connection::open(&source)
        .unwrap()
        .execute_batch("ALTER TABLE customers ADD COLUMN note TEXT DEFAULT ''")
        .unwrap();
    let cmd = || {
        let mut c = vannactl(dir);
        c.env("TARGET_DB_SOURCE", &source)
            .env("INIT_ADMIN_PASSWORD", "a-long-enough-password")
            .env("ONTOLOGY_DIR", dir.join("no-ontology"));
        c
    };
    let out = cmd().arg("init").output().unwrap();
    assert!(out.status.success(), "init failed: {out:?}");
    let copy = dir.join("data/vanna_db.db");
    let digest = || format!("{} {}", sha256_file(&copy), sha256_file(&source));
    each_refused(dir, &cmd, &digest);
}

#[test]
fn postgres_target_refuses_writing_pairs_and_gives_its_own_verdict() {
    let db = PgDatabase::create();
    db.client()
        .batch_execute(
            "CREATE TABLE customers (customer_id integer PRIMARY KEY, name text, note text);
             INSERT INTO customers SELECT g, 'c' || g, '' FROM generate_series(1, 50) g;",
        )
        .unwrap();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let url = db.url();
    let cmd = || {
        let mut c = vannactl(dir);
        c.env("ENABLE_TARGET_DB", "true")
            .env("TARGET_DATABASE_URL", &url)
            .env("ONTOLOGY_DIR", dir.join("no-ontology"));
        c
    };
    let digest = || format!("{:?}", common::pg::contents(&mut db.client()));
    each_refused(dir, &cmd, &digest);

    // The server's verdict on its own (what the statement reading refuses anyway, and row locks):
    // planned as a cursor in a READ ONLY transaction, nothing runs.
    let settings = vannactl::config::Settings::load(&vannactl::config::Sources {
        flags: Default::default(),
        env: [
            ("ENABLE_TARGET_DB".to_string(), "true".to_string()),
            ("TARGET_DATABASE_URL".to_string(), url.clone()),
        ]
        .into_iter()
        .collect(),
        env_file: None,
        no_dotenv: true,
    })
    .unwrap();
    let before = digest();
    let mut target = vannactl::schema::Target::open(&settings).unwrap();
    use vannactl::schema::Verdict;
    assert_eq!(
        target
            .check_query("SELECT count(*) FROM customers")
            .unwrap(),
        Verdict::ReadOnly
    );
    for write in [
        "SELECT * FROM customers FOR UPDATE",
        "SELECT * FROM customers FOR NO KEY UPDATE",
    ] {
        let v = target.check_query(write).unwrap();
        assert!(
            matches!(&v, Verdict::Writes(why) if why.contains("read-only transaction")),
            "{write}: {v:?}"
        );
    }
    for not_a_query in [
        "DELETE FROM customers",
        "DROP TABLE customers",
        "WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d",
        "SELECT 1; DROP TABLE customers",
    ] {
        assert!(
            target.check_query(not_a_query).is_err(),
            "{not_a_query} compiled as a cursor"
        );
    }
    // The session still works after the refusals (each check rolled back).
    assert_eq!(target.check_query("VALUES (1)").unwrap(), Verdict::ReadOnly);
    drop(target);
    assert_eq!(digest(), before, "the target database changed");
}

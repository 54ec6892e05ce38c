//! The default knowledge store is the Chroma persistent directory the app opens. The judge is the
//! app's own code: the unmodified chromadb `PersistentClient` and Vanna's
//! `ChromaDB_VectorStore(config={"path": ...})` (tests/python/chroma_dir_app.py), from what
//! `vannactl init` makes.

mod common;
mod train_support;

use common::chroma_dir::{app, app_with};
use common::cli::{json_of, step, vannactl};
use common::paths::{model_dir, shared_tools, testdata};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use train_support::{pairs_yaml, spider_pairs};

/// A deployment made by `init` (AUTO_TRAIN_CHROMA, no server) on a writable copy of `sample`.
struct Deployment {
    dir: tempfile::TempDir,
    source: PathBuf,
}

impl Deployment {
    fn new(sample: &str, pairs: usize) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source.sqlite");
        std::fs::copy(testdata(sample), &source).unwrap();
        let json = sample.replace(".sqlite", ".dev.json");
        let d = Deployment { dir, source };
        let pf = d.path("ontology/pairs/pairs.yaml");
        std::fs::create_dir_all(pf.parent().unwrap()).unwrap();
        std::fs::write(&pf, pairs_yaml(&spider_pairs(&json, pairs))).unwrap();
        let docs = d.path("ontology/docs/glossary.md");
        std::fs::create_dir_all(docs.parent().unwrap()).unwrap();
        std::fs::write(
            &docs,
            "# MPG\nMiles per gallon, stored as text in cars_data.MPG.\n",
        )
        .unwrap();
        let v = d.json(&["init"], 0);
        assert_eq!(step(&v, "knowledge base")["status"], "done", "{v}");
        d
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn chroma(&self) -> PathBuf {
        self.path("data/chroma")
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = vannactl(self.dir.path());
        c.env("AUTO_TRAIN_CHROMA", "true")
            .env("EMBEDDING_MODEL_DIR", model_dir())
            .env("TARGET_DB_SOURCE", &self.source)
            .env("ONTOLOGY_DIR", self.path("ontology"))
            .env("INIT_ADMIN_PASSWORD", "a-long-enough-password")
            .env("ANONYMIZED_TELEMETRY", "False");
        c
    }

    fn json(&self, args: &[&str], code: i32) -> Value {
        let out = self.cmd().arg("--json").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "vannactl {args:?}: {out:?}");
        json_of(&out)
    }

    fn documents(&self, collection: &str) -> Vec<String> {
        self.json(&["train", "list", "--collection", collection], 0)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["document"].as_str().unwrap().to_string())
            .collect()
    }

    /// What the app should find, from what vannactl says it wrote.
    fn expected(&self) -> PathBuf {
        let pairs: Vec<Value> = self
            .documents("sql")
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let e = json!({
            "ddl": self.documents("ddl"),
            "documentation": self.documents("documentation"),
            "sql": pairs,
            "queries": {
                "ddl": ["What is the horsepower of each car?", "cars_data"],
                "documentation": ["miles per gallon", "MPG"],
                "sql": [pairs[0]["question"], pairs[0]["sql"]],
            },
        });
        let p = self.path("expected.json");
        std::fs::write(&p, serde_json::to_vec(&e).unwrap()).unwrap();
        p
    }

    fn check(&self) -> Value {
        let expected = self.expected();
        app(&[
            "check",
            self.chroma().to_str().unwrap(),
            model_dir().to_str().unwrap(),
            shared_tools().to_str().unwrap(),
            expected.to_str().unwrap(),
        ])
    }

    fn dump(&self) -> Value {
        app(&["dump", self.chroma().to_str().unwrap()])
    }
}

fn ids(dump: &Value, collection: &str) -> Vec<String> {
    let mut v: Vec<String> = dump[collection]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_app_reads_what_init_trains_then_both_keep_writing() {
    let d = Deployment::new("car_1.sqlite", 4);
    // No server anywhere: a directory of Chroma's own format.
    assert!(d.chroma().join("chroma.sqlite3").is_file());
    let checked = d.check();
    assert_eq!(checked["counts"]["ddl"], 6, "{checked}");
    assert_eq!(checked["counts"]["sql"], 4, "{checked}");
    assert!(
        checked["max_abs_diff"].as_f64().unwrap() < 1e-4,
        "{checked}"
    );
    // Vanna's ids: uuid5 of the content + suffix.
    for id in checked["ids"]["ddl"].as_array().unwrap() {
        assert!(id.as_str().unwrap().ends_with("-ddl"), "{id}");
    }

    // The app adds a pair of its own (a user confirmed a query).
    let added = app(&[
        "add-pair",
        d.chroma().to_str().unwrap(),
        model_dir().to_str().unwrap(),
        shared_tools().to_str().unwrap(),
        "How many car makers are there?",
        "SELECT count(*) FROM car_makers",
    ]);
    let app_id = added["id"].as_str().unwrap().to_string();

    // The schema changes; the next train replaces that table's item only.
    let before = d.dump();
    rusqlite::Connection::open(&d.source)
        .unwrap()
        .execute_batch("ALTER TABLE car_makers ADD COLUMN founded_year INTEGER")
        .unwrap();
    d.json(&["--yes", "golden-copy"], 0);
    let t = d.json(&["train"], 0);
    assert_eq!(train_support::count(&t, "ddl", "replaced"), 1, "{t}");
    // vannactl sees the app's pair as someone else's and leaves it alone.
    assert_eq!(train_support::count(&t, "sql", "foreign"), 1, "{t}");

    // The app reopens the directory: both writes are there, the old item is gone.
    let after = d.dump();
    assert!(
        ids(&after, "sql").contains(&app_id),
        "{:?}",
        ids(&after, "sql")
    );
    let (was, now) = (ids(&before, "ddl"), ids(&after, "ddl"));
    let gone: Vec<&String> = was.iter().filter(|i| !now.contains(i)).collect();
    assert_eq!(
        gone.len(),
        1,
        "exactly the changed table's item is replaced"
    );
    assert_eq!(now.len(), was.len());
    let makers: Vec<&Value> = after["ddl"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| {
            r["document"]
                .as_str()
                .unwrap()
                .contains("CREATE TABLE car_makers")
        })
        .collect();
    assert_eq!(makers.len(), 1);
    assert!(makers[0]["document"]
        .as_str()
        .unwrap()
        .contains("founded_year"));
    // The app's view is still exactly what vannactl lists, embeddings included.
    let checked = d.check();
    assert_eq!(checked["counts"]["sql"], 5, "{checked}");

    // chromadb 1.0.x opens the directory too (once 1.5.9 has opened it, it holds 1.5.9's two
    // extra migrations, so 1.0.x is checked on a directory only vannactl wrote, below).
    {
        let py10 = common::paths::need("VANNACTL_TEST_PYTHON_CHROMA10");
        let fresh = tempfile::tempdir().unwrap();
        let dir = fresh.path().join("chroma");
        let out = d
            .cmd()
            .args(["--json", "train", "--chroma-path"])
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let v = app_with(Path::new(&py10), &["dump", dir.to_str().unwrap()]);
        assert_eq!(ids(&v, "ddl").len(), 6, "{v}");
        assert!(app_with(Path::new(&py10), &["version"])["version"]
            .as_str()
            .unwrap()
            .starts_with("1.0."));
    }
}

#[test]
fn a_directory_chroma_made_with_hnsw_files_is_read_exactly_and_appended_to() {
    let d = tempfile::tempdir().unwrap();
    let chroma = d.path().join("chroma");
    // More than Chroma's sync threshold (1000): vectors live in the HNSW files, the log is purged.
    app(&["create", chroma.to_str().unwrap(), "1100"]);
    let seg = std::fs::read_dir(&chroma)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .expect("an HNSW segment folder");
    assert!(seg.path().join("data_level0.bin").is_file());
    assert!(seg.path().join("index_metadata.pickle").is_file());
    let original = app(&["dump", chroma.to_str().unwrap()]);

    let target = d.path().join("target.sqlite");
    std::fs::copy(testdata("car_1.sqlite"), &target).unwrap();
    let run = |args: &[&str], code: i32| -> Value {
        let out = vannactl(d.path())
            .env("TARGET_DB_PATH", &target)
            .env("CHROMA_PATH", &chroma)
            .env("EMBEDDING_MODEL_DIR", model_dir())
            .env("BACKUP_DIR", d.path().join("backups"))
            .env("ANONYMIZED_TELEMETRY", "False")
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        json_of(&out)
    };
    let status = run(&["train", "status"], 0);
    assert_eq!(train_support::count(&status, "ddl", "count"), 1100);
    assert_eq!(train_support::count(&status, "ddl", "foreign"), 1100);

    // Appended to: vannactl's items join chromadb's own in the same collection.
    let t = run(&["train"], 0);
    assert_eq!(train_support::count(&t, "ddl", "added"), 6, "{t}");
    let after = app(&["dump", chroma.to_str().unwrap()]);
    assert_eq!(ids(&after, "ddl").len(), 1106);
    for (id, r) in original["ddl"].as_object().unwrap() {
        assert_eq!(&after["ddl"][id], r, "chromadb's record {id} changed");
    }

    // Exact vectors out of the HNSW files: the backup holds them, and a restore gives the app
    // back exactly what it had (documents, metadata and float32 embeddings).
    let b = run(&["backup"], 0);
    let archive = b["archive"].as_str().unwrap().to_string();
    app(&[
        "add-raw",
        chroma.to_str().unwrap(),
        "ddl",
        "late-ddl",
        "CREATE TABLE late (x)",
    ]);
    run(&["--yes", "restore", "--only", "knowledge", &archive], 0);
    assert_eq!(app(&["dump", chroma.to_str().unwrap()]), after);
    // Nothing is left of the replaced database's segment folders but what Chroma rebuilt.
    let folders = std::fs::read_dir(&chroma)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .count();
    assert!(folders <= 1, "{folders} segment folders");

    // The exact search over those vectors: the nearest DDL item to a stored vector is itself.
    let q = run(&["train", "list", "--collection", "ddl"], 0);
    assert_eq!(q["items"].as_array().unwrap().len(), 1106);
}

#[test]
fn a_directory_from_an_unknown_newer_chroma_is_refused_untouched() {
    let d = Deployment::new("car_1.sqlite", 1);
    let db = d.chroma().join("chroma.sqlite3");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO migrations VALUES ('sysdb', 99, '00099-future.sqlite.sql', 'SELECT 1', 'x')",
            [],
        )
        .unwrap();
    let before = common::sha256_file(&db);
    for args in [
        &["train"][..],
        &["train", "status"],
        &["--yes", "train", "clear"],
    ] {
        let e = d.json(args, 1);
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("00099-future.sqlite.sql") && msg.contains("data/chroma"),
            "{args:?}: {msg}"
        );
        assert_eq!(e["error"]["kind"], "chroma_schema_unknown");
    }
    assert_eq!(common::sha256_file(&db), before);
    let h = d.json(&["health"], 3);
    assert!(h.to_string().contains("00099-future"), "{h}");
}

#[test]
fn the_former_store_is_converted_once_and_goes_after_the_next_backup() {
    let d = tempfile::tempdir().unwrap();
    let legacy = d.path().join("data/knowledge.db");
    common::chroma_dir::write_legacy(
        &legacy,
        &[
            ("ddl", "a-ddl", "CREATE TABLE a (x)", Some("schema:table a")),
            (
                "sql",
                "b-sql",
                "{\"question\": \"b?\", \"sql\": \"SELECT 2\"}",
                None,
            ),
        ],
    );
    common::cli::init_with_target(d.path(), "car_1.sqlite");
    let run = |args: &[&str]| {
        let out = vannactl(d.path())
            .env("TARGET_DB_SOURCE", testdata("car_1.sqlite"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out
    };
    let out = run(&["train", "status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("converted the knowledge store"), "{err}");
    assert!(!legacy.exists());
    let bak = d.path().join("data/knowledge.db.bak");
    assert!(bak.is_file());
    // Reported once.
    let out = run(&["train", "status"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("converted"));
    // The app sees the converted records, vectors unchanged (nothing re-embedded).
    let dump = app(&["dump", d.path().join("data/chroma").to_str().unwrap()]);
    assert_eq!(dump["ddl"]["a-ddl"]["document"], "CREATE TABLE a (x)");
    assert_eq!(
        dump["ddl"]["a-ddl"]["metadata"]["vannactl_source"],
        "schema:table a"
    );
    // Compared as float32, what both sides store (JSON's decimal text is exact only to that).
    let want = common::chroma_dir::vector(0);
    let got: Vec<f32> = dump["ddl"]["a-ddl"]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got, want);
    // A verified backup holding the directory: the .bak goes.
    run(&["backup"]);
    assert!(!bak.exists());
}

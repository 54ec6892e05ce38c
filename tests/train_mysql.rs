//! `vannactl train` with an external MySQL/MariaDB target (ENABLE_TARGET_DB, `mysql://` URL): the
//! real MariaDB at 127.0.0.1:3306 with Spider's dog_kennels loaded into its own database, read by a
//! SELECT, SHOW VIEW-only user, trained into a real Chroma server and read back by Vanna's own
//! ChromaDB_VectorStore; and the connection errors an operator meets.

mod common;
mod train_support;

use common::mysql::{load_sqlite, MyDatabase, MyUser};
use common::paths::testdata;
use mysql::prelude::Queryable;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use train_support::*;

/// `vannactl --json <args>` against `url`; (exit code, JSON, stdout + stderr).
fn run(sb: &Sandbox, url: &str, args: &[&str]) -> (i32, Value, String) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let o = sb
        .cmd(&full)
        .env("ENABLE_TARGET_DB", "true")
        .env("TARGET_DATABASE_URL", url)
        .output()
        .unwrap();
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
    (o.status.code().unwrap_or(-1), v, all)
}

/// DDL items by source key (`schema:table Dogs`) → document.
fn ddl_by_source(list: &Value) -> BTreeMap<String, String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap().to_string(),
                i["document"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The comment header of a DDL item (its `-- ` lines before the DDL).
fn header(doc: &str) -> String {
    doc.lines()
        .take_while(|l| l.starts_with("-- "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn mariadb_target_trained_into_chroma_and_read_by_vanna() {
    let db = MyDatabase::create();
    let tables = load_sqlite(&db, &testdata("dog_kennels.sqlite"));
    assert_eq!(tables.len(), 8);
    db.conn()
        .query_drop(
            "CREATE TABLE `Kennel Notes` (`select` INT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                 `größe` VARCHAR(10) NOT NULL DEFAULT 'x', note_kind ENUM('visit','vet') NOT NULL) COMMENT 'free notes';
             INSERT INTO `Kennel Notes` (note_kind) VALUES ('visit'), ('visit'), ('vet');
             CREATE VIEW dog_owners AS SELECT d.name, o.city FROM Dogs d JOIN Owners o ON o.owner_id = d.owner_id;
             CREATE TABLE gone (b INT);
             CREATE VIEW broken_view AS SELECT b FROM gone;
             DROP TABLE gone;",
        )
        .unwrap();
    let user = MyUser::create(&db, "SELECT, SHOW VIEW");
    let url = db.url(&user.name, &user.password);
    let masked = format!("mysql://{}:****@127.0.0.1:3306/{}", user.name, db.name);

    let server = ChromaServer::start();
    let mut sb = Sandbox::new("dog_kennels.sqlite");
    sb.chroma = Some(server.url.clone());
    // Spider's first dog_kennels questions (INTERSECT, IN subqueries, UNION ... HAVING): MariaDB
    // compiles them as they are.
    let pairs = spider_pairs("dog_kennels.dev.json", 6);
    let pairs_file = sb.write("p.yaml", &pairs_yaml(&pairs));
    let (code, done, all) = run(
        &sb,
        &url,
        &["train", "--pairs", pairs_file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{all}");
    assert_eq!(done["target"]["source"], masked.as_str(), "{done}");
    assert_eq!(done["target"]["tables"], 9, "{done}");
    assert_eq!(done["target"]["views"], 1, "{done}");
    let skipped = done["target"]["skipped"].to_string();
    assert!(
        skipped.contains("broken_view (view does not compile: ") && skipped.contains("1356"),
        "{skipped}"
    );
    assert_eq!(count(&done, "ddl", "added"), 10, "{done}");
    assert_eq!(count(&done, "sql", "added"), 6, "{done}");
    assert!(!all.contains(&user.password), "{all}");

    let (code, list, _) = run(&sb, &url, &["train", "list", "--collection", "ddl"]);
    assert_eq!(code, 0);
    let ddl = ddl_by_source(&list);
    let mut keys: Vec<String> = tables.iter().map(|t| format!("schema:table {t}")).collect();
    keys.push("schema:table Kennel Notes".into());
    keys.push("schema:view dog_owners".into());
    keys.sort();
    assert_eq!(ddl.keys().cloned().collect::<Vec<_>>(), keys);

    // The same header as the SQLite original gets: words, relations both ways, sample values
    // (never the owners' names, streets, e-mails or phones).
    let sqlite = Sandbox::new("dog_kennels.sqlite");
    sqlite.json(&["train"], 0);
    let sqlite_ddl = ddl_by_source(&sqlite.json(&["train", "list", "--collection", "ddl"], 0));
    for t in &tables {
        let key = format!("schema:table {t}");
        assert_eq!(header(&ddl[&key]), header(&sqlite_ddl[&key]), "{t}");
    }
    let dogs = &ddl["schema:table Dogs"];
    assert!(
        dogs.contains("-- dogs references owners (owner), sizes (size), breeds (breed).\n")
            && dogs.contains("-- dogs referenced by treatments.\n")
            && dogs.contains("-- Sample values: "),
        "{dogs}"
    );
    // SHOW CREATE TABLE as the server prints it with sql_quote_show_create = 0: quotes only where
    // MariaDB needs them, foreign keys, no moving AUTO_INCREMENT counter.
    assert!(
        dogs.contains("\nCREATE TABLE Dogs (\n")
            && dogs.contains("FOREIGN KEY (breed_code) REFERENCES Breeds (breed_code)")
            && dogs.ends_with("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"),
        "{dogs}"
    );
    let notes = &ddl["schema:table Kennel Notes"];
    assert!(
        notes.starts_with(
            // Key columns are left out of the words; `vet` is held by one row only, so not shown.
            "-- Table \"Kennel Notes\": kennel notes. Columns: größe, note kind.\n"
        ) && notes.contains("-- Sample values: größe: x; note kind: visit\n")
            && notes.contains(
                "\nCREATE TABLE `Kennel Notes` (\n  `select` int(11) NOT NULL AUTO_INCREMENT,\n"
            )
            && notes.contains("größe varchar(10) NOT NULL DEFAULT 'x'")
            && !notes.contains("AUTO_INCREMENT=")
            && notes.contains("COMMENT='free notes'"),
        "{notes}"
    );
    let view = &ddl["schema:view dog_owners"];
    assert!(
        view.starts_with("-- View \"dog_owners\": dog owners. Columns: name, city.\n")
            && view.contains("\nCREATE VIEW dog_owners AS select ")
            && !view.contains("DEFINER")
            && !view.contains("Sample values"),
        "{view}"
    );

    // Again: nothing changed, nothing written.
    let (code, again, _) = run(
        &sb,
        &url,
        &["train", "--pairs", pairs_file.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert_eq!(again["added"], 0, "{again}");
    assert_eq!(count(&again, "ddl", "replaced"), 0, "{again}");

    // The unmodified Vanna client reads it back and retrieves the right items.
    let expected = json!({
        "ddl": ddl.values().collect::<Vec<_>>(),
        "documentation": [],
        "sql": pairs.iter().map(|(q, s)| json!({"question": q, "sql": s})).collect::<Vec<_>>(),
        "queries": {
            "ddl": ["Which breeds of dogs are there?", "CREATE TABLE Breeds"],
            "sql": [pairs[2].0, pairs[2].1],
        }
    });
    let exp = sb.write("expected.json", &expected.to_string());
    vanna_roundtrip(server.port, &exp);

    // A pair that does not compile fails the run before anything is written, as on other targets.
    let bad = sb.write(
        "bad.yaml",
        "- question: nope\n  sql: SELECT missing FROM Dogs\n",
    );
    let (code, e, all) = run(&sb, &url, &["train", "--pairs", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{all}");
    assert_eq!(e["error"]["kind"], "training_sql_invalid");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("bad.yaml") && msg.contains(&masked) && msg.contains("missing"),
        "{msg}"
    );
    assert!(!all.contains(&user.password), "{all}");
}

#[test]
fn mariadb_connection_errors_are_clear_and_masked() {
    let db = MyDatabase::create();
    let user = MyUser::create(&db, "SELECT, SHOW VIEW");
    let sb = Sandbox::new("car_1.sqlite");
    let expect = |url: &str, kind: &str, needles: &[&str]| -> Duration {
        let t = Instant::now();
        let (code, v, all) = run(&sb, url, &["train", "--dry-run"]);
        let took = t.elapsed();
        assert_eq!(code, 1, "{url}: {all}");
        assert_eq!(v["error"]["kind"], kind, "{url}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        for n in needles {
            assert!(msg.contains(n), "{url}: {n:?} not in {msg}");
        }
        assert!(
            !all.contains(&user.password) && !all.contains("Wrong-pass-42"),
            "{all}"
        );
        took
    };
    let host = "127.0.0.1:3306";
    let wrong = format!("mysql://{}:Wrong-pass-42@{host}/{}", user.name, db.name);
    expect(
        &wrong,
        "target_access_denied",
        &[
            &format!("mysql://{}:****@{host}/{}", user.name, db.name),
            "Access denied",
            "check the user and password in TARGET_DATABASE_URL",
        ],
    );
    // root may see every database, so the server says which one is missing.
    expect(
        &format!("mysql://root@{host}/{}_nope", db.name),
        "target_database_missing",
        &[
            &format!("mysql://root@{host}/{}_nope", db.name),
            "check the database name in TARGET_DATABASE_URL",
        ],
    );
    // A user without rights there is not told whether it exists.
    let other = format!(
        "mysql://{}:{}@{host}/{}_nope",
        user.name, user.password, db.name
    );
    expect(
        &other,
        "target_access_denied",
        &[
            &format!("mysql://{}:****@{host}/{}_nope", user.name, db.name),
            "check the database name in TARGET_DATABASE_URL",
        ],
    );
    let refused = format!(
        "mysql://{}:{}@127.0.0.1:1/{}",
        user.name, user.password, db.name
    );
    expect(
        &refused,
        "target_unreachable",
        &[
            &format!("mysql://{}:****@127.0.0.1:1/{}", user.name, db.name),
            "check the host and port",
        ],
    );
    // A non-routable address: the 5 s connect timeout bounds the wait.
    let blackhole = format!(
        "mysql://{}:{}@10.255.255.1:3306/{}",
        user.name, user.password, db.name
    );
    let took = expect(&blackhole, "target_unreachable", &["10.255.255.1:3306"]);
    assert!(took < Duration::from_secs(20), "took {took:?}");

    // No database in the URL is a configuration error (exit 2).
    let (code, v, all) = run(
        &sb,
        &format!("mysql://{}:{}@{host}", user.name, user.password),
        &["train", "--dry-run"],
    );
    assert_eq!(code, 2, "{all}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("names no database"),
        "{v}"
    );
    assert!(!all.contains(&user.password), "{all}");

    // The right password, the SELECT-only user: works (also through the mariadb:// spelling).
    let ok = db
        .url(&user.name, &user.password)
        .replacen("mysql://", "mariadb://", 1);
    let (code, v, all) = run(&sb, &ok, &["train", "--dry-run"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(v["target"]["tables"], 0, "{v}");
    assert!(!all.contains(&user.password), "{all}");
}

#[test]
fn the_session_refuses_writes_even_for_root_and_pair_checks_take_one_read_only_statement() {
    let db = MyDatabase::create();
    db.conn()
        .query_drop("CREATE TABLE t (a INT); INSERT INTO t VALUES (1)")
        .unwrap();
    let env = [
        ("ENABLE_TARGET_DB", "true".to_string()),
        ("TARGET_DATABASE_URL", db.url("root", "")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = vannactl::config::Settings::load(&vannactl::config::Sources {
        flags: Default::default(),
        env,
        env_file: None,
        no_dotenv: true,
    })
    .unwrap();
    let mut target = vannactl::schema::Target::open(&settings).unwrap();
    use vannactl::schema::Verdict;
    assert_eq!(
        target.check_query("SELECT a FROM t;").unwrap(),
        Verdict::ReadOnly
    );
    let e = target
        .check_query("SELECT a FROM t; DROP TABLE t")
        .unwrap_err();
    assert!(e.to_string().contains("1064"), "{e}");
    // The server's own verdict, for what our reading of the statement would already refuse.
    let Verdict::Writes(why) = target.check_query("DELETE FROM t").unwrap() else {
        panic!("a DELETE is not read-only")
    };
    assert!(why.contains("READ ONLY"), "{why}");
    assert!(target
        .check_query("SELECT b FROM t")
        .unwrap_err()
        .to_string()
        .contains("Unknown column"));
    let vannactl::schema::Target::Mysql { conn, .. } = &mut target else {
        panic!("a mysql:// URL opens a MySQL target")
    };
    for write in [
        "INSERT INTO t VALUES (2)",
        "CREATE TABLE u (b INT)",
        "DROP TABLE t",
    ] {
        let e = conn.query_drop(write).unwrap_err().to_string();
        assert!(e.contains("1792"), "{write}: {e}"); // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    }
    let (limit, quote): (f64, i64) = conn
        .query_first("SELECT @@max_statement_time, @@sql_quote_show_create")
        .unwrap()
        .unwrap();
    assert_eq!((limit, quote), (30.0, 0));
    let n: i64 = db
        .conn()
        .query_first("SELECT count(*) FROM t")
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
}

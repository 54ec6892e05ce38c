//! The shipped demo target database must be exactly what its SQL script builds.
//! Rebuild it with `VANNACTL_UPDATE_ASSETS=1 cargo test --test demo_target_db`.

mod common;

use rusqlite::Connection;
use std::path::Path;

/// Schema text and every row of every table, in a stable order.
fn logical_dump(conn: &Connection) -> Vec<String> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let objects: Vec<(String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (ty, name, sql) in &objects {
        out.push(format!("{ty} {name}: {}", sql.clone().unwrap_or_default()));
        if ty == "table" {
            for row in common::sqlite::rows(conn, name, "rowid") {
                out.push(format!("{name}: {row}"));
            }
        }
    }
    out
}

fn build(script: &str, dest: &Path) {
    let conn = Connection::open(dest).unwrap();
    conn.execute_batch(script).unwrap();
    conn.execute_batch("VACUUM").unwrap();
}

#[test]
fn shipped_demo_db_matches_its_script() {
    let dir = common::paths::repo().join("assets/databases");
    let script = std::fs::read_to_string(dir.join("vanna_db.sql")).unwrap();
    let shipped = dir.join("vanna_db.db");
    if std::env::var_os("VANNACTL_UPDATE_ASSETS").is_some() {
        let _ = std::fs::remove_file(&shipped);
        build(&script, &shipped);
    }
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh.db");
    build(&script, &fresh);
    let want = logical_dump(&Connection::open(&fresh).unwrap());
    let got = logical_dump(&vannactl::target::open_readonly(&shipped).unwrap());
    assert!(
        want.len() > 5000,
        "the demo DB should have a few thousand rows"
    );
    assert_eq!(
        got.len(),
        want.len(),
        "assets/databases/vanna_db.db is out of date with vanna_db.sql; rebuild with VANNACTL_UPDATE_ASSETS=1"
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "assets/databases/vanna_db.db differs from vanna_db.sql; rebuild with VANNACTL_UPDATE_ASSETS=1");
    }
}

#[test]
fn demo_db_has_views_indexes_and_foreign_keys() {
    let shipped = common::paths::repo().join("assets/databases/vanna_db.db");
    let conn = vannactl::target::open_readonly(&shipped).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert!(count("SELECT count(*) FROM sqlite_master WHERE type='view'") >= 1);
    assert!(
        count("SELECT count(*) FROM sqlite_master WHERE type='index' AND sql IS NOT NULL") >= 5
    );
    assert!(count("SELECT count(*) FROM pragma_foreign_key_list('order_items')") >= 2);
    assert_eq!(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_eq!(
        conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
}

//! Table-content dumps of SQLite databases, for comparing two databases row by row.

use rusqlite::Connection;
use std::path::Path;

/// Every row of `table` as `v1|v2|…` (each value in its typed Debug form, e.g. `Text("a")`),
/// ordered by the SQL expression `order_by`.
pub fn rows(c: &Connection, table: &str, order_by: &str) -> Vec<String> {
    let mut stmt = c
        .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY {order_by}"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

/// Every table of the database file at `path` (opened read-only), by name, with its rows in
/// first-column order.
pub fn contents(path: &Path) -> Vec<(String, Vec<String>)> {
    let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let rows = rows(&c, &t, "1");
            (t, rows)
        })
        .collect()
}

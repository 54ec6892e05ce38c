//! A throwaway database on the real MariaDB at 127.0.0.1:3306 (user root, empty password), a
//! SQLite sample database loaded into it with MySQL types and foreign keys, and a throwaway user.

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, Value};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

pub const HOST_PORT: &str = "127.0.0.1:3306";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn opts(db: Option<&str>) -> OptsBuilder {
    OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(3306)
        .user(Some("root"))
        .db_name(db)
        .prefer_socket(false)
}

pub fn admin() -> Conn {
    Conn::new(opts(None)).expect(
        "MariaDB must run on 127.0.0.1:3306 (user root, empty password); scripts/test starts it",
    )
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A uniquely named database (`vannactl_test_<pid>_<n>`), dropped with the guard.
pub struct MyDatabase {
    pub name: String,
}

impl MyDatabase {
    pub fn create() -> MyDatabase {
        let name = unique("vannactl_test");
        let mut c = admin();
        // A crashed earlier run with the same pid may have left it.
        c.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .unwrap();
        c.query_drop(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        ))
        .unwrap();
        MyDatabase { name }
    }

    pub fn conn(&self) -> Conn {
        Conn::new(opts(Some(&self.name))).unwrap()
    }

    /// `mysql://user:password@127.0.0.1:3306/<this database>`.
    pub fn url(&self, user: &str, password: &str) -> String {
        if password.is_empty() {
            format!("mysql://{user}@{HOST_PORT}/{}", self.name)
        } else {
            format!("mysql://{user}:{password}@{HOST_PORT}/{}", self.name)
        }
    }
}

impl Drop for MyDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = Conn::new(opts(None)) {
            let _ = c.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

/// A login `name`@`127.0.0.1` with a password and exactly `grants` on one database; dropped with
/// the guard.
pub struct MyUser {
    pub name: String,
    pub password: String,
}

impl MyUser {
    pub fn create(db: &MyDatabase, grants: &str) -> MyUser {
        let name = unique("vt_user");
        let password = format!("Pw-{}-s3cr3t", std::process::id());
        let mut c = admin();
        c.query_drop(format!("DROP USER IF EXISTS '{name}'@'127.0.0.1'"))
            .unwrap();
        c.query_drop(format!(
            "CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{password}'"
        ))
        .unwrap();
        c.query_drop(format!(
            "GRANT {grants} ON `{}`.* TO '{name}'@'127.0.0.1'",
            db.name
        ))
        .unwrap();
        MyUser { name, password }
    }
}

impl Drop for MyUser {
    fn drop(&mut self) {
        if let Ok(mut c) = Conn::new(opts(None)) {
            let _ = c.query_drop(format!("DROP USER IF EXISTS '{}'@'127.0.0.1'", self.name));
        }
    }
}

/// MySQL's type for a SQLite declared type. SQLite ignores `VARCHAR(n)` lengths and Spider's data
/// exceeds them (`Charges.charge_type VARCHAR(10)` holds `Daily Accommodation`), so every string
/// type becomes `VARCHAR(255)`, which keys can use too.
fn mysql_type(declared: &str, key: bool) -> String {
    let t = declared.trim().to_ascii_uppercase();
    if t == "INTEGER" || t == "INT" {
        "INT".into()
    } else if t.contains("CHAR") || (key && !t.contains("INT")) {
        "VARCHAR(255)".into()
    } else if t.starts_with("DECIMAL")
        || t.starts_with("NUMERIC")
        || [
            "DATETIME", "DATE", "REAL", "DOUBLE", "FLOAT", "BIGINT", "SMALLINT",
        ]
        .contains(&t.as_str())
    {
        t
    } else {
        "TEXT".into()
    }
}

/// Every table of a SQLite database, created in `db` with MySQL types, primary and foreign keys,
/// and all its rows. Returns the table names.
pub fn load_sqlite(db: &MyDatabase, path: &Path) -> Vec<String> {
    let s = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let tables: Vec<String> = s
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut c = db.conn();
    // Rows arrive table by table; the keys are checked once everything is in.
    c.query_drop("SET FOREIGN_KEY_CHECKS = 0").unwrap();
    for t in &tables {
        let cols: Vec<(String, String, bool, i64)> = s
            .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap()
            .query_map([t], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0, r.get(3)?))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let fks: Vec<(i64, String, String, String)> = s
            .prepare("SELECT id, \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
            .unwrap()
            .query_map([t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let fk_cols: Vec<&str> = fks.iter().map(|f| f.1.as_str()).collect();
        let mut parts: Vec<String> = cols
            .iter()
            .map(|(n, ty, nn, pk)| {
                let key = *pk > 0 || fk_cols.contains(&n.as_str());
                format!(
                    "`{n}` {}{}",
                    mysql_type(ty, key),
                    if *nn || *pk > 0 { " NOT NULL" } else { "" }
                )
            })
            .collect();
        let mut pk: Vec<(i64, &str)> = cols
            .iter()
            .filter(|c| c.3 > 0)
            .map(|c| (c.3, c.0.as_str()))
            .collect();
        pk.sort();
        if !pk.is_empty() {
            let names: Vec<String> = pk.iter().map(|(_, n)| format!("`{n}`")).collect();
            parts.push(format!("PRIMARY KEY ({})", names.join(", ")));
        }
        // Spider repeats some foreign keys; one constraint each is enough.
        let mut seen = Vec::new();
        for (_, from, table, to) in &fks {
            if !seen.contains(&(from, table, to)) {
                parts.push(format!(
                    "FOREIGN KEY (`{from}`) REFERENCES `{table}` (`{to}`)"
                ));
                seen.push((from, table, to));
            }
        }
        c.query_drop(format!(
            "CREATE TABLE `{t}` (\n  {}\n)",
            parts.join(",\n  ")
        ))
        .unwrap();

        let placeholders = vec!["?"; cols.len()].join(", ");
        let insert = c
            .prep(format!("INSERT INTO `{t}` VALUES ({placeholders})"))
            .unwrap();
        let mut st = s.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let rows: Vec<Vec<Value>> = st
            .query_map([], |r| {
                Ok((0..cols.len())
                    .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                        rusqlite::types::Value::Null => Value::NULL,
                        rusqlite::types::Value::Integer(v) => Value::Int(v),
                        rusqlite::types::Value::Real(v) => Value::Double(v),
                        rusqlite::types::Value::Text(v) => Value::Bytes(v.into_bytes()),
                        rusqlite::types::Value::Blob(v) => Value::Bytes(v),
                    })
                    .collect())
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for row in rows {
            c.exec_drop(&insert, row).unwrap();
        }
    }
    c.query_drop("SET FOREIGN_KEY_CHECKS = 1").unwrap();
    tables
}

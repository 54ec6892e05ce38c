//! A throwaway database on the real PostgreSQL 15 at 127.0.0.1:5432 (trust auth, user postgres),
//! and a dump of its table contents.

use std::sync::atomic::{AtomicU32, Ordering};

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn admin() -> postgres::Client {
    postgres::Client::connect(ADMIN_URL, postgres::NoTls)
        .expect("PostgreSQL 15 must run on 127.0.0.1:5432 (trust auth, user postgres)")
}

/// A uniquely named database (`vannactl_test_<pid>_<n>`) that exists for the guard's lifetime.
pub struct PgDatabase {
    pub name: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let name = format!(
            "vannactl_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut c = admin();
        // A crashed earlier run with the same pid may have left it. Separate statements: several in
        // one batch would form an implicit transaction, which DROP/CREATE DATABASE refuse.
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        PgDatabase { name }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).unwrap()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(ADMIN_URL, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Every base table outside the catalogs, by qualified name, with its rows as JSON text, sorted.
pub fn contents(c: &mut postgres::Client) -> Vec<(String, Vec<String>)> {
    let tables: Vec<String> = c
        .query(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
             WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog','information_schema') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let rows = c
                .query(
                    &format!("SELECT to_jsonb(x)::text FROM {t} x ORDER BY 1"),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            (t, rows)
        })
        .collect()
}

//! Backup and restore of the system DB that `vannactl init` itself creates (real migrations, admin
//! user, ontology, demo data), on embedded SQLite and on PostgreSQL 15: after the app changes it the
//! way it would (new users, queries, feedback, audit rows, a configuration row, an ontology term, a
//! dropped demo table), a restore gives back exactly the backup point, compared as `pg_dump
//! --data-only` (sorted) and as SQLite's `.dump`.

mod common;
mod system_db_support;
mod train_support;

use common::app::APP_CHANGES;
use common::cli::stderr;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use system_db_support::*;
use train_support::ChromaServer;

/// Demo journal lines: some thousands, so the dump is more than a handful of rows.
const SEED_ROWS: u32 = 3000;

fn exec(env: &Env, sql: &str) {
    match &env.pg {
        Some(pg) => pg.client().batch_execute(sql).unwrap(),
        None => rusqlite::Connection::open(env.sqlite_path())
            .unwrap()
            .execute_batch(sql)
            .unwrap(),
    }
}

/// The whole system DB as text an operator would compare: `pg_dump --data-only` lines sorted
/// (without the `\restrict` lines, whose key is random on every run), or `sqlite3 .dump`. The
/// audit log is left out of the dump and returned as its rows without vannactl's own backup and
/// restore entries: those are written after the dump and after the restore, by design.
pub fn system_dump(env: &Env) -> (Vec<String>, Vec<String>) {
    let out = match &env.pg {
        Some(pg) => {
            let mut out = Command::new("pg_dump")
                .args(["--data-only", "--exclude-table-data=audit_logs", "--dbname"])
                .arg(pg.url())
                .output()
                .unwrap();
            // The schema too: a table the app dropped must come back with its keys and indexes.
            let schema = Command::new("pg_dump")
                .args(["--schema-only", "--dbname"])
                .arg(pg.url())
                .output()
                .unwrap();
            assert!(schema.status.success());
            out.stdout.extend_from_slice(&schema.stdout);
            out
        }
        None => Command::new("sqlite3")
            .arg(env.sqlite_path())
            .arg(".dump")
            .output()
            .unwrap(),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .filter(|l| !l.contains("audit_logs_id_seq") && !l.contains("'audit_logs'"))
        .filter(|l| !l.starts_with("INSERT INTO audit_logs "))
        .map(str::to_string)
        .collect();
    if env.pg.is_some() {
        lines.sort();
    }
    let audit = env
        .query(
            "SELECT CAST(id AS TEXT) || '|' || actor || '|' || action || '|' || resource || '|' || outcome \
             FROM audit_logs WHERE action NOT IN ('backup', 'restore') ORDER BY id",
        )
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect();
    (lines, audit)
}

fn restore(env: &Env, archive: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--yes", "restore"];
    args.extend_from_slice(extra);
    args.push(archive.to_str().unwrap());
    let (code, v, out) = env.run_json(&args);
    assert_eq!(code, 0, "{v}\n{}", stderr(&out));
    v
}

#[test]
fn restore_of_the_init_db_returns_the_backup_point() {
    for b in BACKENDS {
        let env = Env::initialised(b, SEED_ROWS);
        assert_eq!(env.count("accounting_transactions"), 3000, "{b:?}");
        let archive = env.backup();
        let at_backup = system_dump(&env);
        assert!(
            at_backup.0.len() > 3000,
            "{b:?}: {} dump lines",
            at_backup.0.len()
        );
        assert!(!at_backup.1.is_empty(), "{b:?}: init wrote no audit rows");
        exec(&env, APP_CHANGES);
        assert!(!env.table_exists("accounting_transactions"));
        assert_eq!(env.count("users"), 3);

        let v = restore(&env, &archive, &["--only", "system", "--no-safety-backup"]);
        assert_eq!(v["ok"], true, "{b:?}: {v}");
        assert_eq!(
            system_dump(&env),
            at_backup,
            "{b:?}: restore is not the backup point"
        );
        let restores = env.query("SELECT outcome FROM audit_logs WHERE action = 'restore'");
        assert_eq!(
            restores.len(),
            1,
            "{b:?}: the restore is audited once: {restores:?}"
        );

        // The app keeps working on what was restored: identities continue past the restored rows.
        assert_eq!(env.count("accounting_transactions"), 3000);
        exec(
            &env,
            "INSERT INTO users (username, password_hash) VALUES ('carol', '$2b$12$C6UzMDM.H6dfI/f/IKcEeO5Ng6xkHkJ4UQyGH4uE3qFJQqQ0aDZ3c')",
        );
        let (code, check, _) = env.run_json(&["init", "--check"]);
        assert_eq!(code, 0, "{b:?}: {check}");
        assert_eq!(check["drift"], serde_json::json!([]), "{b:?}");
        // A second restore of the same archive over the restored DB works too.
        restore(&env, &archive, &["--only", "system", "--no-safety-backup"]);
        assert_eq!(env.count("users"), 1, "{b:?}");
    }
}

#[test]
fn full_restore_with_safety_backup_on_the_init_db() {
    for b in BACKENDS {
        let env = Env::initialised(b, SEED_ROWS);
        let archive = env.backup();
        exec(&env, APP_CHANGES);
        let changed = system_dump(&env);
        // With the safety backup (the default): the pre-restore state is itself archived, and
        // restoring that gives back the changed state.
        let v = restore(&env, &archive, &[]);
        let safety = v["safety_backup"]
            .as_str()
            .unwrap_or_else(|| panic!("{b:?}: no safety backup in {v}"));
        assert!(env.table_exists("accounting_transactions"), "{b:?}");
        restore(
            &env,
            &env.path().join(safety),
            &["--only", "system", "--no-safety-backup"],
        );
        assert_eq!(
            system_dump(&env),
            changed,
            "{b:?}: the safety backup is not the pre-restore state"
        );
    }
}

/// A record the app writes the way vanna's `add_question_sql` does (its own id, a 384-d vector).
fn app_writes_to_chroma(server: &ChromaServer, database: &str) {
    let api = |p: &str| server.api("default_tenant", database, p);
    let sql: Value = ureq::get(&api("/collections/sql"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let id = sql["id"].as_str().unwrap();
    let emb: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.11).cos() / 20.0).collect();
    ureq::post(&api(&format!("/collections/{id}/add")))
        .send_json(json!({
            "ids": ["app-added-sql"],
            "documents": ["{\"question\": \"top customers?\", \"sql\": \"SELECT * FROM Customer\"}"],
            "metadatas": [{"source": "app"}],
            "embeddings": [emb],
        }))
        .unwrap();
    // And it deletes a whole collection (vanna's remove_collection).
    ureq::delete(&api("/collections/documentation"))
        .call()
        .unwrap();
}

#[test]
fn full_deployment_on_chroma_restores_into_a_server_written_to_since() {
    let server = ChromaServer::start();
    server.create_database("app");
    for b in BACKENDS {
        if b == Backend::Postgres {
            // A fresh Chroma database per backend, so the two runs do not see each other.
            server.create_database("app_pg");
        }
        let database = if b == Backend::Postgres {
            "app_pg"
        } else {
            "app"
        };
        let mut env = Env::new(b);
        env.on_chroma(&server.url, database);
        let (code, v, out) = env.run_json(&["init", "--seed-rows", "1000"]);
        assert_eq!(code, 0, "{b:?}: {v}\n{}", stderr(&out));
        let kb = server.contents("default_tenant", database);
        assert!(
            ["ddl", "documentation", "sql"]
                .iter()
                .all(|c| kb.get(*c).is_some_and(|d| !d.1.is_empty())),
            "{b:?}: init did not train Chroma: {v}"
        );
        let system = system_dump(&env);
        let archive = env.backup();

        app_writes_to_chroma(&server, database);
        exec(&env, APP_CHANGES);
        assert_ne!(server.contents("default_tenant", database), kb);

        let v = restore(&env, &archive, &[]);
        assert_eq!(v["ok"], true, "{b:?}: {v}");
        assert_eq!(
            server.contents("default_tenant", database),
            kb,
            "{b:?}: the knowledge base is not the backup point"
        );
        assert_eq!(
            system_dump(&env),
            system,
            "{b:?}: the system DB is not the backup point"
        );
        let names = server.collection_names("default_tenant", database);
        assert!(
            names.iter().all(|n| !n.starts_with("vannactl-")),
            "{b:?}: temporary collections left: {names:?}"
        );
    }
}

//! A PostgreSQL restore returns exactly the backup point, in one transaction: objects created
//! after the backup (even ones depending on dumped tables) are gone, and a restore that fails or
//! is killed at any point leaves the database as it was.

mod backup_support;
mod common;

use backup_support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Every user object (relations, routines, types, schemas) by kind and qualified name, sorted.
fn objects(env: &Env) -> Vec<String> {
    let mut c = env.pg.as_ref().unwrap().client();
    c.query(
        "SELECT 'rel ' || c.relkind::text || ' ' || n.nspname || '.' || c.relname FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
         UNION ALL SELECT 'routine ' || n.nspname || '.' || p.proname FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
         UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t
           JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
         UNION ALL SELECT 'schema ' || nspname FROM pg_namespace
           WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
         UNION ALL SELECT 'extension ' || extname FROM pg_extension
         ORDER BY 1",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// What a bad migration after the backup does: new objects depending on dumped ones, a standalone
/// table, a new schema, type and function, and changed rows everywhere.
const AFTER_BACKUP: &str = "
    CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
    INSERT INTO sessions VALUES (1, 1), (2, 1);
    CREATE VIEW admins AS SELECT id, username FROM users WHERE id = 1;
    CREATE TABLE scratch (x TEXT); INSERT INTO scratch VALUES ('left over');
    CREATE TABLE app_notes (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body TEXT);
    INSERT INTO app_notes (body) VALUES ('identity-owned sequence');
    CREATE SEQUENCE standalone_seq; CREATE VIEW recent_notes AS SELECT * FROM app_notes;
    CREATE SCHEMA extra; CREATE TABLE extra.notes (id SERIAL PRIMARY KEY, body TEXT);
    CREATE TYPE mood AS ENUM ('sad', 'happy'); ALTER TABLE queries ADD COLUMN mood mood;
    CREATE FUNCTION user_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM users';
    UPDATE users SET username = 'mallory' WHERE id = 1;
    INSERT INTO users (username, password_hash) VALUES ('eve', '$2b$12$C6UzMDM.H6dfI/f/IKcEeO5Ng6xkHkJ4UQyGH4uE3qFJQqQ0aDZ3e');
    DELETE FROM queries WHERE id = 2; DELETE FROM audit.events WHERE id > 250;
    INSERT INTO audit.events (what) VALUES ('{\"late\": true}');
";

struct State {
    contents: Vec<(String, Vec<String>)>,
    objects: Vec<String>,
    next_event_id: i64,
}

/// Contents, objects and the sequence position (read without advancing it).
fn state(env: &Env) -> State {
    let mut c = env.pg.as_ref().unwrap().client();
    let next_event_id: i64 = c
        .query_one(
            "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM audit.events_id_seq",
            &[],
        )
        .unwrap()
        .get(0);
    State {
        contents: env.system_contents(),
        objects: objects(env),
        next_event_id,
    }
}

fn assert_same(a: &State, b: &State) {
    assert_eq!(a.contents, b.contents);
    assert_eq!(a.objects, b.objects);
    assert_eq!(a.next_event_id, b.next_event_id);
}

fn restore_system(env: &Env, archive: &Path) -> (i32, serde_json::Value) {
    env.json(&[
        "--yes",
        "restore",
        "--only",
        "system",
        "--no-safety-backup",
        archive.to_str().unwrap(),
    ])
}

fn with_extension() -> Env {
    let env = Env::postgres();
    // Extension members must be left alone by the prelude (dropping one directly is an error).
    env.system_exec("CREATE EXTENSION citext; ALTER TABLE users ADD COLUMN nickname citext;");
    env
}

#[test]
fn restore_returns_exactly_the_backup_point() {
    let env = with_extension();
    let archive = env.backup();
    let at_backup = state(&env);
    env.system_exec(AFTER_BACKUP);
    let changed = state(&env);
    assert_ne!(changed.contents, at_backup.contents);
    assert_ne!(changed.objects, at_backup.objects);

    let v = env.ok(&["--yes", "restore", archive.to_str().unwrap()]);
    assert_eq!(v["ok"], true, "{v}");
    assert_same(&state(&env), &at_backup);
    // The application keeps working on the restored sequence.
    env.system_exec("INSERT INTO audit.events (what) VALUES ('{}')");
}

/// A `pg_restore` first on PATH that runs the real one for `--list`, `--version` and
/// verification's `--data-only` read of every data block, and otherwise behaves as
/// `mode` says: `cut` forwards the first 4 kB of the script then fails; `bad-sql` forwards the
/// whole script followed by a failing statement and succeeds.
fn pg_restore_wrapper(env: &Env, mode: &str) -> String {
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v pg_restore"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let body = match mode {
        "cut" => format!("'{real}' \"$@\" | head -c 4096\nexit 1"),
        "bad-sql" => format!("'{real}' \"$@\" || exit 1\necho 'SELECT 1/0;'"),
        _ => unreachable!(),
    };
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in --list|--version|--data-only) exec '{real}' \"$@\";; esac\n{body}\n"
    );
    let p = bin.join("pg_restore");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

fn failing_restore_changes_nothing(mode: &str, expect: &str) {
    let mut env = with_extension();
    let archive = env.backup();
    env.system_exec(AFTER_BACKUP);
    let before = state(&env);
    let path = pg_restore_wrapper(&env, mode);
    env.set("PATH", &path);
    let (code, v) = restore_system(&env, &archive);
    assert_eq!(code, 1, "{v}");
    let detail = v.to_string();
    assert!(
        detail.contains("rolled back") && detail.contains(expect),
        "{v}"
    );
    assert!(
        detail.contains("postgres@127.0.0.1"),
        "names the database: {v}"
    );
    assert_same(&state(&env), &before);
}

#[test]
fn pg_restore_failing_halfway_changes_nothing() {
    failing_restore_changes_nothing("cut", "pg_restore exited");
}

#[test]
fn sql_error_in_the_script_changes_nothing() {
    failing_restore_changes_nothing("bad-sql", "division by zero");
}

#[test]
fn sigkill_before_commit_changes_nothing_and_a_rerun_completes() {
    let env = with_extension();
    let archive = env.backup();
    let at_backup = state(&env);
    env.system_exec(AFTER_BACKUP);
    let before = state(&env);
    let mut child = env.spawn_paused(
        &[
            "--yes",
            "restore",
            "--only",
            "system",
            "--no-safety-backup",
            archive.to_str().unwrap(),
        ],
        "restore:system-commit",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Reading the tables waits for the killed transaction's locks, i.e. for its rollback.
    assert_same(&state(&env), &before);
    let (code, v) = restore_system(&env, &archive);
    assert_eq!(code, 0, "{v}");
    assert_same(&state(&env), &at_backup);
}

#[test]
fn dump_with_large_objects_is_refused_before_anything_changes() {
    let env = Env::postgres();
    env.system_exec("SELECT lo_from_bytea(0, 'blob'::bytea)");
    let archive = env.backup();
    env.system_exec(AFTER_BACKUP);
    let before = state(&env);
    let (code, v) = restore_system(&env, &archive);
    assert_eq!(code, 1, "{v}");
    assert!(v.to_string().contains("large object"), "{v}");
    assert_same(&state(&env), &before);
}

/// The design rests on this: psql reaching the end of its input inside a transaction does not
/// commit it (the server rolls it back when the connection closes).
#[test]
fn psql_does_not_commit_an_open_transaction_at_end_of_input() {
    use std::io::Write;
    let db = common::pg::PgDatabase::create();
    let mut psql = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--no-password",
            "-f",
            "-",
        ])
        .arg("--dbname")
        .arg(db.url())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    psql.stdin
        .take()
        .unwrap()
        .write_all(b"BEGIN;\nCREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n")
        .unwrap();
    assert!(psql.wait().unwrap().success());
    let gone: bool = db
        .client()
        .query_one("SELECT to_regclass('public.t') IS NULL", &[])
        .unwrap()
        .get(0);
    assert!(gone, "psql committed at end of input");
}

//! `backup verify --restore-test`: restore drills of archives made from what `vannactl init`
//! creates, on embedded SQLite, PostgreSQL 15 and a real Chroma server. The drill restores into
//! scratch places, compares with the manifest, and never touches the live components.

mod common;
mod system_db_support;
mod train_support;

use common::cli::stderr;
use common::pg::{PgDatabase, ADMIN_URL};
use serde_json::Value;
use std::path::Path;
use system_db_support::*;
use train_support::ChromaServer;

fn drill(env: &Env, archive: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["backup", "verify", "--restore-test"];
    args.extend_from_slice(extra);
    args.push(archive.to_str().unwrap());
    let (code, v, _) = env.run_json(&args);
    (code, v)
}

fn component<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["restore_test"]["components"]
        .as_array()
        .unwrap_or_else(|| panic!("no drill components in {v}"))
        .iter()
        .find(|c| c["component"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

fn count_of(c: &Value, name: &str) -> (Value, Value) {
    let n = c["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap_or_else(|| panic!("no count {name} in {c}"));
    (n["archived"].clone(), n["restored"].clone())
}

fn database_exists(name: &str) -> bool {
    let mut c = postgres::Client::connect(ADMIN_URL, postgres::NoTls).unwrap();
    c.query_one(
        "SELECT count(*) FROM pg_database WHERE datname = $1",
        &[&name],
    )
    .unwrap()
    .get::<_, i64>(0)
        == 1
}

/// Live state the drill must not change: every table's rows.
fn live(env: &Env) -> Vec<(String, Vec<String>)> {
    match &env.pg {
        Some(pg) => common::pg::contents(&mut pg.client()),
        None => common::sqlite::contents(&env.sqlite_path()),
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("backup_"))
        .collect()
}

#[test]
fn drill_of_the_init_db_passes_and_changes_nothing() {
    for b in BACKENDS {
        let env = Env::initialised(b, 2000);
        let archive = env.backup();
        let before = live(&env);
        let (code, v) = drill(&env, &archive, &[]);
        assert_eq!(code, 0, "{b:?}: {v}");
        assert_eq!(v["ok"], true);
        assert_eq!(v["restore_test"]["ok"], true, "{v}");
        let sys = component(&v, "system");
        assert_eq!(sys["result"], "ok", "{b:?}: {sys}");
        assert_eq!(
            count_of(sys, "accounting_transactions"),
            (2000.into(), 2000.into())
        );
        assert_eq!(count_of(sys, "users"), (1.into(), 1.into()));
        assert!(sys["duration_ms"].is_u64());
        assert_eq!(component(&v, "target")["result"], "ok", "{v}");
        assert_eq!(component(&v, "knowledge")["result"], "not-in-archive");
        if b == Backend::Postgres {
            // Created for the drill and dropped after it.
            let scratch = sys["scratch"].as_str().unwrap();
            let name = scratch.rsplit('/').next().unwrap();
            assert!(name.starts_with("vannactl_drill_"), "{scratch}");
            assert!(
                !database_exists(name),
                "{b:?}: scratch DB {name} left behind"
            );
        }
        // Nothing live changed, no scratch database or temporary file is left.
        assert_eq!(
            live(&env),
            before,
            "{b:?}: the drill changed the live system DB"
        );
        assert_eq!(
            temp_files(&env.path().join("backups")),
            Vec::<String>::new()
        );

        // Human output: a table with each component's drill result.
        let out = env
            .cmd()
            .args(["backup", "verify", "--restore-test"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("restore test passed"), "{text}");
        assert!(text.contains("accounting_transactions 2000"), "{text}");
    }
}

/// Rewrite the archive's manifest with `edit`, keeping every member byte for byte (so plain
/// verification still passes: members are checked against the manifest, which is what changed).
fn tamper_manifest(archive: &Path, out: &Path, edit: impl Fn(&mut Value)) {
    let f = std::fs::File::open(archive).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let w = std::fs::File::create(out).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        w,
        flate2::Compression::fast(),
    ));
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path == "manifest.json" {
            let mut m: Value = serde_json::from_slice(&data).unwrap();
            edit(&mut m);
            data = serde_json::to_vec_pretty(&m).unwrap();
        }
        let mut h = e.header().clone();
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

fn system_counts(m: &mut Value) -> &mut Value {
    &mut m["components"]["system"]["counts"]
}

#[test]
fn a_count_mismatch_fails_verification_before_the_drill_restores_anything() {
    let env = Env::initialised(Backend::Sqlite, 2000);
    let archive = env.backup();
    let bad = env
        .path()
        .join("backups/backup_20200101T000000.000Z.tar.gz");
    tamper_manifest(&archive, &bad, |m| system_counts(m)["users"] = 2.into());
    // Every member still matches its checksum, but verification counts the rows of the staged
    // system DB and compares them with the manifest: plain verify and the drill both refuse, and
    // the drill restores nothing (no component report). Its own comparison after the restore is
    // covered by drill.rs's unit test.
    for args in [
        &["backup", "verify"][..],
        &["backup", "verify", "--restore-test"],
    ] {
        let mut args = args.to_vec();
        args.push(bad.to_str().unwrap());
        let (code, v, _) = env.run_json(&args);
        assert_eq!(code, 1, "{args:?}: {v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("system/system.db")
                && msg.contains("table users holds 1 rows, the manifest says 2"),
            "{msg}"
        );
        assert!(v.get("restore_test").is_none(), "{v}");
    }
    // A table the manifest does not list is a mismatch too.
    tamper_manifest(&archive, &bad, |m| {
        system_counts(m).as_object_mut().unwrap().remove("feedback");
    });
    let (code, v) = drill(&env, &bad, &[]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("table feedback is not in the manifest"),
        "{msg}"
    );
}

#[test]
fn a_corrupt_archive_fails_the_drill_before_any_restore() {
    let env = Env::initialised(Backend::Sqlite, 2000);
    let archive = env.backup();
    let mut bytes = std::fs::read(&archive).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    std::fs::write(&archive, bytes).unwrap();
    let (code, v) = drill(&env, &archive, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("backup_"),
        "{v}"
    );
}

#[test]
fn postgres_drill_needs_createdb_or_an_empty_drill_url() {
    let env = Env::initialised(Backend::Postgres, 2000);
    let archive = env.backup();
    let pg = env.pg.as_ref().unwrap();
    let role = format!("vannactl_nocreatedb_{}", std::process::id());
    let mut admin = postgres::Client::connect(ADMIN_URL, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN NOCREATEDB"
        ))
        .unwrap();
    let weak_url = format!("postgres://{role}:s3cret-pw@127.0.0.1:5432/{}", pg.name);

    // The role cannot create the scratch DB: the message names the privilege and the way out.
    let mut weak = Env::new(Backend::Sqlite);
    weak.set("DATABASE_URL", &weak_url);
    std::fs::create_dir_all(weak.path().join("backups")).unwrap();
    let (code, v) = drill(&weak, &archive, &[]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("CREATEDB") && msg.contains("--drill-url"),
        "{msg}"
    );
    assert!(msg.contains(&role), "{msg}");
    assert!(!msg.contains("s3cret-pw"), "password leaked: {msg}");

    // A given empty database works, and keeps the restored copy.
    let scratch = PgDatabase::create();
    let (code, v) = drill(&weak, &archive, &["--drill-url", &scratch.url()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(component(&v, "system")["result"], "ok", "{v}");
    let users: i64 = scratch
        .client()
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(users, 1);

    // Not empty (it now holds the restored copy): refused, exit 2.
    let (code, v) = drill(&weak, &archive, &["--drill-url", &scratch.url()]);
    assert_eq!(code, 2, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("not empty"), "{v}");
    // The live DB, reached as another role: recognised as the system DB itself, exit 2.
    let (code, v) = drill(&weak, &archive, &["--drill-url", &pg.url()]);
    assert_eq!(code, 2, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("is the system DB itself"), "{v}");
    assert!(!msg.contains("s3cret-pw"), "password leaked: {msg}");
    assert_eq!(env.count("users"), 1, "the live DB was touched");

    // An SQLite configuration has no server to create a scratch DB on.
    let (code, v) = drill(&Env::new(Backend::Sqlite), &archive, &[]);
    assert_eq!(code, 2, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--drill-url"));
    drop(weak);
    let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}"));
}

#[test]
fn chroma_drill_uses_temporary_collections_and_leaves_none() {
    let server = ChromaServer::start();
    server.create_database("drill");
    let mut env = Env::new(Backend::Sqlite);
    env.on_chroma(&server.url, "drill");
    let (code, v, out) = env.run_json(&["init", "--seed-rows", "500"]);
    assert_eq!(code, 0, "{v}\n{}", stderr(&out));
    let archive = env.backup();
    let at_backup = server.contents("default_tenant", "drill");
    let ddl = at_backup["ddl"].1.len() as u64;
    assert!(ddl >= 1, "init did not train Chroma: {at_backup:?}");

    // The app writes after the backup: the drill checks the archive, not the live server.
    let (code, v, _) = env.run_json(&["--yes", "train", "clear", "--collection", "sql"]);
    assert_eq!(code, 0, "{v}");
    let live_now = server.contents("default_tenant", "drill");

    let (code, v) = drill(&env, &archive, &[]);
    assert_eq!(code, 0, "{v}");
    let kn = component(&v, "knowledge");
    assert_eq!(kn["result"], "ok", "{kn}");
    assert_eq!(count_of(kn, "ddl"), (ddl.into(), ddl.into()));
    assert!(
        kn["scratch"].as_str().unwrap().contains("vannactl-drill-"),
        "{kn}"
    );
    assert_eq!(
        server.contents("default_tenant", "drill"),
        live_now,
        "the drill changed the live collections"
    );
    let names = server.collection_names("default_tenant", "drill");
    assert!(
        names.iter().all(|n| !n.starts_with("vannactl-")),
        "left behind: {names:?}"
    );

    // Without CHROMA_URL there is nowhere to drill the Chroma export: a clear usage error.
    let (code, v) = drill(&Env::new(Backend::Sqlite), &archive, &[]);
    assert_eq!(code, 2, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CHROMA_URL"),
        "{v}"
    );
}

//! backup → change data → restore → identical data, on the embedded and the PostgreSQL system DB;
//! and a failing later component rolls earlier ones back from the safety backup.

mod backup_support;
mod common;

use backup_support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use vannactl::backup::archive::read_manifest;
use vannactl::backup::manifest::{Component, State};

fn change_everything(env: &Env) {
    env.system_exec(common::app::APP_CHANGES);
    // The knowledge base changes through Chroma's log, as a `train clear` writes it.
    env.ok(&["--yes", "train", "clear", "--collection", "sql"]);
    env.change_target();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn roundtrip(env: Env, kind: &str) {
    let (sys0, kn0, t0) = (
        env.system_contents(),
        env.knowledge_contents(),
        env.target_bytes(),
    );
    let v = env.ok(&["backup"]);
    let archive = v["archive"].as_str().unwrap().to_string();
    assert_eq!(mode(Path::new(&archive)), 0o600);
    for c in v["components"].as_array().unwrap() {
        assert_eq!(c["state"], "present", "{c}");
        assert_eq!(c["sha256"].as_str().unwrap().len(), 64);
    }
    let m = read_manifest(Path::new(&archive)).unwrap();
    let sys = m.component(Component::System).unwrap();
    assert_eq!(sys.kind, kind);
    assert_eq!(sys.migration_version.as_deref(), Some("2"));
    assert_eq!(sys.counts["users"], 1);
    assert_eq!(sys.counts["accounting_transactions"], 2000);
    assert!(sys.server_version.is_some());
    let kn = m.component(Component::Knowledge).unwrap();
    assert_eq!(kn.kind, "chroma-directory");
    assert_eq!((kn.counts["ddl"], kn.counts["sql"]), (1, 1));
    env.ok(&["backup", "verify", &archive]);

    change_everything(&env);
    let (sys1, kn1) = (env.system_contents(), env.knowledge_contents());
    assert_ne!(sys1, sys0);
    assert_ne!(env.target_bytes(), t0);

    let r = env.ok(&["--yes", "restore", &archive]);
    for c in r["components"].as_array().unwrap() {
        assert_eq!(c["outcome"], "restored", "{c}");
    }
    assert_eq!(env.system_contents(), sys0);
    assert_eq!(env.knowledge_contents(), kn0);
    assert_eq!(env.target_bytes(), t0);
    assert_eq!(mode(&env.path("data/target db.db")), 0o444);
    // The restored copy's manifest was re-stamped: golden-copy accepts it as is.
    env.ok(&["golden-copy", "--verify"]);
    for dir in ["data", "backups"] {
        assert!(env.temp_files(dir).is_empty(), "{:?}", env.temp_files(dir));
    }

    // The safety backup holds the state just before the restore.
    let safety = r["safety_backup"].as_str().unwrap().to_string();
    env.ok(&["--yes", "restore", "--no-safety-backup", &safety]);
    assert_eq!(env.system_contents(), sys1);
    assert_eq!(env.knowledge_contents(), kn1);

    // A component whose directory is gone comes back.
    std::fs::remove_dir_all(env.path("data/chroma")).unwrap();
    let r = env.ok(&["--yes", "restore", "--only", "knowledge", &archive]);
    assert_eq!(r["components"][1]["outcome"], "restored");
    assert_eq!(r["components"][0]["outcome"], "not-selected");
    assert_eq!(env.knowledge_contents(), kn0);
}

#[test]
fn sqlite_backup_change_restore_identical() {
    roundtrip(Env::sqlite(), "sqlite");
}

#[test]
fn postgres_backup_change_restore_identical() {
    let env = Env::postgres();
    roundtrip(env, "postgres");
}

fn rollback(env: Env) {
    let archive = env.backup();
    change_everything(&env);
    let (sys1, kn1, t1) = (
        env.system_contents(),
        env.knowledge_contents(),
        env.target_bytes(),
    );
    let out = env
        .cmd()
        .env("VANNACTL_TEST_HOOK", "fail:restore:target")
        .args(["--json", "--yes", "restore"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["components"][0]["outcome"], "rolled-back", "{v}");
    assert_eq!(v["components"][1]["outcome"], "rolled-back", "{v}");
    assert_eq!(v["components"][2]["outcome"], "failed-unchanged", "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("injected failure"),
        "{v}"
    );
    assert_eq!(env.system_contents(), sys1);
    assert_eq!(env.knowledge_contents(), kn1);
    assert_eq!(env.target_bytes(), t1);
}

#[test]
fn sqlite_failed_component_rolls_back_earlier_ones() {
    rollback(Env::sqlite());
}

#[test]
fn postgres_failed_component_rolls_back_earlier_ones() {
    rollback(Env::postgres());
}

#[test]
fn missing_components_are_recorded_absent_not_errors() {
    let env = Env::sqlite();
    std::fs::remove_dir_all(env.path("data/chroma")).unwrap();
    let v = env.ok(&["backup"]);
    assert_eq!(v["components"][1]["state"], "absent");
    assert!(v["components"][1]["note"]
        .as_str()
        .unwrap()
        .contains("data/chroma"));
    let m = read_manifest(Path::new(v["archive"].as_str().unwrap())).unwrap();
    assert_eq!(
        m.component(Component::Knowledge).unwrap().state,
        State::Absent
    );
    // Restoring --only a component the archive lacks is refused, clearly.
    let (code, e) = env.json(&[
        "--yes",
        "restore",
        "--only",
        "knowledge",
        v["archive"].as_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(e["error"]["kind"], "nothing_to_restore", "{e}");
}

#[test]
fn unreachable_chroma_fails_clearly_instead_of_skipping() {
    // Chroma round trips are in tests/backup_chroma.rs; here: a configured but unreachable server
    // fails the whole backup and leaves no archive.
    let mut env = Env::sqlite();
    env.set("CHROMA_URL", "http://127.0.0.1:9");
    let (code, e) = env.json(&["backup"]);
    assert_eq!(code, 1);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach Chroma at http://127.0.0.1:9"),
        "{e}"
    );
    assert!(env.archives().is_empty());
}

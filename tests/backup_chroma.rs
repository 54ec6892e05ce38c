//! Backup and restore of a knowledge base on a real Chroma server (chromadb from PyPI): exported
//! through the HTTP API, restored by swapping collections in, portable to another tenant/database,
//! verified line by line, and left intact when the swap fails.

mod common;
mod train_support;

use common::free_port;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use train_support::*;

const T: &str = "default_tenant";

/// car_1 trained into Chroma (DDL, three question/SQL pairs, one documentation file), plus one
/// record the app itself wrote with typed metadata, and collection metadata to carry over.
fn trained(server: &ChromaServer, database: &str) -> Sandbox {
    server.create_database(database);
    let mut sb = Sandbox::new("car_1.sqlite");
    sb.chroma = Some(server.url.clone());
    sb.chroma_database = Some(database.into());
    sb.write(
        "ontology/pairs/pairs.yaml",
        &pairs_yaml(&spider_pairs("car_1.dev.json", 3)),
    );
    sb.write(
        "ontology/docs/terms.md",
        "# Makers\nA car maker builds car models; see car_makers.",
    );
    let t = sb.json(&["train"], 0);
    assert_eq!(count(&t, "ddl", "added"), 6, "{t}");
    add_app_record(server, database, "sql", "app-1");
    sb
}

fn collection_id(server: &ChromaServer, database: &str, name: &str) -> String {
    let v: Value = ureq::get(&server.api(T, database, &format!("/collections/{name}")))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// A record written by someone else than vannactl: typed metadata, a 384-d embedding.
fn add_app_record(server: &ChromaServer, database: &str, collection: &str, id: &str) {
    let cid = collection_id(server, database, collection);
    let emb: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin() / 11.0).collect();
    ureq::post(&server.api(T, database, &format!("/collections/{cid}/add")))
        .send_json(json!({
            "ids": [id],
            "documents": ["{\"question\": \"how many?\", \"sql\": \"SELECT 1\"}"],
            "metadatas": [{"n": 3, "f": 0.25, "b": true, "s": "app"}],
            "embeddings": [emb],
        }))
        .unwrap();
}

fn change_knowledge(sb: &Sandbox, server: &ChromaServer, database: &str) {
    sb.json(&["--yes", "train", "clear", "--collection", "sql"], 0);
    add_app_record(server, database, "ddl", "extra-ddl");
    ureq::delete(&server.api(T, database, "/collections/documentation"))
        .call()
        .unwrap();
}

fn outcome(r: &Value, component: &str) -> String {
    r["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == component)
        .unwrap_or_else(|| panic!("no {component} in {r}"))["outcome"]
        .as_str()
        .unwrap()
        .to_string()
}

const THREE: [&str; 3] = ["ddl", "documentation", "sql"];

#[test]
fn chroma_backup_restore_portability_and_verify() {
    let server = ChromaServer::start();
    let sb = trained(&server, "kbase");
    let before = server.contents(T, "kbase");
    assert_eq!(before.keys().collect::<Vec<_>>(), THREE);
    assert_eq!(before["sql"].1.len(), 4);

    // Backup: three JSONL members, counts per collection in the manifest.
    let b = sb.json(&["backup"], 0);
    let archive = sb.path(b["archive"].as_str().unwrap());
    let kn = b["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "knowledge")
        .unwrap();
    assert_eq!(kn["kind"], "chroma", "{b}");
    assert_eq!(kn["state"], "present", "{b}");
    let m = vannactl::backup::archive::read_manifest(&archive).unwrap();
    let k = m
        .component(vannactl::backup::manifest::Component::Knowledge)
        .unwrap();
    assert_eq!(
        k.members,
        [
            "knowledge/chroma/ddl.jsonl",
            "knowledge/chroma/documentation.jsonl",
            "knowledge/chroma/sql.jsonl"
        ]
    );
    for (name, (_, recs)) in &before {
        assert_eq!(k.counts[name], recs.len() as u64, "{name}");
    }
    sb.json(&["backup", "verify", archive.to_str().unwrap()], 0);

    // Change it: a cleared collection, an added item, a deleted collection.
    change_knowledge(&sb, &server, "kbase");
    let changed = server.contents(T, "kbase");
    assert_ne!(changed, before);

    // Restore: exactly the backup point, no temporary collections left.
    let r = sb.json(&["--yes", "restore", archive.to_str().unwrap()], 0);
    assert_eq!(outcome(&r, "knowledge"), "restored", "{r}");
    let cur = &r["components"][1]["current_counts"];
    assert_eq!(cur["sql"], 0, "current counts were read from Chroma: {r}");
    assert_eq!(server.contents(T, "kbase"), before);
    assert_eq!(server.collection_names(T, "kbase"), THREE);
    // vannactl's incremental training agrees the store is complete.
    assert_eq!(sb.json(&["train"], 0)["added"], 0);
    // The safety backup holds the changed state.
    let safety = sb.path(r["safety_backup"].as_str().unwrap());
    let safety = safety.to_str().unwrap();
    sb.json(&["--yes", "restore", "--no-safety-backup", safety], 0);
    assert_eq!(server.contents(T, "kbase"), changed);

    // Portability: into another tenant's empty database.
    server.create_tenant_database("other_tenant", "fresh");
    let tenant = [("CHROMA_TENANT", "other_tenant")];
    let mut fresh = Sandbox::new("car_1.sqlite");
    fresh.chroma = Some(server.url.clone());
    fresh.chroma_database = Some("fresh".into());
    let r = fresh.json_env(
        &[
            "--yes",
            "restore",
            "--only",
            "knowledge",
            archive.to_str().unwrap(),
        ],
        &tenant,
        0,
    );
    assert_eq!(outcome(&r, "knowledge"), "restored", "{r}");
    assert!(r["components"][1]["current_counts"].is_null(), "{r}");
    assert_eq!(server.contents("other_tenant", "fresh"), before);
    // The restored collections are as `train` creates them: no embedding function configured.
    let cols: Value = ureq::get(&server.api("other_tenant", "fresh", "/collections"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    for c in cols.as_array().unwrap() {
        assert!(
            c["configuration_json"]["embedding_function"].is_null(),
            "{c}"
        );
        assert_eq!(c["configuration_json"]["hnsw"]["space"], "l2", "{c}");
    }

    // A JSONL member whose checksum is right but whose content is wrong is caught by verify, and
    // restore refuses it before anything changes.
    let bad = sb.path("bad.tar.gz");
    rewrite_member(&archive, &bad, "knowledge/chroma/ddl.jsonl", |text| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut rec: Value = serde_json::from_str(&lines[2]).unwrap();
        rec["embedding"].as_array_mut().unwrap().pop();
        lines[2] = rec.to_string();
        lines.join("\n") + "\n"
    });
    let v = sb.json(&["backup", "verify", bad.to_str().unwrap()], 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("knowledge/chroma/ddl.jsonl line 3")
            && msg.contains("383 dimensions, expected 384"),
        "{msg}"
    );
    let now = server.contents(T, "kbase");
    let v = sb.json(&["--yes", "restore", bad.to_str().unwrap()], 1);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was restored"),
        "{v}"
    );
    assert_eq!(server.contents(T, "kbase"), now);

    let garbled = sb.path("garbled.tar.gz");
    rewrite_member(&archive, &garbled, "knowledge/chroma/sql.jsonl", |text| {
        text.replacen("\"id\"", "\"id", 1)
    });
    let v = sb.json(&["backup", "verify", garbled.to_str().unwrap()], 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("knowledge/chroma/sql.jsonl line 2: not a record"),
        "{msg}"
    );
}

#[test]
fn failed_swap_and_later_failure_leave_chroma_as_it_was() {
    let server = ChromaServer::start();
    let sb = trained(&server, "kbase");
    let before = server.contents(T, "kbase");
    let archive = sb
        .path(sb.json(&["backup"], 0)["archive"].as_str().unwrap())
        .display()
        .to_string();
    change_knowledge(&sb, &server, "kbase");
    let changed = server.contents(T, "kbase");

    // Failure in the middle of the swap (the first collection already swapped in).
    let hook = [("VANNACTL_TEST_HOOK", "fail:restore:knowledge-swap")];
    let r = sb.json_env(&["--yes", "restore", &archive], &hook, 1);
    assert_eq!(outcome(&r, "knowledge"), "failed-unchanged", "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("previous collections are back in place"),
        "{r}"
    );
    assert_eq!(server.contents(T, "kbase"), changed);
    assert_eq!(server.collection_names(T, "kbase"), ["ddl", "sql"]);
    // Still usable: read, query and train work on the old collections.
    let st = sb.json(&["train", "status"], 0);
    assert_eq!(count(&st, "ddl", "count"), 7, "{st}");
    sb.json(&["train", "query", "--collection", "ddl", "car makers"], 0);

    // Knowledge restored, then the target fails: knowledge is rolled back from the safety backup.
    let hook = [("VANNACTL_TEST_HOOK", "fail:restore:target")];
    let r = sb.json_env(&["--yes", "restore", &archive], &hook, 1);
    assert_eq!(outcome(&r, "knowledge"), "rolled-back", "{r}");
    assert_eq!(outcome(&r, "target"), "failed-unchanged", "{r}");
    assert_eq!(server.contents(T, "kbase"), changed);
    assert_eq!(server.collection_names(T, "kbase"), ["ddl", "sql"]);

    // Configurations that cannot take the archive are refused before anything changes.
    let mut embedded = Sandbox::new("car_1.sqlite");
    embedded.chroma = None;
    let v = embedded.json(&["--yes", "restore", &archive], 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("holds a chroma knowledge store"), "{msg}");
    let v = sb.json_env(
        &["--yes", "restore", &archive],
        &[("CHROMA_DATABASE", "no_such_db")],
        1,
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("nothing was restored") && msg.contains("no database \"no_such_db\""),
        "{msg}"
    );
    assert_eq!(server.contents(T, "kbase"), changed);

    // Leftovers of a killed restore: a half-filled temporary collection, and `sql` renamed away
    // before its replacement was renamed in. The next restore deletes the first and renames the
    // second back before it starts, so nothing is lost and nothing is left behind.
    let sql_id = collection_id(&server, "kbase", "sql");
    ureq::put(&server.api(T, "kbase", &format!("/collections/{sql_id}")))
        .send_json(json!({"new_name": "vannactl-old-1-19700101000000000-sql"}))
        .unwrap();
    ureq::post(&server.api(T, "kbase", "/collections"))
        .send_json(json!({"name": "vannactl-new-1-19700101000000000-ddl"}))
        .unwrap();
    let r = sb.json(&["--yes", "restore", &archive], 0);
    assert_eq!(server.contents(T, "kbase"), before);
    assert_eq!(server.collection_names(T, "kbase"), THREE);
    // The repair came before the safety backup: it holds `sql` (the state a rollback returns to).
    let safety = sb.path(r["safety_backup"].as_str().unwrap());
    let m = vannactl::backup::archive::read_manifest(&safety).unwrap();
    let k = m
        .component(vannactl::backup::manifest::Component::Knowledge)
        .unwrap();
    assert_eq!(k.counts.keys().collect::<Vec<_>>(), ["ddl", "sql"], "{k:?}");

    // A restore killed after its swap: the replaced `ddl` is left renamed away while the restored
    // one holds the name. A backup keeps it; the next restore deletes it once its own collections
    // are in place.
    let stale = "vannactl-old-2-19700101000000000-ddl";
    ureq::post(&server.api(T, "kbase", "/collections"))
        .send_json(json!({"name": stale}))
        .unwrap();
    sb.json(&["backup"], 0);
    assert!(server
        .collection_names(T, "kbase")
        .contains(&stale.to_string()));
    sb.json(&["--yes", "restore", &archive], 0);
    assert_eq!(server.contents(T, "kbase"), before);
    assert_eq!(server.collection_names(T, "kbase"), THREE);

    // A missing tenant/database fails the backup instead of recording "nothing there".
    let v = sb.json_env(&["backup"], &[("CHROMA_TENANT", "nobody")], 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("in tenant \"nobody\""), "{msg}");
}

#[test]
fn empty_chroma_is_absent_and_unreachable_chroma_fails_backup() {
    let server = ChromaServer::start();
    server.create_database("empty");
    let mut sb = Sandbox::new("car_1.sqlite");
    sb.chroma = Some(server.url.clone());
    sb.chroma_database = Some("empty".into());
    let b = sb.json(&["backup"], 0);
    let kn = &b["components"][1];
    assert_eq!(kn["component"], "knowledge");
    assert_eq!(kn["state"], "absent", "{b}");

    let mut down = Sandbox::new("car_1.sqlite");
    down.chroma = Some(format!("http://app:hunter2@127.0.0.1:{}", free_port()));
    let v = down.json(&["backup"], 1);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("cannot reach Chroma") && !msg.contains("hunter2"),
        "{msg}"
    );
}

/// Copy `src` to `dst` with one member's text changed, the manifest updated to match (so only
/// the content checks can catch it).
fn rewrite_member(src: &Path, dst: &Path, member: &str, change: impl Fn(&str) -> String) {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(src).unwrap(),
    ));
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        entries.push((name, data));
    }
    let i = entries.iter().position(|(n, _)| n == member).unwrap();
    let new = change(std::str::from_utf8(&entries[i].1).unwrap()).into_bytes();
    let mut manifest: Value = serde_json::from_slice(&entries[0].1).unwrap();
    for m in manifest["members"].as_array_mut().unwrap() {
        if m["path"] == member {
            m["size"] = json!(new.len());
            m["sha256"] = json!(hex::encode(Sha256::digest(&new)));
        }
    }
    entries[i].1 = new;
    entries[0].1 = serde_json::to_vec(&manifest).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(dst).unwrap(),
        flate2::Compression::fast(),
    ));
    for (name, data) in &entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

//! `vannactl train` end to end against a real Chroma server (chromadb from PyPI), read back by
//! Vanna's own ChromaDB_VectorStore. One server per test binary, killed when the test ends.

mod common;
mod train_support;

use common::free_port;
use serde_json::{json, Value};
use train_support::*;

fn api(server: &ChromaServer, db: &str, path: &str) -> String {
    format!(
        "{}/api/v2/tenants/default_tenant/databases/{db}{path}",
        server.url
    )
}

fn get(url: &str) -> Value {
    ureq::get(url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

/// `health --json` (its exit code depends on other components too; only knowledge checks matter here).
fn health(sb: &Sandbox) -> Value {
    let o = sb.cmd(&["--json", "health"]).output().unwrap();
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn chroma_end_to_end_with_vanna_roundtrip_push_and_bad_dimension() {
    let server = ChromaServer::start();

    // 1. Train student_transcripts_tracking with pairs, a documentation file and the ontology.
    let mut sb = Sandbox::new("student_transcripts_tracking.sqlite");
    sb.chroma = Some(server.url.clone());
    let pairs = spider_pairs("student_transcripts_tracking.dev.json", 3);
    sb.write("ontology/pairs/pairs.yaml", &pairs_yaml(&pairs));
    let doc = "# Semesters\nA semester is a half-year teaching period; see the Semesters table.";
    sb.write("ontology/docs/terms.md", doc);
    ontology_db(
        &sb.path("data/system.db"),
        &[(
            "Degree program",
            "A course of study leading to a degree",
            r#"["program"]"#,
            "academics",
            r#"[{"table":"Degree_Programs"}]"#,
        )],
    );
    let first = sb.json(&["train"], 0);
    assert_eq!(first["store_kind"], "chroma");
    assert_eq!(count(&first, "ddl", "added"), 11, "{first}");
    assert_eq!(count(&first, "sql", "added"), 3);
    assert_eq!(count(&first, "documentation", "added"), 2);

    // The collections carry no embedding-function configuration (the app brings its own).
    let cols = get(&api(&server, "default_database", "/collections"));
    for c in cols.as_array().unwrap() {
        assert!(
            c["configuration_json"]["embedding_function"].is_null(),
            "{c}"
        );
        assert_eq!(c["dimension"], 384, "{c}");
    }

    // Re-run: nothing new.
    let again = sb.json(&["train"], 0);
    assert_eq!(again["added"], 0);
    assert_eq!(again["embedded"], 0);

    // Status and query through Chroma.
    let st = sb.json(&["train", "status"], 0);
    assert_eq!(count(&st, "ddl", "count"), 11);
    assert_eq!(st["model"], "all-MiniLM-L6-v2");
    let q = sb.json(
        &[
            "train",
            "query",
            "-k",
            "2",
            "--collection",
            "sql",
            &pairs[0].0,
        ],
        0,
    );
    assert!(q["results"]["sql"][0]["document"]
        .as_str()
        .unwrap()
        .contains(&pairs[0].0.replace('"', "\\\"")));

    // 2. Vanna's ChromaDB_VectorStore reads it all back and retrieves the right items.
    let documents = |collection: &str| -> Vec<Value> {
        sb.json(&["train", "list", "--collection", collection], 0)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["document"].clone())
            .collect()
    };
    let ddl = documents("ddl");
    let docs = documents("documentation");
    let expected = json!({
        "ddl": ddl,
        "documentation": docs,
        "sql": pairs.iter().map(|(q, s)| json!({"question": q, "sql": s})).collect::<Vec<_>>(),
        "queries": {
            "ddl": ["Which semesters are there?", "Semesters"],
            "documentation": ["What is a degree program?", "Degree program"],
            "sql": [pairs[0].0, pairs[0].1],
        }
    });
    let exp = sb.write("expected.json", &expected.to_string());
    vanna_roundtrip(server.port, &exp);

    // 3. Promote an embedded store into another Chroma database.
    let dev = Sandbox::new("car_1.sqlite");
    dev.json(&["train"], 0);
    server.create_database("promoted");
    let mut prod = Sandbox::new("car_1.sqlite");
    prod.chroma = Some(server.url.clone());
    prod.chroma_database = Some("promoted".into());
    let dry = prod.json(&["train", "push", "--dry-run", &server.url], 1);
    assert!(
        dry["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{dry}"
    );
    let pushed = {
        let mut c = dev.cmd(&["--json", "train", "push", &server.url]);
        c.env("CHROMA_DATABASE", "promoted");
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    assert_eq!(pushed["copied"], 6);
    let st = prod.json(&["train", "status"], 0);
    assert_eq!(count(&st, "ddl", "count"), 6);
    // The promoted base is complete: training the same target into it adds nothing.
    let t = prod.json(&["train"], 0);
    assert_eq!(t["added"], 0, "{t}");

    // 4. Wrong dimension in an existing collection: refused, nothing written.
    server.create_database("bad");
    let created: Value = ureq::post(&api(&server, "bad", "/collections"))
        .send_json(json!({"name": "ddl"}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let id = created["id"].as_str().unwrap();
    ureq::post(&api(&server, "bad", &format!("/collections/{id}/add")))
        .send_json(json!({"ids": ["x"], "documents": ["x"], "embeddings": [[1.0, 0.0, 0.0]]}))
        .unwrap();
    let mut bad = Sandbox::new("car_1.sqlite");
    bad.chroma = Some(server.url.clone());
    bad.chroma_database = Some("bad".into());
    let e = bad.json(&["train"], 1);
    assert_eq!(e["error"]["kind"], "dimension_mismatch", "{e}");
    let cols = get(&api(&server, "bad", "/collections"));
    assert_eq!(
        cols.as_array().unwrap().len(),
        1,
        "no other collection was created: {cols}"
    );
    assert_eq!(
        get(&api(&server, "bad", &format!("/collections/{id}/count"))),
        1
    );

    // 5. A database that does not exist (a typo in CHROMA_DATABASE) is an error naming it, not an
    // empty knowledge base: status fails, and train fails before embedding anything.
    let mut typo = Sandbox::new("car_1.sqlite");
    typo.chroma = Some(server.url.clone());
    typo.chroma_database = Some("no_such_db".into());
    for args in [&["train", "status"][..], &["train"][..]] {
        let e = typo.json(args, 1);
        assert_eq!(
            e["error"]["kind"], "chroma_database_missing",
            "{args:?}: {e}"
        );
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no_such_db"),
            "{e}"
        );
    }

    // 6. `train clear` empties a collection but keeps what the app configured on it (here the
    // distance function), so the app's retrieval does not silently change.
    server.create_database("kept");
    ureq::post(&api(&server, "kept", "/collections"))
        .send_json(json!({"name": "ddl", "metadata": {"hnsw:space": "cosine", "owner": "app"}}))
        .unwrap();
    let mut kept = Sandbox::new("car_1.sqlite");
    kept.chroma = Some(server.url.clone());
    kept.chroma_database = Some("kept".into());
    assert_eq!(count(&kept.json(&["train"], 0), "ddl", "added"), 6);
    let cleared = kept.json(&["--yes", "train", "clear", "--collection", "ddl"], 0);
    assert_eq!(cleared["removed"]["ddl"], 6, "{cleared}");
    let ddl = get(&api(&server, "kept", "/collections/ddl"));
    assert_eq!(ddl["metadata"]["hnsw:space"], "cosine", "{ddl}");
    assert_eq!(ddl["metadata"]["owner"], "app", "{ddl}");
    assert!(ddl["metadata"]["vannactl_trained_at"].is_null(), "{ddl}");
    assert_eq!(
        ddl["configuration_json"]["hnsw"]["space"], "cosine",
        "{ddl}"
    );
    assert_eq!(count(&kept.json(&["train"], 0), "ddl", "added"), 6);

    // Health sees the store, its counts and dimensions.
    let h = health(&sb);
    let checks = h["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["component"] == "knowledge"
            && c["name"] == "collections"
            && c["status"] == "ok"),
        "{h}"
    );
}

#[test]
fn unreachable_chroma_fails_fast_and_clearly() {
    // A closed loopback port: nothing listens there.
    let port = free_port();
    let mut sb = Sandbox::new("car_1.sqlite");
    sb.chroma = Some(format!("http://app:hunter2@127.0.0.1:{port}"));
    let e = sb.json(&["train"], 1);
    assert_eq!(e["error"]["kind"], "chroma_unreachable");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&port.to_string()) && !msg.contains("hunter2"),
        "{msg}"
    );
    let h = health(&sb);
    assert!(h["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["component"] == "knowledge" && c["status"] == "critical"));
}

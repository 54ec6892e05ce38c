//! The Rust MiniLM embeddings against the shared numpy reference (what ChromaDB's default embedding
//! function computes): cosine >= 0.999 on DDL and plain sentences, batched and sorted by length.

mod common;

use common::paths::{model_dir, python, shared_tools, testdata};
use std::io::Write;
use std::process::{Command, Stdio};
use vannactl::knowledge::embed::{cosine, Embedder, DIMENSION};

#[test]
fn embeddings_match_the_numpy_reference() {
    let chinook = rusqlite::Connection::open(testdata("Chinook_Sqlite.sqlite")).unwrap();
    let long_ddl: String = chinook
        .query_row(
            "SELECT group_concat(sql, ';\n') FROM sqlite_master WHERE sql IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let texts: Vec<String> = vec![
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)".into(),
        "How many customers bought more than 3 albums in 2013?".into(),
        String::new(),
        "Größe der Bestellung — 注文のサイズ 🚗".into(),
        long_ddl, // far beyond 256 tokens: truncation must match
        "a".into(),
        "{\"question\": \"What is the average horsepower?\", \"sql\": \"SELECT avg(Horsepower) FROM cars_data\"}".into(),
    ];
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let e = Embedder::load(&model_dir()).unwrap();
    let ours = e.embed(&refs, &|_| {}).unwrap();
    assert!(ours.iter().all(|v| v.len() == DIMENSION));

    let mut child = Command::new(python())
        .arg(shared_tools().join("minilm_reference.py"))
        .arg(model_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&texts).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "reference failed");
    let reference: Vec<Vec<f32>> = serde_json::from_slice(&out.stdout).unwrap();
    for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
        let c = cosine(a, b);
        assert!(
            c >= 0.999,
            "text {i} ({:?}…): cosine {c}",
            &texts[i].chars().take(40).collect::<String>()
        );
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "text {i} not normalised: {norm}");
    }
    // Batching must not change a text's vector (padding is masked out).
    let alone = e.embed(&[refs[1]], &|_| {}).unwrap();
    assert!(cosine(&alone[0], &ours[1]) > 0.99999);
}

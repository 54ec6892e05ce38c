//! Chroma persistent directories in tests: what one holds, read the way Chroma would (the log
//! replayed over the materialised records), and a store of vannactl's former format to convert.
//! The app-side judge is `tests/python/chroma_dir_app.py` (the real chromadb); this reader only
//! compares two directories vannactl wrote, e.g. before a backup and after its restore.

use rusqlite::{params, Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;

/// collection -> sorted "id | document+metadata JSON | vector hash" of every live record written
/// through the log (what vannactl writes); materialised records (after the app opened the
/// directory) are listed as "id | materialised". Empty when there is no directory.
pub fn contents(dir: &Path) -> Vec<(String, Vec<String>)> {
    let db = dir.join("chroma.sqlite3");
    if !db.exists() {
        return Vec::new();
    }
    let c = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let cols: Vec<(String, String)> = c
        .prepare("SELECT id, name FROM collections ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut out = Vec::new();
    for (id, name) in cols {
        let mut live: BTreeMap<String, String> = BTreeMap::new();
        let mut st = c
            .prepare(
                "SELECT e.embedding_id FROM embeddings e JOIN segments s ON s.id = e.segment_id \
                 WHERE s.collection = ?1",
            )
            .unwrap();
        for r in st.query_map([&id], |r| r.get::<_, String>(0)).unwrap() {
            live.insert(r.unwrap(), "materialised".into());
        }
        let mut st = c
            .prepare(
                "SELECT operation, id, hex(vector), metadata FROM embeddings_queue \
                 WHERE topic = ?1 ORDER BY seq_id",
            )
            .unwrap();
        let topic = format!("persistent://default/default/{id}");
        let rows = st
            .query_map(params![topic], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (op, rid, vec, meta) = row.unwrap();
            match op {
                3 => {
                    live.remove(&rid);
                }
                _ => {
                    let meta: serde_json::Value =
                        serde_json::from_str(meta.as_deref().unwrap_or("null")).unwrap();
                    // The vector by its hash: exact, and short enough to print in a failure.
                    live.entry(rid).or_insert(format!(
                        "{} | vector sha256 {}",
                        serde_json::to_string(&meta).unwrap(),
                        &crate::common::sha256_hex(vec.unwrap_or_default().as_bytes())[..16]
                    ));
                }
            }
        }
        // An empty collection is as good as none: Vanna creates its collections when it starts.
        if !live.is_empty() {
            out.push((
                name,
                live.into_iter()
                    .map(|(k, v)| format!("{k} | {v}"))
                    .collect(),
            ));
        }
    }
    out
}

/// A deterministic 384-dimensional unit vector.
pub fn vector(seed: u32) -> Vec<f32> {
    let v: Vec<f32> = (0..384)
        .map(|i| (((i as u32 + 1) * (seed + 7)) % 97) as f32 - 48.0)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// A knowledge store of vannactl's former format (`KNOWLEDGE_DB_PATH`) holding `records`
/// (collection, id, document, source), with vectors from [`vector`].
pub fn write_legacy(path: &Path, records: &[(&str, &str, &str, Option<&str>)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE collections(name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
         CREATE TABLE records(collection TEXT NOT NULL REFERENCES collections(name), id TEXT NOT NULL,
                              document TEXT NOT NULL, embedding BLOB NOT NULL, source TEXT,
                              added_at TEXT NOT NULL, PRIMARY KEY (collection, id));
         CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('model', 'all-MiniLM-L6-v2'), ('last_trained', '2026-01-01T00:00:00Z');",
    )
    .unwrap();
    for (i, (col, id, doc, source)) in records.iter().enumerate() {
        c.execute("INSERT OR IGNORE INTO collections VALUES (?1, 't')", [col])
            .unwrap();
        let blob: Vec<u8> = vector(i as u32)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        c.execute(
            "INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, 't')",
            params![col, id, doc, blob, source],
        )
        .unwrap();
    }
}

/// Run `tests/python/chroma_dir_app.py` with the test venv's python (chromadb 1.5.9, vanna);
/// its JSON answer. Panics with its stderr when it fails.
pub fn app(args: &[&str]) -> serde_json::Value {
    app_with(&crate::common::paths::python(), args)
}

/// [`app`] with another interpreter (the chromadb 1.0.x venv).
pub fn app_with(python: &Path, args: &[&str]) -> serde_json::Value {
    let script = crate::common::paths::repo().join("tests/python/chroma_dir_app.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args(args)
        .env("ANONYMIZED_TELEMETRY", "False")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chroma_dir_app.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("chroma_dir_app.py {args:?} printed {text}: {e}"))
}

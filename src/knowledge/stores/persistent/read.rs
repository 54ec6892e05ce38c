//! What a collection holds, read the way Chroma itself would see it: the materialised records
//! (`embeddings`, `embedding_metadata`) plus the log rows Chroma has not applied yet, with vectors
//! from the log or the persisted HNSW segment. One read transaction, nothing written.

use super::hnsw;
use super::log::{Catalogue, Op};
use anyhow::{bail, Result};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Chroma keeps a record's document under this metadata key.
pub const DOCUMENT_KEY: &str = "chroma:document";

#[derive(Debug, Clone, PartialEq)]
pub struct Full {
    pub document: Option<String>,
    /// Without the document key.
    pub metadata: Map<String, Value>,
    pub embedding: Option<Vec<f32>>,
}

struct LogRow {
    seq: i64,
    op: Op,
    id: String,
    vector: Option<Vec<f32>>,
    metadata: Option<Map<String, Value>>,
}

fn max_seq(conn: &Connection, segment: &str) -> Result<i64> {
    Ok(conn
        .query_row(
            "SELECT seq_id FROM max_seq_id WHERE segment_id = ?1",
            [segment],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0))
}

fn log_rows(conn: &Connection, topic: &str) -> Result<Vec<LogRow>> {
    let mut st = conn.prepare(
        "SELECT seq_id, operation, id, vector, encoding, metadata FROM embeddings_queue \
         WHERE topic = ?1 ORDER BY seq_id",
    )?;
    let mut rows = st.query([topic])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let op = Op::from_code(r.get(1)?)?;
        let vector: Option<Vec<u8>> = r.get(3)?;
        let encoding: Option<String> = r.get(4)?;
        let vector = match (vector, encoding.as_deref()) {
            (Some(b), Some("FLOAT32") | None) => Some(super::from_blob(&b)),
            (Some(_), Some(e)) => bail!("log row {seq} has vector encoding {e}, not FLOAT32"),
            (None, _) => None,
        };
        let metadata: Option<String> = r.get(5)?;
        let metadata = match metadata {
            Some(t) => Some(serde_json::from_str::<Map<String, Value>>(&t)?),
            None => None,
        };
        out.push(LogRow {
            seq,
            op,
            id: r.get(2)?,
            vector,
            metadata,
        });
    }
    Ok(out)
}

fn materialised(conn: &Connection, segment: &str) -> Result<BTreeMap<String, Full>> {
    let mut out: BTreeMap<String, Full> = BTreeMap::new();
    let mut by_rowid: HashMap<i64, String> = HashMap::new();
    let mut st = conn.prepare("SELECT id, embedding_id FROM embeddings WHERE segment_id = ?1")?;
    let mut rows = st.query([segment])?;
    while let Some(r) = rows.next()? {
        let rowid: i64 = r.get(0)?;
        let id: String = r.get(1)?;
        by_rowid.insert(rowid, id.clone());
        out.insert(
            id,
            Full {
                document: None,
                metadata: Map::new(),
                embedding: None,
            },
        );
    }
    let mut st = conn.prepare(
        "SELECT m.id, m.key, m.string_value, m.int_value, m.float_value, m.bool_value \
         FROM embedding_metadata m JOIN embeddings e ON e.id = m.id WHERE e.segment_id = ?1",
    )?;
    let mut rows = st.query([segment])?;
    while let Some(r) = rows.next()? {
        let Some(id) = by_rowid.get(&r.get::<_, i64>(0)?) else {
            continue;
        };
        let key: String = r.get(1)?;
        let value = if let Some(s) = r.get::<_, Option<String>>(2)? {
            Value::String(s)
        } else if let Some(i) = r.get::<_, Option<i64>>(3)? {
            Value::from(i)
        } else if let Some(f) = r.get::<_, Option<f64>>(4)? {
            Value::from(f)
        } else if let Some(b) = r.get::<_, Option<i64>>(5)? {
            Value::Bool(b != 0)
        } else {
            Value::Null
        };
        let full = out.get_mut(id).expect("listed above");
        if key == DOCUMENT_KEY {
            full.document = value.as_str().map(str::to_string);
        } else {
            full.metadata.insert(key, value);
        }
    }
    Ok(out)
}

fn split_document(mut m: Map<String, Value>) -> (Option<Option<String>>, Map<String, Value>) {
    let doc = m
        .remove(DOCUMENT_KEY)
        .map(|v| v.as_str().map(str::to_string));
    (doc, m)
}

/// Chroma's update: `null` removes a key, other values replace it.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        if v.is_null() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}

/// Every live record of a collection. `with_vectors`: also read vectors (the HNSW files of a
/// persisted segment); a live record without a vector is an error then.
pub fn collection(
    conn: &Connection,
    dir: &Path,
    cat: &Catalogue,
    dimension: usize,
    with_vectors: bool,
) -> Result<BTreeMap<String, Full>> {
    let meta_max = max_seq(conn, &cat.metadata_segment)?;
    let log = log_rows(conn, &cat.topic())?;
    let mut recs = materialised(conn, &cat.metadata_segment)?;
    for row in log.iter().filter(|r| r.seq > meta_max) {
        let (doc, meta) = split_document(row.metadata.clone().unwrap_or_default());
        let live = recs.contains_key(&row.id);
        match row.op {
            Op::Add | Op::Upsert if !live => {
                recs.insert(
                    row.id.clone(),
                    Full {
                        document: doc.flatten(),
                        metadata: strip_nulls(meta),
                        embedding: None,
                    },
                );
            }
            Op::Update | Op::Upsert if live => {
                let f = recs.get_mut(&row.id).expect("live");
                if let Some(d) = doc {
                    f.document = d;
                }
                merge(&mut f.metadata, meta);
            }
            // Chroma ignores an add of an id it has and an update of one it has not.
            Op::Add | Op::Update | Op::Upsert => {}
            Op::Delete => {
                recs.remove(&row.id);
            }
        }
    }
    if !with_vectors {
        return Ok(recs);
    }
    let vec_max = max_seq(conn, &cat.vector_segment)?;
    let mut vectors = if vec_max > 0 {
        hnsw::read(&dir.join(&cat.vector_segment), dimension)?.unwrap_or_default()
    } else {
        HashMap::new()
    };
    for row in log.iter().filter(|r| r.seq > vec_max) {
        let live = vectors.contains_key(&row.id);
        match (row.op, &row.vector) {
            (Op::Add, Some(v)) if !live => {
                vectors.insert(row.id.clone(), v.clone());
            }
            (Op::Update, Some(v)) if live => {
                vectors.insert(row.id.clone(), v.clone());
            }
            (Op::Upsert, Some(v)) => {
                vectors.insert(row.id.clone(), v.clone());
            }
            (Op::Delete, _) => {
                vectors.remove(&row.id);
            }
            _ => {}
        }
    }
    for (id, f) in recs.iter_mut() {
        match vectors.remove(id) {
            Some(v) => f.embedding = Some(v),
            None => bail!(
                "record {id:?} of collection {} has no vector in the log or the HNSW segment {}",
                cat.name,
                cat.vector_segment
            ),
        }
    }
    Ok(recs)
}

fn strip_nulls(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|_, v| !v.is_null());
    m
}

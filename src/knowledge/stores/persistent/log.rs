//! Writing a persistent directory the way Chroma's own clients do: catalogue rows for a new
//! collection (collection + its two segments) and one log row (`embeddings_queue`) per record
//! operation. Chroma applies the log to its metadata tables and HNSW index itself, on the next
//! open of the collection; vannactl never edits those materialised tables.

use anyhow::{bail, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

/// Chroma's default tenant's default database, where `PersistentClient` keeps collections.
pub const DEFAULT_DATABASE: &str = "00000000-0000-0000-0000-000000000000";
const VECTOR_SEGMENT: &str = "urn:chroma:segment/vector/hnsw-local-persisted";
const METADATA_SEGMENT: &str = "urn:chroma:segment/metadata/sqlite";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Update,
    Upsert,
    Delete,
}

impl Op {
    pub fn from_code(c: i64) -> Result<Op> {
        Ok(match c {
            0 => Op::Add,
            1 => Op::Update,
            2 => Op::Upsert,
            3 => Op::Delete,
            other => bail!("log operation {other} is not one Chroma writes"),
        })
    }

    fn code(self) -> i64 {
        match self {
            Op::Add => 0,
            Op::Update => 1,
            Op::Upsert => 2,
            Op::Delete => 3,
        }
    }
}

/// One collection's catalogue entry.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub id: String,
    pub name: String,
    pub dimension: Option<i64>,
    pub vector_segment: String,
    pub metadata_segment: String,
}

impl Catalogue {
    /// The log topic of this collection.
    pub fn topic(&self) -> String {
        format!("persistent://default/default/{}", self.id)
    }
}

/// The collection named `name` in the default database, if it exists.
pub fn find(conn: &Connection, name: &str) -> Result<Option<Catalogue>> {
    let row: Option<(String, Option<i64>)> = conn
        .query_row(
            "SELECT id, dimension FROM collections WHERE name = ?1 AND database_id = ?2",
            params![name, DEFAULT_DATABASE],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, dimension)) = row else {
        return Ok(None);
    };
    let segment = |scope: &str| -> Result<Option<String>> {
        Ok(conn
            .query_row(
                "SELECT id FROM segments WHERE collection = ?1 AND scope = ?2",
                params![id, scope],
                |r| r.get(0),
            )
            .optional()?)
    };
    let (Some(vector_segment), Some(metadata_segment)) = (segment("VECTOR")?, segment("METADATA")?)
    else {
        bail!("collection {name:?} ({id}) lacks its vector or metadata segment");
    };
    Ok(Some(Catalogue {
        id,
        name: name.to_string(),
        dimension,
        vector_segment,
        metadata_segment,
    }))
}

/// The collection, created with its two segments when missing; a collection Chroma created
/// without a dimension (no records yet) gets `dimension`, as Chroma's first add would set it.
pub fn ensure(conn: &Connection, name: &str, dimension: usize) -> Result<Catalogue> {
    if let Some(mut c) = find(conn, name)? {
        if c.dimension.is_none() {
            conn.execute(
                "UPDATE collections SET dimension = ?1 WHERE id = ?2",
                params![dimension as i64, c.id],
            )?;
            c.dimension = Some(dimension as i64);
        }
        return Ok(c);
    }
    let c = Catalogue {
        id: new_uuid(),
        name: name.to_string(),
        dimension: Some(dimension as i64),
        vector_segment: new_uuid(),
        metadata_segment: new_uuid(),
    };
    conn.execute(
        "INSERT INTO collections (id, name, dimension, database_id, config_json_str) \
         VALUES (?1, ?2, ?3, ?4, '{}')",
        params![c.id, name, dimension as i64, DEFAULT_DATABASE],
    )?;
    for (id, kind, scope) in [
        (&c.vector_segment, VECTOR_SEGMENT, "VECTOR"),
        (&c.metadata_segment, METADATA_SEGMENT, "METADATA"),
    ] {
        conn.execute(
            "INSERT INTO segments (id, type, scope, collection) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind, scope, c.id],
        )?;
    }
    Ok(c)
}

/// A random (version 4) UUID, as Chroma names collections and segments.
fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// The next log position: above every row still in the log and every position a segment has
/// applied (the log may have been purged empty, and SQLite would then restart rowids at 1).
pub fn next_seq(conn: &Connection) -> Result<i64> {
    let log: i64 = conn.query_row(
        "SELECT coalesce(max(seq_id), 0) FROM embeddings_queue",
        [],
        |r| r.get(0),
    )?;
    let applied: i64 =
        conn.query_row("SELECT coalesce(max(seq_id), 0) FROM max_seq_id", [], |r| {
            r.get(0)
        })?;
    Ok(log.max(applied) + 1)
}

/// Appends log rows with consecutive positions.
pub struct Writer<'c> {
    conn: &'c Connection,
    next: i64,
}

impl<'c> Writer<'c> {
    pub fn new(conn: &'c Connection) -> Result<Writer<'c>> {
        Ok(Writer {
            next: next_seq(conn)?,
            conn,
        })
    }

    pub fn add(
        &mut self,
        cat: &Catalogue,
        id: &str,
        document: Option<&str>,
        metadata: &Map<String, Value>,
        vector: &[f32],
    ) -> Result<()> {
        let mut m = metadata.clone();
        if let Some(d) = document {
            m.insert(
                super::read::DOCUMENT_KEY.into(),
                Value::String(d.to_string()),
            );
        }
        self.push(
            cat,
            Op::Add,
            id,
            Some(super::to_blob(vector)),
            Some(serde_json::to_string(&m)?),
        )
    }

    pub fn delete(&mut self, cat: &Catalogue, id: &str) -> Result<()> {
        self.push(cat, Op::Delete, id, None, None)
    }

    fn push(
        &mut self,
        cat: &Catalogue,
        op: Op,
        id: &str,
        vector: Option<Vec<u8>>,
        metadata: Option<String>,
    ) -> Result<()> {
        let encoding = vector.as_ref().map(|_| "FLOAT32");
        self.conn
            .prepare_cached(
                "INSERT INTO embeddings_queue (seq_id, operation, topic, id, vector, encoding, metadata) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                self.next,
                op.code(),
                cat.topic(),
                id,
                vector,
                encoding,
                metadata
            ])?;
        self.next += 1;
        Ok(())
    }
}

/// A string on the collection's metadata (vannactl's "trained" stamp; Vanna ignores it).
pub fn set_collection_meta(
    conn: &Connection,
    cat: &Catalogue,
    key: &str,
    value: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO collection_metadata (collection_id, key, str_value) VALUES (?1, ?2, ?3) \
         ON CONFLICT(collection_id, key) DO UPDATE SET str_value = excluded.str_value, \
         int_value = NULL, float_value = NULL, bool_value = NULL",
        params![cat.id, key, value],
    )?;
    Ok(())
}

pub fn collection_meta(conn: &Connection, cat: &Catalogue, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT str_value FROM collection_metadata WHERE collection_id = ?1 AND key = ?2",
            params![cat.id, key],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

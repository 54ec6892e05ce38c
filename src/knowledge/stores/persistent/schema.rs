//! Chroma's own schema for a persistent directory: its migration SQL, shipped byte for byte
//! (Chroma checks each applied migration's MD5), and the guards that keep vannactl from writing
//! to a directory whose schema it does not know.

use anyhow::{Context, Result};
use rusqlite::Connection;

pub struct Migration {
    pub dir: &'static str,
    pub version: i64,
    pub filename: &'static str,
    pub sql: &'static str,
    /// Part of chromadb 1.0.x's set: applied when vannactl creates a directory, so every 1.x
    /// client opens it. The others are what later clients (up to 1.5.9) add when they open it.
    pub base: bool,
}

macro_rules! m {
    ($dir:literal, $v:literal, $file:literal, $base:literal) => {
        Migration {
            dir: $dir,
            version: $v,
            filename: $file,
            sql: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/chroma-migrations/",
                $dir,
                "/",
                $file
            )),
            base: $base,
        }
    };
}

/// In the order Chroma applies them: sysdb, metadb, embeddings_queue.
pub const MIGRATIONS: &[Migration] = &[
    m!("sysdb", 1, "00001-collections.sqlite.sql", true),
    m!("sysdb", 2, "00002-segments.sqlite.sql", true),
    m!("sysdb", 3, "00003-collection-dimension.sqlite.sql", true),
    m!("sysdb", 4, "00004-tenants-databases.sqlite.sql", true),
    m!("sysdb", 5, "00005-remove-topic.sqlite.sql", true),
    m!(
        "sysdb",
        6,
        "00006-collection-segment-metadata.sqlite.sql",
        true
    ),
    m!("sysdb", 7, "00007-collection-config.sqlite.sql", true),
    m!("sysdb", 8, "00008-maintenance-log.sqlite.sql", true),
    m!(
        "sysdb",
        9,
        "00009-segment-collection-not-null.sqlite.sql",
        true
    ),
    m!("sysdb", 10, "00010-collection-schema.sqlite.sql", false),
    m!("metadb", 1, "00001-embedding-metadata.sqlite.sql", true),
    m!("metadb", 2, "00002-embedding-metadata.sqlite.sql", true),
    m!("metadb", 3, "00003-full-text-tokenize.sqlite.sql", true),
    m!("metadb", 4, "00004-metadata-indices.sqlite.sql", true),
    m!("metadb", 5, "00005-max-seq-id-int.sqlite.sql", true),
    m!(
        "metadb",
        6,
        "00006-metadata-array-support.sqlite.sql",
        false
    ),
    m!("embeddings_queue", 1, "00001-embeddings.sqlite.sql", true),
    m!(
        "embeddings_queue",
        2,
        "00002-embeddings-queue-config.sqlite.sql",
        true
    ),
];

const MIGRATIONS_TABLE: &str = "CREATE TABLE migrations (
                dir TEXT NOT NULL,
                version INTEGER NOT NULL,
                filename TEXT NOT NULL,
                sql TEXT NOT NULL,
                hash TEXT NOT NULL,
                PRIMARY KEY (dir, version)
            )";

/// The log configuration Chroma writes on first open: applied records are purged.
const QUEUE_CONFIG: &str =
    r#"{"automatically_purge":true,"_type":"EmbeddingsQueueConfigurationInternal"}"#;

pub fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(s.as_bytes()))
}

/// Create Chroma's schema in an empty database (inside the caller's transaction).
pub fn create(conn: &Connection) -> Result<()> {
    conn.execute_batch(MIGRATIONS_TABLE)?;
    for m in MIGRATIONS.iter().filter(|m| m.base) {
        conn.execute_batch(m.sql)
            .with_context(|| format!("Chroma migration {}/{}", m.dir, m.filename))?;
        conn.execute(
            "INSERT INTO migrations (dir, version, filename, sql, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![m.dir, m.version, m.filename, m.sql, md5_hex(m.sql)],
        )?;
    }
    conn.execute(
        "INSERT OR REPLACE INTO embeddings_queue_config (id, config_json_str) VALUES (1, ?1)",
        [QUEUE_CONFIG],
    )?;
    Ok(())
}

/// What is wrong with an existing database's schema, if anything: an unknown or altered migration
/// (a newer or different Chroma), or a table lacking a column vannactl writes.
pub fn problem(conn: &Connection) -> Result<Option<String>> {
    let has_migrations: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_migrations {
        return Ok(Some("it has no Chroma migrations table".into()));
    }
    let mut st = conn.prepare("SELECT dir, version, filename, hash FROM migrations")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (dir, version, filename, hash) = row?;
        let known = MIGRATIONS
            .iter()
            .find(|m| m.dir == dir && m.version == version);
        match known {
            None => {
                return Ok(Some(format!(
                    "it holds Chroma migration {dir}/{filename}, which this build does not know (a newer Chroma)"
                )))
            }
            Some(m) if m.filename != filename || md5_hex(m.sql) != hash => {
                return Ok(Some(format!(
                    "its Chroma migration {dir}/{filename} differs from the one this build knows"
                )))
            }
            Some(_) => {}
        }
    }
    for m in MIGRATIONS.iter().filter(|m| m.base) {
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM migrations WHERE dir = ?1 AND version = ?2",
            rusqlite::params![m.dir, m.version],
            |r| r.get(0),
        )?;
        if n == 0 {
            return Ok(Some(format!(
                "it lacks Chroma migration {}/{} (an older or unfinished directory)",
                m.dir, m.filename
            )));
        }
    }
    for (table, cols) in WRITTEN_COLUMNS {
        let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let have: Vec<String> = st
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(c) = cols.iter().find(|c| !have.iter().any(|h| h == *c)) {
            return Ok(Some(format!("its table {table} has no column {c}")));
        }
    }
    Ok(None)
}

/// Every column vannactl writes or reads, by table.
const WRITTEN_COLUMNS: &[(&str, &[&str])] = &[
    (
        "collections",
        &["id", "name", "dimension", "database_id", "config_json_str"],
    ),
    ("segments", &["id", "type", "scope", "collection"]),
    (
        "collection_metadata",
        &["collection_id", "key", "str_value"],
    ),
    (
        "embeddings_queue",
        &[
            "seq_id",
            "operation",
            "topic",
            "id",
            "vector",
            "encoding",
            "metadata",
        ],
    ),
    ("max_seq_id", &["segment_id", "seq_id"]),
    (
        "embeddings",
        &["id", "segment_id", "embedding_id", "seq_id"],
    ),
    (
        "embedding_metadata",
        &[
            "id",
            "key",
            "string_value",
            "int_value",
            "float_value",
            "bool_value",
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_schema_passes_its_own_guard_and_a_new_migration_fails_it() {
        let c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "foreign_keys", "OFF").unwrap();
        create(&c).unwrap();
        assert_eq!(problem(&c).unwrap(), None);
        // What chromadb 1.5.9 adds when it opens the directory stays writable.
        for m in MIGRATIONS.iter().filter(|m| !m.base) {
            c.execute_batch(m.sql).unwrap();
            c.execute(
                "INSERT INTO migrations VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![m.dir, m.version, m.filename, m.sql, md5_hex(m.sql)],
            )
            .unwrap();
        }
        assert_eq!(problem(&c).unwrap(), None);
        c.execute(
            "INSERT INTO migrations VALUES ('sysdb', 11, '00011-x.sqlite.sql', 'x', 'y')",
            [],
        )
        .unwrap();
        assert!(problem(&c).unwrap().unwrap().contains("00011-x"));
    }

    #[test]
    fn shipped_sql_hashes_are_chromas() {
        // The hashes chromadb 1.5.9 records for these files.
        let want = [
            (
                "00001-collections.sqlite.sql",
                "38352d725ad1c16074fac420b22b4633",
            ),
            (
                "00010-collection-schema.sqlite.sql",
                "5c3a5ac4b79df76799b4721827ed5e1d",
            ),
            (
                "00006-metadata-array-support.sqlite.sql",
                "e026f01ea92c1baa1493f4ad5ca7cfe7",
            ),
            (
                "00002-embeddings-queue-config.sqlite.sql",
                "8fbfe4ffb3e57f1d8bfdc58510a82e85",
            ),
        ];
        for (f, h) in want {
            let m = MIGRATIONS.iter().find(|m| m.filename == f).unwrap();
            assert_eq!(md5_hex(m.sql), h, "{f}");
        }
    }
}

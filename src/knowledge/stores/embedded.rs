//! The embedded knowledge store: one SQLite file (WAL) with the same collections, ids, documents and
//! embeddings as Chroma, and exact nearest-neighbour search. Used when CHROMA_URL is empty; promoted
//! into Chroma with `vannactl train push`. Kept to a single file so backups can copy it with SQLite's
//! online backup API and restore it by replacing the file.

use super::{CollectionState, Hit, Record, Store};
use crate::knowledge::items::Collection;
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    collection TEXT NOT NULL REFERENCES collections(name),
    id TEXT NOT NULL,
    document TEXT NOT NULL,
    embedding BLOB NOT NULL,
    source TEXT,
    added_at TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

pub struct EmbeddedStore {
    path: PathBuf,
    conn: Option<Connection>,
    /// Whether `conn` was opened for writing (reads use a read-only connection).
    writable: bool,
    /// Whether this run created the file (removed again if the first write fails).
    created: bool,
}

impl EmbeddedStore {
    fn apply_inner(
        &mut self,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
    ) -> Result<()> {
        let what = format!(
            "cannot write the knowledge store KNOWLEDGE_DB_PATH={}",
            self.path.display()
        );
        let conn = self.conn(true)?.expect("created");
        let tx = conn.transaction().context(what.clone())?;
        Self::write(&tx, adds, deletes).context(what.clone())?;
        tx.commit().context(what)?;
        Ok(())
    }

    /// Records, deletions and the "trained" stamp in one transaction.
    fn apply_trained_inner(
        &mut self,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
        (model, at): (&str, &str),
    ) -> Result<()> {
        let what = format!(
            "cannot write the knowledge store KNOWLEDGE_DB_PATH={}",
            self.path.display()
        );
        let conn = self.conn(true)?.expect("created");
        let tx = conn.transaction().context(what.clone())?;
        Self::write(&tx, adds, deletes).context(what.clone())?;
        crate::backup::testhook::at("train:written")?;
        Self::stamp(&tx, model, at).context(what.clone())?;
        tx.commit().context(what)?;
        Ok(())
    }

    /// A failed first write leaves no file this run created (a full disk, a read-only place).
    fn undo_created_on(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() && self.created {
            self.conn = None;
            self.created = false;
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        // Only the first write of a new file is undone; later ones fail inside their transaction.
        self.created = false;
        r
    }

    /// Nothing is opened or created until first use; reads of a missing file see an empty store.
    pub fn new(path: &Path) -> EmbeddedStore {
        EmbeddedStore {
            path: path.to_path_buf(),
            conn: None,
            writable: false,
            created: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn exists(&self) -> bool {
        self.conn.is_some() || self.path.exists()
    }

    /// Open the file, refusing files that are not a knowledge store. Reads use a read-only
    /// connection and change nothing (a read-only mount or a restored copy stays as it is); the
    /// first write reopens it for writing, creating file and schema when needed.
    fn conn(&mut self, write: bool) -> Result<Option<&mut Connection>> {
        if write && !self.writable {
            self.conn = None;
        }
        if self.conn.is_none() {
            if !self.path.exists() && !write {
                return Ok(None);
            }
            let conn = if write {
                self.created = !self.path.exists();
                let dir = crate::fsutil::parent_dir(&self.path);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create folder {}", dir.display()))?;
                Connection::open(&self.path).with_context(|| {
                    format!("cannot open knowledge store {}", self.path.display())
                })?
            } else {
                crate::target::open_readonly(&self.path).with_context(|| {
                    format!("cannot open knowledge store {}", self.path.display())
                })?
            };
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            let not_sqlite = || {
                format!(
                    "KNOWLEDGE_DB_PATH={} is not a SQLite database; it was left untouched — point KNOWLEDGE_DB_PATH at the knowledge store file",
                    self.path.display()
                )
            };
            let foreign: Option<String> = conn
                .query_row(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN \
                     ('collections','records','meta') AND name NOT LIKE 'sqlite_%' LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|_| crate::error::usage(not_sqlite()))?;
            // Someone else's file: exit 2 and untouched, like the lock and the system DB.
            if let Some(t) = foreign {
                return Err(crate::error::usage(format!(
                    "KNOWLEDGE_DB_PATH={} is not a vannactl knowledge store (it has a table {t:?}); it was left untouched — point KNOWLEDGE_DB_PATH elsewhere",
                    self.path.display()
                )));
            }
            if write {
                let what = || {
                    format!(
                        "cannot write the knowledge store KNOWLEDGE_DB_PATH={}",
                        self.path.display()
                    )
                };
                conn.pragma_update(None, "journal_mode", "WAL")
                    .with_context(what)?;
                conn.execute_batch(SCHEMA).with_context(what)?;
            } else {
                let tables: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN \
                         ('collections','records','meta')",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(|_| crate::error::usage(not_sqlite()))?;
                if tables < 3 {
                    // An empty file (or one a killed first run left): nothing stored yet.
                    return Ok(None);
                }
            }
            self.conn = Some(conn);
            self.writable = write;
        }
        Ok(self.conn.as_mut())
    }

    fn ensure_collection(conn: &Connection, c: Collection) -> Result<()> {
        conn.execute(
            "INSERT OR IGNORE INTO collections(name, created_at) VALUES (?1, ?2)",
            params![c.name(), now()],
        )?;
        Ok(())
    }

    fn insert(conn: &Connection, c: Collection, records: &[Record]) -> Result<()> {
        Self::ensure_collection(conn, c)?;
        let mut st = conn.prepare_cached(
            "INSERT INTO records(collection, id, document, embedding, source, added_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(collection, id) DO NOTHING",
        )?;
        let at = now();
        for r in records {
            st.execute(params![
                c.name(),
                r.id,
                r.document,
                to_blob(&r.embedding),
                r.source,
                at
            ])?;
        }
        Ok(())
    }

    fn write(
        conn: &Connection,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
    ) -> Result<()> {
        for (c, recs) in adds {
            Self::insert(conn, *c, recs)?;
        }
        for (c, ids) in deletes {
            Self::remove(conn, *c, ids)?;
        }
        Ok(())
    }

    fn stamp(conn: &Connection, model: &str, at: &str) -> Result<()> {
        for (k, v) in [("model", model), ("last_trained", at)] {
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )?;
        }
        Ok(())
    }

    fn remove(conn: &Connection, c: Collection, ids: &[String]) -> Result<()> {
        let mut st =
            conn.prepare_cached("DELETE FROM records WHERE collection = ?1 AND id = ?2")?;
        for id in ids {
            st.execute(params![c.name(), id])?;
        }
        Ok(())
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Chroma's `l2` distance: squared Euclidean.
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl Store for EmbeddedStore {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn state(&mut self, c: Collection) -> Result<CollectionState> {
        let Some(conn) = self.conn(false)? else {
            return Ok(CollectionState::default());
        };
        let exists = conn
            .query_row(
                "SELECT 1 FROM collections WHERE name = ?1",
                [c.name()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        let dimension: Option<i64> = conn
            .query_row(
                "SELECT length(embedding) / 4 FROM records WHERE collection = ?1 LIMIT 1",
                [c.name()],
                |r| r.get(0),
            )
            .optional()?;
        let mut st = conn.prepare("SELECT id, source FROM records WHERE collection = ?1")?;
        let ids = st
            .query_map([c.name()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(CollectionState {
            exists,
            dimension: dimension.map(|d| d as usize),
            ids,
        })
    }

    fn add(&mut self, c: Collection, records: &[Record]) -> Result<()> {
        self.apply(&[(c, records.to_vec())], &[])
    }

    fn delete(&mut self, c: Collection, ids: &[String]) -> Result<()> {
        self.apply(&[], &[(c, ids.to_vec())])
    }

    fn apply(
        &mut self,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
    ) -> Result<()> {
        let r = self.apply_inner(adds, deletes);
        self.undo_created_on(r)
    }

    fn apply_trained(
        &mut self,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
        trained: (&str, &str),
    ) -> Result<()> {
        let r = self.apply_trained_inner(adds, deletes, trained);
        self.undo_created_on(r)
    }

    fn records(&mut self, c: Collection, with_embeddings: bool) -> Result<Vec<Record>> {
        let Some(conn) = self.conn(false)? else {
            return Ok(Vec::new());
        };
        let mut st = conn.prepare(
            "SELECT id, document, source, embedding FROM records WHERE collection = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([c.name()], |r| {
            Ok(Record {
                id: r.get(0)?,
                document: r.get(1)?,
                source: r.get(2)?,
                embedding: if with_embeddings {
                    from_blob(&r.get::<_, Vec<u8>>(3)?)
                } else {
                    Vec::new()
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn query(&mut self, c: Collection, embedding: &[f32], k: usize) -> Result<Vec<Hit>> {
        let mut hits: Vec<Hit> = self
            .records(c, true)?
            .into_iter()
            .map(|r| Hit {
                distance: l2(&r.embedding, embedding),
                id: r.id,
                document: r.document,
            })
            .collect();
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        hits.truncate(k);
        Ok(hits)
    }

    fn count(&mut self, c: Collection) -> Result<usize> {
        let Some(conn) = self.conn(false)? else {
            return Ok(0);
        };
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM records WHERE collection = ?1",
            [c.name()],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    fn clear(&mut self, c: Collection) -> Result<()> {
        if !self.exists() {
            return Ok(());
        }
        let conn = self.conn(true)?.expect("exists");
        conn.execute("DELETE FROM records WHERE collection = ?1", [c.name()])?;
        Ok(())
    }

    fn set_trained(&mut self, model: &str, at: &str) -> Result<()> {
        let conn = self.conn(true)?.expect("created");
        let tx = conn.transaction()?;
        Self::stamp(&tx, model, at)?;
        tx.commit()?;
        Ok(())
    }

    fn trained(&mut self) -> Result<Option<(String, String)>> {
        let Some(conn) = self.conn(false)? else {
            return Ok(None);
        };
        let get = |k: &str| -> Result<Option<String>> {
            Ok(conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?)
        };
        Ok(match (get("model")?, get("last_trained")?) {
            (Some(m), Some(t)) => Some((m, t)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, e: Vec<f32>) -> Record {
        Record {
            id: id.into(),
            document: format!("doc {id}"),
            source: Some("t".into()),
            embedding: e,
        }
    }

    #[test]
    fn reads_of_missing_file_create_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/k.db");
        let mut s = EmbeddedStore::new(&p);
        assert!(s.state(Collection::Ddl).unwrap().ids.is_empty());
        assert_eq!(s.count(Collection::Sql).unwrap(), 0);
        assert!(!p.exists());
    }

    #[test]
    fn add_query_delete_roundtrip_exact_order() {
        let d = tempfile::tempdir().unwrap();
        let mut s = EmbeddedStore::new(&d.path().join("k.db"));
        s.add(
            Collection::Ddl,
            &[rec("a", vec![1.0, 0.0]), rec("b", vec![0.0, 1.0])],
        )
        .unwrap();
        let st = s.state(Collection::Ddl).unwrap();
        assert_eq!(st.dimension, Some(2));
        assert!(st.exists && st.ids.len() == 2);
        let hits = s.query(Collection::Ddl, &[0.8, 0.6], 5).unwrap();
        assert_eq!(hits[0].id, "a");
        assert!((hits[0].distance - 0.4).abs() < 1e-6);
        s.delete(Collection::Ddl, &["a".into()]).unwrap();
        assert_eq!(s.count(Collection::Ddl).unwrap(), 1);
        assert_eq!(
            s.records(Collection::Ddl, true).unwrap()[0].embedding,
            vec![0.0, 1.0]
        );
    }

    #[test]
    fn refuses_a_foreign_database() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("system.db");
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE users(x)")
            .unwrap();
        let err = EmbeddedStore::new(&p).count(Collection::Ddl).unwrap_err();
        assert!(
            err.to_string().contains("not a vannactl knowledge store"),
            "{err}"
        );
    }
}

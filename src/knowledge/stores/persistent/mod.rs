//! The default knowledge store: a Chroma persistent directory (`CHROMA_PATH`), the format the
//! app's `chromadb.PersistentClient` opens, so `train` needs no server. Writes go through
//! Chroma's log only (see `log`), in one transaction per run; reads see what Chroma would
//! (see `read`). A directory stamped by a Chroma this build does not know is refused, untouched.

mod hnsw;
pub mod legacy;
pub mod log;
mod pickle;
pub mod read;
pub mod schema;

use super::{CollectionState, Hit, Record, Store, MODEL_KEY, SOURCE_KEY, TRAINED_KEY};
use crate::error::fail;
use crate::knowledge::embed::DIMENSION;
use crate::knowledge::items::Collection;
use anyhow::{Context, Result};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use read::Full;

/// One collection's records with their full metadata: what a run adds there.
pub type CollectionRecords = (Collection, Vec<(String, Full)>);

/// The SQLite file inside a persistent directory.
pub const DB_FILE: &str = "chroma.sqlite3";

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

pub struct PersistentStore {
    dir: PathBuf,
    conn: Option<Connection>,
    writable: bool,
}

/// Writes of one run: adds and deletes per collection, and the optional trained stamp.
type Adds<'a> = &'a [(Collection, Vec<Record>)];
type Deletes<'a> = &'a [(Collection, Vec<String>)];

impl PersistentStore {
    /// Nothing is opened or created until first use; reads of a missing directory see nothing.
    pub fn new(dir: &Path) -> PersistentStore {
        PersistentStore {
            dir: dir.to_path_buf(),
            conn: None,
            writable: false,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.join(DB_FILE)
    }

    fn what(&self) -> String {
        format!("the Chroma directory CHROMA_PATH={}", self.dir.display())
    }

    /// Entries a persistent directory may hold: Chroma's database (and its journal files) and
    /// its segment folders (UUIDs). Anything else means the folder is someone else's.
    fn foreign_entry(&self) -> Result<Option<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.what())),
        };
        for e in entries {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let ok = name.starts_with(DB_FILE) || is_segment_folder(&e.path());
            if !ok {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    /// The connection; `None` for a read of a directory (or database) that does not exist yet.
    fn conn(&mut self, write: bool) -> Result<Option<&mut Connection>> {
        if write && !self.writable {
            self.conn = None;
        }
        if self.conn.is_none() {
            let db = self.db_path();
            if !db.exists() {
                if !write {
                    return Ok(None);
                }
                if let Some(other) = self.foreign_entry()? {
                    return Err(crate::error::usage(format!(
                        "CHROMA_PATH={} is not a Chroma persistent directory (it holds {other:?} and no {DB_FILE}); it was left untouched — point CHROMA_PATH at an empty or a Chroma folder",
                        self.dir.display()
                    )));
                }
                std::fs::create_dir_all(&self.dir)
                    .with_context(|| format!("cannot create {}", self.what()))?;
            }
            let conn = if write {
                Connection::open(&db).with_context(|| format!("cannot open {}", self.what()))?
            } else {
                crate::target::open_readonly(&db)
                    .with_context(|| format!("cannot open {}", self.what()))?
            };
            // Chroma's schema refers to a table that does not exist (`collection`), and our
            // bundled SQLite enforces foreign keys by default.
            conn.pragma_update(None, "foreign_keys", "OFF")?;
            // The app may be writing (its own `add`): wait for its transaction, do not fail.
            conn.busy_timeout(std::time::Duration::from_secs(30))?;
            self.conn = Some(conn);
            self.writable = write;
            self.check()?;
        }
        Ok(self.conn.as_mut())
    }

    /// Refuse a database with a schema this build does not know (unless it is still empty).
    fn check(&mut self) -> Result<()> {
        let what = self.what();
        let conn = self.conn.as_ref().expect("opened");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(|_| {
                crate::error::usage(format!(
                    "{} is not a SQLite database; it was left untouched — point CHROMA_PATH at a Chroma persistent directory",
                    self.db_path().display()
                ))
            })?;
        if tables == 0 {
            return Ok(());
        }
        if let Some(why) = schema::problem(conn).with_context(|| format!("cannot read {what}"))? {
            self.conn = None;
            return Err(fail(
                "chroma_schema_unknown",
                format!(
                    "{what} cannot be used: {why}; it was left untouched — use a vannactl built for that Chroma version, or point CHROMA_PATH elsewhere"
                ),
            ));
        }
        Ok(())
    }

    fn is_empty_db(conn: &Connection) -> Result<bool> {
        Ok(conn.query_row(
            "SELECT count(*) = 0 FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?)
    }

    fn catalogue(&mut self, c: Collection) -> Result<Option<(log::Catalogue, &Connection)>> {
        let Some(conn) = self.conn(false)? else {
            return Ok(None);
        };
        if Self::is_empty_db(conn)? {
            return Ok(None);
        }
        Ok(log::find(conn, c.name())?.map(|cat| (cat, &*conn)))
    }

    /// Every live record of a collection with its metadata (and vectors when asked).
    pub fn full(&mut self, c: Collection, with_vectors: bool) -> Result<BTreeMap<String, Full>> {
        Ok(self.read(c, with_vectors)?.unwrap_or_default())
    }

    /// [`PersistentStore::full`], or None when the collection does not exist.
    fn read(
        &mut self,
        c: Collection,
        with_vectors: bool,
    ) -> Result<Option<BTreeMap<String, Full>>> {
        let dir = self.dir.clone();
        let what = self.what();
        let Some((cat, conn)) = self.catalogue(c)? else {
            return Ok(None);
        };
        let dim = check_dimension(&cat, &what)?;
        // One read transaction: the log and the materialised tables from the same moment.
        conn.execute_batch("BEGIN")?;
        let r = read::collection(conn, &dir, &cat, dim, with_vectors);
        let _ = conn.execute_batch("COMMIT");
        r.map(Some)
            .with_context(|| format!("cannot read collection {} of {what}", c.name()))
    }

    /// Adds (with their full metadata), deletes and the stamp in one transaction.
    pub fn write_full(
        &mut self,
        adds: &[CollectionRecords],
        deletes: Deletes,
        stamp: Option<(&str, &str)>,
    ) -> Result<()> {
        let what = self.what();
        let created = !self.db_path().exists();
        let dir_created = !self.dir.exists();
        let r = self.write_inner(adds, deletes, stamp);
        if r.is_err() && created {
            // A failed first write leaves no database (nor folder) this run created.
            self.conn = None;
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let _ = std::fs::remove_file(self.dir.join(format!("{DB_FILE}{suffix}")));
            }
            if dir_created {
                let _ = std::fs::remove_dir(&self.dir);
            }
        }
        r.with_context(|| format!("cannot write {what}"))
    }

    fn write_inner(
        &mut self,
        adds: &[CollectionRecords],
        deletes: Deletes,
        stamp: Option<(&str, &str)>,
    ) -> Result<()> {
        let what = self.what();
        let conn = self.conn(true)?.expect("opened for writing");
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if Self::is_empty_db(&tx)? {
            schema::create(&tx)?;
        }
        let mut w = log::Writer::new(&tx)?;
        for (c, recs) in adds {
            if recs.is_empty() {
                continue;
            }
            let cat = log::ensure(&tx, c.name(), DIMENSION)?;
            check_dimension(&cat, &what)?;
            for (id, f) in recs {
                let v = f.embedding.as_deref().unwrap_or_default();
                if v.len() != DIMENSION {
                    return Err(fail(
                        "dimension_mismatch",
                        format!(
                            "record {id:?} has {} dimensions; {what} holds {DIMENSION}-dimensional embeddings",
                            v.len()
                        ),
                    ));
                }
                w.add(&cat, id, f.document.as_deref(), &f.metadata, v)?;
            }
        }
        for (c, ids) in deletes {
            if ids.is_empty() {
                continue;
            }
            let Some(cat) = log::find(&tx, c.name())? else {
                continue;
            };
            for id in ids {
                w.delete(&cat, id)?;
            }
        }
        crate::backup::testhook::at("train:written")?;
        if let Some((model, at)) = stamp {
            let cat = log::ensure(&tx, Collection::Ddl.name(), DIMENSION)?;
            log::set_collection_meta(&tx, &cat, MODEL_KEY, model)?;
            log::set_collection_meta(&tx, &cat, TRAINED_KEY, at)?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn check_dimension(cat: &log::Catalogue, what: &str) -> Result<usize> {
    match cat.dimension {
        Some(d) if d as usize != DIMENSION => Err(fail(
            "dimension_mismatch",
            format!(
                "collection {} of {what} holds {d}-dimensional embeddings, not the {DIMENSION} of all-MiniLM-L6-v2; it was left untouched — point CHROMA_PATH elsewhere",
                cat.name
            ),
        )),
        _ => Ok(DIMENSION),
    }
}

/// A folder Chroma names after a segment (a UUID): where it keeps that segment's HNSW files.
fn is_segment_folder(p: &Path) -> bool {
    p.is_dir()
        && p.file_name()
            .is_some_and(|n| uuid::Uuid::parse_str(&n.to_string_lossy()).is_ok())
}

/// The segment folders in `dir` (none when it does not exist).
pub fn segment_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut out = Vec::new();
    for e in entries {
        let p = e?.path();
        if is_segment_folder(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// vannactl's "trained" stamp on a collection (the ddl one), when both halves are there.
fn stamp(conn: &Connection, cat: &log::Catalogue) -> Result<Option<(String, String)>> {
    Ok(
        match (
            log::collection_meta(conn, cat, MODEL_KEY)?,
            log::collection_meta(conn, cat, TRAINED_KEY)?,
        ) {
            (Some(m), Some(t)) => Some((m, t)),
            _ => None,
        },
    )
}

fn source_of(m: &Map<String, Value>) -> Option<String> {
    m.get(SOURCE_KEY)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A vannactl record as Chroma stores it: the source tag is the only metadata.
pub fn to_full(r: &Record) -> (String, Full) {
    let mut metadata = Map::new();
    if let Some(s) = &r.source {
        metadata.insert(SOURCE_KEY.into(), Value::String(s.clone()));
    }
    (
        r.id.clone(),
        Full {
            document: Some(r.document.clone()),
            metadata,
            embedding: Some(r.embedding.clone()),
        },
    )
}

fn to_record(id: String, f: Full) -> Record {
    Record {
        source: source_of(&f.metadata),
        document: f.document.unwrap_or_default(),
        embedding: f.embedding.unwrap_or_default(),
        id,
    }
}

fn full_adds(adds: Adds) -> Vec<CollectionRecords> {
    adds.iter()
        .map(|(c, recs)| (*c, recs.iter().map(to_full).collect()))
        .collect()
}

impl Store for PersistentStore {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn kind(&self) -> &'static str {
        "chroma-directory"
    }

    fn state(&mut self, c: Collection) -> Result<CollectionState> {
        let read = self.read(c, false)?;
        let exists = read.is_some();
        let recs = read.unwrap_or_default();
        let dimension = if recs.is_empty() {
            None
        } else {
            Some(DIMENSION)
        };
        Ok(CollectionState {
            exists,
            dimension,
            ids: recs
                .into_iter()
                .map(|(id, f)| (id, source_of(&f.metadata)))
                .collect(),
        })
    }

    fn add(&mut self, c: Collection, records: &[Record]) -> Result<()> {
        self.apply(&[(c, records.to_vec())], &[])
    }

    fn delete(&mut self, c: Collection, ids: &[String]) -> Result<()> {
        self.apply(&[], &[(c, ids.to_vec())])
    }

    fn apply(&mut self, adds: Adds, deletes: Deletes) -> Result<()> {
        self.write_full(&full_adds(adds), deletes, None)
    }

    fn apply_trained(&mut self, adds: Adds, deletes: Deletes, trained: (&str, &str)) -> Result<()> {
        self.write_full(&full_adds(adds), deletes, Some(trained))
    }

    fn records(&mut self, c: Collection, with_embeddings: bool) -> Result<Vec<Record>> {
        Ok(self
            .full(c, with_embeddings)?
            .into_iter()
            .map(|(id, f)| to_record(id, f))
            .collect())
    }

    fn query(&mut self, c: Collection, embedding: &[f32], k: usize) -> Result<Vec<Hit>> {
        // Exact search over the stored vectors (what HNSW approximates).
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
        Ok(self.full(c, false)?.len())
    }

    fn clear(&mut self, c: Collection) -> Result<()> {
        let ids: Vec<String> = self.full(c, false)?.into_keys().collect();
        self.write_full(&[], &[(c, ids)], None)
    }

    fn set_trained(&mut self, model: &str, at: &str) -> Result<()> {
        self.write_full(&[], &[], Some((model, at)))
    }

    fn trained(&mut self) -> Result<Option<(String, String)>> {
        let Some((cat, conn)) = self.catalogue(Collection::Ddl)? else {
            return Ok(None);
        };
        stamp(conn, &cat)
    }
}

/// Everything a directory holds, read in one transaction: what a backup archives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Export {
    pub collections: BTreeMap<Collection, BTreeMap<String, Full>>,
    /// `(model, trained at)` when vannactl trained it.
    pub trained: Option<(String, String)>,
}

impl Export {
    /// Records per collection (the manifest's counts).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.collections
            .iter()
            .map(|(c, recs)| (c.name().to_string(), recs.len() as u64))
            .collect()
    }
}

/// Read every collection of the database `conn` (whose segment folders are in `dir`), vectors
/// included, refusing a schema this build does not know.
pub fn export(conn: &Connection, dir: &Path) -> Result<Export> {
    if PersistentStore::is_empty_db(conn)? {
        return Ok(Export::default());
    }
    if let Some(why) = schema::problem(conn)? {
        return Err(fail(
            "chroma_schema_unknown",
            format!("{} cannot be read: {why}", dir.display()),
        ));
    }
    conn.execute_batch("BEGIN")?;
    let r = (|| -> Result<Export> {
        let mut out = Export::default();
        for c in Collection::ALL {
            let Some(cat) = log::find(conn, c.name())? else {
                continue;
            };
            let dim = check_dimension(&cat, &dir.display().to_string())?;
            out.collections
                .insert(c, read::collection(conn, dir, &cat, dim, true)?);
            if c == Collection::Ddl {
                out.trained = stamp(conn, &cat)?;
            }
        }
        Ok(out)
    })();
    let _ = conn.execute_batch("COMMIT");
    r
}

impl PersistentStore {
    /// [`export`] of this directory (empty when it does not exist yet).
    pub fn export(&mut self) -> Result<Export> {
        let dir = self.dir.clone();
        let what = self.what();
        let Some(conn) = self.conn(false)? else {
            return Ok(Export::default());
        };
        export(conn, &dir).with_context(|| format!("cannot read {what}"))
    }

    /// Write `e` into this (new, empty) directory: the records and the stamp, in one transaction.
    /// An empty collection is not created (Vanna creates its collections when it starts).
    pub fn import(&mut self, e: &Export) -> Result<()> {
        let adds: Vec<CollectionRecords> = e
            .collections
            .iter()
            .map(|(c, recs)| {
                (
                    *c,
                    recs.iter().map(|(id, f)| (id.clone(), f.clone())).collect(),
                )
            })
            .collect();
        let stamp = e.trained.as_ref().map(|(m, t)| (m.as_str(), t.as_str()));
        self.write_full(&adds, &[], stamp)
    }

    /// Exit 2 unless this is a Chroma directory of a known schema, an empty folder or nothing:
    /// checked before a restore replaces it.
    pub fn check_role(&mut self) -> Result<()> {
        if !self.db_path().exists() {
            if let Some(other) = self.foreign_entry()? {
                return Err(crate::error::usage(format!(
                    "CHROMA_PATH={} is not a Chroma persistent directory (it holds {other:?} and no {DB_FILE}); it was left untouched — point CHROMA_PATH at an empty or a Chroma folder",
                    self.dir.display()
                )));
            }
            return Ok(());
        }
        self.conn(false).map(|_| ())
    }

    /// Segment folders no collection of the database refers to (left by a restore, which
    /// replaces the database with one whose segments are new).
    pub fn orphan_segments(&mut self) -> Result<Vec<PathBuf>> {
        let dir = self.dir.clone();
        let Some(conn) = self.conn(false)? else {
            return Ok(Vec::new());
        };
        let known: std::collections::HashSet<String> = if Self::is_empty_db(conn)? {
            Default::default()
        } else {
            conn.prepare("SELECT id FROM segments")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        Ok(segment_folders(&dir)?
            .into_iter()
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| known.contains(&*n.to_string_lossy()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, x: f32) -> Record {
        let mut embedding = vec![0.0; DIMENSION];
        embedding[0] = x;
        embedding[1] = 1.0 - x;
        Record {
            id: id.into(),
            document: format!("doc {id}"),
            source: Some("t".into()),
            embedding,
        }
    }

    #[test]
    fn reads_of_a_missing_directory_create_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kb");
        let mut s = PersistentStore::new(&p);
        assert!(s.state(Collection::Ddl).unwrap().ids.is_empty());
        assert_eq!(s.count(Collection::Sql).unwrap(), 0);
        assert!(s.trained().unwrap().is_none());
        assert!(!p.exists());
    }

    #[test]
    fn adds_deletes_and_the_stamp_round_trip_through_the_log() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PersistentStore::new(d.path());
        s.apply_trained(
            &[(Collection::Ddl, vec![rec("a", 1.0), rec("b", 0.0)])],
            &[],
            ("m", "t0"),
        )
        .unwrap();
        assert_eq!(s.trained().unwrap(), Some(("m".into(), "t0".into())));
        let hits = s
            .query(Collection::Ddl, &rec("q", 0.9).embedding, 1)
            .unwrap();
        assert_eq!(hits[0].id, "a");
        s.delete(Collection::Ddl, &["a".into()]).unwrap();
        let left = s.records(Collection::Ddl, true).unwrap();
        assert_eq!(left, vec![rec("b", 0.0)]);
        // A wrong dimension is refused before anything is written.
        let mut short = rec("c", 0.5);
        short.embedding.truncate(3);
        assert!(s.add(Collection::Ddl, &[short]).is_err());
        assert_eq!(s.count(Collection::Ddl).unwrap(), 1);
    }

    #[test]
    fn log_positions_continue_above_what_chroma_applied_after_a_purge() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PersistentStore::new(d.path());
        s.add(Collection::Sql, &[rec("a", 1.0)]).unwrap();
        let conn = Connection::open(s.db_path()).unwrap();
        // What Chroma leaves after applying and purging: the position applied, no log rows.
        conn.execute_batch(
            "INSERT INTO max_seq_id VALUES ('some-segment', 500); DELETE FROM embeddings_queue;",
        )
        .unwrap();
        drop(conn);
        let mut s = PersistentStore::new(d.path());
        s.add(Collection::Sql, &[rec("b", 0.0)]).unwrap();
        let seq: i64 = Connection::open(s.db_path())
            .unwrap()
            .query_row("SELECT max(seq_id) FROM embeddings_queue", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seq, 501);
    }

    #[test]
    fn a_foreign_folder_is_refused_and_left_alone() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        let mut s = PersistentStore::new(d.path());
        let e = s.add(Collection::Ddl, &[rec("a", 1.0)]).unwrap_err();
        assert!(
            format!("{e:#}").contains("not a Chroma persistent directory"),
            "{e:#}"
        );
        assert!(!d.path().join(DB_FILE).exists());
    }
}

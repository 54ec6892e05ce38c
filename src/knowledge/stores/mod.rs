//! Where the knowledge base lives: a Chroma server (`CHROMA_URL`) or, by default, the Chroma
//! persistent directory the app's `PersistentClient` opens (`CHROMA_PATH`). Same collections, ids,
//! documents, metadata and embeddings in both.

pub mod chroma;
pub mod persistent;

use super::items::Collection;
use crate::config::Settings;
use anyhow::Result;
use serde::Serialize;

/// One stored record. `source` is vannactl's provenance tag (None for records others wrote, e.g. the
/// app's own `add_question_sql`); only records with a source are ever pruned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub id: String,
    pub document: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip)]
    pub embedding: Vec<f32>,
}

/// A query result: Chroma's default `l2` distance (squared Euclidean; `2 - 2·cos` for unit vectors).
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub document: String,
    pub distance: f32,
}

/// What a store holds in one collection, read without changing anything.
#[derive(Debug, Clone, Default)]
pub struct CollectionState {
    pub exists: bool,
    /// Embedding dimension of the records already there (None when empty).
    pub dimension: Option<usize>,
    /// id -> vannactl source tag (None: written by someone else).
    pub ids: std::collections::BTreeMap<String, Option<String>>,
}

/// Metadata key that carries vannactl's provenance tag on each record.
pub const SOURCE_KEY: &str = "vannactl_source";
/// Keys of the "trained" stamp, on the ddl collection's metadata (Vanna ignores collection metadata).
pub const MODEL_KEY: &str = "vannactl_model";
pub const TRAINED_KEY: &str = "vannactl_trained_at";

pub trait Store {
    /// For messages: the file path or the masked URL with tenant/database.
    fn describe(&self) -> String;
    fn kind(&self) -> &'static str;
    /// Read-only look at a collection (never creates it).
    fn state(&mut self, c: Collection) -> Result<CollectionState>;
    /// Add records, creating the collection if needed (without an embedding-function configuration).
    fn add(&mut self, c: Collection, records: &[Record]) -> Result<()>;
    fn delete(&mut self, c: Collection, ids: &[String]) -> Result<()>;
    /// All records, in id order, embeddings included when asked.
    fn records(&mut self, c: Collection, with_embeddings: bool) -> Result<Vec<Record>>;
    fn query(&mut self, c: Collection, embedding: &[f32], k: usize) -> Result<Vec<Hit>>;
    fn count(&mut self, c: Collection) -> Result<usize>;
    /// Drop a collection's records (the collection itself is recreated empty).
    fn clear(&mut self, c: Collection) -> Result<()>;
    /// Record when and with which model the store was last trained.
    fn set_trained(&mut self, model: &str, at: &str) -> Result<()>;
    /// `(model, last trained)` if known.
    fn trained(&mut self) -> Result<Option<(String, String)>>;
    /// Apply all adds and deletes as one unit where the store can (the Chroma directory: one transaction).
    fn apply(
        &mut self,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
    ) -> Result<()> {
        for (c, recs) in adds {
            if !recs.is_empty() {
                self.add(*c, recs)?;
            }
        }
        for (c, ids) in deletes {
            if !ids.is_empty() {
                self.delete(*c, ids)?;
            }
        }
        Ok(())
    }

    /// [`Store::apply`] and then [`Store::set_trained`], committed together where the store can
    /// (the Chroma directory), so a killed run never leaves new records without their stamp: the
    /// next run would find nothing new and never write it.
    fn apply_trained(
        &mut self,
        adds: &[(Collection, Vec<Record>)],
        deletes: &[(Collection, Vec<String>)],
        (model, at): (&str, &str),
    ) -> Result<()> {
        self.apply(adds, deletes)?;
        crate::backup::testhook::at("train:written")?;
        self.set_trained(model, at)
    }
}

/// The store the settings select: Chroma when CHROMA_URL is set, else the persistent directory
/// (into which a store of vannactl's former format is converted first, once).
pub fn open(settings: &Settings) -> Result<Box<dyn Store>> {
    match &settings.chroma_url {
        Some(url) => Ok(Box::new(chroma::ChromaStore::connect(
            chroma::ChromaConfig::from_settings(settings, url),
        )?)),
        None => Ok(Box::new(open_directory(settings)?)),
    }
}

/// The persistent directory `CHROMA_PATH`, after converting a store of the former format.
pub fn open_directory(settings: &Settings) -> Result<persistent::PersistentStore> {
    let mut store = persistent::PersistentStore::new(&settings.chroma_path);
    if let Some(n) = persistent::legacy::convert(&settings.knowledge_db_path, &mut store)? {
        tracing::warn!(
            "converted the knowledge store {} into the Chroma directory {} ({n} records, nothing re-embedded); the old file is kept as {} until the next verified backup",
            settings.knowledge_db_path.display(),
            settings.chroma_path.display(),
            persistent::legacy::backup_path(&settings.knowledge_db_path).display()
        );
    }
    Ok(store)
}

//! The knowledge base: the embedded store (one SQLite file, treated as opaque) or a Chroma server.

use crate::config::{mask_url, Settings};
use std::path::PathBuf;

/// Which knowledge store this configuration uses.
pub enum Store {
    Embedded(PathBuf),
    Chroma { url: String },
}

impl Store {
    pub fn from_settings(s: &Settings) -> Store {
        match &s.chroma_url {
            Some(u) => Store::Chroma { url: u.clone() },
            None => Store::Embedded(s.knowledge_db_path.clone()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Store::Embedded(_) => "embedded",
            Store::Chroma { .. } => "chroma",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Embedded(p) => p.display().to_string(),
            Store::Chroma { url } => mask_url(url),
        }
    }
}

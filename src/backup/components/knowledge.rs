//! The knowledge base: the Chroma persistent directory (`CHROMA_PATH`) or a Chroma server.

use crate::config::{mask_url, Settings};
use std::path::PathBuf;

/// Which knowledge store this configuration uses.
pub enum Store {
    Directory(PathBuf),
    Chroma { url: String },
}

impl Store {
    pub fn from_settings(s: &Settings) -> Store {
        match &s.chroma_url {
            Some(u) => Store::Chroma { url: u.clone() },
            None => Store::Directory(s.chroma_path.clone()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Store::Directory(_) => super::chroma_dir::KIND,
            Store::Chroma { .. } => "chroma",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Directory(p) => p.display().to_string(),
            Store::Chroma { url } => mask_url(url),
        }
    }
}

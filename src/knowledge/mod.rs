//! The knowledge base the app retrieves from: Vanna-compatible items (DDL, documentation,
//! question/SQL pairs), MiniLM embeddings computed here, stored in a Chroma server or a Chroma persistent directory.

pub mod ddl_text;
pub mod embed;
pub mod items;
pub mod model_fetch;
pub mod ops;
pub mod sources;
pub mod stores;
pub mod train;

pub use items::{Collection, Item};
pub use ops::health_checks;

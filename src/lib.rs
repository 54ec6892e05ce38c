//! vannactl: operate the databases behind a Vanna-style text-to-SQL engine.
//!
//! Everything lives here; `main.rs` only parses, dispatches and maps errors to exit codes.

pub mod audit;
pub mod backup;
pub mod cli;
pub mod config;
pub mod error;
pub mod fsutil;
pub mod golden_copy;
pub mod health;
pub mod host;
pub mod init;
pub mod knowledge;
pub mod layout;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod ontology;
pub mod output;
pub mod pgconn;
pub mod schema;
pub mod seed;
pub mod system_db;
pub mod target;
pub mod trust;

//! Helpers shared by the end-to-end tests, each with one home: `paths` (repository, sample data,
//! shared tools, the variables `scripts/test-env.sh` exports), `cli` (running the built binary and
//! reading its output), `pg` (a throwaway PostgreSQL database), `mysql` (a throwaway MariaDB
//! database and user, a sample database loaded into it) and `sqlite` (table dumps).
//! A test crate that includes a domain support module (`system_db_support`, `backup_support`,
//! `train_support`) declares `mod common;` too: those modules build on this one.
#![allow(dead_code)]

pub mod app;
pub mod chroma_dir;
pub mod cli;
pub mod mysql;
pub mod paths;
pub mod pg;
pub mod sqlite;

use std::path::Path;

pub fn sha256_file(p: &Path) -> String {
    sha256_hex(&std::fs::read(p).unwrap())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A loopback TCP port that was free a moment ago (for servers the tests start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

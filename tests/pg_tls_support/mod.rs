//! The TLS-only PostgreSQL clusters `scripts/pg-tls-cluster.sh` prepares (scripts/test runs it):
//! where their certificates are, throwaway databases on them (made with psql, i.e. libpq, so the
//! setup does not depend on the code under test), and URLs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The password of the role `vannactl_pw` (scripts/pg-tls-cluster.sh sets it).
pub const PW_ROLE_PASSWORD: &str = "tls-role-pw-7341";

pub fn dir() -> PathBuf {
    match std::env::var_os("VANNACTL_PG_TLS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/vannactl/pg-tls")
        }
    }
}

pub fn file(name: &str) -> String {
    let p = dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/pg-tls-cluster.sh (scripts/test does)",
        p.display()
    );
    p.to_str().unwrap().to_string()
}

/// The cluster with a valid certificate.
pub fn port() -> u16 {
    std::env::var("VANNACTL_PG_TLS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5442)
}

/// The cluster whose certificate expired.
pub fn expired_port() -> u16 {
    port() + 1
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// libpq (psql) as the cluster's superuser, over TLS.
pub fn psql(db: &str, sql: &str) -> String {
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/{db}?sslmode=verify-full&sslrootcert={}",
        port(),
        file("ca.crt")
    );
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &url,
            "-c",
            sql,
        ])
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A uniquely named database on the TLS cluster, owned by `owner`, dropped with the guard.
pub struct TlsDb {
    pub name: String,
}

impl TlsDb {
    pub fn create(owner: &str) -> TlsDb {
        let name = format!(
            "vannactl_tls_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
        psql("postgres", &format!("CREATE DATABASE {name} OWNER {owner}"));
        TlsDb { name }
    }

    /// `postgres://USER@HOST:PORT/NAME?PARAMS`.
    pub fn url(&self, user: &str, host: &str, params: &str) -> String {
        format!("postgres://{user}@{host}:{}/{}?{params}", port(), self.name)
    }
}

impl Drop for TlsDb {
    fn drop(&mut self) {
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `sslmode=verify-full&sslrootcert=<the test CA>`.
pub fn verify_full() -> String {
    format!("sslmode=verify-full&sslrootcert={}", file("ca.crt"))
}

/// A copy of the client certificate and key in `dir`, the key with `mode`.
pub fn client_cert_in(dir: &std::path::Path, mode: u32) -> (String, String) {
    use std::os::unix::fs::PermissionsExt;
    let cert = dir.join("client.crt");
    let key = dir.join("client.key");
    std::fs::copy(file("client.crt"), &cert).unwrap();
    std::fs::copy(file("client.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
    (
        cert.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    )
}

/// The base64 body lines of a PEM file: none may appear in any output.
pub fn pem_body_lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(String::from)
        .collect()
}

//! What the libpq child tools (pg_dump, pg_restore, psql) get: the same URL and environment,
//! with vannactl as their fallback application name, and `sslrootcert=system` spelled for libpq
//! before 16.

use super::{process_env, split_query, PgConn, APPLICATION_NAME};
use std::path::PathBuf;

impl PgConn {
    /// The URL for libpq child tools: the password left out (it goes in `PGPASSWORD`), and
    /// `fallback_application_name=vannactl` added unless the URL names one, so an explicit
    /// `application_name` or `PGAPPNAME` still wins as in libpq.
    pub fn child_url(url_without_password: &str) -> String {
        if url_without_password.contains("fallback_application_name=") {
            return url_without_password.to_string();
        }
        let sep = if url_without_password.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{url_without_password}{sep}fallback_application_name={APPLICATION_NAME}")
    }
}

/// The OS trust store as one file: `SSL_CERT_FILE`, else where the distributions put it.
pub fn system_bundle() -> Option<PathBuf> {
    if let Some(f) = process_env("SSL_CERT_FILE") {
        return Some(PathBuf::from(f));
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// libpq before 16 reads `sslrootcert=system` as a file named "system". For such child tools,
/// the URL (or `PGSSLROOTCERT`) names the bundle file instead, with the `verify-full` that
/// `system` implies: the same check, spelled for older libpq. Returns the child URL and the
/// variables to set for it.
pub fn system_roots_for_old_libpq(
    child_url: &str,
    bundle: &std::path::Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> (String, Vec<(&'static str, String)>) {
    let file = bundle.display().to_string();
    // libpq decodes %XX only (a `+` stays a `+`), so everything but plain characters is %XX.
    let encoded: String = file
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut vars = Vec::new();
    let (base, params) = split_query(child_url);
    let mut segments: Vec<String> = params.iter().map(|(_, _, raw)| raw.to_string()).collect();
    match params.iter().position(|(k, _, _)| k == "sslrootcert") {
        Some(i) => segments[i] = format!("sslrootcert={encoded}"),
        None => vars.push(("PGSSLROOTCERT", file)),
    }
    if !params.iter().any(|(k, _, _)| k == "sslmode") && env("PGSSLMODE").is_none() {
        segments.push("sslmode=verify-full".into());
    }
    (format!("{base}?{}", segments.join("&")), vars)
}

//! Whom TLS clients other than PostgreSQL's trust (PostgreSQL follows libpq: see
//! [`crate::pgconn`]): the operating system's store plus, additively, the PEM files named by
//! `SSL_CERT_FILE` (and for S3 `AWS_CA_BUNDLE`), so a private CA (in-house MinIO, a Chroma behind
//! a company proxy, a Redis with its own CA) works without giving up the public ones. And TLS
//! failures in words: which check failed and what to set.

use crate::error::usage;
use anyhow::Result;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A CA file named by a variable (kept for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFile {
    pub var: &'static str,
    pub path: PathBuf,
}

impl CaFile {
    pub fn new(var: &'static str, path: impl Into<PathBuf>) -> CaFile {
        CaFile {
            var,
            path: path.into(),
        }
    }
}

/// Where OpenSSL-based tools find the system bundle, most common first (the list openssl-probe
/// uses). Read directly rather than through `rustls_native_certs::load_native_certs`, which
/// replaces the system store with `SSL_CERT_FILE` when that is set: here it is added to it.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/openssl/cert.pem",
];
const SYSTEM_DIR: &str = "/etc/ssl/certs";

/// The operating system's trust store (empty where none is installed), read once.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = match SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
            Some(file) => rustls_native_certs::load_certs_from_paths(Some(file), None),
            None => rustls_native_certs::load_certs_from_paths(None, Some(Path::new(SYSTEM_DIR))),
        };
        usable(found.certs)
    })
}

/// Only certificates rustls can use as trust anchors: one odd entry in a system bundle must not
/// make a client refuse the whole store.
fn usable(certs: Vec<CertificateDer<'static>>) -> Vec<CertificateDer<'static>> {
    certs
        .into_iter()
        .filter(|c| rustls::RootCertStore::empty().add(c.clone()).is_ok())
        .collect()
}

/// The certificates of a CA file; a file that cannot be read or holds no PEM certificate is a
/// configuration error (exit 2) naming the variable and path.
pub fn read_ca_file(f: &CaFile) -> Result<Vec<CertificateDer<'static>>> {
    let shown = format!("{}={}", f.var, f.path.display());
    let bytes = std::fs::read(&f.path).map_err(|e| {
        usage(format!(
            "{shown}: cannot read the CA file ({e}); give a PEM file of CA certificates"
        ))
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            usage(format!(
                "{shown} is not a PEM file of CA certificates ({e})"
            ))
        })?;
    let certs = usable(certs);
    if certs.is_empty() {
        return Err(usage(format!(
            "{shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate that signed the server's"
        )));
    }
    Ok(certs)
}

/// The system store plus every CA file. `None` when both are empty (no system store installed and
/// no file named): the caller then keeps its client's built-in list.
pub fn roots(extra: &[CaFile]) -> Result<Option<Vec<CertificateDer<'static>>>> {
    let mut all = system_roots().to_vec();
    for f in extra {
        all.extend(read_ca_file(f)?);
    }
    Ok((!all.is_empty()).then_some(all))
}

/// TLS settings for a ureq agent: [`roots`] as its trust anchors, or ureq's compiled-in Mozilla
/// list where the system has no store and no file is named. Read only for an `https://` service.
pub fn ureq_tls(extra: &[CaFile]) -> Result<ureq::tls::TlsConfig> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let roots = match roots(extra)? {
        Some(certs) => RootCerts::new_with_certs(
            &certs
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect::<Vec<_>>(),
        ),
        None => RootCerts::WebPki,
    };
    Ok(TlsConfig::builder().root_certs(roots).build())
}

/// [`roots`] as one PEM text, for clients that take their roots that way (the redis crate).
pub fn roots_pem(extra: &[CaFile]) -> Result<Option<Vec<u8>>> {
    use base64::Engine;
    Ok(roots(extra)?.map(|certs| {
        let mut out = String::new();
        for c in certs {
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(c.as_ref());
            for line in b64.as_bytes().chunks(64) {
                out.push_str(std::str::from_utf8(line).unwrap_or_default());
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out.into_bytes()
    }))
}

/// Clients that build their rustls configuration with `ClientConfig::builder()` (redis, mysql)
/// need a process-wide provider: ring, as everywhere else in this binary.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether `host:port` answers a TLS handshake (any certificate accepted: this only asks what the
/// server speaks), within `wait` for the connection and again for the handshake. For a plain-text
/// client that a TLS-only port dropped, so its message can say so.
pub fn speaks_tls(host: &str, port: u16, wait: std::time::Duration) -> bool {
    use std::net::ToSocketAddrs;
    let Some(addr) = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        return false;
    };
    let Ok(mut tcp) = std::net::TcpStream::connect_timeout(&addr, wait) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(wait));
    let _ = tcp.set_write_timeout(Some(wait));
    let Ok(config) =
        crate::pgconn::tls::client_config(None, false, None, std::sync::Arc::default())
    else {
        return false;
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(host.to_string()) else {
        return false;
    };
    let Ok(mut conn) = rustls::ClientConnection::new(std::sync::Arc::new(config), name) else {
        return false;
    };
    while conn.is_handshaking() {
        match conn.complete_io(&mut tcp) {
            Ok((0, 0)) => return false,
            Ok(_) => {}
            // A TLS alert is a TLS server too (one that wants, say, a client certificate).
            Err(e) => return e.to_string().contains("alert"),
        }
    }
    true
}

/// What to set when a certificate is not trusted, per service.
pub const HINT_HTTPS: &str = "set SSL_CERT_FILE to the CA certificate that signed it";
pub const HINT_S3: &str =
    "set AWS_CA_BUNDLE (or SSL_CERT_FILE) to the CA certificate that signed it";
pub const HINT_MYSQL: &str = "set ssl-ca in the URL to the CA certificate that signed it";

/// A TLS failure anywhere in an error (its chain, or an I/O error wrapping it), in words: one
/// clause, without the URL (callers add it masked). `None` when the error is not about TLS.
/// `hint` says what to set when the certificate is not trusted ([`HINT_HTTPS`], ...).
pub fn explain(err: &(dyn std::error::Error + 'static), hint: &str) -> Option<String> {
    let mut text = String::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        text.push_str(&e.to_string());
        text.push('\n');
        // An io::Error's source skips its own payload (where rustls puts its error).
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            text.push_str(&inner.to_string());
            text.push('\n');
        }
        cur = e.source();
    }
    explain_text(&text, hint)
}

/// [`explain`] on an error's text: the crates' TLS errors are rustls errors, whose words are
/// stable, and some (redis) keep only their text along the chain.
pub fn explain_text(text: &str, hint: &str) -> Option<String> {
    const INVALID: &str = "invalid peer certificate: ";
    if let Some(i) = text.find(INVALID) {
        let what = text[i + INVALID.len()..].lines().next().unwrap_or("");
        return Some(certificate(what, hint));
    }
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        return Some(
            "the server did not answer in TLS: it may speak plain text on this port (check the URL's scheme and port)"
                .into(),
        );
    }
    if text.contains("received fatal alert") || text.contains("peer is incompatible") {
        let line = text
            .lines()
            .find(|l| l.contains("alert") || l.contains("incompatible"))
            .unwrap_or("");
        return Some(format!(
            "the TLS handshake failed: {}",
            crate::net::excerpt(line)
        ));
    }
    None
}

/// rustls' words for a refused certificate (`CertificateError`'s Display or Debug) as ours.
fn certificate(what: &str, hint: &str) -> String {
    const NAME: &str = "certificate not valid for name ";
    if let Some(rest) = what.strip_prefix(NAME) {
        // `"host"; certificate is only valid for DnsName("a"), IpAddress(1.2.3.4) or …`
        let (host, rest) = rest.split_once(';').unwrap_or((rest, ""));
        let valid = rest
            .trim()
            .strip_prefix("certificate is only valid for ")
            .map(|names| {
                names
                    .split(", ")
                    .flat_map(|n| n.split(" or "))
                    .map(plain_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "no names".into());
        return format!(
            "host name {} does not match the certificate ({valid}): connect by a name it holds",
            host.trim().trim_matches('"')
        );
    }
    if what.starts_with("NotValidForName") {
        return "host name does not match the certificate: connect by a name it holds".into();
    }
    if what.starts_with("certificate expired") || what.starts_with("Expired") {
        let when = after_unix(what, "not valid after ")
            .map(|d| format!(" on {d}"))
            .unwrap_or_default();
        return format!("certificate expired{when}: renew it on the server");
    }
    if what.starts_with("certificate not valid yet") || what.starts_with("NotValidYet") {
        return "certificate not valid yet: check the clocks of this machine and the server".into();
    }
    if what.starts_with("UnknownIssuer") || what.starts_with("BadSignature") {
        return format!("certificate not trusted: {hint}");
    }
    format!(
        "certificate refused ({}): {hint}",
        crate::net::excerpt(what)
    )
}

/// `DnsName("a")` → `a`, `IpAddress(1.2.3.4)` → `1.2.3.4` (webpki's debug form of a name).
fn plain_name(n: &str) -> &str {
    n.strip_prefix("DnsName(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .or_else(|| {
            n.strip_prefix("IpAddress(")
                .and_then(|r| r.strip_suffix(')'))
        })
        .unwrap_or(n)
}

/// The date of `… {marker}<unix seconds> …` as `YYYY-MM-DD HH:MM:SS UTC`.
fn after_unix(text: &str, marker: &str) -> Option<String> {
    let i = text.find(marker)? + marker.len();
    let secs: i64 = text[i..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let t = chrono::DateTime::from_timestamp(secs, 0)?;
    Some(t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_words_become_ours() {
        let e = |t: &str| explain_text(t, HINT_HTTPS).unwrap();
        assert_eq!(
            e("io: invalid peer certificate: UnknownIssuer"),
            "certificate not trusted: set SSL_CERT_FILE to the CA certificate that signed it"
        );
        let m = e("invalid peer certificate: certificate not valid for name \"db.example\"; certificate is only valid for DnsName(\"localhost\"), DnsName(\"x.example\") or IpAddress(127.0.0.1)");
        assert_eq!(
            m,
            "host name db.example does not match the certificate (localhost, x.example, 127.0.0.1): connect by a name it holds"
        );
        let m = e("invalid peer certificate: certificate expired: verification time 1765000000 (UNIX), but certificate is not valid after 1764900000 (100000 seconds ago)");
        assert_eq!(
            m,
            "certificate expired on 2025-12-05 02:00:00 UTC: renew it on the server"
        );
        assert!(e("received corrupt message of type InvalidContentType")
            .contains("did not answer in TLS"));
        assert!(explain_text("connection refused", HINT_HTTPS).is_none());
    }

    #[test]
    fn explain_looks_inside_io_errors() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let m = explain(&io, HINT_S3).unwrap();
        assert!(
            m.starts_with("certificate not trusted: set AWS_CA_BUNDLE"),
            "{m}"
        );
    }

    #[test]
    fn ca_file_errors_name_the_variable_and_path() {
        let d = tempfile::tempdir().unwrap();
        let missing = CaFile::new("SSL_CERT_FILE", d.path().join("nope.pem"));
        let m = crate::error::message(&read_ca_file(&missing).unwrap_err());
        assert!(m.starts_with("SSL_CERT_FILE="), "{m}");
        assert!(m.contains("nope.pem: cannot read the CA file"), "{m}");
        let p = d.path().join("ca.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let bad = CaFile::new("AWS_CA_BUNDLE", &p);
        let e = read_ca_file(&bad).unwrap_err();
        assert_eq!(
            crate::error::classify(&e).1,
            crate::error::ExitStatus::Usage
        );
        assert!(crate::error::message(&e).contains("holds no PEM certificate"));
        std::fs::write(&p, crate::pgconn::cert::TEST_PEM).unwrap();
        assert_eq!(read_ca_file(&bad).unwrap().len(), 1);
        // Additive: the file's certificate comes on top of the system store.
        let all = roots(&[bad]).unwrap().unwrap();
        assert_eq!(all.len(), system_roots().len() + 1);
        let pem = roots_pem(&[CaFile::new("SSL_CERT_FILE", &p)])
            .unwrap()
            .unwrap();
        let back = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(back, all);
    }
}

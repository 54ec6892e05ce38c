//! Connection failures in TLS terms: one line, the masked URL, what to do. What is not about TLS
//! (authentication, a missing database, an unreachable host) goes back as the driver's error.

use super::{cert, tls, ConnectError, PgConn};
use crate::error::fail;

impl PgConn {
    pub(super) fn explained(&self, what: String) -> ConnectError {
        ConnectError::Explained(fail(
            "db_tls",
            format!("{} {}: {what}", self.var, self.masked),
        ))
    }

    /// A connection without TLS that a `hostssl`-only server refused.
    pub(super) fn explain_plain(&self, e: postgres::Error) -> ConnectError {
        if is_hostssl_refusal(&e) {
            return self.explained(format!(
                "the server requires TLS (hostssl only): use sslmode=require or stricter (now sslmode={})",
                self.mode.as_str()
            ));
        }
        ConnectError::Driver(e)
    }

    /// A TLS attempt: refused before TLS, the certificate refused (with why, from the verifier),
    /// or the server wanting a client certificate.
    pub(super) fn explain_tls(
        &self,
        e: postgres::Error,
        rejected: &tls::Rejection,
    ) -> ConnectError {
        if let Some(db) = e.as_db_error() {
            if db.message().contains("requires a valid client certificate") {
                let missing = if self.cert.exists() {
                    String::new()
                } else {
                    format!(" ({} does not exist)", self.cert.display())
                };
                return ConnectError::Explained(fail(
                    "db_auth_failed",
                    format!(
                        "{} {}: the server requires a client certificate: set sslcert and sslkey (or PGSSLCERT and PGSSLKEY){missing}",
                        self.var, self.masked
                    ),
                ));
            }
            return ConnectError::Driver(e);
        }
        let text = e.to_string();
        if !text.starts_with("error performing TLS handshake") {
            return ConnectError::Driver(e);
        }
        let cause = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| text.clone());
        if cause.contains("server does not support TLS") {
            return self.explained(format!(
                "server does not support TLS but sslmode={}: enable ssl on the server, or connect with sslmode=prefer (only on a network you trust)",
                self.mode.as_str()
            ));
        }
        let seen = rejected.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((err, der)) = seen {
            return self.explained(self.certificate_refused(&err, &der));
        }
        self.explained(format!(
            "TLS handshake with {}:{} failed: {cause}",
            self.host(),
            self.port()
        ))
    }

    fn certificate_refused(&self, err: &rustls::Error, der: &[u8]) -> String {
        use rustls::CertificateError as C;
        let n = cert::names(der);
        let subject = n
            .subject_cn
            .as_deref()
            .map(|c| format!(" (CN={c})"))
            .unwrap_or_default();
        match err {
            rustls::Error::InvalidCertificate(C::NotValidForName)
            | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => format!(
                "host name {} does not match the certificate ({}): connect by a name it holds, or use sslmode=verify-ca to check only the CA",
                self.host(),
                n.hosts()
            ),
            rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => format!(
                "the server's certificate{subject} expired on {}: renew it on the server",
                n.not_after.as_deref().unwrap_or("an earlier date")
            ),
            rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => format!(
                "the server's certificate{subject} is not valid yet: check the clocks of this machine and the server"
            ),
            rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => format!(
                "certificate not trusted (issuer CN={}) by {}: set sslrootcert to the CA certificate that signed the server's",
                n.issuer_cn.as_deref().unwrap_or("?"),
                self.root.describe()
            ),
            other => format!("the server's certificate{subject} was refused: {other}"),
        }
    }
}

fn is_hostssl_refusal(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        let m = db.message();
        m.contains("no pg_hba.conf entry") && (m.contains("no encryption") || m.contains("SSL off"))
    })
}

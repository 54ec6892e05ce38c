//! TLS for MySQL/MariaDB targets, with the names and meaning of MySQL's own clients: the URL
//! parameters `ssl-mode` (`DISABLED`, `PREFERRED` = the default, `REQUIRED`, `VERIFY_CA`,
//! `VERIFY_IDENTITY`) and `ssl-ca`; `ssl-ca` without `ssl-mode` means `VERIFY_CA`. The `mysql`
//! crate knows neither, so they are taken out of the URL before it parses the rest.

use crate::error::usage;
use anyhow::Result;
use mysql::SslOpts;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    /// TLS without verification when the server offers it, plain text otherwise.
    Preferred,
    /// TLS, certificate not verified.
    Required,
    /// TLS, certificate chain verified (not the host name).
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyIdentity,
}

impl SslMode {
    fn parse(v: &str) -> Option<SslMode> {
        Some(match v.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// What the URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub mode: SslMode,
    pub ca: Option<PathBuf>,
    /// Neither parameter was given: the crate's own TLS parameters (if any) stay in charge.
    pub defaulted: bool,
}

/// Take `ssl-mode` and `ssl-ca` (or `ssl_mode`, `ssl_ca`, as option files spell them) out of a
/// `mysql://` URL. `masked` names the URL in errors; an unknown mode is exit 2.
pub fn split(url: &str, masked: &str) -> Result<(String, Tls)> {
    let mut tls = Tls {
        mode: SslMode::Preferred,
        ca: None,
        defaulted: true,
    };
    // Not a URL `url` can read: the crate reports it.
    let Ok(mut u) = url::Url::parse(url) else {
        return Ok((url.to_string(), tls));
    };
    if u.query().is_none() {
        return Ok((url.to_string(), tls));
    }
    let mut mode = None;
    let mut rest = Vec::new();
    for (k, v) in u.query_pairs() {
        match k.to_ascii_lowercase().replace('_', "-").as_str() {
            "ssl-mode" => {
                mode = Some(SslMode::parse(&v).ok_or_else(|| {
                    usage(format!(
                        "TARGET_DATABASE_URL={masked}: ssl-mode={v:?} is not a mode; use DISABLED, PREFERRED, \
                         REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
                    ))
                })?)
            }
            "ssl-ca" if !v.is_empty() => tls.ca = Some(PathBuf::from(v.into_owned())),
            "ssl-ca" => {}
            _ => rest.push((k.into_owned(), v.into_owned())),
        }
    }
    tls.defaulted = mode.is_none() && tls.ca.is_none();
    tls.mode = match (mode, &tls.ca) {
        (Some(m), _) => m,
        // As MySQL's clients: a CA alone asks for verification.
        (None, Some(_)) => SslMode::VerifyCa,
        (None, None) => SslMode::Preferred,
    };
    if rest.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((u.to_string(), tls))
}

impl Tls {
    /// The crate's TLS options for the first attempt (`None`: plain text). The CA file is checked
    /// here, so a missing or non-PEM file is a configuration error naming it, not a failed login.
    pub fn ssl_opts(&self, masked: &str) -> Result<Option<SslOpts>> {
        if let Some(ca) = &self.ca {
            crate::trust::read_ca_file(&crate::trust::CaFile::new("ssl-ca", ca)).map_err(|e| {
                usage(format!(
                    "TARGET_DATABASE_URL={masked}: {}",
                    crate::error::message(&e)
                ))
            })?;
        }
        let unverified = unverified();
        let with_ca = |o: SslOpts| match &self.ca {
            Some(ca) => o.with_root_cert_path(Some(ca.clone())),
            None => o,
        };
        Ok(match self.mode {
            SslMode::Disabled => None,
            SslMode::Preferred | SslMode::Required => Some(unverified),
            SslMode::VerifyCa => {
                Some(with_ca(SslOpts::default()).with_danger_skip_domain_validation(true))
            }
            SslMode::VerifyIdentity => Some(with_ca(SslOpts::default())),
        })
    }
}

/// TLS that verifies nothing (PREFERRED, REQUIRED).
pub fn unverified() -> SslOpts {
    SslOpts::default()
        .with_danger_accept_invalid_certs(true)
        .with_danger_skip_domain_validation(true)
}

/// A server that refused the plain-text login and accepts it over TLS.
pub fn requires_tls(tls: &Tls) -> String {
    format!(
        "the server requires TLS (require_secure_transport=ON): use ssl-mode=REQUIRED or stricter (now ssl-mode={})",
        tls.mode.as_str()
    )
}

/// A connection failure in TLS terms, one clause without the URL; `None` when it is not about TLS.
pub fn explain(e: &mysql::Error, tls: &Tls) -> Option<String> {
    match e {
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => {
            return Some(format!(
                "server does not support TLS but ssl-mode={}: enable TLS on the server (ssl_cert, ssl_key), \
                 or use ssl-mode=PREFERRED (only on a network you trust)",
                tls.mode.as_str()
            ))
        }
        // MySQL's ER_SECURE_TRANSPORT_REQUIRED (3159); MariaDB answers "access denied" instead
        // (see `requires_tls`' caller).
        mysql::Error::MySqlError(s) if s.message.contains("insecure transport") => {
            return Some(requires_tls(tls))
        }
        _ => {}
    }
    let hint = if tls.ca.is_some() {
        "ssl-ca does not hold the CA certificate that signed it; set ssl-ca to that CA"
    } else {
        crate::trust::HINT_MYSQL
    };
    crate::trust::explain(e, hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_ok(url: &str) -> (String, Tls) {
        split(url, "masked").unwrap()
    }

    #[test]
    fn parameters_are_taken_out_and_mean_what_mysql_means() {
        let (u, t) = split_ok("mysql://u:p@h:3306/db");
        assert_eq!(u, "mysql://u:p@h:3306/db");
        assert_eq!((t.mode, t.defaulted), (SslMode::Preferred, true));

        let (u, t) = split_ok("mysql://u:p@h/db?ssl-ca=/etc/ca.pem&tcp_connect_timeout_ms=5");
        assert_eq!(u, "mysql://u:p@h/db?tcp_connect_timeout_ms=5");
        assert_eq!(t.mode, SslMode::VerifyCa);
        assert_eq!(t.ca.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
        assert!(!t.defaulted);

        let (u, t) = split_ok("mysql://h/db?SSL-MODE=verify_identity&ssl-ca=%2Ftmp%2Fca.pem");
        assert_eq!(u, "mysql://h/db");
        assert_eq!(t.mode, SslMode::VerifyIdentity);
        assert_eq!(t.ca.as_deref(), Some(std::path::Path::new("/tmp/ca.pem")));

        let (_, t) = split_ok("mysql://h/db?ssl_mode=Disabled");
        assert_eq!(t.mode, SslMode::Disabled);

        let e = split("mysql://h/db?ssl-mode=sometimes", "mysql://h/db?…").unwrap_err();
        assert_eq!(
            crate::error::classify(&e).1,
            crate::error::ExitStatus::Usage
        );
        assert!(crate::error::message(&e).contains("ssl-mode=\"sometimes\" is not a mode"));
    }

    #[test]
    fn modes_set_the_crates_options() {
        let t = |mode| Tls {
            mode,
            ca: None,
            defaulted: false,
        };
        assert!(t(SslMode::Disabled).ssl_opts("m").unwrap().is_none());
        let o = t(SslMode::Required).ssl_opts("m").unwrap().unwrap();
        assert!(o.accept_invalid_certs() && o.skip_domain_validation());
        let o = t(SslMode::VerifyCa).ssl_opts("m").unwrap().unwrap();
        assert!(!o.accept_invalid_certs() && o.skip_domain_validation());
        let o = t(SslMode::VerifyIdentity).ssl_opts("m").unwrap().unwrap();
        assert!(!o.accept_invalid_certs() && !o.skip_domain_validation());
        let missing = Tls {
            mode: SslMode::VerifyCa,
            ca: Some("/nonexistent/ca.pem".into()),
            defaulted: false,
        };
        let e = missing.ssl_opts("mysql://h/db").unwrap_err();
        assert_eq!(
            crate::error::classify(&e).1,
            crate::error::ExitStatus::Usage
        );
        let m = crate::error::message(&e);
        assert!(
            m.starts_with("TARGET_DATABASE_URL=mysql://h/db: ssl-ca=/nonexistent/ca.pem"),
            "{m}"
        );
    }
}

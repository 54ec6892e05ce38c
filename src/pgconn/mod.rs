//! The one way vannactl opens a PostgreSQL connection, with libpq's meaning: the URL's parameters
//! and, where it is silent, libpq's environment variables (`PGSSLMODE`, `PGSSLROOTCERT`,
//! `PGSSLCERT`, `PGSSLKEY`, `PGPASSWORD`, `PGPASSFILE`, `PGCONNECT_TIMEOUT`, `PGAPPNAME`, `PGUSER`,
//! `PGHOST`, `PGPORT`, `PGDATABASE`), the files libpq reads (`~/.pgpass`,
//! `~/.postgresql/root.crt`, `postgresql.crt`, `postgresql.key`), and TLS through rustls. The
//! child tools (pg_dump, pg_restore, psql) are libpq themselves: they get the same URL and the
//! same environment, so both halves of a backup connect alike.
//!
//! Errors that are about TLS are explained here, in TLS terms, one line with the masked URL;
//! everything else goes back to the caller as the driver's error to classify.

pub(crate) mod cert;
mod child;
mod explain;
mod pgpass;
pub(crate) mod tls;

pub use child::{system_bundle, system_roots_for_old_libpq};

pub use tls::RootSource;

use crate::config::mask_url;
use crate::error::usage;
use postgres::config::{Host, SslMode as DriverMode};
use postgres::{Client, Config};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`, all six.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// The name child tools and `pg_stat_activity` show when the operator set none.
pub const APPLICATION_NAME: &str = "vannactl";

/// Parameters vannactl reads itself; the rest of the URL goes to the driver as it is.
const OWN: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "passfile",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
];

/// libpq parameters that change nothing here: rustls always sends SNI for a host name and
/// never compresses; GSSAPI encryption is not attempted (only `gssencmode=require` would need it).
const IGNORED: &[&str] = &["sslsni", "sslcompression"];

/// libpq parameters that would change security but that vannactl cannot honour: refused rather
/// than silently dropped.
const UNSUPPORTED: &[&str] = &[
    "sslcrl",
    "sslcrldir",
    "sslcertmode",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "requirepeer",
    "require_auth",
    "service",
    "krbsrvname",
    "gsslib",
];

/// A PostgreSQL URL resolved as libpq would resolve it, ready to connect.
#[derive(Clone)]
pub struct PgConn {
    /// The URL for messages: password masked.
    pub masked: String,
    /// Which setting the URL came from (`DATABASE_URL`), for messages.
    var: &'static str,
    cfg: Config,
    pub mode: SslMode,
    root: RootSource,
    cert: PathBuf,
    key: PathBuf,
    timeout: Option<Duration>,
}

/// Why a connection failed.
pub enum ConnectError {
    /// Already explained (TLS, certificates, keys, a TLS-only server): one line, masked URL.
    Explained(anyhow::Error),
    /// Anything else (authentication, missing database, unreachable host): the caller's words.
    Driver(postgres::Error),
}

impl ConnectError {
    /// The explained error as it is, or the driver's through `other`.
    pub fn or_else(self, other: impl FnOnce(postgres::Error) -> anyhow::Error) -> anyhow::Error {
        match self {
            ConnectError::Explained(e) => e,
            ConnectError::Driver(e) => other(e),
        }
    }
}

fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

impl PgConn {
    /// Resolve `url` (from the setting `var`) with the process environment. An invalid value is
    /// a usage error (exit 2).
    pub fn parse(url: &str, var: &'static str) -> anyhow::Result<PgConn> {
        PgConn::parse_with(url, var, &process_env)
    }

    pub fn parse_with(
        url: &str,
        var: &'static str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<PgConn> {
        let masked = mask_url(url);
        let bad = |what: String| usage(format!("{var} {masked}: {what}"));
        let (base, params) = split_query(url);
        let mut own = std::collections::HashMap::new();
        let mut kept = Vec::new();
        for (key, value, raw) in params {
            let k = key.as_str();
            let ignored = IGNORED.contains(&k)
                || (k == "gssencmode" && value != "require")
                || (k == "sslpassword" && value.is_empty());
            let refused = UNSUPPORTED.contains(&k) || k == "gssencmode" || k == "sslpassword";
            if OWN.contains(&k) {
                own.insert(key, value);
            } else if refused && !ignored {
                return Err(bad(format!(
                    "the parameter {key} is not supported by vannactl; remove it (docs/connecting.md)"
                )));
            } else if !ignored {
                kept.push(raw);
            }
        }
        let rebuilt = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut cfg = Config::from_str(&rebuilt)
            .map_err(|e| usage(format!("{var} {masked} is not a valid PostgreSQL URL: {e}")))?;
        let param = |k: &str, envvar: &str| own.get(k).cloned().or_else(|| env(envvar));

        // Where the URL is silent, libpq's variables, then libpq's defaults.
        if cfg.get_user().is_none() {
            let user = env("PGUSER").or_else(os_user).ok_or_else(|| {
                bad(
                    "no user name: put one in the URL (postgres://USER@HOST/DB) or set PGUSER"
                        .into(),
                )
            })?;
            cfg.user(&user);
        }
        if cfg.get_hosts().is_empty() && cfg.get_hostaddrs().is_empty() {
            let hosts = env("PGHOST").unwrap_or_else(|| pgpass_socket_dir().into());
            for h in hosts.split(',') {
                if h.starts_with('/') {
                    cfg.host_path(h);
                } else {
                    cfg.host(h);
                }
            }
        }
        if cfg.get_ports().is_empty() {
            if let Some(p) = env("PGPORT") {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| bad(format!("PGPORT={p} is not a port number")))?;
                cfg.port(port);
            }
        }
        if cfg.get_dbname().is_none() {
            if let Some(d) = env("PGDATABASE") {
                cfg.dbname(&d);
            }
        }
        let app = own
            .get("application_name")
            .cloned()
            .or_else(|| env("PGAPPNAME"))
            .or_else(|| own.get("fallback_application_name").cloned())
            .unwrap_or_else(|| APPLICATION_NAME.into());
        cfg.application_name(&app);
        let timeout = match param("connect_timeout", "PGCONNECT_TIMEOUT") {
            Some(t) => {
                let secs: i64 = t.trim().parse().map_err(|_| {
                    bad(format!(
                        "connect_timeout={t} is not a whole number of seconds"
                    ))
                })?;
                // libpq: zero or less waits forever; less than 2 s is raised to 2 s.
                (secs > 0).then(|| Duration::from_secs(secs.max(2) as u64))
            }
            None => None,
        };

        let home = env("HOME").map(PathBuf::from);
        let in_home = |rel: &str| match &home {
            Some(h) => h.join(rel),
            None => PathBuf::from(rel),
        };
        let root = match param("sslrootcert", "PGSSLROOTCERT") {
            Some(s) if s == "system" => RootSource::System,
            Some(p) => RootSource::File(PathBuf::from(p)),
            None => RootSource::File(in_home(".postgresql/root.crt")),
        };
        let mode = match param("sslmode", "PGSSLMODE") {
            Some(m) => SslMode::parse(&m).ok_or_else(|| {
                bad(format!(
                    "sslmode={m} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            })?,
            None if root == RootSource::System => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        if root == RootSource::System && mode != SslMode::VerifyFull {
            return Err(bad(format!(
                "weak sslmode {} may not be used with sslrootcert=system (use verify-full)",
                mode.as_str()
            )));
        }
        let cert = param("sslcert", "PGSSLCERT")
            .map(PathBuf::from)
            .unwrap_or_else(|| in_home(".postgresql/postgresql.crt"));
        let key = param("sslkey", "PGSSLKEY")
            .map(PathBuf::from)
            .unwrap_or_else(|| in_home(".postgresql/postgresql.key"));

        if cfg.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                cfg.password(p);
            } else {
                let file = param("passfile", "PGPASSFILE")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| in_home(".pgpass"));
                let user = cfg.get_user().unwrap_or_default().to_string();
                let host = match cfg.get_hosts().first() {
                    Some(Host::Tcp(h)) => h.clone(),
                    Some(Host::Unix(p)) => p.display().to_string(),
                    None => cfg
                        .get_hostaddrs()
                        .first()
                        .map(|a| a.to_string())
                        .unwrap_or_default(),
                };
                let port = cfg.get_ports().first().copied().unwrap_or(5432);
                let dbname = cfg.get_dbname().unwrap_or(&user).to_string();
                match pgpass::lookup(&file, &host, port, &dbname, &user) {
                    pgpass::Lookup::Found(p) => {
                        cfg.password(p);
                    }
                    pgpass::Lookup::NoMatch => {}
                    pgpass::Lookup::Ignored(why) => tracing::warn!("{why}"),
                }
            }
        }
        Ok(PgConn {
            masked,
            var,
            cfg,
            mode,
            root,
            cert,
            key,
            timeout,
        })
    }

    /// Whether trust is the OS store (`sslrootcert=system`).
    pub fn uses_system_roots(&self) -> bool {
        self.root == RootSource::System && self.mode != SslMode::Disable
    }

    /// `connect_timeout` (URL, else `PGCONNECT_TIMEOUT`), if either set one.
    /// Socket options of every connection made from this URL (keepalives, `tcp_user_timeout`).
    pub fn tune(&mut self, f: impl FnOnce(&mut Config)) {
        f(&mut self.cfg);
    }

    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The first host, for messages (a socket directory as its path).
    pub fn host(&self) -> String {
        match self.cfg.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => self
                .cfg
                .get_hostaddrs()
                .first()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "localhost".into()),
        }
    }

    pub fn port(&self) -> u16 {
        self.cfg.get_ports().first().copied().unwrap_or(5432)
    }

    pub fn user(&self) -> &str {
        self.cfg.get_user().unwrap_or("postgres")
    }

    pub fn dbname(&self) -> &str {
        self.cfg.get_dbname().unwrap_or_else(|| self.user())
    }

    /// Connect, as libpq would for this `sslmode`: `allow` tries without TLS first, `prefer`
    /// falls back to no TLS when the handshake fails, `require` and stricter insist on TLS.
    /// `default_timeout` applies when neither the URL nor `PGCONNECT_TIMEOUT` set one.
    pub fn connect(&self, default_timeout: Option<Duration>) -> Result<Client, ConnectError> {
        let mut cfg = self.cfg.clone();
        if let Some(t) = self.timeout.or(default_timeout) {
            cfg.connect_timeout(t);
        }
        match self.mode {
            SslMode::Disable => self.plain(&cfg),
            // libpq retries with TLS when the server refused the plain connection.
            SslMode::Allow => match plain_connect(&cfg) {
                Ok(c) => Ok(c),
                Err(e) if e.as_db_error().is_some() => self.tls(&mut cfg, DriverMode::Require),
                Err(e) => Err(self.explain_plain(e)),
            },
            SslMode::Prefer => match self.tls(&mut cfg, DriverMode::Prefer) {
                Err(ConnectError::Explained(tls_error)) => {
                    // libpq retries without TLS; if that fails too, the TLS reason is the news.
                    self.plain(&cfg)
                        .map_err(|_| ConnectError::Explained(tls_error))
                }
                r => r,
            },
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                self.tls(&mut cfg, DriverMode::Require)
            }
        }
    }

    fn plain(&self, cfg: &Config) -> Result<Client, ConnectError> {
        plain_connect(cfg).map_err(|e| self.explain_plain(e))
    }

    fn tls(&self, cfg: &mut Config, mode: DriverMode) -> Result<Client, ConnectError> {
        let explained = |what: String| self.explained(what);
        let roots = tls::load_roots(&self.root).map_err(explained)?;
        if roots.is_none() && self.mode.verifies() {
            let RootSource::File(p) = &self.root else {
                unreachable!("the system store is never absent")
            };
            return Err(explained(format!(
                "sslmode={} needs the CA certificate, but the root certificate file {} does not exist: \
                 set sslrootcert (or PGSSLROOTCERT) to the CA file, or sslrootcert=system for the OS trust store",
                self.mode.as_str(),
                p.display()
            )));
        }
        let client = tls::load_client_auth(&self.cert, &self.key).map_err(explained)?;
        let rejected = tls::Rejection::default();
        let config = tls::client_config(
            roots,
            self.mode == SslMode::VerifyFull,
            client,
            rejected.clone(),
        )
        .map_err(explained)?;
        cfg.ssl_mode(mode);
        cfg.connect(MakeRustlsConnect::new(config))
            .map_err(|e| self.explain_tls(e, &rejected))
    }
}

fn plain_connect(cfg: &Config) -> Result<Client, postgres::Error> {
    let mut cfg = cfg.clone();
    cfg.ssl_mode(DriverMode::Disable);
    cfg.connect(postgres::NoTls)
}

/// The default socket directory (libpq's compiled-in default on Debian and most Linux builds).
fn pgpass_socket_dir() -> &'static str {
    "/var/run/postgresql"
}

/// The OS user name, libpq's default user.
fn os_user() -> Option<String> {
    // SAFETY: getpwuid returns a pointer into static storage or null; we copy the name at once and
    // nothing else in this process calls getpwuid concurrently on this path.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// `(base, [(key, decoded value, raw "k=v")])`: libpq decodes `%XX` only (a `+` stays a `+`).
fn split_query(url: &str) -> (&str, Vec<(String, String, &str)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url, Vec::new());
    };
    let params = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|raw| {
            let (k, v) = raw.split_once('=').unwrap_or((raw, ""));
            (percent_decode(k), percent_decode(v), raw)
        })
        .collect();
    (base, params)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(v) if b[i] == b'%' => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;

//! How long vannactl waits on any server: one set of deadlines every network client uses
//! (Chroma and S3 over HTTP, PostgreSQL, MySQL/MariaDB, Redis), documented in
//! docs/configuration.md ("Network deadlines").
//!
//! Every wait has two bounds: `connect` for the TCP connection, and a total for what follows —
//! `login` until the server has proven it is the expected service and let us in, `request` for one
//! request and its whole answer. Long transfers (an S3 multipart upload or download of gigabytes)
//! cannot have a total that fits every size: they are bounded by `idle` instead, the longest time
//! no byte may move. `pg_dump`/`pg_restore` run as child processes with libpq's
//! `connect_timeout`; their transfer is not bounded in time either, only by a dead connection.
//!
//! `health` probes with the shorter [`PROBE`] set (see [`probing`]) and bounds its whole run by
//! [`HEALTH_BOUND`].

use std::cell::Cell;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// TCP connect (each address tried).
    pub connect: Duration,
    /// Connect, handshake, authentication and session set-up, total: PostgreSQL startup, MySQL
    /// login, Redis AUTH/SELECT, Chroma's heartbeat and pre-flight calls (each); and the start
    /// of the answer to an S3 control request (a silent server is given up on this soon).
    pub login: Duration,
    /// One request and its whole answer: a Chroma call, an S3 control request (list, HEAD,
    /// create/complete/abort upload, small objects), a Redis command.
    pub request: Duration,
    /// Streams (S3 parts and archive downloads): the longest time without a byte sent or
    /// received, and for the answer to a part to start. Not a total.
    pub idle: Duration,
    /// Server-side statement limit for sessions that only read (the target DB, health's queries).
    pub statement: Duration,
}

/// Every command but `health`.
pub const STANDARD: Deadlines = Deadlines {
    connect: Duration::from_secs(5),
    login: Duration::from_secs(10),
    request: Duration::from_secs(120),
    idle: Duration::from_secs(60),
    statement: Duration::from_secs(30),
};

/// `health`: a server that cannot answer a probe within seconds is unhealthy, whatever it would
/// do given minutes.
pub const PROBE: Deadlines = Deadlines {
    connect: Duration::from_secs(3),
    login: Duration::from_secs(5),
    request: Duration::from_secs(5),
    idle: Duration::from_secs(5),
    statement: Duration::from_secs(5),
};

/// A whole `health` run, whatever its components do (checks run concurrently, each under
/// [`PROBE`]; one still running at the bound is reported critical).
pub const HEALTH_BOUND: Duration = Duration::from_secs(15);

thread_local! {
    static CURRENT: Cell<Deadlines> = const { Cell::new(STANDARD) };
}

/// The deadlines in force on this thread ([`STANDARD`] unless inside [`probing`]).
pub fn current() -> Deadlines {
    CURRENT.with(Cell::get)
}

/// Whether this thread is probing for `health` (sessions then get a short statement limit).
pub fn in_probe() -> bool {
    current() == PROBE
}

/// Run `f` with the [`PROBE`] deadlines on this thread (clients read them when they connect).
/// Per thread, so the probes of one `health` run do not change another command's limits (tests
/// run in one process).
pub fn probing<T>(f: impl FnOnce() -> T) -> T {
    let before = CURRENT.with(|c| c.replace(PROBE));
    struct Restore(Deadlines);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(before);
    f()
}

/// "5 s", "1.5 s": a deadline in a message.
pub fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// What an HTTP client failed at, in words, with the deadline that ran out.
pub fn http_failure(e: &ureq::Error, d: &Deadlines, total: Duration) -> String {
    use ureq::Timeout;
    match e {
        ureq::Error::Timeout(Timeout::Connect) => {
            format!("no connection within {}", secs(d.connect))
        }
        ureq::Error::Timeout(Timeout::Resolve) => "the host name did not resolve in time".into(),
        ureq::Error::Timeout(Timeout::PerRead | Timeout::PerWrite) => {
            format!("no data moved for {}", secs(d.idle))
        }
        ureq::Error::Timeout(Timeout::RecvResponse) => {
            format!("no answer within {}", secs(d.idle))
        }
        ureq::Error::Timeout(_) => format!("no answer within {}", secs(total)),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        other => excerpt(&other.to_string()),
    }
}

/// Up to this many characters of a server's text reach a message.
pub const EXCERPT_CHARS: usize = 200;

/// Text from a server (an error body, a banner) fit for a one-line message: its first non-empty
/// line, control characters and invalid UTF-8 replaced, at most [`EXCERPT_CHARS`] characters.
pub fn excerpt(text: &str) -> String {
    excerpt_bytes(text.as_bytes())
}

/// [`excerpt`] of raw bytes (a body that may not be text at all).
pub fn excerpt_bytes(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .split(['\n', '\r'])
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .take(EXCERPT_CHARS)
        .collect();
    if line.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// A PostgreSQL connection within the deadlines: TCP within `connect`, and the whole startup
/// (TLS, authentication, libpq's `allow`/`prefer` fallbacks) within `login` — the crate bounds only
/// the TCP connect, and a host that accepts it but never speaks would hold on forever. A
/// `connect_timeout` in the URL (or `PGCONNECT_TIMEOUT`) wins for both, as it does for libpq.
/// Keepalives and `tcp_user_timeout` notice a peer that vanishes later (no answer to what we sent
/// for `request`). How to connect (TLS, certificates, password file) is [`crate::pgconn`]'s.
pub fn pg_connect(
    pg: &crate::pgconn::PgConn,
    d: &Deadlines,
) -> Result<postgres::Client, PgConnectError> {
    let login = pg.timeout().unwrap_or(d.login);
    let mut pg = pg.clone();
    let request = d.request;
    pg.tune(|cfg| {
        cfg.keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            .tcp_user_timeout(request);
    });
    let connect = d.connect;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(pg.connect(Some(connect)));
    });
    // A little slack over the socket's own timeout, so a refused or timed-out socket reports its
    // own error; a thread still waiting after this ends with the process.
    match rx.recv_timeout(login + Duration::from_millis(500)) {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(crate::pgconn::ConnectError::Driver(e))) => Err(PgConnectError::Failed(e, login)),
        Ok(Err(crate::pgconn::ConnectError::Explained(e))) => Err(PgConnectError::Explained(e)),
        Err(_) => Err(PgConnectError::Silent(login)),
    }
}

#[derive(Debug)]
pub enum PgConnectError {
    /// The connection or startup failed; the deadline that applied.
    Failed(postgres::Error, Duration),
    /// Nothing completed the startup within this long.
    Silent(Duration),
    /// Already one line in TLS terms, masked URL (certificates, keys, a TLS-only server).
    Explained(anyhow::Error),
}

impl PgConnectError {
    /// Why the server could not be reached, in words (never the URL: callers name it masked).
    pub fn reason(&self) -> String {
        match self {
            PgConnectError::Explained(e) => crate::error::message(e),
            PgConnectError::Silent(t) => format!("no answer within {}", secs(*t)),
            PgConnectError::Failed(e, t) => {
                let io =
                    std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
                match io.map(|i| i.kind()) {
                    Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".into(),
                    Some(std::io::ErrorKind::TimedOut) => format!("no answer within {}", secs(*t)),
                    _ if e.to_string().contains("timeout")
                        || e.to_string().contains("timed out") =>
                    {
                        format!("no answer within {}", secs(*t))
                    }
                    _ => match e.as_db_error() {
                        Some(db) => excerpt(db.message()),
                        None => excerpt(&e.to_string()),
                    },
                }
            }
        }
    }

    /// The one-line TLS explanation as it is, for callers to return unchanged.
    pub fn explained(self) -> Result<anyhow::Error, PgConnectError> {
        match self {
            PgConnectError::Explained(e) => Ok(e),
            other => Err(other),
        }
    }

    /// The server's own refusal (authentication, missing database), when it answered.
    pub fn db_error(&self) -> Option<&postgres::error::DbError> {
        match self {
            PgConnectError::Failed(e, _) => e.as_db_error(),
            PgConnectError::Silent(_) | PgConnectError::Explained(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_one_clean_line() {
        assert_eq!(excerpt("\n\n  <html>\n<body>x</body>"), "<html>");
        assert_eq!(excerpt("a\x1b[31mb\x07"), "a\u{FFFD}[31mb\u{FFFD}");
        assert_eq!(
            excerpt_bytes(b"ok\xff\xfe\x00z"),
            "ok\u{FFFD}\u{FFFD}\u{FFFD}z"
        );
        let long = "x".repeat(500);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(""), "");
    }

    #[test]
    fn probing_is_scoped_to_the_thread_and_the_call() {
        assert_eq!(current(), STANDARD);
        let inner = probing(|| {
            let other = std::thread::spawn(current).join().unwrap();
            (current(), other)
        });
        assert_eq!(inner, (PROBE, STANDARD));
        assert_eq!(current(), STANDARD);
        // Restored after a panic too.
        let _ = std::panic::catch_unwind(|| probing(|| panic!("x")));
        assert_eq!(current(), STANDARD);
    }

    #[test]
    fn probe_fits_the_health_bound() {
        // A server silent at login, or at its first request after it, is reported by its own
        // check (naming what ran out) before health gives up on the component (1 s before the
        // bound); longer chains fall to that backstop.
        assert!(PROBE.login + PROBE.request + Duration::from_secs(1) < HEALTH_BOUND);
        assert!(PROBE.connect <= PROBE.login && STANDARD.connect <= STANDARD.login);
    }

    #[test]
    fn silent_postgres_fails_within_login() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let pg = crate::pgconn::PgConn::parse(
            &format!("postgres://u@127.0.0.1:{port}/db"),
            "DATABASE_URL",
        )
        .unwrap();
        let d = Deadlines {
            login: Duration::from_secs(1),
            ..PROBE
        };
        let t = std::time::Instant::now();
        let e = pg_connect(&pg, &d).err().unwrap();
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert_eq!(e.reason(), "no answer within 1 s");
        drop(l);
    }
}

//! Redis in `health` (REDIS_URL): reachability and PING latency, role, memory against maxmemory,
//! evictions, persistence. Unset REDIS_URL gives one skipped row; an unreachable server or refused
//! auth is critical. `rediss://` verifies the server against the system store plus
//! `SSL_CERT_FILE` ([`crate::trust`]). Passwords never leave masked.

use super::{Check, Status};
use crate::config::{mask_url, Settings};
use std::collections::HashMap;
use std::time::Instant;

const COMPONENT: &str = "redis";
/// Warn when used memory reaches this share of a non-zero maxmemory.
const MEMORY_WARN_PCT: f64 = 90.0;

fn check(name: &str, status: Status, latency_ms: f64, detail: String) -> Check {
    Check {
        component: COMPONENT,
        name: name.to_string(),
        status,
        latency_ms,
        detail,
    }
}

pub fn checks(settings: &Settings) -> Vec<Check> {
    let Some(url) = &settings.redis_url else {
        return vec![check(
            "server",
            Status::Skipped,
            0.0,
            "REDIS_URL is empty: no Redis check".into(),
        )];
    };
    let shown = mask_url(url);
    let t = Instant::now();
    let client = match client(url, settings) {
        Ok(c) => c,
        Err(e) => {
            return vec![check(
                "server",
                Status::Critical,
                0.0,
                crate::error::message(&e),
            )]
        }
    };
    let mut con = match connect(client) {
        Ok(c) => c,
        Err(e) => {
            return vec![check(
                "server",
                Status::Critical,
                ms(t),
                connect_failure(&e, url),
            )]
        }
    };
    let connect_ms = ms(t);
    let t = Instant::now();
    let ping = redis::cmd("PING").query::<String>(&mut con);
    let ping_ms = ms(t);
    let mut out = match ping {
        Ok(_) => vec![check(
            "server",
            Status::Ok,
            ping_ms,
            format!("{shown}: PING {ping_ms:.2} ms (connect {connect_ms:.2} ms)"),
        )],
        Err(e) => {
            if let Some(tls) = tls_failure(&e, url) {
                return vec![check("server", Status::Critical, ping_ms, tls)];
            }
            return vec![check(
                "server",
                Status::Critical,
                ping_ms,
                format!(
                    "Redis at {shown} did not answer PING: {}; check REDIS_URL (credentials, host, port)",
                    why(&e, url, crate::net::current().request)
                ),
            )];
        }
    };
    let t = Instant::now();
    let info = redis::cmd("INFO")
        .arg("everything")
        .query::<String>(&mut con)
        .map(|s| parse_info(&s));
    let info_ms = ms(t);
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            out.push(check(
                "info",
                Status::Warn,
                info_ms,
                format!(
                    "INFO failed: {}",
                    why(&e, url, crate::net::current().request)
                ),
            ));
            return out;
        }
    };
    // maxmemory-policy is in INFO memory since Redis 3.2.
    let (s, d) = role(&info);
    out.push(check("role", s, info_ms, d));
    let (s, d) = memory(&info);
    out.push(check("memory", s, info_ms, d));
    let (s, d) = evictions(&info);
    out.push(check("evicted keys", s, info_ms, d));
    let (s, d) = persistence(&info);
    out.push(check("persistence", s, info_ms, d));
    out
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The crate's errors may quote the URL; never let the password through.
fn scrub(msg: &str, url: &str) -> String {
    let mut m = msg.replace(url, &mask_url(url));
    if let Ok(u) = url::Url::parse(url) {
        if let Some(pw) = u.password().filter(|p| !p.is_empty()) {
            m = m.replace(pw, "****");
        }
    }
    m
}

/// The client for REDIS_URL: `rediss://` trusts the system store plus `SSL_CERT_FILE` (the crate
/// would take either the system store or a file, not both). A URL the crate refuses, or a CA file
/// that cannot be used, is one line naming it.
fn client(url: &str, settings: &Settings) -> anyhow::Result<redis::Client> {
    let invalid = |e: redis::RedisError| {
        crate::error::usage(format!(
            "REDIS_URL={} is not a valid Redis URL ({}); expected redis[s]://[user:pass@]host:port[/db]",
            mask_url(url),
            scrub(&e.to_string(), url)
        ))
    };
    if !url.starts_with("rediss://") {
        return redis::Client::open(url).map_err(invalid);
    }
    crate::trust::install_provider();
    let root_cert = crate::trust::roots_pem(&settings.ca_files())?;
    redis::Client::build_with_tls(
        url,
        redis::TlsCertificates {
            client_tls: None,
            root_cert,
        },
    )
    .map_err(invalid)
}

/// Why the connection failed, one line: TLS in TLS terms (an untrusted or mismatched certificate,
/// or a plain `redis://` to a port that speaks only TLS), otherwise what the crate said.
fn connect_failure(e: &redis::RedisError, url: &str) -> String {
    if let Some(tls) = tls_failure(e, url) {
        return tls;
    }
    format!(
        "cannot use Redis at {}: {}; check REDIS_URL (password, host, port) and that the server runs",
        mask_url(url),
        why(e, url, crate::net::current().login)
    )
}

/// A failure that is about TLS, in its words: the crate's TLS error, or a plain-text connection
/// the server dropped (the crate may only notice at the first command) on a port that answers a
/// TLS handshake.
fn tls_failure(e: &redis::RedisError, url: &str) -> Option<String> {
    let shown = mask_url(url);
    if let Some(tls) = crate::trust::explain(e, crate::trust::HINT_HTTPS) {
        return Some(format!("Redis at {shown}: {tls}"));
    }
    if !url.starts_with("redis://") || e.is_timeout() || e.is_connection_refusal() {
        return None;
    }
    let (host, port) = host_port(url)?;
    crate::trust::speaks_tls(&host, port, crate::net::current().connect).then(|| {
        format!(
            "Redis at {shown} dropped the plain-text connection and answers TLS on that port: \
             the server may require TLS: use rediss://"
        )
    })
}

fn host_port(url: &str) -> Option<(String, u16)> {
    let u = url::Url::parse(url).ok()?;
    let host = match u.host()? {
        url::Host::Domain(d) => d.to_string(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    Some((host, u.port().unwrap_or(6379)))
}

/// Within the deadlines of [`crate::net`]: connect and set-up (TLS, AUTH, SELECT, the crate's
/// CLIENT SETINFO) within `login` as a whole — the crate gives each set-up reply its own timeout,
/// so a silent server costs one timeout per command — then each command within `request`.
fn connect(client: redis::Client) -> redis::RedisResult<redis::Connection> {
    let d = crate::net::current();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client.get_connection_with_timeout(d.login));
    });
    let con = match rx.recv_timeout(d.login) {
        Ok(r) => r?,
        // The thread ends with the process.
        Err(_) => {
            return Err(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "set-up timed out").into(),
            )
        }
    };
    con.set_read_timeout(Some(d.request))?;
    con.set_write_timeout(Some(d.request))?;
    Ok(con)
}

/// A Redis error for a message: one line, timeouts said as such, no password.
fn why(e: &redis::RedisError, url: &str, deadline: std::time::Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", crate::net::secs(deadline));
    }
    if e.is_connection_refusal() {
        return "connection refused".into();
    }
    crate::net::excerpt(&scrub(&e.to_string(), url))
}

/// `key:value` lines of INFO; `# Section` headers and blank lines ignored.
pub(crate) fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(info: &HashMap<String, String>, key: &str) -> Option<u64> {
    info.get(key).and_then(|v| v.trim().parse().ok())
}

fn role(info: &HashMap<String, String>) -> (Status, String) {
    match info.get("role").map(String::as_str) {
        Some("master") => (
            Status::Ok,
            format!(
                "master, {} connected replica(s)",
                num(info, "connected_slaves").unwrap_or(0)
            ),
        ),
        Some("slave") => {
            let link = info
                .get("master_link_status")
                .map(String::as_str)
                .unwrap_or("unknown");
            let st = if link == "up" {
                Status::Ok
            } else {
                Status::Warn
            };
            (st, format!("replica, link to master {link}"))
        }
        other => (
            Status::Warn,
            format!("unknown role {other:?} in INFO replication"),
        ),
    }
}

fn memory(info: &HashMap<String, String>) -> (Status, String) {
    let Some(used) = num(info, "used_memory") else {
        return (Status::Warn, "INFO memory has no used_memory".into());
    };
    let max = num(info, "maxmemory").unwrap_or(0);
    if max == 0 {
        return (
            Status::Ok,
            format!("{} used, no maxmemory limit", super::human_bytes(used)),
        );
    }
    let pct = used as f64 * 100.0 / max as f64;
    let st = if pct >= MEMORY_WARN_PCT {
        Status::Warn
    } else {
        Status::Ok
    };
    (
        st,
        format!(
            "{} used of maxmemory {} ({pct:.1}%; warn at {MEMORY_WARN_PCT:.0}%)",
            super::human_bytes(used),
            super::human_bytes(max)
        ),
    )
}

fn evictions(info: &HashMap<String, String>) -> (Status, String) {
    let evicted = num(info, "evicted_keys").unwrap_or(0);
    let policy = info
        .get("maxmemory_policy")
        .map(String::as_str)
        .unwrap_or("unknown");
    // Every policy except noeviction drops keys when maxmemory is reached.
    if evicted > 0 && policy != "noeviction" {
        (Status::Warn, format!("{evicted} keys evicted (maxmemory-policy {policy}); raise maxmemory or reduce data"))
    } else {
        (
            Status::Ok,
            format!("{evicted} keys evicted (maxmemory-policy {policy})"),
        )
    }
}

/// A failed last save/write is critical (data the operator expects on disk is not there);
/// no RDB save points and AOF off is "persistence off": ok with that detail, since a cache-only
/// Redis (like the local test server, `--save ''`) is a deliberate choice, not a fault.
fn persistence(info: &HashMap<String, String>) -> (Status, String) {
    let rdb = info
        .get("rdb_last_bgsave_status")
        .map(String::as_str)
        .unwrap_or("ok");
    let aof_on = info.get("aof_enabled").map(String::as_str) == Some("1");
    let aof = info
        .get("aof_last_write_status")
        .map(String::as_str)
        .unwrap_or("ok");
    let mut bad = Vec::new();
    if rdb != "ok" {
        bad.push(format!("last RDB save {rdb}"));
    }
    if aof_on && aof != "ok" {
        bad.push(format!("last AOF write {aof}"));
    }
    if !bad.is_empty() {
        return (
            Status::Critical,
            format!("{}; check the Redis log and disk", bad.join(", ")),
        );
    }
    let rdb_saves = num(info, "rdb_saves").unwrap_or(0);
    let last_save = num(info, "rdb_last_save_time").unwrap_or(0);
    match (aof_on, rdb_saves > 0) {
        (true, _) => (Status::Ok, "AOF on, last write ok".into()),
        (false, true) => (
            Status::Ok,
            format!("RDB, last save ok (unix time {last_save})"),
        ),
        (false, false) => (
            Status::Ok,
            "persistence off (no AOF, no RDB save yet): data lives in memory only".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_info_sections() {
        let i = parse_info("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n# Memory\r\nused_memory:1024\r\nmaxmemory_policy:noeviction\r\n");
        assert_eq!(i["role"], "master");
        assert_eq!(num(&i, "used_memory"), Some(1024));
        assert_eq!(i["maxmemory_policy"], "noeviction");
        assert!(!i.contains_key("# Memory"));
    }

    #[test]
    fn memory_threshold() {
        assert_eq!(
            memory(&info(&[("used_memory", "899"), ("maxmemory", "1000")])).0,
            Status::Ok
        );
        assert_eq!(
            memory(&info(&[("used_memory", "900"), ("maxmemory", "1000")])).0,
            Status::Warn
        );
        assert_eq!(
            memory(&info(&[("used_memory", "5000"), ("maxmemory", "0")])).0,
            Status::Ok
        );
        assert_eq!(memory(&info(&[])).0, Status::Warn);
    }

    #[test]
    fn evictions_warn_only_when_policy_evicts() {
        let st = |n, p| evictions(&info(&[("evicted_keys", n), ("maxmemory_policy", p)])).0;
        assert_eq!(st("3", "allkeys-lru"), Status::Warn);
        assert_eq!(st("0", "allkeys-lru"), Status::Ok);
        assert_eq!(st("3", "noeviction"), Status::Ok);
    }

    #[test]
    fn persistence_states() {
        let p = |pairs: &[(&str, &str)]| persistence(&info(pairs));
        assert_eq!(p(&[("rdb_last_bgsave_status", "err")]).0, Status::Critical);
        assert_eq!(
            p(&[("aof_enabled", "1"), ("aof_last_write_status", "err")]).0,
            Status::Critical
        );
        // AOF off: its stale write status does not count.
        assert_eq!(
            p(&[("aof_enabled", "0"), ("aof_last_write_status", "err")]).0,
            Status::Ok
        );
        let (s, d) = p(&[
            ("aof_enabled", "0"),
            ("rdb_saves", "0"),
            ("rdb_last_bgsave_status", "ok"),
        ]);
        assert_eq!(s, Status::Ok);
        assert!(d.contains("persistence off"), "{d}");
    }

    #[test]
    fn roles() {
        assert_eq!(role(&info(&[("role", "master")])).0, Status::Ok);
        assert_eq!(
            role(&info(&[("role", "slave"), ("master_link_status", "down")])).0,
            Status::Warn
        );
        assert_eq!(
            role(&info(&[("role", "slave"), ("master_link_status", "up")])).0,
            Status::Ok
        );
    }

    #[test]
    fn scrub_hides_password() {
        let m = scrub(
            "error for redis://u:hunter2@h:1/0 auth hunter2",
            "redis://u:hunter2@h:1/0",
        );
        assert!(!m.contains("hunter2"), "{m}");
    }
}

//! `vannactl health` against a Redis that speaks only TLS (`--port 0 --tls-port P`), its
//! certificate signed by a CA the test makes: `rediss://` trusts it through SSL_CERT_FILE, not
//! without it, and `redis://` to the TLS port fails in TLS terms within the bounded wait.

mod common;
mod tls_support;

use common::cli::{json_of, vannactl};
use common::paths::testdata;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start_redis(certs: &tls_support::Certs) -> tls_support::Server {
    start_redis_with(certs, &certs.server_crt, &certs.server_key)
}

/// A TLS-only Redis presenting `crt`/`key`, stopped by PID on drop.
fn start_redis_with(
    certs: &tls_support::Certs,
    crt: &std::path::Path,
    key: &std::path::Path,
) -> tls_support::Server {
    let port = common::free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--tls-port")
        .arg(port.to_string())
        .arg("--tls-cert-file")
        .arg(crt)
        .arg("--tls-key-file")
        .arg(key)
        .arg("--tls-ca-cert-file")
        .arg(&certs.ca)
        .args(["--tls-auth-clients", "no"])
        .arg("--dir")
        .arg(certs.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (scripts/test installs it)");
    let server = tls_support::Server { child, port };
    tls_support::wait_for_port(port, "redis-server --tls-port");
    server
}

fn health(d: &std::path::Path, url: &str, ca: Option<&std::path::Path>) -> std::process::Output {
    let mut c = vannactl(d);
    c.env("TARGET_DB_SOURCE", testdata("car_1.sqlite"))
        .env("REDIS_URL", url);
    if let Some(ca) = ca {
        c.env("SSL_CERT_FILE", ca);
    }
    c.args(["--json", "health"]).output().unwrap()
}

fn server_row(out: &std::process::Output) -> serde_json::Value {
    let j = json_of(out);
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "redis" && c["name"] == "server")
        .unwrap_or_else(|| panic!("no redis server row: {j}"))
        .clone()
}

#[test]
fn rediss_verifies_the_server_and_redis_to_a_tls_port_says_so() {
    let certs = tls_support::make();
    let redis = start_redis(&certs);
    let d = tempfile::tempdir().unwrap();
    common::cli::init_with_target(d.path(), "car_1.sqlite");
    let port = redis.port;

    // The CA through SSL_CERT_FILE: healthy, by name and by address (both in the certificate).
    for host in ["localhost", "127.0.0.1"] {
        let out = health(
            d.path(),
            &format!("rediss://{host}:{port}"),
            Some(&certs.ca),
        );
        let row = server_row(&out);
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }

    // Without the CA (the system store does not hold it), or with another CA: not trusted.
    for ca in [None, Some(certs.other_ca.as_path())] {
        let out = health(d.path(), &format!("rediss://127.0.0.1:{port}"), ca);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let detail = server_row(&out)["detail"].as_str().unwrap().to_string();
        assert!(
            detail.contains("certificate not trusted") && detail.contains("SSL_CERT_FILE"),
            "{detail}"
        );
        assert!(!detail.contains('\n'), "{detail}");
    }

    // Plain text to the TLS-only port: critical, in TLS terms, within the bounded wait.
    let t = Instant::now();
    let out = health(d.path(), &format!("redis://127.0.0.1:{port}"), None);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let detail = server_row(&out)["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("the server may require TLS: use rediss://"),
        "{detail}"
    );

    // A certificate from the trusted CA that has expired: said so, in one line.
    let expired = start_redis_with(&certs, &certs.expired_crt, &certs.expired_key);
    let out = health(
        d.path(),
        &format!("rediss://127.0.0.1:{}", expired.port),
        Some(&certs.ca),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let detail = server_row(&out)["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("certificate expired") && !detail.contains('\n'),
        "{detail}"
    );

    // A CA file that is not PEM: the row names the variable and path.
    let bad = certs.dir.path().join("not-pem.txt");
    std::fs::write(&bad, "hello").unwrap();
    let out = health(d.path(), &format!("rediss://127.0.0.1:{port}"), Some(&bad));
    let detail = server_row(&out)["detail"].as_str().unwrap().to_string();
    assert!(
        detail.starts_with("SSL_CERT_FILE=") && detail.contains("not-pem.txt"),
        "{detail}"
    );
}

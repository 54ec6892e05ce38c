//! HTTPS with a private CA: the real Chroma and SeaweedFS S3 servers behind a TLS-terminating proxy
//! (`tests/python/tls_proxy.py`) on loopback, its certificate signed by a CA the test makes.
//! `train` into Chroma and `backup` to S3 trust it through SSL_CERT_FILE (and AWS_CA_BUNDLE);
//! without it they fail with one "not trusted" line; a certificate for another name or one that
//! has expired fails in those words; a CA file that is not PEM is exit 2.

mod backup_support;
mod common;
mod s3_support;
mod tls_support;
mod train_support;

use common::cli::stderr;
use s3_support::{initialised, Weed};
use train_support::{ChromaServer, Sandbox};

/// The proxy in front of 127.0.0.1:`target` with the certificate for localhost and 127.0.0.1,
/// stopped by PID on drop.
fn proxy(certs: &tls_support::Certs, target: u16) -> tls_support::Server {
    proxy_with(&certs.server_crt, &certs.server_key, target)
}

fn proxy_with(crt: &std::path::Path, key: &std::path::Path, target: u16) -> tls_support::Server {
    tls_support::tls_proxy(crt, key, target)
}

/// The one line of a failure in TLS terms.
fn assert_not_trusted(out: &std::process::Output, var: &str) {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("certificate not trusted") && lines[0].contains(var),
        "{err}"
    );
}

#[test]
fn train_into_chroma_behind_tls_with_a_private_ca() {
    let certs = tls_support::make();
    let chroma = ChromaServer::start();
    let tls = proxy(&certs, chroma.port);
    let mut sb = Sandbox::new("car_1.sqlite");
    sb.chroma = Some(format!("https://localhost:{}", tls.port));

    // Without the CA: the system store does not know it.
    let out = sb.cmd(&["train"]).output().unwrap();
    assert_not_trusted(&out, "SSL_CERT_FILE");
    assert!(stderr(&out).contains(&format!("https://localhost:{}", tls.port)));

    // A CA file that is not PEM: a configuration error naming it.
    let bad = sb.write("not-a-ca.txt", "hello");
    let out = sb
        .cmd(&["train"])
        .env("SSL_CERT_FILE", &bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("SSL_CERT_FILE="), "{out:?}");

    // A certificate from the right CA for another name: the host name check, in its words.
    let elsewhere = proxy_with(&certs.elsewhere_crt, &certs.elsewhere_key, chroma.port);
    let out = sb
        .cmd(&["train"])
        .env("SSL_CERT_FILE", &certs.ca)
        .env(
            "CHROMA_URL",
            format!("https://localhost:{}", elsewhere.port),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("host name localhost does not match the certificate (elsewhere.example)"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{err}"
    );

    // A certificate from the right CA that has expired: said so (ureq's verifier passes on rustls'
    // `Expired` without the date, so no date is asserted).
    let expired = proxy_with(&certs.expired_crt, &certs.expired_key, chroma.port);
    let out = sb
        .cmd(&["train"])
        .env("SSL_CERT_FILE", &certs.ca)
        .env("CHROMA_URL", format!("https://localhost:{}", expired.port))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("certificate expired")
            && lines[0].contains("renew it on the server")
            && lines[0].contains(&format!("https://localhost:{}", expired.port)),
        "{err}"
    );

    // With it: trained, and the records are on the server behind the proxy.
    let done = sb.json_env(
        &["train"],
        &[("SSL_CERT_FILE", certs.ca.to_str().unwrap())],
        0,
    );
    assert!(train_support::count(&done, "ddl", "added") > 0, "{done}");
    assert!(chroma
        .collection_names("default_tenant", "default_database")
        .iter()
        .any(|n| n.contains("ddl")));
}

#[test]
fn backup_to_s3_behind_tls_with_a_private_ca() {
    let certs = tls_support::make();
    let weed = Weed::start();
    let tls = proxy(&certs, weed.s3_port);
    let mut env = initialised(1);
    weed.configure(&mut env, "tls");
    env.set(
        "AWS_ENDPOINT_URL",
        &format!("https://localhost:{}", tls.port),
    );

    let out = env.cmd().arg("backup").output().unwrap();
    assert_not_trusted(&out, "AWS_CA_BUNDLE");
    assert!(!stderr(&out).contains(s3_support::SECRET));

    // AWS_CA_BUNDLE, the AWS tools' variable, or SSL_CERT_FILE: either is trusted.
    env.set("AWS_CA_BUNDLE", certs.ca.to_str().unwrap());
    let first = env.ok(&["backup"]);
    env.set("AWS_CA_BUNDLE", "");
    env.set("SSL_CERT_FILE", certs.ca.to_str().unwrap());
    let second = env.ok(&["backup"]);
    for b in [&first, &second] {
        let name = b["name"].as_str().unwrap();
        assert!(
            weed.archives("tls").iter().any(|a| a.ends_with(name)),
            "{name} not in {:?}",
            weed.archives("tls")
        );
    }
}

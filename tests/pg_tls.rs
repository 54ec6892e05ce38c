//! PostgreSQL over TLS with libpq's meaning (docs/connecting.md), against the TLS-only clusters of
//! scripts/pg-tls-cluster.sh: every subcommand with `sslmode=verify-full`, client certificates,
//! the password file, and each TLS failure with its own message, exit code and in seconds.

mod common;
mod pg_tls_support;
mod system_db_support;
mod train_support;

use common::cli::stderr;
use pg_tls_support::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use system_db_support::{Backend, Env};

/// A sandbox whose system DB is `url`, with its own HOME (no ~/.pgpass or ~/.postgresql of
/// the runner's).
fn env_on(url: &str) -> Env {
    let mut env = Env::new(Backend::Sqlite);
    let home = env.path().to_str().unwrap().to_string();
    env.set("DATABASE_URL", url).set("HOME", &home);
    env
}

/// Run, returning (exit code, JSON, everything printed and logged).
fn run(env: &Env, args: &[&str]) -> (i32, Value, String) {
    let (code, v, out) = env.run_json(args);
    let log = std::fs::read_to_string(env.path().join("logs/vannactl.log")).unwrap_or_default();
    (code, v.clone(), format!("{v}\n{}\n{log}", stderr(&out)))
}

fn ok(env: &Env, args: &[&str]) -> (Value, String) {
    let (code, v, all) = run(env, args);
    assert_eq!(code, 0, "{args:?}: {all}");
    (v, all)
}

#[test]
fn every_subcommand_over_verify_full() {
    let db = TlsDb::create("postgres");
    // By IP: verify-full checks the address against the certificate's IP entry.
    let url = db.url("postgres", "127.0.0.1", &verify_full());
    let env = env_on(&url);
    ok(&env, &["init", "--seed-rows", "20"]);
    ok(&env, &["seed"]);
    let (v, _) = ok(&env, &["backup"]);
    let archive = env.path().join(v["archive"].as_str().unwrap());
    let archive = archive.to_str().unwrap();
    let before = psql(&db.name, "SELECT count(*) FROM queries");
    psql(&db.name, "DELETE FROM queries");
    // pg_restore and psql are libpq: they get the same URL, so they speak TLS too.
    ok(&env, &["--yes", "restore", "--no-safety-backup", archive]);
    assert_eq!(psql(&db.name, "SELECT count(*) FROM queries"), before);
    let (v, _) = ok(&env, &["--yes", "restore", archive]);
    assert_eq!(v["ok"], true, "{v}");
    let (v, _) = ok(&env, &["backup", "verify", "--restore-test", archive]);
    assert_eq!(v["restore_test"]["ok"], true, "{v}");
    ok(&env, &["health"]);
}

#[test]
fn train_reads_a_postgres_target_over_verify_full() {
    let db = TlsDb::create("postgres");
    psql(
        &db.name,
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(10,2)); \
         INSERT INTO orders VALUES (1, 10), (2, 20);",
    );
    let sb = train_support::Sandbox::new("car_1.sqlite");
    let pairs = sb.write("p.yaml", "- question: all\n  sql: SELECT id FROM orders\n");
    let out = sb
        .cmd(&["--json", "train", "--pairs", pairs.to_str().unwrap()])
        .env("ENABLE_TARGET_DB", "true")
        .env(
            "TARGET_DATABASE_URL",
            db.url("postgres", "localhost", &verify_full()),
        )
        .output()
        .unwrap();
    let v = common::cli::json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v}\n{}", stderr(&out));
    assert_eq!(v["target"]["tables"], 1, "{v}");
}

#[test]
fn client_certificate_authentication() {
    let db = TlsDb::create("vannactl_cert");
    let env0 = Env::new(Backend::Sqlite);
    let (cert, key) = client_cert_in(env0.path(), 0o600);
    let url = db.url(
        "vannactl_cert",
        "localhost",
        &format!("{}&sslcert={cert}&sslkey={key}", verify_full()),
    );
    let env = env_on(&url);
    ok(&env, &["init"]);
    let (_, all) = ok(&env, &["backup"]);
    let audit = psql(
        &db.name,
        "SELECT string_agg(resource || ' ' || details::text, ' ') FROM audit_logs",
    );
    for line in pem_body_lines(&key) {
        assert!(!all.contains(&line), "key material in the output: {all}");
        assert!(
            !audit.contains(&line),
            "key material in the audit rows: {audit}"
        );
    }
    // Without a certificate the server refuses, and the message says what to set.
    let env = env_on(&db.url("vannactl_cert", "localhost", &verify_full()));
    let (code, v, _) = run(&env, &["init"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("the server requires a client certificate: set sslcert and sslkey"),
        "{msg}"
    );
}

#[test]
fn libpq_default_client_certificate_files_are_used() {
    // ~/.postgresql/postgresql.crt, postgresql.key and root.crt: no parameters at all but the mode.
    let db = TlsDb::create("vannactl_cert");
    let env = env_on(&db.url("vannactl_cert", "localhost", "sslmode=verify-full"));
    let pgdir = env.path().join(".postgresql");
    std::fs::create_dir_all(&pgdir).unwrap();
    client_cert_in(&pgdir, 0o600);
    std::fs::rename(pgdir.join("client.crt"), pgdir.join("postgresql.crt")).unwrap();
    std::fs::rename(pgdir.join("client.key"), pgdir.join("postgresql.key")).unwrap();
    std::fs::copy(file("ca.crt"), pgdir.join("root.crt")).unwrap();
    ok(&env, &["init"]);
    ok(&env, &["backup"]);
}

#[test]
fn password_file_as_libpq_reads_it() {
    use std::os::unix::fs::PermissionsExt;
    let db = TlsDb::create("vannactl_pw");
    let url = db.url("vannactl_pw", "127.0.0.1", &verify_full());
    let mut env = env_on(&url);
    // ~/.pgpass (HOME is the sandbox), a wildcard for the database.
    let pgpass = env.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "# test\n127.0.0.1:{}:*:vannactl_pw:{PW_ROLE_PASSWORD}\n",
            port()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&env, &["init"]);
    // pg_dump reads the same file itself.
    let (_, all) = ok(&env, &["backup"]);
    assert!(!all.contains(PW_ROLE_PASSWORD), "{all}");
    let audit = psql(
        &db.name,
        "SELECT string_agg(resource || ' ' || details::text, ' ') FROM audit_logs",
    );
    assert!(audit.contains("backup"), "{audit}");
    assert!(!audit.contains(PW_ROLE_PASSWORD), "{audit}");

    // PGPASSFILE elsewhere; a group-readable file is ignored with a warning, as libpq does.
    let other = env.path().join("pgpass-elsewhere");
    std::fs::rename(&pgpass, &other).unwrap();
    env.set("PGPASSFILE", other.to_str().unwrap());
    ok(&env, &["health"]);
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, v, all) = run(&env, &["health"]);
    assert_ne!(code, 0, "{v}");
    assert!(all.contains("has group or world access"), "{all}");
    assert!(!all.contains(PW_ROLE_PASSWORD), "{all}");
}

/// `vannactl init` with `url`: (exit code, error message, seconds taken, all output).
fn failing_init(url: &str, extra: &[(&str, &str)]) -> (i32, String, f64, String) {
    let mut env = env_on(url);
    for (k, v) in extra {
        env.set(k, v);
    }
    let t = Instant::now();
    let (code, v, all) = run(&env, &["init"]);
    let secs = t.elapsed().as_secs_f64();
    let msg = v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !msg.contains("check that PostgreSQL is running"),
        "a TLS failure must not send the operator looking for a server: {msg}"
    );
    (code, msg, secs, all)
}

fn assert_tls_failure(url: &str, extra: &[(&str, &str)], code: i32, expected: &[&str]) -> String {
    let (got, msg, secs, all) = failing_init(url, extra);
    assert_eq!(got, code, "{msg}\n{all}");
    for e in expected {
        assert!(msg.contains(e), "expected {e:?} in: {msg}");
    }
    assert!(secs < 15.0, "took {secs:.1} s: {msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    msg
}

#[test]
fn wrong_ca_wrong_host_expired_and_no_tls() {
    let db = TlsDb::create("postgres");
    let ca = file("ca.crt");
    let other = file("other-ca.crt");
    // The password in the URL never shows, whatever fails.
    let u = |host: &str, port: u16, params: &str| {
        format!(
            "postgres://postgres:not-the-point-99@{host}:{port}/{}?{params}",
            db.name
        )
    };
    let msg = assert_tls_failure(
        &u(
            "127.0.0.1",
            port(),
            &format!("sslmode=verify-full&sslrootcert={other}"),
        ),
        &[],
        1,
        &[
            "certificate not trusted (issuer CN=vannactl test CA)",
            "set sslrootcert",
            "postgres://postgres:****@",
        ],
    );
    assert!(!msg.contains("not-the-point-99"));
    // The certificate names localhost and 127.0.0.1; connect by another name to the same address.
    assert_tls_failure(
        &u(
            "db.example",
            port(),
            &format!("hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"),
        ),
        &[],
        1,
        &["host name db.example does not match the certificate (localhost, 127.0.0.1)"],
    );
    // verify-ca checks only the CA: the same connection succeeds.
    let env = env_on(&u(
        "db.example",
        port(),
        &format!("hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}"),
    ));
    ok(&env, &["init"]);
    // allow: refused without TLS, libpq tries again with it.
    ok(&env_on(&u("127.0.0.1", port(), "sslmode=allow")), &["init"]);
    assert_tls_failure(
        &u(
            "localhost",
            expired_port(),
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        &[],
        1,
        &["the server's certificate (CN=localhost) expired on "],
    );
    // `require` with a root certificate present verifies like verify-ca (libpq), so the expired
    // certificate fails there too; without one, require encrypts without verifying.
    assert_tls_failure(
        &u(
            "localhost",
            expired_port(),
            &format!("sslmode=require&sslrootcert={ca}"),
        ),
        &[],
        1,
        &["expired on"],
    );
    assert_tls_failure(
        &u("127.0.0.1", port(), "sslmode=disable"),
        &[],
        1,
        &["the server requires TLS (hostssl only): use sslmode=require or stricter"],
    );
    // PGSSLMODE speaks where the URL is silent.
    assert_tls_failure(
        &u("127.0.0.1", port(), ""),
        &[("PGSSLMODE", "disable")],
        1,
        &["hostssl only"],
    );
    assert_tls_failure(
        &u("127.0.0.1", port(), "sslmode=verify-all"),
        &[],
        2,
        &["sslmode=verify-all is not one of"],
    );
}

#[test]
fn client_key_missing_or_readable_by_others() {
    let db = TlsDb::create("vannactl_cert");
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = client_cert_in(tmp.path(), 0o644);
    let base = db.url("vannactl_cert", "localhost", &verify_full());
    let msg = assert_tls_failure(
        &format!("{base}&sslcert={cert}&sslkey={key}"),
        &[],
        1,
        &["has group or world access (mode 0644)", "chmod 600"],
    );
    for line in pem_body_lines(&key) {
        assert!(!msg.contains(&line));
    }
    assert_tls_failure(
        &format!("{base}&sslcert={cert}&sslkey={key}.gone"),
        &[],
        1,
        &["its private key", "does not exist", "set sslkey"],
    );
}

#[test]
fn server_without_tls_under_sslmode_require() {
    // Answers the SSLRequest with 'N', as a server with ssl=off does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            let mut req = [0u8; 8];
            if s.read_exact(&mut req).is_ok() {
                let _ = s.write_all(b"N");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    assert_tls_failure(
        &format!("postgres://u@127.0.0.1:{port}/d?sslmode=require"),
        &[],
        1,
        &["server does not support TLS but sslmode=require"],
    );
}

#[test]
fn target_database_errors_speak_tls_too() {
    let db = TlsDb::create("postgres");
    let sb = train_support::Sandbox::new("car_1.sqlite");
    let url = db.url(
        "postgres",
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", file("other-ca.crt")),
    );
    let out = sb
        .cmd(&["--json", "health"])
        .env("ENABLE_TARGET_DB", "true")
        .env("TARGET_DATABASE_URL", &url)
        .output()
        .unwrap();
    let v = common::cli::json_of(&out);
    let c = common::cli::named(&v, "checks", "external target DB");
    assert_eq!(c["status"], "critical", "{v}");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("certificate not trusted (issuer CN=vannactl test CA)"),
        "{detail}"
    );
    assert!(detail.starts_with("TARGET_DATABASE_URL"), "{detail}");
}

#[test]
fn system_trust_store_in_process_and_in_the_client_tools() {
    // sslrootcert=system is the OS store, which SSL_CERT_FILE replaces (OpenSSL's convention,
    // so libpq's too). pg_dump/pg_restore/psql 15 do not know `system`: they get the file.
    let db = TlsDb::create("postgres");
    let mut env = env_on(&db.url("postgres", "localhost", "sslrootcert=system"));
    env.set("SSL_CERT_FILE", &file("ca.crt"));
    ok(&env, &["init"]);
    // libpq 15 would read `system` as a missing file and then verify nothing (sslmode defaults
    // to prefer there): pg_dump must get the bundle file and verify-full. A pg_dump first on PATH
    // records what it was given.
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.path().join("pg_dump.args");
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v pg_dump"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrapper = bin.join("pg_dump");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path);
    let (v, _) = ok(&env, &["backup"]);
    let args = std::fs::read_to_string(&log).unwrap();
    let dbname = args
        .lines()
        .find(|l| l.contains("--dbname="))
        .unwrap_or_default();
    let version = std::process::Command::new("psql")
        .arg("--version")
        .output()
        .unwrap();
    if String::from_utf8_lossy(&version.stdout).contains("(PostgreSQL) 15") {
        assert!(
            dbname.contains(&format!("sslrootcert={}", file("ca.crt")))
                && dbname.contains("sslmode=verify-full"),
            "{dbname}"
        );
    }
    let archive = env.path().join(v["archive"].as_str().unwrap());
    ok(
        &env,
        &[
            "--yes",
            "restore",
            "--no-safety-backup",
            archive.to_str().unwrap(),
        ],
    );
    // The distribution's store does not hold the test CA.
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(bundle).exists() {
        env.set("SSL_CERT_FILE", bundle);
        let (code, v, _) = run(&env, &["init"]);
        assert_eq!(code, 1, "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(
                "certificate not trusted (issuer CN=vannactl test CA) by the system trust store"
            ),
            "{msg}"
        );
    }
}

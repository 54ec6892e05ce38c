//! A MariaDB target that accepts only TLS (`--require-secure-transport=ON`), a second server the
//! test starts on a free loopback port with a CA and certificate it makes: `ssl-mode=VERIFY_IDENTITY`
//! with `ssl-ca` trains and is healthy; `DISABLED`, a wrong CA and an unknown mode fail in TLS terms.

mod common;
mod tls_support;
mod train_support;

use common::cli::{json_of, named};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use train_support::Sandbox;

const USER: &str = "tls_reader";
const PASSWORD: &str = "Tls-Reader-pw-8812";

struct MariaDb {
    server: tls_support::Server,
    socket: PathBuf,
    _data: tempfile::TempDir,
}

fn start_mariadb(certs: &tls_support::Certs) -> MariaDb {
    let data = tempfile::tempdir().unwrap();
    let datadir = data.path().join("data");
    let out = Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .args([
            "--user=root",
            "--skip-test-db",
            "--auth-root-authentication-method=socket",
        ])
        .output()
        .expect("mariadb-install-db (scripts/test installs it)");
    assert!(out.status.success(), "mariadb-install-db: {out:?}");
    let port = common::free_port();
    let socket = data.path().join("mysqld.sock");
    let child = Command::new("mariadbd")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!(
            "--pid-file={}",
            data.path().join("mysqld.pid").display()
        ))
        .arg(format!(
            "--log-error={}",
            data.path().join("error.log").display()
        ))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--user=root",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
            "--require-secure-transport=ON",
        ])
        .arg(format!("--ssl-ca={}", certs.ca.display()))
        .arg(format!("--ssl-cert={}", certs.server_crt.display()))
        .arg(format!("--ssl-key={}", certs.server_key.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd (scripts/test installs it)");
    let server = tls_support::Server { child, port };
    tls_support::wait_for_port(port, "mariadbd");
    let m = MariaDb {
        server,
        socket,
        _data: data,
    };
    // Over the socket (which require_secure_transport counts as secure), as root by socket auth.
    m.sql(&format!(
        "CREATE DATABASE kennel; \
         CREATE TABLE kennel.dogs (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, owner_id INT); \
         CREATE TABLE kennel.owners (id INT PRIMARY KEY, city VARCHAR(40)); \
         INSERT INTO kennel.owners VALUES (1, 'Lyon'), (2, 'Graz'); \
         INSERT INTO kennel.dogs VALUES (1, 'Rex', 1), (2, 'Bello', 2), (3, 'Fifi', 1); \
         CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; \
         GRANT SELECT, SHOW VIEW ON kennel.* TO '{USER}'@'127.0.0.1';"
    ));
    m
}

impl MariaDb {
    fn sql(&self, sql: &str) {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-u", "root", "-e", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "mariadb -e {sql}: {out:?}");
    }

    fn url(&self, params: &str) -> String {
        format!(
            "mysql://{USER}:{PASSWORD}@127.0.0.1:{}/kennel{params}",
            self.server.port
        )
    }
}

/// `health --json` with `url` as the external target: (exit code, the target's row, all output).
fn health(d: &Path, url: &str) -> (Option<i32>, serde_json::Value, String) {
    let out = common::cli::health_of_target(d, url);
    let all = format!("{out:?}");
    let row = named(&json_of(&out), "checks", "external target DB").clone();
    (out.status.code(), row, all)
}

#[test]
fn tls_only_mariadb_target_with_ssl_mode_and_ssl_ca() {
    let certs = tls_support::make();
    let db = start_mariadb(&certs);
    let ca = certs.ca.display().to_string();
    let d = tempfile::tempdir().unwrap();
    common::cli::init_with_target(d.path(), "car_1.sqlite");

    // VERIFY_IDENTITY with the CA: the chain and 127.0.0.1 (in the certificate) check out.
    let verified = db.url(&format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"));
    let (code, row, all) = health(d.path(), &verified);
    assert_eq!(
        (code, row["status"].as_str()),
        (Some(0), Some("ok")),
        "{all}"
    );
    assert!(
        row["detail"].as_str().unwrap().contains("2 tables/views"),
        "{row}"
    );
    assert!(!all.contains(PASSWORD), "{all}");

    // train reads the schema over the same connection.
    let sb = Sandbox::new("car_1.sqlite");
    let out = sb
        .cmd(&["--json", "train"])
        .env("ENABLE_TARGET_DB", "true")
        .env("TARGET_DATABASE_URL", &verified)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["target"]["tables"], 2, "{j}");

    // The default (PREFERRED) and REQUIRED take TLS without verifying it.
    for params in ["", "?ssl-mode=required"] {
        let (code, row, all) = health(d.path(), &db.url(params));
        assert_eq!(
            (code, row["status"].as_str()),
            (Some(0), Some("ok")),
            "{params}: {all}"
        );
    }

    // DISABLED: the server's refusal, said as such.
    let (code, row, all) = health(d.path(), &db.url("?ssl-mode=DISABLED"));
    assert_eq!(code, Some(3), "{all}");
    let detail = row["detail"].as_str().unwrap();
    assert!(
        detail.contains("the server requires TLS") && detail.contains("ssl-mode=REQUIRED"),
        "{detail}"
    );

    // Another CA (ssl-ca alone means VERIFY_CA): not trusted.
    let wrong = db.url(&format!("?ssl-ca={}", certs.other_ca.display()));
    let (code, row, all) = health(d.path(), &wrong);
    assert_eq!(code, Some(3), "{all}");
    let detail = row["detail"].as_str().unwrap();
    assert!(detail.contains("certificate not trusted"), "{detail}");
    assert!(detail.contains(":****@127.0.0.1"), "{detail}");
    assert!(!all.contains(PASSWORD), "{all}");

    // A mode MySQL does not have: a configuration error (exit 2) before any connection.
    let out = sb
        .cmd(&["train"])
        .env("ENABLE_TARGET_DB", "true")
        .env("TARGET_DATABASE_URL", db.url("?ssl-mode=sometimes"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ssl-mode=\"sometimes\" is not a mode"),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
}

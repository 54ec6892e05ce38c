//! Shared setup for the backup/restore end-to-end tests: an isolated environment (own folder, own
//! variables) with a real system DB (SQLite file or a fresh `common::pg::PgDatabase`), an embedded
//! knowledge store file and a golden copy of a small target DB.
#![allow(dead_code)]

use crate::common::cli::{isolated, json_of};
use crate::common::pg::PgDatabase;
use crate::common::{pg, sqlite};
use assert_cmd::Command;
use rusqlite::Connection;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
    pub vars: Vec<(String, String)>,
}

/// What an app adds to the system DB beside vannactl's own schema: a schema of its own with a
/// bigserial table (PostgreSQL only).
pub const APP_OBJECTS: &str = "
CREATE SCHEMA audit;
CREATE TABLE audit.events (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now(), what JSONB);
INSERT INTO audit.events (what) SELECT jsonb_build_object('n', g) FROM generate_series(1, 500) g;
";

/// Demo journal lines `init` creates in every environment: some thousands.
pub const SEED_ROWS: &str = "2000";

pub const ADMIN_PASSWORD: &str = "backup-e2e-orbit-lantern-42";

impl Env {
    fn base() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let p = |s: &str| dir.path().join(s).display().to_string();
        let vars = vec![
            ("TARGET_DB_SOURCE".into(), p("source.db")),
            ("TARGET_DB_PATH".into(), p("data/target db.db")),
            ("BACKUP_DIR".into(), p("backups")),
            ("KNOWLEDGE_DB_PATH".into(), p("data/knowledge.db")),
            ("CHROMA_PATH".into(), p("data/chroma")),
            ("LOCK_PATH".into(), p("data/vannactl.lock")),
            ("LOG_DIR".into(), p("logs")),
            (
                "ONTOLOGY_DIR".into(),
                crate::common::paths::repo()
                    .join("ontology")
                    .display()
                    .to_string(),
            ),
            ("INIT_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("SEED_DEMO_DATA".into(), "true".into()),
        ];
        let env = Env {
            dir,
            pg: None,
            vars,
        };
        // Target: a small SQLite DB, made into a golden copy by `init`.
        make_sqlite(&env.path("source.db"), "CREATE TABLE cars(id INTEGER PRIMARY KEY, model TEXT); INSERT INTO cars(model) VALUES ('a'),('b'),('c');");
        // A knowledge base: a store of vannactl's former format, converted into the Chroma
        // directory by the first command that opens it (see `init`).
        crate::common::chroma_dir::write_legacy(
            &env.path("data/knowledge.db"),
            &[
                (
                    "sql",
                    "q1-sql",
                    "{\"question\": \"one?\", \"sql\": \"SELECT 1\"}",
                    None,
                ),
                (
                    "ddl",
                    "d1-ddl",
                    "CREATE TABLE cars(id)",
                    Some("schema:cars"),
                ),
            ],
        );
        env
    }

    /// What `vannactl init` makes: golden copy, migrated system DB, admin user, ontology, demo data.
    fn init(&self) {
        self.ok(&["init", "--seed-rows", SEED_ROWS]);
        // Converts the store above into data/chroma (the Chroma directory the app opens).
        self.ok(&["train", "status"]);
    }

    /// Embedded SQLite system DB, as `init` creates it.
    pub fn sqlite() -> Env {
        let mut env = Env::base();
        let db = env.path("data/system.db");
        env.vars
            .push(("DATABASE_URL".into(), format!("sqlite://{}", db.display())));
        env.init();
        env
    }

    /// PostgreSQL system DB in a fresh database, as `init` creates it, plus what an app adds.
    pub fn postgres() -> Env {
        let mut env = Env::base();
        let pg = PgDatabase::create();
        env.vars.push(("DATABASE_URL".into(), pg.url()));
        env.pg = Some(pg);
        env.init();
        env.system_exec(APP_OBJECTS);
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.into(), v.into()));
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::from_std(isolated(self.dir.path()));
        c.arg("--no-dotenv");
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Run with `--json` and return (exit code, parsed JSON).
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self.cmd().arg("--json").args(args).output().unwrap();
        (out.status.code().unwrap_or(-1), json_of(&out))
    }

    /// `json` that must succeed.
    pub fn ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.json(args);
        assert_eq!(code, 0, "vannactl {args:?} failed: {v}");
        v
    }

    pub fn backup(&self) -> PathBuf {
        PathBuf::from(self.ok(&["backup"])["archive"].as_str().unwrap())
    }

    pub fn archives(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.path("backups"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v.into_iter()
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with("backup_2") && n.ends_with(".tar.gz")
            })
            .collect()
    }

    /// Spawn with a test hook that pauses at `point`; returns once the pause is reached.
    pub fn spawn_paused(&self, args: &[&str], point: &str) -> Child {
        let mut c = isolated(self.dir.path());
        c.env("VANNACTL_TEST_HOOK", format!("pause:{point}"))
            .arg("--no-dotenv")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let want = format!("vannactl-test-hook: paused at {point}");
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains(&want) => break,
                Some(Ok(_)) => continue,
                _ => {
                    let status = child.wait().unwrap();
                    panic!("{args:?} ended ({status}) before reaching {point}");
                }
            }
        }
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        child
    }

    /// Everything in the system DB, table by table, as text (content, not just counts), without
    /// vannactl's own backup and restore audit rows: those are written after the dump and after
    /// the restore (or its failure) by design, so they are never part of a backup point.
    pub fn system_contents(&self) -> Vec<(String, Vec<String>)> {
        let mut all = self.system_rows();
        for (table, rows) in &mut all {
            if table.ends_with("audit_logs") {
                rows.retain(|r| {
                    // PostgreSQL rows are JSON objects; SQLite rows `id|occurred_at|actor|action|…`.
                    let action = match serde_json::from_str::<Value>(r) {
                        Ok(v) => v["action"].as_str().map(str::to_string),
                        Err(_) => r.split('|').nth(3).map(str::to_string),
                    };
                    !matches!(
                        action.as_deref(),
                        Some("backup" | "restore" | "Text(\"backup\")" | "Text(\"restore\")")
                    )
                });
            }
        }
        all
    }

    /// Every row of every table of the system DB, audit log included.
    pub fn system_rows(&self) -> Vec<(String, Vec<String>)> {
        match &self.pg {
            Some(pg) => pg::contents(&mut pg.client()),
            None => sqlite::contents(&self.path("data/system.db")),
        }
    }

    pub fn system_exec(&self, sql: &str) {
        match &self.pg {
            Some(pg) => pg.client().batch_execute(sql).unwrap(),
            None => Connection::open(self.path("data/system.db"))
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }

    /// The Chroma directory's records (ids, documents, metadata, vectors).
    pub fn knowledge_contents(&self) -> Vec<(String, Vec<String>)> {
        crate::common::chroma_dir::contents(&self.path("data/chroma"))
    }

    pub fn target_bytes(&self) -> Vec<u8> {
        std::fs::read(self.path("data/target db.db")).unwrap()
    }

    /// Files a run left in `rel` whose names mark them as temporary.
    pub fn temp_files(&self, rel: &str) -> Vec<PathBuf> {
        std::fs::read_dir(self.path(rel))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(".vannactl-tmp-")
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Replace the golden copy with different content (through the real command).
    pub fn change_target(&self) {
        let other = self.path("other.db");
        make_sqlite(&other, "CREATE TABLE cars(id INTEGER PRIMARY KEY, model TEXT); INSERT INTO cars(model) VALUES ('x');");
        self.ok(&["--yes", "golden-copy", "--source", other.to_str().unwrap()]);
    }
}

pub fn make_sqlite(path: &Path, sql: &str) {
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
}

/// Write a tar.gz from (name, type, data) without any of the tar crate's path sanitising.
pub fn craft(path: &Path, entries: &[(&str, tar::EntryType, Vec<u8>)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    for (name, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(*kind);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    std::io::Write::flush(&mut b.into_inner().unwrap().finish().unwrap()).unwrap();
}

/// The members of an archive in order, manifest first, as (path, bytes).
pub fn unpack(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(archive).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (path, data)
        })
        .collect()
}

/// Rewrite `archive` as `out` after `change_member` (on `member`'s bytes) and `change_manifest`;
/// every member's size and SHA-256 in the manifest are then made to match, so only the deep checks
/// of `backup verify` can tell.
pub fn tamper(
    archive: &Path,
    out: &Path,
    member: &str,
    change_member: impl FnOnce(&mut Vec<u8>),
    change_manifest: impl FnOnce(&mut vannactl::backup::manifest::Manifest),
) {
    let mut members = unpack(archive);
    assert_eq!(members[0].0, "manifest.json");
    let mut manifest: vannactl::backup::manifest::Manifest =
        serde_json::from_slice(&members[0].1).unwrap();
    let data = &mut members
        .iter_mut()
        .find(|(p, _)| p == member)
        .unwrap_or_else(|| panic!("no member {member}"))
        .1;
    change_member(data);
    change_manifest(&mut manifest);
    for (p, data) in &members[1..] {
        use sha2::Digest;
        let m = manifest.members.iter_mut().find(|m| &m.path == p).unwrap();
        m.size = data.len() as u64;
        m.sha256 = hex::encode(sha2::Sha256::digest(data));
    }
    members[0].1 = serde_json::to_vec_pretty(&manifest).unwrap();
    let entries: Vec<(&str, tar::EntryType, Vec<u8>)> = members
        .iter()
        .map(|(p, d)| (p.as_str(), tar::EntryType::Regular, d.clone()))
        .collect();
    craft(out, &entries);
}

//! Shared helpers for the system DB end-to-end tests: a throwaway environment per test on either
//! backend (PostgreSQL: a `common::pg::PgDatabase`), Python's bcrypt as a cross-check, and a private
//! password-authenticated PostgreSQL cluster.
#![allow(dead_code)]

use crate::common::cli::{json_of, vannactl};
use crate::common::paths::{model_dir, python, repo, testdata};
use crate::common::pg::PgDatabase;
use std::path::{Path, PathBuf};
use std::process::Output;
use vannactl::config::SystemDbUrl;
use vannactl::system_db::{Db, OpenMode, Val};

// Passes the production password policy (a username inside it would be a warning in development).
pub const ADMIN_PASSWORD: &str = "e2e-orbit-lantern-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// A working folder plus a system DB on one backend.
pub struct Env {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
    /// Extra variables for every command.
    pub vars: Vec<(String, String)>,
}

impl Env {
    pub fn new(backend: Backend) -> Env {
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        Env {
            backend,
            dir: tempfile::tempdir().unwrap(),
            pg,
            vars: Vec::new(),
        }
    }

    pub fn database_url(&self) -> String {
        match &self.pg {
            Some(pg) => pg.url(),
            None => "sqlite://data/system.db".into(),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("data/system.db")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn set(&mut self, k: &str, v: &str) -> &mut Env {
        self.vars.retain(|(n, _)| n != k);
        self.vars.push((k.into(), v.into()));
        self
    }

    /// A fresh environment that `vannactl init` set up, with `seed_rows` demo journal lines.
    pub fn initialised(backend: Backend, seed_rows: u32) -> Env {
        let env = Env::new(backend);
        let rows = seed_rows.to_string();
        let (code, v, out) = env.run_json(&["init", "--seed-rows", &rows]);
        assert_eq!(
            code,
            0,
            "{backend:?}: {v}\n{}",
            crate::common::cli::stderr(&out)
        );
        env
    }

    /// Run `vannactl backup`, which must succeed; the archive written.
    pub fn backup(&self) -> PathBuf {
        let (code, v, out) = self.run_json(&["backup"]);
        assert_eq!(code, 0, "{v}\n{}", crate::common::cli::stderr(&out));
        self.path().join(v["archive"].as_str().unwrap())
    }

    /// `init` trains into the Chroma server at `url` (database `database`), on the shipped target
    /// DB, which the shipped training pairs are written for.
    pub fn on_chroma(&mut self, url: &str, database: &str) -> &mut Env {
        let target = repo().join("assets/databases/vanna_db.db");
        self.set("CHROMA_URL", url)
            .set("CHROMA_DATABASE", database)
            .set("AUTO_TRAIN_CHROMA", "true")
            .set("EMBEDDING_MODEL_DIR", model_dir().to_str().unwrap())
            .set("TARGET_DB_SOURCE", target.to_str().unwrap())
    }

    /// The binary in the working folder with a clean configuration environment.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = vannactl(self.dir.path());
        cmd.env("DATABASE_URL", self.database_url())
            .env("TARGET_DB_SOURCE", testdata("Chinook_Sqlite.sqlite"))
            .env("ONTOLOGY_DIR", repo().join("ontology"))
            .env("INIT_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("USER", "e2e-tester")
            .arg("--no-dotenv");
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        // A hung command fails the test instead of blocking the run.
        cmd.timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// Run `vannactl <args> --json` and return (exit code, JSON).
    pub fn run_json(&self, args: &[&str]) -> (i32, serde_json::Value, Output) {
        let out = self.cmd().args(args).arg("--json").output().unwrap();
        let v = json_of(&out);
        (out.status.code().unwrap_or(-1), v, out)
    }

    pub fn db(&self) -> Db {
        let url = match &self.pg {
            Some(pg) => SystemDbUrl::Postgres(pg.url()),
            None => SystemDbUrl::Sqlite(self.sqlite_path()),
        };
        Db::open(&url, OpenMode::Existing).unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        self.db().count(table).unwrap()
    }

    pub fn query(&self, sql: &str) -> Vec<Vec<Val>> {
        self.db().query(sql, &[]).unwrap()
    }

    pub fn table_exists(&self, t: &str) -> bool {
        self.db().table_exists(t).unwrap()
    }
}

/// Does Python's bcrypt accept `password` for `hash`?
pub fn python_bcrypt_verifies(hash: &str, password: &str) -> bool {
    use std::io::Write;
    let mut child = std::process::Command::new(python())
        .arg(repo().join("tests/python/check_bcrypt.py"))
        .arg(hash)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    match child.wait().unwrap().code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("check_bcrypt.py failed ({other:?})"),
    }
}

/// A private PostgreSQL 15 cluster with password (scram-sha-256) authentication on a free
/// loopback port, stopped and removed on drop. Runs as the `postgres` OS user when we are root
/// (initdb refuses root).
pub struct PrivateCluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl PrivateCluster {
    fn pg_cmd(&self, tool: &str) -> std::process::Command {
        pg_command(&self.bin, tool)
    }

    pub fn start(password: &str) -> PrivateCluster {
        let bin = pg_bindir();
        let dir = tempfile::tempdir().unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, format!("{password}\n")).unwrap();
        if is_root() {
            let (uid, gid) = postgres_ids();
            for p in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
            }
        }
        let port = crate::common::free_port();
        let data = dir.path().join("data");
        let mut c = pg_command(&bin, "initdb");
        c.args([
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", pwfile.display()));
        run_ok(c, "initdb");
        let cluster = PrivateCluster { dir, port, bin };
        let mut c = cluster.pg_cmd("pg_ctl");
        c.args(["-D", data.to_str().unwrap(), "-w", "-l"])
            .arg(cluster.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
                cluster.dir.path().display()
            ))
            .arg("start");
        run_ok(c, "pg_ctl start");
        cluster
    }

    pub fn url(&self, password: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let mut c = self.pg_cmd("pg_ctl");
        c.args([
            "-D",
            self.dir.path().join("data").to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
        let _ = c.output();
    }
}

fn pg_bindir() -> PathBuf {
    let out = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output();
    if let Ok(o) = out {
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if p.join("initdb").exists() {
            return p;
        }
    }
    let p = PathBuf::from("/usr/lib/postgresql/15/bin");
    assert!(
        p.join("initdb").exists(),
        "PostgreSQL 15 server binaries (initdb, pg_ctl) not found"
    );
    p
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

fn postgres_ids() -> (u32, u32) {
    let out = std::process::Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    let uid: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a postgres OS user");
    let out = std::process::Command::new("id")
        .args(["-g", "postgres"])
        .output()
        .unwrap();
    let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (uid, gid)
}

fn pg_command(bin: &Path, tool: &str) -> std::process::Command {
    if is_root() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        std::process::Command::new(bin.join(tool))
    }
}

fn run_ok(mut c: std::process::Command, what: &str) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

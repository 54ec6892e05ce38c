//! `backup`, `restore`, `init`, `train` and `golden-copy` started at the same moment against one
//! deployment made by `vannactl init` (demo data, admin user, ontology, Chroma directory,
//! golden copy), on the SQLite and the PostgreSQL system DB, several rounds.
//!
//! The operation lock fails fast (src/lock.rs): the one process that gets it runs, every other
//! one exits 5 and must change nothing. To make "at the same moment" exact rather than a matter of
//! timing, every process runs with the test hook `hold:lock:<operation>`: the winner stops right
//! after taking the lock, until the test closes its stdin. So the competitors always meet a held
//! lock, and the state can be compared while the winner holds it (it has done nothing yet).
//! Between rounds the app changes the deployment (new users, queries, feedback, audit rows, a new
//! table in the target source), so every winner has real work to do.

mod common;

use common::cli::{isolated, json_of};
use common::paths::{model_dir, repo};
use common::pg::PgDatabase;
use common::{pg, sqlite};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const OPS: [&str; 5] = ["backup", "restore", "init", "train", "golden-copy"];
const ADMIN_PASSWORD: &str = "quiet-lantern-orbit-2817";

struct Deployment {
    dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

/// Everything the five commands may change, to compare before and after.
#[derive(Debug, Clone, PartialEq)]
struct State {
    system: BTreeMap<String, Vec<String>>,
    knowledge: BTreeMap<String, Vec<String>>,
    target_sha256: String,
    target_manifest: String,
    /// Archive names and sizes.
    archives: BTreeMap<String, u64>,
    /// Names under data/ (SQLite's -wal/-shm come and go with readers, the lock file with holders).
    data_files: BTreeSet<String>,
}

enum Event {
    Holding(usize),
    Exited {
        idx: usize,
        stdout: String,
        stderr: String,
    },
}

impl Deployment {
    fn new(postgres: bool) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            repo().join("assets/databases/vanna_db.db"),
            dir.path().join("source.db"),
        )
        .unwrap();
        let d = Deployment {
            dir,
            pg: postgres.then(PgDatabase::create),
        };
        // The deployment as `vannactl init` makes it, with a knowledge base and a first archive.
        d.ok(&["--yes", "init"]);
        d.ok(&["--yes", "train"]);
        d
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = isolated(self.dir.path());
        let url = match &self.pg {
            Some(pg) => pg.url(),
            None => "sqlite://data/system.db".into(),
        };
        c.env("DATABASE_URL", url)
            .env("TARGET_DB_SOURCE", self.path("source.db"))
            .env("ONTOLOGY_DIR", repo().join("ontology"))
            .env("EMBEDDING_MODEL_DIR", model_dir())
            .env("INIT_ADMIN_USERNAME", "admin")
            .env("INIT_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("BACKUP_RETENTION_COUNT", "0")
            .arg("--no-dotenv")
            .arg("--json")
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = self.command(args).output().unwrap();
        (out.status.code().unwrap_or(-1), json_of(&out))
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.run(args);
        assert_eq!(code, 0, "vannactl {args:?}: {v}");
        v
    }

    fn state(&self) -> State {
        let system = match &self.pg {
            Some(pg) => pg::contents(&mut pg.client()),
            None => sqlite::contents(&self.path("data/system.db")),
        };
        let sorted = |v: Vec<(String, Vec<String>)>| {
            v.into_iter()
                .map(|(t, mut rows)| {
                    rows.sort();
                    (t, rows)
                })
                .collect()
        };
        let data_files = std::fs::read_dir(self.path("data"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm") && n != "vannactl.lock")
            .collect();
        State {
            system: sorted(system),
            knowledge: sorted(common::chroma_dir::contents(&self.path("data/chroma"))),
            target_sha256: common::sha256_file(&self.path("data/vanna_db.db")),
            target_manifest: std::fs::read_to_string(self.path("data/vanna_db.db.manifest.json"))
                .unwrap(),
            archives: self
                .archives()
                .iter()
                .map(|p| {
                    (
                        p.file_name().unwrap().to_string_lossy().into_owned(),
                        std::fs::metadata(p).unwrap().len(),
                    )
                })
                .collect(),
            data_files,
        }
    }

    /// The archive a `backup` report names, as an absolute path (reports give it as configured).
    fn archive_path(&self, report: &Value) -> PathBuf {
        self.dir.path().join(report["archive"].as_str().unwrap())
    }

    fn archives(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.path("backups"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("backup_") && n.ends_with(".tar.gz")
        });
        v.sort();
        v
    }

    /// What the app does between rounds: a user, a query with feedback, an audit row, and (on
    /// even rounds) a new table in the target source so golden-copy, init and train have work.
    fn app_activity(&self, round: usize) {
        let sql = format!(
            "INSERT INTO users (username, password_hash, role, is_active, created_at, updated_at)
               VALUES ('analyst{round}', '$2b$12$abcdefghijklmnopqrstuv', 'analyst', {t}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
             INSERT INTO queries (user_id, question, generated_sql, status, created_at)
               VALUES ((SELECT id FROM users WHERE username = 'analyst{round}'), 'how many orders in round {round}?', 'SELECT count(*) FROM orders', 'success', '2026-01-01T00:00:00Z');
             INSERT INTO feedback (query_id, user_id, rating, created_at)
               VALUES ((SELECT max(id) FROM queries), (SELECT id FROM users WHERE username = 'analyst{round}'), 1, '2026-01-01T00:00:00Z');
             INSERT INTO audit_logs (occurred_at, actor, action, resource, details, outcome)
               VALUES ('2026-01-01T00:00:00Z', 'app', 'login', 'users/analyst{round}', '{{}}', 'success');",
            t = if self.pg.is_some() { "true" } else { "1" },
        );
        match &self.pg {
            Some(pg) => pg.client().batch_execute(&sql).unwrap(),
            None => rusqlite::Connection::open(self.path("data/system.db"))
                .unwrap()
                .execute_batch(&sql)
                .unwrap(),
        }
        if round.is_multiple_of(2) {
            rusqlite::Connection::open(self.path("source.db"))
                .unwrap()
                .execute_batch(&format!(
                    "CREATE TABLE round_{round} (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
                     INSERT INTO round_{round} (note) VALUES ('round {round}');"
                ))
                .unwrap();
        }
    }

    fn args(op: &str, archive: &Path) -> Vec<String> {
        let mut v = vec!["--yes".to_string(), op.to_string()];
        if op == "restore" {
            v.push(archive.display().to_string());
        }
        v
    }

    /// Start `op`, held at the lock hook if it wins; its stderr and exit are reported on `tx`.
    fn spawn(
        &self,
        idx: usize,
        op: &'static str,
        archive: &Path,
        tx: mpsc::Sender<Event>,
    ) -> Child {
        let hook: Vec<String> = OPS.iter().map(|o| format!("hold:lock:{o}")).collect();
        let args = Self::args(op, archive);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = self.command(&args);
        c.env("VANNACTL_TEST_HOOK", hook.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Reader threads own the pipes (one each, so neither can fill up and block the child);
        // the caller keeps the Child for its stdin and exit status.
        let out = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        });
        std::thread::spawn(move || {
            let mut err = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("vannactl-test-hook: holding at lock:") {
                    let _ = tx.send(Event::Holding(idx));
                }
                err.push_str(&line);
                err.push('\n');
            }
            let _ = tx.send(Event::Exited {
                idx,
                stdout: out.join().unwrap_or_default(),
                stderr: err,
            });
        });
        child
    }
}

/// Table by table, the first difference (the states are too large to print whole).
fn differences(a: &State, b: &State) -> Vec<String> {
    let mut d = Vec::new();
    for (what, x, y) in [
        ("system", &a.system, &b.system),
        ("knowledge", &a.knowledge, &b.knowledge),
    ] {
        let tables: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        for t in tables {
            let (rx, ry) = (x.get(t), y.get(t));
            if rx != ry {
                let only_x: Vec<&String> = rx
                    .into_iter()
                    .flatten()
                    .filter(|r| !ry.is_some_and(|v| v.contains(r)))
                    .take(2)
                    .collect();
                let only_y: Vec<&String> = ry
                    .into_iter()
                    .flatten()
                    .filter(|r| !rx.is_some_and(|v| v.contains(r)))
                    .take(2)
                    .collect();
                d.push(format!(
                    "{what} table {t}: only before {only_x:?}, only after {only_y:?}"
                ));
            }
        }
    }
    if a.target_sha256 != b.target_sha256 {
        d.push("golden copy content".into());
    }
    if a.target_manifest != b.target_manifest {
        d.push("golden copy manifest".into());
    }
    if a.archives != b.archives {
        d.push(format!("archives {:?} → {:?}", a.archives, b.archives));
    }
    if a.data_files != b.data_files {
        d.push(format!("data/ {:?} → {:?}", a.data_files, b.data_files));
    }
    d
}

fn assert_no_temp_files(d: &Deployment) {
    for rel in ["data", "backups", "."] {
        let left: Vec<String> = std::fs::read_dir(d.path(rel))
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".vannactl-tmp-"))
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "temp files left in {rel}: {left:?}");
    }
}

fn assert_every_archive_verifies(d: &Deployment) {
    let archives = d.archives();
    assert!(!archives.is_empty());
    for a in archives {
        let (code, v) = d.run(&["backup", "verify", a.to_str().unwrap()]);
        assert_eq!(code, 0, "{} does not verify: {v}", a.display());
    }
}

/// The winner's result, checked against what it was meant to do.
fn check_winner(
    d: &Deployment,
    op: &str,
    report: &Value,
    before: &State,
    archive: &Path,
    snapshots: &mut BTreeMap<PathBuf, State>,
) {
    match op {
        "backup" => {
            snapshots.insert(d.archive_path(report), before.clone());
        }
        "restore" => {
            let want = &snapshots[archive];
            let got = d.state();
            // The restore's own audit row and safety archive come on top of the backup point.
            let mut got_cmp = got.clone();
            let mut want_cmp = want.clone();
            // `audit_logs` on SQLite, `public.audit_logs` on PostgreSQL.
            let take = |s: &mut State| {
                let a = s.system.remove("audit_logs");
                a.or_else(|| s.system.remove("public.audit_logs"))
                    .unwrap_or_default()
            };
            let audit = take(&mut got_cmp);
            let want_audit = take(&mut want_cmp);
            for row in &want_audit {
                assert!(audit.contains(row), "audit row lost by restore: {row}");
            }
            got_cmp.archives.clear();
            want_cmp.archives.clear();
            // Restore re-stamps the golden-copy manifest for the new file (inode, mtime).
            got_cmp.target_manifest.clear();
            want_cmp.target_manifest.clear();
            let diff = differences(&want_cmp, &got_cmp);
            assert!(
                diff.is_empty(),
                "restore is not the backup point: {diff:#?}"
            );
            // A safety backup of the state it replaced was added.
            assert!(report["safety_backup"].is_string(), "{report}");
        }
        "init" => {
            let (code, check) = d.run(&["init", "--check"]);
            assert_eq!(code, 0, "init --check after init: {check}");
        }
        "train" => {
            let s = d.ok(&["train", "status"]);
            assert!(s.to_string().contains("ddl"), "{s}");
        }
        "golden-copy" => {
            let (code, v) = d.run(&["golden-copy", "--verify"]);
            assert_eq!(code, 0, "golden-copy --verify: {v}");
        }
        _ => unreachable!(),
    }
}

/// One round: `first` (if any) is started and holds the lock before the others start together;
/// without it all five start together and whichever takes the lock holds it.
fn round(
    d: &Deployment,
    first: Option<usize>,
    archive: &Path,
    snapshots: &mut BTreeMap<PathBuf, State>,
) -> &'static str {
    let before = d.state();
    let (tx, rx) = mpsc::channel();
    let mut children: BTreeMap<usize, Child> = BTreeMap::new();
    let mut exits: BTreeMap<usize, (String, String)> = BTreeMap::new();
    let mut holder: Option<usize> = None;
    let wait = |rx: &mpsc::Receiver<Event>| {
        rx.recv_timeout(Duration::from_secs(300))
            .expect("a command neither held the lock nor exited within 300 s")
    };
    let record = |e: Event,
                  holder: &mut Option<usize>,
                  exits: &mut BTreeMap<usize, (String, String)>| match e {
        Event::Holding(i) => {
            assert!(
                holder.is_none(),
                "two commands hold the lock: {holder:?} and {i}"
            );
            *holder = Some(i);
        }
        Event::Exited {
            idx,
            stdout,
            stderr,
            ..
        } => {
            exits.insert(idx, (stdout, stderr));
        }
    };
    if let Some(w) = first {
        let c = d.spawn(w, OPS[w], archive, tx.clone());
        children.insert(w, c);
        while holder.is_none() {
            let e = wait(&rx);
            record(e, &mut holder, &mut exits);
            if let Some((out, err)) = exits.get(&w) {
                panic!("{} ended before holding the lock:\n{out}\n{err}", OPS[w]);
            }
        }
    }
    // The rest start at the same moment.
    let rest: Vec<usize> = (0..OPS.len()).filter(|i| Some(*i) != first).collect();
    let barrier = Arc::new(Barrier::new(rest.len()));
    std::thread::scope(|s| {
        let handles: Vec<_> = rest
            .iter()
            .map(|&i| {
                let barrier = barrier.clone();
                let tx = tx.clone();
                s.spawn(move || {
                    barrier.wait();
                    (i, d.spawn(i, OPS[i], archive, tx))
                })
            })
            .collect();
        for h in handles {
            let (i, c) = h.join().unwrap();
            children.insert(i, c);
        }
    });
    // Every competitor ends (exit 5) while the lock is held.
    while exits.len() < OPS.len() - 1 || holder.is_none() {
        let e = wait(&rx);
        record(e, &mut holder, &mut exits);
    }
    let w = holder.unwrap();
    assert!(
        !exits.contains_key(&w),
        "{} held the lock and exited",
        OPS[w]
    );
    let winner_pid = children[&w].id();
    for (&i, (out, err)) in &exits {
        let code = children.get_mut(&i).unwrap().wait().unwrap().code();
        assert_eq!(
            code,
            Some(5),
            "{} beside a held {} lock: {out}\n{err}",
            OPS[i],
            OPS[w]
        );
        let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(v["error"]["kind"], "locked", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("is held by {} (pid {winner_pid}", OPS[w])),
            "{} does not name the holder: {msg}",
            OPS[i]
        );
    }
    // The competitors changed nothing, and the holder has not started yet.
    let during = d.state();
    let diff = differences(&before, &during);
    assert!(
        diff.is_empty(),
        "a command refused with exit 5 changed the deployment: {diff:#?}"
    );
    // Let the winner go on.
    let mut winner = children.remove(&w).unwrap();
    drop(winner.stdin.take());
    let status = winner.wait().unwrap();
    let (out, err) = loop {
        if let Some(x) = exits.remove(&w) {
            break x;
        }
        let e = wait(&rx);
        record(e, &mut holder, &mut exits);
    };
    assert_eq!(status.code(), Some(0), "{} failed: {out}\n{err}", OPS[w]);
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    check_winner(d, OPS[w], &report, &before, archive, snapshots);
    // The lock is free again: its file records no holder.
    let lock = std::fs::read_to_string(d.path("data/vannactl.lock")).unwrap();
    assert!(lock.is_empty(), "lock not released: {lock}");
    assert_no_temp_files(d);
    assert_every_archive_verifies(d);
    OPS[w]
}

/// Rounds in which each of `winners` is started first and wins, then `free_for_all_rounds` in which
/// all five start together.
fn campaign(postgres: bool, winners: &[&str], free_for_all_rounds: usize) {
    let d = Deployment::new(postgres);
    let mut snapshots = BTreeMap::new();
    let first = d.archive_path(&d.ok(&["--yes", "backup"]));
    snapshots.insert(first.clone(), d.state());
    let mut archive = first;
    let mut won = Vec::new();
    let rounds: Vec<Option<usize>> = winners
        .iter()
        .map(|w| Some(OPS.iter().position(|o| o == w).unwrap()))
        .chain(std::iter::repeat_n(None, free_for_all_rounds))
        .collect();
    for (n, first) in rounds.into_iter().enumerate() {
        d.app_activity(n);
        let w = round(&d, first, &archive, &mut snapshots);
        won.push(w);
        if w == "backup" {
            archive = d
                .archives()
                .into_iter()
                .rev()
                .find(|a| snapshots.contains_key(a))
                .unwrap();
        }
    }
    for op in winners {
        assert!(won.contains(op), "{op} never won: {won:?}");
    }
}

#[test]
fn five_commands_at_once_on_sqlite_one_wins_the_others_exit_5_and_change_nothing() {
    // Restore last, from the archive the backup round made.
    campaign(
        false,
        &["init", "golden-copy", "train", "backup", "restore"],
        3,
    );
}

#[test]
fn five_commands_at_once_on_postgres_one_wins_the_others_exit_5_and_change_nothing() {
    // Restore last, from the archive the backup round made: the exact PostgreSQL restore of the
    // system DB `init` created.
    campaign(
        true,
        &["init", "golden-copy", "train", "backup", "restore"],
        1,
    );
}

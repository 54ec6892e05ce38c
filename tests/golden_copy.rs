//! `vannactl golden-copy` end to end, through the built binary, on the shared sample databases.

mod common;

use common::cli::{json_of, vannactl};
use common::paths::testdata;
use common::sha256_file;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    /// `golden-copy --json` with the given source, copy at data/copy.db.
    fn run(&self, source: &Path, extra: &[&str]) -> std::process::Output {
        vannactl(self.dir.path())
            .args([
                "--json",
                "golden-copy",
                "--dest",
                "data/copy.db",
                "--source",
            ])
            .arg(source)
            .args(extra)
            .output()
            .unwrap()
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn copy_into(env: &Env, name: &str) -> PathBuf {
    let p = env.path(name);
    std::fs::copy(testdata(name), &p).unwrap();
    p
}

/// A fresh env with a private copy of the sample `name` as the source, already golden-copied once.
fn with_first_copy(name: &str) -> (Env, PathBuf) {
    let env = Env::new();
    let src = copy_into(&env, name);
    assert!(env.run(&src, &[]).status.success());
    (env, src)
}

#[test]
fn copies_every_sample_database_verbatim_and_read_only() {
    for name in [
        "Chinook_Sqlite.sqlite",
        "northwind.db",
        "car_1.sqlite",
        "student_transcripts_tracking.sqlite",
        "dog_kennels.sqlite",
    ] {
        let env = Env::new();
        let src = testdata(name);
        let (before_sha, before_mtime) = (sha256_file(&src), mtime(&src));
        let out = env.run(&src, &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let j = json_of(&out);
        assert_eq!(j["ok"], true);
        assert_eq!(j["action"], "copied");
        assert_eq!(j["read_only"], true);
        assert_eq!(j["source"]["sha256"], before_sha.as_str());
        assert_eq!(j["copy"]["sha256"], before_sha.as_str());
        assert!(j["bytes_per_sec"].as_u64().unwrap() > 0);
        let copy = env.path("data/copy.db");
        assert_eq!(sha256_file(&copy), before_sha, "{name}");
        assert_eq!(mode(&copy), 0o444, "{name}");
        // The source is never modified.
        assert_eq!(sha256_file(&src), before_sha);
        assert_eq!(mtime(&src), before_mtime);
        // Manifest beside the copy.
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(env.path("data/copy.db.manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["sha256"], before_sha.as_str());
        assert_eq!(m["source"]["size"], std::fs::metadata(&src).unwrap().len());
        assert!(m["copied_at"].as_str().unwrap().starts_with("20"));
        assert_eq!(m["tool_version"], env!("CARGO_PKG_VERSION"));
        // The copy is usable, read-only, including views and names with spaces.
        let conn = vannactl::target::open_readonly(&copy).unwrap();
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert!(objects > 0);
        assert!(conn.execute_batch("CREATE TABLE x(a)").is_err());
        // Nothing but the copy, its manifest and the released lock: no stray temp files.
        let mut files: Vec<String> = std::fs::read_dir(env.path("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["copy.db", "copy.db.manifest.json", "vannactl.lock"]);
        assert_eq!(
            std::fs::metadata(env.path("data/vannactl.lock"))
                .unwrap()
                .len(),
            0
        );
    }
}

#[test]
fn northwind_views_with_spaces_work_on_the_copy() {
    let env = Env::new();
    assert!(env.run(&testdata("northwind.db"), &[]).status.success());
    let conn = vannactl::target::open_readonly(&env.path("data/copy.db")).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM [Alphabetical list of products]",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(n > 0);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM [Order Details]", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
}

#[test]
fn rerun_is_a_stat_only_noop() {
    let (env, src) = with_first_copy("car_1.sqlite");
    let copy = env.path("data/copy.db");
    let copy_mtime = mtime(&copy);
    let out = env.run(&src, &[]);
    let j = json_of(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(j["action"], "up-to-date");
    assert_eq!(
        j["hashed"], false,
        "an unchanged re-run must not re-read the files"
    );
    assert_eq!(j["bytes_copied"], 0);
    assert_eq!(mtime(&copy), copy_mtime);
}

#[test]
fn touched_source_with_same_content_is_adopted_without_copying() {
    let (env, src) = with_first_copy("car_1.sqlite");
    let f = std::fs::File::options().append(true).open(&src).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    let j = json_of(&env.run(&src, &[]));
    assert_eq!(j["action"], "up-to-date");
    assert_eq!(j["hashed"], true);
    assert_eq!(j["bytes_copied"], 0);
    // And the manifest now records the new stamp: the next run is stat-only again.
    assert_eq!(json_of(&env.run(&src, &[]))["hashed"], false);
}

#[test]
fn bad_sources_are_refused_and_nothing_is_touched() {
    // An existing good copy must survive every refused run.
    let (env, _) = with_first_copy("car_1.sqlite");
    let copy = env.path("data/copy.db");
    let copy_sha = sha256_file(&copy);

    std::fs::write(env.path("empty.db"), b"").unwrap();
    std::fs::write(env.path("text.db"), b"name,amount\nalice,10\nbob,20\n").unwrap();
    std::fs::write(env.path("short.db"), b"SQLite").unwrap();
    std::fs::create_dir(env.path("folder.db")).unwrap();
    // A database with uncheckpointed WAL content: a plain file copy would lose it.
    let wal_db = env.path("wal.db");
    let writer = rusqlite::Connection::open(&wal_db).unwrap();
    writer
        .execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(a); INSERT INTO t VALUES (1);")
        .unwrap();
    // A place of the wrong kind (a folder where a file belongs) is a setting error: exit 2.
    let cases: &[(&str, &str, i32)] = &[
        ("missing.db", "source_missing", 1),
        ("empty.db", "source_empty", 1),
        ("text.db", "source_not_sqlite", 1),
        ("short.db", "source_not_sqlite", 1),
        ("folder.db", "layout_conflict", 2),
        ("text.db/inner.db", "source_unreadable", 1),
        ("wal.db", "source_has_wal", 1),
    ];
    for (name, kind, code) in cases {
        let src = env.path(name);
        let out = env.run(&src, &["--yes"]);
        assert_eq!(out.status.code(), Some(*code), "{name}: {out:?}");
        let j = json_of(&out);
        assert_eq!(j["ok"], false, "{name}");
        assert_eq!(j["error"]["kind"], *kind, "{name}: {j}");
        let msg = j["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(src.to_str().unwrap()),
            "{name}: message must name the path: {msg}"
        );
        assert_eq!(
            sha256_file(&copy),
            copy_sha,
            "{name}: the existing copy was touched"
        );
    }
    drop(writer);
    // Human mode (no --json) from a source that does not exist, into `dest`.
    let from_missing_source = |dest: &str| {
        vannactl(env.dir.path())
            .args(["golden-copy", "--source", "missing.db", "--dest", dest])
            .output()
            .unwrap()
    };
    // One clear line on stderr, nothing on stdout.
    let out = from_missing_source("data/copy.db");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("missing.db does not exist"),
        "{err}"
    );
    // No copy appears for a refused first run either.
    let out = from_missing_source("data/other.db");
    assert_eq!(out.status.code(), Some(1));
    assert!(!env.path("data/other.db").exists());
}

#[test]
fn modified_copy_is_drift_refreshed_only_with_confirmation() {
    let (env, src) = with_first_copy("dog_kennels.sqlite");
    let copy = env.path("data/copy.db");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute_batch("UPDATE Dogs SET name = name || ' (renamed)'")
        .unwrap();
    let tampered = sha256_file(&copy);

    // No TTY, no --yes: exit 4, nothing changes.
    let out = env.run(&src, &[]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["error"]["kind"], "confirmation_required");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was modified"),
        "{j}"
    );
    assert_eq!(sha256_file(&copy), tampered);

    // --yes: refreshed from the source.
    let out = env.run(&src, &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["action"], "refreshed");
    assert_eq!(sha256_file(&copy), sha256_file(&src));
    assert_eq!(mode(&copy), 0o444);
}

#[test]
fn replaced_source_is_drift_refreshed_only_with_confirmation() {
    let env = Env::new();
    let src = env.path("target.db");
    std::fs::copy(testdata("car_1.sqlite"), &src).unwrap();
    assert!(env.run(&src, &[]).status.success());
    std::fs::copy(testdata("dog_kennels.sqlite"), &src).unwrap();
    let out = env.run(&src, &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(json_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("was replaced"));
    assert_eq!(
        sha256_file(&env.path("data/copy.db")),
        sha256_file(&testdata("car_1.sqlite"))
    );
    let j = json_of(&env.run(&src, &["--yes"]));
    assert_eq!(j["action"], "refreshed");
    assert_eq!(
        sha256_file(&env.path("data/copy.db")),
        sha256_file(&testdata("dog_kennels.sqlite"))
    );
}

#[test]
fn verify_rehashes_and_reports_drift_with_exit_1() {
    let (env, src) = with_first_copy("car_1.sqlite");
    let out = env.run(&src, &["--verify"]);
    assert_eq!(out.status.code(), Some(0));
    let j = json_of(&out);
    assert_eq!(
        (j["ok"].as_bool(), j["action"].as_str()),
        (Some(true), Some("verified"))
    );
    assert_eq!(j["hashed"], true);

    // Flip one byte in the copy but keep its size and mtime: only hashing can see it.
    let copy = env.path("data/copy.db");
    let m = mtime(&copy);
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&copy).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&copy, &bytes).unwrap();
    let f = std::fs::File::options().write(true).open(&copy).unwrap();
    f.set_modified(m).unwrap();
    drop(f);
    let out = env.run(&src, &["--verify"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["ok"], false);
    let drift = j["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{j}");
    assert!(drift[0].as_str().unwrap().contains("runtime copy"), "{j}");
    // --verify changes nothing.
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);

    // Verify without a copy is an error that says what to do.
    let env2 = Env::new();
    let out = env2.run(&src, &["--verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["error"]["kind"], "copy_missing");
}

#[test]
fn corrupt_manifest_is_reported_and_repaired_by_content() {
    let (env, src) = with_first_copy("car_1.sqlite");
    std::fs::write(env.path("data/copy.db.manifest.json"), b"{ not json").unwrap();
    let out = env.run(&src, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["action"], "up-to-date");
    assert!(
        j["drift"][0].as_str().unwrap().contains("does not parse"),
        "{j}"
    );
    assert_eq!(json_of(&env.run(&src, &[]))["hashed"], false);
}

/// A SQLite file of about `mb` MiB (zeroblobs are cheap to create).
fn big_db(path: &Path, mb: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=DELETE; CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB);",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..mb {
        tx.execute(
            "INSERT INTO blobs VALUES (?1, zeroblob(1048576))",
            [i as i64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn large_file_progress_noop_and_sigkill_mid_copy() {
    let env = Env::new();
    let big = env.path("big.db");
    big_db(&big, 400);
    let small = copy_into(&env, "car_1.sqlite");

    // Progress bar on a TTY (run under `script`, which gives the child a pseudo-terminal).
    let cmd = format!(
        "{} golden-copy --source {} --dest {}",
        assert_cmd::cargo::cargo_bin("vannactl").display(),
        big.display(),
        env.path("data/tty.db").display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("copying") && screen.contains("MiB"),
        "no progress bar on a TTY: {screen}"
    );
    // ... and none without a TTY.
    let out = env.run(&big, &[]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("copying"));
    // The no-op path on a large file: stat only.
    assert_eq!(json_of(&env.run(&big, &[]))["hashed"], false);

    // SIGKILL in the middle of a refresh: the previous copy stays intact.
    let env = Env::new();
    let src = env.path("src.db");
    std::fs::copy(&small, &src).unwrap();
    assert!(env.run(&src, &[]).status.success());
    let old_sha = sha256_file(&env.path("data/copy.db"));
    std::fs::rename(&big, &src).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("vannactl"))
        .current_dir(env.dir.path())
        .args([
            "--no-dotenv",
            "--yes",
            "golden-copy",
            "--dest",
            "data/copy.db",
            "--source",
        ])
        .arg(&src)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let temp = loop {
        let found = std::fs::read_dir(env.path("data"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".vannactl-tmp-")
            });
        if let Some(t) = found {
            if std::fs::metadata(&t).map(|m| m.len() > 0).unwrap_or(false) {
                break t;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "copy finished before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        sha256_file(&env.path("data/copy.db")),
        old_sha,
        "previous copy damaged"
    );
    assert!(temp.exists(), "the killed run leaves its temp file");
    // The next run cleans it up and completes.
    let out = env.run(&src, &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["action"], "refreshed");
    let cleaned = j["cleaned_temp_files"][0].as_str().unwrap();
    assert_eq!(Path::new(cleaned).file_name(), temp.file_name(), "{j}");
    assert!(!temp.exists());
    assert_eq!(sha256_file(&env.path("data/copy.db")), sha256_file(&src));
}

#[test]
fn wal_mode_source_gets_no_side_files() {
    let env = Env::new();
    let src = env.path("src/wal.db");
    std::fs::create_dir(env.path("src")).unwrap();
    let c = rusqlite::Connection::open(&src).unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(a); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(c); // checkpoints and removes -wal/-shm; the header still says WAL
    let before: Vec<_> = std::fs::read_dir(env.path("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), 1);
    let out = env.run(&src, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let after: Vec<_> = std::fs::read_dir(env.path("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(after, before, "nothing may appear beside the golden source");
}

#[test]
fn a_held_lock_stops_writing_runs_but_not_verify() {
    let (env, src) = with_first_copy("car_1.sqlite");
    // Another vannactl operation (here: this test process) holds the environment's lock.
    let guard = vannactl::lock::acquire(&env.path("data/vannactl.lock"), "backup").unwrap();
    let out = env.run(&src, &[]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let j = json_of(&out);
    assert_eq!(j["error"]["kind"], "locked");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("backup (pid"),
        "{j}"
    );
    assert_eq!(env.run(&src, &["--verify"]).status.code(), Some(0));
    drop(guard);
    assert_eq!(env.run(&src, &[]).status.code(), Some(0));
}

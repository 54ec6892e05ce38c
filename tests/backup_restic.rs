//! Backups to a restic repository (`BACKUP_DIR=restic:REPO`) with the real `restic` binary (the
//! Debian package, installed by scripts/test), starting from what `vannactl init` made: a local
//! repository and one on the SeaweedFS S3 server the S3 tests start. The repository must stay
//! readable by the stock CLI.

mod backup_support;
mod common;
mod s3_support;

use backup_support::Env;
use common::cli::{json_of, stderr};
use s3_support::{initialised, system_data, Weed, BUCKET, KEY_ID, SECRET};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "restic-test-pw-7h3q9z";

/// A repository made by the stock CLI: (its RESTIC_REPOSITORY value, the password file).
struct Repo {
    _dir: tempfile::TempDir,
    repo: String,
    pw: PathBuf,
    /// Extra variables restic needs (the S3 credentials).
    env: Vec<(String, String)>,
}

impl Repo {
    fn local() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo").display().to_string();
        Repo::init(dir, repo, Vec::new())
    }

    fn init(dir: tempfile::TempDir, repo: String, env: Vec<(String, String)>) -> Repo {
        let pw = dir.path().join("password");
        std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
        let r = Repo {
            _dir: dir,
            repo,
            pw,
            env,
        };
        let out = r.restic(&["init"]);
        assert!(out.status.success(), "restic init: {}", stderr(&out));
        r
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("restic");
        c.args(args)
            .env("RESTIC_REPOSITORY", &self.repo)
            .env("RESTIC_PASSWORD_FILE", &self.pw)
            .env("RESTIC_CACHE_DIR", self._dir.path().join("cache"))
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// The stock CLI.
    fn restic(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("restic on PATH")
    }

    fn snapshots(&self) -> Vec<Value> {
        let out = self.restic(&["snapshots", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
    }

    /// `restic check` (after `restic unlock`, as vannactl does). A restic that died with a killed
    /// vannactl stays a zombie until init reaps it, and restic takes its lock for a live one until
    /// then: tried again for a while.
    fn check(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let out = loop {
            self.restic(&["unlock"]);
            let out = self.restic(&["check"]);
            if out.status.success()
                || !stderr(&out).contains("already locked")
                || Instant::now() > deadline
            {
                break out;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        assert!(
            out.status.success(),
            "restic check: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }

    fn configure(&self, env: &mut Env) {
        env.set("BACKUP_DIR", &format!("restic:{}", self.repo));
        env.set("RESTIC_PASSWORD_FILE", &self.pw.display().to_string());
        for (k, v) in &self.env {
            env.set(k, v);
        }
    }
}

fn run(env: &Env, args: &[&str]) -> (i32, Value, String) {
    let out = env.cmd().arg("--json").args(args).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        !all.contains(PASSWORD),
        "{args:?} shows the password:\n{all}"
    );
    assert!(
        !all.contains(SECRET),
        "{args:?} shows the S3 secret:\n{all}"
    );
    (out.status.code().unwrap_or(-1), json_of(&out), stderr(&out))
}

fn error_of(v: &Value) -> String {
    let m = v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!m.contains('\n'), "not one line: {m}");
    m
}

/// The target component's entry in a restore's `--json` report.
fn target_result(r: &Value) -> Value {
    r["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "target")
        .cloned()
        .unwrap()
}

fn backup_check(env: &Env) -> Value {
    let (_, h, _) = run(env, &["health"]);
    h["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "backup")
        .cloned()
        .unwrap_or_default()
}

#[test]
fn restic_backup_list_verify_restore_drill_and_the_stock_cli() {
    let repo = Repo::local();
    let mut env = Env::postgres();
    repo.configure(&mut env);
    env.set("BACKUP_RETENTION_COUNT", "2");
    let metrics = env.path("metrics.prom");
    env.set("METRICS_FILE", &metrics.display().to_string());
    let before = env.system_contents();

    let first = env.ok(&["backup"]);
    let name = first["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("backup_") && name.ends_with(".tar"),
        "{first}"
    );
    let repo_shown = format!("restic:{}", repo.repo);
    assert_eq!(first["archive"], format!("{repo_shown}/{name}"), "{first}");
    let id = first["snapshot"].as_str().unwrap().to_string();
    assert!(first["added_bytes"].as_u64().unwrap() > 0, "{first}");
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(prom.contains("vannactl_backup_last_added_bytes "), "{prom}");

    // The stock CLI sees one snapshot, tagged, holding the archive under its name.
    let snaps = repo.snapshots();
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    let tags: Vec<&str> = snaps[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for t in ["vannactl", "system", "target"] {
        assert!(tags.contains(&t), "{tags:?}");
    }
    assert!(tags.iter().any(|t| t.starts_with("host=")), "{tags:?}");
    assert!(tags.contains(&format!("name={name}").as_str()), "{tags:?}");
    assert!(snaps[0]["id"].as_str().unwrap().starts_with(&id));
    // The snapshot holds the manifest and the members as files, at their member paths.
    let ls = repo.restic(&["ls", &id]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    let ls = String::from_utf8_lossy(&ls.stdout);
    for f in [
        "/manifest.json",
        "/system/postgres.dump",
        "/target/target.db",
        "/knowledge/chroma/chroma.sqlite3",
    ] {
        assert!(ls.lines().any(|l| l == f), "{f} not in:\n{ls}");
    }
    repo.check();

    let list = env.ok(&["backup", "list"]);
    let archives = list["archives"].as_array().unwrap();
    assert_eq!(archives.len(), 1, "{list}");
    assert_eq!(archives[0]["name"], name.as_str());
    assert_eq!(archives[0]["components"], "system,knowledge,target");
    assert_eq!(archives[0]["verified"], "checksums ok", "{list}");
    assert_eq!(archives[0]["size"], first["size"], "{list}");

    // verify: the newest, by name, by short and long snapshot id; restic check runs too.
    let long = snaps[0]["id"].as_str().unwrap().to_string();
    for arg in [
        None,
        Some(name.as_str()),
        Some(id.as_str()),
        Some(long.as_str()),
    ] {
        let mut args = vec!["backup", "verify"];
        args.extend(arg);
        let v = env.ok(&args);
        assert_eq!(v["verified"]["mode"], "full; restic check ok", "{v}");
        assert_eq!(v["verified"]["archive"], first["archive"], "{v}");
    }

    // A restore drill from the repository leaves the live data alone.
    let d = env.ok(&["backup", "verify", "--restore-test", &id]);
    assert_eq!(d["restore_test"]["ok"], true, "{d}");
    assert_eq!(env.system_contents(), before);

    // Restore puts back what was archived; its safety backup goes to the repository too.
    env.system_exec("DELETE FROM business_ontologies; UPDATE users SET username = 'changed';");
    assert_ne!(env.system_contents(), before);
    let r = env.ok(&["--yes", "restore", &name, "--only", "system"]);
    assert_eq!(env.system_contents(), before, "restored system DB differs");
    let safety = r["safety_backup"].as_str().unwrap();
    assert!(safety.starts_with(&format!("{repo_shown}/backup_")), "{r}");
    assert_eq!(repo.snapshots().len(), 2);

    // What the stock CLI gives back is accepted: `restic dump ID /` (a plain tar in name order,
    // folders included) and a `restic restore` folder.
    let file = env.path("dumped.tar");
    let out = repo
        .command(&["dump", &id, "/"])
        .stdout(std::fs::File::create(&file).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let restored_dir = env.path("restic-restored");
    let out = repo.restic(&[
        "restore",
        &id,
        "--target",
        &restored_dir.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The PostgreSQL dump is stored uncompressed (restic compresses after chunking).
    let toc = Command::new("pg_restore")
        .arg("--list")
        .arg(restored_dir.join("system/postgres.dump"))
        .output()
        .unwrap();
    let toc = String::from_utf8_lossy(&toc.stdout);
    assert!(
        toc.contains("Compression: 0") || toc.contains("Compression: none"),
        "{toc}"
    );
    for given in [
        file.display().to_string(),
        restored_dir.display().to_string(),
    ] {
        let v = env.ok(&["backup", "verify", &given]);
        assert_eq!(v["verified"]["mode"], "full", "{v}");
        env.system_exec("UPDATE users SET username = 'again';");
        let r = env.ok(&[
            "--yes",
            "restore",
            "--no-safety-backup",
            &given,
            "--only",
            "system",
        ]);
        assert_eq!(r["archive"], given.as_str(), "{r}");
        assert_eq!(env.system_contents(), before);
    }
    // A flipped byte in a restored member is caught.
    let member = restored_dir.join("system/postgres.dump");
    let mut bytes = std::fs::read(&member).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&member, bytes).unwrap();
    let (code, v, _) = run(
        &env,
        &["backup", "verify", &restored_dir.display().to_string()],
    );
    assert_eq!(code, 1, "{v}");
    assert!(error_of(&v).contains("sha256"), "{v}");

    // A full restore leaves an unchanged golden copy where it is (same inode, not rewritten).
    let target = env.path("data/target db.db");
    let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&target).unwrap());
    let r = env.ok(&["--yes", "restore", "--no-safety-backup", &name]);
    let t = target_result(&r);
    assert_eq!(t["outcome"], "restored", "{r}");
    assert!(
        t["detail"].as_str().unwrap_or("").contains("not rewritten"),
        "{r}"
    );
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&target).unwrap()),
        ino
    );
    assert_eq!(env.system_contents(), before);

    // Retention: the newest two of vannactl's snapshots stay, the space is pruned.
    let second = env.ok(&["backup"]);
    // The safety backup of the system alone was the newest snapshot of the folder; the parent is
    // the full one, so restic skips the unchanged golden copy (and the Chroma directory: the
    // knowledge snapshot is a fresh file).
    assert!(
        second["unchanged_members"].as_u64().unwrap() >= 1,
        "{second}"
    );
    let pruned = second["pruned"].as_array().unwrap();
    assert_eq!(pruned.len(), 1, "{second}");
    assert_eq!(pruned[0], first["archive"], "{second}");
    let snaps = repo.snapshots();
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    repo.check();

    // --dry-run plans over the snapshots: the next backup and the newest stay, the other would go.
    let dry = env.ok(&["backup", "--dry-run"]);
    assert_eq!(dry["retention"]["kept_existing"], 1, "{dry}");
    assert_eq!(
        dry["retention"]["would_prune"].as_array().unwrap().len(),
        1,
        "{dry}"
    );

    // health sees the newest archive.
    let check = backup_check(&env);
    assert!(
        check.to_string().contains(second["name"].as_str().unwrap()),
        "{check}"
    );
    assert_eq!(check["status"], "ok", "{check}");

    // A golden copy that changed since the backup is fetched and put back; restic's restore
    // folder and the moved member leave nothing in the stage.
    let archived = env.target_bytes();
    env.change_target();
    assert_ne!(env.target_bytes(), archived);
    let second_name = second["name"].as_str().unwrap();
    let r = env.ok(&["--yes", "restore", "--no-safety-backup", second_name]);
    let t = target_result(&r);
    assert_eq!(t["outcome"], "restored", "{r}");
    assert!(t["detail"].is_null(), "{r}");
    assert_eq!(env.target_bytes(), archived);
    env.ok(&["golden-copy", "--verify"]);
    assert!(env.path("data/backup-stage").is_dir());
    for dir in ["data", "data/backup-stage"] {
        assert!(env.temp_files(dir).is_empty(), "{:?}", env.temp_files(dir));
    }
}

/// `BACKUP_STAGE_DIR` on another filesystem than the deployment (tmpfs under /dev/shm): the golden
/// copy cannot be hard-linked into the snapshot folder and is copied (with a warning), and the
/// members a restore fetches are copied out of restic's restore folder instead of moved.
#[test]
fn restic_with_the_stage_on_another_filesystem() {
    use std::os::unix::fs::MetadataExt;
    let repo = Repo::local();
    let mut env = Env::sqlite();
    repo.configure(&mut env);
    let Ok(stage) = tempfile::tempdir_in("/dev/shm") else {
        eprintln!("skipped: no /dev/shm to put a stage on another filesystem");
        return;
    };
    let dev = |p: &Path| std::fs::metadata(p).unwrap().dev();
    if dev(stage.path()) == dev(env.dir.path()) {
        eprintln!(
            "skipped: /dev/shm is on the same filesystem as {}",
            env.dir.path().display()
        );
        return;
    }
    env.set("BACKUP_STAGE_DIR", &stage.path().display().to_string());
    let at_backup = env.system_contents();
    let archived = env.target_bytes();

    let (code, first, err) = run(&env, &["backup"]);
    assert_eq!(code, 0, "{first} {err}");
    assert!(err.contains("cannot hard-link"), "{err}");
    let name = first["name"].as_str().unwrap().to_string();

    env.system_exec("UPDATE users SET username = 'changed'");
    env.change_target();
    let r = env.ok(&["--yes", "restore", &name]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(env.system_contents(), at_backup);
    assert_eq!(env.target_bytes(), archived);
    env.ok(&["golden-copy", "--verify"]);
    assert!(
        env.temp_files("data").is_empty(),
        "{:?}",
        env.temp_files("data")
    );
    let left: Vec<_> = std::fs::read_dir(stage.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with(".vannactl-tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    repo.check();
}

/// Spawn the stock CLI holding the repository's exclusive lock: a `check --read-data` stopped with
/// SIGSTOP once its lock file is written (and seen by another restic); tried again if the check
/// ended first.
fn hold_exclusive_lock(repo: &Repo, locks: &Path) -> std::process::Child {
    for _ in 0..10 {
        let mut c = repo
            .command(&["check", "--read-data"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let written = |d: &Path| {
            std::fs::read_dir(d)
                .is_ok_and(|d| d.flatten().any(|e| e.metadata().is_ok_and(|m| m.len() > 0)))
        };
        while !written(locks) && Instant::now() < deadline && c.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        // restic writes the lock file in place: give it a moment to finish and sync it.
        std::thread::sleep(Duration::from_millis(15));
        // SAFETY: our own child.
        unsafe { libc::kill(c.id() as i32, libc::SIGSTOP) };
        let probe = repo.restic(&["snapshots"]);
        if stderr(&probe).contains("locked exclusively") {
            return c;
        }
        unsafe { libc::kill(c.id() as i32, libc::SIGCONT) };
        c.wait().unwrap();
    }
    panic!("could not catch restic check holding its lock");
}

#[test]
fn restic_failures_are_one_line_with_the_right_exit_code() {
    let repo = Repo::local();
    let mut env = initialised(24);
    repo.configure(&mut env);
    let good = env.ok(&["backup"]);

    // Wrong password: exit 1, one line, no password.
    let wrong = env.path("wrong-password");
    std::fs::write(&wrong, "not-the-password-31337\n").unwrap();
    env.set("RESTIC_PASSWORD_FILE", &wrong.display().to_string());
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    let m = error_of(&v);
    assert!(
        m.contains("wrong password") && m.contains("RESTIC_PASSWORD_FILE"),
        "{m}"
    );
    assert!(!m.contains("31337"), "{m}");
    // No password at all: restic would read one from its stdin (the archive); it is told so.
    env.vars.retain(|(k, _)| k != "RESTIC_PASSWORD_FILE");
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    assert!(error_of(&v).contains("has no password"), "{v}");

    // The password variable from .env reaches restic, and relative paths (the repository, the
    // password file) are the working folder's although restic runs in the snapshot folder.
    std::fs::copy(&repo.pw, env.path("restic-pw")).unwrap();
    std::os::unix::fs::symlink(&repo.repo, env.path("repo-link")).unwrap();
    std::fs::write(env.path("vannactl.env"), "RESTIC_PASSWORD_FILE=restic-pw\n").unwrap();
    let mut c = common::cli::isolated(env.dir.path());
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    let out = c
        .env("BACKUP_DIR", "restic:repo-link")
        .args(["--env-file", "vannactl.env", "--json", "backup"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v}{}", stderr(&out));
    assert!(v["snapshot"].is_string(), "{v}");
    assert_eq!(repo.snapshots().len(), 2);
    env.set("RESTIC_PASSWORD_FILE", &repo.pw.display().to_string());

    // No repository there.
    let missing = env.path("no-repo").display().to_string();
    env.set("BACKUP_DIR", &format!("restic:{missing}"));
    let (code, v, _) = run(&env, &["backup", "list"]);
    assert_eq!(code, 1, "{v}");
    let m = error_of(&v);
    assert!(
        m.contains("no restic repository") && m.contains(&missing),
        "{m}"
    );

    // A server nobody listens on: exit 1, one line, a password in the URL masked.
    let port = common::free_port();
    env.set(
        "BACKUP_DIR",
        &format!("restic:rest:http://vanna:topsecret-url-pw@127.0.0.1:{port}/repo"),
    );
    let t = Instant::now();
    let (code, v, all) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    let m = error_of(&v);
    assert!(
        m.contains("cannot reach") && m.contains(&format!("vanna:****@127.0.0.1:{port}")),
        "{m}"
    );
    assert!(
        !format!("{v}{all}").contains("topsecret-url-pw"),
        "{v}{all}"
    );
    let (code, v, all) = run(&env, &["config"]);
    assert_eq!(code, 0, "{v}");
    let shown = format!("{v}{all}");
    assert!(
        !shown.contains("topsecret-url-pw") && shown.contains("vanna:****@"),
        "{shown}"
    );

    // restic not on PATH: the install hint.
    env.set("BACKUP_DIR", &format!("restic:{}", repo.repo));
    env.set("PATH", "/nonexistent");
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    assert!(error_of(&v).contains("apt-get install restic"), "{v}");
    env.set("PATH", &std::env::var("PATH").unwrap());

    // Another restic holds the exclusive lock: exit 5, naming it.
    let locks = Path::new(&repo.repo).join("locks");
    let mut holder = hold_exclusive_lock(&repo, &locks);
    let (code, v, _) = run(&env, &["backup"]);
    unsafe { libc::kill(holder.id() as i32, libc::SIGCONT) };
    let held = holder.wait();
    assert_eq!(code, 5, "{v}");
    let m = error_of(&v);
    assert!(
        m.contains(&format!("by PID {}", holder.id())) && m.contains("restic unlock"),
        "{m}"
    );
    assert!(held.unwrap().success());
    assert_eq!(repo.snapshots().len(), 2);

    // A run that fails mid-archive interrupts restic: no snapshot, no lock left behind.
    let out = env
        .cmd()
        .env("VANNACTL_TEST_HOOK", "fail:backup:archive")
        .args(["--json", "backup"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(repo.snapshots().len(), 2, "a failed run left a snapshot");
    let left = std::fs::read_dir(&locks).unwrap().count();
    assert_eq!(left, 0, "a failed run left a lock");

    // SIGKILL mid-backup: restic dies with vannactl, no snapshot, the repository checks, the next
    // backup succeeds.
    let mut child = env.spawn_paused(&["backup"], "backup:archive");
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(repo.snapshots().len(), 2, "a killed run left a snapshot");
    repo.check();
    let next = env.ok(&["backup"]);
    assert_ne!(next["name"], good["name"]);
    // The 24 MiB target did not change: restic stores (almost) nothing new.
    assert!(
        next["added_bytes"].as_u64().unwrap() < next["size"].as_u64().unwrap() / 4,
        "deduplicated: {next}"
    );
    assert_eq!(repo.snapshots().len(), 3);
    repo.check();
    let v = env.ok(&["backup", "verify"]);
    assert_eq!(v["verified"]["archive"], next["archive"], "{v}");

    // Age recipients make no sense here (restic encrypts): a usage error before any work.
    env.set(
        "BACKUP_AGE_RECIPIENTS",
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
    );
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 2, "{v}");
    assert!(error_of(&v).contains("BACKUP_AGE_RECIPIENTS"), "{v}");
}

#[test]
fn restic_repository_on_s3() {
    let weed = Weed::start();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("s3:{}/{BUCKET}/restic/vanna", weed.endpoint());
    let creds = vec![
        ("AWS_ACCESS_KEY_ID".to_string(), KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), SECRET.to_string()),
    ];
    let repo = Repo::init(dir, url.clone(), creds);
    let mut env = initialised(12);
    repo.configure(&mut env);

    let before = system_data(&env);
    let b = env.ok(&["backup"]);
    let name = b["name"].as_str().unwrap().to_string();
    assert_eq!(b["archive"], format!("restic:{url}/{name}"), "{b}");
    assert!(weed.objects("restic/vanna").iter().any(|o| o == "config"));
    let list = env.ok(&["backup", "list"]);
    assert_eq!(list["archives"][0]["verified"], "checksums ok", "{list}");
    let v = env.ok(&["backup", "verify", &name]);
    assert_eq!(v["verified"]["mode"], "full; restic check ok", "{v}");
    env.system_exec("UPDATE users SET username = 'changed';");
    env.ok(&["--yes", "restore", &name, "--only", "system"]);
    assert_eq!(system_data(&env), before);
    assert_eq!(
        repo.snapshots().len(),
        2,
        "the backup and the safety backup"
    );
    repo.check();

    // Wrong S3 secret: one line, the secret nowhere.
    env.set("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-xyz");
    let (code, v, _) = run(&env, &["backup", "list"]);
    assert_eq!(code, 1, "{v}");
    let m = error_of(&v);
    assert!(
        !m.contains("wrong-secret-value-xyz") && m.contains(&url),
        "{m}"
    );
}

//! Restores that refuse to make things worse, and runs that survive being killed.

mod backup_support;
mod common;

use backup_support::*;
use std::path::{Path, PathBuf};
use vannactl::backup::archive::read_manifest;

struct Before {
    sys: Vec<(String, Vec<String>)>,
    kn: Vec<(String, Vec<String>)>,
    target: Vec<u8>,
}

fn snapshot(env: &Env) -> Before {
    Before {
        sys: env.system_contents(),
        kn: env.knowledge_contents(),
        target: env.target_bytes(),
    }
}

fn assert_untouched(env: &Env, b: &Before) {
    assert_eq!(env.system_contents(), b.sys);
    assert_eq!(env.knowledge_contents(), b.kn);
    assert_eq!(env.target_bytes(), b.target);
    assert!(
        env.temp_files("data").is_empty(),
        "{:?}",
        env.temp_files("data")
    );
    assert!(
        env.temp_files("backups").is_empty(),
        "{:?}",
        env.temp_files("backups")
    );
}

fn restore_refused(env: &Env, archive: &Path, expect: &str) {
    let before = snapshot(env);
    let n_archives = env.archives().len();
    let (code, v) = env.json(&["--yes", "restore", archive.to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(expect), "expected {expect:?} in {msg}");
    assert!(msg.contains("nothing was restored"), "{msg}");
    assert_untouched(env, &before);
    assert_eq!(
        env.archives().len(),
        n_archives,
        "no safety backup for a refused archive"
    );
}

/// A copy of `archive` named `name` in the env's folder, with `damage` done to its bytes.
fn damaged_copy(
    env: &Env,
    archive: &Path,
    name: &str,
    damage: impl FnOnce(&mut Vec<u8>),
) -> PathBuf {
    let mut bytes = std::fs::read(archive).unwrap();
    damage(&mut bytes);
    let p = env.path(name);
    std::fs::write(&p, &bytes).unwrap();
    p
}

#[test]
fn corrupt_archive_is_refused_and_nothing_changes() {
    let env = Env::sqlite();
    let archive = env.backup();
    env.system_exec("UPDATE users SET username = 'changed'");
    let bad = damaged_copy(&env, &archive, "bad.tar.gz", |b| {
        let n = b.len();
        b[n - 40] ^= 0xff; // inside the last member / gzip trailer
    });
    restore_refused(&env, &bad, "is damaged");
    let trunc = damaged_copy(&env, &archive, "trunc.tar.gz", |b| b.truncate(b.len() / 3));
    restore_refused(&env, &trunc, "is damaged");
}

#[test]
fn postgres_missing_archive_with_yes_stops_the_early_dump_and_leaves_nothing() {
    // With --yes the safety backup's pg_dump starts before the archive is looked up; a name
    // that is not there stops it, and neither its dump nor an archive is left.
    let env = Env::postgres();
    env.backup();
    let before = snapshot(&env);
    let n_archives = env.archives().len();
    let (code, v) = env.json(&["--yes", "restore", "no-such-backup.tar.gz"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("nothing was restored"), "{msg}");
    assert_untouched(&env, &before);
    assert_eq!(env.archives().len(), n_archives);
}

#[test]
fn postgres_corrupt_archive_is_refused_and_nothing_changes() {
    let env = Env::postgres();
    let archive = env.backup();
    env.system_exec("DELETE FROM audit.events WHERE id % 2 = 0");
    let bad = damaged_copy(&env, &archive, "bad.tar.gz", |b| {
        let n = b.len();
        b[n / 2] ^= 0x10;
    });
    restore_refused(&env, &bad, "is damaged");
}

#[test]
fn unsafe_members_are_rejected() {
    let env = Env::sqlite();
    let archive = env.backup();
    let manifest = serde_json::to_vec(&read_manifest(&archive).unwrap()).unwrap();
    let r = tar::EntryType::Regular;
    let cases: Vec<(&str, tar::EntryType, &str)> = vec![
        ("../evil.db", r, "contains `..`"),
        ("system/../../evil.db", r, "contains `..`"),
        ("/tmp/evil.db", r, "absolute path"),
        ("target/target.db", tar::EntryType::Symlink, "symbolic link"),
        ("target/target.db", tar::EntryType::Link, "hard link"),
        ("system/dev", tar::EntryType::Char, "device"),
        ("system/blk", tar::EntryType::Block, "device"),
    ];
    for (i, (name, kind, expect)) in cases.into_iter().enumerate() {
        let p = env.path(&format!("evil{i}.tar.gz"));
        let data = if kind.is_file() {
            b"payload".to_vec()
        } else {
            Vec::new()
        };
        craft(
            &p,
            &[
                ("manifest.json", tar::EntryType::Regular, manifest.clone()),
                (name, kind, data),
            ],
        );
        restore_refused(&env, &p, expect);
        assert!(!env.dir.path().join("evil.db").exists());
        assert!(!Path::new("/tmp/evil.db").exists());
        let (code, _) = env.json(&["backup", "verify", p.to_str().unwrap()]);
        assert_eq!(code, 1);
    }
}

#[test]
fn newer_format_is_refused_before_anything_happens() {
    let env = Env::sqlite();
    let archive = env.backup();
    let mut m = serde_json::to_value(read_manifest(&archive).unwrap()).unwrap();
    m["format_version"] = 7.into();
    let p = env.path("future.tar.gz");
    craft(
        &p,
        &[(
            "manifest.json",
            tar::EntryType::Regular,
            serde_json::to_vec(&m).unwrap(),
        )],
    );
    restore_refused(
        &env,
        &p,
        "archive format version 7 is newer than this vannactl understands",
    );
}

#[test]
fn second_concurrent_backup_exits_5_and_a_killed_holder_is_taken_over() {
    let env = Env::sqlite();
    let mut first = env.spawn_paused(&["backup"], "backup:system");
    let (code, v) = env.json(&["backup"]);
    assert_eq!(code, 5, "{v}");
    assert_eq!(v["error"]["kind"], "locked");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("held by backup (pid"),
        "{v}"
    );
    let (code, _) = env.json(&["--yes", "restore", "whatever.tar.gz"]);
    assert_eq!(code, 5, "restore waits for the lock too");
    let pid = first.id();
    first.kill().unwrap();
    first.wait().unwrap();
    let v = env.ok(&["backup"]);
    assert_eq!(v["stale_lock_taken_over_from_pid"], pid);
    assert_eq!(env.archives().len(), 1);
}

#[test]
fn sigkill_during_backup_leaves_no_archive_and_the_next_run_cleans_up() {
    let env = Env::sqlite();
    let mut child = env.spawn_paused(&["backup"], "backup:archive");
    // Half-written archive and staged snapshot exist under temporary names only.
    assert!(!env.temp_files("backups").is_empty());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(env.archives().is_empty(), "{:?}", env.archives());
    let leftovers = env.temp_files("backups");
    assert!(!leftovers.is_empty());
    let v = env.ok(&["backup"]);
    let cleaned: Vec<String> = v["cleaned_temp_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    for l in &leftovers {
        assert!(
            cleaned.contains(&l.display().to_string()),
            "{l:?} not in {cleaned:?}"
        );
    }
    assert!(env.temp_files("backups").is_empty());
    assert_eq!(env.archives().len(), 1);
    env.ok(&["backup", "verify"]);
}

fn sigkill_during_restore(env: Env) {
    let archive = env.backup();
    let at_backup = snapshot(&env);
    env.system_exec("UPDATE users SET username = 'changed'; DELETE FROM queries;");
    env.change_target();
    let changed_target = env.target_bytes();
    // Killed after system and knowledge are restored, before the target.
    let mut child = env.spawn_paused(
        &["--yes", "restore", archive.to_str().unwrap()],
        "restore:target",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // Each component is whole: system restored, target still the (valid) previous copy.
    assert_eq!(env.system_contents(), at_backup.sys);
    assert_eq!(env.target_bytes(), changed_target);
    let staged = env.temp_files("data");
    assert!(
        !staged.is_empty(),
        "the staged target copy is left for the next run to clean"
    );
    // The next run cleans up and completes.
    let v = env.ok(&["--yes", "restore", archive.to_str().unwrap()]);
    assert!(!v["cleaned_temp_files"].as_array().unwrap().is_empty());
    assert_untouched(&env, &at_backup);
    env.ok(&["golden-copy", "--verify"]);
}

#[test]
fn sqlite_sigkill_during_restore_then_clean_rerun() {
    sigkill_during_restore(Env::sqlite());
}

#[test]
fn postgres_sigkill_during_restore_then_clean_rerun() {
    sigkill_during_restore(Env::postgres());
}

#[test]
fn restore_without_yes_in_a_script_exits_4_and_changes_nothing() {
    let env = Env::sqlite();
    let archive = env.backup();
    env.system_exec("UPDATE users SET username = 'changed'");
    let before = snapshot(&env);
    let (code, v) = env.json(&["restore", archive.to_str().unwrap()]);
    assert_eq!(code, 4, "{v}");
    assert_untouched(&env, &before);
}

/// Start `--json --yes restore ARCHIVE` with the safety backup held where its dump is taken and
/// its archive not yet stored (`pause:backup:archive`, plus `more` hooks). Returns once the
/// restore's PostgreSQL transaction is open and waiting for it, with the file that resumes it.
fn held_restore(env: &Env, archive: &Path, more: &str) -> (std::process::Child, PathBuf) {
    use std::io::{BufRead, BufReader};
    let resume = env.path("resume-restore");
    let mut c = common::cli::isolated(env.dir.path());
    c.env("VANNACTL_TEST_HOOK", format!("pause:backup:archive{more}"))
        .env("VANNACTL_TEST_HOOK_RESUME", &resume)
        .args(["--no-dotenv", "--json", "--yes", "restore"])
        .arg(archive)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let paused = lines.any(|l| l.is_ok_and(|l| l.contains("paused at backup:archive")));
    assert!(
        paused,
        "the restore ended before its safety backup was stored"
    );
    std::thread::spawn(move || for _ in lines {});
    // psql holds the restore's transaction, its script fed, COMMIT not sent.
    let mut pg = env.pg.as_ref().unwrap().client();
    let waiting = (0..600).any(|_| {
        let row = pg
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'psql' AND state = 'idle in transaction'",
                &[],
            )
            .unwrap();
        let n: i64 = row.get(0);
        n == 1 || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        }
    });
    if !waiting {
        let _ = child.kill();
        panic!("the restore's transaction never ran while the safety backup was being stored");
    }
    (child, resume)
}

#[test]
fn postgres_restore_runs_beside_the_safety_backup_and_commits_after_it() {
    let env = Env::postgres();
    let archive = env.backup();
    let at_backup = snapshot(&env);
    env.system_exec("UPDATE users SET username = 'changed'; DELETE FROM audit.events;");
    let n_archives = env.archives().len();
    let (child, resume) = held_restore(&env, &archive, "");
    // Not committed, and no safety backup stored yet.
    assert_eq!(env.archives().len(), n_archives);
    std::fs::write(&resume, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let v = common::cli::json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert!(v["safety_backup"].is_string(), "{v}");
    assert_eq!(env.archives().len(), n_archives + 1);
    assert_eq!(env.system_contents(), at_backup.sys);
}

#[test]
fn postgres_safety_backup_failing_after_the_restore_ran_rolls_it_back() {
    let env = Env::postgres();
    let archive = env.backup();
    env.system_exec("UPDATE users SET username = 'changed'; DELETE FROM audit.events;");
    let before = snapshot(&env);
    let n_archives = env.archives().len();
    let (child, resume) = held_restore(&env, &archive, ",fail:backup:archive");
    std::fs::write(&resume, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let v = common::cli::json_of(&out);
    assert_eq!(out.status.code(), Some(1), "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("safety backup of the current state failed")
            && msg.contains("nothing was restored"),
        "{msg}"
    );
    assert_untouched(&env, &before);
    assert_eq!(env.archives().len(), n_archives);
}

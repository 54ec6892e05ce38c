//! Regression tests for the defects `scripts/crash-campaign` found: a run killed at the worst
//! moment leaves the old or the new state, and the next run converges.

mod common;
mod train_support;

use rusqlite::Connection;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use train_support::*;

/// Spawn `args` with a test hook pausing at `point`, wait for the pause, SIGKILL the process.
fn kill_at(sb: &Sandbox, args: &[&str], point: &str) {
    let mut child = sb
        .std_cmd(args)
        .env("VANNACTL_TEST_HOOK", format!("pause:{point}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let want = format!("vannactl-test-hook: paused at {point}");
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains(&want) {
            child.kill().unwrap();
            child.wait().unwrap();
            return;
        }
        seen.push_str(&line);
        seen.push('\n');
    }
    panic!(
        "{args:?} ended ({}) before reaching {point}:\n{seen}",
        child.wait().unwrap()
    );
}

/// The directory's records and its "trained" stamp commit together: a first `train` killed
/// after its records were written leaves either no records or records with model and time, never
/// records without a stamp (which the next run, finding nothing new, would never add).
#[test]
fn train_killed_after_writing_records_keeps_the_stamp_with_them() {
    let sb = Sandbox::new("car_1.sqlite");
    kill_at(&sb, &["train"], "train:written");

    // The Chroma directory: log rows and the stamp on the ddl collection (a killed first run
    // may leave a database with no tables at all: its creation was rolled back too).
    let c = Connection::open(sb.store().join("chroma.sqlite3")).unwrap();
    let records: i64 = c
        .query_row("SELECT count(*) FROM embeddings_queue", [], |r| r.get(0))
        .unwrap_or(0);
    let stamps: i64 = c
        .query_row(
            "SELECT count(*) FROM collection_metadata WHERE key IN ('vannactl_model', 'vannactl_trained_at')",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    drop(c);
    assert!(
        (records == 0 && stamps == 0) || (records > 0 && stamps == 2),
        "killed state is a mix: {records} records, {stamps} of 2 stamp rows"
    );

    // The next run converges to the state of an uninterrupted one.
    let again = sb.json(&["train"], 0);
    assert_eq!(count(&again, "ddl", "desired"), 6);
    let status = sb.json(&["train", "status"], 0);
    assert_eq!(count(&status, "ddl", "count"), 6);
    assert_eq!(status["model"], "all-MiniLM-L6-v2");
    assert!(status["last_trained"].is_string(), "{status}");
}

//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared sample databases (`../shared/testdata/targets`, or `$VANNACTL_TESTDATA`).
pub fn testdata(name: &str) -> PathBuf {
    let dir = std::env::var_os("VANNACTL_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/testdata/targets"));
    let p = dir.join(name);
    assert!(
        p.exists(),
        "sample database {} not found; set VANNACTL_TESTDATA to shared/testdata/targets",
        p.display()
    );
    p
}

/// The binary, run in `dir` with a clean configuration environment (no .env, no inherited variables).
pub fn vannactl(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("vannactl").unwrap();
    cmd.current_dir(dir);
    for spec in vannactl::config::VARS {
        cmd.env_remove(spec.name);
    }
    cmd.env_remove("NO_COLOR");
    cmd
}

/// Parse the single JSON object a `--json` run printed.
pub fn json_of(out: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn sha256_file(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
}

//! Running the built binary and reading what it printed.

use serde_json::Value;
use std::path::Path;
use std::process::Output;

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

/// The binary, run in `dir` with nothing of the caller's environment but `PATH`, and `HOME` set to
/// `dir` (so no profile or cache of the test runner leaks in).
pub fn isolated(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("vannactl"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .current_dir(dir);
    c
}

/// `vannactl init` in `dir` on the embedded defaults with a shared sample database as the target
/// (`testdata` file name); must succeed.
pub fn init_with_target(dir: &Path, target: &str) {
    let out = vannactl(dir)
        .env("TARGET_DB_SOURCE", super::paths::testdata(target))
        .env("INIT_ADMIN_PASSWORD", "a-long-enough-password")
        .arg("init")
        .output()
        .unwrap();
    assert!(out.status.success(), "init failed: {out:?}");
}

/// `health --json` in a folder [`init_with_target`] prepared, with `url` as the external target.
pub fn health_of_target(dir: &Path, url: &str) -> Output {
    vannactl(dir)
        .env("TARGET_DB_SOURCE", super::paths::testdata("car_1.sqlite"))
        .env("ENABLE_TARGET_DB", "true")
        .env("TARGET_DATABASE_URL", url)
        .args(["--json", "health"])
        .output()
        .unwrap()
}

/// Parse the single JSON object a `--json` run printed.
pub fn json_of(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The element of the array `report[list]` whose `name` is `name` (a step, a check).
pub fn named<'a>(report: &'a Value, list: &str, name: &str) -> &'a Value {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} array in {report}"))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {list} entry {name} in {report}"))
}

/// A named step of an `init` JSON report.
pub fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    named(report, "steps", name)
}

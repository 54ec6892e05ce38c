//! What every command returns: something both a person and a script can read.

use crate::error::{classify, message, ExitStatus};
use serde_json::{json, Map, Value};

pub trait Report {
    /// Fields of the `--json` object (besides `ok`, added by `main`). Must be an object.
    fn json(&self) -> Value;
    /// Human output on stdout (not called with `--quiet` or `--json`).
    fn human(&self, out: &super::Output);
    /// Exit status of a completed run: e.g. `health` is 3 when a critical check failed,
    /// `golden-copy --verify` 1 when the copy drifted.
    fn status(&self) -> ExitStatus {
        ExitStatus::Success
    }
    /// Command-specific Prometheus samples of a completed run (the generic run metrics are added
    /// by the CLI dispatch).
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        Vec::new()
    }
}

/// Build the single JSON object for a finished report.
pub fn report_json(report: &dyn Report) -> Value {
    let mut obj = Map::new();
    obj.insert(
        "ok".into(),
        Value::Bool(report.status() == ExitStatus::Success),
    );
    match report.json() {
        Value::Object(m) => obj.extend(m),
        other => {
            obj.insert("result".into(), other);
        }
    }
    Value::Object(obj)
}

/// The JSON object for an error.
pub fn error_json(err: &anyhow::Error) -> Value {
    let (kind, status) = classify(err);
    json!({
        "ok": false,
        "error": { "kind": kind, "message": message(err), "exit_code": status.code() }
    })
}

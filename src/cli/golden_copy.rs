//! `vannactl golden-copy`: make or check the verified read-only runtime copy of the target DB.

use super::{Context, GlobalArgs};
use crate::error::ExitStatus;
use crate::golden_copy::{self, Action, Options, Outcome};
use crate::health::human_bytes;
use crate::output::{kv_table, Output, Report};
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GoldenCopyArgs {
    /// Original database (overrides TARGET_DB_SOURCE)
    #[arg(long, value_name = "PATH")]
    pub source: Option<PathBuf>,
    /// Runtime copy to maintain (overrides TARGET_DB_PATH)
    #[arg(long, value_name = "PATH")]
    pub dest: Option<PathBuf>,
    /// Re-hash source and copy and report any drift (exit 1 on drift); changes nothing
    #[arg(long)]
    pub verify: bool,
}

pub fn run(g: &GlobalArgs, out: &Output, args: GoldenCopyArgs) -> Result<Box<dyn Report>> {
    let mut flags = BTreeMap::new();
    if let Some(s) = &args.source {
        flags.insert("TARGET_DB_SOURCE".to_string(), s.display().to_string());
    }
    if let Some(d) = &args.dest {
        flags.insert("TARGET_DB_PATH".to_string(), d.display().to_string());
    }
    let ctx = Context::new(g, out, flags)?;
    let opts = Options {
        source: ctx.settings.target_db_source.clone(),
        dest: ctx.settings.target_db_path.clone(),
        verify: args.verify,
    };
    // Writing runs are serialised with init, backup and restore; --verify only reads.
    let _lock = if args.verify {
        None
    } else {
        Some(crate::lock::acquire(
            &ctx.settings.lock_path,
            "golden-copy",
        )?)
    };
    let result = golden_copy::run(&opts, out, &|q| ctx.confirm(q));
    // Copies and refreshes are administrative changes; no-ops and --verify are not audited.
    match &result {
        Ok(o) if matches!(o.action, Action::Copied | Action::Refreshed) => {
            crate::audit::record(
                &ctx.settings,
                &ctx.actor,
                &format!("golden-copy {}", o.action.as_str()),
                &opts.dest.display().to_string(),
                json!({ "source": opts.source, "sha256": o.copy.sha256, "drift": o.drift }),
                crate::audit::SUCCESS,
            );
        }
        Err(e) if !opts.verify => {
            crate::audit::record(
                &ctx.settings,
                &ctx.actor,
                "golden-copy",
                &opts.dest.display().to_string(),
                json!({ "source": opts.source, "error": crate::error::message(e) }),
                crate::audit::FAILURE,
            );
        }
        _ => {}
    }
    let outcome = result?;
    tracing::info!(
        action = outcome.action.as_str(),
        source = %outcome.source.path.display(),
        copy = %outcome.copy.path.display(),
        sha256 = %outcome.copy.sha256,
        "golden copy"
    );
    Ok(Box::new(GoldenCopyReport(outcome)))
}

struct GoldenCopyReport(Outcome);

impl Report for GoldenCopyReport {
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        self.0.metrics()
    }

    fn json(&self) -> Value {
        let o = &self.0;
        json!({
            "command": "golden-copy",
            "action": o.action.as_str(),
            "source": o.source,
            "copy": o.copy,
            "manifest": o.manifest,
            "read_only": o.read_only,
            "hashed": o.hashed,
            "drift": o.drift,
            "bytes_copied": o.bytes_copied,
            "bytes_per_sec": o.bytes_per_sec,
            "duration_ms": o.duration_ms,
            "cleaned_temp_files": o.cleaned_temp_files,
        })
    }

    fn human(&self, _out: &Output) {
        let o = &self.0;
        let headline = match o.action {
            Action::Copied => format!(
                "copied {} → {}",
                o.source.path.display(),
                o.copy.path.display()
            ),
            Action::Refreshed => format!(
                "refreshed {} from {}",
                o.copy.path.display(),
                o.source.path.display()
            ),
            Action::UpToDate => format!("{} is up to date", o.copy.path.display()),
            Action::Verified if o.drifted() => format!(
                "DRIFT: {} does not match its manifest",
                o.copy.path.display()
            ),
            Action::Verified => format!(
                "verified: {} matches {}",
                o.copy.path.display(),
                o.source.path.display()
            ),
        };
        println!("{headline}");
        let mut rows = vec![
            ("size", human_bytes(o.copy.size)),
            ("sha256 (source)", o.source.sha256.clone()),
            ("sha256 (copy)", o.copy.sha256.clone()),
            ("read-only", o.read_only.to_string()),
            ("duration", format!("{} ms", o.duration_ms)),
        ];
        if o.bytes_copied > 0 {
            rows.push(("throughput", format!("{}/s", human_bytes(o.bytes_per_sec))));
        }
        for d in &o.drift {
            rows.push(("drift", d.clone()));
        }
        println!("{}", kv_table(rows));
    }

    fn status(&self) -> ExitStatus {
        if self.0.action == Action::Verified && self.0.drifted() {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }
}

//! The one hook that records generic run metrics (last run/success time, duration, exit code)
//! plus the report's own samples into `--metrics-file` / `METRICS_FILE`.
//!
//! Rule for sub-actions: only a command's main action records under its name (`backup`,
//! `train`, ...). Sub-actions (`backup list`, `backup verify`, `train status`, ...) record nothing,
//! so a read-only listing never overwrites the last real backup's metrics. `config`, `admin` and
//! `completions` record nothing.

use super::{Cli, Command, GlobalArgs};
use crate::error::ExitStatus;
use crate::metrics::{write_merged, Sample};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct RunMetrics {
    command: &'static str,
    file: PathBuf,
    started: Instant,
}

fn command_label(c: &Command) -> Option<&'static str> {
    Some(match c {
        Command::Init(_) => "init",
        Command::GoldenCopy(_) => "golden-copy",
        Command::Seed(_) => "seed",
        Command::Train(a) if a.action.is_none() => "train",
        Command::Backup(a) if a.action.is_none() => "backup",
        Command::Restore(_) => "restore",
        Command::Health(_) => "health",
        _ => return None,
    })
}

/// Resolved on its own, before the command builds its Settings, so that a run whose configuration
/// is invalid (exit 2) is still recorded; resolution reads the same flags, environment and .env.
fn metrics_file(g: &GlobalArgs) -> Option<PathBuf> {
    let mut flags = std::collections::BTreeMap::new();
    if let Some(p) = &g.metrics_file {
        flags.insert("METRICS_FILE".to_string(), p.display().to_string());
    }
    let sources = crate::config::Sources::from_process(flags, g.env_file.clone(), g.no_dotenv);
    // A METRICS_FILE that is another role's file is never written (the command itself exits 2).
    if let Ok(s) = crate::config::Settings::load(&sources) {
        if crate::layout::Layout::of(&s, None).conflicted("METRICS_FILE") {
            return None;
        }
    }
    if let Some(p) = &g.metrics_file {
        return Some(p.clone());
    }
    let resolved = sources.resolve().ok()?;
    let v = resolved.get("METRICS_FILE")?.value.trim().to_string();
    (!v.is_empty()).then(|| PathBuf::from(v))
}

impl RunMetrics {
    /// None when no metrics file is configured or the command records nothing.
    pub fn start(cli: &Cli) -> Option<RunMetrics> {
        let command = command_label(&cli.command)?;
        Some(RunMetrics {
            command,
            file: metrics_file(&cli.global)?,
            started: Instant::now(),
        })
    }

    /// Write the samples; a failure is a warning, never a changed exit code.
    pub fn finish(self, status: ExitStatus, mut samples: Vec<Sample>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let l = [("command", self.command)];
        samples.push(Sample::new("vannactl_last_run_timestamp_seconds", &l, now));
        samples.push(Sample::new(
            "vannactl_last_run_duration_seconds",
            &l,
            self.started.elapsed().as_secs_f64(),
        ));
        samples.push(Sample::new(
            "vannactl_last_run_exit_code",
            &l,
            f64::from(status.code()),
        ));
        // health exits 0 with warnings; only 0 counts as success.
        if status.code() == 0 {
            samples.push(Sample::new(
                "vannactl_last_success_timestamp_seconds",
                &l,
                now,
            ));
        }
        if let Err(e) = write_merged(&self.file, &samples) {
            let msg = crate::error::message(&e);
            // The log gets it; the terminal gets the one line below.
            tracing::warn!(target: crate::logging::FILE_ONLY, "metrics not written: {msg}");
            eprintln!("warning: metrics not written: {msg}; the command's result is unaffected");
        }
    }
}

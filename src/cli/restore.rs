//! `vannactl restore FILE`: show what changes, confirm, verify while a safety backup is taken, restore.

use super::{Context, GlobalArgs};
use crate::backup::manifest::Component;
use crate::backup::restore::{self, Options, Plan, Restored};
use crate::error::ExitStatus;
use crate::output::{table, Output, Report};
use anyhow::Result;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Only {
    System,
    Knowledge,
    Target,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Archive to restore from: a backup_*.tar.gz[.age] file, a folder `restic restore` made, a name in an s3:// BACKUP_DIR, an s3:// URL, or a snapshot name or id in a restic: BACKUP_DIR
    pub file: PathBuf,
    /// Restore just one component
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Do not take a safety backup of the current state first (no rollback if a component fails)
    #[arg(long)]
    pub no_safety_backup: bool,
    /// Folder for the safety backup and staging (overrides BACKUP_DIR)
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
}

pub fn run(g: &GlobalArgs, out: &Output, args: RestoreArgs) -> Result<Box<dyn Report>> {
    let mut flags = BTreeMap::new();
    if let Some(d) = &args.dir {
        flags.insert("BACKUP_DIR".to_string(), d.display().to_string());
    }
    let ctx = Context::new(g, out, flags)?;
    let lock = crate::lock::acquire(&ctx.settings.lock_path, "restore")?;
    let opts = Options {
        archive: args.file.to_string_lossy().into_owned(),
        only: args.only.map(|o| match o {
            Only::System => Component::System,
            Only::Knowledge => Component::Knowledge,
            Only::Target => Component::Target,
        }),
        safety_backup: !args.no_safety_backup,
        confirmed: ctx.assume_yes,
    };
    let confirm = |plan: &Plan| {
        if out.interactive && !out.is_json() && !ctx.assume_yes {
            eprintln!("{}", plan_table(plan.components));
        }
        let names: Vec<&str> = plan.replace.iter().map(|c| c.as_str()).collect();
        ctx.confirm(&format!(
            "Replace {} with the contents of {} (from {}){}?",
            names.join(", "),
            plan.archive,
            plan.manifest.created_at,
            if plan.safety_backup {
                ", after a safety backup of the current state"
            } else {
                ", WITHOUT a safety backup"
            }
        ))
    };
    let result = restore::run(&ctx.settings, &opts, out, &confirm);
    let for_audit = match &result {
        Ok(r) if r.ok => Ok(r.archive.clone()),
        Ok(r) => Err(anyhow::anyhow!(
            "{}",
            r.error.clone().unwrap_or_else(|| "restore failed".into())
        )),
        Err(e) => Err(anyhow::anyhow!("{}", crate::error::message(e))),
    };
    ctx.audit_archive("restore", &for_audit.as_ref().map(|p| p.clone()));
    Ok(Box::new(RestoreReport(
        result?,
        lock.took_over.as_ref().map(|h| h.pid),
    )))
}

fn counts_text(c: Option<&BTreeMap<String, u64>>) -> String {
    match c {
        None => "-".into(),
        Some(m) if m.keys().eq(["bytes"]) => crate::health::human_bytes(m["bytes"]),
        Some(m) => format!("{} rows in {} tables", m.values().sum::<u64>(), m.len()),
    }
}

fn plan_table(rows: &[restore::ComponentResult]) -> comfy_table::Table {
    table(
        &["component", "state", "current", "archived", "detail"],
        rows.iter().map(|r| {
            vec![
                r.component.as_str().to_string(),
                r.outcome.as_str().to_string(),
                counts_text(r.current_counts.as_ref()),
                counts_text(Some(&r.archived_counts).filter(|m| !m.is_empty())),
                r.detail.clone().unwrap_or_default(),
            ]
        }),
    )
}

/// The outcome, and the PID of a dead run whose lock this one took over.
struct RestoreReport(Restored, Option<u32>);

impl Report for RestoreReport {
    fn json(&self) -> Value {
        let r = &self.0;
        json!({
            "command": "restore",
            "archive": r.archive,
            "archive_created_at": r.archive_created_at,
            "safety_backup": r.safety_backup,
            "components": r.components,
            "error": r.error,
            "cleaned_temp_files": r.cleaned_temp_files,
            "duration_ms": r.duration_ms,
            "stale_lock_taken_over_from_pid": self.1,
        })
    }

    fn human(&self, _out: &Output) {
        let r = &self.0;
        if let Some(e) = &r.error {
            eprintln!("error: restore failed: {e}");
        }
        println!(
            "{} {} (created {})",
            if r.ok {
                "restored from"
            } else {
                "restore FAILED from"
            },
            r.archive,
            r.archive_created_at
        );
        println!("{}", plan_table(&r.components));
        match &r.safety_backup {
            Some(p) => println!("safety backup of the previous state: {p}"),
            None => println!("no safety backup was taken"),
        }
    }

    fn status(&self) -> ExitStatus {
        if self.0.ok {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

//! `vannactl backup` (write an archive, then apply retention), `backup list`, `backup verify [FILE]`.

use super::{Context, GlobalArgs};
use crate::backup::repo::ArchiveRef;
use crate::backup::{self, CreateOptions, Created, DryRun, Listed};
use crate::error::ExitStatus;
use crate::health::human_bytes;
use crate::output::{kv_table, table, Output, Report};
use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    /// Show which archives retention would keep (and by which rule) and prune after a backup; write and delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Folder for archives (overrides BACKUP_DIR)
    #[arg(long, value_name = "PATH", global = true)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// List archives with time, size, components and whether each verifies
    List {
        /// Read only each manifest; skip re-hashing the members
        #[arg(long)]
        fast: bool,
    },
    /// Re-read an archive (default: the newest) and check every member, dump and database in it
    Verify {
        /// Archive to check: a file, a folder `restic restore` made, a name in an s3:// BACKUP_DIR, an s3:// URL, or a snapshot name or id in a restic: BACKUP_DIR (default: the newest in BACKUP_DIR)
        file: Option<PathBuf>,
        /// Then restore it into scratch places (a temporary PostgreSQL database, temporary SQLite
        /// files, temporary Chroma collections) and compare with the manifest; live data is never touched
        #[arg(long)]
        restore_test: bool,
        /// Empty PostgreSQL database for the drill (default: create vannactl_drill_<pid> on the DATABASE_URL server, then drop it)
        #[arg(long, value_name = "URL", requires = "restore_test")]
        drill_url: Option<String>,
    },
}

fn context(g: &GlobalArgs, out: &Output, dir: &Option<PathBuf>) -> Result<Context> {
    let mut flags = BTreeMap::new();
    if let Some(d) = dir {
        flags.insert("BACKUP_DIR".to_string(), d.display().to_string());
    }
    Context::new(g, out, flags)
}

pub fn run(g: &GlobalArgs, out: &Output, args: BackupArgs) -> Result<Box<dyn Report>> {
    let ctx = context(g, out, &args.dir)?;
    match args.action {
        Some(BackupAction::List { fast }) => {
            Ok(Box::new(ListReport(backup::list(&ctx.settings, !fast)?)))
        }
        Some(BackupAction::Verify {
            file,
            restore_test,
            drill_url,
        }) => verify(&ctx, file, restore_test, drill_url),
        None if args.dry_run => Ok(Box::new(DryRunReport(backup::dry_run(&ctx.settings)?))),
        None => {
            let lock = crate::lock::acquire(&ctx.settings.lock_path, "backup")?;
            let opts = CreateOptions::all(Some(ctx.settings.backup_retention));
            let result = backup::create(&ctx.settings, &opts, out);
            ctx.audit_archive("backup", &result.as_ref().map(|c| c.archive.clone()));
            let created = result?;
            Ok(Box::new(CreateReport {
                created,
                took_over: lock.took_over.as_ref().map(|h| h.pid),
            }))
        }
    }
}

fn verify(
    ctx: &Context,
    file: Option<PathBuf>,
    restore_test: bool,
    drill_url: Option<String>,
) -> Result<Box<dyn Report>> {
    let a = match file {
        Some(f) => ArchiveRef::resolve(&ctx.settings, &f.to_string_lossy())?,
        None => ArchiveRef::newest(&ctx.settings)?,
    };
    if restore_test {
        let opts = backup::drill::Options {
            archive: a,
            drill_url,
        };
        let drill = backup::drill::run(&ctx.settings, &opts)?;
        return Ok(Box::new(DrillReport(drill)));
    }
    let v = backup::verify::verify_ref(&ctx.settings, &a)?;
    Ok(Box::new(VerifyReport(v)))
}

struct CreateReport {
    created: Created,
    took_over: Option<u32>,
}

impl Report for CreateReport {
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        use crate::metrics::Sample;
        let c = &self.created;
        let mut out = vec![Sample::new(
            "vannactl_backup_last_size_bytes",
            &[],
            c.size as f64,
        )];
        out.extend(
            c.archives
                .map(|n| Sample::new("vannactl_backup_archives", &[], n as f64)),
        );
        out.extend(
            c.added_bytes
                .map(|n| Sample::new("vannactl_backup_last_added_bytes", &[], n as f64)),
        );
        out
    }

    fn json(&self) -> Value {
        let c = &self.created;
        json!({
            "command": "backup",
            "archive": c.archive,
            "size": c.size,
            "sha256": c.sha256,
            "components": c.components,
            "name": c.name,
            "encrypted": c.encrypted,
            "pruned": c.pruned,
            "aborted_uploads": c.aborted_uploads,
            "snapshot": c.snapshot,
            "added_bytes": c.added_bytes,
            "unchanged_members": c.unchanged_members,
            "archives": c.archives,
            "cleaned_temp_files": c.cleaned_temp_files,
            "stale_lock_taken_over_from_pid": self.took_over,
            "duration_ms": c.duration_ms,
        })
    }

    fn human(&self, _out: &Output) {
        let c = &self.created;
        println!(
            "backup written: {} ({}{})",
            c.archive,
            human_bytes(c.size),
            if c.encrypted { ", age-encrypted" } else { "" }
        );
        let rows = c.components.iter().map(|r| {
            vec![
                r.component.as_str().to_string(),
                r.state.as_str().to_string(),
                r.kind.clone(),
                human_bytes(r.bytes),
                format!("{} ms", r.duration_ms),
                r.note.clone().unwrap_or_default(),
            ]
        });
        println!(
            "{}",
            table(
                &["component", "state", "kind", "size", "time", "note"],
                rows
            )
        );
        let mut kv = vec![
            ("sha256", c.sha256.clone()),
            ("duration", format!("{} ms", c.duration_ms)),
        ];
        if let Some(id) = &c.snapshot {
            kv.push(("restic snapshot", id.clone()));
        }
        if let Some(n) = c.added_bytes {
            kv.push(("added to repository", human_bytes(n)));
        }
        if let Some(n) = c.unchanged_members {
            kv.push(("unchanged members, not read", n.to_string()));
        }
        for p in &c.pruned {
            kv.push(("pruned", p.clone()));
        }
        for u in &c.aborted_uploads {
            kv.push(("aborted leftover", u.clone()));
        }
        for p in &c.cleaned_temp_files {
            kv.push(("cleaned leftover", p.display().to_string()));
        }
        println!("{}", kv_table(kv));
    }
}

struct DryRunReport(DryRun);

impl Report for DryRunReport {
    fn json(&self) -> Value {
        json!({ "command": "backup", "dry_run": true, "retention": self.0 })
    }

    fn human(&self, _out: &Output) {
        let d = &self.0;
        println!(
            "dry run: a backup now would keep {} existing archive(s) in {} (rules: {}; time zone {})",
            d.kept_existing,
            d.backup_dir,
            d.policy.describe(),
            d.time_zone
        );
        let rows = d.kept.iter().map(|k| {
            vec![
                k.id.clone().unwrap_or_else(|| "(this backup)".into()),
                k.created_at.clone(),
                k.reasons
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        });
        println!("{}", table(&["archive", "created", "kept by"], rows));
        if d.would_prune.is_empty() {
            println!("nothing would be pruned");
        }
        for p in &d.would_prune {
            println!("would prune {p}");
        }
    }
}

struct ListReport(Vec<Listed>);

impl Report for ListReport {
    fn json(&self) -> Value {
        json!({ "command": "backup list", "archives": self.0 })
    }

    fn human(&self, _out: &Output) {
        if self.0.is_empty() {
            println!("no archives");
            return;
        }
        let rows = self.0.iter().map(|l| {
            vec![
                l.name.clone(),
                l.created_at.clone(),
                human_bytes(l.size),
                l.components.clone(),
                l.verified.clone(),
            ]
        });
        println!(
            "{}",
            table(
                &["archive", "created", "size", "components", "verified"],
                rows
            )
        );
    }

    fn status(&self) -> ExitStatus {
        if self.0.iter().all(|l| l.ok) {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

struct VerifyReport(backup::verify::Verified);

impl Report for VerifyReport {
    fn json(&self) -> Value {
        json!({ "command": "backup verify", "verified": self.0 })
    }

    fn human(&self, _out: &Output) {
        let v = &self.0;
        println!("verified: {}", v.archive);
        println!(
            "{}",
            kv_table([
                ("checked", v.mode.clone()),
                ("created", v.created_at.clone()),
                ("format version", v.format_version.to_string()),
                ("components", v.components.clone()),
                ("members", v.members.to_string()),
                ("data", human_bytes(v.bytes)),
                ("duration", format!("{} ms", v.duration_ms)),
            ])
        );
    }
}

struct DrillReport(backup::drill::Drill);

impl Report for DrillReport {
    fn json(&self) -> Value {
        let mut v = json!({
            "command": "backup verify",
            "verified": self.0.verified,
            "restore_test": {
                "ok": self.0.ok,
                "components": self.0.components,
                "duration_ms": self.0.duration_ms,
            },
        });
        if let Some(p) = self.0.first_problem() {
            v["error"] = json!({ "kind": "restore_test_failed", "message": p, "exit_code": 1 });
        }
        v
    }

    fn human(&self, _out: &Output) {
        let d = &self.0;
        println!("verified: {}", d.verified.archive);
        let rows: Vec<Vec<String>> = d
            .components
            .iter()
            .map(|c| {
                let counts = c
                    .counts
                    .iter()
                    .map(|n| match (n.archived, n.restored) {
                        (a, r) if a == r => format!("{} {}", n.name, r.unwrap_or(0)),
                        (a, r) => format!(
                            "{} {} != {}",
                            n.name,
                            a.map_or("none".into(), |v| v.to_string()),
                            r.map_or("none".into(), |v| v.to_string())
                        ),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![
                    c.component.as_str().to_string(),
                    c.kind.clone(),
                    serde_json::to_value(c.result)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    counts,
                    format!("{} ms", c.duration_ms),
                ]
            })
            .collect();
        println!(
            "{}",
            table(&["component", "kind", "drill", "counts", "duration"], rows)
        );
        for c in &d.components {
            for p in &c.problems {
                eprintln!("{}: {p}", c.component.as_str());
            }
        }
        if d.ok {
            println!("restore test passed in {} ms", d.duration_ms);
        } else {
            println!("restore test FAILED");
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

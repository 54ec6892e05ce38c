//! Backups: one verified `tar.gz` per run with a checksummed manifest, retention, verification and
//! an all-or-nothing restore. The CLI (`cli/backup.rs`, `cli/restore.rs`) takes the lock; these
//! functions assume it is held.

pub mod archive;
pub mod components;
pub mod drill;
pub mod health;
pub mod manifest;
pub mod restore;
pub mod retention;
pub mod testhook;
pub mod verify;

use crate::config::Settings;
use crate::fsutil::{clean_stale_temps, TempFile};
use crate::output::Output;
use anyhow::{Context, Result};
use components::{Data, Pending};
use manifest::{Component, ComponentInfo, Manifest, Member, State, FORMAT_VERSION};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct CreateOptions {
    pub components: BTreeSet<Component>,
    /// Prune to this many archives afterwards (None: no pruning, e.g. a restore's safety backup).
    pub retention: Option<u32>,
}

impl CreateOptions {
    pub fn all(retention: Option<u32>) -> Self {
        CreateOptions {
            components: Component::ALL.into_iter().collect(),
            retention,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    pub component: Component,
    pub state: State,
    pub kind: String,
    pub bytes: u64,
    /// SHA-256 of the component's main member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub duration_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub archive: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub components: Vec<ComponentReport>,
    pub pruned: Vec<PathBuf>,
    pub cleaned_temp_files: Vec<PathBuf>,
    pub duration_ms: u128,
}

fn progress_line(out: &Output, text: String) {
    if out.interactive && !out.is_json() && !out.quiet {
        eprintln!("{text}");
    }
}

/// Write one archive of the selected components into `BACKUP_DIR`, then apply retention.
pub fn create(s: &Settings, opts: &CreateOptions, out: &Output) -> Result<Created> {
    let started = Instant::now();
    let dir = &s.backup_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create backup folder {}", dir.display()))?;
    let mut cleaned = Vec::new();
    for d in components::temp_dirs(s) {
        cleaned.extend(clean_stale_temps(&d));
    }

    let mut infos = BTreeMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut reports = Vec::new();
    for c in Component::ALL {
        let t = Instant::now();
        let snap = if opts.components.contains(&c) {
            testhook::at(&format!("backup:{}", c.as_str()))?;
            components::snapshot(c, s, dir)
                .with_context(|| format!("backup of the {} component failed", c.as_str()))?
        } else {
            components::Snapshot {
                info: ComponentInfo::not_present(State::Skipped, String::new(), "not selected"),
                members: Vec::new(),
            }
        };
        let report = ComponentReport {
            component: c,
            state: snap.info.state,
            kind: snap.info.kind.clone(),
            bytes: snap.members.iter().map(|m| m.size).sum(),
            sha256: snap.members.first().map(|m| m.sha256.clone()),
            duration_ms: t.elapsed().as_millis(),
            note: snap.info.note.clone(),
        };
        if opts.components.contains(&c) {
            progress_line(
                out,
                format!(
                    "  {:<9} {} {}",
                    c.as_str(),
                    snap.info.state.as_str(),
                    snap.info.note.as_deref().unwrap_or(&snap.info.kind)
                ),
            );
        }
        reports.push(report);
        infos.insert(c, snap.info);
        pending.extend(snap.members);
    }

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool: "vannactl".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        host: crate::cli::hostname(),
        members: pending
            .iter()
            .map(|p| Member {
                path: p.path.into(),
                size: p.size,
                sha256: p.sha256.clone(),
            })
            .collect(),
        components: infos,
    };

    let dest = unused_name(dir);
    let mut tmp = TempFile::new(&dest, 0o600)?;
    let total: u64 = pending.iter().map(|p| p.size).sum();
    let bar = out.progress(total, "archive", true);
    let (size, sha256) = {
        let mut w = archive::Writer::new(tmp.file(), &manifest)?;
        for (i, p) in pending.iter().enumerate() {
            if i == pending.len().saturating_sub(1) {
                testhook::at("backup:archive")?;
            }
            let sha = match &p.data {
                Data::Staged(f) => {
                    let file = File::open(&f.path)?;
                    w.add(p.path, p.size, &mut BufReader::with_capacity(1 << 20, file))?
                }
                Data::File(path) => {
                    let file = File::open(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    w.add(p.path, p.size, &mut BufReader::with_capacity(1 << 20, file))?
                }
                Data::Bytes(b) => w.add(p.path, p.size, &mut b.as_slice())?,
            };
            if sha != p.sha256 {
                return Err(crate::error::fail(
                    "backup_source_changed",
                    format!(
                        "{}: content changed while it was being archived; retry the backup",
                        p.path
                    ),
                ));
            }
            bar.inc(p.size);
        }
        w.finish()?
    };
    bar.finish();
    drop(pending); // staged snapshots go before the archive becomes visible
    tmp.persist()?;

    let pruned = match opts.retention {
        Some(keep) => retention::prune(dir, keep, &dest)?,
        None => Vec::new(),
    };
    Ok(Created {
        archive: dest,
        size,
        sha256,
        components: reports,
        pruned,
        cleaned_temp_files: cleaned,
        duration_ms: started.elapsed().as_millis(),
    })
}

/// A fresh archive name (two runs within one millisecond get distinct names).
fn unused_name(dir: &Path) -> PathBuf {
    loop {
        let p = dir.join(archive::file_name(chrono::Utc::now()));
        if !p.exists() {
            return p;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub backup_dir: PathBuf,
    pub retention_count: u32,
    pub would_prune: Vec<PathBuf>,
    pub kept_existing: usize,
}

/// What a backup run would prune; reads the folder, changes nothing.
pub fn dry_run(s: &Settings) -> Result<DryRun> {
    let existing = archive::list_archives(&s.backup_dir)?.len();
    let would_prune = retention::candidates(&s.backup_dir, s.backup_retention_count, None)?;
    Ok(DryRun {
        backup_dir: s.backup_dir.clone(),
        retention_count: s.backup_retention_count,
        kept_existing: existing - would_prune.len(),
        would_prune,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub path: PathBuf,
    pub created_at: String,
    pub size: u64,
    pub components: String,
    /// `ok`, `not checked`, or what is wrong.
    pub verified: String,
    pub ok: bool,
}

/// Archives in `BACKUP_DIR`, newest first; with `check`, every member is re-hashed.
pub fn list(s: &Settings, check: bool) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    for (t, path) in archive::list_archives(&s.backup_dir)? {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let head = archive::read_manifest(&path);
        let (created_at, components) = match &head {
            Ok(m) => (m.created_at.clone(), m.present_list()),
            Err(_) => (
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "?".into(),
            ),
        };
        let result = match head {
            Err(e) => Err(e),
            Ok(_) if !check => Ok(false),
            Ok(_) => archive::read(&path, &mut archive::Discard).map(|_| true),
        };
        let (verified, ok) = match result {
            // Only member checksums: the deep checks (integrity_check, pg_restore --list) are
            // `backup verify`'s, too slow to run over every archive in a listing.
            Ok(true) => ("checksums ok".to_string(), true),
            Ok(false) => ("not checked".to_string(), true),
            Err(e) => (crate::error::message(&e), false),
        };
        out.push(Listed {
            path,
            created_at,
            size,
            components,
            verified,
            ok,
        });
    }
    Ok(out)
}

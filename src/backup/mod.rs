//! Backups: one verified `tar.gz` per run with a checksummed manifest, retention, verification and
//! an all-or-nothing restore. The CLI (`cli/backup.rs`, `cli/restore.rs`) takes the lock; these
//! functions assume it is held.

pub mod archive;
pub mod components;
pub mod crypt;
pub mod drill;
pub mod folder;
pub mod health;
pub mod manifest;
pub mod repo;
pub mod restore;
pub mod retention;
pub mod stage;
pub mod testhook;
pub mod verify;

use crate::config::Settings;
use crate::fsutil::clean_stale_temps;
use crate::output::Output;
use anyhow::{Context, Result};
use components::{Data, Pending};
use manifest::{Component, ComponentInfo, Manifest, Member, State, FORMAT_VERSION};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

pub struct CreateOptions {
    pub components: BTreeSet<Component>,
    /// Prune by this policy afterwards (None: no pruning, e.g. a restore's safety backup).
    pub retention: Option<retention::Policy>,
}

impl CreateOptions {
    pub fn all(retention: Option<retention::Policy>) -> Self {
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
    /// Where it is: a path, or an `s3://` URL.
    pub archive: String,
    /// The archive's name in the repository.
    pub name: String,
    /// Size and SHA-256 of the stored object (the ciphertext when encrypted).
    pub size: u64,
    pub sha256: String,
    pub encrypted: bool,
    pub components: Vec<ComponentReport>,
    pub pruned: Vec<String>,
    pub cleaned_temp_files: Vec<PathBuf>,
    /// Unfinished uploads of killed runs, aborted (S3).
    pub aborted_uploads: Vec<String>,
    /// restic's snapshot id.
    pub snapshot: Option<String>,
    /// Bytes the repository grew by, where it deduplicates (restic's `data_added`).
    pub added_bytes: Option<u64>,
    /// Members the repository skipped as unchanged since the previous backup, without reading
    /// them (restic: an unchanged golden copy).
    pub unchanged_members: Option<u64>,
    /// Archives in the repository after retention; None when listing failed (the backup itself
    /// is complete, so that only loses the count).
    pub archives: Option<usize>,
    pub duration_ms: u128,
}

fn progress_line(out: &Output, text: String) {
    if out.interactive && !out.is_json() && !out.quiet {
        eprintln!("{text}");
    }
}

/// The variable that chose the folder snapshots are staged in.
pub(crate) fn stage_setting(s: &Settings) -> &'static str {
    match s.backup_repo {
        crate::config::BackupRepo::Local(_) => "BACKUP_DIR (--dir)",
        crate::config::BackupRepo::S3 { .. } | crate::config::BackupRepo::Restic(_) => {
            "BACKUP_STAGE_DIR"
        }
    }
}

/// Write one archive of the selected components into `BACKUP_DIR`, then apply retention.
pub fn create(s: &Settings, opts: &CreateOptions, out: &Output) -> Result<Created> {
    create_with(s, opts, out, BTreeMap::new(), &|_| {})
}

/// [`create`] with some components' snapshots already taken (a restore's safety backup dumps the
/// system DB while it reads the archive's manifest). `captured` hears of each component once its
/// state is snapshotted (a restore may then start changing it, not yet make the change final).
pub fn create_with(
    s: &Settings,
    opts: &CreateOptions,
    out: &Output,
    mut taken: BTreeMap<Component, components::Snapshot>,
    captured: &dyn Fn(Component),
) -> Result<Created> {
    let started = Instant::now();
    // Encryption is settled first: a broken recipients setting stops the run before any work.
    let recipients = crypt::recipients(s)?;
    // So is the zone retention cuts days in: an unknown TZ fails before, not after, the backup.
    let tz = match opts.retention {
        Some(_) => Some(retention::local_tz()?),
        None => None,
    };
    let repo = repo::Repo::open(s)?;
    if recipients.is_some() && repo.keeps_members_apart() {
        return Err(crate::error::usage(format!(
            "BACKUP_DIR={} encrypts archives itself; unset BACKUP_AGE_RECIPIENTS and \
             BACKUP_AGE_RECIPIENTS_FILE (age would also defeat its deduplication)",
            repo.display()
        )));
    }
    let dir = &s.backup_dir;
    // Checked before the repository is contacted, so a full or unwritable stage is named as
    // such; a run that fails removes the folders it created.
    let stage = stage::Stage::prepare(dir, stage_setting(s))?;
    let mut cleaned = Vec::new();
    for d in components::temp_dirs(s) {
        cleaned.extend(clean_stale_temps(&d));
    }
    let aborted = repo.clean_stale()?;
    repo.prefetch_listing();

    let mut infos = BTreeMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut reports = Vec::new();
    for c in Component::ALL {
        let t = Instant::now();
        let snap = if let Some(snap) = taken.remove(&c) {
            snap
        } else if opts.components.contains(&c) {
            testhook::at(&format!("backup:{}", c.as_str()))?;
            components::snapshot(c, s, dir)
                .with_context(|| format!("backup of the {} component failed", c.as_str()))
                .map_err(|e| crate::error::or_disk_full(e, dir, Some(stage_setting(s))))?
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
        captured(c);
    }

    let infos_kinds: Vec<(Component, State, String)> = infos
        .iter()
        .map(|(c, i)| (*c, i.state, i.kind.clone()))
        .collect();
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool: "vannactl".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        host: crate::host::hostname(),
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

    let name = repo.unused_name(recipients.is_some())?;
    let location = repo.location(&name);
    let labels: Vec<&str> = manifest
        .components
        .iter()
        .filter(|(_, i)| i.state == State::Present)
        .map(|(c, _)| c.as_str())
        .collect();
    let total: u64 = pending.iter().map(|p| p.size).sum();
    let bar = out.progress(total, "archive", true);
    let (size, sha256, stored) = if repo.keeps_members_apart() {
        let stored = store_members(&repo, &name, &labels, &manifest, &pending, &bar)?;
        drop(pending);
        stored
    } else {
        let upload = repo.writer(&name)?;
        let stored = archive::Hashing::new(upload);
        let layer = crypt::Layer::new(stored, recipients.as_ref())?;
        let mut w = archive::Writer::new(layer, &manifest)?;
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
        let layer = w.finish()?;
        let stored = layer
            .finish()
            .with_context(|| format!("cannot finish writing {location}"))?;
        let (upload, size, sha256) = stored.finish();
        drop(pending); // staged snapshots go before the archive becomes visible
        let stored = upload.commit_stored()?;
        (size, sha256, stored)
    };
    bar.finish();
    if recipients.is_some() {
        // Lets `backup verify` check an encrypted archive where there is no private key.
        repo.put_small(
            &format!("{name}{}", repo::SUM_SUFFIX),
            format!("{sha256}  {name}\n").as_bytes(),
        )
        .with_context(|| {
            format!("{location} is complete, but its checksum file could not be written")
        })?;
    }

    forget_converted_store(s, &infos_kinds);

    // Only here, after the archive is complete (members checked against their snapshots while
    // written, committed, checksum file written): a failed run never prunes.
    let pruned = match (&opts.retention, &tz) {
        (Some(policy), Some(tz)) => retention::prune(&repo, policy, tz, &name)?,
        _ => Vec::new(),
    };
    let archives = match repo.list() {
        Ok(entries) => Some(entries.len()),
        Err(e) => {
            tracing::warn!(
                "cannot count the archives in {}: {}",
                repo.display(),
                crate::error::message(&e)
            );
            None
        }
    };
    stage.keep();
    Ok(Created {
        archive: location,
        name,
        size,
        sha256,
        encrypted: recipients.is_some(),
        components: reports,
        pruned,
        cleaned_temp_files: cleaned,
        aborted_uploads: aborted,
        snapshot: stored.snapshot,
        added_bytes: stored.added,
        unchanged_members: stored.unchanged,
        archives,
        duration_ms: started.elapsed().as_millis(),
    })
}

/// [`create`]'s storing step for a repository that keeps members as files (restic): the members
/// are handed over as they are (staged files, the live golden copy, bytes), nothing is streamed
/// through vannactl. Size: all members with the manifest; SHA-256: of `manifest.json`, which
/// holds every member's.
fn store_members(
    repo: &repo::Repo,
    name: &str,
    labels: &[&str],
    manifest: &Manifest,
    pending: &[Pending],
    bar: &crate::output::Progress,
) -> Result<(u64, String, repo::Stored)> {
    let json = manifest::to_json(manifest)?;
    let files: Vec<repo::MemberFile> = pending
        .iter()
        .map(|p| repo::MemberFile {
            path: p.path,
            size: p.size,
            source: match &p.data {
                Data::Staged(f) => repo::MemberSource::File(&f.path),
                Data::File(path) => repo::MemberSource::File(path),
                Data::Bytes(b) => repo::MemberSource::Bytes(b),
            },
        })
        .collect();
    testhook::at("backup:archive")?;
    let done = std::sync::atomic::AtomicU64::new(0);
    let stored = repo.put_members(name, labels, &json, &files, &|n| {
        let before = done.swap(n, std::sync::atomic::Ordering::Relaxed);
        bar.inc(n.saturating_sub(before));
    })?;
    let (n, sha) = archive::hash_file_bytes(&json);
    Ok((n + pending.iter().map(|p| p.size).sum::<u64>(), sha, stored))
}

/// The former knowledge store kept as `.bak` after its conversion goes once a complete backup
/// holds the Chroma directory it was converted into.
fn forget_converted_store(s: &Settings, kinds: &[(Component, State, String)]) {
    let holds_directory = kinds.iter().any(|(c, st, k)| {
        *c == Component::Knowledge && *st == State::Present && k == components::chroma_dir::KIND
    });
    let bak = crate::knowledge::stores::persistent::legacy::backup_path(&s.knowledge_db_path);
    if holds_directory && bak.is_file() {
        match std::fs::remove_file(&bak) {
            Ok(()) => tracing::info!("removed {} (converted, now backed up)", bak.display()),
            Err(e) => tracing::warn!("cannot remove {}: {e}", bak.display()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub backup_dir: String,
    pub policy: retention::Policy,
    /// The zone days, weeks, months and years are cut in.
    pub time_zone: String,
    /// Newest first; the backup the run would write comes first, with `id` null.
    pub kept: Vec<PlannedArchive>,
    /// Locations (paths or `s3://` URLs) of the archives that would go, newest first.
    pub would_prune: Vec<String>,
    /// Existing archives kept (the new one not counted).
    pub kept_existing: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedArchive {
    /// The archive's name; null for the backup the run would write.
    pub id: Option<String>,
    /// Its path or `s3://` URL; null for the backup the run would write.
    pub location: Option<String>,
    /// Local time with its offset: what the rules' buckets are cut from.
    pub created_at: String,
    /// The rules that keep it.
    pub reasons: Vec<retention::Reason>,
}

/// What a backup run now would keep and prune, and which rule keeps what; reads the repository,
/// changes nothing.
pub fn dry_run(s: &Settings) -> Result<DryRun> {
    let tz = retention::local_tz()?;
    let repo = repo::Repo::open(s)?;
    let entries = repo.list()?;
    let now = jiff::Timestamp::now();
    let (mut kept, mut would_prune) = (Vec::new(), Vec::new());
    for d in retention::plan(&entries, &s.backup_retention, &tz, None, Some(now)) {
        let location = d.name.as_deref().map(|n| repo.location(n));
        match location {
            Some(l) if d.reasons.is_empty() => would_prune.push(l),
            location => kept.push(PlannedArchive {
                location,
                id: d.name,
                created_at: retention::local_time(d.at, &tz),
                reasons: d.reasons,
            }),
        }
    }
    Ok(DryRun {
        backup_dir: repo.display(),
        policy: s.backup_retention,
        time_zone: retention::tz_name(&tz),
        kept_existing: kept.iter().filter(|k| k.id.is_some()).count(),
        kept,
        would_prune,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// A path, or an `s3://` URL.
    pub path: String,
    pub name: String,
    pub encrypted: bool,
    pub created_at: String,
    pub size: u64,
    pub components: String,
    /// `ok`, `not checked`, or what is wrong.
    pub verified: String,
    pub ok: bool,
}

/// Archives in `BACKUP_DIR`, newest first; with `check`, every member is re-hashed. Encrypted
/// archives without `BACKUP_AGE_IDENTITY_FILE` are listed from their names, and checked against
/// the checksum recorded at backup time.
pub fn list(s: &Settings, check: bool) -> Result<Vec<Listed>> {
    let repo = repo::Repo::open(s)?;
    let no_key = s.backup_age_identity_file.is_none();
    let mut out = Vec::new();
    for e in repo.list_sized()? {
        let a = repo::ArchiveRef {
            name: e.name.clone(),
            repo: repo::Repo::open(s)?,
        };
        let locked = a.encrypted() && no_key;
        let head = if locked {
            Err(anyhow::anyhow!("encrypted"))
        } else {
            a.read_manifest(s)
        };
        let (created_at, components) = match &head {
            Ok(m) => (m.created_at.clone(), m.present_list()),
            Err(_) => (
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "?".into(),
            ),
        };
        let result = match head {
            _ if locked && !check => Ok("encrypted, not checked".to_string()),
            _ if locked => a
                .check_ciphertext()
                .map(|_| "encrypted, checksum ok (no key)".to_string()),
            Err(e) => Err(e),
            Ok(_) if !check => Ok("not checked".to_string()),
            Ok(_) => verify::stage_ref(s, &a, None, &|_| None).map(|_| "checksums ok".to_string()),
        };
        // Only member checksums: the deep checks (integrity_check, pg_restore --list) are
        // `backup verify`'s, too slow to run over every archive in a listing.
        let (verified, ok) = match result {
            Ok(v) => (v, true),
            Err(e) => (crate::error::message(&e), false),
        };
        out.push(Listed {
            path: a.location(),
            encrypted: a.encrypted(),
            name: e.name,
            created_at,
            size: e.size,
            components,
            verified,
            ok,
        });
    }
    Ok(out)
}

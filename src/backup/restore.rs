//! `restore`: verify the whole archive (staging each member next to where it goes), show what will
//! be replaced and ask, take a safety backup, then put components back one by one, each all or
//! nothing. If one fails, the ones already restored are rolled back from the safety backup.

use super::components::{self, Dest};
use super::manifest::{Component, Manifest, State};
use super::repo::ArchiveRef;
use super::{testhook, verify, CreateOptions};
use crate::config::Settings;
use crate::error::{fail, message};
use crate::fsutil::clean_stale_temps;
use crate::output::Output;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

pub struct Options {
    /// A path, a name in an S3 `BACKUP_DIR`, or an `s3://` URL.
    pub archive: String,
    pub only: Option<Component>,
    pub safety_backup: bool,
    /// Confirmed in advance (`--yes`): the safety backup's dump of the system DB may start at
    /// once, while the archive is found and its manifest read (stopped if the restore stops).
    pub confirmed: bool,
}

/// Where a component stands after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Planned; shown before confirmation.
    WillReplace,
    Restored,
    NotSelected,
    /// The archive does not hold it (absent or skipped at backup time); left as it is.
    NotInArchive,
    /// Not restored by configuration (external target DB); left as it is.
    Skipped,
    /// Its restore failed and changed nothing.
    FailedUnchanged,
    /// An earlier component failed; never touched.
    NotAttempted,
    /// Restored, then put back to the safety backup because a later component failed.
    RolledBack,
    /// Restored, and rolling back failed: it holds the archive's data.
    RollbackFailed,
    /// Restored, a later component failed, and there was no safety backup to roll back to.
    RestoredNotRolledBack,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::WillReplace => "will be replaced",
            Outcome::Restored => "restored",
            Outcome::NotSelected => "not selected",
            Outcome::NotInArchive => "not in archive",
            Outcome::Skipped => "skipped",
            Outcome::FailedUnchanged => "FAILED (unchanged)",
            Outcome::NotAttempted => "not attempted (unchanged)",
            Outcome::RolledBack => "rolled back (as before the restore)",
            Outcome::RollbackFailed => "ROLLBACK FAILED (holds archive data)",
            Outcome::RestoredNotRolledBack => "restored, NOT rolled back",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentResult {
    pub component: Component,
    pub outcome: Outcome,
    pub kind: String,
    /// Counts before the restore (None: nothing there, or not looked at).
    pub current_counts: Option<BTreeMap<String, u64>>,
    pub archived_counts: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub archive: String,
    pub archive_created_at: String,
    pub safety_backup: Option<String>,
    pub components: Vec<ComponentResult>,
    pub ok: bool,
    pub error: Option<String>,
    pub cleaned_temp_files: Vec<PathBuf>,
    pub duration_ms: u128,
}

/// What will be replaced, shown before asking.
pub struct Plan<'a> {
    pub archive: &'a str,
    pub manifest: &'a Manifest,
    pub components: &'a [ComponentResult],
    pub replace: &'a [Component],
    pub safety_backup: bool,
}

fn set(results: &mut [ComponentResult], c: Component, outcome: Outcome, detail: Option<String>) {
    if let Some(r) = results.iter_mut().find(|r| r.component == c) {
        r.outcome = outcome;
        if detail.is_some() {
            r.detail = detail;
        }
    }
}

pub fn run(
    s: &Settings,
    opts: &Options,
    out: &Output,
    confirm: &dyn Fn(&Plan) -> Result<()>,
) -> Result<Restored> {
    let started = Instant::now();
    let mut cleaned = Vec::new();
    for d in components::temp_dirs(s) {
        cleaned.extend(clean_stale_temps(&d));
    }
    let nothing = "nothing was restored";
    if opts.safety_backup
        && s.backup_age_identity_file.is_none()
        && (s.backup_age_recipients.is_some() || s.backup_age_recipients_file.is_some())
    {
        return Err(fail(
            "archive_key_missing",
            format!(
                "the safety backup will be encrypted and a rollback would need to read it: set \
                 BACKUP_AGE_IDENTITY_FILE (or pass --no-safety-backup); {nothing}"
            ),
        ));
    }
    // A run that fails removes the staging folders it created.
    let stage = super::stage::Stage::prepare(&s.backup_dir, super::stage_setting(s))?;
    let safety_dumps_system =
        opts.safety_backup && matches!(opts.only, None | Some(Component::System));
    // The safety backup of a PostgreSQL system DB is not what the restore waits for: the restore's
    // transaction starts once the dump is taken and runs while the rest is stored. So the safety
    // backup runs at a lower CPU priority than the staging and the restore, which it waits for.
    let yields =
        safety_dumps_system && matches!(s.database_url, crate::config::SystemDbUrl::Postgres(_));
    let early = (safety_dumps_system && opts.confirmed).then(|| EarlyDump::start(s, yields));
    let source = ArchiveRef::resolve(s, &opts.archive).context(nothing)?;
    let location = source.location();
    // The head first: a newer format or a foreign file is refused before reading gigabytes.
    let head = source.read_manifest(s).context(nothing)?;
    let selected: Vec<Component> = match opts.only {
        Some(c) => vec![c],
        None => Component::ALL.to_vec(),
    };
    let mut results = Vec::new();
    let mut replace = Vec::new();
    for c in Component::ALL {
        let info = head.component(c);
        let mut r = ComponentResult {
            component: c,
            outcome: Outcome::NotSelected,
            kind: info.map(|i| i.kind.clone()).unwrap_or_default(),
            current_counts: None,
            archived_counts: info.map(|i| i.counts.clone()).unwrap_or_default(),
            detail: None,
        };
        if selected.contains(&c) {
            match info {
                Some(i) if i.state == State::Present => {
                    if c == Component::Target && s.enable_target_db {
                        r.outcome = Outcome::Skipped;
                        r.detail = Some(
                            "ENABLE_TARGET_DB=true: the target DB is external; the archived copy is not restored".into(),
                        );
                    } else if let Some(e) = components::incompatibility(c, i, s) {
                        return Err(e.context(nothing));
                    } else if let Err(e) = components::owned::check(c, s, i) {
                        return Err(e.context(nothing));
                    } else {
                        r.outcome = Outcome::WillReplace;
                        replace.push(c);
                    }
                }
                other => {
                    r.outcome = Outcome::NotInArchive;
                    r.detail = other.and_then(|i| i.note.clone());
                }
            }
        }
        results.push(r);
    }
    if replace.is_empty() {
        let what = opts.only.map(|c| c.as_str()).unwrap_or("any component");
        return Err(fail(
            "nothing_to_restore",
            format!(
                "archive {location} does not hold {what} this configuration can restore; {nothing}"
            ),
        ));
    }

    for r in results
        .iter_mut()
        .filter(|r| replace.contains(&r.component))
    {
        match components::current_counts(r.component, s) {
            Ok(c) => r.current_counts = c,
            Err(e) => r.detail = Some(format!("current state unreadable: {}", message(&e))),
        }
    }
    confirm(&Plan {
        archive: &location,
        manifest: &head,
        components: &results,
        replace: &replace,
        safety_backup: opts.safety_backup,
    })?;

    // The archive is fetched and verified (staging what will be restored) while the safety
    // backup is taken: both only read the deployment. A component is changed only once the
    // safety backup holds its current state, and the change is made final (a rename, the
    // PostgreSQL restore's COMMIT) only once the safety backup is stored: so the restore's
    // transaction runs while the safety backup is written to the repository.
    std::thread::scope(|sc| {
        let (tell, captured) = std::sync::mpsc::channel();
        let yields = yields && replace.first() == Some(&Component::System);
        let worker = opts.safety_backup.then(|| {
            let o = CreateOptions {
                components: replace.iter().copied().collect(),
                retention: None,
            };
            // Its progress lines would interleave with the restore's.
            let quiet = Output {
                quiet: true,
                ..out.clone()
            };
            sc.spawn(move || {
                if yields {
                    crate::host::lower_thread_priority();
                }
                let mut taken = std::collections::BTreeMap::new();
                if let Some(snap) = early.and_then(EarlyDump::take) {
                    let snap = snap.context("backup of the system component failed")?;
                    if o.components.contains(&Component::System) {
                        taken.insert(Component::System, snap);
                    }
                }
                let r = super::create_with(s, &o, &quiet, taken, &|c| {
                    let _ = tell.send(c);
                });
                tracing::debug!("safety backup done: {}", r.is_ok());
                r
            })
        });
        let staging = match worker {
            // Otherwise every change waits for the whole safety backup, the longer of the two:
            // the archive is fetched and checked at a lower CPU priority meanwhile (its thread
            // and the restic and pg_restore it runs).
            Some(_) if !yields => sc
                .spawn(|| {
                    crate::host::lower_thread_priority();
                    stage_components(&source, &head, &replace, s)
                })
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the staging thread panicked"))),
            _ => stage_components(&source, &head, &replace, s),
        };
        tracing::debug!("archive verified and staged: {}", staging.is_ok());
        let safety = SafetyGate {
            running: std::cell::RefCell::new(worker),
            captured,
            seen: Default::default(),
            outcome: Default::default(),
        };
        let safety_failed = |e: anyhow::Error| {
            e.context(format!(
                "safety backup of the current state failed; {nothing} (pass --no-safety-backup to restore without one)"
            ))
        };
        let (manifest, mut staged) = match staging {
            Ok(x) => x,
            Err(e) => {
                // Nothing was restored: the safety backup of an unchanged state goes again.
                let _ = safety.stored();
                if let Some(Ok(sb)) = &*safety.outcome.borrow() {
                    discard(s, sb);
                }
                return Err(e.context(nothing));
            }
        };

        let mut applied: Vec<Component> = Vec::new();
        let mut failure: Option<anyhow::Error> = None;
        for (i, &c) in replace.iter().enumerate() {
            let part = staged.take(&manifest, c);
            let kept = (!part.in_place.is_empty()).then(|| {
                format!(
                    "{} already held the archived data (same SHA-256): kept, not rewritten",
                    part.in_place.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            });
            safety.captured(c);
            let r = testhook::at(&format!("restore:{}", c.as_str()))
                .and_then(|_| components::apply(c, part, s, &|| safety.stored()));
            // Only the first change waits for the safety backup, so its failure changed nothing.
            if let Some(e) = safety.failure() {
                return Err(safety_failed(e));
            }
            match r {
                Ok(()) => {
                    tracing::info!(component = c.as_str(), "restored");
                    applied.push(c);
                    set(&mut results, c, Outcome::Restored, kept);
                }
                Err(e) => {
                    let e = e.context(format!("restore of the {} component failed", c.as_str()));
                    set(&mut results, c, Outcome::FailedUnchanged, Some(message(&e)));
                    for &later in &replace[i + 1..] {
                        set(&mut results, later, Outcome::NotAttempted, None);
                    }
                    // A target copy and its manifest are two renames: roll it back too, to be sure.
                    if c == Component::Target {
                        applied.push(c);
                    }
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(staged);
        // A component that failed before its change leaves the safety backup running.
        let _ = safety.stored();
        if let Some(e) = safety.failure() {
            return Err(safety_failed(e));
        }
        let safety = match safety.outcome.into_inner() {
            Some(Ok(sb)) => Some(sb),
            _ => None,
        };

        if failure.is_some() && !applied.is_empty() {
            match &safety {
                None => {
                    for &c in &applied {
                        if results
                            .iter()
                            .any(|r| r.component == c && r.outcome == Outcome::Restored)
                        {
                            set(
                                &mut results,
                                c,
                                Outcome::RestoredNotRolledBack,
                                Some("no safety backup was taken (--no-safety-backup)".into()),
                            );
                        }
                    }
                }
                Some(sb) => rollback(s, &sb.archive, &applied, &mut results),
            }
        }

        if failure.is_none() {
            stage.keep();
        }
        Ok(Restored {
            archive: location,
            archive_created_at: manifest.created_at.clone(),
            safety_backup: safety.map(|c| c.archive),
            components: results,
            ok: failure.is_none(),
            error: failure.map(|e| message(&e)),
            cleaned_temp_files: cleaned,
            duration_ms: started.elapsed().as_millis(),
        })
    })
}

/// The safety backup while the restore waits on it. A component's change starts once the safety
/// backup has taken that component's state ([`SafetyGate::captured`]) and is made final only once
/// the safety backup is stored ([`SafetyGate::stored`]). Without a safety backup both pass at once.
struct SafetyGate<'scope> {
    running:
        std::cell::RefCell<Option<std::thread::ScopedJoinHandle<'scope, Result<super::Created>>>>,
    captured: std::sync::mpsc::Receiver<Component>,
    seen: std::cell::RefCell<BTreeSet<Component>>,
    /// The safety backup's result, once waited for (its error taken by [`SafetyGate::failure`]).
    outcome: std::cell::RefCell<Option<Result<super::Created>>>,
}

impl SafetyGate<'_> {
    /// Wait until the safety backup holds `c`'s state, or has ended.
    fn captured(&self, c: Component) {
        let mut seen = self.seen.borrow_mut();
        while !seen.contains(&c) {
            match self.captured.recv() {
                Ok(x) => {
                    seen.insert(x);
                }
                Err(_) => return,
            }
        }
    }

    /// Wait until the safety backup is stored (an error if it failed; the cause is kept for
    /// [`SafetyGate::failure`]).
    fn stored(&self) -> Result<()> {
        if let Some(h) = self.running.borrow_mut().take() {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the safety backup's thread panicked")));
            *self.outcome.borrow_mut() = Some(r);
        }
        match &*self.outcome.borrow() {
            Some(Err(_)) => Err(anyhow::anyhow!(
                "the safety backup of the current state failed"
            )),
            _ => Ok(()),
        }
    }

    /// The safety backup's error, if it failed (once).
    fn failure(&self) -> Option<anyhow::Error> {
        let mut o = self.outcome.borrow_mut();
        match o.take() {
            Some(Err(e)) => Some(e),
            other => {
                *o = other;
                None
            }
        }
    }
}

/// The safety backup's snapshot of the system DB (a pure read into the stage: `pg_dump`, or
/// SQLite's backup API), taken while the archive is found and its manifest read and checked. If
/// the restore goes no further, a PostgreSQL dump is stopped, and the snapshot is waited for and
/// its staged file removed.
struct EarlyDump {
    handle: Option<std::thread::JoinHandle<Result<components::Snapshot>>>,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EarlyDump {
    /// `yields`: at a lower CPU priority (pg_dump too).
    fn start(s: &Settings, yields: bool) -> EarlyDump {
        let s = s.clone();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = cancel.clone();
        let handle = std::thread::spawn(move || {
            if yields {
                crate::host::lower_thread_priority();
            }
            testhook::at("backup:system")?;
            components::snapshot_until(Component::System, &s, &s.backup_dir, &flag)
        });
        EarlyDump {
            handle: Some(handle),
            cancel,
        }
    }

    fn take(mut self) -> Option<Result<components::Snapshot>> {
        self.handle.take().map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the system DB dump's thread panicked")))
        })
    }
}

impl Drop for EarlyDump {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.cancel
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = h.join();
        }
    }
}

/// Remove the safety backup of a restore that changed nothing.
fn discard(s: &Settings, sb: &super::Created) {
    let r = super::repo::Repo::open(s).and_then(|repo| {
        repo.remove(&sb.name)?;
        if sb.encrypted {
            repo.remove(&format!("{}{}", sb.name, super::repo::SUM_SUFFIX))?;
        }
        Ok(())
    });
    if let Err(e) = r {
        tracing::warn!(
            "cannot remove the safety backup {} of a restore that changed nothing: {}",
            sb.archive,
            message(&e)
        );
    }
}

/// Verify the whole archive, staging the members of `comps`.
fn stage_components(
    source: &ArchiveRef,
    head: &Manifest,
    comps: &[Component],
    s: &Settings,
) -> Result<(Manifest, verify::Staged)> {
    let wanted: BTreeSet<String> = comps
        .iter()
        .filter_map(|c| head.component(*c))
        .flat_map(|i| i.members.iter().cloned())
        .collect();
    // A member the deployment already holds byte for byte (an unchanged golden copy) is neither
    // fetched nor rewritten: restic does not read it, and no gigabyte is staged and renamed.
    let in_place: BTreeSet<String> = wanted
        .iter()
        .filter(|m| {
            head.member(m)
                .is_some_and(|x| components::in_place(m, &x.sha256, s))
        })
        .cloned()
        .collect();
    let fetch: Vec<String> = wanted.difference(&in_place).cloned().collect();
    let plan = |m: &str| -> Option<Dest> {
        if fetch.iter().any(|f| f == m) {
            components::restore_dest(m, s, &s.backup_dir)
        } else {
            None
        }
    };
    let (manifest, mut staged) = verify::stage_ref(s, source, Some(&fetch), &plan)?;
    staged.in_place = in_place;
    Ok((manifest, staged))
}

/// Put `comps` back to what the safety backup holds, recording the outcome of each.
fn rollback(s: &Settings, safety: &str, comps: &[Component], results: &mut [ComponentResult]) {
    let staged = ArchiveRef::resolve(s, safety).and_then(|a| {
        let head = a.read_manifest(s)?;
        stage_components(&a, &head, comps, s)
    });
    let (manifest, mut staged) = match staged {
        Ok(x) => x,
        Err(e) => {
            for &c in comps {
                set(
                    results,
                    c,
                    Outcome::RollbackFailed,
                    Some(format!(
                        "cannot read the safety backup {safety}: {}",
                        message(&e)
                    )),
                );
            }
            return;
        }
    };
    for &c in comps {
        let present = manifest
            .component(c)
            .is_some_and(|i| i.state == State::Present);
        let r = if present {
            components::apply(c, staged.take(&manifest, c), s, &|| Ok(()))
        } else {
            components::remove(c, s)
        };
        let failed_here = results
            .iter()
            .any(|r| r.component == c && r.outcome == Outcome::FailedUnchanged);
        match r {
            Ok(()) if failed_here => {}
            Ok(()) => set(results, c, Outcome::RolledBack, None),
            Err(e) => set(
                results,
                c,
                Outcome::RollbackFailed,
                Some(format!(
                    "rollback from {safety} failed: {}; restore that archive with `vannactl restore --only {}`",
                    message(&e),
                    c.as_str()
                )),
            ),
        }
    }
}

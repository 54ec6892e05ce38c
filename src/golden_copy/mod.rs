//! Golden copy: the original target database is never modified; the app works on a verified,
//! read-only runtime copy with a manifest beside it.
//!
//! A run decides from `stat` alone when nothing changed (cheap on multi-GB files). When anything
//! differs it hashes both sides (in parallel): identical content is adopted without copying, real
//! drift is reported and replaced only after confirmation.

mod hash;
pub mod manifest;
mod source;

pub use hash::{copy_and_hash, hash_file};
pub use source::validate as validate_source;

use crate::error::fail;
use crate::fsutil::{clean_stale_temps, parent_dir, TempFile};
use crate::output::Output;
use anyhow::{Context, Result};
use manifest::{FileStamp, Manifest};
use serde::Serialize;
use std::fs::{self, File, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    pub source: PathBuf,
    pub dest: PathBuf,
    /// Re-hash both files and report drift; changes nothing.
    pub verify: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Copied,
    UpToDate,
    Refreshed,
    Verified,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Copied => "copied",
            Action::UpToDate => "up-to-date",
            Action::Refreshed => "refreshed",
            Action::Verified => "verified",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub path: PathBuf,
    pub size: u64,
    /// From the manifest when `hashed` is false.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub action: Action,
    pub source: Side,
    pub copy: Side,
    pub manifest: PathBuf,
    pub read_only: bool,
    /// Whether this run read the files (false for a stat-only no-op).
    pub hashed: bool,
    /// What differed from the manifest (empty when all is well).
    pub drift: Vec<String>,
    pub bytes_copied: u64,
    pub duration_ms: u128,
    pub bytes_per_sec: u64,
    /// Leftover temporary files of killed runs that this run removed.
    pub cleaned_temp_files: Vec<PathBuf>,
}

impl Outcome {
    /// `--verify` found differences.
    pub fn drifted(&self) -> bool {
        !self.drift.is_empty()
    }

    /// Prometheus samples of this run: copy size, duration, and whether the copy drifted. After a
    /// copy or refresh the copy matches its source again, so only `--verify` can report drift.
    pub fn metrics(&self) -> Vec<crate::metrics::Sample> {
        use crate::metrics::Sample;
        let drift = self.action == Action::Verified && self.drifted();
        vec![
            Sample::new("vannactl_golden_copy_bytes", &[], self.copy.size as f64),
            Sample::new(
                "vannactl_golden_copy_duration_seconds",
                &[],
                self.duration_ms as f64 / 1000.0,
            ),
            Sample::new(
                "vannactl_golden_copy_drift",
                &[],
                f64::from(u8::from(drift)),
            ),
        ]
    }
}

/// Make sure `dest` is a verified read-only copy of `source`. `confirm` is asked before replacing
/// a copy that drifted (it returns an error to refuse).
pub fn run(opts: &Options, out: &Output, confirm: &dyn Fn(&str) -> Result<()>) -> Result<Outcome> {
    let started = Instant::now();
    let cleaned = clean_stale_temps(&parent_dir(&opts.dest));
    source::validate(&opts.source)?;
    let source_abs = std::path::absolute(&opts.source)?;
    let src_stamp = stamp(&opts.source)?;
    let manifest_path = manifest::path_for(&opts.dest);
    let mut drift = Vec::new();
    let recorded = match manifest::read(&manifest_path) {
        Ok(m) => m,
        Err(e) => {
            drift.push(format!("{e:#}"));
            None
        }
    };
    if fs::metadata(&opts.dest).is_ok_and(|m| !m.is_file()) {
        return Err(crate::error::usage(format!(
            "TARGET_DB_PATH={} is not a regular file (a folder, FIFO or device); it was left \
             untouched — point TARGET_DB_PATH at a file path of its own",
            opts.dest.display()
        )));
    }
    let dest_stamp = match FileStamp::of(&opts.dest) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot stat {}", opts.dest.display())),
    };
    let report = Reporter {
        opts,
        manifest: &manifest_path,
        started,
        cleaned,
    };

    if opts.verify {
        let Some(dest_stamp) = dest_stamp else {
            return Err(fail(
                "copy_missing",
                format!(
                    "no runtime copy at {}; run `vannactl golden-copy` first",
                    opts.dest.display()
                ),
            ));
        };
        let (src_sha, copy_sha) = hash_both(opts, src_stamp.size + dest_stamp.size, out)?;
        match &recorded {
            None if drift.is_empty() => {
                drift.push(format!("no manifest at {}", manifest_path.display()))
            }
            None => {}
            Some(m) => {
                for (what, path, sha) in [
                    ("source", &opts.source, &src_sha),
                    ("runtime copy", &opts.dest, &copy_sha),
                ] {
                    if m.sha256 != *sha {
                        drift.push(format!(
                            "{what} {} no longer matches the manifest (sha256 {} → {})",
                            path.display(),
                            short(&m.sha256),
                            short(sha)
                        ));
                    }
                }
            }
        }
        if src_sha != copy_sha && drift.is_empty() {
            drift.push("source and runtime copy differ".into());
        }
        let sizes = (src_stamp.size, dest_stamp.size);
        return Ok(report.finish(
            Action::Verified,
            (&src_sha, &copy_sha),
            sizes,
            true,
            drift,
            0,
        ));
    }

    let Some(dest_stamp) = dest_stamp else {
        let m = copy(opts, &source_abs, &src_stamp, out)?;
        return Ok(report.copied(Action::Copied, &m, drift));
    };

    if let Some(m) = &recorded {
        if m.source == src_stamp && m.copy == dest_stamp && m.source_path == source_abs {
            ensure_read_only(&opts.dest)?;
            let sizes = (m.source.size, m.copy.size);
            return Ok(report.finish(
                Action::UpToDate,
                (&m.sha256, &m.sha256),
                sizes,
                false,
                drift,
                0,
            ));
        }
    }

    // Something differs from the manifest: let the content decide.
    let (src_sha, copy_sha) = hash_both(opts, src_stamp.size + dest_stamp.size, out)?;
    if src_sha == copy_sha {
        // A faithful copy (touched source, crash before the manifest, lost manifest): adopt it.
        ensure_read_only(&opts.dest)?;
        manifest::write(
            &manifest_path,
            &new_manifest(opts, &source_abs, &src_stamp, &src_sha)?,
        )?;
        let sizes = (src_stamp.size, dest_stamp.size);
        return Ok(report.finish(
            Action::UpToDate,
            (&src_sha, &copy_sha),
            sizes,
            true,
            drift,
            0,
        ));
    }
    match &recorded {
        // Not a copy we made: drift confirmation is a question about our copy, never a licence
        // to replace someone else's file (`--yes` included).
        None => {
            return Err(crate::error::Classified::new(
                "not_a_golden_copy",
                crate::error::ExitStatus::Usage,
                format!(
                    "TARGET_DB_PATH={} is not a golden copy (no valid manifest {}) and differs from \
                     the source {}; it was left untouched — move it away or point TARGET_DB_PATH at \
                     a path of its own",
                    opts.dest.display(),
                    manifest_path.display(),
                    opts.source.display()
                ),
            )
            .into())
        }
        Some(m) => {
            if m.sha256 != copy_sha {
                drift.push(format!(
                    "runtime copy {} was modified since it was made",
                    opts.dest.display()
                ));
            }
            if m.sha256 != src_sha || m.source_path != source_abs {
                drift.push(format!(
                    "source {} was replaced since the copy was made",
                    opts.source.display()
                ));
            }
        }
    }
    tracing::warn!("golden copy drift: {}", drift.join("; "));
    confirm(&format!(
        "Replace runtime copy {} with a fresh copy of {} ({})?",
        opts.dest.display(),
        opts.source.display(),
        drift.join("; ")
    ))?;
    let m = copy(opts, &source_abs, &src_stamp, out)?;
    Ok(report.copied(Action::Refreshed, &m, drift))
}

/// What every outcome shares, so each branch of [`run`] only states what differs.
struct Reporter<'a> {
    opts: &'a Options,
    manifest: &'a Path,
    started: Instant,
    cleaned: Vec<PathBuf>,
}

impl Reporter<'_> {
    fn copied(self, action: Action, m: &Manifest, drift: Vec<String>) -> Outcome {
        let sizes = (m.source.size, m.copy.size);
        self.finish(
            action,
            (&m.sha256, &m.sha256),
            sizes,
            true,
            drift,
            m.copy.size,
        )
    }

    fn finish(
        self,
        action: Action,
        (src_sha, copy_sha): (&str, &str),
        (src_size, copy_size): (u64, u64),
        hashed: bool,
        drift: Vec<String>,
        bytes_copied: u64,
    ) -> Outcome {
        let elapsed = self.started.elapsed().max(Duration::from_micros(1));
        let side = |path: &Path, size, sha: &str| Side {
            path: path.to_path_buf(),
            size,
            sha256: sha.into(),
        };
        Outcome {
            action,
            source: side(&self.opts.source, src_size, src_sha),
            copy: side(&self.opts.dest, copy_size, copy_sha),
            manifest: self.manifest.to_path_buf(),
            read_only: is_read_only(&self.opts.dest),
            hashed,
            drift,
            bytes_copied,
            duration_ms: elapsed.as_millis(),
            bytes_per_sec: (bytes_copied as f64 / elapsed.as_secs_f64()) as u64,
            cleaned_temp_files: self.cleaned,
        }
    }
}

/// Copy with hashing, fsync, verification, 0444, rename, folder fsync; then the manifest.
fn copy(opts: &Options, source_abs: &Path, before: &FileStamp, out: &Output) -> Result<Manifest> {
    let mut tmp = TempFile::new(&opts.dest, 0o644)?;
    let mut src = File::open(&opts.source)
        .with_context(|| format!("cannot read {}", opts.source.display()))?;
    let bar = out.progress(before.size, "copying", true);
    let (n, sha) = copy_and_hash(&mut src, Some(tmp.file()), &bar).with_context(|| {
        format!(
            "copying {} to {}",
            opts.source.display(),
            tmp.path.display()
        )
    })?;
    bar.finish();
    if stamp(&opts.source)? != *before || n != before.size {
        return Err(fail(
            "source_changed",
            format!("source {} changed while it was being copied; nothing was replaced, run again once it is stable", opts.source.display()),
        ));
    }
    tmp.file()
        .sync_all()
        .context("fsync of the new copy failed")?;
    let bar = out.progress(n, "verifying", true);
    let (vn, vsha) = hash_file(&tmp.path, &bar)?;
    bar.finish();
    if vn != n || vsha != sha {
        return Err(fail(
            "verify_failed",
            format!("the new copy {} does not match what was read from {} (sha256 {} vs {}); the old copy is untouched — check the disk", tmp.path.display(), opts.source.display(), short(&vsha), short(&sha)),
        ));
    }
    tmp.file().set_permissions(Permissions::from_mode(0o444))?;
    tmp.persist()?;
    let m = new_manifest(opts, source_abs, before, &sha)?;
    manifest::write(&manifest::path_for(&opts.dest), &m)?;
    Ok(m)
}

fn new_manifest(opts: &Options, source_abs: &Path, src: &FileStamp, sha: &str) -> Result<Manifest> {
    let secs = (src.mtime_ns / 1_000_000_000) as i64;
    let nanos = (src.mtime_ns % 1_000_000_000) as u32;
    Ok(Manifest {
        format: manifest::FORMAT,
        source_path: source_abs.to_path_buf(),
        source: src.clone(),
        source_mtime: chrono::DateTime::from_timestamp(secs, nanos)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        sha256: sha.to_string(),
        copy_path: std::path::absolute(&opts.dest)?,
        copy: stamp(&opts.dest)?,
        copied_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

fn hash_both(opts: &Options, total: u64, out: &Output) -> Result<(String, String)> {
    let bar = out.progress(total, "hashing", true);
    std::thread::scope(|s| {
        let src = s.spawn(|| hash_file(&opts.source, &bar));
        let copy = hash_file(&opts.dest, &bar);
        let src = src
            .join()
            .map_err(|_| anyhow::anyhow!("hashing thread panicked"))?;
        Ok((src?.1, copy?.1))
    })
}

fn ensure_read_only(path: &Path) -> Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o222 != 0 {
        tracing::warn!(
            "runtime copy {} was writable; set it back to 0444",
            path.display()
        );
        fs::set_permissions(path, Permissions::from_mode(0o444))
            .with_context(|| format!("cannot make {} read-only", path.display()))?;
    }
    Ok(())
}

fn stamp(path: &Path) -> Result<FileStamp> {
    FileStamp::of(path).with_context(|| format!("cannot stat {}", path.display()))
}

pub fn is_read_only(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o222 == 0)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

//! Reading an archive back: every member against the manifest, then deep checks on the staged
//! copies (SQLite `integrity_check`, `pg_restore --list`). `restore` stages through the same code,
//! so nothing is restored from bytes that were not verified.

use super::archive::{self, MemberSink};
use super::components::{self, Dest, StagedComponent};
use super::manifest::{Component, Manifest};
use crate::fsutil::TempFile;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Small members kept in memory must stay small.
const MAX_MEMORY_MEMBER: u64 = 16 << 20;

/// Verified members, staged for use.
#[derive(Default)]
pub struct Staged {
    pub files: BTreeMap<String, TempFile>,
    pub memory: BTreeMap<String, Vec<u8>>,
}

impl Staged {
    /// Take the members of one component.
    pub fn take(&mut self, manifest: &Manifest, c: Component) -> StagedComponent {
        let mut sc = StagedComponent {
            files: BTreeMap::new(),
            memory: BTreeMap::new(),
        };
        if let Some(info) = manifest.component(c) {
            for m in &info.members {
                if let Some(f) = self.files.remove(m) {
                    sc.files.insert(m.clone(), f);
                }
                if let Some(b) = self.memory.remove(m) {
                    sc.memory.insert(m.clone(), b);
                }
            }
        }
        sc
    }
}

struct StageSink<'a> {
    plan: &'a dyn Fn(&str) -> Option<Dest>,
    staged: Staged,
}

impl MemberSink for StageSink<'_> {
    fn member(&mut self, manifest: &Manifest, path: &str, data: &mut dyn Read) -> Result<()> {
        match (self.plan)(path) {
            None => {}
            Some(Dest::Memory) => {
                let size = manifest.member(path).map(|m| m.size).unwrap_or(0);
                if size > MAX_MEMORY_MEMBER {
                    return Err(crate::error::fail(
                        "archive_invalid",
                        format!("{path} is implausibly large ({size} bytes)"),
                    ));
                }
                let mut buf = Vec::new();
                data.read_to_end(&mut buf)?;
                self.staged.memory.insert(path.to_string(), buf);
            }
            Some(Dest::File(dest)) => {
                let mut tmp = TempFile::new(&dest, 0o600)?;
                {
                    let mut w = BufWriter::with_capacity(1 << 20, tmp.file());
                    std::io::copy(data, &mut w).with_context(|| {
                        format!("cannot stage {path} next to {}", dest.display())
                    })?;
                    w.flush()?;
                }
                self.staged.files.insert(path.to_string(), tmp);
            }
        }
        Ok(())
    }
}

/// Read and check the whole archive, staging the members `plan` asks for, then deep-check them.
pub fn stage(
    archive_path: &Path,
    plan: &dyn Fn(&str) -> Option<Dest>,
) -> Result<(Manifest, Staged)> {
    let mut sink = StageSink {
        plan,
        staged: Staged::default(),
    };
    let manifest = archive::read(archive_path, &mut sink)?;
    let staged = sink.staged;
    for (member, f) in &staged.files {
        components::check_staged_file(member, &f.path)
            .with_context(|| format!("archive {}: member {member}", archive_path.display()))?;
    }
    for (member, b) in &staged.memory {
        components::check_staged_bytes(member, b)
            .with_context(|| format!("archive {}: member {member}", archive_path.display()))?;
    }
    Ok((manifest, staged))
}

#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub archive: PathBuf,
    pub created_at: String,
    pub format_version: u32,
    pub members: usize,
    pub bytes: u64,
    pub components: String,
    pub duration_ms: u128,
}

/// Full verification of one archive; temporary copies for the deep checks go in `stage_dir`.
pub fn verify(archive_path: &Path, stage_dir: &Path) -> Result<Verified> {
    verify_staged(archive_path, stage_dir).map(|(v, _, _)| v)
}

/// `verify`, keeping the staged members (temporary files in `stage_dir`) for a restore drill.
pub fn verify_staged(
    archive_path: &Path,
    stage_dir: &Path,
) -> Result<(Verified, Manifest, Staged)> {
    let started = Instant::now();
    std::fs::create_dir_all(stage_dir)
        .with_context(|| format!("cannot create {}", stage_dir.display()))?;
    let plan = |member: &str| {
        if member.ends_with(".json") {
            Some(Dest::Memory)
        } else {
            Some(Dest::File(
                stage_dir.join(format!("verify-{}", member.replace('/', "-"))),
            ))
        }
    };
    let (manifest, staged) = stage(archive_path, &plan)?;
    let verified = Verified {
        archive: archive_path.to_path_buf(),
        created_at: manifest.created_at.clone(),
        format_version: manifest.format_version,
        members: manifest.members.len() + 1,
        bytes: manifest.members.iter().map(|m| m.size).sum(),
        components: manifest.present_list(),
        duration_ms: started.elapsed().as_millis(),
    };
    Ok((verified, manifest, staged))
}

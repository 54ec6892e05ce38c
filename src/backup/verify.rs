//! Reading an archive back: every member against the manifest, then deep checks that read every
//! byte and compare what the member holds with the manifest's counts (SQLite `integrity_check` and
//! rows per table, every data block of a pg dump and its rows per table, every line of a Chroma
//! export). `restore` stages through the same code, so nothing is restored from bytes that were
//! not verified.

use super::archive::{self, MemberSink};
use super::components::{self, Dest, StagedComponent};
use super::manifest::{Component, Manifest};
use super::repo::{ArchiveRef, Opened};
use crate::config::Settings;
use crate::error::fail;
use crate::fsutil::TempFile;
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

/// Small members kept in memory must stay small.
const MAX_MEMORY_MEMBER: u64 = 16 << 20;

/// Verified members, staged for use.
#[derive(Default)]
pub struct Staged {
    pub files: BTreeMap<String, TempFile>,
    pub memory: BTreeMap<String, Vec<u8>>,
    /// Members not staged because the deployment already holds them byte for byte.
    pub in_place: BTreeSet<String>,
}

impl Staged {
    /// Take the members of one component.
    pub fn take(&mut self, manifest: &Manifest, c: Component) -> StagedComponent {
        let mut sc = StagedComponent {
            files: BTreeMap::new(),
            memory: BTreeMap::new(),
            in_place: BTreeSet::new(),
        };
        if let Some(info) = manifest.component(c) {
            for m in &info.members {
                if self.in_place.remove(m) {
                    sc.in_place.insert(m.clone());
                }
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
            Some(Dest::Stream) => components::check_stream(manifest, path, data)?,
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
                let tmp = copy_to_temp(path, &dest, data)?;
                self.staged.files.insert(path.to_string(), tmp);
            }
        }
        Ok(())
    }

    /// A file of a restore folder of this run's own is moved next to its destination (after
    /// being read through for its checks) rather than written a second time: a changed golden
    /// copy restored from restic is written once, not twice.
    fn member_file(
        &mut self,
        manifest: &Manifest,
        path: &str,
        file: &Path,
        data: &mut dyn Read,
    ) -> Result<()> {
        let Some(Dest::File(dest)) = (self.plan)(path) else {
            return self.member(manifest, path, data);
        };
        std::io::copy(data, &mut std::io::sink())?;
        let tmp = match TempFile::adopt(file, &dest, 0o600)? {
            Some(t) => t,
            None => {
                let mut f = std::fs::File::open(file)?;
                copy_to_temp(path, &dest, &mut f)?
            }
        };
        self.staged.files.insert(path.to_string(), tmp);
        Ok(())
    }
}

/// `data` written to a temporary file next to `dest`.
fn copy_to_temp(path: &str, dest: &Path, data: &mut dyn Read) -> Result<TempFile> {
    let mut tmp = TempFile::new(dest, 0o600)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.file());
        std::io::copy(data, &mut w)
            .with_context(|| format!("cannot stage {path} next to {}", dest.display()))?;
        w.flush()?;
    }
    Ok(tmp)
}

/// Read and check the whole archive, staging the members `plan` asks for, then deep-check them.
pub fn stage(
    archive_path: &Path,
    plan: &dyn Fn(&str) -> Option<Dest>,
) -> Result<(Manifest, Staged)> {
    let f = std::fs::File::open(archive_path)
        .with_context(|| format!("cannot open archive {}", archive_path.display()))?;
    stage_from(&archive_path.display().to_string(), f, plan)
}

/// [`stage`] of a plain archive stream; `label` names it in messages.
pub fn stage_from<R: Read>(
    label: &str,
    r: R,
    plan: &dyn Fn(&str) -> Option<Dest>,
) -> Result<(Manifest, Staged)> {
    let mut sink = StageSink {
        plan,
        staged: Staged::default(),
    };
    let manifest = archive::read_from(label, r, &mut sink)?;
    deep_check(label, manifest, sink.staged)
}

/// [`stage`] of an archive kept as a folder; members `required` does not name may be absent.
pub fn stage_folder(
    label: &str,
    dir: &Path,
    plan: &dyn Fn(&str) -> Option<Dest>,
    required: &dyn Fn(&str) -> bool,
    own: bool,
) -> Result<(Manifest, Staged)> {
    let mut sink = StageSink {
        plan,
        staged: Staged::default(),
    };
    let manifest = super::folder::read(label, dir, &mut sink, required, own)?;
    deep_check(label, manifest, sink.staged)
}

/// The deep checks of the staged members, once every member matched the manifest.
fn deep_check(label: &str, manifest: Manifest, staged: Staged) -> Result<(Manifest, Staged)> {
    for (member, f) in &staged.files {
        components::check_staged_file(&manifest, member, &f.path)
            .with_context(|| format!("archive {label}: member {member}"))?;
    }
    for (member, b) in &staged.memory {
        components::check_staged_bytes(member, b)
            .with_context(|| format!("archive {label}: member {member}"))?;
    }
    Ok((manifest, staged))
}

/// [`stage`] of an archive in a repository: streamed (never downloaded whole first), decrypted
/// when encrypted; the stored bytes are also checked against the checksum recorded beside an
/// encrypted archive, when there is one. `wanted`: the members the caller needs (None: all); a
/// repository keeping members apart (restic) fetches only these, and the others go unchecked.
pub fn stage_ref(
    s: &Settings,
    a: &ArchiveRef,
    wanted: Option<&[String]>,
    plan: &dyn Fn(&str) -> Option<Dest>,
) -> Result<(Manifest, Staged)> {
    let label = a.location();
    let raw = match a.repo.open_archive(&a.name, wanted, &s.backup_dir)? {
        Opened::Stream(raw) => raw,
        Opened::Folder { path, _temp: temp } => {
            let required = |m: &str| wanted.is_none_or(|w| w.iter().any(|x| x == m));
            // A temporary folder is this run's own: its members may be moved out.
            return stage_folder(&label, &path, plan, &required, temp.is_some());
        }
    };
    let recorded = if a.encrypted() {
        a.recorded_sum()?
    } else {
        None
    };
    // Only an encrypted archive's stored bytes have a recorded checksum to compare with; a plain
    // archive is checked member by member, so hashing its stored bytes too would be wasted work.
    let (raw, digest): (Box<dyn Read + Send>, _) = if recorded.is_some() {
        let (tx, rx) = std::sync::mpsc::channel();
        let counted = Reported {
            inner: raw,
            hasher: sha2::Sha256::default(),
            done: Some(tx),
        };
        (Box::new(counted), Some(rx))
    } else {
        (raw, None)
    };
    let mut plain = a.open_plain(s, raw)?;
    let result = stage_from(&label, &mut plain, plan)?;
    // Read to the end so a damaged or truncated tail of the stored object is noticed too.
    std::io::copy(&mut plain, &mut std::io::sink()).map_err(|e| {
        fail(
            "archive_corrupt",
            format!("archive {label} is damaged: {e}"),
        )
    })?;
    drop(plain);
    if let (Some(want), Some(Ok(sha))) = (recorded, digest.map(|rx| rx.try_recv())) {
        if sha != want {
            return Err(fail(
                "archive_corrupt",
                format!("archive {label} is damaged: its sha256 does not match the checksum recorded at backup time"),
            ));
        }
    }
    Ok(result)
}

/// Hashes what passes and sends the digest once dropped (it is moved into the decryptor, so it
/// cannot be taken back).
struct Reported<R> {
    inner: R,
    hasher: sha2::Sha256,
    done: Option<std::sync::mpsc::Sender<String>>,
}

impl<R: Read> Read for Reported<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        Ok(n)
    }
}

impl<R> Drop for Reported<R> {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(hex::encode(sha2::Digest::finalize_reset(&mut self.hasher)));
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub archive: String,
    /// `full`, or what was checked of an encrypted archive without its key.
    pub mode: String,
    pub created_at: String,
    pub format_version: u32,
    pub members: usize,
    pub bytes: u64,
    pub components: String,
    pub duration_ms: u128,
}

/// Full verification of one archive file; temporary copies for the deep checks go in `stage_dir`.
pub fn verify(archive_path: &Path, stage_dir: &Path) -> Result<Verified> {
    let started = Instant::now();
    std::fs::create_dir_all(stage_dir)
        .with_context(|| format!("cannot create {}", stage_dir.display()))?;
    let plan = verify_plan(stage_dir, false);
    let (manifest, staged) = stage(archive_path, &plan)?;
    drop(staged);
    Ok(verified(
        archive_path.display().to_string(),
        &manifest,
        started,
    ))
}

/// Where verification puts each member; `keep`: a restore drill uses the staged files afterwards,
/// so even the pg dump is staged, which plain verification only streams through its check.
fn verify_plan(stage_dir: &Path, keep: bool) -> impl Fn(&str) -> Option<Dest> + '_ {
    move |member: &str| {
        if member.ends_with(".json") {
            Some(Dest::Memory)
        } else if member == components::SYSTEM_PG && !keep {
            Some(Dest::Stream)
        } else {
            Some(Dest::File(
                stage_dir.join(format!("verify-{}", member.replace('/', "-"))),
            ))
        }
    }
}

fn verified(archive: String, manifest: &Manifest, started: Instant) -> Verified {
    Verified {
        archive,
        mode: "full".into(),
        created_at: manifest.created_at.clone(),
        format_version: manifest.format_version,
        members: manifest.members.len() + 1,
        bytes: manifest.members.iter().map(|m| m.size).sum(),
        components: manifest.present_list(),
        duration_ms: started.elapsed().as_millis(),
    }
}

/// Verify an archive of a repository (stage copies in `BACKUP_DIR`'s local folder). An encrypted
/// archive without `BACKUP_AGE_IDENTITY_FILE` gets what can be checked without the key: its stored
/// bytes against the checksum recorded at backup time.
pub fn verify_ref(s: &Settings, a: &ArchiveRef) -> Result<Verified> {
    let started = Instant::now();
    if a.encrypted() && s.backup_age_identity_file.is_none() {
        let n = a.check_ciphertext()?;
        return Ok(Verified {
            archive: a.location(),
            mode: "ciphertext checksum (no BACKUP_AGE_IDENTITY_FILE: contents not checked)".into(),
            created_at: String::new(),
            format_version: 0,
            members: 0,
            bytes: n,
            components: "?".into(),
            duration_ms: started.elapsed().as_millis(),
        });
    }
    // The repository's own check first (restic: indexes, packs, trees), then the archive's.
    let repo_check = a.repo.check()?;
    let mut v = verify_ref_plan(s, a, false).map(|(v, _, _)| v)?;
    if let Some(c) = repo_check {
        v.mode = format!("{}; {c}", v.mode);
    }
    Ok(v)
}

/// `verify_ref` with the key, keeping the staged members (temporary files in `BACKUP_DIR`'s local
/// folder) for a restore drill.
pub fn verify_ref_staged(s: &Settings, a: &ArchiveRef) -> Result<(Verified, Manifest, Staged)> {
    verify_ref_plan(s, a, true)
}

fn verify_ref_plan(
    s: &Settings,
    a: &ArchiveRef,
    keep: bool,
) -> Result<(Verified, Manifest, Staged)> {
    let started = Instant::now();
    let stage_dir = &s.backup_dir;
    let stage = super::stage::Stage::prepare(stage_dir, super::stage_setting(s))?;
    let plan = verify_plan(stage_dir, keep);
    let (manifest, staged) = stage_ref(s, a, None, &plan)?;
    stage.keep();
    let v = verified(a.location(), &manifest, started);
    Ok((v, manifest, staged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn staged_from(dir: &Path, dest: &Path, own: bool) -> Result<(Manifest, Staged)> {
        let plan = |m: &str| (m == "g/golden.bin").then(|| Dest::File(dest.to_path_buf()));
        stage_folder("f", dir, &plan, &|_: &str| true, own)
    }

    #[test]
    fn a_member_of_an_own_folder_is_moved_not_copied() {
        let (t, _) = super::super::folder::tests::folder_with(&[("g/golden.bin", b"golden")]);
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("target.db");
        let src = t.path().join("g/golden.bin");
        let ino = std::fs::metadata(&src).unwrap().ino();

        // Someone else's folder (given by path): copied, left as it was.
        let (_, staged) = staged_from(t.path(), &dest, false).unwrap();
        let f = &staged.files["g/golden.bin"];
        assert_ne!(std::fs::metadata(&f.path).unwrap().ino(), ino);
        assert!(src.is_file());
        drop(staged);

        // This run's own restore folder: the very file, moved next to the destination.
        let (_, mut staged) = staged_from(t.path(), &dest, true).unwrap();
        let f = staged.files.remove("g/golden.bin").unwrap();
        assert_eq!(std::fs::metadata(&f.path).unwrap().ino(), ino);
        assert_eq!(std::fs::read(&f.path).unwrap(), b"golden");
        assert!(!src.exists());
        f.persist().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"golden");
    }

    #[test]
    fn a_moved_member_that_fails_its_check_leaves_nothing_staged() {
        let (t, _) = super::super::folder::tests::folder_with(&[("g/golden.bin", b"golden")]);
        std::fs::write(t.path().join("g/golden.bin"), b"GOLDEN").unwrap();
        let out = tempfile::tempdir().unwrap();
        let Err(e) = staged_from(t.path(), &out.path().join("target.db"), true) else {
            panic!("a changed member was staged");
        };
        assert!(crate::error::message(&e).contains("sha256"), "{e:#}");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
}

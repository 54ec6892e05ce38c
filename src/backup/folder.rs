//! An archive kept as a folder: `manifest.json` and the members as files under their member paths.
//! It is what a restic snapshot of vannactl's holds, what `restic restore` gives back, and what a
//! tar whose manifest is not its first member (`restic dump ID / > f.tar`) is unpacked into.
//! Every file is checked like a tar member: regular file, listed, size, SHA-256.

use super::archive::{self, check_member_path, corrupt, MemberSink};
use super::manifest::{Manifest, MANIFEST_NAME, MAX_MANIFEST_BYTES};
use crate::error::fail;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// A folder holding `manifest.json` (what `restic restore` of a vannactl snapshot makes).
pub fn is_archive_folder(p: &Path) -> bool {
    p.is_dir() && p.join(MANIFEST_NAME).is_file()
}

/// The manifest's bytes, refused when it is not a plain file or implausibly large.
pub fn manifest_bytes(label: &str, dir: &Path) -> Result<Vec<u8>> {
    let p = dir.join(MANIFEST_NAME);
    let meta = std::fs::symlink_metadata(&p)
        .map_err(|e| corrupt(label, format!("no {MANIFEST_NAME}: {e}")))?;
    if !meta.is_file() {
        return Err(corrupt(
            label,
            format!("{MANIFEST_NAME} is not a regular file"),
        ));
    }
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(corrupt(
            label,
            format!("{MANIFEST_NAME} is implausibly large"),
        ));
    }
    std::fs::read(&p).map_err(|e| corrupt(label, format!("cannot read {MANIFEST_NAME}: {e}")))
}

pub fn read_manifest(label: &str, dir: &Path) -> Result<Manifest> {
    Manifest::parse(&manifest_bytes(label, dir)?).with_context(|| format!("archive {label}"))
}

/// Check the members of the folder `dir` against its manifest, in the manifest's order, each
/// through `sink`. A member `required` says is not needed may be absent (a partial
/// `restic restore`); one that is present is checked all the same. `own`: the folder is this
/// run's (a temporary restore), so its files may be moved out by the sink.
pub fn read(
    label: &str,
    dir: &Path,
    sink: &mut dyn MemberSink,
    required: &dyn Fn(&str) -> bool,
    own: bool,
) -> Result<Manifest> {
    let manifest = read_manifest(label, dir)?;
    let root = dir
        .canonicalize()
        .with_context(|| format!("cannot open archive folder {label}"))?;
    for m in &manifest.members {
        check_member_path(&m.path)?;
        let p = dir.join(&m.path);
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required(&m.path) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(corrupt(label, format!("missing member {}", m.path)))
            }
            Err(e) => return Err(corrupt(label, format!("member {}: {e}", m.path))),
        };
        // A folder of someone else's may hold links: only regular files inside it are members.
        let inside = p.canonicalize().is_ok_and(|c| c.starts_with(&root));
        if !meta.is_file() || !inside {
            return Err(fail(
                "archive_unsafe_member",
                format!(
                    "archive {label} has an unsafe member {:?} (not a regular file inside the folder); refusing the archive",
                    m.path
                ),
            ));
        }
        if meta.len() != m.size {
            return Err(corrupt(
                label,
                format!(
                    "member {}: {} bytes, {} in the manifest",
                    m.path,
                    meta.len(),
                    m.size
                ),
            ));
        }
        let f = File::open(&p).map_err(|e| corrupt(label, format!("member {}: {e}", m.path)))?;
        archive::take_member(
            label,
            &manifest,
            &m.path,
            BufReader::with_capacity(1 << 20, f),
            own.then_some(p.as_path()),
            sink,
        )?;
    }
    Ok(manifest)
}

/// Does the tar stream `r` start (folders aside) with `manifest.json`? A `restic dump` of a
/// snapshot folder lists members in name order, so `knowledge/…` comes first.
pub fn manifest_first<R: Read>(r: R) -> Result<bool> {
    let mut ar = tar::Archive::new(r);
    for e in ar.entries()? {
        let e = e?;
        if e.header().entry_type().is_dir() {
            continue;
        }
        return Ok(e.path_bytes().as_ref() == MANIFEST_NAME.as_bytes());
    }
    Ok(false)
}

/// `manifest.json` of a plain tar in any position (a restic dump), read without keeping the rest.
pub fn find_manifest<R: Read>(label: &str, r: R) -> Result<Vec<u8>> {
    let mut ar = tar::Archive::new(r);
    for e in ar.entries().map_err(|e| corrupt(label, e))? {
        let e = e.map_err(|e| corrupt(label, e))?;
        if e.path_bytes().as_ref() != MANIFEST_NAME.as_bytes() {
            continue;
        }
        if e.size() > MAX_MANIFEST_BYTES {
            return Err(corrupt(
                label,
                format!("{MANIFEST_NAME} is implausibly large"),
            ));
        }
        let mut v = Vec::new();
        e.take(MAX_MANIFEST_BYTES)
            .read_to_end(&mut v)
            .map_err(|e| corrupt(label, e))?;
        return Ok(v);
    }
    Err(corrupt(
        label,
        format!("no {MANIFEST_NAME}; not a vannactl archive"),
    ))
}

/// Unpack the plain tar `r` into the new folder `dir`: folders and regular files at safe member
/// paths only, anything else refuses the archive.
pub fn unpack<R: Read>(label: &str, r: R, dir: &Path) -> Result<()> {
    let mut ar = tar::Archive::new(r);
    for e in ar.entries().map_err(|e| corrupt(label, e))? {
        let mut e = e.map_err(|e| corrupt(label, e))?;
        let raw = e.path_bytes();
        let path = String::from_utf8_lossy(&raw)
            .trim_end_matches('/')
            .to_string();
        let kind = e.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            return Err(fail(
                "archive_unsafe_member",
                format!("archive {label} has an unsafe member {path:?} (not a file or folder); refusing the archive"),
            ));
        }
        check_member_path(&path).with_context(|| format!("archive {label}"))?;
        let dest = dir.join(&path);
        if kind.is_dir() {
            std::fs::create_dir_all(&dest)
                .with_context(|| format!("cannot create {}", dest.display()))?;
            continue;
        }
        std::fs::create_dir_all(crate::fsutil::parent_dir(&dest))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
            .map_err(|err| corrupt(label, format!("member {path} twice or unwritable: {err}")))?;
        std::io::copy(&mut e, &mut f)
            .map_err(|err| corrupt(label, format!("member {path}: {err}")))?;
    }
    Ok(())
}

/// A folder this run made (a restore from restic, an unpacked tar), removed when dropped.
pub struct TempFolder {
    pub path: PathBuf,
}

impl TempFolder {
    /// `name` under `parent`, emptied first: a killed run of this process id may have left it.
    pub fn new(parent: &Path, name: &str) -> Result<TempFolder> {
        let path = parent.join(format!(
            "{}{}-{name}",
            crate::fsutil::TEMP_PREFIX,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))
            .map_err(|e| crate::error::or_disk_full(e, parent, None))?;
        Ok(TempFolder { path })
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A folder archive of `members` (path, bytes) with its manifest.
    pub(crate) fn folder_with(members: &[(&str, &[u8])]) -> (tempfile::TempDir, Manifest) {
        let t = tempfile::tempdir().unwrap();
        let list: Vec<serde_json::Value> = members
            .iter()
            .map(|(p, b)| {
                let (size, sha256) = archive::hash_file_bytes(b);
                serde_json::json!({"path": p, "size": size, "sha256": sha256})
            })
            .collect();
        let m: Manifest = serde_json::from_value(serde_json::json!({
            "format_version": super::super::manifest::FORMAT_VERSION,
            "tool": "vannactl", "tool_version": "0", "created_at": "2026-04-18T03:15:00.000Z",
            "host": "h", "members": list, "components": {}
        }))
        .unwrap();
        std::fs::write(
            t.path().join(MANIFEST_NAME),
            serde_json::to_vec(&m).unwrap(),
        )
        .unwrap();
        for (p, b) in members {
            let f = t.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, b).unwrap();
        }
        (t, m)
    }

    #[test]
    fn a_folder_is_checked_like_a_tar() {
        let (t, _) = folder_with(&[("a/b.txt", b"hello"), ("c.db", b"x")]);
        let all = |_: &str| true;
        read("f", t.path(), &mut archive::Discard, &all, false).unwrap();

        // A flipped byte, a missing member, a link in place of a member: refused.
        std::fs::write(t.path().join("c.db"), b"y").unwrap();
        let e = read("f", t.path(), &mut archive::Discard, &all, false).unwrap_err();
        assert!(crate::error::message(&e).contains("sha256"), "{e:#}");
        std::fs::remove_file(t.path().join("c.db")).unwrap();
        let e = read("f", t.path(), &mut archive::Discard, &all, false).unwrap_err();
        assert!(
            crate::error::message(&e).contains("missing member c.db"),
            "{e:#}"
        );
        // Not required: may be absent.
        read(
            "f",
            t.path(),
            &mut archive::Discard,
            &|p: &str| p != "c.db",
            false,
        )
        .unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(outside.path(), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("c.db")).unwrap();
        let e = read("f", t.path(), &mut archive::Discard, &all, false).unwrap_err();
        assert_eq!(crate::error::classify(&e).0, "archive_unsafe_member");
    }

    #[test]
    fn unpacking_refuses_links_and_escapes() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "evil", "/etc/passwd").unwrap();
        let bytes = b.into_inner().unwrap();
        let t = tempfile::tempdir().unwrap();
        let e = unpack("x", bytes.as_slice(), t.path()).unwrap_err();
        assert_eq!(crate::error::classify(&e).0, "archive_unsafe_member");
        assert!(!t.path().join("evil").exists());
    }

    #[test]
    fn restic_dump_order_is_told_apart() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        b.append_data(&mut h, "knowledge/", std::io::empty())
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "knowledge/k.db", &b"k"[..]).unwrap();
        let dump = b.into_inner().unwrap();
        assert!(!manifest_first(dump.as_slice()).unwrap());
        let ours = archive::manifest_tar(b"{}").unwrap();
        assert!(manifest_first(ours.as_slice()).unwrap());
    }
}

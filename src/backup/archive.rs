//! The archive file: a gzip'd tar whose first member is `manifest.json` (a plain tar is read too:
//! restic snapshots of the earlier layout, `restic dump`). Writing streams members through one
//! hashing pipeline; reading checks every member's type, path, size and SHA-256.

use super::manifest::{Manifest, MANIFEST_NAME, MAX_MANIFEST_BYTES};
use crate::error::fail;
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub const PREFIX: &str = "backup_";
pub const SUFFIX: &str = ".tar.gz";
/// A plain tar: how a restic snapshot is named (`restic dump ID /` gives it as one).
pub const TAR_SUFFIX: &str = ".tar";
/// An archive encrypted with age (after compression).
pub const AGE_SUFFIX: &str = ".age";
/// gzip level 1: SQLite pages and pg_dump output still shrink well, at several times the speed of
/// the default level 6 (backups of GB-sized targets run from cron).
const GZIP_LEVEL: u32 = 1;

/// `backup_20260418T031500.123Z.tar.gz` (`.tar.gz.age` encrypted): sorts by time, milliseconds
/// keep quick runs apart.
pub fn file_name(at: DateTime<Utc>, encrypted: bool) -> String {
    let age = if encrypted { AGE_SUFFIX } else { "" };
    format!("{PREFIX}{}{SUFFIX}{age}", at.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// `backup_20260418T031500.123Z.tar`: the name of a restic snapshot of an archive's members.
pub fn tar_name(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}{TAR_SUFFIX}", at.format("%Y%m%dT%H%M%S%.3fZ"))
}

pub fn is_encrypted(name: &str) -> bool {
    name.ends_with(AGE_SUFFIX)
}

/// The time in an archive name, or `None` for any file that is not one of ours.
pub fn parse_name(name: &str) -> Option<DateTime<Utc>> {
    let plain = name.strip_suffix(AGE_SUFFIX).unwrap_or(name);
    let plain = plain.strip_prefix(PREFIX)?;
    let stamp = match plain.strip_suffix(SUFFIX) {
        Some(s) => s,
        // Never encrypted: restic encrypts its repository itself.
        None if !is_encrypted(name) => plain.strip_suffix(TAR_SUFFIX)?,
        None => return None,
    };
    let shape_ok = stamp.len() == 20
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'.',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.3fZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Archives in `dir`, newest first. Files that do not match the naming pattern are ignored.
pub fn list_archives(dir: &Path) -> Result<Vec<(DateTime<Utc>, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot list backup folder {}", dir.display()))
        }
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(t) = parse_name(&name) {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                out.push((t, e.path()));
            }
        }
    }
    out.sort_by(|a, b| b.cmp(a));
    Ok(out)
}

/// A member path we are willing to write or read: relative, plain components, no `..`.
pub fn check_member_path(p: &str) -> Result<()> {
    match member_path_problem(p) {
        Some(why) => Err(fail(
            "archive_unsafe_member",
            format!("unsafe archive member {p:?}: {why}; refusing the archive"),
        )),
        None => Ok(()),
    }
}

fn member_path_problem(p: &str) -> Option<&'static str> {
    if p.is_empty() {
        return Some("empty path");
    }
    if p.starts_with('/') {
        return Some("absolute path");
    }
    if p.contains('\\') || p.contains('\0') {
        return Some("backslash or NUL in path");
    }
    p.split('/').find_map(|part| match part {
        ".." => Some("contains `..`"),
        "" | "." => Some("empty or `.` path component"),
        _ => None,
    })
}

/// Counts and hashes what passes through.
pub struct Hashing<T> {
    pub inner: T,
    hasher: Sha256,
    pub bytes: u64,
    /// The first read error, so a consumer's failure can be blamed on the source when it was.
    pub read_error: Option<String>,
}

impl<T> Hashing<T> {
    pub fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            read_error: None,
        }
    }

    pub fn finish(self) -> (T, u64, String) {
        (self.inner, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|e| {
            self.read_error.get_or_insert_with(|| e.to_string());
        })?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Hashing::new(BufReader::with_capacity(1 << 20, f));
    io::copy(&mut h, &mut io::sink()).with_context(|| format!("cannot read {}", path.display()))?;
    let (_, n, sha) = h.finish();
    Ok((n, sha))
}

/// SHA-256 and size of bytes in memory.
pub fn hash_file_bytes(bytes: &[u8]) -> (u64, String) {
    (bytes.len() as u64, hex::encode(Sha256::digest(bytes)))
}

/// gzip'd, or a plain tar when the repository compresses (and deduplicates) itself.
enum Sink<W: Write> {
    Gz(GzEncoder<BufWriter<W>>),
    Plain(BufWriter<W>),
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Gz(g) => g.write(buf),
            Sink::Plain(p) => p.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Gz(g) => g.flush(),
            Sink::Plain(p) => p.flush(),
        }
    }
}

/// Writes `manifest.json` then the members, into a stream (a temporary file, an upload).
pub struct Writer<W: Write> {
    tar: tar::Builder<Sink<W>>,
    mtime: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, manifest: &Manifest) -> Result<Self> {
        Self::with(out, manifest, true)
    }

    /// `gzip` false: a plain tar.
    pub fn with(out: W, manifest: &Manifest, gzip: bool) -> Result<Self> {
        let buf = BufWriter::with_capacity(1 << 20, out);
        let sink = if gzip {
            Sink::Gz(GzEncoder::new(buf, Compression::new(GZIP_LEVEL)))
        } else {
            Sink::Plain(buf)
        };
        let mut w = Writer {
            tar: tar::Builder::new(sink),
            mtime: Utc::now().timestamp().max(0) as u64,
        };
        let json = super::manifest::to_json(manifest)?;
        w.add(MANIFEST_NAME, json.len() as u64, &mut json.as_slice())?;
        Ok(w)
    }

    /// Append a member of exactly `size` bytes; returns the SHA-256 of what was read.
    pub fn add(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<String> {
        check_member_path(path)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        let mut reader = Hashing::new(data.take(size));
        self.tar
            .append_data(&mut header, path, &mut reader)
            .with_context(|| format!("cannot write member {path} to the archive"))?;
        let (_, n, sha) = reader.finish();
        if n != size {
            return Err(fail(
                "backup_source_changed",
                format!("{path}: expected {size} bytes but read {n}; the source changed during the backup, retry"),
            ));
        }
        Ok(sha)
    }

    /// End the tar and gzip streams; returns the stream to finish (fsync, encrypt, complete the
    /// upload). Size and checksum are the caller's to take of what is stored (after encryption).
    pub fn finish(self) -> Result<W> {
        let sink = self
            .tar
            .into_inner()
            .context("cannot finish the tar stream")?;
        let buf = match sink {
            Sink::Gz(gz) => gz.finish().context("cannot finish the gzip stream")?,
            Sink::Plain(buf) => buf,
        };
        buf.into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write the archive")
    }
}

/// What to do with a member's bytes while it is verified.
pub trait MemberSink {
    /// Called once per member after the manifest; must consume `data` (or leave the rest to be
    /// drained). The data is only trustworthy after [`read`] returns Ok.
    fn member(&mut self, manifest: &Manifest, path: &str, data: &mut dyn Read) -> Result<()>;

    /// [`MemberSink::member`] of a member that is `file`, in a folder this run made for itself
    /// (a restic restore): the sink may move the file instead of copying `data`, which it must
    /// still read through (the member's checks read it).
    fn member_file(
        &mut self,
        manifest: &Manifest,
        path: &str,
        _file: &Path,
        data: &mut dyn Read,
    ) -> Result<()> {
        self.member(manifest, path, data)
    }
}

/// Sink that only hashes.
pub struct Discard;

impl MemberSink for Discard {
    fn member(&mut self, _: &Manifest, _: &str, _: &mut dyn Read) -> Result<()> {
        Ok(())
    }
}

pub(super) fn corrupt(archive: &str, msg: impl std::fmt::Display) -> anyhow::Error {
    fail(
        "archive_corrupt",
        format!("archive {archive} is damaged: {msg}"),
    )
}

fn open_file(archive: &Path) -> Result<File> {
    File::open(archive).with_context(|| format!("cannot open archive {}", archive.display()))
}

/// A gzip'd or a plain tar stream, told apart by gzip's magic bytes (not by the name: a plain
/// `.tar` from `restic dump` may be saved under any name).
pub enum Unpacked<R: Read> {
    Gz(GzDecoder<BufReader<R>>),
    Plain(BufReader<R>),
}

impl<R: Read> Read for Unpacked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Unpacked::Gz(g) => g.read(buf),
            Unpacked::Plain(p) => p.read(buf),
        }
    }
}

fn tar_of<R: Read>(r: R) -> tar::Archive<Unpacked<R>> {
    use std::io::BufRead;
    let mut buf = BufReader::with_capacity(1 << 20, r);
    // A read error here shows again (as damage) when the tar reader reads.
    let gz = match buf.fill_buf() {
        Ok(head) if head.len() >= 2 => head[..2] == [0x1f, 0x8b],
        Ok(head) if head.len() == 1 => head[0] == 0x1f,
        _ => true,
    };
    tar::Archive::new(if gz {
        Unpacked::Gz(GzDecoder::new(buf))
    } else {
        Unpacked::Plain(buf)
    })
}

/// Check type and path of a tar entry of `archive` before touching its data; an unsafe one is
/// refused naming the archive and the member (quoted: a name may hold any byte).
fn check_entry<R: Read>(archive: &str, e: &tar::Entry<R>) -> Result<String> {
    let raw = e.path_bytes();
    let path = String::from_utf8_lossy(&raw).into_owned();
    let kind = e.header().entry_type();
    let problem = if kind.is_file() {
        member_path_problem(&path)
    } else if kind.is_symlink() {
        Some("symbolic link")
    } else if kind.is_hard_link() {
        Some("hard link")
    } else if kind.is_character_special() || kind.is_block_special() {
        Some("device")
    } else if kind.is_dir() {
        Some("directory")
    } else if kind.is_fifo() {
        Some("FIFO")
    } else {
        Some("not a regular file")
    };
    match problem {
        Some(why) => Err(fail(
            "archive_unsafe_member",
            format!(
                "archive {archive} has an unsafe member {path:?} ({why}); refusing the archive"
            ),
        )),
        None => Ok(path),
    }
}

/// Read only the manifest (the first member): cheap, for `list` and early format checks.
pub fn read_manifest(archive: &Path) -> Result<Manifest> {
    read_manifest_from(&archive.display().to_string(), open_file(archive)?)
}

/// [`read_manifest`] of a plain (decrypted) archive stream; `archive` names it in messages.
pub fn read_manifest_from<R: Read>(archive: &str, r: R) -> Result<Manifest> {
    let mut ar = tar_of(r);
    let mut entries = ar.entries().map_err(|e| corrupt(archive, e))?;
    first_manifest(archive, &mut entries)
}

fn first_manifest<R: Read>(archive: &str, entries: &mut tar::Entries<R>) -> Result<Manifest> {
    let mut first = match entries.next() {
        Some(Ok(e)) => e,
        Some(Err(e)) => return Err(corrupt(archive, e)),
        None => return Err(corrupt(archive, "it is empty (no manifest.json)")),
    };
    let path = check_entry(archive, &first)?;
    if path != MANIFEST_NAME {
        return Err(corrupt(
            archive,
            format!("first member is {path:?}, not {MANIFEST_NAME}; not a vannactl archive"),
        ));
    }
    if first.size() > MAX_MANIFEST_BYTES {
        return Err(corrupt(archive, "manifest.json is implausibly large"));
    }
    let mut bytes = Vec::new();
    first
        .read_to_end(&mut bytes)
        .map_err(|e| corrupt(archive, format!("cannot read manifest.json: {e}")))?;
    Manifest::parse(&bytes).with_context(|| format!("archive {archive}"))
}

/// Read the whole archive, checking every member against the manifest (type, path, listed once,
/// size, SHA-256, nothing missing). `sink` sees each member's bytes as they stream past.
pub fn read(archive: &Path, sink: &mut dyn MemberSink) -> Result<Manifest> {
    read_from(&archive.display().to_string(), open_file(archive)?, sink)
}

/// [`read`] of a plain (decrypted) archive stream; `archive` names it in messages.
pub fn read_from<R: Read>(archive: &str, r: R, sink: &mut dyn MemberSink) -> Result<Manifest> {
    let mut ar = tar_of(r);
    let mut entries = ar.entries().map_err(|e| corrupt(archive, e))?;
    let manifest = first_manifest(archive, &mut entries)?;
    let mut seen = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| corrupt(archive, e))?;
        let path = check_entry(archive, &entry)?;
        let Some(expected) = manifest.member(&path).cloned() else {
            return Err(corrupt(
                archive,
                format!("member {path:?} is not listed in the manifest"),
            ));
        };
        if !seen.insert(path.clone()) {
            return Err(corrupt(archive, format!("member {path:?} appears twice")));
        }
        if entry.size() != expected.size {
            return Err(corrupt(
                archive,
                format!(
                    "member {path}: size {} in the tar header, {} in the manifest",
                    entry.size(),
                    expected.size
                ),
            ));
        }
        take_member(archive, &manifest, &path, entry, None, sink)?;
    }
    // The tar reader stops at the end-of-archive blocks; read the gzip stream to its end so its
    // CRC is checked too (a flipped byte in the trailing blocks otherwise passes). A plain tar has
    // no CRC: its trailing blocks are only read.
    io::copy(&mut ar.into_inner(), &mut io::sink()).map_err(|e| corrupt(archive, e))?;
    let missing: Vec<&str> = manifest
        .members
        .iter()
        .map(|m| m.path.as_str())
        .filter(|p| !seen.contains(*p))
        .collect();
    if !missing.is_empty() {
        return Err(corrupt(
            archive,
            format!(
                "missing member(s) {} (truncated archive?)",
                missing.join(", ")
            ),
        ));
    }
    Ok(manifest)
}

/// One member's bytes through `sink`, then checked against the manifest (every byte read, size,
/// SHA-256), for a tar entry and a file of an archive folder alike.
pub(super) fn take_member<R: Read>(
    archive: &str,
    manifest: &Manifest,
    path: &str,
    data: R,
    file: Option<&Path>,
    sink: &mut dyn MemberSink,
) -> Result<()> {
    let Some(expected) = manifest.member(path) else {
        return Err(corrupt(
            archive,
            format!("member {path:?} is not listed in the manifest"),
        ));
    };
    let mut h = Hashing::new(data);
    let sunk = match file {
        Some(f) => sink.member_file(manifest, path, f, &mut h),
        None => sink.member(manifest, path, &mut h),
    };
    if let Some(re) = &h.read_error {
        return Err(corrupt(archive, format!("member {path}: {re}")));
    }
    // Read the rest even after the sink failed: bytes that differ from the manifest explain a
    // failed deep check better than the check's own complaint.
    io::copy(&mut h, &mut io::sink())
        .map_err(|e| corrupt(archive, format!("member {path}: {e}")))?;
    let (_, n, sha) = h.finish();
    if n != expected.size {
        return Err(corrupt(
            archive,
            format!("member {path} is truncated: {n} of {} bytes", expected.size),
        ));
    }
    if sha != expected.sha256 {
        return Err(corrupt(
            archive,
            format!(
                "member {path}: sha256 {} does not match the manifest ({})",
                &sha[..12],
                &expected.sha256[..12]
            ),
        ));
    }
    sunk.with_context(|| format!("archive {archive}: member {path}"))
}

/// A tar holding only `manifest.json`: how an archive kept as a folder (or a restic snapshot of
/// one) answers a request for its head.
pub fn manifest_tar(json: &[u8]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut header, MANIFEST_NAME, json)?;
    Ok(b.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_round_trip_and_strangers_ignored() {
        let t = Utc.with_ymd_and_hms(2026, 4, 18, 3, 15, 0).unwrap();
        let n = file_name(t, false);
        assert_eq!(n, "backup_20260418T031500.000Z.tar.gz");
        assert_eq!(parse_name(&n), Some(t));
        let e = file_name(t, true);
        assert_eq!(e, "backup_20260418T031500.000Z.tar.gz.age");
        assert_eq!(parse_name(&e), Some(t));
        assert!(is_encrypted(&e) && !is_encrypted(&n));
        let p = tar_name(t);
        assert_eq!(p, "backup_20260418T031500.000Z.tar");
        assert_eq!(parse_name(&p), Some(t));
        for other in [
            "backup_20260418T031500.000Z.tar.gz.bak",
            "backup_20260418T031500.000Z.tar.gz.age.sha256",
            "backup_20260418T031500.000Z.age",
            "backup_20260418T031500.000Z.tar.age",
            "backup_20260418T031500.000Z.tar.bak",
            "notes.txt",
            "backup_latest.tar.gz",
            "backup_20261318T031500.000Z.tar.gz",
            ".vannactl-tmp-1-backup_20260418T031500.000Z.tar.gz",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }

    fn sample_manifest() -> Manifest {
        let (size, sha256) = hash_file_bytes(b"hello");
        serde_json::from_value(serde_json::json!({
            "format_version": super::super::manifest::FORMAT_VERSION,
            "tool": "vannactl", "tool_version": "0", "created_at": "2026-04-18T03:15:00.000Z",
            "host": "h",
            "members": [{"path": "a/b.txt", "size": size, "sha256": sha256}],
            "components": {}
        }))
        .unwrap()
    }

    #[test]
    fn plain_and_gzipped_archives_read_alike() {
        let m = sample_manifest();
        for gzip in [true, false] {
            let mut w = Writer::with(Vec::new(), &m, gzip).unwrap();
            w.add("a/b.txt", 5, &mut &b"hello"[..]).unwrap();
            let bytes = w.finish().unwrap();
            assert_eq!(bytes[..2] == [0x1f, 0x8b], gzip);
            let got = read_from("x", bytes.as_slice(), &mut Discard).unwrap();
            assert_eq!(got.members.len(), 1);
            // A flipped byte in a member is caught in both.
            let mut bad = bytes.clone();
            let at = if gzip { bad.len() / 2 } else { 512 * 3 + 1 };
            bad[at] ^= 0x55;
            assert!(
                read_from("x", bad.as_slice(), &mut Discard).is_err(),
                "{gzip}"
            );
        }
    }

    #[test]
    fn member_paths() {
        for ok in ["manifest.json", "system/system.db", "target/a b.db"] {
            check_member_path(ok).unwrap();
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
        ] {
            assert!(check_member_path(bad).is_err(), "{bad}");
        }
    }
}

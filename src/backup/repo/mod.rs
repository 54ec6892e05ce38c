//! Where archives live: a local folder, an S3-compatible bucket or a restic repository, behind one
//! interface so create, list, verify, restore, retention and the safety backup never special-case
//! any of them. Archives are
//! written and read as streams; an archive exists under its final name only once it is complete.

pub mod local;
pub mod restic;
pub mod s3;

use super::{archive, folder};
use crate::config::{BackupRepo, Settings};
use crate::error::fail;
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::io::{Read, Write};
use std::path::Path;

/// Suffix of the checksum recorded beside an encrypted archive (`sha256sum` format), so it can be
/// checked without the private key.
pub const SUM_SUFFIX: &str = ".sha256";

/// One archive in a repository.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub at: DateTime<Utc>,
    pub size: u64,
}

/// An archive being written. Dropped without `commit`, it leaves nothing under its final name
/// (the local temp file is removed, the S3 multipart upload aborted).
pub trait Upload: Write + Send {
    fn commit(self: Box<Self>) -> Result<()>;

    /// `commit`, and what the repository says it stored.
    fn commit_stored(self: Box<Self>) -> Result<Stored> {
        self.commit().map(|()| Stored::default())
    }
}

/// What a repository reports of a committed archive, where it knows more than its bytes.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// restic's snapshot id.
    pub snapshot: Option<String>,
    /// Bytes the repository grew by (restic's `data_added`, after deduplication).
    pub added: Option<u64>,
    /// Members the repository found unchanged since the previous backup and did not read
    /// (restic's `files_unmodified`).
    pub unchanged: Option<u64>,
}

/// A member handed to a repository that keeps members as files ([`Repo::keeps_members_apart`]).
pub struct MemberFile<'a> {
    pub path: &'a str,
    pub size: u64,
    pub source: MemberSource<'a>,
}

pub enum MemberSource<'a> {
    /// A file on this machine: a staged snapshot, or the live golden copy (hard-linked).
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// An archive opened for reading.
pub enum Opened<'a> {
    /// The stored object as a stream (a tar, gzip'd or not; encrypted if stored so).
    Stream(Box<dyn Read + Send + 'a>),
    /// The members as files of a folder: a restic snapshot restored into the stage, a folder
    /// given by path, or a restic dump unpacked. `_temp` removes a folder this run made.
    Folder {
        path: std::path::PathBuf,
        _temp: Option<super::folder::TempFolder>,
    },
}

pub enum Repo {
    Local(local::Local),
    S3(Box<s3::S3>),
    Restic(Box<restic::Restic>),
}

impl Repo {
    /// The configured repository (`BACKUP_DIR`).
    pub fn open(s: &Settings) -> Result<Repo> {
        match &s.backup_repo {
            BackupRepo::Local(d) => Ok(Repo::Local(local::Local::new(d))),
            BackupRepo::S3 { bucket, prefix } => {
                Ok(Repo::S3(Box::new(s3::S3::new(s, bucket, prefix)?)))
            }
            BackupRepo::Restic(r) => Ok(Repo::Restic(Box::new(restic::Restic::new(s, r)?))),
        }
    }

    /// The repository stores an archive's members as files of a snapshot ([`Repo::put_members`])
    /// rather than one stream: restic, whose parent snapshot then skips unchanged members.
    pub fn keeps_members_apart(&self) -> bool {
        matches!(self, Repo::Restic(_))
    }

    /// Store one archive as `manifest.json` plus its members as files; `labels`: the components
    /// in it (restic tags its snapshot with them); `progress` gets the bytes read so far.
    pub fn put_members(
        &self,
        name: &str,
        labels: &[&str],
        manifest_json: &[u8],
        members: &[MemberFile],
        progress: &dyn Fn(u64),
    ) -> Result<Stored> {
        match self {
            Repo::Restic(r) => r.put_members(name, labels, manifest_json, members, progress),
            _ => Err(crate::error::fail(
                "unsupported",
                format!("{} stores archives as one stream", self.display()),
            )),
        }
    }

    /// Start reading the listing a backup will need, where that is slow (restic: a call with
    /// its key derivation), so it overlaps the component snapshots.
    pub fn prefetch_listing(&self) {
        if let Repo::Restic(r) = self {
            r.prefetch();
        }
    }

    /// `backups` or `s3://bucket/prefix/`, for messages.
    pub fn display(&self) -> String {
        match self {
            Repo::Local(l) => l.dir.display().to_string(),
            Repo::S3(s) => s.display(),
            Repo::Restic(r) => r.display(),
        }
    }

    /// The full location of an archive: its path, or its `s3://` URL (never credentials).
    pub fn location(&self, name: &str) -> String {
        match self {
            Repo::Local(l) => l.dir.join(name).display().to_string(),
            Repo::S3(s) => s.location(name),
            Repo::Restic(r) => r.location(name),
        }
    }

    /// Archives (names matching the backup pattern only), newest first. A restic repository
    /// fills `size` only where it knows it without another round trip (else 0): names and times
    /// are what retention, health and naming need; [`Repo::list_sized`] has every size.
    pub fn list(&self) -> Result<Vec<Entry>> {
        match self {
            Repo::Local(l) => l.list(),
            Repo::S3(s) => s.list(),
            Repo::Restic(r) => r.list(false),
        }
    }

    /// [`Repo::list`] with every archive's size.
    pub fn list_sized(&self) -> Result<Vec<Entry>> {
        match self {
            Repo::Restic(r) => r.list(true),
            _ => self.list(),
        }
    }

    /// The whole stored object, as a stream.
    pub fn reader(&self, name: &str) -> Result<Box<dyn Read + Send>> {
        match self {
            Repo::Local(l) => l.reader(name),
            Repo::S3(s) => s.reader(name, None),
            Repo::Restic(r) => r.reader(name),
        }
    }

    /// The first `len` bytes of the object (a range GET on S3): enough for the manifest. An
    /// archive kept as a folder answers with a tar of its manifest alone.
    pub fn head(&self, name: &str, len: u64) -> Result<Box<dyn Read + Send>> {
        match self {
            Repo::Local(l) => l.head(name, len),
            Repo::S3(s) => s.reader(name, Some(len)),
            Repo::Restic(r) => r.head(name, len),
        }
    }

    /// The archive for reading in full. `wanted`: the members the reader needs (None: all); a
    /// repository that keeps members apart (restic) fetches only these. `stage`: the local
    /// folder a repository may restore or unpack the members into.
    pub fn open_archive(
        &self,
        name: &str,
        wanted: Option<&[String]>,
        stage: &Path,
    ) -> Result<Opened<'_>> {
        match self {
            Repo::Local(l) => l.open_archive(name, stage),
            Repo::S3(s) => Ok(Opened::Stream(s.reader(name, None)?)),
            Repo::Restic(r) => r.open_archive(name, wanted, stage),
        }
    }

    /// The archive as one stream (a folder or a bucket; restic takes [`Repo::put_members`]).
    pub fn writer(&self, name: &str) -> Result<Box<dyn Upload + '_>> {
        match self {
            Repo::Local(l) => l.writer(name),
            Repo::S3(s) => s.writer(name),
            Repo::Restic(r) => Err(crate::error::fail(
                "unsupported",
                format!(
                    "{} stores archives as snapshots of their members",
                    r.display()
                ),
            )),
        }
    }

    /// A small object (the checksum beside an encrypted archive), written whole.
    pub fn put_small(&self, name: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Repo::Local(l) => l.put_small(name, bytes),
            Repo::S3(s) => s.put_small(name, bytes),
            Repo::Restic(r) => Err(crate::error::fail(
                "unsupported",
                format!("{} holds only archives, not {name}", r.display()),
            )),
        }
    }

    /// A small object, or None when there is none.
    pub fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Repo::Local(l) => l.get_small(name),
            Repo::S3(s) => s.get_small(name),
            Repo::Restic(_) => Ok(None),
        }
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        match self {
            Repo::Local(l) => l.remove(name),
            Repo::S3(s) => s.remove(name),
            Repo::Restic(r) => r.remove(name),
        }
    }

    /// After a retention run's removals: give the space back (restic prune; folders and buckets
    /// already did).
    pub fn reclaim(&self) -> Result<()> {
        match self {
            Repo::Restic(r) => r.prune(),
            _ => Ok(()),
        }
    }

    /// The repository's own consistency check, where it has one (`restic check`).
    pub fn check(&self) -> Result<Option<String>> {
        match self {
            Repo::Restic(r) => r.check().map(Some),
            _ => Ok(None),
        }
    }

    /// Leftovers of killed runs in the repository itself (S3: unfinished multipart uploads of
    /// archive names under the prefix; local temp files are cleaned with the other folders).
    pub fn clean_stale(&self) -> Result<Vec<String>> {
        match self {
            Repo::Local(_) => Ok(Vec::new()),
            Repo::S3(s) => s.abort_stale_uploads(),
            // Stale locks of killed restic runs block only exclusive operations, which remove
            // them first (`restic unlock`).
            Repo::Restic(_) => Ok(Vec::new()),
        }
    }

    /// A fresh archive name (two runs within one millisecond get distinct names).
    pub fn unused_name(&self, encrypted: bool) -> Result<String> {
        let taken: Vec<String> = self.list()?.into_iter().map(|e| e.name).collect();
        loop {
            // A restic snapshot is named like the plain tar `restic dump ID /` makes of it.
            let name = if self.keeps_members_apart() {
                archive::tar_name(Utc::now())
            } else {
                archive::file_name(Utc::now(), encrypted)
            };
            let exists = match self {
                Repo::Local(l) => l.dir.join(&name).exists(),
                Repo::S3(_) | Repo::Restic(_) => taken.contains(&name),
            };
            if !exists {
                return Ok(name);
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// One archive to read: the configured repository and a name in it, an `s3://` URL, or a path.
pub struct ArchiveRef {
    pub repo: Repo,
    pub name: String,
}

impl ArchiveRef {
    /// `arg` as given to `restore` or `backup verify`: a full `s3://` URL, a bare name in an S3
    /// `BACKUP_DIR`, an archive name or snapshot id (or a location it gave) in a restic
    /// `BACKUP_DIR` unless a file or archive folder of that name exists, or otherwise a local file
    /// path (any name) or a folder holding an archive's files (what `restic restore` makes).
    pub fn resolve(s: &Settings, arg: &str) -> Result<ArchiveRef> {
        let local = Path::new(arg).is_file() || folder::is_archive_folder(Path::new(arg));
        if matches!(s.backup_repo, BackupRepo::Restic(_)) && !local {
            let repo = Repo::open(s)?;
            let Repo::Restic(r) = &repo else {
                unreachable!("a restic BACKUP_DIR opens as restic")
            };
            let in_repo = r.name_in(arg);
            if in_repo.is_some() || !arg.contains('/') {
                let name = r.resolve(in_repo.as_deref().unwrap_or(arg))?;
                return Ok(ArchiveRef { repo, name });
            }
        }
        if arg.starts_with("s3://") {
            let (dir, name) = arg.rsplit_once('/').unwrap_or((arg, ""));
            if name.is_empty() || dir == "s3:/" {
                return Err(crate::error::usage(format!(
                    "{arg} names no object; give s3://BUCKET/PREFIX/backup_....tar.gz"
                )));
            }
            let BackupRepo::S3 { bucket, prefix } = BackupRepo::parse(dir)? else {
                unreachable!("an s3:// URL parses as S3")
            };
            let repo = Repo::S3(Box::new(s3::S3::new(s, &bucket, &prefix)?));
            return Ok(ArchiveRef {
                repo,
                name: name.to_string(),
            });
        }
        if matches!(s.backup_repo, BackupRepo::S3 { .. }) && !arg.contains('/') {
            return Ok(ArchiveRef {
                repo: Repo::open(s)?,
                name: arg.to_string(),
            });
        }
        let p = Path::new(arg);
        if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) && !folder::is_archive_folder(p) {
            return Err(crate::error::usage(format!(
                "{arg} is not an archive file or an archive folder (with manifest.json); name a backup archive"
            )));
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| crate::error::usage(format!("{arg} is not an archive file")))?;
        Ok(ArchiveRef {
            repo: Repo::Local(local::Local::new(&crate::fsutil::parent_dir(p))),
            name,
        })
    }

    /// The newest archive of the configured repository.
    pub fn newest(s: &Settings) -> Result<ArchiveRef> {
        let repo = Repo::open(s)?;
        let name = repo
            .list()?
            .into_iter()
            .next()
            .map(|e| e.name)
            .ok_or_else(|| {
                fail(
                    "no_archive",
                    format!(
                        "no archives in {}; run `vannactl backup` first",
                        repo.display()
                    ),
                )
            })?;
        Ok(ArchiveRef { repo, name })
    }

    pub fn location(&self) -> String {
        self.repo.location(&self.name)
    }

    pub fn encrypted(&self) -> bool {
        archive::is_encrypted(&self.name)
    }
}

/// Enough of an archive's start for its manifest (the first member), even encrypted.
const HEAD_BYTES: u64 = 1 << 20;

/// A stream that counts and hashes the stored bytes, so a reader can compare them with the
/// checksum recorded beside an encrypted archive.
pub type Counted<'a> = archive::Hashing<Box<dyn Read + Send + 'a>>;

impl ArchiveRef {
    /// The plain archive stream (decrypted with `BACKUP_AGE_IDENTITY_FILE` when encrypted).
    pub fn open_plain<'a>(
        &'a self,
        s: &Settings,
        raw: Box<dyn Read + Send + 'a>,
    ) -> Result<Box<dyn Read + Send + 'a>> {
        if !self.encrypted() {
            return Ok(raw);
        }
        let what = self.location();
        let ids = super::crypt::identities(s, &what)?;
        super::crypt::decrypt(&what, raw, &ids)
    }

    /// Only the manifest, from the head of the object (a range GET on S3).
    pub fn read_manifest(&self, s: &Settings) -> Result<super::manifest::Manifest> {
        let raw = self.repo.head(&self.name, HEAD_BYTES)?;
        let plain = self.open_plain(s, raw)?;
        archive::read_manifest_from(&self.location(), plain)
    }

    /// The checksum recorded beside an encrypted archive at backup time, if any.
    pub fn recorded_sum(&self) -> Result<Option<String>> {
        let Some(bytes) = self.repo.get_small(&format!("{}{SUM_SUFFIX}", self.name))? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        Ok(text.split_whitespace().next().map(str::to_string))
    }

    /// Read the whole stored object and compare it with the recorded checksum: what can be
    /// checked of an encrypted archive without its key.
    pub fn check_ciphertext(&self) -> Result<u64> {
        let what = self.location();
        let want = self.recorded_sum()?.ok_or_else(|| {
            fail(
                "archive_unverifiable",
                format!(
                    "{what} is encrypted and has no recorded checksum ({what}{SUM_SUFFIX}); \
                     set BACKUP_AGE_IDENTITY_FILE to verify its contents"
                ),
            )
        })?;
        let mut h = archive::Hashing::new(self.repo.reader(&self.name)?);
        std::io::copy(&mut h, &mut std::io::sink())
            .map_err(|e| fail("archive_corrupt", format!("archive {what} is damaged: {e}")))?;
        let (_, n, sha) = h.finish();
        if sha != want {
            return Err(fail(
                "archive_corrupt",
                format!(
                    "archive {what} is damaged: sha256 {} does not match the checksum recorded at backup time ({})",
                    &sha[..12],
                    &want[..want.len().min(12)]
                ),
            ));
        }
        Ok(n)
    }
}

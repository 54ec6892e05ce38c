//! A restic repository (`BACKUP_DIR=restic:REPO`), driven through the `restic` binary on PATH
//! like pg_dump: one snapshot per backup, of a folder holding `manifest.json` and the members as
//! files (uncompressed: restic compresses and deduplicates). Taken always of the same folder,
//! each snapshot has the previous one as its parent, so restic skips an unchanged golden copy
//! without reading it. Reading restores the members needed into the stage. The repository stays
//! an ordinary one: the stock `restic` CLI lists, restores, dumps and checks it. Snapshots of the
//! earlier layout (the archive as one tar read from stdin) are still read.
//!
//! Credentials reach restic only through its own environment variables (`RESTIC_PASSWORD_FILE`,
//! `RESTIC_PASSWORD_COMMAND`, `RESTIC_PASSWORD`, `AWS_*`); the repository goes in
//! `RESTIC_REPOSITORY`, so not even a `rest:` URL's password shows in `ps`.

mod cmd;
mod snapshot_folder;

use super::{Entry, MemberFile, Opened, Stored};
use crate::backup::{archive, folder};
use crate::config::Settings;
use crate::error::fail;
use anyhow::Result;
use chrono::{DateTime, Utc};
use cmd::Cmd;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Tag on every snapshot vannactl makes; listing and retention see only these.
pub const TAG: &str = "vannactl";
/// Tag prefix carrying the archive name of a snapshot of the members' folder.
const NAME_TAG: &str = "name=";

pub struct Restic {
    cmd: Cmd,
    host: String,
    /// The local folder the snapshot folder and restores are laid out in (`BACKUP_STAGE_DIR`).
    stage: PathBuf,
    forgotten: Mutex<bool>,
    /// A listing started by [`Restic::prefetch`].
    listing: Mutex<Option<std::thread::JoinHandle<Result<Vec<Snap>>>>>,
}

/// Snapshot listings per repository, until vannactl changes it: each restic call opens the
/// repository anew (about 0.7 s of key derivation), and one run opens `Repo` several times
/// (resolve, read the manifest, stage, the safety backup). Other writers only add snapshots,
/// which a run started before them need not see.
static SNAPS: Mutex<BTreeMap<String, Vec<Snap>>> = Mutex::new(BTreeMap::new());
/// Archive size per repository and short snapshot id (a snapshot never changes).
static SIZES: Mutex<BTreeMap<(String, String), u64>> = Mutex::new(BTreeMap::new());
/// `manifest.json` per repository and snapshot id, once read.
static MANIFESTS: Mutex<BTreeMap<(String, String), Vec<u8>>> = Mutex::new(BTreeMap::new());

#[derive(Debug, Clone, Deserialize)]
struct Snap {
    time: DateTime<Utc>,
    #[serde(default)]
    paths: Vec<String>,
    id: String,
    short_id: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    hostname: String,
}

impl Snap {
    /// The archive's name (its `name=` tag, or the stdin file name of the earlier layout), or
    /// the short id for a snapshot with neither.
    fn name(&self) -> String {
        if let Some(n) = self.tagged_name() {
            return n.to_string();
        }
        match self.file() {
            Some(f) if archive::parse_name(f).is_some() => f.to_string(),
            _ => self.short_id.clone(),
        }
    }
    fn tagged_name(&self) -> Option<&str> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix(NAME_TAG))
            .find(|n| archive::parse_name(n).is_some())
    }
    /// A snapshot of the members' folder (not of one tar read from stdin).
    fn is_folder(&self) -> bool {
        self.tagged_name().is_some()
    }
    fn file(&self) -> Option<&str> {
        match self.paths.as_slice() {
            [p] => Some(p.trim_start_matches('/')),
            _ => None,
        }
    }
}

impl Restic {
    pub fn new(s: &Settings, repo: &str) -> Result<Restic> {
        let cmd = Cmd::new(s, repo)?;
        Ok(Restic {
            cmd,
            host: crate::host::hostname(),
            stage: s.backup_dir.clone(),
            forgotten: Mutex::new(false),
            listing: Mutex::new(None),
        })
    }

    /// `restic:REPO`, credentials masked.
    pub fn display(&self) -> String {
        self.cmd.shown.clone()
    }

    pub fn location(&self, name: &str) -> String {
        format!("{}/{name}", self.cmd.shown)
    }

    /// The archive name in a location this repository gave ([`Restic::location`]).
    pub fn name_in(&self, location: &str) -> Option<String> {
        location
            .strip_prefix(&self.cmd.shown)?
            .strip_prefix('/')
            .map(str::to_string)
    }

    /// Start listing the snapshots in the background, unless they are known: a backup needs
    /// the listing only after its component snapshots, so the listing's key derivation overlaps
    /// them (the dump of the system DB).
    pub fn prefetch(&self) {
        let known = SNAPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&self.cmd.shown);
        let mut pending = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        if !known && pending.is_none() {
            let cmd = self.cmd.clone();
            *pending = Some(std::thread::spawn(move || list_snapshots(&cmd)));
        }
    }

    fn snaps(&self) -> Result<Vec<Snap>> {
        if let Some(s) = SNAPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&self.cmd.shown)
        {
            return Ok(s.clone());
        }
        let started = self
            .listing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let snaps = match started.map(|h| h.join()) {
            Some(Ok(r)) => r?,
            _ => list_snapshots(&self.cmd)?,
        };
        SNAPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.cmd.shown.clone(), snaps.clone());
        Ok(snaps)
    }

    /// Add a snapshot this run made to the cached listing, if there is one.
    fn remember_snapshot(&self, snap: Snap) {
        let mut all = SNAPS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = all.get_mut(&self.cmd.shown) {
            list.insert(0, snap);
        }
    }

    fn forget_cache(&self) {
        SNAPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.cmd.shown);
    }

    /// The snapshot holding `name`: an archive name, or a snapshot id (short or long).
    fn find(&self, name: &str) -> Result<Snap> {
        let snaps = self.snaps()?;
        let hex = name.len() >= 4 && name.bytes().all(|b| b.is_ascii_hexdigit());
        let found: Vec<&Snap> = snaps
            .iter()
            .filter(|s| s.name() == name || (hex && s.id.starts_with(&name.to_lowercase())))
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(fail(
                "archive_missing",
                format!(
                    "{} has no vannactl snapshot or archive named {name}; `vannactl backup list` shows them",
                    self.cmd.shown
                ),
            )),
            _ => Err(crate::error::usage(format!(
                "{name} matches several snapshots in {}; give more of the snapshot id",
                self.cmd.shown
            ))),
        }
    }

    /// The archive name for `arg` (a name or a snapshot id).
    pub fn resolve(&self, arg: &str) -> Result<String> {
        self.find(arg).map(|s| s.name())
    }

    /// `sized`: every size, with one `restic find` if any is not known yet (else 0 for those).
    pub fn list(&self, sized: bool) -> Result<Vec<Entry>> {
        let snaps = self.snaps()?;
        let known = |s: &Snap| self.known_size(&s.short_id);
        if sized && snaps.iter().any(|s| known(s).is_none()) {
            self.fill_sizes()?;
        }
        Ok(snaps
            .iter()
            .map(|s| Entry {
                size: known(s).unwrap_or(0),
                name: s.name(),
                at: s.time,
            })
            .collect())
    }

    fn known_size(&self, short_id: &str) -> Option<u64> {
        let sizes = SIZES.lock().unwrap_or_else(|e| e.into_inner());
        sizes
            .get(&(self.cmd.shown.clone(), short_id.to_string()))
            .copied()
    }

    /// Every archive's size in one `restic find` (restic 0.14 keeps no summary in the snapshot,
    /// and one `restic ls` per snapshot would open the repository once per archive).
    fn fill_sizes(&self) -> Result<()> {
        #[derive(Deserialize)]
        struct Found {
            snapshot: String,
            #[serde(default)]
            matches: Vec<Node>,
        }
        #[derive(Deserialize)]
        struct Node {
            #[serde(default)]
            size: u64,
        }
        let out = self
            .cmd
            .run("find", &["find", "--json", "--tag", TAG, "*"])?;
        let found: Vec<Found> = serde_json::from_slice(&out).unwrap_or_default();
        for f in found {
            let short: String = f.snapshot.chars().take(8).collect();
            self.remember_size(&short, f.matches.iter().map(|n| n.size).sum());
        }
        Ok(())
    }

    fn remember_size(&self, id: &str, n: u64) {
        SIZES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((self.cmd.shown.clone(), id.to_string()), n);
    }

    /// The stored stream: the tar of the earlier layout, or for a snapshot of the members'
    /// folder what `restic dump ID /` gives (a tar in name order, read through a folder).
    pub fn reader(&self, name: &str) -> Result<Box<dyn Read + Send>> {
        let s = self.find(name)?;
        let file = if s.is_folder() {
            "/".to_string()
        } else {
            format!("/{}", s.file().unwrap_or(name))
        };
        let child = self.cmd.spawn_reader(&["dump", &s.id, &file])?;
        Ok(Box::new(child))
    }

    /// The head: the first `len` bytes of a stored tar, or a snapshot folder's manifest as a
    /// one-member tar (one `restic dump` of `/manifest.json`, remembered for the run).
    pub fn head(&self, name: &str, len: u64) -> Result<Box<dyn Read + Send>> {
        let s = self.find(name)?;
        if !s.is_folder() {
            return Ok(Box::new(self.reader(name)?.take(len)));
        }
        let json = self.manifest_of(&s)?;
        Ok(Box::new(io::Cursor::new(archive::manifest_tar(&json)?)))
    }

    fn manifest_of(&self, s: &Snap) -> Result<Vec<u8>> {
        let key = (self.cmd.shown.clone(), s.id.clone());
        if let Some(b) = MANIFESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(b.clone());
        }
        let path = format!("/{}", crate::backup::manifest::MANIFEST_NAME);
        let mut r = self.cmd.spawn_reader(&["dump", &s.id, &path])?;
        let mut json = Vec::new();
        (&mut r)
            .take(crate::backup::manifest::MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(|e| {
                fail(
                    "archive_corrupt",
                    format!(
                        "snapshot {} in {}: cannot read manifest.json: {e}",
                        s.short_id, self.cmd.shown
                    ),
                )
            })?;
        MANIFESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, json.clone());
        Ok(json)
    }

    /// A snapshot of the members' folder is restored into the stage (only `wanted` and the
    /// manifest, when given); one of the earlier layout is streamed.
    pub fn open_archive(
        &self,
        name: &str,
        wanted: Option<&[String]>,
        stage: &Path,
    ) -> Result<Opened<'static>> {
        let s = self.find(name)?;
        if !s.is_folder() {
            return Ok(Opened::Stream(self.reader(name)?));
        }
        let t = folder::TempFolder::new(stage, "restic-restore")?;
        let target = t.path.to_string_lossy().into_owned();
        let mut args: Vec<String> = ["restore", s.id.as_str(), "--target", target.as_str()]
            .map(String::from)
            .to_vec();
        if let Some(w) = wanted {
            let manifest = crate::backup::manifest::MANIFEST_NAME;
            for m in std::iter::once(manifest).chain(w.iter().map(String::as_str)) {
                args.push("--include".into());
                args.push(format!("/{}", escape_pattern(m)));
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.cmd
            .run("restore", &args)
            .map_err(|e| crate::error::or_disk_full(e, stage, Some("BACKUP_STAGE_DIR")))?;
        Ok(Opened::Folder {
            path: t.path.clone(),
            _temp: Some(t),
        })
    }

    /// The snapshot restic compares the folder with: the newest of this host's snapshots of the
    /// same folder that holds every component this one does. restic's own choice (the newest of
    /// the folder) could be a restore's safety backup of one component, against which the
    /// unchanged golden copy would be read again in full.
    /// `path`: the folder as restic records it.
    fn parent(&self, path: &str, labels: &[&str]) -> Result<Option<String>> {
        Ok(self
            .snaps()?
            .into_iter()
            .find(|s| {
                s.is_folder()
                    && s.hostname == self.host
                    && matches!(s.paths.as_slice(), [p] if p == path)
                    && labels.iter().all(|l| s.tags.iter().any(|t| t == l))
            })
            .map(|s| s.id))
    }

    /// One snapshot of `manifest.json` and the members laid out as files in the snapshot folder
    /// (`--ignore-ctime`: hard-linking the golden copy changes its ctime, not its content).
    pub fn put_members(
        &self,
        name: &str,
        labels: &[&str],
        manifest_json: &[u8],
        members: &[MemberFile],
        progress: &dyn Fn(u64),
    ) -> Result<Stored> {
        let folder = snapshot_folder::SnapshotFolder::build(&self.stage, manifest_json, members)
            .map_err(|e| crate::error::or_disk_full(e, &self.stage, Some("BACKUP_STAGE_DIR")))?;
        let mut tags = vec![
            TAG.to_string(),
            format!("host={}", self.host),
            format!("{NAME_TAG}{name}"),
        ];
        tags.extend(labels.iter().map(|l| l.to_string()));
        let mut args = vec![
            "backup",
            "--json",
            "--ignore-ctime",
            "--host",
            self.host.as_str(),
        ];
        for t in &tags {
            args.extend(["--tag", t.as_str()]);
        }
        // restic records the folder as the kernel names it (symbolic links resolved).
        let path = folder.path.canonicalize()?.to_string_lossy().into_owned();
        let parent = self.parent(&path, labels)?;
        let started = Utc::now();
        if let Some(p) = &parent {
            args.extend(["--parent", p.as_str()]);
        }
        args.push(".");
        let mut summary = None;
        let result = self
            .cmd
            .run_lines(&folder.path, "backup", &args, &mut |line| {
                let Ok(m) = serde_json::from_str::<Summary>(line) else {
                    return;
                };
                match m.message_type.as_str() {
                    "status" => progress(m.bytes_done.unwrap_or(0)),
                    "summary" => summary = Some(m),
                    _ => {}
                }
            });
        if result.is_err() {
            self.forget_cache();
        }
        result?;
        drop(folder);
        let Some(sum) = summary.filter(|s| s.snapshot_id.is_some()) else {
            self.forget_cache();
            return Err(fail(
                "restic_output",
                format!(
                    "restic backup to {} ended without naming its snapshot; run `restic snapshots` to see whether it was made",
                    self.cmd.shown
                ),
            ));
        };
        let id = sum.snapshot_id.unwrap_or_default();
        if let Some(n) = sum.total_bytes_processed {
            self.remember_size(&id, n);
        }
        // Known without asking restic again (each call costs the key derivation): the listing
        // after the backup (retention, the archive count) sees it.
        self.remember_snapshot(Snap {
            time: started,
            paths: vec![path],
            id: id.clone(),
            short_id: id.clone(),
            tags,
            hostname: self.host.clone(),
        });
        Ok(Stored {
            snapshot: Some(id),
            added: sum.data_added,
            unchanged: sum.files_unmodified,
        })
    }

    /// `restic unlock`: removes only stale locks (of restic runs that died on this host, or
    /// older than 30 minutes), which would otherwise block every exclusive operation.
    pub fn unlock_stale(&self) -> Result<()> {
        self.cmd.run("unlock", &["unlock"]).map(|_| ())
    }

    /// `restic forget`; the space comes back with [`Restic::prune`] once per retention run.
    pub fn remove(&self, name: &str) -> Result<()> {
        let s = self.find(name)?;
        if !*self.forgotten.lock().unwrap_or_else(|e| e.into_inner()) {
            self.unlock_stale()?;
        }
        let r = self.cmd.run("forget", &["forget", &s.id]);
        let mut all = SNAPS.lock().unwrap_or_else(|e| e.into_inner());
        match (&r, all.get_mut(&self.cmd.shown)) {
            (Ok(_), Some(list)) => list.retain(|x| x.id != s.id),
            _ => {
                all.remove(&self.cmd.shown);
            }
        }
        drop(all);
        r?;
        *self.forgotten.lock().unwrap_or_else(|e| e.into_inner()) = true;
        Ok(())
    }

    /// `restic prune` after snapshots were forgotten in this run.
    pub fn prune(&self) -> Result<()> {
        let mut f = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
        if *f {
            self.cmd.run("prune", &["prune"])?;
            *f = false;
        }
        Ok(())
    }

    /// `restic check`: the repository's structure (indexes, packs, snapshots' trees).
    pub fn check(&self) -> Result<String> {
        self.unlock_stale()?;
        self.cmd.run("check", &["check"])?;
        Ok("restic check ok".into())
    }
}

#[derive(Deserialize)]
struct Summary {
    message_type: String,
    #[serde(default)]
    snapshot_id: Option<String>,
    #[serde(default)]
    data_added: Option<u64>,
    #[serde(default)]
    total_bytes_processed: Option<u64>,
    #[serde(default)]
    bytes_done: Option<u64>,
    #[serde(default)]
    files_unmodified: Option<u64>,
}

/// vannactl's snapshots, newest first.
fn list_snapshots(cmd: &Cmd) -> Result<Vec<Snap>> {
    let out = cmd.run("snapshots", &["snapshots", "--json", "--tag", TAG])?;
    let mut snaps: Vec<Snap> = serde_json::from_slice(&out).map_err(|e| {
        fail(
            "restic_output",
            format!(
                "cannot read `restic snapshots --json` of {}: {e}",
                cmd.shown
            ),
        )
    })?;
    snaps.sort_by_key(|s| std::cmp::Reverse(s.time));
    Ok(snaps)
}

/// A member path as a restic pattern matching only itself.
fn escape_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

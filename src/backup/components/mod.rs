//! The three components of a backup and how each is snapshotted, checked, put back and counted.
//! Every function here dispatches on the configured kind; the archive code never needs to know.

pub mod chroma;
pub mod chroma_dir;
pub mod knowledge;
pub mod owned;
pub mod pg_data;
pub mod sqlite;
pub mod system_postgres;
pub mod system_sqlite;
pub mod target;

use super::manifest::{Component, ComponentInfo, Manifest, State};
use crate::config::{mask_url, Settings, SystemDbUrl};
use crate::error::fail;
use crate::fsutil::TempFile;
use anyhow::{Context, Result};
use knowledge::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SYSTEM_PG: &str = "system/postgres.dump";
pub const SYSTEM_SQLITE: &str = "system/system.db";
/// vannactl's former knowledge store (archives made before the Chroma directory); restored by
/// converting it into the directory.
pub const KNOWLEDGE_DB: &str = "knowledge/knowledge.db";
pub const TARGET_DB: &str = "target/target.db";
pub const TARGET_MANIFEST: &str = "target/target.db.manifest.json";

/// Where a member's bytes come from when the archive is written.
pub enum Data {
    /// A snapshot in a temporary file (removed when dropped).
    Staged(TempFile),
    /// Streamed from the live file; its size and hash are checked while streaming.
    File(PathBuf),
    Bytes(Vec<u8>),
}

pub struct Pending {
    pub path: &'static str,
    pub size: u64,
    pub sha256: String,
    pub data: Data,
}

pub struct Snapshot {
    pub info: ComponentInfo,
    pub members: Vec<Pending>,
}

fn present(kind: &str, source: String) -> ComponentInfo {
    ComponentInfo {
        state: State::Present,
        kind: kind.into(),
        source,
        server_version: None,
        migration_version: None,
        counts: BTreeMap::new(),
        members: Vec::new(),
        note: None,
    }
}

fn absent(source: String, note: String) -> Snapshot {
    Snapshot {
        info: ComponentInfo::not_present(State::Absent, source, note),
        members: Vec::new(),
    }
}

fn exists(p: &Path) -> Result<bool> {
    p.try_exists()
        .with_context(|| format!("cannot check {}", p.display()))
}

fn staged_member(
    path: &'static str,
    info: &mut ComponentInfo,
    file: TempFile,
    size: u64,
    sha256: String,
) -> Pending {
    info.members.push(path.into());
    Pending {
        path,
        size,
        sha256,
        data: Data::Staged(file),
    }
}

/// Snapshot one component; `stage_dir` holds temporary copies.
pub fn snapshot(c: Component, s: &Settings, stage_dir: &Path) -> Result<Snapshot> {
    static NEVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    snapshot_until(c, s, stage_dir, &NEVER)
}

/// [`snapshot`] that a PostgreSQL dump gives up (failing) once `cancel` is set.
pub fn snapshot_until(
    c: Component,
    s: &Settings,
    stage_dir: &Path,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Snapshot> {
    match c {
        Component::System => match &s.database_url {
            SystemDbUrl::Postgres(url) => {
                let pg = system_postgres::Pg::parse(url)?;
                // A restic repository compresses itself; a compressed dump would not deduplicate.
                let compress = !matches!(s.backup_repo, crate::config::BackupRepo::Restic(_));
                let d = system_postgres::dump(
                    &pg,
                    &stage_dir.join("stage-system.dump"),
                    compress,
                    cancel,
                )?;
                let mut info = present("postgres", pg.masked.clone());
                info.server_version = Some(d.server_version);
                info.migration_version = d.migration_version;
                info.counts = d.counts;
                let m = staged_member(SYSTEM_PG, &mut info, d.file, d.size, d.sha256);
                Ok(Snapshot {
                    info,
                    members: vec![m],
                })
            }
            SystemDbUrl::Sqlite(path) => {
                let source = s.database_url.masked();
                if !exists(path)? {
                    return Ok(absent(
                        source,
                        format!("no system DB file at {} yet", path.display()),
                    ));
                }
                let snap = system_sqlite::snapshot(path, &stage_dir.join("stage-system.db"))?;
                let mut info = present("sqlite", source);
                info.server_version = Some(rusqlite::version().to_string());
                info.migration_version = snap.migration_version;
                info.counts = snap.counts;
                let m = staged_member(SYSTEM_SQLITE, &mut info, snap.file, snap.size, snap.sha256);
                Ok(Snapshot {
                    info,
                    members: vec![m],
                })
            }
        },
        Component::Knowledge => match Store::from_settings(s) {
            Store::Chroma { url } => chroma::snapshot(s, &url, stage_dir),
            Store::Directory(_) => chroma_dir::snapshot(s, stage_dir),
        },
        Component::Target => {
            let path = &s.target_db_path;
            if s.enable_target_db {
                let url = s
                    .target_database_url
                    .as_deref()
                    .map(mask_url)
                    .unwrap_or_default();
                return Ok(Snapshot {
                    info: ComponentInfo::not_present(
                        State::Skipped,
                        url,
                        "external target DB (ENABLE_TARGET_DB=true): there is no local copy to back up; back it up with its own tools",
                    ),
                    members: Vec::new(),
                });
            }
            let source = path.display().to_string();
            if !exists(path)? {
                return Ok(absent(
                    source,
                    format!(
                        "no golden copy at {} yet (run `vannactl golden-copy`)",
                        path.display()
                    ),
                ));
            }
            let (size, sha, manifest) = target::identify(path)?;
            let mut info = present("golden-copy", source);
            info.counts.insert("bytes".into(), size);
            info.members.push(TARGET_DB.into());
            let mut members = vec![Pending {
                path: TARGET_DB,
                size,
                sha256: sha,
                data: Data::File(path.clone()),
            }];
            if let Some(bytes) = manifest {
                let (n, sha) = super::archive::hash_file_bytes(&bytes);
                info.members.push(TARGET_MANIFEST.into());
                members.push(Pending {
                    path: TARGET_MANIFEST,
                    size: n,
                    sha256: sha,
                    data: Data::Bytes(bytes),
                });
            }
            Ok(Snapshot { info, members })
        }
    }
}

/// Where a member is staged when restoring: next to its destination (so the final step is a
/// rename or an in-place SQLite copy), the pg dump in `stage_dir`; small JSON in memory.
pub enum Dest {
    File(PathBuf),
    Memory,
    /// Deep-checked while it streams past, nothing kept (`backup verify` of a pg dump).
    Stream,
}

pub fn restore_dest(member: &str, s: &Settings, stage_dir: &Path) -> Option<Dest> {
    match member {
        SYSTEM_PG => Some(Dest::File(stage_dir.join("restore-system.dump"))),
        SYSTEM_SQLITE => match &s.database_url {
            SystemDbUrl::Sqlite(p) => Some(Dest::File(p.clone())),
            SystemDbUrl::Postgres(_) => None,
        },
        KNOWLEDGE_DB | chroma_dir::MEMBER => Some(Dest::File(
            stage_dir.join(format!("restore-{}", member.replace('/', "-"))),
        )),
        m if chroma::is_member(m) => Some(Dest::File(
            stage_dir.join(format!("restore-{}", m.replace('/', "-"))),
        )),
        TARGET_DB => Some(Dest::File(s.target_db_path.clone())),
        TARGET_MANIFEST => Some(Dest::Memory),
        _ => None,
    }
}

/// The counts the manifest records for the component a member belongs to.
fn expected_counts<'a>(manifest: &'a Manifest, member: &str) -> Option<&'a BTreeMap<String, u64>> {
    manifest
        .components
        .values()
        .find(|c| c.members.iter().any(|m| m == member))
        .map(|c| &c.counts)
}

/// Deep check of a staged member, against the counts its component has in the manifest: SQLite
/// `integrity_check` and rows per table, every data block of a pg dump and its rows per table,
/// every line of a Chroma export and its records per collection.
pub fn check_staged_file(manifest: &Manifest, member: &str, path: &Path) -> Result<()> {
    let empty = BTreeMap::new();
    let counts = expected_counts(manifest, member).unwrap_or(&empty);
    if member == chroma_dir::MEMBER {
        chroma_dir::check_member(path, counts)
    } else if member.ends_with(".db") {
        sqlite::integrity_check(path)?;
        // The golden copy's "count" is its size, already checked with its SHA-256.
        if member == TARGET_DB || counts.is_empty() {
            return Ok(());
        }
        sqlite::compare_counts(&sqlite::counts_of(path)?, counts)
    } else if member.ends_with(".dump") {
        pg_data::compare(&pg_data::read_all(pg_data::Input::File(path))?, counts)
    } else if chroma::is_member(member) {
        chroma::check_member(member, path, counts)
    } else {
        Ok(())
    }
}

/// [`check_staged_file`] of a member that is not staged ([`Dest::Stream`]), as it streams past.
pub fn check_stream(manifest: &Manifest, member: &str, data: &mut dyn std::io::Read) -> Result<()> {
    let empty = BTreeMap::new();
    let counts = expected_counts(manifest, member).unwrap_or(&empty);
    if member.ends_with(".dump") {
        pg_data::compare(&pg_data::read_all(pg_data::Input::Stream(data))?, counts)
    } else {
        Err(anyhow::anyhow!("{member} cannot be checked as a stream"))
    }
}

pub fn check_staged_bytes(member: &str, bytes: &[u8]) -> Result<()> {
    if member == TARGET_MANIFEST {
        serde_json::from_slice::<crate::golden_copy::manifest::Manifest>(bytes).map_err(|e| {
            fail(
                "archive_corrupt",
                format!("{member} is not a golden-copy manifest: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Why this configuration cannot take the archived component (checked before anything changes).
pub fn incompatibility(
    c: Component,
    archived: &ComponentInfo,
    s: &Settings,
) -> Option<anyhow::Error> {
    match c {
        Component::System if archived.kind != s.database_url.kind() => Some(fail(
            "archive_incompatible",
            format!(
                "the archive holds a {} system DB but DATABASE_URL ({}) is {}; restore into a matching configuration",
                archived.kind,
                s.database_url.masked(),
                s.database_url.kind()
            ),
        )),
        Component::Knowledge => match Store::from_settings(s) {
            Store::Chroma { url } if archived.kind != "chroma" => Some(fail(
                "archive_incompatible",
                format!(
                    "the archive holds a {} knowledge store but CHROMA_URL is set ({}); restore it without CHROMA_URL \
                     into the Chroma directory (CHROMA_PATH), then copy it with `vannactl train push`",
                    archived.kind,
                    mask_url(&url)
                ),
            )),
            // Reachable, and the tenant/database exist: checked before anything changes.
            Store::Chroma { url } => chroma::connect(s, &url).err(),
            Store::Directory(_) if archived.kind != chroma_dir::KIND && archived.kind != "embedded" => Some(fail(
                "archive_incompatible",
                format!(
                    "the archive holds a {} knowledge store but this configuration uses the Chroma directory CHROMA_PATH; \
                     set CHROMA_URL (and CHROMA_TENANT/CHROMA_DATABASE) to restore it",
                    archived.kind
                ),
            )),
            _ => None,
        },
        _ => None,
    }
}

/// Members staged for a component, taken out of the staging maps.
pub struct StagedComponent {
    pub files: BTreeMap<String, TempFile>,
    pub memory: BTreeMap<String, Vec<u8>>,
    /// Members the deployment already holds byte for byte ([`in_place`]): kept as they are.
    pub in_place: std::collections::BTreeSet<String>,
}

/// Does the deployment already hold `member` with this SHA-256? Only the golden copy is looked
/// at: it is the large member that rarely changes, and its SHA-256 is known from its manifest
/// while the file's size, mtime and inode still match (else it is hashed).
pub fn in_place(member: &str, sha256: &str, s: &Settings) -> bool {
    member == TARGET_DB
        && !s.enable_target_db
        && s.target_db_path.is_file()
        && target::identify(&s.target_db_path).is_ok_and(|(_, sha, _)| sha == sha256)
}

impl StagedComponent {
    fn take(&mut self, member: &str) -> Result<TempFile> {
        self.files
            .remove(member)
            .with_context(|| format!("member {member} was not staged"))
    }
}

/// Put one component back from its staged members. All or nothing per component.
/// `before_change` runs before the change is made, or, for a PostgreSQL system DB restored in
/// one transaction, before that transaction commits; an error from it changes nothing.
pub fn apply(
    c: Component,
    mut staged: StagedComponent,
    s: &Settings,
    before_change: &dyn Fn() -> Result<()>,
) -> Result<()> {
    // PostgreSQL restores in one transaction and asks just before its COMMIT; the others are
    // one rename each, so they ask first.
    if !matches!(
        (c, &s.database_url),
        (Component::System, SystemDbUrl::Postgres(_))
    ) {
        before_change()?;
    }
    match c {
        Component::System => match &s.database_url {
            SystemDbUrl::Postgres(url) => {
                let pg = system_postgres::Pg::parse(url)?;
                let dump = staged.take(SYSTEM_PG)?;
                system_postgres::restore(&pg, &dump.path, before_change)
            }
            SystemDbUrl::Sqlite(p) => sqlite::apply(staged.take(SYSTEM_SQLITE)?, p),
        },
        Component::Knowledge => match Store::from_settings(s) {
            Store::Chroma { url } => chroma::apply(staged, s, &url),
            Store::Directory(_) => chroma_dir::apply(staged, s),
        },
        Component::Target => {
            let manifest = staged.memory.remove(TARGET_MANIFEST);
            if staged.in_place.contains(TARGET_DB) {
                return target::keep(manifest.as_deref(), &s.target_db_path);
            }
            let file = staged.take(TARGET_DB)?;
            target::apply(file, manifest.as_deref(), &s.target_db_path)
        }
    }
}

/// Rollback onto "there was nothing": remove what a restore created.
pub fn remove(c: Component, s: &Settings) -> Result<()> {
    match c {
        Component::System => match &s.database_url {
            SystemDbUrl::Sqlite(p) => sqlite::remove(p),
            SystemDbUrl::Postgres(_) => Err(fail(
                "rollback_impossible",
                "the safety backup has no PostgreSQL dump to roll back to",
            )),
        },
        Component::Knowledge => match Store::from_settings(s) {
            Store::Chroma { url } => chroma::remove(s, &url),
            Store::Directory(_) => chroma_dir::remove(s),
        },
        Component::Target => target::remove(&s.target_db_path),
    }
}

/// What is there now, for "current vs archived" (None: nothing there).
pub fn current_counts(c: Component, s: &Settings) -> Result<Option<BTreeMap<String, u64>>> {
    match c {
        Component::System => match &s.database_url {
            SystemDbUrl::Postgres(url) => Ok(Some(system_postgres::current_counts(
                &system_postgres::Pg::parse(url)?,
            )?)),
            SystemDbUrl::Sqlite(p) => {
                if !exists(p)? {
                    return Ok(None);
                }
                sqlite::counts_of(p).map(Some)
            }
        },
        Component::Knowledge => match Store::from_settings(s) {
            Store::Chroma { url } => chroma::counts(&chroma::connect(s, &url)?),
            Store::Directory(_) => chroma_dir::current_counts(s),
        },
        Component::Target => match std::fs::metadata(&s.target_db_path) {
            Ok(m) => Ok(Some([("bytes".to_string(), m.len())].into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot stat {}", s.target_db_path.display())),
        },
    }
}

/// Folders whose leftover temporary files a killed run may have left.
pub fn temp_dirs(s: &Settings) -> Vec<PathBuf> {
    let mut v = vec![s.backup_dir.clone()];
    if let SystemDbUrl::Sqlite(p) = &s.database_url {
        v.push(crate::fsutil::parent_dir(p));
    }
    v.push(crate::fsutil::parent_dir(&s.chroma_path));
    v.push(crate::fsutil::parent_dir(&s.target_db_path));
    v.sort();
    v.dedup();
    v
}

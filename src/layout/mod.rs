//! The deployment's layout: every place vannactl reads or writes, resolved once to its real
//! location, with the setting that names it. Two roles that share a file, or a role inside a folder
//! another role owns, are refused before anything is opened for writing: one wrong line in a `.env`
//! must not make the lock truncate the system DB or the golden copy replace it.

mod resolve;

pub use resolve::{identity, real_path};

use crate::config::{mask_url, BackupRepo, Settings, SystemDbUrl};
use anyhow::Result;
use serde::Serialize;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Extent {
    File,
    /// The role owns everything below the folder (a backup folder prunes, a stage folder clears).
    Folder,
}

/// One place and the setting that names it.
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    /// The variable (or flag) that names it.
    pub var: String,
    /// Its value as configured (URLs masked).
    pub value: String,
    pub what: &'static str,
    pub access: Access,
    pub extent: Extent,
    /// Real location: absolute, `..` and symlinks resolved.
    pub path: PathBuf,
    /// Files the role writes beside `path` (SQLite's `-wal`/`-shm`/`-journal`, the golden copy's
    /// manifest, the metrics file's lock), real locations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub siblings: Vec<PathBuf>,
}

impl Role {
    fn new(
        var: &str,
        value: String,
        what: &'static str,
        access: Access,
        extent: Extent,
        p: &Path,
    ) -> Self {
        Role {
            var: var.to_string(),
            value,
            what,
            access,
            extent,
            path: real_path(p),
            siblings: Vec::new(),
        }
    }

    fn with_suffixes(mut self, suffixes: &[&str]) -> Self {
        for s in suffixes {
            let mut p = self.path.clone().into_os_string();
            p.push(s);
            self.siblings.push(PathBuf::from(p));
        }
        self
    }

    fn files(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.path).chain(&self.siblings)
    }

    fn shown(&self) -> String {
        format!("{}={}", self.var, self.value)
    }
}

const SQLITE_SIDE_FILES: &[&str] = &["-wal", "-shm", "-journal"];

/// Two roles that must not meet.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub first: String,
    pub second: String,
    /// The shared file, or the file of one inside the other's folder.
    pub shared: PathBuf,
    pub message: String,
}

impl Conflict {
    pub fn involves(&self, var: &str) -> bool {
        self.first == var || self.second == var
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    pub roles: Vec<Role>,
    pub conflicts: Vec<Conflict>,
}

impl Layout {
    /// Every role of `s`; `env_file` is the configuration file that was read, if any.
    pub fn of(s: &Settings, env_file: Option<(&str, &Path)>) -> Layout {
        use Access::*;
        use Extent::*;
        let shown = |p: &Path| p.display().to_string();
        let mut roles = Vec::new();
        if let SystemDbUrl::Sqlite(p) = &s.database_url {
            roles.push(
                Role::new(
                    "DATABASE_URL",
                    s.database_url.masked(),
                    "system DB",
                    Write,
                    File,
                    p,
                )
                .with_suffixes(SQLITE_SIDE_FILES),
            );
        }
        roles.push(Role::new(
            "TARGET_DB_SOURCE",
            shown(&s.target_db_source),
            "golden source (never modified)",
            Read,
            File,
            &s.target_db_source,
        ));
        let mut copy = Role::new(
            "TARGET_DB_PATH",
            shown(&s.target_db_path),
            "golden copy",
            Write,
            File,
            &s.target_db_path,
        )
        .with_suffixes(SQLITE_SIDE_FILES);
        copy.siblings
            .push(real_path(&crate::golden_copy::manifest::path_for(
                &s.target_db_path,
            )));
        roles.push(copy);
        roles.push(
            Role::new(
                "KNOWLEDGE_DB_PATH",
                shown(&s.knowledge_db_path),
                "former knowledge store (converted, then kept as .bak)",
                Write,
                File,
                &s.knowledge_db_path,
            )
            .with_suffixes(SQLITE_SIDE_FILES),
        );
        if s.chroma_url.is_none() {
            let mut dir = Role::new(
                "CHROMA_PATH",
                shown(&s.chroma_path),
                "Chroma persistent directory",
                Write,
                Folder,
                &s.chroma_path,
            );
            // Its database by name too, so a hard link of it under another setting is caught.
            dir.siblings.push(real_path(
                &s.chroma_path
                    .join(crate::knowledge::stores::persistent::DB_FILE),
            ));
            roles.push(dir);
        }
        roles.push(Role::new(
            "LOCK_PATH",
            shown(&s.lock_path),
            "lock file",
            Write,
            File,
            &s.lock_path,
        ));
        roles.push(Role::new(
            "LOG_DIR",
            shown(&s.log_dir),
            "log file",
            Write,
            File,
            &s.log_dir.join(crate::logging::LOG_FILE),
        ));
        if let Some(m) = &s.metrics_file {
            roles.push(
                Role::new("METRICS_FILE", shown(m), "metrics file", Write, File, m)
                    .with_suffixes(&[".lock"]),
            );
        }
        match &s.backup_repo {
            BackupRepo::Local(d) => roles.push(Role::new(
                "BACKUP_DIR",
                shown(d),
                "backup folder",
                Write,
                Folder,
                d,
            )),
            BackupRepo::S3 { .. } | BackupRepo::Restic(_) => roles.push(Role::new(
                "BACKUP_STAGE_DIR",
                shown(&s.backup_dir),
                "backup staging folder",
                Write,
                Folder,
                &s.backup_dir,
            )),
        }
        roles.push(Role::new(
            "ONTOLOGY_DIR",
            shown(&s.ontology_dir),
            "ontology folder",
            Read,
            Folder,
            &s.ontology_dir,
        ));
        if let Some(d) = &s.embedding_model_dir {
            roles.push(Role::new(
                "EMBEDDING_MODEL_DIR",
                shown(d),
                "embedding model folder",
                Read,
                Folder,
                d,
            ));
        }
        for (var, p) in [
            ("BACKUP_AGE_IDENTITY_FILE", &s.backup_age_identity_file),
            ("BACKUP_AGE_RECIPIENTS_FILE", &s.backup_age_recipients_file),
        ] {
            if let Some(p) = p {
                roles.push(Role::new(var, shown(p), "age key file", Read, File, p));
            }
        }
        if let Some((name, p)) = env_file {
            roles.push(Role::new(
                name,
                shown(p),
                "configuration file",
                Read,
                File,
                p,
            ));
        }
        let mut conflicts = Vec::new();
        for (i, a) in roles.iter().enumerate() {
            for b in &roles[i + 1..] {
                if let Some(c) = conflict(a, b).or_else(|| conflict(b, a)) {
                    conflicts.push(c);
                }
            }
        }
        conflicts.extend(same_database(s));
        conflicts.extend(roles.iter().filter_map(wrong_kind));
        Layout { roles, conflicts }
    }

    /// Exit 2 naming the first conflict (and how many more there are).
    pub fn check(&self) -> Result<()> {
        let Some(first) = self.conflicts.first() else {
            return Ok(());
        };
        let more = match self.conflicts.len() - 1 {
            0 => String::new(),
            n => format!(" ({n} more: `vannactl config` lists them)"),
        };
        Err(crate::error::Classified::new(
            "layout_conflict",
            crate::error::ExitStatus::Usage,
            format!("{}{more}; nothing was changed", first.message),
        )
        .into())
    }

    /// Whether the setting `var` takes part in a conflict.
    pub fn conflicted(&self, var: &str) -> bool {
        self.conflicts.iter().any(|c| c.involves(var))
    }
}

/// A place that exists but is not what its role needs (a FIFO would block the run, a folder where a
/// file belongs cannot be written): refused like a collision, naming the setting alone.
fn wrong_kind(r: &Role) -> Option<Conflict> {
    let meta = std::fs::metadata(&r.path).ok()?;
    let what = match r.extent {
        Extent::File if !meta.is_file() => "a regular file",
        Extent::Folder if !meta.is_dir() => "a folder",
        _ => return None,
    };
    let is = if meta.is_dir() {
        "a folder"
    } else if meta.file_type().is_fifo() {
        "a FIFO"
    } else if meta.is_file() {
        "a file"
    } else {
        "a device or socket"
    };
    Some(Conflict {
        first: r.var.clone(),
        second: r.var.clone(),
        shared: r.path.clone(),
        message: format!(
            "{} ({}) is {is} at {}, not {what}; point {} at {what} of its own",
            r.shown(),
            r.what,
            r.path.display(),
            r.var,
            what = what
        ),
    })
}

/// How `b` collides with `a` (seen from `a`'s side), if it does.
fn conflict(a: &Role, b: &Role) -> Option<Conflict> {
    if a.access == Access::Read && b.access == Access::Read {
        return None;
    }
    let make = |shared: &Path, how: String| Conflict {
        first: a.var.clone(),
        second: b.var.clone(),
        shared: shared.to_path_buf(),
        message: how,
    };
    for fa in a.files() {
        for fb in b.files() {
            let same = fa == fb || identity(fa).is_some_and(|i| identity(fb) == Some(i));
            if same {
                return Some(make(
                    fb,
                    format!(
                        "{} ({}) and {} ({}) name the same file {}; give each its own file",
                        a.shown(),
                        a.what,
                        b.shown(),
                        b.what,
                        fb.display()
                    ),
                ));
            }
        }
    }
    for fb in b.files() {
        if fb == &a.path || !fb.starts_with(&a.path) {
            continue;
        }
        let how = match (a.extent, a.access) {
            (Extent::Folder, Access::Write) => format!(
                "{} ({}) owns the folder {}, which holds {} ({}) at {}; give each its own place",
                a.shown(),
                a.what,
                a.path.display(),
                b.shown(),
                b.what,
                fb.display()
            ),
            (Extent::File, _) => format!(
                "{} ({}) is the file {}, but {} ({}) uses it as a folder ({}); give each its own place",
                a.shown(),
                a.what,
                a.path.display(),
                b.shown(),
                b.what,
                fb.display()
            ),
            // A reader of a folder takes only its own files from it.
            (Extent::Folder, Access::Read) => continue,
        };
        return Some(make(fb, how));
    }
    None
}

/// An external target database that is the system DB itself: the app's LLM would read users and
/// audit rows, and a restore of the system DB would rewrite the business data.
fn same_database(s: &Settings) -> Option<Conflict> {
    let (SystemDbUrl::Postgres(system), true, Some(target)) = (
        &s.database_url,
        s.enable_target_db,
        s.target_database_url.as_deref(),
    ) else {
        return None;
    };
    let (a, b) = (pg_identity(system)?, pg_identity(target)?);
    (a == b).then(|| Conflict {
        first: "DATABASE_URL".into(),
        second: "TARGET_DATABASE_URL".into(),
        shared: PathBuf::from(format!("{}:{}/{}", a.0, a.1, a.2)),
        message: format!(
            "DATABASE_URL={} (system DB) and TARGET_DATABASE_URL={} (target DB) name the same database \
             {} on {}:{}; the target must be the business database, not the system DB",
            mask_url(system),
            mask_url(target),
            a.2,
            a.0,
            a.1
        ),
    })
}

/// Whether two PostgreSQL URLs name the same database (host, port, database; libpq's defaults).
pub fn same_postgres_database(a: &str, b: &str) -> bool {
    matches!((pg_identity(a), pg_identity(b)), (Some(x), Some(y)) if x == y)
}

/// `(host, port, database)` of a PostgreSQL URL with libpq's defaults (port 5432, database = user);
/// loopback spellings are one host.
fn pg_identity(raw: &str) -> Option<(String, u16, String)> {
    let u = url::Url::parse(raw).ok()?;
    if !matches!(u.scheme(), "postgres" | "postgresql") {
        return None;
    }
    let mut host = u.host_str().unwrap_or("localhost").to_ascii_lowercase();
    if matches!(
        host.as_str(),
        "localhost" | "127.0.0.1" | "[::1]" | "::1" | ""
    ) {
        host = "localhost".into();
    }
    let port = u.port().unwrap_or(5432);
    let db = u.path().trim_start_matches('/');
    let db = if db.is_empty() { u.username() } else { db };
    Some((host, port, db.to_string()))
}

#[cfg(test)]
mod tests;

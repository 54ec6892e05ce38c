//! Restore drills (`backup verify --restore-test`): everything `verify` does, then each component
//! is restored into a scratch place and compared with the manifest: the PostgreSQL dump into a
//! temporary database (created and always dropped, or a given empty one), SQLite members as the
//! staged temporary files, a Chroma export into temporary collections (deleted after). Row counts
//! per table and records per collection must match, and the restored system DB must pass the same
//! schema check as `init --check`. The live components are never touched.

use super::components::knowledge::Store;
use super::components::{self, chroma, sqlite, system_postgres};
use super::manifest::{Component, ComponentInfo, State};
use super::repo::ArchiveRef;
use super::verify::{self, Verified};
use crate::config::{mask_url, Settings, SystemDbUrl};
use crate::error::{fail, message};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

pub struct Options {
    pub archive: ArchiveRef,
    /// An empty PostgreSQL database to restore into instead of creating `vannactl_drill_<pid>`.
    pub drill_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillResult {
    /// Restored, and every count and check matches the manifest.
    Ok,
    /// Restored, but a count or the schema differs from the manifest.
    Mismatch,
    /// Could not be restored into the scratch place.
    Failed,
    /// The archive does not hold it.
    NotInArchive,
}

/// One table or collection: what the manifest says and what the restored copy holds.
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub name: String,
    pub archived: Option<u64>,
    pub restored: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentDrill {
    pub component: Component,
    pub kind: String,
    pub result: DrillResult,
    /// Where it was restored (masked URL, temporary file, collection names).
    pub scratch: Option<String>,
    pub counts: Vec<Count>,
    /// What differs or why it failed.
    pub problems: Vec<String>,
    pub duration_ms: u128,
}

#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub verified: Verified,
    pub components: Vec<ComponentDrill>,
    pub ok: bool,
    pub duration_ms: u128,
}

impl Drill {
    /// The first problem, naming the component, for the error line.
    pub fn first_problem(&self) -> Option<String> {
        self.components.iter().find_map(|c| {
            c.problems
                .first()
                .map(|p| format!("{} ({}): {p}", c.component.as_str(), c.kind))
        })
    }
}

pub fn run(s: &Settings, opts: &Options) -> Result<Drill> {
    let started = Instant::now();
    // Scratch places first: a missing privilege or server is reported before reading gigabytes.
    if opts.archive.encrypted() && s.backup_age_identity_file.is_none() {
        return Err(crate::error::usage(format!(
            "{} is age-encrypted: a restore drill needs its contents, so set BACKUP_AGE_IDENTITY_FILE \
             to the identity that decrypts it (plain `backup verify` checks the ciphertext without it)",
            opts.archive.location()
        )));
    }
    let head = opts.archive.read_manifest(s)?;
    let kind = |c| {
        head.component(c)
            .filter(|i| i.state == State::Present)
            .map(|i| i.kind.as_str())
    };
    let scratch_db = match kind(Component::System) {
        Some("postgres") => Some(ScratchDb::prepare(s, opts)?),
        _ => None,
    };
    let chroma_url = match (kind(Component::Knowledge), Store::from_settings(s)) {
        (Some("chroma"), Store::Chroma { url }) => Some(url),
        (Some("chroma"), _) => {
            return Err(crate::error::usage(
                "the archive holds a Chroma knowledge base: set CHROMA_URL (and CHROMA_TENANT/\
                 CHROMA_DATABASE) to a Chroma server the drill may create temporary collections on",
            ))
        }
        _ => None,
    };
    let scratch = Scratch {
        db: scratch_db,
        chroma_url,
    };
    let (verified, manifest, mut staged) = verify::verify_ref_staged(s, &opts.archive)?;
    let mut out = Vec::new();
    for c in Component::ALL {
        let t = Instant::now();
        let info = manifest.component(c);
        let mut d = ComponentDrill {
            component: c,
            kind: info.map(|i| i.kind.clone()).unwrap_or_default(),
            result: DrillResult::NotInArchive,
            scratch: None,
            counts: Vec::new(),
            problems: Vec::new(),
            duration_ms: 0,
        };
        if let Some(info) = info.filter(|i| i.state == State::Present) {
            let part = staged.take(&manifest, c);
            match drill_component(c, info, part, s, &scratch) {
                Ok((scratch, restored, problems)) => {
                    d.scratch = Some(scratch);
                    let mut problems = problems;
                    d.counts = compare(&info.counts, &restored, &mut problems);
                    d.result = if problems.is_empty() {
                        DrillResult::Ok
                    } else {
                        DrillResult::Mismatch
                    };
                    d.problems = problems;
                }
                Err(e) => {
                    d.result = DrillResult::Failed;
                    d.problems.push(message(&e));
                }
            }
        }
        d.duration_ms = t.elapsed().as_millis();
        out.push(d);
    }
    drop(staged);
    let ok = out
        .iter()
        .all(|d| matches!(d.result, DrillResult::Ok | DrillResult::NotInArchive));
    Ok(Drill {
        verified,
        components: out,
        ok,
        duration_ms: started.elapsed().as_millis(),
    })
}

/// Archived vs restored counts, every name of either side; differences go into `problems`.
fn compare(
    archived: &BTreeMap<String, u64>,
    restored: &BTreeMap<String, u64>,
    problems: &mut Vec<String>,
) -> Vec<Count> {
    let mut names: Vec<&String> = archived.keys().chain(restored.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let c = Count {
                name: n.clone(),
                archived: archived.get(n).copied(),
                restored: restored.get(n).copied(),
            };
            if c.archived != c.restored {
                let show = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
                problems.push(format!(
                    "{n}: the manifest says {} but the restored copy holds {}",
                    show(c.archived),
                    show(c.restored)
                ));
            }
            c
        })
        .collect()
}

type Restored = (String, BTreeMap<String, u64>, Vec<String>);

fn drill_component(
    c: Component,
    info: &ComponentInfo,
    mut part: components::StagedComponent,
    s: &Settings,
    scratch: &Scratch,
) -> Result<Restored> {
    let file = |part: &mut components::StagedComponent, m: &str| {
        part.files
            .remove(m)
            .with_context(|| format!("member {m} was not staged"))
    };
    match (c, info.kind.as_str()) {
        (Component::System, "postgres") => {
            let dump = file(&mut part, components::SYSTEM_PG)?;
            let db = scratch
                .db
                .as_ref()
                .context("no scratch database was prepared")?;
            postgres_drill(s, db, &dump.path, info)
        }
        (Component::System, "sqlite") => {
            let db = file(&mut part, components::SYSTEM_SQLITE)?;
            let url = SystemDbUrl::Sqlite(db.path.clone());
            let problems = schema_problems(s, url, info)?;
            Ok((
                db.path.display().to_string(),
                sqlite::counts_of(&db.path)?,
                problems,
            ))
        }
        (Component::Knowledge, "embedded") => {
            let db = file(&mut part, components::KNOWLEDGE_DB)?;
            Ok((
                db.path.display().to_string(),
                sqlite::counts_of(&db.path)?,
                Vec::new(),
            ))
        }
        (Component::Knowledge, components::chroma_dir::KIND) => {
            let db = file(&mut part, components::chroma_dir::MEMBER)?;
            // The member is the database a restore puts in place: every record read back with
            // its vector, as `train` reads the directory.
            let conn = crate::target::open_readonly(&db.path)?;
            let e = crate::knowledge::stores::persistent::export(
                &conn,
                &crate::fsutil::parent_dir(&db.path),
            )?;
            Ok((db.path.display().to_string(), e.counts(), Vec::new()))
        }
        (Component::Knowledge, "chroma") => {
            let url = scratch.chroma_url.as_deref().context("no Chroma server")?;
            let (names, counts) = chroma::drill(s, url, part)?;
            Ok((
                format!("{} on {}", names.join(", "), mask_url(url)),
                counts,
                Vec::new(),
            ))
        }
        (Component::Target, _) => {
            let db = file(&mut part, components::TARGET_DB)?;
            // integrity_check already passed while staging; the size is the manifest's count.
            let size = std::fs::metadata(&db.path)?.len();
            Ok((
                db.path.display().to_string(),
                [("bytes".to_string(), size)].into(),
                Vec::new(),
            ))
        }
        (c, kind) => Err(fail(
            "archive_invalid",
            format!("unknown {} kind {kind:?} in the manifest", c.as_str()),
        )),
    }
}

/// The checks `init --check` runs, on the restored copy; plus the manifest's migration version.
fn schema_problems(s: &Settings, url: SystemDbUrl, info: &ComponentInfo) -> Result<Vec<String>> {
    let mut scratch = s.clone();
    scratch.database_url = url;
    // Demo tables are checked when present: the app may have dropped them before the backup.
    scratch.seed_demo_data = false;
    let check = crate::init::check(&scratch)?;
    let mut problems: Vec<String> = check
        .schema
        .drift
        .iter()
        .map(|d| format!("schema drift: {d}"))
        .collect();
    let restored_version = Some(check.schema.version.to_string());
    if info.migration_version.is_some() && info.migration_version != restored_version {
        problems.push(format!(
            "migration version: the manifest says {} but the restored copy is at {}",
            info.migration_version.as_deref().unwrap_or("none"),
            check.schema.version
        ));
    }
    Ok(problems)
}

fn postgres_drill(
    s: &Settings,
    scratch: &ScratchDb,
    dump: &Path,
    info: &ComponentInfo,
) -> Result<Restored> {
    let pg = system_postgres::Pg::parse(&scratch.url)?;
    system_postgres::restore(&pg, dump, &|| Ok(()))
        .with_context(|| format!("restoring the dump into the scratch database {}", pg.masked))?;
    let counts = system_postgres::current_counts(&pg)?;
    let problems = schema_problems(s, SystemDbUrl::Postgres(scratch.url.clone()), info)?;
    Ok((pg.masked.clone(), counts, problems))
}

/// Where the drill may restore to, prepared before the archive is read.
struct Scratch {
    db: Option<ScratchDb>,
    chroma_url: Option<String>,
}

/// The database a drill restores into: created for the drill and always dropped, or given by the
/// operator (must be empty; left in place, holding the restored copy).
struct ScratchDb {
    url: String,
    /// (admin URL, name) when the drill created it.
    created: Option<(String, String)>,
}

impl ScratchDb {
    fn prepare(s: &Settings, opts: &Options) -> Result<ScratchDb> {
        match (&opts.drill_url, &s.database_url) {
            (Some(url), SystemDbUrl::Postgres(system))
                if crate::layout::same_postgres_database(url, system) =>
            {
                Err(crate::error::usage(format!(
                    "--drill-url {} is the system DB itself (DATABASE_URL={}); a drill replaces \
                     everything in its database: give an empty database created for drills",
                    mask_url(url),
                    mask_url(system)
                )))
            }
            (Some(url), _) => ScratchDb::given(url),
            (None, SystemDbUrl::Postgres(url)) => ScratchDb::create(url),
            (None, SystemDbUrl::Sqlite(_)) => Err(crate::error::usage(
                "the archive holds a PostgreSQL dump but DATABASE_URL is SQLite: pass --drill-url \
                 postgres://USER@HOST/EMPTY_DB (an empty database the drill may fill), or set \
                 DATABASE_URL to the PostgreSQL server",
            )),
        }
    }

    fn create(server_url: &str) -> Result<ScratchDb> {
        let masked = mask_url(server_url);
        let name = format!("vannactl_drill_{}", std::process::id());
        let mut url = url::Url::parse(server_url).map_err(|e| {
            crate::error::usage(format!("DATABASE_URL {masked} does not parse: {e}"))
        })?;
        let mut client = system_postgres::Pg::parse(server_url)?.connect()?;
        // A drill killed earlier under the same pid may have left it.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .with_context(|| {
                format!("cannot drop the stale scratch database {name} on {masked}")
            })?;
        if let Err(e) = client.batch_execute(&format!("CREATE DATABASE {name}")) {
            let denied = e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE);
            if denied {
                let role: String = client
                    .query_one("SELECT current_user::text", &[])
                    .map(|r| r.get(0))
                    .unwrap_or_else(|_| "this role".into());
                return Err(fail(
                    "drill_privilege",
                    format!(
                        "the role {role} on {masked} lacks the CREATEDB privilege the drill needs to create \
                         its scratch database {name}; grant it (ALTER ROLE {role} CREATEDB) or pass \
                         --drill-url with an empty database the drill may use"
                    ),
                ));
            }
            return Err(anyhow::Error::new(e).context(format!(
                "cannot create the scratch database {name} on {masked}"
            )));
        }
        url.set_path(&format!("/{name}"));
        Ok(ScratchDb {
            url: url.to_string(),
            created: Some((server_url.to_string(), name)),
        })
    }

    fn given(url: &str) -> Result<ScratchDb> {
        let pg = system_postgres::Pg::parse(url)?;
        let mut client = pg.connect()?;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                   AND d.objid = c.oid AND d.deptype = 'e')",
                &[],
            )?
            .get(0);
        if n > 0 {
            return Err(crate::error::usage(format!(
                "the drill database {} is not empty ({n} tables, views or sequences); a drill replaces \
                 everything in it, so it must be an empty database created for drills",
                pg.masked
            )));
        }
        Ok(ScratchDb {
            url: url.to_string(),
            created: None,
        })
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let Some((admin, name)) = &self.created else {
            return;
        };
        let dropped = system_postgres::Pg::parse(admin)
            .and_then(|pg| pg.connect())
            .and_then(|mut c| {
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(Into::into)
            });
        if let Err(e) = dropped {
            tracing::warn!(database = %name, error = %message(&e), "cannot drop the drill's scratch database; drop it by hand");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: &[(&str, u64)]) -> BTreeMap<String, u64> {
        v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn every_table_of_either_side_is_compared() {
        let mut problems = Vec::new();
        let counts = compare(
            &map(&[("users", 2), ("queries", 5), ("gone", 1)]),
            &map(&[("users", 2), ("queries", 4), ("new", 0)]),
            &mut problems,
        );
        let names: Vec<&str> = counts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["gone", "new", "queries", "users"]);
        assert_eq!(
            problems,
            [
                "gone: the manifest says 1 but the restored copy holds none",
                "new: the manifest says none but the restored copy holds 0",
                "queries: the manifest says 5 but the restored copy holds 4",
            ]
        );
        let mut none = Vec::new();
        compare(&map(&[("a", 1)]), &map(&[("a", 1)]), &mut none);
        assert!(none.is_empty());
    }
}

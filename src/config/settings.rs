//! Typed, validated settings built from resolved variables.

use super::mask::{mask_secret, mask_url};
use super::resolve::{Resolved, Sources};
use super::vars::VarKind;
use crate::error::usage;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Production,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Development => "development",
            Profile::Production => "production",
        }
    }
}

/// Where the system DB lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemDbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl SystemDbUrl {
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(SystemDbUrl::Postgres(raw.to_string()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(usage(
                    "DATABASE_URL=sqlite:// has no path; use sqlite://data/system.db",
                ));
            }
            return Ok(SystemDbUrl::Sqlite(PathBuf::from(path)));
        }
        Err(usage(format!(
            "DATABASE_URL={} is not supported; use postgres://user:pass@host:port/db or sqlite://path",
            mask_url(raw)
        )))
    }

    /// For display and logs: password masked.
    pub fn masked(&self) -> String {
        match self {
            SystemDbUrl::Postgres(u) => mask_url(u),
            SystemDbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SystemDbUrl::Postgres(_) => "postgres",
            SystemDbUrl::Sqlite(_) => "sqlite",
        }
    }
}

/// Parse a boolean the way every vannactl flag variable does.
pub fn parse_bool(name: &str, raw: &str) -> Result<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(usage(format!(
            "{name}={raw:?} is not a boolean; use true/false, 1/0 or yes/no"
        ))),
    }
}

fn parse_count(name: &str, raw: &str) -> Result<u32> {
    raw.trim()
        .parse::<u32>()
        .map_err(|_| usage(format!("{name}={raw:?} is not a whole number >= 0")))
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Profile,
    pub database_url: SystemDbUrl,
    pub enable_target_db: bool,
    pub target_database_url: Option<String>,
    pub target_db_source: PathBuf,
    pub target_db_path: PathBuf,
    pub auto_train_chroma: bool,
    pub seed_demo_data: bool,
    pub init_admin_username: Option<String>,
    pub init_admin_password: Option<String>,
    pub backup_dir: PathBuf,
    pub backup_retention_count: u32,
    pub chroma_url: Option<String>,
    pub chroma_tenant: String,
    pub chroma_database: String,
    pub chroma_auth_token: Option<String>,
    pub knowledge_db_path: PathBuf,
    pub embedding_model_dir: Option<PathBuf>,
    pub train_sample_values: bool,
    pub ontology_dir: PathBuf,
    pub log_dir: PathBuf,
    pub lock_path: PathBuf,
    /// Every variable with its raw value and source, for `vannactl config`.
    pub resolved: BTreeMap<&'static str, Resolved>,
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Settings {
    pub fn load(sources: &Sources) -> Result<Settings> {
        Self::from_resolved(sources.resolve()?)
    }

    pub fn from_resolved(resolved: BTreeMap<&'static str, Resolved>) -> Result<Settings> {
        let get = |n: &str| resolved.get(n).map(|r| r.value.as_str()).unwrap_or("");
        let flag = |n: &str| parse_bool(n, get(n));
        // resolve() has already rejected unknown profiles.
        let profile = match get("APP_ENV").trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Profile::Production,
            _ => Profile::Development,
        };
        let enable_target_db = flag("ENABLE_TARGET_DB")?;
        let target_database_url = non_empty(get("TARGET_DATABASE_URL"));
        if enable_target_db && target_database_url.is_none() {
            return Err(usage(
                "ENABLE_TARGET_DB is true but TARGET_DATABASE_URL is empty; set the URL or set ENABLE_TARGET_DB=false",
            ));
        }
        let chroma_url = non_empty(get("CHROMA_URL"));
        if let Some(u) = &chroma_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(usage(format!(
                    "CHROMA_URL={} must start with http:// or https:// (or be empty for the embedded store)",
                    mask_url(u)
                )));
            }
        }
        let path = |n: &str| -> Result<PathBuf> {
            non_empty(get(n))
                .map(PathBuf::from)
                .ok_or_else(|| usage(format!("{n} is empty; give it a path")))
        };
        Ok(Settings {
            profile,
            database_url: SystemDbUrl::parse(get("DATABASE_URL"))?,
            enable_target_db,
            target_database_url,
            target_db_source: path("TARGET_DB_SOURCE")?,
            target_db_path: path("TARGET_DB_PATH")?,
            auto_train_chroma: flag("AUTO_TRAIN_CHROMA")?,
            seed_demo_data: flag("SEED_DEMO_DATA")?,
            init_admin_username: non_empty(get("INIT_ADMIN_USERNAME")),
            init_admin_password: {
                let p = get("INIT_ADMIN_PASSWORD");
                (!p.is_empty()).then(|| p.to_string())
            },
            backup_dir: path("BACKUP_DIR")?,
            backup_retention_count: parse_count(
                "BACKUP_RETENTION_COUNT",
                get("BACKUP_RETENTION_COUNT"),
            )?,
            chroma_url,
            chroma_tenant: non_empty(get("CHROMA_TENANT"))
                .unwrap_or_else(|| "default_tenant".into()),
            chroma_database: non_empty(get("CHROMA_DATABASE"))
                .unwrap_or_else(|| "default_database".into()),
            chroma_auth_token: non_empty(get("CHROMA_AUTH_TOKEN")),
            knowledge_db_path: path("KNOWLEDGE_DB_PATH")?,
            embedding_model_dir: non_empty(get("EMBEDDING_MODEL_DIR")).map(PathBuf::from),
            train_sample_values: flag("TRAIN_SAMPLE_VALUES")?,
            ontology_dir: path("ONTOLOGY_DIR")?,
            log_dir: path("LOG_DIR")?,
            lock_path: path("LOCK_PATH")?,
            resolved,
        })
    }

    /// `(name, display value, source)` for every variable, secrets masked.
    pub fn display_rows(&self) -> Vec<(&'static str, String, String)> {
        self.resolved
            .values()
            .map(|r| {
                let shown = match r.spec.kind {
                    VarKind::Url => mask_url(&r.value),
                    VarKind::Secret => mask_secret(&r.value),
                    _ => r.value.clone(),
                };
                (r.spec.name, shown, r.source.to_string())
            })
            .collect()
    }

    pub fn is_production(&self) -> bool {
        self.profile == Profile::Production
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)], flags: &[(&str, &str)]) -> Result<Settings> {
        let sources = Sources {
            flags: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            env_file: None,
            no_dotenv: true,
        };
        Settings::load(&sources)
    }

    #[test]
    fn development_defaults() {
        let s = load(&[], &[]).unwrap();
        assert_eq!(s.profile, Profile::Development);
        assert!(s.seed_demo_data && !s.enable_target_db && !s.auto_train_chroma);
        assert_eq!(s.database_url, SystemDbUrl::Sqlite("data/system.db".into()));
        assert_eq!(s.backup_retention_count, 7);
    }

    #[test]
    fn production_flips_feature_defaults() {
        let s = load(
            &[
                ("APP_ENV", "production"),
                ("TARGET_DATABASE_URL", "postgres://r@h/b"),
            ],
            &[],
        )
        .unwrap();
        assert!(!s.seed_demo_data && s.enable_target_db && s.auto_train_chroma);
    }

    #[test]
    fn flag_beats_env() {
        let s = load(&[("BACKUP_DIR", "/env")], &[("BACKUP_DIR", "/flag")]).unwrap();
        assert_eq!(s.backup_dir, PathBuf::from("/flag"));
        assert_eq!(s.resolved["BACKUP_DIR"].source, crate::config::Source::Flag);
    }

    #[test]
    fn booleans_strict() {
        for ok in ["true", "1", "YES", "no", "0", "False"] {
            assert!(parse_bool("X", ok).is_ok(), "{ok}");
        }
        let err = load(&[("SEED_DEMO_DATA", "maybe")], &[]).unwrap_err();
        assert!(
            err.to_string().contains("SEED_DEMO_DATA=\"maybe\""),
            "{err}"
        );
        assert_eq!(
            crate::error::classify(&err).1,
            crate::error::ExitStatus::Usage
        );
    }

    #[test]
    fn bad_urls_rejected_and_masked() {
        let err = load(&[("DATABASE_URL", "mysql://u:topsecret@h/d")], &[]).unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
        assert!(load(&[("CHROMA_URL", "localhost:8000")], &[]).is_err());
        assert!(load(&[("APP_ENV", "staging")], &[]).is_err());
        assert!(load(&[("BACKUP_RETENTION_COUNT", "-1")], &[]).is_err());
    }

    #[test]
    fn display_masks_secrets() {
        let s = load(
            &[
                ("DATABASE_URL", "postgres://app:pw123@db/app"),
                ("INIT_ADMIN_PASSWORD", "very-secret-pass"),
            ],
            &[],
        )
        .unwrap();
        let rows = format!("{:?}", s.display_rows());
        assert!(
            !rows.contains("pw123") && !rows.contains("very-secret-pass"),
            "{rows}"
        );
        assert!(rows.contains("postgres://app:****@db/app"));
    }
}

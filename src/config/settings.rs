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

/// Where backup archives live: `BACKUP_DIR` as a folder, `s3://BUCKET/PREFIX` or `restic:REPO`.
#[derive(Clone, PartialEq, Eq)]
pub enum BackupRepo {
    Local(PathBuf),
    /// `prefix` is empty or ends with `/`.
    S3 {
        bucket: String,
        prefix: String,
    },
    /// `restic:REPO`: anything restic accepts as a repository (a folder, `s3:`, `sftp:`, `rest:`).
    Restic(String),
}

impl BackupRepo {
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if let Some(repo) = raw.strip_prefix("restic:") {
            if repo.trim().is_empty() {
                return Err(usage(
                    "BACKUP_DIR=restic: names no repository; give restic:/srv/restic or restic:s3:http://host/bucket/prefix",
                ));
            }
            return Ok(BackupRepo::Restic(repo.trim().to_string()));
        }
        let Some(rest) = raw.strip_prefix("s3://") else {
            if raw.contains("://") {
                return Err(usage(format!(
                    "BACKUP_DIR={} is not supported; use a folder, s3://BUCKET/PREFIX or restic:REPO",
                    mask_url(raw)
                )));
            }
            return Ok(BackupRepo::Local(PathBuf::from(raw)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(usage(format!(
                "BACKUP_DIR={raw}: {bucket:?} is not a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
            return Err(usage(format!(
                "BACKUP_DIR={raw}: the prefix may not contain `.`, `..` or empty parts"
            )));
        }
        Ok(BackupRepo::S3 {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

// By hand so a password in a restic `rest:`/`s3:` URL never reaches a debug print.
impl std::fmt::Debug for BackupRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupRepo({self})")
    }
}

impl std::fmt::Display for BackupRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupRepo::Local(d) => write!(f, "{}", d.display()),
            BackupRepo::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            BackupRepo::Restic(r) => write!(f, "restic:{}", mask_url(r)),
        }
    }
}

/// S3 connection settings (the standard AWS variables; never from flags).
#[derive(Clone, Default)]
pub struct S3Settings {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: String,
    pub endpoint_url: Option<String>,
    pub force_path_style: bool,
    /// `AWS_CA_BUNDLE`: trusted for an https:// endpoint, with the system store and SSL_CERT_FILE.
    pub ca_bundle: Option<PathBuf>,
}

/// restic's own password variables, when given in `.env` (or the environment): vannactl hands
/// them to restic as restic reads them, and never shows them.
#[derive(Clone, Default)]
pub struct ResticSettings {
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ResticSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResticSettings")
            .field("password_file", &self.password_file)
            .field(
                "password_command",
                &self.password_command.as_ref().map(|_| "****"),
            )
            .field("password", &self.password.as_ref().map(|_| "****"))
            .finish()
    }
}

// Hand-written so the credentials never reach a debug print.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("force_path_style", &self.force_path_style)
            .field("ca_bundle", &self.ca_bundle)
            .finish_non_exhaustive()
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

/// `BACKUP_KEEP_*` with `BACKUP_RETENTION_COUNT` as the older name of `BACKUP_KEEP_LAST`. Empty
/// is unset; with no rule set at all, `BACKUP_RETENTION_COUNT`'s default (the newest 7) applies.
fn retention_policy(
    resolved: &BTreeMap<&'static str, Resolved>,
    profile: Profile,
) -> Result<crate::backup::retention::Policy> {
    let get = |n: &str| resolved.get(n).map(|r| r.value.as_str()).unwrap_or("");
    let set = |n: &str| -> Result<Option<u32>> {
        non_empty(get(n)).map(|v| parse_count(n, &v)).transpose()
    };
    let alias_default = resolved
        .get("BACKUP_RETENTION_COUNT")
        .is_some_and(|r| matches!(r.source, super::resolve::Source::Default(_)));
    let alias = if alias_default {
        None
    } else {
        set("BACKUP_RETENTION_COUNT")?
    };
    let last = match (set("BACKUP_KEEP_LAST")?, alias) {
        (Some(a), Some(b)) if a != b => {
            return Err(usage(format!(
                "BACKUP_KEEP_LAST={a} and BACKUP_RETENTION_COUNT={b} disagree (the latter is the older name of the former); set only BACKUP_KEEP_LAST"
            )))
        }
        (a, b) => a.or(b),
    };
    let policy = crate::backup::retention::Policy {
        last: last.unwrap_or(0),
        hourly: set("BACKUP_KEEP_HOURLY")?.unwrap_or(0),
        daily: set("BACKUP_KEEP_DAILY")?.unwrap_or(0),
        weekly: set("BACKUP_KEEP_WEEKLY")?.unwrap_or(0),
        monthly: set("BACKUP_KEEP_MONTHLY")?.unwrap_or(0),
        yearly: set("BACKUP_KEEP_YEARLY")?.unwrap_or(0),
    };
    let any_set = last.is_some()
        || [
            "BACKUP_KEEP_HOURLY",
            "BACKUP_KEEP_DAILY",
            "BACKUP_KEEP_WEEKLY",
            "BACKUP_KEEP_MONTHLY",
            "BACKUP_KEEP_YEARLY",
        ]
        .iter()
        .any(|n| non_empty(get(n)).is_some());
    if any_set {
        return Ok(policy);
    }
    let default = super::vars::spec("BACKUP_RETENTION_COUNT").map_or("7", |v| match profile {
        Profile::Development => v.development,
        Profile::Production => v.production,
    });
    Ok(crate::backup::retention::Policy::keep_last(parse_count(
        "BACKUP_RETENTION_COUNT",
        default,
    )?))
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
    /// A local folder: the archives themselves (local repository), or the staging folder for
    /// snapshots when `backup_repo` is S3 (`BACKUP_STAGE_DIR`).
    pub backup_dir: PathBuf,
    pub backup_repo: BackupRepo,
    /// Which archives to keep after a backup (`BACKUP_KEEP_*`, `BACKUP_RETENTION_COUNT`).
    pub backup_retention: crate::backup::retention::Policy,
    pub backup_age_recipients: Option<String>,
    pub backup_age_recipients_file: Option<PathBuf>,
    pub backup_age_identity_file: Option<PathBuf>,
    pub s3: S3Settings,
    pub restic: ResticSettings,
    pub chroma_url: Option<String>,
    pub chroma_tenant: String,
    pub chroma_database: String,
    pub chroma_auth_token: Option<String>,
    /// The Chroma persistent directory (the default knowledge store).
    pub chroma_path: PathBuf,
    /// The former embedded store file, read only to convert it.
    pub knowledge_db_path: PathBuf,
    pub embedding_model_dir: Option<PathBuf>,
    /// `HF_ENDPOINT`: where a missing model is fetched from (default: the Hugging Face hub).
    pub hf_endpoint: Option<String>,
    /// `HF_HUB_OFFLINE`: never fetch the model.
    pub hf_hub_offline: bool,
    pub train_sample_values: bool,
    pub ontology_dir: PathBuf,
    /// `redis://` or `rediss://`.
    pub redis_url: Option<String>,
    /// `SSL_CERT_FILE`: CA certificates trusted for https:// and rediss://, with the system store.
    pub ssl_cert_file: Option<PathBuf>,
    pub log_dir: PathBuf,
    pub lock_path: PathBuf,
    /// Prometheus textfile every run merges its metrics into (`METRICS_FILE`, `--metrics-file`).
    pub metrics_file: Option<PathBuf>,
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
                    "CHROMA_URL={} must start with http:// or https:// (or be empty for the Chroma directory CHROMA_PATH)",
                    mask_url(u)
                )));
            }
        }
        let redis_url = non_empty(get("REDIS_URL"));
        if let Some(u) = &redis_url {
            if !(u.starts_with("redis://") || u.starts_with("rediss://")) {
                return Err(usage(format!(
                    "REDIS_URL={} must start with redis:// or rediss:// (or be empty for no Redis check)",
                    mask_url(u)
                )));
            }
        }
        let hf_endpoint = non_empty(get("HF_ENDPOINT"));
        if let Some(u) = &hf_endpoint {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(usage(format!(
                    "HF_ENDPOINT={} must start with http:// or https:// (or be empty for https://huggingface.co)",
                    mask_url(u)
                )));
            }
        }
        let path = |n: &str| -> Result<PathBuf> {
            non_empty(get(n))
                .map(PathBuf::from)
                .ok_or_else(|| usage(format!("{n} is empty; give it a path")))
        };
        let backup_repo = BackupRepo::parse(&path("BACKUP_DIR")?.to_string_lossy())?;
        let lock_path = path("LOCK_PATH")?;
        let backup_dir = match &backup_repo {
            BackupRepo::Local(d) => d.clone(),
            BackupRepo::S3 { .. } | BackupRepo::Restic(_) => non_empty(get("BACKUP_STAGE_DIR"))
                .map(PathBuf::from)
                .unwrap_or_else(|| crate::fsutil::parent_dir(&lock_path).join("backup-stage")),
        };
        let opt_path = |n: &str| non_empty(get(n)).map(PathBuf::from);
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
            backup_dir,
            backup_repo,
            backup_age_recipients: non_empty(get("BACKUP_AGE_RECIPIENTS")),
            backup_age_recipients_file: opt_path("BACKUP_AGE_RECIPIENTS_FILE"),
            backup_age_identity_file: opt_path("BACKUP_AGE_IDENTITY_FILE"),
            restic: ResticSettings {
                password_file: opt_path("RESTIC_PASSWORD_FILE"),
                password_command: non_empty(get("RESTIC_PASSWORD_COMMAND")),
                password: {
                    let p = get("RESTIC_PASSWORD");
                    (!p.is_empty()).then(|| p.to_string())
                },
            },
            s3: S3Settings {
                access_key_id: non_empty(get("AWS_ACCESS_KEY_ID")),
                secret_access_key: non_empty(get("AWS_SECRET_ACCESS_KEY")),
                session_token: non_empty(get("AWS_SESSION_TOKEN")),
                region: non_empty(get("AWS_REGION")).unwrap_or_else(|| "us-east-1".into()),
                endpoint_url: non_empty(get("AWS_ENDPOINT_URL")),
                force_path_style: flag("AWS_S3_FORCE_PATH_STYLE")?,
                ca_bundle: opt_path("AWS_CA_BUNDLE"),
            },
            backup_retention: retention_policy(&resolved, profile)?,
            chroma_url,
            chroma_tenant: non_empty(get("CHROMA_TENANT"))
                .unwrap_or_else(|| "default_tenant".into()),
            chroma_database: non_empty(get("CHROMA_DATABASE"))
                .unwrap_or_else(|| "default_database".into()),
            chroma_auth_token: non_empty(get("CHROMA_AUTH_TOKEN")),
            chroma_path: path("CHROMA_PATH")?,
            knowledge_db_path: path("KNOWLEDGE_DB_PATH")?,
            embedding_model_dir: non_empty(get("EMBEDDING_MODEL_DIR")).map(PathBuf::from),
            hf_endpoint,
            hf_hub_offline: flag("HF_HUB_OFFLINE")?,
            train_sample_values: flag("TRAIN_SAMPLE_VALUES")?,
            ontology_dir: path("ONTOLOGY_DIR")?,
            redis_url,
            ssl_cert_file: opt_path("SSL_CERT_FILE"),
            log_dir: path("LOG_DIR")?,
            lock_path,
            metrics_file: opt_path("METRICS_FILE"),
            resolved,
        })
    }

    /// `(name, display value, source)` for every variable, secrets masked.
    pub fn display_rows(&self) -> Vec<(&'static str, String, String)> {
        self.resolved
            .values()
            .map(|r| {
                let shown = match r.spec.kind {
                    // A Path never holds a password, but BACKUP_DIR=restic:rest:… may.
                    VarKind::Url | VarKind::Path => mask_url(&r.value),
                    VarKind::Secret => mask_secret(&r.value),
                    _ => r.value.clone(),
                };
                let mut source = r.source.to_string();
                // Both stores configured: say which one is used.
                if r.spec.name == "CHROMA_PATH" && self.chroma_url.is_some() {
                    source.push_str("; unused: CHROMA_URL is set and wins");
                }
                (r.spec.name, shown, source)
            })
            .collect()
    }

    /// The CA files trusted for https:// Chroma and rediss:// Redis, besides the system store.
    pub fn ca_files(&self) -> Vec<crate::trust::CaFile> {
        self.ssl_cert_file
            .iter()
            .map(|p| crate::trust::CaFile::new("SSL_CERT_FILE", p))
            .collect()
    }

    /// [`Settings::ca_files`] and, for S3 as the AWS tools do, `AWS_CA_BUNDLE`.
    pub fn s3_ca_files(&self) -> Vec<crate::trust::CaFile> {
        let mut out = self.ca_files();
        out.extend(
            self.s3
                .ca_bundle
                .iter()
                .map(|p| crate::trust::CaFile::new("AWS_CA_BUNDLE", p)),
        );
        out
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
        assert_eq!(
            s.backup_retention,
            crate::backup::retention::Policy::keep_last(7)
        );
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
    fn backup_dir_folder_or_s3() {
        assert_eq!(
            BackupRepo::parse("backups").unwrap(),
            BackupRepo::Local("backups".into())
        );
        assert_eq!(
            BackupRepo::parse("s3://vanna-backups/prod/daily/").unwrap(),
            BackupRepo::S3 {
                bucket: "vanna-backups".into(),
                prefix: "prod/daily/".into()
            }
        );
        assert_eq!(
            BackupRepo::parse("s3://vanna-backups").unwrap(),
            BackupRepo::S3 {
                bucket: "vanna-backups".into(),
                prefix: String::new()
            }
        );
        for bad in ["s3://", "s3://A_B/x", "s3://ok-bucket/a/../b", "gs://b/p"] {
            let err = BackupRepo::parse(bad).unwrap_err();
            assert_eq!(
                crate::error::classify(&err).1,
                crate::error::ExitStatus::Usage,
                "{bad}"
            );
        }
        // An S3 repository stages snapshots locally, next to the lock file by default.
        let s = load(&[("BACKUP_DIR", "s3://b-1/p")], &[]).unwrap();
        assert_eq!(s.backup_dir, PathBuf::from("data/backup-stage"));
    }

    #[test]
    fn backup_dir_restic() {
        let r = BackupRepo::parse("restic:s3:http://k:secret@h:9000/b/p").unwrap();
        assert_eq!(
            r,
            BackupRepo::Restic("s3:http://k:secret@h:9000/b/p".into())
        );
        assert_eq!(r.to_string(), "restic:s3:http://k:****@h:9000/b/p");
        assert_eq!(
            BackupRepo::parse("restic:/srv/restic").unwrap(),
            BackupRepo::Restic("/srv/restic".into())
        );
        let err = BackupRepo::parse("restic:").unwrap_err();
        assert_eq!(
            crate::error::classify(&err).1,
            crate::error::ExitStatus::Usage
        );
        let s = load(&[("BACKUP_DIR", "restic:/srv/r")], &[]).unwrap();
        assert_eq!(s.backup_dir, PathBuf::from("data/backup-stage"));
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
        let both = load(
            &[("CHROMA_URL", "http://c:8000"), ("CHROMA_PATH", "kb")],
            &[],
        )
        .unwrap();
        let row = both
            .display_rows()
            .into_iter()
            .find(|r| r.0 == "CHROMA_PATH")
            .unwrap();
        assert!(row.2.contains("CHROMA_URL is set and wins"), "{row:?}");
        let e = load(&[("REDIS_URL", "http://u:pw@h:6379")], &[]).unwrap_err();
        assert!(!format!("{e:#}").contains("pw@"), "{e:#}");
        assert!(load(&[("REDIS_URL", "redis://127.0.0.1:6379")], &[]).is_ok());
        assert!(load(&[("APP_ENV", "staging")], &[]).is_err());
        assert!(load(&[("BACKUP_RETENTION_COUNT", "-1")], &[]).is_err());
    }

    #[test]
    fn retention_rules_and_the_older_name() {
        use crate::backup::retention::Policy;
        let p = |env: &[(&str, &str)]| load(env, &[]).map(|s| s.backup_retention);
        assert_eq!(p(&[]).unwrap(), Policy::keep_last(7));
        assert_eq!(
            p(&[("BACKUP_RETENTION_COUNT", "3")]).unwrap(),
            Policy::keep_last(3)
        );
        assert_eq!(
            p(&[("BACKUP_KEEP_LAST", "4")]).unwrap(),
            Policy::keep_last(4)
        );
        // A bucket rule alone: no keep-last (restic's semantics), not the default 7.
        assert_eq!(
            p(&[("BACKUP_KEEP_DAILY", "7"), ("BACKUP_KEEP_MONTHLY", "12")]).unwrap(),
            Policy {
                daily: 7,
                monthly: 12,
                ..Policy::default()
            }
        );
        // Empty is unset.
        assert_eq!(
            p(&[("BACKUP_KEEP_LAST", ""), ("BACKUP_RETENTION_COUNT", "")]).unwrap(),
            Policy::keep_last(7)
        );
        assert_eq!(
            p(&[("BACKUP_KEEP_LAST", "5"), ("BACKUP_RETENTION_COUNT", "5")]).unwrap(),
            Policy::keep_last(5)
        );
        let e = p(&[("BACKUP_KEEP_LAST", "5"), ("BACKUP_RETENTION_COUNT", "3")]).unwrap_err();
        let msg = crate::error::message(&e);
        assert!(
            msg.contains("BACKUP_KEEP_LAST=5") && msg.contains("BACKUP_RETENTION_COUNT=3"),
            "{msg}"
        );
        assert_eq!(
            crate::error::classify(&e).1,
            crate::error::ExitStatus::Usage
        );
        for var in [
            "BACKUP_KEEP_LAST",
            "BACKUP_KEEP_HOURLY",
            "BACKUP_KEEP_DAILY",
            "BACKUP_KEEP_WEEKLY",
            "BACKUP_KEEP_MONTHLY",
            "BACKUP_KEEP_YEARLY",
        ] {
            for bad in ["-1", "seven", "1.5"] {
                let e = p(&[(var, bad)]).unwrap_err();
                let msg = crate::error::message(&e);
                assert!(msg.contains(&format!("{var}=\"{bad}\"")), "{msg}");
                assert_eq!(
                    crate::error::classify(&e).1,
                    crate::error::ExitStatus::Usage
                );
            }
        }
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

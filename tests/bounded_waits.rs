//! Every wait is bounded and every failure is one line: `health` against servers that accept a
//! connection and never answer finishes within its documented bound (15 s) with the check
//! critical and the URL masked; a web server that is not Chroma is named as such by every
//! command that talks to Chroma; archives with unsafe members are refused naming the archive
//! and the member; a full disk names the folder and what to do.

mod common;

use common::cli::{init_with_target, named, vannactl};
use common::paths::testdata;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `health`'s documented bound (docs/monitoring.md) and the slack this test allows on top of it
/// (a loaded CI machine starts processes slowly).
const HEALTH_BOUND: Duration = Duration::from_secs(15);
const MARGIN: Duration = Duration::from_secs(5);
/// Every other command gives a silent server `login` (10 s) before it calls it unreachable.
const LOGIN: Duration = Duration::from_secs(10);

const SECRET: &str = "topsecret";

/// A loopback port that accepts connections (and keeps them open) but never sends a byte.
fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

/// A web server that is not Chroma (nor S3): every request gets a multi-line 404 HTML page, the
/// way `python3 -m http.server` answers a path it does not have.
fn web_404() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head><title>Error response</title></head>\n\
                            <body>\n<h1>Error response</h1>\n<p>Error code: 404</p>\n<p>Message: File not found.</p>\n\
                            </body>\n</html>\n";
                let _ = write!(
                    s,
                    "HTTP/1.0 404 File not found\r\nServer: SimpleHTTP/0.6 Python/3.11\r\n\
                     Content-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "not one JSON object ({e}): {}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Exactly one line on stderr, `error: …`; returns it.
    fn one_error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr is not one line:\n{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", self.stderr);
        assert!(
            !lines[0].chars().any(|c| c.is_control()),
            "control characters: {:?}",
            lines[0]
        );
        lines[0]
    }
}

fn run(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Run {
    let mut cmd = vannactl(dir);
    cmd.env("TARGET_DB_SOURCE", testdata("car_1.sqlite"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    // A backstop only: every case must end long before it.
    cmd.timeout(Duration::from_secs(150));
    let t = Instant::now();
    let out = cmd.args(args).output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: t.elapsed(),
    }
}

fn initialised() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    init_with_target(d.path(), "car_1.sqlite");
    d
}

/// `health --json` with `env`: exit 3 within the bound, the named check critical, its detail
/// naming `shown` (the masked URL) and the deadline, and no password anywhere.
fn health_critical(dir: &Path, env: &[(&str, String)], checks: &[(&str, &str, String)]) {
    let r = run(dir, env, &["--json", "health"]);
    assert!(
        r.took < HEALTH_BOUND + MARGIN,
        "health took {:?} with {env:?}",
        r.took
    );
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let j = r.json();
    for (component, name, shown) in checks {
        let c = named(&j, "checks", name);
        assert_eq!(c["component"], *component, "{c}");
        assert_eq!(c["status"], "critical", "{c}");
        let detail = c["detail"].as_str().unwrap();
        assert!(detail.contains(shown.as_str()), "{shown} not in {detail}");
        // The client's own probe deadline ran out (not health's backstop at 14 s).
        assert!(detail.contains("within 5 s"), "{detail}");
        assert!(!detail.contains('\n'), "{detail}");
    }
    assert!(!r.stdout.contains(SECRET), "{}", r.stdout);
}

#[test]
fn health_against_silent_ports_ends_within_its_bound() {
    let d = initialised();
    let dir = d.path();
    let chroma = format!("http://u:{SECRET}@127.0.0.1:{}", silent_port());
    let redis = format!("redis://:{SECRET}@127.0.0.1:{}/0", silent_port());
    let system = format!("postgres://app:{SECRET}@127.0.0.1:{}/app", silent_port());
    let pg_target = format!("postgres://app:{SECRET}@127.0.0.1:{}/cars", silent_port());
    let my_target = format!("mysql://app:{SECRET}@127.0.0.1:{}/cars", silent_port());
    let masked = |u: &str| u.replace(SECRET, "****");
    let target_on = |url: &str| {
        vec![
            ("ENABLE_TARGET_DB", "true".to_string()),
            ("TARGET_DATABASE_URL", url.to_string()),
        ]
    };

    // Each alone.
    health_critical(
        dir,
        &[("CHROMA_URL", chroma.clone())],
        &[("knowledge", "chroma reachable", masked(&chroma))],
    );
    health_critical(
        dir,
        &[("REDIS_URL", redis.clone())],
        &[("redis", "server", masked(&redis))],
    );
    health_critical(
        dir,
        &[("DATABASE_URL", system.clone())],
        &[("system_db", "connectivity", masked(&system))],
    );
    health_critical(
        dir,
        &target_on(&pg_target),
        &[("target", "external target DB", masked(&pg_target))],
    );
    health_critical(
        dir,
        &target_on(&my_target),
        &[("target", "external target DB", masked(&my_target))],
    );

    // All together (PostgreSQL target; the MySQL one the same way in a second run).
    for target in [&pg_target, &my_target] {
        let mut env = vec![
            ("CHROMA_URL", chroma.clone()),
            ("REDIS_URL", redis.clone()),
            ("DATABASE_URL", system.clone()),
        ];
        env.extend(target_on(target));
        health_critical(
            dir,
            &env,
            &[
                ("knowledge", "chroma reachable", masked(&chroma)),
                ("redis", "server", masked(&redis)),
                ("system_db", "connectivity", masked(&system)),
                ("target", "external target DB", masked(target)),
            ],
        );
    }

    // The human table says the same, on stdout; nothing on stderr.
    let r = run(dir, &[("CHROMA_URL", chroma.clone())], &["health"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.took < HEALTH_BOUND + MARGIN, "{:?}", r.took);
    assert!(r.stdout.contains("CRITICAL") && r.stdout.contains(&masked(&chroma)));
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn other_commands_give_a_silent_server_the_login_deadline_then_one_line() {
    let d = initialised();
    let dir = d.path();
    let chroma = format!("http://u:{SECRET}@127.0.0.1:{}", silent_port());
    let system = format!("postgres://app:{SECRET}@127.0.0.1:{}/app", silent_port());
    let target = format!("postgres://app:{SECRET}@127.0.0.1:{}/cars", silent_port());
    type Env<'a> = Vec<(&'a str, String)>;
    let cases: Vec<(Env, Vec<&str>, &String)> = vec![
        (
            vec![("CHROMA_URL", chroma.clone())],
            vec!["train", "--dry-run"],
            &chroma,
        ),
        (
            vec![("CHROMA_URL", chroma.clone())],
            vec!["backup"],
            &chroma,
        ),
        (
            vec![("DATABASE_URL", system.clone())],
            vec!["backup"],
            &system,
        ),
        (
            vec![
                ("ENABLE_TARGET_DB", "true".into()),
                ("TARGET_DATABASE_URL", target.clone()),
            ],
            vec!["train", "--dry-run"],
            &target,
        ),
    ];
    for (env, args, url) in cases {
        let r = run(dir, &env, &args);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
        // Dialled once: the audit entry that follows does not wait for the same server again.
        assert!(r.took < LOGIN + MARGIN, "{args:?} took {:?}", r.took);
        let line = r.one_error_line();
        assert!(line.contains(&url.replace(SECRET, "****")), "{line}");
        assert!(!line.contains(SECRET), "{line}");
        assert!(line.contains("within 10 s"), "{line}");
    }
}

#[test]
fn a_web_server_that_is_not_chroma_is_named_as_such() {
    let d = initialised();
    let dir = d.path();
    let url = format!("http://127.0.0.1:{}", web_404());
    let expect = format!("{url} is not a Chroma server (HTTP 404 text/html");
    let env = [("CHROMA_URL", url.clone())];
    for args in [
        vec!["train", "--dry-run"],
        vec!["train", "status"],
        vec!["backup"],
    ] {
        let r = run(dir, &env, &args);
        assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
        let line = r.one_error_line();
        assert!(line.contains(&expect), "{args:?}: {line}");
        assert!(
            !line.contains("CHROMA_TENANT") && !line.contains("<html"),
            "{line}"
        );
    }
    // `train push` into it, from the embedded store (trained first).
    let model = [(
        "EMBEDDING_MODEL_DIR",
        common::paths::model_dir().display().to_string(),
    )];
    let r = run(dir, &model, &["train"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = run(dir, &model, &["train", "push", &url]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.one_error_line().contains(&expect), "{}", r.stderr);
    // --json: one object, same message.
    let r = run(dir, &env, &["--json", "train", "status"]);
    assert_eq!(r.code, Some(1));
    let j = r.json();
    assert_eq!(j["error"]["kind"], "chroma_not_chroma", "{j}");
    assert!(j["error"]["message"].as_str().unwrap().contains(&expect));
    // health: the check is critical with the same finding.
    let r = run(dir, &env, &["--json", "health"]);
    assert_eq!(r.code, Some(3));
    let c = named(&r.json(), "checks", "chroma reachable").clone();
    assert_eq!(c["status"], "critical");
    assert!(c["detail"].as_str().unwrap().contains(&expect), "{c}");
}

/// Write a tar.gz from (name, type, data) as given (no sanitising by the tar crate).
fn craft(path: &Path, entries: &[(&str, tar::EntryType, Vec<u8>)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    for (name, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(*kind);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        b.append(&h, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

/// The manifest.json bytes of an archive (its first member).
fn manifest_of(archive: &Path) -> Vec<u8> {
    let f = std::fs::File::open(archive).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut first = ar.entries().unwrap().next().unwrap().unwrap();
    let mut bytes = Vec::new();
    first.read_to_end(&mut bytes).unwrap();
    bytes
}

fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    v.sort();
    v
}

#[test]
fn unsafe_archive_members_are_refused_naming_archive_and_member() {
    let d = initialised();
    let dir = d.path();
    let r = run(dir, &[], &["backup"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let real = archives(&dir.join("backups")).pop().unwrap();
    let manifest = manifest_of(&real);
    let regular = tar::EntryType::Regular;
    let cases: Vec<(&str, tar::EntryType, &str)> = vec![
        ("target/target.db", tar::EntryType::Symlink, "symbolic link"),
        ("target/target.db", tar::EntryType::Link, "hard link"),
        ("system/pipe", tar::EntryType::Fifo, "FIFO"),
        ("system/dev", tar::EntryType::Char, "device"),
        ("/tmp/evil.db", regular, "absolute path"),
        ("system/../../evil.db", regular, "contains `..`"),
    ];
    let target_before = std::fs::read(dir.join("data/vanna_db.db")).unwrap();
    for (i, (member, kind, why)) in cases.into_iter().enumerate() {
        let evil = dir.join(format!("evil{i}.tar.gz"));
        let data = if kind.is_file() {
            b"x".to_vec()
        } else {
            Vec::new()
        };
        craft(
            &evil,
            &[
                ("manifest.json", regular, manifest.clone()),
                (member, kind, data),
            ],
        );
        let shown = evil.display().to_string();
        for args in [
            vec!["backup", "verify", shown.as_str()],
            vec!["--yes", "restore", shown.as_str()],
        ] {
            let r = run(dir, &[], &args);
            assert_eq!(r.code, Some(1), "{args:?}: {}", r.stderr);
            let line = r.one_error_line();
            assert!(
                line.contains(&format!(
                    "archive {shown} has an unsafe member {member:?} ({why})"
                )),
                "{args:?}: {line}"
            );
        }
    }
    assert_eq!(
        std::fs::read(dir.join("data/vanna_db.db")).unwrap(),
        target_before
    );
    assert!(!dir.join("evil.db").exists() && !Path::new("/tmp/evil.db").exists());
}

/// A tmpfs of 2 MiB mounted for the test's lifetime, filled to the last byte.
struct FullDisk {
    dir: tempfile::TempDir,
}

impl FullDisk {
    /// None (with the reason printed) where mounting is not permitted.
    fn mount() -> Option<FullDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here ({}); the full-disk case needs root",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                return None;
            }
            Err(e) => {
                eprintln!("SKIPPED: no mount command ({e})");
                return None;
            }
        }
        let disk = FullDisk { dir };
        let mut filler = std::fs::File::create(disk.path().join("filler")).unwrap();
        let chunk = vec![0u8; 64 << 10];
        loop {
            if let Err(e) = filler.write_all(&chunk) {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                break;
            }
        }
        // Byte by byte: no block is left.
        while filler.write_all(&[0]).is_ok() {}
        Some(disk)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_names_the_folder_and_what_to_do() {
    let d = initialised();
    let dir = d.path();
    let Some(full) = FullDisk::mount() else {
        return;
    };
    let folder = full.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let shown = folder.display().to_string();
    let r = run(dir, &[], &["backup", "--dir", &shown]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let line = r.one_error_line();
    assert!(
        line.contains(&format!(
            "the disk holding {shown} is full; free space there"
        )),
        "{line}"
    );
    assert!(line.contains("BACKUP_DIR"), "{line}");
    let r = run(dir, &[], &["--json", "backup", "--dir", &shown]);
    assert_eq!(r.json()["error"]["kind"], "disk_full");
    // Nothing half-written is left behind in the full folder.
    let left: Vec<_> = std::fs::read_dir(&folder).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

//! Backups to an S3-compatible repository: a real SeaweedFS server on loopback, an environment
//! set up by the real `vannactl init`, archives large enough to span several multipart parts.

mod backup_support;
mod common;
mod s3_support;

use backup_support::Env;
use common::cli::{isolated, json_of, stderr};
use common::sha256_hex;
use s3_support::flaky::{Fault, FaultKind, Flaky};
use s3_support::{audit_trail, initialised, system_data, Weed, BUCKET, KEY_ID, SECRET};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Archives of 20 MiB of incompressible target data: three 8 MiB parts.
const TARGET_MIB: u32 = 20;

fn assert_no_secrets(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "{what} shows the secret key:\n{text}"
    );
    assert!(
        !text.contains(KEY_ID),
        "{what} shows the access key id:\n{text}"
    );
    assert!(
        !text.contains("X-Amz-Signature"),
        "{what} shows a signed URL:\n{text}"
    );
}

fn run(env: &Env, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = env.cmd().arg("--json").args(args).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_no_secrets(&format!("{args:?}"), &all);
    (out.status.code().unwrap_or(-1), json_of(&out), stderr(&out))
}

#[test]
fn s3_backup_list_verify_restore_and_retention() {
    let weed = Weed::start();
    let mut env = initialised(TARGET_MIB);
    weed.configure(&mut env, "prod/daily");
    env.set("BACKUP_RETENTION_COUNT", "2");
    // Objects that are not ours, under the prefix and beside it: never touched.
    let strangers = [
        "prod/daily/notes.txt",
        "prod/daily/backup_latest.tar.gz",
        "prod/daily/nested/backup_20200101T000000.000Z.tar.gz",
        "prod/backup_20200101T000000.000Z.tar.gz",
    ];
    for k in strangers {
        weed.put(k, b"not a vannactl archive");
    }

    let before = system_data(&env);
    let first = env.ok(&["backup"]);
    let name = first["name"].as_str().unwrap().to_string();
    assert_eq!(
        first["archive"],
        format!("s3://{BUCKET}/prod/daily/{name}"),
        "{first}"
    );
    assert!(
        first["size"].as_u64().unwrap() > 2 * (8 << 20),
        "several parts: {first}"
    );
    assert_eq!(first["encrypted"], false);
    // What the server stores is exactly what was reported.
    let stored = weed.get(&format!("prod/daily/{name}"));
    assert_eq!(stored.len() as u64, first["size"].as_u64().unwrap());
    assert_eq!(sha256_hex(&stored), first["sha256"].as_str().unwrap());
    assert!(
        weed.unfinished_uploads().is_empty(),
        "{:?}",
        weed.unfinished_uploads()
    );

    // list reads heads only; the full listing re-hashes every member.
    let list = env.ok(&["backup", "list", "--fast"]);
    let archives = list["archives"].as_array().unwrap();
    assert_eq!(archives.len(), 1, "{list}");
    assert_eq!(archives[0]["components"], "system,target");
    assert_eq!(archives[0]["verified"], "not checked");
    let list = env.ok(&["backup", "list"]);
    assert_eq!(list["archives"][0]["verified"], "checksums ok", "{list}");

    // verify: the newest, by name, by full URL.
    for arg in [
        None,
        Some(name.clone()),
        Some(format!("s3://{BUCKET}/prod/daily/{name}")),
    ] {
        let mut args = vec!["backup", "verify"];
        if let Some(a) = &arg {
            args.push(a);
        }
        let v = env.ok(&args);
        assert_eq!(v["verified"]["mode"], "full", "{v}");
        assert_eq!(v["verified"]["components"], "system,target");
    }

    // A restore drill streams the archive from the bucket into scratch places; live data and
    // the bucket stay as they were.
    let live_before = system_data(&env);
    let d = env.ok(&["backup", "verify", "--restore-test", &name]);
    assert_eq!(d["restore_test"]["ok"], true, "{d}");
    let parts = d["restore_test"]["components"].as_array().unwrap();
    for c in ["system", "target"] {
        let r = parts.iter().find(|p| p["component"] == c).unwrap();
        assert_eq!(r["result"], "ok", "{c}: {d}");
    }
    assert_eq!(system_data(&env), live_before);
    assert_eq!(weed.archives("prod/daily"), vec![name.clone()]);
    assert!(weed.unfinished_uploads().is_empty());

    // Restore by name puts back exactly what was archived.
    env.system_exec("DELETE FROM business_ontologies; UPDATE users SET username = 'changed';");
    assert_ne!(system_data(&env), before);
    let r = env.ok(&["--yes", "restore", &name, "--only", "system"]);
    assert_eq!(r["archive"], format!("s3://{BUCKET}/prod/daily/{name}"));
    assert_eq!(system_data(&env), before, "restored system DB differs");
    let trail = audit_trail(&env).join("\n");
    assert!(
        trail.contains("restore") && trail.contains(&name),
        "{trail}"
    );
    assert_no_secrets("the audit trail", &trail);
    // The safety backup went to the same repository.
    let safety = r["safety_backup"].as_str().unwrap();
    assert!(
        safety.starts_with(&format!("s3://{BUCKET}/prod/daily/backup_")),
        "{r}"
    );

    // Retention on the bucket: newest two of ours, strangers untouched.
    // (The first archive and the safety backup are there; each run prunes the oldest.)
    let second = env.ok(&["backup"]);
    assert_eq!(
        second["pruned"],
        serde_json::json!([first["archive"]]),
        "{second}"
    );
    let third = env.ok(&["backup"]);
    assert_eq!(third["pruned"], serde_json::json!([safety]), "{third}");
    let left = weed.archives("prod/daily");
    let want: Vec<String> = [&second, &third]
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, want);
    for k in strangers {
        assert_eq!(weed.get(k), b"not a vannactl archive", "{k} was touched");
    }
    let dry = env.ok(&["backup", "--dry-run"]);
    assert_eq!(
        dry["retention"]["would_prune"].as_array().unwrap().len(),
        1,
        "{dry}"
    );

    // health sees the newest archive in the bucket.
    let (_, h, _) = run(&env, &["health"]);
    let check = h["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "backup")
        .cloned()
        .unwrap_or_default();
    assert!(
        check.to_string().contains(third["name"].as_str().unwrap()),
        "{h}"
    );

    // Nothing secret in the log file either, even at debug level.
    let (code, _, _) = run(&env, &["-vvv", "backup", "list"]);
    assert_eq!(code, 0);
    let log = std::fs::read_to_string(env.path("logs/vannactl.log")).unwrap();
    assert_no_secrets("the log file", &log);
}

#[test]
fn s3_failures_are_clear_and_leave_nothing_under_a_final_name() {
    let mut weed = Weed::start();
    let mut env = initialised(TARGET_MIB);
    weed.configure(&mut env, "p");

    // Wrong credentials.
    env.set("AWS_SECRET_ACCESS_KEY", "wrong-secret-value");
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("AWS_SECRET_ACCESS_KEY"), "{msg}");
    assert!(!msg.contains("wrong-secret-value"), "{msg}");
    env.set("AWS_SECRET_ACCESS_KEY", SECRET);

    // No credentials at all: a configuration error before any request.
    let mut bare = initialised(1);
    bare.set("BACKUP_DIR", &format!("s3://{BUCKET}/p"));
    bare.set("AWS_ENDPOINT_URL", &weed.endpoint());
    let (code, v, _) = run(&bare, &["backup"]);
    assert_eq!(code, 2, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("AWS_ACCESS_KEY_ID"));

    // A bucket that does not exist.
    env.set("BACKUP_DIR", "s3://no-such-bucket-here/p");
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("no-such-bucket-here") && msg.contains("does not exist"),
        "{msg}"
    );
    env.set("BACKUP_DIR", &format!("s3://{BUCKET}/p"));

    // An endpoint nobody listens on: bounded time, the endpoint named.
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    env.set("AWS_ENDPOINT_URL", &dead);
    let t = Instant::now();
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains(&dead),
        "{v}"
    );
    env.set("AWS_ENDPOINT_URL", &weed.endpoint());
    assert!(weed.objects("p").is_empty(), "{:?}", weed.objects("p"));

    // SIGKILL mid-upload: the multipart upload is left, no object; the next run aborts it.
    let mut child = env.spawn_paused(&["backup"], "backup:archive");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(weed.objects("p").is_empty(), "{:?}", weed.objects("p"));
    assert_eq!(weed.unfinished_uploads().len(), 1);
    let ok = env.ok(&["backup"]);
    let aborted = ok["aborted_uploads"].as_array().unwrap();
    assert_eq!(aborted.len(), 1, "{ok}");
    assert!(weed.unfinished_uploads().is_empty());
    let good = ok["name"].as_str().unwrap().to_string();

    // The server dies mid-upload: a clear error, no new object once it is back.
    let resume = env.path("resume");
    let mut c = isolated(env.dir.path());
    c.env("VANNACTL_TEST_HOOK", "pause:backup:archive")
        .env("VANNACTL_TEST_HOOK_RESUME", &resume)
        .args(["--no-dotenv", "--json", "backup"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &env.vars {
        c.env(k, v);
    }
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while weed.unfinished_uploads().is_empty() {
        assert!(Instant::now() < deadline, "no upload started");
        std::thread::sleep(Duration::from_millis(50));
    }
    weed.stop();
    std::fs::write(&resume, b"").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&weed.endpoint()), "{msg}");
    assert_no_secrets("the failed backup", &format!("{v}{}", stderr(&out)));
    weed.restart();
    assert_eq!(weed.archives("p"), vec![good.clone()]);

    // A corrupted object: verify and restore refuse it, naming it.
    let key = format!("p/{good}");
    let mut bytes = weed.get(&key);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    weed.put(&key, &bytes);
    let (code, v, _) = run(&env, &["backup", "verify", &good]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&good) && msg.contains("damaged"), "{msg}");
    let before = system_data(&env);
    let (code, v, _) = run(&env, &["--yes", "restore", &good]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was restored"),
        "{v}"
    );
    assert_eq!(system_data(&env), before);

    // A name that is not there.
    let (code, v, _) = run(
        &env,
        &["backup", "verify", "backup_20200101T000000.000Z.tar.gz"],
    );
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{v}"
    );
}

/// Transient failures are retried, through a real socket (a proxy in front of the server): a part
/// answered `503 SlowDown` is sent again, a download cut mid-stream resumes where it stopped, a
/// refusal (403) is never retried, and a server that keeps failing fails the run after 3 tries.
#[test]
fn s3_transient_failures_are_retried_and_refusals_are_not() {
    let weed = Weed::start();
    let mut env = initialised(TARGET_MIB);
    weed.configure(&mut env, "flaky");
    let proxy = Flaky::start(weed.s3_port);
    env.set("AWS_ENDPOINT_URL", &proxy.endpoint());

    // Part 2 of 3 is refused once with SlowDown: the run succeeds, the object is exact.
    proxy.inject(Fault {
        method: "PUT",
        matching: "partNumber=2".into(),
        whole_only: false,
        times: 1,
        kind: FaultKind::SlowDown,
    });
    let b = env.ok(&["backup"]);
    let name = b["name"].as_str().unwrap().to_string();
    assert_eq!(
        proxy.count("PUT", "partNumber=2"),
        2,
        "part 2 sent once more after the 503"
    );
    assert_eq!(proxy.count("PUT", "partNumber=1"), 1);
    let stored = weed.get(&format!("flaky/{name}"));
    assert_eq!(sha256_hex(&stored), b["sha256"].as_str().unwrap());
    assert!(weed.unfinished_uploads().is_empty());
    let log = std::fs::read_to_string(env.path("logs/vannactl.log")).unwrap();
    assert!(
        log.contains("SlowDown") && log.contains("trying again in 250 ms (attempt 2 of 3)"),
        "the retry is logged:\n{log}"
    );
    assert_no_secrets("the log file", &log);

    // The answer to completing the upload is lost after the server stored the object (a retry,
    // where one is made, is refused): the object is checked to be exactly ours, and the run
    // succeeds.
    proxy.clear();
    proxy.inject(Fault {
        method: "POST",
        matching: "uploadId=".into(),
        whole_only: false,
        times: 1,
        kind: FaultKind::CutAfter(0),
    });
    let lost = env.ok(&["backup"]);
    let lost_name = lost["name"].as_str().unwrap().to_string();
    assert!(
        proxy
            .seen()
            .iter()
            .any(|r| r.method == "POST" && r.target.contains("uploadId=") && r.faulted),
        "the completion's answer was cut"
    );
    let stored = weed.get(&format!("flaky/{lost_name}"));
    assert_eq!(sha256_hex(&stored), lost["sha256"].as_str().unwrap());
    assert!(weed.unfinished_uploads().is_empty());
    let log = std::fs::read_to_string(env.path("logs/vannactl.log")).unwrap();
    assert!(log.contains("the server's first answer was lost"), "{log}");
    env.ok(&["backup", "verify", &lost_name]);

    // The whole-object GET is cut after 5 MiB: the read resumes from there, on the same object.
    proxy.clear();
    proxy.inject(Fault {
        method: "GET",
        matching: format!("/flaky/{name}?"),
        whole_only: true,
        times: 1,
        kind: FaultKind::CutAfter(5 << 20),
    });
    let v = env.ok(&["backup", "verify", &name]);
    assert_eq!(v["verified"]["mode"], "full", "{v}");
    let gets: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET" && s.target.contains(&format!("/flaky/{name}?")))
        .collect();
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(gets[0].faulted && gets[0].range.is_none(), "{gets:?}");
    let from: u64 = gets[1]
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("resumed with an open range: {gets:?}"));
    assert!(from > 0 && from <= 5 << 20, "resumed at {from}");
    assert!(gets[1].if_match.is_some(), "pinned to the object: {gets:?}");

    // A part damaged on the way: the server checks its CRC32 and refuses it (400 BadDigest, not
    // retried), the upload is aborted, and nothing is stored under a final name.
    proxy.clear();
    proxy.inject(Fault {
        method: "PUT",
        matching: "partNumber=2".into(),
        whole_only: false,
        times: 1,
        kind: FaultKind::Corrupt(1 << 20),
    });
    let before = weed.objects("flaky");
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("part 2") && msg.contains("BadDigest"), "{msg}");
    assert_no_secrets("the error", msg);
    assert_eq!(
        proxy.count("PUT", "partNumber=2"),
        1,
        "a refusal is not retried"
    );
    assert_eq!(
        weed.objects("flaky"),
        before,
        "nothing new under the prefix"
    );
    assert!(
        weed.unfinished_uploads().is_empty(),
        "the upload was aborted"
    );

    // A server that does not confirm CRC32 part checksums (no `x-amz-checksum-crc32` in its
    // answers): the first part is sent once more with Content-MD5, and so is every part after.
    proxy.clear();
    proxy.inject(Fault {
        method: "PUT",
        matching: "partNumber=".into(),
        whole_only: false,
        times: 1000,
        kind: FaultKind::DropAnswerHeader("x-amz-checksum-crc32"),
    });
    let b = env.ok(&["backup"]);
    let name = b["name"].as_str().unwrap().to_string();
    let parts: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "PUT" && s.target.contains("partNumber="))
        .collect();
    // (part number, sent with Content-MD5), in arrival order; signed URLs stay out of messages.
    let sent: Vec<(String, bool)> = parts
        .iter()
        .map(|s| {
            let n = s.target.split("partNumber=").nth(1).unwrap_or_default();
            (
                n.split('&').next().unwrap_or_default().to_string(),
                s.content_md5,
            )
        })
        .collect();
    let first: Vec<_> = parts
        .iter()
        .filter(|s| s.target.contains("partNumber=1&"))
        .collect();
    assert_eq!(first.len(), 2, "part 1 again: {sent:?}");
    assert!(!first[0].content_md5 && first[1].content_md5, "{sent:?}");
    assert!(parts.len() > 3, "several parts: {}", parts.len());
    assert!(
        parts.last().unwrap().content_md5,
        "later parts carry Content-MD5"
    );
    let stored = weed.get(&format!("flaky/{name}"));
    assert_eq!(sha256_hex(&stored), b["sha256"].as_str().unwrap());
    let log = std::fs::read_to_string(env.path("logs/vannactl.log")).unwrap();
    assert!(
        log.contains("does not confirm CRC32 part checksums"),
        "{log}"
    );

    // A refusal is final: wrong credentials, every request is made once.
    proxy.clear();
    env.set("AWS_SECRET_ACCESS_KEY", "wrong-secret-value");
    let (code, v, _) = run(&env, &["backup"]);
    assert_eq!(code, 1, "{v}");
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for s in &seen {
        let again = seen.iter().filter(|o| o.target == s.target).count();
        assert_eq!(
            again, 1,
            "a refused request was retried: {} {}",
            s.method, s.target
        );
    }
    env.set("AWS_SECRET_ACCESS_KEY", SECRET);

    // A server that keeps failing: three attempts, then a clear error (bounded time).
    proxy.clear();
    proxy.inject(Fault {
        method: "GET",
        matching: String::new(),
        whole_only: false,
        times: 100,
        kind: FaultKind::SlowDown,
    });
    let t = Instant::now();
    let (code, v, _) = run(&env, &["backup", "list", "--fast"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("503") && msg.contains("SlowDown"), "{msg}");
    assert_eq!(proxy.seen().len(), 3, "{:?}", proxy.seen());
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
}

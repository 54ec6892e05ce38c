//! `vannactl health` with REDIS_URL, against the Redis at 127.0.0.1:6379 (scripts/test starts it).

mod common;

use common::cli::{json_of, vannactl};
use common::paths::testdata;
use std::time::{Duration, Instant};

fn health(d: &std::path::Path, url: Option<&str>, json: bool) -> std::process::Output {
    let mut c = vannactl(d);
    c.env("TARGET_DB_SOURCE", testdata("car_1.sqlite"));
    match url {
        Some(u) => c.env("REDIS_URL", u),
        None => c.env_remove("REDIS_URL"),
    };
    if json {
        c.arg("--json");
    }
    c.arg("health").output().unwrap()
}

fn redis_checks(j: &serde_json::Value) -> Vec<serde_json::Value> {
    j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["component"] == "redis")
        .cloned()
        .collect()
}

#[test]
fn redis_health_healthy_bad_auth_unreachable_tls_and_unset() {
    let d = tempfile::tempdir().unwrap();
    common::cli::init_with_target(d.path(), "car_1.sqlite");

    // Healthy: every check present with a latency.
    let out = health(d.path(), Some("redis://127.0.0.1:6379"), true);
    let j = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{j}");
    let rc = redis_checks(&j);
    let names: Vec<&str> = rc.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for n in ["server", "role", "memory", "evicted keys", "persistence"] {
        assert!(names.contains(&n), "{n} missing: {j}");
    }
    assert_eq!(rc[0]["status"], "ok", "{j}");
    assert!(rc[0]["latency_ms"].as_f64().unwrap() > 0.0);
    let text = health(d.path(), Some("redis://127.0.0.1:6379"), false);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("PING"),
        "{text:?}"
    );

    // Wrong password (the server has none configured): critical, password masked everywhere.
    let bad = "redis://:s3cretPW-xyz@127.0.0.1:6379";
    for json in [true, false] {
        let out = health(d.path(), Some(bad), json);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("s3cretPW-xyz"), "{all}");
        assert!(all.contains(":****@127.0.0.1"), "{all}");
    }

    // Closed port: critical, quickly.
    let port = common::free_port();
    let t = Instant::now();
    let out = health(d.path(), Some(&format!("redis://127.0.0.1:{port}")), true);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(t.elapsed() < Duration::from_secs(20));

    // rediss:// to the plain-text server: critical (tests/redis_tls.rs has a TLS one). Redis reads
    // the ClientHello as an inline command: it answers in plain text (not TLS) when the hello holds
    // a newline byte, and otherwise waits for one until the login deadline.
    let t = Instant::now();
    let out = health(d.path(), Some("rediss://u:pw1234567@127.0.0.1:6379"), true);
    let j = json_of(&out);
    assert_eq!(out.status.code(), Some(3), "{j}");
    assert!(t.elapsed() < Duration::from_secs(20));
    let detail = redis_checks(&j)[0]["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("did not answer in TLS") || detail.contains("no answer within"),
        "{detail}"
    );
    assert!(!j.to_string().contains("pw1234567"));

    // Unset: one skipped row.
    let out = health(d.path(), None, true);
    let j = json_of(&out);
    let rc = redis_checks(&j);
    assert_eq!(
        (rc.len(), rc[0]["status"].as_str()),
        (1, Some("skipped")),
        "{j}"
    );

    // Bad scheme: a configuration error (health reports it as its critical config check, as for
    // every other invalid variable) naming the masked URL.
    let out = health(d.path(), Some("http://u:pw7654321@h:6379"), true);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let all = format!("{out:?}");
    assert!(all.contains("REDIS_URL=http://u:****@h:6379"), "{all}");
    assert!(!all.contains("pw7654321"), "{all}");
}

/// An ACL user (Redis 6+) with its own password, as production setups use: the right password is
/// healthy, a wrong one is critical and masked, a user without INFO rights still passes PING with
/// a warning. The users are removed at the end, also when an assertion fails.
#[test]
fn redis_acl_user_auth() {
    let d = tempfile::tempdir().unwrap();
    common::cli::init_with_target(d.path(), "car_1.sqlite");
    let admin = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut con = admin.get_connection().unwrap();
    let tag = format!(
        "vannactl-test-{}-{}",
        std::process::id(),
        common::free_port()
    );
    let (full, limited) = (format!("{tag}-full"), format!("{tag}-ping"));
    let _cleanup = DelUsers(vec![full.clone(), limited.clone()]);
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", &full, "on", ">acl-Secret-4242", "~*", "+@all"][..])
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                &limited,
                "on",
                ">acl-Limited-77",
                "-@all",
                "+ping",
                "+hello",
                "+auth",
            ][..],
        )
        .query(&mut con)
        .unwrap();

    let out = health(
        d.path(),
        Some(&format!("redis://{full}:acl-Secret-4242@127.0.0.1:6379")),
        true,
    );
    let j = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{j}");
    let rc = redis_checks(&j);
    assert!(
        rc.iter()
            .all(|c| c["status"] == "ok" || c["status"] == "warn"),
        "{j}"
    );
    assert_eq!(rc[0]["status"], "ok", "{j}");
    assert!(rc.iter().any(|c| c["name"] == "role"), "{j}");
    assert!(!j.to_string().contains("acl-Secret-4242"), "{j}");
    assert!(
        j.to_string().contains(&format!("{full}:****@127.0.0.1")),
        "{j}"
    );

    let out = health(
        d.path(),
        Some(&format!("redis://{full}:wrong-Pass-99@127.0.0.1:6379")),
        false,
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("wrong-Pass-99"), "{all}");

    let out = health(
        d.path(),
        Some(&format!("redis://{limited}:acl-Limited-77@127.0.0.1:6379")),
        true,
    );
    let j = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{j}");
    let rc = redis_checks(&j);
    assert_eq!(rc[0]["status"], "ok", "{j}");
    let info = rc
        .iter()
        .find(|c| c["name"] == "info")
        .expect("an info row");
    assert_eq!(info["status"], "warn", "{j}");
    assert!(!j.to_string().contains("acl-Limited-77"), "{j}");
}

struct DelUsers(Vec<String>);

impl Drop for DelUsers {
    fn drop(&mut self) {
        if let Ok(mut con) =
            redis::Client::open("redis://127.0.0.1:6379").and_then(|c| c.get_connection())
        {
            for u in &self.0 {
                let _: redis::RedisResult<i64> = redis::cmd("ACL")
                    .arg(&["DELUSER", u.as_str()][..])
                    .query(&mut con);
            }
        }
    }
}

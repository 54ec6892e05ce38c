//! Connection failures: clear, classified, bounded in time, password masked.

mod common;
mod system_db_support;

use common::cli::{stderr, step};
use std::net::TcpListener;
use system_db_support::*;

fn init_with_url(url: &str) -> (i32, serde_json::Value, String) {
    let (code, r, all, _) = init_in_env(url);
    (code, r, all)
}

fn init_in_env(url: &str) -> (i32, serde_json::Value, String, Env) {
    let mut env = Env::new(Backend::Sqlite);
    env.set("DATABASE_URL", url);
    let (code, r, out) = env.run_json(&["init"]);
    let all = format!("{r}{}", stderr(&out));
    (code, r, all, env)
}

#[test]
fn closed_port_is_unreachable_with_masked_url() {
    let (code, r, all, env) = init_in_env("postgres://app:topsecret@127.0.0.1:1/app");
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["error"]["kind"], "db_unreachable");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("postgres://app:****@127.0.0.1:1/app"), "{msg}");
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(!all.contains("topsecret"), "{all}");
    assert_eq!(step(&r, "connectivity")["status"], "failed");
    // The failed init is still audited, in the log file.
    let log = std::fs::read_to_string(env.path().join("logs/vannactl.log")).unwrap();
    assert!(
        log.contains("\"action\":\"init\"") && log.contains("\"outcome\":\"failure\""),
        "{log}"
    );
    assert!(!log.contains("topsecret"));
}

#[test]
fn silent_host_times_out_in_bounded_time() {
    // Accepts TCP connections (kernel backlog) but never speaks the protocol.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("postgres://app:topsecret@127.0.0.1:{port}/app?connect_timeout=2");
    // Env::cmd bounds the run at 120 s; the connect timeout must end it long before that.
    let (code, r, all) = init_with_url(&url);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["error"]["kind"], "db_unreachable");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 2 s"),
        "{r}"
    );
    assert!(!all.contains("topsecret"));
    drop(listener);
}

#[test]
fn missing_database_and_unknown_role_are_named() {
    let (code, r, _) = init_with_url("postgres://postgres:pw@127.0.0.1:5432/vannactl_no_such_db");
    assert_eq!(code, 1);
    assert_eq!(r["error"]["kind"], "db_missing");
    assert!(
        r["error"]["message"].as_str().unwrap().contains("createdb"),
        "{r}"
    );
    let (code, r, _) = init_with_url("postgres://vannactl_no_such_role:pw@127.0.0.1:5432/postgres");
    assert_eq!(code, 1);
    assert_eq!(r["error"]["kind"], "db_auth_failed");
}

#[test]
fn wrong_password_is_an_authentication_failure() {
    // The shared server trusts every local connection, so this test starts its own PostgreSQL 15
    // cluster with scram-sha-256 password authentication.
    let cluster = PrivateCluster::start("right-password-1");
    let (code, r, all) = init_with_url(&cluster.url("wrong-password-2"));
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["error"]["kind"], "db_auth_failed", "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("authentication failed for user \"postgres\""),
        "{msg}"
    );
    assert!(
        msg.contains("check the user and password in DATABASE_URL"),
        "{msg}"
    );
    assert!(!all.contains("wrong-password-2"), "{all}");
    // The right password works.
    let (code, r, _) = init_with_url(&cluster.url("right-password-1"));
    assert_eq!(code, 0, "{r}");
}

/// A loopback listener that accepts connections, never answers, and counts them.
fn silent_counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let n = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (port, n)
}

#[test]
fn unreachable_db_is_not_dialled_again_for_the_audit_entry() {
    use std::sync::atomic::Ordering;
    for (what, args) in [
        ("init", vec!["init"]),
        ("seed", vec!["seed"]),
        (
            "admin reset-password",
            vec!["admin", "reset-password", "--username", "admin"],
        ),
    ] {
        let (port, accepted) = silent_counting_listener();
        let mut env = Env::new(Backend::Sqlite);
        env.set(
            "DATABASE_URL",
            &format!("postgres://app:topsecret@127.0.0.1:{port}/app?connect_timeout=1"),
        );
        env.set("SEED_DEMO_DATA", "true");
        env.set("INIT_ADMIN_PASSWORD", "a-long-enough-password-1");
        let (code, r, out) = env.run_json(&args);
        assert_eq!(code, 1, "{what}: {r}\n{}", stderr(&out));
        assert_eq!(r["error"]["kind"], "db_unreachable", "{what}: {r}");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "{what}: the system DB was dialled more than once"
        );
        // The action is still audited, in the log file.
        let log = std::fs::read_to_string(env.path().join("logs/vannactl.log")).unwrap();
        assert!(
            log.contains(&format!("\"action\":\"{what}\""))
                && log.contains("\"outcome\":\"failure\""),
            "{what}: {log}"
        );
        assert!(!log.contains("topsecret"), "{what}");
    }
}

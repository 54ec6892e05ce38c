//! PostgreSQL client tools: version check against the server, password never on a command line.

mod backup_support;
mod common;

use backup_support::*;
use std::os::unix::fs::PermissionsExt;

/// A `pg_dump` on PATH that reports `version` and otherwise records its argv and PGPASSWORD before
/// running the real one.
fn wrapper(env: &Env, version: &str) -> String {
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = which("pg_dump");
    let log = env.path("pg_dump.log");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) {version}'; exit 0; fi\n\
         echo \"argv: $*\" >> '{log}'\necho \"PGPASSWORD=$PGPASSWORD\" >> '{log}'\nexec '{real}' \"$@\"\n",
        log = log.display()
    );
    let p = bin.join("pg_dump");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// `backup --json` with the recording `pg_dump` wrapper reporting `version` first on PATH.
fn backup_with_pg_dump(env: &Env, version: &str) -> std::process::Output {
    env.cmd()
        .env("PATH", wrapper(env, version))
        .args(["--json", "backup"])
        .output()
        .unwrap()
}

fn which(tool: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn pg_dump_older_than_server_is_refused_clearly() {
    let env = Env::postgres();
    let out = backup_with_pg_dump(&env, "9.6.24");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("pg_dump 9 cannot dump the PostgreSQL 15 server"),
        "{msg}"
    );
    assert!(msg.contains("postgresql-client-15"), "{msg}");
    assert!(env.archives().is_empty());
    assert!(env.temp_files("backups").is_empty());
}

#[test]
fn password_goes_in_the_environment_never_argv_or_output() {
    let mut env = Env::postgres();
    let secret = "s3cr3t-Pw";
    // Trust auth accepts any password, so the real pg_dump still works with it.
    let url = env
        .pg
        .as_ref()
        .unwrap()
        .url()
        .replace("postgres@", &format!("postgres:{secret}@"));
    env.set("DATABASE_URL", &url);
    let out = backup_with_pg_dump(&env, "15.20");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let log = std::fs::read_to_string(env.path("pg_dump.log")).unwrap();
    let argv = log.lines().find(|l| l.starts_with("argv:")).unwrap();
    assert!(!argv.contains(secret), "{argv}");
    assert!(
        argv.contains("--dbname=postgres://postgres@127.0.0.1"),
        "{argv}"
    );
    assert!(log.contains(&format!("PGPASSWORD={secret}")), "{log}");
    assert!(!stdout.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
    let manifest = vannactl::backup::archive::read_manifest(std::path::Path::new(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["archive"]
            .as_str()
            .unwrap(),
    ))
    .unwrap();
    let sys = &manifest.components[&vannactl::backup::manifest::Component::System];
    assert!(sys.source.contains("postgres:****@"), "{}", sys.source);
    for entry in std::fs::read_dir(env.path("logs")).unwrap().flatten() {
        assert!(!std::fs::read_to_string(entry.path())
            .unwrap()
            .contains(secret));
    }
}

#[test]
fn pg_restore_older_than_the_dump_says_which_client_to_install() {
    let env = Env::postgres();
    let out = env.cmd().args(["--json", "backup"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // A pg_restore that is too old for the dump's format, first on PATH.
    let bin = env.path("old-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let p = bin.join("pg_restore");
    std::fs::write(
        &p,
        "#!/bin/sh\necho 'pg_restore: error: unsupported version (1.99) in file header' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = env
        .cmd()
        .env("PATH", &path)
        .args(["--json", "backup", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "pg_tool_too_old", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("install a postgresql-client"),
        "{v}"
    );
}

//! Encrypted backups (age): in a local folder and in a real S3 server, decrypted by the `age` CLI,
//! verified without the key (recorded checksum) and with it, restored only with it; a broken
//! recipients setting fails closed.

mod backup_support;
mod common;
mod s3_support;

use backup_support::Env;
use common::cli::stderr;
use s3_support::{age_cli, age_keygen, initialised, system_data, Weed};
use std::io::Read;

fn run(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let out = env.cmd().arg("--json").args(args).output().unwrap();
    let v = common::cli::json_of(&out);
    (out.status.code().unwrap_or(-1), v)
}

/// The first member's name and the member list of a plain .tar.gz.
fn members(targz: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(targz));
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

/// Backup, decrypt with the CLI, verify without and with the key, restore only with it.
fn encrypted_round_trip(env: &mut Env, fetch: &dyn Fn(&str) -> Vec<u8>) {
    let keys = env.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (identity, public) = age_keygen(&keys);
    // The backup host has only the public key.
    env.set("BACKUP_AGE_RECIPIENTS", &public);
    let b = env.ok(&["backup"]);
    let name = b["name"].as_str().unwrap().to_string();
    assert!(name.ends_with(".tar.gz.age"), "{b}");
    assert_eq!(b["encrypted"], true);
    let stored = fetch(&name);
    assert!(
        stored.starts_with(b"age-encryption.org/v1\n"),
        "not an age file"
    );
    assert!(
        !stored.windows(13).any(|w| w == b"manifest.json"),
        "plaintext leaked"
    );

    // The age CLI decrypts it to the plain archive.
    let ct = env.path("copy.age");
    std::fs::write(&ct, &stored).unwrap();
    let plain = age_cli(&["-d", "-i", identity.to_str().unwrap(), ct.to_str().unwrap()]);
    let names = members(&plain);
    assert_eq!(names[0], "manifest.json", "{names:?}");
    assert!(names.contains(&"system/system.db".to_string()), "{names:?}");
    let mut manifest = String::new();
    tar::Archive::new(flate2::read::GzDecoder::new(plain.as_slice()))
        .entries()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert!(manifest.contains("\"format_version\""), "{manifest}");

    // Without the key: list from names, verify against the recorded checksum.
    let list = env.ok(&["backup", "list"]);
    assert_eq!(list["archives"][0]["encrypted"], true, "{list}");
    assert_eq!(
        list["archives"][0]["verified"],
        "encrypted, checksum ok (no key)"
    );
    let v = env.ok(&["backup", "verify"]);
    assert!(
        v["verified"]["mode"]
            .as_str()
            .unwrap()
            .starts_with("ciphertext checksum"),
        "{v}"
    );
    // Restore refuses, naming the variable, and changes nothing.
    let before = system_data(env);
    env.system_exec("UPDATE users SET username = 'changed';");
    let changed = system_data(env);
    let (code, r) = run(env, &["--yes", "restore", b["archive"].as_str().unwrap()]);
    assert_eq!(code, 1, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("BACKUP_AGE_IDENTITY_FILE"),
        "{r}"
    );
    assert_eq!(system_data(env), changed);

    // With the key: full verification and a restore of exactly what was archived.
    env.set("BACKUP_AGE_IDENTITY_FILE", identity.to_str().unwrap());
    let v = env.ok(&["backup", "verify", b["archive"].as_str().unwrap()]);
    assert_eq!(v["verified"]["mode"], "full", "{v}");
    let list = env.ok(&["backup", "list"]);
    assert_eq!(list["archives"][0]["verified"], "checksums ok", "{list}");
    assert_eq!(list["archives"][0]["components"], "system,target");
    env.ok(&[
        "--yes",
        "restore",
        b["archive"].as_str().unwrap(),
        "--only",
        "system",
    ]);
    assert_eq!(system_data(env), before);

    // A different key is told apart from damage.
    let other = env.path("other");
    std::fs::create_dir_all(&other).unwrap();
    let (wrong, _) = age_keygen(&other);
    env.set("BACKUP_AGE_IDENTITY_FILE", wrong.to_str().unwrap());
    let (code, v) = run(env, &["backup", "verify", b["archive"].as_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not encrypted to"),
        "{v}"
    );
}

#[test]
fn encrypted_archives_in_a_local_folder() {
    let mut env = initialised(1);
    let dir = env.path("backups");
    encrypted_round_trip(&mut env, &|name| std::fs::read(dir.join(name)).unwrap());
    // The checksum recorded beside the archive, in sha256sum format.
    let sums: Vec<_> = std::fs::read_dir(env.path("backups"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(".tar.gz.age.sha256")
        })
        .collect();
    assert!(!sums.is_empty());
}

#[test]
fn encrypted_archives_in_s3() {
    let weed = Weed::start();
    let mut env = initialised(12);
    weed.configure(&mut env, "enc");
    encrypted_round_trip(&mut env, &|name| weed.get(&format!("enc/{name}")));
}

#[test]
fn misconfigured_encryption_fails_closed() {
    let mut env = initialised(1);
    let cases = [
        (
            "BACKUP_AGE_RECIPIENTS_FILE",
            env.path("missing.txt").display().to_string(),
        ),
        ("BACKUP_AGE_RECIPIENTS", "age1notakey".to_string()),
        ("BACKUP_AGE_RECIPIENTS_FILE", {
            let p = env.path("empty.txt");
            std::fs::write(&p, "# no keys yet\n").unwrap();
            p.display().to_string()
        }),
    ];
    for (var, value) in cases {
        env.set(var, &value);
        let out = env.cmd().args(["--json", "backup"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{var}={value}: {}",
            stderr(&out)
        );
        let v = common::cli::json_of(&out);
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(var) && msg.contains("nothing was written"),
            "{msg}"
        );
        assert!(
            std::fs::read_dir(env.path("backups"))
                .map(|d| d.count() == 0)
                .unwrap_or(true),
            "{var}: something was written"
        );
        env.vars.retain(|(k, _)| k != var);
    }
}

//! `backup verify` / `backup list` catch damage precisely; retention only ever prunes our archives.

mod backup_support;
mod common;

use backup_support::*;
use std::path::{Path, PathBuf};
use vannactl::backup::archive::read_manifest;

fn copy_to(env: &Env, archive: &Path, name: &str) -> PathBuf {
    let p = env.path(name);
    std::fs::copy(archive, &p).unwrap();
    p
}

fn verify_fails(env: &Env, file: &Path, expect: &str) {
    let (code, v) = env.json(&["backup", "verify", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(expect), "expected {expect:?} in {msg}");
}

#[test]
fn verify_catches_flipped_byte_and_truncation() {
    let env = Env::sqlite();
    let archive = env.backup();
    env.ok(&["backup", "verify"]); // default: newest
    let len = std::fs::metadata(&archive).unwrap().len();

    let original = std::fs::read(&archive).unwrap();
    let unpacked = gunzip(&original).unwrap();
    // Some bits of a deflate stream do not change what it decodes to: flip the first byte from
    // two thirds on whose flip really changes the content (or breaks the stream).
    let flipped = copy_to(&env, &archive, "flipped.tar.gz");
    let mut bytes = original.clone();
    let mut at = bytes.len() * 2 / 3;
    loop {
        bytes[at] ^= 0x01;
        if gunzip(&bytes).ok().as_ref() != Some(&unpacked) {
            break;
        }
        bytes[at] ^= 0x01;
        at += 1;
    }
    std::fs::write(&flipped, &bytes).unwrap();
    verify_fails(&env, &flipped, "is damaged");

    // The gzip trailer (CRC-32, length) lies after the tar's end blocks; it is checked too.
    let trailer = copy_to(&env, &archive, "trailer.tar.gz");
    let mut bytes = original.clone();
    let crc = bytes.len() - 8;
    bytes[crc] ^= 0x01;
    std::fs::write(&trailer, &bytes).unwrap();
    verify_fails(&env, &trailer, "is damaged");

    let truncated = copy_to(&env, &archive, "truncated.tar.gz");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    verify_fails(&env, &truncated, "is damaged");

    let garbage = env.path("garbage.tar.gz");
    std::fs::write(&garbage, b"not an archive at all").unwrap();
    verify_fails(&env, &garbage, "is damaged");
}

fn gunzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out)?;
    Ok(out)
}

fn sha(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn verify_reports_member_mismatch_missing_extra_and_bad_manifest_precisely() {
    let env = Env::sqlite();
    let archive = env.backup();
    let mut m = read_manifest(&archive).unwrap();
    // Keep one component so the crafted archives stay small.
    m.members
        .retain(|x| x.path == "knowledge/chroma/chroma.sqlite3");
    for (_, c) in m.components.iter_mut() {
        c.members.retain(|x| x == "knowledge/chroma/chroma.sqlite3");
        if c.members.is_empty() {
            c.state = vannactl::backup::manifest::State::Absent;
        }
    }
    let data = b"opaque bytes".to_vec();
    m.members[0].size = data.len() as u64;
    m.members[0].sha256 = sha(&data);
    let good = serde_json::to_vec(&m).unwrap();
    let r = tar::EntryType::Regular;

    let ok = env.path("ok.tar.gz");
    craft(
        &ok,
        &[
            ("manifest.json", r, good.clone()),
            ("knowledge/chroma/chroma.sqlite3", r, data.clone()),
        ],
    );
    // Hashes fine, but the deep check finds the member is no SQLite database.
    verify_fails(&env, &ok, "knowledge/chroma/chroma.sqlite3");

    let mut other = data.clone();
    other[0] ^= 0x20;
    let p = env.path("mismatch.tar.gz");
    craft(
        &p,
        &[
            ("manifest.json", r, good.clone()),
            ("knowledge/chroma/chroma.sqlite3", r, other),
        ],
    );
    verify_fails(&env, &p, "member knowledge/chroma/chroma.sqlite3: sha256");

    let p = env.path("missing.tar.gz");
    craft(&p, &[("manifest.json", r, good.clone())]);
    verify_fails(
        &env,
        &p,
        "missing member(s) knowledge/chroma/chroma.sqlite3",
    );

    let p = env.path("extra.tar.gz");
    craft(
        &p,
        &[
            ("manifest.json", r, good.clone()),
            ("knowledge/chroma/chroma.sqlite3", r, data.clone()),
            ("system/extra.db", r, b"x".to_vec()),
        ],
    );
    verify_fails(
        &env,
        &p,
        "\"system/extra.db\" is not listed in the manifest",
    );

    let p = env.path("badjson.tar.gz");
    craft(
        &p,
        &[("manifest.json", r, b"{\"format_version\": 1, ".to_vec())],
    );
    verify_fails(&env, &p, "manifest.json does not parse");

    let p = env.path("nomanifest.tar.gz");
    craft(&p, &[("knowledge/chroma/chroma.sqlite3", r, data.clone())]);
    verify_fails(&env, &p, "not manifest.json");

    let mut newer: serde_json::Value = serde_json::from_slice(&good).unwrap();
    newer["format_version"] = 2.into();
    let p = env.path("newer.tar.gz");
    craft(
        &p,
        &[("manifest.json", r, serde_json::to_vec(&newer).unwrap())],
    );
    verify_fails(&env, &p, "format version 2 is newer");
}

#[test]
fn list_shows_archives_and_flags_a_damaged_one() {
    let env = Env::sqlite();
    let a = env.backup();
    let b = env.backup();
    let v = env.ok(&["backup", "list"]);
    let rows = v["archives"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["path"], b.to_str().unwrap(), "newest first");
    assert_eq!(rows[0]["verified"], "checksums ok");
    assert_eq!(rows[0]["components"], "system,knowledge,target");
    // Damage the older one: list exits 1 and says which.
    let mut bytes = std::fs::read(&a).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 100);
    std::fs::write(&a, &bytes).unwrap();
    let (code, v) = env.json(&["backup", "list"]);
    assert_eq!(code, 1);
    assert_eq!(v["archives"][1]["ok"], false);
    assert!(
        v["archives"][1]["verified"]
            .as_str()
            .unwrap()
            .contains("damaged"),
        "{v}"
    );
    // --fast reads manifests only.
    let v = env.ok(&["backup", "list", "--fast"]);
    assert_eq!(v["archives"][1]["verified"], "not checked");
}

#[test]
fn retention_keeps_newest_and_never_touches_other_files() {
    let mut env = Env::sqlite();
    env.set("BACKUP_RETENTION_COUNT", "2");
    std::fs::create_dir_all(env.path("backups")).unwrap();
    let strangers = [
        "notes.txt",
        "backup_manual.tar.gz",
        "backup_20200101T000000.000Z.tar.gz.keep",
    ];
    for s in strangers {
        std::fs::write(env.path("backups").join(s), b"mine").unwrap();
    }
    let first = env.backup();
    let second = env.backup();
    // Dry run: shows that `first` would go, deletes nothing, writes nothing.
    let d = env.ok(&["backup", "--dry-run"]);
    assert_eq!(
        d["retention"]["would_prune"],
        serde_json::json!([first.to_str().unwrap()])
    );
    assert_eq!(env.archives(), vec![first.clone(), second.clone()]);
    let v = env.ok(&["backup"]);
    assert_eq!(v["pruned"], serde_json::json!([first.to_str().unwrap()]));
    let third = PathBuf::from(v["archive"].as_str().unwrap());
    assert_eq!(env.archives(), vec![second, third]);
    for s in strangers {
        assert_eq!(std::fs::read(env.path("backups").join(s)).unwrap(), b"mine");
    }
}

#[test]
fn calendar_retention_cuts_days_in_local_time_and_only_after_a_complete_backup() {
    let mut env = Env::sqlite();
    env.set("BACKUP_KEEP_DAILY", "3");
    std::fs::create_dir_all(env.path("backups")).unwrap();
    // Archive names are UTC. In Europe/Berlin (UTC+1 in January) b is already January 11.
    let names = [
        "backup_20260111T100000.000Z.tar.gz", // Berlin 01-11 11:00
        "backup_20260110T233000.000Z.tar.gz", // Berlin 01-11 00:30
        "backup_20260110T223000.000Z.tar.gz", // Berlin 01-10 23:30
        "backup_20260109T120000.000Z.tar.gz", // Berlin 01-09 13:00
    ];
    for n in names {
        std::fs::write(env.path("backups").join(n), b"old").unwrap();
    }
    let dir = env.path("backups");
    let loc = |i: usize| dir.join(names[i]).display().to_string();
    // The new backup takes one day; in UTC the other two are 01-11 (names[0]) and 01-10 (names[1]).
    env.set("TZ", "UTC");
    let d = env.ok(&["backup", "--dry-run"]);
    assert_eq!(
        d["retention"]["would_prune"],
        serde_json::json!([loc(2), loc(3)]),
        "{d}"
    );
    env.set("TZ", "Europe/Berlin");
    let d = env.ok(&["backup", "--dry-run"]);
    assert_eq!(d["retention"]["time_zone"], "Europe/Berlin");
    assert_eq!(
        d["retention"]["would_prune"],
        serde_json::json!([loc(1), loc(3)]),
        "{d}"
    );
    assert_eq!(d["retention"]["kept"][1]["id"], names[0]);
    assert_eq!(
        d["retention"]["kept"][1]["reasons"],
        serde_json::json!(["daily"])
    );
    assert_eq!(
        d["retention"]["kept"][2]["created_at"],
        "2026-01-10T23:30:00+01:00"
    );
    // A backup that fails halfway prunes nothing.
    env.set("VANNACTL_TEST_HOOK", "fail:backup:archive");
    let (code, v) = env.json(&["backup"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(env.archives().len(), names.len());
    env.set("VANNACTL_TEST_HOOK", "");
    let v = env.ok(&["backup"]);
    assert_eq!(v["pruned"], serde_json::json!([loc(1), loc(3)]), "{v}");
    let written = PathBuf::from(v["archive"].as_str().unwrap());
    let mut left = vec![written, dir.join(names[0]), dir.join(names[2])];
    left.sort();
    assert_eq!(env.archives(), left);
}

#[test]
fn health_reports_the_newest_archive() {
    let env = Env::sqlite();
    let (_, v) = env.json(&["health"]);
    let check = |v: &serde_json::Value| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == "backup")
            .cloned()
            .unwrap_or_else(|| panic!("no backup check in {v}"))
    };
    assert_eq!(check(&v)["status"], "warn");
    assert!(check(&v)["detail"]
        .as_str()
        .unwrap()
        .contains("no archives"));
    let a = env.backup();
    let (_, v) = env.json(&["health"]);
    assert_eq!(check(&v)["status"], "ok", "{v}");
    assert!(check(&v)["detail"]
        .as_str()
        .unwrap()
        .contains(a.file_name().unwrap().to_str().unwrap()));
    std::fs::write(&a, b"garbage").unwrap();
    let (_, v) = env.json(&["health"]);
    assert_eq!(check(&v)["status"], "warn");
    assert!(check(&v)["detail"].as_str().unwrap().contains("unreadable"));
}

#[test]
fn retention_never_prunes_the_archive_just_written() {
    // An archive name from the future (a clock that was wrong, or stepped back since) sorts newest;
    // retention must still keep the backup this run just wrote.
    let mut env = Env::sqlite();
    env.set("BACKUP_RETENTION_COUNT", "1");
    std::fs::create_dir_all(env.path("backups")).unwrap();
    let future = env.backup();
    let future_name = env.path("backups/backup_20991231T235959.000Z.tar.gz");
    std::fs::rename(&future, &future_name).unwrap();
    let v = env.ok(&["backup"]);
    let written = PathBuf::from(v["archive"].as_str().unwrap());
    assert!(written.exists(), "the archive just written was pruned: {v}");
    assert_eq!(
        v["pruned"],
        serde_json::json!([future_name.to_str().unwrap()])
    );
    assert_eq!(env.archives(), vec![written]);
}

/// `backup verify FILE` without `--json`: exit 1 and one `error:` line holding every `expect`.
fn verify_fails_one_line(env: &Env, file: &Path, expect: &[&str]) {
    let out = env
        .cmd()
        .args(["backup", "verify", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.trim().lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for e in expect {
        assert!(lines[0].contains(e), "expected {e:?} in {err}");
    }
}

fn bump_count(m: &mut vannactl::backup::manifest::Manifest, table: &str) {
    use vannactl::backup::manifest::Component;
    *m.components
        .get_mut(&Component::System)
        .unwrap()
        .counts
        .get_mut(table)
        .unwrap_or_else(|| panic!("no count for {table}")) += 1;
}

#[test]
fn verify_reads_every_page_of_sqlite_members_and_compares_counts() {
    let env = Env::sqlite();
    let archive = env.backup();
    let v = env.ok(&["backup", "verify", archive.to_str().unwrap()]);
    assert_eq!(v["verified"]["mode"], "full", "{v}");

    // One page in the middle of the system DB zeroed; the manifest rewritten to match it.
    let page = env.path("page.tar.gz");
    tamper(
        &archive,
        &page,
        "system/system.db",
        |db| {
            let size = u16::from_be_bytes([db[16], db[17]]) as usize;
            let size = if size == 1 { 65536 } else { size };
            let pages = db.len() / size;
            assert!(pages > 4, "{pages} pages");
            let at = pages / 2 * size;
            db[at..at + size].fill(0);
        },
        |_| {},
    );
    verify_fails_one_line(
        &env,
        &page,
        &["page.tar.gz", "system/system.db", "integrity_check"],
    );

    // The bytes intact, one count in the manifest off by one.
    let count = env.path("count.tar.gz");
    tamper(
        &archive,
        &count,
        "system/system.db",
        |_| {},
        |m| bump_count(m, "users"),
    );
    verify_fails_one_line(
        &env,
        &count,
        &[
            "count.tar.gz",
            "system/system.db",
            "table users holds",
            "the manifest says",
        ],
    );

    // Restore refuses both before changing anything.
    let before = env.system_contents();
    for bad in [&page, &count] {
        let (code, v) = env.json(&["--yes", "restore", bad.to_str().unwrap()]);
        assert_eq!(code, 1, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("system/system.db"),
            "{v}"
        );
    }
    assert_eq!(env.system_contents(), before);
}

#[test]
fn verify_reads_every_data_block_of_a_pg_dump_and_compares_counts() {
    let env = Env::postgres();
    let archive = env.backup();
    env.ok(&["backup", "verify", archive.to_str().unwrap()]);
    let dump = unpack(&archive)
        .into_iter()
        .find(|(p, _)| p == "system/postgres.dump")
        .unwrap()
        .1;
    let list_accepts = |bytes: &[u8]| {
        let f = env.path("listed.dump");
        std::fs::write(&f, bytes).unwrap();
        std::process::Command::new("pg_restore")
            .arg("--list")
            .arg(&f)
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(list_accepts(&dump));

    // Cut in half, and cut by its last bytes only: the table of contents is whole, so the old
    // check (`pg_restore --list`) accepts both; the manifest is rewritten to match.
    for (name, keep) in [
        ("half.tar.gz", dump.len() / 2),
        ("tail.tar.gz", dump.len() - 16),
    ] {
        assert!(
            list_accepts(&dump[..keep]),
            "{name}: --list would have caught it"
        );
        let p = env.path(name);
        tamper(
            &archive,
            &p,
            "system/postgres.dump",
            |d| d.truncate(keep),
            |_| {},
        );
        verify_fails_one_line(
            &env,
            &p,
            &[name, "system/postgres.dump", "cannot read every data block"],
        );
    }

    // Rows per table: the dump's COPY lines against the manifest.
    let p = env.path("count.tar.gz");
    tamper(
        &archive,
        &p,
        "system/postgres.dump",
        |_| {},
        |m| bump_count(m, "audit.events"),
    );
    verify_fails_one_line(
        &env,
        &p,
        &[
            "count.tar.gz",
            "system/postgres.dump",
            "rows of table audit.events",
        ],
    );

    // A damaged block whose hash was not rewritten: the hash mismatch is what is reported, though
    // pg_restore, reading the stream, fails first.
    let mut members = unpack(&archive);
    let d = &mut members
        .iter_mut()
        .find(|(p, _)| p == "system/postgres.dump")
        .unwrap()
        .1;
    let mid = d.len() / 2;
    d[mid..mid + 64].fill(0xAA);
    let p = env.path("flipped.tar.gz");
    let entries: Vec<(&str, tar::EntryType, Vec<u8>)> = members
        .iter()
        .map(|(p, d)| (p.as_str(), tar::EntryType::Regular, d.clone()))
        .collect();
    craft(&p, &entries);
    verify_fails_one_line(
        &env,
        &p,
        &["flipped.tar.gz", "member system/postgres.dump: sha256"],
    );

    // restore (which checks its staged copy of the dump) refuses before changing anything.
    let before = env.system_contents();
    let p = env.path("half.tar.gz");
    let (code, v) = env.json(&["--yes", "restore", p.to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("cannot read every data block"), "{msg}");
    assert_eq!(env.system_contents(), before);
}

use super::*;
use crate::config::Sources;

/// The layout of a deployment rooted at `root` with `env` on top of the defaults.
fn layout(root: &Path, env: &[(&str, &str)]) -> Layout {
    let mut vars: std::collections::BTreeMap<String, String> = [
        ("DATABASE_URL", "sqlite://ROOT/data/system.db"),
        ("TARGET_DB_SOURCE", "ROOT/assets/source.db"),
        ("TARGET_DB_PATH", "ROOT/data/vanna_db.db"),
        ("KNOWLEDGE_DB_PATH", "ROOT/data/knowledge.db"),
        ("CHROMA_PATH", "ROOT/data/chroma"),
        ("LOCK_PATH", "ROOT/data/vannactl.lock"),
        ("LOG_DIR", "ROOT/logs"),
        ("BACKUP_DIR", "ROOT/backups"),
        ("ONTOLOGY_DIR", "ROOT/ontology"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in env {
        vars.insert(k.to_string(), v.to_string());
    }
    let root = root.to_str().unwrap();
    for v in vars.values_mut() {
        *v = v.replace("ROOT", root);
    }
    let sources = Sources {
        env: vars,
        no_dotenv: true,
        ..Default::default()
    };
    Layout::of(&Settings::load(&sources).unwrap(), None)
}

fn pairs(l: &Layout) -> Vec<(String, String)> {
    l.conflicts
        .iter()
        .map(|c| (c.first.clone(), c.second.clone()))
        .collect()
}

#[test]
fn defaults_have_no_conflict() {
    let d = tempfile::tempdir().unwrap();
    let l = layout(d.path(), &[]);
    assert!(l.conflicts.is_empty(), "{:?}", l.conflicts);
    assert!(l.check().is_ok());
}

#[test]
fn the_issue_s_three_typos_are_conflicts() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_str().unwrap();
    let lock = layout(d.path(), &[("LOCK_PATH", &format!("{r}/data/system.db"))]);
    assert!(lock.conflicted("LOCK_PATH") && lock.conflicted("DATABASE_URL"));
    let err = lock.check().unwrap_err();
    assert_eq!(
        crate::error::classify(&err).1,
        crate::error::ExitStatus::Usage
    );
    let msg = err.to_string();
    assert!(
        msg.contains("LOCK_PATH=") && msg.contains("DATABASE_URL=sqlite://"),
        "{msg}"
    );
    assert!(msg.contains("data/system.db"), "{msg}");

    let db = layout(
        d.path(),
        &[("DATABASE_URL", &format!("sqlite://{r}/data/vanna_db.db"))],
    );
    assert_eq!(
        pairs(&db),
        [("DATABASE_URL".into(), "TARGET_DB_PATH".into())]
    );

    let copy = layout(
        d.path(),
        &[("TARGET_DB_PATH", &format!("{r}/data/system.db"))],
    );
    assert_eq!(
        pairs(&copy),
        [("DATABASE_URL".into(), "TARGET_DB_PATH".into())]
    );

    let source = layout(
        d.path(),
        &[("TARGET_DB_PATH", &format!("{r}/assets/source.db"))],
    );
    assert_eq!(
        pairs(&source),
        [("TARGET_DB_SOURCE".into(), "TARGET_DB_PATH".into())]
    );
}

#[test]
fn other_spellings_of_one_file_are_the_same_file() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_str().unwrap();
    std::fs::create_dir_all(d.path().join("data")).unwrap();
    std::fs::write(d.path().join("data/system.db"), b"").unwrap();
    std::os::unix::fs::symlink(d.path().join("data"), d.path().join("alias")).unwrap();
    std::fs::hard_link(d.path().join("data/system.db"), d.path().join("hard.db")).unwrap();
    for spelling in [
        format!("{r}/alias/system.db"),
        format!("{r}/logs/../data/./system.db"),
        format!("{r}/hard.db"),
    ] {
        let l = layout(d.path(), &[("KNOWLEDGE_DB_PATH", &spelling)]);
        assert_eq!(
            pairs(&l),
            [("DATABASE_URL".into(), "KNOWLEDGE_DB_PATH".into())],
            "{spelling}"
        );
    }
}

#[test]
fn side_files_and_manifest_belong_to_their_role() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_str().unwrap();
    let wal = layout(
        d.path(),
        &[("LOCK_PATH", &format!("{r}/data/system.db-wal"))],
    );
    assert!(wal.conflicted("LOCK_PATH") && wal.conflicted("DATABASE_URL"));
    let manifest = layout(
        d.path(),
        &[(
            "METRICS_FILE",
            &format!("{r}/data/vanna_db.db.manifest.json"),
        )],
    );
    assert!(manifest.conflicted("METRICS_FILE") && manifest.conflicted("TARGET_DB_PATH"));
    // The log file inside LOG_DIR is the role's file.
    let log = layout(
        d.path(),
        &[("DATABASE_URL", &format!("sqlite://{r}/logs/vannactl.log"))],
    );
    assert!(log.conflicted("LOG_DIR"));
}

#[test]
fn owned_folders_and_files_used_as_folders() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_str().unwrap();
    let backups = layout(d.path(), &[("BACKUP_DIR", &format!("{r}/data"))]);
    for v in [
        "DATABASE_URL",
        "TARGET_DB_PATH",
        "KNOWLEDGE_DB_PATH",
        "LOCK_PATH",
    ] {
        assert!(backups.conflicted(v), "{v}: {:?}", backups.conflicts);
    }
    assert!(backups.conflicts[0].message.contains("owns the folder"));
    // A file used as a folder by another role.
    let log = layout(d.path(), &[("LOG_DIR", &format!("{r}/data/system.db"))]);
    assert!(log.conflicted("LOG_DIR") && log.conflicted("DATABASE_URL"));
    assert!(log.conflicts[0].message.contains("uses it as a folder"));
    // Readers of a folder do not own it: the ontology may sit beside the data.
    let onto = layout(d.path(), &[("ONTOLOGY_DIR", &format!("{r}/data"))]);
    assert!(onto.conflicts.is_empty(), "{:?}", onto.conflicts);
    // Two readers of one file do not collide.
    let keys = layout(
        d.path(),
        &[
            ("BACKUP_AGE_IDENTITY_FILE", &format!("{r}/keys.txt")),
            ("BACKUP_AGE_RECIPIENTS_FILE", &format!("{r}/keys.txt")),
        ],
    );
    assert!(keys.conflicts.is_empty(), "{:?}", keys.conflicts);
}

#[test]
fn the_stage_folder_of_an_s3_repository_is_owned() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().to_str().unwrap();
    let l = layout(
        d.path(),
        &[
            ("BACKUP_DIR", "s3://bucket/p"),
            ("BACKUP_STAGE_DIR", &format!("{r}/data")),
        ],
    );
    assert!(l.conflicted("BACKUP_STAGE_DIR") && l.conflicted("DATABASE_URL"));
    let ok = layout(d.path(), &[("BACKUP_DIR", "s3://bucket/p")]);
    assert!(ok.conflicts.is_empty(), "{:?}", ok.conflicts);
}

#[test]
fn external_target_that_is_the_system_db() {
    let d = tempfile::tempdir().unwrap();
    let same = layout(
        d.path(),
        &[
            ("DATABASE_URL", "postgres://app:secret1@localhost/vanna"),
            ("ENABLE_TARGET_DB", "true"),
            (
                "TARGET_DATABASE_URL",
                "postgresql://ro:secret2@127.0.0.1:5432/vanna",
            ),
        ],
    );
    assert_eq!(
        pairs(&same),
        [("DATABASE_URL".into(), "TARGET_DATABASE_URL".into())]
    );
    let msg = &same.conflicts[0].message;
    assert!(
        !msg.contains("secret1") && !msg.contains("secret2"),
        "{msg}"
    );
    // The database defaults to the user name, as in libpq.
    let default_db = layout(
        d.path(),
        &[
            ("DATABASE_URL", "postgres://vanna@db.internal/vanna"),
            ("ENABLE_TARGET_DB", "true"),
            ("TARGET_DATABASE_URL", "postgres://vanna@DB.internal:5432"),
        ],
    );
    assert_eq!(default_db.conflicts.len(), 1);
    for other in [
        "postgres://ro@localhost/sales",
        "postgres://ro@localhost:5433/vanna",
        "mysql://ro@localhost/vanna",
    ] {
        let l = layout(
            d.path(),
            &[
                ("DATABASE_URL", "postgres://app@localhost/vanna"),
                ("ENABLE_TARGET_DB", "true"),
                ("TARGET_DATABASE_URL", other),
            ],
        );
        assert!(l.conflicts.is_empty(), "{other}: {:?}", l.conflicts);
    }
}

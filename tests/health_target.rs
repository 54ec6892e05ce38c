//! `vannactl health` with an external target database (ENABLE_TARGET_DB): PostgreSQL and MariaDB
//! with data loaded from a shared sample database; unreachable, wrong password and empty databases.

mod common;

use common::cli::{json_of, named};
use common::mysql::{load_sqlite, MyDatabase, MyUser};
use common::paths::testdata;
use common::pg::PgDatabase;

/// `health --json` in an initialised folder with `url` as the external target.
fn health(d: &std::path::Path, url: &str) -> (Option<i32>, serde_json::Value, String) {
    let out = common::cli::health_of_target(d, url);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), json_of(&out), all)
}

fn target_check(j: &serde_json::Value) -> serde_json::Value {
    named(j, "checks", "external target DB").clone()
}

#[test]
fn mariadb_target_healthy_then_critical_with_wrong_password_or_unreachable() {
    let d = tempfile::tempdir().unwrap();
    common::cli::init_with_target(d.path(), "car_1.sqlite");
    let db = MyDatabase::create();
    let tables = load_sqlite(&db, &testdata("dog_kennels.sqlite"));
    let user = MyUser::create(&db, "SELECT, SHOW VIEW");

    let (code, j, all) = health(d.path(), &db.url(&user.name, &user.password));
    let c = target_check(&j);
    assert_eq!((code, c["status"].as_str()), (Some(0), Some("ok")), "{j}");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{} tables/views", tables.len())),
        "{detail}"
    );
    assert!(detail.to_ascii_lowercase().contains("mariadb"), "{detail}");
    assert!(detail.contains(":****@127.0.0.1"), "{detail}");
    assert!(!all.contains(&user.password), "{all}");
    assert_eq!(named(&j, "checks", "golden copy")["status"], "skipped");

    let wrong = db.url(&user.name, "not-the-Password-1");
    let (code, j, all) = health(d.path(), &wrong);
    let c = target_check(&j);
    assert_eq!(
        (code, c["status"].as_str()),
        (Some(3), Some("critical")),
        "{j}"
    );
    assert!(!all.contains("not-the-Password-1"), "{all}");

    let port = common::free_port();
    let (code, j, _) = health(d.path(), &format!("mysql://root@127.0.0.1:{port}/x"));
    assert_eq!(
        (code, target_check(&j)["status"].as_str()),
        (Some(3), Some("critical")),
        "{j}"
    );
    assert!(
        target_check(&j)["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{j}"
    );
}

#[test]
fn postgres_target_healthy_empty_is_a_warning_and_missing_database_is_critical() {
    let d = tempfile::tempdir().unwrap();
    common::cli::init_with_target(d.path(), "car_1.sqlite");
    let pg = PgDatabase::create();
    let (code, j, _) = health(d.path(), &pg.url());
    let c = target_check(&j);
    assert_eq!(
        (code, c["status"].as_str()),
        (Some(0), Some("warn")),
        "empty database: {j}"
    );

    pg.client()
        .batch_execute("CREATE TABLE orders (id int PRIMARY KEY, amount numeric); CREATE VIEW big AS SELECT id FROM orders WHERE amount > 100;")
        .unwrap();
    let (code, j, _) = health(d.path(), &pg.url());
    let c = target_check(&j);
    assert_eq!((code, c["status"].as_str()), (Some(0), Some("ok")), "{j}");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("PostgreSQL 15") && detail.contains("2 tables/views"),
        "{detail}"
    );

    let missing = format!("{}_gone", pg.url());
    let (code, j, _) = health(d.path(), &missing);
    assert_eq!(
        (code, target_check(&j)["status"].as_str()),
        (Some(3), Some("critical")),
        "{j}"
    );
}

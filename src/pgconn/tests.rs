use super::*;
use crate::error::{classify, ExitStatus};
use std::collections::HashMap;

fn parse(url: &str, env: &[(&str, &str)]) -> anyhow::Result<PgConn> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PgConn::parse_with(url, "DATABASE_URL", &move |k| env.get(k).cloned())
}

fn usage_message(r: anyhow::Result<PgConn>) -> String {
    let e = r.err().expect("an error");
    assert_eq!(classify(&e).1, ExitStatus::Usage, "{e}");
    e.to_string()
}

fn password(c: &PgConn) -> Option<String> {
    c.cfg
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

#[test]
fn the_issue_urls_parse_with_libpq_parameters() {
    let c = parse(
        "postgres://app@db.example:5432/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem",
        &[],
    )
    .unwrap();
    assert_eq!(c.mode, SslMode::VerifyFull);
    assert_eq!(c.root, RootSource::File("/etc/ssl/db-ca.pem".into()));
    assert_eq!(
        (c.host().as_str(), c.port(), c.dbname()),
        ("db.example", 5432, "app")
    );
    let c = parse("postgresql://app@db.example/app?sslmode=require", &[]).unwrap();
    assert_eq!(c.mode, SslMode::Require);
}

#[test]
fn url_wins_over_environment_and_libpq_defaults_fill_the_rest() {
    let env = [
        ("PGSSLMODE", "verify-ca"),
        ("PGSSLROOTCERT", "/env/ca.pem"),
        ("PGSSLCERT", "/env/c.crt"),
        ("PGSSLKEY", "/env/c.key"),
        ("HOME", "/home/op"),
    ];
    let c = parse("postgres://u@h/d", &env).unwrap();
    assert_eq!(c.mode, SslMode::VerifyCa);
    assert_eq!(c.root, RootSource::File("/env/ca.pem".into()));
    assert_eq!(
        (c.cert.to_str(), c.key.to_str()),
        (Some("/env/c.crt"), Some("/env/c.key"))
    );
    let c = parse(
        "postgres://u@h/d?sslmode=disable&sslrootcert=/u/ca.pem&sslcert=/u/c.crt&sslkey=/u/c.key",
        &env,
    )
    .unwrap();
    assert_eq!(c.mode, SslMode::Disable);
    assert_eq!(c.root, RootSource::File("/u/ca.pem".into()));
    assert_eq!(c.key, PathBuf::from("/u/c.key"));
    let c = parse("postgres://u@h/d", &[("HOME", "/home/op")]).unwrap();
    assert_eq!(c.mode, SslMode::Prefer);
    assert_eq!(
        c.root,
        RootSource::File("/home/op/.postgresql/root.crt".into())
    );
    assert_eq!(c.cert, PathBuf::from("/home/op/.postgresql/postgresql.crt"));
    assert_eq!(c.key, PathBuf::from("/home/op/.postgresql/postgresql.key"));
    // PGUSER/PGHOST/PGPORT/PGDATABASE where the URL has none.
    let c = parse(
        "postgres:///?sslmode=disable",
        &[
            ("PGUSER", "eve"),
            ("PGHOST", "pg.internal"),
            ("PGPORT", "6543"),
            ("PGDATABASE", "ops"),
        ],
    )
    .unwrap();
    assert_eq!(
        (c.user(), c.host().as_str(), c.port(), c.dbname()),
        ("eve", "pg.internal", 6543, "ops")
    );
}

#[test]
fn system_trust_store_means_verify_full() {
    let c = parse("postgres://u@h/d?sslrootcert=system", &[]).unwrap();
    assert_eq!(
        (c.mode, &c.root),
        (SslMode::VerifyFull, &RootSource::System)
    );
    for weak in ["require", "verify-ca", "disable", "prefer"] {
        let m = usage_message(parse(
            &format!("postgres://u:secret@h/d?sslrootcert=system&sslmode={weak}"),
            &[],
        ));
        assert!(
            m.contains(&format!(
                "weak sslmode {weak} may not be used with sslrootcert=system"
            )),
            "{m}"
        );
        assert!(!m.contains("secret"), "{m}");
    }
}

#[test]
fn invalid_values_are_usage_errors_with_the_masked_url() {
    let m = usage_message(parse("postgres://u:hunter2@h/d?sslmode=verify", &[]));
    assert!(m.contains("sslmode=verify is not one of"), "{m}");
    assert!(m.contains("postgres://u:****@h/d"), "{m}");
    assert!(!m.contains("hunter2"), "{m}");
    let m = usage_message(parse("postgres://u@h/d", &[("PGSSLMODE", "strict")]));
    assert!(m.contains("sslmode=strict"), "{m}");
    let m = usage_message(parse("postgres://u@h/d?sslcrl=/x.crl", &[]));
    assert!(m.contains("sslcrl is not supported"), "{m}");
    let m = usage_message(parse("postgres://u@h/d?sslpassword=x", &[]));
    assert!(m.contains("sslpassword"), "{m}");
    let m = usage_message(parse("postgres://u@h/d?connect_timeout=soon", &[]));
    assert!(m.contains("connect_timeout=soon"), "{m}");
    let m = usage_message(parse("postgres://u@h/d?no_such_thing=1", &[]));
    assert!(m.contains("not a valid PostgreSQL URL"), "{m}");
    // Harmless libpq parameters are accepted.
    parse(
        "postgres://u@h/d?sslsni=1&sslcompression=0&gssencmode=disable&sslpassword=",
        &[],
    )
    .unwrap();
}

#[test]
fn connect_timeout_as_libpq_reads_it() {
    let t = |url: &str, env: &[(&str, &str)]| parse(url, env).unwrap().timeout();
    assert_eq!(t("postgres://u@h/d", &[]), None);
    assert_eq!(
        t("postgres://u@h/d", &[("PGCONNECT_TIMEOUT", "7")]),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        t(
            "postgres://u@h/d?connect_timeout=3",
            &[("PGCONNECT_TIMEOUT", "7")]
        ),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        t("postgres://u@h/d?connect_timeout=1", &[]),
        Some(Duration::from_secs(2))
    );
    assert_eq!(t("postgres://u@h/d?connect_timeout=0", &[]), None);
}

#[test]
fn application_name_precedence() {
    let app = |url: &str, env: &[(&str, &str)]| {
        parse(url, env)
            .unwrap()
            .cfg
            .get_application_name()
            .unwrap()
            .to_string()
    };
    assert_eq!(app("postgres://u@h/d", &[]), "vannactl");
    assert_eq!(
        app("postgres://u@h/d?fallback_application_name=fb", &[]),
        "fb"
    );
    assert_eq!(
        app(
            "postgres://u@h/d?fallback_application_name=fb",
            &[("PGAPPNAME", "env")]
        ),
        "env"
    );
    assert_eq!(
        app(
            "postgres://u@h/d?application_name=my%20app",
            &[("PGAPPNAME", "env")]
        ),
        "my app"
    );
}

#[test]
fn password_from_url_then_pgpassword_then_password_file() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("pass");
    std::fs::write(&file, "h:5432:d:u:from-file\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let f = file.to_str().unwrap();
    let env = [("PGPASSFILE", f)];
    assert_eq!(
        password(&parse("postgres://u@h/d", &env).unwrap()).as_deref(),
        Some("from-file")
    );
    assert_eq!(
        password(
            &parse(
                "postgres://u@h/d",
                &[("PGPASSFILE", f), ("PGPASSWORD", "from-env")]
            )
            .unwrap()
        )
        .as_deref(),
        Some("from-env")
    );
    assert_eq!(
        password(&parse("postgres://u:from%40url@h/d", &[("PGPASSWORD", "from-env")]).unwrap())
            .as_deref(),
        Some("from@url")
    );
    // passfile= in the URL beats PGPASSFILE; HOME/.pgpass is the default.
    assert_eq!(
        password(
            &parse(
                &format!("postgres://u@h/d?passfile={f}"),
                &[("PGPASSFILE", "/none")]
            )
            .unwrap()
        )
        .as_deref(),
        Some("from-file")
    );
    std::fs::copy(&file, d.path().join(".pgpass")).unwrap();
    let home = d.path().to_str().unwrap();
    assert_eq!(
        password(&parse("postgres://u@h/d", &[("HOME", home)]).unwrap()).as_deref(),
        Some("from-file")
    );
    assert_eq!(
        password(&parse("postgres://u@h:5433/d", &[("HOME", home)]).unwrap()),
        None
    );
}

#[test]
fn child_tools_get_vannactl_as_fallback_name() {
    assert_eq!(
        PgConn::child_url("postgres://u@h/d"),
        "postgres://u@h/d?fallback_application_name=vannactl"
    );
    assert_eq!(
        PgConn::child_url("postgres://u@h/d?sslmode=verify-full"),
        "postgres://u@h/d?sslmode=verify-full&fallback_application_name=vannactl"
    );
    assert_eq!(
        PgConn::child_url("postgres://u@h/d?fallback_application_name=x"),
        "postgres://u@h/d?fallback_application_name=x"
    );
}

#[test]
fn percent_decoding_is_libpq_s() {
    assert_eq!(percent_decode("a%2Fb+c%zz%4"), "a/b+c%zz%4");
    assert_eq!(percent_decode("%+1"), "%+1");
}

#[test]
fn system_roots_spelled_for_libpq_before_16() {
    let none = |_: &str| None;
    let bundle = std::path::Path::new("/etc/ssl/certs/ca certs.crt");
    let (url, vars) = system_roots_for_old_libpq(
        "postgres://u@h/d?sslrootcert=system&fallback_application_name=vannactl",
        bundle,
        &none,
    );
    assert_eq!(
        url,
        "postgres://u@h/d?sslrootcert=/etc/ssl/certs/ca%20certs.crt&fallback_application_name=vannactl&sslmode=verify-full"
    );
    assert!(vars.is_empty());
    // From PGSSLROOTCERT=system, with the mode already in the URL.
    let (url, vars) =
        system_roots_for_old_libpq("postgres://u@h/d?sslmode=verify-full", bundle, &none);
    assert_eq!(url, "postgres://u@h/d?sslmode=verify-full");
    assert_eq!(vars, [("PGSSLROOTCERT", bundle.display().to_string())]);
}

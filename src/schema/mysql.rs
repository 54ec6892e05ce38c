//! MySQL and MariaDB targets, through the sync `mysql` crate. The DDL is the server's own
//! `SHOW CREATE TABLE` / `SHOW CREATE VIEW`, printed with `sql_quote_show_create = 0`: the server
//! then quotes only the identifiers its own parser needs quoted (keywords, odd characters), so the
//! text reads back the same by construction and the `unquote` step is not used here. Columns, keys
//! and relations come from information_schema. The session runs in one read-only transaction.
//! TLS follows MySQL's clients' `ssl-mode` and `ssl-ca` ([`tls`]).

pub mod tls;

use super::{Column, ForeignKey, ObjectKind, Schema, SchemaObject, Verdict};
use crate::config::mask_url;
use crate::error::{fail, usage};
use anyhow::{anyhow, Result};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Row, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Socket read/write limit beyond the server-side statement limit: a backstop for a server that
/// accepts the connection but never answers.
const IO_SLACK: Duration = Duration::from_secs(5);

/// `mysql://`, `mariadb://`, and SQLAlchemy's `mysql+driver://` / `mariadb+driver://` URLs.
pub fn is_mysql_url(url: &str) -> bool {
    scheme(url).is_some_and(|s| {
        let base = s.split('+').next().unwrap_or("");
        base.eq_ignore_ascii_case("mysql") || base.eq_ignore_ascii_case("mariadb")
    })
}

fn scheme(url: &str) -> Option<&str> {
    url.find("://").map(|i| &url[..i])
}

/// The URL as the `mysql` crate parses it (`mysql://…`).
fn crate_url(url: &str) -> String {
    match url.find("://") {
        Some(i) => format!("mysql{}", &url[i..]),
        None => url.to_string(),
    }
}

pub fn connect(url: &str) -> Result<Conn> {
    let masked = mask_url(url);
    let (crate_url, tls) = tls::split(&crate_url(url), &masked)?;
    let opts = Opts::from_url(&crate_url).map_err(|e| {
        usage(format!(
            "TARGET_DATABASE_URL={masked} is not a valid MySQL URL ({e}); expected mysql://user:password@host:3306/database"
        ))
    })?;
    let db = opts.get_db_name().unwrap_or("").to_string();
    let crates_own = tls.defaulted && opts.get_ssl_opts().is_some();
    if db.is_empty() {
        return Err(usage(format!(
            "TARGET_DATABASE_URL={masked} names no database; add it as the path (mysql://user:password@host:3306/database)"
        )));
    }
    // Deadlines (crate::net): TCP within `connect`; the whole login (handshake, authentication,
    // session set-up) within `login` — the crate bounds only the TCP connect, and a host that
    // accepts it but never speaks would otherwise hold on until the socket timeout.
    let d = crate::net::current();
    let io = d.statement + IO_SLACK;
    let opts = OptsBuilder::from_opts(opts)
        .tcp_connect_timeout(Some(d.connect))
        .read_timeout(Some(io))
        .write_timeout(Some(io))
        // The crate would otherwise switch a loopback connection to the Unix socket, where the
        // server may see another user (`u@localhost` instead of `u@127.0.0.1`).
        .prefer_socket(false);
    // The crate's own TLS parameters (root_cert_path=…) stay in charge when ssl-mode and ssl-ca
    // are absent; otherwise MySQL's meaning.
    let opts = if crates_own {
        opts
    } else {
        opts.ssl_opts(tls.ssl_opts(&masked)?)
    };
    let preferred = !crates_own && tls.mode == tls::SslMode::Preferred;
    let plain_only = !crates_own && tls.mode == tls::SslMode::Disabled;
    crate::trust::install_provider();
    // On a thread, so the deadline holds whatever the server does; a thread still waiting after it
    // ends with its socket's timeout.
    let (tx, rx) = std::sync::mpsc::channel();
    let statement = d.statement;
    std::thread::spawn(move || {
        let attempt = |opts: OptsBuilder| {
            Conn::new(opts).map(|mut conn| {
                let set_up = session(&mut conn, statement);
                (conn, set_up)
            })
        };
        let r = match attempt(opts.clone()) {
            // PREFERRED: plain text when the server offers no TLS.
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported)) if preferred => {
                attempt(opts.clone().ssl_opts(None::<mysql::SslOpts>))
            }
            r => r,
        };
        // MariaDB refuses a plain-text login under require_secure_transport as "access denied",
        // like a wrong password; the same login over TLS tells the two apart.
        let tls_only = plain_only
            && matches!(&r, Err(mysql::Error::MySqlError(s)) if s.code == 1045)
            && Conn::new(opts.ssl_opts(tls::unverified())).is_ok();
        let _ = tx.send((r, tls_only));
    });
    let (conn, set_up) = match rx.recv_timeout(d.login) {
        Ok((r, tls_only)) => r.map_err(|e| {
            let why = if tls_only {
                Some(tls::requires_tls(&tls))
            } else {
                tls::explain(&e, &tls)
            };
            match why {
                Some(why) => fail(
                    "target_tls",
                    format!("the target database {masked}: {why}"),
                ),
                None => connect_error(&e, &masked, &db, &d),
            }
        })?,
        Err(_) => {
            return Err(fail(
                "target_unreachable",
                format!(
                    "the target database {masked} did not complete the login within {}; check the host and port \
                     in TARGET_DATABASE_URL and that a MySQL/MariaDB server answers there",
                    crate::net::secs(d.login)
                ),
            ))
        }
    };
    set_up.map_err(|e| {
        fail(
            "target_connect_failed",
            format!(
                "cannot set up a read-only session on the target database {masked}: {}",
                error_text(&e)
            ),
        )
    })?;
    Ok(conn)
}

/// Read-only, time-limited, and SHOW CREATE quoting only what needs it.
fn session(conn: &mut Conn, statement: Duration) -> mysql::Result<()> {
    let version: String = conn.query_first("SELECT VERSION()")?.unwrap_or_default();
    let limit = if version.to_ascii_lowercase().contains("mariadb") {
        format!(
            "SET SESSION max_statement_time = {}",
            statement.as_secs_f64()
        )
    } else {
        // MySQL's limit applies to SELECT only, which is all this session runs.
        format!("SET SESSION max_execution_time = {}", statement.as_millis())
    };
    conn.query_drop(limit)?;
    conn.query_drop("SET SESSION sql_quote_show_create = 0")?;
    conn.query_drop("SET SESSION TRANSACTION READ ONLY")?;
    // One transaction for the whole run: writes are refused, and the reads see one snapshot.
    conn.query_drop("START TRANSACTION READ ONLY")?;
    Ok(())
}

/// What went wrong connecting, for the operator: which URL, and what to check.
fn connect_error(
    e: &mysql::Error,
    masked: &str,
    db: &str,
    d: &crate::net::Deadlines,
) -> anyhow::Error {
    match e {
        // ER_DBACCESS_DENIED_ERROR: logged in, but not into that database (the server does not say
        // whether it exists).
        mysql::Error::MySqlError(s) if s.code == 1044 => fail(
            "target_access_denied",
            format!(
                "the target database {masked} refused access to `{db}`: {}; check the database name in \
                 TARGET_DATABASE_URL and that the user has SELECT and SHOW VIEW on it",
                s.message
            ),
        ),
        // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
        mysql::Error::MySqlError(s) if matches!(s.code, 1045 | 1698) => fail(
            "target_access_denied",
            format!(
                "the target database {masked} refused the login: {}; check the user and password in \
                 TARGET_DATABASE_URL (the user needs SELECT and SHOW VIEW on `{db}`)",
                s.message
            ),
        ),
        // ER_BAD_DB_ERROR
        mysql::Error::MySqlError(s) if s.code == 1049 => fail(
            "target_database_missing",
            format!(
                "the target database {masked} does not exist on that server ({}); check the database name in TARGET_DATABASE_URL",
                s.message
            ),
        ),
        mysql::Error::MySqlError(_) => fail(
            "target_connect_failed",
            format!(
                "cannot connect to the target database {masked}: {}; check TARGET_DATABASE_URL",
                error_text(e)
            ),
        ),
        _ => fail(
            "target_unreachable",
            format!(
                "cannot reach the target database {masked} (connect timeout {}): {}; check the host and port \
                 in TARGET_DATABASE_URL and that the server is running and reachable",
                crate::net::secs(d.connect),
                error_text(e)
            ),
        ),
    }
}

/// The crate's error without its `MySqlError { … }` wrapping, on one line.
fn error_text(e: &mysql::Error) -> String {
    crate::net::excerpt(&match e {
        mysql::Error::MySqlError(s) => format!("{} (error {})", s.message, s.code),
        mysql::Error::IoError(io) => io.to_string(),
        mysql::Error::CodecError(c) => c.to_string(),
        mysql::Error::DriverError(d) => d.to_string(),
        mysql::Error::UrlError(u) => u.to_string(),
        other => other.to_string(),
    })
}

fn db_err(e: mysql::Error) -> anyhow::Error {
    anyhow!(error_text(&e))
}

/// A value as text (NULL as None); integers and floats as the server would print them.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Every row of a query as text values.
fn rows(conn: &mut Conn, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let rows: Vec<Row> = conn.query(sql).map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|r| r.unwrap().iter().map(text).collect())
        .collect())
}

fn cell(r: &[Option<String>], i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

/// `` `name` ``, backticks doubled inside.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

pub fn extract(conn: &mut Conn, source: String) -> Result<Schema> {
    let mut tables: Vec<(String, String)> = rows(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )?
    .iter()
    .map(|r| (cell(r, 0), cell(r, 1)))
    .collect();
    // information_schema orders case-insensitively; byte order, like the other targets.
    tables.sort();

    let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    let pk: BTreeMap<(String, String), u32> = rows(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'PRIMARY'",
    )?
    .iter()
    .map(|r| ((cell(r, 0), cell(r, 1)), cell(r, 2).parse().unwrap_or(0)))
    .collect();
    let mariadb = is_mariadb(conn)?;
    for r in rows(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
    )? {
        let (table, name) = (cell(&r, 0), cell(&r, 1));
        // MariaDB shows "no default" as the text NULL (a string default is quoted: 'NULL').
        let default = r
            .get(4)
            .cloned()
            .flatten()
            .filter(|d| !(mariadb && d == "NULL"));
        columns.entry(table.clone()).or_default().push(Column {
            primary_key: pk.get(&(table, name.clone())).copied(),
            data_type: cell(&r, 2),
            not_null: cell(&r, 3) == "NO",
            default,
            name,
        });
    }

    let mut fks: BTreeMap<String, Vec<(String, ForeignKey)>> = BTreeMap::new();
    for r in rows(
        conn,
        "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA = DATABASE(), \
                REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
    )? {
        let constraint = cell(&r, 1);
        let list = fks.entry(cell(&r, 0)).or_default();
        if list.last().map(|(c, _)| c) != Some(&constraint) {
            let references_table = if cell(&r, 3) == "1" {
                cell(&r, 5)
            } else {
                format!("{}.{}", cell(&r, 4), cell(&r, 5))
            };
            list.push((
                constraint,
                ForeignKey {
                    columns: Vec::new(),
                    references_table,
                    references_columns: Vec::new(),
                },
            ));
        }
        let fk = &mut list.last_mut().expect("pushed").1;
        fk.columns.push(cell(&r, 2));
        fk.references_columns.push(cell(&r, 6));
    }

    let mut objects = Vec::new();
    let mut skipped = Vec::new();
    for (name, table_type) in tables {
        let kind = match table_type.as_str() {
            "BASE TABLE" | "SYSTEM VERSIONED" => ObjectKind::Table,
            "VIEW" => ObjectKind::View,
            other => {
                skipped.push(format!("{name} ({})", other.to_ascii_lowercase()));
                continue;
            }
        };
        let cols = columns.remove(&name).unwrap_or_default();
        if cols.is_empty() && kind == ObjectKind::View {
            // information_schema lists no columns for a view whose table or column is gone (it
            // cannot be queried); SHOW COLUMNS says why.
            let why = match conn.query_drop(format!("SHOW COLUMNS FROM {}", quote_ident(&name))) {
                Err(e) => error_text(&e),
                Ok(()) => "it has no columns".into(),
            };
            skipped.push(format!("{name} (view does not compile: {why})"));
            continue;
        }
        let ddl = match kind {
            ObjectKind::Table => table_ddl(&show_create(conn, "TABLE", &name)?),
            _ => view_ddl(&show_create(conn, "VIEW", &name)?),
        };
        objects.push(SchemaObject {
            kind,
            sql_name: quote_ident(&name),
            foreign_keys: fks
                .remove(&name)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, f)| f)
                .collect(),
            // Indexes are part of SHOW CREATE TABLE.
            indexes: Vec::new(),
            columns: cols,
            name,
            ddl,
        });
    }
    Ok(Schema {
        source,
        objects,
        skipped,
    })
}

pub fn server_version(conn: &mut Conn) -> Result<String> {
    let v: Option<String> = conn.query_first("SELECT VERSION()").map_err(db_err)?;
    Ok(v.unwrap_or_default())
}

fn is_mariadb(conn: &mut Conn) -> Result<bool> {
    Ok(server_version(conn)?
        .to_ascii_lowercase()
        .contains("mariadb"))
}

/// The CREATE statement of `SHOW CREATE TABLE|VIEW name` (its second column).
fn show_create(conn: &mut Conn, what: &str, name: &str) -> Result<String> {
    let r = rows(conn, &format!("SHOW CREATE {what} {}", quote_ident(name)))?;
    r.first()
        .and_then(|r| r.get(1).cloned().flatten())
        .ok_or_else(|| anyhow!("SHOW CREATE {what} {} returned nothing", quote_ident(name)))
}

/// The table's statement without the `AUTO_INCREMENT=n` table option: that counter moves with every
/// insert and would make the item change (and be replaced) on every run.
fn table_ddl(create: &str) -> String {
    let mut out = create.trim_end().to_string();
    // The table options follow the closing parenthesis, which starts a line (definitions are
    // indented, and line breaks inside them are printed escaped).
    if let Some(close) = out.find("\n)") {
        let end = out[close + 1..]
            .find('\n')
            .map_or(out.len(), |e| close + 1 + e);
        let options: Vec<&str> = out[close + 1..end]
            .split(' ')
            .filter(|w| {
                !(w.len() > "AUTO_INCREMENT=".len()
                    && w.starts_with("AUTO_INCREMENT=")
                    && w["AUTO_INCREMENT=".len()..]
                        .bytes()
                        .all(|b| b.is_ascii_digit()))
            })
            .collect();
        out = format!("{}{}{}", &out[..close + 1], options.join(" "), &out[end..]);
    }
    out.push(';');
    out
}

/// `CREATE VIEW name AS body;` from SHOW CREATE VIEW's `CREATE ALGORITHM=… DEFINER=… SQL SECURITY …
/// VIEW name AS body`: who defined it and how it runs are noise to the app (and name an account).
/// Anything unexpected keeps the server's text.
fn view_ddl(create: &str) -> String {
    let create = create.trim_end();
    let simplified = ["SQL SECURITY DEFINER VIEW ", "SQL SECURITY INVOKER VIEW "]
        .iter()
        .find_map(|m| create.find(m).map(|i| &create[i + m.len()..]))
        .and_then(|rest| {
            let name_len = identifier_len(rest)?;
            let body = rest[name_len..].strip_prefix(" AS ")?;
            Some(format!("CREATE VIEW {} AS {body}", &rest[..name_len]))
        });
    let mut out = simplified.unwrap_or_else(|| create.to_string());
    out.push(';');
    out
}

/// Length of the identifier that starts `s`: a backtick-quoted one (doubled backticks inside) or
/// a bare one up to the next space.
fn identifier_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() == Some(&b'`') {
        let mut i = 1;
        while i < b.len() {
            if b[i] == b'`' {
                if b.get(i + 1) == Some(&b'`') {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            i += 1;
        }
        None
    } else {
        s.find(' ').filter(|&n| n > 0)
    }
}

/// Candidate sample values of `table.column` (`table` as SQL names it), most frequent first, from
/// the first rows; None when the column holds free text (a value over `MAX_COLUMN_CHARS`).
pub fn sample(conn: &mut Conn, table: &str, column: &str) -> Result<Option<Vec<String>>> {
    use super::samples::{CANDIDATES, MAX_COLUMN_CHARS, MAX_VALUE_CHARS, MIN_COUNT, ROW_LIMIT};
    // Binary collation: grouped and tie-ordered by code point, like SQLite and PostgreSQL's "C"
    // (a `_ci` collation would merge `Bachelor` and `bachelor`).
    let rows_sql = format!(
        "(SELECT CONVERT({} USING utf8mb4) COLLATE utf8mb4_bin AS v FROM {table} LIMIT {ROW_LIMIT}) s \
         WHERE v IS NOT NULL",
        quote_ident(column)
    );
    let longest = rows(conn, &format!("SELECT max(char_length(v)) FROM {rows_sql}"))?
        .first()
        .map(|r| cell(r, 0).parse::<usize>().unwrap_or(0))
        .unwrap_or(0);
    if longest > MAX_COLUMN_CHARS {
        return Ok(None);
    }
    Ok(Some(
        rows(
            conn,
            &format!(
                "SELECT v FROM {rows_sql} AND char_length(trim(v)) BETWEEN 1 AND {MAX_VALUE_CHARS} \
                 GROUP BY v HAVING count(*) >= {MIN_COUNT} ORDER BY count(*) DESC, v LIMIT {CANDIDATES}"
            ),
        )?
        .iter()
        .map(|r| cell(r, 0))
        .collect(),
    ))
}

/// `(min, max)` of a numeric `table.column` (`table` as SQL names it) among the first rows, as
/// the server prints them; None when it holds no value.
pub fn range(conn: &mut Conn, table: &str, column: &str) -> Result<Option<(String, String)>> {
    let r = rows(
        conn,
        &format!(
            "SELECT min(v), max(v) FROM (SELECT {} AS v FROM {table} LIMIT {}) s",
            quote_ident(column),
            super::samples::ROW_LIMIT
        ),
    )?;
    Ok(r.into_iter().next().and_then(|row| {
        row.first()
            .cloned()
            .flatten()
            .zip(row.get(1).cloned().flatten())
    }))
}

/// Preparing the query checks that it is exactly one statement and compiles (the text protocol
/// would run several); EXPLAIN then plans it, as text, since MySQL (unlike MariaDB) cannot prepare
/// EXPLAIN itself. Nothing runs, and it happens in the session's READ ONLY transaction (see
/// `session`), where MariaDB refuses even to prepare or explain a statement that would write
/// (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION): that is the server's verdict.
pub fn check_query(conn: &mut Conn, sql: &str) -> Result<Verdict> {
    let checked = conn
        .prep(sql)
        .and_then(|stmt| conn.close(stmt))
        .and_then(|()| conn.query_drop(format!("EXPLAIN {sql}")));
    match checked {
        Ok(()) => Ok(Verdict::ReadOnly),
        Err(mysql::Error::MySqlError(e)) if e.code == READ_ONLY_TRANSACTION => {
            Ok(Verdict::Writes(format!(
                "the server refuses it in a READ ONLY transaction ({})",
                e.message
            )))
        }
        Err(e) => Err(db_err(e)),
    }
}

/// ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION.
const READ_ONLY_TRANSACTION: u16 = 1792;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_and_mariadb_urls_are_recognised() {
        for u in [
            "mysql://u:p@h:3306/db",
            "MariaDB://h/db",
            "mysql+pymysql://u@h/db",
            "mariadb+mariadbconnector://h/db",
        ] {
            assert!(is_mysql_url(u), "{u}");
        }
        for u in ["postgres://h/db", "host=h dbname=db", "mysqlx://h/db"] {
            assert!(!is_mysql_url(u), "{u}");
        }
        assert_eq!(crate_url("mariadb+x://u@h/db"), "mysql://u@h/db");
    }

    #[test]
    fn auto_increment_counter_is_dropped_from_table_options_only() {
        let create = "CREATE TABLE t (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) \
                      ENGINE=InnoDB AUTO_INCREMENT=17 DEFAULT CHARSET=utf8mb4 COMMENT='AUTO_INCREMENT=3'";
        assert_eq!(
            table_ddl(create),
            "CREATE TABLE t (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`id`)\n) \
             ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='AUTO_INCREMENT=3';"
        );
        assert_eq!(
            table_ddl("CREATE TABLE t (\n  a int\n)"),
            "CREATE TABLE t (\n  a int\n);"
        );
    }

    #[test]
    fn view_definer_and_algorithm_go_the_body_stays() {
        assert_eq!(
            view_ddl("CREATE ALGORITHM=UNDEFINED DEFINER=root@`127.0.0.1` SQL SECURITY DEFINER VIEW big AS select o.`id` AS `id` from orders o"),
            "CREATE VIEW big AS select o.`id` AS `id` from orders o;"
        );
        assert_eq!(
            view_ddl("CREATE ALGORITHM=MERGE DEFINER=`a b`@`%` SQL SECURITY INVOKER VIEW `my ``v`` AS x` AS select 1 AS `1`"),
            "CREATE VIEW `my ``v`` AS x` AS select 1 AS `1`;"
        );
        // Not the expected shape: the server's text stays.
        assert_eq!(
            view_ddl("CREATE VIEW v AS select 1"),
            "CREATE VIEW v AS select 1;"
        );
    }
}

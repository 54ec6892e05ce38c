//! PostgreSQL backend: bounded connect with actionable errors, and [`Val`] conversions driven by
//! the parameter and column types the server reports.

use super::Val;
use crate::error::fail;
use crate::pgconn::PgConn;
use anyhow::{anyhow, Result};
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::Client;

/// Where a URL points, for messages (never the password).
struct Target {
    masked: String,
    host: String,
    port: u16,
    user: String,
    dbname: String,
}

fn target_of(pg: &PgConn) -> Target {
    Target {
        masked: pg.masked.clone(),
        host: pg.host(),
        port: pg.port(),
        user: pg.user().to_string(),
        dbname: pg.dbname().to_string(),
    }
}

/// Connect within the deadlines in force ([`crate::net`]; a `connect_timeout` in the URL or
/// `PGCONNECT_TIMEOUT` wins). The whole startup, not only the TCP handshake, is bounded: a host that
/// accepts but never answers is unreachable too. TLS, certificates and the password file follow
/// libpq ([`crate::pgconn`]). Under `health`'s probe deadlines the session also gets a
/// `statement_timeout`, so a server that logs us in but hangs on a query cannot hold the check.
pub fn connect(url: &str) -> Result<Client> {
    let pg = PgConn::parse(url, "DATABASE_URL")?;
    let t = target_of(&pg);
    let d = crate::net::current();
    let mut client = crate::net::pg_connect(&pg, &d).map_err(|e| match e.explained() {
        Ok(tls) => tls,
        Err(e) => classify_connect(&e, &t),
    })?;
    if crate::net::in_probe() {
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}",
                d.statement.as_millis()
            ))
            .map_err(describe)?;
    }
    Ok(client)
}

fn classify_connect(e: &crate::net::PgConnectError, t: &Target) -> anyhow::Error {
    if let Some(db) = e.db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return fail(
                "db_auth_failed",
                format!(
                    "authentication failed for user {:?} on system DB {} ({}); check the user and password in DATABASE_URL",
                    t.user,
                    t.masked,
                    db.message()
                ),
            );
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            return fail(
                "db_missing",
                format!(
                    "database {:?} does not exist on {}:{} (DATABASE_URL {}); create it, e.g. `createdb -h {} -p {} -U {} {}`",
                    t.dbname, t.host, t.port, t.masked, t.host, t.port, t.user, t.dbname
                ),
            );
        }
        return fail(
            "db_error",
            format!(
                "system DB {} refused the connection: {}",
                t.masked,
                crate::net::excerpt(db.message())
            ),
        );
    }
    if let crate::net::PgConnectError::Silent(timeout) = e {
        return fail(
            "db_unreachable",
            format!(
                "system DB {} did not answer within {} (host {}:{}); check that PostgreSQL is running there and the host/port in DATABASE_URL are right",
                t.masked,
                crate::net::secs(*timeout),
                t.host,
                t.port
            ),
        );
    }
    fail(
        "db_unreachable",
        format!(
            "cannot reach system DB {} at {}:{} ({}); check that PostgreSQL is running there and the host/port in DATABASE_URL are right",
            t.masked,
            t.host,
            t.port,
            e.reason()
        ),
    )
}

/// A readable error for a statement that failed (server message, detail and hint).
pub fn describe(e: postgres::Error) -> anyhow::Error {
    match e.as_db_error() {
        Some(db) => {
            let mut msg = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                msg.push_str(&format!("; {d}"));
            }
            if let Some(h) = db.hint() {
                msg.push_str(&format!("; hint: {h}"));
            }
            anyhow!(msg)
        }
        None => anyhow!(e.to_string()),
    }
}

fn to_param(v: &Val, ty: &Type) -> Result<Box<dyn ToSql + Sync>> {
    Ok(match (v, ty) {
        (Val::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Val::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Val::Null, t) if *t == Type::INT2 => Box::new(None::<i16>),
        (Val::Null, t) if *t == Type::FLOAT8 => Box::new(None::<f64>),
        (Val::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Val::Null, t) if *t == Type::JSONB || *t == Type::JSON => {
            Box::new(None::<serde_json::Value>)
        }
        (Val::Null, t) if *t == Type::TIMESTAMPTZ => {
            Box::new(None::<chrono::DateTime<chrono::Utc>>)
        }
        (Val::Null, _) => Box::new(None::<String>),
        (Val::Int(i), t) if *t == Type::INT8 => Box::new(*i),
        (Val::Int(i), t) if *t == Type::INT4 => Box::new(i32::try_from(*i)?),
        (Val::Int(i), t) if *t == Type::INT2 => Box::new(i16::try_from(*i)?),
        (Val::Int(i), t) if *t == Type::BOOL => Box::new(*i != 0),
        (Val::Int(i), t) if *t == Type::FLOAT8 => Box::new(*i as f64),
        (Val::Float(f), t) if *t == Type::FLOAT8 => Box::new(*f),
        (Val::Text(s), t) if *t == Type::JSONB || *t == Type::JSON => {
            Box::new(serde_json::from_str::<serde_json::Value>(s)?)
        }
        (Val::Text(s), t) if *t == Type::TIMESTAMPTZ => {
            Box::new(chrono::DateTime::parse_from_rfc3339(s)?.with_timezone(&chrono::Utc))
        }
        (Val::Text(s), _) => Box::new(s.clone()),
        (v, t) => return Err(anyhow!("cannot pass {v:?} as a PostgreSQL {t}")),
    })
}

fn params(stmt: &postgres::Statement, vals: &[Val]) -> Result<Vec<Box<dyn ToSql + Sync>>> {
    if stmt.params().len() != vals.len() {
        return Err(anyhow!(
            "statement expects {} parameters, got {}",
            stmt.params().len(),
            vals.len()
        ));
    }
    stmt.params()
        .iter()
        .zip(vals)
        .map(|(t, v)| to_param(v, t))
        .collect()
}

pub fn exec(c: &mut Client, sql: &str, vals: &[Val]) -> Result<u64> {
    let stmt = c.prepare(sql).map_err(describe)?;
    let p = params(&stmt, vals)?;
    let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref()).collect();
    c.execute(&stmt, &refs).map_err(describe)
}

pub fn query(c: &mut Client, sql: &str, vals: &[Val]) -> Result<Vec<Vec<Val>>> {
    let stmt = c.prepare(sql).map_err(describe)?;
    let p = params(&stmt, vals)?;
    let refs: Vec<&(dyn ToSql + Sync)> = p.iter().map(|b| b.as_ref()).collect();
    let rows = c.query(&stmt, &refs).map_err(describe)?;
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| from_column(row, i))
                .collect::<Result<Vec<Val>>>()
        })
        .collect()
}

fn from_column(row: &postgres::Row, i: usize) -> Result<Val> {
    let ty = row.columns()[i].type_().clone();
    let v = if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map(Val::Int)
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map(|x| Val::Int(x.into()))
    } else if ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?
            .map(|x| Val::Int(x.into()))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map(|x| Val::Int(x.into()))
    } else if ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)?.map(Val::Float)
    } else if ty == Type::FLOAT4 {
        row.try_get::<_, Option<f32>>(i)?
            .map(|x| Val::Float(x.into()))
    } else if ty == Type::JSONB || ty == Type::JSON {
        row.try_get::<_, Option<serde_json::Value>>(i)?
            .map(|x| Val::Text(x.to_string()))
    } else if ty == Type::TEXT || ty == Type::VARCHAR || ty == Type::NAME || ty == Type::BPCHAR {
        row.try_get::<_, Option<String>>(i)?.map(Val::Text)
    } else {
        return Err(anyhow!(
            "column {} has type {ty}; cast it to text in the query",
            row.columns()[i].name()
        ));
    };
    Ok(v.unwrap_or(Val::Null))
}

//! PostgreSQL schema extraction from `pg_catalog`: columns with `format_type`, defaults with
//! `pg_get_expr`, constraints with `pg_get_constraintdef`, indexes with `pg_get_indexdef`, views with
//! `pg_get_viewdef`. Identifiers are quoted by the server (`quote_ident`), so any name survives.

use super::{Column, ForeignKey, ObjectKind, Schema, SchemaObject, Verdict};
use crate::pgconn::PgConn;
use anyhow::{Context, Result};
use postgres::Client;

/// A read-only session on the target within the deadlines in force ([`crate::net`]): login
/// bounded as a whole, every statement limited server-side.
pub fn connect(url: &str) -> Result<Client> {
    let pg = PgConn::parse(url, "TARGET_DATABASE_URL")?;
    let masked = pg.masked.clone();
    let d = crate::net::current();
    let mut client = crate::net::pg_connect(&pg, &d).map_err(|e| {
        let e = match e.explained() {
            Ok(tls) => return tls,
            Err(e) => e,
        };
        let (kind, what) = match e.db_error() {
            Some(_) => ("target_connect_failed", "cannot connect to"),
            None => ("target_unreachable", "cannot reach"),
        };
        crate::error::fail(
            kind,
            format!(
                "{what} the target database {masked}: {}; check TARGET_DATABASE_URL and that the server is running",
                e.reason()
            ),
        )
    })?;
    // The target is only ever read; make the session refuse writes too.
    client
        .batch_execute(&format!(
            "SET default_transaction_read_only = on; SET statement_timeout = {}",
            d.statement.as_millis()
        ))
        .with_context(|| {
            format!("cannot set up a read-only session on the target database {masked}")
        })?;
    Ok(client)
}

pub fn server_version(client: &mut Client) -> Result<String> {
    let row = client.query_one("SELECT current_setting('server_version')", &[])?;
    Ok(format!("PostgreSQL {}", row.get::<_, String>(0)))
}

pub fn extract(client: &mut Client, source: String) -> Result<Schema> {
    let rels = client.query(
        "SELECT c.oid, CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname) \
                ELSE quote_ident(n.nspname) || '.' || quote_ident(c.relname) END, \
                c.relkind::text, \
                CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
           AND NOT c.relispartition \
         ORDER BY n.nspname, c.relname",
        &[],
    )?;
    let mut objects = Vec::new();
    for r in rels {
        let oid: u32 = r.get(0);
        let qname: String = r.get(1);
        let relkind: String = r.get(2);
        let name: String = r.get(3);
        let kind = match relkind.as_str() {
            "v" => ObjectKind::View,
            "m" => ObjectKind::MaterializedView,
            _ => ObjectKind::Table,
        };
        let (columns, quoted): (Vec<Column>, Vec<String>) =
            columns(client, oid)?.into_iter().unzip();
        let constraints: Vec<(String, String, String)> = client
            .query(
                "SELECT quote_ident(conname), contype::text, pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE conrelid = $1 ORDER BY contype = 'p' DESC, conname",
                &[&oid],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let foreign_keys = foreign_keys(client, oid)?;
        let indexes: Vec<String> = client
            .query(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i \
                 WHERE i.indrelid = $1 AND NOT EXISTS \
                   (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = $1) \
                 ORDER BY i.indexrelid::regclass::text",
                &[&oid],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut ddl = match kind {
            ObjectKind::Table => {
                let mut parts: Vec<String> = columns
                    .iter()
                    .zip(&quoted)
                    .map(|(c, q)| {
                        let mut s = format!("{q} {}", c.data_type);
                        if c.not_null {
                            s.push_str(" NOT NULL");
                        }
                        if let Some(d) = &c.default {
                            s.push_str(&format!(" DEFAULT {d}"));
                        }
                        s
                    })
                    .collect();
                parts.extend(
                    constraints
                        .iter()
                        .map(|(n, _, def)| format!("CONSTRAINT {n} {def}")),
                );
                format!("CREATE TABLE {qname} (\n    {}\n);", parts.join(",\n    "))
            }
            ObjectKind::View | ObjectKind::MaterializedView => {
                let def: String = client
                    .query_one("SELECT pg_get_viewdef($1::oid, true)", &[&oid])?
                    .get(0);
                let m = if kind == ObjectKind::MaterializedView {
                    "MATERIALIZED "
                } else {
                    ""
                };
                format!(
                    "CREATE {m}VIEW {qname} AS\n{};",
                    def.trim().trim_end_matches(';')
                )
            }
        };
        for i in &indexes {
            ddl.push_str(&format!("\n{i};"));
        }
        objects.push(SchemaObject {
            kind,
            sql_name: qname.clone(),
            name,
            columns,
            foreign_keys,
            indexes,
            ddl,
        });
    }
    Ok(Schema {
        source,
        objects,
        skipped: vec!["pg_catalog".into(), "information_schema".into()],
    })
}

/// Columns, each with its name as SQL writes it (the server's `quote_ident`: quoted only when needed).
fn columns(client: &mut Client, oid: u32) -> Result<Vec<(Column, String)>> {
    Ok(client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                    pg_get_expr(d.adbin, d.adrelid), \
                    array_position(p.conkey, a.attnum)::int4, quote_ident(a.attname) \
             FROM pg_attribute a \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN pg_constraint p ON p.conrelid = a.attrelid AND p.contype = 'p' \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )?
        .iter()
        .map(|r| {
            (
                Column {
                    name: r.get(0),
                    data_type: r.get(1),
                    not_null: r.get(2),
                    default: r.get(3),
                    primary_key: r.get::<_, Option<i32>>(4).map(|p| p as u32),
                },
                r.get(5),
            )
        })
        .collect())
}

fn foreign_keys(client: &mut Client, oid: u32) -> Result<Vec<ForeignKey>> {
    Ok(client
        .query(
            "SELECT ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o) \
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o), \
                    (SELECT CASE WHEN n.nspname = 'public' THEN c.relname::text ELSE n.nspname || '.' || c.relname END \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = k.confrelid), \
                    ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o) \
                          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o) \
             FROM pg_constraint k WHERE k.conrelid = $1 AND k.contype = 'f' ORDER BY k.conname",
            &[&oid],
        )?
        .iter()
        .map(|r| ForeignKey {
            columns: r.get(0),
            references_table: r.get(1),
            references_columns: r.get(2),
        })
        .collect())
}

/// Candidate sample values of `table.column` (`table` as SQL names it), most frequent first, from
/// the first rows; None when the column holds free text (a value over `MAX_COLUMN_CHARS`).
pub fn sample(client: &mut Client, table: &str, column: &str) -> Result<Option<Vec<String>>> {
    use super::samples::{CANDIDATES, MAX_COLUMN_CHARS, MAX_VALUE_CHARS, MIN_COUNT, ROW_LIMIT};
    let rows = format!(
        "(SELECT {}::text AS v FROM {table} LIMIT {ROW_LIMIT}) s WHERE v IS NOT NULL",
        super::quote_ident(column)
    );
    let longest: Option<i32> = client
        .query_one(&format!("SELECT max(length(v)) FROM {rows}"), &[])?
        .get(0);
    if longest.unwrap_or(0) > MAX_COLUMN_CHARS as i32 {
        return Ok(None);
    }
    Ok(Some(
        client
            .query(
                &format!(
                    "SELECT v FROM {rows} AND length(trim(v)) BETWEEN 1 AND {MAX_VALUE_CHARS} \
                     GROUP BY v HAVING count(*) >= {MIN_COUNT} \
                     ORDER BY count(*) DESC, v COLLATE \"C\" LIMIT {CANDIDATES}"
                ),
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    ))
}

/// `(min, max)` of a numeric `table.column` (`table` as SQL names it) among the first rows, as
/// the server prints them; None when it holds no value.
pub fn range(client: &mut Client, table: &str, column: &str) -> Result<Option<(String, String)>> {
    let row = client.query_one(
        &format!(
            "SELECT min(v)::text, max(v)::text FROM (SELECT {} AS v FROM {table} LIMIT {}) s",
            super::quote_ident(column),
            super::samples::ROW_LIMIT
        ),
        &[],
    )?;
    let (lo, hi): (Option<String>, Option<String>) = (row.get(0), row.get(1));
    Ok(lo.zip(hi))
}

/// EXPLAIN through the extended protocol: exactly one statement, in a read-only session.
/// Plan `sql` without running it, inside a READ ONLY transaction that is rolled back: as a cursor
/// declaration, because that (unlike EXPLAIN, which skips the check) makes PostgreSQL refuse a
/// statement that would write, and a cursor only takes a query. The extended protocol takes one
/// statement only.
pub fn check_query(client: &mut Client, sql: &str) -> Result<Verdict> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let declared = tx.execute(
        &format!("DECLARE vannactl_pair_check NO SCROLL CURSOR FOR {sql}"),
        &[],
    );
    tx.rollback()?;
    match declared {
        Ok(_) => Ok(Verdict::ReadOnly),
        Err(e) if e.code() == Some(&postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION) => {
            Ok(Verdict::Writes(format!(
                "PostgreSQL refuses it in a READ ONLY transaction: {}",
                db_message(&e)
            )))
        }
        Err(e) => Err(e.into()),
    }
}

fn db_message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

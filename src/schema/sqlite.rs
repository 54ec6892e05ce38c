//! SQLite schema extraction: `sqlite_master` for the DDL as the database stores it, `pragma_*`
//! table-valued functions for columns, keys and indexes (names bound as parameters, so quotes,
//! spaces, keywords and non-ASCII names need no escaping).

use super::inline_fk::inline_foreign_keys;
use super::unquote::{unquote, SQLITE};
use super::{Column, ForeignKey, ObjectKind, Schema, SchemaObject, Verdict};
use anyhow::Result;
use rusqlite::Connection;

pub fn extract(conn: &Connection, source: String) -> Result<Schema> {
    let mut st = conn.prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name",
    )?;
    let rows: Vec<(String, String, Option<String>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut objects = Vec::new();
    let mut skipped = Vec::new();
    let mut index_names = Vec::new();
    for (kind, name, sql) in rows {
        let Some(sql) = sql.filter(|_| !name.to_ascii_lowercase().starts_with("sqlite_")) else {
            skipped.push(name);
            continue;
        };
        let kind = if kind == "view" {
            ObjectKind::View
        } else {
            ObjectKind::Table
        };
        // SQLite keeps a view whose table was dropped or renamed; it cannot be queried, so the app
        // must not learn it, and it must not block training the rest of the schema.
        let columns = match columns(conn, &name) {
            Ok(c) => c,
            Err(e) if kind == ObjectKind::View => {
                skipped.push(format!("{name} (view does not compile: {e})"));
                continue;
            }
            Err(e) => return Err(e),
        };
        let foreign_keys = if kind == ObjectKind::Table {
            foreign_keys(conn, &name)?
        } else {
            Vec::new()
        };
        let (names, indexes): (Vec<String>, Vec<String>) =
            indexes(conn, &name)?.into_iter().unzip();
        index_names.push(names);
        objects.push(SchemaObject {
            kind,
            sql_name: super::quote_ident(&name),
            name,
            columns,
            foreign_keys,
            indexes,
            ddl: sql,
        });
    }
    clean_ddl(&mut objects, &index_names)?;
    Ok(Schema {
        source,
        objects,
        skipped,
    })
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    let mut st = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1) WHERE hidden IN (0, 2, 3) ORDER BY cid",
    )?;
    let cols = st
        .query_map([table], |r| {
            let pk: i64 = r.get(4)?;
            Ok(Column {
                name: r.get(0)?,
                data_type: r.get(1)?,
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                primary_key: (pk > 0).then_some(pk as u32),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(cols)
}

fn foreign_keys(conn: &Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let mut st = conn.prepare(
        "SELECT id, \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let rows: Vec<(i64, String, String, Option<String>)> = st
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut fks: Vec<(i64, ForeignKey)> = Vec::new();
    for (id, from, to_table, to) in rows {
        if fks.last().map(|(i, _)| *i) != Some(id) {
            fks.push((
                id,
                ForeignKey {
                    columns: Vec::new(),
                    references_table: to_table,
                    references_columns: Vec::new(),
                },
            ));
        }
        let fk = &mut fks.last_mut().expect("pushed").1;
        fk.columns.push(from);
        if let Some(t) = to {
            fk.references_columns.push(t);
        }
    }
    Ok(fks.into_iter().map(|(_, f)| f).collect())
}

/// Names and CREATE INDEX statements of explicit indexes (automatic ones have no SQL; their constraints are in
/// the table's own DDL).
fn indexes(conn: &Connection, table: &str) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
    )?;
    let v = st
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Replace each object's `ddl` (its raw `sqlite_master` SQL on entry) by the statement with
/// needless quotes removed, followed by its indexes likewise. Every rewritten statement is executed
/// in a scratch database beside the original one and kept only when SQLite reports the same
/// columns, types, defaults, keys and index columns for it; otherwise the original text stays.
fn clean_ddl(objects: &mut [SchemaObject], index_names: &[Vec<String>]) -> Result<()> {
    let orig = Connection::open_in_memory()?;
    let clean = Connection::open_in_memory()?;
    // (object index, index position or None for the object itself, name, original, rewritten)
    let mut stmts: Vec<(usize, Option<usize>, String, String, String)> = Vec::new();
    let order = |k: ObjectKind| if k == ObjectKind::Table { 0 } else { 2 };
    for pass in 0..3 {
        for (oi, o) in objects.iter().enumerate() {
            if pass == 1 {
                for (ii, sql) in o.indexes.iter().enumerate() {
                    stmts.push((
                        oi,
                        Some(ii),
                        index_names[oi][ii].clone(),
                        sql.clone(),
                        unquote(sql, &SQLITE),
                    ));
                }
            } else if order(o.kind) == pass {
                let mut rewritten = unquote(&o.ddl, &SQLITE);
                if o.kind == ObjectKind::Table {
                    rewritten = inline_foreign_keys(&rewritten, &SQLITE);
                }
                stmts.push((oi, None, o.name.clone(), o.ddl.clone(), rewritten));
            }
        }
    }
    let mut rewritten_ok = vec![false; stmts.len()];
    for (n, (_, _, _, original, rewritten)) in stmts.iter().enumerate() {
        // Errors in the scratch databases only mean "keep the original text".
        let _ = orig.execute_batch(original);
        if rewritten != original && clean.execute_batch(rewritten).is_ok() {
            rewritten_ok[n] = true;
        } else {
            let _ = clean.execute_batch(original);
        }
    }
    for (n, (oi, index, name, original, rewritten)) in stmts.into_iter().enumerate() {
        let same = rewritten_ok[n] && {
            let a = fingerprint(&orig, &name, index.is_some());
            a.is_ok() && a.ok() == fingerprint(&clean, &name, index.is_some()).ok()
        };
        let text = if same { rewritten } else { original };
        let o = &mut objects[oi];
        match index {
            Some(ii) => o.indexes[ii] = text,
            None => o.ddl = text,
        }
    }
    for o in objects.iter_mut() {
        let mut ddl = format!("{};", o.ddl.trim_end().trim_end_matches(';'));
        for i in &o.indexes {
            ddl.push('\n');
            ddl.push_str(i.trim_end().trim_end_matches(';'));
            ddl.push(';');
        }
        o.ddl = ddl;
    }
    Ok(())
}

/// What SQLite reports about an object: columns (name, type, not null, default, key, hidden) and
/// foreign keys for a table or view, key columns and collations for an index. Foreign keys are
/// compared as a set: their order follows where the statement declares them (`inline_fk` moves
/// them onto their columns), and nothing depends on it.
fn fingerprint(conn: &Connection, name: &str, index: bool) -> rusqlite::Result<Vec<String>> {
    let sql = if index {
        "SELECT seqno || '|' || cid || '|' || ifnull(name, '') || '|' || \"desc\" || '|' || coll || '|' || \"key\" \
         FROM pragma_index_xinfo(?1)"
    } else {
        "SELECT cid || '|' || name || '|' || type || '|' || \"notnull\" || '|' || ifnull(dflt_value, '<null>') || '|' || pk || '|' || hidden \
         FROM pragma_table_xinfo(?1)"
    };
    let mut st = conn.prepare(sql)?;
    let mut v: Vec<String> = st
        .query_map([name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if v.is_empty() {
        // Unknown to this database (its statement failed): never "the same".
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    if !index {
        let mut st = conn.prepare(
            "SELECT id, \"table\" || '|' || \"from\" || '|' || ifnull(\"to\", '') || '|' || on_update || '|' || on_delete || '|' || \"match\" \
             FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )?;
        let mut fks: Vec<(i64, String)> = Vec::new();
        for row in st.query_map([name], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })? {
            let (id, part) = row?;
            match fks.last_mut() {
                Some((last, text)) if *last == id => {
                    text.push(',');
                    text.push_str(&part);
                }
                _ => fks.push((id, format!("fk|{part}"))),
            }
        }
        let mut fks: Vec<String> = fks.into_iter().map(|(_, t)| t).collect();
        fks.sort();
        v.extend(fks);
    }
    Ok(v)
}

/// Candidate sample values of `table.column` (both as SQL names), most frequent first, from the
/// first rows; None when the column holds free text (a value over `MAX_COLUMN_CHARS`).
pub fn sample(conn: &Connection, table: &str, column: &str) -> Result<Option<Vec<String>>> {
    use super::samples::{CANDIDATES, MAX_COLUMN_CHARS, MAX_VALUE_CHARS, MIN_COUNT, ROW_LIMIT};
    let rows = format!(
        "(SELECT {} AS v FROM {table} LIMIT {ROW_LIMIT}) WHERE typeof(v) = 'text'",
        super::quote_ident(column)
    );
    let longest: Option<i64> =
        conn.query_row(&format!("SELECT max(length(v)) FROM {rows}"), [], |r| {
            r.get(0)
        })?;
    if longest.unwrap_or(0) > MAX_COLUMN_CHARS as i64 {
        return Ok(None);
    }
    let mut st = conn.prepare(&format!(
        "SELECT v FROM {rows} AND length(trim(v)) BETWEEN 1 AND {MAX_VALUE_CHARS} \
         GROUP BY v HAVING count(*) >= {MIN_COUNT} ORDER BY count(*) DESC, v LIMIT {CANDIDATES}"
    ))?;
    let v = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(v))
}

/// `(min, max)` of the numbers in `table.column` (`table` as SQL names it) among the first rows;
/// None when it holds none.
pub fn range(conn: &Connection, table: &str, column: &str) -> Result<Option<(String, String)>> {
    use rusqlite::types::Value;
    let sql = format!(
        "SELECT min(v), max(v) FROM (SELECT {} AS v FROM {table} LIMIT {}) \
         WHERE typeof(v) IN ('integer', 'real')",
        super::quote_ident(column),
        super::samples::ROW_LIMIT
    );
    let text = |v: Value| match v {
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        _ => None,
    };
    let (lo, hi): (Value, Value) = conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(text(lo).zip(text(hi)))
}

/// Compile `sql` (one statement; nothing runs) and ask SQLite whether it leaves the database
/// unchanged (`sqlite3_stmt_readonly`).
pub fn check_query(conn: &Connection, sql: &str) -> Result<Verdict> {
    let st = conn.prepare(sql)?;
    Ok(if st.readonly() {
        Verdict::ReadOnly
    } else {
        Verdict::Writes("SQLite reports that the statement writes (sqlite3_stmt_readonly)".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_names_survive_and_internal_tables_are_skipped() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            r#"CREATE TABLE [Order Details] ("select" INTEGER PRIMARY KEY AUTOINCREMENT, [größe] TEXT NOT NULL DEFAULT 'x');
               CREATE TABLE "we""ird" (id INT REFERENCES [Order Details]("select"));
               CREATE INDEX [idx größe] ON [Order Details]([größe]);
               CREATE VIEW [my view] AS SELECT [größe] FROM [Order Details];"#,
        )
        .unwrap();
        let s = extract(&c, "t".into()).unwrap();
        let names: Vec<&str> = s.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, vec!["Order Details", "my view", "we\"ird"]);
        assert_eq!(s.skipped, vec!["sqlite_sequence"]);
        let od = &s.objects[0];
        assert_eq!(od.columns[1].name, "größe");
        assert!(od.columns[1].not_null && od.columns[1].default.as_deref() == Some("'x'"));
        assert_eq!(od.columns[0].primary_key, Some(1));
        assert!(
            od.ddl
                .ends_with("CREATE INDEX [idx größe] ON [Order Details]([größe]);"),
            "{}",
            od.ddl
        );
        assert_eq!(s.objects[1].kind, ObjectKind::View);
        assert_eq!(s.objects[1].columns.len(), 1);
        assert_eq!(
            s.objects[2].foreign_keys[0].references_table,
            "Order Details"
        );
    }

    #[test]
    fn needless_quotes_go_only_where_the_table_stays_the_same() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            r#"CREATE TABLE `Students` (`student_id` INTEGER PRIMARY KEY, [name] TEXT, "order" INT);
               CREATE INDEX "ix_name" ON `Students` (`name`);
               CREATE VIEW [v1] AS SELECT `name` FROM `Students`;
               CREATE TABLE "legacy" ("state" TEXT DEFAULT "active");"#,
        )
        .unwrap();
        let s = extract(&c, "t".into()).unwrap();
        let ddl: Vec<&str> = s.objects.iter().map(|o| o.ddl.as_str()).collect();
        assert_eq!(
            ddl[0],
            "CREATE TABLE Students (student_id INTEGER PRIMARY KEY, name TEXT, \"order\" INT);\n\
             CREATE INDEX ix_name ON Students (name);"
        );
        // Unquoted, the default "active" would become a different value: the original stays.
        assert_eq!(
            ddl[1],
            r#"CREATE TABLE "legacy" ("state" TEXT DEFAULT "active");"#
        );
        assert_eq!(ddl[2], "CREATE VIEW v1 AS SELECT name FROM Students;");
    }

    #[test]
    fn query_check_rejects_bad_sql_multiple_statements_and_writes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.db");
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1)")
            .unwrap();
        let c = crate::target::open_readonly(&p).unwrap();
        assert_eq!(
            check_query(&c, "SELECT a FROM t -- done").unwrap(),
            Verdict::ReadOnly
        );
        assert!(check_query(&c, "SELECT b FROM t").is_err());
        assert!(check_query(&c, "SELECT a FROM t; DROP TABLE t").is_err());
        // SQLite's own verdict, on the read-only connection, without running anything.
        for write in [
            "DELETE FROM t",
            "DROP TABLE t",
            "INSERT INTO t VALUES (2)",
            "WITH x AS (SELECT 1) UPDATE t SET a = 2",
        ] {
            assert!(
                matches!(check_query(&c, write).unwrap(), Verdict::Writes(_)),
                "{write}"
            );
        }
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_view_that_no_longer_compiles_is_skipped_with_the_reason() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t(a); CREATE TABLE gone(b); CREATE VIEW v AS SELECT b FROM gone; DROP TABLE gone;",
        )
        .unwrap();
        let s = extract(&c, "t".into()).unwrap();
        let names: Vec<&str> = s.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, vec!["t"]);
        assert!(
            s.skipped[0].starts_with("v (view does not compile: ") && s.skipped[0].contains("gone"),
            "{:?}",
            s.skipped
        );
    }
}

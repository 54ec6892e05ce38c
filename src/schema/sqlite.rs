//! SQLite schema extraction: `sqlite_master` for the DDL as the database stores it, `pragma_*`
//! table-valued functions for columns, keys and indexes (names bound as parameters, so quotes,
//! spaces, keywords and non-ASCII names need no escaping).

use super::{Column, ForeignKey, ObjectKind, Schema, SchemaObject};
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
        let indexes = indexes(conn, &name)?;
        let mut ddl = format!("{};", sql.trim_end().trim_end_matches(';'));
        for i in &indexes {
            ddl.push('\n');
            ddl.push_str(i.trim_end().trim_end_matches(';'));
            ddl.push(';');
        }
        objects.push(SchemaObject {
            kind,
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

/// CREATE INDEX statements of explicit indexes (automatic ones have no SQL; their constraints are in
/// the table's own DDL).
fn indexes(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
    )?;
    let v = st
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn explain(conn: &Connection, sql: &str) -> Result<()> {
    let mut st = conn.prepare(&format!("EXPLAIN {sql}"))?;
    let mut rows = st.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
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
    fn explain_rejects_bad_sql_and_multiple_statements() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t(a)").unwrap();
        assert!(explain(&c, "SELECT a FROM t").is_ok());
        assert!(explain(&c, "SELECT b FROM t").is_err());
        assert!(explain(&c, "SELECT a FROM t; DROP TABLE t").is_err());
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

//! The text of a DDL item: a comment header in words, then the object's DDL. MiniLM reads only the
//! first 256 tokens, so the header comes first and truncation only ever cuts the DDL's tail:
//!
//! ```text
//! -- Table "Degree_Programs": degree programs. Columns: degree program id, department id, ...
//! -- degree programs references departments (department).
//! -- degree programs referenced by student enrolment.
//! -- Sample values: degree summary name: Bachelor, Master, PHD
//! -- degree programs table.
//! CREATE TABLE Degree_Programs ( ... )
//! ```
//!
//! Measured by `scripts/bench-retrieval` (docs/knowledge-base-retrieval.md): relations give the
//! gain, table names in words and the object's words repeated before the DDL add to it.

use crate::schema::words::{phrase, relation_phrase};
use crate::schema::{ObjectKind, Schema, SchemaObject};
use std::collections::BTreeMap;

/// `samples`: `(column, values)` from `Target::samples` (empty when sampling is off).
pub fn ddl_text(schema: &Schema, o: &SchemaObject, samples: &[(String, Vec<String>)]) -> String {
    let kind = match o.kind {
        ObjectKind::Table => "Table",
        ObjectKind::View => "View",
        ObjectKind::MaterializedView => "Materialized view",
    };
    let me = phrase(&o.name);
    let mut s = format!("-- {kind} \"{}\": {me}.", one_line(&o.name));
    let cols: Vec<String> = o
        .columns
        .iter()
        .map(|c| phrase(&c.name))
        .filter(|w| !w.is_empty())
        .collect();
    if !cols.is_empty() {
        s.push_str(&format!(" Columns: {}.", cols.join(", ")));
    }
    s.push('\n');

    // Outgoing: target table -> the relation words of its FK columns, in FK order.
    let mut outgoing: Vec<(String, Vec<String>)> = Vec::new();
    for fk in &o.foreign_keys {
        let target = canonical(schema, &fk.references_table);
        let words = relation_phrase(&fk.columns.join(" "));
        match outgoing.iter_mut().find(|(t, _)| *t == target) {
            Some((_, w)) => {
                if !words.is_empty() && !w.contains(&words) {
                    w.push(words);
                }
            }
            None => outgoing.push((
                target,
                [words].into_iter().filter(|w| !w.is_empty()).collect(),
            )),
        }
    }
    if !outgoing.is_empty() {
        let parts: Vec<String> = outgoing
            .iter()
            .map(|(t, w)| {
                if w.is_empty() {
                    phrase(t)
                } else {
                    format!("{} ({})", phrase(t), w.join(", "))
                }
            })
            .collect();
        s.push_str(&format!("-- {me} references {}.\n", parts.join(", ")));
    }

    let incoming: BTreeMap<String, ()> = schema
        .objects
        .iter()
        .filter(|other| {
            other
                .foreign_keys
                .iter()
                .any(|fk| canonical(schema, &fk.references_table) == o.name)
        })
        .map(|other| (phrase(&other.name), ()))
        .collect();
    if !incoming.is_empty() {
        let names: Vec<&str> = incoming.keys().map(String::as_str).collect();
        s.push_str(&format!("-- {me} referenced by {}.\n", names.join(", ")));
    }

    if !samples.is_empty() {
        let parts: Vec<String> = samples
            .iter()
            .map(|(c, v)| format!("{}: {}", phrase(c), v.join(", ")))
            .collect();
        s.push_str(&format!("-- Sample values: {}\n", parts.join("; ")));
    }
    // The object's words once more: mean pooling weighs every token alike, and the DDL's many
    // tokens (types, keywords, snake_case names) otherwise drown the header.
    s.push_str(&format!("-- {me} {}.\n", kind.to_lowercase()));
    s.push_str(&o.ddl);
    s
}

/// The schema's own spelling of a referenced table (SQLite matches names case-insensitively, and
/// Spider's FKs often spell them differently), else the name as written.
fn canonical(schema: &Schema, name: &str) -> String {
    schema
        .objects
        .iter()
        .find(|x| x.name == name)
        .or_else(|| {
            schema
                .objects
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(name))
        })
        .map_or_else(|| name.to_string(), |x| x.name.clone())
}

/// Names inside a `--` comment must not end it.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ForeignKey};

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            data_type: "TEXT".into(),
            not_null: false,
            default: None,
            primary_key: None,
        }
    }

    fn table(name: &str, cols: &[&str], fks: &[(&str, &str)]) -> SchemaObject {
        SchemaObject {
            kind: ObjectKind::Table,
            name: name.into(),
            columns: cols.iter().map(|c| col(c)).collect(),
            foreign_keys: fks
                .iter()
                .map(|(c, t)| ForeignKey {
                    columns: vec![c.to_string()],
                    references_table: t.to_string(),
                    references_columns: vec![],
                })
                .collect(),
            indexes: vec![],
            ddl: format!("CREATE TABLE {name} (...);"),
            sql_name: name.into(),
        }
    }

    #[test]
    fn header_in_words_then_the_ddl() {
        let schema = Schema {
            source: "t".into(),
            objects: vec![
                table(
                    "Degree_Programs",
                    &["degree_program_id", "department_id", "degree_summary_name"],
                    &[("department_id", "departments")],
                ),
                table("Departments", &["department_id"], &[]),
                table(
                    "Student_Enrolment",
                    &["id"],
                    &[("degree_program_id", "Degree_Programs")],
                ),
            ],
            skipped: vec![],
        };
        let samples = vec![(
            "degree_summary_name".to_string(),
            vec!["Bachelor".to_string(), "Master".into(), "PHD".into()],
        )];
        assert_eq!(
            ddl_text(&schema, &schema.objects[0], &samples),
            "-- Table \"Degree_Programs\": degree programs. Columns: degree program id, department id, degree summary name.\n\
             -- degree programs references departments (department).\n\
             -- degree programs referenced by student enrolment.\n\
             -- Sample values: degree summary name: Bachelor, Master, PHD\n\
             -- degree programs table.\n\
             CREATE TABLE Degree_Programs (...);"
        );
        assert_eq!(
            ddl_text(&schema, &schema.objects[1], &[]),
            "-- Table \"Departments\": departments. Columns: department id.\n\
             -- departments referenced by degree programs.\n\
             -- departments table.\n\
             CREATE TABLE Departments (...);"
        );
    }
}

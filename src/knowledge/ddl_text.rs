//! The text of a DDL item: a comment header in words, then the object's DDL. MiniLM reads only the
//! first 256 tokens, so the header comes first and truncation only ever cuts the DDL's tail:
//!
//! ```text
//! -- Table "Degree_Programs": degree programs. Columns: degree summary name, ...
//! -- degree programs references departments (department).
//! -- degree programs referenced by student enrolment.
//! -- Sample values: degree summary name: Bachelor, Master, PHD
//! -- Value ranges: credits: 3 to 12
//! -- degree programs table.
//! CREATE TABLE Degree_Programs ( ... )
//! ```
//!
//! Measured by `scripts/bench-retrieval` (docs/knowledge-base-retrieval.md): relations give the
//! gain; table names in words, the object's words repeated before the DDL, value ranges, the roles
//! in incoming relations and leaving key columns out of `Columns:` add to it.

use crate::schema::samples::Samples;
use crate::schema::words::{phrase, relation_phrase, singular_phrase};
use crate::schema::{ObjectKind, Schema, SchemaObject};
use std::collections::BTreeMap;

/// `samples`: from `Target::samples` (empty when sampling is off).
pub fn ddl_text(schema: &Schema, o: &SchemaObject, samples: &Samples) -> String {
    let kind = match o.kind {
        ObjectKind::Table => "Table",
        ObjectKind::View => "View",
        ObjectKind::MaterializedView => "Materialized view",
    };
    let me = phrase(&o.name);
    let mut s = format!("-- {kind} \"{}\": {me}.", one_line(&o.name));
    // Key columns are left out: the relation lines below say what they join, and their `id`
    // words, alike in every item, only blur it.
    let cols: Vec<String> = o
        .columns
        .iter()
        .filter(|c| {
            c.primary_key.is_none() && !o.foreign_keys.iter().any(|fk| fk.columns.contains(&c.name))
        })
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

    // Incoming: referencing object -> the relation words of its FK columns where they name a
    // role (`students (current address, permanent address)`), not just this object again.
    let mut incoming: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let one = singular_phrase(&o.name);
    for other in &schema.objects {
        for fk in &other.foreign_keys {
            if canonical(schema, &fk.references_table) != o.name {
                continue;
            }
            let roles = incoming.entry(phrase(&other.name)).or_default();
            let words = relation_phrase(&fk.columns.join(" "));
            if !words.is_empty() && words != me && words != one && !roles.contains(&words) {
                roles.push(words);
            }
        }
    }
    if !incoming.is_empty() {
        let parts: Vec<String> = incoming
            .iter()
            .map(|(t, w)| {
                if w.is_empty() {
                    t.clone()
                } else {
                    format!("{t} ({})", w.join(", "))
                }
            })
            .collect();
        s.push_str(&format!("-- {me} referenced by {}.\n", parts.join(", ")));
    }

    if !samples.values.is_empty() {
        let parts: Vec<String> = samples
            .values
            .iter()
            .map(|(c, v)| format!("{}: {}", phrase(c), v.join(", ")))
            .collect();
        s.push_str(&format!("-- Sample values: {}\n", parts.join("; ")));
    }
    if !samples.ranges.is_empty() {
        let parts: Vec<String> = samples
            .ranges
            .iter()
            .map(|(c, lo, hi)| format!("{}: {lo} to {hi}", phrase(c)))
            .collect();
        s.push_str(&format!("-- Value ranges: {}\n", parts.join("; ")));
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
            // The first column is the primary key when it is an id.
            columns: cols
                .iter()
                .enumerate()
                .map(|(i, c)| Column {
                    primary_key: (i == 0 && c.ends_with("id")).then_some(1),
                    ..col(c)
                })
                .collect(),
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
                    &["id", "credits"],
                    &[("degree_program_id", "Degree_Programs")],
                ),
            ],
            skipped: vec![],
        };
        let samples = Samples {
            values: vec![(
                "degree_summary_name".to_string(),
                vec!["Bachelor".to_string(), "Master".into(), "PHD".into()],
            )],
            ranges: vec![("credits".into(), "3".into(), "12.5".into())],
        };
        assert_eq!(
            ddl_text(&schema, &schema.objects[0], &samples),
            "-- Table \"Degree_Programs\": degree programs. Columns: degree summary name.\n\
             -- degree programs references departments (department).\n\
             -- degree programs referenced by student enrolment.\n\
             -- Sample values: degree summary name: Bachelor, Master, PHD\n\
             -- Value ranges: credits: 3 to 12.5\n\
             -- degree programs table.\n\
             CREATE TABLE Degree_Programs (...);"
        );
        assert_eq!(
            ddl_text(&schema, &schema.objects[1], &Samples::default()),
            "-- Table \"Departments\": departments.\n\
             -- departments referenced by degree programs.\n\
             -- departments table.\n\
             CREATE TABLE Departments (...);"
        );
    }

    #[test]
    fn incoming_relations_name_the_roles_that_are_not_the_table_again() {
        let schema = Schema {
            source: "t".into(),
            objects: vec![
                table("Addresses", &["address_id", "city"], &[]),
                table(
                    "Students",
                    &["student_id", "current_address_id", "permanent_address_id"],
                    &[
                        ("current_address_id", "Addresses"),
                        ("permanent_address_id", "addresses"),
                        ("current_address_id", "Addresses"),
                    ],
                ),
                table("Shipments", &["address_id"], &[("address_id", "Addresses")]),
                table(
                    "Offices",
                    &["addresses_id"],
                    &[("addresses_id", "Addresses")],
                ),
            ],
            skipped: vec![],
        };
        let text = ddl_text(&schema, &schema.objects[0], &Samples::default());
        assert!(
            text.contains(
                "\n-- addresses referenced by offices, shipments, students (current address, permanent address).\n"
            ),
            "{text}"
        );
    }
}

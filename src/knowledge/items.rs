//! Knowledge items and their Vanna-compatible ids and documents.
//!
//! The app reads what we write through Vanna's `ChromaDB_VectorStore`, so ids and documents follow its
//! rules exactly: id = `uuid5(NIL, sha256_hex(utf8 content))` + `-ddl`/`-doc`/`-sql`; a question/SQL
//! pair is stored as the JSON text Python's `json.dumps({...}, ensure_ascii=False)` writes.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// The three collections Vanna reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Collection {
    Ddl,
    Documentation,
    Sql,
}

impl Collection {
    pub const ALL: [Collection; 3] = [Collection::Ddl, Collection::Documentation, Collection::Sql];

    /// The collection name in Chroma.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Ddl => "ddl",
            Collection::Documentation => "documentation",
            Collection::Sql => "sql",
        }
    }

    /// The suffix Vanna appends to ids of this collection.
    pub fn id_suffix(self) -> &'static str {
        match self {
            Collection::Ddl => "-ddl",
            Collection::Documentation => "-doc",
            Collection::Sql => "-sql",
        }
    }

    pub fn parse(s: &str) -> Option<Collection> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ddl" => Some(Collection::Ddl),
            "documentation" | "doc" | "docs" => Some(Collection::Documentation),
            "sql" => Some(Collection::Sql),
            _ => None,
        }
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One item of the desired knowledge base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub collection: Collection,
    pub id: String,
    /// The stored document (raw DDL/documentation text, or the pair's JSON text).
    pub document: String,
    /// Where it came from, e.g. `schema:table Album` or `pairs:ontology/pairs/x.yaml#3`.
    pub source: String,
}

impl Item {
    pub fn ddl(text: &str, source: impl Into<String>) -> Item {
        Item::new(Collection::Ddl, text.to_string(), source.into())
    }

    pub fn documentation(text: &str, source: impl Into<String>) -> Item {
        Item::new(Collection::Documentation, text.to_string(), source.into())
    }

    pub fn question_sql(question: &str, sql: &str, source: impl Into<String>) -> Item {
        Item::new(Collection::Sql, pair_json(question, sql), source.into())
    }

    fn new(collection: Collection, document: String, source: String) -> Item {
        Item {
            collection,
            id: vanna_id(&document, collection),
            document,
            source,
        }
    }
}

/// Vanna's `deterministic_uuid(content)`: uuid5 in the nil namespace of the sha256 hex digest.
pub fn deterministic_uuid(content: &str) -> String {
    let hex = hex::encode(Sha256::digest(content.as_bytes()));
    uuid::Uuid::new_v5(&uuid::Uuid::nil(), hex.as_bytes()).to_string()
}

pub fn vanna_id(content: &str, collection: Collection) -> String {
    format!("{}{}", deterministic_uuid(content), collection.id_suffix())
}

/// `json.dumps({"question": q, "sql": s}, ensure_ascii=False)`, byte for byte.
pub fn pair_json(question: &str, sql: &str) -> String {
    format!(
        "{{\"question\": {}, \"sql\": {}}}",
        py_json_string(question),
        py_json_string(sql)
    )
}

/// A JSON string literal as Python's json module writes it with `ensure_ascii=False`: only `"`, `\`
/// and C0 control characters are escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00xx`).
fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The question and SQL of a stored pair document, if it is one.
pub fn parse_pair(document: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(document).ok()?;
    Some((
        v.get("question")?.as_str()?.to_string(),
        v.get("sql")?.as_str()?.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_id_matches_vanna() {
        let item = Item::ddl(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)",
            "t",
        );
        assert_eq!(item.id, "533023b0-8909-5f44-b933-a954ec538fd4-ddl");
    }

    #[test]
    fn suffixes_per_collection() {
        let d = Item::documentation("x", "t");
        let s = Item::question_sql("q", "select 1", "t");
        assert!(d.id.ends_with("-doc") && s.id.ends_with("-sql"));
        assert_eq!(d.id.len(), 36 + 4);
    }

    #[test]
    fn pair_json_matches_python_json_dumps() {
        // Expected strings produced by: json.dumps({"question": q, "sql": s}, ensure_ascii=False)
        assert_eq!(
            pair_json("How many cars?", "SELECT count(*) FROM cars_data"),
            r#"{"question": "How many cars?", "sql": "SELECT count(*) FROM cars_data"}"#
        );
        assert_eq!(
            pair_json("Größe \"x\" ✓", "SELECT 'a\\b'\n\tFROM t\u{1}"),
            "{\"question\": \"Größe \\\"x\\\" ✓\", \"sql\": \"SELECT 'a\\\\b'\\n\\tFROM t\\u0001\"}"
        );
        assert_eq!(
            parse_pair(&pair_json("q\u{7f}", "s")),
            Some(("q\u{7f}".into(), "s".into()))
        );
    }
}

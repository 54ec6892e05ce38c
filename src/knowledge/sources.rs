//! Where documentation and question/SQL pairs come from: training files (`--pairs`, or the default
//! `ONTOLOGY_DIR/pairs/`), documentation files (`--docs`, or `ONTOLOGY_DIR/docs/`) and the business
//! ontology in the system DB (`business_ontologies`).

use crate::config::{Settings, SystemDbUrl};
use crate::error::fail;
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One question/SQL pair and where it was read.
#[derive(Debug, Clone)]
pub struct Pair {
    pub question: String,
    pub sql: String,
    pub file: PathBuf,
    /// 1-based position in the file's list.
    pub index: usize,
}

impl Pair {
    pub fn origin(&self) -> String {
        format!("pairs:{}#{}", self.file.display(), self.index)
    }
}

/// Files in `dir` with one of `exts`, sorted; none when the folder does not exist.
pub fn files_in(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    v.sort();
    Ok(v)
}

pub fn default_pairs_dir(settings: &Settings) -> PathBuf {
    settings.ontology_dir.join("pairs")
}

pub fn default_docs_dir(settings: &Settings) -> PathBuf {
    settings.ontology_dir.join("docs")
}

fn malformed(file: &Path, what: String) -> anyhow::Error {
    fail(
        "training_file_invalid",
        format!(
            "training file {}: {what}; expected a YAML or JSON list of {{question, sql}} items",
            file.display()
        ),
    )
}

/// Read a training file: a YAML or JSON list of `{question, sql}` (`query` is accepted for `sql`, as
/// in Spider's files; other keys are ignored).
pub fn load_pairs(file: &Path) -> Result<Vec<Pair>> {
    let text = crate::fsutil::read_to_string(file).map_err(|e| {
        fail(
            "training_file_invalid",
            format!("cannot read training file {}: {e}", file.display()),
        )
    })?;
    let is_json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let value: Value = if is_json {
        serde_json::from_str(&text).map_err(|e| malformed(file, format!("invalid JSON: {e}")))?
    } else {
        serde_yaml::from_str(&text).map_err(|e| malformed(file, format!("invalid YAML: {e}")))?
    };
    let Value::Array(list) = value else {
        return Err(malformed(file, "the top level is not a list".into()));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let index = i + 1;
        let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::trim);
        let question = field("question");
        let sql = field("sql").or_else(|| field("query"));
        match (question, sql) {
            (Some(q), Some(s)) if !q.is_empty() && !s.is_empty() => out.push(Pair {
                question: q.to_string(),
                sql: s.to_string(),
                file: file.to_path_buf(),
                index,
            }),
            _ => {
                return Err(malformed(
                    file,
                    format!(
                        "item {index} needs a non-empty string `question` and `sql` (got {})",
                        short(&item.to_string())
                    ),
                ))
            }
        }
    }
    Ok(out)
}

fn short(s: &str) -> String {
    let mut t: String = s.chars().take(120).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// A documentation file split into sections at Markdown headings (one item per section), so each
/// item stays within what the embedding model reads (256 tokens).
pub fn load_docs(file: &Path) -> Result<Vec<String>> {
    let text = crate::fsutil::read_to_string(file).map_err(|e| {
        fail(
            "documentation_file_invalid",
            format!("cannot read documentation file {}: {e}", file.display()),
        )
    })?;
    let mut sections: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_fence = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence && is_heading(line) && !cur.trim().is_empty() {
            sections.push(cur.trim().to_string());
            cur.clear();
        }
        cur.push_str(line);
        cur.push('\n');
    }
    if !cur.trim().is_empty() {
        sections.push(cur.trim().to_string());
    }
    Ok(sections)
}

/// A Markdown ATX heading: 1–6 `#` then a space or the end of the line (`#tag` and a shell
/// comment inside a code block are not headings).
fn is_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|b| *b == b'#').count();
    (1..=6).contains(&hashes) && matches!(line.as_bytes().get(hashes), None | Some(b' ' | b'\t'))
}

/// One business-ontology term from the system DB.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub term: String,
    pub definition: String,
    pub synonyms: Vec<String>,
    pub category: Option<String>,
    /// `table` or `table.column`.
    pub mappings: Vec<String>,
}

impl Term {
    /// The documentation text the app retrieves for this term.
    pub fn text(&self) -> String {
        let mut s = format!("Business term: {}\n", self.term);
        if let Some(c) = self.category.as_deref().filter(|c| !c.trim().is_empty()) {
            s.push_str(&format!("Category: {c}\n"));
        }
        s.push_str(&format!("Definition: {}\n", self.definition.trim()));
        if !self.synonyms.is_empty() {
            s.push_str(&format!("Synonyms: {}\n", self.synonyms.join(", ")));
        }
        if !self.mappings.is_empty() {
            s.push_str(&format!("Maps to: {}\n", self.mappings.join(", ")));
        }
        s.trim_end().to_string()
    }
}

const ONTOLOGY_SQL: &str = "SELECT term, definition, CAST(synonyms AS TEXT), category, CAST(mappings AS TEXT) FROM business_ontologies ORDER BY term";

fn term_from(
    term: String,
    definition: Option<String>,
    synonyms: Option<String>,
    category: Option<String>,
    mappings: Option<String>,
) -> Term {
    let synonyms = synonyms
        .and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
        .unwrap_or_default();
    let mappings = mappings
        .and_then(|m| serde_json::from_str::<Vec<Value>>(&m).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            let t = m.get("table")?.as_str()?;
            Some(match m.get("column").and_then(Value::as_str) {
                Some(c) => format!("{t}.{c}"),
                None => t.to_string(),
            })
        })
        .collect();
    Term {
        term,
        definition: definition.unwrap_or_default(),
        synonyms,
        category,
        mappings,
    }
}

/// The ontology terms, or a warning saying why there are none (system DB not initialised yet).
pub fn ontology_terms(settings: &Settings) -> std::result::Result<Vec<Term>, String> {
    let shown = settings.database_url.masked();
    match &settings.database_url {
        SystemDbUrl::Sqlite(path) => {
            if !path.exists() {
                return Err(format!(
                    "system DB {shown} does not exist yet; no ontology documentation (run `vannactl init`)"
                ));
            }
            let conn = crate::target::open_readonly(path).map_err(|e| format!("{e:#}"))?;
            let mut st = conn.prepare(ONTOLOGY_SQL).map_err(|e| {
                format!("system DB {shown} has no readable business_ontologies table yet ({e}); no ontology documentation")
            })?;
            let rows = st
                .query_map([], |r| {
                    Ok(term_from(
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                })
                .and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| format!("cannot read business_ontologies from {shown}: {e}"))?;
            Ok(rows)
        }
        SystemDbUrl::Postgres(url) => {
            // The system DB's own connection: the same deadlines (a silent server cannot hold
            // `train`) and the same connection parameters as every other command.
            let mut client = crate::system_db::connect_postgres(url)
                .map_err(|e| format!("{}; no ontology documentation", crate::error::message(&e)))?;
            let rows = client.query(ONTOLOGY_SQL, &[]).map_err(|e| {
                format!("system DB {shown} has no readable business_ontologies table yet ({e}); no ontology documentation")
            })?;
            Ok(rows
                .iter()
                .map(|r| term_from(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_yaml_json_and_spider_alias() {
        let d = tempfile::tempdir().unwrap();
        let y = d.path().join("p.yaml");
        std::fs::write(&y, "- question: How many?\n  sql: SELECT 1\n").unwrap();
        let j = d.path().join("p.json");
        std::fs::write(&j, r#"[{"db_id":"x","question":"Q","query":"SELECT 2"}]"#).unwrap();
        assert_eq!(load_pairs(&y).unwrap()[0].sql, "SELECT 1");
        let p = load_pairs(&j).unwrap();
        assert_eq!((p[0].question.as_str(), p[0].index), ("Q", 1));
    }

    #[test]
    fn malformed_pairs_name_file_and_item() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bad.yaml");
        std::fs::write(&f, "- question: ok\n  sql: SELECT 1\n- question: no sql\n").unwrap();
        let msg = load_pairs(&f).unwrap_err().to_string();
        assert!(msg.contains("bad.yaml") && msg.contains("item 2"), "{msg}");
        std::fs::write(&f, "question: not a list\n").unwrap();
        assert!(load_pairs(&f)
            .unwrap_err()
            .to_string()
            .contains("not a list"));
        std::fs::write(&f, "- [unclosed\n").unwrap();
        assert!(load_pairs(&f)
            .unwrap_err()
            .to_string()
            .contains("invalid YAML"));
    }

    #[test]
    fn docs_split_at_headings() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("d.md");
        std::fs::write(&f, "intro\n\n# A\ntext a\n## B\ntext b\n").unwrap();
        assert_eq!(
            load_docs(&f).unwrap(),
            vec!["intro", "# A\ntext a", "## B\ntext b"]
        );
    }

    #[test]
    fn code_blocks_and_hashtags_do_not_split_a_section() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("d.md");
        std::fs::write(
            &f,
            "# Backups\nRun:\n```sh\n# nightly\nvannactl backup\n```\n#ops tag\n## Next\nx\n",
        )
        .unwrap();
        assert_eq!(
            load_docs(&f).unwrap(),
            vec![
                "# Backups\nRun:\n```sh\n# nightly\nvannactl backup\n```\n#ops tag",
                "## Next\nx"
            ]
        );
    }

    #[test]
    fn term_text_is_readable() {
        let t = term_from(
            "Revenue".into(),
            Some("Money in".into()),
            Some(r#"["sales","turnover"]"#.into()),
            Some("finance".into()),
            Some(r#"[{"table":"invoices","column":"total"},{"table":"orders"}]"#.into()),
        );
        assert_eq!(
            t.text(),
            "Business term: Revenue\nCategory: finance\nDefinition: Money in\nSynonyms: sales, turnover\nMaps to: invoices.total, orders"
        );
    }
}

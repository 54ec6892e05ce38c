//! Business ontology: YAML files in `ONTOLOGY_DIR` define business terms (definition, synonyms,
//! category, and where they live in the data), loaded into `business_ontologies`.
//!
//! Every file is parsed and validated before anything is written: a malformed file fails with its
//! name, line and column and nothing is loaded. Loading is idempotent: existing terms are skipped
//! (or updated when asked), and the outcome counts added, skipped and updated terms.
//!
//! YAML files in the folder without a top-level `terms:` key are not ontology files (the folder
//! may hold other material, e.g. training pairs) and are listed as ignored.

use crate::error::fail;
use crate::system_db::{now_text, Db, Val};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OntologyFile {
    /// Default category for the terms of this file.
    #[serde(default)]
    pub category: Option<String>,
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub term: String,
    pub definition: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub mappings: Vec<Mapping>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// A term with the file it came from.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub term: Term,
    pub file: String,
}

/// The validated terms of a folder.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub terms: Vec<Sourced>,
    pub files: Vec<PathBuf>,
    pub ignored: Vec<PathBuf>,
}

/// The YAML files of `dir`, sorted (not recursive).
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read ontology folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

fn yaml_error(path: &Path, e: &serde_yaml::Error) -> anyhow::Error {
    let at = match e.location() {
        Some(l) => format!("{}:{}:{}", path.display(), l.line(), l.column()),
        None => path.display().to_string(),
    };
    fail(
        "ontology_invalid",
        format!("{at}: {e}; fix the file — no ontology terms were loaded"),
    )
}

/// Parse one file's text. `Ok(None)`: valid YAML but not an ontology file (no `terms` key).
pub fn parse_text(path: &Path, text: &str) -> Result<Option<OntologyFile>> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| yaml_error(path, &e))?;
    let is_ontology = value
        .as_mapping()
        .is_some_and(|m| m.contains_key(serde_yaml::Value::from("terms")));
    if !is_ontology {
        return Ok(None);
    }
    let file: OntologyFile = serde_yaml::from_str(text).map_err(|e| yaml_error(path, &e))?;
    Ok(Some(file))
}

fn invalid(path: &Path, index: usize, what: String) -> anyhow::Error {
    fail(
        "ontology_invalid",
        format!(
            "{}: terms[{index}]: {what}; fix the file — no ontology terms were loaded",
            path.display()
        ),
    )
}

/// Parse and validate every ontology file of `dir`. Any error fails the whole folder.
pub fn parse_dir(dir: &Path) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for path in yaml_files(dir)? {
        let text = crate::fsutil::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let Some(file) = parse_text(&path, &text)? else {
            parsed.ignored.push(path);
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, mut t) in file.terms.into_iter().enumerate() {
            t.term = t.term.trim().to_string();
            t.definition = t.definition.trim().to_string();
            if t.term.is_empty() {
                return Err(invalid(&path, i, "`term` is empty".into()));
            }
            if t.definition.is_empty() {
                return Err(invalid(
                    &path,
                    i,
                    format!("term {:?} has an empty `definition`", t.term),
                ));
            }
            if let Some(m) = t.mappings.iter().find(|m| m.table.trim().is_empty()) {
                return Err(invalid(
                    &path,
                    i,
                    format!(
                        "term {:?} has a mapping with an empty `table` ({m:?})",
                        t.term
                    ),
                ));
            }
            if t.synonyms.iter().any(|s| s.trim().is_empty()) {
                return Err(invalid(
                    &path,
                    i,
                    format!("term {:?} has an empty synonym", t.term),
                ));
            }
            let key = t.term.to_lowercase();
            if let Some(first) = seen.get(&key) {
                return Err(invalid(
                    &path,
                    i,
                    format!("term {:?} is already defined in {first}", t.term),
                ));
            }
            seen.insert(key, name.clone());
            if t.category.is_none() {
                t.category = file.category.clone();
            }
            parsed.terms.push(Sourced {
                term: t,
                file: name.clone(),
            });
        }
        parsed.files.push(path);
    }
    Ok(parsed)
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadOutcome {
    pub files: Vec<PathBuf>,
    pub ignored_files: Vec<PathBuf>,
    pub added: usize,
    pub skipped: usize,
    pub updated: usize,
    /// Existing terms whose YAML differs but were left alone (pass --update-ontology).
    pub differing: Vec<String>,
    /// Terms in the DB that no YAML file defines any more. Kept (the app may have added terms
    /// itself); reported so the operator can remove them by hand.
    pub stale: Vec<String>,
}

impl LoadOutcome {
    pub fn changed(&self) -> bool {
        self.added + self.updated > 0
    }
}

/// The values a term row is written with: its columns, its source file and the time.
fn term_values(t: &Term, file: &str, now: &str) -> Vec<Val> {
    vec![
        Val::text(&t.term),
        Val::text(&t.definition),
        Val::text(json_of(&t.synonyms)),
        Val::from(t.category.clone()),
        Val::text(json_of(&t.mappings)),
        Val::text(file),
        Val::text(now),
    ]
}

fn json_of<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serializes")
}

/// Load the folder into `business_ontologies` in one transaction.
pub fn load(db: &mut Db, dir: &Path, update: bool) -> Result<LoadOutcome> {
    let parsed = parse_dir(dir)?;
    let existing: BTreeMap<String, Term> = db
        .query(
            "SELECT term, definition, CAST(synonyms AS TEXT), category, CAST(mappings AS TEXT) FROM business_ontologies ORDER BY term",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let text = |i: usize| r[i].as_str().unwrap_or_default().to_string();
            let term = Term {
                term: text(0),
                definition: text(1),
                synonyms: serde_json::from_str(&text(2)).unwrap_or_default(),
                category: r[3].as_str().map(str::to_string),
                mappings: serde_json::from_str(&text(4)).unwrap_or_default(),
            };
            // Terms are unique case-insensitively (as `parse_dir` checks across files).
            (term.term.to_lowercase(), term)
        })
        .collect();
    let mut out = LoadOutcome {
        files: parsed.files.clone(),
        ignored_files: parsed.ignored.clone(),
        added: 0,
        skipped: 0,
        updated: 0,
        differing: Vec::new(),
        stale: Vec::new(),
    };
    let in_yaml: std::collections::BTreeSet<String> = parsed
        .terms
        .iter()
        .map(|s| s.term.term.to_lowercase())
        .collect();
    out.stale = existing
        .iter()
        .filter(|(k, _)| !in_yaml.contains(*k))
        .map(|(_, t)| t.term.clone())
        .collect();
    db.in_tx(|db| {
        let now = now_text();
        for s in &parsed.terms {
            let t = &s.term;
            match existing.get(&t.term.to_lowercase()) {
                Some(old) if old == t => out.skipped += 1,
                Some(_) if !update => {
                    out.skipped += 1;
                    out.differing.push(t.term.clone());
                }
                Some(old) => {
                    // $1..$7 are the term's columns and the time; $8 the row to update.
                    let mut vals = term_values(t, &s.file, &now);
                    vals.push(Val::text(&old.term));
                    db.exec(
                        "UPDATE business_ontologies SET term = $1, definition = $2, synonyms = $3, category = $4, mappings = $5, source_file = $6, updated_at = $7 WHERE term = $8",
                        &vals,
                    )?;
                    out.updated += 1;
                }
                None => {
                    // $7 is created_at, $8 updated_at: both now.
                    let mut vals = term_values(t, &s.file, &now);
                    vals.push(Val::text(&now));
                    db.exec(
                        "INSERT INTO business_ontologies (term, definition, synonyms, category, mappings, source_file, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        &vals,
                    )?;
                    out.added += 1;
                }
            }
        }
        Ok(())
    })
    .context("loading the business ontology failed; nothing was loaded")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, t) in files {
            std::fs::write(d.path().join(n), t).unwrap();
        }
        d
    }

    #[test]
    fn syntax_error_names_file_line_column() {
        let d = dir_with(&[(
            "bad.yaml",
            "terms:\n  - term: Revenue\n    definition: [unclosed\n",
        )]);
        let err = format!("{:#}", parse_dir(d.path()).unwrap_err());
        assert!(err.contains("bad.yaml:"), "{err}");
        assert!(err.contains("no ontology terms were loaded"), "{err}");
        let loc = err.split("bad.yaml:").nth(1).unwrap();
        let mut parts = loc.split(':');
        let line: usize = parts.next().unwrap().parse().unwrap();
        let col: usize = parts.next().unwrap().parse().unwrap();
        assert!(line >= 3 && col >= 1, "{err}");
    }

    #[test]
    fn unknown_field_and_missing_definition_are_located() {
        let d = dir_with(&[("a.yaml", "terms:\n  - term: X\n    defintion: typo\n")]);
        let err = format!("{:#}", parse_dir(d.path()).unwrap_err());
        assert!(err.contains("a.yaml:3:"), "{err}");
    }

    #[test]
    fn duplicates_across_files_rejected_and_non_ontology_ignored() {
        let d = dir_with(&[
            ("a.yaml", "terms:\n  - term: Revenue\n    definition: d\n"),
            ("b.yml", "terms:\n  - term: revenue\n    definition: d\n"),
            ("pairs.yaml", "pairs:\n  - question: q\n"),
        ]);
        let err = format!("{:#}", parse_dir(d.path()).unwrap_err());
        assert!(err.contains("already defined in a.yaml"), "{err}");
        std::fs::remove_file(d.path().join("b.yml")).unwrap();
        let p = parse_dir(d.path()).unwrap();
        assert_eq!(p.terms.len(), 1);
        assert_eq!(p.ignored.len(), 1);
    }

    #[test]
    fn file_category_is_the_default() {
        let d = dir_with(&[(
            "a.yaml",
            "category: finance\nterms:\n  - term: A\n    definition: d\n  - term: B\n    definition: d\n    category: sales\n",
        )]);
        let p = parse_dir(d.path()).unwrap();
        assert_eq!(p.terms[0].term.category.as_deref(), Some("finance"));
        assert_eq!(p.terms[1].term.category.as_deref(), Some("sales"));
    }

    #[test]
    fn a_term_respelt_in_another_case_is_the_same_term() {
        let mut db = Db::Lite(rusqlite::Connection::open_in_memory().unwrap());
        crate::system_db::migrations::migrate(&mut db).unwrap();
        let d = dir_with(&[(
            "a.yaml",
            "terms:\n  - term: Gross margin\n    definition: d\n",
        )]);
        load(&mut db, d.path(), false).unwrap();
        std::fs::write(
            d.path().join("a.yaml"),
            "terms:\n  - term: Gross Margin\n    definition: d\n",
        )
        .unwrap();
        let kept = load(&mut db, d.path(), false).unwrap();
        assert_eq!((kept.added, kept.skipped), (0, 1));
        assert_eq!(kept.differing, vec!["Gross Margin".to_string()]);
        let upd = load(&mut db, d.path(), true).unwrap();
        assert_eq!((upd.added, upd.updated), (0, 1));
        assert_eq!(
            db.query("SELECT term FROM business_ontologies", &[])
                .unwrap(),
            vec![vec![Val::text("Gross Margin")]]
        );
    }

    #[test]
    fn load_is_idempotent_and_updates_only_when_asked() {
        let mut db = Db::Lite(rusqlite::Connection::open_in_memory().unwrap());
        crate::system_db::migrations::migrate(&mut db).unwrap();
        let d = dir_with(&[(
            "a.yaml",
            "terms:\n  - term: Revenue\n    definition: Income from sales\n    synonyms: [sales]\n    mappings:\n      - table: orders\n        column: total\n",
        )]);
        let first = load(&mut db, d.path(), false).unwrap();
        assert_eq!((first.added, first.skipped, first.updated), (1, 0, 0));
        let again = load(&mut db, d.path(), false).unwrap();
        assert_eq!((again.added, again.skipped, again.updated), (0, 1, 0));
        std::fs::write(
            d.path().join("a.yaml"),
            "terms:\n  - term: Revenue\n    definition: Changed\n",
        )
        .unwrap();
        let differs = load(&mut db, d.path(), false).unwrap();
        assert_eq!(differs.differing, vec!["Revenue".to_string()]);
        let upd = load(&mut db, d.path(), true).unwrap();
        assert_eq!(upd.updated, 1);
        assert_eq!(
            db.query("SELECT definition FROM business_ontologies", &[])
                .unwrap()[0][0],
            Val::text("Changed")
        );
    }
}

//! Table-level `FOREIGN KEY (col) REFERENCES t(c)` clauses moved onto their column
//! (`col INTEGER REFERENCES t(c)`): the same table and keys in fewer tokens, so the DDL weighs less
//! against the item's header in the embedding (measured: docs/knowledge-base-retrieval.md). Only
//! single-column keys of a column defined in the same statement move; statements with comments
//! stay as they are. Callers check that the result still means the same (`sqlite::clean_ddl`).

use super::unquote::{literal_end, Dialect};

/// `sql` (a `CREATE TABLE`) with its single-column foreign keys on their columns; unchanged when
/// there is nothing to move or the statement is not understood.
pub fn inline_foreign_keys(sql: &str, d: &Dialect) -> String {
    try_inline(sql, d).unwrap_or_else(|| sql.to_string())
}

/// A token of a definition: its text and where it starts (char index in the definition).
struct Token {
    text: String,
    start: usize,
}

fn try_inline(sql: &str, d: &Dialect) -> Option<String> {
    let s: Vec<char> = sql.chars().collect();
    let (open, close, commas) = outline(&s, d)?;
    let head: String = s[..open].iter().collect::<String>().to_ascii_uppercase();
    let head: Vec<&str> = head.split_whitespace().collect();
    if head.first() != Some(&"CREATE") || !head.contains(&"TABLE") || head.contains(&"AS") {
        return None;
    }
    let mut starts = vec![open + 1];
    starts.extend(commas.iter().map(|c| c + 1));
    let mut ends = commas.clone();
    ends.push(close);
    let mut defs: Vec<String> = starts
        .iter()
        .zip(&ends)
        .map(|(a, b)| s[*a..*b].iter().collect())
        .collect();

    let mut moved = vec![false; defs.len()];
    for k in 0..defs.len() {
        let Some((column, clause)) = single_column_fk(&defs[k], d) else {
            continue;
        };
        let target = (0..defs.len()).find(|&j| {
            !moved[j]
                && j != k
                && column_name(&defs[j], d).is_some_and(|n| n.eq_ignore_ascii_case(&column))
        });
        if let Some(j) = target {
            let body = defs[j].trim_end().len();
            let tail = defs[j][body..].to_string();
            defs[j] = format!("{} {clause}{tail}", &defs[j][..body]);
            moved[k] = true;
        }
    }
    if !moved.contains(&true) {
        return None;
    }
    // The last definition's trailing whitespace (the line break before `)`) stays where it was.
    let last_tail = {
        let last = defs.last()?;
        last[last.trim_end().len()..].to_string()
    };
    let mut kept: Vec<String> = defs
        .into_iter()
        .zip(&moved)
        .filter(|(_, m)| !**m)
        .map(|(d, _)| d)
        .collect();
    let last = kept.last_mut()?;
    last.truncate(last.trim_end().len());
    let prefix: String = s[..=open].iter().collect();
    let suffix: String = s[close..].iter().collect();
    Some(format!("{prefix}{}{last_tail}{suffix}", kept.join(",")))
}

/// The `(` that opens the definitions, its `)`, and the commas between definitions (char
/// indexes); None when there are comments or the parentheses do not close.
fn outline(s: &[char], d: &Dialect) -> Option<(usize, usize, Vec<usize>)> {
    let (mut open, mut commas, mut depth, mut i) = (None, Vec::new(), 0usize, 0);
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if (c == '-' && next == Some('-')) || (c == '/' && next == Some('*')) {
            return None;
        }
        if d.string_quotes.contains(&c) {
            i = literal_end(s, i, c, c, d.backslash_escapes);
            continue;
        }
        if let Some(&(o, cl)) = d.ident_quotes.iter().find(|(o, _)| *o == c) {
            i = literal_end(s, i, o, cl, false);
            continue;
        }
        match c {
            '(' => {
                depth += 1;
                open.get_or_insert(i);
            }
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some((open?, i, commas));
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Words, quoted identifiers and single punctuation characters of a definition.
fn tokens(def: &str, d: &Dialect) -> Vec<Token> {
    let s: Vec<char> = def.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let end = if c.is_whitespace() {
            i += 1;
            continue;
        } else if let Some(&(o, cl)) = d.ident_quotes.iter().find(|(o, _)| *o == c) {
            literal_end(&s, i, o, cl, false)
        } else if d.string_quotes.contains(&c) {
            literal_end(&s, i, c, c, d.backslash_escapes)
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            (i..s.len())
                .find(|&j| !(s[j].is_alphanumeric() || s[j] == '_' || s[j] == '$'))
                .unwrap_or(s.len())
        } else {
            i + 1
        };
        out.push(Token {
            text: s[i..end].iter().collect(),
            start: i,
        });
        i = end;
    }
    out
}

/// An identifier token's name: quotes removed (doubled quotes inside undone), else as written.
fn name(t: &Token, d: &Dialect) -> Option<String> {
    let first = t.text.chars().next()?;
    if let Some(&(_, close)) = d.ident_quotes.iter().find(|(o, _)| *o == first) {
        let inner: String = t.text.chars().skip(1).collect();
        let inner = inner.strip_suffix(close)?;
        return Some(inner.replace(&format!("{close}{close}"), &close.to_string()));
    }
    (first.is_alphanumeric() || first == '_').then(|| t.text.clone())
}

/// `(column, clause to append to it)` of `[CONSTRAINT n] FOREIGN KEY (column) REFERENCES …`.
fn single_column_fk(def: &str, d: &Dialect) -> Option<(String, String)> {
    let t = tokens(def, d);
    let is = |k: usize, w: &str| t.get(k).is_some_and(|x| x.text.eq_ignore_ascii_case(w));
    let k = if is(0, "CONSTRAINT") { 2 } else { 0 };
    if !(is(k, "FOREIGN") && is(k + 1, "KEY") && is(k + 2, "(") && is(k + 4, ")")) {
        return None;
    }
    if !is(k + 5, "REFERENCES") {
        return None;
    }
    let column = name(t.get(k + 3)?, d)?;
    let chars: Vec<char> = def.chars().collect();
    let references: String = chars[t[k + 5].start..].iter().collect();
    let constraint = if k == 2 {
        format!("CONSTRAINT {} ", t[1].text)
    } else {
        String::new()
    };
    Some((column, format!("{constraint}{}", references.trim_end())))
}

/// The column a definition defines; None for a table constraint.
fn column_name(def: &str, d: &Dialect) -> Option<String> {
    let t = tokens(def, d);
    let first = t.first()?;
    let constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
        .iter()
        .any(|w| first.text.eq_ignore_ascii_case(w));
    if constraint {
        return None;
    }
    name(first, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::unquote::SQLITE;

    #[test]
    fn single_column_keys_move_onto_their_columns() {
        let sql = "CREATE TABLE Dogs (\ndog_id INTEGER PRIMARY KEY ,\nowner_id INTEGER NOT NULL,\n\
                   \"Size Code\" TEXT,\nFOREIGN KEY (owner_id ) REFERENCES Owners(owner_id ) ON DELETE CASCADE,\n\
                   CONSTRAINT fk_size FOREIGN KEY (\"Size Code\") REFERENCES Sizes(code),\n\
                   FOREIGN KEY (owner_id ) REFERENCES Owners(owner_id )\n)";
        assert_eq!(
            inline_foreign_keys(sql, &SQLITE),
            "CREATE TABLE Dogs (\ndog_id INTEGER PRIMARY KEY ,\n\
             owner_id INTEGER NOT NULL REFERENCES Owners(owner_id ) ON DELETE CASCADE REFERENCES Owners(owner_id ),\n\
             \"Size Code\" TEXT CONSTRAINT fk_size REFERENCES Sizes(code)\n)"
        );
    }

    #[test]
    fn composite_keys_comments_and_unknown_columns_stay() {
        for sql in [
            "CREATE TABLE t (a INT, b INT, FOREIGN KEY (a, b) REFERENCES u(x, y))",
            "CREATE TABLE t (a INT, -- the key\n FOREIGN KEY (a) REFERENCES u(x))",
            "CREATE TABLE t (a INT, FOREIGN KEY (c) REFERENCES u(x))",
            "CREATE TABLE t (a INT REFERENCES u(x))",
            "CREATE TABLE t AS SELECT (1) AS a",
            "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES u(x)",
        ] {
            assert_eq!(inline_foreign_keys(sql, &SQLITE), sql);
        }
        // A comma or parenthesis inside a string or quoted name is no boundary.
        assert_eq!(
            inline_foreign_keys(
                "CREATE TABLE t (\"a,(\" TEXT DEFAULT ',)', FOREIGN KEY (\"a,(\") REFERENCES u(x))",
                &SQLITE
            ),
            "CREATE TABLE t (\"a,(\" TEXT DEFAULT ',)' REFERENCES u(x))"
        );
    }
}

//! Needless identifier quoting removed from DDL text: `CREATE TABLE [Album] ("AlbumId" INTEGER)` →
//! `CREATE TABLE Album (AlbumId INTEGER)`. Quote characters split into extra tokens and blur the
//! embedding; only simple ASCII identifiers that are no keyword lose their quotes, everything else
//! (spaces, keywords, non-ASCII, embedded quotes) keeps them. String literals and comments are
//! copied untouched. Callers check that the result still means the same (see `sqlite::clean_ddl`).

/// Which characters quote identifiers and strings, and the reserved words.
pub struct Dialect {
    /// `(open, close)` pairs that quote identifiers.
    pub ident_quotes: &'static [(char, char)],
    /// Characters that quote string literals.
    pub string_quotes: &'static [char],
    /// Backslash escapes inside string literals (MySQL).
    pub backslash_escapes: bool,
    pub keywords: &'static [&'static str],
}

pub const SQLITE: Dialect = Dialect {
    ident_quotes: &[('"', '"'), ('[', ']'), ('`', '`')],
    string_quotes: &['\''],
    backslash_escapes: false,
    keywords: SQLITE_KEYWORDS,
};

/// SQLite's keywords (`sqlite3_keyword_name`, 3.46) plus names that mean something unquoted.
const SQLITE_KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
    "TRUE",
    "FALSE",
    "ROWID",
    "OID",
    "_ROWID_",
    "STRICT",
    "STORED",
];

/// An identifier that needs no quotes: ASCII letter or `_`, then letters, digits, `_`; no keyword.
pub fn is_plain(name: &str, d: &Dialect) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !d.keywords.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// `sql` with quotes removed around plain identifiers.
pub fn unquote(sql: &str, d: &Dialect) -> String {
    let s: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '-' && s.get(i + 1) == Some(&'-') {
            let end = s[i..]
                .iter()
                .position(|&x| x == '\n')
                .map_or(s.len(), |p| i + p);
            out.extend(&s[i..end]);
            i = end;
        } else if c == '/' && s.get(i + 1) == Some(&'*') {
            let end = (i + 2..s.len().saturating_sub(1))
                .find(|&j| s[j] == '*' && s[j + 1] == '/')
                .map_or(s.len(), |j| j + 2);
            out.extend(&s[i..end]);
            i = end;
        } else if d.string_quotes.contains(&c) {
            let end = literal_end(&s, i, c, c, d.backslash_escapes);
            out.extend(&s[i..end]);
            i = end;
        } else if let Some(&(open, close)) = d.ident_quotes.iter().find(|(o, _)| *o == c) {
            let end = literal_end(&s, i, open, close, false);
            let closed = end > i + 1 && s[end - 1] == close;
            let inner: String = s[i + 1..end.saturating_sub(1).max(i + 1)].iter().collect();
            if closed && is_plain(&inner, d) {
                // `[OrderID]INTEGER` needs a space once the brackets go.
                let glued = |x: Option<char>| x.is_some_and(|x| x.is_alphanumeric() || x == '_');
                if glued(out.chars().last()) {
                    out.push(' ');
                }
                out.push_str(&inner);
                if glued(s.get(end).copied()) {
                    out.push(' ');
                }
            } else {
                out.extend(&s[i..end]);
            }
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Index just past the literal opened at `start` (doubled close characters escape; optionally `\`).
pub(crate) fn literal_end(
    s: &[char],
    start: usize,
    open: char,
    close: char,
    backslash: bool,
) -> usize {
    let mut j = start + 1;
    while j < s.len() {
        if backslash && s[j] == '\\' {
            j += 2;
            continue;
        }
        if s[j] == close {
            // A doubled close character is an escaped one (not for `[`…`]`, which has no escape).
            if open == close && s.get(j + 1) == Some(&close) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_lose_their_quotes() {
        assert_eq!(
            unquote(
                r#"CREATE TABLE [Album] ("AlbumId" INTEGER, `Title` NVARCHAR(160))"#,
                &SQLITE
            ),
            "CREATE TABLE Album (AlbumId INTEGER, Title NVARCHAR(160))"
        );
    }

    #[test]
    fn odd_names_keywords_strings_and_comments_keep_them() {
        let sql = r#"CREATE TABLE [Order Details] ("select" INT, "a""b" TEXT DEFAULT '"x"', [größe] TEXT, "ok" TEXT) -- "c"
/* [d] */"#;
        assert_eq!(
            unquote(sql, &SQLITE),
            r#"CREATE TABLE [Order Details] ("select" INT, "a""b" TEXT DEFAULT '"x"', [größe] TEXT, ok TEXT) -- "c"
/* [d] */"#
        );
        // Glued to a neighbour: a space keeps the words apart; unterminated: unchanged.
        assert_eq!(
            unquote(r#"[OrderID]INTEGER x"a"y "b"#, &SQLITE),
            r#"OrderID INTEGER x a y "b"#
        );
        assert_eq!(unquote("'it''s [a]' [b]", &SQLITE), "'it''s [a]' b");
    }
}

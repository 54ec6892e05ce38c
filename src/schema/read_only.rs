//! Is a training pair's SQL one read-only query? A pair teaches the app's LLM what SQL to write, so
//! only `SELECT`, `WITH … SELECT` and `VALUES` are accepted, one statement, with no data-modifying
//! common table expression, no `SELECT … INTO` and no row locks. This is the syntactic half of the
//! check; the target database gives its own verdict afterwards (`Target::check_query`).
//!
//! The scan knows each dialect's comments, string literals and quoted identifiers, so a `;` or a
//! `DELETE` inside a string or a comment is text, not SQL. Where a server setting changes how
//! strings are read (backslash escapes: MySQL's `NO_BACKSLASH_ESCAPES`, PostgreSQL's
//! `standard_conforming_strings`), the SQL must pass under both readings.

/// The SQL dialect of the target database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A keyword or unquoted identifier, as written.
    Word(String),
    /// A string literal or quoted identifier: opaque text.
    Quoted,
    Open,
    Close,
    Semi,
    Comma,
    Other,
}

/// `Ok` when `sql` is one read-only query in `dialect`; otherwise why not, e.g. "it is a DROP
/// statement".
pub fn check(sql: &str, dialect: Dialect) -> Result<(), String> {
    let readings: &[bool] = match dialect {
        Dialect::Sqlite => &[false],
        Dialect::Postgres | Dialect::Mysql => &[false, true],
    };
    for &backslash in readings {
        let toks = tokenize(sql, dialect, backslash)?;
        statement(&toks)?;
    }
    Ok(())
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// Comments are dropped; strings and quoted identifiers become [`Tok::Quoted`]. `backslash`: a
/// backslash escapes the next character inside `'…'` (and MySQL's `"…"`).
fn tokenize(sql: &str, d: Dialect, backslash: bool) -> Result<Vec<Tok>, String> {
    let s: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| s.get(i).copied();
    while i < s.len() {
        let c = s[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '-' if at(i + 1) == Some('-')
                && (d != Dialect::Mysql
                    || at(i + 2).is_none_or(|n| n.is_whitespace() || n.is_control())) =>
            {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            '#' if d == Dialect::Mysql => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                if d == Dialect::Mysql && matches!(at(i + 2), Some('!') | Some('M')) {
                    return Err("it holds a MySQL executable comment (/*! … */)".into());
                }
                i = block_comment_end(&s, i, d == Dialect::Postgres)?;
            }
            '\'' => {
                i = quoted_end(&s, i, '\'', backslash)?;
                out.push(Tok::Quoted);
            }
            '"' => {
                // An identifier in SQLite and PostgreSQL, a string in MySQL (unless ANSI_QUOTES).
                i = quoted_end(&s, i, '"', d == Dialect::Mysql && backslash)?;
                out.push(Tok::Quoted);
            }
            '`' if d != Dialect::Postgres => {
                i = quoted_end(&s, i, '`', false)?;
                out.push(Tok::Quoted);
            }
            '[' if d == Dialect::Sqlite => {
                match s[i + 1..].iter().position(|&x| x == ']') {
                    Some(n) => i += n + 2,
                    None => return Err("it has an unterminated [identifier]".into()),
                }
                out.push(Tok::Quoted);
            }
            '$' if d == Dialect::Postgres => match dollar_tag(&s, i) {
                Some(tag) => {
                    i = dollar_end(&s, i + tag.len(), &tag)?;
                    out.push(Tok::Quoted);
                }
                None => {
                    out.push(Tok::Other);
                    i += 1;
                }
            },
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ';' => {
                out.push(Tok::Semi);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            _ if is_word_start(c) => {
                let start = i;
                while i < s.len() && is_word_char(s[i]) {
                    i += 1;
                }
                let word: String = s[start..i].iter().collect();
                // PostgreSQL's E'…' reads backslash escapes whatever the server setting.
                if d == Dialect::Postgres && word.eq_ignore_ascii_case("e") && at(i) == Some('\'') {
                    i = quoted_end(&s, i, '\'', true)?;
                    out.push(Tok::Quoted);
                } else {
                    out.push(Tok::Word(word));
                }
            }
            _ if c.is_ascii_digit() => {
                while i < s.len() && (s[i].is_alphanumeric() || s[i] == '.' || s[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Other);
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Index after the comment opening at `i`; PostgreSQL's comments nest.
fn block_comment_end(s: &[char], mut i: usize, nested: bool) -> Result<usize, String> {
    let mut depth = 0;
    while i + 1 < s.len() {
        if s[i] == '/' && s[i + 1] == '*' && (nested || depth == 0) {
            depth += 1;
            i += 2;
        } else if s[i] == '*' && s[i + 1] == '/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else {
            i += 1;
        }
    }
    Err("it has an unterminated /* comment".into())
}

/// Index after the literal opening at `i` with `q`; a doubled `q` is one character.
fn quoted_end(s: &[char], i: usize, q: char, backslash: bool) -> Result<usize, String> {
    let mut j = i + 1;
    while j < s.len() {
        if backslash && s[j] == '\\' {
            j += 2;
        } else if s[j] == q {
            if s.get(j + 1) == Some(&q) {
                j += 2;
            } else {
                return Ok(j + 1);
            }
        } else {
            j += 1;
        }
    }
    Err(match q {
        '\'' => "it has an unterminated string literal".into(),
        _ => format!("it has an unterminated {q}quoted{q} identifier"),
    })
}

/// `$tag$` (or `$$`) opening a dollar-quoted string at `i`; `$1` is a parameter, not a quote.
fn dollar_tag(s: &[char], i: usize) -> Option<String> {
    let mut j = i + 1;
    if s.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    while j < s.len() && s[j] != '$' {
        if !(s[j].is_alphanumeric() || s[j] == '_' || !s[j].is_ascii()) {
            return None;
        }
        j += 1;
    }
    (j < s.len()).then(|| s[i..=j].iter().collect())
}

fn dollar_end(s: &[char], from: usize, tag: &str) -> Result<usize, String> {
    let t: Vec<char> = tag.chars().collect();
    let mut j = from;
    while j + t.len() <= s.len() {
        if s[j..j + t.len()] == t[..] {
            return Ok(j + t.len());
        }
        j += 1;
    }
    Err("it has an unterminated dollar-quoted string".into())
}

/// Whether `t` is the keyword `w` (given upper-case).
fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

/// `Some("DELETE")` for a word token.
fn keyword(t: Option<&Tok>) -> Option<String> {
    match t {
        Some(Tok::Word(w)) => Some(w.to_uppercase()),
        _ => None,
    }
}

/// "a DROP statement", "an INSERT statement".
fn a_statement(kw: &str) -> String {
    let an = kw.starts_with(['A', 'E', 'I', 'O', 'U']);
    format!("{} {kw} statement", if an { "an" } else { "a" })
}

/// Exactly one statement (trailing `;` allowed), and it is a read-only query.
fn statement(toks: &[Tok]) -> Result<(), String> {
    let end = toks
        .iter()
        .position(|t| *t == Tok::Semi)
        .unwrap_or(toks.len());
    if toks[end..].iter().any(|t| *t != Tok::Semi) {
        return Err("it holds more than one statement (`;` followed by more SQL)".into());
    }
    let stmt = &toks[..end];
    if stmt.is_empty() {
        return Err("it holds no SQL statement".into());
    }
    balanced(stmt)?;
    query(stmt)
}

fn balanced(toks: &[Tok]) -> Result<(), String> {
    let mut depth = 0i32;
    for t in toks {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return Err("its parentheses do not balance".into());
    }
    Ok(())
}

/// Index of the `)` matching the `(` at `open`.
fn matching(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// A query: `SELECT …`, `VALUES …`, `WITH … <query>` or `(<query>) …`.
fn query(toks: &[Tok]) -> Result<(), String> {
    match (toks.first(), keyword(toks.first()).as_deref()) {
        (_, Some("SELECT" | "VALUES")) => body(toks),
        (_, Some("WITH")) => with(&toks[1..]),
        (Some(Tok::Open), _) => {
            let close = matching(toks, 0);
            query(&toks[1..close])?;
            body(&toks[(close + 1).min(toks.len())..])
        }
        (_, Some(kw)) => Err(format!("it is {}, not a query", a_statement(kw))),
        _ => Err("it does not start with SELECT, WITH or VALUES".into()),
    }
}

/// The rest of a `WITH`: each common table expression must itself be a query, and so must the
/// statement they lead to (`WITH d AS (DELETE … RETURNING *) SELECT …` deletes).
fn with(toks: &[Tok]) -> Result<(), String> {
    let malformed = || "its WITH clause is malformed".to_string();
    let mut i = usize::from(is_word(toks.first(), "RECURSIVE"));
    loop {
        let name = match toks.get(i) {
            Some(Tok::Word(w)) => w.clone(),
            Some(Tok::Quoted) => "(quoted)".into(),
            _ => return Err(malformed()),
        };
        i += 1;
        if toks.get(i) == Some(&Tok::Open) {
            i = matching(toks, i) + 1; // column list
        }
        if !is_word(toks.get(i), "AS") {
            return Err(malformed());
        }
        i += 1;
        if is_word(toks.get(i), "NOT") {
            i += 1;
        }
        if is_word(toks.get(i), "MATERIALIZED") {
            i += 1;
        }
        if toks.get(i) != Some(&Tok::Open) {
            return Err(malformed());
        }
        let close = matching(toks, i);
        query(&toks[i + 1..close.min(toks.len())])
            .map_err(|e| format!("its common table expression {name}: {e}"))?;
        i = close + 1;
        // PostgreSQL's SEARCH … SET … / CYCLE … SET … USING … clauses: words and commas up to the
        // next common table expression (`, name AS (` / `, name (`) or the main query.
        if is_word(toks.get(i), "SEARCH") || is_word(toks.get(i), "CYCLE") {
            let next_cte = |j: usize| {
                toks.get(j) == Some(&Tok::Comma)
                    && matches!(toks.get(j + 1), Some(Tok::Word(_)) | Some(Tok::Quoted))
                    && (toks.get(j + 2) == Some(&Tok::Open) || is_word(toks.get(j + 2), "AS"))
            };
            while let Some(t) = toks.get(i) {
                if is_word(Some(t), "SELECT")
                    || is_word(Some(t), "VALUES")
                    || *t == Tok::Open
                    || next_cte(i)
                {
                    break;
                }
                i += 1;
            }
        }
        if toks.get(i) == Some(&Tok::Comma) {
            i += 1;
            continue;
        }
        break;
    }
    match (toks.get(i), keyword(toks.get(i)).as_deref()) {
        (_, Some("SELECT" | "VALUES")) | (Some(Tok::Open), _) => query(&toks[i..]),
        (_, Some(kw)) => Err(format!(
            "its WITH clause leads to {}, not to a SELECT",
            a_statement(kw)
        )),
        _ => Err("its WITH clause leads to no SELECT".into()),
    }
}

/// Statements that write, as the first word inside parentheses (a data-modifying CTE or subquery).
const WRITES: &[&str] = &[
    "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT", "CREATE", "DROP", "ALTER",
    "TRUNCATE", "COPY", "CALL",
];

/// Anywhere in a query, at any depth: no `INTO`, no row locks, no writing statement in
/// parentheses, and every parenthesised `WITH` is checked like the outer one.
fn body(toks: &[Tok]) -> Result<(), String> {
    for (i, t) in toks.iter().enumerate() {
        let next = |k: usize| toks.get(i + k);
        if *t == Tok::Open {
            match keyword(next(1)).as_deref() {
                // `replace(…)` and MySQL's `insert(…)` are functions.
                Some(kw) if WRITES.contains(&kw) && next(2) != Some(&Tok::Open) => {
                    return Err(format!("it contains {}", a_statement(kw)));
                }
                Some("WITH") => with(&toks[i + 2..matching(toks, i).min(toks.len())])?,
                _ => {}
            }
            continue;
        }
        let Some(w) = keyword(Some(t)) else {
            continue;
        };
        match w.as_str() {
            "INTO" => return Err(
                "it is a SELECT … INTO, which writes its result into a table, variables or a file"
                    .into(),
            ),
            "FOR"
                if is_word(next(1), "UPDATE")
                    || is_word(next(1), "SHARE")
                    || is_word(next(1), "NO") && is_word(next(2), "KEY")
                    || is_word(next(1), "KEY") && is_word(next(2), "SHARE") =>
            {
                return Err("it locks rows (FOR UPDATE / FOR SHARE)".into())
            }
            "LOCK"
                if is_word(next(1), "IN")
                    && is_word(next(2), "SHARE")
                    && is_word(next(3), "MODE") =>
            {
                return Err("it locks rows (LOCK IN SHARE MODE)".into())
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dialect::*;

    fn ok(sql: &str, d: Dialect) {
        assert_eq!(check(sql, d), Ok(()), "{d:?}: {sql}");
    }

    fn refused(sql: &str, d: Dialect, why: &str) {
        let e = check(sql, d).expect_err(sql);
        assert!(e.contains(why), "{d:?}: {sql}: {e:?} lacks {why:?}");
    }

    #[test]
    fn queries_pass_in_every_dialect() {
        for d in [Sqlite, Postgres, Mysql] {
            ok("SELECT 1", d);
            ok("select count(*) from customers;", d);
            ok("  \n\tSeLeCt name FROM t WHERE a = 1 ;;", d);
            ok("VALUES (1), (2)", d);
            ok(
                "-- top customers\nSELECT name FROM customers /* by revenue */ ORDER BY 1",
                d,
            );
            ok("/* leading */ WITH t AS (SELECT 1 AS x) SELECT x FROM t", d);
            ok("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5), m AS (VALUES (2)) SELECT * FROM n, m", d);
            ok("(SELECT a FROM t) UNION (SELECT b FROM u) ORDER BY 1", d);
            ok("SELECT replace(name, 'a', 'b'), substr(x, 1, 2) FROM t", d);
            ok(
                "SELECT a FROM t WHERE b IN (SELECT b FROM u WHERE c > (SELECT 1))",
                d,
            );
            ok(
                "SELECT * FROM (WITH x AS (SELECT 1 AS y) SELECT y FROM x) s",
                d,
            );
            ok(
                "SELECT name FROM t WHERE note = 'drop; DELETE FROM t; --' AND x <> ';'",
                d,
            );
            ok("SELECT 'it''s'", d);
            ok("SELECT a -- trailing ; DROP TABLE t\nFROM t", d);
            ok("SELECT a /* ; DELETE FROM t */ FROM t", d);
            ok("SELECT \"delete\", \"a;b\" FROM t", d);
            ok("SELECT update_time, deleted, into_x, for_each FROM t", d);
            ok("SELECT a FROM t WHERE lock IN (1, 2)", d);
        }
        ok("SELECT [drop; table] FROM t", Sqlite);
        ok("SELECT `x;y` FROM t", Sqlite);
        ok("SELECT `delete` FROM t", Mysql);
        ok("SELECT \"a;b\" FROM t", Mysql); // a string there
        ok("SELECT $$;DELETE$$, $tag$ ; DROP $tag$, $1", Postgres);
        ok("SELECT E'it\\'s; DROP TABLE t'", Postgres);
        ok(
            "WITH t AS MATERIALIZED (SELECT 1) SELECT * FROM t",
            Postgres,
        );
        ok(
            "WITH t AS NOT MATERIALIZED (SELECT 1) SELECT * FROM t",
            Postgres,
        );
        ok(
            "/* outer /* nested ; DROP */ still comment */ SELECT 1",
            Postgres,
        );
        ok("SELECT 1 # ; DROP TABLE t\n", Mysql);
        ok(
            "SELECT now() at time zone 'utc', x::timestamp with time zone FROM t",
            Postgres,
        );
        ok("SELECT substring(a FROM 1 FOR 2) FROM t", Postgres);
        ok("WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id+1 FROM t WHERE id < 3) SEARCH DEPTH FIRST BY id SET ord SELECT * FROM t", Postgres);
    }

    #[test]
    fn writes_and_other_statements_are_refused() {
        for d in [Sqlite, Postgres, Mysql] {
            refused("DROP TABLE customers", d, "DROP statement");
            refused("delete from customers where id = 1", d, "DELETE statement");
            refused(
                "  -- looks harmless\n  UPDATE t SET a = 1",
                d,
                "UPDATE statement",
            );
            refused(
                "/* SELECT */ INSERT INTO t VALUES (1)",
                d,
                "INSERT statement",
            );
            refused("PRAGMA table_info(t)", d, "PRAGMA statement");
            refused("EXPLAIN SELECT 1", d, "EXPLAIN statement");
            refused("BEGIN", d, "BEGIN statement");
            refused("", d, "no SQL statement");
            refused("-- only a comment", d, "no SQL statement");
            refused("'SELECT 1'", d, "does not start with SELECT");
            refused(
                "SELECT 1; DROP TABLE customers",
                d,
                "more than one statement",
            );
            refused(
                "SELECT 1;\n-- next\nDELETE FROM t;",
                d,
                "more than one statement",
            );
            refused("SELECT ';'; DELETE FROM t", d, "more than one statement");
            refused(
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                d,
                "common table expression d: it is a DELETE statement",
            );
            refused(
                "WITH a AS (SELECT 1), b AS (INSERT INTO t SELECT * FROM a RETURNING *) SELECT * FROM b",
                d,
                "expression b: it is an INSERT",
            );
            refused(
                "WITH a AS (SELECT 1) DELETE FROM t",
                d,
                "leads to a DELETE statement",
            );
            refused(
                "WITH a AS (SELECT 1) UPDATE t SET x = 1",
                d,
                "leads to an UPDATE",
            );
            refused("WITH a AS (SELECT 1)", d, "leads to no SELECT");
            refused("WITH SELECT 1", d, "malformed");
            refused(
                "SELECT * FROM (WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d) s",
                d,
                "DELETE",
            );
            refused("SELECT * FROM (DELETE FROM t RETURNING *) s", d, "DELETE");
            refused("SELECT * INTO backup FROM customers", d, "SELECT … INTO");
            refused("SELECT * FROM t FOR UPDATE", d, "locks rows");
            refused("SELECT * FROM t FOR NO KEY UPDATE", d, "locks rows");
            refused("SELECT (1", d, "parentheses");
            refused("SELECT 'unterminated", d, "unterminated string");
            refused("SELECT 1 /* open", d, "unterminated /*");
        }
        refused("SELECT * FROM t LOCK IN SHARE MODE", Mysql, "locks rows");
        refused("SELECT * FROM t INTO OUTFILE '/tmp/x'", Mysql, "INTO");
        refused(
            "SELECT 1 /*!50000 ; DROP TABLE t */",
            Mysql,
            "executable comment",
        );
        // MySQL ends `--` comments only before whitespace: `1--1` is arithmetic, the rest is SQL.
        refused(
            "SELECT 1--1; DROP TABLE t",
            Mysql,
            "more than one statement",
        );
        // Without backslash escapes (MySQL's NO_BACKSLASH_ESCAPES, or PostgreSQL's legacy strings)
        // the string ends early and a second statement follows: refused under either reading.
        refused(
            "SELECT 'a\\'; DROP TABLE t; -- '",
            Mysql,
            "more than one statement",
        );
        refused(
            "SELECT 'a\\'; DROP TABLE t; -- '",
            Postgres,
            "more than one statement",
        );
        refused(
            "SELECT '\\''; DROP TABLE t; -- '",
            Mysql,
            "more than one statement",
        );
        // SQLite comments do not nest: the first `*/` ends it.
        refused("/* /* */ DELETE FROM t /* */", Sqlite, "DELETE statement");
        refused("SELECT $x$ unterminated", Postgres, "dollar-quoted");
        refused("SELECT [x", Sqlite, "unterminated [identifier]");
    }
}

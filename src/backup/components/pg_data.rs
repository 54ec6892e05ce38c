//! The deep check of a PostgreSQL custom-format dump: `pg_restore --data-only -f -` decompresses
//! every data block (a dump cut short, or with a damaged block, makes it fail; `--list` reads only
//! the table of contents), and the rows of each table are counted as they stream past, as the
//! lines of its `COPY … FROM stdin;` block, for comparison with the manifest. No database is
//! involved and nothing is written to disk: the SQL goes through a pipe into the counter.

use crate::error::fail;
use anyhow::Result;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Where the dump comes from.
pub enum Input<'a> {
    /// A staged file (restore, drill).
    File(&'a Path),
    /// The archive member as it streams past (`backup verify`): no staged copy at all.
    Stream(&'a mut dyn Read),
}

/// Read every data block of the dump; rows per table, keyed as the manifest keys them (`table`
/// in `public`, else `schema.table`).
pub fn read_all(input: Input) -> Result<BTreeMap<String, u64>> {
    let mut cmd = Command::new("pg_restore");
    cmd.args(["--data-only", "--no-password", "-f", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match &input {
        Input::File(p) => {
            cmd.arg(p).stdin(Stdio::null());
        }
        Input::Stream(_) => {
            cmd.stdin(Stdio::piped());
        }
    }
    // The check must not outlive a killed vannactl.
    crate::host::die_with_parent(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| fail("pg_tool_missing", format!("cannot run pg_restore: {e}; install the PostgreSQL client tools (postgresql-client)")))?;
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let stdout = child.stdout.take().expect("piped");
    let counter = std::thread::spawn(move || {
        let mut out = BufReader::with_capacity(1 << 20, stdout);
        let counted = count_copy_rows(&mut out);
        // Read on after a problem, so pg_restore never fails for want of a reader.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
        counted
    });
    let fed = match input {
        Input::Stream(r) => {
            let mut stdin = child.stdin.take().expect("piped");
            let fed = std::io::copy(r, &mut stdin).and_then(|_| stdin.flush());
            drop(stdin);
            fed.map(|_| ())
        }
        Input::File(_) => Ok(()),
    };
    let status = child.wait()?;
    let counted = counter
        .join()
        .unwrap_or_else(|_| Err("the row counter panicked".into()));
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(rejected(&stderr, &status.to_string()));
    }
    match fed {
        // It had read all it needed; whatever it left unread is still checked against the
        // manifest's SHA-256 by the archive reader.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(anyhow::Error::new(e).context("cannot stream the dump to pg_restore")),
        Ok(()) => {}
    }
    counted.map_err(|e| fail("archive_corrupt", format!("pg_restore's output: {e}")))
}

fn rejected(stderr: &str, status: &str) -> anyhow::Error {
    let text = stderr.trim().lines().collect::<Vec<_>>().join(" ");
    // A dump from a newer pg_dump is not a corrupt archive: the local client is too old.
    if text.contains("unsupported version") {
        return fail(
            "pg_tool_too_old",
            format!(
                "pg_restore cannot read this dump, which a newer pg_dump made ({text}); install a postgresql-client at least as new as the archive's server and retry"
            ),
        );
    }
    fail(
        "archive_corrupt",
        format!("pg_restore cannot read every data block of the dump ({status}): {text}"),
    )
}

/// Rows per table from `pg_restore --data-only -f -` output: each `COPY <table> (…) FROM stdin;`
/// block has one line per row (newlines inside values are escaped) and ends with `\.`.
fn count_copy_rows(mut r: impl BufRead) -> Result<BTreeMap<String, u64>, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, u64)> = None;
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        match &mut current {
            Some((table, rows)) => {
                if line == b"\\.\n" {
                    *out.entry(std::mem::take(table)).or_insert(0) += *rows;
                    current = None;
                } else {
                    *rows += 1;
                }
            }
            None => {
                if line.starts_with(b"COPY ") && line.ends_with(b" FROM stdin;\n") {
                    let text = String::from_utf8_lossy(&line);
                    let table = copy_target(&text).ok_or_else(|| {
                        format!("cannot read the table name in {:?}", text.trim())
                    })?;
                    current = Some((table, 0));
                }
            }
        }
    }
    match current {
        Some((table, _)) => Err(format!("the data of {table} ends without its `\\.` line")),
        None => Ok(out),
    }
}

/// `COPY public.t (a, b) FROM stdin;` → `t`; `COPY "My Schema"."T" …` → `My Schema.T`.
fn copy_target(line: &str) -> Option<String> {
    let rest = line.strip_prefix("COPY ")?;
    let (first, rest) = ident(rest)?;
    let (schema, table, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let (t, r) = ident(r)?;
            (first, t, r)
        }
        // pg_dump before 10.3 did not qualify names (search_path pointed at the schema).
        None => ("public".to_string(), first, rest),
    };
    if !rest.starts_with(' ') {
        return None;
    }
    Some(if schema == "public" {
        table
    } else {
        format!("{schema}.{table}")
    })
}

/// One identifier as pg_dump writes it: `"…"` with `""` for a quote, or bare.
fn ident(s: &str) -> Option<(String, &str)> {
    if let Some(body) = s.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if body[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    return Some((name, &body[i + 1..]));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let end = s.find(['.', ' ', '(']).unwrap_or(s.len());
        (end > 0).then(|| (s[..end].to_string(), &s[end..]))
    }
}

/// The counts the dump holds against the manifest's. Both come from one snapshot, so any
/// difference is damage. A table missing from the dump is only wrong when the manifest gives it
/// rows; tables only in the dump are left alone (an extension's configuration table, which the
/// manifest does not count because pg_dump may dump only part of it).
pub fn compare(found: &BTreeMap<String, u64>, manifest: &BTreeMap<String, u64>) -> Result<()> {
    for (table, &want) in manifest {
        match found.get(table) {
            Some(&n) if n == want => {}
            Some(&n) => {
                return Err(fail(
                    "archive_corrupt",
                    format!("the dump holds {n} rows of table {table}, the manifest says {want}"),
                ))
            }
            None if want == 0 => {}
            None => {
                return Err(fail(
                    "archive_corrupt",
                    format!(
                        "the dump holds no data for table {table}, the manifest says {want} rows"
                    ),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_blocks_are_counted_per_table() {
        let sql = "--\n-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: x\n--\n\n\
            COPY public.t (id, s) FROM stdin;\n1\ta\\nb\n2\tc\n\\.\n\n\
            COPY \"My \"\"S\"\"\".\"T x\" (a) FROM stdin;\n\\.\n\
            COPY audit.events  FROM stdin;\n1\n\\.\n\
            SELECT pg_catalog.setval('public.t_id_seq', 2, true);\n";
        let c = count_copy_rows(sql.as_bytes()).unwrap();
        let want: BTreeMap<String, u64> = [
            ("t".to_string(), 2),
            ("My \"S\".T x".to_string(), 0),
            ("audit.events".to_string(), 1),
        ]
        .into();
        assert_eq!(c, want);
        let cut = "COPY public.t (id) FROM stdin;\n1\n2\n";
        assert!(count_copy_rows(cut.as_bytes())
            .unwrap_err()
            .contains("ends without"));
        assert!(count_copy_rows("COPY \"x FROM stdin;\n".as_bytes()).is_err());
    }

    #[test]
    fn names_as_pg_dump_writes_them() {
        assert_eq!(copy_target("COPY t (a) FROM stdin;").as_deref(), Some("t"));
        assert_eq!(
            copy_target("COPY s.t (a) FROM stdin;").as_deref(),
            Some("s.t")
        );
        assert_eq!(
            copy_target("COPY \"a.b\".\"c d\" (a) FROM stdin;").as_deref(),
            Some("a.b.c d")
        );
        assert_eq!(copy_target("COPY \"unterminated FROM stdin;"), None);
    }

    #[test]
    fn counts_compared_with_the_manifest() {
        let m = |v: &[(&str, u64)]| -> BTreeMap<String, u64> {
            v.iter().map(|(k, n)| (k.to_string(), *n)).collect()
        };
        compare(
            &m(&[("a", 2), ("b", 0), ("extra", 9)]),
            &m(&[("a", 2), ("b", 0)]),
        )
        .unwrap();
        compare(&m(&[("a", 2)]), &m(&[("a", 2), ("empty", 0)])).unwrap();
        let e = compare(&m(&[("a", 1)]), &m(&[("a", 2)])).unwrap_err();
        assert!(
            e.to_string()
                .contains("1 rows of table a, the manifest says 2"),
            "{e}"
        );
        let e = compare(&m(&[]), &m(&[("users", 3)])).unwrap_err();
        assert!(e.to_string().contains("no data for table users"), "{e}");
    }
}

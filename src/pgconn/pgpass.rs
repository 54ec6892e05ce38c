//! The password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`), read exactly as libpq reads it:
//! `host:port:database:user:password` lines, `*` matching anything in the first four fields, `\`
//! escaping `:` and `\`, `#` comment lines, the first match wins, and a file that group or others
//! may read is ignored with a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// libpq's defaults for the fields a URL may leave out.
const DEFAULT_HOST: &str = "localhost";
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// What a lookup found: a password, or why the file was not used (a warning for the operator).
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(String),
    NoMatch,
    Ignored(String),
}

/// The password for (host, port, dbname, user) from the file at `path`. `host` is a name, an
/// address or a socket directory; libpq looks up the default socket directory as `localhost`.
pub fn lookup(path: &Path, host: &str, port: u16, dbname: &str, user: &str) -> Lookup {
    if dbname.is_empty() || user.is_empty() {
        return Lookup::NoMatch;
    }
    let Ok(meta) = std::fs::metadata(path) else {
        return Lookup::NoMatch;
    };
    if !meta.is_file() {
        return Lookup::Ignored(format!(
            "password file {} is not a plain file; not used",
            path.display()
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Lookup::Ignored(format!(
            "password file {} has group or world access; permissions should be u=rw (0600) or less; not used",
            path.display()
        ));
    }
    let Ok(text) = std::fs::read(path) else {
        return Lookup::NoMatch;
    };
    let host = if host.is_empty() || host == DEFAULT_SOCKET_DIR {
        DEFAULT_HOST
    } else {
        host
    };
    let port = port.to_string();
    match find(&String::from_utf8_lossy(&text), host, &port, dbname, user) {
        Some(p) => Lookup::Found(p),
        None => Lookup::NoMatch,
    }
}

fn find(text: &str, host: &str, port: &str, dbname: &str, user: &str) -> Option<String> {
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rest = field_matches(line, host)
            .and_then(|r| field_matches(r, port))
            .and_then(|r| field_matches(r, dbname))
            .and_then(|r| field_matches(r, user));
        if let Some(rest) = rest {
            return Some(unescape_password(rest));
        }
    }
    None
}

/// libpq's `pwdfMatchesString`: the field at the start of `line` equals `token` (after removing
/// backslash escapes) or is a lone `*`; returns what follows the field's `:`.
fn field_matches<'a>(line: &'a str, token: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let b = line.as_bytes();
    let t = token.as_bytes();
    let (mut i, mut j) = (0, 0);
    while i < b.len() {
        let mut escaped = false;
        if b[i] == b'\\' {
            i += 1;
            escaped = true;
            if i == b.len() {
                return None;
            }
        }
        if b[i] == b':' && !escaped && j == t.len() {
            return Some(&line[i + 1..]);
        }
        if j == t.len() || b[i] != t[j] {
            return None;
        }
        i += 1;
        j += 1;
    }
    None
}

/// The password runs to the first unescaped `:` or the end of the line.
fn unescape_password(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            '\\' => match chars.next() {
                Some(n) => out.push(n),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment line\n\
        db.example:5432:app:alice:first\n\
        db.example:*:*:alice:second\n\
        *:5433:*:bob:p\\:w\\\\d:ignored\n\
        h\\:x:5432:app:carol:colon-host\n\
        localhost:5432:carol:carol:socket\r\n";

    #[test]
    fn first_matching_line_wins_with_wildcards() {
        assert_eq!(
            find(FILE, "db.example", "5432", "app", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            find(FILE, "db.example", "6000", "other", "alice").as_deref(),
            Some("second")
        );
        assert_eq!(find(FILE, "db.example", "5432", "app", "alicia"), None);
        assert_eq!(find(FILE, "db.exampl", "5432", "app", "alice"), None);
    }

    #[test]
    fn escapes_in_fields_and_password() {
        assert_eq!(
            find(FILE, "anyhost", "5433", "x", "bob").as_deref(),
            Some("p:w\\d")
        );
        assert_eq!(
            find(FILE, "h:x", "5432", "app", "carol").as_deref(),
            Some("colon-host")
        );
        // A comment line is never a match, even for a host named like it.
        assert_eq!(find(FILE, "# comment line", "5432", "a", "b"), None);
    }

    fn file_with(mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pgpass");
        std::fs::write(&p, FILE).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        (d, p)
    }

    #[test]
    fn default_socket_dir_and_empty_host_are_localhost() {
        let (_d, p) = file_with(0o600);
        for host in ["", "/var/run/postgresql"] {
            assert_eq!(
                lookup(&p, host, 5432, "carol", "carol"),
                Lookup::Found("socket".into()),
                "{host:?}"
            );
        }
        assert_eq!(lookup(&p, "/tmp", 5432, "carol", "carol"), Lookup::NoMatch);
    }

    #[test]
    fn readable_by_others_is_ignored_with_a_reason() {
        let (_d, p) = file_with(0o644);
        match lookup(&p, "db.example", 5432, "app", "alice") {
            Lookup::Ignored(why) => assert!(why.contains("group or world access"), "{why}"),
            other => panic!("{other:?}"),
        }
        let (_d, p) = file_with(0o640);
        assert!(matches!(
            lookup(&p, "db.example", 5432, "app", "alice"),
            Lookup::Ignored(_)
        ));
        let (_d, p) = file_with(0o400);
        assert_eq!(
            lookup(&p, "db.example", 5432, "app", "alice"),
            Lookup::Found("first".into())
        );
        assert_eq!(
            lookup(Path::new("/nonexistent/pgpass"), "h", 1, "d", "u"),
            Lookup::NoMatch
        );
    }
}

//! The admin password policy, one rule set for `init` (INIT_ADMIN_PASSWORD) and
//! `admin reset-password`.
//!
//! Both profiles refuse what bcrypt cannot hash faithfully (empty, over 72 bytes). Production also
//! refuses a password that is shorter than 12 characters, that zxcvbn scores below 3, that contains
//! the username, or that is a published example value: one of [`WELL_KNOWN`] or any value a
//! `.env.example` assigns (see [`ExampleValues::discover`]). Development accepts those and warns.
//! Messages carry zxcvbn's feedback and where an example value came from, never the password.

use crate::config::{Settings, Source};
use crate::error::{usage, Classified, ExitStatus};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// bcrypt reads 72 bytes; Python's bcrypt rejects longer passwords.
pub const MAX_BYTES: usize = 72;
/// Production minimum length (kept from before zxcvbn: a floor no score can lower).
pub const MIN_PRODUCTION_LEN: usize = 12;
/// zxcvbn's own advice: "any score less than 3 should be considered too weak".
pub const MIN_PRODUCTION_SCORE: u8 = 3;
/// Usernames shorter than this are not searched for inside the password: "a" or "ab" would refuse
/// most passwords without making any weaker one stronger (zxcvbn still gets them as user input).
pub const MIN_USERNAME_LEN: usize = 3;

/// Example passwords published with this kind of deployment: Vanna-style app guides use
/// `AdminPassword123`; `change-me-please` is the value vannactl's own `.env.example` has always had.
pub const WELL_KNOWN: &[&str] = &["AdminPassword123", "change-me-please"];

/// Words specific to this app, given to zxcvbn so "vanna2024!" does not count as random.
const APP_WORDS: &[&str] = &["vanna", "vannactl", "admin", "administrator"];

/// The `.env.example` this build ships, so the check holds wherever the binary is installed.
const SHIPPED_ENV_EXAMPLE: &str = include_str!("../../.env.example");

/// A value published as an example, and where it was found (for the message; the value itself is
/// never printed, it may be the password).
#[derive(Debug, Clone)]
pub struct ExampleValue {
    pub value: String,
    pub origin: String,
}

#[derive(Debug, Clone, Default)]
pub struct ExampleValues(pub Vec<ExampleValue>);

impl ExampleValues {
    /// [`WELL_KNOWN`], the shipped `.env.example`, and every `.env.example` that sits in the
    /// working folder, beside the env file the settings were read from (`--env-file`, `./.env`),
    /// or beside the executable (a packaged install). A file that cannot be read is skipped: it
    /// can only add refusals, never allow anything.
    pub fn discover(settings: &Settings) -> ExampleValues {
        let mut v = ExampleValues::well_known();
        v.add_env_text(
            SHIPPED_ENV_EXAMPLE,
            "the .env.example shipped with vannactl",
        );
        let mut dirs: Vec<PathBuf> = vec![PathBuf::from(".")];
        for r in settings.resolved.values() {
            if let Source::DotEnv(p) = &r.source {
                dirs.push(crate::fsutil::parent_dir(p));
            }
        }
        if let Some(d) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            dirs.push(d);
        }
        let mut seen: Vec<PathBuf> = Vec::new();
        for d in dirs {
            let p = d.join(".env.example");
            let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if let Ok(text) = std::fs::read_to_string(&p) {
                v.add_env_text(&text, &p.display().to_string());
            }
        }
        v
    }

    pub fn well_known() -> ExampleValues {
        ExampleValues(
            WELL_KNOWN
                .iter()
                .map(|w| ExampleValue {
                    value: w.to_string(),
                    origin: "a well-known example password".into(),
                })
                .collect(),
        )
    }

    /// Every value assigned in an env file, commented-out assignments included (they are
    /// examples too: `#DATABASE_URL=postgres://vanna:CHANGE_ME@…`), and the password of each URL.
    pub fn add_env_text(&mut self, text: &str, file: &str) {
        for (i, line) in text.lines().enumerate() {
            let Some((name, value)) = assignment(line) else {
                continue;
            };
            let origin = format!("{file} line {} ({name})", i + 1);
            if let Some(pw) = url_password(&value) {
                self.push(pw, &origin);
            }
            self.push(value, &origin);
        }
    }

    fn push(&mut self, value: String, origin: &str) {
        if !value.is_empty() {
            self.0.push(ExampleValue {
                value,
                origin: origin.to_string(),
            });
        }
    }

    fn matching(&self, password: &str) -> Option<&ExampleValue> {
        let p = password.trim().to_lowercase();
        self.0.iter().find(|e| e.value.trim().to_lowercase() == p)
    }
}

/// `NAME=value` (optionally `# NAME=value` or `export NAME=value`) → (name, unquoted value).
fn assignment(line: &str) -> Option<(String, String)> {
    let l = line.trim_start().trim_start_matches('#').trim_start();
    let l = l.strip_prefix("export ").unwrap_or(l);
    let (name, value) = l.split_once('=')?;
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return None;
    }
    let value = value.trim();
    let value = match value.chars().next() {
        Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
        // Unquoted: a ` #` starts a comment, as dotenv reads it.
        _ => value.split(" #").next().unwrap_or("").trim_end(),
    };
    Some((name.to_string(), value.to_string()))
}

/// The password part of `scheme://user:password@host…`, if any.
fn url_password(value: &str) -> Option<String> {
    let rest = value.split_once("://")?.1;
    let userinfo = rest.split(['/', '?', '#']).next()?.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    (!pw.is_empty()).then(|| pw.to_string())
}

/// One reason a password is refused (production) or warned about (development).
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    ExampleValue { origin: String },
    ContainsUsername { username: String },
    TooShort { chars: usize },
    Guessable { score: u8, feedback: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::ExampleValue { origin } => {
                write!(f, "it is a published example value ({origin})")
            }
            Problem::ContainsUsername { username } => {
                write!(f, "it contains the username {username:?}")
            }
            Problem::TooShort { chars } => write!(
                f,
                "it has {chars} characters, fewer than {MIN_PRODUCTION_LEN}"
            ),
            Problem::Guessable { score, feedback } => {
                write!(
                    f,
                    "it is easy to guess (zxcvbn score {score} of 4, at least {MIN_PRODUCTION_SCORE} needed)"
                )?;
                if !feedback.is_empty() {
                    write!(f, ": {feedback}")?;
                }
                Ok(())
            }
        }
    }
}

/// Everything wrong with `password` for `username` beyond the hard bcrypt limits, in the order a
/// user should fix them.
pub fn problems(password: &str, username: &str, examples: &ExampleValues) -> Vec<Problem> {
    let mut found = Vec::new();
    if let Some(e) = examples.matching(password) {
        found.push(Problem::ExampleValue {
            origin: e.origin.clone(),
        });
    }
    let user = username.trim();
    if user.chars().count() >= MIN_USERNAME_LEN
        && password.to_lowercase().contains(&user.to_lowercase())
    {
        found.push(Problem::ContainsUsername {
            username: user.to_string(),
        });
    }
    let chars = password.chars().count();
    if chars < MIN_PRODUCTION_LEN {
        found.push(Problem::TooShort { chars });
    }
    let mut inputs: Vec<&str> = vec![user];
    inputs.extend(APP_WORDS);
    inputs.extend(examples.0.iter().map(|e| e.value.as_str()));
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    let score = u8::from(estimate.score());
    if score < MIN_PRODUCTION_SCORE {
        let feedback = estimate
            .feedback()
            .map(|f| {
                let mut parts: Vec<String> =
                    f.warning().map(|w| w.to_string()).into_iter().collect();
                parts.extend(f.suggestions().iter().map(|s| s.to_string()));
                parts.join(" ")
            })
            .unwrap_or_default();
        found.push(Problem::Guessable { score, feedback });
    }
    found
}

/// The error kind of a refused password (exit 2: a configuration or input value to change).
pub const REFUSED_KIND: &str = "weak_password";

/// Apply the policy. Production: `Err` (kind [`REFUSED_KIND`], exit 2) listing every problem.
/// Development: `Ok` with one warning per problem, for the caller to show.
/// `what` names the value in the message, e.g. "INIT_ADMIN_PASSWORD".
pub fn enforce(
    password: &str,
    username: &str,
    production: bool,
    examples: &ExampleValues,
    what: &str,
) -> Result<Vec<String>> {
    if password.is_empty() {
        return Err(usage(format!("{what} is empty")));
    }
    if password.len() > MAX_BYTES {
        return Err(usage(format!(
            "{what} is {} bytes; bcrypt uses at most {MAX_BYTES}; choose a shorter one",
            password.len()
        )));
    }
    let found = problems(password, username, examples);
    if found.is_empty() {
        return Ok(Vec::new());
    }
    // zxcvbn's sentences end in a full stop; inside the list the "; " separates.
    let list: Vec<String> = found
        .iter()
        .map(|p| p.to_string().trim_end_matches('.').to_string())
        .collect();
    if production {
        return Err(Classified::new(
            REFUSED_KIND,
            ExitStatus::Usage,
            format!(
                "{what} for {username:?} is refused by the production password policy: {}. Choose another password (a few uncommon words work well)",
                list.join("; ")
            ),
        )
        .into());
    }
    Ok(list
        .into_iter()
        .map(|p| format!("{what} for {username:?} would be refused in production: {p}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> ExampleValues {
        let mut v = ExampleValues::well_known();
        v.add_env_text(SHIPPED_ENV_EXAMPLE, "shipped");
        v
    }

    fn refused(pw: &str, user: &str) -> String {
        let e = enforce(pw, user, true, &shipped(), "INIT_ADMIN_PASSWORD").unwrap_err();
        let c = e.downcast_ref::<Classified>().unwrap();
        assert_eq!((c.kind, c.status), (REFUSED_KIND, ExitStatus::Usage));
        assert!(
            !c.message.contains(pw),
            "the message shows the password: {}",
            c.message
        );
        c.message.clone()
    }

    #[test]
    fn production_refuses_the_well_known_example_in_any_case() {
        for pw in ["AdminPassword123", "adminpassword123", " ADMINPASSWORD123 "] {
            let m = refused(pw, "ops");
            assert!(m.contains("published example value (a well-known"), "{m}");
        }
    }

    #[test]
    fn production_refuses_every_value_of_the_shipped_env_example() {
        let m = refused("change-me-please", "ops");
        assert!(m.contains("published example value"), "{m}");
        // The password inside a commented-out example URL counts too.
        let m = refused("CHANGE_ME", "ops");
        assert!(m.contains("(DATABASE_URL)"), "{m}");
        let m = refused("default_database", "ops");
        assert!(m.contains("(CHROMA_DATABASE)"), "{m}");
    }

    #[test]
    fn production_refuses_the_username_inside_the_password() {
        let m = refused("Quartz-OPSteam-meadow-41", "ops");
        assert!(m.contains("contains the username \"ops\""), "{m}");
        // A strong password otherwise: only the username is wrong.
        assert!(!m.contains("; "), "{m}");
    }

    #[test]
    fn production_gives_zxcvbn_feedback_for_a_guessable_password() {
        let m = refused("password1234", "ops");
        assert!(m.contains("zxcvbn score"), "{m}");
        assert!(
            m.contains("This is a very common password. Add another word or two."),
            "{m}"
        );
        let m = refused("mnbvcxzlkjhgfd", "ops");
        assert!(m.contains("Straight rows of keys are easy to guess"), "{m}");
    }

    #[test]
    fn production_refuses_short_and_lists_every_problem() {
        // zxcvbn gives this 9-character one a 3: the length floor still refuses it.
        let m = refused("Tr0ub4dor", "ops");
        assert!(m.ends_with("it has 9 characters, fewer than 12. Choose another password (a few uncommon words work well)"), "{m}");
        let m = refused("ops1", "ops");
        for part in ["contains the username", "4 characters", "zxcvbn score"] {
            assert!(m.contains(part), "{part}: {m}");
        }
    }

    #[test]
    fn production_accepts_a_strong_password() {
        for pw in [
            "correct horse battery staple",
            "Vq8#tLm2!pZr9w",
            "a-real-production-secret",
        ] {
            let w = enforce(pw, "ops", true, &shipped(), "INIT_ADMIN_PASSWORD").unwrap();
            assert!(w.is_empty(), "{pw}: {w:?}");
        }
    }

    #[test]
    fn development_accepts_with_warnings() {
        let w = enforce("AdminPassword123", "admin", false, &shipped(), "X").unwrap();
        assert!(w.iter().any(|w| w.contains("published example")), "{w:?}");
        assert!(
            w.iter().any(|w| w.contains("contains the username")),
            "{w:?}"
        );
        assert!(w.iter().all(|w| !w.contains("AdminPassword123")), "{w:?}");
        assert!(enforce(
            "correct horse battery staple",
            "admin",
            false,
            &shipped(),
            "X"
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn bcrypt_limits_hold_in_both_profiles() {
        for production in [false, true] {
            let e = enforce("", "a", production, &shipped(), "X").unwrap_err();
            assert_eq!(crate::error::classify(&e).1, ExitStatus::Usage);
            let e = enforce(&"x".repeat(73), "a", production, &shipped(), "X").unwrap_err();
            assert!(e.to_string().contains("73 bytes"), "{e}");
        }
    }

    #[test]
    fn short_usernames_are_not_searched_for() {
        let w = enforce("correct horse battery staple", "a", false, &shipped(), "X").unwrap();
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn env_lines_are_parsed_like_dotenv() {
        let mut v = ExampleValues::default();
        v.add_env_text(
            "# comment: not=an assignment\nA=plain # trailing\n#B=\"quoted # kept\"\nexport C='single'\nD=\n1X=no\nE=postgres://u:p%40ss@h:5/db\n",
            "f",
        );
        let got: Vec<(&str, &str)> =
            v.0.iter()
                .map(|e| (e.value.as_str(), e.origin.as_str()))
                .collect();
        assert_eq!(
            got,
            vec![
                ("plain", "f line 2 (A)"),
                ("quoted # kept", "f line 3 (B)"),
                ("single", "f line 4 (C)"),
                ("p%40ss", "f line 7 (E)"),
                ("postgres://u:p%40ss@h:5/db", "f line 7 (E)"),
            ]
        );
    }
}

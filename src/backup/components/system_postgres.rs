//! PostgreSQL system DB: `pg_dump -Fc` under an exported snapshot (so the counts in the manifest
//! match the dump exactly), `pg_restore --list` to verify, `pg_restore --single-transaction --clean
//! --if-exists` to restore (all or nothing). The password travels in PGPASSWORD, never in argv.

use crate::config::mask_url;
use crate::error::fail;
use crate::fsutil::TempFile;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::super::archive::Hashing;

/// A connection target split so the password never appears on a command line.
pub struct Pg {
    /// Full URL for the in-process client.
    full: String,
    /// URL without any password, for pg_dump/pg_restore `--dbname`.
    pub no_password: String,
    password: Option<String>,
    pub masked: String,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Pg {
    pub fn parse(raw: &str) -> Result<Pg> {
        let masked = mask_url(raw);
        let mut url = url::Url::parse(raw).map_err(|e| {
            crate::error::usage(format!("DATABASE_URL {masked} does not parse: {e}"))
        })?;
        let mut password = url.password().map(percent_decode);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        if pairs
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("password"))
        {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                if k.eq_ignore_ascii_case("password") {
                    password = Some(v.clone());
                } else {
                    q.append_pair(k, v);
                }
            }
            let q = q.finish();
            url.set_query((!q.is_empty()).then_some(q.as_str()));
        }
        let _ = url.set_password(None);
        Ok(Pg {
            full: raw.to_string(),
            no_password: url.to_string(),
            password,
            masked,
        })
    }

    pub fn connect(&self) -> Result<postgres::Client> {
        postgres::Client::connect(&self.full, postgres::NoTls).map_err(|e| {
            fail(
                "system_db_unreachable",
                format!(
                    "cannot connect to the system DB {}: {e}; check DATABASE_URL and that PostgreSQL is running",
                    self.masked
                ),
            )
        })
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        match &self.password {
            Some(p) => c.env("PGPASSWORD", p),
            None => c.env_remove("PGPASSWORD"),
        };
        // SAFETY: prctl is async-signal-safe; a dump or restore must not outlive a killed vannactl
        // (an orphaned pg_restore would commit after we reported nothing).
        unsafe {
            c.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        c
    }
}

/// Major version of a client tool (`pg_dump (PostgreSQL) 15.20 (Debian …)` → 15).
fn tool_major(program: &str) -> Result<u32> {
    let out = Command::new(program).arg("--version").output().map_err(|e| {
        fail(
            "pg_tool_missing",
            format!("cannot run {program}: {e}; install the PostgreSQL client tools (postgresql-client) matching your server"),
        )
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_major(&text).ok_or_else(|| {
        fail(
            "pg_tool_missing",
            format!(
                "cannot tell the version of {program} from {:?}",
                text.trim()
            ),
        )
    })
}

fn parse_major(version_output: &str) -> Option<u32> {
    let v = version_output.split_whitespace().nth(2)?;
    v.split(['.', 'b', 'r', 'd']).next()?.parse().ok()
}

fn server_version(client: &mut postgres::Client) -> Result<(u32, String)> {
    let num: String = client.query_one("SHOW server_version_num", &[])?.get(0);
    let text: String = client.query_one("SHOW server_version", &[])?.get(0);
    let num: u32 = num
        .trim()
        .parse()
        .context("unexpected server_version_num")?;
    Ok((num / 10000, text))
}

/// Rows per table (schema-qualified unless `public`), in whatever transaction `c` is.
pub fn counts(c: &mut impl postgres::GenericClient) -> Result<BTreeMap<String, u64>> {
    let rows = c.query(
        "SELECT n.nspname::text, c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
         ORDER BY 1, 2",
        &[],
    )?;
    let mut out = BTreeMap::new();
    for r in rows {
        let (schema, table, q): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {q}"), &[])?
            .get(0);
        let key = if schema == "public" {
            table
        } else {
            format!("{schema}.{table}")
        };
        out.insert(key, n as u64);
    }
    Ok(out)
}

fn migration_version(c: &mut impl postgres::GenericClient) -> Result<Option<String>> {
    let exists: bool = c
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(
        c.query_one("SELECT max(version)::text FROM schema_migrations", &[])?
            .get(0),
    )
}

pub struct Dump {
    pub file: TempFile,
    pub size: u64,
    pub sha256: String,
    pub server_version: String,
    pub migration_version: Option<String>,
    pub counts: BTreeMap<String, u64>,
}

/// Dump the database into a temporary file named after `stage`.
pub fn dump(pg: &Pg, stage: &Path) -> Result<Dump> {
    let mut client = pg.connect()?;
    let (server_major, server_version) = server_version(&mut client)?;
    let dump_major = tool_major("pg_dump")?;
    if dump_major < server_major {
        return Err(fail(
            "pg_dump_too_old",
            format!(
                "pg_dump {dump_major} cannot dump the PostgreSQL {server_major} server at {}; \
                 install postgresql-client-{server_major} (or newer) and put its pg_dump first on PATH",
                pg.masked
            ),
        ));
    }
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let snapshot: String = tx.query_one("SELECT pg_export_snapshot()", &[])?.get(0);
    let counts = counts(&mut tx)?;
    let migration_version = migration_version(&mut tx)?;

    let mut file = TempFile::new(stage, 0o600)?;
    let mut cmd = pg.command("pg_dump");
    cmd.args(["--format=custom", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--dbname={}", pg.no_password));
    let mut w = Hashing::new(BufWriter::with_capacity(1 << 20, file.file()));
    let (copied, status, stderr_text) = stdout_into(cmd, &mut w)?;
    let (mut buf, size, sha256) = w.finish();
    let flushed = buf.flush();
    drop(buf);
    // A failed write (disk full) is the cause; pg_dump then only reports the broken pipe.
    copied.with_context(|| format!("cannot write {}", file.path.display()))?;
    flushed.with_context(|| format!("cannot write {}", file.path.display()))?;
    if !status.success() {
        return Err(fail(
            "pg_dump_failed",
            format!(
                "pg_dump of {} failed ({status}): {}",
                pg.masked,
                mask_url(stderr_text.trim())
            ),
        ));
    }
    tx.commit()?;
    Ok(Dump {
        file,
        size,
        sha256,
        server_version,
        migration_version,
        counts,
    })
}

/// Run `cmd`, copying its stdout into `w`; returns the copy's result, the exit status and stderr.
/// When the copy fails the child is killed: left running it would block on a full pipe while we
/// wait for it, and a cron backup would hang holding the lock.
fn stdout_into(
    mut cmd: Command,
    w: &mut impl Write,
) -> Result<(std::io::Result<u64>, std::process::ExitStatus, String)> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail("pg_tool_missing", format!("cannot run {program}: {e}")))?;
    let mut stderr = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut stdout = child.stdout.take().expect("piped");
    let copied = std::io::copy(&mut stdout, w);
    drop(stdout);
    if copied.is_err() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    Ok((copied, status, err_reader.join().unwrap_or_default()))
}

/// `pg_restore --list` must accept the dump.
pub fn list_check(dump: &Path) -> Result<()> {
    let out = Command::new("pg_restore")
        .arg("--list")
        .arg(dump)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail("pg_tool_missing", format!("cannot run pg_restore: {e}")))?;
    if !out.status.success() {
        return Err(fail(
            "archive_corrupt",
            format!(
                "pg_restore --list rejects the dump: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(())
}

pub fn current_counts(pg: &Pg) -> Result<BTreeMap<String, u64>> {
    counts(&mut pg.connect()?)
}

/// Restore in one transaction: on any error PostgreSQL rolls everything back.
pub fn restore(pg: &Pg, dump: &Path) -> Result<()> {
    let out = pg
        .command("pg_restore")
        .args([
            "--single-transaction",
            "--clean",
            "--if-exists",
            "--exit-on-error",
            "--no-password",
        ])
        .arg(format!("--dbname={}", pg.no_password))
        .arg(dump)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail("pg_tool_missing", format!("cannot run pg_restore: {e}")))?;
    if !out.status.success() {
        return Err(fail(
            "pg_restore_failed",
            format!(
                "pg_restore into {} failed and was rolled back ({}): {}",
                pg.masked,
                out.status,
                mask_url(String::from_utf8_lossy(&out.stderr).trim())
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_leaves_the_url() {
        let pg = Pg::parse("postgres://app:s%40cret@db:5432/app?sslmode=disable").unwrap();
        assert_eq!(pg.password.as_deref(), Some("s@cret"));
        assert_eq!(pg.no_password, "postgres://app@db:5432/app?sslmode=disable");
        assert!(!pg.masked.contains("cret"));
        let pg = Pg::parse("postgres://db/app?user=a&password=hunter2").unwrap();
        assert_eq!(pg.password.as_deref(), Some("hunter2"));
        assert!(!pg.no_password.contains("hunter2"), "{}", pg.no_password);
    }

    /// A writer that fails after a few bytes, like a full disk.
    struct Full(usize);

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("No space left on device"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn failed_write_ends_the_child_instead_of_hanging() {
        // `yes` writes forever; before the fix we waited for it with its pipe full.
        let (copied, status, _) = stdout_into(Command::new("yes"), &mut Full(4096)).unwrap();
        assert!(copied.is_err());
        assert!(!status.success());
    }

    #[test]
    fn tool_versions() {
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("pg_dump (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("pg_dump (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("garbage"), None);
    }
}

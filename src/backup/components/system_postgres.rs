//! PostgreSQL system DB: `pg_dump -Fc` under an exported snapshot (so the counts in the manifest
//! match the dump exactly), verified by reading every data block (`pg_data`); restore streams `pg_restore --clean
//! --if-exists -f -` into one psql transaction (see `restore`). The password travels in
//! PGPASSWORD, never in argv.

use crate::config::mask_url;
use crate::error::fail;
use crate::fsutil::TempFile;
use crate::pgconn::PgConn;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::super::archive::Hashing;
use super::super::testhook;

/// A connection target split so the password never appears on a command line: the in-process
/// client connects through crate::pgconn; the libpq tools get the URL without its password (and
/// with vannactl as their fallback application name) plus the password in PGPASSWORD.
pub struct Pg {
    /// The URL as configured, only as the key of the system DB's unreachable cache.
    full: String,
    conn: PgConn,
    /// URL without any password, for pg_dump/pg_restore/psql `--dbname`.
    pub no_password: String,
    /// Variables the tools need beyond ours (sslrootcert=system spelled for libpq before 16).
    child_env: Vec<(&'static str, String)>,
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
        let conn = PgConn::parse(raw, "DATABASE_URL")?;
        let mut no_password = PgConn::child_url(url.as_str());
        let mut child_env = Vec::new();
        if conn.uses_system_roots() && tool_major("psql").is_ok_and(|m| m < 16) {
            if let Some(bundle) = crate::pgconn::system_bundle() {
                let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
                (no_password, child_env) =
                    crate::pgconn::system_roots_for_old_libpq(&no_password, &bundle, &env);
            }
        }
        Ok(Pg {
            full: raw.to_string(),
            conn,
            no_password,
            child_env,
            password,
            masked,
        })
    }

    /// Within the deadlines of [`crate::net`], like every other connection.
    pub fn connect(&self) -> Result<postgres::Client> {
        crate::net::pg_connect(&self.conn, &crate::net::current()).map_err(|e| {
            let e = match e.explained() {
                Ok(tls) => return tls,
                Err(e) => e,
            };
            let message = format!(
                "cannot connect to the system DB {}: {}; check DATABASE_URL and that PostgreSQL is running",
                self.masked,
                e.reason()
            );
            if e.db_error().is_none() {
                crate::system_db::note_unreachable(&self.full, message.clone());
            }
            fail("system_db_unreachable", message)
        })
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        // Without a password in the URL the tools read PGPASSWORD or the password file
        // themselves, as the in-process client did.
        if let Some(p) = &self.password {
            c.env("PGPASSWORD", p);
        }
        c.envs(self.child_env.iter().map(|(k, v)| (k, v)));
        // libpq bounds the whole connection set-up by this (a `connect_timeout` in the URL or the
        // operator's own variable wins); the transfer after it is not bounded in time.
        if std::env::var_os("PGCONNECT_TIMEOUT").is_none() {
            c.env(
                "PGCONNECT_TIMEOUT",
                crate::net::current().login.as_secs().to_string(),
            );
        }
        // An orphaned pg_restore would commit after we reported nothing.
        crate::host::die_with_parent(&mut c);
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

/// Rows per table (schema-qualified unless `public`), in whatever transaction `c` is. Tables an
/// extension owns are left out: pg_dump dumps none or (configuration tables) part of their rows,
/// so their counts could not be compared with the dump's.
pub fn counts(c: &mut impl postgres::GenericClient) -> Result<BTreeMap<String, u64>> {
    let rows = c.query(
        "SELECT n.nspname::text, c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                           AND d.objid = c.oid AND d.deptype = 'e')
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

/// Dump the database into a temporary file named after `stage`; `compress` false: `-Z0`.
/// `cancel` set while it runs: pg_dump is stopped and the dump fails (its file removed).
pub fn dump(
    pg: &Pg,
    stage: &Path,
    compress: bool,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Dump> {
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
    cmd.args(["--format=custom", "--no-password"]);
    if !compress {
        cmd.arg("--compress=0");
    }
    cmd.arg(format!("--snapshot={snapshot}"))
        .arg(format!("--dbname={}", pg.no_password));
    let mut w = Hashing::new(BufWriter::with_capacity(1 << 20, file.file()));
    let (copied, status, stderr_text) = stdout_into(
        cmd,
        &mut Unless {
            inner: &mut w,
            cancel,
        },
    )?;
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

/// A writer that fails once `cancel` is set, which stops the copy (and kills the child).
struct Unless<'a, W> {
    inner: &'a mut W,
    cancel: &'a std::sync::atomic::AtomicBool,
}

impl<W: Write> Write for Unless<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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

/// The dump's table of contents, as `pg_restore --list` prints it.
fn list(dump: &Path) -> Result<String> {
    let out = Command::new("pg_restore")
        .arg("--list")
        .arg(dump)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail("pg_tool_missing", format!("cannot run pg_restore: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A dump from a newer pg_dump is not a corrupt archive: the local client is too old.
        if stderr.contains("unsupported version") {
            return Err(fail(
                "pg_tool_too_old",
                format!(
                    "pg_restore cannot read this dump, which a newer pg_dump made ({}); install a postgresql-client at least as new as the archive's server and retry",
                    stderr.trim()
                ),
            ));
        }
        return Err(fail(
            "archive_corrupt",
            format!("pg_restore --list rejects the dump: {}", stderr.trim()),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn current_counts(pg: &Pg) -> Result<BTreeMap<String, u64>> {
    counts(&mut pg.connect()?)
}

/// Drops, inside the restore transaction, every user object the dump may not replace: tables,
/// views, sequences, routines, types and whole schemas created after the backup would otherwise be
/// left behind, and one depending on a dumped object (a foreign key, a view) would make `--clean`
/// fail. Objects belonging to extensions, and schemas holding an extension, are left alone
/// (recreating an extension may need a superuser). Every statement is built before the first drop,
/// because the catalog changes under a loop that drops as it goes. Order matters: views before
/// tables, tables before sequences, and a sequence a column owns (identity or serial) is never
/// dropped on its own: PostgreSQL refuses that for identity columns, and its table takes it along.
const PRELUDE: &str = r#"BEGIN;
SET LOCAL client_min_messages = warning;
DO $vannactl_prelude$
DECLARE
  stmts text[];
  stmt text;
BEGIN
  WITH user_ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
  ), ext_member AS (
    SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
  ), todo AS (
    SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 1 WHEN c.relkind = 'S' THEN 3 ELSE 2 END AS ord,
           format('DROP %s IF EXISTS %I.%I CASCADE',
             CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
               WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
             n.nspname, c.relname) AS sql
    FROM pg_class c JOIN user_ns n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND (c.tableoid, c.oid) NOT IN (SELECT * FROM ext_member)
      AND NOT (c.relkind = 'S' AND EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 4, format('DROP ROUTINE IF EXISTS %I.%I(%s) CASCADE', n.nspname, p.proname,
             pg_get_function_identity_arguments(p.oid))
    FROM pg_proc p JOIN user_ns n ON n.oid = p.pronamespace
    WHERE (p.tableoid, p.oid) NOT IN (SELECT * FROM ext_member)
    UNION ALL
    SELECT 5, format('DROP %s IF EXISTS %I.%I CASCADE',
             CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname)
    FROM pg_type t JOIN user_ns n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('e', 'r', 'd')
           OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND (t.tableoid, t.oid) NOT IN (SELECT * FROM ext_member)
    UNION ALL
    SELECT 6, format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname)
    FROM user_ns n
    WHERE n.nspname <> 'public'
      AND ('pg_namespace'::regclass, n.oid) NOT IN (SELECT * FROM ext_member)
      AND NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extnamespace = n.oid)
  )
  SELECT coalesce(array_agg(sql ORDER BY ord, sql), '{}') INTO stmts FROM todo;
  FOREACH stmt IN ARRAY stmts LOOP
    EXECUTE stmt;
  END LOOP;
END
$vannactl_prelude$;
"#;

/// `pg_restore --list` lines naming large objects (`BLOB`/`BLOBS`, `BLOB METADATA` in 17+, or
/// `LARGE OBJECT`): pg_restore wraps those in a BEGIN/COMMIT of its own, which would commit half
/// a restore.
fn large_object_entries(list: &str) -> Vec<&str> {
    list.lines()
        .filter(|l| !l.starts_with(';'))
        .filter(|l| {
            let desc = l.split_whitespace().nth(3).unwrap_or("");
            matches!(desc, "BLOB" | "BLOBS" | "LARGE")
        })
        .collect()
}

fn refuse_large_objects(dump: &Path) -> Result<()> {
    let list = list(dump)?;
    let blobs = large_object_entries(&list);
    if !blobs.is_empty() {
        return Err(fail(
            "pg_restore_unsupported",
            format!(
                "the dump holds {} large object entries ({}); vannactl cannot restore large objects \
                 atomically, so nothing was changed: restore this dump by hand with pg_restore",
                blobs.len(),
                blobs[0].trim()
            ),
        ));
    }
    Ok(())
}

/// Collect a child's stderr in a thread, so neither pipe can fill up and block it.
fn stderr_reader(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let mut stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    })
}

/// Restore exactly the backup point, atomically: psql runs one transaction that first drops every
/// user object, then replays pg_restore's script (streamed through us), and gets `COMMIT` only
/// after pg_restore exited 0 and all its output was forwarded. On any failure psql is killed, so
/// the server rolls the transaction back; if vannactl itself dies, psql dies with it
/// (PR_SET_PDEATHSIG) or reads end of input without COMMIT, which also rolls back.
/// The children are spawned from this thread: PR_SET_PDEATHSIG follows the spawning thread.
/// `before_commit`: the last word before COMMIT (a restore's safety backup must be stored);
/// an error from it rolls the transaction back.
pub fn restore(pg: &Pg, dump: &Path, before_commit: &dyn Fn() -> Result<()>) -> Result<()> {
    refuse_large_objects(dump)?;
    let failed = |what: String| {
        fail(
            "pg_restore_failed",
            format!(
                "restore into {} failed and was rolled back (the database is unchanged): {}; \
                 fix the cause and run the restore again",
                pg.masked,
                mask_url(what.trim().trim_end_matches(':'))
            ),
        )
    };

    let mut psql = pg
        .command("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "--no-password",
            "-f",
            "-",
        ])
        .arg("--dbname")
        .arg(&pg.no_password)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(
                "pg_tool_missing",
                format!(
                    "cannot run psql: {e}; install the PostgreSQL client tools (postgresql-client)"
                ),
            )
        })?;
    let psql_err = stderr_reader(&mut psql);
    let mut feed = psql.stdin.take().expect("piped");

    let mut pg_restore = match pg
        .command("pg_restore")
        .args(["--clean", "--if-exists", "--no-password", "-f", "-"])
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            let _ = psql.kill();
            let _ = psql.wait();
            return Err(fail(
                "pg_tool_missing",
                format!("cannot run pg_restore: {e}"),
            ));
        }
    };
    let restore_err = stderr_reader(&mut pg_restore);
    let mut script = pg_restore.stdout.take().expect("piped");

    let fed = feed
        .write_all(PRELUDE.as_bytes())
        .and_then(|_| std::io::copy(&mut script, &mut feed).map(|_| ()));
    drop(script);
    if fed.is_err() {
        let _ = pg_restore.kill();
    }
    let restore_status = pg_restore.wait()?;
    let restore_stderr = restore_err.join().unwrap_or_default();

    // Nothing is committed unless the whole script went through.
    let ready = match (&fed, restore_status.success()) {
        (Ok(()), true) => before_commit().and_then(|_| testhook::at("restore:system-commit")),
        (Ok(()), false) => Err(failed(format!(
            "pg_restore exited with {restore_status}: {}",
            restore_stderr.trim()
        ))),
        // psql stopped reading: it hit an error (ON_ERROR_STOP); its stderr says which.
        (Err(e), _) => Err(anyhow::anyhow!("forwarding the script to psql failed: {e}")),
    };
    if let Err(e) = ready {
        // Killed, psql sends nothing more; the server rolls the open transaction back.
        let _ = psql.kill();
        let status = psql.wait()?;
        let psql_stderr = psql_err.join().unwrap_or_default();
        if fed.is_err() {
            return Err(failed(format!(
                "{e}; psql ({status}): {}",
                psql_stderr.trim()
            )));
        }
        return Err(e);
    }

    let committed = feed.write_all(b"COMMIT;\n").and_then(|_| feed.flush());
    drop(feed);
    let status = psql.wait()?;
    let psql_stderr = psql_err.join().unwrap_or_default();
    if committed.is_ok() && status.success() {
        return Ok(());
    }
    // Exit 3 is an SQL error (ON_ERROR_STOP): the server rolled back, COMMIT included. Anything
    // else (connection lost) may have hit COMMIT in flight.
    if status.code() == Some(3) || committed.is_err() {
        return Err(failed(format!("psql ({status}): {}", psql_stderr.trim())));
    }
    Err(fail(
        "pg_restore_failed",
        format!(
            "restore into {}: psql failed while committing ({status}): {}; the restore may or may \
             not have been committed: check the data, then restore again",
            pg.masked,
            mask_url(psql_stderr.trim())
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_leaves_the_url() {
        let pg = Pg::parse("postgres://app:s%40cret@db:5432/app?sslmode=disable").unwrap();
        assert_eq!(pg.password.as_deref(), Some("s@cret"));
        assert_eq!(
            pg.no_password,
            "postgres://app@db:5432/app?sslmode=disable&fallback_application_name=vannactl"
        );
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
    fn large_objects_in_the_listing() {
        let list = ";\n; Archive created at 2026-11-27\n;     Format: CUSTOM\n\
            214; 1259 39290 TABLE public t postgres\n\
            3341; 2613 39295 BLOB - 39295 postgres\n\
            3340; 0 39290 TABLE DATA public t postgres\n\
            3342; 0 0 BLOBS - BLOBS \n\
            3343; 0 0 LARGE OBJECT - 16400 postgres\n";
        let found = large_object_entries(list);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("BLOB - 39295"));
        assert!(large_object_entries("214; 1259 39290 TABLE public blobs postgres\n").is_empty());
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

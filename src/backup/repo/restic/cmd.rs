//! Running `restic`: the environment it gets, the version it must have, and its failures told
//! apart (locked, wrong password, no repository, unreachable) in one line with the repository
//! masked.

use crate::config::{mask_url, Settings};
use crate::error::{fail, locked, one_line};
use anyhow::Result;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// restic 0.14 brought compression (repository v2) and `--json` summaries of `backup`.
const MIN_VERSION: (u32, u32) = (0, 14);
const INSTALL_HINT: &str = "install restic 0.14 or newer (apt-get install restic)";

#[derive(Clone)]
pub struct Cmd {
    repo: String,
    /// `restic:REPO` with any password in the URL masked: the only form in messages.
    pub shown: String,
    env: Vec<(&'static str, String)>,
}

impl Cmd {
    pub fn new(s: &Settings, repo: &str) -> Result<Cmd> {
        let shown = format!("restic:{}", mask_url(repo));
        check_version(&shown)?;
        // The AWS variables vannactl read (from the environment or .env) reach restic's s3
        // backend too.
        let mut env = Vec::new();
        let s3 = &s.s3;
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", &s3.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &s3.secret_access_key),
            ("AWS_SESSION_TOKEN", &s3.session_token),
        ] {
            if let Some(v) = v {
                env.push((k, v.clone()));
            }
        }
        env.push(("AWS_DEFAULT_REGION", s3.region.clone()));
        // restic's password variables, from .env as from the environment. Paths are made
        // absolute: a backup runs restic inside the snapshot folder.
        let r = &s.restic;
        let from_env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        for (k, p) in [
            (
                "RESTIC_PASSWORD_FILE",
                r.password_file
                    .clone()
                    .or_else(|| from_env("RESTIC_PASSWORD_FILE")),
            ),
            ("RESTIC_CACHE_DIR", from_env("RESTIC_CACHE_DIR")),
        ] {
            if let Some(p) = p {
                env.push((k, std::path::absolute(&p)?.to_string_lossy().into_owned()));
            }
        }
        if let Some(c) = &r.password_command {
            env.push(("RESTIC_PASSWORD_COMMAND", c.clone()));
        }
        if let Some(p) = &r.password {
            env.push(("RESTIC_PASSWORD", p.clone()));
        }
        Ok(Cmd {
            repo: absolute_repo(repo)?,
            shown,
            env,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("restic");
        c.args(args)
            .env("RESTIC_REPOSITORY", &self.repo)
            .env_remove("RESTIC_REPOSITORY_FILE")
            // No progress bars or questions: nothing reads a terminal here.
            .env("RESTIC_PROGRESS_FPS", "0.016")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Run to the end; stdout on success.
    pub fn run(&self, what: &str, args: &[&str]) -> Result<Vec<u8>> {
        tracing::debug!("restic {} on {}", args.join(" "), self.shown);
        let out = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| not_runnable(&self.shown, e))?;
        if !out.status.success() {
            return Err(self.failure(what, out.status, &out.stderr));
        }
        Ok(out.stdout)
    }

    /// Run to the end in `cwd`, handing each stdout line (restic's `--json` messages) to
    /// `on_line` as it comes. restic dies with vannactl.
    pub fn run_lines(
        &self,
        cwd: &Path,
        what: &str,
        args: &[&str],
        on_line: &mut dyn FnMut(&str),
    ) -> Result<()> {
        use std::io::BufRead;
        tracing::debug!(
            "restic {} on {} in {}",
            args.join(" "),
            self.shown,
            cwd.display()
        );
        let mut c = self.command(args);
        c.current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::host::die_with_parent(&mut c);
        let mut child = c.spawn().map_err(|e| not_runnable(&self.shown, e))?;
        let err = drain(child.stderr.take().expect("piped"));
        let out = io::BufReader::new(child.stdout.take().expect("piped"));
        for line in out.lines() {
            match line {
                Ok(l) => on_line(&l),
                Err(_) => break,
            }
        }
        let status = child.wait()?;
        let stderr = err.join().unwrap_or_default();
        if !status.success() {
            return Err(self.failure(what, status, &stderr));
        }
        Ok(())
    }

    /// `restic dump`: its stdout as a stream that fails (with restic's reason) unless restic
    /// exits successfully at the end.
    pub fn spawn_reader(&self, args: &[&str]) -> Result<Dump> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| not_runnable(&self.shown, e))?;
        let stdout = child.stdout.take().expect("piped");
        let err = drain(child.stderr.take().expect("piped"));
        Ok(Dump {
            child: Some(child),
            stdout,
            err: Some(err),
            shown: self.shown.clone(),
            repo: self.repo.clone(),
        })
    }

    /// One line for a failed restic run: what, where (masked), what to do.
    pub fn failure(&self, what: &str, status: ExitStatus, stderr: &[u8]) -> anyhow::Error {
        classify(&self.shown, &self.repo, what, status, stderr)
    }
}

/// A local repository path made absolute (restic runs in the snapshot folder for a backup);
/// any other backend (`s3:`, `sftp:`, `rest:`, …) as it is.
fn absolute_repo(repo: &str) -> Result<String> {
    const REMOTE: [&str; 8] = [
        "sftp:", "rest:", "s3:", "azure:", "gs:", "b2:", "swift:", "rclone:",
    ];
    if REMOTE.iter().any(|b| repo.starts_with(b)) {
        return Ok(repo.to_string());
    }
    let (prefix, path) = match repo.strip_prefix("local:") {
        Some(p) => ("local:", p),
        None => ("", repo),
    };
    if Path::new(path).is_absolute() {
        return Ok(repo.to_string());
    }
    Ok(format!(
        "{prefix}{}",
        std::path::absolute(path)?.to_string_lossy()
    ))
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

fn not_runnable(shown: &str, e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::NotFound {
        fail(
            "restic_missing",
            format!("restic is not on PATH, and BACKUP_DIR={shown} needs it; {INSTALL_HINT}"),
        )
    } else {
        fail(
            "restic_missing",
            format!("cannot run restic for {shown}: {e}; {INSTALL_HINT}"),
        )
    }
}

fn check_version(shown: &str) -> Result<()> {
    let out = Command::new("restic")
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| not_runnable(shown, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match parse_version(&text) {
        Some(v) if v >= MIN_VERSION => Ok(()),
        Some((a, b)) => Err(fail(
            "restic_too_old",
            format!("restic {a}.{b} is too old for BACKUP_DIR={shown}; {INSTALL_HINT}"),
        )),
        None => Err(fail(
            "restic_missing",
            format!(
                "`restic version` said {:?}, not a version; {INSTALL_HINT}",
                one_line(&text)
            ),
        )),
    }
}

/// `restic 0.14.0 compiled with go1.19.8 on linux/amd64` → (0, 14).
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.strip_prefix("restic ")?.split_whitespace().next()?;
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// What restic said, without the unmasked repository and restic's multi-line hints.
fn said(repo: &str, shown_repo: &str, stderr: &str) -> String {
    let fatal: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Fatal:") || l.contains("error") || l.contains("Error"))
        .collect();
    let text = if fatal.is_empty() {
        stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    } else {
        fatal[0]
    };
    let text = text.trim().trim_start_matches("Fatal:").trim();
    one_line(&text.replace(repo, shown_repo))
}

fn classify(
    shown: &str,
    repo: &str,
    what: &str,
    status: ExitStatus,
    stderr: &[u8],
) -> anyhow::Error {
    let text = String::from_utf8_lossy(stderr);
    let masked_repo = shown.trim_start_matches("restic:");
    if let Some(i) = text.find("repository is already locked") {
        // "... locked exclusively by PID 123 on host by root (UID 0, GID 0)"
        let line = text[i..].lines().next().unwrap_or("");
        let holder = line
            .find("by PID")
            .map(|j| line[j..].trim())
            .unwrap_or("another restic process");
        return locked(format!(
            "restic repository {shown} is locked {holder}; wait for that run to end, or if it died \
             remove its lock with `restic unlock`"
        ));
    }
    if text.contains("empty password") || text.contains("Resolving password failed") {
        return fail(
            "restic_password",
            format!(
                "restic has no password for {shown}; set RESTIC_PASSWORD_FILE, \
                 RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD (environment or .env)"
            ),
        );
    }
    if text.contains("wrong password") {
        return fail(
            "restic_password",
            format!(
                "restic cannot open {shown}: wrong password or no key for it; check \
                 RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD"
            ),
        );
    }
    let cause = said(repo, masked_repo, &text);
    let unreachable = [
        "connection refused",
        "no such host",
        "i/o timeout",
        "dial tcp",
        "connection reset",
        "network is unreachable",
    ]
    .iter()
    .any(|p| text.contains(p));
    if unreachable {
        return fail(
            "restic_unreachable",
            format!("restic cannot reach {shown} ({cause}); check that the server is up and the address in BACKUP_DIR"),
        );
    }
    if text.contains("Is there a repository at the following location?") {
        return fail(
            "restic_no_repository",
            format!(
                "no restic repository at {shown} ({cause}); create it with `restic init` \
                 (RESTIC_REPOSITORY set to it) or fix BACKUP_DIR"
            ),
        );
    }
    fail(
        "restic_failed",
        format!("restic {what} on {shown} failed ({status}): {cause}"),
    )
}

/// `restic dump`'s output; the end of the stream is only reported once restic exited cleanly, so
/// a dump cut short never passes as a complete archive.
pub struct Dump {
    child: Option<Child>,
    stdout: std::process::ChildStdout,
    err: Option<JoinHandle<Vec<u8>>>,
    shown: String,
    repo: String,
}

impl Read for Dump {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        let Some(mut child) = self.child.take() else {
            return Ok(0);
        };
        let status = child.wait()?;
        let stderr = self
            .err
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(0);
        }
        let e = classify(&self.shown, &self.repo, "dump", status, &stderr);
        Err(match e.downcast::<crate::error::Classified>() {
            Ok(c) => io::Error::other(c),
            Err(e) => io::Error::other(e.to_string()),
        })
    }
}

impl Drop for Dump {
    fn drop(&mut self) {
        // Read only in part (the manifest at the head): restic has nothing more to do.
        if let Some(c) = self.child.take() {
            interrupt(c);
        }
    }
}

/// Stop a restic run the way Ctrl-C does, so it removes its lock (a killed restic leaves one,
/// which blocks every later exclusive operation until `restic unlock`); killed only if it has not
/// ended after 5 s.
pub fn interrupt(mut child: Child) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn st() -> ExitStatus {
        ExitStatus::from_raw(1 << 8)
    }

    #[test]
    fn local_repositories_are_made_absolute() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            absolute_repo("repo").unwrap(),
            cwd.join("repo").display().to_string()
        );
        assert_eq!(
            absolute_repo("local:r").unwrap(),
            format!("local:{}", cwd.join("r").display())
        );
        for same in [
            "/srv/restic",
            "local:/srv/r",
            "s3:http://h/b",
            "sftp:u@h:r",
            "rest:http://h/",
        ] {
            assert_eq!(absolute_repo(same).unwrap(), same);
        }
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("restic 0.14.0 compiled with go1.19.8 on linux/amd64"),
            Some((0, 14))
        );
        assert_eq!(parse_version("restic 0.9.4"), Some((0, 9)));
        assert_eq!(parse_version("bash: restic"), None);
    }

    #[test]
    fn failures_are_told_apart_and_masked() {
        let repo = "rest:http://u:s3cret@h:8000/r";
        let shown = format!("restic:{}", mask_url(repo));
        let e = classify(
            &shown,
            repo,
            "backup",
            st(),
            b"unable to create lock in backend: repository is already locked exclusively by PID 4242 on box by root (UID 0, GID 0)\nlock was created at 2026-12-06 21:00:00 (1m0s ago)\n",
        );
        assert_eq!(
            crate::error::classify(&e).1,
            crate::error::ExitStatus::Locked
        );
        let m = crate::error::message(&e);
        assert!(m.contains("by PID 4242 on box by root"), "{m}");
        assert!(!m.contains("s3cret") && m.contains("u:****@h"), "{m}");

        let e = classify(
            &shown,
            repo,
            "snapshots",
            st(),
            b"Fatal: wrong password or no key found\n",
        );
        assert_eq!(crate::error::classify(&e).0, "restic_password");
        let e = classify(
            &shown,
            repo,
            "snapshots",
            st(),
            b"reading repository password from stdin\nFatal: an empty password is not a password\n",
        );
        assert!(crate::error::message(&e).contains("has no password"));

        let e = classify(
            &shown,
            repo,
            "snapshots",
            st(),
            format!("Fatal: unable to open config file: Stat: stat {repo}/config: no such file or directory\nIs there a repository at the following location?\n{repo}\n").as_bytes(),
        );
        let m = crate::error::message(&e);
        assert_eq!(crate::error::classify(&e).0, "restic_no_repository");
        assert!(!m.contains("s3cret") && !m.contains('\n'), "{m}");

        let e = classify(
            &shown,
            repo,
            "snapshots",
            st(),
            b"Fatal: unable to open config file: Get \"http://h:8000/r/config\": dial tcp 127.0.0.1:8000: connect: connection refused\nIs there a repository at the following location?\n",
        );
        assert_eq!(crate::error::classify(&e).0, "restic_unreachable");
    }
}

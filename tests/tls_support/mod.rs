//! A test CA and a server certificate signed by it (for `localhost` and 127.0.0.1), plus a second
//! CA that signed nothing, made with `openssl` in a temporary folder: for the servers the TLS tests
//! start (Redis, MariaDB, a TLS proxy in front of Chroma and S3).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Certs {
    pub dir: tempfile::TempDir,
    /// The CA that signed the server certificate.
    pub ca: PathBuf,
    /// A CA that signed nothing the servers present.
    pub other_ca: PathBuf,
    pub server_crt: PathBuf,
    pub server_key: PathBuf,
    /// Signed by the CA, but only for `elsewhere.example`.
    pub elsewhere_crt: PathBuf,
    pub elsewhere_key: PathBuf,
    /// Signed by the CA for `localhost` and 127.0.0.1, but valid only until the moment before it
    /// was made.
    pub expired_crt: PathBuf,
    pub expired_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-out",
            name,
        ],
    );
}

fn ca(dir: &Path, name: &str) {
    key(dir, &format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN=vannactl test {name}"),
            "-days",
            "30",
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

/// `NAME.crt` and `NAME.key` in `d`, signed by `ca.crt`, valid for `san` (openssl's syntax)
/// for `days` days (-1: already expired).
fn server_cert(d: &Path, name: &str, san: &str, days: i32) {
    let key_file = format!("{name}.key");
    let csr = format!("{name}.csr");
    let ext = format!("{name}.ext");
    key(d, &key_file);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            &key_file,
            "-subj",
            "/CN=localhost",
            "-out",
            &csr,
        ],
    );
    std::fs::write(
        d.join(&ext),
        format!(
            "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            &days.to_string(),
            "-extfile",
            &ext,
            "-out",
            &format!("{name}.crt"),
        ],
    );
    // Servers running as another user (mariadbd --user) read the key too.
    use std::os::unix::fs::PermissionsExt;
    for f in [key_file, format!("{name}.crt")] {
        std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}

pub fn make() -> Certs {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ca(d, "ca");
    ca(d, "otherca");
    server_cert(d, "server", "DNS:localhost,IP:127.0.0.1", 30);
    server_cert(d, "elsewhere", "DNS:elsewhere.example", 30);
    server_cert(d, "expired", "DNS:localhost,IP:127.0.0.1", -1);
    Certs {
        ca: d.join("ca.crt"),
        other_ca: d.join("otherca.crt"),
        server_crt: d.join("server.crt"),
        server_key: d.join("server.key"),
        elsewhere_crt: d.join("elsewhere.crt"),
        elsewhere_key: d.join("elsewhere.key"),
        expired_crt: d.join("expired.crt"),
        expired_key: d.join("expired.key"),
        dir,
    }
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, what: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < until,
            "{what} did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A child process stopped (SIGTERM, then SIGKILL) and reaped on drop.
pub struct Server {
    pub child: std::process::Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signalling our own child by its PID.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/python/tls_proxy.py` in front of 127.0.0.1:`target`, presenting `crt`/`key`; stopped by
/// PID on drop.
pub fn tls_proxy(crt: &Path, key: &Path, target: u16) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(crate::common::paths::python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/tls_proxy.py"
        ))
        .arg(crt)
        .arg(key)
        .arg(target.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("python (VANNACTL_TEST_PYTHON)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("tls_proxy.py did not start: {line:?}"));
    Server { child, port }
}

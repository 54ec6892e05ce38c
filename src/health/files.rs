//! Checks on files and folders: the golden copy, log and backup folders, free disk space.

use super::{timed, Check, Options, Status};
use crate::config::Settings;
use crate::golden_copy::manifest::{self, FileStamp};
use std::path::Path;

pub fn golden_copy(settings: &Settings, opts: &Options) -> Vec<Check> {
    let copy = &settings.target_db_path;
    let mut checks = Vec::new();
    if settings.enable_target_db {
        checks.push(timed("target", "golden copy", || {
            (
                Status::Skipped,
                "ENABLE_TARGET_DB is true: the external target DB is used".into(),
            )
        }));
        checks.push(super::target::external(settings));
        return checks;
    }
    checks.push(timed("target", "golden copy", || {
        let stamp = match FileStamp::of(copy) {
            Ok(s) => s,
            Err(e) => {
                return (
                    Status::Critical,
                    format!("{}: {e}; run `vannactl golden-copy`", copy.display()),
                )
            }
        };
        let m = match manifest::read(&manifest::path_for(copy)) {
            Ok(Some(m)) => m,
            Ok(None) => {
                return (
                    Status::Critical,
                    format!("{} has no manifest; run `vannactl golden-copy`", copy.display()),
                )
            }
            Err(e) => return (Status::Critical, format!("{e:#}")),
        };
        if m.copy != stamp {
            return (
                Status::Critical,
                format!(
                    "{} changed since it was copied (size/mtime differ from its manifest); run `vannactl golden-copy --verify`",
                    copy.display()
                ),
            );
        }
        let source_changed = FileStamp::of(&settings.target_db_source).map(|s| s != m.source);
        if !crate::golden_copy::is_read_only(copy) {
            return (
                Status::Warn,
                format!("{} is writable; run `vannactl golden-copy` to make it read-only", copy.display()),
            );
        }
        match source_changed {
            Ok(true) => (
                Status::Warn,
                format!(
                    "source {} changed since the copy was made; run `vannactl golden-copy` to refresh",
                    settings.target_db_source.display()
                ),
            ),
            Ok(false) => (
                Status::Ok,
                format!("{} ({} bytes, sha256 {}…), read-only, matches manifest", copy.display(), stamp.size, &m.sha256[..12]),
            ),
            Err(_) => (
                Status::Warn,
                format!("source {} is missing; the copy still works", settings.target_db_source.display()),
            ),
        }
    }));
    if opts.quick_check {
        checks.push(timed(
            "target",
            "golden copy integrity",
            || match crate::target::open_readonly(copy).and_then(|c| {
                c.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0))
                    .map_err(Into::into)
            }) {
                Ok(s) if s == "ok" => (Status::Ok, "PRAGMA quick_check: ok".into()),
                Ok(s) => (Status::Critical, format!("PRAGMA quick_check: {s}")),
                Err(e) => (Status::Critical, format!("{e:#}")),
            },
        ));
    }
    checks
}

pub fn folders(settings: &Settings) -> Vec<Check> {
    let mut checks = vec![
        timed("files", "log folder writable", || {
            writable(&settings.log_dir, Status::Warn)
        }),
        timed("files", "backup folder writable", || {
            writable(&settings.backup_dir, Status::Warn)
        }),
    ];
    let data_dir = crate::fsutil::parent_dir(&settings.target_db_path);
    checks.push(timed("files", "free disk space", || free_space(&data_dir)));
    checks
}

/// Whether `dir` could be written, without creating it: `health` changes nothing, so a folder
/// that does not exist yet is judged by the nearest one that does (where it would be created).
fn writable(dir: &Path, if_not: Status) -> (Status, String) {
    let existing = dir
        .ancestors()
        .find(|a| a.as_os_str().is_empty() || a.exists())
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return (
            if_not,
            format!(
                "cannot create {}: {} is not a folder",
                dir.display(),
                existing.display()
            ),
        );
    }
    let probe = existing.join(format!(".vannactl-health-{}", std::process::id()));
    let wrote = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe);
    let _ = std::fs::remove_file(&probe);
    match (wrote, existing == dir) {
        (Ok(_), true) => (Status::Ok, format!("{} is writable", dir.display())),
        (Ok(_), false) => (
            Status::Ok,
            format!(
                "{} can be created (in {})",
                dir.display(),
                existing.display()
            ),
        ),
        (Err(e), _) => (
            if_not,
            format!("cannot write in {}: {e}", existing.display()),
        ),
    }
}

/// Free space on the filesystem of the data folder: warn under 1 GiB or 5 %, critical under 100 MiB.
fn free_space(dir: &Path) -> (Status, String) {
    let probe = if dir.exists() { dir } else { Path::new(".") };
    match statvfs(probe) {
        Ok((free, total)) => {
            let pct = if total == 0 {
                0.0
            } else {
                free as f64 * 100.0 / total as f64
            };
            let text = format!(
                "{} free of {} ({pct:.1}%) at {}",
                human_bytes(free),
                human_bytes(total),
                probe.display()
            );
            let status = if free < 100 << 20 {
                Status::Critical
            } else if free < 1 << 30 || pct < 5.0 {
                Status::Warn
            } else {
                Status::Ok
            };
            (status, text)
        }
        Err(e) => (
            Status::Warn,
            format!("cannot read free space of {}: {e}", probe.display()),
        ),
    }
}

fn statvfs(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("path contains NUL"))?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = s.f_frsize as u64;
    Ok((s.f_bavail as u64 * frsize, s.f_blocks as u64 * frsize))
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod writable_tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_judged_by_its_parent_and_not_created() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/b");
        let (status, detail) = writable(&dir, Status::Warn);
        assert_eq!(status, Status::Ok, "{detail}");
        assert!(!t.path().join("a").exists(), "{detail}");
        assert_eq!(
            std::fs::read_dir(t.path()).unwrap().count(),
            0,
            "probe removed"
        );

        let file = t.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let (status, detail) = writable(&file.join("sub"), Status::Warn);
        assert_eq!(status, Status::Warn, "{detail}");
        assert!(detail.contains("is not a folder"), "{detail}");
    }
}

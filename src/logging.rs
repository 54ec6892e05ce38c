//! Logs: stderr (level from -q/-v) and an append-only file under LOG_DIR. Never stdout: that is
//! reserved for the report (one JSON object with --json). Callers log only masked values.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::{Mutex, Once};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::{
    filter::filter_fn, fmt, layer::SubscriberExt, util::SubscriberInitExt, Layer,
};

static INIT: Once = Once::new();

pub const LOG_FILE: &str = "vannactl.log";

/// Log target for events that go to the log file only (e.g. the final error, which `main` already
/// prints once on stderr).
pub const FILE_ONLY: &str = "vannactl::file_only";

/// The HTTP client's own debug events print request URLs, and a presigned S3 URL carries the
/// access key and the signature: below warnings, they are never logged.
fn quiet_http_client(m: &tracing::Metadata<'_>) -> bool {
    !(m.target().starts_with("ureq") && *m.level() > tracing::Level::WARN)
}

/// `log_dir` None: stderr only (the layout check found the log file's place shared with another role).
pub fn init(log_dir: Option<&Path>, verbose: u8, quiet: bool) {
    INIT.call_once(|| {
        let stderr_level = match (quiet, verbose) {
            (true, _) => LevelFilter::ERROR,
            (false, 0) => LevelFilter::WARN,
            (false, 1) => LevelFilter::INFO,
            (false, 2) => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        };
        let stderr_layer = fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .with_ansi(false)
            // One filter per layer: its level check and its hint agree. The audit trail belongs in
            // the file; on stderr it would break "quiet unless wrong".
            .with_filter(
                filter_fn(move |m| {
                    stderr_level >= *m.level()
                        && m.target() != FILE_ONLY
                        && m.target() != crate::audit::LOG_TARGET
                        && quiet_http_client(m)
                })
                .with_max_level_hint(stderr_level),
            );
        let file_level = if verbose >= 2 {
            LevelFilter::DEBUG
        } else {
            LevelFilter::INFO
        };
        // The hints are the subscriber's most verbose level, which `try_init` hands to the `log`
        // crate as its max level: without them every `log::trace!` of the HTTP client (one per
        // read of a download) is formatted into a record only to be filtered out here.
        let file = log_dir.map(open_log);
        let (file_layer, file_err) = match file {
            None => (None, None),
            Some(Ok(f)) => (
                Some(
                    fmt::layer()
                        .with_writer(Mutex::new(f))
                        .with_ansi(false)
                        .with_filter(
                            filter_fn(move |m| file_level >= *m.level() && quiet_http_client(m))
                                .with_max_level_hint(file_level),
                        ),
                ),
                None,
            ),
            Some(Err(e)) => (None, Some(e)),
        };
        let _ = tracing_subscriber::registry()
            .with(stderr_layer)
            .with(file_layer)
            .try_init();
        if let Some(e) = file_err {
            tracing::warn!(
                "cannot write the log file in LOG_DIR={}: {e}; logging to stderr only (set LOG_DIR to a writable folder of its own)",
                log_dir.map(Path::display).unwrap_or(Path::new("").display())
            );
        }
    });
}

/// Append to `LOG_DIR/vannactl.log`, but only to a regular file: a FIFO there would block the run
/// and a device is nobody's log.
fn open_log(log_dir: &Path) -> std::io::Result<LogFile> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(log_dir)?;
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(log_dir.join(LOG_FILE))?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{LOG_FILE} there is not a regular file"
        )));
    }
    // Appending to someone's binary file would corrupt it: a log is text.
    let mut head = Vec::with_capacity(512);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(log_dir.join(LOG_FILE))?, 512),
        &mut head,
    )?;
    let text = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // A multi-byte character cut by the 512-byte window is still text.
        Err(e) => e.error_len().is_none(),
    };
    if head.contains(&0) || !text {
        return Err(std::io::Error::other(format!(
            "{LOG_FILE} there holds binary data, not a log; it was left untouched"
        )));
    }
    Ok(LogFile {
        file: f,
        dir: log_dir.to_path_buf(),
        failed: false,
    })
}

/// The log file; a failed write (a full disk) is reported once on stderr, then logging goes on
/// to stderr only instead of failing the run.
pub struct LogFile {
    file: std::fs::File,
    dir: std::path::PathBuf,
    failed: bool,
}

impl std::io::Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.failed {
            if let Err(e) = self.file.write_all(buf) {
                self.failed = true;
                eprintln!(
                    "warning: cannot write the log file in LOG_DIR={}: {e}; logging to stderr only",
                    self.dir.display()
                );
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

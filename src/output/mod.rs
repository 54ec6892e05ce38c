//! How results reach people and scripts.
//!
//! Human mode prints concise text and comfy-table tables to stdout, progress bars to stderr on a TTY.
//! `--json` prints exactly one JSON object on stdout (`"ok": true|false`), errors included.
//! Logs never go to stdout (see `logging`).

mod progress;
mod report;
mod table;

pub use progress::Progress;
pub use report::{error_json, report_json, Report};
pub use table::{kv_table, table};

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Human,
    Json,
}

/// Output settings shared by every command.
#[derive(Debug, Clone)]
pub struct Output {
    pub mode: Mode,
    pub quiet: bool,
    /// stderr is a terminal: progress bars and prompts are possible.
    pub interactive: bool,
    /// Colour allowed (TTY and `NO_COLOR` unset).
    pub color: bool,
}

impl Output {
    pub fn new(json: bool, quiet: bool) -> Self {
        let interactive = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Output {
            mode: if json { Mode::Json } else { Mode::Human },
            quiet,
            interactive,
            color: interactive && std::io::stdout().is_terminal() && !no_color,
        }
    }

    pub fn is_json(&self) -> bool {
        self.mode == Mode::Json
    }

    /// A line of human output (suppressed by `--quiet` and `--json`).
    pub fn line(&self, text: impl AsRef<str>) {
        if self.mode == Mode::Human && !self.quiet {
            println!("{}", text.as_ref());
        }
    }

    /// A progress bar over `total` units, drawn only for humans on a TTY.
    pub fn progress(&self, total: u64, label: &str, bytes: bool) -> Progress {
        let visible = self.mode == Mode::Human && !self.quiet && self.interactive;
        Progress::new(visible, total, label, bytes)
    }
}

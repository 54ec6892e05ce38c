//! What every command gets: settings, output, confirmation policy, actor, logging.

use super::GlobalArgs;
use crate::config::{Settings, Sources};
use crate::error::confirmation_required;
use crate::output::Output;
use anyhow::Result;
use std::collections::BTreeMap;
use std::io::IsTerminal;

pub struct Context {
    pub settings: Settings,
    pub out: Output,
    pub assume_yes: bool,
    pub actor: String,
    pub verbose: u8,
}

impl Context {
    /// Load settings (flags given as variable overrides), start logging.
    pub fn new(g: &GlobalArgs, out: &Output, mut flags: BTreeMap<String, String>) -> Result<Self> {
        if let Some(p) = &g.app_env {
            flags.insert("APP_ENV".into(), p.clone());
        }
        let sources = Sources::from_process(flags, g.env_file.clone(), g.no_dotenv);
        let settings = Settings::load(&sources)?;
        crate::logging::init(&settings.log_dir, g.verbose, g.quiet);
        Ok(Context {
            settings,
            out: out.clone(),
            assume_yes: g.yes,
            actor: g.actor.clone().unwrap_or_else(default_actor),
            verbose: g.verbose,
        })
    }

    /// Record an administrative action's outcome in the audit trail (never fails).
    pub fn audit<T>(
        &self,
        action: &str,
        resource: &str,
        result: &Result<T>,
        details: impl FnOnce(&T) -> serde_json::Value,
    ) {
        let details = match result {
            Ok(v) => details(v),
            Err(e) => serde_json::json!({ "error": crate::error::message(e) }),
        };
        let outcome = crate::audit::outcome_of(result);
        crate::audit::record(
            &self.settings,
            &self.actor,
            action,
            resource,
            details,
            outcome,
        );
    }

    /// Ask before a destructive action. `--yes` answers yes; without a TTY the answer is no (exit 4).
    pub fn confirm(&self, question: &str) -> Result<()> {
        if self.assume_yes {
            return Ok(());
        }
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(confirmation_required(format!(
                "{question} — refusing without confirmation: no terminal to ask on; pass --yes to proceed"
            )));
        }
        let yes = dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .unwrap_or(false);
        if yes {
            Ok(())
        } else {
            Err(confirmation_required(format!(
                "{question} — declined; nothing was changed"
            )))
        }
    }
}

/// `user@host` of the OS account running vannactl.
pub fn default_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| format!("uid{}", unsafe { libc::getuid() }));
    format!("{user}@{}", hostname())
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

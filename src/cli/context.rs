//! What every command gets: settings, output, confirmation policy, actor, logging.

use super::GlobalArgs;
use crate::config::{Settings, Sources};
use crate::error::confirmation_required;
use crate::host::default_actor;
use crate::layout::Layout;
use crate::output::Output;
use anyhow::Result;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

pub struct Context {
    pub settings: Settings,
    /// Every place the settings name, and any two that collide.
    pub layout: Layout,
    pub out: Output,
    pub assume_yes: bool,
    pub actor: String,
    pub verbose: u8,
}

impl Context {
    /// Load settings (flags given as variable overrides), refuse a layout where two roles collide
    /// (exit 2, before anything is opened for writing), start logging.
    pub fn new(g: &GlobalArgs, out: &Output, flags: BTreeMap<String, String>) -> Result<Self> {
        let ctx = Self::inspect(g, out, flags)?;
        ctx.layout.check()?;
        Ok(ctx)
    }

    /// As [`Context::new`], but a colliding layout is only recorded (for `config` and `health`,
    /// which report it). With a collision the log file is not opened: it may be another role's file.
    pub fn inspect(
        g: &GlobalArgs,
        out: &Output,
        mut flags: BTreeMap<String, String>,
    ) -> Result<Self> {
        if let Some(p) = &g.app_env {
            flags.insert("APP_ENV".into(), p.clone());
        }
        if let Some(p) = &g.metrics_file {
            flags.insert("METRICS_FILE".into(), p.display().to_string());
        }
        let sources = Sources::from_process(flags, g.env_file.clone(), g.no_dotenv);
        let settings = Settings::load(&sources)?;
        let env_file = match (&g.env_file, g.no_dotenv) {
            (_, true) => None,
            (Some(p), false) => Some(("--env-file", p.clone())),
            (None, false) => Some((".env", PathBuf::from(".env"))).filter(|(_, p)| p.exists()),
        };
        let layout = Layout::of(&settings, env_file.as_ref().map(|(n, p)| (*n, p.as_path())));
        let log_dir = layout
            .conflicts
            .is_empty()
            .then_some(settings.log_dir.as_path());
        crate::logging::init(log_dir, g.verbose, g.quiet);
        Ok(Context {
            settings,
            layout,
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

    /// The one place backup and restore outcomes are recorded in the audit trail: the repository
    /// as the resource, the archive's name as the detail.
    pub fn audit_archive(&self, action: &str, result: &Result<String, &anyhow::Error>) {
        let result = result
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{}", crate::error::message(e)));
        self.audit(
            action,
            &self.settings.backup_repo.to_string(),
            &result,
            |archive| serde_json::json!({ "archive": archive }),
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

//! `vannactl admin reset-password`: the explicit, confirmed way to change a user's password.

use super::{Context, GlobalArgs};
use crate::error::usage;
use crate::output::{Output, Report};
use crate::system_db::admin::{self, AdminOutcome};
use crate::system_db::{Db, OpenMode};
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Set a new password (bcrypt) for a user; asks for confirmation
    ResetPassword(ResetArgs),
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// User to reset (default: INIT_ADMIN_USERNAME)
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Read the new password from stdin: hidden and asked twice on a terminal, else its first line
    /// (default: INIT_ADMIN_PASSWORD)
    #[arg(long)]
    pub password_stdin: bool,
}

pub fn run(g: &GlobalArgs, out: &Output, args: AdminArgs) -> Result<Box<dyn Report>> {
    let AdminCommand::ResetPassword(a) = args.command;
    let ctx = Context::new(g, out, Default::default())?;
    let s = &ctx.settings;
    let username = a
        .username
        .clone()
        .or_else(|| s.init_admin_username.clone())
        .ok_or_else(|| usage("no user given: pass --username or set INIT_ADMIN_USERNAME"))?;
    let password = if a.password_stdin && std::io::stdin().is_terminal() {
        // A person at a terminal: hidden input, typed twice.
        dialoguer::Password::new()
            .with_prompt(format!("New password for {username}"))
            .with_confirmation("Repeat it", "the passwords do not match; try again")
            .interact()
            .context("cannot read the password from the terminal")?
    } else if a.password_stdin {
        // Scripts: the first line of stdin, unchanged.
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        s.init_admin_password.clone().ok_or_else(|| {
            usage("no new password: pass --password-stdin or set INIT_ADMIN_PASSWORD")
        })?
    };
    // Refuse a bad password before asking anything; development warns before the question.
    for w in admin::check_policy(s, &username, &password, "the new password")? {
        tracing::warn!("{w}");
    }
    let _lock = crate::lock::acquire(&s.lock_path, "admin reset-password")?;
    let audit = |r: &Result<AdminOutcome>| {
        ctx.audit(
            "admin reset-password",
            &format!("users/{username}"),
            r,
            |_| json!({}),
        )
    };
    // An unreachable system DB is audited too (to the log file, without dialling it again).
    let mut db = match Db::open_settings(s, OpenMode::Existing) {
        Ok(db) => db,
        Err(e) => {
            let r = Err(e);
            audit(&r);
            return r.map(|o| Box::new(AdminReport(o)) as Box<dyn Report>);
        }
    };
    // An unknown user fails below (audited) without asking first.
    if admin::exists(&mut db, &username)? {
        ctx.confirm(&format!(
            "Reset the password of {username:?} in {}?",
            s.database_url.masked()
        ))?;
    }
    let r = admin::reset_password(&mut db, s, &username, &password);
    drop(db);
    audit(&r);
    Ok(Box::new(AdminReport(r?)))
}

struct AdminReport(AdminOutcome);

impl Report for AdminReport {
    fn json(&self) -> Value {
        json!({
            "command": "admin reset-password",
            "action": self.0.action,
            "username": self.0.username,
            "warnings": self.0.warnings,
        })
    }

    fn human(&self, _out: &Output) {
        println!("{}", self.0.detail);
    }
}

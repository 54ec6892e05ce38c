//! `vannactl config`: the effective settings and where each came from, secrets masked.

use super::{Context, GlobalArgs};
use crate::error::ExitStatus;
use crate::layout::{Access, Layout};
use crate::output::{table, Output, Report};
use anyhow::Result;
use clap::Args;
use serde_json::{json, Map, Value};

#[derive(Debug, Args)]
pub struct ConfigArgs {}

pub fn run(g: &GlobalArgs, out: &Output, _args: ConfigArgs) -> Result<Box<dyn Report>> {
    // The configuration is shown even when two settings collide: that is when it is needed.
    let ctx = Context::inspect(g, out, Default::default())?;
    Ok(Box::new(ConfigReport {
        profile: ctx.settings.profile.as_str(),
        rows: ctx.settings.display_rows(),
        layout: ctx.layout,
    }))
}

struct ConfigReport {
    profile: &'static str,
    rows: Vec<(&'static str, String, String)>,
    layout: Layout,
}

impl Report for ConfigReport {
    fn json(&self) -> Value {
        let mut vars = Map::new();
        for (name, value, source) in &self.rows {
            vars.insert((*name).into(), json!({ "value": value, "source": source }));
        }
        json!({
            "command": "config",
            "profile": self.profile,
            "settings": vars,
            "layout": self.layout,
        })
    }

    /// Two settings naming one file is a configuration error (exit 2), shown with everything else.
    fn status(&self) -> ExitStatus {
        if self.layout.conflicts.is_empty() {
            ExitStatus::Success
        } else {
            ExitStatus::Usage
        }
    }

    fn human(&self, _out: &Output) {
        println!("profile: {}", self.profile);
        println!(
            "{}",
            table(
                &["variable", "value", "source"],
                self.rows
                    .iter()
                    .map(|(n, v, s)| vec![n.to_string(), v.clone(), s.clone()])
            )
        );
        println!(
            "{}",
            table(
                &["place", "variable", "access", "real path"],
                self.layout.roles.iter().map(|r| {
                    let access = match r.access {
                        Access::Read => "read",
                        Access::Write => "write",
                    };
                    vec![
                        r.what.to_string(),
                        r.var.clone(),
                        access.into(),
                        r.path.display().to_string(),
                    ]
                })
            )
        );
        if self.layout.conflicts.is_empty() {
            println!(
                "layout: {} places, each with one owner",
                self.layout.roles.len()
            );
        }
        for c in &self.layout.conflicts {
            println!("CONFLICT: {}", c.message);
        }
    }
}

//! `vannactl config`: the effective settings and where each came from, secrets masked.

use super::{Context, GlobalArgs};
use crate::output::{table, Output, Report};
use anyhow::Result;
use clap::Args;
use serde_json::{json, Map, Value};

#[derive(Debug, Args)]
pub struct ConfigArgs {}

pub fn run(g: &GlobalArgs, out: &Output, _args: ConfigArgs) -> Result<Box<dyn Report>> {
    let ctx = Context::new(g, out, Default::default())?;
    Ok(Box::new(ConfigReport {
        profile: ctx.settings.profile.as_str(),
        rows: ctx.settings.display_rows(),
    }))
}

struct ConfigReport {
    profile: &'static str,
    rows: Vec<(&'static str, String, String)>,
}

impl Report for ConfigReport {
    fn json(&self) -> Value {
        let mut vars = Map::new();
        for (name, value, source) in &self.rows {
            vars.insert((*name).into(), json!({ "value": value, "source": source }));
        }
        json!({ "command": "config", "profile": self.profile, "settings": vars })
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
    }
}

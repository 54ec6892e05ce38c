//! `vannactl health`: table or JSON of every check; exit 3 when any is critical.

use super::{Context, GlobalArgs};
use crate::error::{message, ExitStatus};
use crate::health::{self, Check, Options, Status};
use crate::output::{table, Output, Report};
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Also run PRAGMA quick_check on SQLite files (reads them whole)
    #[arg(long)]
    pub quick_check: bool,
    /// Include statistics such as row counts per table
    #[arg(long)]
    pub stats: bool,
}

pub fn run(g: &GlobalArgs, out: &Output, args: HealthArgs) -> Result<Box<dyn Report>> {
    let opts = Options {
        quick_check: args.quick_check,
        stats: args.stats,
    };
    // A broken configuration is a health finding (exit 3), not a usage error.
    let checks = match Context::inspect(g, out, Default::default()) {
        // With two settings naming one place, probing the components could open (and write, as
        // SQLite's side files) the wrong one: the layout finding is the whole report.
        Ok(ctx) if !ctx.layout.conflicts.is_empty() => vec![health::layout_check(&ctx.layout)],
        Ok(ctx) => {
            let mut checks = health::run(&ctx.settings, &opts);
            checks.insert(checks.len().min(1), health::layout_check(&ctx.layout));
            checks
        }
        Err(e) => vec![Check {
            component: "config",
            name: "configuration".into(),
            status: Status::Critical,
            latency_ms: 0.0,
            detail: message(&e),
        }],
    };
    Ok(Box::new(HealthReport { checks }))
}

struct HealthReport {
    checks: Vec<Check>,
}

impl Report for HealthReport {
    /// Skipped checks are not exported: a check that did not run has no status to report.
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        use crate::metrics::Sample;
        let mut out = Vec::new();
        for c in &self.checks {
            let code = match c.status {
                health::Status::Ok => 0.0,
                health::Status::Warn => 1.0,
                health::Status::Critical => 2.0,
                health::Status::Skipped => continue,
            };
            let l = [("component", c.component), ("check", c.name.as_str())];
            out.push(Sample::new("vannactl_health_check_status", &l, code));
            out.push(Sample::new(
                "vannactl_health_check_latency_seconds",
                &l,
                c.latency_ms / 1000.0,
            ));
        }
        out
    }

    fn json(&self) -> Value {
        json!({
            "command": "health",
            "status": health::overall(&self.checks).as_str(),
            "checks": self.checks,
        })
    }

    fn human(&self, _out: &Output) {
        let rows = self.checks.iter().map(|c| {
            vec![
                c.component.to_string(),
                c.name.clone(),
                c.status.as_str().to_uppercase(),
                format!("{:.1} ms", c.latency_ms),
                c.detail.clone(),
            ]
        });
        println!(
            "{}",
            table(&["component", "check", "status", "latency", "detail"], rows)
        );
        println!("overall: {}", health::overall(&self.checks).as_str());
    }

    fn status(&self) -> ExitStatus {
        if health::overall(&self.checks) == Status::Critical {
            ExitStatus::Unhealthy
        } else {
            ExitStatus::Success
        }
    }
}

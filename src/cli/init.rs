//! `vannactl init`: set up or bring up to date everything, idempotently; `--check` validates the
//! system DB schema without changing anything.

use super::{Context, GlobalArgs};
use crate::error::ExitStatus;
use crate::init::{self, CheckOutcome, InitOutcome, Options};
use crate::output::{kv_table, table, Output, Report};
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Validate the system DB schema (tables, columns, migration version) and report drift; change nothing
    #[arg(long)]
    pub check: bool,
    /// Update ontology terms whose YAML definition changed (default: keep what is in the DB)
    #[arg(long, conflicts_with = "check")]
    pub update_ontology: bool,
    /// Demo journal lines to create when SEED_DEMO_DATA is true
    #[arg(long, value_name = "N", default_value_t = crate::seed::DEFAULT_ROWS, value_parser = crate::seed::parse_rows, conflicts_with = "check")]
    pub seed_rows: i64,
}

pub fn run(g: &GlobalArgs, out: &Output, args: InitArgs) -> Result<Box<dyn Report>> {
    let ctx = Context::new(g, out, Default::default())?;
    if args.check {
        let c = init::check(&ctx.settings)?;
        return Ok(Box::new(CheckReport(c)));
    }
    let _lock = crate::lock::acquire(&ctx.settings.lock_path, "init")?;
    let opts = Options {
        update_ontology: args.update_ontology,
        seed_rows: args.seed_rows,
    };
    let outcome = init::run(&ctx.settings, out, &|q| ctx.confirm(q), &opts);
    let steps: Vec<Value> = outcome
        .steps
        .iter()
        .map(|s| json!({ "step": s.name, "status": s.status, "counts": s.counts }))
        .collect();
    let details = json!({ "changed": outcome.changed, "steps": steps, "error": outcome.error });
    let result = if outcome.error.is_some() {
        crate::audit::FAILURE
    } else {
        crate::audit::SUCCESS
    };
    // An unreachable system DB is not dialled again (Db::open remembers it): the entry goes
    // straight to the log file.
    crate::audit::record(
        &ctx.settings,
        &ctx.actor,
        "init",
        &outcome.system_db,
        details,
        result,
    );
    Ok(Box::new(InitReport(outcome)))
}

struct InitReport(InitOutcome);

impl Report for InitReport {
    fn metrics(&self) -> Vec<crate::metrics::Sample> {
        self.0.metrics.clone()
    }

    fn json(&self) -> Value {
        let o = &self.0;
        json!({
            "command": "init",
            "system_db": o.system_db,
            "changed": o.changed,
            "warnings": o.warnings(),
            "steps": o.steps,
            "error": o.error,
        })
    }

    fn human(&self, _out: &Output) {
        let o = &self.0;
        let rows = o.steps.iter().map(|s| {
            vec![
                s.name.to_string(),
                s.status.as_str().to_string(),
                format!("{} ms", s.duration_ms),
                s.detail.clone(),
            ]
        });
        println!("{}", table(&["step", "status", "duration", "detail"], rows));
        match (&o.error, o.changed) {
            (Some(e), _) => eprintln!("error: init stopped: {}", e.message),
            (None, false) => println!("nothing changed: {} is up to date", o.system_db),
            (None, true) => println!("initialised {}", o.system_db),
        }
        if o.warnings() > 0 {
            println!("{} warning(s): see the steps above", o.warnings());
        }
    }

    fn status(&self) -> ExitStatus {
        match &self.0.error {
            Some(e) if e.exit_code == ExitStatus::Usage.code() => ExitStatus::Usage,
            Some(_) => ExitStatus::Failure,
            None => ExitStatus::Success,
        }
    }
}

struct CheckReport(CheckOutcome);

impl Report for CheckReport {
    fn json(&self) -> Value {
        let c = &self.0;
        json!({
            "command": "init --check",
            "system_db": c.system_db,
            "backend": c.schema.backend,
            "version": c.schema.version,
            "expected_version": c.schema.expected_version,
            "pending": c.schema.pending,
            "drift": c.schema.drift,
            "tables": c.tables,
        })
    }

    fn human(&self, _out: &Output) {
        let c = &self.0;
        let mut rows = vec![
            ("system DB", c.system_db.clone()),
            (
                "migration version",
                format!(
                    "{} (expected {})",
                    c.schema.version, c.schema.expected_version
                ),
            ),
        ];
        if !c.schema.pending.is_empty() {
            rows.push(("pending", c.schema.pending.join(", ")));
        }
        for d in &c.schema.drift {
            rows.push(("drift", d.clone()));
        }
        for (t, n) in &c.tables {
            rows.push(("rows", format!("{t}: {n}")));
        }
        println!("{}", kv_table(rows));
        if c.schema.ok() {
            println!("schema OK");
        } else {
            println!("schema differs from what this build expects; run `vannactl init` for pending migrations, fix drift by hand");
        }
    }

    fn status(&self) -> ExitStatus {
        if self.0.schema.ok() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

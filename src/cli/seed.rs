//! `vannactl seed`: deterministic demo data in the system DB; `--reset` removes it again.

use super::{Context, GlobalArgs};
use crate::error::usage;
use crate::output::{kv_table, Output, Report};
use crate::seed::{self, ResetOutcome, SeedOutcome};
use crate::system_db::{Db, OpenMode};
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Journal lines to generate (accounting_transactions rows)
    #[arg(long, value_name = "N", default_value_t = seed::DEFAULT_ROWS, value_parser = seed::parse_rows)]
    pub rows: i64,
    /// Drop the demo tables and their data (destructive; system tables are never touched)
    #[arg(long, conflicts_with = "rows")]
    pub reset: bool,
}

pub fn run(g: &GlobalArgs, out: &Output, args: SeedArgs) -> Result<Box<dyn Report>> {
    let ctx = Context::new(g, out, Default::default())?;
    let s = &ctx.settings;
    let _lock = crate::lock::acquire(&s.lock_path, "seed")?;
    let url = s.database_url.masked();
    if args.reset {
        let mut db = Db::open_settings(s, OpenMode::Existing)?;
        ctx.confirm(&format!(
            "Drop the demo tables ({}) and all their rows from {url}?",
            seed::DEMO_TABLES.join(", ")
        ))?;
        let r = seed::reset(&mut db);
        ctx.audit(
            "seed --reset",
            &url,
            &r,
            |o| json!({ "removed": o.removed }),
        );
        return Ok(Box::new(ResetReport(r?)));
    }
    if !s.seed_demo_data {
        return Err(usage(
            "SEED_DEMO_DATA is false, so this environment keeps no demo data; set SEED_DEMO_DATA=true to seed it",
        ));
    }
    let r = Db::open_settings(s, OpenMode::Existing).and_then(|mut db| {
        seed::require_initialised(&mut db)?;
        seed::seed(&mut db, args.rows)
    });
    crate::audit::record(
        s,
        &ctx.actor,
        "seed",
        &url,
        match &r {
            Ok(o) => json!({ "rows": args.rows, "inserted": o.inserted }),
            Err(e) => json!({ "rows": args.rows, "error": crate::error::message(e) }),
        },
        crate::audit::outcome_of(&r),
    );
    Ok(Box::new(SeedReport(r?)))
}

struct SeedReport(SeedOutcome);

impl Report for SeedReport {
    fn json(&self) -> Value {
        let o = &self.0;
        json!({
            "command": "seed",
            "changed": o.changed(),
            "requested_rows": o.requested_rows,
            "inserted": o.inserted,
            "journal_lines": o.journal_lines,
            "transactions": o.transactions,
            "duration_ms": o.duration_ms,
            "rows_per_sec": o.rows_per_sec,
            "note": o.note,
        })
    }

    fn human(&self, _out: &Output) {
        let o = &self.0;
        if o.changed() {
            println!("seeded demo data");
        } else {
            println!("nothing changed: demo data already present");
        }
        let mut rows: Vec<(&str, String)> = o
            .inserted
            .iter()
            .map(|(t, n)| (t.as_str(), format!("{n} inserted")))
            .collect();
        rows.push(("journal lines", o.journal_lines.to_string()));
        rows.push(("transactions", o.transactions.to_string()));
        rows.push(("duration", format!("{} ms", o.duration_ms)));
        rows.push(("throughput", format!("{} rows/s", o.rows_per_sec)));
        if let Some(n) = &o.note {
            rows.push(("note", n.clone()));
        }
        println!("{}", kv_table(rows));
    }
}

struct ResetReport(ResetOutcome);

impl Report for ResetReport {
    fn json(&self) -> Value {
        json!({ "command": "seed --reset", "removed": self.0.removed })
    }

    fn human(&self, _out: &Output) {
        if self.0.removed.is_empty() {
            println!("nothing to remove: no demo tables");
            return;
        }
        println!(
            "{}",
            kv_table(
                self.0
                    .removed
                    .iter()
                    .map(|(t, n)| (t.as_str(), format!("dropped ({n} rows)")))
            )
        );
    }
}

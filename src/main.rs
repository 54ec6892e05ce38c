use clap::Parser;
use std::process::ExitCode;
use vannactl::cli::{self, Cli};
use vannactl::error::{classify, message, ExitStatus};
use vannactl::output::{error_json, report_json, Output};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) if std::env::args().any(|a| a == "--json") => {
            let err = vannactl::error::usage(e.render().to_string().trim().to_string());
            println!("{}", error_json(&err));
            return ExitCode::from(ExitStatus::Usage.code());
        }
        Err(e) => e.exit(), // clap prints usage and exits 2
    };
    let out = Output::new(cli.global.json, cli.global.quiet);
    let metrics = cli::RunMetrics::start(&cli);
    let (status, samples) = match cli::run(cli, &out) {
        Ok(report) => {
            if out.is_json() {
                println!("{}", report_json(report.as_ref()));
            } else if !out.quiet || report.status() != ExitStatus::Success {
                report.human(&out);
            }
            (report.status(), report.metrics())
        }
        Err(err) => {
            let (_, status) = classify(&err);
            tracing::error!(target: vannactl::logging::FILE_ONLY, "{}", message(&err));
            if out.is_json() {
                println!("{}", error_json(&err));
            } else {
                eprintln!("error: {}", message(&err));
            }
            (status, Vec::new())
        }
    };
    if let Some(m) = metrics {
        m.finish(status, samples);
    }
    ExitCode::from(status.code())
}

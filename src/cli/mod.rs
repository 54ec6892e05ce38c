//! The command line: clap definitions and dispatch. One file per subcommand; each builds an options
//! struct from its flags and calls the library.

pub mod admin;
pub mod backup;
pub mod completions;
pub mod config;
mod context;
pub mod generate;
pub mod golden_copy;
pub mod health;
pub mod init;
pub mod restore;
mod run_metrics;
pub mod seed;
pub mod train;

pub use crate::host::{default_actor, hostname};
pub use context::Context;
pub use run_metrics::RunMetrics;

use crate::output::{Output, Report};
use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const ABOUT: &str = "Operate the databases behind a Vanna-style text-to-SQL engine";

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (health: healthy or only warnings)
  1  failure
  2  usage error (bad flag or configuration value)
  3  unhealthy (health: a critical check failed)
  4  confirmation required but not given (no TTY and no --yes, or declined)
  5  another vannactl operation holds the lock";

#[derive(Debug, Parser)]
#[command(name = "vannactl", version, about = ABOUT, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Read configuration from this env file instead of ./.env
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "no_dotenv")]
    pub env_file: Option<PathBuf>,
    /// Do not read any .env file
    #[arg(long, global = true)]
    pub no_dotenv: bool,
    /// Print exactly one JSON object on stdout (errors too)
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing on success (errors still go to stderr)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Answer yes to confirmations of destructive actions (for scripts)
    #[arg(short, long, global = true)]
    pub yes: bool,
    /// Who is acting, for the audit log (default: OS user@host)
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Profile: development or production (overrides APP_ENV)
    #[arg(long, global = true, value_name = "PROFILE")]
    pub app_env: Option<String>,
    /// Merge this run's Prometheus metrics into this textfile (overrides METRICS_FILE)
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up or bring up to date everything: golden copy, system DB, ontology, demo data, knowledge base
    #[command(
        after_help = "Details: docs/system-db.md (init steps, schema, admin user, ontology, demo data) in the vannactl repository"
    )]
    Init(init::InitArgs),
    /// Make or check the verified read-only runtime copy of the target database
    #[command(after_help = "Details: docs/golden-copy.md in the vannactl repository")]
    GoldenCopy(golden_copy::GoldenCopyArgs),
    /// Load deterministic demo data into the system DB
    #[command(after_help = "Details: docs/system-db.md (demo data) in the vannactl repository")]
    Seed(seed::SeedArgs),
    /// Build and maintain the knowledge base (DDL, documentation, question/SQL pairs)
    #[command(
        after_help = "Details: docs/knowledge-base.md, docs/knowledge-base-retrieval.md in the vannactl repository"
    )]
    Train(train::TrainArgs),
    /// Write, list and verify backup archives
    #[command(
        after_help = "Details: docs/backup.md, docs/backup-repositories.md (S3, age), docs/restore-drills.md in the vannactl repository"
    )]
    Backup(backup::BackupArgs),
    /// Restore from a backup archive
    #[command(after_help = "Details: docs/backup.md (restore) in the vannactl repository")]
    Restore(restore::RestoreArgs),
    /// Check every component; exit 3 when a critical check fails
    Health(health::HealthArgs),
    /// Show the effective configuration and where each value came from
    #[command(
        after_help = "Details: docs/configuration.md (every variable) in the vannactl repository"
    )]
    Config(config::ConfigArgs),
    /// Administer system DB users (password reset)
    Admin(admin::AdminArgs),
    /// Print shell completions
    Completions(completions::CompletionsArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli, out: &Output) -> Result<Box<dyn Report>> {
    let g = &cli.global;
    match cli.command {
        Command::Init(a) => init::run(g, out, a),
        Command::GoldenCopy(a) => golden_copy::run(g, out, a),
        Command::Seed(a) => seed::run(g, out, a),
        Command::Train(a) => train::run(g, out, a),
        Command::Backup(a) => backup::run(g, out, a),
        Command::Restore(a) => restore::run(g, out, a),
        Command::Health(a) => health::run(g, out, a),
        Command::Config(a) => config::run(g, out, a),
        Command::Admin(a) => admin::run(g, out, a),
        Command::Completions(a) => completions::run(a),
    }
}

//! `vannactl backup`.

use super::GlobalArgs;
use crate::output::{Output, Report};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct BackupArgs {}

pub fn run(_g: &GlobalArgs, _out: &Output, _args: BackupArgs) -> Result<Box<dyn Report>> {
    Err(super::not_landed("backup", "issue #5 (backup and restore)"))
}

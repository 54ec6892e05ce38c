//! `vannactl restore`.

use super::GlobalArgs;
use crate::output::{Output, Report};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct RestoreArgs {}

pub fn run(_g: &GlobalArgs, _out: &Output, _args: RestoreArgs) -> Result<Box<dyn Report>> {
    Err(super::not_landed(
        "restore",
        "issue #5 (backup and restore)",
    ))
}

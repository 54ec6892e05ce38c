//! `vannactl init`.

use super::GlobalArgs;
use crate::output::{Output, Report};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct InitArgs {}

pub fn run(_g: &GlobalArgs, _out: &Output, _args: InitArgs) -> Result<Box<dyn Report>> {
    Err(super::not_landed("init", "issue #3 (system database)"))
}

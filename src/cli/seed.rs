//! `vannactl seed`.

use super::GlobalArgs;
use crate::output::{Output, Report};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct SeedArgs {}

pub fn run(_g: &GlobalArgs, _out: &Output, _args: SeedArgs) -> Result<Box<dyn Report>> {
    Err(super::not_landed("seed", "issue #3 (system database)"))
}

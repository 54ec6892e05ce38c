//! `vannactl train`.

use super::GlobalArgs;
use crate::output::{Output, Report};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct TrainArgs {}

pub fn run(_g: &GlobalArgs, _out: &Output, _args: TrainArgs) -> Result<Box<dyn Report>> {
    Err(super::not_landed("train", "issue #4 (knowledge base)"))
}

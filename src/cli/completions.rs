//! `vannactl completions <shell>`: print a completion script (the committed ones live in completions/).

use crate::output::{Output, Report};
use anyhow::Result;
use clap::Args;
use clap_complete::Shell;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<Box<dyn Report>> {
    Ok(Box::new(Completions {
        shell: args.shell,
        script: super::generate::completion_script(args.shell),
    }))
}

struct Completions {
    shell: Shell,
    script: String,
}

impl Report for Completions {
    fn json(&self) -> Value {
        json!({ "command": "completions", "shell": self.shell.to_string(), "script": self.script })
    }

    fn human(&self, _out: &Output) {
        print!("{}", self.script);
    }
}

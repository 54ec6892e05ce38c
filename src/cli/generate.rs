//! Completion scripts and man pages generated from the clap definitions. The committed copies in
//! `completions/` and `man/` are checked against these by `tests/generated_docs.rs`.

use clap::CommandFactory;
use clap_complete::Shell;

pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

pub fn completion_script(shell: Shell) -> String {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vannactl", &mut buf);
    String::from_utf8(buf).expect("completion scripts are UTF-8")
}

/// File name under `completions/` for a shell.
pub fn completion_file(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "vannactl.bash",
        Shell::Zsh => "_vannactl",
        Shell::Fish => "vannactl.fish",
        _ => "vannactl.other",
    }
}

/// `(file name, roff)` for `vannactl.1` and one page per subcommand at every depth
/// (`vannactl-backup.1`, `vannactl-backup-verify.1`, ...), so nested flags are documented too.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let cmd = super::Cli::command();
    let mut pages = vec![("vannactl.1".to_string(), render(cmd.clone()))];
    add_subcommand_pages(&cmd, "vannactl", &mut pages);
    pages
}

fn add_subcommand_pages(cmd: &clap::Command, prefix: &str, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in cmd.get_subcommands() {
        let name = format!("{prefix}-{}", sub.get_name());
        pages.push((format!("{name}.1"), render(sub.clone().name(name.clone()))));
        add_subcommand_pages(sub, &name, pages);
    }
}

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .expect("rendering to memory cannot fail");
    buf
}

//! `codex completions SHELL` and `codex man`: shell completions and the manual page, both
//! generated from the same clap types that parse the command line, so they never drift.

use std::io::Write as _;
use std::path::Path;

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionShell};
use crate::error::CliError;

/// Print the completion script for `shell` on stdout.
pub fn completions(shell: CompletionShell) -> Result<u8, CliError> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "codex", &mut out);
    write_stdout(&out)
}

/// Print the manual page codex(1) on stdout (`codex man | man -l -`), or with `out_dir`
/// write it and one page per subcommand there (`codex-run.1`, `codex-prefs-show.1`, ...).
pub fn man(out_dir: Option<&Path>) -> Result<u8, CliError> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = out_dir else {
        let mut out = Vec::new();
        render(&cmd, &mut out)?;
        return write_stdout(&out);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Other(format!("cannot create {}: {e}", dir.display())))?;
    let mut pages = Vec::new();
    collect(&cmd, "codex", &mut pages);
    for (name, page) in &pages {
        let mut out = Vec::new();
        render(page, &mut out)?;
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, out)
            .map_err(|e| CliError::Other(format!("cannot write {}: {e}", path.display())))?;
    }
    println!("wrote {} manual pages to {}", pages.len(), dir.display());
    Ok(0)
}

/// Every page to write: the command itself and each visible subcommand, named as `man`
/// looks them up (`codex-prefs-show`).
fn collect(cmd: &clap::Command, name: &str, pages: &mut Vec<(String, clap::Command)>) {
    pages.push((name.to_string(), cmd.clone().name(name.to_string())));
    // `help` is clap's own (`codex help run`): the pages themselves are the help.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}

fn render(cmd: &clap::Command, out: &mut Vec<u8>) -> Result<(), CliError> {
    clap_mangen::Man::new(cmd.clone())
        .render(out)
        .map_err(|e| CliError::Other(format!("cannot render the manual page: {e}")))
}

fn write_stdout(bytes: &[u8]) -> Result<u8, CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        // `codex man | head`: the reader left, which is no error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(CliError::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_every_command() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "codex", &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["run", "rate", "doctor", "service", "completions"] {
                assert!(text.contains(word), "{shell}: no {word}");
            }
        }
    }
}

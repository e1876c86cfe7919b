//! Asking before something is deleted: a y/N question on the terminal, or a refusal with the
//! flag to pass when there is no terminal to ask on.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::CliError;

/// Ask `question` (y/N) unless `yes`; without a terminal, refuse and name the `--yes` flag.
pub fn ask(question: &str, yes: bool) -> Result<bool, CliError> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(format!(
            "{question} Not confirmed: there is no terminal to ask on; pass --yes to confirm"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

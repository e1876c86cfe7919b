//! `codex import shell-history [--shell bash|zsh|fish] [FILE]`: parse here, send in batches.

use std::path::PathBuf;

use codex_proto::methods::{Import, ImportEntry, ImportParams};

use super::Out;
use crate::cli::ImportHistoryArgs;
use crate::error::CliError;
use crate::render;
use crate::shell_history::{self, Shell};

/// Entries per request (the daemon takes at most 5,000)...
const BATCH: usize = 2_000;
/// ...and bytes of commands per request, well under the daemon's 1 MiB message cap.
const BATCH_BYTES: usize = 256 * 1024;
/// A "command" longer than this is a pasted blob, not a habit: skipped.
const LONGEST: usize = 16 * 1024;

/// Import a shell history file.
pub fn shell_history(
    target: &crate::session::Target,
    out: Out,
    args: ImportHistoryArgs,
) -> Result<u8, CliError> {
    let env_shell = std::env::var("SHELL").ok();
    let named = match &args.shell {
        Some(s) => Some(Shell::parse(s).map_err(CliError::Usage)?),
        None => env_shell.as_deref().and_then(Shell::from_shell_path),
    };
    let file = match args.file {
        Some(f) => f,
        None => {
            let shell = named.ok_or_else(|| {
                CliError::Usage(
                    "cannot tell which shell's history to read: give --shell bash|zsh|fish or a FILE"
                        .into(),
                )
            })?;
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .ok_or_else(|| CliError::Usage("HOME is not set: give the history FILE".into()))?;
            let histfile = std::env::var_os("HISTFILE").map(PathBuf::from);
            let xdg = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from);
            shell.default_file(&home, histfile.as_deref(), xdg.as_deref())
        }
    };
    let bytes = std::fs::read(&file).map_err(|e| {
        CliError::Usage(format!("cannot read history file {}: {e}", file.display()))
    })?;
    // A file named on the command line is read in its own format unless --shell says.
    let shell = match (&args.shell, named) {
        (Some(_), Some(s)) => s,
        _ => Shell::sniff(&bytes),
    };
    let parsed = shell_history::parse(shell, &bytes);
    let source = format!("{}-history", shell.name());
    let (mut client, _) = target.connect()?;
    let (mut imported, mut skipped) = (0u64, parsed.skipped as u64);
    let (entries, too_long): (Vec<_>, Vec<_>) = parsed
        .entries
        .into_iter()
        .partition(|e| e.command.len() <= LONGEST);
    skipped += too_long.len() as u64;
    let mut batch: Vec<ImportEntry> = Vec::new();
    let mut batch_bytes = 0;
    let mut send = |batch: &mut Vec<ImportEntry>| -> Result<(), CliError> {
        if batch.is_empty() {
            return Ok(());
        }
        let r = client.call::<Import>(&ImportParams {
            source: source.clone(),
            entries: std::mem::take(batch),
        })?;
        imported += r.imported;
        skipped += r.skipped;
        Ok(())
    };
    for e in entries {
        if batch.len() == BATCH || batch_bytes + e.command.len() > BATCH_BYTES {
            send(&mut batch)?;
            batch_bytes = 0;
        }
        batch_bytes += e.command.len();
        batch.push(ImportEntry {
            command: e.command,
            at: e.at,
        });
    }
    send(&mut batch)?;
    if out.json {
        render::json(&serde_json::json!({
            "file": file,
            "shell": shell.name(),
            "imported": imported,
            "skipped": skipped,
        }))?;
    } else {
        println!(
            "imported {imported} command{} from {} ({} history); skipped {skipped} line{} that did not parse",
            if imported == 1 { "" } else { "s" },
            file.display(),
            shell.name(),
            if skipped == 1 { "" } else { "s" }
        );
    }
    Ok(0)
}

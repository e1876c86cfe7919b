//! `codex import shell-history [--shell bash|zsh|fish] [FILE]`: parse here, send in batches.

use std::path::PathBuf;

use codex_proto::methods::{
    Import, ImportEntry, ImportMark, ImportMarkGet, ImportMarkParams, ImportParams,
};

use super::Out;
use crate::cli::ImportHistoryArgs;
use crate::error::CliError;
use crate::history_import;
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
    // The file as the daemon knows it: where its last import got to.
    let file = std::fs::canonicalize(&file).unwrap_or(file);
    let file_key = file.display().to_string();
    let (mut client, _) = target.connect()?;
    let entries = parsed.entries;
    let prints: Vec<String> = entries.iter().map(history_import::fingerprint).collect();
    let tail = client
        .call::<ImportMarkGet>(&ImportMarkParams {
            file: file_key.clone(),
        })?
        .tail;
    let start = history_import::resume_at(&prints, &tail);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let folders = history_import::folders(&entries, home.as_deref());
    let (mut imported, mut skipped, mut taught) = (0u64, parsed.skipped as u64, 0u64);
    let mut batch: Vec<ImportEntry> = Vec::new();
    let mut batch_bytes = 0;
    let mut too_long = 0u64;
    let mut send = |batch: &mut Vec<ImportEntry>, end: usize| -> Result<(), CliError> {
        let r = client.call::<Import>(&ImportParams {
            source: source.clone(),
            entries: std::mem::take(batch),
            mark: Some(ImportMark {
                file: file_key.clone(),
                tail: history_import::tail_before(&prints, end),
            }),
        })?;
        imported += r.imported;
        skipped += r.skipped;
        taught += r.taught;
        Ok(())
    };
    for (i, (e, cwd)) in entries.into_iter().zip(folders).enumerate().skip(start) {
        if batch.len() == BATCH || batch_bytes + e.command.len() > BATCH_BYTES {
            send(&mut batch, i)?;
            batch_bytes = 0;
        }
        // A "command" this long is a pasted blob, not a habit.
        if e.command.len() > LONGEST {
            too_long += 1;
            continue;
        }
        batch_bytes += e.command.len();
        batch.push(ImportEntry {
            command: e.command,
            at: e.at,
            cwd,
        });
    }
    // The last call says the whole file is in, even when nothing new was left to send.
    if start < prints.len() || tail != history_import::tail_before(&prints, prints.len()) {
        send(&mut batch, prints.len())?;
    }
    skipped += too_long;
    let already = start as u64;
    if out.json {
        render::json(&serde_json::json!({
            "file": file,
            "shell": shell.name(),
            "imported": imported,
            "already_imported": already,
            "taught": taught,
            "skipped": skipped,
        }))?;
    } else {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        println!(
            "imported {imported} command{} from {} ({} history); {already} imported before \
             were left out; {taught} were a project's own command typed in it (evidence for \
             that command there); skipped {skipped} line{} that did not parse",
            s(imported),
            file.display(),
            shell.name(),
            s(skipped)
        );
    }
    Ok(0)
}

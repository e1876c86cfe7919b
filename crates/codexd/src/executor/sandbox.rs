//! Landlock for writes-in-project steps: the step runs through `codexd __sandbox`, which
//! restricts itself so that only the project root and the temp folder (and /dev/null) can be
//! written, then execs the command. Landlock is inherited across exec and cannot be lifted.
//! Re-executing ourselves keeps this free of `unsafe` (no hook between fork and exec).

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::ExitCode;

use landlock::{
    ABI, AccessFs, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, path_beneath_rules,
};

/// The first argument that switches `codexd` into sandbox-exec mode.
pub const ARG: &str = "__sandbox";

/// Exit status when the command could not be executed (as a shell reports it).
const EXIT_CANNOT_EXEC: u8 = 126;

/// The argument vector that runs `argv` writable only under `writable`.
pub fn wrap(exe: PathBuf, writable: &[PathBuf], argv: &[String]) -> Vec<String> {
    let mut out = vec![exe.display().to_string(), ARG.to_string()];
    for w in writable {
        out.push("--rw".into());
        out.push(w.display().to_string());
    }
    out.push("--".into());
    out.extend(argv.iter().cloned());
    out
}

/// `codexd __sandbox --rw DIR ... -- CMD ARGS`: restrict, then exec. Returns only on failure.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let mut writable = Vec::new();
    let mut it = args.into_iter();
    let mut command: Vec<OsString> = Vec::new();
    while let Some(a) = it.next() {
        if a == "--rw" {
            if let Some(p) = it.next() {
                writable.push(PathBuf::from(p));
            }
        } else if a == "--" {
            command = it.collect();
            break;
        }
    }
    let Some((program, rest)) = command.split_first() else {
        eprintln!("codexd __sandbox: no command after --");
        return ExitCode::from(2);
    };
    writable.extend(["/dev/null", "/dev/tty", "/dev/zero", "/dev/full"].map(PathBuf::from));
    match restrict(&writable) {
        Ok(RulesetStatus::FullyEnforced) => {}
        Ok(RulesetStatus::PartiallyEnforced) => eprintln!(
            "codex: the Landlock sandbox is only partly enforced by this kernel; writes outside the \
             project are limited as far as it allows"
        ),
        Ok(RulesetStatus::NotEnforced) => eprintln!(
            "codex: warning: this kernel does not enforce Landlock; the sandbox is NOT in effect \
             for this step"
        ),
        Err(e) => eprintln!(
            "codex: warning: could not set up the Landlock sandbox ({e}); it is NOT in effect for \
             this step"
        ),
    }
    let err = std::process::Command::new(program).args(rest).exec();
    eprintln!("codex: cannot run {}: {err}", program.to_string_lossy());
    ExitCode::from(EXIT_CANNOT_EXEC)
}

fn restrict(writable: &[PathBuf]) -> Result<RulesetStatus, landlock::RulesetError> {
    let abi = ABI::V3;
    let write = AccessFs::from_write(abi);
    let existing: Vec<&PathBuf> = writable.iter().filter(|p| p.exists()).collect();
    let status = Ruleset::default()
        .handle_access(write)?
        .create()?
        .add_rules(path_beneath_rules(existing, write))?
        .restrict_self()?;
    Ok(status.ruleset)
}

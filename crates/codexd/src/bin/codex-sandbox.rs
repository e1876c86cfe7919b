//! `codex-sandbox`: the sandbox helper as a small program of its own, so starting a step costs
//! the exec of a small binary rather than the whole daemon. Same arguments as
//! `codexd __sandbox` (which remains, for when this binary is missing).

use std::process::ExitCode;

fn main() -> ExitCode {
    codexd::executor::sandbox::main(std::env::args_os().skip(1).collect())
}

//! `codex`: parse the command line, send one request to codexd, render the answer.
//!
//! Layout: [`cli`] (every flag), [`session`] (finding and starting the daemon), [`client`]
//! (the socket), [`commands`] (one file per command), [`render`] (tables, JSON, sparklines),
//! [`shell_history`] (bash, zsh and fish history files), [`confirm`] (asking before deleting),
//! [`error`] (failures and their exit statuses), [`when`] (`--since` times), [`terminal`]
//! and [`relay`] (a step on a terminal: raw mode, size, signals; its input and output).

mod autostart;
mod cli;
mod client;
mod commands;
mod confirm;
mod error;
mod history_import;
mod relay;
mod render;
mod session;
mod shell_history;
mod terminal;
mod when;

use std::process::ExitCode;

use clap::Parser;
use codex_proto::capture::CaptureAction;

use cli::{
    CaptureCommand, Cli, Command, DaemonCommand, ImportCommand, PrefsCommand, ServiceCommand,
};
use error::CliError;
use session::Target;

/// Exit status when stdout is a closed pipe (`codex prefs show | head`), as a shell reports a
/// process killed by SIGPIPE.
const EXIT_BROKEN_PIPE: i32 = 141;

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let json = cli.global.json;
    // These need no CODEX_HOME: they work before anything is set up (packaging, no $HOME).
    let offline = match &cli.command {
        Command::Completions { shell } => Some(commands::completions::completions(*shell)),
        Command::Man { out_dir } => Some(commands::completions::man(out_dir.as_deref())),
        Command::Init { shell } => Some(commands::init::init(*shell)),
        _ => None,
    };
    // What the shell hook runs after every command: never a word, never a failure.
    if let Command::Capture(CaptureCommand::Record(args)) = cli.command {
        return ExitCode::from(commands::capture::record(&cli.global, args));
    }
    let result = match offline {
        Some(r) => r,
        None => Target::resolve(&cli.global).and_then(|target| dispatch(cli, target)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report(&e, json);
            ExitCode::from(e.exit_code())
        }
    }
}

/// One match from subcommand to `commands/*.rs`.
fn dispatch(cli: Cli, target: Target) -> Result<u8, CliError> {
    let out = commands::Out {
        json: cli.global.json,
        verbosity: commands::Verbosity::Normal,
    };
    match cli.command {
        Command::Status => commands::status::run(&target, out),
        Command::Daemon(DaemonCommand::Start) => commands::daemon::start(&target, out),
        Command::Daemon(DaemonCommand::Stop) => commands::daemon::stop(&target, out),
        Command::Run(args) => commands::run::run(&target, out, args),
        Command::Rate(args) => commands::rate::run(&target, out, args),
        Command::History(args) => commands::history::run(&target, out, args),
        Command::Show(args) => commands::show::run(&target, out, args),
        Command::Rerun(args) => commands::rerun::run(&target, out, args),
        Command::Prefs(PrefsCommand::Show(args)) => commands::prefs::show(&target, out, args),
        Command::Prefs(PrefsCommand::Set(args)) => {
            commands::prefs::set(&target, out, args.key, Some(args.value))
        }
        Command::Prefs(PrefsCommand::Unset(args)) => {
            commands::prefs::set(&target, out, args.key, None)
        }
        Command::Prefs(PrefsCommand::Reset(args)) => commands::prefs::reset(&target, out, args),
        Command::Forget(args) => commands::forget::run(&target, out, args),
        Command::Import(ImportCommand::ShellHistory(args)) => {
            commands::import::shell_history(&target, out, args)
        }
        Command::Export(args) => commands::export::run(&target, out, args),
        Command::Rules(args) => commands::rules::run(&target, out, args),
        Command::Plan(args) if args.show_prompt => {
            commands::plan::show_prompt(&target, out, &args.goal)
        }
        Command::Plan(args) => commands::plan::show(&target, out, &args.goal),
        Command::Teach(args) => commands::teach::teach(&target, out, args),
        Command::Context => commands::plan::context(&target, out),
        Command::Playbooks(args) => commands::teach::playbooks(&target, out, args),
        Command::Suggest(args) => commands::suggest::run(&target, out, args),
        Command::Schedule(cmd) => commands::schedule::run(&target, out, cmd),
        Command::Alerts(args) => commands::alerts::run(&target, out, args),
        Command::Model(cmd) => commands::model::run(&target, out, cmd),
        Command::Approvals => commands::approvals::run(&target, out, None),
        Command::Approve { id } => commands::approvals::run(&target, out, Some((id, true))),
        Command::Deny { id } => commands::approvals::run(&target, out, Some((id, false))),
        Command::Service(ServiceCommand::Install { now }) => {
            commands::service::install(&target, out, now)
        }
        Command::Service(ServiceCommand::Uninstall { now }) => {
            commands::service::uninstall(out, now)
        }
        Command::Service(ServiceCommand::Status) => commands::service::status(out),
        Command::Service(ServiceCommand::HandOver) => commands::service::hand_over(&target),
        Command::Doctor => commands::doctor::run(&target, out),
        Command::Completions { shell } => commands::completions::completions(shell),
        Command::Man { out_dir } => commands::completions::man(out_dir.as_deref()),
        Command::Init { shell } => commands::init::init(shell),
        Command::Capture(CaptureCommand::Pause) => {
            commands::capture::state(&target, out, CaptureAction::Pause)
        }
        Command::Capture(CaptureCommand::Resume) => {
            commands::capture::state(&target, out, CaptureAction::Resume)
        }
        Command::Capture(CaptureCommand::Status) => {
            commands::capture::state(&target, out, CaptureAction::Status)
        }
        Command::Capture(CaptureCommand::Record(args)) => {
            Ok(commands::capture::record(&cli.global, args))
        }
    }
}

/// `println!` panics when stdout is a closed pipe. The reader has gone, which is no error of
/// ours: exit quietly with the status a shell expects, and keep every other panic loud.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        default(info);
    }));
}

fn report(e: &CliError, json: bool) {
    if json && let CliError::Rpc(obj) = e {
        let _ = render::json(&serde_json::json!({ "error": obj }));
    }
    eprintln!("codex: {e}");
}

//! `codexd`: parse flags, load the config, start the daemon, stop on SIGTERM, SIGINT or SIGHUP.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use codex_proto::paths::Env;
use codexd::config;
use codexd::store::lock::LockError;
use codexd::{Daemon, Settings, StartError};
use tokio::signal::unix::{SignalKind, signal};
use tracing::info;

/// Exit status when another daemon already runs for this CODEX_HOME.
const EXIT_ALREADY_RUNNING: u8 = 3;
/// Exit status for a bad config or bad flags.
const EXIT_CONFIG: u8 = 2;

/// The codex daemon: learns how you work and runs your goals safely.
#[derive(Debug, Parser)]
#[command(name = "codexd", version)]
struct Args {
    /// Config file [default: $CODEX_CONFIG, else $XDG_CONFIG_HOME/codex/personalized_learning.yaml
    /// if it exists, else the built-in default].
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Where learned data lives [default: $CODEX_HOME, else $XDG_DATA_HOME/codex].
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Socket to listen on [default: $CODEX_SOCKET, else $XDG_RUNTIME_DIR/codex/codexd.sock,
    /// else $CODEX_HOME/run/codexd.sock].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Validate the config and exit: 0 when valid, 2 when not.
    #[arg(long)]
    check_config: bool,
    /// Read every storage file under CODEX_HOME and report what the daemon would find at
    /// start, changing nothing (safe while a daemon runs): 0 when all is well, 1 when a
    /// problem is found, 2 for a bad config.
    #[arg(long)]
    check_storage: bool,
    /// With --check-storage: print the report as JSON.
    #[arg(long, requires = "check_storage")]
    json: bool,
    /// Log filter, e.g. `debug` or `codexd=debug,warn` [default: $RUST_LOG, else info].
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    // The executor runs sandboxed steps through ourselves: restrict, then exec the step.
    let mut raw = std::env::args_os().skip(1);
    if raw
        .next()
        .is_some_and(|a| a == codexd::executor::sandbox::ARG)
    {
        return codexd::executor::sandbox::main(raw.collect());
    }
    let args = Args::parse();
    if let Err(e) = codexd::telemetry::init(args.log_level.as_deref()) {
        eprintln!("codexd: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let env = Env::from_process();
    let loaded = match env
        .config(args.config.as_deref())
        .map_err(|e| e.to_string())
        .and_then(|p| config::load(p.as_deref()).map_err(|e| e.to_string()))
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("codexd: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.check_config {
        let origin = loaded
            .path
            .as_ref()
            .map_or("built-in config".into(), |p| p.display().to_string());
        println!("{origin}: valid");
        return ExitCode::SUCCESS;
    }
    let paths = env.home(args.home.as_deref()).and_then(|home| {
        let socket = env.socket(args.socket.as_deref(), &home)?;
        Ok((home, socket))
    });
    let (home, socket) = match paths {
        Ok(p) => p,
        Err(e) => {
            eprintln!("codexd: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.check_storage {
        return check_storage(&home, &loaded.config, args.json);
    }
    // The log under CODEX_HOME (autostart's) is kept to size, when stderr is that file.
    codexd::telemetry::logfile::adopt(&codex_proto::paths::log_file(&home));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("codexd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Installed before the socket answers: a SIGTERM sent the moment codexd is reachable
        // must stop it gracefully, not kill it with the default action.
        // SIGHUP (the terminal that started it closed, or `kill -HUP`) stops it gracefully
        // too: the config is read only at start, so there is nothing to reload.
        let signals = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(term), Ok(int), Ok(hup)) => Some((term, int, hup)),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                eprintln!("codexd: cannot install signal handlers: {e}");
                None
            }
        };
        let daemon = match Daemon::start(Settings {
            binary: None,
            home,
            socket,
            config: loaded,
        })
        .await
        {
            Ok(d) => d,
            Err(e) => {
                eprintln!("codexd: {e}");
                return match e {
                    StartError::Lock(LockError::Held { .. }) => {
                        ExitCode::from(EXIT_ALREADY_RUNNING)
                    }
                    _ => ExitCode::FAILURE,
                };
            }
        };
        let stop = daemon.shutdown_token();
        match signals {
            Some((mut term, mut int, mut hup)) => {
                tokio::spawn(async move {
                    tokio::select! {
                        _ = term.recv() => info!("SIGTERM received"),
                        _ = int.recv() => info!("SIGINT received"),
                        _ = hup.recv() => info!("SIGHUP received: stopping (a changed config takes effect at the next start)"),
                    }
                    stop.cancel();
                });
            }
            None => stop.cancel(),
        }
        daemon.run_until_stopped().await;
        ExitCode::SUCCESS
    })
}

/// `--check-storage`: the read-only report of [`codexd::doctor`].
fn check_storage(home: &std::path::Path, config: &config::Config, json: bool) -> ExitCode {
    let layout = codexd::store::Layout::new(home, &config.storage);
    let report = codexd::doctor::check(&layout);
    if json {
        match serde_json::to_string(&report) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("codexd: cannot encode the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", codexd::doctor::render(&report));
    }
    if report.problems() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

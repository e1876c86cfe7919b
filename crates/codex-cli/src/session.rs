//! Finding and reaching the daemon: resolve CODEX_HOME and the socket exactly as codexd does,
//! connect, start the daemon when allowed, and check the protocol version.

use std::path::PathBuf;

use codex_proto::methods::HelloResult;
use codex_proto::paths::Env;

use crate::autostart;
use crate::cli::Global;
use crate::client::{Client, connect_error, is_not_running};
use crate::error::CliError;

/// Where the daemon is expected.
#[derive(Debug, Clone)]
pub struct Target {
    /// CODEX_HOME.
    pub home: PathBuf,
    /// The socket.
    pub socket: PathBuf,
    /// Whether to start the daemon when none answers.
    pub autostart: bool,
}

impl Target {
    /// Resolve from flags and environment.
    pub fn resolve(global: &Global) -> Result<Target, CliError> {
        let env = Env::from_process();
        let home = env.home(None)?;
        let socket = env.socket(global.socket.as_deref(), &home)?;
        Ok(Target {
            home,
            socket,
            autostart: !global.no_autostart,
        })
    }

    /// Connect, starting the daemon if allowed, and say hello.
    pub fn connect(&self) -> Result<(Client, HelloResult), CliError> {
        let mut client = match Client::connect(&self.socket) {
            Ok(c) => c,
            Err(e) if is_not_running(&e) && self.autostart => {
                let c = autostart::start(&self.home, &self.socket)?;
                autostart::say_once(&self.home);
                c
            }
            Err(e) if is_not_running(&e) => return Err(CliError::NotRunning(self.socket.clone())),
            Err(e) => return Err(connect_error(&self.socket, e)),
        };
        let hello = client.hello()?;
        Ok((client, hello))
    }

    /// Connect only if a daemon is running; `None` when none is.
    pub fn connect_existing(&self) -> Result<Option<(Client, HelloResult)>, CliError> {
        match Client::connect(&self.socket) {
            Ok(mut c) => {
                let hello = c.hello()?;
                Ok(Some((c, hello)))
            }
            Err(e) if is_not_running(&e) => Ok(None),
            Err(e) => Err(connect_error(&self.socket, e)),
        }
    }
}

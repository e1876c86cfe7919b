//! Where things live: CODEX_HOME, the socket, the config file. Flags win over environment,
//! environment wins over XDG defaults. Both binaries resolve paths with this one module so
//! that `codex` always finds the `codexd` it would start.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;

/// Environment variable naming CODEX_HOME.
pub const HOME_ENV: &str = "CODEX_HOME";
/// Environment variable naming the socket.
pub const SOCKET_ENV: &str = "CODEX_SOCKET";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "CODEX_CONFIG";

/// Path of the config file below `$XDG_CONFIG_HOME/codex`.
pub const CONFIG_FILE_NAME: &str = "personalized_learning.yaml";

/// Errors resolving default locations.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// Neither CODEX_HOME nor a home directory to derive it from.
    #[error("cannot find a home directory to put CODEX_HOME in; set {HOME_ENV} or pass --home")]
    NoHome,
    /// A path given through the environment is relative.
    #[error("{var} must be an absolute path, got `{value}`")]
    Relative {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
}

/// The parts of the process environment that locations depend on, read once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `$CODEX_HOME`.
    pub codex_home: Option<OsString>,
    /// `$CODEX_SOCKET`.
    pub codex_socket: Option<OsString>,
    /// `$CODEX_CONFIG`.
    pub codex_config: Option<OsString>,
    /// `$XDG_RUNTIME_DIR` (absolute only).
    pub runtime_dir: Option<PathBuf>,
    /// `$XDG_DATA_HOME` or `~/.local/share`.
    pub data_dir: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` or `~/.config`.
    pub config_dir: Option<PathBuf>,
}

impl Env {
    /// Read the current process's environment.
    pub fn from_process() -> Self {
        let xdg = etcetera::choose_base_strategy().ok();
        let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Env {
            codex_home: non_empty(HOME_ENV),
            codex_socket: non_empty(SOCKET_ENV),
            codex_config: non_empty(CONFIG_ENV),
            runtime_dir: xdg.as_ref().and_then(|x| x.runtime_dir()),
            data_dir: xdg.as_ref().map(|x| x.data_dir()),
            config_dir: xdg.as_ref().map(|x| x.config_dir()),
        }
    }

    /// CODEX_HOME: the flag, else `$CODEX_HOME`, else `$XDG_DATA_HOME/codex`.
    pub fn home(&self, flag: Option<&Path>) -> Result<PathBuf, PathError> {
        if let Some(p) = flag {
            return Ok(absolute(p));
        }
        if let Some(v) = &self.codex_home {
            return checked_absolute(HOME_ENV, v);
        }
        self.data_dir
            .as_ref()
            .map(|d| d.join("codex"))
            .ok_or(PathError::NoHome)
    }

    /// The socket: the flag, else `$CODEX_SOCKET`, else `$XDG_RUNTIME_DIR/codex/codexd.sock`,
    /// else `$CODEX_HOME/run/codexd.sock`.
    pub fn socket(&self, flag: Option<&Path>, home: &Path) -> Result<PathBuf, PathError> {
        if let Some(p) = flag {
            return Ok(absolute(p));
        }
        if let Some(v) = &self.codex_socket {
            return checked_absolute(SOCKET_ENV, v);
        }
        Ok(match &self.runtime_dir {
            Some(dir) => dir.join("codex").join("codexd.sock"),
            None => home.join("run").join("codexd.sock"),
        })
    }

    /// The config file to read, if any: the flag, else `$CODEX_CONFIG`, else
    /// `$XDG_CONFIG_HOME/codex/personalized_learning.yaml` when that file exists.
    /// `None` means the built-in default.
    pub fn config(&self, flag: Option<&Path>) -> Result<Option<PathBuf>, PathError> {
        if let Some(p) = flag {
            return Ok(Some(absolute(p)));
        }
        if let Some(v) = &self.codex_config {
            return checked_absolute(CONFIG_ENV, v).map(Some);
        }
        Ok(self
            .config_dir
            .as_ref()
            .map(|d| d.join("codex").join(CONFIG_FILE_NAME))
            .filter(|p| p.is_file()))
    }
}

/// The single-instance lock file inside CODEX_HOME.
pub fn lock_file(home: &Path) -> PathBuf {
    home.join("codexd.lock")
}

/// Where an autostarted daemon's log goes.
pub fn log_file(home: &Path) -> PathBuf {
    home.join("log").join("codexd.log")
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn checked_absolute(var: &'static str, v: &OsString) -> Result<PathBuf, PathError> {
    let p = PathBuf::from(v);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(PathError::Relative {
            var,
            value: p.display().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            data_dir: Some("/d".into()),
            config_dir: Some("/nonexistent-config".into()),
            ..Env::default()
        }
    }

    #[test]
    fn home_precedence_is_flag_then_env_then_xdg() {
        let mut e = env();
        assert_eq!(e.home(None).unwrap(), PathBuf::from("/d/codex"));
        e.codex_home = Some("/h".into());
        assert_eq!(e.home(None).unwrap(), PathBuf::from("/h"));
        assert_eq!(e.home(Some(Path::new("/f"))).unwrap(), PathBuf::from("/f"));
        e.codex_home = Some("rel".into());
        assert!(matches!(e.home(None), Err(PathError::Relative { .. })));
        assert!(matches!(Env::default().home(None), Err(PathError::NoHome)));
    }

    #[test]
    fn socket_falls_back_to_home_without_runtime_dir() {
        let mut e = env();
        let home = Path::new("/h");
        assert_eq!(
            e.socket(None, home).unwrap(),
            PathBuf::from("/h/run/codexd.sock")
        );
        e.runtime_dir = Some("/run/user/1".into());
        assert_eq!(
            e.socket(None, home).unwrap(),
            PathBuf::from("/run/user/1/codex/codexd.sock")
        );
        e.codex_socket = Some("/s.sock".into());
        assert_eq!(e.socket(None, home).unwrap(), PathBuf::from("/s.sock"));
        assert_eq!(
            e.socket(Some(Path::new("/x.sock")), home).unwrap(),
            PathBuf::from("/x.sock")
        );
    }

    #[test]
    fn config_is_builtin_when_nothing_names_one() {
        let mut e = env();
        assert_eq!(e.config(None).unwrap(), None);
        e.codex_config = Some("/c.yaml".into());
        assert_eq!(e.config(None).unwrap(), Some(PathBuf::from("/c.yaml")));
    }
}

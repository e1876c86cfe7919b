//! One daemon per CODEX_HOME: an exclusive lock on `codexd.lock`, holding the owner's pid.
//! The kernel releases the lock when the process dies, even by `kill -9`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another daemon holds it.
    #[error(
        "another codexd ({}) is already running for CODEX_HOME {}; stop it with `codex daemon stop`",
        .pid.map(|p| format!("pid {p}")).unwrap_or_else(|| "pid unknown".into()),
        .home.display()
    )]
    Held {
        /// The running daemon's pid, if it wrote one.
        pid: Option<u32>,
        /// The CODEX_HOME in question.
        home: PathBuf,
    },
    /// The lock file could not be opened or written.
    #[error("cannot use lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Take the lock for `home` and record this process's pid in it.
    pub fn acquire(home: &Path) -> Result<Self, LockError> {
        let path = codex_proto::paths::lock_file(home);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut s = String::new();
                let _ = file.read_to_string(&mut s);
                return Err(LockError::Held {
                    pid: s.trim().parse().ok(),
                    home: home.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(InstanceLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = InstanceLock::acquire(dir.path()).unwrap();
        match InstanceLock::acquire(dir.path()) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        InstanceLock::acquire(dir.path()).unwrap();
    }
}

//! The socket file: a private folder, a stale file from a crashed daemon cleared safely, a
//! listener of mode 0600, and peers of another uid refused.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use tracing::info;

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// A daemon answers on this socket already (with another CODEX_HOME).
    #[error("another daemon is listening on {0}; give this one another --socket or stop that one")]
    InUse(PathBuf),
    /// Something other than a socket is at the path; it is not ours to delete.
    #[error("{0} exists and is not a socket; move it away or choose another --socket")]
    NotASocket(PathBuf),
    /// The folder or listener could not be created.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What failed.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The reason.
        source: io::Error,
    },
}

/// Make the socket's folder (0700 when created here) and clear a stale socket file. Call only
/// while holding the instance lock: then a socket that refuses connections is a crashed
/// daemon's leftover, and one that accepts belongs to a daemon of another CODEX_HOME.
pub fn prepare(path: &Path) -> Result<(), SocketError> {
    if let Some(dir) = path.parent() {
        crate::store::private_dir(dir).map_err(|source| SocketError::Io {
            action: "create socket folder",
            path: dir.into(),
            source,
        })?;
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(SocketError::Io {
                action: "inspect",
                path: path.into(),
                source,
            });
        }
    };
    if !meta.file_type().is_socket() {
        return Err(SocketError::NotASocket(path.into()));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(SocketError::InUse(path.into())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path).map_err(|source| SocketError::Io {
                action: "remove stale socket",
                path: path.into(),
                source,
            })?;
            info!(socket = %path.display(), "removed a stale socket left by a daemon that did not stop cleanly");
            Ok(())
        }
        Err(source) => Err(SocketError::Io {
            action: "probe",
            path: path.into(),
            source,
        }),
    }
}

/// Listen on `path` with mode 0600. The file is removed by the daemon at the end of its
/// shutdown, not when the listener is dropped, so it disappears only after every part flushed.
pub fn bind(path: &Path) -> Result<Listener, SocketError> {
    let io_err = |action, source| SocketError::Io {
        action,
        path: path.into(),
        source,
    };
    let name = path
        .to_fs_name::<GenericFilePath>()
        .map_err(|e| io_err("name socket", e))?;
    ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .reclaim_name(false)
        .create_tokio()
        .map_err(|e| io_err("listen on", e))
}

/// This process's effective uid, the only uid allowed to connect.
pub fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

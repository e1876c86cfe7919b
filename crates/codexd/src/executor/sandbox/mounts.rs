//! Private mount and IPC namespaces for a confined step: `.git` pinned in place, the given
//! paths (`.git/hooks`, `.git/config`) bound read-only onto themselves, codex's own data
//! hidden, `/dev/shm` an empty tmpfs of its own, SysV IPC and message queues its own.
//!
//! Landlock only grants: it cannot carve a read-only hole out of a writable project. The hole
//! is made in the step's own mount table instead, before Landlock is applied (a landlocked
//! process may not mount, so the step cannot undo it). Root unshares the mount namespace
//! directly; anyone else first enters a new user namespace that maps their own uid and gid
//! to themselves, where the kernel allows unprivileged user namespaces.

use std::path::{Path, PathBuf};

use rustix::fs::StatVfsMountFlags;
use rustix::mount::{MountFlags, MountPropagationFlags};
use rustix::thread::UnshareFlags;

/// Why the mount namespace could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// Neither a mount namespace nor a user namespace could be made.
    #[error("this system refuses new mount namespaces ({0}), so .git cannot be kept read-only")]
    Namespace(std::io::Error),
    /// The user namespace's id maps could not be written.
    #[error("cannot map ids in a new user namespace: {0}")]
    IdMap(std::io::Error),
    /// A mount failed.
    #[error("cannot {what} {path}: {source}")]
    Mount {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
}

/// Enter private mount and IPC namespaces; pin `pinned` folders in place, bind `read_only`
/// paths read-only, hide `hidden` folders behind an empty read-only tmpfs, and give the step
/// a `/dev/shm` of its own. Paths that do not exist are skipped.
pub fn isolate(
    pinned: &[PathBuf],
    read_only: &[PathBuf],
    hidden: &[PathBuf],
    private_shm: bool,
) -> Result<(), MountError> {
    enter_namespace()?;
    let mount_err = |what, path: &Path| {
        let path = path.to_path_buf();
        move |e: rustix::io::Errno| MountError::Mount {
            what,
            path,
            source: e.into(),
        }
    };
    // Nothing done here may reach the rest of the system.
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::REC | MountPropagationFlags::PRIVATE,
    )
    .map_err(mount_err("make private", Path::new("/")))?;
    // A mount point cannot be renamed or removed: `.git` stays the `.git` whose hooks and
    // config are read-only, rather than being moved aside for a new one.
    for p in pinned.iter().filter(|p| p.is_dir()) {
        rustix::mount::mount_bind(p, p).map_err(mount_err("pin", p))?;
    }
    for p in read_only.iter().filter(|p| p.exists()) {
        let kept = locked_flags(p);
        rustix::mount::mount_bind(p, p).map_err(mount_err("bind", p))?;
        rustix::mount::mount_remount(p, MountFlags::BIND | MountFlags::RDONLY | kept, "")
            .map_err(mount_err("make read-only", p))?;
    }
    for p in hidden.iter().filter(|p| p.is_dir()) {
        rustix::mount::mount(
            "tmpfs",
            p,
            "tmpfs",
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            c"mode=0700,size=4k",
        )
        .map_err(mount_err("hide", p))?;
    }
    let shm = Path::new("/dev/shm");
    if private_shm && shm.is_dir() {
        rustix::mount::mount(
            "tmpfs",
            shm,
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            c"mode=1777",
        )
        .map_err(mount_err("mount a private tmpfs on", shm))?;
    }
    Ok(())
}

fn enter_namespace() -> Result<(), MountError> {
    #[allow(deprecated)]
    // `unshare` is only unsafe with CLONE_FILES (threads sharing descriptors); the helper is
    // single-threaded and unshares no descriptor table.
    let unshare = rustix::thread::unshare;
    // A mount namespace for the binds; an IPC namespace, so SysV IPC objects and POSIX
    // message queues outside stay out of reach.
    let direct = unshare(UnshareFlags::NEWNS | UnshareFlags::NEWIPC);
    if direct.is_ok() {
        return Ok(());
    }
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    unshare(UnshareFlags::NEWUSER | UnshareFlags::NEWNS | UnshareFlags::NEWIPC)
        .map_err(|e| MountError::Namespace(direct.err().map_or(e.into(), Into::into)))?;
    // The step keeps its own ids: files it writes belong to the user, as without the sandbox.
    std::fs::write("/proc/self/setgroups", "deny").map_err(MountError::IdMap)?;
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n")).map_err(MountError::IdMap)?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n")).map_err(MountError::IdMap)?;
    Ok(())
}

/// The flags of the mount `path` is on that a remount must keep: inside a user namespace
/// the kernel refuses to clear them.
fn locked_flags(path: &Path) -> MountFlags {
    let Ok(st) = rustix::fs::statvfs(path) else {
        return MountFlags::empty();
    };
    let f = st.f_flag;
    [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ]
    .into_iter()
    .filter(|(st, _)| f.contains(*st))
    .fold(MountFlags::empty(), |acc, (_, m)| acc | m)
}

//! The seccomp layer: what a confined step may not ask of the kernel, whatever its files say.
//!
//! - Sockets: only stream and packet socketpairs (pipes between a step's own processes; a
//!   datagram pair could be addressed to any socket by path) and netlink for routing and
//!   socket queries (`ip addr`, `ss`, name lookups) unless the step may use the network, which
//!   adds TCP/UDP over IPv4 and IPv6. Unix sockets by path or abstract name are refused, except
//!   where Landlock checks the path (see [`super::landlock`]): that keeps a step from codexd's
//!   own socket, the user's session bus, docker and terminal multiplexers. `io_uring`, which
//!   can open sockets without `socket(2)`, is refused.
//! - Privileged syscalls (modules, reboot, mounts, clocks, namespaces also through `clone`,
//!   ...) are refused even to root, as are keyrings, extended attributes, the limits,
//!   priorities and CPUs of other processes, set-user-id and set-group-id bits (`chmod`,
//!   `open`, `mknod`, `O_TMPFILE`), `TIOCSTI` (typing into a terminal), `kill(-1, …)`
//!   (every process of the user), and `TIOCSCTTY` and `TIOCNOTTY` (a step's controlling
//!   terminal is the one codexd gave it, or none). `clone3` and `openat2`, whose arguments
//!   are in memory where seccomp cannot look, fail as if the kernel had none, so libraries
//!   fall back.
//!
//! A refused call fails with EPERM, so programs report "Operation not permitted".

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

/// Why the filter could not be built or installed.
#[derive(Debug, thiserror::Error)]
#[error("seccomp could not be applied ({0}); without it the network cannot be closed")]
pub struct SeccompError(String);

impl From<seccompiler::Error> for SeccompError {
    fn from(e: seccompiler::Error) -> Self {
        SeccompError(e.to_string())
    }
}

impl From<seccompiler::BackendError> for SeccompError {
    fn from(e: seccompiler::BackendError) -> Self {
        SeccompError(e.to_string())
    }
}

/// Syscalls a confined step never needs and could use to harm the machine or leave the
/// sandbox.
const REFUSED: &[i64] = &[
    libc::SYS_reboot,
    libc::SYS_kexec_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_acct,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_bpf,
    libc::SYS_setns,
    libc::SYS_unshare,
    libc::SYS_open_by_handle_at,
    libc::SYS_quotactl,
    libc::SYS_vhangup,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    // Keyrings are shared with the user's session (kerberos tickets, ssh keys).
    libc::SYS_add_key,
    libc::SYS_keyctl,
    libc::SYS_request_key,
    // Extended attributes (ACLs among them) can grant others access outside the project,
    // where Landlock does not look at metadata.
    libc::SYS_setxattr,
    libc::SYS_lsetxattr,
    libc::SYS_fsetxattr,
    libc::SYS_removexattr,
    libc::SYS_lremovexattr,
    libc::SYS_fremovexattr,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_kexec_file_load,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// Socket calls that only make sense with a socket from `socket(2)`: refused outright
/// when the step has none to use.
const CONNECTING: &[i64] = &[
    libc::SYS_connect,
    libc::SYS_listen,
    libc::SYS_accept,
    libc::SYS_accept4,
];

fn cond(arg: u8, len: Len, op: Op, value: u64) -> Result<SeccompCondition, SeccompError> {
    Ok(SeccompCondition::new(arg, len, op, value)?)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, SeccompError> {
    Ok(SeccompRule::new(conditions)?)
}

/// Rules matching a mode argument (at `arg`) with the set-user-id or set-group-id bit.
fn with_set_id_bits(arg: u8, extra: &[SeccompCondition]) -> Result<Vec<SeccompRule>, SeccompError> {
    [libc::S_ISUID, libc::S_ISGID]
        .into_iter()
        .map(|bit| {
            let mut c = extra.to_vec();
            c.push(cond(
                arg,
                Len::Dword,
                Op::MaskedEq(u64::from(bit)),
                u64::from(bit),
            )?);
            rule(c)
        })
        .collect()
}

/// `arg` (a pid or id) is not 0, i.e. names another process than the caller.
fn other_process(arg: u8) -> Result<Vec<SeccompRule>, SeccompError> {
    Ok(vec![rule(vec![cond(arg, Len::Dword, Op::Ne, 0)?])?])
}

/// The filter for a step: `network` adds IPv4/IPv6 sockets, `unix_paths` Unix sockets
/// (only when Landlock checks the paths they connect to). Calls it matches fail with EPERM.
pub fn filter(network: bool, unix_paths: bool) -> Result<BpfProgram, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in REFUSED {
        rules.insert(*nr, Vec::new()); // no conditions: always refused
    }
    let mut families = vec![libc::AF_NETLINK];
    if network {
        families.extend([libc::AF_INET, libc::AF_INET6]);
    }
    if unix_paths {
        families.push(libc::AF_UNIX);
    }
    if !network && !unix_paths {
        for nr in CONNECTING {
            rules.insert(*nr, Vec::new());
        }
    }
    let other_family = families
        .iter()
        .map(|f| cond(0, Len::Dword, Op::Ne, *f as u64))
        .collect::<Result<Vec<_>, _>>()?;
    // Netlink only for the kernel's routing and socket queries (`ip addr`, `ss`): the other
    // protocols reach other processes (NETLINK_USERSOCK) or change the system.
    let other_netlink = rule(vec![
        cond(0, Len::Dword, Op::Eq, libc::AF_NETLINK as u64)?,
        cond(2, Len::Dword, Op::Ne, libc::NETLINK_ROUTE as u64)?,
        cond(2, Len::Dword, Op::Ne, libc::NETLINK_SOCK_DIAG as u64)?,
    ])?;
    rules.insert(libc::SYS_socket, vec![rule(other_family)?, other_netlink]);
    // Socketpairs: streams and packets between a step's own processes. Not datagrams, which
    // `sendto`/`sendmsg` can address to any socket by path.
    let dgram = cond(1, Len::Dword, Op::MaskedEq(0xf), libc::SOCK_DGRAM as u64)?;
    rules.insert(
        libc::SYS_socketpair,
        vec![
            rule(vec![cond(0, Len::Dword, Op::Ne, libc::AF_UNIX as u64)?])?,
            rule(vec![dgram])?,
        ],
    );
    // kill(-1, sig): every process the user may signal.
    rules.insert(
        libc::SYS_kill,
        vec![rule(vec![cond(
            0,
            Len::Dword,
            Op::Eq,
            u64::from(u32::MAX),
        )?])?],
    );
    // Limits, priorities and CPUs of other processes (Landlock scopes signals, not these).
    rules.insert(libc::SYS_prlimit64, other_process(0)?);
    rules.insert(libc::SYS_setpriority, other_process(1)?);
    rules.insert(libc::SYS_ioprio_set, other_process(1)?);
    for nr in [
        libc::SYS_sched_setaffinity,
        libc::SYS_sched_setscheduler,
        libc::SYS_sched_setparam,
        libc::SYS_sched_setattr,
    ] {
        rules.insert(nr, other_process(0)?);
    }
    // Typing into a terminal, the console's own requests, and taking or dropping a
    // controlling terminal: the helper gave a step on a terminal its own before this filter,
    // and Landlock lets it open `/dev/tty` only because that stays the one.
    rules.insert(
        libc::SYS_ioctl,
        [
            libc::TIOCSTI,
            libc::TIOCLINUX,
            libc::TIOCSCTTY,
            libc::TIOCNOTTY,
        ]
        .into_iter()
        .map(|req| rule(vec![cond(1, Len::Dword, Op::Eq, req)?]))
        .collect::<Result<_, _>>()?,
    );
    // New namespaces, through clone (clone3 is refused in `fallback_filter`).
    rules.insert(
        libc::SYS_clone,
        [
            libc::CLONE_NEWNS,
            libc::CLONE_NEWUSER,
            libc::CLONE_NEWPID,
            libc::CLONE_NEWNET,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWCGROUP,
        ]
        .into_iter()
        .map(|f| rule(vec![cond(0, Len::Qword, Op::MaskedEq(f as u64), f as u64)?]))
        .collect::<Result<_, _>>()?,
    );
    rules.insert(libc::SYS_fchmod, with_set_id_bits(1, &[])?);
    rules.insert(libc::SYS_fchmodat, with_set_id_bits(2, &[])?);
    rules.insert(libc::SYS_fchmodat2, with_set_id_bits(2, &[])?);
    rules.insert(libc::SYS_mknodat, with_set_id_bits(2, &[])?);
    let flag = |arg, f: libc::c_int| cond(arg, Len::Dword, Op::MaskedEq(f as u64), f as u64);
    let mut openat = with_set_id_bits(3, &[flag(2, libc::O_CREAT)?])?;
    openat.extend(with_set_id_bits(3, &[flag(2, libc::O_TMPFILE)?])?);
    rules.insert(libc::SYS_openat, openat);
    #[cfg(target_arch = "x86_64")]
    {
        rules.insert(libc::SYS_chmod, with_set_id_bits(1, &[])?);
        let mut open = with_set_id_bits(2, &[flag(1, libc::O_CREAT)?])?;
        open.extend(with_set_id_bits(2, &[flag(1, libc::O_TMPFILE)?])?);
        rules.insert(libc::SYS_open, open);
        rules.insert(libc::SYS_creat, with_set_id_bits(1, &[])?);
        rules.insert(libc::SYS_mknod, with_set_id_bits(1, &[])?);
    }
    compile(rules, libc::EPERM)
}

/// Calls refused as if the kernel did not have them (ENOSYS), so libraries fall back to ones
/// the main filter can inspect: `clone3` (its flags are in memory, `clone`'s in a register)
/// and `openat2` (its mode too).
pub fn fallback_filter() -> Result<BpfProgram, SeccompError> {
    let rules = [libc::SYS_clone3, libc::SYS_openat2]
        .into_iter()
        .map(|nr| (nr, Vec::new()))
        .collect();
    compile(rules, libc::ENOSYS)
}

fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: i32) -> Result<BpfProgram, SeccompError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)?;
    let program: BpfProgram = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch,
    )?
    .try_into()?;
    Ok(program)
}

/// Install both filters on this thread; inherited by everything it execs.
pub fn apply(network: bool, unix_paths: bool) -> Result<(), SeccompError> {
    let main = filter(network, unix_paths)?;
    let fallback = fallback_filter()?;
    seccompiler::apply_filter(&fallback)?;
    seccompiler::apply_filter(&main)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_build_for_every_mode() {
        for (net, unix) in [(false, false), (true, false), (false, true), (true, true)] {
            let p = filter(net, unix).unwrap();
            assert!(!p.is_empty());
            assert!(!fallback_filter().unwrap().is_empty());
        }
    }
}

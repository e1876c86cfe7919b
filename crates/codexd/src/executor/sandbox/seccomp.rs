//! The seccomp layer: what a confined step may not ask of the kernel, whatever its files say.
//!
//! - Sockets: only socketpairs (pipes between a step's own processes) and netlink (local
//!   kernel queries: `ip addr`, name lookups) unless the step may use the network, which adds
//!   TCP/UDP over IPv4 and IPv6. Unix sockets by path or abstract name are refused, except
//!   where Landlock checks the path (see [`super::landlock`]): that keeps a step from codexd's
//!   own socket, the user's session bus, docker and terminal multiplexers. `io_uring`, which
//!   can open sockets without `socket(2)`, is refused.
//! - Privileged syscalls (modules, reboot, mounts, clocks, namespaces, ...) are refused even
//!   to root, as are set-user-id and set-group-id bits, `TIOCSTI` (typing into a terminal) and
//!   `kill(-1, …)` (every process of the user).
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

/// The filter for a step: `network` adds IPv4/IPv6 sockets, `unix_paths` Unix sockets
/// (only when Landlock checks the paths they connect to).
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
    rules.insert(libc::SYS_socket, vec![rule(other_family)?]);
    rules.insert(
        libc::SYS_socketpair,
        vec![rule(vec![cond(
            0,
            Len::Dword,
            Op::Ne,
            libc::AF_UNIX as u64,
        )?])?],
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
    rules.insert(
        libc::SYS_ioctl,
        [libc::TIOCSTI, libc::TIOCLINUX]
            .into_iter()
            .map(|req| rule(vec![cond(1, Len::Dword, Op::Eq, req)?]))
            .collect::<Result<_, _>>()?,
    );
    rules.insert(libc::SYS_fchmod, with_set_id_bits(1, &[])?);
    rules.insert(libc::SYS_fchmodat, with_set_id_bits(2, &[])?);
    rules.insert(libc::SYS_fchmodat2, with_set_id_bits(2, &[])?);
    let creating = |arg| {
        cond(
            arg,
            Len::Dword,
            Op::MaskedEq(libc::O_CREAT as u64),
            libc::O_CREAT as u64,
        )
    };
    rules.insert(libc::SYS_openat, with_set_id_bits(3, &[creating(2)?])?);
    #[cfg(target_arch = "x86_64")]
    {
        rules.insert(libc::SYS_chmod, with_set_id_bits(1, &[])?);
        rules.insert(libc::SYS_open, with_set_id_bits(2, &[creating(1)?])?);
        rules.insert(libc::SYS_creat, with_set_id_bits(1, &[])?);
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH)?;
    let program: BpfProgram = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )?
    .try_into()?;
    Ok(program)
}

/// Install the filter on this thread; inherited by everything it execs.
pub fn apply(network: bool, unix_paths: bool) -> Result<(), SeccompError> {
    let program = filter(network, unix_paths)?;
    seccompiler::apply_filter(&program)?;
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
        }
    }
}

//! The Landlock layer: read and execute everywhere, write only under the writable roots (and
//! a few harmless devices); no TCP unless the step may use the network; and, where the kernel
//! has them, no signals and no abstract Unix sockets outside the step's own tree, and no
//! Unix sockets by path but those allowed.
//!
//! Writes are a hard requirement (Landlock ABI 3, Linux 6.2: file creation, removal,
//! renames and truncation all checked); the rest is applied as far as the kernel goes, and
//! [`Enforced`] says how far that was.

use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, Ruleset,
    RulesetAttr, RulesetCreatedAttr, Scope, path_beneath_rules,
};

use super::Confinement;

/// Devices any program may write: sinks and sources of bytes. Not `/dev/tty`, unless the
/// step has a terminal of its own (see [`restrict`]).
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// How much of the Landlock layer the kernel enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Enforced {
    /// The Landlock ABI in effect.
    pub abi: u32,
    /// TCP connect and bind are checked (ABI 4).
    pub tcp: bool,
    /// Signals and abstract Unix sockets are scoped to the step's tree (ABI 6).
    pub scoped: bool,
    /// Connecting to Unix sockets by path is checked (ABI 9).
    pub unix_paths: bool,
}

/// Why Landlock could not be applied.
#[derive(Debug, thiserror::Error)]
#[error(
    "Landlock could not confine writes ({0}); it needs Linux 6.2 or newer with Landlock enabled"
)]
pub struct LandlockError(String);

/// `/dev/tty` always names the caller's controlling terminal, whatever that is.
const TTY: &str = "/dev/tty";

/// Restrict this thread (and what it execs) to `c`. With `terminal` (codexd's pseudo-terminal
/// is already the step's controlling terminal) the step may also open `/dev/tty` to write
/// and set modes, as editors, pagers and password prompts do; that reaches only its own
/// terminal, since seccomp refuses a confined step TIOCSCTTY and TIOCNOTTY, the calls that
/// would swap it. Without one, `/dev/tty` stays read-only, so a terminal a step acquired
/// (a free pseudo-terminal it opened) does not take its writes and ioctls.
pub fn restrict(c: &Confinement, terminal: bool) -> Result<Enforced, LandlockError> {
    let err = |e: landlock::RulesetError| LandlockError(e.to_string());
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(ABI::V3))
        .map_err(err)?
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(ABI::V9))
        .map_err(err)?
        .scope(Scope::from_all(ABI::V6))
        .map_err(err)?;
    if !c.network {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI::V4))
            .map_err(err)?;
    }
    let devices: Vec<PathBuf> = DEVICES
        .iter()
        .chain(terminal.then_some(&TTY))
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    // A private /dev/shm (see `mounts`) is the step's own, like its temp folder.
    let shm = PathBuf::from("/dev/shm");
    let writable: Vec<&PathBuf> = c
        .writable
        .iter()
        .chain(c.private_shm.then_some(&shm))
        .filter(|p| p.exists())
        .collect();
    let sockets: Vec<&PathBuf> = c.unix_sockets.iter().filter(|p| p.exists()).collect();
    let status = ruleset
        .create()
        .map_err(err)?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(ABI::V1)))
        .map_err(err)?
        .add_rules(path_beneath_rules(&devices, AccessFs::from_all(ABI::V9)))
        .map_err(err)?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(ABI::V9)))
        .map_err(err)?
        .add_rules(path_beneath_rules(sockets, AccessFs::ResolveUnix))
        .map_err(err)?
        .restrict_self()
        .map_err(err)?;
    let abi = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi,
        _ => ABI::Unsupported,
    };
    if abi < ABI::V3 || status.ruleset == landlock::RulesetStatus::NotEnforced {
        return Err(LandlockError(format!(
            "the kernel enforces Landlock ABI {} only",
            abi_number(abi)
        )));
    }
    Ok(Enforced {
        abi: abi_number(abi),
        tcp: abi >= ABI::V4,
        scoped: abi >= ABI::V6,
        unix_paths: abi >= ABI::V9,
    })
}

fn abi_number(abi: ABI) -> u32 {
    [
        ABI::V1,
        ABI::V2,
        ABI::V3,
        ABI::V4,
        ABI::V5,
        ABI::V6,
        ABI::V7,
        ABI::V8,
        ABI::V9,
        ABI::V10,
    ]
    .iter()
    .take_while(|v| **v <= abi)
    .count() as u32
}

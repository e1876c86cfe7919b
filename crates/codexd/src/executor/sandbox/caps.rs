//! Root's capabilities for a confined step: only those that let root read and write files as
//! it always could (permission overrides: where it may write is Landlock's business). Gone
//! are the ones that could leave the sandbox or harm the machine: loading modules, rebooting,
//! raw sockets, mounting, changing ids, ptrace of anything, setting file capabilities, and
//! changing owners or the metadata of files root does not own (Landlock does not check
//! metadata). Dropped from the bounding set too, so no program the step runs gets them back.

use rustix::thread::{CapabilitySet, CapabilitySets};

/// Capabilities a confined root step keeps.
pub const KEPT: CapabilitySet = CapabilitySet::DAC_OVERRIDE.union(CapabilitySet::DAC_READ_SEARCH);

/// Drop every capability but [`KEPT`]; `Ok(false)` when there was nothing to drop (not root).
pub fn drop_dangerous() -> std::io::Result<bool> {
    let now = rustix::thread::capabilities(None)?;
    if now.permitted.is_empty() && !rustix::process::geteuid().is_root() {
        // Without capabilities and with no_new_privs (set by Landlock), exec grants none.
        return Ok(false);
    }
    // The bounding set first: removing from it needs CAP_SETPCAP, which goes next.
    for cap in CapabilitySet::all().iter() {
        if KEPT.contains(cap) {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(cap) {
            // EINVAL: a capability this kernel does not know.
            Ok(()) | Err(rustix::io::Errno::INVAL) => {}
            Err(e) => return Err(e.into()),
        }
    }
    rustix::thread::clear_ambient_capability_set()?;
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: now.effective & KEPT,
            permitted: now.permitted & KEPT,
            inheritable: CapabilitySet::empty(),
        },
    )?;
    Ok(true)
}

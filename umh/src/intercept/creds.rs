//! The caller's credentials and the kernel's `ns_capable(user_ns, CAP_NET_ADMIN)`.
//!
//! The kernel's `cap_capable()` walks from the target user namespace (the one owning the
//! socket's netns) towards the root:
//!
//! ```text
//! for ns = target; ; ns = ns.parent:
//!     if ns == caller.user_ns:                                   return CapEff has the cap
//!     if ns is at or above caller.user_ns's level:               return EPERM
//!     if ns.parent == caller.user_ns and ns.owner == caller.euid: return OK (owner has all caps)
//! ```
//!
//! The same walk is done here with nsfs ioctls (`NS_GET_USERNS`, `NS_GET_PARENT`,
//! `NS_GET_OWNER_UID`); "at or above the caller's level" is reaching the top without meeting
//! the caller's namespace.

use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use super::{Caller, NsId};
use crate::sys::procmem;

/// `CAP_NET_ADMIN`.
const CAP_NET_ADMIN: u32 = 12;
/// User namespaces nest at most 32 deep; bound the walk anyway.
const MAX_USERNS_DEPTH: usize = 64;

/// Euid and `CapEff` from `/proc/TID/status`, and the caller's user namespace.
pub(super) fn read(tid: u32) -> io::Result<(u32, u64, NsId)> {
    let status = fs::read_to_string(format!("/proc/{tid}/status"))?;
    let (euid, cap_eff) = parse_status(&status)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unparsable /proc status"))?;
    let md = fs::metadata(format!("/proc/{tid}/ns/user"))?;
    Ok((
        euid,
        cap_eff,
        NsId {
            dev: md.dev(),
            ino: md.ino(),
        },
    ))
}

/// `Uid:` (second field: effective) and `CapEff:` (hex) of a `/proc/PID/status` text.
pub(super) fn parse_status(status: &str) -> Option<(u32, u64)> {
    let mut euid = None;
    let mut cap = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Uid:") {
            euid = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok());
        } else if let Some(rest) = line.strip_prefix("CapEff:") {
            cap = u64::from_str_radix(rest.trim(), 16).ok();
        }
    }
    Some((euid?, cap?))
}

fn ns_id(fd: BorrowedFd<'_>) -> io::Result<NsId> {
    let (dev, ino) = procmem::fd_dev_ino(fd)?;
    Ok(NsId { dev, ino })
}

/// Does a caller with (`euid`, `cap_eff`, `userns`) have `CAP_NET_ADMIN` over `netns`?
pub(super) fn net_admin(
    euid: u32,
    cap_eff: u64,
    userns: NsId,
    netns: BorrowedFd<'_>,
) -> io::Result<bool> {
    let has_cap = cap_eff & (1u64 << CAP_NET_ADMIN) != 0;
    let mut ns: OwnedFd = procmem::ns_owner_userns(netns)?;
    for _ in 0..MAX_USERNS_DEPTH {
        if ns_id(ns.as_fd())? == userns {
            return Ok(has_cap);
        }
        let parent = match procmem::userns_parent(ns.as_fd()) {
            Ok(p) => p,
            // The top of what the daemon can see: the caller's namespace is not an ancestor.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Ok(false),
            Err(e) => return Err(e),
        };
        if ns_id(parent.as_fd())? == userns && procmem::userns_owner_uid(ns.as_fd())? == euid {
            return Ok(true);
        }
        ns = parent;
    }
    Ok(false)
}

/// Everything about the caller, with the capability decision for `netns`.
pub(super) fn caller(tid: u32, netns: BorrowedFd<'_>) -> io::Result<Caller> {
    let (euid, cap_eff, userns) = read(tid)?;
    Ok(Caller {
        euid,
        cap_eff,
        userns,
        net_admin: net_admin(euid, cap_eff, userns, netns)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let s = "Name:\tx\nUid:\t0\t65534\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\n\
                 CapEff:\t0000000000001000\nCapBnd:\t000001ffffffffff\n";
        assert_eq!(parse_status(s), Some((65534, 0x1000)));
        assert_eq!(parse_status("Uid:\t1\t2\n"), None);
        assert_eq!(parse_status("CapEff:\tzz\nUid:\t1\t2\t3\t4\n"), None);
    }

    #[test]
    fn own_process_in_own_netns() {
        // The test process: same user namespace as its netns owner (unless run oddly), so the
        // answer is exactly the CapEff bit.
        let me = std::process::id();
        let (euid, cap, userns) = read(me).unwrap();
        let netns = fs::File::open(format!("/proc/{me}/ns/net")).unwrap();
        let owner = procmem::ns_owner_userns(netns.as_fd()).unwrap();
        if ns_id(owner.as_fd()).unwrap() == userns {
            assert_eq!(
                net_admin(euid, cap, userns, netns.as_fd()).unwrap(),
                cap & (1 << 12) != 0
            );
            assert!(!net_admin(euid, cap & !(1 << 12), userns, netns.as_fd()).unwrap());
        }
    }
}

//! `cgroup` revisions 0-2 (`xt_cgroup.c`): only `checkentry`; LOCAL_OUT, POST_ROUTING and
//! LOCAL_IN.
//!
//! ```text
//! struct xt_cgroup_info_v0 { u32 id; u32 invert; };                                  // 8
//! struct xt_cgroup_info_v1 { u8 has_path, has_classid, invert_path, invert_classid;
//!     char path[4096]; u32 classid @4100; void *priv @4104; };                      // 4112
//! struct xt_cgroup_info_v2 { u8 has_path, has_classid, invert_path, invert_classid;
//!     union { char path[512]; u32 classid; } @4; void *priv @520; };                // 528
//! ```
//! `cgroup_get_from_path()` depends on the machine's cgroup tree. Modelled: only the root
//! (a path made of `/` only, or empty) exists; any other path fails the lookup → EINVAL.

use super::{CheckCtx, Rd};
use crate::error::Errno;

/// `cgroup_mt_check_v0`.
pub(super) fn check_v0(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u32(4) & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The shared part of `cgroup_mt_check_v1` / `_v2`.
fn check_path_or_classid(p: Rd<'_>, path_len: usize) -> Result<(), Errno> {
    let (has_path, has_classid) = (p.u8(0), p.u8(1));
    if p.u8(2) & !1 != 0 || p.u8(3) & !1 != 0 {
        return Err(Errno::EINVAL);
    }
    if has_path == 0 && has_classid == 0 {
        return Err(Errno::EINVAL);
    }
    if has_path != 0 && has_classid != 0 {
        return Err(Errno::EINVAL);
    }
    if has_path != 0 {
        let path = p.cstr(4, path_len);
        if !path.iter().all(|&b| b == b'/') {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}

/// `cgroup_mt_check_v1`.
pub(super) fn check_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    check_path_or_classid(Rd(p), 4096)
}

/// `cgroup_mt_check_v2`.
pub(super) fn check_v2(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    check_path_or_classid(Rd(p), 512)
}

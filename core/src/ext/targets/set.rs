//! `SET` (`net/netfilter/xt_set.c`): add to / delete from / map through ipsets. Four IPv4
//! revisions:
//!
//! ```text
//! rev 0 (64): add_set, del_set as xt_set_info_v0 {index u16, pad, u32 flags[7]}
//! rev 1 (8):  add_set, del_set as xt_set_info {index u16, dim u8, flags u8}
//! rev 2 (16): rev 1 + flags u32 @8, timeout u32 @12
//! rev 3 (20): add_set, del_set, map_set, flags u32 @12, timeout u32 @16
//! ```
//!
//! The checkentry looks each referenced set index up in the namespace's ipset list. A fresh
//! network namespace has no sets, so any index other than `IPSET_INVALID_ID` is ENOENT; this
//! is the state modelled here.

use super::wire::{hook, Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `SET` revision 0.
pub const SET_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "SET",
    revision: 0,
    family: Family::Ipv4,
    size: 64,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_set_v0,
};

/// `SET` revision 1.
pub const SET_V1: ExtDesc = ExtDesc {
    revision: 1,
    size: 8,
    check: check_set_v1,
    ..SET_V0
};

/// `SET` revision 2 (`--exist`, `--timeout`).
pub const SET_V2: ExtDesc = ExtDesc {
    revision: 2,
    size: 16,
    ..SET_V1
};

/// `SET` revision 3 (`--map-set`).
pub const SET_V3: ExtDesc = ExtDesc {
    revision: 3,
    size: 20,
    check: check_set_v3,
    ..SET_V0
};

/// `IPSET_INVALID_ID`: "no set".
pub const IPSET_INVALID_ID: u16 = 0xffff;
/// `IPSET_DIM_MAX`.
const IPSET_DIM_MAX: u8 = 6;
/// `IPSET_FLAG_EXIST`.
pub const IPSET_FLAG_EXIST: u32 = 1 << 0;
/// `IPSET_FLAG_MAP_SKBMARK`.
pub const IPSET_FLAG_MAP_SKBMARK: u32 = 1 << 8;
/// `IPSET_FLAG_MAP_SKBPRIO`.
pub const IPSET_FLAG_MAP_SKBPRIO: u32 = 1 << 9;
/// `IPSET_FLAG_MAP_SKBQUEUE`.
pub const IPSET_FLAG_MAP_SKBQUEUE: u32 = 1 << 10;

/// `ip_set_nfnl_get_byindex` in a fresh namespace: every real index misses.
fn lookup(index: u16) -> Result<(), Errno> {
    if index != IPSET_INVALID_ID {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

/// `set_target_v0_checkentry`: both sets, then `u.flags[IPSET_DIM_MAX - 1]` must be 0.
fn check_set_v0(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    lookup(r.u16(0))?;
    lookup(r.u16(32))?;
    // flags[5] of each xt_set_info_v0 (flags at +4, 4 bytes each).
    if r.u32(24) != 0 || r.u32(56) != 0 {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `set_target_v1_checkentry` (also revision 2).
fn check_set_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    lookup(r.u16(0))?;
    lookup(r.u16(4))?;
    if r.u8(2) > IPSET_DIM_MAX || r.u8(6) > IPSET_DIM_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `set_target_v3_checkentry`: the map set is only usable from `mangle`, and mapping the
/// priority or queue only from FORWARD/OUTPUT/POSTROUTING; both are checked before its
/// lookup.
fn check_set_v3(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    lookup(r.u16(0))?;
    lookup(r.u16(4))?;
    if r.u16(8) != IPSET_INVALID_ID {
        if ctx.table != b"mangle" {
            return Err(Errno::EINVAL);
        }
        if r.u32(12) & (IPSET_FLAG_MAP_SKBPRIO | IPSET_FLAG_MAP_SKBQUEUE) != 0
            && ctx.hook_mask & !(hook::FWD | hook::OUT | hook::POST) != 0
        {
            return Err(Errno::EINVAL);
        }
        lookup(r.u16(8))?;
    }
    if r.u8(2) > IPSET_DIM_MAX || r.u8(6) > IPSET_DIM_MAX || r.u8(10) > IPSET_DIM_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `IPSET_MATCH_INV` in `xt_set_info_v0.u.flags[0]`.
const IPSET_MATCH_INV: u32 = 0x04;
/// `IPSET_SRC`.
const IPSET_SRC: u32 = 0x01;
/// `IPSET_INV_MATCH` (`enum ip_set_kopt`).
const IPSET_INV_MATCH: u8 = 0x01;

/// `compat_flags`, which `set_target_v0_checkentry` applies to the kernel's copy of both
/// `xt_set_info_v0` on success, so GET_ENTRIES returns them changed: `u.compat.dim` (byte
/// +28) becomes the number of leading non-zero `u.flags[0..5]`, and `u.compat.flags` (byte
/// +29) gains `IPSET_INV_MATCH` and one `1 << dim` bit per `IPSET_SRC` dimension.
pub(crate) fn compat_flags_v0(payload: &mut [u8]) {
    for base in [0usize, 32] {
        let r = Rd(payload.get(base..).unwrap_or(&[]));
        let flags: [u32; 5] =
            core::array::from_fn(|i| r.u32(4usize.saturating_add(i.saturating_mul(4))));
        let mut compat_flags = r.u8(29);
        if flags.first().is_some_and(|f| f & IPSET_MATCH_INV != 0) {
            compat_flags |= IPSET_INV_MATCH;
        }
        let mut dim: u8 = 0;
        for f in flags.iter().take_while(|&&f| f != 0) {
            dim = dim.saturating_add(1);
            if f & IPSET_SRC != 0 {
                compat_flags |= 1u8.checked_shl(u32::from(dim)).unwrap_or(0);
            }
        }
        for (off, v) in [(28usize, dim), (29, compat_flags)] {
            if let Some(b) = base.checked_add(off).and_then(|o| payload.get_mut(o)) {
                *b = v;
            }
        }
    }
}

/// `struct xt_set_info`: one set reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetRef {
    /// Set index, `IPSET_INVALID_ID` for none.
    pub index: u16,
    /// Number of `src`/`dst` dimensions.
    pub dim: u8,
    /// `IPSET_SRC`/`IPSET_DST` bits per dimension.
    pub flags: u8,
}

impl SetRef {
    /// No set.
    const NONE: SetRef = SetRef {
        index: IPSET_INVALID_ID,
        dim: 0,
        flags: 0,
    };

    fn read(r: Rd<'_>, off: usize) -> Self {
        SetRef {
            index: r.u16(off),
            dim: r.u8(off.saturating_add(2)),
            flags: r.u8(off.saturating_add(3)),
        }
    }

    fn write(&self, w: &mut Wr<'_>, off: usize) {
        w.u16(off, self.index);
        w.u8(off.saturating_add(2), self.dim);
        w.u8(off.saturating_add(3), self.flags);
    }
}

/// `SET` revisions 1..3 (revision 0 stays an opaque payload). Fields a revision lacks read
/// back as "no set", flags 0 and timeout `u32::MAX` (iptables' "no timeout").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    /// `--add-set`.
    pub add_set: SetRef,
    /// `--del-set`.
    pub del_set: SetRef,
    /// `--map-set` (revision 3).
    pub map_set: SetRef,
    /// `IPSET_FLAG_*` (revisions 2, 3).
    pub flags: u32,
    /// Timeout for added entries (revisions 2, 3).
    pub timeout: u32,
}

impl Payload for Set {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        let (map_set, flags, timeout) = match rev {
            1 => (SetRef::NONE, 0, u32::MAX),
            2 => (SetRef::NONE, r.u32(8), r.u32(12)),
            3 => (SetRef::read(r, 8), r.u32(12), r.u32(16)),
            _ => return None,
        };
        Some(Set {
            add_set: SetRef::read(r, 0),
            del_set: SetRef::read(r, 4),
            map_set,
            flags,
            timeout,
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        self.add_set.write(w, 0);
        self.del_set.write(w, 4);
        match rev {
            2 => {
                w.u32(8, self.flags);
                w.u32(12, self.timeout);
            }
            3 => {
                self.map_set.write(w, 8);
                w.u32(12, self.flags);
                w.u32(16, self.timeout);
            }
            _ => {}
        }
    }

    /// `set_target_save_v3`. Printing a set reference needs the set's name, which iptables
    /// asks the kernel's ipset for; that state is not modelled, so a payload naming a set
    /// cannot be printed (an error). In a fresh namespace no such rule can be installed.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        if [&self.add_set, &self.del_set, &self.map_set]
            .iter()
            .any(|s| s.index != IPSET_INVALID_ID)
        {
            return Err(fmt::Error);
        }
        write!(out, "-j {name}")?;
        if self.flags & IPSET_FLAG_EXIST != 0 {
            out.write_str(" --exist")?;
        }
        if self.timeout != u32::MAX {
            write!(out, " --timeout {}", self.timeout)?;
        }
        for (bit, opt) in [
            (IPSET_FLAG_MAP_SKBMARK, " --map-mark"),
            (IPSET_FLAG_MAP_SKBPRIO, " --map-prio"),
            (IPSET_FLAG_MAP_SKBQUEUE, " --map-queue"),
        ] {
            if self.flags & bit != 0 {
                out.write_str(opt)?;
            }
        }
        Ok(())
    }
}

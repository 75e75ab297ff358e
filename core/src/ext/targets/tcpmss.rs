//! The TCP-header targets: `TCPMSS` (`net/netfilter/xt_TCPMSS.c`, `struct xt_tcpmss_info`:
//! u16 `mss`, 0xffff = clamp to PMTU) and `TCPOPTSTRIP` (`xt_TCPOPTSTRIP.c`, a 256-bit
//! option bitmap as `u32 strip_bmap[8]`). Both require `-p tcp` without `!` through the
//! descriptor's `proto`.

use super::wire::{hook, Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{check_none, CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `TCPMSS` revision 0.
pub const TCPMSS: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "TCPMSS",
    revision: 0,
    family: Family::Ipv4,
    size: 2,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 6,
    check: check_tcpmss,
};

/// `TCPOPTSTRIP` revision 0 (`mangle` only).
pub const TCPOPTSTRIP: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "TCPOPTSTRIP",
    revision: 0,
    family: Family::Ipv4,
    size: 32,
    usersize: 0,
    table: Some("mangle"),
    hooks: 0,
    proto: 6,
    check: check_none,
};

/// `XT_TCPMSS_CLAMP_PMTU`.
pub const XT_TCPMSS_CLAMP_PMTU: u16 = 0xffff;

/// `tcpmss_tg4_check`: clamping to the PMTU needs a route, so only FORWARD, OUTPUT and
/// POSTROUTING may reach the rule; then some match of the entry must be `tcp` with SYN in
/// `flg_cmp` and no `XT_TCP_INV_FLAGS` ([`has_syn_match`]), else EINVAL.
fn check_tcpmss(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u16(0) == XT_TCPMSS_CLAMP_PMTU
        && ctx.hook_mask & !(hook::FWD | hook::OUT | hook::POST) != 0
    {
        return Err(Errno::EINVAL);
    }
    if !has_syn_match(ctx.matches) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `TCPHDR_SYN`.
const TCPHDR_SYN: u8 = 0x02;
/// `XT_TCP_INV_FLAGS`.
const XT_TCP_INV_FLAGS: u8 = 0x04;

/// `find_syn_match` over an entry's match area (the bytes from offset 112 up to
/// `target_offset`, already tiled by pass 1): true if some match is `tcp` whose `flg_cmp`
/// has SYN and whose `invflags` lacks `XT_TCP_INV_FLAGS`. `TCPMSS`'s checkentry fails with
/// EINVAL when this is false.
pub fn has_syn_match(matches: &[u8]) -> bool {
    let mut rest = matches;
    while let Some(size) = crate::blob::read_u16(rest, 0) {
        let size = usize::from(size);
        let Some(m) = rest.get(..size) else {
            return false;
        };
        if size < 32 {
            return false;
        }
        let r = Rd(m);
        let name: [u8; 29] = r.arr(2);
        // struct xt_tcp: spts[2] @0, dpts[2] @4, option @8, flg_mask @9, flg_cmp @10,
        // invflags @11, after the 32-byte header.
        if crate::uapi::cstr(&name) == b"tcp"
            && r.u8(42) & TCPHDR_SYN != 0
            && r.u8(43) & XT_TCP_INV_FLAGS == 0
        {
            return true;
        }
        rest = rest.get(size..).unwrap_or(&[]);
    }
    false
}

/// `struct xt_tcpmss_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcpmss {
    /// MSS to set, or [`XT_TCPMSS_CLAMP_PMTU`].
    pub mss: u16,
}

impl Payload for Tcpmss {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Tcpmss { mss: r.u16(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u16(0, self.mss);
    }

    /// `TCPMSS_save`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.mss == XT_TCPMSS_CLAMP_PMTU {
            write!(out, "-j {name} --clamp-mss-to-pmtu")
        } else {
            write!(out, "-j {name} --set-mss {}", self.mss)
        }
    }
}

/// `struct xt_tcpoptstrip_target_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcpoptstrip {
    /// Bit `n` (word `n / 32`, bit `n % 32`) set: strip TCP option kind `n`.
    pub strip_bmap: [u32; 8],
}

impl Tcpoptstrip {
    /// Whether option kind `kind` is stripped.
    pub fn strips(&self, kind: u8) -> bool {
        let word = usize::from(kind / 32);
        let bit = u32::from(kind % 32);
        self.strip_bmap
            .get(word)
            .is_some_and(|w| w & 1u32.checked_shl(bit).unwrap_or(0) != 0)
    }
}

impl Payload for Tcpoptstrip {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        let mut strip_bmap = [0u32; 8];
        for (off, w) in (0usize..).step_by(4).zip(strip_bmap.iter_mut()) {
            *w = r.u32(off);
        }
        Some(Tcpoptstrip { strip_bmap })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        for (off, v) in (0usize..).step_by(4).zip(self.strip_bmap) {
            w.u32(off, v);
        }
    }

    /// `tcpoptstrip_tg_save`: the numeric option list, nothing for an empty map.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        if self.strip_bmap.iter().all(|&w| w == 0) {
            return Ok(());
        }
        out.write_str(" --strip-options ")?;
        let mut sep = "";
        for kind in 0..=u8::MAX {
            if self.strips(kind) {
                write!(out, "{sep}{kind}")?;
                sep = ",";
            }
        }
        Ok(())
    }
}

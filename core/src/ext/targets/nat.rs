//! The NAT targets: `SNAT`/`DNAT` (`net/netfilter/xt_nat.c`), `MASQUERADE`, `REDIRECT` and
//! `NETMAP` (`xt_MASQUERADE.c`, `xt_REDIRECT.c`, `xt_NETMAP.c`). All are `nat`-table only.
//!
//! Three payload layouts (addresses and ports in network order):
//!
//! ```text
//! rev 0  nf_nat_ipv4_multi_range_compat (20): rangesize u32 @0, flags u32 @4,
//!        min_ip @8, max_ip @12, min port @16, max port @18
//! rev 1  nf_nat_range (40):  flags u32 @0, min_addr [16] @4, max_addr [16] @20,
//!        min_proto @36, max_proto @38
//! rev 2  nf_nat_range2 (44): rev 1 + base_proto @40 (+2 bytes of padding)
//! ```
//!
//! Revision 0 of SNAT/DNAT is registered for IPv4; revisions 1 and 2 are family-independent,
//! so `DNAT` revision 3 is EPROTOTYPE. MASQUERADE, REDIRECT and NETMAP have only the IPv4
//! revision 0 (their IPv6 twins use `nf_nat_range`).

use super::wire::{hook, Ipv4, Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `SNAT` revision 0 (IPv4, compat multi-range with exactly one range).
pub const SNAT_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "SNAT",
    revision: 0,
    family: Family::Ipv4,
    size: 20,
    usersize: 0,
    table: Some("nat"),
    hooks: hook::POST | hook::IN,
    proto: 0,
    check: check_rangesize,
};

/// `SNAT` revision 1 (UNSPEC, `nf_nat_range`).
pub const SNAT_V1: ExtDesc = ExtDesc {
    revision: 1,
    family: Family::Unspec,
    size: 40,
    check: check_nat,
    ..SNAT_V0
};

/// `SNAT` revision 2 (UNSPEC, `nf_nat_range2`).
pub const SNAT_V2: ExtDesc = ExtDesc {
    revision: 2,
    size: 44,
    ..SNAT_V1
};

/// `DNAT` revision 0.
pub const DNAT_V0: ExtDesc = ExtDesc {
    name: "DNAT",
    hooks: hook::PRE | hook::OUT,
    ..SNAT_V0
};

/// `DNAT` revision 1.
pub const DNAT_V1: ExtDesc = ExtDesc {
    name: "DNAT",
    hooks: hook::PRE | hook::OUT,
    ..SNAT_V1
};

/// `DNAT` revision 2.
pub const DNAT_V2: ExtDesc = ExtDesc {
    name: "DNAT",
    hooks: hook::PRE | hook::OUT,
    ..SNAT_V2
};

/// `MASQUERADE` revision 0.
pub const MASQUERADE: ExtDesc = ExtDesc {
    name: "MASQUERADE",
    hooks: hook::POST,
    check: check_masquerade,
    ..SNAT_V0
};

/// `REDIRECT` revision 0.
pub const REDIRECT: ExtDesc = ExtDesc {
    name: "REDIRECT",
    hooks: hook::PRE | hook::OUT,
    check: check_masquerade,
    ..SNAT_V0
};

/// `NETMAP` revision 0.
pub const NETMAP: ExtDesc = ExtDesc {
    name: "NETMAP",
    hooks: hook::PRE | hook::POST | hook::OUT | hook::IN,
    check: check_netmap,
    ..SNAT_V0
};

/// `NF_NAT_RANGE_MAP_IPS`.
pub const NF_NAT_RANGE_MAP_IPS: u32 = 1 << 0;
/// `NF_NAT_RANGE_PROTO_SPECIFIED`.
pub const NF_NAT_RANGE_PROTO_SPECIFIED: u32 = 1 << 1;
/// `NF_NAT_RANGE_PROTO_RANDOM`.
pub const NF_NAT_RANGE_PROTO_RANDOM: u32 = 1 << 2;
/// `NF_NAT_RANGE_PERSISTENT`.
pub const NF_NAT_RANGE_PERSISTENT: u32 = 1 << 3;
/// `NF_NAT_RANGE_PROTO_RANDOM_FULLY`.
pub const NF_NAT_RANGE_PROTO_RANDOM_FULLY: u32 = 1 << 4;
/// `NF_NAT_RANGE_PROTO_OFFSET`.
pub const NF_NAT_RANGE_PROTO_OFFSET: u32 = 1 << 5;

/// `xt_nat_checkentry_v0`: "multiple ranges no longer supported". `nf_ct_netns_get`
/// succeeds in a fresh namespace.
fn check_rangesize(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u32(0) != 1 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `xt_nat_checkentry` (revisions 1 and 2): only the family (IPv4 passes) and
/// `nf_ct_netns_get`. The flags are not checked.
fn check_nat(_: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    Ok(())
}

/// `masquerade_tg_check` and `redirect_tg4_check`: no MAP_IPS, then one range.
fn check_masquerade(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u32(4) & NF_NAT_RANGE_MAP_IPS != 0 {
        return Err(Errno::EINVAL);
    }
    check_rangesize(ctx, p)
}

/// `netmap_tg4_check`: MAP_IPS required, then one range.
fn check_netmap(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u32(4) & NF_NAT_RANGE_MAP_IPS == 0 {
        return Err(Errno::EINVAL);
    }
    check_rangesize(ctx, p)
}

/// One NAT range in any of the three layouts. Revision 0 only carries the first four
/// address bytes and no base port; revisions 1 and 2 have no `rangesize` (read back as 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatRange {
    /// Revision 0 only: the number of ranges (the kernel requires 1).
    pub rangesize: u32,
    /// `NF_NAT_RANGE_*`.
    pub flags: u32,
    /// Lowest address (`union nf_inet_addr`, network order; IPv4 in the first 4 bytes).
    pub min_addr: [u8; 16],
    /// Highest address.
    pub max_addr: [u8; 16],
    /// Lowest port / id (host order).
    pub min_proto: u16,
    /// Highest port / id (host order).
    pub max_proto: u16,
    /// Revision 2: base port of a shifted port map (`NF_NAT_RANGE_PROTO_OFFSET`).
    pub base_proto: u16,
}

impl NatRange {
    /// The minimum IPv4 address.
    pub fn min_ipv4(&self) -> [u8; 4] {
        Rd(&self.min_addr).arr(0)
    }

    /// The maximum IPv4 address.
    pub fn max_ipv4(&self) -> [u8; 4] {
        Rd(&self.max_addr).arr(0)
    }

    /// libxt_NAT.c `sprint_range` for AF_INET.
    fn sprint(&self, out: &mut dyn fmt::Write, skip_colon: bool) -> fmt::Result {
        let mut wrote = false;
        if self.flags & NF_NAT_RANGE_MAP_IPS != 0 {
            write!(out, "{}", Ipv4(&self.min_addr))?;
            // memcmp over the whole 16-byte nf_inet_addr, not just the IPv4 part.
            if self.min_addr != self.max_addr {
                write!(out, "-{}", Ipv4(&self.max_addr))?;
            }
            wrote = true;
        }
        if self.flags & NF_NAT_RANGE_PROTO_SPECIFIED != 0 {
            // __NAT_print drops a leading ':' for the port-only options.
            if wrote || !skip_colon {
                out.write_char(':')?;
            }
            write!(out, "{}", self.min_proto)?;
            if self.max_proto != self.min_proto {
                write!(out, "-{}", self.max_proto)?;
            }
            if self.flags & NF_NAT_RANGE_PROTO_OFFSET != 0 {
                write!(out, "/{}", self.base_proto)?;
            }
        }
        Ok(())
    }

    /// `__NAT_print` with the save prefixes.
    fn save_nat(&self, rangeopt: &str, skip_colon: bool, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.flags & (NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED) != 0 {
            write!(out, " {rangeopt}")?;
            self.sprint(out, skip_colon)?;
        }
        if self.flags & NF_NAT_RANGE_PROTO_RANDOM != 0 {
            out.write_str(" --random")?;
        }
        if self.flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY != 0 {
            out.write_str(" --random-fully")?;
        }
        if self.flags & NF_NAT_RANGE_PERSISTENT != 0 {
            out.write_str(" --persistent")?;
        }
        Ok(())
    }

    /// libipt_NETMAP.c: `--to ADDR/BITS`, or `/MASK` when the mask has holes.
    fn save_netmap(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let min = u32::from_be_bytes(self.min_ipv4());
        let max = u32::from_be_bytes(self.max_ipv4());
        let mask = !(min ^ max);
        write!(out, " --to {}/", Ipv4(&self.min_addr))?;
        let bits = mask.leading_ones();
        if mask.checked_shl(bits).unwrap_or(0) == 0 {
            write!(out, "{bits}")
        } else {
            write!(out, "{}", Ipv4(&mask.to_be_bytes()))
        }
    }
}

/// An IPv4 address as the first four bytes of a zeroed `union nf_inet_addr`.
fn widen(a: [u8; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (d, s) in out.iter_mut().zip(a) {
        *d = s;
    }
    out
}

impl Payload for NatRange {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        Some(match rev {
            0 => NatRange {
                rangesize: r.u32(0),
                flags: r.u32(4),
                min_addr: widen(r.arr(8)),
                max_addr: widen(r.arr(12)),
                min_proto: r.be16(16),
                max_proto: r.be16(18),
                base_proto: 0,
            },
            _ => NatRange {
                rangesize: 1,
                flags: r.u32(0),
                min_addr: r.arr(4),
                max_addr: r.arr(20),
                min_proto: r.be16(36),
                max_proto: r.be16(38),
                base_proto: if rev >= 2 { r.be16(40) } else { 0 },
            },
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        if rev == 0 {
            w.u32(0, self.rangesize);
            w.u32(4, self.flags);
            w.put(8, &self.min_ipv4());
            w.put(12, &self.max_ipv4());
            w.be16(16, self.min_proto);
            w.be16(18, self.max_proto);
        } else {
            w.u32(0, self.flags);
            w.put(4, &self.min_addr);
            w.put(20, &self.max_addr);
            w.be16(36, self.min_proto);
            w.be16(38, self.max_proto);
            if rev >= 2 {
                w.be16(40, self.base_proto);
            }
        }
    }

    /// `SNAT_save`, `DNATv2_save`, `MASQUERADE_save`, `REDIRECT_save` (libxt_NAT.c) and
    /// `NETMAP_save` (libipt_NETMAP.c). The revision-0 conversion to `nf_nat_range2` leaves
    /// the base port 0, so `/0` is printed for a shifted SNAT map.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        match name {
            "SNAT" => self.save_nat("--to-source ", false, out),
            "DNAT" => self.save_nat("--to-destination ", false, out),
            "MASQUERADE" | "REDIRECT" => self.save_nat("--to-ports ", true, out),
            "NETMAP" => self.save_netmap(out),
            _ => Err(fmt::Error),
        }
    }
}

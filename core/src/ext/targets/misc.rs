//! The remaining targets: `AUDIT` (UNSPEC), `SYNPROXY`, `TEE`, `IDLETIMER`, `HMARK`,
//! `TPROXY` and `RATEEST`.
//!
//! Three of them keep kernel-global or per-namespace objects keyed by a user-chosen name
//! (IDLETIMER timers, global across namespaces; RATEEST estimators, per namespace) and
//! compare a second rule with the same name against the first. The checks here model a
//! fresh namespace on an otherwise idle kernel with no such object yet, i.e. the first use
//! of each name; a later rule in the same blob reusing a name with different parameters is
//! accepted here but refused by the kernel (EINVAL).

use super::wire::{entry_proto, hook, unterminated, Ipv4, Rd, Wr, IPPROTO_TCP, IPPROTO_UDP};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `AUDIT` revision 0 (`xt_audit_info {type}`), family-independent.
pub const AUDIT: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "AUDIT",
    revision: 0,
    family: Family::Unspec,
    size: 1,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_audit,
};

/// `SYNPROXY` revision 0 (`nf_synproxy_info {options u8, wscale u8, mss u16}`).
pub const SYNPROXY: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "SYNPROXY",
    revision: 0,
    family: Family::Ipv4,
    size: 4,
    usersize: 0,
    table: None,
    hooks: hook::IN | hook::FWD,
    proto: 0,
    check: check_synproxy,
};

/// `TEE` revision 1 (`xt_tee_tginfo {gw [16], oif [16], priv ptr}`).
pub const TEE: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "TEE",
    revision: 1,
    family: Family::Ipv4,
    size: 40,
    usersize: 32,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_tee,
};

/// `IDLETIMER` revision 0 (`idletimer_tg_info {timeout u32, label [28], timer ptr}`).
pub const IDLETIMER_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "IDLETIMER",
    revision: 0,
    family: Family::Ipv4,
    size: 40,
    usersize: 32,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_idletimer_v0,
};

/// `IDLETIMER` revision 1 (adds `send_nl_msg u8 @32`, `timer_type u8 @33`).
pub const IDLETIMER_V1: ExtDesc = ExtDesc {
    revision: 1,
    size: 48,
    usersize: 40,
    check: check_idletimer_v1,
    ..IDLETIMER_V0
};

/// `HMARK` revision 0 (`struct xt_hmark_info`, 60 bytes).
pub const HMARK: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "HMARK",
    revision: 0,
    family: Family::Ipv4,
    size: 60,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_hmark,
};

/// `TPROXY` revision 0 (`xt_tproxy_target_info`, IPv4 address).
pub const TPROXY_V0: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "TPROXY",
    revision: 0,
    family: Family::Ipv4,
    size: 16,
    usersize: 0,
    table: Some("mangle"),
    hooks: hook::PRE,
    proto: 0,
    check: check_tproxy,
};

/// `TPROXY` revision 1 (`xt_tproxy_target_info_v1`, `nf_inet_addr`).
pub const TPROXY_V1: ExtDesc = ExtDesc {
    revision: 1,
    size: 28,
    ..TPROXY_V0
};

/// `RATEEST` revision 0 (`xt_rateest_target_info {name [16], interval s8, ewma_log u8,
/// est ptr @24}`).
pub const RATEEST: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "RATEEST",
    revision: 0,
    family: Family::Ipv4,
    size: 32,
    usersize: 24,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_rateest,
};

/// `XT_AUDIT_TYPE_MAX`.
const XT_AUDIT_TYPE_MAX: u8 = 2;

/// `audit_tg_check`: the type must be known, else ERANGE.
fn check_audit(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u8(0) > XT_AUDIT_TYPE_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `synproxy_tg4_check`: `-p tcp` without `!`. Conntrack and the SYNPROXY hooks can be set
/// up in a fresh namespace.
fn check_synproxy(ctx: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    let (proto, inv) = entry_proto(ctx);
    if proto != IPPROTO_TCP || inv {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `tee_tg_check`: a gateway is required; an output interface name needs its NUL.
fn check_tee(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    let gw: [u8; 16] = r.arr(0);
    if gw.iter().all(|&b| b == 0) {
        return Err(Errno::EINVAL);
    }
    let oif: [u8; 16] = r.arr(16);
    if oif.first().is_some_and(|&b| b != 0) && oif.last().is_some_and(|&b| b != 0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `INT_MAX / 1000`: the first timeout (seconds) whose milliseconds overflow an int.
const IDLETIMER_TIMEOUT_LIMIT: u32 = 2_147_483;
/// `XT_IDLETIMER_ALARM`.
pub const XT_IDLETIMER_ALARM: u8 = 0x01;

/// `idletimer_tg_helper`: failures become EINVAL in both revisions.
fn idletimer_helper(r: Rd<'_>) -> Result<(), Errno> {
    let timeout = r.u32(0);
    if timeout == 0 || timeout >= IDLETIMER_TIMEOUT_LIMIT {
        return Err(Errno::EINVAL);
    }
    let label: [u8; 28] = r.arr(4);
    if label.first().is_none_or(|&b| b == 0) || unterminated(&label) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `idletimer_check_sysfs_name` for a new timer (the label becomes a sysfs file name):
/// `xt_check_proc_name` ("." / ".." / a '/'), then the device's own attribute names.
fn idletimer_sysfs_name(r: Rd<'_>) -> Result<(), Errno> {
    let label: [u8; 28] = r.arr(4);
    let name = crate::uapi::cstr(&label);
    if name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    if name == b"power" || name == b"subsystem" || name == b"uevent" {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `idletimer_tg_checkentry`, first use of the label (no timer with it exists).
fn check_idletimer_v0(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    idletimer_helper(r)?;
    idletimer_sysfs_name(r)
}

/// `idletimer_tg_checkentry_v1`: netlink notification is unsupported (EOPNOTSUPP, tested
/// first), the timer type must be 0 or ALARM.
fn check_idletimer_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    if r.u8(32) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    idletimer_helper(r)?;
    if r.u8(33) > XT_IDLETIMER_ALARM {
        return Err(Errno::EINVAL);
    }
    idletimer_sysfs_name(r)
}

/// `XT_HMARK_*` flag bits.
mod hm {
    pub(super) const SADDR_MASK: u32 = 1 << 0;
    pub(super) const DADDR_MASK: u32 = 1 << 1;
    pub(super) const SPI: u32 = 1 << 2;
    pub(super) const SPI_MASK: u32 = 1 << 3;
    pub(super) const SPORT: u32 = 1 << 4;
    pub(super) const DPORT: u32 = 1 << 5;
    pub(super) const SPORT_MASK: u32 = 1 << 6;
    pub(super) const DPORT_MASK: u32 = 1 << 7;
    pub(super) const PROTO_MASK: u32 = 1 << 8;
    pub(super) const RND: u32 = 1 << 9;
    pub(super) const MODULUS: u32 = 1 << 10;
    pub(super) const OFFSET: u32 = 1 << 11;
    pub(super) const CT: u32 = 1 << 12;
    pub(super) const METHOD_L3: u32 = 1 << 13;
}

/// `hmark_tg_check`.
fn check_hmark(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    let flags = r.u32(40);
    if r.u32(52) == 0 {
        return Err(Errno::EINVAL);
    }
    if r.u16(44) != 0 && flags & hm::METHOD_L3 != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & hm::SPI_MASK != 0 && flags & (hm::SPORT_MASK | hm::DPORT_MASK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & hm::SPI != 0 && flags & (hm::SPORT | hm::DPORT) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `tproxy_tg4_check`: defrag can be enabled; the rule must match TCP or UDP, not inverted.
fn check_tproxy(ctx: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    let (proto, inv) = entry_proto(ctx);
    if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && !inv {
        return Ok(());
    }
    Err(Errno::EINVAL)
}

/// `xt_rateest_tg_checkentry` for a new estimator name: the name needs a NUL within 16
/// bytes (ENAMETOOLONG), then `gen_new_estimator` wants an interval in -2..=3 and an EWMA
/// log in 1..=30 (EINVAL).
fn check_rateest(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    let name: [u8; 16] = r.arr(0);
    if unterminated(&name) {
        return Err(Errno::ENAMETOOLONG);
    }
    let interval = i8::from_le_bytes([r.u8(16)]);
    if !(-2..=3).contains(&interval) {
        return Err(Errno::EINVAL);
    }
    let ewma_log = r.u8(17);
    if ewma_log == 0 || ewma_log >= 31 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `struct xt_audit_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// `XT_AUDIT_TYPE_ACCEPT` (0), `_DROP` (1) or `_REJECT` (2).
    pub kind: u8,
}

impl Payload for Audit {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Audit { kind: r.u8(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.kind);
    }

    /// `audit_save` (an unknown type prints no option).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        match self.kind {
            0 => out.write_str(" --type accept"),
            1 => out.write_str(" --type drop"),
            2 => out.write_str(" --type reject"),
            _ => Ok(()),
        }
    }
}

/// `XT_SYNPROXY_OPT_MSS`.
pub const XT_SYNPROXY_OPT_MSS: u8 = 0x01;
/// `XT_SYNPROXY_OPT_WSCALE`.
pub const XT_SYNPROXY_OPT_WSCALE: u8 = 0x02;
/// `XT_SYNPROXY_OPT_SACK_PERM`.
pub const XT_SYNPROXY_OPT_SACK_PERM: u8 = 0x04;
/// `XT_SYNPROXY_OPT_TIMESTAMP`.
pub const XT_SYNPROXY_OPT_TIMESTAMP: u8 = 0x08;
/// `XT_SYNPROXY_OPT_ECN`.
pub const XT_SYNPROXY_OPT_ECN: u8 = 0x10;

/// `struct xt_synproxy_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synproxy {
    /// `XT_SYNPROXY_OPT_*`.
    pub options: u8,
    /// Window scale.
    pub wscale: u8,
    /// MSS.
    pub mss: u16,
}

impl Payload for Synproxy {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Synproxy {
            options: r.u8(0),
            wscale: r.u8(1),
            mss: r.u16(2),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.options);
        w.u8(1, self.wscale);
        w.u16(2, self.mss);
    }

    /// `SYNPROXY_save`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        if self.options & XT_SYNPROXY_OPT_SACK_PERM != 0 {
            out.write_str(" --sack-perm")?;
        }
        if self.options & XT_SYNPROXY_OPT_TIMESTAMP != 0 {
            out.write_str(" --timestamp")?;
        }
        if self.options & XT_SYNPROXY_OPT_WSCALE != 0 {
            write!(out, " --wscale {}", self.wscale)?;
        }
        if self.options & XT_SYNPROXY_OPT_MSS != 0 {
            write!(out, " --mss {}", self.mss)?;
        }
        if self.options & XT_SYNPROXY_OPT_ECN != 0 {
            out.write_str(" --ecn")?;
        }
        Ok(())
    }
}

/// `struct xt_tee_tginfo` (without the kernel's private pointer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tee {
    /// Gateway (`nf_inet_addr`, IPv4 in the first 4 bytes).
    pub gw: [u8; 16],
    /// Output interface name field, verbatim.
    pub oif: [u8; 16],
}

impl Payload for Tee {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Tee {
            gw: r.arr(0),
            oif: r.arr(16),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.put(0, &self.gw);
        w.put(16, &self.oif);
    }

    /// `tee_tg_save`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name} --gateway {}", Ipv4(&self.gw))?;
        if self.oif.first().is_some_and(|&b| b != 0) {
            out.write_str(" --oif ")?;
            super::wire::write_bytes(out, crate::uapi::cstr(&self.oif))?;
        }
        Ok(())
    }
}

/// `struct idletimer_tg_info` / `_v1` (revision 0 reads back `send_nl_msg = timer_type = 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idletimer {
    /// Seconds.
    pub timeout: u32,
    /// Label field, verbatim (the sysfs file name).
    pub label: [u8; 28],
    /// Revision 1: Android's netlink notification flag (refused by this kernel).
    pub send_nl_msg: u8,
    /// Revision 1: 0 or `XT_IDLETIMER_ALARM`.
    pub timer_type: u8,
}

impl Payload for Idletimer {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        let (send_nl_msg, timer_type) = if rev >= 1 {
            (r.u8(32), r.u8(33))
        } else {
            (0, 0)
        };
        Some(Idletimer {
            timeout: r.u32(0),
            label: r.arr(4),
            send_nl_msg,
            timer_type,
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        w.u32(0, self.timeout);
        w.put(4, &self.label);
        if rev >= 1 {
            w.u8(32, self.send_nl_msg);
            w.u8(33, self.timer_type);
        }
    }

    /// `idletimer_tg_save_v1`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name} --timeout {} --label ", self.timeout)?;
        super::wire::write_bytes(out, crate::uapi::cstr(&self.label))?;
        if self.timer_type == XT_IDLETIMER_ALARM {
            out.write_str(" --alarm")?;
        }
        Ok(())
    }
}

/// `struct xt_hmark_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hmark {
    /// Source address mask (`nf_inet_addr`).
    pub src_mask: [u8; 16],
    /// Destination address mask.
    pub dst_mask: [u8; 16],
    /// Port mask (`union hmark_ports`, raw bytes in network order).
    pub port_mask: [u8; 4],
    /// Port set (raw bytes in network order).
    pub port_set: [u8; 4],
    /// `XT_HMARK_FLAG(*)` bits.
    pub flags: u32,
    /// Protocol mask.
    pub proto_mask: u16,
    /// Hash seed.
    pub hashrnd: u32,
    /// Modulus (non-zero).
    pub hmodulus: u32,
    /// Mark offset.
    pub hoffset: u32,
}

/// `xtables_ipmask_to_cidr`: the prefix length of a contiguous mask, else -1.
fn mask_to_cidr(mask: [u8; 4]) -> i32 {
    let m = u32::from_be_bytes(mask);
    let ones = m.leading_ones();
    if m.checked_shl(ones).unwrap_or(0) == 0 {
        i32::try_from(ones).unwrap_or(-1)
    } else {
        -1
    }
}

impl Payload for Hmark {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Hmark {
            src_mask: r.arr(0),
            dst_mask: r.arr(16),
            port_mask: r.arr(32),
            port_set: r.arr(36),
            flags: r.u32(40),
            proto_mask: r.u16(44),
            hashrnd: r.u32(48),
            hmodulus: r.u32(52),
            hoffset: r.u32(56),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.put(0, &self.src_mask);
        w.put(16, &self.dst_mask);
        w.put(32, &self.port_mask);
        w.put(36, &self.port_set);
        w.u32(40, self.flags);
        w.u16(44, self.proto_mask);
        w.u32(48, self.hashrnd);
        w.u32(52, self.hmodulus);
        w.u32(56, self.hoffset);
    }

    /// `HMARK_ip4_save` + `HMARK_save`. Ports and SPIs are printed after `htons`/`htonl`,
    /// i.e. as the network-order bytes read big-endian.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        let f = self.flags;
        if f & hm::SADDR_MASK != 0 {
            write!(
                out,
                " --hmark-src-prefix {}",
                mask_to_cidr(Rd(&self.src_mask).arr(0))
            )?;
        }
        if f & hm::DADDR_MASK != 0 {
            write!(
                out,
                " --hmark-dst-prefix {}",
                mask_to_cidr(Rd(&self.dst_mask).arr(0))
            )?;
        }
        let pm = Rd(&self.port_mask);
        let ps = Rd(&self.port_set);
        if f & hm::SPORT_MASK != 0 {
            write!(out, " --hmark-sport-mask {:#06x}", pm.be16(0))?;
        }
        if f & hm::DPORT_MASK != 0 {
            write!(out, " --hmark-dport-mask {:#06x}", pm.be16(2))?;
        }
        if f & hm::SPI_MASK != 0 {
            write!(out, " --hmark-spi-mask {:#010x}", pm.be32(0))?;
        }
        if f & hm::SPORT != 0 {
            write!(out, " --hmark-sport {:#06x}", ps.be16(0))?;
        }
        if f & hm::DPORT != 0 {
            write!(out, " --hmark-dport {:#06x}", ps.be16(2))?;
        }
        if f & hm::SPI != 0 {
            write!(out, " --hmark-spi {:#010x}", ps.be32(0))?;
        }
        if f & hm::PROTO_MASK != 0 {
            write!(out, " --hmark-proto-mask {:#04x}", self.proto_mask)?;
        }
        if f & hm::RND != 0 {
            write!(out, " --hmark-rnd {:#010x}", self.hashrnd)?;
        }
        if f & hm::MODULUS != 0 {
            write!(out, " --hmark-mod {}", self.hmodulus)?;
        }
        if f & hm::OFFSET != 0 {
            write!(out, " --hmark-offset {}", self.hoffset)?;
        }
        if f & hm::CT != 0 {
            out.write_str(" --hmark-tuple ct")?;
        }
        Ok(())
    }
}

/// `struct xt_tproxy_target_info` (revision 0: IPv4 address) / `_v1` (`nf_inet_addr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tproxy {
    /// Bits of the packet mark to set.
    pub mark_mask: u32,
    /// Mark value.
    pub mark_value: u32,
    /// Local address (IPv4 in the first 4 bytes).
    pub laddr: [u8; 16],
    /// Local port (host order).
    pub lport: u16,
}

impl Payload for Tproxy {
    fn read(rev: u8, r: Rd<'_>) -> Option<Self> {
        let (laddr, lport) = if rev == 0 {
            let a: [u8; 4] = r.arr(8);
            let mut laddr = [0u8; 16];
            for (d, s) in laddr.iter_mut().zip(a) {
                *d = s;
            }
            (laddr, r.be16(12))
        } else {
            (r.arr(8), r.be16(24))
        };
        Some(Tproxy {
            mark_mask: r.u32(0),
            mark_value: r.u32(4),
            laddr,
            lport,
        })
    }

    fn write(&self, rev: u8, w: &mut Wr<'_>) {
        w.u32(0, self.mark_mask);
        w.u32(4, self.mark_value);
        if rev == 0 {
            w.put(8, self.laddr.get(..4).unwrap_or(&[]));
            w.be16(12, self.lport);
        } else {
            w.put(8, &self.laddr);
            w.be16(24, self.lport);
        }
    }

    /// `tproxy_tg_save4` (revision 1).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(
            out,
            "-j {name} --on-port {} --on-ip {} --tproxy-mark {:#x}/{:#x}",
            self.lport,
            Ipv4(&self.laddr),
            self.mark_value,
            self.mark_mask
        )
    }
}

/// `struct xt_rateest_target_info` (without the kernel's private pointer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rateest {
    /// Estimator name field, verbatim.
    pub name: [u8; 16],
    /// Sampling interval: 2^(interval+2) quarter seconds, -2..=3.
    pub interval: i8,
    /// EWMA weight log, 1..=30.
    pub ewma_log: u8,
}

/// `TIME_UNITS_PER_SEC` in libxt_RATEEST.
const TIME_UNITS_PER_SEC: u32 = 1_000_000;

/// `RATEEST_print_time`.
fn print_time(out: &mut dyn fmt::Write, time: u32) -> fmt::Result {
    let t = f64::from(time);
    if time >= TIME_UNITS_PER_SEC {
        write!(out, "{:.1}s", t / f64::from(TIME_UNITS_PER_SEC))
    } else if time >= TIME_UNITS_PER_SEC / 1000 {
        write!(out, "{:.1}ms", t / f64::from(TIME_UNITS_PER_SEC / 1000))
    } else {
        write!(out, "{time}us")
    }
}

impl Payload for Rateest {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Rateest {
            name: r.arr(0),
            interval: i8::from_le_bytes([r.u8(16)]),
            ewma_log: r.u8(17),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.put(0, &self.name);
        w.put(16, &self.interval.to_le_bytes());
        w.u8(17, self.ewma_log);
    }

    /// `RATEEST_save`: the interval is `(TIME_UNITS_PER_SEC << (interval + 2)) / 4` µs and
    /// the EWMA time `interval << ewma_log`, in C `unsigned int` arithmetic (wrapping). An
    /// interval below -2 or an EWMA log above 31 is a negative or oversized shift in C
    /// (undefined; the kernel refuses both), so it is an error here.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        let shift =
            u32::try_from(i32::from(self.interval).saturating_add(2)).map_err(|_| fmt::Error)?;
        let interval = TIME_UNITS_PER_SEC.checked_shl(shift).ok_or(fmt::Error)? / 4;
        let factor = 1u32
            .checked_shl(u32::from(self.ewma_log))
            .ok_or(fmt::Error)?;
        let ewma = interval.wrapping_mul(factor);
        write!(out, "-j {name} --rateest-name ")?;
        super::wire::write_bytes(out, crate::uapi::cstr(&self.name))?;
        out.write_str(" --rateest-interval ")?;
        print_time(out, interval)?;
        out.write_str(" --rateest-ewmalog ")?;
        print_time(out, ewma)
    }
}

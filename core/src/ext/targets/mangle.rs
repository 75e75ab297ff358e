//! Header-rewriting targets with one-to-four-byte payloads: `TOS` rev 1 and `DSCP`
//! (`net/netfilter/xt_DSCP.c`), `TTL` (`xt_HL.c`), `ECN` (`net/ipv4/netfilter/ipt_ECN.c`),
//! `CHECKSUM` (`xt_CHECKSUM.c`), all `mangle`-only, and `CLASSIFY` (`xt_CLASSIFY.c`, any
//! table, OUTPUT/FORWARD/POSTROUTING).

use super::wire::{entry_proto, hook, Rd, Wr, IPPROTO_TCP};
use super::Payload;
use crate::error::Errno;
use crate::ext::{check_none, CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `TOS` revision 1 (`xt_tos_target_info {tos_value, tos_mask}`); revision 0 is gone.
pub const TOS: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "TOS",
    revision: 1,
    family: Family::Ipv4,
    size: 2,
    usersize: 0,
    table: Some("mangle"),
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// `DSCP` revision 0 (`xt_DSCP_info {dscp}`).
pub const DSCP: ExtDesc = ExtDesc {
    name: "DSCP",
    revision: 0,
    size: 1,
    check: check_dscp,
    ..TOS
};

/// `TTL` revision 0 (`ipt_TTL_info {mode, ttl}`).
pub const TTL: ExtDesc = ExtDesc {
    name: "TTL",
    revision: 0,
    size: 2,
    check: check_ttl,
    ..TOS
};

/// `ECN` revision 0 (`ipt_ECN_info {operation, ip_ect, proto}`).
pub const ECN: ExtDesc = ExtDesc {
    name: "ECN",
    revision: 0,
    size: 3,
    check: check_ecn,
    ..TOS
};

/// `CHECKSUM` revision 0 (`xt_CHECKSUM_info {operation}`).
pub const CHECKSUM: ExtDesc = ExtDesc {
    name: "CHECKSUM",
    revision: 0,
    size: 1,
    check: check_checksum,
    ..TOS
};

/// `CLASSIFY` revision 0 (`xt_classify_target_info {u32 priority}`): no table restriction,
/// no checkentry.
pub const CLASSIFY: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "CLASSIFY",
    revision: 0,
    family: Family::Ipv4,
    size: 4,
    usersize: 0,
    table: None,
    hooks: hook::OUT | hook::FWD | hook::POST,
    proto: 0,
    check: check_none,
};

/// `XT_DSCP_MAX`.
const XT_DSCP_MAX: u8 = 0x3f;

/// `dscp_tg_check`: a DSCP above 0x3f is refused with **EDOM** (33) by the kernel.
fn check_dscp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u8(0) > XT_DSCP_MAX {
        return Err(Errno::EDOM);
    }
    Ok(())
}

/// `IPT_TTL_SET`.
pub const IPT_TTL_SET: u8 = 0;
/// `IPT_TTL_INC`.
pub const IPT_TTL_INC: u8 = 1;
/// `IPT_TTL_DEC`.
pub const IPT_TTL_DEC: u8 = 2;

/// `ttl_tg_check`: a known mode, and inc/dec by a non-zero amount.
fn check_ttl(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    let (mode, ttl) = (r.u8(0), r.u8(1));
    if mode > IPT_TTL_DEC {
        return Err(Errno::EINVAL);
    }
    if mode != IPT_TTL_SET && ttl == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `IPT_ECN_OP_SET_IP`.
pub const IPT_ECN_OP_SET_IP: u8 = 0x01;
/// `IPT_ECN_OP_SET_ECE`.
pub const IPT_ECN_OP_SET_ECE: u8 = 0x10;
/// `IPT_ECN_OP_SET_CWR`.
pub const IPT_ECN_OP_SET_CWR: u8 = 0x20;
/// `IPT_ECN_OP_MASK`: the bits that must be clear.
const IPT_ECN_OP_MASK: u8 = 0xce;
/// `IPT_ECN_IP_MASK` (`~XT_DSCP_MASK` as a byte): the ECT codepoint bits.
const IPT_ECN_IP_MASK: u8 = 0x03;

/// `ecn_tg_check`.
fn check_ecn(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    let (op, ect) = (r.u8(0), r.u8(1));
    if op & IPT_ECN_OP_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if ect & !IPT_ECN_IP_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    let (proto, inv) = entry_proto(ctx);
    if op & (IPT_ECN_OP_SET_ECE | IPT_ECN_OP_SET_CWR) != 0 && (proto != IPPROTO_TCP || inv) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `XT_CHECKSUM_OP_FILL`.
pub const XT_CHECKSUM_OP_FILL: u8 = 0x01;

/// `checksum_tg_check`: exactly the FILL operation. Without `-p udp` it only warns.
fn check_checksum(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let op = Rd(p).u8(0);
    if op & !XT_CHECKSUM_OP_FILL != 0 || op == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `struct xt_tos_target_info`: `tos = (tos & ~mask) ^ value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tos {
    /// Value XORed in.
    pub value: u8,
    /// Bits cleared first.
    pub mask: u8,
}

impl Payload for Tos {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Tos {
            value: r.u8(0),
            mask: r.u8(1),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.value);
        w.u8(1, self.mask);
    }

    /// `tos_tg_save`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(
            out,
            "-j {name} --set-tos {:#04x}/{:#04x}",
            self.value, self.mask
        )
    }
}

/// `struct xt_DSCP_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dscp {
    /// The DSCP (0..=0x3f in an accepted rule).
    pub dscp: u8,
}

impl Payload for Dscp {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Dscp { dscp: r.u8(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.dscp);
    }

    /// `DSCP_save`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name} --set-dscp {:#04x}", self.dscp)
    }
}

/// `struct ipt_TTL_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ttl {
    /// `IPT_TTL_SET` / `_INC` / `_DEC`.
    pub mode: u8,
    /// The operand.
    pub ttl: u8,
}

impl Payload for Ttl {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Ttl {
            mode: r.u8(0),
            ttl: r.u8(1),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.mode);
        w.u8(1, self.ttl);
    }

    /// `TTL_save` (an unknown mode prints no option).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        match self.mode {
            IPT_TTL_SET => write!(out, " --ttl-set {}", self.ttl),
            IPT_TTL_INC => write!(out, " --ttl-inc {}", self.ttl),
            IPT_TTL_DEC => write!(out, " --ttl-dec {}", self.ttl),
            _ => Ok(()),
        }
    }
}

/// `struct ipt_ECN_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ecn {
    /// `IPT_ECN_OP_*`.
    pub operation: u8,
    /// ECT codepoint for the IP header (0..=3).
    pub ip_ect: u8,
    /// The TCP bit-field byte: bit 0 = ECE, bit 1 = CWR (GCC's little-endian layout).
    pub proto: u8,
}

impl Payload for Ecn {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Ecn {
            operation: r.u8(0),
            ip_ect: r.u8(1),
            proto: r.u8(2),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.operation);
        w.u8(1, self.ip_ect);
        w.u8(2, self.proto);
    }

    /// `ECN_save` (libipt_ECN.c).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        let ece = self.proto & 1;
        let cwr = (self.proto >> 1) & 1;
        if self.operation == IPT_ECN_OP_SET_ECE | IPT_ECN_OP_SET_CWR && ece == 0 && cwr == 0 {
            return out.write_str(" --ecn-tcp-remove");
        }
        if self.operation & IPT_ECN_OP_SET_ECE != 0 {
            write!(out, " --ecn-tcp-ece {ece}")?;
        }
        if self.operation & IPT_ECN_OP_SET_CWR != 0 {
            write!(out, " --ecn-tcp-cwr {cwr}")?;
        }
        if self.operation & IPT_ECN_OP_SET_IP != 0 {
            write!(out, " --ecn-ip-ect {}", self.ip_ect)?;
        }
        Ok(())
    }
}

/// `struct xt_CHECKSUM_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// `XT_CHECKSUM_OP_*`.
    pub operation: u8,
}

impl Payload for Checksum {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Checksum { operation: r.u8(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.operation);
    }

    /// `CHECKSUM_save`.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        if self.operation & XT_CHECKSUM_OP_FILL != 0 {
            out.write_str(" --checksum-fill")?;
        }
        Ok(())
    }
}

/// `struct xt_classify_target_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classify {
    /// The tc class handle (major << 16 | minor) written to `skb->priority`.
    pub priority: u32,
}

impl Payload for Classify {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Classify { priority: r.u32(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u32(0, self.priority);
    }

    /// `CLASSIFY_save`: `MAJOR:MINOR` as four hex digits each.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(
            out,
            "-j {name} --set-class {:04x}:{:04x}",
            self.priority >> 16,
            self.priority & 0xffff
        )
    }
}

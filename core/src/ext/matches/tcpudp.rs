//! `tcp`, `udp`, `udplite` and `icmp` (the kernel's `xt_tcpudp.c`; iptables' `libxt_tcp`,
//! `libxt_udp`, `libipt_icmp`).
//!
//! ```text
//! struct xt_tcp  { u16 spts[2]; u16 dpts[2]; u8 option, flg_mask, flg_cmp, invflags; } // 12
//! struct xt_udp  { u16 spts[2]; u16 dpts[2]; u8 invflags; /* pad */ }                // 10
//! struct ipt_icmp { u8 type; u8 code[2]; u8 invflags; }                               // 4
//! ```

use super::{bang, CheckCtx, Rd, Wr};
use crate::error::Errno;
use core::fmt;

/// `XT_TCP_INV_SRCPT`.
const TCP_INV_SRCPT: u8 = 0x01;
/// `XT_TCP_INV_DSTPT`.
const TCP_INV_DSTPT: u8 = 0x02;
/// `XT_TCP_INV_FLAGS`.
const TCP_INV_FLAGS: u8 = 0x04;
/// `XT_TCP_INV_OPTION`.
const TCP_INV_OPTION: u8 = 0x08;
/// `XT_TCP_INV_MASK`.
const TCP_INV_MASK: u8 = 0x0F;
/// `XT_UDP_INV_MASK` (source and destination port).
const UDP_INV_MASK: u8 = 0x03;
/// `IPT_ICMP_INV`.
const ICMP_INV: u8 = 0x01;

/// `tcp_mt_check`: no unknown inversion flags.
pub(super) fn check_tcp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u8(11) & !TCP_INV_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `udp_mt_check` (also `udplite`).
pub(super) fn check_udp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u8(8) & !UDP_INV_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `icmp_checkentry`.
pub(super) fn check_icmp(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    if Rd(p).u8(3) & !ICMP_INV != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// iptables' save form of a port range: nothing for the full range `0:65535`.
fn save_ports(out: &mut dyn fmt::Write, opt: &str, pts: [u16; 2], inv: bool) -> fmt::Result {
    if pts == [0, 0xFFFF] {
        return Ok(());
    }
    bang(out, inv)?;
    if pts[0] == pts[1] {
        write!(out, " --{opt} {}", pts[0])
    } else {
        write!(out, " --{opt} {}:{}", pts[0], pts[1])
    }
}

/// `struct xt_tcp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// Source port range (inclusive), host order.
    pub spts: [u16; 2],
    /// Destination port range.
    pub dpts: [u16; 2],
    /// TCP option kind that must be present (0 = none).
    pub option: u8,
    /// Flags to look at.
    pub flg_mask: u8,
    /// Required value of the flags under `flg_mask`.
    pub flg_cmp: u8,
    /// `XT_TCP_INV_*`.
    pub invflags: u8,
}

/// iptables' `tcp_flag_names`, searched in order by `print_tcpf`.
const TCP_FLAG_NAMES: [(&str, u8); 6] = [
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
];

/// `print_tcpf()`: flag names joined by `,`, `NONE` for 0. iptables has no name for the ECE
/// and CWR bits (its loop would run off the table); they are printed as hex here.
fn print_tcpf(out: &mut dyn fmt::Write, flags: u8) -> fmt::Result {
    if flags == 0 {
        return out.write_str("NONE");
    }
    let mut sep = "";
    for (name, bit) in TCP_FLAG_NAMES {
        if flags & bit != 0 {
            write!(out, "{sep}{name}")?;
            sep = ",";
        }
    }
    let rest = flags & 0xC0;
    if rest != 0 {
        write!(out, "{sep}{rest:#x}")?;
    }
    Ok(())
}

impl Tcp {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Tcp {
            spts: [p.u16(0), p.u16(2)],
            dpts: [p.u16(4), p.u16(6)],
            option: p.u8(8),
            flg_mask: p.u8(9),
            flg_cmp: p.u8(10),
            invflags: p.u8(11),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u16(0, self.spts[0]);
        w.u16(2, self.spts[1]);
        w.u16(4, self.dpts[0]);
        w.u16(6, self.dpts[1]);
        w.u8(8, self.option);
        w.u8(9, self.flg_mask);
        w.u8(10, self.flg_cmp);
        w.u8(11, self.invflags);
    }

    /// `tcp_save()`.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m tcp")?;
        save_ports(out, "sport", self.spts, self.invflags & TCP_INV_SRCPT != 0)?;
        save_ports(out, "dport", self.dpts, self.invflags & TCP_INV_DSTPT != 0)?;
        if self.option != 0 || self.invflags & TCP_INV_OPTION != 0 {
            bang(out, self.invflags & TCP_INV_OPTION != 0)?;
            write!(out, " --tcp-option {}", self.option)?;
        }
        if self.flg_mask != 0 || self.invflags & TCP_INV_FLAGS != 0 {
            bang(out, self.invflags & TCP_INV_FLAGS != 0)?;
            out.write_str(" --tcp-flags ")?;
            print_tcpf(out, self.flg_mask)?;
            out.write_str(" ")?;
            print_tcpf(out, self.flg_cmp)?;
        }
        Ok(())
    }
}

/// `struct xt_udp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp {
    /// Source port range (inclusive), host order.
    pub spts: [u16; 2],
    /// Destination port range.
    pub dpts: [u16; 2],
    /// `XT_UDP_INV_*`.
    pub invflags: u8,
}

impl Udp {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Udp {
            spts: [p.u16(0), p.u16(2)],
            dpts: [p.u16(4), p.u16(6)],
            invflags: p.u8(8),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u16(0, self.spts[0]);
        w.u16(2, self.spts[1]);
        w.u16(4, self.dpts[0]);
        w.u16(6, self.dpts[1]);
        w.u8(8, self.invflags);
    }

    /// `udp_save()`.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m udp")?;
        save_ports(out, "sport", self.spts, self.invflags & TCP_INV_SRCPT != 0)?;
        save_ports(out, "dport", self.dpts, self.invflags & TCP_INV_DSTPT != 0)
    }
}

/// `struct ipt_icmp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// ICMP type; 0xFF means any type.
    pub icmp_type: u8,
    /// Code range (inclusive).
    pub code: [u8; 2],
    /// `IPT_ICMP_INV`.
    pub invflags: u8,
}

impl Icmp {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        Icmp {
            icmp_type: p.u8(0),
            code: [p.u8(1), p.u8(2)],
            invflags: p.u8(3),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u8(0, self.icmp_type);
        w.u8(1, self.code[0]);
        w.u8(2, self.code[1]);
        w.u8(3, self.invflags);
    }

    /// `icmp_save()`: type 0xFF is `any`; a code is printed unless the range is `0..=255`, and
    /// then only its low end.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m icmp")?;
        bang(out, self.invflags & ICMP_INV != 0)?;
        if self.icmp_type == 0xFF {
            return out.write_str(" --icmp-type any");
        }
        write!(out, " --icmp-type {}", self.icmp_type)?;
        if self.code != [0, 0xFF] {
            write!(out, "/{}", self.code[0])?;
        }
        Ok(())
    }
}

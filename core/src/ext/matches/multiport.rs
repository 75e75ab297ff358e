//! `multiport` revision 1 (`xt_multiport.c`, `libxt_multiport`).
//!
//! ```text
//! struct xt_multiport_v1 { u8 flags; u8 count; u16 ports[15]; u8 pflags[15]; u8 invert; } // 48
//! ```
//! `pflags[i]` set means `ports[i]:ports[i+1]` is a range.

use super::{CheckCtx, Rd, Wr};
use super::{IPPROTO_DCCP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE};
use crate::error::Errno;
use crate::uapi::IPT_INV_PROTO;
use core::fmt;

/// `XT_MULTI_PORTS`.
const MULTI_PORTS: u8 = 15;

/// `multiport_mt_check`: the rule's protocol must be one with ports (and not inverted), the
/// direction one of source/destination/either, at most 15 ports; then the ranges.
pub(super) fn check(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    let proto = ctx.ip.proto.get();
    let proto_ok = matches!(
        proto,
        IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP
    );
    if !(proto_ok && ctx.ip.invflags & IPT_INV_PROTO == 0 && p.u8(0) <= 2 && p.u8(1) <= MULTI_PORTS)
    {
        return Err(Errno::EINVAL);
    }
    if ranges_ok(p) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// Range encoding, as the running 6.18 kernel enforces it (measured; older sources do not
/// check it, and the match then reads past `count`): a slot flagged as a range start needs a
/// following slot within `count` that is not itself a range start, and the range must not
/// be descending.
fn ranges_ok(p: Rd<'_>) -> bool {
    let count = usize::from(p.u8(1));
    let pflag = |i: usize| p.u8(i.saturating_add(32));
    let port = |i: usize| p.u16(i.saturating_mul(2).saturating_add(2));
    let mut i = 0usize;
    while i < count {
        if pflag(i) == 0 {
            i = i.saturating_add(1);
            continue;
        }
        let end = i.saturating_add(1);
        if end >= count || pflag(end) != 0 || port(i) > port(end) {
            return false;
        }
        i = end.saturating_add(1);
    }
    true
}

/// `struct xt_multiport_v1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiport {
    /// `XT_MULTIPORT_SOURCE` (0), `_DESTINATION` (1) or `_EITHER` (2).
    pub flags: u8,
    /// Number of `ports` slots in use (a range takes two).
    pub count: u8,
    /// Ports, host order.
    pub ports: [u16; 15],
    /// Range markers.
    pub pflags: [u8; 15],
    /// Non-zero: match when no port matches.
    pub invert: u8,
}

impl Multiport {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        let mut ports = [0u16; 15];
        for (i, port) in (0usize..).zip(ports.iter_mut()) {
            *port = p.u16(i.saturating_mul(2).saturating_add(2));
        }
        Multiport {
            flags: p.u8(0),
            count: p.u8(1),
            ports,
            pflags: super::arr(p.bytes(32, 15)),
            invert: p.u8(47),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u8(0, self.flags);
        w.u8(1, self.count);
        for (i, port) in (0usize..).zip(self.ports) {
            w.u16(i.saturating_mul(2).saturating_add(2), port);
        }
        w.put(32, &self.pflags);
        w.u8(47, self.invert);
    }

    /// `ports[i]` as iptables reads it: index 15 (reachable when the last slot is flagged as a
    /// range start) is the u16 that overlaps `pflags[0..2]`.
    fn port(&self, i: usize) -> u16 {
        match self.ports.get(i) {
            Some(&v) => v,
            None => u16::from_le_bytes([self.pflags[0], self.pflags[1]]),
        }
    }

    /// `multiport_save_v1()`.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m multiport")?;
        super::bang(out, self.invert != 0)?;
        match self.flags {
            0 => out.write_str(" --sports ")?,
            1 => out.write_str(" --dports ")?,
            2 => out.write_str(" --ports ")?,
            _ => {}
        }
        let count = usize::from(self.count);
        let mut i = 0usize;
        while i < count {
            if i != 0 {
                out.write_str(",")?;
            }
            write!(out, "{}", self.port(i))?;
            if self.pflags.get(i).copied().unwrap_or(0) != 0 {
                i = i.saturating_add(1);
                write!(out, ":{}", self.port(i))?;
            }
            i = i.saturating_add(1);
        }
        Ok(())
    }
}

//! `state` revision 0 and `conntrack` revisions 1-3 (`xt_state.c`, `xt_conntrack.c`,
//! `libxt_conntrack` which also implements `-m state`). Their `checkentry` only takes a
//! reference on conntrack (`nf_ct_netns_get`), which cannot fail here: conntrack is built in.
//!
//! ```text
//! struct xt_state_info { unsigned int statemask; };                                 // 4
//! struct xt_conntrack_mtinfo1 {                                                    // 152
//!     nf_inet_addr origsrc_addr, origsrc_mask, origdst_addr, origdst_mask;          //   0
//!     nf_inet_addr replsrc_addr, replsrc_mask, repldst_addr, repldst_mask;          //  64
//!     u32 expires_min, expires_max;                                                // 128
//!     u16 l4proto;                                                                 // 136
//!     __be16 origsrc_port, origdst_port, replsrc_port, repldst_port;                // 138
//!     u16 match_flags, invert_flags;                                               // 146
//!     u8 state_mask, status_mask;                                                  // 150
//! };
//! mtinfo2: state_mask, status_mask become u16 (150, 152)                           // 156
//! mtinfo3: ports are host order; + u16 origsrc_port_high ... repldst_port_high (154) // 164
//! ```
//! iptables 1.8 builds `-m state` as `conntrack` with `XT_CONNTRACK_STATE_ALIAS` set, and
//! iptables-save prints such a match back as `-m state --state ...`.

use super::{bang, write_ipv4, write_ipv4_mask, Rd, Wr};
use core::fmt;

const F_STATE: u16 = 1 << 0;
const F_PROTO: u16 = 1 << 1;
const F_ORIGSRC: u16 = 1 << 2;
const F_ORIGDST: u16 = 1 << 3;
const F_REPLSRC: u16 = 1 << 4;
const F_REPLDST: u16 = 1 << 5;
const F_STATUS: u16 = 1 << 6;
const F_EXPIRES: u16 = 1 << 7;
const F_ORIGSRC_PORT: u16 = 1 << 8;
const F_ORIGDST_PORT: u16 = 1 << 9;
const F_REPLSRC_PORT: u16 = 1 << 10;
const F_REPLDST_PORT: u16 = 1 << 11;
const F_DIRECTION: u16 = 1 << 12;
/// `XT_CONNTRACK_STATE_ALIAS`: the rule was written as `-m state`.
const F_STATE_ALIAS: u16 = 1 << 13;

/// `print_state()` of libxt_conntrack: the state bits in iptables' order. The same
/// function prints `xt_state_info` masks, whose UNTRACKED bit (64) is conntrack's SNAT bit,
/// so it prints as `SNAT` (as iptables does).
fn print_state(out: &mut dyn fmt::Write, mask: u32) -> fmt::Result {
    const NAMES: [(u32, &str); 7] = [
        (1, "INVALID"),
        (1 << 3, "NEW"),
        (1 << 2, "RELATED"),
        (1 << 1, "ESTABLISHED"),
        (1 << 8, "UNTRACKED"),
        (1 << 6, "SNAT"),
        (1 << 7, "DNAT"),
    ];
    let mut sep = " ";
    for (bit, name) in NAMES {
        if mask & bit != 0 {
            write!(out, "{sep}{name}")?;
            sep = ",";
        }
    }
    Ok(())
}

/// `print_status()`: `IPS_*` names, `NONE` only for an all-zero mask.
fn print_status(out: &mut dyn fmt::Write, mask: u32) -> fmt::Result {
    const NAMES: [(u32, &str); 4] = [
        (1, "EXPECTED"),
        (1 << 1, "SEEN_REPLY"),
        (1 << 2, "ASSURED"),
        (1 << 3, "CONFIRMED"),
    ];
    let mut sep = " ";
    for (bit, name) in NAMES {
        if mask & bit != 0 {
            write!(out, "{sep}{name}")?;
            sep = ",";
        }
    }
    if mask == 0 {
        write!(out, "{sep}NONE")?;
    }
    Ok(())
}

/// `struct xt_state_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    /// `XT_STATE_*` bits.
    pub statemask: u32,
}

impl State {
    pub(super) fn parse(p: Rd<'_>) -> Self {
        State {
            statemask: p.u32(0),
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        w.u32(0, self.statemask);
    }

    /// iptables 1.8.9 builds `-m state` as `conntrack` revision 3 on this kernel, so its
    /// `state` revision 0 library is never the loaded one: iptables-save prints
    /// `-m state [unsupported revision]`.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str("-m state [unsupported revision]")
    }

    /// The options `state_save()` prints when revision 0 is the one iptables uses (a kernel
    /// without conntrack revisions 1-3): `--state` and the state names.
    pub fn save_options(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        out.write_str(" --state")?;
        print_state(out, self.statemask)
    }
}

/// `struct xt_conntrack_mtinfo1/2/3`, widened to revision 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conntrack {
    /// Revision (1, 2 or 3): decides the layout and the port byte order.
    pub revision: u8,
    /// Original-direction source address and mask (network order, 16 bytes each).
    pub origsrc: [[u8; 16]; 2],
    /// Original-direction destination address and mask.
    pub origdst: [[u8; 16]; 2],
    /// Reply-direction source address and mask.
    pub replsrc: [[u8; 16]; 2],
    /// Reply-direction destination address and mask.
    pub repldst: [[u8; 16]; 2],
    /// Remaining lifetime range, seconds.
    pub expires: [u32; 2],
    /// Layer-4 protocol.
    pub l4proto: u16,
    /// `origsrc`, `origdst`, `replsrc`, `repldst` ports as stored: network order for revisions
    /// 1 and 2, host order (range low end) for revision 3.
    pub ports: [u16; 4],
    /// `XT_CONNTRACK_*` options present.
    pub match_flags: u16,
    /// `XT_CONNTRACK_*` options inverted.
    pub invert_flags: u16,
    /// Conntrack states (u8 in revision 1).
    pub state_mask: u16,
    /// `IPS_*` status bits (u8 in revision 1).
    pub status_mask: u16,
    /// Range high ends of the four ports (revision 3 only).
    pub ports_high: [u16; 4],
}

impl Conntrack {
    pub(super) fn parse(revision: u8, p: Rd<'_>) -> Self {
        let a = |off: usize| super::arr::<16>(p.bytes(off, 16));
        let (state_mask, status_mask) = if revision == 1 {
            (u16::from(p.u8(150)), u16::from(p.u8(151)))
        } else {
            (p.u16(150), p.u16(152))
        };
        let ports_high = if revision == 3 {
            [p.u16(154), p.u16(156), p.u16(158), p.u16(160)]
        } else {
            [0; 4]
        };
        Conntrack {
            revision,
            origsrc: [a(0), a(16)],
            origdst: [a(32), a(48)],
            replsrc: [a(64), a(80)],
            repldst: [a(96), a(112)],
            expires: [p.u32(128), p.u32(132)],
            l4proto: p.u16(136),
            ports: [p.u16(138), p.u16(140), p.u16(142), p.u16(144)],
            match_flags: p.u16(146),
            invert_flags: p.u16(148),
            state_mask,
            status_mask,
            ports_high,
        }
    }

    pub(super) fn encode(&self, w: &mut Wr) {
        let addrs = [self.origsrc, self.origdst, self.replsrc, self.repldst];
        for (off, a) in (0usize..).step_by(32).zip(addrs) {
            w.put(off, &a[0]);
            w.put(off.saturating_add(16), &a[1]);
        }
        w.u32(128, self.expires[0]);
        w.u32(132, self.expires[1]);
        w.u16(136, self.l4proto);
        for (off, port) in (138usize..).step_by(2).zip(self.ports) {
            w.u16(off, port);
        }
        w.u16(146, self.match_flags);
        w.u16(148, self.invert_flags);
        if self.revision == 1 {
            // Revision 1 keeps both masks as u8: the high byte has no place in the payload.
            let [state, _] = self.state_mask.to_le_bytes();
            let [status, _] = self.status_mask.to_le_bytes();
            w.u8(150, state);
            w.u8(151, status);
        } else {
            w.u16(150, self.state_mask);
            w.u16(152, self.status_mask);
        }
        if self.revision == 3 {
            for (off, port) in (154usize..).step_by(2).zip(self.ports_high) {
                w.u16(off, port);
            }
        }
    }

    /// iptables-save: `-m conntrack`, or `-m state` when the rule was written as `-m state`
    /// (the alias flag), then the options. iptables 1.8.9 only loads the best revision the
    /// kernel has (3 here); for revisions 1 and 2 it prints `[unsupported revision]` instead
    /// of the options.
    pub(super) fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        if self.match_flags & F_STATE_ALIAS != 0 {
            out.write_str("-m state")?;
        } else {
            out.write_str("-m conntrack")?;
        }
        if self.revision != 3 {
            return out.write_str(" [unsupported revision]");
        }
        self.save_options(out)
    }

    /// `conntrack_dump()` with the `--` prefix and numeric addresses, as
    /// `conntrack{1,2,3}_mt_save` call it: what iptables prints when this revision is the
    /// one it uses.
    pub fn save_options(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        let f = self.match_flags;
        let inv = |flag: u16| self.invert_flags & flag != 0;
        if f & F_STATE != 0 {
            bang(out, inv(F_STATE))?;
            if f & F_STATE_ALIAS != 0 {
                out.write_str(" --state")?;
            } else {
                out.write_str(" --ctstate")?;
            }
            print_state(out, u32::from(self.state_mask))?;
        }
        if f & F_PROTO != 0 {
            bang(out, inv(F_PROTO))?;
            write!(out, " --ctproto {}", self.l4proto)?;
        }
        let addrs = [
            (F_ORIGSRC, "ctorigsrc", &self.origsrc),
            (F_ORIGDST, "ctorigdst", &self.origdst),
            (F_REPLSRC, "ctreplsrc", &self.replsrc),
            (F_REPLDST, "ctrepldst", &self.repldst),
        ];
        for (flag, opt, [addr, mask]) in addrs {
            if f & flag != 0 {
                bang(out, inv(flag))?;
                write!(out, " --{opt} ")?;
                write_ipv4(out, addr)?;
                write_ipv4_mask(out, mask)?;
            }
        }
        let ports = [
            (F_ORIGSRC_PORT, "ctorigsrcport"),
            (F_ORIGDST_PORT, "ctorigdstport"),
            (F_REPLSRC_PORT, "ctreplsrcport"),
            (F_REPLDST_PORT, "ctrepldstport"),
        ];
        for (((flag, opt), raw), high) in ports.into_iter().zip(self.ports).zip(self.ports_high) {
            if f & flag == 0 {
                continue;
            }
            bang(out, inv(flag))?;
            // Revisions 1 and 2 keep one network-order port and print it with a high end of
            // 0; revision 3 keeps a host-order range.
            let (low, high) = if self.revision == 3 {
                (raw, high)
            } else {
                (raw.swap_bytes(), 0)
            };
            if high == 0 || low == high {
                write!(out, " --{opt} {low}")?;
            } else {
                write!(out, " --{opt} {low}:{high}")?;
            }
        }
        if f & F_STATUS != 0 {
            bang(out, inv(F_STATUS))?;
            out.write_str(" --ctstatus")?;
            print_status(out, u32::from(self.status_mask))?;
        }
        if f & F_EXPIRES != 0 {
            bang(out, inv(F_EXPIRES))?;
            let [min, max] = self.expires;
            if min == max {
                write!(out, " --ctexpire {min}")?;
            } else {
                write!(out, " --ctexpire {min}:{max}")?;
            }
        }
        if f & F_DIRECTION != 0 {
            if inv(F_DIRECTION) {
                out.write_str(" --ctdir REPLY")?;
            } else {
                out.write_str(" --ctdir ORIGINAL")?;
            }
        }
        Ok(())
    }
}

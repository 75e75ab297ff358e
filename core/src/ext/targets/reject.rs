//! `REJECT` (`net/ipv4/netfilter/ipt_REJECT.c`, `struct ipt_reject_info`: one u32 `with`).
//! IPv4-only, `filter` table, INPUT/FORWARD/OUTPUT.

use super::wire::{entry_proto, hook, Rd, Wr, IPPROTO_TCP};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `REJECT` revision 0.
pub const REJECT: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "REJECT",
    revision: 0,
    family: Family::Ipv4,
    size: 4,
    usersize: 0,
    table: Some("filter"),
    hooks: hook::IN | hook::FWD | hook::OUT,
    proto: 0,
    check: check_reject,
};

/// `IPT_ICMP_ECHOREPLY`: refused by the kernel ("no longer supported").
pub const IPT_ICMP_ECHOREPLY: u32 = 4;
/// `IPT_TCP_RESET`: needs `-p tcp` without `!`.
pub const IPT_TCP_RESET: u32 = 7;

/// `reject_tg_check`. Any other `with` value is accepted, even ones the target does not
/// know (it then just drops).
fn check_reject(ctx: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let with = Rd(p).u32(0);
    if with == IPT_ICMP_ECHOREPLY {
        return Err(Errno::EINVAL);
    }
    if with == IPT_TCP_RESET {
        let (proto, inv) = entry_proto(ctx);
        if proto != IPPROTO_TCP || inv {
            return Err(Errno::EINVAL);
        }
    }
    Ok(())
}

/// The `--reject-with` names, indexed by `with` (libipt_REJECT.c `reject_table`).
const REJECT_NAMES: [&str; 9] = [
    "icmp-net-unreachable",
    "icmp-host-unreachable",
    "icmp-proto-unreachable",
    "icmp-port-unreachable",
    "echo-reply",
    "icmp-net-prohibited",
    "icmp-host-prohibited",
    "tcp-reset",
    "icmp-admin-prohibited",
];

/// The reply a `REJECT` sends (`enum ipt_reject_with`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectWith {
    /// ICMP net unreachable.
    NetUnreachable,
    /// ICMP host unreachable.
    HostUnreachable,
    /// ICMP protocol unreachable.
    ProtoUnreachable,
    /// ICMP port unreachable (iptables' default).
    PortUnreachable,
    /// ICMP echo reply (refused by the kernel).
    EchoReply,
    /// ICMP net prohibited.
    NetProhibited,
    /// ICMP host prohibited.
    HostProhibited,
    /// TCP RST.
    TcpReset,
    /// ICMP administratively prohibited.
    AdminProhibited,
}

/// `struct ipt_reject_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// `enum ipt_reject_with`, raw.
    pub with: u32,
}

impl Reject {
    /// The reply kind, if `with` is one the kernel knows.
    pub fn kind(&self) -> Option<RejectWith> {
        use RejectWith::*;
        Some(match self.with {
            0 => NetUnreachable,
            1 => HostUnreachable,
            2 => ProtoUnreachable,
            3 => PortUnreachable,
            4 => EchoReply,
            5 => NetProhibited,
            6 => HostProhibited,
            7 => TcpReset,
            8 => AdminProhibited,
            _ => return None,
        })
    }
}

impl Payload for Reject {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Reject { with: r.u32(0) })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u32(0, self.with);
    }

    /// `REJECT_save`. It indexes its name table with `with` unchecked: for `with > 8` real
    /// iptables-save reads out of bounds (it crashes on this machine), so this is an error.
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        let idx = usize::try_from(self.with).map_err(|_| fmt::Error)?;
        let with = REJECT_NAMES.get(idx).ok_or(fmt::Error)?;
        write!(out, "-j {name} --reject-with {with}")
    }
}

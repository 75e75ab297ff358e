//! `NFLOG` (`net/netfilter/xt_NFLOG.c`, `struct xt_nflog_info`, 76 bytes):
//!
//! ```text
//! 0  len        u32   copy length, used iff flags & XT_NFLOG_F_COPY_LEN
//! 4  group      u16
//! 6  threshold  u16
//! 8  flags      u16   only XT_NFLOG_F_COPY_LEN (1) allowed
//! 10 pad        u16
//! 12 prefix     [64]  NUL required at [63]
//! ```

use super::wire::{save_string, Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `NFLOG` revision 0.
pub const NFLOG: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "NFLOG",
    revision: 0,
    family: Family::Ipv4,
    size: 76,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_nflog,
};

/// `XT_NFLOG_F_COPY_LEN`: `len` is meaningful (`--nflog-size`).
pub const XT_NFLOG_F_COPY_LEN: u16 = 0x1;

/// `nflog_tg_check`; nfnetlink_log is built in, so the ULOG logger lookup succeeds.
fn check_nflog(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    if r.u16(8) & !XT_NFLOG_F_COPY_LEN != 0 {
        return Err(Errno::EINVAL);
    }
    // prefix[63], at payload offset 12 + 63.
    if r.u8(75) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `struct xt_nflog_info` (the `pad` field must be zero to round-trip as this type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nflog {
    /// Bytes to copy to userspace (`--nflog-size`, or the never-working `--nflog-range`).
    pub len: u32,
    /// Netlink group.
    pub group: u16,
    /// Queue threshold.
    pub threshold: u16,
    /// `XT_NFLOG_F_*`.
    pub flags: u16,
    /// The prefix field, verbatim.
    pub prefix: [u8; 64],
}

impl Payload for Nflog {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Nflog {
            len: r.u32(0),
            group: r.u16(4),
            threshold: r.u16(6),
            flags: r.u16(8),
            prefix: r.arr(12),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u32(0, self.len);
        w.u16(4, self.group);
        w.u16(6, self.threshold);
        w.u16(8, self.flags);
        w.put(12, &self.prefix);
    }

    /// `NFLOG_save` (`nflog_print` with the `--` prefix).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        let prefix = crate::uapi::cstr(&self.prefix);
        if !prefix.is_empty() {
            out.write_str(" --nflog-prefix")?;
            save_string(out, prefix)?;
        }
        if self.group != 0 {
            write!(out, " --nflog-group {}", self.group)?;
        }
        if self.flags & XT_NFLOG_F_COPY_LEN != 0 {
            write!(out, " --nflog-size {}", self.len)?;
        } else if self.len != 0 {
            write!(out, " --nflog-range {}", self.len)?;
        }
        if self.threshold != 0 {
            write!(out, " --nflog-threshold {}", self.threshold)?;
        }
        Ok(())
    }
}

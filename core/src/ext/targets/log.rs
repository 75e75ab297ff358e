//! `LOG` (`net/netfilter/xt_LOG.c`, `struct xt_log_info`, 32 bytes).
//!
//! ```text
//! 0  level     u8   syslog level, < 8
//! 1  logflags  u8   XT_LOG_* (not checked by the kernel)
//! 2  prefix    [30] NUL required at [29]
//! ```

use super::wire::{save_string, Rd, Wr};
use super::Payload;
use crate::error::Errno;
use crate::ext::{CheckCtx, ExtDesc, Family, Kind};
use core::fmt;

/// `LOG` revision 0 (IPv4 registration).
pub const LOG: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "LOG",
    revision: 0,
    family: Family::Ipv4,
    size: 32,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_log,
};

/// `log_tg_check`. The family test passes for IPv4 and the syslog logger is built in, so
/// `nf_logger_find_get` succeeds.
fn check_log(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let r = Rd(p);
    if r.u8(0) >= 8 {
        return Err(Errno::EINVAL);
    }
    if r.u8(31) != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `XT_LOG_TCPSEQ`.
pub const XT_LOG_TCPSEQ: u8 = 0x01;
/// `XT_LOG_TCPOPT`.
pub const XT_LOG_TCPOPT: u8 = 0x02;
/// `XT_LOG_IPOPT`.
pub const XT_LOG_IPOPT: u8 = 0x04;
/// `XT_LOG_UID`.
pub const XT_LOG_UID: u8 = 0x08;
/// `XT_LOG_MACDECODE`.
pub const XT_LOG_MACDECODE: u8 = 0x20;

/// iptables' default level (`LOG_WARNING`), omitted by `iptables-save`.
const LOG_DEFAULT_LEVEL: u8 = 4;

/// `struct xt_log_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// Syslog level (0..=7 in an accepted rule).
    pub level: u8,
    /// `XT_LOG_*` flags.
    pub logflags: u8,
    /// The prefix field, verbatim (C string; bytes after the NUL are kept for round trips).
    pub prefix: [u8; 30],
}

impl Payload for Log {
    fn read(_: u8, r: Rd<'_>) -> Option<Self> {
        Some(Log {
            level: r.u8(0),
            logflags: r.u8(1),
            prefix: r.arr(2),
        })
    }

    fn write(&self, _: u8, w: &mut Wr<'_>) {
        w.u8(0, self.level);
        w.u8(1, self.logflags);
        w.put(2, &self.prefix);
    }

    /// `LOG_save` (libxt_LOG.c).
    fn save(&self, name: &str, _: u8, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "-j {name}")?;
        let prefix = crate::uapi::cstr(&self.prefix);
        if !prefix.is_empty() {
            out.write_str(" --log-prefix")?;
            save_string(out, prefix)?;
        }
        if self.level != LOG_DEFAULT_LEVEL {
            write!(out, " --log-level {}", self.level)?;
        }
        for (bit, opt) in [
            (XT_LOG_TCPSEQ, " --log-tcp-sequence"),
            (XT_LOG_TCPOPT, " --log-tcp-options"),
            (XT_LOG_IPOPT, " --log-ip-options"),
            (XT_LOG_UID, " --log-uid"),
            (XT_LOG_MACDECODE, " --log-macdecode"),
        ] {
            if self.logflags & bit != 0 {
                out.write_str(opt)?;
            }
        }
        Ok(())
    }
}

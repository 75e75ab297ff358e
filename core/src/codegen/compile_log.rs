//! LOG events: what a generated program writes to the log ring buffer for a rule with a
//! `LOG` target, and how the daemon turns one into the line the kernel's `nf_log_syslog`
//! would print.
//!
//! ```text
//! offset  size  field
//!      0     4  entry     index of the LOG entry (its prefix, level and flags come from
//!                         the ruleset, not from the event)
//!      4     4  hook      NF_INET_*
//!      8     4  len       skb->len
//!     12     4  mark      skb->mark
//!     16    16  indev     state->in->name, zeros without a device
//!     32    16  outdev    state->out->name
//!     48     4  caplen    bytes of `data` filled: min(len, 128)
//!     52     4  reserved  0
//!     56   128  data      the packet from the IPv4 header on
//! ```
//!
//! Fields are in the machine's byte order. The MAC header is not captured (the skb dynptr
//! starts at the network header), so lines carry no `MAC=` part.

use crate::uapi::cstr;
use core::fmt::{self, Write};

/// `long bpf_dynptr_read(void *dst, u32 len, const struct bpf_dynptr *src, u32 offset,
/// u64 flags)`.
pub(crate) const DYNPTR_READ: i32 = 201;

/// Offset of the entry index.
pub(crate) const E_ENTRY: i16 = 0;
/// Offset of the hook number.
pub(crate) const E_HOOK: i16 = 4;
/// Offset of `skb->len`.
pub(crate) const E_LEN: i16 = 8;
/// Offset of `skb->mark`.
pub(crate) const E_MARK: i16 = 12;
/// Offset of the input device name.
pub(crate) const E_INDEV: i16 = 16;
/// Offset of the output device name.
pub(crate) const E_OUTDEV: i16 = 32;
/// Offset of the captured length.
pub(crate) const E_CAPLEN: i16 = 48;
/// Offset of the reserved word.
pub(crate) const E_RESERVED: i16 = 52;
/// Offset of the packet bytes.
pub(crate) const E_DATA: i16 = 56;
/// Packet bytes captured at most.
pub const CAPTURE_LEN: u32 = 128;
/// Size of one event.
pub const EVENT_SIZE: u32 = 56 + CAPTURE_LEN;

/// One LOG event, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent<'a> {
    /// Index of the LOG entry in the table.
    pub entry: u32,
    /// The hook (`NF_INET_*`).
    pub hook: u32,
    /// `skb->len`.
    pub len: u32,
    /// `skb->mark`.
    pub mark: u32,
    /// Input device name (NUL-padded; all zero without a device).
    pub indev: [u8; 16],
    /// Output device name.
    pub outdev: [u8; 16],
    /// The captured packet bytes, from the IPv4 header on.
    pub data: &'a [u8],
}

fn u32_at(b: &[u8], at: i16) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(<[u8; 4]>::try_from(s).ok()?))
}

fn name_at(b: &[u8], at: i16) -> Option<[u8; 16]> {
    let at = usize::try_from(at).ok()?;
    <[u8; 16]>::try_from(b.get(at..at.checked_add(16)?)?).ok()
}

impl<'a> LogEvent<'a> {
    /// Decode one ring-buffer record; `None` if it is shorter than [`EVENT_SIZE`] or its
    /// captured length is out of range.
    pub fn parse(b: &'a [u8]) -> Option<LogEvent<'a>> {
        let caplen = usize::try_from(u32_at(b, E_CAPLEN)?).ok()?;
        if caplen > usize::try_from(CAPTURE_LEN).ok()? {
            return None;
        }
        let start = usize::try_from(E_DATA).ok()?;
        let data = b.get(start..start.checked_add(caplen)?)?;
        if b.len() < usize::try_from(EVENT_SIZE).ok()? {
            return None;
        }
        Some(LogEvent {
            entry: u32_at(b, E_ENTRY)?,
            hook: u32_at(b, E_HOOK)?,
            len: u32_at(b, E_LEN)?,
            mark: u32_at(b, E_MARK)?,
            indev: name_at(b, E_INDEV)?,
            outdev: name_at(b, E_OUTDEV)?,
            data,
        })
    }

    /// Write the text `nf_log_ip_packet` logs for this packet with `prefix` and the default
    /// LOG flags (no TCP sequence, TCP/IP options or UID): `PREFIXIN=... OUT=... SRC=...`.
    /// Packet bytes missing from the capture print as the kernel's `TRUNCATED`/`INCOMPLETE`
    /// markers.
    pub fn write_line(&self, prefix: &[u8], out: &mut dyn Write) -> fmt::Result {
        for &c in prefix {
            out.write_char(char::from(c))?;
        }
        write!(out, "IN=")?;
        write_name(out, &self.indev)?;
        write!(out, " OUT=")?;
        write_name(out, &self.outdev)?;
        write!(out, " ")?;
        let d = self.data;
        let byte = |i: usize| d.get(i).copied().unwrap_or(0);
        let be16 = |i: usize| u16::from_be_bytes([byte(i), byte(i.saturating_add(1))]);
        if d.len() < 20 {
            return write!(out, "TRUNCATED");
        }
        write!(
            out,
            "SRC={}.{}.{}.{} DST={}.{}.{}.{} ",
            byte(12),
            byte(13),
            byte(14),
            byte(15),
            byte(16),
            byte(17),
            byte(18),
            byte(19)
        )?;
        let tos = byte(1);
        write!(
            out,
            "LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
            be16(2),
            tos & 0x1E,
            tos & 0xE0,
            byte(8),
            be16(4)
        )?;
        let frag = be16(6);
        for (bit, name) in [(0x8000, "CE "), (0x4000, "DF "), (0x2000, "MF ")] {
            if frag & bit != 0 {
                out.write_str(name)?;
            }
        }
        let fragoff = frag & 0x1FFF;
        if fragoff != 0 {
            write!(out, "FRAG:{fragoff} ")?;
        }
        let th = usize::from(byte(0) & 0x0F).saturating_mul(4);
        let l4 = d.get(th..).unwrap_or(&[]);
        let l4b = |i: usize| l4.get(i).copied().unwrap_or(0);
        let l4h = |i: usize| u16::from_be_bytes([l4b(i), l4b(i.saturating_add(1))]);
        match byte(9) {
            6 => {
                out.write_str("PROTO=TCP ")?;
                if fragoff == 0 {
                    if l4.len() < 20 {
                        write!(out, "INCOMPLETE [{} bytes] ", l4.len())?;
                    } else {
                        write!(out, "SPT={} DPT={} ", l4h(0), l4h(2))?;
                        write!(out, "WINDOW={} ", l4h(14))?;
                        write!(out, "RES=0x{:02x} ", l4b(12) & 0x0F)?;
                        let flags = l4b(13);
                        for (bit, name) in [
                            (0x80, "CWR "),
                            (0x40, "ECE "),
                            (0x20, "URG "),
                            (0x10, "ACK "),
                            (0x08, "PSH "),
                            (0x04, "RST "),
                            (0x02, "SYN "),
                            (0x01, "FIN "),
                        ] {
                            if flags & bit != 0 {
                                out.write_str(name)?;
                            }
                        }
                        write!(out, "URGP={} ", l4h(18))?;
                    }
                }
            }
            17 | 136 => {
                let name = if byte(9) == 17 { "UDP" } else { "UDPLITE" };
                write!(out, "PROTO={name} ")?;
                if fragoff == 0 {
                    if l4.len() < 8 {
                        write!(out, "INCOMPLETE [{} bytes] ", l4.len())?;
                    } else {
                        write!(out, "SPT={} DPT={} LEN={} ", l4h(0), l4h(2), l4h(4))?;
                    }
                }
            }
            1 => {
                out.write_str("PROTO=ICMP ")?;
                if fragoff == 0 {
                    if l4.len() < 4 {
                        write!(out, "INCOMPLETE [{} bytes] ", l4.len())?;
                    } else {
                        write!(out, "TYPE={} CODE={} ", l4b(0), l4b(1))?;
                        // ECHO and ECHOREPLY carry an id and a sequence number.
                        if matches!(l4b(0), 0 | 8) && l4.len() >= 8 {
                            write!(out, "ID={} SEQ={} ", l4h(4), l4h(6))?;
                        }
                    }
                }
            }
            p => write!(out, "PROTO={p} ")?,
        }
        if self.mark != 0 {
            write!(out, "MARK=0x{:x} ", self.mark)?;
        }
        Ok(())
    }
}

fn write_name(out: &mut dyn Write, n: &[u8; 16]) -> fmt::Result {
    for &c in cstr(n) {
        out.write_char(char::from(c))?;
    }
    Ok(())
}

//! LOG events: what a generated program writes to the log ring buffer for a rule with a
//! `LOG` target, and how the daemon turns one into the line the kernel's `nf_log_syslog`
//! would print (`nf_log_ip_packet`: prefix, devices, MAC header, `dump_ipv4_packet`).
//!
//! ```text
//! offset  size  field
//!      0     4  entry       index of the LOG entry (its prefix, level and flags come from
//!                           the ruleset, not from the event)
//!      4     4  hook        NF_INET_*
//!      8     4  len         skb->len
//!     12     4  mark        skb->mark
//!     16    16  indev       state->in->name, zeros without a device
//!     32    16  outdev      state->out->name
//!     48     4  caplen      bytes of `data` filled: min(len, CAPTURE_LEN)
//!     52     2  dev_type    skb->dev->type (ARPHRD_*)
//!     54     2  hhlen       skb->dev->hard_header_len
//!     56     2  mac_header  skb->mac_header
//!     58     2  net_header  skb->network_header
//!     60     4  maclen      bytes of `mac` filled: min(hhlen, MAC_CAPTURE_LEN), 0 when the
//!                           kernel prints none (no in device, hhlen 0, MAC = network header)
//!     64     4  has_uid     1 when uid/gid hold the owning socket's file credentials
//!     68     4  uid         fsuid of skb->sk->sk_socket->file->f_cred
//!     72     4  gid         fsgid
//!     76     2  vlan_proto  skb->vlan_proto (network order, as stored)
//!     78     2  vlan_tci    skb->vlan_tci
//!     80    32  mac         skb->head + skb->mac_header, `maclen` bytes
//!    112   192  data        the packet from the IPv4 header on
//! ```
//!
//! Fields are in the machine's byte order. 192 packet bytes cover everything the kernel's
//! IPv4 dump can read: 60 bytes of IP header with options, 8 of ICMP, the quoted packet's 60
//! bytes of IP header and 60 of TCP header with options (188).

use crate::uapi::cstr;
use core::fmt::{self, Write};

/// `long bpf_dynptr_read(void *dst, u32 len, const struct bpf_dynptr *src, u32 offset,
/// u64 flags)`.
pub(crate) const DYNPTR_READ: i32 = 201;
/// `long bpf_probe_read_kernel(void *dst, u32 size, const void *src)`: reads kernel memory.
pub(crate) const PROBE_READ_KERNEL: i32 = 113;

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
/// Offset of `dev->type`.
pub(crate) const E_DEV_TYPE: i16 = 52;
/// Offset of `dev->hard_header_len`.
pub(crate) const E_HHLEN: i16 = 54;
/// Offset of `skb->mac_header`.
pub(crate) const E_MAC_HEADER: i16 = 56;
/// Offset of `skb->network_header`.
pub(crate) const E_NET_HEADER: i16 = 58;
/// Offset of the captured MAC length.
pub(crate) const E_MACLEN: i16 = 60;
/// Offset of the uid-valid word.
pub(crate) const E_HAS_UID: i16 = 64;
/// Offset of the fsuid.
pub(crate) const E_UID: i16 = 68;
/// Offset of the fsgid.
pub(crate) const E_GID: i16 = 72;
/// Offset of `skb->vlan_proto`.
pub(crate) const E_VLAN_PROTO: i16 = 76;
/// Offset of `skb->vlan_tci`.
pub(crate) const E_VLAN_TCI: i16 = 78;
/// Offset of the MAC header bytes.
pub(crate) const E_MAC: i16 = 80;
/// Offset of the packet bytes.
pub(crate) const E_DATA: i16 = 112;
/// MAC header bytes captured at most (a longer `hard_header_len` prints its first 32).
pub const MAC_CAPTURE_LEN: u32 = 32;
/// Packet bytes captured at most.
pub const CAPTURE_LEN: u32 = 192;
/// Size of one event.
pub const EVENT_SIZE: u32 = 112 + CAPTURE_LEN;

/// `XT_LOG_TCPSEQ`.
const TCPSEQ: u8 = 0x01;
/// `XT_LOG_TCPOPT`.
const TCPOPT: u8 = 0x02;
/// `XT_LOG_IPOPT`.
const IPOPT: u8 = 0x04;
/// `XT_LOG_UID`.
pub const LOG_UID: u8 = 0x08;
/// `XT_LOG_MACDECODE`.
const MACDECODE: u8 = 0x20;
/// `ARPHRD_ETHER`.
const ARPHRD_ETHER: u16 = 1;

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
    /// `skb->dev->type`.
    pub dev_type: u16,
    /// `skb->dev->hard_header_len`.
    pub hard_header_len: u16,
    /// `skb->mac_header`.
    pub mac_header: u16,
    /// `skb->network_header`.
    pub network_header: u16,
    /// `skb->vlan_proto` (network byte order) and `skb->vlan_tci`.
    pub vlan: (u16, u16),
    /// The owning socket's (fsuid, fsgid), when the kernel would print them.
    pub uid: Option<(u32, u32)>,
    /// The captured MAC header bytes.
    pub mac: &'a [u8],
    /// The captured packet bytes, from the IPv4 header on.
    pub data: &'a [u8],
}

fn u16_at(b: &[u8], at: i16) -> Option<u16> {
    let at = usize::try_from(at).ok()?;
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(<[u8; 2]>::try_from(s).ok()?))
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
    /// Decode one ring-buffer record; `None` if it is shorter than [`EVENT_SIZE`] or a
    /// captured length is out of range.
    pub fn parse(b: &'a [u8]) -> Option<LogEvent<'a>> {
        if b.len() < usize::try_from(EVENT_SIZE).ok()? {
            return None;
        }
        let caplen = usize::try_from(u32_at(b, E_CAPLEN)?).ok()?;
        if caplen > usize::try_from(CAPTURE_LEN).ok()? {
            return None;
        }
        let maclen = usize::try_from(u32_at(b, E_MACLEN)?).ok()?;
        if maclen > usize::try_from(MAC_CAPTURE_LEN).ok()? {
            return None;
        }
        let start = usize::try_from(E_DATA).ok()?;
        let data = b.get(start..start.checked_add(caplen)?)?;
        let mstart = usize::try_from(E_MAC).ok()?;
        let mac = b.get(mstart..mstart.checked_add(maclen)?)?;
        Some(LogEvent {
            entry: u32_at(b, E_ENTRY)?,
            hook: u32_at(b, E_HOOK)?,
            len: u32_at(b, E_LEN)?,
            mark: u32_at(b, E_MARK)?,
            indev: name_at(b, E_INDEV)?,
            outdev: name_at(b, E_OUTDEV)?,
            dev_type: u16_at(b, E_DEV_TYPE)?,
            hard_header_len: u16_at(b, E_HHLEN)?,
            mac_header: u16_at(b, E_MAC_HEADER)?,
            network_header: u16_at(b, E_NET_HEADER)?,
            vlan: (u16_at(b, E_VLAN_PROTO)?, u16_at(b, E_VLAN_TCI)?),
            uid: match u32_at(b, E_HAS_UID)? {
                0 => None,
                _ => Some((u32_at(b, E_UID)?, u32_at(b, E_GID)?)),
            },
            mac,
            data,
        })
    }

    /// Write the text `nf_log_ip_packet` logs for this packet with `prefix` and the LOG
    /// rule's `XT_LOG_*` flags: `PREFIXIN=... OUT=... MAC=... SRC=...`, without the
    /// level (that is the syslog priority the line is written with).
    ///
    /// Packet bytes are read as `skb_header_pointer` would: present when they lie within
    /// `skb->len`. The capture holds every byte the IPv4 dump can reach, so the only
    /// difference from the kernel is a `hard_header_len` above [`MAC_CAPTURE_LEN`] (only its
    /// first bytes print) and `ARPHRD_SIT` devices, whose tunnel decoding is not reproduced.
    pub fn write_line(&self, prefix: &[u8], flags: u8, out: &mut dyn Write) -> fmt::Result {
        for &c in prefix {
            out.write_char(char::from(c))?;
        }
        write!(out, "IN=")?;
        write_name(out, &self.indev)?;
        write!(out, " OUT=")?;
        write_name(out, &self.outdev)?;
        write!(out, " ")?;
        // `if (in) dump_mac_header(...)`: a device always has a name.
        if self.indev.first().is_some_and(|&c| c != 0) {
            self.write_mac(flags, out)?;
        }
        self.write_ipv4(0, flags, out)
    }

    /// `dump_mac_header`.
    fn write_mac(&self, flags: u8, out: &mut dyn Write) -> fmt::Result {
        let m = |i: usize| self.mac.get(i).copied().unwrap_or(0);
        if flags & MACDECODE != 0 && self.dev_type == ARPHRD_ETHER {
            let hw = |out: &mut dyn Write, at: usize| -> fmt::Result {
                write!(
                    out,
                    "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                    m(at),
                    m(at.saturating_add(1)),
                    m(at.saturating_add(2)),
                    m(at.saturating_add(3)),
                    m(at.saturating_add(4)),
                    m(at.saturating_add(5))
                )
            };
            out.write_str("MACSRC=")?;
            hw(out, 6)?;
            out.write_str(" MACDST=")?;
            hw(out, 0)?;
            out.write_str(" ")?;
            // nf_log_dump_vlan: skb_vlan_tag_present() is `vlan_all != 0`.
            let (proto, tci) = self.vlan;
            if proto != 0 || tci != 0 {
                write!(
                    out,
                    "VPROTO={:04x} VID={} ",
                    u16::from_be(proto),
                    tci & 0x0fff
                )?;
            }
            return write!(out, "MACPROTO={:02x}{:02x} ", m(12), m(13));
        }
        out.write_str("MAC=")?;
        if self.hard_header_len != 0 && self.mac_header != self.network_header {
            for (i, b) in self.mac.iter().enumerate() {
                if i == 0 {
                    write!(out, "{b:02x}")?;
                } else {
                    write!(out, ":{b:02x}")?;
                }
            }
        }
        out.write_str(" ")
    }

    /// `skb_header_pointer(skb, off, n)`: the bytes when they lie within `skb->len` (and
    /// were captured).
    fn hdr(&self, off: usize, n: usize) -> Option<&'a [u8]> {
        let end = off.checked_add(n)?;
        if end > usize::try_from(self.len).ok()? {
            return None;
        }
        self.data.get(off..end)
    }

    /// `skb->len - off` as the kernel's unsigned arithmetic prints it.
    fn rest(&self, off: usize) -> u32 {
        self.len
            .wrapping_sub(u32::try_from(off).unwrap_or(u32::MAX))
    }

    /// `dump_ipv4_packet(.., iphoff)`.
    fn write_ipv4(&self, iphoff: usize, flags: u8, out: &mut dyn Write) -> fmt::Result {
        let Some(ih) = self.hdr(iphoff, 20) else {
            return out.write_str("TRUNCATED");
        };
        let b = |i: usize| ih.get(i).copied().unwrap_or(0);
        let be16 = |i: usize| u16::from_be_bytes([b(i), b(i.saturating_add(1))]);
        write!(
            out,
            "SRC={}.{}.{}.{} DST={}.{}.{}.{} ",
            b(12),
            b(13),
            b(14),
            b(15),
            b(16),
            b(17),
            b(18),
            b(19)
        )?;
        let tos = b(1);
        write!(
            out,
            "LEN={} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={} ",
            be16(2),
            tos & 0x1E,
            tos & 0xE0,
            b(8),
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
        let ihl = usize::from(b(0) & 0x0F).saturating_mul(4);
        if flags & IPOPT != 0 && ihl > 20 {
            let Some(op) = self.hdr(iphoff.saturating_add(20), ihl.saturating_sub(20)) else {
                return out.write_str("TRUNCATED");
            };
            write_opt(op, out)?;
        }
        let l4 = iphoff.saturating_add(ihl);
        let fragment = fragoff != 0;
        match b(9) {
            6 => {
                out.write_str("PROTO=TCP ")?;
                if !fragment && !self.write_tcp(l4, flags, out)? {
                    return Ok(());
                }
            }
            p @ (17 | 136) => {
                out.write_str(if p == 17 {
                    "PROTO=UDP "
                } else {
                    "PROTO=UDPLITE "
                })?;
                if !fragment {
                    let Some(uh) = self.hdr(l4, 8) else {
                        return write!(out, "INCOMPLETE [{} bytes] ", self.rest(l4));
                    };
                    write!(
                        out,
                        "SPT={} DPT={} LEN={} ",
                        be16_of(uh, 0),
                        be16_of(uh, 2),
                        be16_of(uh, 4)
                    )?;
                }
            }
            1 => {
                out.write_str("PROTO=ICMP ")?;
                if !fragment {
                    self.write_icmp(iphoff, l4, flags, out)?;
                }
            }
            51 => {
                if !fragment {
                    out.write_str("PROTO=AH ")?;
                    // struct ip_auth_hdr: 12 bytes, the SPI at 4.
                    match self.hdr(l4, 12) {
                        None => write!(out, "INCOMPLETE [{} bytes] ", self.rest(l4))?,
                        Some(ah) => write!(out, "SPI=0x{:x} ", be32_of(ah, 4))?,
                    }
                }
            }
            50 => {
                out.write_str("PROTO=ESP ")?;
                if !fragment {
                    // struct ip_esp_hdr: SPI and sequence number.
                    match self.hdr(l4, 8) {
                        None => write!(out, "INCOMPLETE [{} bytes] ", self.rest(l4))?,
                        Some(eh) => write!(out, "SPI=0x{:x} ", be32_of(eh, 0))?,
                    }
                }
            }
            p => write!(out, "PROTO={p} ")?,
        }
        if iphoff == 0 {
            if flags & LOG_UID != 0 {
                if let Some((uid, gid)) = self.uid {
                    write!(out, "UID={uid} GID={gid} ")?;
                }
            }
            if self.mark != 0 {
                write!(out, "MARK=0x{:x} ", self.mark)?;
            }
        }
        Ok(())
    }

    /// `nf_log_dump_tcp_header` after `PROTO=TCP `; `Ok(false)` when the kernel returns 1
    /// (the rest of the line is not printed).
    fn write_tcp(&self, l4: usize, flags: u8, out: &mut dyn Write) -> Result<bool, fmt::Error> {
        let Some(th) = self.hdr(l4, 20) else {
            write!(out, "INCOMPLETE [{} bytes] ", self.rest(l4))?;
            return Ok(false);
        };
        let t = |i: usize| th.get(i).copied().unwrap_or(0);
        write!(out, "SPT={} DPT={} ", be16_of(th, 0), be16_of(th, 2))?;
        if flags & TCPSEQ != 0 {
            write!(out, "SEQ={} ACK={} ", be32_of(th, 4), be32_of(th, 8))?;
        }
        write!(out, "WINDOW={} ", be16_of(th, 14))?;
        // ntohl(tcp_flag_word(th) & TCP_RESERVED_BITS) >> 22: the three reserved bits
        // (the fourth is AccECN's AE flag since 6.x), shifted left by two (a kernel quirk
        // kept as is), then AE before the classic flags.
        write!(out, "RES=0x{:02x} ", (t(12) & 0x0E) << 2)?;
        if t(12) & 0x01 != 0 {
            out.write_str("AE ")?;
        }
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
            if t(13) & bit != 0 {
                out.write_str(name)?;
            }
        }
        write!(out, "URGP={} ", be16_of(th, 18))?;
        let doff = usize::from(t(12) >> 4).saturating_mul(4);
        if flags & TCPOPT != 0 && doff > 20 {
            let Some(op) = self.hdr(l4.saturating_add(20), doff.saturating_sub(20)) else {
                out.write_str("OPT (TRUNCATED)")?;
                return Ok(false);
            };
            write_opt(op, out)?;
        }
        Ok(true)
    }

    /// The ICMP part of `dump_ipv4_packet`, after `PROTO=ICMP `.
    fn write_icmp(&self, iphoff: usize, l4: usize, flags: u8, out: &mut dyn Write) -> fmt::Result {
        let Some(ich) = self.hdr(l4, 8) else {
            return write!(out, "INCOMPLETE [{} bytes] ", self.rest(l4));
        };
        let (ty, code) = (ich.first().copied(), ich.get(1).copied());
        let (ty, code) = (ty.unwrap_or(0), code.unwrap_or(0));
        write!(out, "TYPE={ty} CODE={code} ")?;
        // required_len[]: what each type's dump reads beyond the header.
        let required: u32 = match ty {
            0 | 8 => 4,
            3 | 4 | 5 | 11 | 12 => 8 + 20,
            13 | 14 => 20,
            17 | 18 => 12,
            _ => 0,
        };
        if required != 0 && self.rest(l4) < required {
            return write!(out, "INCOMPLETE [{} bytes] ", self.rest(l4));
        }
        match ty {
            0 | 8 => write!(out, "ID={} SEQ={} ", be16_of(ich, 4), be16_of(ich, 6))?,
            12 => write!(out, "PARAMETER={} ", ich.get(4).copied().unwrap_or(0))?,
            3 | 4 | 5 | 11 => {
                if ty == 5 {
                    let g = |i: usize| ich.get(i).copied().unwrap_or(0);
                    write!(out, "GATEWAY={}.{}.{}.{} ", g(4), g(5), g(6), g(7))?;
                }
                // Only the outermost packet's quoted header is dumped (`if (!iphoff)`).
                if iphoff == 0 {
                    out.write_str("[")?;
                    self.write_ipv4(l4.saturating_add(8), flags, out)?;
                    out.write_str("] ")?;
                }
                if ty == 3 && code == 4 {
                    write!(out, "MTU={} ", be16_of(ich, 6))?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `OPT (` the option bytes in upper-case hex `) `.
fn write_opt(op: &[u8], out: &mut dyn Write) -> fmt::Result {
    out.write_str("OPT (")?;
    for b in op {
        write!(out, "{b:02X}")?;
    }
    out.write_str(") ")
}

fn be16_of(b: &[u8], at: usize) -> u16 {
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    u16::from_be_bytes([g(at), g(at.saturating_add(1))])
}

fn be32_of(b: &[u8], at: usize) -> u32 {
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    u32::from_be_bytes([
        g(at),
        g(at.saturating_add(1)),
        g(at.saturating_add(2)),
        g(at.saturating_add(3)),
    ])
}

fn write_name(out: &mut dyn Write, n: &[u8; 16]) -> fmt::Result {
    for &c in cstr(n) {
        out.write_char(char::from(c))?;
    }
    Ok(())
}

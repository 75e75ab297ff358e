//! Byte-level helpers shared by the target modules: a lenient reader (missing bytes read as
//! zero, so a short slice can never panic), an offset-addressed writer, and the printing
//! primitives `iptables-save` uses (`xtables_save_string`, `printf("%s")` of a C string,
//! dotted quads).
//!
//! All multi-byte integers in target payloads are host-endian (little-endian on x86_64);
//! addresses and ports are network order and are read with the `be*` accessors.

use alloc::vec::Vec;
use core::fmt;

/// A lenient little-endian reader over a payload. Bytes past the end read as zero: callers
/// have already checked the length where it matters, and a zero is what the kernel's own
/// zero-filled copies would contain.
#[derive(Clone, Copy)]
pub(crate) struct Rd<'a>(pub(crate) &'a [u8]);

impl Rd<'_> {
    /// The byte at `off`.
    pub(crate) fn u8(&self, off: usize) -> u8 {
        self.0.get(off).copied().unwrap_or(0)
    }

    /// `N` bytes starting at `off`.
    pub(crate) fn arr<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut a = [0u8; N];
        for (i, slot) in a.iter_mut().enumerate() {
            *slot = off.checked_add(i).map_or(0, |o| self.u8(o));
        }
        a
    }

    /// A host-endian (little-endian) u16.
    pub(crate) fn u16(&self, off: usize) -> u16 {
        u16::from_le_bytes(self.arr(off))
    }

    /// A host-endian (little-endian) u32.
    pub(crate) fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.arr(off))
    }

    /// A network-order u16 (ports).
    pub(crate) fn be16(&self, off: usize) -> u16 {
        u16::from_be_bytes(self.arr(off))
    }

    /// A network-order u32 (SPIs).
    pub(crate) fn be32(&self, off: usize) -> u32 {
        u32::from_be_bytes(self.arr(off))
    }
}

/// An offset-addressed writer appending one payload to `out`. Every `put_*` writes at an
/// offset relative to the payload start, zero-filling any gap, so field order does not
/// matter and struct padding comes out as zero (as iptables' `calloc`ed buffers do).
pub(crate) struct Wr<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Wr<'a> {
    /// Start a payload at the current end of `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        Wr { out, start }
    }

    /// Write `bytes` at payload offset `off`.
    pub(crate) fn put(&mut self, off: usize, bytes: &[u8]) {
        let Some(at) = self.start.checked_add(off) else {
            return;
        };
        let Some(end) = at.checked_add(bytes.len()) else {
            return;
        };
        if self.out.len() < end {
            self.out.resize(end, 0);
        }
        if let Some(dst) = self.out.get_mut(at..end) {
            dst.copy_from_slice(bytes);
        }
    }

    /// Write a byte.
    pub(crate) fn u8(&mut self, off: usize, v: u8) {
        self.put(off, &[v]);
    }

    /// Write a host-endian u16.
    pub(crate) fn u16(&mut self, off: usize, v: u16) {
        self.put(off, &v.to_le_bytes());
    }

    /// Write a host-endian u32.
    pub(crate) fn u32(&mut self, off: usize, v: u32) {
        self.put(off, &v.to_le_bytes());
    }

    /// Write a network-order u16.
    pub(crate) fn be16(&mut self, off: usize, v: u16) {
        self.put(off, &v.to_be_bytes());
    }

    /// Cut or zero-extend the payload to exactly `len` bytes.
    pub(crate) fn finish(self, len: usize) {
        if let Some(end) = self.start.checked_add(len) {
            self.out.resize(end, 0);
        }
    }
}

/// Write raw bytes as `printf("%s")` would, one `char` per byte. Bytes >= 0x80 cannot be
/// written through `fmt::Write` unchanged; they come out as U+0080..U+00FF.
pub(crate) fn write_bytes(out: &mut dyn fmt::Write, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        out.write_char(char::from(b))?;
    }
    Ok(())
}

/// libxtables' `xtables_save_string`: a leading space, then the value bare if it is a
/// non-empty run of `[_0-9A-Za-z-]`, else double-quoted with `"`, `\` and `'` escaped by a
/// backslash.
pub(crate) fn save_string(out: &mut dyn fmt::Write, value: &[u8]) -> fmt::Result {
    let plain = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    out.write_char(' ')?;
    if !value.is_empty() && value.iter().all(plain) {
        return write_bytes(out, value);
    }
    out.write_char('"')?;
    for &b in value {
        if matches!(b, b'"' | b'\\' | b'\'') {
            out.write_char('\\')?;
        }
        out.write_char(char::from(b))?;
    }
    out.write_char('"')
}

/// A dotted quad for the first four bytes of a network-order address
/// (`xtables_ipaddr_to_numeric` / `inet_ntop(AF_INET)`).
pub(crate) struct Ipv4<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Ipv4<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = Rd(self.0);
        write!(f, "{}.{}.{}.{}", r.u8(0), r.u8(1), r.u8(2), r.u8(3))
    }
}

/// Hook bits (`1 << NF_INET_*`) as used by `ExtDesc::hooks` and `CheckCtx::hook_mask`.
pub(crate) mod hook {
    /// `NF_INET_PRE_ROUTING`.
    pub(crate) const PRE: u32 = 0x01;
    /// `NF_INET_LOCAL_IN`.
    pub(crate) const IN: u32 = 0x02;
    /// `NF_INET_FORWARD`.
    pub(crate) const FWD: u32 = 0x04;
    /// `NF_INET_LOCAL_OUT`.
    pub(crate) const OUT: u32 = 0x08;
    /// `NF_INET_POST_ROUTING`.
    pub(crate) const POST: u32 = 0x10;
}

/// `IPPROTO_TCP`.
pub(crate) const IPPROTO_TCP: u16 = 6;
/// `IPPROTO_UDP`.
pub(crate) const IPPROTO_UDP: u16 = 17;

/// The entry's protocol as a checkentry sees it: `(ip.proto, proto inverted?)`.
pub(crate) fn entry_proto(ctx: &super::super::CheckCtx<'_>) -> (u16, bool) {
    (
        ctx.ip.proto.get(),
        ctx.ip.invflags & crate::uapi::IPT_INV_PROTO != 0,
    )
}

/// `strnlen(field, field.len()) == field.len()`: the field has no NUL.
pub(crate) fn unterminated(field: &[u8]) -> bool {
    !field.contains(&0)
}

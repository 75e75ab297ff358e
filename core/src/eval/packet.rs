//! Reading the packet the way the kernel's hooks see it: `skb->data` starts at the IPv4 header,
//! `skb->len` is the number of bytes, and extensions read the transport header through
//! `skb_header_pointer()`, which fails (and makes the caller hotdrop) when the bytes are not
//! there.

/// `struct iphdr` fields `ipt_do_table` and the supported matches read. Built only from a
/// buffer of at least 20 bytes.
#[derive(Clone, Copy, Debug)]
pub(super) struct IpHeader {
    /// `ihl * 4`: the kernel's `ip_hdrlen()`, which `ipt_do_table` uses as `par->thoff`
    /// without checking it (the IP stack did, before the hook).
    pub thoff: usize,
    /// `ntohs(tot_len)`.
    pub tot_len: u16,
    /// `ntohs(frag_off) & IP_OFFSET`: nonzero for a non-first fragment (`par->fragoff`).
    pub fragoff: u16,
    /// Time to live.
    pub ttl: u8,
    /// Layer-4 protocol.
    pub protocol: u8,
    /// Source address, host order.
    pub saddr: u32,
    /// Destination address, host order.
    pub daddr: u32,
}

/// `IP_OFFSET`: the fragment offset bits of `frag_off`.
const IP_OFFSET: u16 = 0x1FFF;

impl IpHeader {
    /// The header of `data`, or `None` if `data` is shorter than a minimal IPv4 header.
    pub fn parse(data: &[u8]) -> Option<IpHeader> {
        let b = |i: usize| data.get(i).copied();
        let be16 = |i: usize| Some(u16::from_be_bytes([b(i)?, b(i.checked_add(1)?)?]));
        let be32 = |i: usize| {
            Some(u32::from_be_bytes([
                b(i)?,
                b(i.checked_add(1)?)?,
                b(i.checked_add(2)?)?,
                b(i.checked_add(3)?)?,
            ]))
        };
        Some(IpHeader {
            thoff: usize::from(b(0)? & 0x0F).checked_mul(4)?,
            tot_len: be16(2)?,
            fragoff: be16(6)? & IP_OFFSET,
            ttl: b(8)?,
            protocol: b(9)?,
            saddr: be32(12)?,
            daddr: be32(16)?,
        })
    }
}

/// `skb_header_pointer(skb, off, len, buf)`: the `len` bytes at `off`, or `None` when the packet
/// ends before them.
pub(super) fn header_pointer(data: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    data.get(off..off.checked_add(len)?)
}

/// The big-endian `u16` at `off` of `bytes` (a slice `header_pointer` returned).
pub(super) fn be16_at(bytes: &[u8], off: usize) -> u16 {
    let b = |i: usize| bytes.get(i).copied().unwrap_or(0);
    u16::from_be_bytes([b(off), b(off.saturating_add(1))])
}

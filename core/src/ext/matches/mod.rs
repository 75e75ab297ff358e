//! Match extensions: the kernel's IPv4/UNSPEC match registry, every `checkentry`, and typed
//! values for the common matches.
//!
//! # The registry
//!
//! [`REGISTRY`] has one [`ExtDesc`] per `(name, revision)` the running kernel (6.18, x86_64,
//! everything built in) lists in `/proc/net/ip_tables_matches`. For each:
//!
//! * `family` was measured, not guessed: a SET_REPLACE with the name at a revision that does
//!   not exist answers EPROTOTYPE for UNSPEC names and ENOENT for IPv4-only names (spec §2.6).
//!   Since 6.12 ("netfilter: xtables: avoid NFPROTO_UNSPEC where needed") several matches the
//!   source still shows as UNSPEC (owner, physdev, mac, realm, addrtype, cluster, connlimit,
//!   ...) are registered per family, so older sources are wrong here.
//! * `size` is `sizeof(struct ...)` from the UAPI headers (x86_64); the kernel's own
//!   `XT_ALIGN(matchsize)` was cross-checked through its "invalid size" log line.
//! * `usersize` is the offset of the first kernel-private field (0 = the whole payload).
//! * `hooks` / `proto` are the `xt_match` fields; `table` is never set for a match
//!   (`rpfilter` checks its table inside `checkentry`).
//! * `check` reproduces the extension's `checkentry` with the kernel's errno.
//!
//! Some `checkentry`s depend on state a validator cannot see. They are modelled as a fresh
//! network namespace that bpfilter controls would answer (each is documented at its
//! function): no ipsets (`set` → ENOENT), no nfacct objects (`nfacct` → ENOENT), no rate
//! estimators (`rateest` → ENOENT), no cgroup but the root (`cgroup` paths), no BPF objects
//! (`bpf` fd/pinned modes), the caller in the network namespace's own user namespace with the
//! initial identity uid/gid map (`owner`).
//!
//! # Typed values
//!
//! [`MatchValue`] parses a payload into a typed value for the matches iptables users write
//! most, encodes it back to exactly the bytes `iptables-legacy` 1.8.9 sends (and
//! `IPT_SO_GET_ENTRIES` returns), and prints the `iptables-legacy-save` text. A payload whose
//! bytes the typed form cannot reproduce (non-zero struct padding, say) stays
//! [`MatchValue::Other`], so nothing is ever lost.
//!
//! No-panic contract: every function here accepts any byte slice; out-of-range field reads
//! yield 0 (the caller's size check makes them impossible in practice).

mod addrtype;
mod bpf;
mod cgroup;
mod comment;
mod conntrack;
mod hashlimit;
mod iprange;
mod length;
mod limit;
mod mac;
mod mark;
mod misc;
mod multiport;
mod owner;
mod physdev;
mod pkttype;
mod recent;
mod set;
mod string;
mod tcpudp;
mod ttl;

pub use addrtype::Addrtype;
pub use comment::Comment;
pub use conntrack::{Conntrack, State};
pub use iprange::Iprange;
pub use length::Length;
pub use limit::Limit;
pub use mac::Mac;
pub use mark::Mark;
pub use multiport::Multiport;
pub use owner::Owner;
pub use physdev::Physdev;
pub use pkttype::Pkttype;
pub use set::{Set, SetCounter};
pub use tcpudp::{Icmp, Tcp, Udp};
pub use ttl::Ttl;

use super::{check_none, CheckCtx, ExtDesc, Family, Kind};
use crate::error::Errno;
use crate::uapi::xt_align;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// The type of an extension's `checkentry`.
type CheckFn = fn(&CheckCtx<'_>, &[u8]) -> Result<(), Errno>;

// Hook bits (`1 << NF_INET_*`).
const PRE: u32 = 0x01;
const IN: u32 = 0x02;
const FWD: u32 = 0x04;
const OUT: u32 = 0x08;
const POST: u32 = 0x10;

// Layer-4 protocol numbers used by `xt_match.proto` and the checks.
const IPPROTO_ICMP: u16 = 1;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const IPPROTO_DCCP: u16 = 33;
const IPPROTO_ESP: u16 = 50;
const IPPROTO_AH: u16 = 51;
const IPPROTO_COMP: u16 = 108;
const IPPROTO_L2TP: u16 = 115;
const IPPROTO_SCTP: u16 = 132;
const IPPROTO_UDPLITE: u16 = 136;

/// The kernel's `HZ` on this machine (`CONFIG_HZ=250`): `limit` and `hashlimit` convert rates
/// into jiffy credits, and their overflow checks depend on it.
const HZ: u64 = 250;

/// `EDOM` (33) is what `dscp`, `time` and `cluster` return for an out-of-range value.
const fn edom() -> Errno {
    Errno::EDOM
}

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per registry entry reads like the table it is"
)]
const fn m(
    name: &'static str,
    revision: u8,
    family: Family,
    size: usize,
    usersize: usize,
    hooks: u32,
    proto: u16,
    check: CheckFn,
) -> ExtDesc {
    ExtDesc {
        kind: Kind::Match,
        name,
        revision,
        family,
        size,
        usersize,
        table: None,
        hooks,
        proto,
        check,
    }
}

use Family::{Ipv4 as V4, Unspec as U};

/// Every match the running kernel registers for IPv4 or UNSPEC (all revisions), in
/// alphabetical order.
pub static REGISTRY: &[ExtDesc] = &[
    m("addrtype", 0, V4, 12, 0, 0, 0, check_none),
    m("addrtype", 1, V4, 8, 0, 0, 0, addrtype::check_v1),
    m("ah", 0, V4, 12, 0, 0, IPPROTO_AH, misc::check_ah),
    m("bpf", 0, U, 528, 520, 0, 0, bpf::check_v0),
    m("bpf", 1, U, 528, 520, 0, 0, bpf::check_v1),
    m("cgroup", 0, U, 8, 0, OUT | POST | IN, 0, cgroup::check_v0),
    m(
        "cgroup",
        1,
        U,
        4112,
        4104,
        OUT | POST | IN,
        0,
        cgroup::check_v1,
    ),
    m(
        "cgroup",
        2,
        U,
        528,
        520,
        OUT | POST | IN,
        0,
        cgroup::check_v2,
    ),
    m("cluster", 0, V4, 16, 0, 0, 0, misc::check_cluster),
    m("comment", 0, U, 256, 0, 0, 0, check_none),
    m("connbytes", 0, U, 24, 0, 0, 0, misc::check_connbytes),
    m("connlabel", 0, U, 4, 0, 0, 0, misc::check_connlabel),
    // nf_conncount_init() cannot fail for an IPv4 key (8 bytes) except on OOM.
    m("connlimit", 1, V4, 32, 24, 0, 0, check_none),
    // nf_ct_netns_get() only fails on OOM: conntrack is built in.
    m("connmark", 1, U, 12, 0, 0, 0, check_none),
    m("conntrack", 1, U, 152, 0, 0, 0, check_none),
    m("conntrack", 2, U, 156, 0, 0, 0, check_none),
    m("conntrack", 3, U, 164, 0, 0, 0, check_none),
    m("cpu", 0, U, 8, 0, 0, 0, misc::check_cpu),
    m("dccp", 0, V4, 16, 0, 0, IPPROTO_DCCP, misc::check_dccp),
    m("devgroup", 0, U, 20, 0, 0, 0, misc::check_devgroup),
    m("dscp", 0, V4, 2, 0, 0, 0, misc::check_dscp),
    m("ecn", 0, V4, 4, 0, 0, 0, misc::check_ecn),
    m("esp", 0, V4, 12, 0, 0, IPPROTO_ESP, misc::check_esp),
    m("hashlimit", 1, V4, 56, 48, 0, 0, hashlimit::check_v1),
    m("hashlimit", 2, V4, 304, 296, 0, 0, hashlimit::check_v2),
    m("hashlimit", 3, V4, 312, 304, 0, 0, hashlimit::check_v3),
    // nf_ct_netns_get() only; the kernel then forces name[29] = 0 (see `kernel_fixup`).
    m("helper", 0, U, 36, 0, 0, 0, check_none),
    m("icmp", 0, V4, 4, 0, 0, IPPROTO_ICMP, tcpudp::check_icmp),
    m("ipcomp", 0, V4, 12, 0, 0, IPPROTO_COMP, misc::check_ipcomp),
    m("iprange", 1, V4, 68, 0, 0, 0, check_none),
    // matchsize is XT_ALIGN(sizeof(struct xt_l2tp_info)) in the kernel source.
    m(
        "l2tp",
        0,
        V4,
        16,
        0,
        PRE | IN | OUT | FWD,
        0,
        misc::check_l2tp,
    ),
    m("length", 0, V4, 6, 0, 0, 0, check_none),
    m("limit", 0, U, 40, 8, 0, 0, limit::check),
    m("mac", 0, V4, 12, 0, PRE | IN | FWD, 0, check_none),
    m("mark", 1, U, 12, 0, 0, 0, check_none),
    m("multiport", 1, V4, 48, 0, 0, 0, multiport::check),
    m("nfacct", 0, U, 40, 32, 0, 0, misc::check_nfacct),
    m("nfacct", 1, U, 40, 32, 0, 0, misc::check_nfacct),
    m("osf", 0, V4, 48, 0, IN | PRE | FWD, IPPROTO_TCP, check_none),
    m("owner", 1, V4, 20, 0, OUT | POST, 0, owner::check),
    m("physdev", 0, V4, 66, 0, 0, 0, physdev::check),
    m("pkttype", 0, U, 8, 0, 0, 0, check_none),
    m("policy", 0, V4, 308, 0, 0, 0, misc::check_policy),
    m("quota", 0, U, 24, 16, 0, 0, misc::check_quota),
    m("rateest", 0, U, 72, 56, 0, 0, misc::check_rateest),
    m("realm", 0, V4, 12, 0, POST | FWD | OUT | IN, 0, check_none),
    m("recent", 0, V4, 212, 0, 0, 0, recent::check_v0),
    m("recent", 1, V4, 228, 0, 0, 0, recent::check_v1),
    m("rpfilter", 0, V4, 1, 0, PRE, 0, misc::check_rpfilter),
    m("sctp", 0, V4, 292, 0, 0, IPPROTO_SCTP, misc::check_sctp),
    m("set", 0, V4, 32, 0, 0, 0, set::check),
    m("set", 1, V4, 4, 0, 0, 0, set::check),
    m("set", 2, V4, 4, 0, 0, 0, set::check),
    m("set", 3, V4, 48, 0, 0, 0, set::check),
    m("set", 4, V4, 48, 0, 0, 0, set::check),
    // Revision 0 has no matchsize and no checkentry.
    m("socket", 0, V4, 0, 0, PRE | IN, 0, check_none),
    m("socket", 1, V4, 1, 0, PRE | IN, 0, misc::check_socket_v1),
    m("socket", 2, V4, 1, 0, PRE | IN, 0, misc::check_socket_v2),
    m("socket", 3, V4, 1, 0, PRE | IN, 0, misc::check_socket_v3),
    m("state", 0, U, 4, 0, 0, 0, check_none),
    m("statistic", 0, U, 24, 16, 0, 0, misc::check_statistic),
    m("string", 1, U, 160, 152, 0, 0, string::check),
    m("tcp", 0, V4, 12, 0, 0, IPPROTO_TCP, tcpudp::check_tcp),
    m("tcpmss", 0, V4, 6, 0, 0, IPPROTO_TCP, check_none),
    m("time", 0, U, 24, 0, 0, 0, misc::check_time),
    m("tos", 1, V4, 3, 0, 0, 0, check_none),
    m("ttl", 0, V4, 2, 0, 0, 0, check_none),
    m("u32", 0, U, 1984, 0, 0, 0, misc::check_u32),
    m("udp", 0, V4, 10, 0, 0, IPPROTO_UDP, tcpudp::check_udp),
    m(
        "udplite",
        0,
        V4,
        10,
        0,
        0,
        IPPROTO_UDPLITE,
        tcpudp::check_udp,
    ),
];

/// Bounds-checked little-endian field reads from a payload. Reads past the end give 0.
#[derive(Clone, Copy, Debug)]
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn arr<const N: usize>(self, off: usize) -> [u8; N] {
        off.checked_add(N)
            .and_then(|end| self.0.get(off..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .unwrap_or([0; N])
    }
    fn u8(self, off: usize) -> u8 {
        self.0.get(off).copied().unwrap_or(0)
    }
    fn u16(self, off: usize) -> u16 {
        u16::from_le_bytes(self.arr(off))
    }
    fn u32(self, off: usize) -> u32 {
        u32::from_le_bytes(self.arr(off))
    }
    fn i32(self, off: usize) -> i32 {
        i32::from_le_bytes(self.arr(off))
    }
    fn u64(self, off: usize) -> u64 {
        u64::from_le_bytes(self.arr(off))
    }
    /// `len` bytes at `off`, clamped to the payload.
    fn bytes(self, off: usize, len: usize) -> &'a [u8] {
        let start = off.min(self.0.len());
        let end = off.saturating_add(len).min(self.0.len());
        self.0.get(start..end).unwrap_or(&[])
    }
    /// A fixed-size `char[len]` field up to its first NUL (`strnlen` semantics).
    fn cstr(self, off: usize, len: usize) -> &'a [u8] {
        crate::uapi::cstr(self.bytes(off, len))
    }
    /// Whether the `char[len]` field at `off` has a NUL inside it.
    fn has_nul(self, off: usize, len: usize) -> bool {
        self.bytes(off, len).contains(&0)
    }
}

/// A zero-filled payload under construction; writes outside it are dropped.
#[derive(Debug)]
struct Wr(Vec<u8>);

impl Wr {
    fn new(len: usize) -> Self {
        Wr(vec![0; len])
    }
    fn put(&mut self, off: usize, b: &[u8]) {
        if let Some(dst) = off
            .checked_add(b.len())
            .and_then(|end| self.0.get_mut(off..end))
        {
            dst.copy_from_slice(b);
        }
    }
    fn u8(&mut self, off: usize, v: u8) {
        self.put(off, &[v]);
    }
    fn u16(&mut self, off: usize, v: u16) {
        self.put(off, &v.to_le_bytes());
    }
    fn u32(&mut self, off: usize, v: u32) {
        self.put(off, &v.to_le_bytes());
    }
    fn i32(&mut self, off: usize, v: i32) {
        self.put(off, &v.to_le_bytes());
    }
    fn u64(&mut self, off: usize, v: u64) {
        self.put(off, &v.to_le_bytes());
    }
}

/// Copy a byte field into a fixed array (zero-padded or truncated).
fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    a
}

/// `" !"` when `inv`: iptables-save's prefix for an inverted option.
fn bang(out: &mut dyn fmt::Write, inv: bool) -> fmt::Result {
    if inv {
        out.write_str(" !")?;
    }
    Ok(())
}

/// `xtables_ipaddr_to_numeric()`: dotted quad of 4 network-order bytes.
fn write_ipv4(out: &mut dyn fmt::Write, a: &[u8]) -> fmt::Result {
    let a: [u8; 4] = arr(a);
    write!(out, "{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// `xtables_ipmask_to_numeric()`: `""` for /32, `"/N"` for a prefix mask, else `"/a.b.c.d"`.
fn write_ipv4_mask(out: &mut dyn fmt::Write, m: &[u8]) -> fmt::Result {
    let v = u32::from_be_bytes(arr(m));
    let ones = v.leading_ones();
    if v.checked_shl(ones).unwrap_or(0) == 0 {
        if ones == 32 {
            return Ok(());
        }
        return write!(out, "/{ones}");
    }
    out.write_str("/")?;
    write_ipv4(out, m)
}

/// Bytes as text: valid UTF-8 as is, anything else replaced (iptables prints raw bytes; a
/// `fmt::Write` cannot carry them).
fn write_bytes(out: &mut dyn fmt::Write, b: &[u8]) -> fmt::Result {
    for chunk in b.utf8_chunks() {
        out.write_str(chunk.valid())?;
        if !chunk.invalid().is_empty() {
            out.write_char(char::REPLACEMENT_CHARACTER)?;
        }
    }
    Ok(())
}

/// `xtables_save_string()`: a space, then the value bare if it is non-empty and made only of
/// `[A-Za-z0-9_-]`, else double-quoted with `"`, `\` and `'` backslash-escaped.
fn save_string(out: &mut dyn fmt::Write, v: &[u8]) -> fmt::Result {
    out.write_char(' ')?;
    let bare = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    if !v.is_empty() && v.iter().all(bare) {
        return write_bytes(out, v);
    }
    out.write_char('"')?;
    let mut rest = v;
    while let Some(p) = rest.iter().position(|b| matches!(b, b'"' | b'\\' | b'\'')) {
        let (head, tail) = rest.split_at(p);
        write_bytes(out, head)?;
        out.write_char('\\')?;
        write_bytes(out, tail.get(..1).unwrap_or(&[]))?;
        rest = tail.get(1..).unwrap_or(&[]);
    }
    write_bytes(out, rest)?;
    out.write_char('"')
}

/// `xt_check_proc_name()`: names that become /proc files (`recent`, `hashlimit`).
fn check_proc_name(field: &[u8]) -> Result<(), Errno> {
    if field.first().copied().unwrap_or(0) == 0 {
        return Err(Errno::EINVAL);
    }
    if !field.contains(&0) {
        return Err(Errno::ENAMETOOLONG);
    }
    let name = crate::uapi::cstr(field);
    if name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The number of payload bytes `IPT_SO_GET_ENTRIES` copies back: `usersize`, or the whole
/// `matchsize` when `usersize` is 0. The rest up to `XT_ALIGN(matchsize)` reads as zero.
pub fn visible_len(desc: &ExtDesc) -> usize {
    if desc.usersize != 0 {
        desc.usersize
    } else {
        desc.size
    }
}

/// What the kernel stores (and GET_ENTRIES returns) for a payload it accepted: the visible
/// part, zeros after it, plus the few fields a `checkentry` rewrites in place.
fn kernel_view(desc: &ExtDesc, payload: &[u8]) -> Vec<u8> {
    let aligned = xt_align(desc.size).unwrap_or(desc.size);
    let mut w = Wr::new(aligned);
    w.put(0, Rd(payload).bytes(0, visible_len(desc).min(aligned)));
    kernel_fixup(desc, &mut w);
    w.0
}

/// In-place rewrites some `checkentry`s make to the stored payload.
fn kernel_fixup(desc: &ExtDesc, w: &mut Wr) {
    match (desc.name, desc.revision) {
        // helper_mt_check: info->name[sizeof(info->name) - 1] = '\0' (name is at 4..34).
        ("helper", 0) => w.u8(33, 0),
        // hashlimit_mt_check_common() clamps cfg->size and cfg->max to HASHLIMIT_MAX_SIZE;
        // only revision 3 passes a pointer into the payload itself (cfg at 256).
        ("hashlimit", 3) => {
            for off in [276, 280] {
                let v = Rd(&w.0).u32(off);
                w.u32(off, v.min(hashlimit::HASHLIMIT_MAX_SIZE));
            }
        }
        // set_match_v0_checkentry() -> compat_flags(): recomputes the compat dimension and
        // ORs in the compat flags (`u.compat.dim` at 28, `u.compat.flags` at 29). Only
        // reachable when the set exists, which the modelled namespace never has.
        ("set", 0) => {
            let r = Rd(&w.0);
            let mut dim = 0u8;
            let mut flags = r.u8(29);
            if r.u32(4) & 0x04 != 0 {
                flags |= 0x01;
            }
            for i in 0..5usize {
                let f = r.u32(i.saturating_mul(4).saturating_add(4));
                if f == 0 {
                    break;
                }
                dim = dim.saturating_add(1);
                if f & 0x01 != 0 {
                    flags |= 1u8.checked_shl(u32::from(dim)).unwrap_or(0);
                }
            }
            w.u8(28, dim);
            w.u8(29, flags);
        }
        _ => {}
    }
}

/// A match payload parsed into a typed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchValue {
    /// `tcp` revision 0.
    Tcp(Tcp),
    /// `udp` revision 0.
    Udp(Udp),
    /// `icmp` revision 0.
    Icmp(Icmp),
    /// `multiport` revision 1.
    Multiport(Multiport),
    /// `iprange` revision 1.
    Iprange(Iprange),
    /// `comment` revision 0.
    Comment(Comment),
    /// `mark` revision 1.
    Mark(Mark),
    /// `length` revision 0.
    Length(Length),
    /// `ttl` revision 0.
    Ttl(Ttl),
    /// `pkttype` revision 0.
    Pkttype(Pkttype),
    /// `mac` revision 0.
    Mac(Mac),
    /// `limit` revision 0 (the user-visible part: rate and burst).
    Limit(Limit),
    /// `state` revision 0.
    State(State),
    /// `conntrack` revisions 1, 2 and 3 (also what `-m state` becomes in iptables 1.8).
    Conntrack(Conntrack),
    /// `physdev` revision 0.
    Physdev(Physdev),
    /// `set` revisions 0 to 4.
    Set(Set),
    /// `owner` revision 1.
    Owner(Owner),
    /// `addrtype` revisions 0 and 1.
    Addrtype(Addrtype),
    /// Any other payload, kept verbatim (including bytes the kernel would not return).
    Other(Vec<u8>),
}

impl MatchValue {
    /// Parse the payload (the `XT_ALIGN(desc.size)` bytes after the 32-byte header) of a match
    /// that already passed the kernel's checks for `desc`.
    ///
    /// `None` when the payload length is not `XT_ALIGN(desc.size)`. A payload the typed form
    /// cannot reproduce byte for byte in its user-visible part comes back as
    /// [`MatchValue::Other`].
    pub fn parse(desc: &ExtDesc, payload: &[u8]) -> Option<Self> {
        if Some(payload.len()) != xt_align(desc.size) {
            return None;
        }
        let p = Rd(payload);
        let typed = match (desc.name, desc.revision) {
            ("tcp", 0) => Some(MatchValue::Tcp(Tcp::parse(p))),
            ("udp", 0) => Some(MatchValue::Udp(Udp::parse(p))),
            ("icmp", 0) => Some(MatchValue::Icmp(Icmp::parse(p))),
            ("multiport", 1) => Some(MatchValue::Multiport(Multiport::parse(p))),
            ("iprange", 1) => Some(MatchValue::Iprange(Iprange::parse(p))),
            ("comment", 0) => Some(MatchValue::Comment(Comment::parse(p))),
            ("mark", 1) => Some(MatchValue::Mark(Mark::parse(p))),
            ("length", 0) => Some(MatchValue::Length(Length::parse(p))),
            ("ttl", 0) => Some(MatchValue::Ttl(Ttl::parse(p))),
            ("pkttype", 0) => Some(MatchValue::Pkttype(Pkttype::parse(p))),
            ("mac", 0) => Some(MatchValue::Mac(Mac::parse(p))),
            ("limit", 0) => Some(MatchValue::Limit(Limit::parse(p))),
            ("state", 0) => Some(MatchValue::State(State::parse(p))),
            ("conntrack", rev @ 1..=3) => Some(MatchValue::Conntrack(Conntrack::parse(rev, p))),
            ("physdev", 0) => Some(MatchValue::Physdev(Physdev::parse(p))),
            ("set", rev @ 0..=4) => Some(MatchValue::Set(Set::parse(rev, p))),
            ("owner", 1) => Some(MatchValue::Owner(Owner::parse(p))),
            ("addrtype", rev @ 0..=1) => Some(MatchValue::Addrtype(Addrtype::parse(rev, p))),
            _ => None,
        };
        if let Some(t) = typed {
            let mut out = Vec::new();
            t.encode(desc, &mut out);
            if out == kernel_view(desc, payload) {
                return Some(t);
            }
        }
        Some(MatchValue::Other(payload.to_vec()))
    }

    /// Append exactly `XT_ALIGN(desc.size)` payload bytes: what iptables-legacy 1.8.9 sends
    /// for this value and what `IPT_SO_GET_ENTRIES` returns (padding and kernel-private state
    /// zero).
    pub fn encode(&self, desc: &ExtDesc, out: &mut Vec<u8>) {
        let aligned = xt_align(desc.size).unwrap_or(desc.size);
        let mut w = Wr::new(aligned);
        match self {
            MatchValue::Tcp(v) => v.encode(&mut w),
            MatchValue::Udp(v) => v.encode(&mut w),
            MatchValue::Icmp(v) => v.encode(&mut w),
            MatchValue::Multiport(v) => v.encode(&mut w),
            MatchValue::Iprange(v) => v.encode(&mut w),
            MatchValue::Comment(v) => v.encode(&mut w),
            MatchValue::Mark(v) => v.encode(&mut w),
            MatchValue::Length(v) => v.encode(&mut w),
            MatchValue::Ttl(v) => v.encode(&mut w),
            MatchValue::Pkttype(v) => v.encode(&mut w),
            MatchValue::Mac(v) => v.encode(&mut w),
            MatchValue::Limit(v) => v.encode(&mut w),
            MatchValue::State(v) => v.encode(&mut w),
            MatchValue::Conntrack(v) => v.encode(&mut w),
            MatchValue::Physdev(v) => v.encode(&mut w),
            MatchValue::Set(v) => v.encode(&mut w),
            MatchValue::Owner(v) => v.encode(&mut w),
            MatchValue::Addrtype(v) => v.encode(&mut w),
            MatchValue::Other(b) => w = Wr(kernel_view(desc, b)),
        }
        out.extend_from_slice(&w.0);
    }

    /// Print what `iptables-legacy-save` prints for this match: `-m NAME` and the options,
    /// without a leading space (e.g. `-m tcp --dport 22`). The caller puts one space before
    /// it, as iptables-save does before each `-m`.
    ///
    /// [`MatchValue::Other`] has no save form (iptables would need the extension's library):
    /// it writes nothing and returns `Err(fmt::Error)`. `set` prints the set's index where
    /// iptables prints its name (see [`Set`]).
    pub fn save(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self {
            MatchValue::Tcp(v) => v.save(out),
            MatchValue::Udp(v) => v.save(out),
            MatchValue::Icmp(v) => v.save(out),
            MatchValue::Multiport(v) => v.save(out),
            MatchValue::Iprange(v) => v.save(out),
            MatchValue::Comment(v) => v.save(out),
            MatchValue::Mark(v) => v.save(out),
            MatchValue::Length(v) => v.save(out),
            MatchValue::Ttl(v) => v.save(out),
            MatchValue::Pkttype(v) => v.save(out),
            MatchValue::Mac(v) => v.save(out),
            MatchValue::Limit(v) => v.save(out),
            MatchValue::State(v) => v.save(out),
            MatchValue::Conntrack(v) => v.save(out),
            MatchValue::Physdev(v) => v.save(out),
            MatchValue::Set(v) => v.save(out),
            MatchValue::Owner(v) => v.save(out),
            MatchValue::Addrtype(v) => v.save(out),
            MatchValue::Other(_) => Err(fmt::Error),
        }
    }
}

#[cfg(test)]
mod tests;

//! The kernel's IPv4 x_tables ABI for x86_64: `linux/netfilter/x_tables.h` and
//! `linux/netfilter_ipv4/ip_tables.h`, and nothing else.
//!
//! Every struct is an alignment-1 zerocopy type (`U16`/`U32`/`U64` little-endian wrappers plus
//! explicit padding), so a view over an unaligned buffer is never a memory-safety question; the
//! kernel's "entries start at a multiple of 8" rule is a validation check, not a precondition.
//! Sizes and offsets are asserted at compile time against the spec's tables (spec §1.2).
//!
//! Addresses and masks in [`IptIp`] are kept as raw network-order bytes.

use core::mem::{offset_of, size_of};
use zerocopy::little_endian::{I32, U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// `XT_FUNCTION_MAXNAMELEN`: size of `xt_error_target.errorname`.
pub const XT_FUNCTION_MAXNAMELEN: usize = 30;
/// `XT_EXTENSION_MAXNAMELEN`: size of a match/target `name` field (28 chars + NUL).
pub const XT_EXTENSION_MAXNAMELEN: usize = 29;
/// `XT_TABLE_MAXNAMELEN`: size of a table name field (31 chars + NUL).
pub const XT_TABLE_MAXNAMELEN: usize = 32;
/// `IFNAMSIZ`.
pub const IFNAMSIZ: usize = 16;

/// `NF_INET_PRE_ROUTING`.
pub const NF_INET_PRE_ROUTING: usize = 0;
/// `NF_INET_LOCAL_IN`.
pub const NF_INET_LOCAL_IN: usize = 1;
/// `NF_INET_FORWARD`.
pub const NF_INET_FORWARD: usize = 2;
/// `NF_INET_LOCAL_OUT`.
pub const NF_INET_LOCAL_OUT: usize = 3;
/// `NF_INET_POST_ROUTING`.
pub const NF_INET_POST_ROUTING: usize = 4;
/// `NF_INET_NUMHOOKS`.
pub const NF_INET_NUMHOOKS: usize = 5;
/// Names of the hooks as iptables calls the built-in chains.
pub const HOOK_NAMES: [&str; NF_INET_NUMHOOKS] =
    ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// `NF_DROP`.
pub const NF_DROP: i32 = 0;
/// `NF_ACCEPT`.
pub const NF_ACCEPT: i32 = 1;
/// `NF_STOLEN`.
pub const NF_STOLEN: i32 = 2;
/// `NF_QUEUE`.
pub const NF_QUEUE: i32 = 3;
/// `NF_REPEAT`.
pub const NF_REPEAT: i32 = 4;
/// `NF_STOP`.
pub const NF_STOP: i32 = 5;

/// Standard verdict for DROP: `-NF_DROP - 1`.
pub const VERDICT_DROP: i32 = -1;
/// Standard verdict for ACCEPT: `-NF_ACCEPT - 1`.
pub const VERDICT_ACCEPT: i32 = -2;
/// Standard verdict for QUEUE (queue 0): `-NF_QUEUE - 1`.
pub const VERDICT_QUEUE: i32 = -4;
/// `XT_RETURN` = `-NF_REPEAT - 1`.
pub const XT_RETURN: i32 = -5;
/// `XT_CONTINUE`, the return value of a non-standard target that lets traversal go on.
pub const XT_CONTINUE: u32 = 0xFFFF_FFFF;

/// `XT_STANDARD_TARGET`: the standard target's name is the empty string.
pub const XT_STANDARD_TARGET: &[u8] = b"";
/// `XT_ERROR_TARGET`.
pub const XT_ERROR_TARGET: &[u8] = b"ERROR";

/// `IPT_F_FRAG`: match non-first fragments only.
pub const IPT_F_FRAG: u8 = 0x01;
/// `IPT_F_GOTO`: the standard target is a goto, not a jump.
pub const IPT_F_GOTO: u8 = 0x02;
/// `IPT_F_MASK`.
pub const IPT_F_MASK: u8 = 0x03;

/// `IPT_INV_VIA_IN`.
pub const IPT_INV_VIA_IN: u8 = 0x01;
/// `IPT_INV_VIA_OUT`.
pub const IPT_INV_VIA_OUT: u8 = 0x02;
/// `IPT_INV_TOS` (allowed, no effect for IPv4).
pub const IPT_INV_TOS: u8 = 0x04;
/// `IPT_INV_SRCIP`.
pub const IPT_INV_SRCIP: u8 = 0x08;
/// `IPT_INV_DSTIP`.
pub const IPT_INV_DSTIP: u8 = 0x10;
/// `IPT_INV_FRAG`.
pub const IPT_INV_FRAG: u8 = 0x20;
/// `IPT_INV_PROTO` (= `XT_INV_PROTO`).
pub const IPT_INV_PROTO: u8 = 0x40;
/// `IPT_INV_MASK`.
pub const IPT_INV_MASK: u8 = 0x7F;

/// `alignof(struct _xt_align)` on x86_64.
pub const XT_ALIGN_TO: usize = 8;

/// `XT_ALIGN(n)` in checked arithmetic: `None` on overflow.
pub const fn xt_align(n: usize) -> Option<usize> {
    match n.checked_add(XT_ALIGN_TO - 1) {
        Some(v) => Some(v & !(XT_ALIGN_TO - 1)),
        None => None,
    }
}

/// The kernel's internal cap on a table allocation (`XT_MAX_TABLE_SIZE`).
pub const XT_MAX_TABLE_SIZE: u64 = 512 * 1024 * 1024;
/// `sizeof(struct xt_table_info)`, the header allocated in front of a table's entries.
pub const XT_TABLE_INFO_SIZE: u64 = 64;

/// Socket option numbers (level `SOL_IP`).
pub const IPT_SO_SET_REPLACE: i32 = 64;
/// `IPT_SO_SET_ADD_COUNTERS`.
pub const IPT_SO_SET_ADD_COUNTERS: i32 = 65;
/// `IPT_SO_GET_INFO`.
pub const IPT_SO_GET_INFO: i32 = 64;
/// `IPT_SO_GET_ENTRIES`.
pub const IPT_SO_GET_ENTRIES: i32 = 65;
/// `IPT_SO_GET_REVISION_MATCH`.
pub const IPT_SO_GET_REVISION_MATCH: i32 = 66;
/// `IPT_SO_GET_REVISION_TARGET`.
pub const IPT_SO_GET_REVISION_TARGET: i32 = 67;

/// `struct ipt_ip`: the fixed IPv4 match part of every entry. 84 bytes, no padding.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(C)]
pub struct IptIp {
    /// Source address, network order.
    pub src: [u8; 4],
    /// Destination address, network order.
    pub dst: [u8; 4],
    /// Source mask, network order.
    pub smsk: [u8; 4],
    /// Destination mask, network order.
    pub dmsk: [u8; 4],
    /// Input interface name (may lack a NUL).
    pub iniface: [u8; IFNAMSIZ],
    /// Output interface name.
    pub outiface: [u8; IFNAMSIZ],
    /// Input interface mask: 0xFF for each byte that must match.
    pub iniface_mask: [u8; IFNAMSIZ],
    /// Output interface mask.
    pub outiface_mask: [u8; IFNAMSIZ],
    /// Layer-4 protocol, 0 = any.
    pub proto: U16,
    /// `IPT_F_*`.
    pub flags: u8,
    /// `IPT_INV_*`.
    pub invflags: u8,
}

/// `struct xt_counters`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(C)]
pub struct XtCounters {
    /// Packets.
    pub pcnt: U64,
    /// Bytes.
    pub bcnt: U64,
}

/// `struct ipt_entry` without its trailing `elems[]`. 112 bytes.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    FromBytes,
    IntoBytes,
    KnownLayout,
    Immutable,
    Unaligned,
)]
#[repr(C)]
pub struct IptEntry {
    /// The fixed IPv4 match.
    pub ip: IptIp,
    /// Ignored by the kernel, stored verbatim.
    pub nfcache: U32,
    /// Entry start to target start.
    pub target_offset: U16,
    /// Entry size: entry start to the next entry.
    pub next_offset: U16,
    /// Overwritten by the kernel with the hook mask.
    pub comefrom: U32,
    /// Overwritten by the kernel.
    pub counters: XtCounters,
}

/// The 32-byte header shared by `xt_entry_match` and `xt_entry_target` (user view).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct XtEntryHeader {
    /// `match_size` / `target_size`: total size including this header.
    pub size: U16,
    /// Extension name, NUL-terminated within 29 bytes for a valid blob.
    pub name: [u8; XT_EXTENSION_MAXNAMELEN],
    /// Extension revision.
    pub revision: u8,
}

/// `struct xt_standard_target`: header + verdict + 4 bytes of tail padding. 40 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct XtStandardTarget {
    /// Header.
    pub target: XtEntryHeader,
    /// Verdict (§1.4 of the spec).
    pub verdict: I32,
    /// Tail padding.
    pub _pad: [u8; 4],
}

/// `struct xt_error_target`: header + errorname + 2 bytes of tail padding. 64 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct XtErrorTarget {
    /// Header.
    pub target: XtEntryHeader,
    /// The user chain name (or "ERROR").
    pub errorname: [u8; XT_FUNCTION_MAXNAMELEN],
    /// Tail padding.
    pub _pad: [u8; 2],
}

/// `struct ipt_replace` without `entries[]`. 96 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct IptReplace {
    /// Table name.
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    /// Bitmask of hooks the table has.
    pub valid_hooks: U32,
    /// Number of entries in the blob.
    pub num_entries: U32,
    /// Size of the blob in bytes.
    pub size: U32,
    /// Byte offset of each hook's first entry.
    pub hook_entry: [U32; NF_INET_NUMHOOKS],
    /// Byte offset of each hook's policy entry.
    pub underflow: [U32; NF_INET_NUMHOOKS],
    /// Number of counters the caller expects back (the current table's entry count).
    pub num_counters: U32,
    /// User pointer where the old counters are written.
    pub counters: U64,
}

/// `struct ipt_getinfo`. 84 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct IptGetinfo {
    /// Table name.
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    /// Bitmask of hooks.
    pub valid_hooks: U32,
    /// Hook entry offsets (0xFFFFFFFF for hooks not in `valid_hooks`).
    pub hook_entry: [U32; NF_INET_NUMHOOKS],
    /// Underflow offsets.
    pub underflow: [U32; NF_INET_NUMHOOKS],
    /// Number of entries.
    pub num_entries: U32,
    /// Blob size.
    pub size: U32,
}

/// `struct ipt_get_entries` without `entrytable[]`. 40 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct IptGetEntries {
    /// Table name.
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    /// Size of `entrytable`.
    pub size: U32,
    /// Padding before the 8-aligned entry table.
    pub _pad: [u8; 4],
}

/// `struct xt_counters_info` without `counters[]`. 40 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct XtCountersInfo {
    /// Table name.
    pub name: [u8; XT_TABLE_MAXNAMELEN],
    /// Number of counters that follow.
    pub num_counters: U32,
    /// Padding before the 8-aligned counters.
    pub _pad: [u8; 4],
}

/// `struct xt_get_revision`. 30 bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned,
)]
#[repr(C)]
pub struct XtGetRevision {
    /// Extension name.
    pub name: [u8; XT_EXTENSION_MAXNAMELEN],
    /// Revision asked for.
    pub revision: u8,
}

/// `sizeof(struct ipt_entry)`.
pub const IPT_ENTRY_SIZE: usize = size_of::<IptEntry>();
/// `sizeof(struct xt_entry_match)` / `xt_entry_target`.
pub const XT_HEADER_SIZE: usize = size_of::<XtEntryHeader>();
/// `sizeof(struct xt_standard_target)`.
pub const XT_STANDARD_TARGET_SIZE: usize = size_of::<XtStandardTarget>();
/// `sizeof(struct xt_error_target)`.
pub const XT_ERROR_TARGET_SIZE: usize = size_of::<XtErrorTarget>();
/// `sizeof(struct ipt_replace)`.
pub const IPT_REPLACE_SIZE: usize = size_of::<IptReplace>();
/// `sizeof(struct ipt_getinfo)`.
pub const IPT_GETINFO_SIZE: usize = size_of::<IptGetinfo>();
/// `sizeof(struct ipt_get_entries)`.
pub const IPT_GET_ENTRIES_SIZE: usize = size_of::<IptGetEntries>();
/// `sizeof(struct xt_counters_info)`.
pub const XT_COUNTERS_INFO_SIZE: usize = size_of::<XtCountersInfo>();
/// `sizeof(struct xt_counters)`.
pub const XT_COUNTERS_SIZE: usize = size_of::<XtCounters>();
/// `sizeof(struct xt_get_revision)`.
pub const XT_GET_REVISION_SIZE: usize = size_of::<XtGetRevision>();
/// Smallest `next_offset` pass 1 allows: an entry header plus a target header.
pub const MIN_NEXT_OFFSET: usize = IPT_ENTRY_SIZE + XT_HEADER_SIZE;
/// A standard entry with no matches.
pub const STANDARD_ENTRY_SIZE: usize = IPT_ENTRY_SIZE + XT_STANDARD_TARGET_SIZE;
/// An ERROR entry.
pub const ERROR_ENTRY_SIZE: usize = IPT_ENTRY_SIZE + XT_ERROR_TARGET_SIZE;

// Compile-time layout checks against spec §1.2.
const _: () = {
    assert!(size_of::<IptIp>() == 84);
    assert!(offset_of!(IptIp, iniface) == 16);
    assert!(offset_of!(IptIp, outiface_mask) == 64);
    assert!(offset_of!(IptIp, proto) == 80);
    assert!(offset_of!(IptIp, flags) == 82);
    assert!(offset_of!(IptIp, invflags) == 83);
    assert!(size_of::<IptEntry>() == 112);
    assert!(offset_of!(IptEntry, nfcache) == 84);
    assert!(offset_of!(IptEntry, target_offset) == 88);
    assert!(offset_of!(IptEntry, next_offset) == 90);
    assert!(offset_of!(IptEntry, comefrom) == 92);
    assert!(offset_of!(IptEntry, counters) == 96);
    assert!(size_of::<XtCounters>() == 16);
    assert!(size_of::<XtEntryHeader>() == 32);
    assert!(offset_of!(XtEntryHeader, name) == 2);
    assert!(offset_of!(XtEntryHeader, revision) == 31);
    assert!(size_of::<XtStandardTarget>() == 40);
    assert!(offset_of!(XtStandardTarget, verdict) == 32);
    assert!(size_of::<XtErrorTarget>() == 64);
    assert!(offset_of!(XtErrorTarget, errorname) == 32);
    assert!(size_of::<IptReplace>() == 96);
    assert!(offset_of!(IptReplace, valid_hooks) == 32);
    assert!(offset_of!(IptReplace, num_entries) == 36);
    assert!(offset_of!(IptReplace, size) == 40);
    assert!(offset_of!(IptReplace, hook_entry) == 44);
    assert!(offset_of!(IptReplace, underflow) == 64);
    assert!(offset_of!(IptReplace, num_counters) == 84);
    assert!(offset_of!(IptReplace, counters) == 88);
    assert!(size_of::<IptGetinfo>() == 84);
    assert!(offset_of!(IptGetinfo, hook_entry) == 36);
    assert!(offset_of!(IptGetinfo, underflow) == 56);
    assert!(offset_of!(IptGetinfo, num_entries) == 76);
    assert!(offset_of!(IptGetinfo, size) == 80);
    assert!(size_of::<IptGetEntries>() == 40);
    assert!(size_of::<XtCountersInfo>() == 40);
    assert!(offset_of!(XtCountersInfo, num_counters) == 32);
    assert!(size_of::<XtGetRevision>() == 30);
    assert!(offset_of!(XtGetRevision, revision) == 29);
    assert!(STANDARD_ENTRY_SIZE == 152);
    assert!(ERROR_ENTRY_SIZE == 176);
    assert!(MIN_NEXT_OFFSET == 144);
};

/// An IPv4 table bpfilter knows about, as the kernel registers it (spec §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableInfo {
    /// Table name.
    pub name: &'static str,
    /// The table's constant `valid_hooks`.
    pub valid_hooks: u32,
    /// Number of entries in the table's initial (fresh namespace) ruleset.
    pub initial_entries: u32,
}

/// The IPv4 tables of this kernel.
pub const TABLES: [TableInfo; 5] = [
    TableInfo {
        name: "filter",
        valid_hooks: 0x0E,
        initial_entries: 4,
    },
    TableInfo {
        name: "nat",
        valid_hooks: 0x1B,
        initial_entries: 5,
    },
    TableInfo {
        name: "mangle",
        valid_hooks: 0x1F,
        initial_entries: 6,
    },
    TableInfo {
        name: "raw",
        valid_hooks: 0x09,
        initial_entries: 3,
    },
    TableInfo {
        name: "security",
        valid_hooks: 0x0E,
        initial_entries: 4,
    },
];

/// Look a table up by its C-string name (bytes up to the first NUL).
pub fn table_by_name(name: &[u8]) -> Option<&'static TableInfo> {
    let name = cstr(name);
    TABLES.iter().find(|t| t.name.as_bytes() == name)
}

/// The bytes of a fixed-size C string field up to (not including) its first NUL, or the whole
/// field if it has none: `strcmp`'s view of the name.
pub fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(n) => field.get(..n).unwrap_or(field),
        None => field,
    }
}

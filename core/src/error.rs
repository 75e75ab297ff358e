//! Small `Copy` errors that say where: which check failed, the kernel's errno for it, the
//! entry index and byte offset, and the extension name where one is involved.

use arrayvec::ArrayString;
use core::fmt;

/// The errno values the kernel's IPT_SO_* paths can return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(i32)]
pub enum Errno {
    /// Operation not permitted.
    EPERM = 1,
    /// No such file or directory (unknown table or extension).
    ENOENT = 2,
    /// I/O error (an extension check returned a positive value).
    EIO = 5,
    /// Try again (counter count mismatch).
    EAGAIN = 11,
    /// Out of memory (the kernel's deterministic allocation limits).
    ENOMEM = 12,
    /// Bad address.
    EFAULT = 14,
    /// Invalid argument.
    EINVAL = 22,
    /// File name too long.
    ENAMETOOLONG = 36,
    /// Too many levels of symbolic links: the kernel's code for loops and bad jumps.
    ELOOP = 40,
    /// Protocol wrong type for socket: extension known with another revision (SET_REPLACE).
    EPROTOTYPE = 91,
    /// Protocol not available: option number out of range.
    ENOPROTOOPT = 92,
    /// Protocol not supported: revision not supported (GET_REVISION_*).
    EPROTONOSUPPORT = 93,
    /// Operation not supported.
    EOPNOTSUPP = 95,
    /// Address family not supported.
    EAFNOSUPPORT = 97,
    /// Value too large.
    ERANGE = 34,
    /// Device or resource busy.
    EBUSY = 16,
    /// Numerical argument out of domain (`dscp`, `time`, `cluster`, `DSCP` range checks).
    EDOM = 33,
    /// Bad file descriptor (`bpf` match revision 1 in fd mode).
    EBADF = 9,
}

impl Errno {
    /// Every errno value this crate can produce.
    pub const ALL: [Errno; 18] = [
        Errno::EPERM,
        Errno::ENOENT,
        Errno::EIO,
        Errno::EAGAIN,
        Errno::ENOMEM,
        Errno::EFAULT,
        Errno::EINVAL,
        Errno::ENAMETOOLONG,
        Errno::ELOOP,
        Errno::EPROTOTYPE,
        Errno::ENOPROTOOPT,
        Errno::EPROTONOSUPPORT,
        Errno::EOPNOTSUPP,
        Errno::EAFNOSUPPORT,
        Errno::ERANGE,
        Errno::EBUSY,
        Errno::EDOM,
        Errno::EBADF,
    ];

    /// The numeric errno (x86_64 Linux).
    #[expect(
        clippy::as_conversions,
        reason = "fieldless #[repr(i32)] enum to its discriminant"
    )]
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// Map a raw errno back, if it is one this crate knows.
    pub fn from_code(code: i32) -> Option<Errno> {
        Errno::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// The symbolic name, e.g. `"EINVAL"`.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::EIO => "EIO",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EFAULT => "EFAULT",
            Errno::EINVAL => "EINVAL",
            Errno::ENAMETOOLONG => "ENAMETOOLONG",
            Errno::ELOOP => "ELOOP",
            Errno::EPROTOTYPE => "EPROTOTYPE",
            Errno::ENOPROTOOPT => "ENOPROTOOPT",
            Errno::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EAFNOSUPPORT => "EAFNOSUPPORT",
            Errno::ERANGE => "ERANGE",
            Errno::EBUSY => "EBUSY",
            Errno::EDOM => "EDOM",
            Errno::EBADF => "EBADF",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An extension name as it appeared in the blob (up to its NUL, at most 29 bytes, lossy UTF-8).
pub type ExtName = ArrayString<32>;

/// Make an [`ExtName`] from raw name bytes: stops at the first NUL, replaces non-printable
/// bytes with `?`.
pub fn ext_name(raw: &[u8]) -> ExtName {
    let mut s = ExtName::new();
    for &b in raw.iter().take_while(|&&b| b != 0).take(29) {
        let c = if b.is_ascii_graphic() || b == b' ' {
            char::from(b)
        } else {
            '?'
        };
        let _ = s.try_push(c);
    }
    s
}

/// Which check of the kernel's pipeline failed, named after the kernel's own test.
///
/// The variants are grouped by the spec section of the stage (`§2.1` header, `§2.2` pass 1,
/// `§2.3` count, `§2.4` hooks, `§2.5` walk, `§2.6` pass 2, `§2.7` table state, `§3` other
/// socket options).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    // §2.1 do_replace header checks.
    /// R1: `optlen < sizeof(ipt_replace)`.
    ReplaceTooShort,
    /// R3: `num_counters >= INT_MAX / sizeof(xt_counters)`.
    NumCountersOverflow,
    /// R4: `num_counters == 0`.
    NumCountersZero,
    /// R5: `optlen < sizeof(ipt_replace) + size`.
    SizeExceedsOptlen,
    /// R6: `xt_alloc_table_info` refuses `size`.
    TableTooLarge,
    // §2.2 pass 1.
    /// `num_entries` too large for the offsets array.
    OffsetsAlloc,
    /// Entry offset not a multiple of 8.
    EntryMisaligned,
    /// `pos + sizeof(ipt_entry) >= size`.
    EntryHeaderOverrun,
    /// `pos + next_offset > size`.
    EntryOverrun,
    /// `next_offset < sizeof(ipt_entry) + sizeof(xt_entry_target)`.
    NextOffsetTooSmall,
    /// `ip.flags & ~IPT_F_MASK`.
    BadIpFlags,
    /// `ip.invflags & ~IPT_INV_MASK`.
    BadIpInvflags,
    /// `target_offset < sizeof(ipt_entry)`.
    TargetOffsetTooSmall,
    /// `target_offset + sizeof(xt_entry_target) > next_offset`.
    TargetHeaderOverrun,
    /// `target_size < sizeof(xt_entry_target)`.
    TargetSizeTooSmall,
    /// `target_offset + target_size > next_offset`.
    TargetOverrun,
    /// Standard target: `XT_ALIGN(target_offset + sizeof(xt_standard_target)) != next_offset`.
    StandardTargetSize,
    /// Standard target verdict not allowed (0, -3, -6, queue numbers, ...).
    BadVerdict,
    /// ERROR target: `target_size != sizeof(xt_error_target)`.
    ErrorTargetSize,
    /// ERROR target: errorname without a NUL.
    ErrorNameUnterminated,
    /// Match not 8-aligned.
    MatchMisaligned,
    /// Fewer than `sizeof(xt_entry_match)` bytes left for a match.
    MatchHeaderOverrun,
    /// `match_size < sizeof(xt_entry_match)`.
    MatchSizeTooSmall,
    /// `match_size` exceeds what is left before the target.
    MatchOverrun,
    /// The hook's underflow entry is not an unconditional standard ACCEPT/DROP.
    BadUnderflow,
    // §2.3.
    /// The walk saw a different number of entries than `num_entries`.
    EntryCountMismatch,
    // §2.4 xt_check_table_hooks.
    /// No entry starts at a valid hook's `hook_entry`.
    HookEntryMissing,
    /// No entry starts at a valid hook's `underflow`.
    UnderflowMissing,
    /// Underflows of valid hooks not strictly increasing.
    UnderflowUnsorted,
    /// Two valid hooks share an underflow.
    UnderflowDuplicate,
    /// Hook entries of valid hooks not strictly increasing.
    HookEntryUnsorted,
    /// Two valid hooks share a hook entry.
    HookEntryDuplicate,
    // §2.5 mark_source_chains.
    /// A loop: an entry reached again while on the active path.
    Loop,
    /// A reachable jump whose verdict is not an entry start.
    BadJump,
    /// A reachable entry falls through (or returns) past the end of the blob.
    FallsOffEnd,
    // §2.6 pass 2.
    /// Match name has no NUL within 29 bytes.
    MatchNameUnterminated,
    /// Target name has no NUL within 29 bytes.
    TargetNameUnterminated,
    /// Match not known with that name (ENOENT) or revision (EPROTOTYPE).
    UnknownMatch,
    /// Target not known with that name (ENOENT) or revision (EPROTOTYPE).
    UnknownTarget,
    /// `match_size - 32 != XT_ALIGN(matchsize)`.
    MatchSize,
    /// `target_size - 32 != XT_ALIGN(targetsize)`.
    TargetSize,
    /// Extension restricted to another table.
    ExtTable,
    /// Extension used from a hook it does not allow.
    ExtHooks,
    /// Extension requires a protocol the rule does not guarantee.
    ExtProto,
    /// The extension's own `checkentry` refused the payload.
    ExtCheck,
    // §2.7 table state.
    /// `num_counters * sizeof(xt_counters)` exceeds the allocation cap.
    CountersAlloc,
    /// Unknown table name.
    NoSuchTable,
    /// `valid_hooks` differs from the table's.
    ValidHooksMismatch,
    /// `num_counters` differs from the table's current entry count.
    NumCountersMismatch,
    // §3 other socket options.
    /// `optlen` wrong for the option.
    BadOptlen,
    /// Blob size differs from the table's (GET_ENTRIES).
    SizeMismatch,
    /// Extension name and revision unknown (GET_REVISION_*).
    NoSuchRevision,
    /// Option number outside the IPv4 x_tables range.
    BadOption,
}

impl Check {
    /// A short human description.
    pub const fn describe(self) -> &'static str {
        match self {
            Check::ReplaceTooShort => "optlen is smaller than struct ipt_replace (96 bytes)",
            Check::NumCountersOverflow => "num_counters >= INT_MAX/16",
            Check::NumCountersZero => "num_counters is 0",
            Check::SizeExceedsOptlen => "size exceeds optlen - 96",
            Check::TableTooLarge => "size exceeds the kernel's 512 MiB table limit",
            Check::OffsetsAlloc => "num_entries exceeds the kernel's offsets allocation limit",
            Check::EntryMisaligned => "entry offset is not a multiple of 8",
            Check::EntryHeaderOverrun => "entry header does not fit before the end of the blob",
            Check::EntryOverrun => "entry (next_offset) runs past the end of the blob",
            Check::NextOffsetTooSmall => "next_offset is smaller than 144",
            Check::BadIpFlags => "ip.flags has bits outside IPT_F_MASK",
            Check::BadIpInvflags => "ip.invflags has bits outside IPT_INV_MASK",
            Check::TargetOffsetTooSmall => "target_offset is smaller than 112",
            Check::TargetHeaderOverrun => "target header runs past next_offset",
            Check::TargetSizeTooSmall => "target_size is smaller than 32",
            Check::TargetOverrun => "target runs past next_offset",
            Check::StandardTargetSize => "standard target does not end the entry exactly",
            Check::BadVerdict => "standard target verdict is not allowed",
            Check::ErrorTargetSize => "ERROR target_size is not 64",
            Check::ErrorNameUnterminated => "ERROR target name has no NUL",
            Check::MatchMisaligned => "match is not 8-byte aligned",
            Check::MatchHeaderOverrun => "match header runs past target_offset",
            Check::MatchSizeTooSmall => "match_size is smaller than 32",
            Check::MatchOverrun => "match runs past target_offset",
            Check::BadUnderflow => "underflow is not an unconditional standard ACCEPT or DROP",
            Check::EntryCountMismatch => "number of entries differs from num_entries",
            Check::HookEntryMissing => "no entry starts at a valid hook's hook_entry",
            Check::UnderflowMissing => "no entry starts at a valid hook's underflow",
            Check::UnderflowUnsorted => "underflows are not in hook order",
            Check::UnderflowDuplicate => "two hooks share an underflow",
            Check::HookEntryUnsorted => "hook entries are not in hook order",
            Check::HookEntryDuplicate => "two hooks share a hook entry",
            Check::Loop => "rule loop",
            Check::BadJump => "jump to an offset that is not the start of an entry",
            Check::FallsOffEnd => "a reachable rule falls through past the end of the blob",
            Check::MatchNameUnterminated => "match name has no NUL within 29 bytes",
            Check::TargetNameUnterminated => "target name has no NUL within 29 bytes",
            Check::UnknownMatch => "unknown match (name or revision)",
            Check::UnknownTarget => "unknown target (name or revision)",
            Check::MatchSize => "match_size does not fit the extension's payload size",
            Check::TargetSize => "target_size does not fit the extension's payload size",
            Check::ExtTable => "extension is not allowed in this table",
            Check::ExtHooks => "extension is not allowed from this hook",
            Check::ExtProto => "extension requires a protocol the rule does not guarantee",
            Check::ExtCheck => "extension's own check refused its data",
            Check::CountersAlloc => "num_counters exceeds the kernel's counters allocation limit",
            Check::NoSuchTable => "no such table",
            Check::ValidHooksMismatch => "valid_hooks differs from the table's",
            Check::NumCountersMismatch => "num_counters differs from the table's entry count",
            Check::BadOptlen => "optlen is wrong for this option",
            Check::SizeMismatch => "size differs from the table's",
            Check::NoSuchRevision => "no such extension revision",
            Check::BadOption => "option number out of range",
        }
    }

    /// A stable machine name, e.g. `"EntryMisaligned"`.
    pub fn name(self) -> &'static str {
        // Debug names are the variant names; keep them stable for JSON output.
        match self {
            Check::ReplaceTooShort => "ReplaceTooShort",
            Check::NumCountersOverflow => "NumCountersOverflow",
            Check::NumCountersZero => "NumCountersZero",
            Check::SizeExceedsOptlen => "SizeExceedsOptlen",
            Check::TableTooLarge => "TableTooLarge",
            Check::OffsetsAlloc => "OffsetsAlloc",
            Check::EntryMisaligned => "EntryMisaligned",
            Check::EntryHeaderOverrun => "EntryHeaderOverrun",
            Check::EntryOverrun => "EntryOverrun",
            Check::NextOffsetTooSmall => "NextOffsetTooSmall",
            Check::BadIpFlags => "BadIpFlags",
            Check::BadIpInvflags => "BadIpInvflags",
            Check::TargetOffsetTooSmall => "TargetOffsetTooSmall",
            Check::TargetHeaderOverrun => "TargetHeaderOverrun",
            Check::TargetSizeTooSmall => "TargetSizeTooSmall",
            Check::TargetOverrun => "TargetOverrun",
            Check::StandardTargetSize => "StandardTargetSize",
            Check::BadVerdict => "BadVerdict",
            Check::ErrorTargetSize => "ErrorTargetSize",
            Check::ErrorNameUnterminated => "ErrorNameUnterminated",
            Check::MatchMisaligned => "MatchMisaligned",
            Check::MatchHeaderOverrun => "MatchHeaderOverrun",
            Check::MatchSizeTooSmall => "MatchSizeTooSmall",
            Check::MatchOverrun => "MatchOverrun",
            Check::BadUnderflow => "BadUnderflow",
            Check::EntryCountMismatch => "EntryCountMismatch",
            Check::HookEntryMissing => "HookEntryMissing",
            Check::UnderflowMissing => "UnderflowMissing",
            Check::UnderflowUnsorted => "UnderflowUnsorted",
            Check::UnderflowDuplicate => "UnderflowDuplicate",
            Check::HookEntryUnsorted => "HookEntryUnsorted",
            Check::HookEntryDuplicate => "HookEntryDuplicate",
            Check::Loop => "Loop",
            Check::BadJump => "BadJump",
            Check::FallsOffEnd => "FallsOffEnd",
            Check::MatchNameUnterminated => "MatchNameUnterminated",
            Check::TargetNameUnterminated => "TargetNameUnterminated",
            Check::UnknownMatch => "UnknownMatch",
            Check::UnknownTarget => "UnknownTarget",
            Check::MatchSize => "MatchSize",
            Check::TargetSize => "TargetSize",
            Check::ExtTable => "ExtTable",
            Check::ExtHooks => "ExtHooks",
            Check::ExtProto => "ExtProto",
            Check::ExtCheck => "ExtCheck",
            Check::CountersAlloc => "CountersAlloc",
            Check::NoSuchTable => "NoSuchTable",
            Check::ValidHooksMismatch => "ValidHooksMismatch",
            Check::NumCountersMismatch => "NumCountersMismatch",
            Check::BadOptlen => "BadOptlen",
            Check::SizeMismatch => "SizeMismatch",
            Check::NoSuchRevision => "NoSuchRevision",
            Check::BadOption => "BadOption",
        }
    }
}

/// A failure of validation: which check, the errno the kernel returns for it, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// The failing check.
    pub check: Check,
    /// The errno the kernel returns.
    pub errno: Errno,
    /// Byte offset into the entries blob (after the 96-byte header) where it applies.
    pub offset: Option<u32>,
    /// Index of the entry in blob order.
    pub entry: Option<u32>,
    /// The extension involved.
    pub ext: Option<ExtName>,
}

impl Error {
    /// An error with no location.
    pub const fn new(check: Check, errno: Errno) -> Self {
        Error {
            check,
            errno,
            offset: None,
            entry: None,
            ext: None,
        }
    }

    /// Attach the entry's byte offset and index.
    pub fn at(mut self, offset: usize, entry: usize) -> Self {
        self.offset = u32::try_from(offset).ok();
        self.entry = u32::try_from(entry).ok();
        self
    }

    /// Attach an extension name.
    pub fn with_ext(mut self, raw_name: &[u8]) -> Self {
        self.ext = Some(ext_name(raw_name));
        self
    }

    /// The kernel's errno for this failure.
    pub const fn errno(&self) -> Errno {
        self.errno
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.check.describe(), self.errno)?;
        if let Some(e) = self.entry {
            write!(f, " at entry {e}")?;
        }
        if let Some(o) = self.offset {
            write!(f, " (offset {o})")?;
        }
        if let Some(x) = &self.ext {
            write!(f, " [extension {x:?}]")?;
        }
        Ok(())
    }
}

//! The kernel's `do_replace` + `translate_table` + `__do_replace` checks, in the kernel's order,
//! with the kernel's errno for each (spec §2).
//!
//! ```text
//! header (§2.1) -> offsets alloc -> pass 1 per entry (§2.2) -> entry count (§2.3)
//!   -> xt_check_table_hooks (§2.4) -> mark_source_chains (§2.5, iterative)
//!   -> pass 2 per entry: matches then target via the registry (§2.6)
//!   -> table state: counters alloc, table lookup, valid_hooks, num_counters (§2.7)
//! ```
//!
//! No-panic contract: [`validate_replace`] accepts any byte slice and any [`TableState`] and
//! returns `Ok` or the first failure in the kernel's precedence (§2.9); it never panics, never
//! recurses, and allocates at most O(num_entries) (bounded by the blob size, not by header
//! fields).

use crate::blob::Entries;
use crate::error::Error;
use crate::uapi::{IptReplace, TableInfo, NF_INET_NUMHOOKS};
use alloc::vec::Vec;

/// The kernel state the table-dependent checks (§2.7) look at.
pub trait TableState {
    /// The table named `name` (C-string bytes) and its current number of entries, or `None`
    /// if the kernel has no such table.
    fn table(&self, name: &[u8]) -> Option<(TableInfo, u32)>;
}

/// The state of a fresh network namespace: every IPv4 table with its initial ruleset, unless
/// `current_entries` overrides the entry count (for every table).
#[derive(Clone, Copy, Debug, Default)]
pub struct FreshNamespace {
    /// Override of the current entry count used for the EAGAIN check.
    pub current_entries: Option<u32>,
}

impl TableState for FreshNamespace {
    fn table(&self, name: &[u8]) -> Option<(TableInfo, u32)> {
        let t = crate::uapi::table_by_name(name)?;
        Some((*t, self.current_entries.unwrap_or(t.initial_entries)))
    }
}

/// A blob the kernel would accept, with what the kernel computed while checking it.
#[derive(Clone, Debug)]
pub struct Validated<'a> {
    /// The replace header.
    pub header: &'a IptReplace,
    /// The entries blob (exactly `size` bytes).
    pub entries: Entries<'a>,
    /// The table it is for.
    pub table: TableInfo,
    /// Byte offset of every entry, in blob order.
    pub offsets: Vec<u32>,
    /// Per entry (same index as `offsets`): the hook mask the kernel stores in `comefrom`.
    pub hook_mask: Vec<u8>,
    /// `hook_entry` for valid hooks, `u32::MAX` for the others.
    pub hook_entry: [u32; NF_INET_NUMHOOKS],
    /// `underflow` for valid hooks, `u32::MAX` for the others.
    pub underflow: [u32; NF_INET_NUMHOOKS],
    /// The number of ERROR entries: the kernel's runtime jump-stack size.
    pub stacksize: u32,
}

/// Validate a SET_REPLACE optval (`optlen` = `optval.len()`) against `state`.
pub fn validate_replace<'a>(
    optval: &'a [u8],
    state: &dyn TableState,
) -> Result<Validated<'a>, Error> {
    pipeline::run(optval, state)
}

/// The kernel's `xt_check_match()` / `xt_check_target()` for one extension object of
/// `obj_size` bytes (header included) with payload `data`, as pass 2 runs it: size, table,
/// hooks, protocol, then the extension's own check. For tests and tools that check single
/// extensions against recorded kernel answers.
pub fn check_extension(
    desc: &crate::ext::ExtDesc,
    ctx: &crate::ext::CheckCtx<'_>,
    obj_size: usize,
    data: &[u8],
) -> Result<(), crate::error::Errno> {
    pipeline::check_ext(desc, ctx, obj_size, data, crate::error::Check::TargetSize)
        .map_err(|e| e.errno())
}

mod pipeline;
#[cfg(test)]
mod tests;

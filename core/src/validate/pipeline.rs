//! The pipeline, stage by stage, named after the kernel's functions.

use super::{TableState, Validated};
use crate::blob::{read_i32, Entries, EntryView, ReplaceView};
use crate::error::{Check, Errno, Error};
use crate::ext::{self, CheckCtx, ExtDesc, Kind};
use crate::uapi::{
    cstr, xt_align, IptIp, IPT_ENTRY_SIZE, IPT_F_MASK, IPT_INV_MASK, IPT_INV_PROTO,
    IPT_REPLACE_SIZE, MIN_NEXT_OFFSET, NF_INET_NUMHOOKS, XT_COUNTERS_SIZE, XT_ERROR_TARGET,
    XT_ERROR_TARGET_SIZE, XT_FUNCTION_MAXNAMELEN, XT_HEADER_SIZE, XT_MAX_TABLE_SIZE,
    XT_STANDARD_TARGET, XT_STANDARD_TARGET_SIZE, XT_TABLE_INFO_SIZE,
};
use alloc::vec;
use alloc::vec::Vec;

/// `INT_MAX / sizeof(struct xt_counters)`: R3's bound (CVE-2006-0038).
const NUM_COUNTERS_EARLY_LIMIT: u32 = 134_217_727;
/// `XT_MAX_TABLE_SIZE / sizeof(unsigned int)`: `xt_alloc_entry_offsets`' bound.
const OFFSETS_LIMIT: u32 = 134_217_728;
/// Bit 5 of `comefrom`: "on the current path" during `mark_source_chains`.
const ONPATH: u8 = 1 << 5;
const UNSET: u32 = u32::MAX;

fn einval(check: Check) -> Error {
    Error::new(check, Errno::EINVAL)
}

pub(super) fn run<'a>(optval: &'a [u8], state: &dyn TableState) -> Result<Validated<'a>, Error> {
    // §2.1 do_replace.
    let view = ReplaceView::new(optval).ok_or(einval(Check::ReplaceTooShort))?;
    let hdr = view.header();
    let num_counters = hdr.num_counters.get();
    if num_counters >= NUM_COUNTERS_EARLY_LIMIT {
        return Err(Error::new(Check::NumCountersOverflow, Errno::ENOMEM));
    }
    if num_counters == 0 {
        return Err(einval(Check::NumCountersZero));
    }
    let size = hdr.size.get();
    let needed = u64::from(size).saturating_add(u64::try_from(IPT_REPLACE_SIZE).unwrap_or(96));
    if u64::try_from(optval.len()).unwrap_or(u64::MAX) < needed {
        return Err(einval(Check::SizeExceedsOptlen));
    }
    // xt_alloc_table_info: `sz = sizeof(info) + size; if (sz >= XT_MAX_TABLE_SIZE) fail`.
    if u64::from(size).saturating_add(XT_TABLE_INFO_SIZE) >= XT_MAX_TABLE_SIZE {
        return Err(Error::new(Check::TableTooLarge, Errno::ENOMEM));
    }
    let entries = view.entries().ok_or(einval(Check::SizeExceedsOptlen))?;
    // The kernel forces name[31] = 0; the field is 32 bytes so cstr() of the first 31 is it.
    let name = cstr(hdr.name.get(..31).unwrap_or(&hdr.name));
    let valid_hooks = hdr.valid_hooks.get();
    let num_entries = hdr.num_entries.get();

    // §2.2 translate_table: the offsets array is allocated before the walk.
    if num_entries > OFFSETS_LIMIT {
        return Err(Error::new(Check::OffsetsAlloc, Errno::ENOMEM));
    }
    let p1 = pass1(&entries, hdr, valid_hooks, num_entries)?;

    // §2.3.
    if u32::try_from(p1.offsets.len()).ok() != Some(num_entries) {
        return Err(einval(Check::EntryCountMismatch));
    }
    // §2.4.
    check_table_hooks(&p1, valid_hooks)?;
    // §2.5.
    let hook_mask = mark_source_chains(&entries, &p1, valid_hooks)?;
    // §2.6.
    pass2(&entries, &p1.offsets, &hook_mask, name)?;

    // §2.7 __do_replace.
    if num_counters > OFFSETS_LIMIT / 4 {
        // xt_counters_alloc: `counters * sizeof(xt_counters) > XT_MAX_TABLE_SIZE`.
        let bytes =
            u64::from(num_counters).saturating_mul(u64::try_from(XT_COUNTERS_SIZE).unwrap_or(16));
        if bytes > XT_MAX_TABLE_SIZE {
            return Err(Error::new(Check::CountersAlloc, Errno::ENOMEM));
        }
    }
    let (table, current) = state
        .table(name)
        .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
    if valid_hooks != table.valid_hooks {
        return Err(einval(Check::ValidHooksMismatch));
    }
    if num_counters != current {
        return Err(Error::new(Check::NumCountersMismatch, Errno::EAGAIN));
    }

    let mut hook_entry = [UNSET; NF_INET_NUMHOOKS];
    let mut underflow = [UNSET; NF_INET_NUMHOOKS];
    for h in 0..NF_INET_NUMHOOKS {
        if hook_valid(valid_hooks, h) {
            if let (Some(he), Some(uf), Some(p), Some(q)) = (
                hook_entry.get_mut(h),
                underflow.get_mut(h),
                p1.hook_entry.get(h),
                p1.underflow.get(h),
            ) {
                *he = *p;
                *uf = *q;
            }
        }
    }
    Ok(Validated {
        header: hdr,
        entries,
        table,
        offsets: p1.offsets,
        hook_mask: hook_mask.into_iter().map(|m| m & !ONPATH).collect(),
        hook_entry,
        underflow,
        stacksize: p1.stacksize,
    })
}

fn hook_valid(valid_hooks: u32, h: usize) -> bool {
    u32::try_from(h)
        .ok()
        .and_then(|h| 1u32.checked_shl(h))
        .is_some_and(|bit| valid_hooks & bit != 0)
}

/// What pass 1 records (the kernel's `newinfo` and `offsets`).
struct Pass1 {
    offsets: Vec<u32>,
    hook_entry: [u32; NF_INET_NUMHOOKS],
    underflow: [u32; NF_INET_NUMHOOKS],
    stacksize: u32,
}

fn is_std(e: &EntryView<'_>) -> bool {
    e.target().is_some_and(|t| t.name() == XT_STANDARD_TARGET)
}

fn is_error(e: &EntryView<'_>) -> bool {
    e.target().is_some_and(|t| t.name() == XT_ERROR_TARGET)
}

/// The standard verdict at target + 32 (pass 1 guarantees it lies inside the entry).
fn verdict(e: &EntryView<'_>) -> Option<i32> {
    let off = usize::from(e.target_offset()).checked_add(XT_HEADER_SIZE)?;
    read_i32(e.bytes_to_end(), off)
}

/// The kernel's `unconditional()`: no matches and an all-zero `ipt_ip`.
fn unconditional(e: &EntryView<'_>) -> bool {
    usize::from(e.target_offset()) == IPT_ENTRY_SIZE && e.header().ip == IptIp::default()
}

/// `verdict_ok()`: > 0 (jump), DROP, ACCEPT, QUEUE, RETURN.
fn verdict_ok(v: i32) -> bool {
    v > 0 || matches!(v, -1 | -2 | -4 | -5)
}

fn pass1(
    entries: &Entries<'_>,
    hdr: &crate::uapi::IptReplace,
    valid_hooks: u32,
    num_entries: u32,
) -> Result<Pass1, Error> {
    let size = entries.len();
    // Never trust num_entries for the allocation size: bound it by what the blob can hold.
    let cap = usize::try_from(num_entries)
        .unwrap_or(usize::MAX)
        .min(size / MIN_NEXT_OFFSET);
    let mut offsets: Vec<u32> = Vec::with_capacity(cap);
    let mut p1 = Pass1 {
        offsets: Vec::new(),
        hook_entry: [UNSET; 5],
        underflow: [UNSET; 5],
        stacksize: 0,
    };
    let mut pos = 0usize;
    let mut i = 0usize;
    while pos < size {
        check_entry_size_and_hooks(entries, pos, hdr, valid_hooks, &mut p1)
            .map_err(|e| e.at(pos, i))?;
        let e = entries
            .entry_at(pos)
            .ok_or(einval(Check::EntryHeaderOverrun).at(pos, i))?;
        // `offsets[i]` is recorded only for the first num_entries entries; a longer walk fails
        // the count check anyway, so stop recording but keep walking (later entries may still
        // fail pass 1 first, which must win).
        if u32::try_from(i).is_ok_and(|n| n < num_entries) {
            offsets.push(u32::try_from(pos).unwrap_or(u32::MAX));
        }
        i = i.saturating_add(1);
        if is_error(&e) {
            p1.stacksize = p1.stacksize.saturating_add(1);
        }
        pos = pos.saturating_add(usize::from(e.next_offset()));
    }
    // The count check uses i, not offsets.len(): encode an overlong walk as one extra offset.
    if u32::try_from(i).map_or(true, |n| n > num_entries) {
        offsets.push(UNSET);
    }
    p1.offsets = offsets;
    Ok(p1)
}

/// `check_entry_size_and_hooks()`.
fn check_entry_size_and_hooks(
    entries: &Entries<'_>,
    pos: usize,
    hdr: &crate::uapi::IptReplace,
    valid_hooks: u32,
    p1: &mut Pass1,
) -> Result<(), Error> {
    let size = entries.len();
    if !pos.is_multiple_of(8) {
        return Err(einval(Check::EntryMisaligned));
    }
    if pos
        .checked_add(IPT_ENTRY_SIZE)
        .is_none_or(|end| end >= size)
    {
        return Err(einval(Check::EntryHeaderOverrun));
    }
    let e = entries
        .entry_at(pos)
        .ok_or(einval(Check::EntryHeaderOverrun))?;
    let no = usize::from(e.next_offset());
    if pos.checked_add(no).is_none_or(|end| end > size) {
        return Err(einval(Check::EntryOverrun));
    }
    if no < MIN_NEXT_OFFSET {
        return Err(einval(Check::NextOffsetTooSmall));
    }
    let ip = &e.header().ip;
    if ip.flags & !IPT_F_MASK != 0 {
        return Err(einval(Check::BadIpFlags));
    }
    if ip.invflags & !IPT_INV_MASK != 0 {
        return Err(einval(Check::BadIpInvflags));
    }
    check_entry_offsets(&e)?;
    for h in 0..NF_INET_NUMHOOKS {
        if !hook_valid(valid_hooks, h) {
            continue;
        }
        let at = u32::try_from(pos).ok();
        if hdr.hook_entry.get(h).map(|v| v.get()) == at {
            if let (Some(slot), Some(v)) = (p1.hook_entry.get_mut(h), at) {
                *slot = v;
            }
        }
        if hdr.underflow.get(h).map(|v| v.get()) == at {
            if !check_underflow(&e) {
                return Err(einval(Check::BadUnderflow));
            }
            if let (Some(slot), Some(v)) = (p1.underflow.get_mut(h), at) {
                *slot = v;
            }
        }
    }
    Ok(())
}

/// `xt_check_entry_offsets()` and `xt_check_entry_match()`.
fn check_entry_offsets(e: &EntryView<'_>) -> Result<(), Error> {
    let to = usize::from(e.target_offset());
    let no = usize::from(e.next_offset());
    if to < IPT_ENTRY_SIZE {
        return Err(einval(Check::TargetOffsetTooSmall));
    }
    if to.saturating_add(XT_HEADER_SIZE) > no {
        return Err(einval(Check::TargetHeaderOverrun));
    }
    let t = e.target().ok_or(einval(Check::TargetHeaderOverrun))?;
    let tsize = usize::from(t.size());
    if tsize < XT_HEADER_SIZE {
        return Err(einval(Check::TargetSizeTooSmall));
    }
    if to.saturating_add(tsize) > no {
        return Err(einval(Check::TargetOverrun));
    }
    if t.name() == XT_STANDARD_TARGET {
        if xt_align(to.saturating_add(XT_STANDARD_TARGET_SIZE)) != Some(no) {
            return Err(einval(Check::StandardTargetSize));
        }
        if !verdict(e).is_some_and(verdict_ok) {
            return Err(einval(Check::BadVerdict));
        }
    } else if t.name() == XT_ERROR_TARGET {
        if tsize != XT_ERROR_TARGET_SIZE {
            return Err(einval(Check::ErrorTargetSize));
        }
        let name = t.data().get(..XT_FUNCTION_MAXNAMELEN).unwrap_or(&[]);
        if !name.contains(&0) {
            return Err(einval(Check::ErrorNameUnterminated));
        }
    }
    // Matches must tile [112, target_offset) exactly, each 8-aligned (entry starts are).
    let mut off = IPT_ENTRY_SIZE;
    while off < to {
        let left = to.saturating_sub(off);
        if !off.is_multiple_of(8) {
            return Err(einval(Check::MatchMisaligned));
        }
        if left < XT_HEADER_SIZE {
            return Err(einval(Check::MatchHeaderOverrun));
        }
        let m = e.ext_at(off).ok_or(einval(Check::MatchHeaderOverrun))?;
        let msize = usize::from(m.size());
        if msize < XT_HEADER_SIZE {
            return Err(einval(Check::MatchSizeTooSmall));
        }
        if msize > left {
            return Err(einval(Check::MatchOverrun));
        }
        off = off.saturating_add(msize);
    }
    Ok(())
}

/// `check_underflow()`: an unconditional standard ACCEPT or DROP.
fn check_underflow(e: &EntryView<'_>) -> bool {
    unconditional(e) && is_std(e) && matches!(verdict(e), Some(-1 | -2))
}

/// `xt_check_table_hooks()`.
fn check_table_hooks(p1: &Pass1, valid_hooks: u32) -> Result<(), Error> {
    let mut prev: Option<(u32, u32)> = None;
    for h in 0..NF_INET_NUMHOOKS {
        if !hook_valid(valid_hooks, h) {
            continue;
        }
        let he = p1.hook_entry.get(h).copied().unwrap_or(UNSET);
        let uf = p1.underflow.get(h).copied().unwrap_or(UNSET);
        if he == UNSET {
            return Err(einval(Check::HookEntryMissing));
        }
        if uf == UNSET {
            return Err(einval(Check::UnderflowMissing));
        }
        if let Some((max_entry, max_uflow)) = prev {
            if max_uflow > uf {
                return Err(einval(Check::UnderflowUnsorted));
            }
            if max_uflow == uf {
                return Err(einval(Check::UnderflowDuplicate));
            }
            if max_entry > he {
                return Err(einval(Check::HookEntryUnsorted));
            }
            if max_entry == he {
                return Err(einval(Check::HookEntryDuplicate));
            }
        }
        prev = Some((he, uf));
    }
    Ok(())
}

/// `mark_source_chains()`: the kernel's stackless walk with back-pointers, over side arrays
/// indexed by entry number (the kernel keeps the back-pointer in `counters.pcnt`). Returns each
/// entry's `comefrom`: the hook bits of the hooks that reach it.
///
/// Termination: an entry is expanded at most once per hook (a second visit is a leaf), and each
/// step either expands an entry or pops it, so each hook takes O(entries) steps.
fn mark_source_chains(
    entries: &Entries<'_>,
    p1: &Pass1,
    valid_hooks: u32,
) -> Result<Vec<u8>, Error> {
    let offsets = &p1.offsets;
    let size = entries.len();
    let mut comefrom = vec![0u8; offsets.len()];
    let mut back = vec![0usize; offsets.len()];
    let pos_of = |i: usize| {
        offsets
            .get(i)
            .and_then(|&p| usize::try_from(p).ok())
            .unwrap_or(usize::MAX)
    };
    let index_of = |pos: usize| {
        u32::try_from(pos)
            .ok()
            .and_then(|p| offsets.binary_search(&p).ok())
    };
    let fail = |check: Check, i: usize| Error::new(check, Errno::ELOOP).at(pos_of(i), i);

    for hook in 0..NF_INET_NUMHOOKS {
        if !hook_valid(valid_hooks, hook) {
            continue;
        }
        let hbit = u8::try_from(1u32 << hook).unwrap_or(0);
        let start = usize::try_from(p1.hook_entry.get(hook).copied().unwrap_or(UNSET))
            .unwrap_or(usize::MAX);
        // check_table_hooks guaranteed an entry starts there.
        let mut idx = index_of(start).ok_or(Error::new(Check::HookEntryMissing, Errno::EINVAL))?;
        set(&mut back, idx, idx);
        'walk: loop {
            let e = entries
                .entry_at(pos_of(idx))
                .ok_or(fail(Check::FallsOffEnd, idx))?;
            let cf = comefrom.get(idx).copied().unwrap_or(0);
            if cf & ONPATH != 0 {
                return Err(fail(Check::Loop, idx));
            }
            let visited = cf & hbit != 0;
            set(&mut comefrom, idx, cf | hbit | ONPATH);
            let std = is_std(&e);
            let v = verdict(&e).unwrap_or(0);
            if (unconditional(&e) && std && v < 0) || visited {
                // Return: backtrack through the last big jump.
                let mut cur = idx;
                loop {
                    if let Some(c) = comefrom.get_mut(cur) {
                        *c ^= ONPATH;
                    }
                    let old = cur;
                    cur = back.get(old).copied().unwrap_or(old);
                    set(&mut back, old, 0);
                    if cur == old {
                        // Back at the hook's start entry.
                        break 'walk;
                    }
                    let cur_no = entries
                        .entry_at(pos_of(cur))
                        .map_or(0, |c| usize::from(c.next_offset()));
                    if pos_of(old) != pos_of(cur).saturating_add(cur_no) {
                        break;
                    }
                }
                // `cur` is a jump source: move along one.
                let cur_no = entries
                    .entry_at(pos_of(cur))
                    .map_or(0, |c| usize::from(c.next_offset()));
                let next_pos = pos_of(cur).saturating_add(cur_no);
                if next_pos >= size {
                    return Err(fail(Check::FallsOffEnd, cur));
                }
                let next = index_of(next_pos).ok_or(fail(Check::FallsOffEnd, cur))?;
                set(&mut back, next, cur);
                idx = next;
            } else {
                let next_pos = if std && v >= 0 {
                    // A jump: the target must be an entry start (binary search, as the kernel).
                    usize::try_from(v).unwrap_or(usize::MAX)
                } else {
                    let np = pos_of(idx).saturating_add(usize::from(e.next_offset()));
                    if np >= size {
                        return Err(fail(Check::FallsOffEnd, idx));
                    }
                    np
                };
                let next = index_of(next_pos).ok_or(fail(Check::BadJump, idx))?;
                set(&mut back, next, idx);
                idx = next;
            }
        }
    }
    Ok(comefrom)
}

fn set<T: Copy>(v: &mut [T], i: usize, x: T) {
    if let Some(slot) = v.get_mut(i) {
        *slot = x;
    }
}

/// Pass 2: `find_check_entry()` for every entry in blob order.
/// A one-slot memo of registry lookups per kind: consecutive rules mostly use the same
/// extensions, and the lookup (a pure function of kind, name and revision) dominated the
/// validation of large blobs.
#[derive(Default)]
struct LookupMemo {
    slots: [Option<MemoSlot>; 2],
}

/// Kind, raw name field, revision, and what the registry said.
type MemoSlot = (Kind, [u8; 29], u8, &'static ExtDesc);

impl LookupMemo {
    fn lookup(
        &mut self,
        kind: Kind,
        x: &crate::blob::ExtView<'_>,
    ) -> Result<&'static ExtDesc, Errno> {
        let slot = usize::from(kind == Kind::Target);
        let field = *x.name_field();
        if let Some(Some((k, f, r, d))) = self.slots.get(slot) {
            if *k == kind && *f == field && *r == x.revision() {
                return Ok(d);
            }
        }
        let d = ext::lookup(kind, x.name(), x.revision())?;
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some((kind, field, x.revision(), d));
        }
        Ok(d)
    }
}

fn pass2(
    entries: &Entries<'_>,
    offsets: &[u32],
    hook_mask: &[u8],
    table: &[u8],
) -> Result<(), Error> {
    let mut memo = LookupMemo::default();
    for (i, &p) in offsets.iter().enumerate() {
        let pos = usize::try_from(p).unwrap_or(usize::MAX);
        let e = entries
            .entry_at(pos)
            .ok_or(einval(Check::EntryHeaderOverrun).at(pos, i))?;
        let ctx = CheckCtx {
            table,
            hook_mask: u32::from(hook_mask.get(i).copied().unwrap_or(0) & !ONPATH),
            ip: &e.header().ip,
            matches: e
                .bytes_to_end()
                .get(IPT_ENTRY_SIZE..usize::from(e.target_offset()))
                .unwrap_or(&[]),
        };
        for m in e.matches() {
            if !m.name_terminated() {
                return Err(einval(Check::MatchNameUnterminated)
                    .at(pos, i)
                    .with_ext(m.name_field()));
            }
            let desc = memo.lookup(Kind::Match, &m).map_err(|errno| {
                Error::new(Check::UnknownMatch, errno)
                    .at(pos, i)
                    .with_ext(m.name())
            })?;
            check_ext(
                desc,
                &ctx,
                usize::from(m.size()),
                m.data(),
                Check::MatchSize,
            )
            .map_err(|err| err.at(pos, i).with_ext(m.name()))?;
        }
        let t = e
            .target()
            .ok_or(einval(Check::TargetHeaderOverrun).at(pos, i))?;
        if !t.name_terminated() {
            return Err(einval(Check::TargetNameUnterminated)
                .at(pos, i)
                .with_ext(t.name_field()));
        }
        let desc = memo.lookup(Kind::Target, &t).map_err(|errno| {
            Error::new(Check::UnknownTarget, errno)
                .at(pos, i)
                .with_ext(t.name())
        })?;
        check_ext(
            desc,
            &ctx,
            usize::from(t.size()),
            t.data(),
            Check::TargetSize,
        )
        .map_err(|err| err.at(pos, i).with_ext(t.name()))?;
    }
    Ok(())
}

/// `xt_check_match()` / `xt_check_target()`.
pub(super) fn check_ext(
    desc: &ExtDesc,
    ctx: &CheckCtx<'_>,
    obj_size: usize,
    data: &[u8],
    size_check: Check,
) -> Result<(), Error> {
    if xt_align(desc.size) != Some(obj_size.saturating_sub(XT_HEADER_SIZE)) {
        return Err(einval(size_check));
    }
    if let Some(t) = desc.table {
        if t.as_bytes() != ctx.table {
            return Err(einval(Check::ExtTable));
        }
    }
    if desc.hooks != 0 && ctx.hook_mask & !desc.hooks != 0 {
        return Err(einval(Check::ExtHooks));
    }
    if desc.proto != 0 && (desc.proto != ctx.ip.proto.get() || ctx.ip.invflags & IPT_INV_PROTO != 0)
    {
        return Err(einval(Check::ExtProto));
    }
    (desc.check)(ctx, data).map_err(|errno| Error::new(Check::ExtCheck, errno))
}

//! IR -> bytes: the SET_REPLACE blob, the GET_INFO reply, the GET_ENTRIES entry table.
//!
//! ```text
//! entry:  [ ipt_entry 112 ][ match: hdr 32 | payload ]...[ target: hdr 32 | payload ]
//!         ^ offsets[i]     ^ 112                        ^ target_offset    next_offset ^
//! ```
//!
//! One pass writes every entry and records where each starts and where each jump's verdict
//! sits; a second pass patches the verdicts with the byte offsets of their target entries.
//! Two modes differ only in what the kernel rewrites (spec §2.10, §3.2):
//!
//! | field                     | SET_REPLACE (`to_entries`) | GET_ENTRIES (`to_get_entries`) |
//! |---------------------------|----------------------------|--------------------------------|
//! | `comefrom`                | 0                          | the hook mask                  |
//! | counters                  | the rule's                 | the caller's                   |
//! | ext name after its NUL    | kept ([`Match::name_field`], [`Slack`]) | zero              |
//! | payload                   | as encoded                 | first `usersize` (or `size`) bytes, zeros to the aligned end |
//! | std / ERROR tail padding  | kept ([`Slack::target_pad`]) | zero                         |

use super::{Counters, ExtTarget, IrError, IsGoto, Match, Rule, Slack, Table, Target};
use crate::ext::ExtDesc;
use crate::uapi::{
    IptEntry, IptGetinfo, IptReplace, XtCounters, XtEntryHeader, IPT_ENTRY_SIZE, VERDICT_ACCEPT,
    VERDICT_DROP, VERDICT_QUEUE, XT_ERROR_TARGET, XT_EXTENSION_MAXNAMELEN, XT_HEADER_SIZE,
    XT_RETURN, XT_TABLE_MAXNAMELEN,
};
use alloc::vec::Vec;
use zerocopy::little_endian::{U16, U32, U64};
use zerocopy::IntoBytes;

#[cfg(doc)]
use crate::ext::{matches::MatchValue, targets::TargetValue};

/// Which byte form to produce.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// The blob as a caller of SET_REPLACE writes it.
    Replace,
    /// The entry table as the kernel writes it for GET_ENTRIES.
    GetEntries {
        hook_masks: &'a [u8],
        counters: &'a [Counters],
    },
}

/// The emitted entries and where each starts.
struct Emitted {
    bytes: Vec<u8>,
    /// `entries.len() + 1` offsets; the last is the blob size.
    offsets: Vec<usize>,
    /// The first entry whose offsets or size do not fit the kernel's fields.
    too_large: Option<usize>,
}

impl Table {
    /// The entries blob (what follows `ipt_replace` in SET_REPLACE): `comefrom` 0, counters
    /// from the IR, everything else exactly as held.
    pub fn to_entries(&self) -> Vec<u8> {
        self.emit(Mode::Replace).bytes
    }

    /// A whole SET_REPLACE optval: the `ipt_replace` header, then [`Table::to_entries`].
    /// Hooks outside `valid_hooks` get offset 0, as iptables writes them.
    pub fn to_replace(&self, num_counters: u32, counters_ptr: u64) -> Vec<u8> {
        let e = self.emit(Mode::Replace);
        let off = |x: &Option<usize>| x.map_or(0, |i| offset_u32(&e.offsets, i));
        let hdr = IptReplace {
            name: self.name_field(),
            valid_hooks: U32::new(self.valid_hooks),
            num_entries: U32::new(u32::try_from(self.entries.len()).unwrap_or(u32::MAX)),
            size: U32::new(u32::try_from(e.bytes.len()).unwrap_or(u32::MAX)),
            hook_entry: self.hook_entry.each_ref().map(|x| U32::new(off(x))),
            underflow: self.underflow.each_ref().map(|x| U32::new(off(x))),
            num_counters: U32::new(num_counters),
            counters: U64::new(counters_ptr),
        };
        let mut out = Vec::with_capacity(hdr.as_bytes().len().saturating_add(e.bytes.len()));
        out.extend_from_slice(hdr.as_bytes());
        out.extend_from_slice(&e.bytes);
        out
    }

    /// The GET_INFO reply: `0xFFFFFFFF` for the hook fields of hooks not in `valid_hooks`.
    pub fn get_info(&self) -> IptGetinfo {
        let e = self.emit(Mode::Replace);
        let off = |x: &Option<usize>| x.map_or(u32::MAX, |i| offset_u32(&e.offsets, i));
        IptGetinfo {
            name: self.name_field(),
            valid_hooks: U32::new(self.valid_hooks),
            hook_entry: self.hook_entry.each_ref().map(|x| U32::new(off(x))),
            underflow: self.underflow.each_ref().map(|x| U32::new(off(x))),
            num_entries: U32::new(u32::try_from(self.entries.len()).unwrap_or(u32::MAX)),
            size: U32::new(u32::try_from(e.bytes.len()).unwrap_or(u32::MAX)),
        }
    }

    /// The GET_ENTRIES `entrytable` (the `size` bytes after the 40-byte header, which the
    /// kernel leaves as the caller wrote it), as spec §3.2 describes: `comefrom` =
    /// `hook_masks[i]`, counters = `counters[i]` (the rule's own when the slice is shorter),
    /// extension names canonical and zero after their NUL, payloads cut at `usersize` and
    /// zero-filled, std/ERROR padding zero.
    pub fn to_get_entries(&self, hook_masks: &[u8], counters: &[Counters]) -> Vec<u8> {
        self.emit(Mode::GetEntries {
            hook_masks,
            counters,
        })
        .bytes
    }

    /// The byte offset of every entry, plus the blob size at the end (`entries.len() + 1`
    /// values), or `TooLarge` if an entry overflows `u16` offsets or the blob `u32`.
    pub fn layout(&self) -> Result<Vec<u32>, IrError> {
        let e = self.emit(Mode::Replace);
        if let Some(entry) = e.too_large {
            return Err(IrError::TooLarge { entry });
        }
        e.offsets
            .iter()
            .map(|&o| u32::try_from(o).map_err(|_| IrError::TooLarge { entry: 0 }))
            .collect()
    }

    /// Entry offsets plus the size, saturated at `u32::MAX` (meaningful when
    /// [`Table::layout`] succeeds).
    pub(super) fn offsets_saturating(&self) -> Vec<u32> {
        self.emit(Mode::Replace)
            .offsets
            .iter()
            .map(|&o| u32::try_from(o).unwrap_or(u32::MAX))
            .collect()
    }

    fn name_field(&self) -> [u8; XT_TABLE_MAXNAMELEN] {
        let mut f = [0; XT_TABLE_MAXNAMELEN];
        for (d, s) in f.iter_mut().zip(self.name.as_bytes()) {
            *d = *s;
        }
        f
    }

    fn emit(&self, mode: Mode<'_>) -> Emitted {
        let mut out = Vec::new();
        let mut offsets = Vec::with_capacity(self.entries.len().saturating_add(1));
        // (position of a verdict, index of the entry it jumps to)
        let mut patches: Vec<(usize, usize)> = Vec::new();
        let mut too_large = None;
        let mut scratch = Vec::new();
        for (i, rule) in self.entries.iter().enumerate() {
            offsets.push(out.len());
            let (comefrom, counters) = match mode {
                Mode::Replace => (0, rule.counters),
                Mode::GetEntries {
                    hook_masks,
                    counters,
                } => (
                    hook_masks.get(i).copied().map_or(0, u32::from),
                    counters.get(i).copied().unwrap_or(rule.counters),
                ),
            };
            let fits = emit_rule(
                &mut out,
                &mut scratch,
                rule,
                comefrom,
                counters,
                mode,
                &mut patches,
            );
            if !fits && too_large.is_none() {
                too_large = Some(i);
            }
        }
        offsets.push(out.len());
        if u32::try_from(out.len()).is_err() && too_large.is_none() {
            too_large = Some(self.entries.len().saturating_sub(1));
        }
        for (pos, target) in patches {
            let off = offset_u32(&offsets, target);
            patch(&mut out, pos, &off.to_le_bytes());
        }
        Emitted {
            bytes: out,
            offsets,
            too_large,
        }
    }
}

/// The offset of entry `i` (the blob size if `i` is past the end) as the u32 the kernel
/// reads.
fn offset_u32(offsets: &[usize], i: usize) -> u32 {
    let o = offsets
        .get(i)
        .or_else(|| offsets.last())
        .copied()
        .unwrap_or(0);
    u32::try_from(o).unwrap_or(u32::MAX)
}

/// Overwrite `out[pos..pos + bytes.len()]` (clipped to `out`).
fn patch(out: &mut [u8], pos: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(pos..) {
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d = *s;
        }
    }
}

/// Write one entry; returns false if its offsets do not fit `u16`.
fn emit_rule(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    rule: &Rule,
    comefrom: u32,
    counters: Counters,
    mode: Mode<'_>,
    patches: &mut Vec<(usize, usize)>,
) -> bool {
    let start = out.len();
    out.resize(start.saturating_add(IPT_ENTRY_SIZE), 0);
    for m in &rule.matches {
        emit_match(out, scratch, m, mode);
    }
    let target_offset = out.len().saturating_sub(start);
    emit_target(out, scratch, rule, mode, patches);
    let next_offset = out.len().saturating_sub(start);
    let to = u16::try_from(target_offset);
    let no = u16::try_from(next_offset);
    let hdr = IptEntry {
        ip: rule.ip.to_raw(rule.target.is_goto()),
        nfcache: U32::new(rule.nfcache),
        target_offset: U16::new(to.unwrap_or(u16::MAX)),
        next_offset: U16::new(no.unwrap_or(u16::MAX)),
        comefrom: U32::new(comefrom),
        counters: XtCounters {
            pcnt: U64::new(counters.0),
            bcnt: U64::new(counters.1),
        },
    };
    patch(out, start, hdr.as_bytes());
    to.is_ok() && no.is_ok()
}

/// The 29-byte name field: `raw` if given (SET form only), else `name` + NUL + zeros.
fn name_bytes(
    name: &[u8],
    raw: Option<[u8; XT_EXTENSION_MAXNAMELEN]>,
    mode: Mode<'_>,
) -> [u8; XT_EXTENSION_MAXNAMELEN] {
    if let (Some(raw), Mode::Replace) = (raw, mode) {
        return raw;
    }
    let mut f = [0; XT_EXTENSION_MAXNAMELEN];
    for (d, s) in f.iter_mut().zip(name) {
        *d = *s;
    }
    f
}

/// Write a 32-byte header whose size field is patched by [`close_ext`].
fn open_ext(out: &mut Vec<u8>, name: [u8; XT_EXTENSION_MAXNAMELEN], revision: u8) -> usize {
    let start = out.len();
    let hdr = XtEntryHeader {
        size: U16::new(0),
        name,
        revision,
    };
    out.extend_from_slice(hdr.as_bytes());
    start
}

fn close_ext(out: &mut [u8], start: usize) {
    let size = out.len().saturating_sub(start);
    let size = u16::try_from(size).unwrap_or(u16::MAX);
    patch(out, start, &size.to_le_bytes());
}

/// Append a payload. SET: the blob's bytes (`raw`) if kept, else the value's encoding. GET:
/// the value's encoding (the kernel's view, in-place `checkentry` rewrites included) cut as
/// the kernel's `xt_data_to_user` cuts it: the first `usersize` bytes (all `size` bytes when
/// `usersize` is 0), then zeros to the aligned end.
fn put_payload(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    raw: Option<&[u8]>,
    encode: impl FnOnce(&mut Vec<u8>),
    desc: &ExtDesc,
    mode: Mode<'_>,
) {
    if let (Mode::Replace, Some(raw)) = (mode, raw) {
        out.extend_from_slice(raw);
        return;
    }
    scratch.clear();
    encode(scratch);
    let payload = scratch.as_slice();
    match mode {
        Mode::Replace => out.extend_from_slice(payload),
        Mode::GetEntries { .. } => {
            let keep = if desc.usersize == 0 {
                desc.size
            } else {
                desc.usersize
            };
            let kept = payload.get(..keep).unwrap_or(payload);
            out.extend_from_slice(kept);
            out.resize(
                out.len()
                    .saturating_add(payload.len().saturating_sub(kept.len())),
                0,
            );
        }
    }
}

fn emit_match(out: &mut Vec<u8>, scratch: &mut Vec<u8>, m: &Match, mode: Mode<'_>) {
    let start = open_ext(
        out,
        name_bytes(m.desc.name.as_bytes(), m.name_field, mode),
        m.desc.revision,
    );
    let encode = |o: &mut Vec<u8>| m.value.encode(m.desc, o);
    put_payload(out, scratch, m.raw.as_deref(), encode, m.desc, mode);
    close_ext(out, start);
}

fn emit_target(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    rule: &Rule,
    mode: Mode<'_>,
    patches: &mut Vec<(usize, usize)>,
) {
    let slack = match mode {
        Mode::Replace => rule.slack.clone(),
        Mode::GetEntries { .. } => Slack {
            target_tail: alloc::vec![0; rule.slack.target_tail.len()],
            ..Slack::default()
        },
    };
    let verdict = match &rule.target {
        Target::Accept => Some(VERDICT_ACCEPT.to_le_bytes()),
        Target::Drop => Some(VERDICT_DROP.to_le_bytes()),
        Target::Queue => Some(VERDICT_QUEUE.to_le_bytes()),
        Target::Return => Some(XT_RETURN.to_le_bytes()),
        Target::DanglingJump { offset, .. } => Some(offset.to_le_bytes()),
        Target::Jump(t) | Target::Goto(t) => {
            // XT_HEADER_SIZE from here: where the verdict goes.
            patches.push((out.len().saturating_add(XT_HEADER_SIZE), *t));
            Some([0; 4])
        }
        Target::Error(_) | Target::Ext(_) => None,
    };
    if let Some(v) = verdict {
        let start = open_ext(out, name_bytes(b"", slack.target_name, mode), 0);
        out.extend_from_slice(&v);
        out.extend_from_slice(&slack.target_pad);
        close_ext(out, start);
        return;
    }
    match &rule.target {
        Target::Error(name) => {
            let start = open_ext(out, name_bytes(XT_ERROR_TARGET, slack.target_name, mode), 0);
            // The whole 30-byte name goes out in both forms: ERROR's targetsize is 30.
            out.extend_from_slice(&name.0);
            out.extend_from_slice(slack.target_pad.get(..2).unwrap_or(&[0, 0]));
            close_ext(out, start);
            out.extend_from_slice(&slack.target_tail);
        }
        Target::Ext(ExtTarget { desc, value, raw }) => {
            let start = open_ext(
                out,
                name_bytes(desc.name.as_bytes(), slack.target_name, mode),
                desc.revision,
            );
            // GET_ENTRIES returns the kernel's view of the payload (usersize, SET rev 0's
            // in-place flag rewrite).
            let encode = |o: &mut Vec<u8>| {
                let _ = match mode {
                    Mode::Replace => value.encode(desc, o),
                    Mode::GetEntries { .. } => value.encode_kernel_view(desc, o),
                };
            };
            put_payload(out, scratch, raw.as_deref(), encode, desc, mode);
            close_ext(out, start);
            out.extend_from_slice(&slack.target_tail);
        }
        _ => {}
    }
}

//! Borrowed, zero-copy views over IPT_SO_* payloads.
//!
//! ```text
//! optval:  [ ipt_replace (96) ][ entries blob: `size` bytes ........................ ]
//! entry:   [ ipt_entry (112) ][ match ][ match ]...[ target ]   (next_offset bytes)
//!                             ^112                 ^target_offset
//! match/target: [ size u16 | name[29] | revision u8 ][ payload ... ]  (size bytes)
//! ```
//!
//! No-panic contract: constructors return `None` when the bytes are too short, and after
//! construction no accessor panics or reads outside the borrowed slice. Iterators stop (and
//! stay stopped) at the first element that does not fit, so every walk terminates. Nothing here
//! allocates and nothing here decides validity: that is [`crate::validate`]'s job.

use crate::uapi::{
    cstr, IptEntry, IptReplace, XtEntryHeader, IPT_ENTRY_SIZE, IPT_REPLACE_SIZE, XT_HEADER_SIZE,
};
use zerocopy::FromBytes;

/// A view over a SET_REPLACE optval: the header and whatever bytes follow it.
#[derive(Clone, Copy, Debug)]
pub struct ReplaceView<'a> {
    hdr: &'a IptReplace,
    rest: &'a [u8],
}

impl<'a> ReplaceView<'a> {
    /// View `optval`; `None` if it is shorter than the 96-byte header.
    pub fn new(optval: &'a [u8]) -> Option<Self> {
        let (hdr, rest) = IptReplace::ref_from_prefix(optval).ok()?;
        Some(ReplaceView { hdr, rest })
    }

    /// The `ipt_replace` header.
    pub fn header(&self) -> &'a IptReplace {
        self.hdr
    }

    /// All bytes after the header (may be more or fewer than `size`).
    pub fn trailing(&self) -> &'a [u8] {
        self.rest
    }

    /// The entries blob: exactly `size` bytes, or `None` if optval is too short.
    pub fn entries(&self) -> Option<Entries<'a>> {
        let size = usize::try_from(self.hdr.size.get()).ok()?;
        self.rest.get(..size).map(Entries::new)
    }
}

/// Size of the replace header, re-exported for callers that build optvals.
pub const REPLACE_HEADER_SIZE: usize = IPT_REPLACE_SIZE;

/// The entries blob (offsets in it are the kernel's `hook_entry`/jump offsets).
#[derive(Clone, Copy, Debug)]
pub struct Entries<'a> {
    blob: &'a [u8],
}

impl<'a> Entries<'a> {
    /// Wrap raw entry bytes.
    pub fn new(blob: &'a [u8]) -> Self {
        Entries { blob }
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.blob
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.blob.len()
    }

    /// True if there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.blob.is_empty()
    }

    /// The entry header at `pos`, if 112 bytes are there. Its `next_offset` is not checked.
    pub fn entry_at(&self, pos: usize) -> Option<EntryView<'a>> {
        let raw = self.blob.get(pos..)?;
        let (hdr, _) = IptEntry::ref_from_prefix(raw).ok()?;
        Some(EntryView { pos, hdr, raw })
    }

    /// Walk the entries from offset 0 by `next_offset`. Stops for good at the first entry whose
    /// header does not fit, whose `next_offset` is below 144, or which runs past the end.
    pub fn iter(&self) -> EntryIter<'a> {
        EntryIter {
            entries: *self,
            pos: 0,
            done: false,
        }
    }
}

/// Iterator over entries; see [`Entries::iter`].
#[derive(Clone, Debug)]
pub struct EntryIter<'a> {
    entries: Entries<'a>,
    pos: usize,
    done: bool,
}

impl<'a> EntryIter<'a> {
    /// Byte offset of the next entry to be returned.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True if the walk stopped because something did not fit (rather than reaching the end).
    pub fn stopped_early(&self) -> bool {
        self.done && self.pos < self.entries.len()
    }
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = EntryView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.entries.len() {
            self.done = true;
            return None;
        }
        let e = match self.entries.entry_at(self.pos) {
            Some(e) => e,
            None => {
                self.done = true;
                return None;
            }
        };
        let no = usize::from(e.next_offset());
        match self.pos.checked_add(no) {
            Some(end) if no >= crate::uapi::MIN_NEXT_OFFSET && end <= self.entries.len() => {
                self.pos = end;
                Some(e)
            }
            _ => {
                self.done = true;
                None
            }
        }
    }
}

/// A view of one entry: its header and the blob bytes from its start to the blob's end.
#[derive(Clone, Copy, Debug)]
pub struct EntryView<'a> {
    pos: usize,
    hdr: &'a IptEntry,
    raw: &'a [u8],
}

impl<'a> EntryView<'a> {
    /// Byte offset of this entry in the blob.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The `ipt_entry` header.
    pub fn header(&self) -> &'a IptEntry {
        self.hdr
    }

    /// `target_offset`.
    pub fn target_offset(&self) -> u16 {
        self.hdr.target_offset.get()
    }

    /// `next_offset`.
    pub fn next_offset(&self) -> u16 {
        self.hdr.next_offset.get()
    }

    /// The entry's bytes, `next_offset` long, if they fit in the blob.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        self.raw.get(..usize::from(self.next_offset()))
    }

    /// The bytes from the entry start to the end of the blob.
    pub fn bytes_to_end(&self) -> &'a [u8] {
        self.raw
    }

    /// The match or target header at `off` bytes from the entry start, if 32 bytes are there.
    /// The view's payload is cut at the extension's size or at the end of the blob, whichever
    /// comes first.
    pub fn ext_at(&self, off: usize) -> Option<ExtView<'a>> {
        let raw = self.raw.get(off..)?;
        let (hdr, _) = XtEntryHeader::ref_from_prefix(raw).ok()?;
        let size = usize::from(hdr.size.get());
        let raw = raw.get(..size).unwrap_or(raw);
        Some(ExtView { off, hdr, raw })
    }

    /// The target header at `target_offset`.
    pub fn target(&self) -> Option<ExtView<'a>> {
        self.ext_at(usize::from(self.target_offset()))
    }

    /// The matches tiling `[112, target_offset)`. Stops for good at the first one that is
    /// shorter than 32 bytes, smaller than its header, or overruns `target_offset`.
    pub fn matches(&self) -> MatchIter<'a> {
        MatchIter {
            entry: *self,
            off: IPT_ENTRY_SIZE,
            end: usize::from(self.target_offset()),
        }
    }
}

/// Iterator over an entry's matches; see [`EntryView::matches`].
#[derive(Clone, Debug)]
pub struct MatchIter<'a> {
    entry: EntryView<'a>,
    off: usize,
    end: usize,
}

impl<'a> Iterator for MatchIter<'a> {
    type Item = ExtView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.end {
            return None;
        }
        let m = self.entry.ext_at(self.off);
        let size = m.map(|m| usize::from(m.size())).unwrap_or(0);
        match (m, self.off.checked_add(size)) {
            (Some(m), Some(next)) if size >= XT_HEADER_SIZE && next <= self.end => {
                self.off = next;
                Some(m)
            }
            _ => {
                self.off = self.end;
                None
            }
        }
    }
}

/// A view of one match or target: header plus payload.
#[derive(Clone, Copy, Debug)]
pub struct ExtView<'a> {
    off: usize,
    hdr: &'a XtEntryHeader,
    raw: &'a [u8],
}

impl<'a> ExtView<'a> {
    /// Offset from the entry start.
    pub fn offset(&self) -> usize {
        self.off
    }

    /// The 32-byte header.
    pub fn header(&self) -> &'a XtEntryHeader {
        self.hdr
    }

    /// `match_size` / `target_size` (total, header included).
    pub fn size(&self) -> u16 {
        self.hdr.size.get()
    }

    /// The raw 29-byte name field.
    pub fn name_field(&self) -> &'a [u8; 29] {
        &self.hdr.name
    }

    /// The name as `strcmp` sees it: up to the first NUL (all 29 bytes if there is none).
    pub fn name(&self) -> &'a [u8] {
        cstr(&self.hdr.name)
    }

    /// True if the name field has a NUL (the kernel's pass-2 `strnlen` check).
    pub fn name_terminated(&self) -> bool {
        self.hdr.name.contains(&0)
    }

    /// The revision byte.
    pub fn revision(&self) -> u8 {
        self.hdr.revision
    }

    /// The whole object (header and payload), cut at the end of the blob if it overruns.
    pub fn bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The payload after the 32-byte header (cut at the end of the blob if it overruns).
    pub fn data(&self) -> &'a [u8] {
        self.raw.get(XT_HEADER_SIZE..).unwrap_or(&[])
    }
}

/// Read a little-endian i32 at `off` in `bytes`.
pub fn read_i32(bytes: &[u8], off: usize) -> Option<i32> {
    let b = bytes.get(off..off.checked_add(4)?)?;
    Some(i32::from_le_bytes(b.try_into().ok()?))
}

/// Read a little-endian u32 at `off` in `bytes`.
pub fn read_u32(bytes: &[u8], off: usize) -> Option<u32> {
    let b = bytes.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// Read a little-endian u16 at `off` in `bytes`.
pub fn read_u16(bytes: &[u8], off: usize) -> Option<u16> {
    let b = bytes.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes(b.try_into().ok()?))
}

/// Read a little-endian u64 at `off` in `bytes`.
pub fn read_u64(bytes: &[u8], off: usize) -> Option<u64> {
    let b = bytes.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

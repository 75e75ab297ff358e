//! Read a live table back in the form `IPT_SO_SET_REPLACE` takes.
//!
//! ```text
//! GET_INFO(table)  -> name, valid_hooks, hook_entry, underflow, num_entries, size
//! GET_ENTRIES(size) -> entries, with comefrom = hook mask and live counters
//!                         |
//!                         v
//! [ ipt_replace: ..., num_counters = num_entries, counters = 0 ][ entries, comefrom = 0,
//!                                                                  counters = 0 ]
//! ```
//!
//! Everything else is kept byte for byte as the kernel returned it (hook offsets of hooks the
//! table lacks stay 0xFFFFFFFF). The result replaces the table with itself, so replacing a
//! capture and capturing again gives the same bytes: that round trip is a fixture test.
//! `num_counters` is the entry count of the table the blob came from; replacing a different
//! table state needs it patched (see [`set_num_counters`]).

use crate::sys::ipt::IptSocket;
use bpfilter_core::blob::Entries;
use bpfilter_core::uapi::{IptEntry, IptGetinfo, IptReplace, IPT_REPLACE_SIZE};
use core::mem::offset_of;
use std::io;
use std::ops::Range;
use zerocopy::little_endian::{U32, U64};
use zerocopy::IntoBytes;

/// How often GET_INFO + GET_ENTRIES is retried when the table changes in between (EAGAIN).
const RETRIES: usize = 5;

/// Capture `table` from the calling thread's network namespace, in SET_REPLACE form.
///
/// Reading instantiates the table if nobody has touched it yet (spec §1.5), so run this only in
/// a namespace whose firewall you mean to read.
pub fn capture(table: &str) -> io::Result<Vec<u8>> {
    capture_from(&IptSocket::new()?, table)
}

/// Capture `table` through `sock` (from the namespace `sock` was created in).
pub fn capture_from(sock: &IptSocket, table: &str) -> io::Result<Vec<u8>> {
    let mut last = libc::EAGAIN;
    for _ in 0..RETRIES {
        let info = sock.get_info(table).map_err(io::Error::from_raw_os_error)?;
        match sock.get_entries(table, info.size.get()) {
            Ok(entries) => return replace_form(&info, &entries),
            // The table was replaced between the two calls: its size changed.
            Err(e) if e == libc::EAGAIN => last = e,
            Err(e) => return Err(io::Error::from_raw_os_error(e)),
        }
    }
    Err(io::Error::from_raw_os_error(last))
}

/// Build the SET_REPLACE optval from a GET_INFO answer and the GET_ENTRIES entry table.
///
/// Fails with `InvalidData` if the entries do not walk to exactly `info.size` in
/// `info.num_entries` steps (the kernel never returns such a table).
pub fn replace_form(info: &IptGetinfo, entries: &[u8]) -> io::Result<Vec<u8>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    if u32::try_from(entries.len()).ok() != Some(info.size.get()) {
        return Err(bad("entry table size differs from GET_INFO's size"));
    }
    let header = IptReplace {
        name: info.name,
        valid_hooks: info.valid_hooks,
        num_entries: info.num_entries,
        size: info.size,
        hook_entry: info.hook_entry,
        underflow: info.underflow,
        num_counters: info.num_entries,
        counters: U64::new(0),
    };
    let mut out = Vec::with_capacity(IPT_REPLACE_SIZE.saturating_add(entries.len()));
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(entries);

    // The fields the kernel fills in on the way out: comefrom (hook mask) and counters.
    const KERNEL_OWNED: Range<usize> = offset_of!(IptEntry, comefrom)..size_of::<IptEntry>();
    let mut iter = Entries::new(entries).iter();
    let mut count: u32 = 0;
    for e in iter.by_ref() {
        let start = IPT_REPLACE_SIZE
            .checked_add(e.pos())
            .ok_or_else(|| bad("entry offset overflow"))?;
        let field = out
            .get_mut(start + KERNEL_OWNED.start..start + KERNEL_OWNED.end)
            .ok_or_else(|| bad("entry header runs past the table"))?;
        field.fill(0);
        count = count.saturating_add(1);
    }
    if iter.stopped_early() || count != info.num_entries.get() {
        return Err(bad(
            "entries do not walk to the table's size and entry count",
        ));
    }
    Ok(out)
}

/// The `num_counters` field of a SET_REPLACE optval, if it has a full header.
pub fn num_counters(optval: &[u8]) -> Option<u32> {
    let at = offset_of!(IptReplace, num_counters);
    bpfilter_core::blob::read_u32(optval, at).filter(|_| optval.len() >= IPT_REPLACE_SIZE)
}

/// Set the `num_counters` field of a SET_REPLACE optval (the kernel's EAGAIN check compares it
/// with the current entry count of the table). Returns `false` if the header is incomplete.
pub fn set_num_counters(optval: &mut [u8], n: u32) -> bool {
    let at = offset_of!(IptReplace, num_counters);
    if optval.len() < IPT_REPLACE_SIZE {
        return false;
    }
    match optval.get_mut(at..at + 4) {
        Some(field) => {
            field.copy_from_slice(U32::new(n).as_bytes());
            true
        }
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly on any error")]
mod tests {
    use super::*;
    use crate::sys::netns::in_new_netns;
    use bpfilter_core::uapi::{table_by_name, TABLES};

    #[test]
    fn fresh_capture_is_the_template_and_replaces_itself() {
        in_new_netns(|| {
            let s = IptSocket::new().unwrap();
            for t in TABLES.iter() {
                let blob = capture_from(&s, t.name).unwrap();
                let entries = &blob[IPT_REPLACE_SIZE..];
                // Spec §1.5: one unconditional ACCEPT per valid hook, then ERROR; 152 each.
                assert_eq!(
                    entries.len(),
                    152 * t.valid_hooks.count_ones() as usize + 176
                );
                assert_eq!(num_counters(&blob), Some(t.initial_entries));
                assert_eq!(table_by_name(&blob[..32]).map(|x| x.name), Some(t.name));
                s.replace(&blob).unwrap();
                assert_eq!(capture_from(&s, t.name).unwrap(), blob, "{}", t.name);
            }
        })
        .unwrap();
    }

    #[test]
    fn comefrom_and_counters_are_zeroed_and_nothing_else_changes() {
        in_new_netns(|| {
            let s = IptSocket::new().unwrap();
            let info = s.get_info("nat").unwrap();
            let raw = s.get_entries("nat", info.size.get()).unwrap();
            let blob = replace_form(&info, &raw).unwrap();
            let mut pos = 0;
            let mut hooks_seen = 0;
            while pos < raw.len() {
                let next = usize::from(u16::from_le_bytes([raw[pos + 90], raw[pos + 91]]));
                for (i, (&a, &b)) in raw[pos..pos + next]
                    .iter()
                    .zip(&blob[96 + pos..96 + pos + next])
                    .enumerate()
                {
                    if (92..112).contains(&i) {
                        assert_eq!(b, 0);
                    } else {
                        assert_eq!(a, b);
                    }
                }
                // The kernel does fill comefrom for the policy entries.
                hooks_seen |= u32::from_le_bytes(raw[pos + 92..pos + 96].try_into().unwrap());
                pos += next;
            }
            assert_eq!(hooks_seen, info.valid_hooks.get());
            // A truncated entry table is refused, not silently accepted.
            assert!(replace_form(&info, &raw[..raw.len() - 8]).is_err());
        })
        .unwrap();
    }

    #[test]
    fn num_counters_field() {
        let mut b = vec![0u8; 96];
        assert!(set_num_counters(&mut b, 7));
        assert_eq!(num_counters(&b), Some(7));
        assert_eq!(&b[84..88], &[7, 0, 0, 0]);
        assert!(!set_num_counters(&mut b[..95], 1));
        assert_eq!(num_counters(&b[..95]), None);
    }
}

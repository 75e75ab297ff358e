//! What blobcheck says about one file: the verdict in words (text) or as one JSON object.

use crate::json::{self, Value};
use bpfilter_core::blob::{read_u32, Entries, ReplaceView};
use bpfilter_core::error::{ext_name, Check, Error};
use bpfilter_core::uapi::{cstr, table_by_name, IPT_REPLACE_SIZE};
use std::fmt::Write;

/// Bytes shown around the failing offset.
const WINDOW: usize = 64;
/// Bytes per hex dump row.
const ROW: usize = 16;

/// The header field a check without an entry location is about: (file offset, field name).
pub fn header_field(check: Check) -> Option<(usize, &'static str)> {
    Some(match check {
        Check::ReplaceTooShort | Check::NoSuchTable => (0, "name"),
        Check::ValidHooksMismatch => (32, "valid_hooks"),
        Check::OffsetsAlloc | Check::EntryCountMismatch => (36, "num_entries"),
        Check::SizeExceedsOptlen | Check::TableTooLarge => (40, "size"),
        Check::HookEntryMissing | Check::HookEntryUnsorted | Check::HookEntryDuplicate => {
            (44, "hook_entry")
        }
        Check::UnderflowMissing | Check::UnderflowUnsorted | Check::UnderflowDuplicate => {
            (64, "underflow")
        }
        Check::NumCountersOverflow
        | Check::NumCountersZero
        | Check::CountersAlloc
        | Check::NumCountersMismatch => (84, "num_counters"),
        _ => return None,
    })
}

/// The file offset a failure points at: the entry's (entries offset + 96), or the header
/// field's.
pub fn file_offset(err: &Error) -> Option<usize> {
    match err.offset {
        Some(o) => usize::try_from(o).ok()?.checked_add(IPT_REPLACE_SIZE),
        None => header_field(err.check).map(|(at, _)| at),
    }
}

/// The field inside the failing entry that the check looked at, as (file offset, what), when
/// it can be told from the check and the entry's own header; `None` means the entry as a whole.
pub fn focus(bytes: &[u8], err: &Error) -> Option<(usize, String)> {
    let entry_at = usize::try_from(err.offset?).ok()?;
    let e = Entries::new(ReplaceView::new(bytes)?.trailing()).entry_at(entry_at)?;
    let to = usize::from(e.target_offset());
    let (rel, what) = match err.check {
        Check::EntryOverrun | Check::NextOffsetTooSmall => (90, "next_offset".into()),
        Check::BadIpFlags => (82, "ip.flags".into()),
        Check::BadIpInvflags => (83, "ip.invflags".into()),
        Check::TargetOffsetTooSmall | Check::TargetHeaderOverrun => (88, "target_offset".into()),
        Check::TargetSizeTooSmall
        | Check::TargetOverrun
        | Check::StandardTargetSize
        | Check::ErrorTargetSize
        | Check::TargetSize => (to, "target_size".into()),
        Check::BadVerdict | Check::BadJump => (to.checked_add(32)?, "verdict".into()),
        Check::ErrorNameUnterminated => (to.checked_add(32)?, "errorname".into()),
        Check::TargetNameUnterminated | Check::UnknownTarget => {
            (to.checked_add(2)?, "target name".into())
        }
        Check::MatchNameUnterminated
        | Check::UnknownMatch
        | Check::MatchSize
        | Check::ExtTable
        | Check::ExtHooks
        | Check::ExtProto
        | Check::ExtCheck => {
            // The first match, else the target, carrying the extension's name.
            let name = err.ext?;
            let ext = e
                .matches()
                .chain(e.target())
                .find(|x| ext_name(x.name_field()) == name)?;
            let kind = if ext.offset() == to {
                "target"
            } else {
                "match"
            };
            (
                ext.offset(),
                format!("{kind} \"{}\"", name.as_str().escape_debug()),
            )
        }
        _ => return None,
    };
    let at = IPT_REPLACE_SIZE.checked_add(entry_at)?.checked_add(rel)?;
    Some((at, what))
}

/// A hex dump of about [`WINDOW`] bytes around `center`, 16 bytes a row with file offsets,
/// and a caret under the byte at `center`.
pub fn hexdump(bytes: &[u8], center: usize) -> String {
    let mut out = String::new();
    let anchor = center.min(bytes.len().saturating_sub(1));
    let start = anchor.saturating_sub(WINDOW / 2 - 8) / ROW * ROW;
    let end = start.saturating_add(WINDOW).min(bytes.len());
    let Some(window) = bytes.get(start..end) else {
        return out;
    };
    for (i, row) in window.chunks(ROW).enumerate() {
        let at = start + i * ROW;
        let _ = write!(out, "    {at:08x} ");
        let mut ascii = String::new();
        for col in 0..ROW {
            if col == ROW / 2 {
                out.push(' ');
            }
            match row.get(col) {
                Some(b) => {
                    let _ = write!(out, " {b:02x}");
                    ascii.push(if b.is_ascii_graphic() || *b == b' ' {
                        char::from(*b)
                    } else {
                        '.'
                    });
                }
                None => out.push_str("   "),
            }
        }
        let _ = writeln!(out, "  |{ascii}|");
        if (at..at + ROW).contains(&center) {
            let col = center - at;
            let pad = 4 + 8 + 1 + col * 3 + usize::from(col >= ROW / 2) + 1;
            let _ = writeln!(out, "{}^^", " ".repeat(pad));
        }
    }
    if center >= bytes.len() {
        let _ = writeln!(
            out,
            "    (offset {center:#x} is past the end of the file, {} bytes)",
            bytes.len()
        );
    }
    out
}

/// One line about the header: what the blob claims to be.
fn header_summary(bytes: &[u8]) -> Option<String> {
    let h = ReplaceView::new(bytes)?.header();
    Some(format!(
        "table \"{}\", valid_hooks {:#04x}, num_entries {}, size {}, num_counters {}",
        String::from_utf8_lossy(cstr(&h.name)),
        h.valid_hooks.get(),
        h.num_entries.get(),
        h.size.get(),
        h.num_counters.get()
    ))
}

/// One line about the entry at `offset` in the entries blob, if its header is there.
fn entry_summary(bytes: &[u8], offset: usize) -> Option<String> {
    let view = ReplaceView::new(bytes)?;
    let e = Entries::new(view.trailing()).entry_at(offset)?;
    let mut s = format!(
        "target_offset {}, next_offset {}",
        e.target_offset(),
        e.next_offset()
    );
    if let Some(t) = e.target() {
        let _ = write!(
            s,
            ", target \"{}\" revision {} size {}",
            String::from_utf8_lossy(t.name()).escape_debug(),
            t.revision(),
            t.size()
        );
    }
    Some(s)
}

/// The text report for an accepted file.
pub fn text_ok(file: &str) -> String {
    format!("{file}: OK\n")
}

/// The text report for a rejected file.
pub fn text_rejected(file: &str, bytes: &[u8], err: &Error) -> String {
    let mut out = String::new();
    let errno = err.errno();
    let _ = writeln!(
        out,
        "{file}: REJECTED with {} (errno {})",
        errno.name(),
        errno.code()
    );
    let _ = writeln!(
        out,
        "  check:     {} ({})",
        err.check.describe(),
        err.check.name()
    );
    match (err.offset, err.entry) {
        (Some(o), entry) => {
            let entry = entry.map_or(String::from("?"), |e| e.to_string());
            let _ = writeln!(
                out,
                "  where:     entry {entry}, offset {o} in the entries blob (file offset {})",
                u64::from(o) + 96
            );
            if let Some(s) = usize::try_from(o)
                .ok()
                .and_then(|o| entry_summary(bytes, o))
            {
                let _ = writeln!(out, "  entry:     {s}");
            }
        }
        (None, _) => {
            if let Some((at, field)) = header_field(err.check) {
                let _ = writeln!(out, "  where:     header field {field} (file offset {at})");
            }
        }
    }
    if let Some(x) = &err.ext {
        let _ = writeln!(out, "  extension: \"{}\"", x.as_str().escape_debug());
    }
    if err.offset.is_none() {
        if let Some(s) = header_summary(bytes) {
            let _ = writeln!(out, "  header:    {s}");
        }
    }
    if err.check == Check::NumCountersMismatch {
        let table = bytes.get(..31).and_then(table_by_name);
        let n = read_u32(bytes, 84);
        if let (Some(t), Some(n)) = (table, n) {
            let _ = writeln!(
                out,
                "  hint:      num_counters must equal the table's current entry count: {} in a \
                 fresh namespace.\n             A blob captured from a table with {n} entries \
                 passes with --current-entries {n} (or --current-entries blob).",
                t.initial_entries
            );
        }
    }
    // Center the dump on the field the check read when it is known: an entry is at least 152
    // bytes, so the entry start alone often leaves the culprit outside the window.
    let at = match focus(bytes, err) {
        Some((at, what)) => {
            let _ = writeln!(out, "  field:     {what} at file offset {at}");
            Some(at)
        }
        None => file_offset(err),
    };
    if let Some(at) = at {
        let _ = writeln!(out, "  bytes around file offset {at}:");
        out.push_str(&hexdump(bytes, at));
    }
    out
}

/// The JSON line for one file's verdict.
pub fn json_verdict(file: &str, result: Result<(), &Error>) -> String {
    match result {
        Ok(()) => json::object(&[
            ("file", file.into()),
            ("ok", true.into()),
            ("errno", 0i32.into()),
            ("errno_name", "".into()),
            ("check", Value::Null),
            ("offset", Value::Null),
            ("file_offset", Value::Null),
            ("entry", Value::Null),
            ("ext", Value::Null),
            ("message", "OK".into()),
        ]),
        Err(err) => json::object(&[
            ("file", file.into()),
            ("ok", false.into()),
            ("errno", err.errno().code().into()),
            ("errno_name", err.errno().name().into()),
            ("check", err.check.name().into()),
            ("offset", err.offset.into()),
            ("file_offset", file_offset(err).into()),
            ("entry", err.entry.into()),
            ("ext", err.ext.map(|x| x.as_str().to_owned()).into()),
            ("message", err.to_string().into()),
        ]),
    }
}

/// The JSON line for a file that could not be read.
pub fn json_io_error(file: &str, msg: &str) -> String {
    json::object(&[
        ("file", file.into()),
        ("ok", false.into()),
        ("errno", Value::Null),
        ("errno_name", Value::Null),
        ("check", Value::Null),
        ("offset", Value::Null),
        ("file_offset", Value::Null),
        ("entry", Value::Null),
        ("ext", Value::Null),
        ("message", msg.into()),
        ("io_error", true.into()),
    ])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use bpfilter_core::error::Errno;

    #[test]
    fn hexdump_marks_the_byte() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let d = hexdump(&bytes, 0x45);
        let lines: Vec<&str> = d.lines().collect();
        // The window starts on a row boundary before the offset and covers 64 bytes.
        assert!(lines[0].starts_with("    00000020 "), "{d}");
        assert_eq!(lines.iter().filter(|l| l.contains('|')).count(), 4);
        let row = lines
            .iter()
            .position(|l| l.starts_with("    00000040 "))
            .unwrap();
        let caret = lines[row + 1].find("^^").unwrap();
        assert_eq!(&lines[row][caret..caret + 2], "45");
        // Second half of a row: the extra gap is accounted for.
        let d = hexdump(&bytes, 0x4c);
        let lines: Vec<&str> = d.lines().collect();
        let row = lines
            .iter()
            .position(|l| l.starts_with("    00000040 "))
            .unwrap();
        let caret = lines[row + 1].find("^^").unwrap();
        assert_eq!(&lines[row][caret..caret + 2], "4c");
    }

    #[test]
    fn hexdump_near_the_end_and_past_it() {
        let bytes = [0xabu8; 20];
        let d = hexdump(&bytes, 19);
        assert!(d.starts_with("    00000000 "));
        assert!(d.contains("^^"));
        let d = hexdump(&bytes, 40);
        assert!(d.contains("past the end of the file, 20 bytes"));
        assert_eq!(
            hexdump(&[], 0),
            "    (offset 0x0 is past the end of the file, 0 bytes)\n"
        );
    }

    #[test]
    fn rejected_report_names_the_entry_and_file_offset() {
        let mut bytes = vec![0u8; 96 + 152];
        bytes[96 + 88..96 + 90].copy_from_slice(&112u16.to_le_bytes());
        bytes[96 + 90..96 + 92].copy_from_slice(&152u16.to_le_bytes());
        let err = Error::new(Check::BadVerdict, Errno::EINVAL).at(0, 0);
        let t = text_rejected("x.bin", &bytes, &err);
        assert!(
            t.starts_with("x.bin: REJECTED with EINVAL (errno 22)\n"),
            "{t}"
        );
        assert!(t.contains("(BadVerdict)"));
        assert!(t.contains("entry 0, offset 0 in the entries blob (file offset 96)"));
        assert!(t.contains("target_offset 112, next_offset 152"));
        // The verdict sits 112 + 32 bytes into the entry.
        assert!(t.contains("field:     verdict at file offset 240"), "{t}");
        assert!(t.contains("bytes around file offset 240:"));
        let plain = Error::new(Check::Loop, Errno::ELOOP).at(0, 0);
        assert!(text_rejected("x.bin", &bytes, &plain).contains("bytes around file offset 96:"));
        let j = json_verdict("x.bin", Err(&err));
        assert!(j.contains(r#""errno":22,"errno_name":"EINVAL","check":"BadVerdict","offset":0,"file_offset":96,"entry":0"#), "{j}");
    }

    #[test]
    fn header_failures_point_at_the_field() {
        let mut bytes = vec![0u8; 96];
        bytes[..6].copy_from_slice(b"filter");
        bytes[84..88].copy_from_slice(&9u32.to_le_bytes());
        let err = Error::new(Check::NumCountersMismatch, Errno::EAGAIN);
        let t = text_rejected("y", &bytes, &err);
        assert!(
            t.contains("header field num_counters (file offset 84)"),
            "{t}"
        );
        assert!(t.contains("--current-entries 9"));
        assert!(t.contains("table \"filter\""));
        assert_eq!(file_offset(&err), Some(84));
    }
}

//! The IPv4 x_tables socket options (`IPT_SO_*`, spec §1.6, §2, §3) on a raw `AF_INET` socket,
//! the way iptables-legacy talks to the kernel.
//!
//! Errors are the kernel's raw errno (`i32`), so they compare directly with
//! `bpfilter_core::error::Errno::code()`: that comparison is the whole point of the oracle.
//!
//! Soundness: a safe wrapper must never let the kernel write to an address the caller chose.
//! `ipt_replace.counters` is such an address (the kernel writes the old counters through it on
//! success), so every SET_REPLACE sent from here carries a pointer to a buffer owned by the call
//! instead of whatever the blob said. Option numbers from `ARPT_BASE_CTL` (96) on belong to
//! arptables, ebtables and IPVS, whose payloads embed more user pointers; the raw calls refuse
//! them.
//!
//! A socket stays in the network namespace it was created in, whichever thread uses it later,
//! and keeps that namespace alive while open.

use super::netns::Socket;
use bpfilter_core::ext::Kind;
use bpfilter_core::uapi::{
    IptGetEntries, IptGetinfo, XtCounters, XtGetRevision, IPT_GET_ENTRIES_SIZE, IPT_REPLACE_SIZE,
    IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO, IPT_SO_GET_REVISION_MATCH, IPT_SO_GET_REVISION_TARGET,
    IPT_SO_SET_ADD_COUNTERS, IPT_SO_SET_REPLACE, XT_EXTENSION_MAXNAMELEN, XT_TABLE_MAXNAMELEN,
};
use std::io;
use std::ops::Range;
use zerocopy::{FromBytes, FromZeros, IntoBytes};

/// `IPT_BASE_CTL`: the first IPv4 x_tables option number.
pub const IPT_BASE_CTL: i32 = 64;
/// `ARPT_BASE_CTL`: the first option number the raw calls refuse (arptables, then ebtables and
/// IPVS, whose payloads carry pointers the kernel dereferences).
pub const ARPT_BASE_CTL: i32 = 96;
/// The errno the raw calls return, without making a syscall, for an option outside
/// `IPT_BASE_CTL..ARPT_BASE_CTL` or a buffer longer than `socklen_t` can say. No x_tables
/// path returns it, so it cannot be mistaken for a kernel answer.
pub const REFUSED: i32 = libc::EOPNOTSUPP;

/// Offset of `ipt_replace.num_counters`.
const NUM_COUNTERS_AT: Range<usize> = 84..88;
/// Offset of `ipt_replace.counters`, the user pointer for the old counters.
const COUNTERS_PTR_AT: Range<usize> = 88..96;
/// Largest `num_counters` for which a SET_REPLACE gets a real buffer for the old counters
/// (64 MiB of address space, zero pages until the kernel writes). Above it the pointer is NULL:
/// the kernel ignores a fault on that copy and still reports success (spec §2.7), and a table
/// that large never exists in this project's namespaces anyway.
const MAX_COUNTERS_BUF: usize = 1 << 22;

/// A raw IPv4 socket (`AF_INET`, `SOCK_RAW`, `IPPROTO_RAW`) used only for `IPT_SO_*` options.
#[derive(Debug)]
pub struct IptSocket {
    sock: Socket,
}

impl IptSocket {
    /// Open the socket in the calling thread's network namespace. Needs `CAP_NET_RAW`; the
    /// options themselves need `CAP_NET_ADMIN`.
    pub fn new() -> io::Result<IptSocket> {
        Ok(IptSocket {
            sock: Socket::new(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW)?,
        })
    }

    /// `setsockopt(SOL_IP, opt, optval)`: `Ok` or the kernel's errno. For
    /// `IPT_SO_SET_REPLACE` the counters pointer is replaced (see the module doc); the old
    /// counters are dropped.
    pub fn set_raw(&self, opt: i32, optval: &[u8]) -> Result<(), i32> {
        self.set_inner(opt, optval).map(drop)
    }

    /// `getsockopt(SOL_IP, opt, buf)` with `optlen = buf.len()`: the optlen the kernel wrote
    /// back, or its errno. The buffer is passed as is: the kernel leaves some bytes unwritten
    /// (GET_ENTRIES skips extension-name bytes after the NUL), so zero it first for stable
    /// results.
    pub fn get_raw(&self, opt: i32, buf: &mut [u8]) -> Result<usize, i32> {
        check_window(opt)?;
        let mut optlen = libc::socklen_t::try_from(buf.len()).map_err(|_| REFUSED)?;
        // SAFETY: `buf` is writable for `optlen` bytes and `optlen` is a valid socklen_t for
        // the duration of the call. The get options registered in [64, 96) are IPT_SO_GET_*
        // (64..=67) and conntrack's SO_ORIGINAL_DST (80); all write only inside `buf`, bounded
        // by `optlen`, and none of their payloads carries a user pointer.
        let ret = unsafe {
            libc::getsockopt(
                self.sock.raw(),
                libc::SOL_IP,
                opt,
                buf.as_mut_ptr().cast(),
                &mut optlen,
            )
        };
        if ret < 0 {
            return Err(last_errno());
        }
        Ok(usize::try_from(optlen).map_or(buf.len(), |n| n.min(buf.len())))
    }

    /// `IPT_SO_SET_REPLACE` with `optval` (header + entries, exactly as iptables sends it).
    pub fn replace(&self, optval: &[u8]) -> Result<(), i32> {
        self.set_raw(IPT_SO_SET_REPLACE, optval)
    }

    /// `IPT_SO_SET_REPLACE`, returning the replaced table's counters (`num_counters` of them),
    /// as iptables receives them through `ipt_replace.counters`.
    pub fn replace_counters(&self, optval: &[u8]) -> Result<Vec<XtCounters>, i32> {
        self.set_inner(IPT_SO_SET_REPLACE, optval)
    }

    /// `IPT_SO_SET_ADD_COUNTERS` with `optval` (`xt_counters_info` + counters).
    pub fn add_counters(&self, optval: &[u8]) -> Result<(), i32> {
        self.set_raw(IPT_SO_SET_ADD_COUNTERS, optval)
    }

    /// `IPT_SO_GET_INFO` for `table` (instantiates the table in this namespace if it is a
    /// known one that nobody has touched yet, spec §1.5).
    pub fn get_info(&self, table: &str) -> Result<IptGetinfo, i32> {
        let mut info = IptGetinfo::new_zeroed();
        copy_name(&mut info.name, table);
        let mut buf = info.as_bytes().to_vec();
        self.get_raw(IPT_SO_GET_INFO, &mut buf)?;
        IptGetinfo::read_from_bytes(&buf).map_err(|_| libc::EINVAL)
    }

    /// `IPT_SO_GET_ENTRIES` for `table`: the `size` bytes of the entry table, from a zeroed
    /// buffer. `size` must be the table's current size (else the kernel says EAGAIN).
    pub fn get_entries(&self, table: &str, size: u32) -> Result<Vec<u8>, i32> {
        let mut hdr = IptGetEntries::new_zeroed();
        copy_name(&mut hdr.name, table);
        hdr.size.set(size);
        let len = usize::try_from(size)
            .ok()
            .and_then(|s| s.checked_add(IPT_GET_ENTRIES_SIZE))
            .ok_or(REFUSED)?;
        let mut buf = vec![0u8; len];
        buf.get_mut(..IPT_GET_ENTRIES_SIZE)
            .ok_or(REFUSED)?
            .copy_from_slice(hdr.as_bytes());
        self.get_raw(IPT_SO_GET_ENTRIES, &mut buf)?;
        buf.drain(..IPT_GET_ENTRIES_SIZE);
        Ok(buf)
    }

    /// `IPT_SO_GET_REVISION_MATCH` / `_TARGET`: `Ok` if the kernel has exactly this
    /// (name, revision); else EPROTONOSUPPORT (name known, revision not) or ENOENT (spec §3.4).
    pub fn get_revision(&self, kind: Kind, name: &str, revision: u8) -> Result<(), i32> {
        let mut req = XtGetRevision::new_zeroed();
        copy_name(&mut req.name, name);
        req.revision = revision;
        let opt = match kind {
            Kind::Match => IPT_SO_GET_REVISION_MATCH,
            Kind::Target => IPT_SO_GET_REVISION_TARGET,
        };
        self.get_raw(opt, req.as_mut_bytes()).map(drop)
    }

    /// setsockopt with the counters pointer of a SET_REPLACE redirected to a buffer owned here;
    /// returns that buffer (all zeros unless the kernel wrote the old counters).
    fn set_inner(&self, opt: i32, optval: &[u8]) -> Result<Vec<XtCounters>, i32> {
        check_window(opt)?;
        let mut old: Vec<XtCounters> = Vec::new();
        let mut patched;
        let mut optval = optval;
        if opt == IPT_SO_SET_REPLACE && optval.len() >= IPT_REPLACE_SIZE {
            let n = optval
                .get(NUM_COUNTERS_AT)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes);
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let ptr = if n <= MAX_COUNTERS_BUF {
                // alloc_zeroed: large buffers stay untouched zero pages until written.
                old = XtCounters::new_vec_zeroed(n).map_err(|_| libc::ENOMEM)?;
                u64::try_from(old.as_mut_ptr().expose_provenance()).map_err(|_| REFUSED)?
            } else {
                0
            };
            patched = optval.to_vec();
            patched
                .get_mut(COUNTERS_PTR_AT)
                .ok_or(REFUSED)?
                .copy_from_slice(&ptr.to_le_bytes());
            optval = &patched;
        }
        let optlen = libc::socklen_t::try_from(optval.len()).map_err(|_| REFUSED)?;
        // SAFETY: `optval` is readable for `optlen` bytes for the duration of the call. The
        // only option in the allowed window that makes the kernel write user memory is
        // SET_REPLACE, through `ipt_replace.counters`, which now points at `old`: writable for
        // `num_counters` counters (exactly what the kernel writes on success), or is NULL,
        // where the kernel's write faults harmlessly. `old` outlives the call.
        let ret = unsafe {
            libc::setsockopt(
                self.sock.raw(),
                libc::SOL_IP,
                opt,
                optval.as_ptr().cast(),
                optlen,
            )
        };
        if ret < 0 {
            return Err(last_errno());
        }
        Ok(old)
    }
}

/// Refuse option numbers outside the IPv4 x_tables window (see the module doc).
fn check_window(opt: i32) -> Result<(), i32> {
    if (IPT_BASE_CTL..ARPT_BASE_CTL).contains(&opt) {
        Ok(())
    } else {
        Err(REFUSED)
    }
}

/// The thread's errno after a failed call.
fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Copy `name` into a fixed C-string field, cut at the field's size. No NUL is forced at the
/// end: the kernel does that itself (byte 31 of a table name, byte 28 of an extension name),
/// and the wrappers should see exactly what the kernel does with a long name.
fn copy_name(field: &mut [u8], name: &str) {
    for (dst, &src) in field.iter_mut().zip(name.as_bytes()) {
        *dst = src;
    }
}

// The name fields the helpers fill have the sizes the kernel expects.
const _: () = {
    assert!(XT_TABLE_MAXNAMELEN == 32);
    assert!(XT_EXTENSION_MAXNAMELEN == 29);
};

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly on any error")]
mod tests {
    use super::*;
    use crate::sys::netns::in_new_netns;
    use bpfilter_core::uapi::{TABLES, XT_COUNTERS_INFO_SIZE};

    #[test]
    fn fresh_tables_match_the_spec() {
        in_new_netns(|| {
            let s = IptSocket::new().unwrap();
            for t in TABLES.iter() {
                let info = s.get_info(t.name).unwrap();
                assert_eq!(info.valid_hooks.get(), t.valid_hooks, "{}", t.name);
                assert_eq!(info.num_entries.get(), t.initial_entries, "{}", t.name);
                let entries = s.get_entries(t.name, info.size.get()).unwrap();
                assert_eq!(entries.len(), usize::try_from(info.size.get()).unwrap());
                // A wrong size is the kernel's EAGAIN, not a short read.
                assert_eq!(
                    s.get_entries(t.name, info.size.get() + 8),
                    Err(libc::EAGAIN)
                );
            }
            assert_eq!(s.get_info("nosuch").unwrap_err(), libc::ENOENT);
        })
        .unwrap();
    }

    #[test]
    fn revisions_and_window() {
        in_new_netns(|| {
            let s = IptSocket::new().unwrap();
            assert_eq!(s.get_revision(Kind::Match, "tcp", 0), Ok(()));
            assert_eq!(
                s.get_revision(Kind::Match, "tcp", 1),
                Err(libc::EPROTONOSUPPORT)
            );
            assert_eq!(s.get_revision(Kind::Target, "tcp", 0), Err(libc::ENOENT));
            assert_eq!(s.get_revision(Kind::Target, "ERROR", 0), Ok(()));
            // GET_INFO needs exactly 84 bytes.
            assert_eq!(
                s.get_raw(IPT_SO_GET_INFO, &mut [0u8; 83]),
                Err(libc::EINVAL)
            );
            assert_eq!(s.get_raw(128, &mut [0u8; 84]), Err(REFUSED));
            assert_eq!(s.set_raw(IPT_BASE_CTL - 1, &[]), Err(REFUSED));
            // The replace header alone is too short for any num_counters check to pass.
            assert_eq!(s.replace(&[0u8; 95]), Err(libc::EINVAL));
        })
        .unwrap();
    }

    #[test]
    fn add_counters_then_replace_returns_them() {
        in_new_netns(|| {
            let s = IptSocket::new().unwrap();
            let info = s.get_info("filter").unwrap();
            let n = info.num_entries.get();
            // ADD_COUNTERS: header + n counters; entry i gets (i+1, 100*(i+1)).
            let mut add = vec![0u8; XT_COUNTERS_INFO_SIZE];
            add[..6].copy_from_slice(b"filter");
            add[32..36].copy_from_slice(&n.to_le_bytes());
            for i in 1..=u64::from(n) {
                add.extend_from_slice(&i.to_le_bytes());
                add.extend_from_slice(&(100 * i).to_le_bytes());
            }
            s.add_counters(&add).unwrap();
            // Replace the table with itself (comefrom/counters in the blob are ignored).
            let entries = s.get_entries("filter", info.size.get()).unwrap();
            let mut optval = vec![0u8; IPT_REPLACE_SIZE];
            optval[..32].copy_from_slice(&info.name);
            optval[32..36].copy_from_slice(info.valid_hooks.as_bytes());
            optval[36..40].copy_from_slice(info.num_entries.as_bytes());
            optval[40..44].copy_from_slice(info.size.as_bytes());
            optval[44..64].copy_from_slice(info.hook_entry.as_bytes());
            optval[64..84].copy_from_slice(info.underflow.as_bytes());
            optval[84..88].copy_from_slice(&n.to_le_bytes());
            // A pointer the kernel must never see: the wrapper substitutes its own buffer.
            optval[88..96].copy_from_slice(&0x4141_4141_4141u64.to_le_bytes());
            optval.extend_from_slice(&entries);
            let old = s.replace_counters(&optval).unwrap();
            let got: Vec<(u64, u64)> = old.iter().map(|c| (c.pcnt.get(), c.bcnt.get())).collect();
            let want: Vec<(u64, u64)> = (1..=u64::from(n)).map(|i| (i, 100 * i)).collect();
            assert_eq!(got, want);
            // Counters were reset by the replace; a stale num_counters is EAGAIN.
            optval[84..88].copy_from_slice(&(n + 1).to_le_bytes());
            assert_eq!(s.replace(&optval), Err(libc::EAGAIN));
        })
        .unwrap();
    }
}

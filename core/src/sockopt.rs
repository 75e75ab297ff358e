//! Argument checks of the socket options other than SET_REPLACE (spec §1.6, §2.0, §3), in the
//! kernel's order and with its errno. SET_REPLACE itself is [`crate::validate`].
//!
//! Each function takes the caller's bytes and `optlen` exactly as the kernel sees them and a
//! [`Tables`] view of the current state; none of them panics on any input.

use crate::error::{Check, Errno, Error};
use crate::ext::{find_revision, Kind};
use crate::uapi::{
    cstr, TableInfo, IPT_GETINFO_SIZE, IPT_GET_ENTRIES_SIZE, IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO,
    IPT_SO_GET_REVISION_MATCH, IPT_SO_GET_REVISION_TARGET, IPT_SO_SET_ADD_COUNTERS,
    IPT_SO_SET_REPLACE, XT_COUNTERS_INFO_SIZE, XT_COUNTERS_SIZE, XT_EXTENSION_MAXNAMELEN,
    XT_GET_REVISION_SIZE, XT_TABLE_MAXNAMELEN,
};

/// What the option checks need to know about the current tables.
pub trait Tables {
    /// The table named `name` (C-string bytes): its descriptor, current entry count and blob
    /// size; `None` if there is no such table (the kernel would answer ENOENT).
    fn lookup(&self, name: &[u8]) -> Option<(TableInfo, u32, u32)>;
}

/// Which socket option a call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// setsockopt 64.
    SetReplace,
    /// setsockopt 65.
    SetAddCounters,
    /// getsockopt 64.
    GetInfo,
    /// getsockopt 65.
    GetEntries,
    /// getsockopt 66.
    GetRevisionMatch,
    /// getsockopt 67.
    GetRevisionTarget,
}

/// The kernel's dispatch (spec §2.0): the option range is checked first (ENOPROTOOPT), then the
/// capability (EPERM), before any length check.
pub fn dispatch(is_set: bool, optname: i32, has_net_admin: bool) -> Result<Opt, Error> {
    let opt = match (is_set, optname) {
        (true, IPT_SO_SET_REPLACE) => Opt::SetReplace,
        (true, IPT_SO_SET_ADD_COUNTERS) => Opt::SetAddCounters,
        (false, IPT_SO_GET_INFO) => Opt::GetInfo,
        (false, IPT_SO_GET_ENTRIES) => Opt::GetEntries,
        (false, IPT_SO_GET_REVISION_MATCH) => Opt::GetRevisionMatch,
        (false, IPT_SO_GET_REVISION_TARGET) => Opt::GetRevisionTarget,
        _ => return Err(Error::new(Check::BadOption, Errno::ENOPROTOOPT)),
    };
    if !has_net_admin {
        return Err(Error::new(Check::BadOption, Errno::EPERM));
    }
    Ok(opt)
}

fn table_name(field: &[u8]) -> &[u8] {
    // The kernel forces byte 31 to NUL.
    cstr(field.get(..XT_TABLE_MAXNAMELEN - 1).unwrap_or(field))
}

/// GET_INFO (spec §3.1): `optlen` must be exactly 84; returns the table.
pub fn get_info<'a>(
    optval: &'a [u8],
    optlen: usize,
    tables: &dyn Tables,
) -> Result<(&'a [u8], TableInfo), Error> {
    if optlen != IPT_GETINFO_SIZE {
        return Err(Error::new(Check::BadOptlen, Errno::EINVAL));
    }
    let name = table_name(
        optval
            .get(..XT_TABLE_MAXNAMELEN)
            .ok_or(Error::new(Check::BadOptlen, Errno::EFAULT))?,
    );
    let (t, _, _) = tables
        .lookup(name)
        .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
    Ok((name, t))
}

/// GET_ENTRIES (spec §3.2): header checks; returns the table name.
pub fn get_entries<'a>(
    optval: &'a [u8],
    optlen: usize,
    tables: &dyn Tables,
) -> Result<&'a [u8], Error> {
    if optlen < IPT_GET_ENTRIES_SIZE {
        return Err(Error::new(Check::BadOptlen, Errno::EINVAL));
    }
    let hdr = optval
        .get(..IPT_GET_ENTRIES_SIZE)
        .ok_or(Error::new(Check::BadOptlen, Errno::EFAULT))?;
    let size = crate::blob::read_u32(hdr, XT_TABLE_MAXNAMELEN).unwrap_or(0);
    let want = u64::from(size).saturating_add(u64::try_from(IPT_GET_ENTRIES_SIZE).unwrap_or(40));
    if u64::try_from(optlen).unwrap_or(u64::MAX) != want {
        return Err(Error::new(Check::BadOptlen, Errno::EINVAL));
    }
    let name = table_name(hdr.get(..XT_TABLE_MAXNAMELEN).unwrap_or(&[]));
    let (_, _, cur_size) = tables
        .lookup(name)
        .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
    if size != cur_size {
        return Err(Error::new(Check::SizeMismatch, Errno::EAGAIN));
    }
    Ok(name)
}

/// SET_ADD_COUNTERS (spec §3.3): returns the table name and the counters `(pcnt, bcnt)` bytes.
pub fn add_counters<'a>(
    optval: &'a [u8],
    tables: &dyn Tables,
) -> Result<(&'a [u8], &'a [u8]), Error> {
    let len = optval.len();
    if len <= XT_COUNTERS_INFO_SIZE {
        return Err(Error::new(Check::BadOptlen, Errno::EINVAL));
    }
    let hdr = optval.get(..XT_COUNTERS_INFO_SIZE).unwrap_or(&[]);
    let n = crate::blob::read_u32(hdr, XT_TABLE_MAXNAMELEN).unwrap_or(0);
    let bytes = u64::from(n).saturating_mul(u64::try_from(XT_COUNTERS_SIZE).unwrap_or(16));
    if u64::try_from(len.saturating_sub(XT_COUNTERS_INFO_SIZE)).ok() != Some(bytes) {
        return Err(Error::new(Check::BadOptlen, Errno::EINVAL));
    }
    let name = table_name(hdr.get(..XT_TABLE_MAXNAMELEN).unwrap_or(&[]));
    let (_, entries, _) = tables
        .lookup(name)
        .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
    if n != entries {
        return Err(Error::new(Check::NumCountersMismatch, Errno::EINVAL));
    }
    Ok((name, optval.get(XT_COUNTERS_INFO_SIZE..).unwrap_or(&[])))
}

/// GET_REVISION_MATCH / _TARGET (spec §3.4), answered from `kind`'s registry.
pub fn get_revision(optval: &[u8], optlen: usize, kind: Kind) -> Result<(), Error> {
    if optlen != XT_GET_REVISION_SIZE {
        return Err(Error::new(Check::BadOptlen, Errno::EINVAL));
    }
    let field = optval
        .get(..XT_EXTENSION_MAXNAMELEN)
        .ok_or(Error::new(Check::BadOptlen, Errno::EFAULT))?;
    // The kernel forces byte 28 to NUL.
    let name = cstr(field.get(..XT_EXTENSION_MAXNAMELEN - 1).unwrap_or(field));
    let rev = optval.get(XT_EXTENSION_MAXNAMELEN).copied().unwrap_or(0);
    find_revision(kind, name, rev).map_err(|e| Error::new(Check::NoSuchRevision, e).with_ext(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fresh;
    impl Tables for Fresh {
        fn lookup(&self, name: &[u8]) -> Option<(TableInfo, u32, u32)> {
            let t = crate::uapi::table_by_name(name)?;
            Some((*t, t.initial_entries, 0))
        }
    }

    fn named(name: &[u8], len: usize) -> std::vec::Vec<u8> {
        let mut v = std::vec![0u8; len];
        v[..name.len()].copy_from_slice(name);
        v
    }

    #[test]
    fn dispatch_order() {
        assert_eq!(
            dispatch(true, 66, false).unwrap_err().errno,
            Errno::ENOPROTOOPT
        );
        assert_eq!(
            dispatch(false, 68, true).unwrap_err().errno,
            Errno::ENOPROTOOPT
        );
        assert_eq!(dispatch(true, 64, false).unwrap_err().errno, Errno::EPERM);
        assert_eq!(dispatch(false, 67, true).unwrap(), Opt::GetRevisionTarget);
    }

    #[test]
    fn get_info_checks() {
        assert_eq!(
            get_info(&named(b"filter", 84), 83, &Fresh)
                .unwrap_err()
                .errno,
            Errno::EINVAL
        );
        assert_eq!(
            get_info(&named(b"filter", 84), 85, &Fresh)
                .unwrap_err()
                .errno,
            Errno::EINVAL
        );
        assert_eq!(
            get_info(&named(b"nosuch", 84), 84, &Fresh)
                .unwrap_err()
                .errno,
            Errno::ENOENT
        );
        let mut long = named(b"filter", 84);
        long[6..32].fill(b'X');
        assert_eq!(
            get_info(&long, 84, &Fresh).unwrap_err().errno,
            Errno::ENOENT
        );
        assert_eq!(
            get_info(&named(b"filter", 84), 84, &Fresh)
                .unwrap()
                .1
                .valid_hooks,
            0x0E
        );
    }

    #[test]
    fn add_counters_checks() {
        assert_eq!(
            add_counters(&named(b"filter", 40), &Fresh)
                .unwrap_err()
                .errno,
            Errno::EINVAL
        );
        let mut v = named(b"filter", 40 + 4 * 16);
        v[32..36].copy_from_slice(&4u32.to_le_bytes());
        assert!(add_counters(&v, &Fresh).is_ok());
        v[32..36].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(add_counters(&v, &Fresh).unwrap_err().errno, Errno::EINVAL);
        let mut w = named(b"filter", 40 + 3 * 16);
        w[32..36].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(add_counters(&w, &Fresh).unwrap_err().errno, Errno::EINVAL);
        w[..6].copy_from_slice(b"nosuch");
        assert_eq!(add_counters(&w, &Fresh).unwrap_err().errno, Errno::ENOENT);
    }

    #[test]
    fn get_revision_checks() {
        assert_eq!(
            get_revision(&named(b"", 30), 29, Kind::Target)
                .unwrap_err()
                .errno,
            Errno::EINVAL
        );
        assert!(get_revision(&named(b"", 30), 30, Kind::Target).is_ok());
        assert!(get_revision(&named(b"ERROR", 30), 30, Kind::Target).is_ok());
        assert_eq!(
            get_revision(&named(b"nosuch", 30), 30, Kind::Match)
                .unwrap_err()
                .errno,
            Errno::ENOENT
        );
    }
}

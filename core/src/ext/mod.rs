//! The extension registry: every match and target bpfilter knows, keyed by (name, revision),
//! with what the kernel's `xt_check_match`/`xt_check_target` need (payload size, table, hooks,
//! protocol, family) and the extension's own `checkentry` (spec §2.6, §4).
//!
//! Lookup follows the kernel exactly (spec §2.6): search the IPv4 list, then the UNSPEC list;
//! an exact (name, revision) hit wins; otherwise the result is what the UNSPEC search said:
//! EPROTOTYPE if UNSPEC has the name at another revision, else ENOENT (even when the IPv4 list
//! has the name at another revision). GET_REVISION_* answers EPROTONOSUPPORT / ENOENT (§3.4).
//!
//! Typed values: [`matches::MatchValue`] and [`targets::TargetValue`] parse a checked payload
//! into IR values, encode them back to the exact payload bytes, and print `iptables-save`
//! arguments.

pub mod matches;
pub mod targets;

use crate::error::Errno;
use crate::uapi::IptIp;

/// Match or target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `xt_match`.
    Match,
    /// `xt_target`.
    Target,
}

/// The protocol family an extension is registered for: this decides ENOENT vs EPROTOTYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `NFPROTO_IPV4`.
    Ipv4,
    /// `NFPROTO_UNSPEC`: family-independent.
    Unspec,
}

/// What an extension's `checkentry` may look at.
#[derive(Clone, Copy, Debug)]
pub struct CheckCtx<'a> {
    /// The table name from the replace header (up to its NUL).
    pub table: &'a [u8],
    /// The entry's hook mask from the reachability walk (0 when unreachable).
    pub hook_mask: u32,
    /// The entry's `ipt_ip`.
    pub ip: &'a IptIp,
    /// The entry's match area (bytes 112 up to `target_offset`, tiled by pass 1): TCPMSS's
    /// check looks for a `tcp` SYN match there.
    pub matches: &'a [u8],
}

/// One registered extension (one revision of one name).
#[derive(Clone, Copy, Debug)]
pub struct ExtDesc {
    /// Match or target.
    pub kind: Kind,
    /// Name, as in the kernel's `xt_match.name` / `xt_target.name`.
    pub name: &'static str,
    /// Revision.
    pub revision: u8,
    /// Registered family.
    pub family: Family,
    /// `matchsize` / `targetsize`: the payload size before `XT_ALIGN`.
    pub size: usize,
    /// `usersize`: bytes of payload copied back by GET_ENTRIES (0 = all of `size`).
    pub usersize: usize,
    /// Table restriction (`None` = any table).
    pub table: Option<&'static str>,
    /// Allowed hooks as a bitmask (0 = any).
    pub hooks: u32,
    /// Required protocol (0 = any); also requires that `IPT_INV_PROTO` is not set.
    pub proto: u16,
    /// The extension's own `checkentry`: `Err(errno)` exactly as the kernel would fail.
    pub check: fn(&CheckCtx<'_>, &[u8]) -> Result<(), Errno>,
}

/// A `checkentry` that accepts everything.
pub fn check_none(_: &CheckCtx<'_>, _: &[u8]) -> Result<(), Errno> {
    Ok(())
}

/// The standard target: name `""`, revision 0, a 4-byte verdict.
pub const STANDARD: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "",
    revision: 0,
    family: Family::Ipv4,
    size: 4,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// The ERROR target: a 30-byte name.
pub const ERROR: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "ERROR",
    revision: 0,
    family: Family::Ipv4,
    size: 30,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// Every registered extension of a kind.
pub fn registry(kind: Kind) -> &'static [ExtDesc] {
    match kind {
        Kind::Match => matches::REGISTRY,
        Kind::Target => targets::REGISTRY,
    }
}

/// The registry entries named `name`, by binary search: pass 2 looks up every match and
/// target of a blob, so this is on the hot path. Both registries are sorted by name (the test
/// `registries_are_sorted` keeps them so).
fn named(kind: Kind, name: &[u8]) -> &'static [ExtDesc] {
    let reg = registry(kind);
    let lo = reg.partition_point(|d| d.name.as_bytes() < name);
    let hi = reg.partition_point(|d| d.name.as_bytes() <= name);
    reg.get(lo..hi).unwrap_or(&[])
}

/// The kernel's `xt_find_match`/`xt_find_target` as pass 2 uses it (spec §2.6): the exact
/// (name, revision) or ENOENT / EPROTOTYPE. `name` is the C-string name (up to its NUL).
pub fn lookup(kind: Kind, name: &[u8], revision: u8) -> Result<&'static ExtDesc, Errno> {
    let reg = named(kind, name);
    let same_name = |d: &&ExtDesc| d.name.as_bytes() == name;
    // IPv4 list first, then UNSPEC; an exact hit in either wins.
    if let Some(d) = reg
        .iter()
        .filter(same_name)
        .find(|d| d.family == Family::Ipv4 && d.revision == revision)
    {
        return Ok(d);
    }
    let mut unspec_has_name = false;
    for d in reg
        .iter()
        .filter(same_name)
        .filter(|d| d.family == Family::Unspec)
    {
        if d.revision == revision {
            return Ok(d);
        }
        unspec_has_name = true;
    }
    Err(if unspec_has_name {
        Errno::EPROTOTYPE
    } else {
        Errno::ENOENT
    })
}

/// The kernel's `xt_find_revision` for GET_REVISION_MATCH/TARGET (spec §3.4): `Ok` if the exact
/// revision exists, EPROTONOSUPPORT if only other revisions exist, ENOENT if the name is absent.
pub fn find_revision(kind: Kind, name: &[u8], revision: u8) -> Result<(), Errno> {
    let mut have_name = false;
    for d in registry(kind).iter().filter(|d| d.name.as_bytes() == name) {
        if d.revision == revision {
            return Ok(());
        }
        have_name = true;
    }
    Err(if have_name {
        Errno::EPROTONOSUPPORT
    } else {
        Errno::ENOENT
    })
}

#[cfg(test)]
mod order_tests {
    use super::*;

    #[test]
    fn registries_are_sorted() {
        for kind in [Kind::Match, Kind::Target] {
            let reg = registry(kind);
            for w in reg.windows(2) {
                assert!(
                    w[0].name <= w[1].name,
                    "{kind:?}: {:?} before {:?}",
                    w[0].name,
                    w[1].name
                );
            }
        }
    }
}

//! The match registry against the running kernel's own list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bpfilter_core::error::Errno;
use bpfilter_core::ext::{self, matches::REGISTRY, Family, Kind};
use std::collections::BTreeMap;

/// `/proc/net/ip_tables_matches` lists one line per registered IPv4 or UNSPEC `xt_match`
/// (one per revision): every name must be in the registry with exactly that many revisions.
#[test]
fn every_kernel_match_is_registered() {
    let list = match std::fs::read_to_string("/proc/net/ip_tables_matches") {
        Ok(s) => s,
        Err(e) => {
            println!("skipped: /proc/net/ip_tables_matches unreadable ({e})");
            return;
        }
    };
    let mut kernel: BTreeMap<&str, usize> = BTreeMap::new();
    for name in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        *kernel.entry(name).or_default() += 1;
    }
    let mut ours: BTreeMap<&str, usize> = BTreeMap::new();
    for d in REGISTRY {
        assert_eq!(d.kind, Kind::Match, "{}", d.name);
        *ours.entry(d.name).or_default() += 1;
    }
    assert_eq!(
        ours, kernel,
        "registry (left) vs /proc/net/ip_tables_matches (right)"
    );
}

/// Spec §2.6 lookups that depend on the registry's families, as measured on the kernel.
#[test]
fn lookup_errnos_follow_the_family() {
    let l = |n: &str, r| ext::lookup(Kind::Match, n.as_bytes(), r).map(|d| (d.name, d.revision));
    assert_eq!(l("tcp", 0), Ok(("tcp", 0)));
    // E5: tcp is registered per family, so another revision is ENOENT.
    assert_eq!(l("tcp", 1), Err(Errno::ENOENT));
    // E6: comment is UNSPEC, so another revision is EPROTOTYPE.
    assert_eq!(l("comment", 1), Err(Errno::EPROTOTYPE));
    assert_eq!(l("conntrack", 0), Err(Errno::EPROTOTYPE));
    assert_eq!(l("conntrack", 3).unwrap().1, 3);
    // Since 6.12 owner, physdev, addrtype, ... are per family: ENOENT.
    for n in [
        "owner",
        "physdev",
        "addrtype",
        "mac",
        "realm",
        "cluster",
        "connlimit",
    ] {
        assert_eq!(l(n, 200), Err(Errno::ENOENT), "{n}");
    }
    for n in [
        "state", "limit", "mark", "connmark", "u32", "bpf", "cgroup", "nfacct",
    ] {
        assert_eq!(l(n, 200), Err(Errno::EPROTOTYPE), "{n}");
    }
    assert_eq!(l("nosuchmatch", 0), Err(Errno::ENOENT));
    assert_eq!(
        ext::find_revision(Kind::Match, b"set", 4),
        Ok(()),
        "set revisions 0-4"
    );
    assert_eq!(
        ext::find_revision(Kind::Match, b"set", 5),
        Err(Errno::EPROTONOSUPPORT)
    );
}

/// Family split measured on the kernel: a revision that does not exist answers EPROTOTYPE
/// for exactly these names.
#[test]
fn unspec_names_are_the_measured_ones() {
    let mut unspec: Vec<&str> = REGISTRY
        .iter()
        .filter(|d| d.family == Family::Unspec)
        .map(|d| d.name)
        .collect();
    unspec.dedup();
    assert_eq!(
        unspec,
        [
            "bpf",
            "cgroup",
            "comment",
            "connbytes",
            "connlabel",
            "connmark",
            "conntrack",
            "cpu",
            "devgroup",
            "helper",
            "limit",
            "mark",
            "nfacct",
            "pkttype",
            "quota",
            "rateest",
            "state",
            "statistic",
            "string",
            "time",
            "u32"
        ]
    );
}

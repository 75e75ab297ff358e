//! The target registry against the running kernel's view of itself:
//!
//! * `/proc/net/ip_tables_targets` (one line per IPv4 or UNSPEC registration; the standard
//!   target's empty name is not listed), snapshotted below and, when the file is readable,
//!   compared live;
//! * the revisions `IPT_SO_GET_REVISION_TARGET` reports for revisions 0..15 of each name
//!   (probed in a fresh network namespace);
//! * which registrations are UNSPEC: the names the ARP revision query also reports
//!   (minus the ARP-only `CLASSIFY`, `MARK` and `mangle`), which `/proc/net/arp_tables_targets`
//!   confirms.
//!
//! Plus the named negative checkentry cases of the task, each with the kernel's errno.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use bpfilter_core::error::Errno;
use bpfilter_core::ext::targets::{self, TargetValue, REGISTRY};
use bpfilter_core::ext::{find_revision, lookup, CheckCtx, Family, Kind};
use bpfilter_core::uapi::IptIp;
use zerocopy::FromBytes;

/// `/proc/net/ip_tables_targets` on 6.18.44 (CONFIG_MODULES off), in the kernel's order.
const PROC_SNAPSHOT: &str = "NFQUEUE NFQUEUE NFQUEUE NFQUEUE AUDIT DNAT SNAT DNAT SNAT \
    SYNPROXY REJECT ECN ERROR IDLETIMER IDLETIMER TRACE TEE TCPOPTSTRIP TCPMSS TPROXY TPROXY \
    SECMARK SECMARK MASQUERADE REDIRECT RATEEST NFLOG NETMAP LOG HMARK TTL TOS DSCP CT CT CT \
    NOTRACK CONNSECMARK CLASSIFY CHECKSUM DNAT SNAT SET SET SET SET CONNMARK CONNMARK MARK";

/// GET_REVISION_TARGET successes for revisions 0..15.
const REVISIONS: &[(&str, &[u8])] = &[
    ("AUDIT", &[0]),
    ("CHECKSUM", &[0]),
    ("CLASSIFY", &[0]),
    ("CONNMARK", &[1, 2]),
    ("CONNSECMARK", &[0]),
    ("CT", &[0, 1, 2]),
    ("DNAT", &[0, 1, 2]),
    ("DSCP", &[0]),
    ("ECN", &[0]),
    ("ERROR", &[0]),
    ("HMARK", &[0]),
    ("IDLETIMER", &[0, 1]),
    ("LOG", &[0]),
    ("MARK", &[2]),
    ("MASQUERADE", &[0]),
    ("NETMAP", &[0]),
    ("NFLOG", &[0]),
    ("NFQUEUE", &[0, 1, 2, 3]),
    ("NOTRACK", &[0]),
    ("RATEEST", &[0]),
    ("REDIRECT", &[0]),
    ("REJECT", &[0]),
    ("SECMARK", &[0, 1]),
    ("SET", &[0, 1, 2, 3]),
    ("SNAT", &[0, 1, 2]),
    ("SYNPROXY", &[0]),
    ("TCPMSS", &[0]),
    ("TCPOPTSTRIP", &[0]),
    ("TEE", &[1]),
    ("TOS", &[1]),
    ("TPROXY", &[0, 1]),
    ("TRACE", &[0]),
    ("TTL", &[0]),
];

/// The UNSPEC registrations (also answered by the ARP revision query).
const UNSPEC: &[(&str, u8)] = &[
    ("NFQUEUE", 0),
    ("NFQUEUE", 1),
    ("NFQUEUE", 2),
    ("NFQUEUE", 3),
    ("AUDIT", 0),
    ("DNAT", 1),
    ("DNAT", 2),
    ("SNAT", 1),
    ("SNAT", 2),
];

fn registry_names() -> Vec<&'static str> {
    let mut v: Vec<_> = REGISTRY
        .iter()
        .map(|d| d.name)
        .filter(|n| !n.is_empty())
        .collect();
    v.sort_unstable();
    v
}

fn sorted(names: &str) -> Vec<String> {
    let mut v: Vec<String> = names.split_whitespace().map(String::from).collect();
    v.sort_unstable();
    v
}

#[test]
fn registry_matches_proc_snapshot_line_for_line() {
    // One registry entry per /proc line: same names, same multiplicities.
    assert_eq!(registry_names(), sorted(PROC_SNAPSHOT));
    // And the standard target is there too (unlisted because its name is empty).
    assert!(lookup(Kind::Target, b"", 0).is_ok());
}

#[test]
fn every_live_proc_name_is_in_the_registry() {
    let Ok(live) = std::fs::read_to_string("/proc/net/ip_tables_targets") else {
        eprintln!("/proc/net/ip_tables_targets not readable; snapshot test covers it");
        return;
    };
    let names = registry_names();
    for name in live.split_whitespace() {
        assert!(names.contains(&name), "{name} is missing from the registry");
    }
    assert_eq!(
        registry_names(),
        sorted(&live),
        "registry and this kernel differ"
    );
}

#[test]
fn revisions_match_get_revision() {
    for &(name, revs) in REVISIONS {
        for r in 0u8..16 {
            let want = if revs.contains(&r) {
                Ok(())
            } else {
                Err(Errno::EPROTONOSUPPORT)
            };
            assert_eq!(
                find_revision(Kind::Target, name.as_bytes(), r),
                want,
                "{name} rev {r}"
            );
        }
    }
    let listed: usize = REVISIONS.iter().map(|(_, r)| r.len()).sum();
    // + the standard target, which GET_REVISION also knows but /proc does not list.
    assert_eq!(listed + 1, REGISTRY.len());
    for absent in ["LED", "ULOG", "CLUSTERIP", "HL", "DNPT", "mangle", "tcp"] {
        assert_eq!(
            find_revision(Kind::Target, absent.as_bytes(), 0),
            Err(Errno::ENOENT),
            "{absent}"
        );
    }
}

#[test]
fn families_follow_the_unspec_list() {
    for d in REGISTRY {
        let unspec = UNSPEC.contains(&(d.name, d.revision));
        let want = if unspec { Family::Unspec } else { Family::Ipv4 };
        assert_eq!(d.family, want, "{} rev {}", d.name, d.revision);
    }
    // Consequence for SET_REPLACE (spec §2.6): unknown revisions.
    assert_eq!(
        lookup(Kind::Target, b"DNAT", 3).err(),
        Some(Errno::EPROTOTYPE)
    );
    assert_eq!(
        lookup(Kind::Target, b"AUDIT", 1).err(),
        Some(Errno::EPROTOTYPE)
    );
    assert_eq!(
        lookup(Kind::Target, b"NFQUEUE", 9).err(),
        Some(Errno::EPROTOTYPE)
    );
    assert_eq!(lookup(Kind::Target, b"MARK", 1).err(), Some(Errno::ENOENT));
    assert_eq!(
        lookup(Kind::Target, b"CONNMARK", 0).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(lookup(Kind::Target, b"LOG", 1).err(), Some(Errno::ENOENT));
}

#[test]
fn every_descriptor_has_a_typed_form_or_is_documented_opaque() {
    for d in REGISTRY {
        let zeros = vec![0u8; d.size];
        let v = TargetValue::parse(d, &zeros).expect("parse");
        let opaque = d.name.is_empty() || d.name == "ERROR" || (d.name == "SET" && d.revision == 0);
        assert_eq!(
            matches!(v, TargetValue::Other(_)),
            opaque,
            "{} rev {}",
            d.name,
            d.revision
        );
        let mut out = Vec::new();
        v.encode(d, &mut out).expect("encode");
        assert_eq!(out.len() % 8, 0);
        assert!(out.len() >= d.size && out.len() < d.size + 8);
        assert!(d.usersize <= d.size);
        if !opaque {
            assert!(targets::iptables_revision(d.name).is_some(), "{}", d.name);
        }
    }
}

fn ip(proto: u16, inv: u8) -> IptIp {
    let mut b = [0u8; 84];
    b[80..82].copy_from_slice(&proto.to_le_bytes());
    b[83] = inv;
    IptIp::read_from_bytes(&b).unwrap()
}

/// Run `name`/`rev`'s checkentry (only; the generic checks are the validator's) on `payload`.
fn check(
    table: &str,
    hook_mask: u32,
    ip: &IptIp,
    name: &str,
    rev: u8,
    payload: &[u8],
) -> Result<(), Errno> {
    let d = lookup(Kind::Target, name.as_bytes(), rev).unwrap();
    let mut p = payload.to_vec();
    p.resize(d.size.div_ceil(8) * 8, 0);
    (d.check)(
        &CheckCtx {
            table: table.as_bytes(),
            hook_mask,
            ip,
            matches: &[],
        },
        &p,
    )
}

const OUT: u32 = 1 << 3;

#[test]
fn log_checkentry() {
    let any = ip(0, 0);
    // E16: level 8.
    assert_eq!(
        check("filter", OUT, &any, "LOG", 0, &[8, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(check("filter", OUT, &any, "LOG", 0, &[7, 0xff]), Ok(()));
    // U6: a 30-byte prefix without NUL.
    let mut p = vec![4, 0];
    p.extend([b'x'; 30]);
    assert_eq!(check("filter", OUT, &any, "LOG", 0, &p), Err(Errno::EINVAL));
    p[31] = 0;
    assert_eq!(check("filter", OUT, &any, "LOG", 0, &p), Ok(()));
}

#[test]
fn reject_checkentry() {
    // E14: with = ECHOREPLY (4), whatever the protocol.
    assert_eq!(
        check("filter", OUT, &ip(6, 0), "REJECT", 0, &[4, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    // E15: tcp-reset (7) needs -p tcp without '!'.
    assert_eq!(
        check("filter", OUT, &ip(0, 0), "REJECT", 0, &[7, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("filter", OUT, &ip(17, 0), "REJECT", 0, &[7, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("filter", OUT, &ip(6, 0x40), "REJECT", 0, &[7, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("filter", OUT, &ip(6, 0x08), "REJECT", 0, &[7, 0, 0, 0]),
        Ok(())
    );
    // Unknown reply types are accepted (the target just drops).
    assert_eq!(
        check("filter", OUT, &ip(0, 0), "REJECT", 0, &[99, 0, 0, 0]),
        Ok(())
    );
    let d = lookup(Kind::Target, b"REJECT", 0).unwrap();
    assert_eq!((d.table, d.hooks), (Some("filter"), 0x0E));
}

#[test]
fn nat_checkentry() {
    let any = ip(0, 0);
    let pre = 1 << 0;
    // N5: DNAT revision 0 with rangesize 2 (and 0).
    assert_eq!(
        check("nat", pre, &any, "DNAT", 0, &[2, 0, 0, 0, 1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("nat", pre, &any, "DNAT", 0, &[0, 0, 0, 0, 1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(check("nat", pre, &any, "DNAT", 0, &[1, 0, 0, 0, 1]), Ok(()));
    // Revisions 1/2 do not look at the range at all.
    assert_eq!(check("nat", pre, &any, "DNAT", 2, &[0xff; 44]), Ok(()));
    // MASQUERADE/REDIRECT refuse MAP_IPS; NETMAP requires it.
    let post = 1 << 4;
    assert_eq!(
        check("nat", post, &any, "MASQUERADE", 0, &[1, 0, 0, 0, 1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("nat", pre, &any, "REDIRECT", 0, &[1, 0, 0, 0, 1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("nat", pre, &any, "NETMAP", 0, &[1, 0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("nat", pre, &any, "NETMAP", 0, &[1, 0, 0, 0, 1]),
        Ok(())
    );
    // N1: MASQUERADE only in POSTROUTING (descriptor hooks).
    let m = lookup(Kind::Target, b"MASQUERADE", 0).unwrap();
    assert_eq!((m.table, m.hooks), (Some("nat"), 0x10));
}

#[test]
fn other_checkentry_errnos() {
    let any = ip(0, 0);
    let tcp = ip(6, 0);
    // NFQUEUE: no queues -> EINVAL, past queue 65535 -> ERANGE.
    assert_eq!(
        check("filter", OUT, &any, "NFQUEUE", 1, &[0, 0, 0, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("filter", OUT, &any, "NFQUEUE", 3, &[0xff, 0xff, 2, 0]),
        Err(Errno::ERANGE)
    );
    assert_eq!(
        check("filter", OUT, &any, "NFQUEUE", 2, &[0, 0, 1, 0, 2, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("filter", OUT, &any, "NFQUEUE", 3, &[0, 0, 1, 0, 3, 0]),
        Ok(())
    );
    // AUDIT: unknown type -> ERANGE.
    assert_eq!(
        check("filter", OUT, &any, "AUDIT", 0, &[3]),
        Err(Errno::ERANGE)
    );
    // CT: unknown helper -> ENOENT, unterminated helper -> ENAMETOOLONG, timeout without a
    // protocol -> EINVAL, with one -> ENOENT (no timeout policy in a fresh namespace).
    let ct = |helper: &[u8], timeout: &[u8], ip: &IptIp| {
        let mut p = vec![0u8; 12];
        let mut h = helper.to_vec();
        h.resize(16, 0);
        p.extend(h);
        let mut t = timeout.to_vec();
        t.resize(32, 0);
        p.extend(t);
        check("raw", OUT, ip, "CT", 2, &p)
    };
    assert_eq!(ct(b"ftp", b"", &tcp), Ok(()));
    assert_eq!(ct(b"ftp", b"", &ip(17, 0)), Err(Errno::ENOENT));
    assert_eq!(ct(b"ftp", b"", &any), Err(Errno::ENOENT));
    assert_eq!(ct(&[b'x'; 16], b"", &tcp), Err(Errno::ENAMETOOLONG));
    assert_eq!(ct(b"", b"foo", &any), Err(Errno::EINVAL));
    assert_eq!(ct(b"", b"foo", &tcp), Err(Errno::ENOENT));
    assert_eq!(ct(b"", &[b'x'; 32], &tcp), Err(Errno::ENAMETOOLONG));
    // IDLETIMER rev 1: netlink notification -> EOPNOTSUPP before anything else.
    let mut p = vec![0u8; 4];
    p.extend(b"lbl".iter().copied().chain(std::iter::repeat_n(0, 25)));
    p.extend([1, 0]);
    assert_eq!(
        check("filter", OUT, &any, "IDLETIMER", 1, &p),
        Err(Errno::EOPNOTSUPP)
    );
    // RATEEST: a 16-byte name -> ENAMETOOLONG.
    assert_eq!(
        check("filter", OUT, &any, "RATEEST", 0, &[b'r'; 18]),
        Err(Errno::ENAMETOOLONG)
    );
    // SET: any real set index misses in a fresh namespace.
    assert_eq!(
        check(
            "filter",
            OUT,
            &any,
            "SET",
            1,
            &[0, 0, 1, 1, 0xff, 0xff, 0, 0]
        ),
        Err(Errno::ENOENT)
    );
    // SECMARK can never be installed here (no LSM maps contexts): ENOENT after the table and
    // mode tests.
    assert_eq!(
        check("filter", OUT, &any, "SECMARK", 1, &[1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("mangle", OUT, &any, "SECMARK", 1, &[2]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        check("mangle", OUT, &any, "SECMARK", 1, &[1]),
        Err(Errno::ENOENT)
    );
    // TCPMSS clamp needs a route: not from INPUT.
    assert_eq!(
        check("filter", 1 << 1, &tcp, "TCPMSS", 0, &[0xff, 0xff]),
        Err(Errno::EINVAL)
    );
    // From OUTPUT the route exists, but the entry has no tcp SYN match: still EINVAL.
    assert_eq!(
        check("filter", OUT, &tcp, "TCPMSS", 0, &[0xff, 0xff]),
        Err(Errno::EINVAL)
    );
}

#[test]
fn tcpmss_syn_match_rule() {
    // A tcp match: 32-byte header + xt_tcp (12 bytes) aligned to 16.
    let tcp_match = |flg_cmp: u8, inv: u8| {
        let mut m = vec![0u8; 48];
        m[0] = 48;
        m[2..5].copy_from_slice(b"tcp");
        m[32 + 10] = flg_cmp;
        m[32 + 11] = inv;
        m
    };
    assert!(targets::tcpmss::has_syn_match(&tcp_match(0x02, 0)));
    assert!(!targets::tcpmss::has_syn_match(&tcp_match(0x10, 0)));
    assert!(!targets::tcpmss::has_syn_match(&tcp_match(0x02, 0x04)));
    let mut two = tcp_match(0x10, 0);
    two.extend(tcp_match(0x12, 0));
    assert!(targets::tcpmss::has_syn_match(&two));
    assert!(!targets::tcpmss::has_syn_match(&[]));
}

//! Named `checkentry` cases, each one a story: the rule, where it sits, and the errno the
//! running kernel (Linux 6.18, x86_64) gave for it in a fresh network namespace
//! (`scripts/match_named_cases.py` re-checks every line against the kernel).
//!
//! Line format: `description|name rev table hook_mask proto invflags ERRNO payload`, the
//! payload as `OFFSET:HEX` runs over `XT_ALIGN(matchsize)` zeros.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ext_matches_support;

use bpfilter_core::error::Errno;
use bpfilter_core::ext::{self, CheckCtx, Kind};
use bpfilter_core::uapi::{xt_align, IptIp};
use bpfilter_core::validate::check_extension;
use ext_matches_support::payload;
use zerocopy::FromBytes;

/// `xt_check_match()` and the extension's `checkentry`, as the validator runs them.
fn check(
    name: &str,
    rev: u8,
    table: &str,
    hook_mask: u32,
    ip: &IptIp,
    p: &[u8],
) -> Result<(), Errno> {
    let desc = ext::lookup(Kind::Match, name.as_bytes(), rev).unwrap();
    let ctx = CheckCtx {
        table: table.as_bytes(),
        hook_mask,
        ip,
        matches: &[],
    };
    // The validator's own pass-2 check (size, table, hooks, protocol, checkentry).
    check_extension(desc, &ctx, 32 + p.len(), p)
}

#[test]
fn named_checkentry_cases() {
    let mut failures = Vec::new();
    for line in CASES.lines().filter(|l| !l.trim().is_empty()) {
        let (what, rest) = line.split_once('|').unwrap();
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (name, rev, table) = (f[0], f[1].parse::<u8>().unwrap(), f[2]);
        let (mask, proto, inv): (u32, u16, u8) = (
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
            f[5].parse().unwrap(),
        );
        let want = match f[6] {
            "Ok" => Ok(()),
            "ENOENT" => Err(Errno::ENOENT),
            "EINVAL" => Err(Errno::EINVAL),
            "EDOM" => Err(Errno::EDOM),
            "ERANGE" => Err(Errno::ERANGE),
            "ENAMETOOLONG" => Err(Errno::ENAMETOOLONG),
            e => panic!("errno {e}"),
        };
        let desc = ext::lookup(Kind::Match, name.as_bytes(), rev).unwrap();
        let data = payload(xt_align(desc.size).unwrap(), f[7]);
        let mut raw = [0u8; 84];
        raw[80..82].copy_from_slice(&proto.to_le_bytes());
        raw[83] = inv;
        let ip = IptIp::read_from_bytes(&raw[..]).unwrap();
        let got = check(name, rev, table, mask, &ip, &data);
        if got != want {
            failures.push(format!("{what}: kernel {} ({want:?}), model {got:?}", f[6]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const CASES: &str = "\
tcp: invflags 0x10 is not a tcp inversion (spec E12)|tcp 0 filter 2 6 0 EINVAL 11:10
tcp: all four inversions|tcp 0 filter 2 6 0 Ok 2:ffff,6:ffff,11:0f
tcp: needs -p tcp (spec E8)|tcp 0 filter 2 0 0 EINVAL -
tcp: -p tcp inverted (spec E9)|tcp 0 filter 2 6 64 EINVAL -
tcp: -p udp (spec E10)|tcp 0 filter 2 17 0 EINVAL -
udp: invflags 0x04|udp 0 filter 2 17 0 EINVAL 8:04
udplite: -p udplite|udplite 0 filter 2 136 0 Ok 2:ffff,6:ffff
icmp: invflags 0x02|icmp 0 filter 2 1 0 EINVAL 0:08,2:ff02
multiport: without -p|multiport 1 filter 2 0 0 EINVAL 0:010116
multiport: -p icmp|multiport 1 filter 2 1 0 EINVAL 0:010116
multiport: ! -p tcp|multiport 1 filter 2 6 64 EINVAL 0:010116
multiport: 16 ports|multiport 1 filter 2 6 0 EINVAL 0:0110
multiport: direction 3|multiport 1 filter 2 6 0 EINVAL 0:0301
multiport: range flag on the last port|multiport 1 filter 2 17 0 EINVAL 0:010201,4:02,33:01
multiport: descending range|multiport 1 filter 2 17 0 EINVAL 0:010209,4:02,32:01
multiport: -p sctp, range 1:2|multiport 1 filter 2 132 0 Ok 0:010201,4:02,32:01
limit: burst 0|limit 0 filter 2 0 0 ERANGE 0:1027
limit: --limit 3/hour --limit-burst 10000 overflows the credits|limit 0 filter 2 0 0 ERANGE 1:1bb7,4:1027
limit: 3/hour burst 5 (iptables default)|limit 0 filter 2 0 0 Ok 1:1bb7,4:05
owner: INPUT (spec E20)|owner 1 filter 2 0 0 EINVAL 16:04
owner: OUTPUT|owner 1 filter 8 0 0 Ok 16:04
owner: unreferenced chain (hook mask 0)|owner 1 filter 0 0 0 Ok 16:04
owner: uid range reversed|owner 1 filter 8 0 0 EINVAL 0:0a,4:05,16:01
owner: uid -1 is unmappable|owner 1 filter 8 0 0 EINVAL 0:ff*8,16:01
owner: unknown match flag 0x10|owner 1 filter 8 0 0 EINVAL 16:10
physdev: no option|physdev 0 filter 4 0 0 EINVAL -
physdev: --physdev-out in OUTPUT|physdev 0 filter 8 0 0 EINVAL 65:02
physdev: --physdev-out --physdev-is-bridged in OUTPUT|physdev 0 filter 8 0 0 Ok 65:06
physdev: --physdev-out in FORWARD|physdev 0 filter 4 0 0 Ok 65:02
addrtype: --limit-iface-out in INPUT|addrtype 1 filter 2 0 0 EINVAL 0:04,4:08
addrtype: both interface limits|addrtype 1 filter 4 0 0 EINVAL 0:04,4:0c
addrtype: --limit-iface-in in INPUT|addrtype 1 filter 2 0 0 Ok 0:04,4:04
set: no ipset exists in a fresh namespace|set 4 filter 2 0 0 ENOENT 2:0102
set revision 0 too|set 0 filter 2 0 0 ENOENT -
mac: OUTPUT|mac 0 filter 8 0 0 EINVAL -
rpfilter: filter table|rpfilter 0 filter 0 0 0 EINVAL -
rpfilter: raw PREROUTING|rpfilter 0 raw 1 0 0 Ok 0:01
rpfilter: unknown flag|rpfilter 0 raw 1 0 0 EINVAL 0:10
hashlimit: empty name|hashlimit 1 filter 2 0 0 EINVAL 16:01,20:1027,24:05,36:e803,40:1027
hashlimit: 16-byte name without NUL|hashlimit 1 filter 2 0 0 ENAMETOOLONG 0:78*16,16:01,20:1027,24:05,36:e803,40:1027
hashlimit: name with /|hashlimit 3 filter 2 0 0 EINVAL 0:612f62,256:1027,264:05,284:e803,288:1027
hashlimit: burst 0|hashlimit 3 filter 2 0 0 ERANGE 0:686c,256:1027,284:e803,288:1027
hashlimit: gc interval 0|hashlimit 3 filter 2 0 0 EINVAL 0:686c,256:1027,264:05,288:1027
hashlimit: srcmask 33|hashlimit 3 filter 2 0 0 EINVAL 0:686c,256:1027,264:05,284:e803,288:1027,296:21
hashlimit: rate match in revision 2|hashlimit 2 filter 2 0 0 EINVAL 0:686c,256:1027,264:05,272:40,284:e803,288:1027
hashlimit: rate match, interval 0|hashlimit 3 filter 2 0 0 EINVAL 0:686c,256:1027,264:05,272:40,284:e803,288:1027
hashlimit: rate match, avg > u32|hashlimit 3 filter 2 0 0 ERANGE 0:686c,260:01,264:05,272:40,284:e803,288:1027,292:01
hashlimit: bytes mode, rate too high|hashlimit 3 filter 2 0 0 EINVAL 0:686c,256:01,264:05,272:20,284:e803,288:1027
hashlimit: valid revision 3|hashlimit 3 filter 2 0 0 Ok 0:686c,256:1027,264:05,272:05,284:e803,288:1027,296:2020
recent: --rcheck and --set together|recent 1 filter 2 0 0 EINVAL 8:03,10:44454641554c54
recent: name ..|recent 1 filter 2 0 0 EINVAL 8:01,10:2e2e
recent: 200-byte name without NUL|recent 0 filter 2 0 0 ENAMETOOLONG 8:01,10:7a*200
recent: --reap without --seconds|recent 1 filter 2 0 0 EINVAL 8:21,10:44454641554c54
recent: --set with --seconds|recent 1 filter 2 0 0 EINVAL 0:0a,8:02,10:44454641554c54
recent: hitcount 65535|recent 1 filter 2 0 0 Ok 4:ffff,8:01,10:44454641554c54
recent: hitcount 65536|recent 1 filter 2 0 0 EINVAL 6:01,8:01,10:44454641554c54
string: unknown algorithm|string 1 filter 2 0 0 ENOENT 2:64,4:6e6f7065,20:474554,148:03
string: empty pattern|string 1 filter 2 0 0 EINVAL 2:64,4:626d
string: from > to|string 1 filter 2 0 0 EINVAL 0:0a,2:05,4:626d,20:474554,148:03
string: fsm with --icase|string 1 filter 2 0 0 EINVAL 2:64,4:66736d,23:61,148:0402
string: kmp|string 1 filter 2 0 0 Ok 2:64,4:6b6d70,20:474554,148:03
connlabel: bit 128|connlabel 0 filter 2 0 0 ERANGE 0:80
connlabel: bit 127|connlabel 0 filter 2 0 0 Ok 0:7f
nfacct: no accounting object|nfacct 1 filter 2 0 0 ENOENT 0:61636374
rateest: no estimator|rateest 0 filter 2 0 0 ENOENT 0:72,32:12,34:01
rateest: ABS and REL|rateest 0 filter 2 0 0 EINVAL 0:72,32:16,34:01
u32: 12 tests|u32 0 filter 2 0 0 EINVAL 1980:0c
dscp: 0x40 (EDOM)|dscp 0 filter 2 0 0 EDOM 0:40
time: daytime 86400 (EDOM)|time 0 filter 2 0 0 EDOM 8:805101
time: --contiguous on a range that does not wrap|time 0 filter 2 0 0 EINVAL 8:0a,12:14,21:02
cluster: 33 nodes|cluster 0 filter 2 0 0 EINVAL 0:21
cluster: node mask beyond the nodes (EDOM)|cluster 0 filter 2 0 0 EDOM 0:02,4:04
bpf: empty program|bpf 0 filter 2 0 0 EINVAL -
bpf: ret #0xffff|bpf 0 filter 2 0 0 Ok 0:01,4:06,8:ffff
bpf: not ending in ret|bpf 0 filter 2 0 0 EINVAL 0:01,4:20,8:0c
bpf: read of unwritten scratch memory|bpf 0 filter 2 0 0 EINVAL 0:02,4:60,8:03,12:06,16:ffff
bpf: unknown mode|bpf 1 filter 2 0 0 EINVAL 0:03
socket: OUTPUT|socket 1 filter 8 0 0 EINVAL -
socket: revision 1 with --nowildcard|socket 1 mangle 1 0 0 EINVAL 0:02
socket: revision 2 with --nowildcard|socket 2 mangle 1 0 0 Ok 0:02
cgroup: FORWARD|cgroup 0 filter 4 0 0 EINVAL -
cgroup: neither path nor classid|cgroup 2 filter 8 0 0 EINVAL -
cgroup: the root path|cgroup 2 filter 8 0 0 Ok 0:01,4:2f
ecn: ECE bits without -p tcp|ecn 0 filter 2 0 0 EINVAL 0:10
devgroup: --src-group in OUTPUT|devgroup 0 filter 8 0 0 EINVAL 0:01
policy: --dir out in INPUT|policy 0 filter 2 0 0 EINVAL 304:02
l2tp: -p tcp|l2tp 0 filter 2 6 0 EINVAL 0:01,10:01
l2tp: version 2 over IP|l2tp 0 filter 2 115 0 EINVAL 0:01,8:02,10:05
sctp: inverted option not given|sctp 0 filter 2 132 0 EINVAL 284:01,288:02
dccp: unknown flag|dccp 0 filter 2 33 0 EINVAL 8:10
statistic: mode 2|statistic 0 filter 2 0 0 EINVAL 0:02
quota: unknown flag|quota 0 filter 2 0 0 EINVAL 0:02
cpu: invert 2|cpu 0 filter 2 0 0 EINVAL 4:02
connbytes: direction 3|connbytes 0 filter 2 0 0 EINVAL 17:03
ah: unknown inversion|ah 0 filter 2 51 0 EINVAL 8:02
conntrack revision 3: no checkentry beyond conntrack itself|conntrack 3 filter 2 0 0 Ok 146:01,150:02
";

//! Golden target payloads produced by the real `iptables-legacy` 1.8.9: each case is the
//! target of one `iptables-legacy -t TABLE -A CHAIN ...` (the command is in the comment),
//! its bytes taken from the `IPT_SO_SET_REPLACE` that iptables sent (strace), run in a fresh
//! network namespace on the running kernel. `e` is what the kernel answered and `s` the
//! target part of `iptables-legacy-save` afterwards.
//!
//! Checked: the registry's checks give the kernel's answer; `TargetValue::parse` yields a
//! typed value (not `Other`) that re-encodes byte-exactly to what iptables sent; `save`
//! prints what iptables-legacy-save printed.
//!
//! Field key: t table, h hook of the chain, p `ip.proto`, i `ip.invflags`, n/r target name
//! and revision, pl payload (hex, `XT_ALIGN(size)` bytes), m the entry's match area (hex),
//! e kernel errno, s save text (None when the kernel refused the rule).

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use bpfilter_core::error::Errno;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ext::{lookup, CheckCtx, Kind};
use bpfilter_core::uapi::IptIp;
use bpfilter_core::validate::check_extension;
use zerocopy::FromBytes;

struct G {
    t: &'static str,
    h: u8,
    p: u16,
    i: u8,
    n: &'static str,
    r: u8,
    pl: &'static str,
    m: &'static str,
    e: &'static str,
    s: Option<&'static str>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ip(proto: u16, inv: u8) -> IptIp {
    let mut b = [0u8; 84];
    b[80..82].copy_from_slice(&proto.to_le_bytes());
    b[83] = inv;
    IptIp::read_from_bytes(&b).unwrap()
}

/// Pass-2 target checks (`xt_check_target` + checkentry, TCPMSS's SYN rule included).
fn check_target(c: &G, payload: &[u8]) -> Result<(), Errno> {
    let desc = lookup(Kind::Target, c.n.as_bytes(), c.r)?;
    let ip = ip(c.p, c.i);
    let matches = hex(c.m);
    let ctx = CheckCtx {
        table: c.t.as_bytes(),
        hook_mask: 1u32 << c.h,
        ip: &ip,
        matches: &matches,
    };
    // The validator's own pass-2 check (size, table, hooks, protocol, checkentry).
    check_extension(desc, &ctx, 32 + payload.len(), payload)
}

#[test]
fn iptables_goldens() {
    let mut failures = Vec::new();
    for (idx, c) in GOLDEN.iter().enumerate() {
        let payload = hex(c.pl);
        let want = match c.e {
            "OK" => Ok(()),
            e => Err(*Errno::ALL.iter().find(|x| x.name() == e).unwrap()),
        };
        let got = check_target(c, &payload);
        if got != want {
            failures.push(format!(
                "#{idx} {} {}: model {got:?}, kernel {}",
                c.n, c.pl, c.e
            ));
        }
        // LED is not in this kernel: only the ENOENT above applies.
        let Ok(desc) = lookup(Kind::Target, c.n.as_bytes(), c.r) else {
            continue;
        };
        let v = TargetValue::parse(desc, &payload).unwrap();
        assert!(
            !matches!(v, TargetValue::Other(_)),
            "#{idx} {}: no typed form",
            c.n
        );
        let mut enc = Vec::new();
        v.encode(desc, &mut enc).unwrap();
        assert_eq!(enc, payload, "#{idx} {} re-encode", c.n);
        if let Some(s) = c.s {
            let mut text = String::new();
            let r = v.save(desc, &mut text);
            if r.is_err() || text != s {
                failures.push(format!(
                    "#{idx} {}: save {text:?} ({r:?}), iptables {s:?}",
                    c.n
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[rustfmt::skip]
static GOLDEN: &[G] = &[
    // iptables-legacy -t filter -A OUTPUT -j LOG
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: "
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \"") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: " --log-level 1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0100746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \" --log-level 1") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: " --log-level alert
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0100746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \" --log-level 1") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "072f000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-level 7 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix abc_-09XYZ
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "04006162635f2d303958595a0000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix abc_-09XYZ") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix 12345678901234567890123456789
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400313233343536373839303132333435363738393031323334353637383900", m: "", e: "OK", s: Some("-j LOG --log-prefix 12345678901234567890123456789") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix 'a"b\c'"'"'d'
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "04006122625c6327640000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"a\\\"b\\\\c\\'d\"") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix 123456789012345678901234567890
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400313233343536373839303132333435363738393031323334353637383900", m: "", e: "OK", s: Some("-j LOG --log-prefix 12345678901234567890123456789") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-level 0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-level 0") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-level 4
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix " "
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400200000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \" \"") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0300000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-port-unreachable") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-net-unreachable
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0000000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-net-unreachable") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-host-unreachable
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-host-unreachable") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-port-unreachable
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0300000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-port-unreachable") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-proto-unreachable
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0200000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-proto-unreachable") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-net-prohibited
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0500000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-net-prohibited") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-host-prohibited
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0600000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-host-prohibited") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with icmp-admin-prohibited
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0800000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-admin-prohibited") },
    // iptables-legacy -t filter -A OUTPUT -p tcp -j REJECT --reject-with tcp-reset
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "REJECT", r: 0, pl: "0700000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with tcp-reset") },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with tcp-reset
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0700000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j REJECT --reject-with net-unreach
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "REJECT", r: 0, pl: "0000000000000000", m: "", e: "OK", s: Some("-j REJECT --reject-with icmp-net-unreachable") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --set-xmark 0xfeedcafe/0xfeedcafe
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "fecaedfefecaedfe", m: "", e: "OK", s: Some("-j MARK --set-xmark 0xfeedcafe/0xfeedcafe") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --set-xmark 0x0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "00000000ffffffff", m: "", e: "OK", s: Some("-j MARK --set-xmark 0x0/0xffffffff") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --set-xmark 4294967295
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "ffffffffffffffff", m: "", e: "OK", s: Some("-j MARK --set-xmark 0xffffffff/0xffffffff") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --set-mark 5
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "05000000ffffffff", m: "", e: "OK", s: Some("-j MARK --set-xmark 0x5/0xffffffff") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --set-mark 5/0xff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "05000000ff000000", m: "", e: "OK", s: Some("-j MARK --set-xmark 0x5/0xff") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --and-mark 0xf0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "000000000fffffff", m: "", e: "OK", s: Some("-j MARK --set-xmark 0x0/0xffffff0f") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --or-mark 0xf0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "f0000000f0000000", m: "", e: "OK", s: Some("-j MARK --set-xmark 0xf0/0xf0") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --xor-mark 0xf0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "f000000000000000", m: "", e: "OK", s: Some("-j MARK --set-xmark 0xf0/0x0") },
    // iptables-legacy -t filter -A OUTPUT -j MARK --set-xmark 0x1/0x0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "MARK", r: 2, pl: "0100000000000000", m: "", e: "OK", s: Some("-j MARK --set-xmark 0x1/0x0") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --set-xmark 0x1/0x2
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "0100000002000000ffffffff00000000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0x1/0x2") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --set-mark 5
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "05000000ffffffffffffffff00000000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0x5/0xffffffff") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --set-mark 5/0xff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "05000000ff000000ffffffff00000000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0x5/0xff") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --and-mark 0xf0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "000000000fffffffffffffff00000000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0x0/0xffffff0f") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --or-mark 0xf0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "f0000000f0000000ffffffff00000000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0xf0/0xf0") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --xor-mark 0xf0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "f000000000000000ffffffff00000000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0xf0/0x0") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --save-mark
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ffffffffffffffff00000100", m: "", e: "OK", s: Some("-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "000000000f000000ff00000000000100", m: "", e: "OK", s: Some("-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --save-mark --mask 0xff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ff000000ff00000000000100", m: "", e: "OK", s: Some("-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --restore-mark
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ffffffffffffffff00000200", m: "", e: "OK", s: Some("-j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xf
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "000000000f000000ff00000000000200", m: "", e: "OK", s: Some("-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xf") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --restore-mark --mask 0xff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ff000000ff00000000000200", m: "", e: "OK", s: Some("-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --set-xmark 0x1/0x2 --left-shift-mark 3
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "0100000002000000ffffffff00030000", m: "", e: "OK", s: Some("-j CONNMARK --set-xmark 0x1/0x2 --left-shift-mark 3") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --save-mark --right-shift-mark 3
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ffffffffffffffff01030100", m: "", e: "OK", s: Some("-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff --right-shift-mark 3") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --restore-mark --left-shift-mark 31 --nfmask 0xff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ffffffffff000000001f0200", m: "", e: "OK", s: Some("-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xffffffff --left-shift-mark 31") },
    // iptables-legacy -t filter -A OUTPUT -j CONNMARK --save-mark --left-shift-mark 32
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ffffffffffffffff00200100", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-group 1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-group 1") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-group 65535
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "00000000ffff0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-group 65535") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-group 0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-range 1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-range 1") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-size 0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-size 0") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-size 4294967295
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "ffffffff00000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-size 4294967295") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-prefix xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000000000007878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878780000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-prefix xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-prefix xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000000000007878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878780000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-prefix xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-prefix "a b"
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000000000006120620000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-prefix \"a b\"") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-threshold 1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-threshold 1") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-threshold 65535
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "000000000000ffff000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-threshold 65535") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0000010000000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-num 0") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-num 5
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0500010000000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-num 5") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-balance 2:5
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0200040000000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-balance 2:5") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-bypass
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0000010001000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-num 0 --queue-bypass") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-num 3 --queue-bypass
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0300010001000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-num 3 --queue-bypass") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-balance 2:5 --queue-cpu-fanout
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0200040002000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-balance 2:5 --queue-cpu-fanout") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-balance 2:5 --queue-bypass --queue-cpu-fanout
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "0200040003000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-balance 2:5 --queue-bypass --queue-cpu-fanout") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-num 65535
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "ffff010000000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-num 65535") },
    // iptables-legacy -t filter -A OUTPUT -j NFQUEUE --queue-balance 65530:65535
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "faff060000000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-balance 65530:65535") },
    // iptables-legacy -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "010000000100000001020304010203040000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4") },
    // iptables-legacy -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.10
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "0100000001000000010203040102030a0000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4-1.2.3.10") },
    // iptables-legacy -t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:1000-2000
    G { t: "nat", h: 4, p: 6, i: 0x00, n: "SNAT", r: 0, pl: "0100000003000000010203040102030403e807d000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4:1000-2000") },
    // iptables-legacy -t nat -A POSTROUTING -p udp -j SNAT --to-source 1.2.3.4:1000
    G { t: "nat", h: 4, p: 17, i: 0x00, n: "SNAT", r: 0, pl: "0100000003000000010203040102030403e803e800000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4:1000") },
    // iptables-legacy -t nat -A POSTROUTING -p tcp -j SNAT --to-source :1000-2000
    G { t: "nat", h: 4, p: 6, i: 0x00, n: "SNAT", r: 0, pl: "0100000002000000000000000000000003e807d000000000", m: "", e: "OK", s: Some("-j SNAT --to-source :1000-2000") },
    // iptables-legacy -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4 --random
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "010000000500000001020304010203040000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4 --random") },
    // iptables-legacy -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4 --random-fully
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "010000001100000001020304010203040000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4 --random-fully") },
    // iptables-legacy -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4 --persistent
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "010000000900000001020304010203040000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4 --persistent") },
    // iptables-legacy -t nat -A POSTROUTING -j SNAT --to-source 1.2.3.4 --random --random-fully --persistent
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "010000001d00000001020304010203040000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4 --random --random-fully --persistent") },
    // iptables-legacy -t nat -A INPUT -j SNAT --to-source 1.2.3.4
    G { t: "nat", h: 1, p: 0, i: 0x00, n: "SNAT", r: 0, pl: "010000000100000001020304010203040000000000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4") },
    // iptables-legacy -t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:1000-2000/3000
    G { t: "nat", h: 4, p: 6, i: 0x00, n: "SNAT", r: 0, pl: "0100000023000000010203040102030403e807d000000000", m: "", e: "OK", s: Some("-j SNAT --to-source 1.2.3.4:1000-2000/0") },
    // iptables-legacy -t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "DNAT", r: 2, pl: "010000000102030400000000000000000000000001020304000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4") },
    // iptables-legacy -t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4-1.2.3.10
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "DNAT", r: 2, pl: "01000000010203040000000000000000000000000102030a000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4-1.2.3.10") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:1000-2000
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "DNAT", r: 2, pl: "03000000010203040000000000000000000000000102030400000000000000000000000003e807d00000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4:1000-2000") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:80
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "DNAT", r: 2, pl: "030000000102030400000000000000000000000001020304000000000000000000000000005000500000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4:80") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j DNAT --to-destination :80
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "DNAT", r: 2, pl: "020000000000000000000000000000000000000000000000000000000000000000000000005000500000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination :80") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:1000-2000/3000
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "DNAT", r: 2, pl: "23000000010203040000000000000000000000000102030400000000000000000000000003e807d00bb8000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4:1000-2000/3000") },
    // iptables-legacy -t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4 --random
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "DNAT", r: 2, pl: "050000000102030400000000000000000000000001020304000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4 --random") },
    // iptables-legacy -t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4 --persistent
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "DNAT", r: 2, pl: "090000000102030400000000000000000000000001020304000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4 --persistent") },
    // iptables-legacy -t nat -A PREROUTING -j DNAT --to-destination 1.2.3.4 --random --persistent
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "DNAT", r: 2, pl: "0d0000000102030400000000000000000000000001020304000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 1.2.3.4 --random --persistent") },
    // iptables-legacy -t nat -A POSTROUTING -j MASQUERADE
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "MASQUERADE", r: 0, pl: "010000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j MASQUERADE") },
    // iptables-legacy -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000
    G { t: "nat", h: 4, p: 6, i: 0x00, n: "MASQUERADE", r: 0, pl: "0100000002000000000000000000000003e803e800000000", m: "", e: "OK", s: Some("-j MASQUERADE --to-ports 1000") },
    // iptables-legacy -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000
    G { t: "nat", h: 4, p: 6, i: 0x00, n: "MASQUERADE", r: 0, pl: "0100000002000000000000000000000003e807d000000000", m: "", e: "OK", s: Some("-j MASQUERADE --to-ports 1000-2000") },
    // iptables-legacy -t nat -A POSTROUTING -j MASQUERADE --random
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "MASQUERADE", r: 0, pl: "010000000400000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j MASQUERADE --random") },
    // iptables-legacy -t nat -A POSTROUTING -j MASQUERADE --random-fully
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "MASQUERADE", r: 0, pl: "010000001000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j MASQUERADE --random-fully") },
    // iptables-legacy -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000 --random --random-fully
    G { t: "nat", h: 4, p: 6, i: 0x00, n: "MASQUERADE", r: 0, pl: "0100000016000000000000000000000003e807d000000000", m: "", e: "OK", s: Some("-j MASQUERADE --to-ports 1000-2000 --random --random-fully") },
    // iptables-legacy -t nat -A PREROUTING -j REDIRECT
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "REDIRECT", r: 0, pl: "010000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j REDIRECT") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 8080
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "REDIRECT", r: 0, pl: "010000000200000000000000000000001f901f9000000000", m: "", e: "OK", s: Some("-j REDIRECT --to-ports 8080") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 8080-8090
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "REDIRECT", r: 0, pl: "010000000200000000000000000000001f901f9a00000000", m: "", e: "OK", s: Some("-j REDIRECT --to-ports 8080-8090") },
    // iptables-legacy -t nat -A PREROUTING -j REDIRECT --random
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "REDIRECT", r: 0, pl: "010000000400000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j REDIRECT --random") },
    // iptables-legacy -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 8080 --random
    G { t: "nat", h: 0, p: 6, i: 0x00, n: "REDIRECT", r: 0, pl: "010000000600000000000000000000001f901f9000000000", m: "", e: "OK", s: Some("-j REDIRECT --to-ports 8080 --random") },
    // iptables-legacy -t nat -A PREROUTING -j NETMAP --to 10.0.0.0/8
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "NETMAP", r: 0, pl: "01000000010000000a0000000affffff0000000000000000", m: "", e: "OK", s: Some("-j NETMAP --to 10.0.0.0/8") },
    // iptables-legacy -t nat -A PREROUTING -j NETMAP --to 10.1.2.3/32
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "NETMAP", r: 0, pl: "01000000010000000a0102030a0102030000000000000000", m: "", e: "OK", s: Some("-j NETMAP --to 10.1.2.3/32") },
    // iptables-legacy -t nat -A POSTROUTING -j NETMAP --to 10.1.2.0/24
    G { t: "nat", h: 4, p: 0, i: 0x00, n: "NETMAP", r: 0, pl: "01000000010000000a0102000a0102ff0000000000000000", m: "", e: "OK", s: Some("-j NETMAP --to 10.1.2.0/24") },
    // iptables-legacy -t nat -A PREROUTING -j NETMAP --to 10.1.2.0/255.255.0.255
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "NETMAP", r: 0, pl: "01000000010000000a0102000a0102000000000000000000", m: "", e: "OK", s: Some("-j NETMAP --to 10.1.2.0/32") },
    // iptables-legacy -t nat -A PREROUTING -j NETMAP --to 0.0.0.0/0
    G { t: "nat", h: 0, p: 0, i: 0x00, n: "NETMAP", r: 0, pl: "010000000100000000000000ffffffff0000000000000000", m: "", e: "OK", s: Some("-j NETMAP --to 0.0.0.0/0") },
    // iptables-legacy -t raw -A OUTPUT -j CT --notrack
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --notrack") },
    // iptables-legacy -t raw -A OUTPUT -j NOTRACK
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NOTRACK") },
    // iptables-legacy -t raw -A OUTPUT -j CT
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT") },
    // iptables-legacy -t raw -A OUTPUT -p tcp -j CT --helper ftp
    G { t: "raw", h: 3, p: 6, i: 0x00, n: "CT", r: 2, pl: "000000000000000000000000667470000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --helper ftp") },
    // iptables-legacy -t raw -A OUTPUT -p udp -j CT --helper tftp
    G { t: "raw", h: 3, p: 17, i: 0x00, n: "CT", r: 2, pl: "000000000000000000000000746674700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --helper tftp") },
    // iptables-legacy -t raw -A OUTPUT -j CT --helper ftp
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "000000000000000000000000667470000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "ENOENT", s: None },
    // iptables-legacy -t raw -A OUTPUT -p udp -j CT --helper ftp
    G { t: "raw", h: 3, p: 17, i: 0x00, n: "CT", r: 2, pl: "000000000000000000000000667470000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "ENOENT", s: None },
    // iptables-legacy -t raw -A OUTPUT -j CT --zone 5
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "000005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --zone 5") },
    // iptables-legacy -t raw -A OUTPUT -j CT --zone-orig 5
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "040005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --zone-orig 5") },
    // iptables-legacy -t raw -A OUTPUT -j CT --zone-reply 5
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "080005000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --zone-reply 5") },
    // iptables-legacy -t raw -A OUTPUT -j CT --zone-orig mark
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "140000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --zone-orig mark") },
    // iptables-legacy -t raw -A OUTPUT -j CT --zone mark
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --zone mark") },
    // iptables-legacy -t raw -A OUTPUT -j CT --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "00000000ff03000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark") },
    // iptables-legacy -t raw -A OUTPUT -j CT --expevents new
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --expevents new") },
    // iptables-legacy -t raw -A OUTPUT -p tcp -j CT --timeout foo
    G { t: "raw", h: 3, p: 6, i: 0x00, n: "CT", r: 2, pl: "00000000000000000000000000000000000000000000000000000000666f6f0000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "ENOENT", s: None },
    // iptables-legacy -t raw -A OUTPUT -j CT --timeout foo
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "00000000000000000000000000000000000000000000000000000000666f6f0000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t raw -A PREROUTING -j TRACE
    G { t: "raw", h: 0, p: 0, i: 0x00, n: "TRACE", r: 0, pl: "", m: "", e: "OK", s: Some("-j TRACE") },
    // iptables-legacy -t filter -A OUTPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0006020000000000", e: "OK", s: Some("-j TCPMSS --set-mss 1400") },
    // iptables-legacy -t filter -A OUTPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "ffff000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0006020000000000", e: "OK", s: Some("-j TCPMSS --clamp-mss-to-pmtu") },
    // iptables-legacy -t filter -A INPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
    G { t: "filter", h: 1, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "ffff000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0006020000000000", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A INPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400
    G { t: "filter", h: 1, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0006020000000000", e: "OK", s: Some("-j TCPMSS --set-mss 1400") },
    // iptables-legacy -t filter -A OUTPUT -p tcp --syn -j TCPMSS --set-mss 1400
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0017020000000000", e: "OK", s: Some("-j TCPMSS --set-mss 1400") },
    // iptables-legacy -t filter -A OUTPUT -p tcp ! --syn -j TCPMSS --set-mss 1400
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0017020400000000", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -p tcp -j TCPMSS --set-mss 1400
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -p tcp --tcp-flags ACK ACK -j TCPMSS --set-mss 1400
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0010100000000000", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -p tcp --dport 80 --tcp-flags SYN SYN -j TCPMSS --set-mss 1400
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "7805000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff500050000002020000000000", e: "OK", s: Some("-j TCPMSS --set-mss 1400") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --set-tos 0x10
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "10ff000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x10/0xff") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --set-tos 0x10/0x3f
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "103f000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x10/0x3f") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --set-tos Minimize-Delay
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "103f000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x10/0x3f") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --and-tos 0x0f
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "00f0000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x00/0xf0") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --or-tos 0x0f
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "0f0f000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x0f/0x0f") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --xor-tos 0x0f
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "0f00000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x0f/0x00") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --set-tos 0x10/0xff
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "10ff000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x10/0xff") },
    // iptables-legacy -t mangle -A OUTPUT -j TOS --set-tos 0
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TOS", r: 1, pl: "00ff000000000000", m: "", e: "OK", s: Some("-j TOS --set-tos 0x00/0xff") },
    // iptables-legacy -t mangle -A OUTPUT -j DSCP --set-dscp 10
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "DSCP", r: 0, pl: "0a00000000000000", m: "", e: "OK", s: Some("-j DSCP --set-dscp 0x0a") },
    // iptables-legacy -t mangle -A OUTPUT -j DSCP --set-dscp 0x3f
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "DSCP", r: 0, pl: "3f00000000000000", m: "", e: "OK", s: Some("-j DSCP --set-dscp 0x3f") },
    // iptables-legacy -t mangle -A OUTPUT -j DSCP --set-dscp-class EF
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "DSCP", r: 0, pl: "2e00000000000000", m: "", e: "OK", s: Some("-j DSCP --set-dscp 0x2e") },
    // iptables-legacy -t mangle -A OUTPUT -j DSCP --set-dscp-class af41
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "DSCP", r: 0, pl: "2200000000000000", m: "", e: "OK", s: Some("-j DSCP --set-dscp 0x22") },
    // iptables-legacy -t mangle -A OUTPUT -j TTL --ttl-set 64
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TTL", r: 0, pl: "0040000000000000", m: "", e: "OK", s: Some("-j TTL --ttl-set 64") },
    // iptables-legacy -t mangle -A OUTPUT -j TTL --ttl-inc 1
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TTL", r: 0, pl: "0101000000000000", m: "", e: "OK", s: Some("-j TTL --ttl-inc 1") },
    // iptables-legacy -t mangle -A OUTPUT -j TTL --ttl-dec 2
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TTL", r: 0, pl: "0202000000000000", m: "", e: "OK", s: Some("-j TTL --ttl-dec 2") },
    // iptables-legacy -t mangle -A OUTPUT -j TTL --ttl-set 0
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "TTL", r: 0, pl: "0000000000000000", m: "", e: "OK", s: Some("-j TTL --ttl-set 0") },
    // iptables-legacy -t mangle -A OUTPUT -j ECN --ecn-tcp-remove
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "ECN", r: 0, pl: "3000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j ECN --ecn-tcp-remove
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "ECN", r: 0, pl: "3000000000000000", m: "", e: "OK", s: Some("-j ECN --ecn-tcp-remove") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j ECN --ecn-tcp-cwr 1
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "ECN", r: 0, pl: "2000020000000000", m: "", e: "OK", s: Some("-j ECN --ecn-tcp-cwr 1") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j ECN --ecn-tcp-ece 1
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "ECN", r: 0, pl: "1000010000000000", m: "", e: "OK", s: Some("-j ECN --ecn-tcp-ece 1") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j ECN --ecn-tcp-ece 0 --ecn-tcp-cwr 0
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "ECN", r: 0, pl: "3000000000000000", m: "", e: "OK", s: Some("-j ECN --ecn-tcp-remove") },
    // iptables-legacy -t mangle -A OUTPUT -j ECN --ecn-ip-ect 1
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "ECN", r: 0, pl: "0101000000000000", m: "", e: "OK", s: Some("-j ECN --ecn-ip-ect 1") },
    // iptables-legacy -t mangle -A OUTPUT -j ECN --ecn-ip-ect 3
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "ECN", r: 0, pl: "0103000000000000", m: "", e: "OK", s: Some("-j ECN --ecn-ip-ect 3") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j ECN --ecn-ip-ect 2 --ecn-tcp-remove
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "ECN", r: 0, pl: "3002000000000000", m: "", e: "OK", s: Some("-j ECN --ecn-tcp-remove") },
    // iptables-legacy -t mangle -A OUTPUT -j CHECKSUM --checksum-fill
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "CHECKSUM", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j CHECKSUM --checksum-fill") },
    // iptables-legacy -t mangle -A OUTPUT -p udp -j CHECKSUM --checksum-fill
    G { t: "mangle", h: 3, p: 17, i: 0x00, n: "CHECKSUM", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j CHECKSUM --checksum-fill") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j TCPOPTSTRIP
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "TCPOPTSTRIP", r: 0, pl: "0000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j TCPOPTSTRIP") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j TCPOPTSTRIP --strip-options mss,wscale,sack-permitted,sack,timestamp,md5
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "TCPOPTSTRIP", r: 0, pl: "3c01080000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j TCPOPTSTRIP --strip-options 2,3,4,5,8,19") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j TCPOPTSTRIP --strip-options 2,3,4,5,8,19
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "TCPOPTSTRIP", r: 0, pl: "3c01080000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j TCPOPTSTRIP --strip-options 2,3,4,5,8,19") },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j TCPOPTSTRIP --strip-options 30,31,32,33,63,64,127,128
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "TCPOPTSTRIP", r: 0, pl: "000000c003000080010000000000008001000000000000000000000000000000", m: "", e: "OK", s: Some("-j TCPOPTSTRIP --strip-options 30,31,32,33,63,64,127,128") },
    // iptables-legacy -t filter -A OUTPUT -j CLASSIFY --set-class 1:2
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CLASSIFY", r: 0, pl: "0200010000000000", m: "", e: "OK", s: Some("-j CLASSIFY --set-class 0001:0002") },
    // iptables-legacy -t filter -A OUTPUT -j CLASSIFY --set-class ffff:ffff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CLASSIFY", r: 0, pl: "ffffffff00000000", m: "", e: "OK", s: Some("-j CLASSIFY --set-class ffff:ffff") },
    // iptables-legacy -t filter -A OUTPUT -j CLASSIFY --set-class 0:0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CLASSIFY", r: 0, pl: "0000000000000000", m: "", e: "OK", s: Some("-j CLASSIFY --set-class 0000:0000") },
    // iptables-legacy -t filter -A INPUT -j CLASSIFY --set-class 1:2
    G { t: "filter", h: 1, p: 0, i: 0x00, n: "CLASSIFY", r: 0, pl: "0200010000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j AUDIT --type accept
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "AUDIT", r: 0, pl: "0000000000000000", m: "", e: "OK", s: Some("-j AUDIT --type accept") },
    // iptables-legacy -t filter -A OUTPUT -j AUDIT --type drop
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "AUDIT", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j AUDIT --type drop") },
    // iptables-legacy -t filter -A OUTPUT -j AUDIT --type reject
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "AUDIT", r: 0, pl: "0200000000000000", m: "", e: "OK", s: Some("-j AUDIT --type reject") },
    // iptables-legacy -t mangle -A OUTPUT -j CONNSECMARK --save
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "CONNSECMARK", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j CONNSECMARK --save") },
    // iptables-legacy -t mangle -A OUTPUT -j CONNSECMARK --restore
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "CONNSECMARK", r: 0, pl: "0200000000000000", m: "", e: "OK", s: Some("-j CONNSECMARK --restore") },
    // iptables-legacy -t filter -A OUTPUT -j CONNSECMARK --save
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "CONNSECMARK", r: 0, pl: "0100000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t security -A OUTPUT -j CONNSECMARK --restore
    G { t: "security", h: 3, p: 0, i: 0x00, n: "CONNSECMARK", r: 0, pl: "0200000000000000", m: "", e: "OK", s: Some("-j CONNSECMARK --restore") },
    // iptables-legacy -t mangle -A OUTPUT -j SECMARK --selctx system_u:object_r:ssh_packet_t:s0
    G { t: "mangle", h: 3, p: 0, i: 0x00, n: "SECMARK", r: 1, pl: "0173797374656d5f753a6f626a6563745f723a7373685f7061636b65745f743a73300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "ENOENT", s: None },
    // iptables-legacy -t filter -A INPUT -p tcp -j SYNPROXY
    G { t: "filter", h: 1, p: 6, i: 0x00, n: "SYNPROXY", r: 0, pl: "0000000000000000", m: "", e: "OK", s: Some("-j SYNPROXY") },
    // iptables-legacy -t filter -A INPUT -p tcp -j SYNPROXY --mss 1460 --wscale 7 --sack-perm --timestamp --ecn
    G { t: "filter", h: 1, p: 6, i: 0x00, n: "SYNPROXY", r: 0, pl: "1f07b40500000000", m: "", e: "OK", s: Some("-j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460 --ecn") },
    // iptables-legacy -t filter -A INPUT -p tcp -j SYNPROXY --mss 1460
    G { t: "filter", h: 1, p: 6, i: 0x00, n: "SYNPROXY", r: 0, pl: "0100b40500000000", m: "", e: "OK", s: Some("-j SYNPROXY --mss 1460") },
    // iptables-legacy -t filter -A INPUT -p tcp -j SYNPROXY --wscale 0
    G { t: "filter", h: 1, p: 6, i: 0x00, n: "SYNPROXY", r: 0, pl: "0200000000000000", m: "", e: "OK", s: Some("-j SYNPROXY --wscale 0") },
    // iptables-legacy -t filter -A INPUT -j SYNPROXY --mss 1460
    G { t: "filter", h: 1, p: 0, i: 0x00, n: "SYNPROXY", r: 0, pl: "0100b40500000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -p tcp -j SYNPROXY --mss 1460
    G { t: "filter", h: 3, p: 6, i: 0x00, n: "SYNPROXY", r: 0, pl: "0100b40500000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j TEE --gateway 10.0.0.1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "TEE", r: 1, pl: "0a000001000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j TEE --gateway 10.0.0.1") },
    // iptables-legacy -t filter -A OUTPUT -j TEE --gateway 10.0.0.1 --oif eth0
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "TEE", r: 1, pl: "0a000001000000000000000000000000657468300000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j TEE --gateway 10.0.0.1 --oif eth0") },
    // iptables-legacy -t filter -A OUTPUT -j TEE --gateway 10.0.0.1 --oif 123456789012345
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "TEE", r: 1, pl: "0a000001000000000000000000000000313233343536373839303132333435000000000000000000", m: "", e: "OK", s: Some("-j TEE --gateway 10.0.0.1 --oif 123456789012345") },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label foo
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a000000666f6f0000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j IDLETIMER --timeout 10 --label foo") },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label foo --alarm
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a000000666f6f0000000000000000000000000000000000000000000000000000010000000000000000000000000000", m: "", e: "OK", s: Some("-j IDLETIMER --timeout 10 --label foo --alarm") },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label power
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a000000706f776572000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label .
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a0000002e00000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label a/b
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a000000612f620000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 0 --label x
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "000000007800000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 2147483 --label x
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "9bc420007800000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 2147482 --label x
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "9ac420007800000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j IDLETIMER --timeout 2147482 --label x") },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label 123456789012345678901234567
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a0000003132333435363738393031323334353637383930313233343536370000000000000000000000000000000000", m: "", e: "OK", s: Some("-j IDLETIMER --timeout 10 --label 123456789012345678901234567") },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 10 --label 1234567890123456789012345678
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "0a0000003132333435363738393031323334353637383930313233343536370000000000000000000000000000000000", m: "", e: "OK", s: Some("-j IDLETIMER --timeout 10 --label 123456789012345678901234567") },
    // iptables-legacy -t mangle -A PREROUTING -p tcp -j TPROXY --on-port 8080
    G { t: "mangle", h: 0, p: 6, i: 0x00, n: "TPROXY", r: 1, pl: "0000000000000000000000000000000000000000000000001f90000000000000", m: "", e: "OK", s: Some("-j TPROXY --on-port 8080 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0") },
    // iptables-legacy -t mangle -A PREROUTING -p tcp -j TPROXY --on-port 8080 --on-ip 10.0.0.1 --tproxy-mark 0x1/0x1
    G { t: "mangle", h: 0, p: 6, i: 0x00, n: "TPROXY", r: 1, pl: "01000000010000000a0000010000000000000000000000001f90000000000000", m: "", e: "OK", s: Some("-j TPROXY --on-port 8080 --on-ip 10.0.0.1 --tproxy-mark 0x1/0x1") },
    // iptables-legacy -t mangle -A PREROUTING -j TPROXY --on-port 8080
    G { t: "mangle", h: 0, p: 0, i: 0x00, n: "TPROXY", r: 1, pl: "0000000000000000000000000000000000000000000000001f90000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t mangle -A OUTPUT -p tcp -j TPROXY --on-port 8080
    G { t: "mangle", h: 3, p: 6, i: 0x00, n: "TPROXY", r: 1, pl: "0000000000000000000000000000000000000000000000001f90000000000000", m: "", e: "EINVAL", s: None },
    // iptables-legacy -t filter -A OUTPUT -j RATEEST --rateest-name foo --rateest-interval 250ms --rateest-ewmalog 500ms
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "RATEEST", r: 0, pl: "666f6f00000000000000000000000000fe010000000000000000000000000000", m: "", e: "OK", s: Some("-j RATEEST --rateest-name foo --rateest-interval 250.0ms --rateest-ewmalog 500.0ms") },
    // iptables-legacy -t filter -A OUTPUT -j RATEEST --rateest-name foo --rateest-interval 1s --rateest-ewmalog 8s
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "RATEEST", r: 0, pl: "666f6f0000000000000000000000000000030000000000000000000000000000", m: "", e: "OK", s: Some("-j RATEEST --rateest-name foo --rateest-interval 1.0s --rateest-ewmalog 8.0s") },
    // iptables-legacy -t filter -A OUTPUT -j RATEEST --rateest-name foo --rateest-interval 8s --rateest-ewmalog 16s
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "RATEEST", r: 0, pl: "666f6f0000000000000000000000000003010000000000000000000000000000", m: "", e: "OK", s: Some("-j RATEEST --rateest-name foo --rateest-interval 8.0s --rateest-ewmalog 16.0s") },
    // iptables-legacy -t filter -A OUTPUT -j RATEEST --rateest-name 123456789012345 --rateest-interval 1s --rateest-ewmalog 2s
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "RATEEST", r: 0, pl: "3132333435363738393031323334350000010000000000000000000000000000", m: "", e: "OK", s: Some("-j RATEEST --rateest-name 123456789012345 --rateest-interval 1.0s --rateest-ewmalog 2.0s") },
    // iptables-legacy -t filter -A OUTPUT -j LED --led-trigger-id foo
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LED", r: 0, pl: "6e657466696c7465722d666f6f000000000000000000000000000000000000000000000000000000", m: "", e: "ENOENT", s: None },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple src,dst,sport,dport,proto --hmark-mod 10 --hmark-rnd 0x1234
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00000000c3070000ffff0000341200000a0000000000000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-src-prefix 32 --hmark-dst-prefix 32 --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0x00001234 --hmark-mod 10") },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple ct --hmark-mod 10 --hmark-rnd 0xdeadbeef --hmark-offset 100 --hmark-src-prefix 24 --hmark-dst-prefix 16
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "ffffff00000000000000000000000000ffff00000000000000000000000000000000000000000000031e000000000000efbeadde0a0000006400000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-src-prefix 24 --hmark-dst-prefix 16 --hmark-rnd 0xdeadbeef --hmark-mod 10 --hmark-offset 100 --hmark-tuple ct") },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple spi --hmark-mod 4 --hmark-rnd 1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "0000000000000000000000000000000000000000000000000000000000000000ffffffff00000000080600000000000001000000040000000000000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-spi-mask 0xffffffff --hmark-rnd 0x00000001 --hmark-mod 4") },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple src --hmark-mod 4 --hmark-rnd 1 --hmark-sport-mask 0xff00 --hmark-dport-mask 0x00ff
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "ffffffffffffffffffffffffffffffff00000000000000000000000000000000ff0000ff00000000c10600000000000001000000040000000000000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-src-prefix 32 --hmark-sport-mask 0xff00 --hmark-dport-mask 0x00ff --hmark-rnd 0x00000001 --hmark-mod 4") },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple src --hmark-mod 4 --hmark-rnd 1 --hmark-spi-mask 0xffff0000 --hmark-proto-mask 0x11
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "ffffffffffffffffffffffffffffffff00000000000000000000000000000000ffff000000000000090700001100000001000000040000000000000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-src-prefix 32 --hmark-spi-mask 0xffff0000 --hmark-proto-mask 0x11 --hmark-rnd 0x00000001 --hmark-mod 4") },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple dst --hmark-mod 4 --hmark-rnd 1 --hmark-sport 0x50 --hmark-dport 0x51
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "00000000000000000000000000000000ffffffffffffffffffffffffffffffff0000000000500051320600000000000001000000040000000000000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-dst-prefix 32 --hmark-sport 0x0050 --hmark-dport 0x0051 --hmark-rnd 0x00000001 --hmark-mod 4") },
    // iptables-legacy -t filter -A OUTPUT -j HMARK --hmark-tuple dst --hmark-mod 4 --hmark-rnd 1 --hmark-spi 0x12345678
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "HMARK", r: 0, pl: "00000000000000000000000000000000ffffffffffffffffffffffffffffffff0000000012345678060600000000000001000000040000000000000000000000", m: "", e: "OK", s: Some("-j HMARK --hmark-dst-prefix 32 --hmark-spi 0x12345678 --hmark-rnd 0x00000001 --hmark-mod 4") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "quote\"q"
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "040071756f746522710000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"quote\\\"q\"") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "back\\b"
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "04006261636b5c62000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"back\\\\b\"") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "a.b"
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0400612e62000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"a.b\"") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "_"
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "04005f0000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix _") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-level emerg --log-uid
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0008000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-level 0 --log-uid") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-prefix "it's"
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0000000000000000000000006974277300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-prefix \"it\\'s\"") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-group 7 --nflog-size 128 --nflog-threshold 3 --nflog-prefix p-1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "800000000700030001000000702d310000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-prefix p-1 --nflog-group 7 --nflog-size 128 --nflog-threshold 3") },
    // iptables-legacy -t nat -A POSTROUTING -p udp -j SNAT --to-source 10.0.0.1-10.0.0.9:1024-65535 --random-fully
    G { t: "nat", h: 4, p: 17, i: 0x00, n: "SNAT", r: 0, pl: "01000000130000000a0000010a0000090400ffff00000000", m: "", e: "OK", s: Some("-j SNAT --to-source 10.0.0.1-10.0.0.9:1024-65535 --random-fully") },
    // iptables-legacy -t nat -A OUTPUT -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.9:80-88/90 --persistent
    G { t: "nat", h: 3, p: 6, i: 0x00, n: "DNAT", r: 2, pl: "2b0000000a0000010000000000000000000000000a00000900000000000000000000000000500058005a000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 10.0.0.1-10.0.0.9:80-88/90 --persistent") },
    // iptables-legacy -t nat -A PREROUTING -p sctp -j DNAT --to-destination 10.1.1.1:2000
    G { t: "nat", h: 0, p: 132, i: 0x00, n: "DNAT", r: 2, pl: "030000000a0101010000000000000000000000000a01010100000000000000000000000007d007d00000000000000000", m: "", e: "OK", s: Some("-j DNAT --to-destination 10.1.1.1:2000") },
    // iptables-legacy -t nat -A POSTROUTING -p icmp -j MASQUERADE --to-ports 10-20
    G { t: "nat", h: 4, p: 1, i: 0x00, n: "MASQUERADE", r: 0, pl: "01000000020000000000000000000000000a001400000000", m: "", e: "OK", s: Some("-j MASQUERADE --to-ports 10-20") },
    // iptables-legacy -t nat -A OUTPUT -p udp -j REDIRECT --to-ports 53
    G { t: "nat", h: 3, p: 17, i: 0x00, n: "REDIRECT", r: 0, pl: "010000000200000000000000000000000035003500000000", m: "", e: "OK", s: Some("-j REDIRECT --to-ports 53") },
    // iptables-legacy -t nat -A INPUT -j NETMAP --to 192.168.0.0/16
    G { t: "nat", h: 1, p: 0, i: 0x00, n: "NETMAP", r: 0, pl: "0100000001000000c0a80000c0a8ffff0000000000000000", m: "", e: "OK", s: Some("-j NETMAP --to 192.168.0.0/16") },
    // iptables-legacy -t raw -A PREROUTING -p udp -j CT --helper snmp_trap --zone-reply 7 --ctevents new,mark --expevents new
    G { t: "raw", h: 0, p: 17, i: 0x00, n: "CT", r: 2, pl: "080007008100000001000000736e6d705f74726170000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --helper snmp_trap --ctevents new,mark --expevents new --zone-reply 7") },
    // iptables-legacy -t raw -A PREROUTING -p tcp -j CT --notrack --helper irc
    G { t: "raw", h: 0, p: 6, i: 0x00, n: "CT", r: 2, pl: "010000000000000000000000697263000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --notrack --helper irc") },
    // iptables-legacy -t raw -A OUTPUT -j CT --zone-reply mark
    G { t: "raw", h: 3, p: 0, i: 0x00, n: "CT", r: 2, pl: "180000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j CT --zone-reply mark") },
    // iptables-legacy -t mangle -A POSTROUTING -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
    G { t: "mangle", h: 4, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "ffff000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0006020000000000", e: "OK", s: Some("-j TCPMSS --clamp-mss-to-pmtu") },
    // iptables-legacy -t mangle -A FORWARD -p tcp --syn -j TCPMSS --set-mss 1360
    G { t: "mangle", h: 2, p: 6, i: 0x00, n: "TCPMSS", r: 0, pl: "5005000000000000", m: "30007463700000000000000000000000000000000000000000000000000000000000ffff0000ffff0017020000000000", e: "OK", s: Some("-j TCPMSS --set-mss 1360") },
    // iptables-legacy -t filter -A FORWARD -j NFQUEUE --queue-num 100 --queue-bypass
    G { t: "filter", h: 2, p: 0, i: 0x00, n: "NFQUEUE", r: 3, pl: "6400010001000000", m: "", e: "OK", s: Some("-j NFQUEUE --queue-num 100 --queue-bypass") },
    // iptables-legacy -t filter -A INPUT -j AUDIT --type drop
    G { t: "filter", h: 1, p: 0, i: 0x00, n: "AUDIT", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j AUDIT --type drop") },
    // iptables-legacy -t filter -A FORWARD -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 9 --mss 1460
    G { t: "filter", h: 2, p: 6, i: 0x00, n: "SYNPROXY", r: 0, pl: "0f09b40500000000", m: "", e: "OK", s: Some("-j SYNPROXY --sack-perm --timestamp --wscale 9 --mss 1460") },
    // iptables-legacy -t mangle -A PREROUTING -p udp -j TPROXY --on-port 53 --on-ip 127.0.0.1 --tproxy-mark 0x20000000/0xf0000000
    G { t: "mangle", h: 0, p: 17, i: 0x00, n: "TPROXY", r: 1, pl: "000000f0000000207f0000010000000000000000000000000035000000000000", m: "", e: "OK", s: Some("-j TPROXY --on-port 53 --on-ip 127.0.0.1 --tproxy-mark 0x20000000/0xf0000000") },
    // iptables-legacy -t mangle -A POSTROUTING -j CLASSIFY --set-class 10:1
    G { t: "mangle", h: 4, p: 0, i: 0x00, n: "CLASSIFY", r: 0, pl: "0100100000000000", m: "", e: "OK", s: Some("-j CLASSIFY --set-class 0010:0001") },
    // iptables-legacy -t mangle -A PREROUTING -j TTL --ttl-inc 5
    G { t: "mangle", h: 0, p: 0, i: 0x00, n: "TTL", r: 0, pl: "0105000000000000", m: "", e: "OK", s: Some("-j TTL --ttl-inc 5") },
    // iptables-legacy -t mangle -A PREROUTING -j MARK --set-mark 0x10/0x10
    G { t: "mangle", h: 0, p: 0, i: 0x00, n: "MARK", r: 2, pl: "1000000010000000", m: "", e: "OK", s: Some("-j MARK --set-xmark 0x10/0x10") },
    // iptables-legacy -t mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff
    G { t: "mangle", h: 0, p: 0, i: 0x00, n: "CONNMARK", r: 2, pl: "00000000ff000000ff00000000000200", m: "", e: "OK", s: Some("-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff") },
    // iptables-legacy -t security -A INPUT -j CONNSECMARK --save
    G { t: "security", h: 1, p: 0, i: 0x00, n: "CONNSECMARK", r: 0, pl: "0100000000000000", m: "", e: "OK", s: Some("-j CONNSECMARK --save") },
    // iptables-legacy -t filter -A OUTPUT -j TEE --gateway 192.168.7.7 --oif lo
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "TEE", r: 1, pl: "c0a807070000000000000000000000006c6f00000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j TEE --gateway 192.168.7.7 --oif lo") },
    // iptables-legacy -t filter -A OUTPUT -j RATEEST --rateest-name est0 --rateest-interval 500ms --rateest-ewmalog 2s
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "RATEEST", r: 0, pl: "65737430000000000000000000000000ff020000000000000000000000000000", m: "", e: "OK", s: Some("-j RATEEST --rateest-name est0 --rateest-interval 500.0ms --rateest-ewmalog 2.0s") },
    // iptables-legacy -t filter -A OUTPUT -j IDLETIMER --timeout 3600 --label idle_x
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "IDLETIMER", r: 1, pl: "100e000069646c655f780000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j IDLETIMER --timeout 3600 --label idle_x") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: " --log-ip-options
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0404746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \" --log-ip-options") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: " --log-tcp-options
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0402746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \" --log-tcp-options") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: " --log-tcp-sequence
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0401746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \" --log-tcp-sequence") },
    // iptables-legacy -t filter -A OUTPUT -j LOG --log-prefix "test: " --log-uid
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "LOG", r: 0, pl: "0408746573743a20000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j LOG --log-prefix \"test: \" --log-uid") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-range 4294967295
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "ffffffff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-range 4294967295") },
    // iptables-legacy -t filter -A OUTPUT -j NFLOG --nflog-size 1
    G { t: "filter", h: 3, p: 0, i: 0x00, n: "NFLOG", r: 0, pl: "0100000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", m: "", e: "OK", s: Some("-j NFLOG --nflog-size 1") },
];

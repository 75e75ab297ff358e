//! The prescreen of small chains on the real kernel (root): rulesets through the machine's own
//! iptables-legacy-restore, packets run with BPF_PROG_TEST_RUN, every expectation (verdict,
//! and which entry is counted with the packet's length) worked out by hand from the kernel's
//! first-match walk. The direct prescreen (IPv4 header read in place, before the prologue)
//! must send to the policy exactly the packets no entry can match, count the policy with the
//! packet's length, and let every other packet through to the rules; the fields prescreen
//! (an inverted condition) must do the same.
//!
//! Entry numbers: INPUT rules 0..=5, INPUT policy 6, FORWARD policy 7, OUTPUT rules 8..=9,
//! OUTPUT policy 10.

mod loader_support;

use bpfilter_core::codegen::Prescreen;
use bpfilter_core::uapi::{NF_INET_LOCAL_IN as IN, NF_INET_LOCAL_OUT as OUT};
use loader_support::*;

const RULES: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 10.0.0.2/32 -p udp -m udp --dport 5000 -j ACCEPT
-A INPUT -s 10.0.0.2/32 -p udp -m udp --dport 5001 -j ACCEPT
-A INPUT -d 10.9.0.0/16 -j ACCEPT
-A INPUT -s 192.168.0.0/16 -d 10.0.0.1/32 -p tcp -j ACCEPT
-A INPUT -m ttl --ttl-eq 7 -j ACCEPT
-A INPUT -s 172.16.0.0/255.240.255.0 -p icmp -j ACCEPT
-A OUTPUT ! -d 10.0.0.0/8 -j DROP
-A OUTPUT -p udp -j DROP
COMMIT
";

#[test]
fn direct_prescreen_sends_exactly_the_unmatchable_packets_to_the_policy() {
    let (_, l) = load(RULES);
    let h = l.hook(IN).expect("INPUT");
    // Entries 0 and 1 share their leading conditions: five tests for six entries.
    assert_eq!(
        h.compiled.stats.prescreen,
        Some(Prescreen::Direct { tests: 5 }),
        "INPUT is prescreened on the header read in place"
    );
    let u = |src: [u8; 4], dst: [u8; 4], dport: u16| {
        Ip::new(src, dst, UDP).packet(&udp(5555, dport, b"hi"))
    };
    let me = [10, 0, 0, 1];
    // Past the prescreen, decided by the rules.
    expect(&l, IN, &u([10, 0, 0, 2], me, 5000), ACCEPT, &[0], "entry 0");
    expect(&l, IN, &u([10, 0, 0, 2], me, 5001), ACCEPT, &[1], "entry 1");
    expect(
        &l,
        IN,
        &u([10, 0, 0, 2], me, 5002),
        DROP,
        &[6],
        "source and protocol pass the prescreen, the port fails: policy",
    );
    expect(
        &l,
        IN,
        &u([1, 2, 3, 4], [10, 9, 200, 1], 9),
        ACCEPT,
        &[2],
        "destination only",
    );
    let t = |src: [u8; 4], dst: [u8; 4]| Ip::new(src, dst, TCP).packet(&tcp(1, 22, SYN, &[], b""));
    expect(
        &l,
        IN,
        &t([192, 168, 7, 7], me),
        ACCEPT,
        &[3],
        "three fields",
    );
    expect(
        &l,
        IN,
        &t([192, 168, 7, 7], [10, 0, 0, 9]),
        DROP,
        &[6],
        "three fields, the destination differs",
    );
    expect(
        &l,
        IN,
        &Ip::new([192, 168, 7, 7], me, UDP).packet(&udp(1, 22, b"")),
        DROP,
        &[6],
        "three fields, the protocol differs",
    );
    let ttl = |ttl: u8| {
        Ip::new([1, 1, 1, 1], me, UDP)
            .ttl(ttl)
            .packet(&udp(1, 2, b""))
    };
    expect(&l, IN, &ttl(7), ACCEPT, &[4], "TTL");
    expect(&l, IN, &ttl(8), DROP, &[6], "TTL differs");
    // A non-contiguous source mask with the protocol.
    let ping = |src: [u8; 4]| Ip::new(src, me, ICMP).packet(&icmp(8, 0));
    expect(
        &l,
        IN,
        &ping([172, 20, 0, 99]),
        ACCEPT,
        &[5],
        "masked source",
    );
    expect(
        &l,
        IN,
        &ping([172, 20, 1, 99]),
        DROP,
        &[6],
        "a masked-in bit differs",
    );
    expect(
        &l,
        IN,
        &Ip::new([172, 20, 0, 99], me, UDP).packet(&udp(1, 2, b"")),
        DROP,
        &[6],
        "masked source, other protocol",
    );
    // Decided by the prescreen: the policy, counted with the packet's length.
    expect(
        &l,
        IN,
        &u([10, 0, 0, 3], me, 5000),
        DROP,
        &[6],
        "source differs",
    );
    let big = Ip::new([10, 0, 0, 3], me, UDP).packet(&udp(5555, 5000, &[0; 700]));
    expect(
        &l,
        IN,
        &big,
        DROP,
        &[6],
        "a longer packet counts its length",
    );
    expect(
        &l,
        IN,
        &Ip::new([10, 0, 0, 2], me, TCP).packet(&tcp(1, 5000, ACK, &[], b"")),
        DROP,
        &[6],
        "protocol differs",
    );
}

#[test]
fn inverted_condition_takes_the_fields_prescreen() {
    let (_, l) = load(RULES);
    let h = l.hook(OUT).expect("OUTPUT");
    assert_eq!(
        h.compiled.stats.prescreen,
        Some(Prescreen::Fields { tests: 2 }),
        "an inverted destination is screened after the prologue"
    );
    let me = [10, 0, 0, 1];
    let u = |dst: [u8; 4]| Ip::new(me, dst, UDP).packet(&udp(1, 53, b"q"));
    let t = |dst: [u8; 4]| Ip::new(me, dst, TCP).packet(&tcp(1, 53, SYN, &[], b""));
    expect(&l, OUT, &t([8, 8, 8, 8]), DROP, &[8], "outside 10/8");
    expect(&l, OUT, &u([10, 1, 1, 1]), DROP, &[9], "inside 10/8, UDP");
    expect(
        &l,
        OUT,
        &t([10, 1, 1, 1]),
        ACCEPT,
        &[10],
        "inside 10/8, TCP",
    );
}

#[test]
fn no_prescreen_when_an_entry_may_match_without_a_header_condition() {
    let (_, l) = load(
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -s 10.0.0.2/32 -j ACCEPT\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
    );
    let h = l.hook(IN).expect("INPUT");
    assert_eq!(h.compiled.stats.prescreen, None);
    let p = Ip::new([10, 0, 0, 3], [10, 0, 0, 1], UDP).packet(&udp(1, 2, b""));
    expect(
        &l,
        IN,
        &p,
        DROP,
        &[2],
        "no entry matches (test runs have no device)",
    );
}

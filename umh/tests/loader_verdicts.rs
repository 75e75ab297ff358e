//! Generated programs on the real kernel (root): each supported match and target, rulesets
//! written as iptables-save text and loaded by the machine's own iptables-legacy-restore,
//! packets run with BPF_PROG_TEST_RUN. Every expectation (verdict, and exactly which
//! entries are counted with the packet's length) is worked out by hand from the kernel's
//! `ipt_do_table` and the extensions' match functions; entry numbers follow iptables'
//! layout (INPUT rules, INPUT policy, FORWARD policy, OUTPUT rules, OUTPUT policy, user
//! chains by name each behind its ERROR head and ending in a RETURN, the end marker).

mod loader_support;

use bpfilter_core::uapi::{NF_INET_LOCAL_IN as IN, NF_INET_LOCAL_OUT as OUT};
use loader_support::*;

const HEAD: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

fn rules(body: &str) -> String {
    format!("{HEAD}{body}COMMIT\n")
}

#[test]
fn ipt_ip_addresses_protocol_fragments_interfaces_and_inversions() {
    let (_, l) = load(&rules(
        "-A INPUT -s 10.0.0.0/8 -d 192.168.1.1 -j DROP
-A INPUT ! -s 172.16.0.0/12 -p udp -j DROP
-A INPUT -p 47 -j DROP
-A INPUT ! -p tcp -s 172.16.0.1 -j DROP
-A INPUT -f -j DROP
-A INPUT -i eth0 -j DROP
-A INPUT ! -i eth+ -s 172.16.9.9 -j DROP
-A INPUT ! -f -s 172.16.7.7 -j DROP
",
    ));
    let t = tcp(1000, 80, ACK, &[], b"x");
    let u = udp(1000, 80, b"x");
    let e = |s, d, p: u8, l4: &[u8]| Ip::new(s, d, p).packet(l4);
    expect(
        &l,
        IN,
        &e([10, 1, 2, 3], [192, 168, 1, 1], TCP, &t),
        DROP,
        &[0],
        "src/dst masks",
    );
    expect(
        &l,
        IN,
        &e([10, 1, 2, 3], [192, 168, 1, 2], TCP, &t),
        ACCEPT,
        &[8],
        "dst differs",
    );
    expect(
        &l,
        IN,
        &e([8, 8, 8, 8], [1, 1, 1, 1], UDP, &u),
        DROP,
        &[1],
        "! -s",
    );
    expect(
        &l,
        IN,
        &e([172, 16, 5, 5], [1, 1, 1, 1], UDP, &u),
        ACCEPT,
        &[8],
        "! -s inside",
    );
    expect(
        &l,
        IN,
        &e([172, 16, 0, 1], [1, 1, 1, 1], UDP, &u),
        DROP,
        &[3],
        "! -p tcp",
    );
    expect(
        &l,
        IN,
        &e([172, 16, 0, 2], [1, 1, 1, 1], 47, b"gre!"),
        DROP,
        &[2],
        "-p 47",
    );
    let frag = Ip::new([172, 16, 1, 1], [1, 1, 1, 1], TCP)
        .fragment(100)
        .packet(b"12345678");
    expect(&l, IN, &frag, DROP, &[4], "-f on a non-first fragment");
    // A test run has no devices: `-i eth0` cannot match, `! -i eth+` does.
    expect(
        &l,
        IN,
        &e([172, 16, 9, 9], [1, 1, 1, 1], TCP, &t),
        DROP,
        &[6],
        "! -i eth+",
    );
    expect(
        &l,
        IN,
        &e([172, 16, 7, 7], [1, 1, 1, 1], TCP, &t),
        DROP,
        &[7],
        "! -f",
    );
    let frag7 = Ip::new([172, 16, 7, 7], [1, 1, 1, 1], TCP)
        .fragment(3)
        .packet(b"12345678");
    expect(&l, IN, &frag7, DROP, &[4], "-f wins before ! -f");
    // OUTPUT has no rules: its policy (entry 10) decides.
    expect(
        &l,
        OUT,
        &e([10, 1, 2, 3], [192, 168, 1, 1], TCP, &t),
        ACCEPT,
        &[10],
        "OUTPUT policy",
    );
}

#[test]
fn tcp_ports_flags_options_and_hotdrops() {
    let (_, l) = load(&rules(
        "-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --sport 1000:2000 --dport 80 -j DROP
-A INPUT -p tcp ! --dport 1:1023 --syn -j DROP
-A INPUT -p tcp --tcp-flags ALL NONE -j DROP
-A INPUT -p tcp --tcp-option 8 -j DROP
-A INPUT -p tcp ! --tcp-option 2 --dport 443 -j DROP
-A INPUT -p tcp -j ACCEPT
",
    ));
    let ip = Ip::new([1, 2, 3, 4], [5, 6, 7, 8], TCP);
    let p = |t: Vec<u8>| ip.packet(&t);
    expect(
        &l,
        IN,
        &p(tcp(1234, 22, ACK, &[], b"")),
        ACCEPT,
        &[0],
        "dport 22",
    );
    expect(
        &l,
        IN,
        &p(tcp(1500, 80, ACK, &[], b"")),
        DROP,
        &[1],
        "sport range",
    );
    // Option 2 absent: `! --tcp-option 2` holds, but dport is not 443.
    expect(
        &l,
        IN,
        &p(tcp(999, 80, ACK, &[], b"")),
        ACCEPT,
        &[6],
        "sport below range",
    );
    expect(
        &l,
        IN,
        &p(tcp(999, 5000, SYN, &[], b"")),
        DROP,
        &[2],
        "--syn, ! --dport",
    );
    expect(
        &l,
        IN,
        &p(tcp(999, 5000, SYN | ACK, &[], b"")),
        ACCEPT,
        &[6],
        "SYN+ACK is no --syn",
    );
    expect(
        &l,
        IN,
        &p(tcp(999, 5000, 0, &[], b"")),
        DROP,
        &[3],
        "ALL NONE",
    );
    // MSS then timestamps: the walk reaches kind 8 at offset 4.
    let mss_ts = [2, 4, 5, 0xb4, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];
    expect(
        &l,
        IN,
        &p(tcp(999, 443, ACK, &mss_ts, b"")),
        DROP,
        &[4],
        "option 8 present",
    );
    expect(
        &l,
        IN,
        &p(tcp(999, 443, ACK, &[2, 4, 5, 0xb4], b"")),
        ACCEPT,
        &[6],
        "option 2 present",
    );
    // NOP NOP SACK-permitted: the byte 2 is a length, not a kind the walk visits.
    expect(
        &l,
        IN,
        &p(tcp(999, 443, ACK, &[1, 1, 4, 2], b"")),
        DROP,
        &[5],
        "! option 2",
    );
    // Hotdrops: dropped, nothing counted.
    let short = tcp(999, 22, ACK, &[], b"");
    expect(
        &l,
        IN,
        &ip.packet(&short[..12]),
        DROP,
        &[],
        "TCP header cut short",
    );
    let f1 = Ip::new([1, 2, 3, 4], [5, 6, 7, 8], TCP)
        .fragment(1)
        .packet(b"12345678");
    expect(&l, IN, &f1, DROP, &[], "TCP fragment at offset 1");
    // A later fragment never matches a tcp match, but `-p tcp` alone does.
    let f2 = Ip::new([1, 2, 3, 4], [5, 6, 7, 8], TCP)
        .fragment(2)
        .packet(b"12345678");
    expect(&l, IN, &f2, ACCEPT, &[6], "TCP fragment at offset 2");
    // doff 4: rule 4 (the first reached with --tcp-option) finds doff * 4 < 20.
    expect(
        &l,
        IN,
        &p(tcp_doff(999, 443, ACK, 4, &[], b"")),
        DROP,
        &[],
        "doff < 5",
    );
    // doff 8 announces 12 option bytes, the packet has 4.
    expect(
        &l,
        IN,
        &p(tcp_doff(999, 443, ACK, 8, &[1, 1, 1, 1], b"")),
        DROP,
        &[],
        "options cut short",
    );
}

#[test]
fn udp_icmp_multiport() {
    let (_, l) = load(&rules(
        "-A INPUT -p udp --dport 53 -j ACCEPT
-A INPUT -p udp ! --sport 0:1023 --dport 5000:6000 -j DROP
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -p icmp --icmp-type 3/4 -j DROP
-A INPUT -p icmp ! --icmp-type echo-reply -j DROP
-A INPUT -p udp -m multiport --dports 7,9,100:200 -j DROP
-A INPUT -p tcp -m multiport ! --ports 20:21,8080 -j ACCEPT
-A INPUT -p tcp -m multiport --sports 5555 -j DROP
",
    ));
    let u = |s, d| Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&udp(s, d, b"data"));
    let i = |t, c| Ip::new([1, 1, 1, 1], [2, 2, 2, 2], ICMP).packet(&icmp(t, c));
    let t = |s, d| Ip::new([1, 1, 1, 1], [2, 2, 2, 2], TCP).packet(&tcp(s, d, ACK, &[], b""));
    expect(&l, IN, &u(40000, 53), ACCEPT, &[0], "udp dport");
    expect(
        &l,
        IN,
        &u(40000, 5500),
        DROP,
        &[1],
        "! --sport, dport range",
    );
    expect(
        &l,
        IN,
        &u(80, 5500),
        ACCEPT,
        &[8],
        "sport in the inverted range",
    );
    expect(&l, IN, &i(8, 0), ACCEPT, &[2], "echo-request");
    expect(&l, IN, &i(3, 4), DROP, &[3], "type 3 code 4");
    expect(&l, IN, &i(3, 3), DROP, &[4], "! echo-reply");
    expect(&l, IN, &i(0, 0), ACCEPT, &[8], "echo-reply");
    expect(&l, IN, &u(1, 150), DROP, &[5], "multiport range");
    expect(&l, IN, &u(1, 9), DROP, &[5], "multiport port");
    expect(&l, IN, &u(1, 8), ACCEPT, &[8], "multiport miss");
    expect(&l, IN, &t(1, 8080), ACCEPT, &[8], "! --ports hit");
    expect(&l, IN, &t(5555, 80), ACCEPT, &[6], "! --ports miss");
    expect(&l, IN, &t(5555, 21), DROP, &[7], "--sports");
    let icmp4 = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], ICMP).packet(&[8, 0, 0, 0]);
    expect(&l, IN, &icmp4, DROP, &[], "ICMP header cut short: hotdrop");
    let udp4 = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&[0, 1, 0, 53]);
    expect(&l, IN, &udp4, DROP, &[], "UDP header cut short: hotdrop");
    let uf = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP)
        .fragment(5)
        .packet(b"12345678");
    expect(
        &l,
        IN,
        &uf,
        ACCEPT,
        &[8],
        "UDP fragment: no udp/multiport match",
    );
}

#[test]
fn iprange_comment_length_ttl_mark_state_conntrack_pkttype() {
    let (_, l) = load(&rules(
        "-A INPUT -m iprange --src-range 10.0.0.5-10.0.0.10 -j DROP
-A INPUT -p udp -m iprange ! --dst-range 192.168.0.0-192.168.255.255 -j DROP
-A INPUT -p 47 -m comment --comment \"gre here\" -j DROP
-A INPUT -p udp -m length --length 100:200 -j DROP
-A INPUT -p udp -m length ! --length 0:50 -j ACCEPT
-A INPUT -p tcp -m ttl --ttl-eq 1 -j DROP
-A INPUT -p tcp -m ttl --ttl-lt 5 -j ACCEPT
-A INPUT -p tcp -m ttl --ttl-gt 250 -j DROP
-A INPUT -p tcp --dport 6 -m mark --mark 0x1/0x1 -j DROP
-A INPUT -p tcp --dport 7 -m mark ! --mark 0x5 -j DROP
-A INPUT -p tcp --dport 8 -m state --state NEW -j DROP
-A INPUT -p tcp --dport 9 -m state --state INVALID -j DROP
-A INPUT -p tcp --dport 10 -m conntrack --ctstate INVALID -j DROP
-A INPUT -p tcp --dport 11 -m conntrack ! --ctstate NEW,ESTABLISHED -j DROP
-A INPUT -p tcp --dport 12 -m conntrack --ctstate UNTRACKED -j DROP
-A INPUT -p tcp --dport 13 -m conntrack --ctdir ORIGINAL -j DROP
-A INPUT -p tcp --dport 14 -m pkttype --pkt-type otherhost -j DROP
-A INPUT -p tcp --dport 15 -m pkttype --pkt-type unicast -j DROP
-A OUTPUT -p tcp --dport 15 -m pkttype --pkt-type unicast -j DROP
",
    ));
    let ud =
        |dst, payload: usize| Ip::new([1, 1, 1, 1], dst, UDP).packet(&udp(1, 1, &vec![0; payload]));
    let tt = |ttl, dport| {
        Ip::new([1, 1, 1, 1], [2, 2, 2, 2], TCP)
            .ttl(ttl)
            .packet(&tcp(1, dport, ACK, &[], b""))
    };
    let src7 = Ip::new([10, 0, 0, 7], [2, 2, 2, 2], TCP).packet(&tcp(1, 1, ACK, &[], b""));
    expect(&l, IN, &src7, DROP, &[0], "iprange src");
    // 20 + 8 + 10 = 38 bytes: not in 100:200, and in the inverted 0:50.
    let in_range = Ip::new([10, 0, 0, 11], [192, 168, 5, 5], UDP).packet(&udp(1, 1, &[0; 10]));
    expect(&l, IN, &in_range, ACCEPT, &[18], "iprange ! dst inside");
    expect(
        &l,
        IN,
        &ud([8, 8, 8, 8], 10),
        DROP,
        &[1],
        "iprange ! dst outside",
    );
    let gre = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], 47).packet(b"gre!");
    expect(&l, IN, &gre, DROP, &[2], "comment matches everything");
    expect(
        &l,
        IN,
        &ud([192, 168, 0, 1], 100),
        DROP,
        &[3],
        "length 128 in 100:200",
    );
    expect(
        &l,
        IN,
        &ud([192, 168, 0, 1], 40),
        ACCEPT,
        &[4],
        "length 68 outside ! 0:50",
    );
    expect(&l, IN, &tt(1, 1), DROP, &[5], "ttl-eq 1");
    expect(&l, IN, &tt(3, 1), ACCEPT, &[6], "ttl-lt 5");
    expect(&l, IN, &tt(255, 1), DROP, &[7], "ttl-gt 250");
    // A test run's skb has mark 0 and no conntrack entry (INVALID, not UNTRACKED).
    expect(&l, IN, &tt(64, 6), ACCEPT, &[18], "mark 0 & 1 != 1");
    expect(&l, IN, &tt(64, 7), DROP, &[9], "! --mark 5");
    expect(&l, IN, &tt(64, 8), ACCEPT, &[18], "state NEW");
    expect(&l, IN, &tt(64, 9), DROP, &[11], "state INVALID");
    expect(&l, IN, &tt(64, 10), DROP, &[12], "ctstate INVALID");
    expect(
        &l,
        IN,
        &tt(64, 11),
        DROP,
        &[13],
        "! ctstate NEW,ESTABLISHED",
    );
    expect(&l, IN, &tt(64, 12), ACCEPT, &[18], "ctstate UNTRACKED");
    expect(&l, IN, &tt(64, 13), ACCEPT, &[18], "ctdir without an entry");
    // At LOCAL_IN the test run's eth_type_trans sees a destination MAC that is not the
    // loopback device's: PACKET_OTHERHOST. At LOCAL_OUT no Ethernet header is parsed:
    // PACKET_HOST (unicast).
    expect(&l, IN, &tt(64, 14), DROP, &[16], "pkttype otherhost");
    expect(
        &l,
        IN,
        &tt(64, 15),
        ACCEPT,
        &[18],
        "pkttype unicast at INPUT",
    );
    expect(
        &l,
        OUT,
        &tt(64, 15),
        DROP,
        &[20],
        "pkttype unicast at OUTPUT",
    );
}

#[test]
fn limit_token_bucket() {
    let (_, l) = load(&rules(
        "-A INPUT -p udp -m limit --limit 1/hour --limit-burst 3 -j ACCEPT
-A INPUT -p udp -j DROP
",
    ));
    let p = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&udp(1, 2, b"x"));
    // The bucket holds 3 packets; one more credit takes an hour.
    for n in 0..3 {
        expect(
            &l,
            IN,
            &p,
            ACCEPT,
            &[0],
            &format!("packet {n} within the burst"),
        );
    }
    for n in 3..6 {
        expect(
            &l,
            IN,
            &p,
            DROP,
            &[1],
            &format!("packet {n} over the limit"),
        );
    }
}

#[test]
fn user_chains_jump_goto_return_log_and_policies() {
    let (t, l) = load(
        "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT DROP [0:0]
:c1 - [0:0]
:c2 - [0:0]
:c3 - [0:0]
-A INPUT -p udp --dport 1 -j c1
-A INPUT -p udp --dport 2 -g c2
-A INPUT -p udp -j LOG --log-prefix \"seen \"
-A INPUT -p udp --dport 3 -j DROP
-A OUTPUT -p udp --dport 4 -j ACCEPT
-A c1 -s 10.0.0.1 -j RETURN
-A c1 -s 10.0.0.2 -j DROP
-A c1 -j c3
-A c2 -s 10.0.0.3 -j RETURN
-A c2 -j DROP
-A c3 -s 10.0.0.4 -j ACCEPT
COMMIT
",
    );
    // 0..3 INPUT rules, 4 INPUT policy, 5 FORWARD policy, 6 OUTPUT rule, 7 OUTPUT policy,
    // 8 ERROR c1, 9..11 c1 rules, 12 c1 RETURN, 13 ERROR c2, 14..15, 16 RETURN,
    // 17 ERROR c3, 18, 19 RETURN, 20 end marker.
    assert_eq!(t.entries.len(), 21);
    let u =
        |src: u8, dport| Ip::new([10, 0, 0, src], [2, 2, 2, 2], UDP).packet(&udp(9, dport, b"x"));
    expect(
        &l,
        IN,
        &u(1, 1),
        ACCEPT,
        &[0, 9, 2, 4],
        "c1 RETURNs, LOG, policy",
    );
    expect(&l, IN, &u(2, 1), DROP, &[0, 10], "DROP inside c1");
    expect(
        &l,
        IN,
        &u(4, 1),
        ACCEPT,
        &[0, 11, 18],
        "c1 jumps to c3, ACCEPT",
    );
    expect(
        &l,
        IN,
        &u(5, 1),
        ACCEPT,
        &[0, 11, 19, 12, 2, 4],
        "c3 and c1 fall off: RETURN twice",
    );
    // A goto pushes nothing: c2's RETURN pops the empty stack, so the policy runs next
    // (LOG, entry 2, is skipped).
    expect(
        &l,
        IN,
        &u(3, 2),
        ACCEPT,
        &[1, 14, 4],
        "goto then RETURN: policy",
    );
    expect(&l, IN, &u(6, 2), DROP, &[1, 15], "goto then DROP");
    expect(&l, IN, &u(9, 3), DROP, &[2, 3], "LOG continues");
    expect(&l, OUT, &u(9, 4), ACCEPT, &[6], "OUTPUT rule");
    expect(&l, OUT, &u(9, 5), DROP, &[7], "OUTPUT policy DROP");
    let stats: Vec<_> = l.hooks.iter().map(|h| h.compiled.stats).collect();
    // At most: the entry screen, the rules, LOG.
    assert!(stats.iter().all(|s| s.frames <= 3), "{stats:?}");
}

#[test]
fn shared_chains_become_subprograms() {
    // `s` is jumped to from two places and too long to inline at each: a subprogram.
    let mut body = String::new();
    for d in 1..=3 {
        body.push_str(&format!("-A INPUT -p udp --dport {d} -j s\n"));
    }
    body.push_str("-A INPUT -p udp --dport 9 -j DROP\n");
    for n in 1..=6 {
        body.push_str(&format!("-A s -s 10.0.0.{n} -j RETURN\n"));
    }
    body.push_str("-A s -s 10.0.1.0/24 -j DROP\n");
    let text = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:s - [0:0]\n{body}COMMIT\n"
    );
    let (_, l) = load(&text);
    let input = l.hook(IN).expect("INPUT");
    assert_eq!(
        input.compiled.stats.subprograms, 1,
        "{:?}",
        input.compiled.stats
    );
    // The entry screen (INPUT's entries all start with `-p udp`), the rules, `s`.
    assert_eq!(
        input.compiled.stats.prescreen,
        Some(bpfilter_core::codegen::Prescreen::Direct { tests: 1 })
    );
    assert_eq!(input.compiled.stats.frames, 3);
    // 0..2 jumps, 3 DROP, 4 INPUT policy, 5 FORWARD, 6 OUTPUT, 7 ERROR s, 8..13 RETURNs,
    // 14 DROP, 15 s's RETURN tail, 16 end.
    let u = |src: [u8; 4], dport| Ip::new(src, [2, 2, 2, 2], UDP).packet(&udp(9, dport, b"x"));
    expect(
        &l,
        IN,
        &u([10, 0, 0, 3], 2),
        ACCEPT,
        &[1, 10, 4],
        "RETURN from the subprogram",
    );
    expect(
        &l,
        IN,
        &u([10, 0, 1, 7], 3),
        DROP,
        &[2, 14],
        "DROP from the subprogram",
    );
    expect(
        &l,
        IN,
        &u([10, 0, 2, 7], 1),
        ACCEPT,
        &[0, 15, 4],
        "tail RETURN",
    );
    expect(&l, IN, &u([10, 0, 2, 7], 9), DROP, &[3], "after the jumps");
}

/// A 2,500-rule chain jumped to once is inlined: its RETURNs and the rule's miss path jump
/// over thousands of slots through the far-jump proxies.
#[test]
fn long_inlined_chain() {
    let mut text = String::from(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:big - [0:0]\n\
         -A INPUT -p udp --dport 9 -j big\n-A INPUT -p udp --dport 9 -j DROP\n",
    );
    for i in 0..2500 {
        text.push_str(&format!(
            "-A big -s 12.{}.{}.0/24 -j RETURN\n",
            i / 250,
            i % 250
        ));
    }
    text.push_str("-A big -s 13.0.0.0/8 -j ACCEPT\nCOMMIT\n");
    let (t, l) = load(&text);
    // 0, 1 INPUT rules, 2 policy, 3 FORWARD, 4 OUTPUT, 5 ERROR big, 6..=2505 RETURNs,
    // 2506 ACCEPT, 2507 big's RETURN tail, 2508 end marker.
    assert_eq!(t.entries.len(), 2509);
    let input = l.hook(IN).expect("INPUT");
    assert_eq!(input.compiled.stats.inlined_calls, 1);
    // Far beyond a 16-bit jump over the chain.
    assert!(
        input.compiled.insns.len() > 40_000,
        "{}",
        input.compiled.insns.len()
    );
    let u = |src: [u8; 4], dport| Ip::new(src, [2, 2, 2, 2], UDP).packet(&udp(1, dport, b"x"));
    expect(
        &l,
        IN,
        &u([12, 0, 0, 1], 9),
        DROP,
        &[0, 6, 1],
        "RETURN from the chain's start",
    );
    expect(
        &l,
        IN,
        &u([12, 9, 249, 1], 9),
        DROP,
        &[0, 2505, 1],
        "RETURN from its end",
    );
    expect(
        &l,
        IN,
        &u([13, 1, 1, 1], 9),
        ACCEPT,
        &[0, 2506],
        "ACCEPT inside",
    );
    expect(
        &l,
        IN,
        &u([14, 1, 1, 1], 9),
        DROP,
        &[0, 2507, 1],
        "the chain's RETURN tail",
    );
    expect(
        &l,
        IN,
        &u([12, 0, 0, 1], 8),
        ACCEPT,
        &[2],
        "miss path over the chain",
    );
}

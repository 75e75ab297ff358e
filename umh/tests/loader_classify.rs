//! Classified runs on the real kernel (root): a run of port rules (hash map) and a run of
//! overlapping prefix rules (LPM trie) loaded through the machine's own
//! iptables-legacy-restore, packets run with BPF_PROG_TEST_RUN. Every expectation (verdict,
//! and exactly which entry is counted with the packet's length) is worked out by hand from the
//! kernel's first-match walk: duplicates and shadowed prefixes never decide, only the deciding
//! entry counts, a truncated UDP header drops (hotdrop) only when the walk reaches the UDP
//! match, and misses go on after the run.
//!
//! Entry numbers: INPUT rules 0..=20, INPUT policy 21, FORWARD policy 22, OUTPUT rules
//! 23..=40, OUTPUT policy 41.

mod loader_support;

use bpfilter_core::uapi::{NF_INET_LOCAL_IN as IN, NF_INET_LOCAL_OUT as OUT};
use loader_support::*;

/// INPUT: 20 rules `-s 10.0.0.2 -p udp --dport P` (P = 1000 + i, except entry 5 repeats 1003),
/// even entries ACCEPT, odd DROP; then `-s 10.0.0.3 -j ACCEPT`. OUTPUT: 18 overlapping
/// destination prefixes with `-p udp -m udp` (a hotdrop point behind the key).
fn ruleset() -> String {
    let mut s =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..20u16 {
        let port = if i == 5 { 1003 } else { 1000 + i };
        let v = if i % 2 == 0 { "ACCEPT" } else { "DROP" };
        s += &format!("-A INPUT -s 10.0.0.2/32 -p udp -m udp --dport {port} -j {v}\n");
    }
    s += "-A INPUT -s 10.0.0.3/32 -j ACCEPT\n";
    let mut prefixes: Vec<(&str, &str)> = vec![
        ("192.168.1.1/32", "ACCEPT"),
        ("192.168.1.0/24", "DROP"),
        ("192.168.0.0/16", "ACCEPT"),
        // Inside 192.168.1.0/24: never decides.
        ("192.168.1.128/25", "ACCEPT"),
        ("172.16.0.0/12", "DROP"),
        // Inside 172.16.0.0/12: never decides.
        ("172.16.5.0/24", "ACCEPT"),
    ];
    let nets: Vec<String> = (0..10).map(|i| format!("10.0.{i}.0/24")).collect();
    for (i, n) in nets.iter().enumerate() {
        prefixes.push((n, if i % 2 == 0 { "ACCEPT" } else { "DROP" }));
    }
    prefixes.push(("10.0.0.0/8", "DROP"));
    // Inside 10.0.3.0/24 (entry 32): never decides.
    prefixes.push(("10.0.3.7/32", "ACCEPT"));
    for (p, v) in prefixes {
        s += &format!("-A OUTPUT -d {p} -p udp -m udp -j {v}\n");
    }
    s + "COMMIT\n"
}

#[test]
fn port_run_is_one_hash_lookup_with_first_match_counters() {
    let (_, l) = load(&ruleset());
    let h = l.hook(IN).expect("INPUT");
    assert_eq!(
        (
            h.compiled.stats.classified_runs,
            h.compiled.stats.classified_entries
        ),
        (1, 20),
        "the 20 port rules are one classified run"
    );
    let u = |src: [u8; 4], dport: u16| {
        Ip::new(src, [10, 0, 0, 1], UDP).packet(&udp(5555, dport, b"hi"))
    };
    let a = [10, 0, 0, 2];
    expect(&l, IN, &u(a, 1000), ACCEPT, &[0], "first entry of the run");
    expect(&l, IN, &u(a, 1019), DROP, &[19], "last entry of the run");
    expect(&l, IN, &u(a, 1004), ACCEPT, &[4], "inside the run");
    expect(
        &l,
        IN,
        &u(a, 1003),
        DROP,
        &[3],
        "duplicate key: the earlier entry decides",
    );
    expect(
        &l,
        IN,
        &u(a, 1005),
        ACCEPT,
        &[21],
        "the port no entry has (5 repeats 1003)",
    );
    expect(&l, IN, &u(a, 999), ACCEPT, &[21], "below the run's keys");
    expect(&l, IN, &u(a, 1020), ACCEPT, &[21], "above the run's keys");
    // Counters add up per packet, on the deciding entry only.
    expect(&l, IN, &u(a, 1000), ACCEPT, &[0], "first entry again");
    let b = [10, 0, 0, 3];
    expect(
        &l,
        IN,
        &u(b, 1000),
        ACCEPT,
        &[20],
        "common part (source) differs",
    );
    let t = Ip::new(a, [10, 0, 0, 1], TCP).packet(&tcp(5555, 1000, ACK, &[], b""));
    expect(&l, IN, &t, ACCEPT, &[21], "common part (protocol) differs");
    // A UDP header cut short: the kernel's udp match hotdrops at the run's first entry when
    // the source matches, and never gets there when it does not.
    let short = |src| Ip::new(src, [10, 0, 0, 1], UDP).packet(&[0x15, 0xb3, 0x03]);
    expect(&l, IN, &short(a), DROP, &[], "hotdrop in the run");
    expect(
        &l,
        IN,
        &short(b),
        ACCEPT,
        &[20],
        "no hotdrop: the source differs first",
    );
    // A non-first fragment: udp does not match (no hotdrop), the walk goes on.
    let frag = Ip::new(a, [10, 0, 0, 1], UDP).fragment(10).packet(&[0; 8]);
    expect(&l, IN, &frag, ACCEPT, &[21], "non-first fragment");
}

#[test]
fn prefix_run_is_one_lpm_lookup_that_keeps_first_match() {
    let (_, l) = load(&ruleset());
    let h = l.hook(OUT).expect("OUTPUT");
    assert_eq!(
        (
            h.compiled.stats.classified_runs,
            h.compiled.stats.classified_entries
        ),
        (1, 18),
        "the 18 prefix rules are one classified run"
    );
    let c = h
        .compiled
        .classifiers
        .iter()
        .find(|c| c.first == 23)
        .expect("the OUTPUT run");
    assert!(c.key.is_prefix());
    let u = |dst: [u8; 4]| Ip::new([10, 9, 9, 9], dst, UDP).packet(&udp(5555, 53, b"q"));
    expect(
        &l,
        OUT,
        &u([192, 168, 1, 1]),
        ACCEPT,
        &[23],
        "the /32 first",
    );
    expect(
        &l,
        OUT,
        &u([192, 168, 1, 200]),
        DROP,
        &[24],
        "/24 before the /25 it shadows",
    );
    expect(&l, OUT, &u([192, 168, 2, 1]), ACCEPT, &[25], "the /16");
    expect(
        &l,
        OUT,
        &u([172, 16, 5, 5]),
        DROP,
        &[27],
        "/12 before the /24 it shadows",
    );
    expect(
        &l,
        OUT,
        &u([172, 31, 255, 255]),
        DROP,
        &[27],
        "the /12's last address",
    );
    expect(
        &l,
        OUT,
        &u([10, 0, 3, 7]),
        DROP,
        &[32],
        "/24 before the /32 it shadows",
    );
    expect(&l, OUT, &u([10, 0, 2, 9]), ACCEPT, &[31], "a /24");
    expect(
        &l,
        OUT,
        &u([10, 0, 77, 1]),
        DROP,
        &[39],
        "only the /8 holds",
    );
    expect(&l, OUT, &u([11, 0, 0, 1]), ACCEPT, &[41], "no prefix holds");
    expect(
        &l,
        OUT,
        &u([172, 32, 0, 0]),
        ACCEPT,
        &[41],
        "just past the /12",
    );
    let t = Ip::new([10, 9, 9, 9], [192, 168, 1, 1], TCP).packet(&tcp(1, 2, ACK, &[], b""));
    expect(&l, OUT, &t, ACCEPT, &[41], "common part (protocol) differs");
    // The UDP match comes after the key: a short header drops only when some prefix holds.
    let short = |dst| Ip::new([10, 9, 9, 9], dst, UDP).packet(&[0, 53, 0]);
    expect(
        &l,
        OUT,
        &short([192, 168, 1, 1]),
        DROP,
        &[],
        "hotdrop after a hit",
    );
    expect(
        &l,
        OUT,
        &short([10, 0, 77, 1]),
        DROP,
        &[],
        "hotdrop at the run's /8",
    );
    expect(
        &l,
        OUT,
        &short([11, 0, 0, 1]),
        ACCEPT,
        &[41],
        "no hotdrop after a miss",
    );
}

/// INPUT: 16 rules `-s 10.1.0.0/16 -p P` (tcp and udp twice: the later ones never decide),
/// entries 0..=15, policy 16. FORWARD: 16 rules `-o NAME` with exact names and `name+`
/// wildcards (entries 17..=32, policy 33; OUTPUT policy 34). A test run's output device is
/// the loopback device `lo` at FORWARD (see bpfilter-verify's verdicts_bpf module docs).
fn protocol_and_interface_ruleset() -> String {
    let mut s =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    let protos = [
        (1, "ACCEPT"),
        (2, "DROP"),
        (6, "DROP"),
        (17, "ACCEPT"),
        (41, "DROP"),
        (47, "ACCEPT"),
        (50, "DROP"),
        (132, "ACCEPT"),
        (136, "DROP"),
        (6, "ACCEPT"),
        (17, "DROP"),
        (33, "ACCEPT"),
        (46, "DROP"),
        (89, "ACCEPT"),
        (103, "DROP"),
        (112, "ACCEPT"),
    ];
    for (p, v) in protos {
        s += &format!("-A INPUT -s 10.1.0.0/16 -p {p} -j {v}\n");
    }
    let names = [
        ("eth0", "ACCEPT"),
        // The first that holds for "lo": a wildcard, before a shorter wildcard and the exact
        // name (longer) that also hold.
        ("lo+", "DROP"),
        ("l+", "ACCEPT"),
        ("lo", "ACCEPT"),
        ("eth+", "DROP"),
        ("x", "ACCEPT"),
        ("docker0", "DROP"),
        ("veth+", "ACCEPT"),
        ("br-+", "DROP"),
        ("wg0", "ACCEPT"),
        ("tun+", "DROP"),
        ("lo0", "ACCEPT"),
        ("bond0", "DROP"),
        ("eth1", "ACCEPT"),
        ("em1", "DROP"),
        ("ens3", "ACCEPT"),
    ];
    for (n, v) in names {
        s += &format!("-A FORWARD -o {n} -j {v}\n");
    }
    s + "COMMIT\n"
}

#[test]
fn protocol_and_interface_runs_are_lookups_with_first_match_counters() {
    use bpfilter_core::codegen::classify::KeyField;
    use bpfilter_core::uapi::NF_INET_FORWARD as FWD;
    let (_, l) = load(&protocol_and_interface_ruleset());
    let keys = |hook| {
        let h = l.hook(hook).expect("hook");
        (
            h.compiled.stats.classified_entries,
            h.compiled.classified().map(|c| c.key).collect::<Vec<_>>(),
        )
    };
    assert_eq!(keys(IN), (16, vec![KeyField::Proto]));
    assert_eq!(keys(FWD), (16, vec![KeyField::Outdev]));
    let p = |src: [u8; 4], proto: u8| Ip::new(src, [10, 0, 0, 1], proto).packet(&[0; 8]);
    let a = [10, 1, 2, 3];
    expect(&l, IN, &p(a, 1), ACCEPT, &[0], "first protocol");
    expect(&l, IN, &p(a, 6), DROP, &[2], "tcp: the earlier entry");
    expect(&l, IN, &p(a, 17), ACCEPT, &[3], "udp: the earlier entry");
    expect(&l, IN, &p(a, 136), DROP, &[8], "inside the run");
    expect(&l, IN, &p(a, 112), ACCEPT, &[15], "last protocol");
    expect(&l, IN, &p(a, 99), ACCEPT, &[16], "no entry has it");
    expect(
        &l,
        IN,
        &p([10, 2, 0, 1], 6),
        ACCEPT,
        &[16],
        "common part differs",
    );
    expect(
        &l,
        FWD,
        &p([192, 168, 0, 1], 17),
        DROP,
        &[18],
        "output lo: lo+ comes first",
    );
}

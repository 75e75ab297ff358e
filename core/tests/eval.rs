//! core::eval on hand-written tables: one test per rule of the kernel's walk and per match.
//! Each expectation comes from the kernel source quoted in the test (ip_tables.c, xt_*.c).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    reason = "tests"
)]

use bpfilter_core::eval::{
    Cause, Ct, EvalError, EvalState, Evaluator, Input, Outcome, Skb, Verdict,
};
use bpfilter_core::ext::matches::{
    Comment, Icmp, Iprange, Length, Limit, Mac, Mark, MatchValue, Multiport, Pkttype, State, Tcp,
    Ttl, Udp,
};
use bpfilter_core::ext::targets::log::Log;
use bpfilter_core::ext::targets::mark::Mark as MarkTarget;
use bpfilter_core::ext::targets::reject::Reject;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ext::{lookup, Kind};
use bpfilter_core::ir::{
    Chain, ChainTarget, ErrorName, ExtTarget, Iface, IpMatch, Match, Rule, Ruleset, Table, Target,
};
use bpfilter_core::uapi::table_by_name;
use std::net::Ipv4Addr;

const IN: usize = 1;
const FWD: usize = 2;
const OUT: usize = 3;

// ---------------------------------------------------------------- packets

/// An IPv4 packet: 20-byte header (+ `opts`), `frag_off` raw, then `l4`.
fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], frag_off: u16, opts: &[u8], l4: &[u8]) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let ihl = (20 + opts.len()) / 4;
    let len = 20 + opts.len() + l4.len();
    let mut p = vec![0u8; 20];
    p[0] = 0x40 | ihl as u8;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[6..8].copy_from_slice(&frag_off.to_be_bytes());
    p[8] = 64;
    p[9] = proto;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p.extend_from_slice(opts);
    p.extend_from_slice(l4);
    p
}

/// A TCP header with `flags` and options `opts` (padded to 4 bytes by the caller).
fn tcp_hdr(sport: u16, dport: u16, flags: u8, opts: &[u8]) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = (((20 + opts.len()) / 4) as u8) << 4;
    t[13] = flags;
    t.extend_from_slice(opts);
    t
}

fn udp_hdr(sport: u16, dport: u16) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[0..2].copy_from_slice(&sport.to_be_bytes());
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u[4..6].copy_from_slice(&8u16.to_be_bytes());
    u
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 1, 2];

fn tcp_pkt(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    ipv4(6, A, B, 0, &[], &tcp_hdr(sport, dport, flags, &[]))
}

fn udp_pkt(sport: u16, dport: u16) -> Vec<u8> {
    ipv4(17, A, B, 0, &[], &udp_hdr(sport, dport))
}

fn icmp_pkt(t: u8, c: u8) -> Vec<u8> {
    ipv4(1, A, B, 0, &[], &[t, c, 0, 0, 0, 0, 0, 0])
}

// ---------------------------------------------------------------- tables

fn filter() -> Ruleset {
    Ruleset::new(table_by_name(b"filter").unwrap())
}

fn rule(target: ChainTarget) -> Rule<ChainTarget> {
    Rule::new(target)
}

fn with_match(mut r: Rule<ChainTarget>, name: &str, rev: u8, v: MatchValue) -> Rule<ChainTarget> {
    r.matches.push(Match::new(name, rev, v).unwrap());
    r
}

fn proto(mut r: Rule<ChainTarget>, p: u16) -> Rule<ChainTarget> {
    r.ip.proto = p;
    r
}

/// A filter table whose INPUT chain is `rules` with `policy`: entries 0..n are the rules, n
/// the INPUT policy, n+1 FORWARD's, n+2 OUTPUT's, n+3 the end marker.
fn input_table(rules: Vec<Rule<ChainTarget>>, policy: bpfilter_core::ir::Verdict) -> Table {
    let mut rs = filter();
    let c = rs.chain_mut("INPUT").unwrap();
    c.rules = rules;
    c.policy = Some(policy);
    rs.build().unwrap()
}

fn accept_policy(rules: Vec<Rule<ChainTarget>>) -> Table {
    input_table(rules, bpfilter_core::ir::Verdict::Accept)
}

/// The same rules in INPUT, FORWARD and OUTPUT (INPUT's entries stay 0..n).
fn everywhere(rules: Vec<Rule<ChainTarget>>) -> Table {
    let mut rs = filter();
    for c in ["INPUT", "FORWARD", "OUTPUT"] {
        rs.chain_mut(c).unwrap().rules = rules.clone();
    }
    rs.build().unwrap()
}

fn ext_target(name: &str, rev: u8, v: TargetValue) -> ChainTarget {
    ChainTarget::Ext(ExtTarget::new(name, rev, v).unwrap())
}

fn mark_target(mark: u32, mask: u32) -> ChainTarget {
    ext_target("MARK", 2, TargetValue::Mark(MarkTarget { mark, mask }))
}

fn log_target(prefix: &str) -> ChainTarget {
    let mut pre = [0u8; 30];
    pre[..prefix.len()].copy_from_slice(prefix.as_bytes());
    ext_target(
        "LOG",
        0,
        TargetValue::Log(Log {
            level: 4,
            logflags: 0,
            prefix: pre,
        }),
    )
}

// ---------------------------------------------------------------- running

fn run_full(
    t: &Table,
    hook: usize,
    data: &[u8],
    indev: &str,
    outdev: &str,
    skb: Skb,
) -> Result<Outcome, EvalError> {
    let ev = Evaluator::new(t);
    let mut st = ev.state(0);
    ev.run(
        &mut st,
        &Input {
            hook,
            data,
            indev: indev.as_bytes(),
            outdev: outdev.as_bytes(),
            skb,
        },
        0,
    )
}

fn run(t: &Table, data: &[u8]) -> Outcome {
    run_full(t, IN, data, "eth0", "", Skb::default()).unwrap()
}

/// (verdict, counted entries).
fn vc(o: &Outcome) -> (Verdict, Vec<usize>) {
    (o.verdict, o.counted.clone())
}

// ---------------------------------------------------------------- the walk

#[test]
fn first_match_wins_and_counts_before_target() {
    // Entries: 0 DROP (proto udp), 1 ACCEPT (proto tcp), 2 DROP (tcp), 3 policy.
    let t = accept_policy(vec![
        proto(rule(ChainTarget::Drop), 17),
        proto(rule(ChainTarget::Accept), 6),
        proto(rule(ChainTarget::Drop), 6),
    ]);
    let o = run(&t, &tcp_pkt(1, 2, 0x02));
    assert_eq!(vc(&o), (Verdict::Accept, vec![1]));
    assert_eq!((o.decided_by, o.cause), (1, Cause::Target));
    // No rule matches: the policy entry is counted and decides.
    let o = run(&t, &icmp_pkt(8, 0));
    assert_eq!(vc(&o), (Verdict::Accept, vec![3]));
    let t = input_table(vec![], bpfilter_core::ir::Verdict::Drop);
    assert_eq!(vc(&run(&t, &icmp_pkt(8, 0))), (Verdict::Drop, vec![0]));
    assert_eq!(o.packet_counts(7), vec![0, 0, 0, 1, 0, 0, 0]);
}

#[test]
fn hooks_start_at_their_own_chain() {
    let mut rs = filter();
    rs.chain_mut("FORWARD").unwrap().rules = vec![rule(ChainTarget::Drop)];
    rs.chain_mut("OUTPUT").unwrap().policy = Some(bpfilter_core::ir::Verdict::Drop);
    let t = rs.build().unwrap();
    // 0 INPUT policy, 1 FORWARD rule, 2 FORWARD policy, 3 OUTPUT policy, 4 end.
    let p = udp_pkt(1, 2);
    let r = |h| vc(&run_full(&t, h, &p, "", "", Skb::default()).unwrap());
    assert_eq!(r(IN), (Verdict::Accept, vec![0]));
    assert_eq!(r(FWD), (Verdict::Drop, vec![1]));
    assert_eq!(r(OUT), (Verdict::Drop, vec![3]));
    assert_eq!(
        run_full(&t, 0, &p, "", "", Skb::default()),
        Err(EvalError::BadHook(0))
    );
    assert_eq!(
        run_full(&t, 7, &p, "", "", Skb::default()),
        Err(EvalError::BadHook(7))
    );
    assert_eq!(
        run_full(&t, IN, &p[..19], "", "", Skb::default()),
        Err(EvalError::ShortPacket)
    );
}

/// INPUT: jump a; a: jump b, then DROP (not reached when b accepts); b: ACCEPT udp, RETURN.
fn chains_table() -> Table {
    let mut rs = filter();
    let mut a = Chain::user("a").unwrap();
    a.rules = vec![
        rule(ChainTarget::Jump(b"b".as_slice().try_into_name())),
        proto(rule(ChainTarget::Drop), 6),
    ];
    let mut b = Chain::user("b").unwrap();
    b.rules = vec![proto(rule(ChainTarget::Accept), 17)];
    let mut g = Chain::user("g").unwrap();
    g.rules = vec![rule(ChainTarget::Goto(b"b".as_slice().try_into_name()))];
    rs.chains.extend([a, b, g]);
    rs.chain_mut("INPUT").unwrap().rules = vec![
        proto(rule(ChainTarget::Jump(b"g".as_slice().try_into_name())), 1),
        rule(ChainTarget::Jump(b"a".as_slice().try_into_name())),
        proto(rule(ChainTarget::Drop), 1),
    ];
    rs.build().unwrap()
}

trait IntoName {
    fn try_into_name(self) -> bpfilter_core::ir::ChainName;
}
impl IntoName for &[u8] {
    fn try_into_name(self) -> bpfilter_core::ir::ChainName {
        bpfilter_core::ir::ChainName::new(self).unwrap()
    }
}

#[test]
fn jump_return_and_goto() {
    let t = chains_table();
    // Layout: 0 jump g (icmp), 1 jump a, 2 DROP icmp, 3 INPUT policy, 4 FWD, 5 OUT,
    // 6 ERROR a, 7 jump b, 8 DROP tcp, 9 RETURN, 10 ERROR b, 11 ACCEPT udp, 12 RETURN,
    // 13 ERROR g, 14 goto b, 15 RETURN, 16 end.
    assert!(matches!(t.entries[6].target, Target::Error(_)));
    assert_eq!(t.entries[7].target, Target::Jump(11));
    assert_eq!(t.entries[14].target, Target::Goto(11));
    // udp: INPUT -> a -> b accepts.
    assert_eq!(
        vc(&run(&t, &udp_pkt(1, 2))),
        (Verdict::Accept, vec![1, 7, 11])
    );
    // tcp: b returns to a (after the jump), a drops.
    assert_eq!(
        vc(&run(&t, &tcp_pkt(1, 2, 0))),
        (Verdict::Drop, vec![1, 7, 12, 8])
    );
    // icmp: INPUT -> g, goto b (no push), b's RETURN pops g's caller: back in INPUT after
    // entry 0, so entry 1 (jump a) runs; a -> b -> RETURN -> a's RETURN -> INPUT entry 2 drops.
    assert_eq!(
        vc(&run(&t, &icmp_pkt(8, 0))),
        (Verdict::Drop, vec![0, 14, 12, 1, 7, 12, 9, 2])
    );
}

#[test]
fn return_with_empty_stack_goes_to_underflow() {
    // INPUT: goto a; a: RETURN (its tail). The goto pushed nothing, so RETURN underflows to the
    // INPUT policy, which is counted.
    let mut rs = filter();
    rs.chains.push(Chain::user("a").unwrap());
    let c = rs.chain_mut("INPUT").unwrap();
    c.rules = vec![
        rule(ChainTarget::Goto(b"a".as_slice().try_into_name())),
        rule(ChainTarget::Accept),
    ];
    c.policy = Some(bpfilter_core::ir::Verdict::Drop);
    let t = rs.build().unwrap();
    // 0 goto a, 1 ACCEPT, 2 policy DROP, 3 FWD, 4 OUT, 5 ERROR a, 6 RETURN, 7 end.
    assert_eq!(vc(&run(&t, &udp_pkt(1, 2))), (Verdict::Drop, vec![0, 6, 2]));
    // A RETURN rule in a built-in chain does the same.
    let t = input_table(
        vec![rule(ChainTarget::Return), rule(ChainTarget::Accept)],
        bpfilter_core::ir::Verdict::Drop,
    );
    assert_eq!(vc(&run(&t, &udp_pkt(1, 2))), (Verdict::Drop, vec![0, 2]));
}

/// A raw table: entries in order, hooks at `INPUT` = 0 with underflow `uf`.
fn raw_table(entries: Vec<Rule<Target>>, uf: usize) -> Table {
    let mut name = bpfilter_core::ir::TableName::new();
    name.push_str("filter");
    let n = entries.len();
    Table {
        name,
        valid_hooks: 0b1110,
        entries,
        hook_entry: [None, Some(0), Some(0), Some(0), None],
        underflow: [None, Some(uf), Some(uf), Some(uf), None],
    }
    .tap(|t| assert!(uf < n && t.check().is_ok()))
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&Self)) -> Self {
        f(&self);
        self
    }
}
impl Tap for Table {}

fn err_entry(name: &str) -> Rule<Target> {
    Rule::new(Target::Error(ErrorName::new(name.as_bytes()).unwrap()))
}

#[test]
fn jump_depth_limit_is_the_number_of_error_entries() {
    // CVE-2018-1065: chains without ERROR heads nest deeper than stacksize. One ERROR entry
    // (the end marker) gives a stack of 1: the second push drops.
    let t = raw_table(
        vec![
            Rule::new(Target::Jump(2)), // 0
            Rule::new(Target::Accept),  // 1 policy
            Rule::new(Target::Jump(4)), // 2
            Rule::new(Target::Return),  // 3
            Rule::new(Target::Accept),  // 4
            err_entry("ERROR"),         // 5
        ],
        1,
    );
    let ev = Evaluator::new(&t);
    assert_eq!(ev.stacksize(), 1);
    let o = run(&t, &udp_pkt(1, 2));
    assert_eq!(vc(&o), (Verdict::Drop, vec![0, 2]));
    assert_eq!((o.decided_by, o.cause), (2, Cause::JumpStackFull));
    // With a second ERROR entry the same walk fits.
    let mut entries = t.entries.clone();
    entries.push(err_entry("x"));
    let t2 = raw_table(entries, 1);
    assert_eq!(
        vc(&run(&t2, &udp_pkt(1, 2))),
        (Verdict::Accept, vec![0, 2, 4])
    );
    // A goto never pushes, so it never hits the limit.
    let mut e = t.entries.clone();
    e[2].target = Target::Goto(4);
    assert_eq!(
        vc(&run(&raw_table(e, 1), &udp_pkt(1, 2))),
        (Verdict::Accept, vec![0, 2, 4])
    );
}

#[test]
fn jump_to_next_entry_pushes_nothing() {
    // stacksize 0 (no ERROR entry at all): a jump to the following entry is a plain
    // fallthrough, a real jump drops.
    let t = raw_table(
        vec![
            Rule::new(Target::Jump(1)),
            Rule::new(Target::Jump(2)),
            Rule::new(Target::Accept),
        ],
        2,
    );
    assert_eq!(Evaluator::new(&t).stacksize(), 0);
    assert_eq!(
        vc(&run(&t, &udp_pkt(1, 2))),
        (Verdict::Accept, vec![0, 1, 2])
    );
    let t = raw_table(
        vec![
            Rule::new(Target::Jump(2)),
            Rule::new(Target::Drop),
            Rule::new(Target::Accept),
        ],
        2,
    );
    let o = run(&t, &udp_pkt(1, 2));
    assert_eq!((o.verdict, o.cause), (Verdict::Drop, Cause::JumpStackFull));
}

#[test]
fn error_entry_at_run_time_drops_and_counts() {
    // ipt_error() returns NF_DROP; the entry has no conditions, so it is counted.
    let t = raw_table(
        vec![
            Rule::new(Target::Jump(2)),
            Rule::new(Target::Accept),
            err_entry("oops"),
        ],
        1,
    );
    let o = run(&t, &udp_pkt(1, 2));
    assert_eq!(vc(&o), (Verdict::Drop, vec![0, 2]));
    assert_eq!(o.cause, Cause::Target);
}

#[test]
fn queue_verdict() {
    let t = accept_policy(vec![rule(ChainTarget::Queue)]);
    let o = run(&t, &udp_pkt(1, 2));
    assert_eq!(vc(&o), (Verdict::Queue, vec![0]));
    assert_eq!(o.verdict.nf_code(), 3);
    assert_eq!(Verdict::Accept.nf_code(), 1);
    assert_eq!(Verdict::Drop.nf_code(), 0);
}

#[test]
fn walk_off_the_table_and_dangling_jumps_are_errors() {
    let t = raw_table(vec![Rule::new(Target::Accept)], 0);
    let mut bad = t.clone();
    bad.entries[0].target = Target::DanglingJump {
        offset: 4,
        goto: false,
    };
    assert_eq!(
        run_full(&bad, IN, &udp_pkt(1, 2), "", "", Skb::default()),
        Err(EvalError::BadEntry { entry: 0 })
    );
    let mut bad = t.clone();
    bad.entries[0].ip.proto = 6; // udp falls off the end
    assert_eq!(
        run_full(&bad, IN, &udp_pkt(1, 2), "", "", Skb::default()),
        Err(EvalError::BadEntry { entry: 1 })
    );
    // A loop (impossible after validation) ends at the step limit.
    let mut bad = raw_table(vec![Rule::new(Target::Goto(0))], 0);
    bad.entries[0].target = Target::Goto(0);
    assert_eq!(
        run_full(&bad, IN, &udp_pkt(1, 2), "", "", Skb::default()),
        Err(EvalError::StepLimit)
    );
}

// ---------------------------------------------------------------- ipt_ip

fn ip_rule(f: impl FnOnce(&mut IpMatch)) -> Table {
    let mut r = rule(ChainTarget::Drop);
    f(&mut r.ip);
    everywhere(vec![r])
}

fn dropped(t: &Table, hook: usize, data: &[u8], indev: &str, outdev: &str) -> bool {
    run_full(t, hook, data, indev, outdev, Skb::default())
        .unwrap()
        .verdict
        == Verdict::Drop
}

#[test]
fn addresses_with_masks_and_inversion() {
    let t = ip_rule(|ip| {
        ip.src = Ipv4Addr::new(10, 0, 0, 0);
        ip.smsk = Ipv4Addr::new(255, 255, 255, 0);
    });
    let p = |s: [u8; 4], d: [u8; 4]| ipv4(17, s, d, 0, &[], &udp_hdr(1, 2));
    assert!(dropped(&t, IN, &p([10, 0, 0, 77], B), "x", ""));
    assert!(!dropped(&t, IN, &p([10, 0, 1, 77], B), "x", ""));
    let t = ip_rule(|ip| {
        ip.dst = Ipv4Addr::new(10, 0, 0, 0);
        ip.dmsk = Ipv4Addr::new(255, 255, 254, 0);
        ip.inv.dst = true;
    });
    assert!(!dropped(&t, IN, &p(A, [10, 0, 1, 9]), "x", ""));
    assert!(dropped(&t, IN, &p(A, [10, 0, 2, 9]), "x", ""));
    // The kernel does not mask the rule's own address: 10.0.1.0/23 is never equal to
    // `daddr & mask`, so it matches nothing, and inverted everything.
    let t = ip_rule(|ip| {
        ip.dst = Ipv4Addr::new(10, 0, 1, 0);
        ip.dmsk = Ipv4Addr::new(255, 255, 254, 0);
    });
    assert!(!dropped(&t, IN, &p(A, [10, 0, 1, 0]), "x", ""));
    let t = ip_rule(|ip| {
        ip.dst = Ipv4Addr::new(10, 0, 1, 0);
        ip.dmsk = Ipv4Addr::new(255, 255, 254, 0);
        ip.inv.dst = true;
    });
    assert!(dropped(&t, IN, &p(A, [10, 0, 1, 0]), "x", ""));
    // A non-contiguous mask works bit by bit.
    let t = ip_rule(|ip| {
        ip.src = Ipv4Addr::new(0, 0, 0, 1);
        ip.smsk = Ipv4Addr::new(0, 0, 0, 1);
    });
    assert!(dropped(&t, IN, &p([9, 9, 9, 9], B), "x", ""));
    assert!(!dropped(&t, IN, &p([9, 9, 9, 8], B), "x", ""));
}

#[test]
fn interface_names_exact_wildcard_inverted() {
    let p = udp_pkt(1, 2);
    let t = ip_rule(|ip| ip.iniface = Iface::parse("eth0").unwrap());
    assert!(dropped(&t, IN, &p, "eth0", ""));
    // The NUL is inside the mask: eth0 does not match eth01.
    assert!(!dropped(&t, IN, &p, "eth01", ""));
    assert!(!dropped(&t, IN, &p, "eth", ""));
    let t = ip_rule(|ip| ip.iniface = Iface::parse("eth+").unwrap());
    assert!(dropped(&t, IN, &p, "eth0", ""));
    assert!(dropped(&t, IN, &p, "eth", ""));
    assert!(!dropped(&t, IN, &p, "et", ""));
    assert!(!dropped(&t, IN, &p, "veth0", ""));
    // "+" alone is a zero-length prefix: every device, and no device.
    let t = ip_rule(|ip| ip.outiface = Iface::parse("+").unwrap());
    assert!(dropped(&t, OUT, &p, "", "lo"));
    assert!(dropped(&t, IN, &p, "eth0", ""));
    let t = ip_rule(|ip| {
        ip.outiface = Iface::parse("out0").unwrap();
        ip.inv.outiface = true;
    });
    assert!(!dropped(&t, FWD, &p, "in0", "out0"));
    assert!(dropped(&t, FWD, &p, "in0", "out1"));
    // OUTPUT has no input device: the kernel compares the rule with an all-zero name.
    let t = ip_rule(|ip| ip.iniface = Iface::parse("eth+").unwrap());
    assert!(!dropped(&t, OUT, &p, "", "eth0"));
    let t = ip_rule(|ip| {
        ip.iniface = Iface::parse("eth+").unwrap();
        ip.inv.iniface = true;
    });
    assert!(dropped(&t, OUT, &p, "", "eth0"));
    assert_eq!(
        run_full(&t, IN, &p, "sixteen-bytes-xx", "", Skb::default()),
        Err(EvalError::BadInterfaceName)
    );
}

#[test]
fn protocol_with_inversion_and_out_of_range() {
    let t = ip_rule(|ip| ip.proto = 17);
    assert!(dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    let t = ip_rule(|ip| {
        ip.proto = 17;
        ip.inv.proto = true;
    });
    assert!(!dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    // proto 0 ignores the inversion bit.
    let t = ip_rule(|ip| ip.inv.proto = true);
    assert!(dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    // A u16 proto above 255 never equals the u8 header field.
    let t = ip_rule(|ip| ip.proto = 256 + 17);
    assert!(!dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    let t = ip_rule(|ip| {
        ip.proto = 256 + 17;
        ip.inv.proto = true;
    });
    assert!(dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
}

#[test]
fn fragment_flag() {
    let first = ipv4(17, A, B, 0x2000, &[], &udp_hdr(1, 2)); // MF, offset 0
    let later = ipv4(17, A, B, 0x0003, &[], &[0u8; 8]); // offset 3
    let plain = udp_pkt(1, 2);
    // -f: non-first fragments only.
    let t = ip_rule(|ip| ip.frag = true);
    assert!(dropped(&t, IN, &later, "x", ""));
    assert!(!dropped(&t, IN, &first, "x", ""));
    assert!(!dropped(&t, IN, &plain, "x", ""));
    // ! -f: everything else.
    let t = ip_rule(|ip| {
        ip.frag = true;
        ip.inv.frag = true;
    });
    assert!(!dropped(&t, IN, &later, "x", ""));
    assert!(dropped(&t, IN, &first, "x", ""));
    assert!(dropped(&t, IN, &plain, "x", ""));
    // The inversion bit without IPT_F_FRAG: NF_INVF(false) is true, nothing matches.
    let t = ip_rule(|ip| ip.inv.frag = true);
    for p in [&later, &first, &plain] {
        assert!(!dropped(&t, IN, p, "x", ""));
    }
}

// ---------------------------------------------------------------- tcp / udp / icmp

fn tcp_m(f: impl FnOnce(&mut Tcp)) -> Table {
    let mut v = Tcp {
        spts: [0, 0xFFFF],
        dpts: [0, 0xFFFF],
        option: 0,
        flg_mask: 0,
        flg_cmp: 0,
        invflags: 0,
    };
    f(&mut v);
    accept_policy(vec![with_match(
        proto(rule(ChainTarget::Drop), 6),
        "tcp",
        0,
        MatchValue::Tcp(v),
    )])
}

#[test]
fn tcp_ports_flags_and_inversions() {
    let t = tcp_m(|v| v.dpts = [80, 90]);
    assert!(dropped(&t, IN, &tcp_pkt(1, 80, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 90, 0), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 91, 0), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 79, 0), "x", ""));
    let t = tcp_m(|v| {
        v.spts = [1000, 1000];
        v.invflags = 0x01;
    });
    assert!(!dropped(&t, IN, &tcp_pkt(1000, 1, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1001, 1, 0), "x", ""));
    // --syn: SYN,RST,ACK,FIN / SYN.
    let t = tcp_m(|v| {
        v.flg_mask = 0x17;
        v.flg_cmp = 0x02;
    });
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0x02), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0x0A), "x", "")); // SYN+PSH: PSH is outside the mask
    assert!(!dropped(&t, IN, &tcp_pkt(1, 2, 0x12), "x", "")); // SYN+ACK
    let t = tcp_m(|v| {
        v.flg_mask = 0x17;
        v.flg_cmp = 0x02;
        v.invflags = 0x04;
    });
    assert!(!dropped(&t, IN, &tcp_pkt(1, 2, 0x02), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0x10), "x", ""));
}

#[test]
fn tcp_option() {
    // Options: NOP, NOP, MSS (kind 2, len 4), then window scale (3, len 3) + EOL.
    let opts = [1, 1, 2, 4, 5, 0xB4, 3, 3, 7, 0, 0, 0];
    let with = ipv4(6, A, B, 0, &[], &tcp_hdr(1, 2, 0x02, &opts));
    let without = tcp_pkt(1, 2, 0x02);
    let t = tcp_m(|v| v.option = 3);
    assert!(dropped(&t, IN, &with, "x", ""));
    assert!(!dropped(&t, IN, &without, "x", ""));
    // Kind 5 appears only as MSS data, which the walk skips over.
    let t = tcp_m(|v| v.option = 5);
    assert!(!dropped(&t, IN, &with, "x", ""));
    let t = tcp_m(|v| {
        v.option = 3;
        v.invflags = 0x08;
    });
    assert!(!dropped(&t, IN, &with, "x", ""));
    assert!(dropped(&t, IN, &without, "x", ""));
    // A zero length byte counts as 1.
    let z = ipv4(6, A, B, 0, &[], &tcp_hdr(1, 2, 0, &[9, 0, 3, 0]));
    let t = tcp_m(|v| v.option = 3);
    assert!(dropped(&t, IN, &z, "x", ""));
    // `i += op[i+1] ?: 1`: a length byte of 1 moves one byte on, onto the length byte itself,
    // which then reads as kind 1 (NOP).
    let one = ipv4(6, A, B, 0, &[], &tcp_hdr(1, 2, 0, &[9, 1, 0, 0]));
    let t = tcp_m(|v| v.option = 1);
    assert!(dropped(&t, IN, &one, "x", ""));
    let none = ipv4(6, A, B, 0, &[], &tcp_hdr(1, 2, 0, &[9, 2, 0, 0]));
    assert!(!dropped(&t, IN, &none, "x", ""));
}

#[test]
fn tcp_hotdrops_and_fragments() {
    let t = tcp_m(|v| v.dpts = [80, 80]);
    // Fewer than 20 TCP bytes: hotdrop, the entry is not counted, the walk ends there.
    let short = ipv4(6, A, B, 0, &[], &tcp_hdr(1, 80, 0, &[])[..19]);
    let o = run(&t, &short);
    assert_eq!((vc(&o), o.cause), ((Verdict::Drop, vec![]), Cause::Hotdrop));
    assert_eq!(o.decided_by, 0);
    // Offset 1: "a cracker trying to break in by doing a flag overwrite": hotdrop.
    let off1 = ipv4(6, A, B, 0x0001, &[], &[0u8; 16]);
    assert_eq!(run(&t, &off1).cause, Cause::Hotdrop);
    // Other non-first fragments just do not match; the policy accepts.
    let off2 = ipv4(6, A, B, 0x0002, &[], &[0u8; 16]);
    assert_eq!(vc(&run(&t, &off2)), (Verdict::Accept, vec![1]));
    // A first fragment is a normal packet.
    let first = ipv4(6, A, B, 0x2000, &[], &tcp_hdr(1, 80, 0, &[]));
    assert_eq!(vc(&run(&t, &first)), (Verdict::Drop, vec![0]));
    // IP options move the TCP header: thoff = ihl * 4.
    let opt = ipv4(6, A, B, 0, &[1, 1, 1, 0], &tcp_hdr(1, 80, 0, &[]));
    assert_eq!(vc(&run(&t, &opt)), (Verdict::Drop, vec![0]));
    // --tcp-option with doff < 5: hotdrop. With options cut off by the packet end: hotdrop.
    let t = tcp_m(|v| v.option = 2);
    let mut h = tcp_hdr(1, 2, 0, &[]);
    h[12] = 4 << 4;
    assert_eq!(run(&t, &ipv4(6, A, B, 0, &[], &h)).cause, Cause::Hotdrop);
    let mut h = tcp_hdr(1, 2, 0, &[1, 1, 1, 1]);
    h.truncate(22);
    assert_eq!(run(&t, &ipv4(6, A, B, 0, &[], &h)).cause, Cause::Hotdrop);
    // The flags alone (no option) only need the 20 bytes.
    let t = tcp_m(|v| v.flg_mask = 0x01);
    assert_eq!(
        vc(&run(&t, &ipv4(6, A, B, 0, &[], &h))),
        (Verdict::Drop, vec![0])
    );
}

#[test]
fn udp_and_udplite() {
    let v = Udp {
        spts: [0, 0xFFFF],
        dpts: [53, 53],
        invflags: 0,
    };
    let t = accept_policy(vec![with_match(
        proto(rule(ChainTarget::Drop), 17),
        "udp",
        0,
        MatchValue::Udp(v),
    )]);
    assert!(dropped(&t, IN, &udp_pkt(9, 53), "x", ""));
    assert!(!dropped(&t, IN, &udp_pkt(9, 54), "x", ""));
    let short = ipv4(17, A, B, 0, &[], &udp_hdr(9, 53)[..7]);
    assert_eq!(run(&t, &short).cause, Cause::Hotdrop);
    // Non-first fragments never match (and never hotdrop, even at offset 1).
    let frag = ipv4(17, A, B, 0x0001, &[], &[0u8; 8]);
    assert_eq!(vc(&run(&t, &frag)), (Verdict::Accept, vec![1]));
    let inv = Udp {
        invflags: 0x03,
        ..v
    };
    let t = accept_policy(vec![with_match(
        proto(rule(ChainTarget::Drop), 17),
        "udp",
        0,
        MatchValue::Udp(inv),
    )]);
    // ! --sport 0:65535 never matches.
    assert!(!dropped(&t, IN, &udp_pkt(9, 1), "x", ""));
    if lookup(Kind::Match, b"udplite", 0).is_ok() {
        let mut p = v.spts[0].to_le_bytes().to_vec();
        p.extend_from_slice(&v.spts[1].to_le_bytes());
        p.extend_from_slice(&53u16.to_le_bytes());
        p.extend_from_slice(&53u16.to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        let t = accept_policy(vec![with_match(
            proto(rule(ChainTarget::Drop), 136),
            "udplite",
            0,
            MatchValue::Other(p),
        )]);
        assert!(dropped(
            &t,
            IN,
            &ipv4(136, A, B, 0, &[], &udp_hdr(1, 53)),
            "x",
            ""
        ));
    }
}

fn icmp_m(icmp_type: u8, code: [u8; 2], invflags: u8) -> Table {
    accept_policy(vec![with_match(
        proto(rule(ChainTarget::Drop), 1),
        "icmp",
        0,
        MatchValue::Icmp(Icmp {
            icmp_type,
            code,
            invflags,
        }),
    )])
}

#[test]
fn icmp_types_codes_any_inversion() {
    let t = icmp_m(3, [1, 3], 0);
    assert!(dropped(&t, IN, &icmp_pkt(3, 1), "x", ""));
    assert!(dropped(&t, IN, &icmp_pkt(3, 3), "x", ""));
    assert!(!dropped(&t, IN, &icmp_pkt(3, 4), "x", ""));
    assert!(!dropped(&t, IN, &icmp_pkt(4, 1), "x", ""));
    // Type 0xFF: any type, whatever the codes.
    let t = icmp_m(0xFF, [0, 0], 0);
    assert!(dropped(&t, IN, &icmp_pkt(42, 9), "x", ""));
    let t = icmp_m(0xFF, [0, 0], 1);
    assert!(!dropped(&t, IN, &icmp_pkt(42, 9), "x", ""));
    let t = icmp_m(8, [0, 0xFF], 1);
    assert!(!dropped(&t, IN, &icmp_pkt(8, 0), "x", ""));
    assert!(dropped(&t, IN, &icmp_pkt(0, 0), "x", ""));
    // The match reads the whole 8-byte struct icmphdr: 4 bytes are a hotdrop.
    let short = ipv4(1, A, B, 0, &[], &[8, 0, 0, 0]);
    assert_eq!(run(&t, &short).cause, Cause::Hotdrop);
}

// ---------------------------------------------------------------- other matches

fn multiport_m(flags: u8, ports: &[(u16, Option<u16>)], invert: u8) -> Table {
    let mut v = Multiport {
        flags,
        count: 0,
        ports: [0; 15],
        pflags: [0; 15],
        invert,
    };
    let mut i = 0;
    for &(a, b) in ports {
        v.ports[i] = a;
        if let Some(b) = b {
            v.pflags[i] = 1;
            i += 1;
            v.ports[i] = b;
        }
        i += 1;
    }
    v.count = i as u8;
    accept_policy(vec![with_match(
        proto(rule(ChainTarget::Drop), 6),
        "multiport",
        1,
        MatchValue::Multiport(v),
    )])
}

#[test]
fn multiport_directions_ranges_inversion() {
    let ports = [(22, None), (8000, Some(8080)), (443, None)];
    let t = multiport_m(1, &ports, 0);
    assert!(dropped(&t, IN, &tcp_pkt(1, 22, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 8000, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 8080, 0), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 8081, 0), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(22, 1, 0), "x", ""));
    let t = multiport_m(0, &ports, 0);
    assert!(dropped(&t, IN, &tcp_pkt(443, 1, 0), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 443, 0), "x", ""));
    let t = multiport_m(2, &ports, 0);
    assert!(dropped(&t, IN, &tcp_pkt(443, 1, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 8050, 0), "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    let t = multiport_m(2, &ports, 1);
    assert!(!dropped(&t, IN, &tcp_pkt(443, 1, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    // `true ^ invert` with invert = 2 is 3: true. Not matching returns invert: true as well.
    let t = multiport_m(2, &ports, 2);
    assert!(dropped(&t, IN, &tcp_pkt(443, 1, 0), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    // Fragments: no match; a short header: hotdrop.
    let t = multiport_m(2, &ports, 1);
    assert!(!dropped(
        &t,
        IN,
        &ipv4(6, A, B, 0x0005, &[], &[0; 8]),
        "x",
        ""
    ));
    assert_eq!(
        run(&t, &ipv4(6, A, B, 0, &[], &[0, 1, 0])).cause,
        Cause::Hotdrop
    );
}

fn ip16(a: [u8; 4]) -> [u8; 16] {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&a);
    x
}

#[test]
fn iprange_src_dst_inverted() {
    let v = Iprange {
        src_min: ip16([10, 0, 0, 5]),
        src_max: ip16([10, 0, 1, 0]),
        dst_min: ip16([0; 4]),
        dst_max: ip16([0; 4]),
        flags: 0x01,
    };
    let m = |v| {
        accept_policy(vec![with_match(
            rule(ChainTarget::Drop),
            "iprange",
            1,
            MatchValue::Iprange(v),
        )])
    };
    let p = |s: [u8; 4], d: [u8; 4]| ipv4(17, s, d, 0, &[], &udp_hdr(1, 2));
    let t = m(v);
    assert!(dropped(&t, IN, &p([10, 0, 0, 5], B), "x", ""));
    assert!(dropped(&t, IN, &p([10, 0, 0, 200], B), "x", ""));
    assert!(dropped(&t, IN, &p([10, 0, 1, 0], B), "x", ""));
    assert!(!dropped(&t, IN, &p([10, 0, 0, 4], B), "x", ""));
    assert!(!dropped(&t, IN, &p([10, 0, 1, 1], B), "x", ""));
    let t = m(Iprange {
        flags: 0x01 | 0x10 | 0x02,
        dst_min: ip16([192, 168, 0, 0]),
        dst_max: ip16([192, 168, 255, 255]),
        ..v
    });
    assert!(dropped(
        &t,
        IN,
        &p([10, 0, 2, 0], [192, 168, 3, 4]),
        "x",
        ""
    ));
    assert!(!dropped(
        &t,
        IN,
        &p([10, 0, 0, 9], [192, 168, 3, 4]),
        "x",
        ""
    ));
    assert!(!dropped(
        &t,
        IN,
        &p([10, 0, 2, 0], [192, 169, 0, 0]),
        "x",
        ""
    ));
}

fn one(name: &str, rev: u8, v: MatchValue) -> Table {
    everywhere(vec![with_match(rule(ChainTarget::Drop), name, rev, v)])
}

#[test]
fn comment_length_ttl() {
    let t = one(
        "comment",
        0,
        MatchValue::Comment(Comment {
            comment: b"hello".to_vec(),
        }),
    );
    assert!(dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    // length reads tot_len from the header (28 here), not the buffer length.
    let t = one(
        "length",
        0,
        MatchValue::Length(Length {
            min: 28,
            max: 28,
            invert: 0,
        }),
    );
    assert!(dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    let mut padded = udp_pkt(1, 2);
    padded.extend_from_slice(&[0; 4]);
    assert!(dropped(&t, IN, &padded, "x", ""));
    assert!(!dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    let t = one(
        "length",
        0,
        MatchValue::Length(Length {
            min: 0,
            max: 30,
            invert: 1,
        }),
    );
    assert!(!dropped(&t, IN, &udp_pkt(1, 2), "x", ""));
    assert!(dropped(&t, IN, &tcp_pkt(1, 2, 0), "x", ""));
    // ttl 64 against each mode.
    for (mode, v, want) in [
        (0, 64, true),
        (0, 63, false),
        (1, 64, false),
        (1, 1, true),
        (2, 65, true),
        (2, 64, false),
        (3, 63, true),
        (3, 64, false),
        (4, 64, false),
    ] {
        let t = one("ttl", 0, MatchValue::Ttl(Ttl { mode, ttl: v }));
        assert_eq!(
            dropped(&t, IN, &udp_pkt(1, 2), "x", ""),
            want,
            "mode {mode} ttl {v}"
        );
    }
}

fn skb(f: impl FnOnce(&mut Skb)) -> Skb {
    let mut s = Skb::default();
    f(&mut s);
    s
}

fn dropped_skb(t: &Table, hook: usize, s: Skb) -> bool {
    run_full(t, hook, &udp_pkt(1, 2), "in0", "", s)
        .unwrap()
        .verdict
        == Verdict::Drop
}

#[test]
fn mark_match_and_mark_target() {
    let t = one(
        "mark",
        1,
        MatchValue::Mark(Mark {
            mark: 0x10,
            mask: 0xF0,
            invert: 0,
        }),
    );
    assert!(dropped_skb(&t, IN, skb(|s| s.mark = 0x1F)));
    assert!(!dropped_skb(&t, IN, skb(|s| s.mark = 0x2F)));
    // MARK --set-xmark 0x10/0xff then the mark match: the target changes what later
    // matches see, and continues.
    let m = with_match(
        rule(ChainTarget::Drop),
        "mark",
        1,
        MatchValue::Mark(Mark {
            mark: 0x10,
            mask: 0xFF,
            invert: 0,
        }),
    );
    let t = accept_policy(vec![rule(mark_target(0x10, 0xFF)), m]);
    let o = run_full(&t, IN, &udp_pkt(1, 2), "in0", "", skb(|s| s.mark = 0x1234)).unwrap();
    assert_eq!(vc(&o), (Verdict::Drop, vec![0, 1]));
    assert_eq!(o.mark, 0x1210);
    // --set-xmark 0x1/0x0 XORs.
    let t = accept_policy(vec![rule(mark_target(1, 0))]);
    let o = run_full(&t, IN, &udp_pkt(1, 2), "in0", "", skb(|s| s.mark = 3)).unwrap();
    assert_eq!((o.mark, vc(&o)), (2, (Verdict::Accept, vec![0, 1])));
}

#[test]
fn log_continues_and_records() {
    let t = accept_policy(vec![rule(log_target("hi: ")), rule(ChainTarget::Drop)]);
    let o = run(&t, &udp_pkt(1, 2));
    assert_eq!(vc(&o), (Verdict::Drop, vec![0, 1]));
    assert_eq!(o.logs.len(), 1);
    assert_eq!((o.logs[0].entry, o.logs[0].level), (0, 4));
    assert_eq!(&o.logs[0].prefix[..4], b"hi: ");
}

#[test]
fn reject_drops_and_unknown_targets_are_named() {
    let t = accept_policy(vec![rule(ext_target(
        "REJECT",
        0,
        TargetValue::Reject(Reject { with: 3 }),
    ))]);
    let o = run(&t, &udp_pkt(1, 2));
    assert_eq!((vc(&o), o.cause), ((Verdict::Drop, vec![0]), Cause::Target));
    let t = accept_policy(vec![proto(
        rule(ext_target("CLASSIFY", 0, TargetValue::Other(vec![0; 4]))),
        6,
    )]);
    // Not reached: fine. Reached: an error naming it.
    assert_eq!(vc(&run(&t, &udp_pkt(1, 2))), (Verdict::Accept, vec![1]));
    assert_eq!(
        run_full(&t, IN, &tcp_pkt(1, 2, 0), "x", "", Skb::default()),
        Err(EvalError::UnsupportedTarget {
            entry: 0,
            name: "CLASSIFY",
            revision: 0
        })
    );
    assert_eq!(
        Evaluator::new(&t).unsupported(),
        vec![(0, "target", "CLASSIFY", 0)]
    );
}

#[test]
fn a_target_value_of_another_extension_is_an_error() {
    // A hand-built ExtTarget whose value belongs to another extension does not encode.
    let mut x = ExtTarget::new(
        "MARK",
        2,
        TargetValue::Mark(MarkTarget { mark: 1, mask: 0 }),
    )
    .unwrap();
    x.value = TargetValue::Reject(Reject { with: 3 });
    let t = accept_policy(vec![rule(ChainTarget::Ext(x))]);
    assert_eq!(
        run_full(&t, IN, &udp_pkt(1, 2), "x", "", Skb::default()),
        Err(EvalError::BadPayload { entry: 0 })
    );
}

#[test]
fn unsupported_match_is_an_error_when_reached() {
    let desc = lookup(Kind::Match, b"statistic", 0).unwrap();
    let m = Match {
        desc,
        value: MatchValue::Other(vec![0; 24]),
        name_field: None,
        raw: None,
    };
    let mut r = proto(rule(ChainTarget::Drop), 6);
    r.matches.push(m);
    let t = accept_policy(vec![r]);
    assert_eq!(vc(&run(&t, &udp_pkt(1, 2))), (Verdict::Accept, vec![1]));
    assert_eq!(
        run_full(&t, IN, &tcp_pkt(1, 2, 0), "x", "", Skb::default()),
        Err(EvalError::UnsupportedMatch {
            entry: 0,
            name: "statistic",
            revision: 0
        })
    );
}

#[test]
fn pkttype_and_mac() {
    let t = one(
        "pkttype",
        0,
        MatchValue::Pkttype(Pkttype {
            pkttype: 2,
            invert: 0,
        }),
    );
    assert!(dropped_skb(&t, IN, skb(|s| s.pkt_type = 2)));
    assert!(!dropped_skb(&t, IN, skb(|s| s.pkt_type = 0)));
    // PACKET_LOOPBACK reads as multicast for a 224/4 destination, else broadcast.
    let lo = skb(|s| s.pkt_type = 5);
    let mc = ipv4(17, A, [224, 0, 0, 9], 0, &[], &udp_hdr(1, 2));
    assert_eq!(
        run_full(&t, OUT, &mc, "", "lo", lo).unwrap().verdict,
        Verdict::Drop
    );
    assert!(!dropped_skb(&t, OUT, lo));
    let mac = [2, 0, 0, 0, 0, 9];
    let t = one(
        "mac",
        0,
        MatchValue::Mac(Mac {
            srcaddr: mac,
            invert: 0,
        }),
    );
    assert!(dropped_skb(&t, IN, skb(|s| s.src_mac = Some(mac))));
    assert!(!dropped_skb(
        &t,
        IN,
        skb(|s| s.src_mac = Some([2, 0, 0, 0, 0, 8]))
    ));
    let t = one(
        "mac",
        0,
        MatchValue::Mac(Mac {
            srcaddr: mac,
            invert: 1,
        }),
    );
    assert!(dropped_skb(
        &t,
        IN,
        skb(|s| s.src_mac = Some([2, 0, 0, 0, 0, 8]))
    ));
    // No MAC header: false even inverted.
    assert!(!dropped_skb(&t, IN, skb(|s| s.src_mac = None)));
}

fn all_cts() -> Vec<Ct> {
    vec![
        Ct::Invalid,
        Ct::Untracked,
        Ct::New,
        Ct::Established { reply: false },
        Ct::Established { reply: true },
        Ct::Related { reply: false },
        Ct::Related { reply: true },
    ]
}

#[test]
fn state_match() {
    // XT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1); INVALID 1; UNTRACKED 64.
    let want = |mask: u32| -> Vec<bool> {
        let t = one("state", 0, MatchValue::State(State { statemask: mask }));
        all_cts()
            .into_iter()
            .map(|ct| dropped_skb(&t, IN, skb(|s| s.ct = ct)))
            .collect()
    };
    assert_eq!(want(1), [true, false, false, false, false, false, false]);
    assert_eq!(want(64), [false, true, false, false, false, false, false]);
    assert_eq!(want(8), [false, false, true, false, false, false, false]);
    assert_eq!(want(2), [false, false, false, true, true, false, false]);
    assert_eq!(want(4), [false, false, false, false, false, true, true]);
}

/// A conntrack revision-3 payload (164 bytes) with these flags and masks.
fn conntrack_m(match_flags: u16, invert_flags: u16, state_mask: u16, status_mask: u16) -> Table {
    let mut p = vec![0u8; 168];
    p[146..148].copy_from_slice(&match_flags.to_le_bytes());
    p[148..150].copy_from_slice(&invert_flags.to_le_bytes());
    p[150..152].copy_from_slice(&state_mask.to_le_bytes());
    p[152..154].copy_from_slice(&status_mask.to_le_bytes());
    one("conntrack", 3, MatchValue::Other(p))
}

#[test]
fn conntrack_ctstate_ctdir_ctstatus() {
    let eval = |t: &Table| -> Vec<bool> {
        all_cts()
            .into_iter()
            .map(|ct| dropped_skb(t, IN, skb(|s| s.ct = ct)))
            .collect()
    };
    // --ctstate NEW,UNTRACKED (UNTRACKED is bit 8 here).
    let t = conntrack_m(1, 0, 8 | 256, 0);
    assert_eq!(eval(&t), [false, true, true, false, false, false, false]);
    // ! --ctstate INVALID.
    let t = conntrack_m(1, 1, 1, 0);
    assert_eq!(eval(&t), [false, true, true, true, true, true, true]);
    // --ctdir REPLY (flag 1<<12, inverted means REPLY); without a conntrack entry: false.
    let t = conntrack_m(1 << 12, 1 << 12, 0, 0);
    assert_eq!(eval(&t), [false, false, false, false, true, false, true]);
    let t = conntrack_m(1 << 12, 0, 0, 0);
    assert_eq!(eval(&t), [false, false, true, true, false, true, false]);
    // --ctstatus ASSURED (4); SNAT shows in --ctstate through IPS_SRC_NAT (status bit 4).
    let t = conntrack_m(1 << 6, 0, 0, 4);
    let est = Ct::Established { reply: false };
    assert!(dropped_skb(
        &t,
        IN,
        skb(|s| {
            s.ct = est;
            s.ct_status = 4;
        })
    ));
    assert!(!dropped_skb(&t, IN, skb(|s| s.ct = est)));
    let t = conntrack_m(1, 0, 64, 0);
    assert!(dropped_skb(
        &t,
        IN,
        skb(|s| {
            s.ct = est;
            s.ct_status = 1 << 4;
        })
    ));
    assert!(!dropped_skb(&t, IN, skb(|s| s.ct = est)));
    // An address option needs the tuples: an error once reached, but not for a packet
    // without a conntrack entry (the kernel returns before looking).
    let t = conntrack_m(1 | (1 << 2), 0, 0xFFFF, 0);
    assert!(matches!(
        run_full(&t, IN, &udp_pkt(1, 2), "x", "", skb(|s| s.ct = est)),
        Err(EvalError::UnsupportedOption {
            entry: 0,
            ext: "conntrack",
            ..
        })
    ));
    assert!(dropped_skb(&t, IN, skb(|s| s.ct = Ct::Invalid)));
}

#[test]
fn limit_token_bucket_with_callers_clock() {
    // 1/sec (avg = 10000), burst 3, loaded at jiffies 1000; HZ 250.
    let t = accept_policy(vec![with_match(
        rule(ChainTarget::Drop),
        "limit",
        0,
        MatchValue::Limit(Limit {
            avg: 10_000,
            burst: 3,
        }),
    )]);
    let ev = Evaluator::new(&t);
    let mut st: EvalState = ev.state(1000);
    let b = *st.bucket(0, 0).unwrap();
    assert_eq!((b.credit, b.cost, b.credit_cap), (96_000, 32_000, 96_000));
    let p = udp_pkt(1, 2);
    let input = Input {
        hook: IN,
        data: &p,
        indev: b"x",
        outdev: b"",
        skb: Skb::default(),
    };
    let mut at = |now| ev.run(&mut st, &input, now).unwrap().verdict;
    assert_eq!(
        [at(1000), at(1000), at(1000), at(1000)],
        [Verdict::Drop, Verdict::Drop, Verdict::Drop, Verdict::Accept]
    );
    // 250 jiffies refill exactly one token.
    assert_eq!(at(1249), Verdict::Accept);
    assert_eq!(at(1250), Verdict::Drop);
    assert_eq!(at(1250), Verdict::Accept);
    // A long pause refills to the cap (3), not more.
    assert_eq!(
        [at(100_000), at(100_000), at(100_000), at(100_000)],
        [Verdict::Drop, Verdict::Drop, Verdict::Drop, Verdict::Accept]
    );
    // The bucket is only consulted when the earlier conditions hold.
    let mut r = proto(rule(ChainTarget::Drop), 6);
    r.matches.push(
        Match::new(
            "limit",
            0,
            MatchValue::Limit(Limit {
                avg: 10_000,
                burst: 1,
            }),
        )
        .unwrap(),
    );
    let t = accept_policy(vec![r]);
    let ev = Evaluator::new(&t);
    let mut st = ev.state(0);
    let u = Input { data: &p, ..input };
    for _ in 0..5 {
        ev.run(&mut st, &u, 0).unwrap();
    }
    assert_eq!(st.bucket(0, 0).unwrap().credit, 32_000);
    // A state made for another table has no bucket there.
    let mut other = EvalState::new(&accept_policy(vec![]), 0);
    let tp = tcp_pkt(1, 2, 0);
    let ti = Input { data: &tp, ..input };
    assert_eq!(
        ev.run(&mut other, &ti, 0),
        Err(EvalError::StateMismatch { entry: 0 })
    );
}

#[test]
fn raw_payload_bytes_are_what_runs() {
    // The IR keeps the blob's bytes when the typed value would encode differently; the
    // kernel executes on those bytes, so does the evaluator.
    let mut m = Match::new(
        "length",
        0,
        MatchValue::Length(Length {
            min: 0,
            max: 0,
            invert: 0,
        }),
    )
    .unwrap();
    m.raw = Some(vec![28, 0, 28, 0, 0, 0xAA, 0, 0]);
    let mut r = rule(ChainTarget::Drop);
    r.matches.push(m);
    assert!(dropped(
        &accept_policy(vec![r]),
        IN,
        &udp_pkt(1, 2),
        "x",
        ""
    ));
}

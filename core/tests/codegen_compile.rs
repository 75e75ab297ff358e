//! The code generator without a kernel: refusals, the chain plan (subprograms, inlining,
//! frames, depth tracking), map relocations, far jumps in large programs, and the no-panic
//! contract on hand-made tables.

mod codegen_compile_support;

use bpfilter_core::codegen::compile_log::{LogEvent, CAPTURE_LEN, EVENT_SIZE};
use bpfilter_core::codegen::{
    compile, compile_table, CompileError, MapKind, BPF_PSEUDO_MAP_FD, MAX_FRAMES,
};
use bpfilter_core::ext::targets::reject::Reject;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ir::{ChainTarget, ExtTarget, Rule, Table, TableName, Target};
use bpfilter_core::uapi::{NF_INET_LOCAL_IN as IN, NF_INET_NUMHOOKS};
use codegen_compile_support::*;

fn ext(name: &str, rev: u8, v: TargetValue) -> ChainTarget {
    ChainTarget::Ext(ExtTarget::new(name, rev, v).expect("registered"))
}

#[test]
fn unsupported_targets_and_queue_are_refused_by_name() {
    let t = filter(
        vec![
            udp_dport(rule(ChainTarget::Accept), 53),
            rule(ext("REJECT", 0, TargetValue::Reject(Reject { with: 0 }))),
        ],
        vec![],
    );
    assert!(matches!(
        compile(&t, IN, &opts()),
        Err(CompileError::UnsupportedTarget {
            entry: 1,
            name: "REJECT",
            ..
        })
    ));
    let t = filter(vec![rule(ChainTarget::Queue)], vec![]);
    let e = compile(&t, IN, &opts()).expect_err("QUEUE");
    assert!(
        matches!(e, CompileError::UnsupportedTarget { name: "QUEUE", .. }),
        "{e}"
    );
    // Only reachable entries matter: the same REJECT after an unconditional ACCEPT, or in a
    // chain nobody jumps to, is never run.
    let t = filter(
        vec![
            rule(ChainTarget::Accept),
            rule(ext("REJECT", 0, TargetValue::Reject(Reject { with: 0 }))),
        ],
        vec![],
    );
    assert!(compile(&t, IN, &opts()).is_ok());
    let t = filter(
        vec![rule(ChainTarget::Accept)],
        vec![(
            "unused",
            vec![rule(ext(
                "REJECT",
                0,
                TargetValue::Reject(Reject { with: 0 }),
            ))],
        )],
    );
    assert!(compile(&t, IN, &opts()).is_ok());
}

#[test]
fn conntrack_flags_needing_the_entry_are_refused() {
    use bpfilter_core::ext::matches::{Conntrack, MatchValue};
    use bpfilter_core::ir::Match;
    let mut r = rule(ChainTarget::Drop);
    let c = Conntrack {
        revision: 3,
        origsrc: [[0; 16]; 2],
        origdst: [[0; 16]; 2],
        replsrc: [[0; 16]; 2],
        repldst: [[0; 16]; 2],
        expires: [0, 0],
        l4proto: 0,
        ports: [0; 4],
        match_flags: 1 << 6, // --ctstatus
        invert_flags: 0,
        state_mask: 0,
        status_mask: 2,
        ports_high: [0; 4],
    };
    r.matches
        .push(Match::new("conntrack", 3, MatchValue::Conntrack(c)).expect("conntrack"));
    let e = compile(&filter(vec![r], vec![]), IN, &opts()).expect_err("refused");
    assert!(
        matches!(
            e,
            CompileError::UnsupportedMatch {
                name: "conntrack",
                revision: 3,
                ..
            }
        ),
        "{e}"
    );
}

/// A chain called from several sites becomes one subprogram; one called once is inlined.
#[test]
fn chain_plan() {
    let long: Vec<R> = (0..6)
        .map(|i| src(rule(ChainTarget::Return), [10, 0, 0, i], 32))
        .collect();
    let t = filter(
        vec![
            udp_dport(rule(jump("shared")), 1),
            udp_dport(rule(jump("shared")), 2),
            udp_dport(rule(jump("once")), 3),
        ],
        vec![("shared", long.clone()), ("once", long)],
    );
    let p = compile(&t, IN, &opts()).expect("compiles");
    assert_eq!(p.stats.subprograms, 1, "{:?}", p.stats);
    assert_eq!(p.stats.inlined_calls, 1, "{:?}", p.stats);
    // The entry screen (every INPUT rule starts with `-p udp`), the rules, `shared`.
    assert_eq!(p.stats.frames, 3);
    // Reachable: INPUT's rules and policy, both chains' rules and RETURN tails; not the
    // FORWARD and OUTPUT policies, the two ERROR heads and the end marker.
    assert_eq!(
        p.stats.reachable_entries,
        t.entries.len() - 5,
        "{:?}",
        p.entries
    );
}

/// Nine chains each jumping to the next, each also jumped to from INPUT twice: subprograms
/// would nest 10 frames deep, so some are inlined until 8 fit.
#[test]
fn deep_nesting_is_inlined_down_to_the_frame_limit() {
    let n = 9;
    let mut input = Vec::new();
    let mut chains = Vec::new();
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let port = u16::try_from(i).expect("port");
        input.push(udp_dport(rule(jump(name)), port + 100));
        input.push(udp_dport(rule(jump(name)), port + 200));
        let mut rules: Vec<R> = (0..6)
            .map(|k| {
                src(
                    rule(ChainTarget::Drop),
                    [10, 1, u8::try_from(i).expect("i"), k],
                    32,
                )
            })
            .collect();
        if let Some(next) = names.get(i + 1) {
            rules.push(rule(jump(next)));
        }
        chains.push((name.as_str(), rules));
    }
    let t = filter(input, chains);
    let p = compile(&t, IN, &opts()).expect("compiles");
    assert!(p.stats.frames <= MAX_FRAMES, "{:?}", p.stats);
    assert!(p.stats.inlined_for_depth, "{:?}", p.stats);
    assert!(p.stats.subprograms >= 1, "{:?}", p.stats);
}

/// A chain jumping to itself: the kernel's validation refuses such a table; compile must
/// not loop or overflow its stack either.
#[test]
fn loops_are_errors() {
    let mut t = filter(
        vec![rule(jump("a"))],
        vec![("a", vec![rule(ChainTarget::Accept)])],
    );
    // INPUT's jump lands on a's first rule; make that rule jump to itself.
    let Target::Jump(start) = t.entries[0].target else {
        panic!("INPUT's first entry is the jump")
    };
    t.entries[start].target = Target::Jump(start);
    let e = compile(&t, IN, &opts()).expect_err("loop");
    assert!(matches!(e, CompileError::Loop { .. }), "{e}");
}

fn handmade(entries: Vec<Rule>, hook_entry: usize, underflow: usize) -> Table {
    let mut he = [None; NF_INET_NUMHOOKS];
    let mut uf = [None; NF_INET_NUMHOOKS];
    he[IN] = Some(hook_entry);
    uf[IN] = Some(underflow);
    let mut name = TableName::new();
    name.push_str("filter");
    Table {
        name,
        valid_hooks: 1 << IN,
        entries,
        hook_entry: he,
        underflow: uf,
    }
}

#[test]
fn hand_made_tables_give_errors_not_panics() {
    // Hook entry out of range.
    let t = handmade(vec![Rule::new(Target::Accept)], 5, 0);
    assert!(matches!(
        compile(&t, IN, &opts()),
        Err(CompileError::BadIndex { .. })
    ));
    // A jump to no entry.
    let t = handmade(
        vec![Rule::new(Target::Jump(9)), Rule::new(Target::Accept)],
        0,
        1,
    );
    assert!(matches!(
        compile(&t, IN, &opts()),
        Err(CompileError::BadIndex { entry: 0 })
    ));
    // The walk runs off the end: the last entry is conditional.
    let mut last = Rule::new(Target::Accept);
    last.ip.proto = 6;
    let t = handmade(vec![Rule::new(Target::Drop), last], 1, 0);
    assert!(matches!(
        compile(&t, IN, &opts()),
        Err(CompileError::FallsOffTable { .. })
    ));
    // A policy that is not an unconditional verdict.
    let t = handmade(vec![Rule::new(Target::Return)], 0, 0);
    assert!(matches!(
        compile(&t, IN, &opts()),
        Err(CompileError::BadPolicy { entry: 0 })
    ));
    // A hook the table does not have.
    let t = handmade(vec![Rule::new(Target::Accept)], 0, 0);
    assert!(matches!(
        compile(&t, 4, &opts()),
        Err(CompileError::NoSuchHook { hook: 4 })
    ));
    // No ERROR entry: a jump overflows the kernel's jump stack, the program tracks depth.
    let t = handmade(
        vec![
            Rule::new(Target::Jump(2)),
            Rule::new(Target::Accept),
            Rule::new(Target::Return),
        ],
        0,
        1,
    );
    assert!(
        compile(&t, IN, &opts())
            .expect("compiles")
            .stats
            .tracks_depth
    );
}

#[test]
fn map_relocations_are_linked() {
    let t = filter(
        vec![limit(rule(log("x ")), 10_000, 5), rule(ChainTarget::Drop)],
        vec![],
    );
    let p = compile(&t, IN, &opts()).expect("compiles");
    assert_eq!(p.maps.counters, u32::try_from(t.entries.len()).expect("n"));
    assert_eq!((p.maps.limits, p.maps.log), (1, true));
    for kind in [MapKind::Counters, MapKind::Limits, MapKind::Log] {
        assert!(p.relocs.iter().any(|r| r.map == kind), "{kind:?} used");
    }
    let fd = |k: MapKind| {
        Some(match k {
            MapKind::Counters => 11,
            MapKind::Limits => 12,
            MapKind::Log => 13,
            MapKind::ExactClassifier(i) | MapKind::PrefixClassifier(i) => 20 + i as i32,
            MapKind::Cold(h) => 40 + h as i32,
        })
    };
    let linked = p.link(fd).expect("link");
    for r in &p.relocs {
        let i = linked[r.insn];
        assert!(i.is_ld_imm64() && i.src == BPF_PSEUDO_MAP_FD, "{i:?}");
        assert_eq!(Some(i.imm), fd(r.map));
    }
    assert_eq!(
        p.link(|_| None),
        Err(CompileError::MissingMap(p.relocs[0].map))
    );
}

/// 3,000 rules plus a 2,000-rule chain inlined in the middle: far beyond 16-bit jumps, so
/// the tails and the jump over the chain go through group proxies. Assembling must succeed
/// and every jump must land inside the program. (Neighbours differ in two fields, so no run
/// becomes a classifier.)
#[test]
fn large_programs_assemble() {
    let mut input: Vec<R> = (0..1500u32)
        .map(|i| {
            let b = i.to_be_bytes();
            let port = 22 + u16::from(b[3] & 1);
            tcp_dport(
                src(rule(ChainTarget::Accept), [10, b[2], b[3], 0], 24),
                port,
            )
        })
        .collect();
    input.push(udp_dport(rule(jump("big")), 9));
    input.extend((0..1500u32).map(|i| {
        let b = i.to_be_bytes();
        udp_dport(
            src(rule(ChainTarget::Drop), [11, b[2], b[3], 0], 24),
            53 + u16::from(b[3] & 1),
        )
    }));
    let big: Vec<R> = (0..2000u32)
        .map(|i| {
            let b = i.to_be_bytes();
            src(rule(ChainTarget::Return), [12, b[2], b[3], 0], 24)
        })
        .collect();
    let t = filter(input, vec![("big", big)]);
    let progs = compile_table(&t, &opts()).expect("compiles");
    let p = progs.iter().find(|p| p.hook == IN).expect("INPUT");
    assert!(p.insns.len() > 100_000, "{}", p.insns.len());
    assert_eq!(p.stats.inlined_calls, 1);
    let n = i64::try_from(p.insns.len()).expect("len");
    for (pc, i) in p.insns.iter().enumerate() {
        let class = i.code & 7;
        let op = i.code & 0xf0;
        if (class == 5 || class == 6) && op != 0x80 && op != 0x90 {
            let to = i64::try_from(pc).expect("pc") + 1 + i64::from(i.off);
            assert!((0..n).contains(&to), "jump at {pc} lands at {to}");
        }
    }
}

#[test]
fn log_events_decode_and_print_like_the_kernel() {
    let mut e = vec![0u8; usize::try_from(EVENT_SIZE).expect("size")];
    let put = |e: &mut Vec<u8>, at: usize, v: u32| e[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    let put16 =
        |e: &mut Vec<u8>, at: usize, v: u16| e[at..at + 2].copy_from_slice(&v.to_ne_bytes());
    put(&mut e, 0, 7);
    put(&mut e, 4, 1);
    put(&mut e, 8, 29);
    put(&mut e, 12, 0x10);
    e[16..19].copy_from_slice(b"lo\0");
    let pkt = [
        0x45, 0x00, 0x00, 0x1d, 0x12, 0x34, 0x40, 0x00, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        0x30, 0x39, 0x00, 0x35, 0x00, 0x09, 0, 0, b'!',
    ];
    put(&mut e, 48, 29);
    e[112..112 + pkt.len()].copy_from_slice(&pkt);
    // A loopback device: type 772, 14-byte header of zeros.
    put16(&mut e, 52, 772);
    put16(&mut e, 54, 14);
    put16(&mut e, 56, 64);
    put16(&mut e, 58, 78);
    put(&mut e, 60, 14);
    put(&mut e, 64, 1);
    put(&mut e, 68, 1000);
    put(&mut e, 72, 100);
    e[92] = 0x08;
    let ev = LogEvent::parse(&e).expect("parses");
    assert_eq!((ev.entry, ev.hook, ev.len, ev.mark), (7, 1, 29, 0x10));
    assert_eq!(ev.uid, Some((1000, 100)));
    let mut line = String::new();
    ev.write_line(b"in: ", 0, &mut line).expect("write");
    assert_eq!(
        line,
        "in: IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=10.0.0.1 DST=10.0.0.2 \
         LEN=29 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=UDP SPT=12345 DPT=53 LEN=9 MARK=0x10 "
    );
    // --log-uid adds the owner; a MAC header at the network header prints as `MAC= `.
    put16(&mut e, 56, 78);
    let ev = LogEvent::parse(&e).expect("parses");
    let mut line = String::new();
    ev.write_line(b"", 0x08, &mut line).expect("write");
    assert!(line.starts_with("IN=lo OUT= MAC= SRC="), "{line}");
    assert!(
        line.ends_with("LEN=9 UID=1000 GID=100 MARK=0x10 "),
        "{line}"
    );
    // A captured length beyond the buffer is refused, and so is a short record.
    put(&mut e, 48, CAPTURE_LEN + 1);
    assert!(LogEvent::parse(&e).is_none());
    put(&mut e, 48, 29);
    put(&mut e, 60, 33);
    assert!(LogEvent::parse(&e).is_none());
    assert!(LogEvent::parse(&e[..40]).is_none());
}

/// A 20-rule port run in INPUT and a 20-rule prefix run in a user chain: each is one map
/// lookup in the program that reaches it, the maps are the table's (the same list in every
/// hook's program), and the entries around a run stay ordinary rules. A jump into the middle
/// of a run compiles that walk's entries one by one.
#[test]
fn runs_become_classifiers_in_the_programs_that_reach_them() {
    use bpfilter_core::codegen::classify::{Key, KeyField};
    let mut input: Vec<R> = (0..20u16)
        .map(|i| udp_dport(src(rule(ChainTarget::Accept), [10, 0, 0, 2], 32), 1000 + i))
        .collect();
    input.push(rule(jump("nets")));
    let nets: Vec<R> = (0..20u8)
        .map(|i| src(rule(ChainTarget::Drop), [192, 168, i, 0], 24))
        .collect();
    let t = filter(input, vec![("nets", nets)]);
    let progs = compile_table(&t, &opts()).expect("compiles");
    let p = progs.iter().find(|p| p.hook == IN).expect("INPUT");
    assert_eq!(
        (p.stats.classified_runs, p.stats.classified_entries),
        (2, 40)
    );
    assert_eq!(p.classifiers.len(), 2);
    let keys: Vec<KeyField> = p.classified().map(|c| c.key).collect();
    assert_eq!(keys, [KeyField::Dport, KeyField::Saddr]);
    let ports = &p.classifiers[0];
    assert_eq!((ports.first, ports.len, ports.elems.len()), (0, 20, 20));
    assert_eq!(ports.elems[0].key, Key::Port(1000));
    assert_eq!((ports.elems[0].entry, ports.elems[0].verdict), (0, 1));
    let prefixes = &p.classifiers[1];
    assert!(prefixes.elems.iter().all(|e| e.verdict == 0));
    assert!(prefixes.elems.iter().any(|e| e.key
        == Key::Prefix {
            addr: 0xC0A8_0300,
            len: 24
        }));
    for (i, kind) in [MapKind::ExactClassifier(0), MapKind::PrefixClassifier(1)]
        .into_iter()
        .enumerate()
    {
        assert!(p.relocs.iter().any(|r| r.map == kind), "map {i} used");
    }
    // The other hooks reach no run but list the same maps.
    for q in progs.iter().filter(|q| q.hook != IN) {
        assert_eq!(q.classifiers, p.classifiers);
        assert_eq!(q.classified().count(), 0);
    }

    // A jump into the middle of the port run (entry 6; entry 0 jumps): the main walk still
    // holds the whole run (one lookup), the jumped-to walk holds entries 6..=20 only and
    // compiles them as ordinary rules.
    let mut input: Vec<R> = vec![proto(rule(ChainTarget::Drop), 47)];
    input.extend(
        (0..20u16).map(|i| udp_dport(src(rule(ChainTarget::Accept), [10, 0, 0, 2], 32), 1000 + i)),
    );
    let mut t = filter(input, vec![]);
    t.entries[0].target = Target::Jump(6);
    let p = compile(&t, IN, &opts()).expect("compiles");
    assert_eq!(
        (p.stats.classified_runs, p.stats.classified_entries),
        (1, 20)
    );
    for k in 6..=20 {
        assert!(
            p.spans.iter().any(|s| s.entry == k),
            "entry {k} compiled on its own"
        );
    }
    assert!(
        !p.spans.iter().any(|s| s.entry == 2),
        "entry 2 only inside the run"
    );
}

#[test]
fn hot_prefix_hint_follows_the_old_rulesets_traffic() {
    use bpfilter_core::codegen::{hot_entries_hint, DEFAULT_HOT_ENTRIES, MAX_HOT_ENTRIES};
    let rules: Vec<R> = (0..3000u32)
        .map(|i| {
            let b = i.to_be_bytes();
            proto(src(rule(ChainTarget::Accept), [10, b[2], b[3], 1], 32), 17)
        })
        .collect();
    let t = filter(rules, vec![]);
    let n = t.entries.len();
    let start = t.hook_entry[IN].expect("INPUT");
    let mut c = vec![(0u64, 0u64); n];
    // No traffic: the default.
    assert_eq!(hot_entries_hint(&t, &c, n), DEFAULT_HOT_ENTRIES);
    // Most packets decided at rule 2,500 of INPUT; a trickle further down stays cold.
    c[start + 10].0 = 5_000;
    c[start + 2_500].0 = 4_000;
    c[start + 2_900].0 = 3;
    assert_eq!(hot_entries_hint(&t, &c, n), 2_501);
    // Ten rules more in the new ruleset: ten more inline.
    assert_eq!(hot_entries_hint(&t, &c, n + 10), 2_511);
    // Policy hits do not pull the prefix (every rule was crossed anyway) ...
    let uf = t.underflow[IN].expect("policy");
    c[uf].0 = 1_000_000;
    assert_eq!(
        hot_entries_hint(&t, &c, n),
        2_501,
        "4,000 of 1,009,003 is over a thousandth"
    );
    c[start + 2_500].0 = 500;
    assert_eq!(
        hot_entries_hint(&t, &c, n),
        DEFAULT_HOT_ENTRIES,
        "only rule 10 is hot now"
    );
    // ... and the cap holds.
    assert!(hot_entries_hint(&t, &c, n + 100_000) <= MAX_HOT_ENTRIES);
}

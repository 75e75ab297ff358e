//! core::eval's no-panic contract, by property: any hand-built table (jumps anywhere, dangling
//! ones, loops, ERROR entries, hooks in and out of range), match payloads of any bytes for
//! every supported extension, any packet bytes, any facts: `run` returns, within its step
//! bound, and what it reports stays inside the table.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use bpfilter_core::eval::{Ct, EvalError, EvalState, Evaluator, Input, Skb};
use bpfilter_core::ext::matches::MatchValue;
use bpfilter_core::ext::{lookup, Kind};
use bpfilter_core::ir::{ErrorName, Iface, IpMatch, Match, Rule, Table, TableName, Target};
use bpfilter_core::uapi::xt_align;
use proptest::prelude::*;
use std::net::Ipv4Addr;

/// Every match core::eval implements, plus one it does not.
const MATCHES: [(&str, u8); 15] = [
    ("tcp", 0),
    ("udp", 0),
    ("icmp", 0),
    ("multiport", 1),
    ("iprange", 1),
    ("comment", 0),
    ("length", 0),
    ("ttl", 0),
    ("mark", 1),
    ("pkttype", 0),
    ("mac", 0),
    ("state", 0),
    ("conntrack", 3),
    ("limit", 0),
    ("statistic", 0),
];

fn a_match() -> impl Strategy<Value = Match> {
    (0..MATCHES.len(), any::<u64>()).prop_map(|(i, seed)| {
        let (name, rev) = MATCHES[i];
        let desc = lookup(Kind::Match, name.as_bytes(), rev).unwrap();
        let n = xt_align(desc.size).unwrap();
        // Cheap deterministic bytes from the seed.
        let mut x = seed | 1;
        let payload = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x & 0xFF) as u8
            })
            .collect();
        Match {
            desc,
            value: MatchValue::Other(payload),
            name_field: None,
            raw: None,
        }
    })
}

fn a_target(n: usize) -> impl Strategy<Value = Target> {
    let idx = 0..n + 3;
    prop_oneof![
        Just(Target::Accept),
        Just(Target::Drop),
        Just(Target::Queue),
        Just(Target::Return),
        idx.clone().prop_map(Target::Jump),
        idx.prop_map(Target::Goto),
        Just(Target::DanglingJump {
            offset: 8,
            goto: false
        }),
        Just(Target::Error(ErrorName::new(b"ERROR").unwrap())),
    ]
}

fn an_ip() -> impl Strategy<Value = IpMatch> {
    (
        any::<[u32; 4]>(),
        any::<u16>(),
        any::<bool>(),
        any::<u8>(),
        prop::sample::select(vec!["", "in0", "in+", "+", "eth0"]),
    )
        .prop_map(|(a, proto, frag, inv, name)| {
            let mut ip = IpMatch {
                src: Ipv4Addr::from(a[0]),
                smsk: Ipv4Addr::from(a[1] & 0xFF00_0000),
                dst: Ipv4Addr::from(a[2]),
                dmsk: Ipv4Addr::from(a[3] & 0xF000_0000),
                proto: proto % 300,
                frag,
                ..IpMatch::default()
            };
            ip.inv = bpfilter_core::ir::Inversions::from_bits(inv);
            ip.iniface = Iface::parse(name).unwrap();
            ip
        })
}

fn a_table() -> impl Strategy<Value = Table> {
    (1usize..10).prop_flat_map(|n| {
        (
            prop::collection::vec(
                (an_ip(), prop::collection::vec(a_match(), 0..3), a_target(n)),
                n,
            ),
            prop::array::uniform5(0..n + 2),
            prop::array::uniform5(0..n + 2),
        )
            .prop_map(move |(rules, he, uf)| {
                let entries = rules
                    .into_iter()
                    .map(|(ip, matches, target)| {
                        let mut r = Rule::new(target);
                        r.ip = ip;
                        r.matches = matches;
                        r
                    })
                    .collect();
                let mut name = TableName::new();
                name.push_str("filter");
                Table {
                    name,
                    valid_hooks: 0b1110,
                    entries,
                    hook_entry: he.map(Some),
                    underflow: uf.map(Some),
                }
            })
    })
}

fn a_ct() -> impl Strategy<Value = Ct> {
    prop_oneof![
        Just(Ct::Invalid),
        Just(Ct::Untracked),
        Just(Ct::New),
        any::<bool>().prop_map(|reply| Ct::Established { reply }),
        any::<bool>().prop_map(|reply| Ct::Related { reply }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn run_returns_and_stays_in_the_table(
        t in a_table(),
        hook in 0usize..6,
        data in prop::collection::vec(any::<u8>(), 0..80),
        ihl in 0u8..16,
        ct in a_ct(),
        mark in any::<u32>(),
        pkt_type in 0u8..8,
        now in any::<u32>(),
    ) {
        let mut data = data;
        if let Some(b) = data.first_mut() {
            *b = 0x40 | ihl;
        }
        let ev = Evaluator::new(&t).with_max_steps(2_000);
        let mut st = ev.state(0);
        let skb = Skb { mark, ct, ct_status: mark, pkt_type, src_mac: Some([2, 0, 0, 0, 0, 1]) };
        for _ in 0..2 {
            let input = Input { hook, data: &data, indev: b"in0", outdev: b"", skb };
            match ev.run(&mut st, &input, u64::from(now)) {
                Ok(o) => {
                    prop_assert!(o.decided_by < t.entries.len());
                    prop_assert!(o.counted.iter().all(|&e| e < t.entries.len()));
                    prop_assert!(o.logs.is_empty());
                }
                Err(EvalError::BadEntry { entry }) => prop_assert!(entry <= t.entries.len() + 3),
                Err(_) => {}
            }
        }
        // A state made for another table is an error value at worst, never a panic.
        let mut one = t.clone();
        one.entries.truncate(1);
        let mut stale = EvalState::new(&one, 0);
        let input = Input { hook, data: &data, indev: b"", outdev: b"out0", skb };
        let _ = ev.run(&mut stale, &input, 7);
    }
}

//! Properties of the builder, the emitter, the reader and the chain view on random rulesets
//! (standard targets; jumps between user chains only "forward" in name order so the kernel's
//! loop check passes):
//!
//! * `build` -> `to_replace` -> `validate_replace` -> `from_validated` gives the same table;
//! * the chain view of a built table is the ruleset again (in iptables' chain order);
//! * `save` prints one `-A` line per rule and never panics;
//! * arbitrary hand-made tables (out-of-range jumps, missing hooks) never make an emitter or
//!   the chain view panic, and `check` says which ones are not emittable.

#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use bpfilter_core::blob::ReplaceView;
use bpfilter_core::ir::{
    Chain, ChainName, ChainTarget, Iface, Inversions, IpMatch, Rule, Ruleset, Table, Target,
    Verdict,
};
use bpfilter_core::uapi::{table_by_name, TABLES, XT_ERROR_TARGET};
use bpfilter_core::validate::{validate_replace, FreshNamespace, Validated};
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn ip_match() -> impl Strategy<Value = IpMatch> {
    let iface = prop_oneof![
        Just(Iface::ANY),
        "[a-z]{1,6}[0-9]?\\+?".prop_map(|s| Iface::parse(&s).unwrap()),
    ];
    (
        (any::<u32>(), 0u32..=32, any::<u32>(), 0u32..=32),
        (iface.clone(), iface),
        prop_oneof![Just(0u16), 1u16..=300],
        (any::<bool>(), 0u8..0x80),
    )
        .prop_map(|((s, sl, d, dl), (i, o), proto, (frag, inv))| {
            let mask = |l: u32| u32::MAX.checked_shl(32 - l).unwrap_or(0);
            IpMatch {
                src: Ipv4Addr::from(s & mask(sl)),
                smsk: Ipv4Addr::from(mask(sl)),
                dst: Ipv4Addr::from(d & mask(dl)),
                dmsk: Ipv4Addr::from(mask(dl)),
                iniface: i,
                outiface: o,
                proto,
                frag,
                goto_flag: false,
                inv: Inversions::from_bits(inv),
            }
        })
}

/// A target drawn from `n_user` user chains; `Some(k)` = may only jump to chains `> k`.
#[derive(Clone, Debug)]
enum T {
    Accept,
    Drop,
    Queue,
    Return,
    Fall,
    Jump(usize, bool),
}

fn target() -> impl Strategy<Value = T> {
    prop_oneof![
        Just(T::Accept),
        Just(T::Drop),
        Just(T::Queue),
        Just(T::Return),
        Just(T::Fall),
        (any::<usize>(), any::<bool>()).prop_map(|(j, g)| T::Jump(j, g)),
    ]
}

fn rule() -> impl Strategy<Value = (IpMatch, u32, (u64, u64), T)> {
    (ip_match(), any::<u32>(), any::<(u64, u64)>(), target())
}

fn ruleset() -> impl Strategy<Value = Ruleset> {
    (
        0..TABLES.len(),
        prop::collection::btree_set("[A-Za-z_][A-Za-z0-9_-]{0,27}", 0..6),
        prop::collection::vec(prop::collection::vec(rule(), 0..5), 11),
        prop::collection::vec((any::<bool>(), any::<(u64, u64)>()), 5),
    )
        .prop_map(|(ti, names, rules, policies)| {
            let info = &TABLES[ti];
            let mut rs = Ruleset::new(info);
            // Built-in names are taken by the built-in chains.
            let names: Vec<String> = names
                .into_iter()
                .filter(|n| rs.chain_mut(n).is_none())
                .collect();
            let n_builtin = rs.chains.len();
            for n in &names {
                let mut c = Chain::user(n).unwrap();
                c.counters = (7, 8);
                rs.chains.push(c);
            }
            for (ci, c) in rs.chains.iter_mut().enumerate() {
                if let Some(h) = c.hook {
                    let (drop, cnt) = policies[h];
                    c.policy = Some(if drop { Verdict::Drop } else { Verdict::Accept });
                    c.counters = cnt;
                }
                // names are sorted: user chain k may only jump to user chains > k.
                let lowest = if c.hook.is_some() {
                    0
                } else {
                    ci - n_builtin + 1
                };
                for (ip, nfcache, counters, t) in &rules[ci % rules.len()] {
                    let target = match t {
                        T::Accept => ChainTarget::Accept,
                        T::Drop => ChainTarget::Drop,
                        T::Queue => ChainTarget::Queue,
                        T::Return => ChainTarget::Return,
                        T::Fall => ChainTarget::Fallthrough { goto: false },
                        T::Jump(j, g) if lowest < names.len() => {
                            let to = lowest + j % (names.len() - lowest);
                            let name = ChainName::new(names[to].as_bytes()).unwrap();
                            if *g {
                                ChainTarget::Goto(name)
                            } else {
                                ChainTarget::Jump(name)
                            }
                        }
                        T::Jump(..) => ChainTarget::Accept,
                    };
                    let mut r = Rule::new(target);
                    r.ip = *ip;
                    r.nfcache = *nfcache;
                    r.counters = *counters;
                    c.rules.push(r);
                }
            }
            rs
        })
}

/// A `Validated` for an emitted optval, without the validator (hook masks 0).
fn walked(optval: &[u8]) -> Validated<'_> {
    let view = ReplaceView::new(optval).unwrap();
    let hdr = view.header();
    let entries = view.entries().unwrap();
    let table = *table_by_name(&hdr.name).unwrap();
    let offsets: Vec<u32> = entries.iter().map(|e| e.pos() as u32).collect();
    let pick = |a: &[zerocopy::little_endian::U32; 5]| {
        std::array::from_fn(|h| {
            if table.valid_hooks & (1 << h) != 0 {
                a[h].get()
            } else {
                u32::MAX
            }
        })
    };
    Validated {
        header: hdr,
        entries,
        table,
        hook_mask: vec![0; offsets.len()],
        offsets,
        hook_entry: pick(&hdr.hook_entry),
        underflow: pick(&hdr.underflow),
        stacksize: entries
            .iter()
            .filter(|e| e.target().unwrap().name() == XT_ERROR_TARGET)
            .count() as u32,
    }
}

/// The ruleset in iptables' order, as the chain view returns it.
fn normalized(rs: &Ruleset) -> Ruleset {
    let mut out = rs.clone();
    out.chains.sort_by(|a, b| {
        (a.hook.is_none(), a.hook, &a.name).cmp(&(b.hook.is_none(), b.hook, &b.name))
    });
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn build_emit_read_roundtrip(rs in ruleset()) {
        let t = rs.build().unwrap();
        t.check().unwrap();
        let info = table_by_name(t.name.as_bytes()).unwrap();
        let optval = t.to_replace(info.initial_entries, 0);

        let back = Table::from_validated(&walked(&optval)).unwrap();
        prop_assert_eq!(&back, &t);
        prop_assert_eq!(t.chains(), normalized(&rs));
        prop_assert!(t.is_iptables_layout());

        let mut s = String::new();
        t.save(&mut s);
        let rules: usize = rs.chains.iter().map(|c| c.rules.len()).sum();
        prop_assert_eq!(s.lines().filter(|l| l.starts_with("-A ")).count(), rules);
    }

    #[test]
    fn built_tables_pass_validate_replace(rs in ruleset()) {
        let t = rs.build().unwrap();
        let info = table_by_name(t.name.as_bytes()).unwrap();
        let optval = t.to_replace(info.initial_entries, 0);
        let v = validate_replace(&optval, &FreshNamespace::default());
        prop_assert!(v.is_ok(), "{:?}", v.err());
        let v = v.unwrap();
        prop_assert_eq!(&Table::from_validated(&v).unwrap(), &t);
        prop_assert_eq!(t.to_get_entries(&v.hook_mask, &[]).len(), optval.len() - 96);
    }

    #[test]
    fn hand_made_tables_never_panic(
        n in 0usize..6,
        jumps in prop::collection::vec((0usize..10, any::<bool>(), 0u32..5000), 6),
        hooks in prop::collection::vec(prop::option::of(0usize..8), 10),
        valid_hooks in 0u32..0x40,
    ) {
        let mut entries = Vec::new();
        for &(to, goto, off) in jumps.iter().take(n) {
            entries.push(Rule::new(match (to % 3, goto) {
                (0, _) => Target::DanglingJump { offset: off, goto },
                (_, false) => Target::Jump(to),
                (_, true) => Target::Goto(to),
            }));
        }
        let t = Table {
            name: "filter".try_into().unwrap(),
            valid_hooks,
            entries,
            hook_entry: std::array::from_fn(|h| hooks[h]),
            underflow: std::array::from_fn(|h| hooks[h + 5]),
        };
        let ok = t.check().is_ok();
        let blob = t.to_entries();
        let _ = t.to_replace(1, 0);
        let _ = t.get_info();
        let _ = t.to_get_entries(&[1, 2], &[(1, 1)]);
        let rs = t.chains();
        let mut s = String::new();
        t.save(&mut s);
        let _ = rs.build();
        if ok {
            prop_assert_eq!(blob.len() as u32, *t.layout().unwrap().last().unwrap());
        }
    }
}

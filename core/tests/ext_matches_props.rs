//! Properties of `MatchValue` over arbitrary payloads of every registered match: parsing
//! never fails for a payload of the right size, encoding always yields `XT_ALIGN(size)`
//! bytes with the kernel-private tail zeroed, encoding is a fixed point, and printing never
//! panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bpfilter_core::ext::matches::{visible_len, MatchValue, REGISTRY};
use bpfilter_core::uapi::xt_align;
use proptest::prelude::*;

fn any_case() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (0..REGISTRY.len()).prop_flat_map(|i| {
        let len = xt_align(REGISTRY[i].size).unwrap();
        // Mostly-zero payloads look like iptables' (and hit the typed forms); fully random
        // ones exercise the fallback.
        let sparse = proptest::collection::vec(prop_oneof![8 => Just(0u8), 2 => any::<u8>()], len);
        let dense = proptest::collection::vec(any::<u8>(), len);
        (Just(i), prop_oneof![sparse, dense])
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn parse_encode_is_a_fixed_point((i, payload) in any_case()) {
        let desc = &REGISTRY[i];
        let v = MatchValue::parse(desc, &payload).unwrap();
        let mut once = Vec::new();
        v.encode(desc, &mut once);
        prop_assert_eq!(once.len(), payload.len());
        let visible = visible_len(desc).min(once.len());
        // What GET_ENTRIES returns: the visible part as given, zeros after it (the two
        // checkentry rewrites aside: helper, hashlimit revision 3, set revision 0).
        if !matches!((desc.name, desc.revision), ("helper", 0) | ("hashlimit", 3) | ("set", 0)) {
            prop_assert_eq!(&once[..visible], &payload[..visible]);
        }
        prop_assert!(once[visible..].iter().all(|&b| b == 0));
        let again = MatchValue::parse(desc, &once).unwrap();
        let mut twice = Vec::new();
        again.encode(desc, &mut twice);
        prop_assert_eq!(&twice, &once);
        let mut s = String::new();
        let _ = again.save(&mut s);
    }

    #[test]
    fn wrong_sizes_do_not_parse((i, mut payload) in any_case(), extra in 1usize..16) {
        let desc = &REGISTRY[i];
        payload.extend(std::iter::repeat_n(0, extra));
        prop_assert!(MatchValue::parse(desc, &payload).is_none());
    }
}

/// Every typed match comes back typed for an all-zero payload except where zero is not
/// what iptables would ever produce but is still a valid value: zero must not fall back.
#[test]
fn zero_payloads_are_typed() {
    for d in REGISTRY {
        let p = vec![0u8; xt_align(d.size).unwrap()];
        let v = MatchValue::parse(d, &p).unwrap();
        let typed = !matches!(v, MatchValue::Other(_));
        let expect = matches!(
            (d.name, d.revision),
            ("tcp", 0)
                | ("udp", 0)
                | ("icmp", 0)
                | ("multiport", 1)
                | ("iprange", 1)
                | ("comment", 0)
                | ("mark", 1)
                | ("length", 0)
                | ("ttl", 0)
                | ("pkttype", 0)
                | ("mac", 0)
                | ("limit", 0)
                | ("state", 0)
                | ("conntrack", 1..=3)
                | ("physdev", 0)
                | ("set", 0..=4)
                | ("owner", 1)
                | ("addrtype", 0..=1)
        );
        assert_eq!(typed, expect, "{}/{}", d.name, d.revision);
    }
}

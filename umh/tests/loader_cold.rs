//! Cold mode at the size the issue asks for: 100,000 rules that no classifier can merge
//! (every rule differs from its neighbours in two fields) load, the first 1,000 inline and the
//! rest interpreted, and packets deciding at the first, the hot/cold boundary, the last rule
//! and the policy get the verdict and the counters `core::eval` computes.

mod loader_support;

use bpfilter_core::codegen::DEFAULT_HOT_ENTRIES;
use bpfilter_core::eval::{EvalState, Evaluator, Input, Skb};
use bpfilter_core::uapi::NF_INET_LOCAL_IN as IN;
use loader_support::{expect, load, udp, Ip, ACCEPT, DROP, UDP};

const N: usize = 100_000;

/// Rule `i`: `-s 10.B.C.A/32 -p udp --dport 1000 + i % 50000 -j ACCEPT`.
fn source(i: usize) -> [u8; 4] {
    let a = u8::try_from(10 + (i >> 16)).expect("a");
    let b = u8::try_from((i >> 8) & 255).expect("b");
    let c = u8::try_from(i & 255).expect("c");
    [10, b, c, a]
}

fn port(i: usize) -> u16 {
    u16::try_from(1000 + i % 50_000).expect("port")
}

#[test]
fn hundred_thousand_rules_load_and_enforce() {
    let mut text =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..N {
        let [w, x, y, z] = source(i);
        text.push_str(&format!(
            "-A INPUT -s {w}.{x}.{y}.{z}/32 -p udp --dport {} -j ACCEPT\n",
            port(i)
        ));
    }
    text.push_str("COMMIT\n");
    let (table, loaded) = load(&text);
    let input = loaded.hooks.iter().find(|h| h.hook == IN).expect("INPUT");
    assert_eq!(input.compiled.stats.hot_entries, Some(DEFAULT_HOT_ENTRIES));
    assert!(input.compiled.cold.is_some(), "INPUT runs in cold mode");
    assert_eq!(
        input.compiled.stats.classified_runs, 0,
        "nothing to classify"
    );

    let eval = Evaluator::new(&table);
    let dst = [10, 0, 0, 1];
    // (rule index or None for the policy, the packet)
    let cases = [
        (Some(0), 0usize, port(0)),
        (
            Some(DEFAULT_HOT_ENTRIES - 1),
            DEFAULT_HOT_ENTRIES - 1,
            port(DEFAULT_HOT_ENTRIES - 1),
        ),
        (
            Some(DEFAULT_HOT_ENTRIES),
            DEFAULT_HOT_ENTRIES,
            port(DEFAULT_HOT_ENTRIES),
        ),
        (Some(N / 2 + 7), N / 2 + 7, port(N / 2 + 7)),
        (Some(N - 1), N - 1, port(N - 1)),
        // The right source with another rule's port: no rule, the policy.
        (None, N - 1, port(N - 2)),
    ];
    for (want, src_of, dport) in cases {
        let pkt = Ip::new(source(src_of), dst, UDP).packet(&udp(4321, dport, b"cold"));
        let (verdict, entry) = match want {
            Some(i) => (ACCEPT, i),
            None => (DROP, N),
        };
        expect(
            &loaded,
            IN,
            &pkt,
            verdict,
            &[entry],
            &format!("rule {want:?}"),
        );
        // The reference evaluator agrees.
        let input = Input {
            hook: IN,
            data: &pkt,
            indev: b"veth0",
            outdev: b"",
            skb: Skb::default(),
        };
        let mut st = EvalState::new(&table, 0);
        let out = eval.run(&mut st, &input, 0).expect("eval");
        assert_eq!(
            (out.decided_by, out.counted.clone()),
            (entry, vec![entry]),
            "core::eval for rule {want:?}"
        );
    }
}

//! Large rulesets: load time and verifier work at 1,000 rules with user chains and at
//! 10,000 rules, and the per-packet cost at 1/10/100/1000 rules. The figures are printed
//! (`cargo test -p bpfilter-umh --test loader_scale -- --nocapture`), not asserted: they
//! depend on the machine. What is asserted is that the programs load and decide right.

mod loader_support;

use bpfilter_core::uapi::NF_INET_LOCAL_IN as IN;
use bpfilter_umh::cli::compile::{loader_options, tables_from_save};
use bpfilter_umh::loader::{self, LoadedTable};
use loader_support::*;
use std::fmt::Write;

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `n` INPUT rules `-s 10.A.B.0/24 -p tcp --dport P -j ACCEPT` (none matches 192.0.2.1),
/// and `chains` user chains of `per_chain` rules each, jumped to from INPUT (twice each,
/// so they stay subprograms) and from the previous chain.
fn ruleset(n: usize, chains: usize, per_chain: usize) -> String {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut s =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for c in 0..chains {
        let _ = writeln!(s, ":chain{c} - [0:0]");
    }
    for i in 0..n {
        let _ = writeln!(
            s,
            "-A INPUT -s 10.{}.{}.0/24 -p tcp --dport {} -j ACCEPT",
            r.next(250) + 1,
            i % 250,
            r.next(60000) + 1
        );
        if chains > 0 && i % (n / (2 * chains)).max(1) == 0 {
            let c = (i / (n / (2 * chains)).max(1)) % chains;
            let _ = writeln!(s, "-A INPUT -p udp --dport {} -j chain{c}", 1000 + i);
        }
    }
    for c in 0..chains {
        for _ in 0..per_chain {
            let t = ["ACCEPT", "DROP", "RETURN"][usize::try_from(r.next(3)).unwrap_or(0)];
            let _ = writeln!(
                s,
                "-A chain{c} -d 192.168.{}.{} -p udp --sport {} -j {t}",
                r.next(250),
                r.next(250),
                r.next(60000) + 1
            );
        }
        if c + 1 < chains {
            let _ = writeln!(s, "-A chain{c} -p udp --sport 7 -j chain{}", c + 1);
        }
    }
    s.push_str("COMMIT\n");
    s
}

fn load_text(text: &str) -> LoadedTable {
    let t = tables_from_save(text.as_bytes())
        .expect("restore")
        .remove(0)
        .table;
    match loader::load_table(&t, &loader_options().expect("BTF")) {
        Ok(l) => l,
        Err(e) => panic!(
            "{}",
            e.to_string()
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn report(what: &str, l: &LoadedTable) {
    let h = l.hook(IN).expect("INPUT");
    let s = &h.stats;
    println!(
        "{what}: INPUT {} entries reachable, {} insns, {} processed insns, JIT {} bytes, load {:?}, \
         {} subprograms, {} frames",
        h.compiled.stats.reachable_entries,
        s.insn_cnt,
        s.processed_insns.unwrap_or_default(),
        s.jited_len,
        s.load_time,
        h.compiled.stats.subprograms,
        h.compiled.stats.frames
    );
}

#[test]
fn thousand_rules_with_user_chains() {
    let l = load_text(&ruleset(700, 6, 50));
    report("1,000 rules, 6 chains", &l);
    let h = l.hook(IN).expect("INPUT");
    assert!(h.compiled.stats.reachable_entries >= 1000);
    assert!(h.compiled.stats.subprograms >= 1, "{:?}", h.compiled.stats);
    // Nothing matches this packet: the policy decides.
    let p = Ip::new([192, 0, 2, 1], [192, 0, 2, 2], TCP).packet(&tcp(1, 2, ACK, &[], b""));
    let r = run(&l, IN, &p);
    assert_eq!(r.verdict, ACCEPT);
}

#[test]
fn ten_thousand_rules() {
    let l = load_text(&ruleset(10_000, 0, 0));
    report("10,000 rules", &l);
    let p = Ip::new([192, 0, 2, 1], [192, 0, 2, 2], TCP).packet(&tcp(1, 2, ACK, &[], b""));
    let r = run(&l, IN, &p);
    assert_eq!((r.verdict, r.counted.len()), (ACCEPT, 1));
    let t = l.test_run(IN, &p, 100_000).expect("run");
    println!(
        "10,000 rules: {} ns per packet through every rule",
        t.duration_ns
    );
}

#[test]
fn nanoseconds_per_packet() {
    for n in [1usize, 10, 100, 1000] {
        let l = load_text(&ruleset(n, 0, 0));
        let p = Ip::new([192, 0, 2, 1], [192, 0, 2, 2], TCP).packet(&tcp(1, 2, ACK, &[], b""));
        assert_eq!(run(&l, IN, &p).verdict, ACCEPT);
        let t = l.test_run(IN, &p, 1_000_000).expect("run");
        println!(
            "{n:5} rules: {:4} ns per packet (no rule matches), {} insns",
            t.duration_ns,
            l.hook(IN).expect("INPUT").stats.insn_cnt
        );
    }
}

//! A chain that always ends the walk, inlined at its call site, leaves the caller's code after
//! it dead; the verifier refuses dead code ("unreachable insn"). Found by
//! `bpfilter-verify verdicts` (edges a and c): 67 of 1055 rulesets failed to load.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod codegen_compile_support;

use bpfilter_core::codegen::{compile_table, eliminate_dead_code};
use bpfilter_core::ir::{Chain, ChainName, ChainTarget, Rule, Ruleset};
use bpfilter_core::uapi::table_by_name;
use codegen_compile_support::opts;

fn jump(to: &str) -> ChainTarget {
    ChainTarget::Jump(ChainName::new(to.as_bytes()).unwrap())
}

#[test]
fn no_dead_code_after_a_chain_that_always_decides() {
    // -A OUTPUT -p udp -j c0; -A c0 -p sctp -j c2; -A c2 -j c3; -A c3 -j ACCEPT
    let mut rs = Ruleset::new(table_by_name(b"filter").unwrap());
    for c in ["c0", "c2", "c3"] {
        rs.chains.push(Chain::user(c).unwrap());
    }
    let mut r = Rule::new(jump("c0"));
    r.ip.proto = 17;
    rs.chain_mut("OUTPUT").unwrap().rules.push(r);
    let mut r = Rule::new(jump("c2"));
    r.ip.proto = 132;
    rs.chain_mut("c0").unwrap().rules.push(r);
    rs.chain_mut("c2")
        .unwrap()
        .rules
        .push(Rule::new(jump("c3")));
    rs.chain_mut("c3")
        .unwrap()
        .rules
        .push(Rule::new(ChainTarget::Accept));
    let table = rs.build().unwrap();
    for p in compile_table(&table, &opts()).unwrap() {
        let (_, dropped) = eliminate_dead_code(p.insns.clone()).unwrap();
        assert!(
            dropped.is_none(),
            "hook {}: dead code left in\n{}",
            p.hook,
            p.disasm()
        );
        for r in &p.relocs {
            assert!(p.insns[r.insn].is_ld_imm64(), "relocation off an ld_imm64");
        }
    }
}

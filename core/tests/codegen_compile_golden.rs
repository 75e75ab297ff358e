//! Golden disassembly of the code generator's output for a few small rulesets, with made-up
//! kfunc ids and struct offsets (see `codegen_compile_support::opts`). A change in the
//! generated code shows up here as a diff to review; `BLESS=1 cargo test -p bpfilter-core
//! --test codegen_compile_golden` rewrites the files after a deliberate change.
//!
//! Each golden file starts with the ruleset it was made from.

mod codegen_compile_support;

use bpfilter_core::codegen::compile;
use bpfilter_core::ir::{ChainTarget, Table};
use bpfilter_core::uapi::NF_INET_LOCAL_IN as IN;
use codegen_compile_support::*;
use std::path::PathBuf;

fn check(name: &str, story: &str, table: &Table, opts: &bpfilter_core::codegen::CompileOptions) {
    let p = compile(table, IN, opts).expect("compiles");
    let text = format!("{story}\n{}", p.disasm());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/codegen_compile_golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &text).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create it)", path.display()));
    if want != text {
        let first = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        panic!(
            "{name}: the generated code changed at line {}:\n  golden: {:?}\n  now:    {:?}\n\
             (BLESS=1 rewrites the golden file)",
            first + 1,
            want.lines().nth(first),
            text.lines().nth(first)
        );
    }
}

#[test]
fn policy_only() {
    check(
        "policy_only",
        "# filter, INPUT: no rules, policy ACCEPT",
        &filter(vec![], vec![]),
        &opts(),
    );
}

#[test]
fn one_tcp_rule() {
    check(
        "one_tcp_rule",
        "# -A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT",
        &filter(
            vec![tcp_dport(
                src(rule(ChainTarget::Accept), [10, 0, 0, 0], 8),
                22,
            )],
            vec![],
        ),
        &opts(),
    );
}

/// Without direct reads (a kernel whose verifier refuses `bpf_rdonly_cast(p, 0)`) every
/// header read goes through the dynptr kfuncs.
#[test]
fn one_tcp_rule_dynptr_only() {
    let mut o = opts();
    o.direct = None;
    check(
        "one_tcp_rule_dynptr_only",
        "# -A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j ACCEPT (no direct reads)",
        &filter(
            vec![tcp_dport(
                src(rule(ChainTarget::Accept), [10, 0, 0, 0], 8),
                22,
            )],
            vec![],
        ),
        &o,
    );
}

#[test]
fn chain_as_subprogram() {
    let c: Vec<R> = (1..=3)
        .map(|i| src(rule(ChainTarget::Return), [10, 0, 0, i], 32))
        .chain([src(rule(ChainTarget::Drop), [10, 0, 1, 0], 24)])
        .collect();
    let mut o = opts();
    o.inline_max_entries = 0;
    check(
        "chain_as_subprogram",
        "# -A INPUT -p udp --dport 1 -j c\n# -A INPUT -p udp --dport 2 -g c\n\
         # -A c -s 10.0.0.1..3 -j RETURN\n# -A c -s 10.0.1.0/24 -j DROP",
        &filter(
            vec![udp_dport(rule(jump("c")), 1), udp_dport(rule(goto("c")), 2)],
            vec![("c", c)],
        ),
        &o,
    );
}

#[test]
fn log_limit_and_interface() {
    check(
        "log_limit_iface",
        "# -A INPUT -i eth0 -m limit --limit 3/min -j LOG --log-prefix \"in \"\n\
         # -A INPUT -p 47 -j DROP",
        &filter(
            vec![
                limit(iniface(rule(log("in ")), "eth0"), 200_000, 5),
                proto(rule(ChainTarget::Drop), 47),
            ],
            vec![],
        ),
        &opts(),
    );
}

//! `bpfilter-bench validate [RULES...]`: the time bpfilter's validator takes for a real
//! iptables-legacy blob, against the kernel's own `setsockopt(IPT_SO_SET_REPLACE)` for the
//! same bytes (which validates, allocates, copies and installs), in a throwaway namespace.
//! Medians of several runs; a table, no pass/fail.

use crate::backend::Bpfilter;
use crate::rules::RuleSet;
use crate::topo::Sandbox;
use crate::BenchError;
use bpfilter_core::ir::Table;
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use bpfilter_umh::capture::set_num_counters;
use bpfilter_umh::sys::ipt::IptSocket;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// One row: rules, kernel replace, validate, validate + IR.
pub fn row(rules: usize, runs: usize) -> Result<(usize, Duration, Duration, Duration), BenchError> {
    let blob = Bpfilter::blob(&RuleSet::generate(rules))?;
    let sb = Sandbox::new()?;
    let kernel = sb.ns.run(|| -> Result<Vec<Duration>, BenchError> {
        let sock = IptSocket::new()?;
        let errno = |e| BenchError(format!("IPT_SO_*: errno {e}"));
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let cur = sock.get_info("filter").map_err(errno)?.num_entries.get();
            let mut b = blob.clone();
            set_num_counters(&mut b, cur);
            let t = Instant::now();
            sock.replace(&b).map_err(errno)?;
            times.push(t.elapsed());
        }
        Ok(times)
    })??;
    let n = bpfilter_umh::capture::num_counters(&blob);
    let state = FreshNamespace { current_entries: n };
    let mut val = Vec::with_capacity(runs);
    let mut ir = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let v =
            validate_replace(&blob, &state).map_err(|e| BenchError(format!("validate: {e}")))?;
        val.push(t.elapsed());
        let _ = Table::from_validated(&v).map_err(|e| BenchError(format!("ir: {e:?}")))?;
        ir.push(t.elapsed());
    }
    Ok((rules, median(kernel), median(val), median(ir)))
}

/// Print the table for `counts`.
pub fn run(counts: &[usize], runs: usize) -> Result<(), BenchError> {
    println!("validation time of an iptables-legacy blob (median of {runs} runs)");
    println!(
        "{:>8} {:>20} {:>20} {:>22} {:>8}",
        "rules", "kernel replace (us)", "bpfilter validate", "validate + IR (us)", "ratio"
    );
    for &c in counts {
        let (r, k, v, i) = row(c, runs)?;
        let ratio = v.as_secs_f64() / k.as_secs_f64().max(1e-9);
        println!(
            "{:>8} {:>20.1} {:>20.1} {:>22.1} {:>8.3}",
            r,
            k.as_secs_f64() * 1e6,
            v.as_secs_f64() * 1e6,
            i.as_secs_f64() * 1e6,
            ratio
        );
    }
    println!("ratio = bpfilter validate / kernel replace");
    Ok(())
}

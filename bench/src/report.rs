//! The text tables and the JSON rows.

use crate::harness::{Outcome, Row};
use std::fmt::Write as _;

fn num(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The per-packet table, the apply-time table and the BPF program table.
pub fn text(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "ns per packet, whole receive path (live frames, LOCAL_IN, policy DROP); {} rounds, \
         seed {}",
        o.rounds, o.seed
    );
    let _ = writeln!(
        s,
        "filter_ns = minus the zero-rule baseline in the same round (median, with its 95% \
         interval ci95); ratio = filter_ns / iptables-legacy's filter_ns\n"
    );
    let _ = writeln!(
        s,
        "{:>7}  {:<8} {:<16} {:>9} {:>10} {:>10} {:>17} {:>7} {:>9}",
        "rules", "profile", "impl", "min_ns", "median_ns", "filter_ns", "ci95", "ratio", "repeat"
    );
    let mut last_rules: Option<usize> = None;
    for r in &o.rows {
        if last_rules.is_some_and(|n| n != r.rules) {
            s.push('\n');
        }
        last_rules = Some(r.rules);
        if let Some(why) = &r.pending {
            let _ = writeln!(
                s,
                "{:>7}  {:<8} {:<16} n/a ({why})",
                r.rules,
                r.profile.name(),
                r.impl_name
            );
            continue;
        }
        let _ = writeln!(
            s,
            "{:>7}  {:<8} {:<16} {:>9} {:>10} {:>10} {:>17} {:>7} {:>9}",
            r.rules,
            r.profile.name(),
            r.impl_name,
            num(r.min_ns, 0),
            num(r.median_ns, 1),
            num(r.filter_ns, 1),
            r.filter_ci95
                .map_or_else(|| "-".to_owned(), |(lo, hi)| format!("{lo:.1} .. {hi:.1}")),
            num(r.ratio, 2),
            r.repeat
        );
    }

    // One apply time per (implementation, rule count).
    let mut impls: Vec<&str> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for r in o.rows.iter().filter(|r| r.rules > 0) {
        if !impls.contains(&r.impl_name) {
            impls.push(r.impl_name);
        }
        if !counts.contains(&r.rules) {
            counts.push(r.rules);
        }
    }
    let _ = write!(s, "\ntime to apply the ruleset (ms, wall)\n{:>7}", "rules");
    for i in &impls {
        let _ = write!(s, "  {i:>22}");
    }
    s.push('\n');
    for n in &counts {
        let _ = write!(s, "{n:>7}");
        for i in &impls {
            let row = o.rows.iter().find(|r| r.rules == *n && r.impl_name == *i);
            let cell = match row {
                Some(Row {
                    pending: Some(why), ..
                }) => format!("n/a ({why})"),
                Some(Row { apply: Some(d), .. }) => format!("{:.1}", ms(*d)),
                _ => "-".to_owned(),
            };
            let _ = write!(s, "  {cell:>22}");
        }
        s.push('\n');
    }

    let _ = writeln!(
        s,
        "\nBPF programs\n{:<16} {:>7} {:>7} {:>9} {:>10} {:>9}",
        "impl", "rules", "insns", "verified", "jit_bytes", "load_ms"
    );
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for r in &o.rows {
        let key = (r.impl_name, r.rules);
        if seen.contains(&key) {
            continue;
        }
        if let Some(p) = r.prog {
            seen.push(key);
            let _ = writeln!(
                s,
                "{:<16} {:>7} {:>7} {:>9} {:>10} {:>9.3}",
                r.impl_name,
                r.rules,
                p.insns,
                p.verified_insns,
                p.jited_len,
                ms(p.load_time)
            );
        } else if let Some(why) = &r.pending {
            seen.push(key);
            let _ = writeln!(s, "{:<16} {:>7} n/a ({why})", r.impl_name, r.rules);
        }
    }
    let phases: Vec<String> = o
        .phases
        .iter()
        .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
        .collect();
    let _ = writeln!(s, "\n{}", phases.join(", "));
    s
}

fn jnum(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "null".to_owned(),
    }
}

fn jstr(x: &str) -> String {
    let mut s = String::from("\"");
    for c in x.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", u32::from(c));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// One JSON object per row, in an array: `impl, rules, profile, min_ns, median_ns, filter_ns,
/// ratio_to_iptables` (null where not measured), then `status`, `repeat`, `rounds`,
/// `apply_ms` and, for BPF programs, `insns`, `verified_insns`, `jited_bytes`, `load_ms`.
pub fn json(o: &Outcome) -> String {
    let mut s = String::from("[\n");
    for (i, r) in o.rows.iter().enumerate() {
        let status = r
            .pending
            .as_ref()
            .map_or_else(|| "measured".to_owned(), |w| format!("n/a ({w})"));
        let _ = write!(
            s,
            "  {{\"impl\": {}, \"rules\": {}, \"profile\": {}, \"min_ns\": {}, \
             \"median_ns\": {}, \"filter_ns\": {}, \"ratio_to_iptables\": {}, \
             \"status\": {}, \"filter_ci95\": {}, \"repeat\": {}, \"rounds\": {}, \
             \"apply_ms\": {}",
            jstr(r.impl_name),
            r.rules,
            jstr(r.profile.name()),
            jnum(r.min_ns),
            jnum(r.median_ns),
            jnum(r.filter_ns),
            jnum(r.ratio),
            jstr(&status),
            r.filter_ci95.map_or_else(
                || "null".to_owned(),
                |(lo, hi)| format!("[{}, {}]", jnum(Some(lo)), jnum(Some(hi)))
            ),
            r.repeat,
            o.rounds,
            jnum(r.apply.map(ms)),
        );
        if let Some(p) = r.prog {
            let _ = write!(
                s,
                ", \"insns\": {}, \"verified_insns\": {}, \"jited_bytes\": {}, \"load_ms\": {}",
                p.insns,
                p.verified_insns,
                p.jited_len,
                jnum(Some(ms(p.load_time)))
            );
        }
        s.push('}');
        if i.saturating_add(1) < o.rows.len() {
            s.push(',');
        }
        s.push('\n');
    }
    s.push_str("]\n");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::rules::Profile;
    use std::time::Duration;

    fn row(impl_name: &'static str, pending: Option<&'static str>) -> Row {
        let measured = pending.is_none();
        Row {
            impl_name,
            rules: 10,
            profile: Profile::Deep,
            pending: pending.map(str::to_owned),
            min_ns: measured.then_some(500.0),
            median_ns: measured.then_some(510.5),
            filter_ns: measured.then_some(40.25),
            filter_ci95: measured.then_some((38.0, 42.5)),
            ratio: measured.then_some(1.0),
            repeat: 1000,
            apply: measured.then_some(Duration::from_millis(3)),
            prog: None,
        }
    }

    #[test]
    fn pending_rows_say_so_and_carry_no_numbers() {
        let o = Outcome {
            rows: vec![
                row("iptables-legacy", None),
                row("bpfilter", Some("codegen pending")),
                Row {
                    rules: 100_000,
                    ..row("bpfilter", Some("failed to load: E2BIG"))
                },
            ],
            seed: 1,
            rounds: 3,
            phases: [("setup", Duration::ZERO); 3],
        };
        let t = text(&o);
        assert!(t.contains("bpfilter         n/a (codegen pending)"));
        assert!(t.contains("510.5"));
        assert!(t.contains(" 100000  deep     bpfilter         n/a (failed to load: E2BIG)"));
        let j = json(&o);
        assert!(j.contains(
            "\"impl\": \"bpfilter\", \"rules\": 10, \"profile\": \"deep\", \
                            \"min_ns\": null, \"median_ns\": null, \"filter_ns\": null, \
                            \"ratio_to_iptables\": null, \"status\": \"n/a (codegen pending)\""
        ));
        assert!(j.contains("\"filter_ns\": 40.250, \"ratio_to_iptables\": 1.000"));
        assert!(j.contains("\"filter_ci95\": [38.000, 42.500]"));
        assert!(t.contains("38.0 .. 42.5"));
        assert!(j.contains("\"status\": \"n/a (failed to load: E2BIG)\""));
        assert_eq!(j.matches("\"impl\"").count(), 3);
    }
}

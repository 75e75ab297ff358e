//! `bpfilter test-run FILE --hook H --packet HEX [--in IF] [--out IF]`: run one hook's
//! generated program on one packet with `BPF_PROG_TEST_RUN` and report the verdict and the
//! entries whose counters moved.
//!
//! Interfaces: the kernel requires the device pointers of a test run's `nf_hook_state` to be
//! NULL, so the program always sees *no* input and output device (the names read as empty,
//! like the kernel's `nulldevname`). `--in`/`--out` therefore cannot reach the program; they
//! are reported as ignored. Interface matching is tested by attaching the programs for real
//! (umh/tests/loader_attach.rs). Rules with `-i`/`-o` are evaluated as for a packet without
//! devices, which is what the kernel does at LOCAL_OUT (no input device) too.

use super::compile::{loader_options, read_tables};
use crate::loader::{self, LoaderError};
use bpfilter_core::ir::{Rule, Target};
use bpfilter_core::uapi::{HOOK_NAMES, NF_INET_NUMHOOKS};
use std::path::Path;
use std::process::ExitCode;

/// `println!` that ignores a closed stdout (`bpfilter compile FILE | head` must not panic).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that ignores a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

/// `bpfilter test-run --help`.
pub const HELP: &str = "\
bpfilter test-run FILE --hook HOOK --packet HEX [--in IF] [--out IF] [--table NAME]
                  [--repeat N]

Load the program of HOOK (INPUT, FORWARD, OUTPUT, PREROUTING, POSTROUTING or 0..4) for the
ruleset in FILE (a SET_REPLACE blob or an iptables-save file) and run it once on the IPv4
packet HEX (the bytes from the IPv4 header on; whitespace and ':' are ignored) with
BPF_PROG_TEST_RUN. Prints the verdict, the entries whose counters moved and the deciding
one. At hooks other than OUTPUT an Ethernet header is put in front of the packet, as the
kernel's test run needs. --repeat N runs it N times and prints the kernel-timed ns per run.

--in/--out cannot be passed to the program: the kernel insists on NULL device pointers in
a test run, so the program sees no devices (as the kernel's nulldevname). Test interface
rules by attaching the program in a network namespace instead.
";

/// A hook by iptables name or number.
pub fn parse_hook(s: &str) -> Option<usize> {
    if let Some(h) = HOOK_NAMES.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Some(h);
    }
    s.parse().ok().filter(|h| *h < NF_INET_NUMHOOKS)
}

/// Hex bytes, ignoring whitespace and ':'.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = char::from(*p.first()?).to_digit(16)?;
            let lo = char::from(*p.get(1)?).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// What a target does, for the report.
fn target_text(r: &Rule) -> String {
    match &r.target {
        Target::Accept => "ACCEPT".into(),
        Target::Drop => "DROP".into(),
        Target::Queue => "QUEUE".into(),
        Target::Return => "RETURN".into(),
        Target::Jump(t) => format!("jump to entry {t}"),
        Target::Goto(t) => format!("goto entry {t}"),
        Target::DanglingJump { .. } => "dangling jump".into(),
        Target::Error(n) => format!("ERROR {:?}", String::from_utf8_lossy(n.as_bytes())),
        Target::Ext(x) => x.desc.name.to_string(),
    }
}

/// Whether the entry's target ends the walk with a verdict.
fn is_final(r: &Rule) -> bool {
    matches!(r.target, Target::Accept | Target::Drop | Target::Error(_))
}

struct Args {
    file: String,
    hook: usize,
    packet: Vec<u8>,
    table: Option<String>,
    repeat: u32,
    devices: Vec<String>,
}

fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let mut file = None;
    let mut hook = None;
    let mut packet = None;
    let mut table = None;
    let mut repeat = 1;
    let mut devices = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{what} needs a value"))
        };
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--hook" => {
                let v = value("--hook")?;
                hook = Some(parse_hook(&v).ok_or_else(|| format!("unknown hook {v:?}"))?);
            }
            "--packet" => {
                let v = value("--packet")?;
                packet = Some(parse_hex(&v).ok_or("--packet is not hex")?);
            }
            "--table" => table = Some(value("--table")?),
            "--repeat" => {
                repeat = value("--repeat")?
                    .parse()
                    .map_err(|_| "--repeat needs a number")?;
            }
            "--in" | "--out" => devices.push(format!("{a} {}", value(a)?)),
            f if file.is_none() && !f.starts_with("--") => file = Some(f.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Some(Args {
        file: file.ok_or("FILE is missing")?,
        hook: hook.ok_or("--hook is missing")?,
        packet: packet.ok_or("--packet is missing")?,
        table,
        repeat,
        devices,
    }))
}

/// Run `bpfilter test-run ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let a = match parse(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            out!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bpfilter test-run: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bpfilter test-run: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(a: &Args) -> Result<(), String> {
    let inputs = read_tables(Path::new(&a.file))?;
    let input = match &a.table {
        Some(t) => inputs
            .iter()
            .find(|i| i.table.name.as_str() == t)
            .ok_or_else(|| format!("no table {t:?} in the file"))?,
        None => inputs.first().ok_or("the file has no table")?,
    };
    let table = &input.table;
    let opts = loader_options().map_err(|e| e.to_string())?;
    let loaded = loader::load_table(table, &opts).map_err(|e| match e {
        LoaderError::Compile(c) => format!("not compiled: {c}"),
        e => e.to_string(),
    })?;
    let hook_name = HOOK_NAMES.get(a.hook).copied().unwrap_or("?");
    if loaded.hook(a.hook).is_none() {
        return Err(format!(
            "table {} has no {hook_name} hook",
            table.name.as_str()
        ));
    }
    for d in &a.devices {
        outln!("note: {d} ignored: a test run's context has no devices (see --help)");
    }
    let before = loaded.counters().map_err(|e| e.to_string())?;
    let out = loaded
        .test_run(a.hook, &a.packet, 1)
        .map_err(|e| e.to_string())?;
    let after = loaded.counters().map_err(|e| e.to_string())?;
    let verdict = match out.retval {
        0 => "DROP",
        1 => "ACCEPT",
        _ => "?",
    };
    outln!(
        "{} {hook_name}: verdict {verdict} (program returned {})",
        table.name.as_str(),
        out.retval
    );
    let mut decided = None;
    for (i, (b, f)) in before.iter().zip(&after).enumerate() {
        let dp = f.0.wrapping_sub(b.0);
        if dp == 0 {
            continue;
        }
        let rule = table.entries.get(i);
        outln!(
            "  entry {i}: +{dp} packet(s), +{} bytes, {}",
            f.1.wrapping_sub(b.1),
            rule.map(target_text).unwrap_or_default()
        );
        if rule.is_some_and(is_final) {
            decided = Some(i);
        }
    }
    match decided {
        Some(i) => outln!("deciding entry: {i}"),
        None if out.retval == 0 => {
            outln!("deciding entry: none counted (a hotdrop: a match could not read its header)")
        }
        None => outln!("deciding entry: none counted"),
    }
    if a.repeat > 1 {
        let t = loaded
            .test_run(a.hook, &a.packet, a.repeat)
            .map_err(|e| e.to_string())?;
        outln!("{} ns per run ({} runs)", t.duration_ns, a.repeat);
    }
    // The reference evaluator on the same packet, with the devices a test run's context has
    // on this kernel (bpf_prog_test_run_nf: no input device, `lo` as output device except at
    // LOCAL_OUT, where there is neither) and no conntrack entry.
    let outdev: &[u8] = if a.hook == 3 { b"" } else { b"lo" };
    let input = bpfilter_core::eval::Input {
        hook: a.hook,
        data: &a.packet,
        indev: b"",
        outdev,
        skb: bpfilter_core::eval::Skb::default(),
    };
    let ev = bpfilter_core::eval::Evaluator::new(table);
    let mut st = bpfilter_core::eval::EvalState::new(table, 0);
    match ev.run(&mut st, &input, 0) {
        Ok(o) => {
            let same = matches!(
                (o.verdict, out.retval),
                (bpfilter_core::eval::Verdict::Drop, 0) | (bpfilter_core::eval::Verdict::Accept, 1)
            );
            outln!(
                "core::eval: verdict {:?} by entry {} ({:?}), entries counted {:?}: {}",
                o.verdict,
                o.decided_by,
                o.cause,
                o.counted,
                if same {
                    "agrees"
                } else {
                    "DISAGREES with the program"
                }
            );
        }
        Err(e) => outln!("core::eval: {e:?}"),
    }
    Ok(())
}

//! `bpfilter log`: the LOG target's events, read from the pinned ring buffers of the tables
//! bpfilter enforces, printed as the kernel's LOG target prints them (`PREFIX IN=... OUT=...
//! SRC=... DST=... LEN=... ... PROTO=UDP SPT=... DPT=... LEN=...`).

use crate::service::NsTables;
use crate::sys::bpf::Map;
use crate::sys::ringbuf::RingBuf;
use bpfilter_core::codegen::compile_log::LogEvent;
use bpfilter_core::codegen::LOG_RINGBUF_SIZE;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ir::Target;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The help text.
pub const HELP: &str = "\
bpfilter log: print the LOG target's lines for the rules bpfilter enforces

USAGE:
  bpfilter log [--state-dir DIR] [--pin-dir DIR] [--count N] [--timeout SECS]

Reads the ring buffer each LOG-carrying table pins (PIN/COOKIE/filter/log) and prints one line
per logged packet in the kernel's LOG format, with the rule's --log-prefix. Runs until
interrupted, or until N lines were printed, or SECS passed.

OPTIONS:
  --state-dir DIR   as for `bpfilter exec` (default /run/bpfilter): where the rules are
  --pin-dir DIR     as for `bpfilter exec` (default /sys/fs/bpf/bpfilter)
  --count N         stop after N lines
  --timeout SECS    stop after SECS seconds
";

/// Run `bpfilter log ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let mut state = PathBuf::from("/run/bpfilter");
    let mut pins = PathBuf::from("/sys/fs/bpf/bpfilter");
    let mut count: Option<u64> = None;
    let mut timeout: Option<Duration> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(());
        match a.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--state-dir" => match val() {
                Ok(v) => state = v.into(),
                Err(()) => return usage("--state-dir needs a value"),
            },
            "--pin-dir" => match val() {
                Ok(v) => pins = v.into(),
                Err(()) => return usage("--pin-dir needs a value"),
            },
            "--count" => match val().ok().and_then(|v| v.parse().ok()) {
                Some(n) => count = Some(n),
                None => return usage("--count needs a number"),
            },
            "--timeout" => match val().ok().and_then(|v| v.parse::<f64>().ok()) {
                Some(s) => timeout = Some(Duration::from_secs_f64(s)),
                None => return usage("--timeout needs seconds"),
            },
            _ => return usage(&format!("unknown argument {a:?}")),
        }
    }
    // One reader per namespace whose filter table has LOG rules.
    let mut readers: Vec<(RingBuf, Vec<Option<[u8; 30]>>)> = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&pins) else {
        eprintln!("bpfilter log: nothing under {}", pins.display());
        return ExitCode::from(1);
    };
    for d in dirs.flatten() {
        let cookie = d.file_name();
        let Ok(map) = Map::from_pinned(&d.path().join("filter").join("log")) else {
            continue;
        };
        let Ok(ring) = RingBuf::open(map, LOG_RINGBUF_SIZE as usize) else {
            continue;
        };
        // Each event names its entry; the prefix comes from that entry's LOG target.
        let mut prefixes = Vec::new();
        if let Ok(tables) = NsTables::load_state(&state.join(&cookie)) {
            if let Some((t, _)) = tables.tables().find(|(t, _)| t.name.as_str() == "filter") {
                prefixes = t
                    .entries
                    .iter()
                    .map(|r| match &r.target {
                        Target::Ext(x) => match &x.value {
                            TargetValue::Log(l) => Some(l.prefix),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect();
            }
        }
        readers.push((ring, prefixes));
    }
    if readers.is_empty() {
        eprintln!(
            "bpfilter log: no table with LOG rules under {}",
            pins.display()
        );
        return ExitCode::from(1);
    }
    let started = Instant::now();
    let mut printed = 0u64;
    loop {
        for (ring, prefixes) in readers.iter_mut() {
            ring.drain(|sample| {
                if let Some(ev) = LogEvent::parse(sample) {
                    let prefix = prefixes
                        .get(ev.entry as usize)
                        .copied()
                        .flatten()
                        .unwrap_or([0; 30]);
                    let end = prefix.iter().position(|&b| b == 0).unwrap_or(prefix.len());
                    let mut line = String::new();
                    if ev.write_line(&prefix[..end], &mut line).is_ok() {
                        println!("{line}");
                        printed += 1;
                    }
                }
            });
        }
        if count.is_some_and(|n| printed >= n) || timeout.is_some_and(|t| started.elapsed() >= t) {
            return ExitCode::SUCCESS;
        }
        if let Some((ring, _)) = readers.first() {
            let _ = ring.wait(100);
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("bpfilter log: {msg}\n\n{HELP}");
    ExitCode::from(2)
}

//! `bpfilter log`: the LOG target's events, read from the pinned ring buffers of the tables
//! bpfilter enforces, printed as the kernel's LOG target prints them (`PREFIX IN=... OUT=...
//! SRC=... DST=... LEN=... ... PROTO=UDP SPT=... DPT=... LEN=...`).

use crate::service::logs::{LineSink, LineWriter, LogLine, LogReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The help text.
pub const HELP: &str = "\
bpfilter log: print the LOG target's lines for the rules bpfilter enforces

USAGE:
  bpfilter log [--state-dir DIR] [--pin-dir DIR] [--count N] [--timeout SECS] [--kmsg]

Follows the ring buffer each LOG-carrying table pins (PIN/COOKIE/filter/log), in every
namespace bpfilter enforces, and prints one line per logged packet exactly as the kernel's LOG
target would (nf_log_syslog): the rule's --log-prefix, IN=/OUT=, the MAC header, the IPv4
header and the transport header, with what --log-tcp-sequence, --log-tcp-options,
--log-ip-options, --log-uid and --log-macdecode add. Tables replaced while it runs are picked
up. Runs until interrupted, or until N lines were printed, or SECS passed.

OPTIONS:
  --state-dir DIR   as for `bpfilter exec` (default /run/bpfilter): where the rules are
  --pin-dir DIR     as for `bpfilter exec` (default /sys/fs/bpf/bpfilter)
  --count N         stop after N lines
  --timeout SECS    stop after SECS seconds
  --kmsg            write each line to the kernel log (/dev/kmsg) at the rule's --log-level,
                    where the kernel's own LOG lines go (dmesg, journalctl -k)
";

/// Run `bpfilter log ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let mut state = PathBuf::from("/run/bpfilter");
    let mut pins = PathBuf::from("/sys/fs/bpf/bpfilter");
    let mut count: Option<u64> = None;
    let mut timeout: Option<Duration> = None;
    let mut kmsg = false;
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
            "--kmsg" => kmsg = true,
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
    let mut reader = LogReader::new(&pins, &state);
    let printed = std::cell::Cell::new(0u64);
    let mut sink = match LineWriter::open(if kmsg {
        LineSink::Kmsg
    } else {
        LineSink::Stdout
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bpfilter log: /dev/kmsg: {e}");
            return ExitCode::from(1);
        }
    };
    let mut emit = |l: LogLine| {
        sink.write(&l);
        printed.set(printed.get() + 1);
    };
    reader.rescan(&mut emit);
    if reader.rings() == 0 && count.is_none() && timeout.is_none() {
        eprintln!(
            "bpfilter log: no table with LOG rules under {} yet; waiting for one",
            pins.display()
        );
    }
    let started = Instant::now();
    loop {
        let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
        reader.poll(
            left.unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1)),
            &mut emit,
        );
        if count.is_some_and(|n| printed.get() >= n) || left.is_some_and(|l| l.is_zero()) {
            return ExitCode::SUCCESS;
        }
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("bpfilter log: {msg}\n\n{HELP}");
    ExitCode::from(2)
}

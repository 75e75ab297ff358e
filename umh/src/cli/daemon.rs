//! `bpfilter daemon`: serve the `IPT_SO_*` calls of every `bpfilter exec` that hands the
//! daemon its seccomp listener (see [`crate::daemon`] for the protocol).

use crate::daemon::{self, Config, DEFAULT_SOCKET};
use crate::journal::{log, Level};
use crate::service::setup::Paths;
use std::path::PathBuf;
use std::process::ExitCode;

/// The help text.
pub const HELP: &str = "\
bpfilter daemon: serve bpfilter exec's commands from one long-running process

USAGE:
  bpfilter daemon [OPTIONS]

Runs in the foreground and listens on a Unix socket (mode 0600, in a directory created 0700)
that only root may use: every peer's uid is checked (SO_PEERCRED) and non-root peers are
refused with a warning. `bpfilter exec` connects, hands over the seccomp listener of its
command, and the daemon answers that command's IPT_SO_* calls on a thread of its own until no
process uses the filter any more. Any number of clients at once.

Logs go to stderr, one event per line, journald-friendly: a syslog priority prefix (<3> err,
<4> warning, <6> info, <7> debug) then key=value pairs, e.g.
  <6>level=info msg=\"replaced table\" ns=4099 pid=5120 table=filter entries=6

SIGTERM/SIGINT: stop accepting, remove the socket, serve connected clients a few seconds more,
then exit 0; a client's command still running then is served on by its `bpfilter exec` (as
after a crash of the daemon: exec takes over with the daemon's directories). Rules stay enforced while no daemon runs (programs, links and counters are pinned);
the next daemon, or `bpfilter exec --no-daemon`, picks the tables up again.

OPTIONS:
  --socket PATH     where to listen (default /run/bpfilter/bpfilter.sock); a socket file left
                    by a dead daemon is replaced, a live daemon there is an error
  --state-dir DIR   where each namespace's tables are kept (default /run/bpfilter)
  --pin-dir DIR     bpffs directory for programs, links, maps (default /sys/fs/bpf/bpfilter)
  --log-packets TO  where the LOG target's lines go (the kernel's LOG format, one per logged
                    packet, read from the programs' ring buffers): syslog (default: stdout with
                    the rule's --log-level as a <N> prefix, so journald files it at that
                    level), stdout (bare lines), kmsg (the kernel log, next to the kernel's own
                    LOG lines; subject to printk_devkmsg's rate limit), none
  -v, --verbose     log every call
  -q, --quiet       log errors and warnings only

See dist/bpfilter.service for a systemd unit.
";

/// Run `bpfilter daemon ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    // Before any thread exists, so SIGTERM/SIGINT only ever arrive through the signalfd.
    let sigfd = match crate::sys::unix::term_signalfd() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("bpfilter daemon: cannot set up signals: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cfg = Config {
        socket: PathBuf::from(DEFAULT_SOCKET),
        paths: Paths::default(),
        verbosity: 1,
        packets: crate::service::logs::LineSink::Syslog,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "-v" | "--verbose" => cfg.verbosity = cfg.verbosity.saturating_add(1),
            "-q" | "--quiet" => cfg.verbosity = 0,
            "--log-packets" => {
                match it
                    .next()
                    .and_then(|v| crate::service::logs::LineSink::parse(v))
                {
                    Some(s) => cfg.packets = s,
                    None => {
                        eprintln!(
                            "bpfilter daemon: --log-packets takes stdout, syslog, kmsg or none\n\n{HELP}"
                        );
                        return ExitCode::from(2);
                    }
                }
            }
            "--socket" | "--state-dir" | "--pin-dir" => {
                let Some(v) = it.next() else {
                    eprintln!("bpfilter daemon: {a} needs a value\n\n{HELP}");
                    return ExitCode::from(2);
                };
                let v = PathBuf::from(v);
                match a.as_str() {
                    "--socket" => cfg.socket = v,
                    "--state-dir" => cfg.paths.state = v,
                    _ => cfg.paths.pins = v,
                }
            }
            _ => {
                eprintln!("bpfilter daemon: unknown option {a:?}\n\n{HELP}");
                return ExitCode::from(2);
            }
        }
    }
    match daemon::run(&cfg, sigfd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(
                Level::Err,
                cfg.verbosity,
                "daemon failed",
                &[("reason", &e)],
            );
            ExitCode::from(1)
        }
    }
}

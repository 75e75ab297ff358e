//! `bpfilter exec -- CMD [ARGS...]`: run CMD (iptables-legacy, iptables-legacy-restore, a
//! script) and every process it starts with their `IPT_SO_*` socket options answered by
//! bpfilter instead of the kernel's x_tables, and the rules enforced by generated BPF: by the
//! daemon if one runs ([`crate::daemon`]), else in this process.

use crate::daemon::{self, HandOffError, DEFAULT_SOCKET};
use crate::intercept::Exec;
use crate::journal::{log, Level};
use crate::service::setup::{bpf_service, ensure_bpffs, Paths};
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{ExitCode, ExitStatus};

/// The help text.
pub const HELP: &str = "\
bpfilter exec: run iptables-legacy (unmodified) with bpfilter in place of x_tables

USAGE:
  bpfilter exec [OPTIONS] -- CMD [ARGS...]

CMD and every process it starts run under a seccomp filter that traps only
setsockopt/getsockopt at level SOL_IP with the IPT_SO_* options; everything else goes to the
kernel untouched. bpfilter answers those calls with the kernel's semantics and errnos, from
its own tables for the caller's network namespace, and enforces the tables with generated BPF
programs attached by netfilter links at the filter table's hooks. The programs, links and
counters are pinned, so the rules stay in force after CMD exits; the next `bpfilter exec` in
the same namespace picks the tables up again.

Who answers: if `bpfilter daemon` accepts a connection on --socket, CMD's calls are handed to
it and this process waits for CMD (exiting with its status); otherwise they are served here,
in-process, as the daemon would (same tables, same pins, same locks). -v says which. If the
daemon goes away while CMD runs (killed, restarted, stopped), this process takes over with the
daemon's state and pin directories: a call the daemon had in flight is served again (open,
getsockopt) or fails with EAGAIN (a setsockopt the daemon may have applied); the rest of CMD
is served here.

OPTIONS:
  --socket PATH     the daemon's socket (default /run/bpfilter/bpfilter.sock)
  --daemon          require the daemon: fail (exit 2) if it cannot be reached or refuses
  --no-daemon       never use the daemon: serve in-process
  --state-dir DIR   in-process: where each namespace's tables are kept (default /run/bpfilter)
  --pin-dir DIR     in-process: bpffs directory for programs, links, maps
                    (default /sys/fs/bpf/bpfilter). Giving either directory means serving
                    in-process unless --daemon is given (the daemon keeps its own
                    directories, and one namespace must not be kept in two places)
  -v, --verbose     log every call (repeat for more)
  -q, --quiet       log errors and warnings only

EXAMPLES:
  bpfilter exec -- iptables-legacy -A INPUT -p udp --dport 23 -j DROP
  bpfilter exec -- iptables-legacy -L -n -v
  bpfilter exec -- sh -c 'iptables-legacy-restore < rules.v4 && iptables-legacy-save -t filter'

LIMITS:
  open/openat of CMD's processes are trapped too, so that /proc/net/ip_tables_names (what
  iptables-legacy-save without -t reads) lists bpfilter's tables; every other open goes to the
  kernel unchanged, at the cost of one round trip each. Extensions the code generator cannot
  enforce are refused (the add fails with iptables' 'No chain/target/match by that name'),
  never silently ignored.
";

/// Where CMD's calls are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The daemon if it accepts a connection, else in-process.
    Auto,
    /// The daemon, or fail.
    Daemon,
    /// In-process.
    InProcess,
}

/// Run `bpfilter exec ARGS`.
pub fn main(args: Vec<String>) -> ExitCode {
    let mut paths = Paths::default();
    let mut dirs_given = false;
    let mut socket = PathBuf::from(DEFAULT_SOCKET);
    let mut mode = Mode::Auto;
    let mut verbosity = 1u8;
    let mut it = args.into_iter();
    let mut cmd: Vec<OsString> = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" => {
                cmd = it.by_ref().map(OsString::from).collect();
                break;
            }
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "-v" | "--verbose" => verbosity = verbosity.saturating_add(1),
            "-q" | "--quiet" => verbosity = 0,
            "--daemon" => mode = Mode::Daemon,
            "--no-daemon" => mode = Mode::InProcess,
            "--state-dir" | "--pin-dir" | "--socket" => {
                let Some(v) = it.next() else {
                    eprintln!("bpfilter exec: {a} needs a value\n\n{HELP}");
                    return ExitCode::from(2);
                };
                match a.as_str() {
                    "--state-dir" => paths.state = v.into(),
                    "--pin-dir" => paths.pins = v.into(),
                    _ => socket = v.into(),
                }
                dirs_given |= a != "--socket";
            }
            _ if cmd.is_empty() && !a.starts_with('-') => {
                cmd.push(a.into());
                cmd.extend(it.by_ref().map(OsString::from));
                break;
            }
            _ => {
                eprintln!("bpfilter exec: unknown option {a:?}\n\n{HELP}");
                return ExitCode::from(2);
            }
        }
    }
    if cmd.is_empty() {
        eprintln!("bpfilter exec: no command\n\n{HELP}");
        return ExitCode::from(2);
    }
    if mode == Mode::Auto && dirs_given {
        mode = Mode::InProcess;
    }
    let sock = socket.display();
    // Connect before spawning: the command is started once, whoever serves it.
    let conn: Option<OwnedFd> = match mode {
        Mode::InProcess => None,
        Mode::Daemon | Mode::Auto => match daemon::connect(&socket) {
            Ok(c) => Some(c),
            Err(e) if mode == Mode::Daemon => {
                eprintln!("bpfilter exec: {e} (at {sock})");
                return ExitCode::from(2);
            }
            Err(e) => {
                note(verbosity, "serving in-process", &format!("{e} (at {sock})"));
                None
            }
        },
    };
    if conn.is_none() {
        if let Err(e) = ensure_bpffs(&paths.pins) {
            eprintln!("bpfilter exec: {e}");
            return ExitCode::from(2);
        }
    }
    let spawned = match Exec::new(&cmd).and_then(Exec::spawn) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "bpfilter exec: {}: {e}",
                cmd.first().map(|c| c.to_string_lossy()).unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    if let Some(conn) = conn {
        match daemon::hand_off(conn, spawned.listener().as_fd(), verbosity) {
            Ok(mut session) => {
                note(verbosity, "served by the daemon", &format!("at {sock}"));
                return match spawned.wait_or_take_over(&mut session) {
                    Ok(out) => exit_code(out.status),
                    Err(e) => {
                        eprintln!("bpfilter exec: {e}");
                        ExitCode::from(2)
                    }
                };
            }
            Err(e) if mode == Mode::Daemon => {
                spawned.kill();
                eprintln!("bpfilter exec: {e} (at {sock})");
                return ExitCode::from(2);
            }
            Err(e) => {
                let level = match e {
                    // Refused on purpose (a non-root caller, a version mismatch): say so.
                    HandOffError::Refused(_) => Level::Warning,
                    _ => Level::Info,
                };
                log(
                    level,
                    verbosity,
                    "the daemon did not take the command; serving in-process",
                    &[("socket", &sock), ("reason", &e)],
                );
                if let Err(e) = ensure_bpffs(&paths.pins) {
                    spawned.kill();
                    eprintln!("bpfilter exec: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    match spawned.serve(bpf_service(paths, verbosity)) {
        Ok(out) => {
            log(
                Level::Debug,
                verbosity,
                "command done",
                &[("calls", &out.stats.trapped)],
            );
            exit_code(out.status)
        }
        Err(e) => {
            eprintln!("bpfilter exec: {e}");
            ExitCode::from(2)
        }
    }
}

/// The `-v` note on who serves the command.
fn note(verbosity: u8, msg: &str, detail: &str) {
    log(Level::Debug, verbosity, msg, &[("detail", &detail)]);
}

/// CMD's status as ours (a death by signal becomes 1, as before).
fn exit_code(status: ExitStatus) -> ExitCode {
    match status.code() {
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::from(1),
    }
}

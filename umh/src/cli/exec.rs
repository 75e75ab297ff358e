//! `bpfilter exec -- CMD [ARGS...]`: run CMD (iptables-legacy, iptables-legacy-restore, a
//! script) and every process it starts with their `IPT_SO_*` socket options answered by
//! bpfilter instead of the kernel's x_tables, and the rules enforced by generated BPF.

use crate::intercept::Exec;
use crate::service::bpf::BpfEnforcer;
use crate::service::handler::{log, Service};
use crate::service::{Enforcer, NsTables};
use crate::sys::netns::NetNs;
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;

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

OPTIONS:
  --state-dir DIR   where each namespace's tables are kept (default /run/bpfilter)
  --pin-dir DIR     bpffs directory for programs, links, maps (default /sys/fs/bpf/bpfilter)
  -v, --verbose     log every call (repeat for more)
  -q, --quiet       log errors only

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

/// Run `bpfilter exec ARGS`.
pub fn main(args: Vec<String>) -> ExitCode {
    let mut state = PathBuf::from("/run/bpfilter");
    let mut pins = PathBuf::from("/sys/fs/bpf/bpfilter");
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
            "--state-dir" | "--pin-dir" => {
                let Some(v) = it.next() else {
                    eprintln!("bpfilter exec: {a} needs a value\n\n{HELP}");
                    return ExitCode::from(2);
                };
                if a == "--state-dir" {
                    state = v.into();
                } else {
                    pins = v.into();
                }
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
    if let Err(e) = ensure_bpffs(&pins) {
        eprintln!("bpfilter exec: {e}");
        return ExitCode::from(2);
    }
    let state_root = state.clone();
    let factory = Box::new(move |req: &crate::intercept::Request, cookie: u64| {
        let dir = state_root.join(cookie.to_string());
        let tables = NsTables::load_state(&dir)?;
        let netns = NetNs::from_fd(req.netns.as_fd().try_clone_to_owned()?);
        let mut enforcer = BpfEnforcer::new(netns, pins.join(cookie.to_string()))
            .map_err(|e| std::io::Error::other(e.message))?;
        // Saved tables whose programs are not pinned any more (a reboot, a cleaned bpffs)
        // are put back into force before anything else is served.
        for (t, masks) in tables.tables() {
            if enforcer.counters(t.name.as_str()).is_empty()
                || enforcer.needs_repair(t.name.as_str())
            {
                enforcer
                    .apply(t, masks, &mut || Ok(()))
                    .map_err(|e| std::io::Error::other(e.message))?;
            }
        }
        Ok((tables, Box::new(enforcer) as Box<dyn Enforcer>))
    });
    let mut svc = Service::new(factory);
    svc.verbosity = verbosity;
    svc.lock_root = Some(state);
    let exec = match Exec::new(&cmd) {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "bpfilter exec: {}: {e}",
                cmd.first().map(|c| c.to_string_lossy()).unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    match exec.run(&mut svc) {
        Ok(out) => {
            log(2, verbosity, &format!("{} calls served", out.stats.trapped));
            match out.status.code() {
                Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
                None => ExitCode::from(1),
            }
        }
        Err(e) => {
            eprintln!("bpfilter exec: {e}");
            ExitCode::from(2)
        }
    }
}

/// bpffs must be mounted at or above `pins`; mount it at /sys/fs/bpf if nothing is.
fn ensure_bpffs(pins: &std::path::Path) -> std::io::Result<()> {
    let mounts = std::fs::read_to_string("/proc/self/mounts")?;
    let bpffs: Vec<&str> = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, ty) = (f.next(), f.next(), f.next());
            (ty == Some("bpf")).then_some(at).flatten()
        })
        .collect();
    if bpffs.iter().any(|m| pins.starts_with(m)) {
        return Ok(());
    }
    if pins.starts_with("/sys/fs/bpf") {
        let st = std::process::Command::new("mount")
            .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
            .status()?;
        if st.success() {
            return Ok(());
        }
    }
    Err(std::io::Error::other(format!(
        "no bpffs mounted above {} (mount -t bpf bpf /sys/fs/bpf)",
        pins.display()
    )))
}

//! The `bpfilter` command: one module per subcommand.
//!
//! ```text
//! bpfilter compile FILE [--disasm]          per-hook programs: size, verifier verdict, load time
//! bpfilter test-run FILE --hook H --packet HEX   run the generated program and core::eval
//! bpfilter exec -- CMD [ARGS...]            run iptables-legacy (or a script) through bpfilter
//! bpfilter daemon [--socket PATH]           serve the commands of every bpfilter exec
//! ```

pub mod compile;
pub mod daemon;
pub mod exec;
pub mod log;
pub mod test_run;

use std::process::ExitCode;

/// The top-level help.
pub const HELP: &str = "\
bpfilter: iptables' interface, with the rules enforced by generated eBPF programs

USAGE:
  bpfilter <COMMAND> [ARGS...]

COMMANDS:
  compile FILE [--disasm]     compile a ruleset (a SET_REPLACE blob as blobcheck reads, or an
                              iptables-save file) and load it into the kernel verifier
  test-run FILE --hook H --packet HEX [--in IF] [--out IF]
                              run the generated program on one packet (BPF_PROG_TEST_RUN):
                              verdict and the entries counted
  exec [OPTIONS] -- CMD [ARGS...]
                              run iptables-legacy (unmodified) and everything it starts with
                              bpfilter answering its IPT_SO_* calls and enforcing the rules
                              (through the daemon if one runs, else in-process)
  daemon [--socket PATH] [--state-dir DIR] [--pin-dir DIR] [-v|-q]
                              serve the commands of every bpfilter exec from one process,
                              logging to stderr for journald (dist/bpfilter.service)
  log [--count N] [--timeout SECS]
                              print the LOG target's lines (kernel LOG format) of the rules
                              bpfilter enforces
  help                        this text

Run `bpfilter COMMAND --help` for the details of a command.
";

/// Dispatch `args` (without the program name).
pub fn main(args: Vec<String>) -> ExitCode {
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (Some(c.as_str()), r),
        None => (None, &[][..]),
    };
    match cmd {
        Some("compile") => compile::main(rest),
        Some("test-run") => test_run::main(rest),
        Some("exec") => exec::main(rest.to_vec()),
        Some("daemon") => daemon::main(rest),
        Some("log") => log::main(rest),
        None | Some("help" | "-h" | "--help") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("bpfilter: unknown command {other:?}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}

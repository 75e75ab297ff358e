//! `bpfilter compile FILE [--disasm]`: compile every hook of the ruleset in FILE, load each
//! program into the kernel (the verifier), and report what happened.
//!
//! FILE is either a SET_REPLACE blob (as `blobcheck` reads it) or an `iptables-save` file.
//! A save file is never parsed here: the machine's own `iptables-legacy-restore` loads it
//! into a scratch network namespace and the tables are captured back as blobs
//! ([`crate::capture`]), so the rules mean exactly what iptables made of them.

use crate::capture;
use crate::loader::{self, LoadedTable, LoaderError, LoaderOptions};
use crate::sys::bpf::LOG_STATS;
use crate::sys::netns::NetNs;
use bpfilter_core::codegen::CompileError;
use bpfilter_core::ir::Table;
use bpfilter_core::uapi::{cstr, table_by_name, HOOK_NAMES};
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

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

/// `bpfilter compile --help`.
pub const HELP: &str = "\
bpfilter compile FILE [--disasm]

Compile every hook of the ruleset in FILE to a BPF netfilter program, load it into the
kernel's verifier (nothing is attached) and print, per hook: instruction count, whether the
verifier accepted it (else its whole log), verifier-processed instructions, JIT size and load
time. --disasm also prints each program, annotated with the entry each rule's code is for.
Runs of entries compiled as one hash or LPM-trie lookup (classifiers) are listed per hook.

FILE is a SET_REPLACE blob (what blobcheck reads) or an iptables-save file; a save file is
loaded with the machine's own iptables-legacy-restore into a scratch network namespace and
captured back. Exit status: 0 all hooks loaded, 1 a hook was refused, 2 usage or I/O error.
";

/// A table read from a file, with where it came from.
#[derive(Debug)]
pub struct Input {
    /// The table.
    pub table: Table,
    /// The SET_REPLACE blob it was read from.
    pub blob: Vec<u8>,
}

/// Read FILE: a SET_REPLACE blob, or an iptables-save file loaded through
/// `iptables-legacy-restore` in a scratch network namespace (one table per `*name` line).
pub fn read_tables(path: &Path) -> Result<Vec<Input>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = bytes.get(..32).map(cstr).unwrap_or_default();
    if table_by_name(name).is_some() {
        return Ok(vec![table_from_blob(bytes)?]);
    }
    tables_from_save(&bytes)
}

/// Validate a SET_REPLACE blob (as against a namespace whose table has as many entries as
/// the blob's `num_counters` says) and read it into a [`Table`].
pub fn table_from_blob(blob: Vec<u8>) -> Result<Input, String> {
    let state = FreshNamespace {
        current_entries: capture::num_counters(&blob),
    };
    let v = validate_replace(&blob, &state)
        .map_err(|e| format!("the kernel would refuse this blob: {e}"))?;
    let table = Table::from_validated(&v).map_err(|e| format!("blob: {e}"))?;
    Ok(Input { table, blob })
}

/// Load `text` (iptables-save format) with `iptables-legacy-restore` in a fresh network
/// namespace and capture every table it names.
pub fn tables_from_save(text: &[u8]) -> Result<Vec<Input>, String> {
    let names: Vec<String> = String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| l.trim().strip_prefix('*').map(|n| n.trim().to_string()))
        .collect();
    if names.is_empty() {
        return Err("neither a SET_REPLACE blob nor an iptables-save file (no *table line)".into());
    }
    let ns = NetNs::new().map_err(|e| format!("scratch network namespace: {e}"))?;
    let mut cmd = Command::new("iptables-legacy-restore");
    ns.command(&mut cmd)
        .map_err(|e| format!("scratch network namespace: {e}"))?
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("iptables-legacy-restore: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text)
            .map_err(|e| format!("iptables-legacy-restore: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("iptables-legacy-restore: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "iptables-legacy-restore refused the file: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut tables = Vec::new();
    for name in names {
        let blob = ns
            .run(|| capture::capture(&name))
            .map_err(|e| format!("scratch network namespace: {e}"))?
            .map_err(|e| format!("capturing table {name}: {e}"))?;
        tables.push(table_from_blob(blob)?);
    }
    Ok(tables)
}

/// Default loader options for the running kernel.
pub fn loader_options() -> Result<LoaderOptions, LoaderError> {
    Ok(LoaderOptions {
        compile: loader::host_compile_options()?,
        log_level: LOG_STATS,
    })
}

/// One line about a loaded hook.
pub fn describe(table: &str, h: &loader::LoadedHook) -> String {
    let s = &h.stats;
    let c = &h.compiled.stats;
    format!(
        "{table} {}: {} insns, verifier accepted, {} processed insns, JIT {} bytes, load {:.2?} \
         ({} reachable entries, {} subprograms, {} inlined calls, {} frames{})",
        HOOK_NAMES.get(h.hook).copied().unwrap_or("?"),
        s.insn_cnt,
        s.processed_insns
            .map_or_else(|| s.verified_insns.to_string(), |n| n.to_string()),
        s.jited_len,
        s.load_time,
        c.reachable_entries,
        c.subprograms,
        c.inlined_calls,
        c.frames,
        if c.tracks_depth {
            ", tracks jump depth"
        } else {
            ""
        },
    ) + &classified(h)
        + &match c.hot_entries {
            Some(hot) => format!(
                "; cold mode: {hot} entries inline, {} cold instructions",
                c.cold_insns
            ),
            None => String::new(),
        }
}

/// The classifier runs a hook's program holds: `; N classified runs (M entries): entries
/// a..b on dport (hash, K keys), ...`, or nothing.
fn classified(h: &loader::LoadedHook) -> String {
    let c = &h.compiled;
    if c.stats.classified_runs == 0 {
        return String::new();
    }
    let runs: Vec<String> = c
        .classified()
        .map(|r| {
            format!(
                "entries {}..{} on {} ({}, {} keys)",
                r.first,
                r.first.saturating_add(r.len).saturating_sub(1),
                r.key.name(),
                if r.key.is_prefix() {
                    "LPM trie"
                } else {
                    "hash"
                },
                r.elems.len()
            )
        })
        .collect();
    format!(
        "; {} classified runs ({} entries): {}",
        c.stats.classified_runs,
        c.stats.classified_entries,
        runs.join(", ")
    )
}

/// Load one table and print its report; `Ok(false)` if a hook was refused.
fn report(input: &Input, opts: &LoaderOptions, show: bool) -> Result<bool, String> {
    let t = &input.table;
    let name = t.name.as_str();
    // Through the loader's own path: a hook too large for the verifier is loaded again in
    // cold mode, as the daemon would.
    match loader::load_table(t, opts) {
        Ok(LoadedTable { hooks, .. }) => {
            for h in &hooks {
                if show {
                    outln!(
                        "--- {name} {} ---",
                        HOOK_NAMES.get(h.hook).copied().unwrap_or("?")
                    );
                    out!("{}", h.compiled.disasm());
                }
                outln!("{}", describe(name, h));
            }
            Ok(true)
        }
        Err(LoaderError::Verifier { hook, errno, log }) => {
            outln!(
                "{name} {}: verifier REJECTED the program ({})",
                HOOK_NAMES.get(hook).copied().unwrap_or("?"),
                std::io::Error::from_raw_os_error(errno)
            );
            outln!("--- verifier log ---\n{log}");
            Ok(false)
        }
        Err(LoaderError::Compile(
            e @ (CompileError::UnsupportedMatch { .. } | CompileError::UnsupportedTarget { .. }),
        )) => {
            outln!("{name}: not compiled: {e}");
            Ok(false)
        }
        Err(e) => Err(format!("{name}: {e}")),
    }
}

/// Run `bpfilter compile ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let mut file = None;
    let mut show = false;
    for a in args {
        match a.as_str() {
            "-h" | "--help" => {
                out!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--disasm" => show = true,
            f if file.is_none() && !f.starts_with("--") => file = Some(f.to_string()),
            other => {
                eprintln!("bpfilter compile: unexpected argument {other:?}\n\n{HELP}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("bpfilter compile: FILE is missing\n\n{HELP}");
        return ExitCode::from(2);
    };
    let inputs = match read_tables(Path::new(&file)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bpfilter compile: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = match loader_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bpfilter compile: {e}");
            return ExitCode::from(2);
        }
    };
    let mut all_ok = true;
    for input in &inputs {
        match report(input, &opts, show) {
            Ok(ok) => all_ok &= ok,
            Err(e) => {
                eprintln!("bpfilter compile: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

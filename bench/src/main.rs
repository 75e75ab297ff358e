//! `cargo run --release -p bpfilter-bench -- --help`

use bpfilter_bench::cli::{self, Command, HELP};
use bpfilter_bench::{harness, report};
use std::process::ExitCode;

fn main() -> ExitCode {
    // `bpfilter-bench validate [RULES...]`: validation time against the kernel's replace.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("validate") {
        let counts: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
        let counts = if counts.is_empty() {
            vec![100, 1000, 10000]
        } else {
            counts
        };
        return match bpfilter_bench::validate_time::run(&counts, 15) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bpfilter-bench validate: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(o)) => o,
        Err(e) => {
            eprintln!("bpfilter-bench: {e}");
            return ExitCode::from(2);
        }
    };
    // Every namespace is held by descriptors of this process only, so any exit (an error
    // below, a panic, ctrl-C) removes them all.
    match harness::run(&opts) {
        Ok(outcome) => {
            print!("{}", report::text(&outcome));
            if let Some(path) = &opts.json {
                if let Err(e) = std::fs::write(path, report::json(&outcome)) {
                    eprintln!("bpfilter-bench: writing {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bpfilter-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

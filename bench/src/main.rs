//! `cargo run --release -p bpfilter-bench -- --help`

use bpfilter_bench::cli::{self, Command, HELP};
use bpfilter_bench::{harness, report};
use std::process::ExitCode;

fn main() -> ExitCode {
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

//! The `bpfilter` command-line tool; see `bpfilter help`.
fn main() -> std::process::ExitCode {
    bpfilter_umh::cli::main(std::env::args().skip(1).collect())
}

//! bpfilter-bench: the per-packet cost of iptables-legacy, nftables and bpfilter on the same
//! rules at the same hook, measured in one run on this machine. See `HELP` in `cli` for what is
//! measured and why.
//!
//! ```text
//! cli::parse -> harness::run:
//!   setup     one Sandbox (netns + veth + socket) per (backend, rule count), ruleset applied
//!   sanity    per (config, profile): inject a few hundred frames, check the kernel counters
//!             say they reached LOCAL_IN and got the profile's verdict; calibrate the repeat
//!   rounds    every (config, profile) once per round, in a fresh random order
//!   report    min / median ns per packet, filter-only cost (per-round differences, median and
//!             95 % interval), ratio to iptables
//! ```
#![forbid(unsafe_code)]

pub mod backend;
pub mod cli;
pub mod harness;
pub mod report;
pub mod rules;
pub mod stats;
pub mod topo;
pub mod validate_time;

use std::fmt;

/// Any failure of the harness, with enough context to act on.
#[derive(Debug)]
pub struct BenchError(pub String);

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

impl From<std::io::Error> for BenchError {
    fn from(e: std::io::Error) -> Self {
        BenchError(e.to_string())
    }
}

impl From<bpfilter_umh::sys::bpf::BpfError> for BenchError {
    fn from(e: bpfilter_umh::sys::bpf::BpfError) -> Self {
        BenchError(e.to_string())
    }
}

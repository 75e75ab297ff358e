//! The one choke point for syscalls and `unsafe`.
//!
//! Everything above this module is safe Rust. Each `unsafe` block here carries a `// SAFETY:`
//! line saying why the call cannot violate memory safety, and each wrapper turns the C return
//! convention into a `Result` right at the call.
//!
//! - [`netns`]: throwaway network namespaces (tests, the kernel oracle) and handles to existing
//!   ones (the daemon serves its caller's namespace).
//! - [`bpf`], [`btf`]: bpf(2) and the running kernel's BTF.
//! - [`bpf_xdp`]: XDP programs and live-frames test runs (the benchmark's packet generator).
//! - [`ipt`]: the IPv4 x_tables socket options (`IPT_SO_*`) on a raw socket.

pub mod bpf;
pub mod bpf_xdp;
pub mod btf;
pub mod ipt;
pub mod netns;

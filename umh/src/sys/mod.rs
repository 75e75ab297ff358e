//! The one choke point for syscalls and `unsafe`.
//!
//! Everything above this module is safe Rust. Each `unsafe` block here carries a `// SAFETY:`
//! line saying why the call cannot violate memory safety, and each wrapper turns the C return
//! convention into a `Result` right at the call.
//!
//! - [`netns`]: throwaway network namespaces (tests, the kernel oracle) and handles to existing
//!   ones (the daemon serves its caller's namespace).
//! - [`ipt`]: the IPv4 x_tables socket options (`IPT_SO_*`) on a raw socket.
//! - [`bpf`]: raw `bpf(2)`: program load and test-run, netfilter links, maps, pins.
//! - [`btf`]: the running kernel's BTF (kfunc ids, struct member offsets); safe parsing.
//! - [`bpf_xdp`]: XDP programs and live-frames test runs (the benchmark's packet generator).
//! - [`seccomp`]: the filter trapping IPT_SO_* calls, child setup, the notification listener.
//! - [`procmem`]: a trapped caller's memory, fds, socket namespaces and user namespaces.
//! - [`unix`]: the daemon's Unix socket (SEQPACKET, `SO_PEERCRED`, `SCM_RIGHTS`), `poll`,
//!   SIGTERM/SIGINT as a `signalfd`.

pub mod bpf;
pub mod bpf_xdp;
pub mod btf;
pub mod ipt;
pub mod lock;
pub mod netns;
pub mod procmem;
pub mod ringbuf;
pub mod seccomp;
pub mod unix;

//! The one choke point for syscalls and `unsafe`.
pub mod bpf;
pub mod btf;

//! The one choke point for syscalls and `unsafe`.
pub mod procmem;
pub mod seccomp;

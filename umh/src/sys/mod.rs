//! The one choke point for syscalls and `unsafe`.

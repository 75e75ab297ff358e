//! bpfilter's user-mode helper. All `unsafe` and every syscall live in [`sys`].
//!
//! - [`capture`]: read a live table back as a SET_REPLACE blob.
//! - [`loader`]: load a table's generated programs, attach them, read the counters.
//! - [`oracle`]: the running kernel's verdict on a SET_REPLACE blob, in throwaway namespaces.
//! - [`intercept`]: unmodified iptables-legacy trapped with seccomp user notification.
//! - [`service`]: the `IPT_SO_*` options answered from bpfilter's tables, enforced by BPF.
//! - [`daemon`]: `bpfilter daemon`, serving the listeners `bpfilter exec` hands it.
//! - [`journal`]: structured, journald-friendly log lines.
pub mod capture;
pub mod cli;
pub mod daemon;
pub mod intercept;
pub mod journal;
pub mod loader;
pub mod oracle;
pub mod service;
pub mod sys;

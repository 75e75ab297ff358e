//! bpfilter's user-mode helper. All `unsafe` and every syscall live in [`sys`].
pub mod intercept;
pub mod sys;

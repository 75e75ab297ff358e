//! bpfilter-core: the `no_std` heart of bpfilter.
//!
//! ```text
//! bytes --blob--> views --validate--> Validated --ir--> Table --ir::emit--> bytes
//!                                                    |
//!                                       eval (reference) / codegen (BPF)
//! ```
//!
//! No-panic contract: every public function in [`blob`], [`validate`] and [`ir`] accepts any
//! byte slice and returns an error value instead of panicking or reading out of bounds.
#![no_std]
#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::as_conversions,
        clippy::expect_used,
        clippy::panic
    )
)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod blob;
pub mod codegen;
pub mod error;
pub mod eval;
pub mod ext;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod ir;
pub mod sockopt;
#[cfg(any(test, feature = "testgen"))]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "test support: builds deliberately broken blobs, not part of the no-panic core"
)]
pub mod testgen;
pub mod uapi;
pub mod validate;

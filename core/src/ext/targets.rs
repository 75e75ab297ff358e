//! Target extensions: descriptors, `checkentry`, and typed values. The standard and ERROR
//! targets are handled by the IR itself; their descriptors live in [`super`].

use super::{ExtDesc, ERROR, STANDARD};
use alloc::vec::Vec;
use core::fmt;

/// Every registered target (all revisions).
pub static REGISTRY: &[ExtDesc] = &[STANDARD, ERROR];

/// A target payload parsed into a typed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetValue {
    /// Payload of an extension that has no typed form yet, kept verbatim.
    Other(Vec<u8>),
}

impl TargetValue {
    /// Parse a payload that already passed the kernel's checks for `desc`.
    pub fn parse(_desc: &ExtDesc, payload: &[u8]) -> Option<Self> {
        Some(TargetValue::Other(payload.to_vec()))
    }

    /// Append exactly `XT_ALIGN(desc.size)` payload bytes.
    pub fn encode(&self, _desc: &ExtDesc, out: &mut Vec<u8>) {
        match self {
            TargetValue::Other(b) => out.extend_from_slice(b),
        }
    }

    /// Print the `iptables-save` arguments that follow `-j NAME`.
    pub fn save(&self, _out: &mut dyn fmt::Write) -> fmt::Result {
        Ok(())
    }
}

//! Match extensions: descriptors, `checkentry`, and typed values.

use super::ExtDesc;
use alloc::vec::Vec;
use core::fmt;

/// Every registered match (all revisions).
pub static REGISTRY: &[ExtDesc] = &[];

/// A match payload parsed into a typed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchValue {
    /// Payload of an extension that has no typed form yet, kept verbatim.
    Other(Vec<u8>),
}

impl MatchValue {
    /// Parse a payload that already passed the kernel's checks for `desc`.
    pub fn parse(_desc: &ExtDesc, payload: &[u8]) -> Option<Self> {
        Some(MatchValue::Other(payload.to_vec()))
    }

    /// Append exactly `XT_ALIGN(desc.size)` payload bytes.
    pub fn encode(&self, _desc: &ExtDesc, out: &mut Vec<u8>) {
        match self {
            MatchValue::Other(b) => out.extend_from_slice(b),
        }
    }

    /// Print the `iptables-save` arguments that follow `-m NAME`.
    pub fn save(&self, _out: &mut dyn fmt::Write) -> fmt::Result {
        Ok(())
    }
}

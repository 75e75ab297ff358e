//! Entry points for cargo-fuzz targets (feature `fuzzing`): each states and asserts the
//! invariant its target checks, so the targets themselves are one-liners.

use crate::error::Errno;
use crate::validate::{validate_replace, FreshNamespace};

/// Validate arbitrary bytes; the errno (if any) must be one the kernel can return here.
/// The current entry count comes from the first byte, so the EAGAIN check is exercised too.
#[expect(
    clippy::panic,
    reason = "a fuzz invariant violation must crash the fuzzer"
)]
pub fn validate(data: &[u8]) {
    let state = FreshNamespace {
        current_entries: data.first().map(|&b| u32::from(b % 8)),
    };
    if let Err(e) = validate_replace(data, &state) {
        if !matches!(
            e.errno(),
            Errno::EINVAL
                | Errno::ENOMEM
                | Errno::ELOOP
                | Errno::ENOENT
                | Errno::EPROTOTYPE
                | Errno::EAGAIN
                | Errno::EIO
                | Errno::ENAMETOOLONG
                | Errno::ERANGE
                | Errno::EOPNOTSUPP
        ) {
            panic!("unexpected errno {} for {:?}", e.errno(), e.check);
        }
    }
}

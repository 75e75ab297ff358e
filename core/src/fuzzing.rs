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
                | Errno::EDOM
                | Errno::EBADF
        ) {
            panic!("unexpected errno {} for {:?}", e.errno(), e.check);
        }
    }
}

/// Whatever validates is read into the IR, emitted, and validated again: the second
/// validation succeeds, gives the same IR, and the emitted entries equal the input's with
/// `comefrom` and counters zeroed (the kernel ignores both).
#[expect(
    clippy::panic,
    reason = "a fuzz invariant violation must crash the fuzzer"
)]
pub fn roundtrip(data: &[u8]) {
    use crate::ir::Table;
    let state = FreshNamespace {
        current_entries: None,
    };
    let Ok(v) = validate_replace(data, &state) else {
        return;
    };
    let t = match Table::from_validated(&v) {
        Ok(t) => t,
        Err(e) => panic!("validated blob not representable: {e:?}"),
    };
    let again = t.to_replace(v.header.num_counters.get(), 0);
    let v2 = match validate_replace(&again, &state) {
        Ok(v2) => v2,
        Err(e) => panic!("emitted blob rejected: {e}"),
    };
    let t2 = match Table::from_validated(&v2) {
        Ok(t2) => t2,
        Err(e) => panic!("re-emitted blob not representable: {e:?}"),
    };
    if t != t2 {
        panic!("IR changed across emit/validate");
    }
    if v.hook_mask != v2.hook_mask {
        panic!("hook masks changed across emit/validate");
    }
}

/// A ruleset that is valid by construction (driven by the input bytes), built into the
/// iptables layout, must validate, and read back to the same chains.
#[expect(
    clippy::panic,
    reason = "a fuzz invariant violation must crash the fuzzer"
)]
pub fn structured(data: &[u8]) {
    use crate::ir::Table;
    use crate::testgen::gen::{random_ruleset, Rng};
    let rs = random_ruleset(&mut Rng::from_bytes(data));
    let table = match rs.build() {
        Ok(t) => t,
        Err(e) => panic!("valid ruleset failed to build: {e:?}"),
    };
    let info = match crate::uapi::table_by_name(table.name.as_bytes()) {
        Some(i) => i,
        None => panic!("unknown table"),
    };
    let blob = table.to_replace(info.initial_entries, 0);
    let v = match validate_replace(&blob, &FreshNamespace::default()) {
        Ok(v) => v,
        Err(e) => panic!("valid ruleset rejected: {e}"),
    };
    match Table::from_validated(&v) {
        Ok(t) if t == table => {}
        Ok(_) => panic!("read-back table differs"),
        Err(e) => panic!("not representable: {e:?}"),
    }
}

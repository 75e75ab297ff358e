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
    // The code generator compiles every such ruleset (QUEUE aside: a BPF netfilter program
    // can only accept or drop) and links every label; loading it into the kernel verifier is
    // the kernel tests' job (umh/tests/loader_*.rs, bpfilter-verify verdicts).
    let has_queue = table
        .entries
        .iter()
        .any(|r| r.target == crate::ir::Target::Queue);
    // Straight-line, and in cold mode (one entry inline, the rest as cold code).
    let cold = crate::codegen::CompileOptions {
        cold_above: 0,
        hot_entries: 1,
        ..FUZZ_COMPILE_OPTIONS
    };
    for opts in [&FUZZ_COMPILE_OPTIONS, &cold] {
        match crate::codegen::compile_table(&table, opts) {
            // (An unreachable QUEUE is not compiled at all, so success says nothing about
            // QUEUE.)
            Ok(progs) => {
                for p in progs {
                    if p.insns.is_empty() {
                        panic!("empty program");
                    }
                    if opts.cold_above == 0 && p.cold.is_none() {
                        panic!("cold mode forced but no cold code");
                    }
                }
            }
            Err(e) if has_queue => {
                let _ = e;
            }
            // Deep chains the kernel's call-depth rules cannot express are refused, not
            // wrong.
            Err(crate::codegen::CompileError::TooDeep { .. }) => {}
            Err(e) => panic!("valid ruleset does not compile: {e}"),
        }
    }
}

/// Kernel facts for compiling without a kernel (the values of this machine's 6.18 build; the
/// compiler only embeds them).
const FUZZ_COMPILE_OPTIONS: crate::codegen::CompileOptions = crate::codegen::CompileOptions {
    kfuncs: crate::codegen::Kfuncs {
        dynptr_from_skb: 63880,
        dynptr_slice: 63909,
    },
    layout: crate::codegen::NfLayout::REFERENCE,
    direct: Some(crate::codegen::DirectRead {
        rdonly_cast: 65500,
        skb_data: 200,
        skb_data_len: 116,
    }),
    hz: 250,
    inline_max_entries: 4,
    cold_above: crate::codegen::DEFAULT_COLD_ABOVE,
    hot_entries: crate::codegen::DEFAULT_HOT_ENTRIES,
};

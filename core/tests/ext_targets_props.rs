//! Property tests for the target layer on arbitrary bytes: nothing panics, `encode(parse(p))`
//! always reproduces `p[..size]` followed by zero padding, the value is stable through a
//! second round trip, and `check`/`save`/`encode_kernel_view` accept any input.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use bpfilter_core::ext::targets::{kernel_view, TargetValue, REGISTRY};
use bpfilter_core::ext::CheckCtx;
use bpfilter_core::uapi::{xt_align, IptIp};
use proptest::prelude::*;
use zerocopy::FromBytes;

const TABLES: [&str; 6] = ["filter", "nat", "mangle", "raw", "security", "bogus"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_payload_round_trips(
        idx in 0..REGISTRY.len(),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        extra in 0usize..16,
        proto in any::<u16>(),
        inv in any::<u8>(),
        table in 0..TABLES.len(),
        hook_mask in 0u32..32,
        pattern in any::<u8>(),
    ) {
        let desc = &REGISTRY[idx];
        // Mostly-real sizes: the random bytes, cycled to at least `size` (+ some slack).
        let mut payload: Vec<u8> = bytes.iter().copied().cycle().take(desc.size + extra).collect();
        if payload.len() < desc.size {
            payload.resize(desc.size + extra, pattern);
        }
        let v = TargetValue::parse(desc, &payload).unwrap();
        let mut enc = Vec::new();
        v.encode(desc, &mut enc).unwrap();
        let aligned = xt_align(desc.size).unwrap();
        prop_assert_eq!(enc.len(), aligned);
        prop_assert_eq!(&enc[..desc.size], &payload[..desc.size]);
        prop_assert!(enc[desc.size..].iter().all(|&b| b == 0));
        // Stable: parsing the encoding gives the same value.
        prop_assert_eq!(TargetValue::parse(desc, &enc).unwrap(), v.clone());

        let mut view = Vec::new();
        v.encode_kernel_view(desc, &mut view).unwrap();
        let mut manual = enc.clone();
        kernel_view(desc, &mut manual);
        prop_assert_eq!(view, manual);

        let mut text = String::new();
        if v.save(desc, &mut text).is_ok() {
            prop_assert!(text.starts_with("-j "), "{}", text);
        }

        let mut ipb = [0u8; 84];
        ipb[80..82].copy_from_slice(&proto.to_le_bytes());
        ipb[83] = inv;
        let ip = IptIp::read_from_bytes(&ipb).unwrap();
        let ctx = CheckCtx { table: TABLES[table].as_bytes(), hook_mask, ip: &ip, matches: &[] };
        let _ = (desc.check)(&ctx, &payload);
        // Checks never read beyond what they are given: a short slice is not a panic.
        let _ = (desc.check)(&ctx, &payload[..payload.len().min(3)]);
    }
}

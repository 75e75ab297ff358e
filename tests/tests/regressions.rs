//! Every blob in tests/regressions/ (NAME.ERRNO.bin): the validator and the running kernel
//! both answer ERRNO.
use bpfilter_core::error::Errno;
use bpfilter_core::ir::Table;
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use bpfilter_umh::oracle::KernelOracle;
use bpfilter_umh::sys::ipt::IptSocket;
use bpfilter_umh::sys::netns::in_new_netns;

/// An accepted blob: IR emits the same entries back, and the kernel's GET_ENTRIES equals the
/// IR's GET_ENTRIES form.
fn same_entries_as_the_kernel(name: &str, blob: &[u8]) {
    let v = validate_replace(blob, &FreshNamespace::default()).expect("validates");
    let t = Table::from_validated(&v).expect("representable");
    let mut zeroed = v.entries.bytes().to_vec();
    for &off in &v.offsets {
        let o = off as usize;
        zeroed[o + 92..o + 112].fill(0); // comefrom and counters
    }
    assert_eq!(t.to_entries(), zeroed, "{name}: emit");
    let ours = t.to_get_entries(&v.hook_mask, &vec![(0, 0); v.offsets.len()]);
    let table = t.name.to_string();
    let size = v.entries.len() as u32;
    let kernel = in_new_netns(|| {
        let s = IptSocket::new().expect("socket");
        s.replace(blob).expect("kernel accepts");
        s.get_entries(&table, size).expect("get entries")
    })
    .expect("netns");
    assert_eq!(kernel, ours, "{name}: GET_ENTRIES");
}

#[test]
fn regression_blobs_agree_with_the_kernel() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/regressions");
    let mut oracle = KernelOracle::new().expect("a throwaway network namespace (needs root)");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("tests/regressions") {
        let path = e.expect("dir entry").path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        let want = stem.rsplit('.').next().unwrap_or_default();
        let want = if want == "OK" {
            0
        } else {
            Errno::ALL
                .iter()
                .find(|e| e.name() == want)
                .map(|e| e.code())
                .expect("errno name in file name")
        };
        let blob = std::fs::read(&path).expect("read blob");
        let ours = validate_replace(&blob, &FreshNamespace::default())
            .map_or_else(|e| e.errno().code(), |_| 0);
        let kernel = oracle.replace_errno(&blob).expect("kernel oracle");
        assert_eq!(kernel, want, "{name}: the kernel");
        assert_eq!(ours, want, "{name}: the validator");
        if want == 0 {
            same_entries_as_the_kernel(&name, &blob);
        }
        n += 1;
    }
    assert!(n >= 4, "only {n} regression blobs found");
}

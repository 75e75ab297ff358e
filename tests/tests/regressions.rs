//! Every blob in tests/regressions/ (NAME.ERRNO.bin): the validator and the running kernel
//! both answer ERRNO.
use bpfilter_core::error::Errno;
use bpfilter_core::validate::{validate_replace, FreshNamespace};
use bpfilter_umh::oracle::KernelOracle;

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
        n += 1;
    }
    assert!(n >= 3, "only {n} regression blobs found");
}

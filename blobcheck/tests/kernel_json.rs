//! `blobcheck --json` reports exactly the errno the running kernel returns for the same bytes:
//! every case of the spec and every fixture, each handed to the kernel with setsockopt in a
//! throwaway network namespace (the table reset to its fresh state between cases).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bpfilter_core::testgen::spec::cases;
use bpfilter_core::uapi::table_by_name;
use bpfilter_umh::capture::set_num_counters;
use bpfilter_umh::oracle::KernelOracle;
use std::path::PathBuf;
use std::process::Command;

fn blobcheck_errno(path: &PathBuf) -> i32 {
    let out = Command::new(env!("CARGO_BIN_EXE_blobcheck"))
        .arg("--json")
        .arg(path)
        .output()
        .expect("run blobcheck");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let at = line.find("\"errno\":").expect("errno field") + "\"errno\":".len();
    let num: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    let errno: i32 = num.parse().expect("errno number");
    // Exit status 0 exactly when accepted, 1 when rejected.
    assert_eq!(
        out.status.code(),
        Some(if errno == 0 { 0 } else { 1 }),
        "{line}"
    );
    errno
}

#[test]
fn blobcheck_json_matches_the_kernel() {
    let mut oracle = KernelOracle::new().expect("a throwaway network namespace (needs root)");
    let dir = std::env::temp_dir().join(format!("blobcheck-kernel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs: Vec<(String, Vec<u8>)> = cases()
        .into_iter()
        .filter(|c| c.current_entries.is_none())
        .map(|c| (c.id.to_string(), c.optval))
        .collect();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
    for e in std::fs::read_dir(fixtures).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "bin") {
            let mut b = std::fs::read(&p).unwrap();
            // Captured blobs carry their own entry count; a fresh namespace has the template's.
            if let Some(t) = table_by_name(&b[..32]) {
                set_num_counters(&mut b, t.initial_entries);
            }
            inputs.push((p.file_name().unwrap().to_string_lossy().into_owned(), b));
        }
    }
    let mut wrong = Vec::new();
    for (name, bytes) in &inputs {
        let path = dir.join(format!("{name}.bin"));
        std::fs::write(&path, bytes).unwrap();
        let ours = blobcheck_errno(&path);
        let kernel = oracle.replace_errno(bytes).expect("kernel oracle");
        if ours != kernel {
            wrong.push(format!("{name}: blobcheck {ours}, kernel {kernel}"));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(inputs.len() > 170, "only {} inputs", inputs.len());
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

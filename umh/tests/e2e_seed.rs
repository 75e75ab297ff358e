//! The seed example and the other end-to-end cases (tests/e2e/seed_example.sh): unmodified
//! iptables-legacy through `bpfilter exec`, real UDP traffic over a veth pair in throwaway
//! namespaces, counters compared with the kernel's own iptables on the same traffic.
#[test]
fn seed_example_end_to_end() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/e2e/seed_example.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .output()
        .expect("run tests/e2e/seed_example.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "end-to-end script failed:\n{text}");
    assert!(text.contains("PASS: seed example"), "{text}");
}

//! `kill -9` of `bpfilter exec` at random moments of a stream of replaces
//! (tests/e2e/kill_during_replace.sh): never unfiltered, and one whole ruleset after repair.
#[test]
fn killing_bpfilter_during_replaces_never_leaves_the_namespace_unfiltered() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/e2e/kill_during_replace.sh"
    );
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .arg("12")
        .output()
        .expect("run tests/e2e/kill_during_replace.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "kill test failed:\n{text}");
    assert!(text.contains("PASS: 12 kills"), "{text}");
}

//! Interrupted replaces laid out as `kill -9` leaves them, and the next command's repair
//! (tests/e2e/repair.sh): only `filter_new/` left, with and without a saved table.
#[test]
fn replaces_interrupted_between_retire_and_rename_are_repaired() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/e2e/repair.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .output()
        .expect("run tests/e2e/repair.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "repair test failed:\n{text}");
    assert!(
        text.contains("PASS: interrupted replaces repaired"),
        "{text}"
    );
}

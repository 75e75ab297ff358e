//! Two long-running `bpfilter exec` sessions adding rules to the same table at the same time
//! lose no rule (tests/e2e/racing_clients.sh).
#[test]
fn racing_clients_lose_no_rule() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/e2e/racing_clients.sh"
    );
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .arg("12")
        .output()
        .expect("run tests/e2e/racing_clients.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "race test failed:\n{text}");
    assert!(
        text.contains("PASS: two racing clients, 24 of 24"),
        "{text}"
    );
}

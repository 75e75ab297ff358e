//! `bpfilter exec` takes over when its daemon dies mid-command (tests/e2e/takeover.sh): a
//! script across `kill -9` of the daemon keeps working with the daemon's state and pins; a
//! getsockopt in flight is served again, a setsockopt in flight (announced or not) gets EAGAIN
//! and is never applied.
#[test]
fn exec_takes_over_when_the_daemon_dies_mid_command() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/e2e/takeover.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .output()
        .expect("run tests/e2e/takeover.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "takeover test failed:\n{text}");
    assert!(
        text.contains("PASS: takeover:") && text.contains("unannounced call found"),
        "{text}"
    );
}

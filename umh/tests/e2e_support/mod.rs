//! Shared by the `e2e_*` tests: run one of tests/e2e/*.sh with this build's `bpfilter` binary
//! and the given arguments, echo what it printed (visible with `--nocapture` or on failure),
//! and fail unless it exited 0 and printed its PASS line.

/// Run `tests/e2e/SCRIPT BPFILTER ARGS...`; its stdout and stderr, once it exited 0 and
/// printed `pass`.
pub fn run_script(script: &str, args: &[&str], pass: &str) -> String {
    let path = format!("{}/../tests/e2e/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(&path)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run tests/e2e/{script}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "{script} failed:\n{text}");
    assert!(text.contains(pass), "{script}: no {pass:?} in:\n{text}");
    text
}

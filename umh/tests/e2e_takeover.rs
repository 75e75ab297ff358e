//! `bpfilter exec` takes over when its daemon dies mid-command (tests/e2e/takeover.sh): a
//! script across `kill -9` of the daemon keeps working with the daemon's state and pins; a
//! getsockopt in flight is served again, a setsockopt in flight (announced or not) gets EAGAIN
//! and is never applied.

mod e2e_support;

#[test]
fn exec_takes_over_when_the_daemon_dies_mid_command() {
    let text = e2e_support::run_script("takeover.sh", &[], "PASS: takeover:");
    assert!(text.contains("unannounced call found"), "{text}");
}

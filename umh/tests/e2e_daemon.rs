//! `bpfilter daemon` end to end (tests/e2e/daemon.sh): the seed example through the daemon,
//! non-root peers refused, `kill -9` of the daemon during replaces, a clean SIGTERM; and two
//! racing clients served by one daemon (tests/e2e/racing_clients.sh in daemon mode).

fn run(script: &str, args: &[&str]) -> String {
    let path = format!("{}/../tests/e2e/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(&path)
        .arg(env!("CARGO_BIN_EXE_bpfilter"))
        .args(args)
        .output()
        .expect("run the e2e script");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "{script} failed:\n{text}");
    text
}

#[test]
fn the_daemon_serves_exec_refuses_non_root_and_survives_kill_9_during_replaces() {
    let text = run("daemon.sh", &["6"]);
    assert!(text.contains("PASS: daemon:"), "{text}");
    assert!(text.contains("6 kills during replaces"), "{text}");
}

#[test]
fn two_racing_clients_through_the_daemon_lose_no_rule() {
    let text = run("racing_clients.sh", &["15", "daemon"]);
    assert!(
        text.contains("PASS: two racing clients, 30 of 30 rules kept (daemon)"),
        "{text}"
    );
}

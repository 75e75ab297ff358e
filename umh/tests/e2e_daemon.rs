//! `bpfilter daemon` end to end (tests/e2e/daemon.sh): the seed example through the daemon,
//! non-root peers refused, `kill -9` of the daemon during replaces, a clean SIGTERM; and two
//! racing clients served by one daemon (tests/e2e/racing_clients.sh in daemon mode).
mod e2e_support;

#[test]
fn the_daemon_serves_exec_refuses_non_root_and_survives_kill_9_during_replaces() {
    let text = e2e_support::run_script("daemon.sh", &["6"], "PASS: daemon:");
    assert!(text.contains("6 kills during replaces"), "{text}");
}

#[test]
fn two_racing_clients_through_the_daemon_lose_no_rule() {
    e2e_support::run_script(
        "racing_clients.sh",
        &["15", "daemon"],
        "PASS: two racing clients, 30 of 30 rules kept (daemon)",
    );
}

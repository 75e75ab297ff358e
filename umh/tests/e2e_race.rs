//! Two long-running `bpfilter exec` sessions adding rules to the same table at the same time
//! lose no rule (tests/e2e/racing_clients.sh).
mod e2e_support;

#[test]
fn racing_clients_lose_no_rule() {
    e2e_support::run_script(
        "racing_clients.sh",
        &["12"],
        "PASS: two racing clients, 24 of 24",
    );
}

//! `kill -9` of `bpfilter exec` at random moments of a stream of replaces
//! (tests/e2e/kill_during_replace.sh): never unfiltered, and one whole ruleset after repair.
mod e2e_support;

#[test]
fn killing_bpfilter_during_replaces_never_leaves_the_namespace_unfiltered() {
    e2e_support::run_script("kill_during_replace.sh", &["12"], "PASS: 12 kills");
}

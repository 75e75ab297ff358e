//! Interrupted replaces laid out as `kill -9` leaves them, and the next command's repair
//! (tests/e2e/repair.sh): only `filter_new/` left, with and without a saved table.
mod e2e_support;

#[test]
fn replaces_interrupted_between_retire_and_rename_are_repaired() {
    e2e_support::run_script("repair.sh", &[], "PASS: interrupted replaces repaired");
}

//! The seed example and the other end-to-end cases (tests/e2e/seed_example.sh): unmodified
//! iptables-legacy through `bpfilter exec`, real UDP traffic over a veth pair in throwaway
//! namespaces, counters compared with the kernel's own iptables on the same traffic.
mod e2e_support;

#[test]
fn seed_example_end_to_end() {
    e2e_support::run_script("seed_example.sh", &[], "PASS: seed example");
}

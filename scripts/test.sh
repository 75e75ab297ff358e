#!/usr/bin/env bash
# bpfilter's whole test suite: what CI runs (.ci/run) and what a developer runs before pushing.
#   scripts/test.sh            # everything (needs root: the kernel is the oracle)
#   FUZZ_SECS=10 scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "!! scripts/test.sh needs root: the tests compare against the kernel in throwaway network namespaces" >&2; exit 1; }
scripts/setup.sh
step() { echo; echo "=== $*"; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p bpfilter-core --all-targets --features testgen,fuzzing -- -D warnings
step "core builds for x86_64-unknown-none (no_std)"
cargo build -p bpfilter-core --target x86_64-unknown-none
step "no unsafe in core"
if grep -rn "unsafe" core/src --include=*.rs | grep -v "forbid(unsafe_code)" | grep -v "^\s*//" ; then echo "!! unsafe found in core"; exit 1; fi
step "cargo test (unit, integration, kernel differential)"
cargo test --workspace --release
step "differential validation against the kernel (fresh seed)"
cargo run --release -q -p bpfilter-verify -- validate --cases "${VERIFY_CASES:-20000}"
step "verdict parity, fresh seed: core::eval vs the kernel, vs the generated BPF (test run), attached BPF vs the kernel"
cargo run --release -q -p bpfilter-verify -- verdicts --rulesets "${VERDICT_RULESETS:-40}" --packets 50 --quiet
step "verdict parity in cold mode (every hook: 2 entries inline, the rest interpreted)"
BPFILTER_COLD_ABOVE=0 BPFILTER_HOT_ENTRIES=2 \
  cargo run --release -q -p bpfilter-verify -- verdicts --rulesets "${COLD_RULESETS:-25}" --packets 50 --quiet
step "iptables' own conformance corpus through the kernel and through bpfilter exec"
cargo build --release -q -p bpfilter-umh
cargo run --release -q -p bpfilter-verify -- conformance --bpfilter "$PWD/target/release/bpfilter"
step "fuzz targets, ${FUZZ_SECS:-60}s each"
scripts/fuzz.sh "${FUZZ_SECS:-60}"

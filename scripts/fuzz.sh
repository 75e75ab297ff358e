#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS each (default 60) with AddressSanitizer.
# A crash fails the script; the reproducer is printed (hex) and left in fuzz/artifacts/.
#   scripts/fuzz.sh 60              # what CI runs
#   scripts/fuzz.sh 3600 validate   # one target for an hour
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}; shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(cargo fuzz list); fi
tc=+nightly
rustup toolchain list | grep -q nightly || { tc=""; export RUSTC_BOOTSTRAP=1; }
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  [ -d "seeds/validate" ] && [ "$t" != validate ] && cp -n seeds/validate/* "corpus/$t/" 2>/dev/null || true
  echo "== fuzz target $t for ${secs}s (ASan)"
  if ! cargo $tc fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -dict=blob.dict -max_len=65536 \
        -print_final_stats=1 2>&1 | tee "/tmp/fuzz-$t.log" | grep -E "^(#[0-9]+.*(DONE|pulse))|stat::number_of_executed_units|cov:|ERROR|panicked" | tail -5; then
    :
  fi
  if grep -qE "ERROR: (libFuzzer|AddressSanitizer)|panicked at" "/tmp/fuzz-$t.log"; then
    echo "!! fuzz target $t crashed:"; grep -E "panicked|ERROR" "/tmp/fuzz-$t.log" | head -5
    for a in artifacts/"$t"/*; do [ -f "$a" ] && { echo "reproducer $a:"; xxd "$a" | head -40; }; done
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} targets ran ${secs}s each without a finding"

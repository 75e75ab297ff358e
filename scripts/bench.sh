#!/usr/bin/env bash
# The benchmark from a fresh clone, in one command: installs iptables and nftables if missing,
# builds bpfilter and the benchmark (release), and runs it with the arguments given
# (`scripts/bench.sh --quick`, `scripts/bench.sh --rounds 30 --json out.json`; `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "!! scripts/bench.sh needs root (network namespaces, x_tables, BPF)" >&2; exit 1; }
need_apt=()
command -v iptables-legacy-restore >/dev/null || need_apt+=(iptables)
command -v nft >/dev/null || need_apt+=(nftables)
command -v ip >/dev/null || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bench: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
cargo build --release -q -p bpfilter-umh -p bpfilter-bench
exec target/release/bpfilter-bench "$@"

#!/usr/bin/env bash
# Install what bpfilter's build, tests and demo need, if missing. Idempotent; run as root.
set -euo pipefail
need_apt=()
command -v iptables-legacy >/dev/null || need_apt+=(iptables)
command -v nft >/dev/null || need_apt+=(nftables)
command -v bpftool >/dev/null || need_apt+=(bpftool)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v xxd >/dev/null || need_apt+=(xxd)
command -v unshare >/dev/null || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! rustup target list --installed | grep -q x86_64-unknown-none; then
  echo "setup: adding the x86_64-unknown-none target (proves core is no_std)"
  rustup target add x86_64-unknown-none || { echo "!! setup: cannot install x86_64-unknown-none: the no_std build check cannot run" >&2; exit 1; }
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "setup: installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
if ! rustup toolchain list | grep -q nightly; then
  echo "setup: no nightly toolchain; fuzzing falls back to RUSTC_BOOTSTRAP=1 on stable"
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true

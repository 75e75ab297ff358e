#!/usr/bin/env bash
# Two long-running `bpfilter exec` sessions add rules to the same table of the same namespace
# at the same time: no rule may be lost (each session sees the other's changes, and a stale
# num_counters gets EAGAIN from bpfilter as from the kernel, which libiptc retries).
#   tests/e2e/racing_clients.sh BPFILTER_BINARY [RULES_PER_CLIENT]
set -euo pipefail
BPF=${1:?usage: $0 BPFILTER_BINARY [RULES_PER_CLIENT]}
N=${2:-15}
tag=bpfrace$$; A=$tag-a
state=$(mktemp -d); pins=/sys/fs/bpf/$tag
cleanup() { ip netns del $A 2>/dev/null || true; rm -rf "$state" "$pins"; }
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add $A
session() { # BASE: one bpfilter exec serving N iptables-legacy commands in a row
  nsenter --net=/run/netns/$A "$BPF" exec -q --state-dir "$state" --pin-dir "$pins" -- sh -c "
    for i in \$(seq 1 $N); do iptables-legacy -w -A INPUT -p udp --dport \$(( $1 + i )) -j DROP || exit 1; done"
}
session 1000 & a=$!
session 2000 & b=$!
wait $a || { echo "FAIL: client 1 failed" >&2; exit 1; }
wait $b || { echo "FAIL: client 2 failed" >&2; exit 1; }
n=$(nsenter --net=/run/netns/$A "$BPF" exec -q --state-dir "$state" --pin-dir "$pins" -- iptables-legacy -S INPUT | grep -c -- '--dport')
[ "$n" = $((2 * N)) ] || { echo "FAIL: $n rules of $((2 * N)) survived" >&2; exit 1; }
echo "PASS: two racing clients, $n of $((2 * N)) rules kept"

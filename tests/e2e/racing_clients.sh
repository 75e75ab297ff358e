#!/usr/bin/env bash
# Two long-running `bpfilter exec` sessions add rules to the same table of the same namespace
# at the same time: no rule may be lost (each session sees the other's changes, and a stale
# num_counters gets EAGAIN from bpfilter as from the kernel, which libiptc retries).
# MODE: in-process (each exec serves its own session, default) or daemon (both sessions are
# handed to one `bpfilter daemon`, which serves them on two threads).
#   tests/e2e/racing_clients.sh BPFILTER_BINARY [RULES_PER_CLIENT] [in-process|daemon]
set -euo pipefail
BPF=${1:?usage: $0 BPFILTER_BINARY [RULES_PER_CLIENT] [in-process|daemon]}
N=${2:-15}
MODE=${3:-in-process}
tag=bpfrace$$; A=$tag-a
state=$(mktemp -d); pins=/sys/fs/bpf/$tag
dpid=
cleanup() {
  [ -n "$dpid" ] && { kill -9 "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; }
  ip netns del $A 2>/dev/null || true; rm -rf "$state" "$pins"
}
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add $A
case "$MODE" in
  in-process) served=(--no-daemon --state-dir "$state" --pin-dir "$pins") ;;
  daemon)
    S=$state/run/bpfilter.sock
    "$BPF" daemon --socket "$S" --state-dir "$state/st" --pin-dir "$pins" 2>"$state/daemon.log" &
    dpid=$!
    for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
    [ -S "$S" ] || { echo "FAIL: the daemon does not listen" >&2; exit 1; }
    served=(--daemon --socket "$S") ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
session() { # BASE: one bpfilter exec serving N iptables-legacy commands in a row
  nsenter --net=/run/netns/$A "$BPF" exec -q "${served[@]}" -- sh -c "
    for i in \$(seq 1 $N); do iptables-legacy -w -A INPUT -p udp --dport \$(( $1 + i )) -j DROP || exit 1; done"
}
session 1000 & a=$!
session 2000 & b=$!
wait $a || { echo "FAIL: client 1 failed" >&2; exit 1; }
wait $b || { echo "FAIL: client 2 failed" >&2; exit 1; }
n=$(nsenter --net=/run/netns/$A "$BPF" exec -q "${served[@]}" -- iptables-legacy -S INPUT | grep -c -- '--dport')
[ "$n" = $((2 * N)) ] || { echo "FAIL: $n rules of $((2 * N)) survived" >&2; exit 1; }
if [ "$MODE" = daemon ]; then
  # Every rule was one replace, and every replace went through the daemon.
  r=$(grep -c 'msg="replaced table"' "$state/daemon.log" || true)
  [ "$r" = $((2 * N)) ] || { echo "FAIL: the daemon logged $r replaces, expected $((2 * N))" >&2; exit 1; }
fi
echo "PASS: two racing clients, $n of $((2 * N)) rules kept ($MODE)"

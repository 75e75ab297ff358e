#!/usr/bin/env bash
# Kill -9 `bpfilter exec` at random moments of a stream of replaces; after every kill the
# namespace must be filtered by one whole ruleset (never unfiltered), and after the next
# command (which repairs an interrupted replace) by exactly the ruleset its tables list.
#   tests/e2e/kill_during_replace.sh BPFILTER_BINARY [ROUNDS]
set -euo pipefail
BPF=${1:?usage: $0 BPFILTER_BINARY [ROUNDS]}
ROUNDS=${2:-12}
tag=bpfkill$$; A=$tag-a; B=$tag-b
state=$(mktemp -d); pins=/sys/fs/bpf/$tag
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$state" "$pins"; }
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add $A; ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add 10.99.0.1/24 dev va; ip -n $B addr add 10.99.0.2/24 dev vb
ip -n $A link set va up; ip -n $B link set vb up
fail() { echo "FAIL: $*" >&2; exit 1; }
bx() { nsenter --net=/run/netns/$A "$BPF" exec -q --state-dir "$state" --pin-dir "$pins" -- "$@"; }
ruleset() { # PORT_DROPPED: many rules so that a replace takes a while, one that matters
  printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
  for i in $(seq 1 400); do printf -- '-A INPUT -s 10.200.%d.%d/32 -p udp -m udp --dport 9 -j DROP\n' $((i / 250)) $((i % 250)); done
  printf -- '-A INPUT -p udp -m udp --dport %s -j DROP\nCOMMIT\n' "$1"
}
ruleset 23 > "$state/r23"; ruleset 24 > "$state/r24"
# probe: which of ports 23 and 24 receive a datagram from the peer ("23 24", "23", "24", "").
probe() {
  nsenter --net=/run/netns/$A timeout 5 python3 -c "
import socket, select, time
ss = {}
for p in (23, 24):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.99.0.1', p)); ss[s] = p
print('ready', flush=True)
got, end = set(), time.time() + 1.0
while time.time() < end:
    r, _, _ = select.select(list(ss), [], [], 0.1)
    for s in r: s.recv(100); got.add(ss[s])
print(' '.join(str(p) for p in sorted(got)))" > "$state/probe" &
  local pid=$!
  for _ in $(seq 50); do grep -q ready "$state/probe" 2>/dev/null && break; sleep 0.02; done
  nsenter --net=/run/netns/$B python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in (23, 24): s.sendto(b'x', ('10.99.0.1', p))"
  wait $pid; tail -n 1 "$state/probe"
}
bx sh -c "iptables-legacy-restore < $state/r23"
[ "$(probe)" = "24" ] || fail "initial ruleset not in force"
for round in $(seq 1 "$ROUNDS"); do
  want=$(( round % 2 ? 24 : 23 ))
  # Pauses at the crash-sensitive points of the replace widen the windows the kill aims at.
  BPFILTER_TEST_REPLACE_PAUSE_MS=400 nsenter --net=/run/netns/$A "$BPF" exec -q \
    --state-dir "$state" --pin-dir "$pins" -- sh -c "iptables-legacy-restore < $state/r$want" &
  pid=$!
  sleep "$(( RANDOM % 2 )).$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  # Its command lost its server: the next trapped call fails (ENOSYS). Only this round's own
  # restore (its unique file name), never every iptables-legacy-restore on the machine.
  pkill -9 -f "iptables-legacy-restore < $state/r$want" 2>/dev/null || true
  after_kill=$(probe)
  [ "$after_kill" != "23 24" ] || fail "round $round: unfiltered right after the kill"
  # The next command repairs an interrupted replace; then tables and traffic agree.
  listed=$(bx iptables-legacy -S INPUT | grep -- '--dport 2[34]' | sed -E 's/.*--dport (2[34]).*/\1/')
  case "$listed" in 23) expect=24 ;; 24) expect=23 ;; *) fail "round $round: tables list '$listed'" ;; esac
  now=$(probe)
  [ "$now" = "$expect" ] || fail "round $round: tables drop port $listed but traffic reaches '$now'"
  [ ! -e "$pins"/*/filter_new ] && [ ! -e "$pins"/*/filter_stale ] || fail "round $round: leftover pins"
  n=$(ls "$pins"/*/filter/ | grep -c '^link_')
  [ "$n" = 3 ] || fail "round $round: $n pinned links"
  echo "round $round: killed during the replace to port $want; after the kill: '$after_kill' arrive; tables drop $listed; traffic '$now'"
done
echo "PASS: $ROUNDS kills during replaces, never unfiltered, always one whole ruleset after repair"

#!/usr/bin/env bash
# `bpfilter exec` takes over when its daemon goes away mid-command (throwaway network
# namespaces; socket, state and pins in temporary places):
#  1. `kill -9` of the daemon between two iptables commands of one script: the script goes on
#     (its opens too), exits 0 and lists both rules; both are in the daemon's state dir and
#     pins (a later `--no-daemon` exec with those directories lists them) and both are enforced;
#  2. `kill -9` with a getsockopt in flight (the daemon paused right after announcing it):
#     exec serves it again and the command succeeds;
#  3. `kill -9` with a setsockopt in flight: it fails with EAGAIN and is not applied; the
#     script's next command is served in-process;
#  4. `kill -9` after the daemon received a setsockopt but before it announced it: exec finds
#     it by its id (the next after the last announced one) and answers EAGAIN.
#   tests/e2e/takeover.sh BPFILTER_BINARY
set -euo pipefail
BPF=${1:?usage: $0 BPFILTER_BINARY}
tag=bpftk$$; A=$tag-a; B=$tag-b
state=$(mktemp -d); pins=/sys/fs/bpf/$tag
S=$state/run/bpfilter.sock; dlog=$state/daemon.log
dpid=
stop_daemon() { # kill -9 the daemon this script started, and reap it
  [ -n "$dpid" ] || return 0
  kill -9 "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; dpid=
}
cleanup() {
  stop_daemon
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true
  rm -rf "$pins" "$state" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- daemon log (tail)" >&2; tail -n 20 "$dlog" >&2 || true; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add $A; ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add 10.99.0.1/24 dev va; ip -n $B addr add 10.99.0.2/24 dev vb
ip -n $A link set va up; ip -n $B link set vb up; ip -n $A link set lo up
: > "$dlog"

start_daemon() { # [VAR=VALUE...]: start it, wait until it listens
  env "$@" "$BPF" daemon --socket "$S" --state-dir "$state/st" --pin-dir "$pins" 2>>"$dlog" >/dev/null &
  dpid=$!
  for _ in $(seq 100); do
    grep -q "msg=listening .*pid=$dpid\$" "$dlog" && return 0
    kill -0 "$dpid" 2>/dev/null || fail "the daemon exited at start"
    sleep 0.05
  done
  fail "the daemon does not listen"
}
# wait_for WHAT CMD...: until CMD succeeds, at most 10 s.
wait_for() {
  local what=$1; shift
  for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done
  fail "timed out waiting for $what"
}
# bx CMD...: CMD in namespace A through the daemon (info logs: the takeover's details);
# stdout/stderr to $state/out, $state/err.
bx() { nsenter --net=/run/netns/$A "$BPF" exec --daemon --socket "$S" -- "$@" >"$state/out" 2>"$state/err"; }
# listed: the INPUT rules as kept in the daemon's directories (served without the daemon).
listed() {
  nsenter --net=/run/netns/$A "$BPF" exec -q --no-daemon --state-dir "$state/st" --pin-dir "$pins" \
    -- iptables-legacy -S INPUT
}
# probe: which of ports 23, 24, 25 receive a datagram from the peer (25 is never dropped and
# is sent last, so once it is in, the others had their chance).
probe() {
  nsenter --net=/run/netns/$A timeout 10 python3 -c "
import socket, select, time
ss = {}
for p in (23, 24, 25):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.99.0.1', p)); ss[s] = p
print('ready', flush=True)
got, end = set(), time.time() + 5.0
while time.time() < end and 25 not in got:
    r, _, _ = select.select(list(ss), [], [], 0.1)
    for s in r: s.recv(100); got.add(ss[s])
time.sleep(0.1)
for s in select.select(list(ss), [], [], 0)[0]: s.recv(100); got.add(ss[s])
print(' '.join(str(p) for p in sorted(got)))" > "$state/probe" &
  local pid=$!
  for _ in $(seq 50); do grep -q ready "$state/probe" 2>/dev/null && break; sleep 0.02; done
  nsenter --net=/run/netns/$B python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in (23, 24, 25): s.sendto(b'x', ('10.99.0.1', p))"
  wait $pid; tail -n 1 "$state/probe"
}
rule() { echo "-A INPUT -p udp -m udp --dport $1 -j DROP"; }

echo "== kill -9 of the daemon between two commands of a script"
start_daemon
m=$state/marks; mkdir "$m"
bx sh -c "
  iptables-legacy -A INPUT -p udp --dport 23 -j DROP || exit 10
  touch $m/added
  i=0; while [ ! -e $m/killed ]; do i=\$((i + 1)); [ \$i -le 200 ] || exit 11; sleep 0.05; done
  iptables-legacy -A INPUT -p udp --dport 24 -j DROP || exit 12
  cat /etc/hostname > /dev/null || exit 13
  iptables-legacy -S INPUT" &
xp=$!
wait_for "the first rule" test -e "$m/added"
stop_daemon
touch "$m/killed"
rc=0; wait $xp || rc=$?
[ "$rc" = 0 ] || fail "the script exited $rc after the daemon died: $(cat "$state/out" "$state/err")"
grep -qx -- "$(rule 23)" "$state/out" && grep -qx -- "$(rule 24)" "$state/out" \
  || fail "the script's listing: $(cat "$state/out")"
grep -q 'msg="the daemon went away; serving in-process" state_dir='"$state/st"' pin_dir='"$pins" "$state/err" \
  || fail "no takeover warning with the daemon's directories: $(cat "$state/err")"
l=$(listed)
grep -qx -- "$(rule 23)" <<<"$l" && grep -qx -- "$(rule 24)" <<<"$l" || fail "not in the daemon's state: $l"
n=$(ls "$pins"/*/filter/ | grep -c '^link_')
[ "$n" = 3 ] || fail "$n pinned links in the daemon's pin dir"
[ "$(probe)" = 25 ] || fail "after the takeover '$(cat "$state/probe")' arrive (23 and 24 must be dropped)"
echo "exit 0, both rules listed, in the daemon's state and pins, 23 and 24 dropped"

echo "== kill -9 with a getsockopt in flight"
start_daemon BPFILTER_TEST_INFLIGHT_PAUSE=get:10000
bx iptables-legacy -A INPUT -p udp --dport 26 -j DROP &
xp=$!
wait_for "the daemon's pause" grep -q 'msg="test pause after announcing a call" .*nr=55 ' "$dlog"
stop_daemon
rc=0; wait $xp || rc=$?
[ "$rc" = 0 ] || fail "the command exited $rc: $(cat "$state/err")"
grep -q 'msg="served the call in flight again" pid=[0-9]* nr=55' "$state/err" \
  || fail "the getsockopt in flight was not served again: $(cat "$state/err")"
listed | grep -qx -- "$(rule 26)" || fail "rule 26 missing: $(listed)"
echo "served again, rule 26 added"

# refused_set TITLE PAUSE PAUSED_MSG ANSWER_MSG PORT WHAT: kill -9 while the daemon holds the
# setsockopt adding PORT (PAUSE: BPFILTER_TEST_INFLIGHT_PAUSE's mode); exec must answer it with
# EAGAIN (ANSWER_MSG in its log), never apply it, and serve the script's next call (PORT+1).
refused_set() {
  local title=$1 pause=$2 paused=$3 answer=$4 port=$5 what=$6 next=$(($5 + 1))
  echo "== kill -9 with a setsockopt $title"
  : > "$dlog"
  start_daemon BPFILTER_TEST_INFLIGHT_PAUSE=$pause:10000
  bx sh -c "iptables-legacy -A INPUT -p udp --dport $port -j DROP; echo \"rc=\$?\"; iptables-legacy -A INPUT -p udp --dport $next -j DROP" &
  xp=$!
  wait_for "the daemon's pause" grep -q "msg=\"$paused\" .*nr=54 " "$dlog"
  stop_daemon
  rc=0; wait $xp || rc=$?
  [ "$rc" = 0 ] || fail "the script exited $rc: $(cat "$state/out" "$state/err")"
  grep -qx 'rc=[1-9][0-9]*' "$state/out" || fail "the $what setsockopt did not fail: $(cat "$state/out")"
  grep -q "msg=\"$answer" "$state/err" || fail "no EAGAIN for the $what setsockopt: $(cat "$state/err")"
  l=$(listed)
  ! grep -qx -- "$(rule "$port")" <<<"$l" || fail "the $what replace was applied: $l"
  grep -qx -- "$(rule "$next")" <<<"$l" || fail "rule $next missing: $l"
}
refused_set "in flight" set "test pause after announcing a call" \
  "answered the setsockopt in flight with EAGAIN" 27 "in-flight"
echo "$(cat "$state/out"), rule 27 not applied, rule 28 added"
refused_set "received but not announced" set-unannounced "test pause before announcing a call" \
  "answered a call the daemon received but never announced with EAGAIN" 29 "unannounced"
echo "$(cat "$state/out"), found by its id, rule 29 not applied, rule 30 added"
echo "PASS: takeover: script across kill -9, getsockopt in flight served again, setsockopt in flight EAGAIN, unannounced call found"

#!/usr/bin/env bash
# The seed example, end to end, through unmodified iptables-legacy and `bpfilter exec`, in two
# throwaway network namespaces joined by a veth pair. The same commands and the same traffic
# also go through the kernel's own iptables in a second pair, and the counters must be equal.
#   tests/e2e/seed_example.sh BPFILTER_BINARY
set -euo pipefail
BPF=${1:?usage: $0 BPFILTER_BINARY}
tag=bpfe2e$$
A=$tag-a; B=$tag-b; KA=$tag-ka; KB=$tag-kb
state=$(mktemp -d); pins=/sys/fs/bpf/$tag
cleanup() {
  for n in $A $B $KA $KB; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$state"; rm -rf "$pins" 2>/dev/null || true
}
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
pair() { # NS_IN NS_PEER
  ip netns add "$1"; ip netns add "$2"
  ip link add va netns "$1" type veth peer name vb netns "$2"
  ip -n "$1" addr add 10.99.0.1/24 dev va; ip -n "$2" addr add 10.99.0.2/24 dev vb
  ip -n "$1" link set va up; ip -n "$2" link set vb up; ip -n "$1" link set lo up
}
pair $A $B; pair $KA $KB
fail() { echo "FAIL: $*" >&2; exit 1; }
# ipt bpfilter|kernel ARGS...: iptables-legacy in the receiving namespace of that pair.
ipt() {
  local how=$1; shift
  if [ "$how" = bpfilter ]; then
    nsenter --net=/run/netns/$A "$BPF" exec -q --state-dir "$state" --pin-dir "$pins" -- "$@"
  else
    nsenter --net=/run/netns/$KA "$@"
  fi
}
both() { ipt bpfilter "$@"; ipt kernel "$@" >/dev/null; }
# udp PORT: send one 10-byte datagram from the peer; prints "arrived" or "dropped".
udp() {
  local recv=$1 peer=$2 port=$3
  nsenter --net=/run/netns/$recv timeout 5 python3 -c "
import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('10.99.0.1',$port)); s.settimeout(1.5)
try:
    s.recvfrom(100); print('arrived')
except socket.timeout:
    print('dropped')" > "$state/r" &
  sleep 0.3
  nsenter --net=/run/netns/$peer python3 -c "
import socket; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'x'*10,('10.99.0.1',$port))"
  wait; cat "$state/r"
}
traffic() { # PORT EXPECT: the same datagram through both pairs
  local b k; b=$(udp $A $B "$1"); k=$(udp $KA $KB "$1")
  [ "$b" = "$2" ] || fail "bpfilter: UDP to port $1 $b, expected $2"
  [ "$k" = "$2" ] || fail "kernel: UDP to port $1 $k, expected $2"
  echo "UDP to port $1: $b (bpfilter), $k (kernel)"
}
same_counters() {
  local b k; b=$(ipt bpfilter iptables-legacy -L -n -v -x); k=$(ipt kernel iptables-legacy -L -n -v -x)
  [ "$b" = "$k" ] || { diff <(echo "$b") <(echo "$k") >&2; fail "counters differ ($*)"; }
}

echo "== -L -n on a fresh namespace"
out=$(ipt bpfilter iptables-legacy -L -n)
for c in INPUT FORWARD OUTPUT; do grep -q "^Chain $c (policy ACCEPT)" <<<"$out" || fail "no empty $c chain: $out"; done
[ "$(grep -c '^Chain' <<<"$out")" = 3 ] || fail "expected three chains"

echo "== -A INPUT -p udp --dport 23 -j DROP"
both iptables-legacy -A INPUT -p udp --dport 23 -j DROP
ipt bpfilter iptables-legacy -L -n | grep -q "DROP .*udp dpt:23" || fail "rule not listed"
traffic 23 dropped
traffic 24 arrived
v=$(ipt bpfilter iptables-legacy -L INPUT -n -v -x)
grep -Eq "^ +1 +38 DROP" <<<"$v" || fail "expected 1 packet / 38 bytes on the rule: $v"
same_counters "after the seed traffic"

echo "== the kernel's x_tables in the bpfilter namespace stay empty"
[ -z "$(ip netns exec $A cat /proc/net/ip_tables_names)" ] || fail "x_tables instantiated in the bpfilter namespace"

echo "== -F: port 23 arrives again"
both iptables-legacy -F
traffic 23 arrived

echo "== -I, -R, -D, -P, -N, -X, -E, -Z, jumps into user chains"
both iptables-legacy -N web
both iptables-legacy -A web -p udp --dport 80 -j DROP
both iptables-legacy -A web -j RETURN
both iptables-legacy -A INPUT -p udp -j web
both iptables-legacy -I INPUT 1 -p udp --dport 25 -j DROP
traffic 80 dropped; traffic 25 dropped; traffic 26 arrived
both iptables-legacy -R INPUT 1 -p udp --dport 27 -j DROP
traffic 25 arrived; traffic 27 dropped
both iptables-legacy -D INPUT 1
traffic 27 arrived
same_counters "after jumps"
both iptables-legacy -Z
same_counters "after -Z"
both iptables-legacy -E web www
ipt bpfilter iptables-legacy -S | grep -q -- "-A INPUT -p udp -j www" || fail "rename not visible"
both iptables-legacy -D INPUT -p udp -j www
both iptables-legacy -F www; both iptables-legacy -X www
both iptables-legacy -P INPUT DROP
traffic 24 dropped
both iptables-legacy -P INPUT ACCEPT
traffic 24 arrived
same_counters "after policies"

echo "== iptables-legacy-save / -restore round trip"
cat > "$state/rules" <<'RULES'
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:udpin - [0:0]
-A INPUT -s 10.99.0.0/24 -p udp -j udpin
-A udpin -p udp -m udp --dport 30:39 -j DROP
-A udpin -p udp -m multiport --dports 40,41 -j DROP
-A udpin -j RETURN
COMMIT
RULES
ipt bpfilter sh -c "iptables-legacy-restore < $state/rules"
ipt kernel sh -c "iptables-legacy-restore < $state/rules"
traffic 35 dropped; traffic 41 dropped; traffic 42 arrived
saved_b=$(ipt bpfilter iptables-legacy-save -t filter | grep -v '^#')
saved_k=$(ipt kernel iptables-legacy-save -t filter | grep -v '^#')
[ "$saved_b" = "$saved_k" ] || { diff <(echo "$saved_b") <(echo "$saved_k") >&2; fail "save differs"; }
# Without -t, iptables-save lists the tables of /proc/net/ip_tables_names (bpfilter answers
# that open for its own tables): the same dump, and -c with the same counters.
all_b=$(ipt bpfilter iptables-legacy-save -c | grep -v '^#')
all_k=$(ipt kernel iptables-legacy-save -c | grep -v '^#')
[ -n "$all_b" ] || fail "iptables-legacy-save without -t printed nothing"
[ "$all_b" = "$all_k" ] || { diff <(echo "$all_b") <(echo "$all_k") >&2; fail "save without -t differs"; }
same_counters "after restore"
echo "== LOG: bpfilter log prints the kernel's LOG line for a logged packet"
ipt bpfilter iptables-legacy -I INPUT 1 -p udp --dport 23 -j LOG --log-prefix "udp23: "
"$BPF" log --state-dir "$state" --pin-dir "$pins" --count 1 --timeout 8 > "$state/log" 2>&1 &
logger=$!
sleep 0.5
udp $A $B 23 >/dev/null
wait $logger 2>/dev/null || true
grep -q "^udp23: IN=va OUT= .*SRC=10.99.0.2 DST=10.99.0.1 .*PROTO=UDP SPT=[0-9]* DPT=23 LEN=18" "$state/log" \
  || fail "no LOG line: $(cat "$state/log")"
echo "LOG line: $(cat "$state/log")"
echo "PASS: seed example and friends through bpfilter, counters equal to the kernel's"

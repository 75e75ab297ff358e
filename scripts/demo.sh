#!/usr/bin/env bash
# bpfilter's main job, shown in a throwaway network namespace (nothing on the host changes).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "!! scripts/demo.sh needs root (network namespaces, x_tables, BPF)" >&2; exit 1; }
scripts/setup.sh
echo "== building"
cargo build --release -q -p blobcheck -p bpfilter-umh
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

echo "== 1. capture the blob iptables-legacy sends, in a throwaway namespace"
cat > "$work/rules" <<'RULES'
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ssh - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ssh
-A INPUT -p udp -m udp --dport 23 -j DROP
-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 5/sec -j ACCEPT
-A ssh -s 10.0.0.0/8 -j ACCEPT
-A ssh -m comment --comment "everyone else" -j LOG --log-prefix "ssh-denied: "
COMMIT
RULES
say "unshare -n sh -c 'iptables-legacy-restore < rules && blobcheck capture --table filter -o filter.bin'"
unshare -n sh -c "iptables-legacy-restore < '$work/rules' && '$bin/blobcheck' capture --table filter -o '$work/filter.bin'"
ls -l "$work/filter.bin"

echo "== 2. validate it offline, exactly as the kernel's translate_table would"
say "blobcheck --current-entries blob filter.bin"
"$bin/blobcheck" --current-entries blob "$work/filter.bin"
say "blobcheck --dump --current-entries blob filter.bin   (iptables-save syntax, from bpfilter's IR)"
"$bin/blobcheck" --dump --current-entries blob "$work/filter.bin"

echo "== 3. break it: a jump 8 bytes into its target entry (the kind of offset mark_source_chains must catch)"
python3 - "$work/filter.bin" "$work/broken.bin" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
# The 3rd entry jumps to the ssh chain; point the jump 8 bytes into its target.
blob = d[96:]
pos = 0
for _ in range(2):
    pos += struct.unpack_from('<H', blob, pos + 90)[0]
to = struct.unpack_from('<H', blob, pos + 88)[0]
v = struct.unpack_from('<i', blob, pos + to + 32)[0]
struct.pack_into('<i', d, 96 + pos + to + 32, v + 8)
open(sys.argv[2], 'wb').write(d)
PY
say "blobcheck --current-entries blob broken.bin"
"$bin/blobcheck" --current-entries blob "$work/broken.bin" || echo "(exit status $?: rejected, as the kernel rejects it)"
say "the kernel's own answer for the same bytes"
unshare -n python3 - "$work/broken.bin" <<'PY'
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
data = open(sys.argv[1], 'rb').read()
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
# num_counters must match the fresh table (4 entries) for the errno to come from the blob.
buf = bytearray(data); buf[84:88] = (4).to_bytes(4, 'little')
b = ctypes.create_string_buffer(bytes(buf), len(buf))
r = libc.setsockopt(s.fileno(), 0, 64, b, len(buf))
import errno, os
print("setsockopt(IPT_SO_SET_REPLACE) =", r, errno.errorcode.get(ctypes.get_errno(), "") if r else "")
PY

echo
echo "== 4. the same iptables-legacy, unmodified, with bpfilter in place of x_tables"
tag=bpfdemo$$; A=$tag-a; B=$tag-b; pins=/sys/fs/bpf/$tag; state=$work/state
dpid=
cleanup_ns() {
  [ -n "$dpid" ] && { kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; } || true
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$pins"
}
trap 'cleanup_ns; rm -rf "$work"' EXIT
ip netns add $A; ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add 10.99.0.1/24 dev va; ip -n $B addr add 10.99.0.2/24 dev vb
ip -n $A link set va up; ip -n $B link set vb up
echo "(namespaces $A with 10.99.0.1 and its peer $B with 10.99.0.2, joined by a veth pair)"
sock=$work/bpfilter.sock
say "bpfilter daemon --socket $sock ... &   (the long-running helper; its log lines go to $work/daemon.log)"
"$bin/bpfilter" daemon --socket "$sock" --state-dir "$state" --pin-dir "$pins" --log-packets stdout \
  2>"$work/daemon.log" >"$work/daemon.out" &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "!! the daemon did not start:"; cat "$work/daemon.log"; exit 1; }
ipt() { say "bpfilter exec -- $*"; nsenter --net=/run/netns/$A "$bin/bpfilter" exec -q --daemon --socket "$sock" -- "$@"; }
send() {
  nsenter --net=/run/netns/$A timeout 5 python3 -c "
import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('10.99.0.1',$1)); s.settimeout(1.5)
try:
    d,a=s.recvfrom(100); print('  UDP datagram to port $1 from', a[0], '-> arrived')
except socket.timeout:
    print('  UDP datagram to port $1 from 10.99.0.2 -> dropped')" &
  local listener=$!
  sleep 0.3
  nsenter --net=/run/netns/$B python3 -c "
import socket; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'0123456789',('10.99.0.1',$1))"
  wait "$listener"
}
ipt iptables-legacy -L -n
ipt iptables-legacy -A INPUT -p udp --dport 23 -j DROP
ipt iptables-legacy -L -n
say "send one UDP datagram from the peer to port 23, then one to port 24"
send 23; send 24
ipt iptables-legacy -L INPUT -n -v -x
say "ls -R $pins; bpftool link show   (generated programs behind pinned netfilter links; this bpftool prints their link type as 10)"
ls -R "$pins" | sed 's/^/  /'
bpftool link show | grep -E "netfilter|type 10" | head -6 | sed 's/^/  /' || true
say "the kernel's own x_tables in that namespace: /proc/net/ip_tables_names"
echo "  [$(ip netns exec $A cat /proc/net/ip_tables_names)] (empty: no x_tables table was ever made)"
ipt iptables-legacy -I INPUT 1 -p udp --dport 24 -j LOG --log-prefix "demo: "
say "send to port 24: the daemon prints the kernel's LOG line from the program's ring buffer"
send 24
for _ in $(seq 30); do grep -q "demo: " "$work/daemon.out" && break; sleep 0.1; done
sed 's/^/  /' "$work/daemon.out"
ipt iptables-legacy-save
ipt iptables-legacy -F
say "send to port 23 again"
send 23
say "the daemon's own log (journald-friendly: <priority> then key=value)"
sed 's/^/  /' "$work/daemon.log" | head -8
echo
echo "The same commands work for scripts and restores:"
echo "  bpfilter exec -- sh -c 'iptables-legacy-restore < rules.v4 && iptables-legacy-save'"

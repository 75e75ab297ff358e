# Shared by the e2e scripts: `source` it once $A (the namespace with 10.99.0.1), $B (its peer)
# and $state (a scratch directory) are set.
#
# probe [SECS]: which of ports 23 and 24 receive a datagram from the peer ("23 24", "23",
# "24", ""), waiting at most SECS (default 5) for port 24. 23 is sent first on the same path,
# so once 24 is in, 23 had its chance; the long default is for a loaded machine (where the
# sender's python may take a while to start).
probe() {
  nsenter --net=/run/netns/$A timeout 10 python3 -c "
import socket, select, time
ss = {}
for p in (23, 24):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.99.0.1', p)); ss[s] = p
print('ready', flush=True)
got, end = set(), time.time() + ${1:-5}
while time.time() < end and 24 not in got:
    r, _, _ = select.select(list(ss), [], [], 0.1)
    for s in r: s.recv(100); got.add(ss[s])
time.sleep(0.1)
for s in select.select(list(ss), [], [], 0)[0]: s.recv(100); got.add(ss[s])
print(' '.join(str(p) for p in sorted(got)))" > "$state/probe" &
  local pid=$!
  for _ in $(seq 50); do grep -q ready "$state/probe" 2>/dev/null && break; sleep 0.02; done
  nsenter --net=/run/netns/$B python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in (23, 24): s.sendto(b'x', ('10.99.0.1', p))"
  wait $pid; tail -n 1 "$state/probe"
}

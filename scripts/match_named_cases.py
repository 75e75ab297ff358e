"""Re-check the named cases of core/tests/ext_matches_checks.rs against the running kernel.

    unshare -n python3 scripts/match_named_cases.py > named.txt   # stderr: mismatches
    python3 scripts/match_named_cases.py --write named.txt core/tests/ext_matches_checks.rs

Each case states the errno we expect; a kernel that answers differently is reported."""
import sys, os, struct
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xt_sockopt import *
from match_kernel_cases import sparse, SIZES
E = {0: 'Ok', 2: 'ENOENT', 22: 'EINVAL', 34: 'ERANGE', 36: 'ENAMETOOLONG', 33: 'EDOM'}
def P(name, rev, fields):
    b = bytearray(align8(SIZES[(name, rev)]))
    for off, fmt, val in fields:
        if fmt == 'b': b[off:off+len(val)] = val
        else: struct.pack_into('<' + fmt, b, off, val)
    return bytes(b)
ret_ffff = struct.pack('<HBBI', 0x06, 0, 0, 0xffff)
cases = [
 # (description, name, rev, table, hooks, proto, invflags, fields, expected)
 ('tcp: invflags 0x10 is not a tcp inversion (spec E12)', 'tcp', 0, 'filter', [1], 6, 0, [(11,'B',0x10)], 22),
 ('tcp: all four inversions', 'tcp', 0, 'filter', [1], 6, 0, [(2,'H',0xffff),(6,'H',0xffff),(11,'B',0x0f)], 0),
 ('tcp: needs -p tcp (spec E8)', 'tcp', 0, 'filter', [1], 0, 0, [], 22),
 ('tcp: -p tcp inverted (spec E9)', 'tcp', 0, 'filter', [1], 6, 0x40, [], 22),
 ('tcp: -p udp (spec E10)', 'tcp', 0, 'filter', [1], 17, 0, [], 22),
 ('udp: invflags 0x04', 'udp', 0, 'filter', [1], 17, 0, [(8,'B',4)], 22),
 ('udplite: -p udplite', 'udplite', 0, 'filter', [1], 136, 0, [(2,'H',0xffff),(6,'H',0xffff)], 0),
 ('icmp: invflags 0x02', 'icmp', 0, 'filter', [1], 1, 0, [(0,'B',8),(2,'B',0xff),(3,'B',2)], 22),
 ('multiport: without -p', 'multiport', 1, 'filter', [1], 0, 0, [(0,'B',1),(1,'B',1),(2,'H',22)], 22),
 ('multiport: -p icmp', 'multiport', 1, 'filter', [1], 1, 0, [(0,'B',1),(1,'B',1),(2,'H',22)], 22),
 ('multiport: ! -p tcp', 'multiport', 1, 'filter', [1], 6, 0x40, [(0,'B',1),(1,'B',1),(2,'H',22)], 22),
 ('multiport: 16 ports', 'multiport', 1, 'filter', [1], 6, 0, [(0,'B',1),(1,'B',16)], 22),
 ('multiport: direction 3', 'multiport', 1, 'filter', [1], 6, 0, [(0,'B',3),(1,'B',1)], 22),
 ('multiport: range flag on the last port', 'multiport', 1, 'filter', [1], 17, 0, [(0,'B',1),(1,'B',2),(2,'H',1),(4,'H',2),(33,'B',1)], 22),
 ('multiport: descending range', 'multiport', 1, 'filter', [1], 17, 0, [(0,'B',1),(1,'B',2),(2,'H',9),(4,'H',2),(32,'B',1)], 22),
 ('multiport: -p sctp, range 1:2', 'multiport', 1, 'filter', [1], 132, 0, [(0,'B',1),(1,'B',2),(2,'H',1),(4,'H',2),(32,'B',1)], 0),
 ('limit: burst 0', 'limit', 0, 'filter', [1], 0, 0, [(0,'I',10000),(4,'I',0)], 34),
 ('limit: --limit 3/hour --limit-burst 10000 overflows the credits', 'limit', 0, 'filter', [1], 0, 0, [(0,'I',12000000),(4,'I',10000)], 34),
 ('limit: 3/hour burst 5 (iptables default)', 'limit', 0, 'filter', [1], 0, 0, [(0,'I',12000000),(4,'I',5)], 0),
 ('owner: INPUT (spec E20)', 'owner', 1, 'filter', [1], 0, 0, [(16,'B',4)], 22),
 ('owner: OUTPUT', 'owner', 1, 'filter', [3], 0, 0, [(16,'B',4)], 0),
 ('owner: unreferenced chain (hook mask 0)', 'owner', 1, 'filter', [], 0, 0, [(16,'B',4)], 0),
 ('owner: uid range reversed', 'owner', 1, 'filter', [3], 0, 0, [(0,'I',10),(4,'I',5),(16,'B',1)], 22),
 ('owner: uid -1 is unmappable', 'owner', 1, 'filter', [3], 0, 0, [(0,'I',0xffffffff),(4,'I',0xffffffff),(16,'B',1)], 22),
 ('owner: unknown match flag 0x10', 'owner', 1, 'filter', [3], 0, 0, [(16,'B',0x10)], 22),
 ('physdev: no option', 'physdev', 0, 'filter', [2], 0, 0, [], 22),
 ('physdev: --physdev-out in OUTPUT', 'physdev', 0, 'filter', [3], 0, 0, [(65,'B',2)], 22),
 ('physdev: --physdev-out --physdev-is-bridged in OUTPUT', 'physdev', 0, 'filter', [3], 0, 0, [(65,'B',6)], 0),
 ('physdev: --physdev-out in FORWARD', 'physdev', 0, 'filter', [2], 0, 0, [(65,'B',2)], 0),
 ('addrtype: --limit-iface-out in INPUT', 'addrtype', 1, 'filter', [1], 0, 0, [(0,'H',4),(4,'I',8)], 22),
 ('addrtype: both interface limits', 'addrtype', 1, 'filter', [2], 0, 0, [(0,'H',4),(4,'I',12)], 22),
 ('addrtype: --limit-iface-in in INPUT', 'addrtype', 1, 'filter', [1], 0, 0, [(0,'H',4),(4,'I',4)], 0),
 ('set: no ipset exists in a fresh namespace', 'set', 4, 'filter', [1], 0, 0, [(2,'B',1),(3,'B',2)], 2),
 ('set revision 0 too', 'set', 0, 'filter', [1], 0, 0, [], 2),
 ('mac: OUTPUT', 'mac', 0, 'filter', [3], 0, 0, [], 22),
 ('rpfilter: filter table', 'rpfilter', 0, 'filter', [], 0, 0, [], 22),
 ('rpfilter: raw PREROUTING', 'rpfilter', 0, 'raw', [0], 0, 0, [(0,'B',1)], 0),
 ('rpfilter: unknown flag', 'rpfilter', 0, 'raw', [0], 0, 0, [(0,'B',0x10)], 22),
 ('hashlimit: empty name', 'hashlimit', 1, 'filter', [1], 0, 0, [(16,'I',1),(20,'I',10000),(24,'I',5),(36,'I',1000),(40,'I',10000)], 22),
 ('hashlimit: 16-byte name without NUL', 'hashlimit', 1, 'filter', [1], 0, 0, [(0,'b',b'x'*16),(16,'I',1),(20,'I',10000),(24,'I',5),(36,'I',1000),(40,'I',10000)], 36),
 ('hashlimit: name with /', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'a/b'),(256,'Q',10000),(264,'Q',5),(284,'I',1000),(288,'I',10000)], 22),
 ('hashlimit: burst 0', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',10000),(264,'Q',0),(284,'I',1000),(288,'I',10000)], 34),
 ('hashlimit: gc interval 0', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',10000),(264,'Q',5),(288,'I',10000)], 22),
 ('hashlimit: srcmask 33', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',10000),(264,'Q',5),(284,'I',1000),(288,'I',10000),(296,'B',33)], 22),
 ('hashlimit: rate match in revision 2', 'hashlimit', 2, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',10000),(264,'Q',5),(272,'I',0x40),(284,'I',1000),(288,'I',10000)], 22),
 ('hashlimit: rate match, interval 0', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',10000),(264,'Q',5),(272,'I',0x40),(284,'I',1000),(288,'I',10000)], 22),
 ('hashlimit: rate match, avg > u32', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',1<<32),(264,'Q',5),(272,'I',0x40),(284,'I',1000),(288,'I',10000),(292,'I',1)], 34),
 ('hashlimit: bytes mode, rate too high', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',1),(264,'Q',5),(272,'I',0x20),(284,'I',1000),(288,'I',10000)], 22),
 ('hashlimit: valid revision 3', 'hashlimit', 3, 'filter', [1], 0, 0, [(0,'b',b'hl'),(256,'Q',10000),(264,'Q',5),(272,'I',5),(284,'I',1000),(288,'I',10000),(296,'B',32),(297,'B',32)], 0),
 ('recent: --rcheck and --set together', 'recent', 1, 'filter', [1], 0, 0, [(8,'B',3),(10,'b',b'DEFAULT')], 22),
 ('recent: name ..', 'recent', 1, 'filter', [1], 0, 0, [(8,'B',1),(10,'b',b'..')], 22),
 ('recent: 200-byte name without NUL', 'recent', 0, 'filter', [1], 0, 0, [(8,'B',1),(10,'b',b'z'*200)], 36),
 ('recent: --reap without --seconds', 'recent', 1, 'filter', [1], 0, 0, [(8,'B',0x21),(10,'b',b'DEFAULT')], 22),
 ('recent: --set with --seconds', 'recent', 1, 'filter', [1], 0, 0, [(0,'I',10),(8,'B',2),(10,'b',b'DEFAULT')], 22),
 ('recent: hitcount 65535', 'recent', 1, 'filter', [1], 0, 0, [(4,'I',65535),(8,'B',1),(10,'b',b'DEFAULT')], 0),
 ('recent: hitcount 65536', 'recent', 1, 'filter', [1], 0, 0, [(4,'I',65536),(8,'B',1),(10,'b',b'DEFAULT')], 22),
 ('string: unknown algorithm', 'string', 1, 'filter', [1], 0, 0, [(2,'H',100),(4,'b',b'nope'),(20,'b',b'GET'),(148,'B',3)], 2),
 ('string: empty pattern', 'string', 1, 'filter', [1], 0, 0, [(2,'H',100),(4,'b',b'bm')], 22),
 ('string: from > to', 'string', 1, 'filter', [1], 0, 0, [(0,'H',10),(2,'H',5),(4,'b',b'bm'),(20,'b',b'GET'),(148,'B',3)], 22),
 ('string: fsm with --icase', 'string', 1, 'filter', [1], 0, 0, [(2,'H',100),(4,'b',b'fsm'),(20,'b',b'\0\0\0a'),(148,'B',4),(149,'B',2)], 22),
 ('string: kmp', 'string', 1, 'filter', [1], 0, 0, [(2,'H',100),(4,'b',b'kmp'),(20,'b',b'GET'),(148,'B',3)], 0),
 ('connlabel: bit 128', 'connlabel', 0, 'filter', [1], 0, 0, [(0,'H',128)], 34),
 ('connlabel: bit 127', 'connlabel', 0, 'filter', [1], 0, 0, [(0,'H',127)], 0),
 ('nfacct: no accounting object', 'nfacct', 1, 'filter', [1], 0, 0, [(0,'b',b'acct')], 2),
 ('rateest: no estimator', 'rateest', 0, 'filter', [1], 0, 0, [(0,'b',b'r'),(32,'H',0x12),(34,'H',1)], 2),
 ('rateest: ABS and REL', 'rateest', 0, 'filter', [1], 0, 0, [(0,'b',b'r'),(32,'H',0x16),(34,'H',1)], 22),
 ('u32: 12 tests', 'u32', 0, 'filter', [1], 0, 0, [(1980,'B',12)], 22),
 ('dscp: 0x40 (EDOM)', 'dscp', 0, 'filter', [1], 0, 0, [(0,'B',0x40)], 33),
 ('time: daytime 86400 (EDOM)', 'time', 0, 'filter', [1], 0, 0, [(8,'I',86400)], 33),
 ('time: --contiguous on a range that does not wrap', 'time', 0, 'filter', [1], 0, 0, [(8,'I',10),(12,'I',20),(21,'B',2)], 22),
 ('cluster: 33 nodes', 'cluster', 0, 'filter', [1], 0, 0, [(0,'I',33)], 22),
 ('cluster: node mask beyond the nodes (EDOM)', 'cluster', 0, 'filter', [1], 0, 0, [(0,'I',2),(4,'I',4)], 33),
 ('bpf: empty program', 'bpf', 0, 'filter', [1], 0, 0, [], 22),
 ('bpf: ret #0xffff', 'bpf', 0, 'filter', [1], 0, 0, [(0,'H',1),(4,'b',ret_ffff)], 0),
 ('bpf: not ending in ret', 'bpf', 0, 'filter', [1], 0, 0, [(0,'H',1),(4,'b',struct.pack('<HBBI',0x20,0,0,12))], 22),
 ('bpf: read of unwritten scratch memory', 'bpf', 0, 'filter', [1], 0, 0, [(0,'H',2),(4,'b',struct.pack('<HBBI',0x60,0,0,3)+ret_ffff)], 22),
 ('bpf: unknown mode', 'bpf', 1, 'filter', [1], 0, 0, [(0,'H',3)], 22),
 ('socket: OUTPUT', 'socket', 1, 'filter', [3], 0, 0, [], 22),
 ('socket: revision 1 with --nowildcard', 'socket', 1, 'mangle', [0], 0, 0, [(0,'B',2)], 22),
 ('socket: revision 2 with --nowildcard', 'socket', 2, 'mangle', [0], 0, 0, [(0,'B',2)], 0),
 ('cgroup: FORWARD', 'cgroup', 0, 'filter', [2], 0, 0, [], 22),
 ('cgroup: neither path nor classid', 'cgroup', 2, 'filter', [3], 0, 0, [], 22),
 ('cgroup: the root path', 'cgroup', 2, 'filter', [3], 0, 0, [(0,'B',1),(4,'b',b'/')], 0),
 ('ecn: ECE bits without -p tcp', 'ecn', 0, 'filter', [1], 0, 0, [(0,'B',0x10)], 22),
 ('devgroup: --src-group in OUTPUT', 'devgroup', 0, 'filter', [3], 0, 0, [(0,'I',1)], 22),
 ('policy: --dir out in INPUT', 'policy', 0, 'filter', [1], 0, 0, [(304,'H',2)], 22),
 ('l2tp: -p tcp', 'l2tp', 0, 'filter', [1], 6, 0, [(0,'I',1),(10,'B',1)], 22),
 ('l2tp: version 2 over IP', 'l2tp', 0, 'filter', [1], 115, 0, [(0,'I',1),(8,'B',2),(10,'B',5)], 22),
 ('sctp: inverted option not given', 'sctp', 0, 'filter', [1], 132, 0, [(284,'I',1),(288,'I',2)], 22),
 ('dccp: unknown flag', 'dccp', 0, 'filter', [1], 33, 0, [(8,'H',0x10)], 22),
 ('statistic: mode 2', 'statistic', 0, 'filter', [1], 0, 0, [(0,'H',2)], 22),
 ('quota: unknown flag', 'quota', 0, 'filter', [1], 0, 0, [(0,'I',2)], 22),
 ('cpu: invert 2', 'cpu', 0, 'filter', [1], 0, 0, [(4,'I',2)], 22),
 ('connbytes: direction 3', 'connbytes', 0, 'filter', [1], 0, 0, [(17,'B',3)], 22),
 ('ah: unknown inversion', 'ah', 0, 'filter', [1], 51, 0, [(8,'B',2)], 22),
 ('conntrack revision 3: no checkentry beyond conntrack itself', 'conntrack', 3, 'filter', [1], 0, 0, [(146,'H',1),(150,'H',2)], 0),
]
def write_rs(cases_file, rs_file):
    src = open(rs_file).read()
    marker = 'const CASES: &str = "\\\n'
    head = src[:src.index(marker) + len(marker)]
    open(rs_file, 'w').write(head + open(cases_file).read().strip() + '\n";\n')

if len(sys.argv) > 1 and sys.argv[1] == '--write':
    write_rs(sys.argv[2], sys.argv[3])
    sys.exit(0)
bad = 0
for desc, name, rev, table, hooks, proto, inv, fields, want in cases:
    payload = P(name, rev, fields)
    rule = entry(ipt_ip(proto=proto, invflags=inv), [ext(name, rev, payload)], std_target(-2))
    got = replace_chain(table, rule, hooks)
    replace(table, {})
    if got != want:
        bad += 1
        print('MISMATCH', desc, 'kernel', got, 'expected', want, file=sys.stderr)
    mask = sum(1 << h for h in hooks)
    print('%s|%s %d %s %d %d %d %s %s' % (desc, name, rev, table, mask, proto, inv, E[got], sparse(payload)))
print(bad, 'mismatches', file=sys.stderr)

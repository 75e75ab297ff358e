"""Regenerate the kernel cases of core/tests/ext_matches_kernel.rs.

For every registered match it builds payloads from the fields its checkentry looks at (random
bytes for matches without one), places the match in a user chain jumped to from random hooks
of a random table with a random proto/IPT_INV_PROTO, and records the errno the running kernel
gives to IPT_SO_SET_REPLACE.

    unshare -n python3 scripts/match_kernel_cases.py SEED PER [names,...] > cases.txt
    python3 scripts/match_kernel_cases.py --write cases.txt core/tests/ext_matches_kernel.rs

Output lines: name rev table hook_mask proto invflags errno payload, the payload as
OFFSET:HEX runs (OFFSET:HH*N for N equal bytes) over zeros."""
import sys, random, struct
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xt_sockopt import *

PER = 40
# matchsize (unaligned) per (name, rev), from gcc / kernel source.
SIZES = {
 ('addrtype',0):12, ('addrtype',1):8, ('ah',0):12, ('bpf',0):528, ('bpf',1):528,
 ('cgroup',0):8, ('cgroup',1):4112, ('cgroup',2):528, ('cluster',0):16, ('comment',0):256,
 ('connbytes',0):24, ('connlabel',0):4, ('connlimit',1):32, ('connmark',1):12,
 ('conntrack',1):152, ('conntrack',2):156, ('conntrack',3):164, ('cpu',0):8, ('dccp',0):16,
 ('devgroup',0):20, ('dscp',0):2, ('ecn',0):4, ('esp',0):12, ('hashlimit',1):56,
 ('hashlimit',2):304, ('hashlimit',3):312, ('helper',0):36, ('icmp',0):4, ('ipcomp',0):12,
 ('iprange',1):68, ('l2tp',0):16, ('length',0):6, ('limit',0):40, ('mac',0):12, ('mark',1):12,
 ('multiport',1):48, ('nfacct',0):40, ('nfacct',1):40, ('osf',0):48, ('owner',1):20,
 ('physdev',0):66, ('pkttype',0):8, ('policy',0):308, ('quota',0):24, ('rateest',0):72,
 ('realm',0):12, ('recent',0):212, ('recent',1):228, ('rpfilter',0):1, ('sctp',0):292,
 ('set',0):32, ('set',1):4, ('set',2):4, ('set',3):48, ('set',4):48, ('socket',0):0,
 ('socket',1):1, ('socket',2):1, ('socket',3):1, ('state',0):4, ('statistic',0):24,
 ('string',1):160, ('tcp',0):12, ('tcpmss',0):6, ('time',0):24, ('tos',1):3, ('ttl',0):2,
 ('u32',0):1984, ('udp',0):10, ('udplite',0):10,
}
PROTOS = [0, 0, 1, 6, 6, 17, 17, 33, 50, 51, 108, 115, 132, 136, 300]

def c(vals):
    # The first value is the "usual" one: pick it half the time so that valid payloads
    # (every field right) are common enough.
    if random.random() < 0.5:
        return vals[0]
    return random.choice(vals)

def u8(o, vals): return (o, struct.pack('<B', c(vals)))
def u16(o, vals): return (o, struct.pack('<H', c(vals)))
def u32(o, vals): return (o, struct.pack('<I', c(vals) & 0xffffffff))
def u64(o, vals): return (o, struct.pack('<Q', c(vals) & 0xffffffffffffffff))
def s(o, vals): return (o, c(vals))
def rnd(o, n): return (o, bytes(random.getrandbits(8) for _ in range(n)))

NAMES16 = [b'ok_name\0', b'a\0', b'\0', b'..\0', b'.\0', b'a/b\0', b'x' * 16, b'ok_name\0', b'\0zz']
NAMES255 = NAMES16 + [b'y' * 255, b'y' * 254 + b'\0']
NAMES200 = [b'DEFAULT\0', b'\0', b'..\0', b'a/b\0', b'z' * 200, b'z' * 199 + b'\0']

def bpf_prog(o):
    ins = []
    n = c([1, 2, 3, 4, 6])
    templ = [
        (0x06, 0, 0, 0), (0x06, 0, 0, 0xffff), (0x16, 0, 0, 0),  # ret
        (0x20, 0, 0, 12), (0x28, 0, 0, 0), (0x30, 0, 0, 9),
        (0x20, 0, 0, 0xfffff000), (0x20, 0, 0, 0xfffff03c), (0x20, 0, 0, 0xfffff040),
        (0x20, 0, 0, 0xfffff002), (0x30, 0, 0, 0xfffff004),
        (0x15, 0, 1, 6), (0x15, 1, 0, 6), (0x15, 5, 5, 6), (0x05, 0, 0, 0), (0x05, 0, 0, 3),
        (0x02, 0, 0, 3), (0x60, 0, 0, 3), (0x61, 0, 0, 15), (0x60, 0, 0, 16),
        (0x34, 0, 0, 0), (0x34, 0, 0, 2), (0x94, 0, 0, 0), (0x64, 0, 0, 32), (0x74, 0, 0, 31),
        (0xff, 0, 0, 0), (0x84, 0, 0, 0), (0x07, 0, 0, 0), (0x87, 0, 0, 0), (0xb1, 0, 0, 14),
        (0x00, 0, 0, 7), (0x3d, 1, 0, 0), (0x45, 0, 0, 1), (0x08, 0, 0, 0),
    ]
    for i in range(n):
        ins.append(c(templ))
    if random.random() < 0.7:
        ins[-1] = c([(0x06, 0, 0, 0xffff), (0x16, 0, 0, 0)])
    b = b''.join(struct.pack('<HBBI', *t) for t in ins)
    return n, (o, b)

def fsm_pattern():
    toks = []
    for i in range(c([0, 1, 2, 3])):
        toks.append(struct.pack('<HBB', c([0, 1, 13, 14, 0x100]), c([0, 1, 3, 5, 6]), ord('a')))
    b = b''.join(toks)
    if random.random() < 0.2:
        b += b'x'
    return b

def gen(name, rev):
    """Return list of (offset, bytes) patches."""
    if name == 'addrtype' and rev == 1:
        return [u16(0, [0, 2, 4, 0xfff]), u16(2, [0, 4]), u32(4, [0, 1, 2, 4, 8, 0xc, 5, 9, 0x10, 0xff])]
    if name in ('ah', 'esp', 'ipcomp'):
        return [u32(0, [0, 1]), u32(4, [0, 0xffffffff]), u8(8, [0, 1, 2, 0xff])]
    if name == 'bpf' and rev == 0:
        n, prog = bpf_prog(4)
        return [u16(0, [n, n, n, 0, 64, 65, n + 1]), prog]
    if name == 'bpf' and rev == 1:
        mode = c([0, 0, 0, 1, 2, 3])
        if mode == 0:
            n, prog = bpf_prog(8)
            return [(0, struct.pack('<H', 0)), u16(2, [n, n, 0, 65]), prog]
        if mode == 1:
            return [(0, struct.pack('<H', 1)), s(8, [b'/sys/fs/bpf/nope\0', b'p' * 512, b'\0'])]
        return [(0, struct.pack('<H', mode)), u32(4, [0, 1, 1000])]
    if name == 'cgroup' and rev == 0:
        return [u32(0, [0, 1]), u32(4, [0, 1, 2, 3])]
    if name == 'cgroup':
        paths = [b'/\0', b'\0', b'//\0', b'/nonexistent-bpfilter\0', b'abc\0']
        return [u8(0, [0, 1, 1, 2]), u8(1, [0, 0, 1]), u8(2, [0, 1, 2]), u8(3, [0, 1, 3]),
                s(4, paths)]
    if name == 'cluster':
        return [u32(0, [0, 1, 2, 31, 32, 33]), u32(4, [0, 1, 2, 3, 0x80000000, 0xffffffff])]
    if name == 'connbytes':
        return [u64(0, [0, 10]), u64(8, [0, 5]), u8(16, [0, 1, 2, 3]), u8(17, [0, 1, 2, 3])]
    if name == 'connlabel':
        return [u16(0, [0, 63, 64, 127, 128, 255, 1000]), u16(2, [0, 1, 2, 3, 4, 0x8000])]
    if name == 'cpu':
        return [u32(0, [0, 5]), u32(4, [0, 1, 2, 0x100])]
    if name == 'dccp':
        return [u16(8, [0, 1, 0xf, 0x10]), u16(10, [0, 1, 2, 0x10])]
    if name == 'devgroup':
        return [u32(0, [0, 1, 2, 3, 4, 5, 0xc, 0xf, 0x10])]
    if name == 'dscp':
        return [u8(0, [0, 1, 0x3f, 0x40, 0xff]), u8(1, [0, 1])]
    if name == 'ecn':
        return [u8(0, [0, 1, 0x10, 0x20, 0x31, 2, 4, 8, 0x40, 0x80]), u8(1, [0, 1, 0x10, 2, 0x80]),
                u8(2, [0, 3])]
    if name == 'hashlimit':
        big = [10000, 0, 1, 2, 3, 1 << 20, 0xffffffff, 1 << 32, 1 << 40, 0xffffffffffffffff]
        mode = [5, 0, 1, 0x10, 0x20, 0x40, 0x60, 0x7f, 0x80]
        if rev == 1:
            return [s(0, NAMES16), u32(16, mode), u32(20, big), u32(24, [5, 0, 1, 1 << 31, 0xffffffff]),
                    u32(28, [0, 2000000]), u32(32, [0, 3000000]), u32(36, [1000, 0]),
                    u32(40, [10000, 0]), u8(44, [32, 0, 33]), u8(45, [32, 0, 33])]
        p = [s(0, NAMES255), u64(256, big), u64(264, [5, 0, 1, 1 << 31, 1 << 63]),
             u32(272, mode), u32(276, [0, 2000000]), u32(280, [0, 3000000]),
             u32(284, [1000, 0]), u32(288, [10000, 0])]
        if rev == 2:
            return p + [u8(292, [32, 0, 33]), u8(293, [32, 0, 33])]
        return p + [u32(292, [1, 0]), u8(296, [32, 0, 33]), u8(297, [32, 0, 33])]
    if name == 'icmp':
        return [rnd(0, 3), u8(3, [0, 1, 2, 0xff])]
    if name == 'l2tp':
        return [u32(0, [0, 1, 0x10000]), u32(4, [0, 1, 0x10000]), u8(8, [0, 1, 2, 3, 4]),
                u8(9, [0, 1, 2]), u8(10, [0, 1, 2, 3, 4, 5, 8, 9, 0xc, 0xf, 0x10])]
    if name == 'limit':
        return [u32(0, [0, 1, 2, 10000, 200000, 134217, 134218, 1 << 20, 429496730, 0xffffffff]),
                u32(4, [0, 1, 5, 10000, 1 << 16, 0xffffffff])]
    if name == 'multiport':
        cnt = c([4, 0, 1, 2, 3, 15, 16])
        pf = bytes(c([0, 0, 1, 2]) if random.random() < 0.3 else 0 for _ in range(15))
        ports = b''.join(struct.pack('<H', random.choice([1, 5, 80, 443, 65535])) for _ in range(15))
        return [u8(0, [1, 0, 2, 3]), (1, bytes([cnt])), (2, ports), (32, pf), u8(47, [0, 1])]
    if name == 'owner':
        ids = [0, 1, 1000, 0xfffffffe, 0xffffffff]
        return [u32(0, ids), u32(4, ids), u32(8, ids), u32(12, ids),
                u8(16, [0, 1, 2, 3, 4, 8, 0xf, 0x10]), u8(17, [0, 1, 0xff])]
    if name == 'physdev':
        return [s(0, [b'eth0\0', b'\0']), u8(64, [0, 1, 2, 4, 0x10]),
                u8(65, [0, 1, 2, 4, 8, 0x10, 0x12, 0x16, 0x06, 0x20, 0x1f])]
    if name == 'policy':
        return [u16(304, [0, 1, 2, 3, 4, 5, 8]), u16(306, [0, 1, 4, 5])]
    if name == 'quota':
        return [u32(0, [0, 1, 2]), u64(8, [0, 1000])]
    if name == 'rateest':
        return [s(0, [b'r1\0']), s(16, [b'r2\0']), u16(32, [0, 2, 4, 6, 0x12, 0x14, 0x22, 0x32, 0x11, 0x10]),
                u16(34, [0, 1, 2, 3, 4])]
    if name == 'recent':
        return [u32(0, [0, 0, 1]), u32(4, [0, 0, 1, 255, 256]),
                u8(8, [0, 1, 2, 4, 8, 3, 0x11, 0x21, 0x12, 0x40, 0x31]), u8(9, [0, 1]),
                s(10, NAMES200), u8(210, [0, 1])]
    if name == 'rpfilter':
        return [u8(0, [0, 1, 2, 4, 8, 0xf, 0x10, 0x80])]
    if name == 'sctp':
        return [u32(264, [0, 1, 2, 4, 8]), u32(280, [0, 4, 5, 0xffffffff]),
                u32(284, [0, 1, 4, 7, 8]), u32(288, [0, 1, 4, 8])]
    if name == 'socket':
        return [u8(0, [0, 1, 2, 3, 4, 7, 8])]
    if name == 'statistic':
        return [u16(0, [0, 1, 2]), u16(2, [0, 1, 2]), u32(4, [0, 5])]
    if name == 'string':
        algo = c([b'kmp\0', b'bm\0', b'fsm\0', b'fsm\0', b'xyz\0', b'k' * 16, b'\0'])
        pat = fsm_pattern() if algo == b'fsm\0' else b'GET /index.html'
        plen = c([len(pat), len(pat), 0, 128, 129])
        return [u16(0, [0, 0, 10]), u16(2, [0, 100, 5]), (4, algo), (20, pat[:128]),
                (148, bytes([plen])), u8(149, [0, 0, 1, 2, 3, 4])]
    if name == 'tcp':
        return [rnd(0, 11), u8(11, [0, 1, 0xf, 0x10, 0x80, 0xff])]
    if name in ('udp', 'udplite'):
        return [rnd(0, 8), u8(8, [0, 1, 3, 4, 0xff]), rnd(9, 1)]
    if name == 'time':
        return [u32(8, [0, 3600, 86399, 86400]), u32(12, [0, 3600, 86399, 86400, 0xffffffff]),
                u8(21, [0, 1, 2, 3, 4])]
    if name == 'u32':
        p = [u8(1980, [0, 1, 2, 11, 12])]
        for i in range(3):
            p.append(u8(i * 180 + 176, [0, 1, 11, 12]))
            p.append(u8(i * 180 + 177, [0, 1, 11, 12]))
        return p
    # No checkentry (or a state-only one): random bytes exercise hooks/proto only.
    size = SIZES[(name, rev)]
    return [rnd(0, size)] if size else []

def build(name, rev, patches):
    size = SIZES[(name, rev)]
    al = align8(size)
    b = bytearray(al)
    for o, v in patches:
        v = v[:max(0, al - o)]
        b[o:o + len(v)] = v
    return bytes(b)

def sparse(b):
    """Non-zero runs as OFF:HEX; a run of 8+ equal bytes as OFF:HH*N."""
    out = []
    i = 0
    while i < len(b):
        if b[i] == 0:
            i += 1
            continue
        j = i
        while j < len(b) and b[j] == b[i]:
            j += 1
        if j - i >= 8:
            out.append('%d:%02x*%d' % (i, b[i], j - i))
            i = j
            continue
        j = i
        while j < len(b) and b[j] != 0:
            k = j
            while k < len(b) and b[k] == b[j]:
                k += 1
            if k - j >= 8:
                break
            j = k
        out.append('%d:%s' % (i, b[i:j].hex()))
        i = j
    return ','.join(out) or '-'

def write_rs(cases_file, rs_file):
    """Replace the CASES constant of the test file with the cases, minus the environment-
    dependent bpf revision 1 fd / pinned-path ones."""
    keep = []
    for l in open(cases_file):
        f = l.split()
        if f[0] == 'bpf' and f[1] == '1':
            mode = f[7].split(',')[0]
            if mode == '0:02' or (mode == '0:01' and '70*' not in f[7]):
                continue
        keep.append(l.rstrip('\n'))
    src = open(rs_file).read()
    head = src[:src.index('const CASES: &str = "\\\n') + len('const CASES: &str = "\\\n')]
    open(rs_file, 'w').write(head + '\n'.join(keep) + '\n";\n')
    print(len(keep), 'cases', file=sys.stderr)

def main():
    global PER
    if sys.argv[1] == '--write':
        return write_rs(sys.argv[2], sys.argv[3])
    random.seed(int(sys.argv[1]))
    PER = int(sys.argv[2])
    TABLES = ['filter', 'filter', 'mangle', 'mangle', 'raw', 'nat', 'security']
    keys = sorted(SIZES)
    only = sys.argv[3].split(',') if len(sys.argv) > 3 else None
    for (name, rev) in keys:
        if only and name not in only:
            continue
        for k in range(PER):
            table = c(TABLES)
            vh = HOOKS[table]
            valid = [h for h in range(5) if vh & (1 << h)]
            r = random.random()
            if r < 0.15:
                hooks = []
            elif r < 0.75:
                hooks = [c(valid)]
            else:
                hooks = random.sample(valid, random.randint(1, len(valid)))
            want = {'tcp': 6, 'udp': 17, 'udplite': 136, 'icmp': 1, 'ah': 51, 'esp': 50,
                    'ipcomp': 108, 'sctp': 132, 'dccp': 33, 'tcpmss': 6, 'osf': 6, 'ecn': 6,
                    'l2tp': random.choice([17, 115]), 'multiport': random.choice([6, 17, 132])}
            proto = want[name] if name in want and random.random() < 0.6 else c(PROTOS)
            if name == 'rpfilter' and random.random() < 0.6:
                table, hooks = random.choice(['mangle', 'raw']), [0]
            inv = c([0, 0, 0, 0x40])
            payload = build(name, rev, gen(name, rev))
            rule = entry(ipt_ip(proto=proto, invflags=inv), [ext(name, rev, payload)], std_target(-2))
            e = replace_chain(table, rule, hooks)
            replace(table, {})  # leave no per-namespace state (hashlimit/recent tables) behind
            mask = sum(1 << h for h in hooks)
            print(name, rev, table, mask, proto, inv, e, sparse(payload), flush=True)


if __name__ == '__main__':
    main()

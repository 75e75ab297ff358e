"""Capture golden match payloads and iptables-legacy-save text.

Mode A (iptables rules): each rule is added with iptables-legacy to an otherwise empty table;
the rule's matches are read back with IPT_SO_GET_ENTRIES and its line from
iptables-legacy-save is recorded.
Mode B (crafted payloads): a blob with one crafted match is installed with SET_REPLACE and
iptables-legacy-save prints it.

Output: JSON lines {src, table, chain, args, proto, matches: [[name, rev, hex]], save}.

    unshare -n python3 scripts/match_golden.py scripts/match_golden_spec.json > golden.jsonl
    python3 scripts/match_golden.py --write golden.jsonl core/tests/ext_matches_golden.rs
"""
import sys, json, shlex, subprocess, glob, os, struct
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xt_sockopt import *
import ipset_nl

HOOK_OF = {'PREROUTING': 0, 'INPUT': 1, 'FORWARD': 2, 'OUTPUT': 3, 'POSTROUTING': 4}

def first_rule(table, hook):
    blob = get_entries(table)
    info = ctypes.create_string_buffer(table.encode().ljust(84, b'\0'), 84)
    ln = ctypes.c_uint32(84)
    libc.getsockopt(sock().fileno(), 0, 64, info, ctypes.byref(ln))
    he = struct.unpack_from('<5I', info.raw, 36)
    off = he[hook]
    ents = parse_entries(blob[off:])
    return ents[0]

def save_line(table, chain):
    out = subprocess.run(['iptables-legacy-save', '-t', table], capture_output=True, text=True).stdout
    lines = [l for l in out.splitlines() if l.startswith('-A %s ' % chain)]
    return lines[0] if lines else None

def reset(table):
    subprocess.run(['iptables-legacy', '-t', table, '-F'], check=True)

def mode_a(src, table, chain, args):
    reset(table)
    r = subprocess.run(['iptables-legacy', '-t', table, '-A', chain] + shlex.split(args),
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    ip, ms, t = first_rule(table, HOOK_OF[chain])
    rec = {'src': src, 'table': table, 'chain': chain, 'args': args,
           'proto': struct.unpack_from('<H', ip, 80)[0],
           'matches': [[n, rv, p.hex()] for n, rv, p in ms], 'save': save_line(table, chain)}
    reset(table)
    return rec

def mode_b(src, name, rev, payload, proto=0, chain='INPUT'):
    reset('filter')
    rule = entry(ipt_ip(proto=proto), [ext(name, rev, payload)], std_target(-2))
    e = replace('filter', {HOOK_OF[chain]: [rule]})
    if e != 0:
        return {'src': src, 'crafted': True, 'errno': e, 'matches': [[name, rev, payload.hex()]]}
    ip, ms, t = first_rule('filter', HOOK_OF[chain])
    rec = {'src': src, 'table': 'filter', 'chain': chain, 'args': None, 'proto': proto,
           'matches': [[n, rv, p.hex()] for n, rv, p in ms], 'save': save_line('filter', chain)}
    reset('filter')
    return rec

def t_files(names):
    for f in sorted(glob.glob('/work/shared/conformance/iptables-t/*.t')):
        base = os.path.basename(f)
        if base not in names:
            continue
        chains, table = ['INPUT'], 'filter'
        for l in open(f):
            l = l.rstrip('\n')
            if not l or l[0] in '#@%':
                continue
            if l.startswith(':'):
                chains = l[1:].split(',')
                continue
            if l.startswith('*'):
                table = l[1:]
                continue
            parts = l.split(';')
            if len(parts) < 3 or parts[2] != 'OK':
                continue
            if len(parts) > 3 and parts[3] == 'NFT':
                continue
            yield base, table, chains[0], parts[0]

TYPED = {'tcp', 'udp', 'icmp', 'multiport', 'iprange', 'comment', 'mark', 'length', 'ttl',
         'pkttype', 'mac', 'limit', 'state', 'conntrack', 'physdev', 'set', 'owner', 'addrtype'}

def write_rs(jsonl, rs_file):
    """Replace the GOLDEN constant of the test file with the records whose matches are all
    typed ones."""
    out = []
    for l in open(jsonl):
        r = json.loads(l)
        if r.get('save') is None or not r.get('matches'):
            continue
        if any(m[0] not in TYPED for m in r['matches']):
            continue
        args = r['args'] if r['args'] is not None else '(crafted)'
        src = '' if r['src'] in ('extra', 'crafted') else '  # ' + r['src']
        out.append('R %s %s %s%s' % (r['table'], r['chain'], args, src))
        out.append('S ' + r['save'])
        for name, rev, hx in r['matches']:
            out.append('M %s %d %s' % (name, rev, hx))
    body = '\n'.join(out).replace('\\', '\\\\').replace('"', '\\"')
    src = open(rs_file).read()
    marker = 'const GOLDEN: &str = "\\\n'
    head = src[:src.index(marker) + len(marker)]
    open(rs_file, 'w').write(head + body + '\n";\n')

if __name__ == '__main__':
    if sys.argv[1] == '--write':
        write_rs(sys.argv[2], sys.argv[3])
        sys.exit(0)
    spec = json.load(open(sys.argv[1]))
    # ipsets named after their index, so that iptables-save's set name is the index the
    # payload holds (what MatchValue::save prints without ipset state).
    for name in spec.get('ipsets', []):
        assert ipset_nl.create(name.encode()) == 0, name
    for base, table, chain, args in t_files(set(spec['t_files'])):
        rec = mode_a(base, table, chain, args)
        if rec:
            print(json.dumps(rec), flush=True)
    for table, chain, args in spec['rules']:
        rec = mode_a('extra', table, chain, args)
        if rec:
            print(json.dumps(rec), flush=True)
        else:
            print(json.dumps({'src': 'extra', 'failed': args}), flush=True)
    for c in spec['crafted']:
        name, rev, hexpayload, proto = c[:4]
        chain = c[4] if len(c) > 4 else 'INPUT'
        print(json.dumps(mode_b('crafted', name, rev, bytes.fromhex(hexpayload), proto, chain)), flush=True)

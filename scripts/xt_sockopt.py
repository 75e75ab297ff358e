"""Raw IPT_SO_* access for the match tooling (Python + ctypes): build filter/nat/mangle/raw/
security replace blobs, install them, read tables back. Run inside a throw-away network
namespace (`unshare -n`), as root. Never against the host's own tables."""
import socket, ctypes, struct, os
libc = ctypes.CDLL(None, use_errno=True)
_s = None
def sock():
    global _s
    if _s is None:
        _s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    return _s
HOOKS = {'filter': 0x0E, 'nat': 0x1B, 'mangle': 0x1F, 'raw': 0x09, 'security': 0x0E}
def align8(n): return (n + 7) & ~7
def ipt_ip(proto=0, invflags=0, flags=0, src=b'\0'*4, smsk=b'\0'*4, iniface=b'', outiface=b''):
    ii = iniface.ljust(16, b'\0'); oi = outiface.ljust(16, b'\0')
    im = (b'\xff' * (len(iniface)+1))[:16].ljust(16, b'\0') if iniface else b'\0'*16
    om = (b'\xff' * (len(outiface)+1))[:16].ljust(16, b'\0') if outiface else b'\0'*16
    return src + b'\0'*4 + smsk + b'\0'*4 + ii + oi + im + om + struct.pack('<HBB', proto, flags, invflags)
def ext(name, rev, payload, size=None):
    if size is None: size = 32 + align8(len(payload))
    body = payload.ljust(align8(len(payload)), b'\0')
    return struct.pack('<H', size) + name.encode().ljust(29, b'\0') + bytes([rev]) + body
def std_target(verdict):
    return ext('', 0, struct.pack('<i', verdict) + b'\0'*4)
def err_target(name):
    return ext('ERROR', 0, name.encode().ljust(30, b'\0') + b'\0\0')
def entry(ip, matches, target):
    m = b''.join(matches)
    to = 112 + len(m); no = to + len(target)
    return ip + struct.pack('<IHHIQQ', 0, to, no, 0, 0, 0) + m + target
def replace_blob(table, rules):
    """rules: dict hook -> list of entries (bytes) placed before that hook's policy."""
    vh = HOOKS[table]
    ents = []; he = [0]*5; uf = [0]*5; off = 0
    for h in range(5):
        if not vh & (1 << h): continue
        he[h] = off
        for e in rules.get(h, []):
            ents.append(e); off += len(e)
        uf[h] = off
        p = entry(ipt_ip(), [], std_target(-2)); ents.append(p); off += len(p)
    e = entry(ipt_ip(), [], err_target('ERROR')); ents.append(e); off += len(e)
    return ents, he, uf, off
def num_entries(table):
    info = ctypes.create_string_buffer(table.encode().ljust(84, b'\0'), 84)
    ln = ctypes.c_uint32(84)
    r = libc.getsockopt(sock().fileno(), 0, 64, info, ctypes.byref(ln))
    if r != 0: raise OSError(ctypes.get_errno(), 'getinfo')
    return struct.unpack_from('<II', info.raw, 76)
def replace(table, rules):
    ents, he, uf, size = replace_blob(table, rules)
    n, _ = num_entries(table)
    counters = ctypes.create_string_buffer(16 * n + 16)
    hdr = table.encode().ljust(32, b'\0') + struct.pack('<III5I5IIQ', HOOKS[table], len(ents), size, *he, *uf, n, ctypes.addressof(counters))
    buf = hdr + b''.join(ents)
    cb = ctypes.create_string_buffer(buf, len(buf))
    r = libc.setsockopt(sock().fileno(), 0, 64, cb, len(buf))
    return 0 if r == 0 else ctypes.get_errno()
def get_entries(table):
    n, size = num_entries(table)
    buf = ctypes.create_string_buffer(table.encode().ljust(32, b'\0') + struct.pack('<I', size) + b'\0'*4 + b'\0'*size, 40 + size)
    ln = ctypes.c_uint32(40 + size)
    r = libc.getsockopt(sock().fileno(), 0, 65, buf, ctypes.byref(ln))
    if r != 0: raise OSError(ctypes.get_errno(), 'get_entries')
    return buf.raw[40:40+size]
def parse_entries(blob):
    out = []; off = 0
    while off < len(blob):
        to, no = struct.unpack_from('<HH', blob, off + 88)
        ip = blob[off:off+84]
        ms = []; mo = off + 112
        while mo < off + to:
            sz = struct.unpack_from('<H', blob, mo)[0]
            name = blob[mo+2:mo+31].split(b'\0')[0].decode(); rev = blob[mo+31]
            ms.append((name, rev, blob[mo+32:mo+sz])); mo += sz
        t = blob[off+to:off+no]
        out.append((ip, ms, (t[2:31].split(b'\0')[0].decode(), t[31], t[32:])))
        off += no
    return out

def replace_chain(table, rule, hooks):
    """Blob: each valid hook = [jump to chain X if hook in hooks] + ACCEPT policy; then chain X
    (ERROR head "X", rule, RETURN), final ERROR. Returns errno (0 = ok)."""
    vh = HOOKS[table]
    jump = entry(ipt_ip(), [], std_target(0))  # same size as the real jump, patched below
    pol = entry(ipt_ip(), [], std_target(-2))
    layout = []  # (kind, bytes)
    he = [0]*5; uf = [0]*5; off = 0
    for h in range(5):
        if not vh & (1 << h): continue
        he[h] = off
        if h in hooks:
            layout.append(('jump', jump)); off += len(jump)
        uf[h] = off
        layout.append(('pol', pol)); off += len(pol)
    head = entry(ipt_ip(), [], err_target('X'))
    layout.append(('head', head)); off += len(head)
    rule_off = off
    layout.append(('rule', rule)); off += len(rule)
    ret = entry(ipt_ip(), [], std_target(-5))
    layout.append(('ret', ret)); off += len(ret)
    fin = entry(ipt_ip(), [], err_target('ERROR'))
    layout.append(('fin', fin)); off += len(fin)
    ents = []
    for kind, b in layout:
        if kind == 'jump':
            b = entry(ipt_ip(), [], std_target(rule_off))
        ents.append(b)
    size = off
    n, _ = num_entries(table)
    counters = ctypes.create_string_buffer(16 * n + 16)
    hdr = table.encode().ljust(32, b'\0') + struct.pack('<III5I5IIQ', vh, len(ents), size, *he, *uf, n, ctypes.addressof(counters))
    buf = hdr + b''.join(ents)
    cb = ctypes.create_string_buffer(buf, len(buf))
    r = libc.setsockopt(sock().fileno(), 0, 64, cb, len(buf))
    return 0 if r == 0 else ctypes.get_errno()

#!/usr/bin/env python3
"""Fixture helper for core/tests/ir*.rs (run by regen.sh, inside a throwaway network namespace).

  capture.py kernel TABLE NAME   GET_INFO -> NAME.info (84 bytes), GET_ENTRIES -> NAME.blob
                                 (the entry table: the `size` bytes after the 40-byte header)
  capture.py strace LOG          print the optval of the last IPT_SO_SET_REPLACE in an
                                 `strace -xx -s N` log (what iptables-legacy-restore sent)
  capture.py crafted             list the hand-crafted fixtures
  capture.py craft NAME          print the SET_REPLACE optval of a hand-crafted fixture
  capture.py load FILE           SET_REPLACE FILE into the kernel
"""
import ctypes
import re
import socket
import struct
import sys

SOL_IP = 0
IPT_SO_SET_REPLACE = 64
IPT_SO_GET_INFO = 64
IPT_SO_GET_ENTRIES = 65

libc = ctypes.CDLL(None, use_errno=True)


def raw_socket():
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)


def getsockopt(fd, opt, buf):
    b = ctypes.create_string_buffer(bytes(buf), len(buf))
    ln = ctypes.c_uint32(len(buf))
    if libc.getsockopt(fd, SOL_IP, opt, b, ctypes.byref(ln)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "getsockopt %d: %s" % (opt, socket.errno.errorcode.get(e, e)))
    return b.raw[: ln.value]


def setsockopt(fd, opt, buf):
    b = ctypes.create_string_buffer(bytes(buf), len(buf))
    if libc.setsockopt(fd, SOL_IP, opt, b, len(buf)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setsockopt %d: %s" % (opt, socket.errno.errorcode.get(e, e)))


def kernel(table, name):
    s = raw_socket()
    t = table.encode()
    info = getsockopt(s.fileno(), IPT_SO_GET_INFO, t.ljust(84, b"\0"))
    size = struct.unpack_from("<I", info, 80)[0]
    # iptables zero-fills its buffer; the kernel leaves name bytes after each NUL untouched.
    req = t.ljust(32, b"\0") + struct.pack("<I4x", size) + bytes(size)
    ents = getsockopt(s.fileno(), IPT_SO_GET_ENTRIES, req)
    open(name + ".info", "wb").write(info)
    open(name + ".blob", "wb").write(ents[40:])


def from_strace(log):
    txt = open(log).read()
    m = None
    pat = r'setsockopt\(\d+, SOL_IP, IPT_SO_SET_REPLACE, "((?:\\x[0-9a-f]{2})*)"(\.\.\.)?, (\d+)\)'
    for m in re.finditer(pat, txt):
        pass
    if m is None or m.group(2):
        sys.exit("no complete IPT_SO_SET_REPLACE in " + log)
    data = bytes.fromhex(m.group(1).replace("\\x", ""))
    if len(data) != int(m.group(3)):
        sys.exit("truncated optval")
    sys.stdout.buffer.write(data)


def load(path):
    data = open(path, "rb").read()
    s = raw_socket()
    info = getsockopt(s.fileno(), IPT_SO_GET_INFO, data[:32].ljust(84, b"\0"))
    cur = struct.unpack_from("<I", info, 76)[0]
    if struct.unpack_from("<I", data, 84)[0] != cur:
        sys.exit("%s: num_counters is not the current entry count %d" % (path, cur))
    setsockopt(s.fileno(), IPT_SO_SET_REPLACE, data)


# ---- hand-crafted blobs: shapes the kernel accepts but iptables never writes (spec §6.3) ----


def ip(src=0, smsk=0, dst=0, dmsk=0, iniface=b"", inmask=b"", outiface=b"", outmask=b"",
       proto=0, flags=0, invflags=0):
    return (struct.pack(">IIII", src, dst, smsk, dmsk) + iniface.ljust(16, b"\0")
            + outiface.ljust(16, b"\0") + inmask.ljust(16, b"\0") + outmask.ljust(16, b"\0")
            + struct.pack("<HBB", proto, flags, invflags))


def entry(target, ipb=None, matches=b"", nfcache=0, comefrom=0, counters=(0, 0)):
    ipb = ipb if ipb is not None else ip()
    to = 112 + len(matches)
    return (ipb + struct.pack("<IHHIQQ", nfcache, to, to + len(target), comefrom, *counters)
            + matches + target)


def std(verdict, name=b"", pad=b"\0" * 4):
    return struct.pack("<H", 40) + name.ljust(29, b"\0") + b"\0" + struct.pack("<i", verdict) + pad


def err(errorname, name=b"ERROR", pad=b"\0\0"):
    return struct.pack("<H", 64) + name.ljust(29, b"\0") + b"\0" + errorname.ljust(30, b"\0") + pad


ACCEPT, DROP, RETURN = -2, -1, -5
NET10 = 0x0A000000
MASK8 = 0xFF000000


def replace(table, valid_hooks, entries, hooks, underflows, num_counters):
    """entries: list of (label, bytes-or-callable(offsets)); hooks/underflows: {hook: label}."""
    offs, pos = {}, 0
    sizes = []
    for label, e in entries:
        offs[label] = pos
        size = len(e(None)) if callable(e) else len(e)
        sizes.append(size)
        pos += size
    blob = b"".join(e(offs) if callable(e) else e for _, e in entries)
    he = [offs[hooks[h]] if h in hooks else 0 for h in range(5)]
    uf = [offs[underflows[h]] if h in underflows else 0 for h in range(5)]
    hdr = (table.ljust(32, b"\0") + struct.pack("<III", valid_hooks, len(entries), len(blob))
           + struct.pack("<5I", *he) + struct.pack("<5I", *uf)
           + struct.pack("<IQ", num_counters, 0))
    return hdr + blob


def jump(label, ipb=None, goto=False, raw=None):
    def make(offs):
        v = raw if raw is not None else (offs[label] if offs else 1)
        b = ipb if ipb is not None else ip()
        if goto:
            b = b[:82] + bytes([b[82] | 2]) + b[83:]
        return entry(std(v), b)
    return make


def craft(name):
    if name == "weird_slack":
        # Bytes the kernel stores without looking at them: nfcache, comefrom and counters in
        # the blob, junk after name NULs, nonzero std/ERROR padding, IPT_F_GOTO on a plain
        # ACCEPT, every inversion bit, a 16-byte interface name without NUL, proto 300.
        odd = ip(src=0x01020304, smsk=0xFFFFFFFF, dst=0x05060700, dmsk=0xFFFFFF00,
                 iniface=b"abcdefghijklmnop", inmask=b"\xff" * 16,
                 outiface=b"ppp0", outmask=b"\xff" * 4, proto=300, flags=3, invflags=0x7F)
        e = [
            ("r0", entry(std(ACCEPT, name=b"\0junk", pad=b"\x01\x02\x03\x04"), odd,
                         nfcache=0xDEADBEEF, comefrom=0x1234, counters=(5, 6))),
            ("in", entry(std(ACCEPT, pad=b"\xff\0\0\x01"))),
            ("fw", entry(std(DROP))),
            ("out", entry(std(ACCEPT), nfcache=7)),
            ("foo", entry(err(b"foo\0garbage", name=b"ERROR\0xy", pad=b"\xaa\xbb"))),
            ("foo1", entry(std(RETURN, pad=b"\0\0\0\x09"), ip(dst=NET10, dmsk=MASK8))),
            ("foo2", entry(std(RETURN))),
            ("end", entry(err(b"ERROR"))),
        ]
        return replace(b"filter", 0x0E, e, {1: "r0", 2: "fw", 3: "out"},
                       {1: "in", 2: "fw", 3: "out"}, 4)
    if name == "weird_jumps":
        # A jump into the middle of a chain (P6), to a chain's ERROR head (P7), to the next
        # entry (D14); an unreferenced chain with a jump to offset 8 (D10) and a goto to
        # itself (D11). (A jump to another hook's policy, P10, makes iptables-legacy-save
        # print uninitialised memory as the target, so it is left out.)
        e = [
            ("i0", jump("foo2", ip(src=NET10, smsk=MASK8))),
            ("i1", jump("foo", ip(src=0x0B000000, smsk=MASK8))),
            ("i2", jump("in", ip(src=0x0C000000, smsk=MASK8))),
            ("in", entry(std(ACCEPT))),
            ("fw", entry(std(DROP))),
            ("out", entry(std(ACCEPT))),
            ("foo", entry(err(b"foo"))),
            ("foo1", entry(std(ACCEPT), ip(proto=6))),
            ("foo2", entry(std(DROP), ip(proto=17))),
            ("foo3", entry(std(RETURN))),
            ("unref", entry(err(b"unref"))),
            ("u1", jump(None, ip(src=0x01000000, smsk=MASK8), raw=8)),
            ("u2", jump("u2", ip(proto=1), goto=True)),
            ("u3", entry(std(RETURN))),
            ("end", entry(err(b"ERROR"))),
        ]
        return replace(b"filter", 0x0E, e, {1: "i0", 2: "fw", 3: "out"},
                       {1: "in", 2: "fw", 3: "out"}, 4)
    if name == "weird_layout":
        # INPUT starts at an ERROR entry (D17), an ERROR entry sits among INPUT's rules
        # (E18), and there is no trailing ERROR entry (C10).
        e = [
            ("head", entry(err(b"head"))),
            ("i1", entry(std(ACCEPT), ip(src=NET10, smsk=MASK8))),
            ("mid", entry(err(b"mid"))),
            ("in", entry(std(ACCEPT))),
            ("fw", entry(std(DROP))),
            ("out", entry(std(ACCEPT))),
        ]
        return replace(b"filter", 0x0E, e, {1: "head", 2: "fw", 3: "out"},
                       {1: "in", 2: "fw", 3: "out"}, 4)
    sys.exit("unknown crafted fixture " + name)


CRAFTED = ["weird_slack", "weird_jumps", "weird_layout"]

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "kernel":
        kernel(sys.argv[2], sys.argv[3])
    elif cmd == "strace":
        from_strace(sys.argv[2])
    elif cmd == "crafted":
        print(" ".join(CRAFTED))
    elif cmd == "craft":
        sys.stdout.buffer.write(craft(sys.argv[2]))
    elif cmd == "load":
        load(sys.argv[2])
    else:
        sys.exit(__doc__)

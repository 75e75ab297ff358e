# Raw IPT_SO_* calls with odd arguments, one result line each. Run directly and under
# interception (PassThrough) in the same fresh netns: the outputs must be identical.
# Only calls that cannot change the ruleset (reads, and writes that fail) are made.
import ctypes
import errno
import hashlib
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SETSOCKOPT, GETSOCKOPT = 54, 55
U64 = (1 << 64) - 1


def sc(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(a & U64) for a in args])
    return "ok" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


buf = ctypes.create_string_buffer(65536)
ln = ctypes.c_int32(0)
BUF, LN = ctypes.addressof(buf), ctypes.addressof(ln)


def fill(data):
    ctypes.memset(buf, 0, len(buf))
    ctypes.memmove(buf, data, len(data))


def get(label, fd, level, opt, data, optlen, optval=None, optlen_ptr=None):
    fill(data)
    ln.value = optlen
    r = sc(GETSOCKOPT, fd, level, opt, BUF if optval is None else optval,
           LN if optlen_ptr is None else optlen_ptr)
    digest = hashlib.sha256(buf.raw[: max(0, min(ln.value, len(buf)))]).hexdigest()[:16]
    print(label, r, ln.value, digest if r == "ok" else "-")


def set_(label, fd, level, opt, data, optlen, optval=None):
    fill(data)
    print(label, sc(SETSOCKOPT, fd, level, opt, BUF if optval is None else optval, optlen))


def name(s, size=32):
    return s.encode().ljust(size, b"\0")


def sock(family, kind, proto=0):
    try:
        return socket.socket(family, kind, proto)
    except OSError as e:
        print("socket", family, kind, errno.errorcode[e.errno])
        return None


udp = sock(socket.AF_INET, socket.SOCK_DGRAM)
fd = udp.fileno()

get("info", fd, 0, 64, name("filter"), 84)
get("info-83", fd, 0, 64, name("filter"), 83)
get("info-neg", fd, 0, 64, name("filter"), -1)
get("info-optval-fault", fd, 0, 64, b"", 84, optval=8)
get("info-optlen-fault", fd, 0, 64, b"", 84, optlen_ptr=8)
get("info-high-bits", fd, 0xDEAD00000000, 0xBEEF00000040, name("filter"), 84)
get("info-nosuch", fd, 0, 64, name("nosuch"), 84)
get("info-32-char-name", fd, 0, 64, b"f" * 32, 84)
get("entries-short", fd, 0, 65, name("filter"), 39)
get("entries-bad-size", fd, 0, 65, name("filter"), 40)

# GET_ENTRIES with the exact size GET_INFO reported (size is at offset 80).
fill(name("filter"))
ln.value = 84
if sc(GETSOCKOPT, fd, 0, 64, BUF, LN) == "ok":
    size = int.from_bytes(buf.raw[80:84], "little")
    get("entries", fd, 0, 65, name("filter") + size.to_bytes(4, "little"), 40 + size)
    get("entries-size-mismatch", fd, 0, 65, name("filter") + (size + 8).to_bytes(4, "little"), 48 + size)

rev = lambda n, r: name(n, 29) + bytes([r])
get("rev-match-udp-0", fd, 0, 66, rev("udp", 0), 30)
get("rev-match-udp-5", fd, 0, 66, rev("udp", 5), 30)
get("rev-match-nosuch", fd, 0, 66, rev("nosuch", 0), 30)
get("rev-match-29", fd, 0, 66, rev("udp", 0), 29)
get("rev-target-error", fd, 0, 67, rev("ERROR", 0), 30)
get("rev-target-udp", fd, 0, 67, rev("udp", 0), 30)

set_("replace-short", fd, 0, 64, name("filter"), 10)
set_("replace-neg", fd, 0, 64, name("filter"), -1)
set_("replace-optval-fault", fd, 0, 64, b"", 200, optval=8)
set_("replace-high-optlen", fd, 0, 64, name("filter"), 0x10000000A)
set_("replace-no-counters", fd, 0, 64, name("filter").ljust(96, b"\0"), 96)
set_("add-counters-40", fd, 0, 65, name("filter"), 40)
set_("add-counters-nosuch", fd, 0, 65, name("nosuch") + (1).to_bytes(4, "little") + b"\0" * 20, 56)

# Other families and fds: the kernel's own answers (the service hands these back).
for label, s in (
    ("inet6-udp", sock(socket.AF_INET6, socket.SOCK_DGRAM)),
    ("inet6-raw", sock(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)),
    ("inet-tcp", sock(socket.AF_INET, socket.SOCK_STREAM)),
    ("unix", sock(socket.AF_UNIX, socket.SOCK_DGRAM)),
):
    if s is not None:
        get(label + "-info", s.fileno(), 0, 64, name("filter"), 84)
        set_(label + "-replace-short", s.fileno(), 0, 64, name("filter"), 10)
nonsock = open("/proc/self/status", "rb")
get("not-a-socket", nonsock.fileno(), 0, 64, name("filter"), 84)
get("bad-fd", 4000, 0, 64, name("filter"), 84)
get("negative-fd", -1, 0, 64, name("filter"), 84)
sys.stdout.flush()

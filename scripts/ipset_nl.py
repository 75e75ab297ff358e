"""Create an ipset over nfnetlink (the machine has no ipset binary). Run in a netns."""
import socket, struct, os
NETLINK_NETFILTER = 12
def nla(t, payload):
    l = 4 + len(payload)
    return struct.pack('<HH', l, t) + payload + b'\0' * ((4 - l % 4) % 4)
def create(name, typename=b'hash:ip', rev=0, family=2):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    attrs = (nla(1, bytes([7])) + nla(2, name + b'\0') + nla(3, typename + b'\0') +
             nla(4, bytes([rev])) + nla(5, bytes([family])) + nla(7 | 0x8000, b''))
    nfgen = struct.pack('<BBH', 2, 0, 0)
    body = nfgen + attrs
    msgtype = (6 << 8) | 2
    flags = 0x1 | 0x4 | 0x400 | 0x200  # REQUEST | ACK | CREATE | EXCL
    hdr = struct.pack('<IHHII', 16 + len(body), msgtype, flags, 1, 0)
    s.send(hdr + body)
    resp = s.recv(4096)
    err = struct.unpack_from('<i', resp, 16)[0]
    return err

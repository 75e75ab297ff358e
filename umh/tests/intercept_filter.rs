//! The seccomp filter: its decisions on synthetic `seccomp_data` (a small classic-BPF
//! interpreter), and what the kernel does with it on live processes.
#![allow(clippy::unwrap_used)]

mod intercept_util;

use std::os::unix::process::ExitStatusExt;

use bpfilter_umh::intercept::{Errno, PassThrough, Request, SetReply, SideWrite, SockoptHandler};
use bpfilter_umh::sys::seccomp::{
    AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, IPT_FILTER, NR_GETSOCKOPT, NR_SETSOCKOPT, X32_SYSCALL_BIT,
};
use intercept_util::{direct, intercepted, python, Netns};

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const NOTIF: u32 = libc::SECCOMP_RET_USER_NOTIF;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

/// Run the classic-BPF program on `struct seccomp_data { nr, arch, ip, args[6] }` the way the
/// kernel does (only the instructions a seccomp filter may use; anything else fails the test).
fn run(nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(&nr.to_le_bytes());
    data.extend_from_slice(&arch.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    for a in args {
        data.extend_from_slice(&a.to_le_bytes());
    }
    let word = |off: u32| {
        let o = off as usize;
        assert!(o.is_multiple_of(4) && o + 4 <= data.len(), "load at {o}");
        u32::from_le_bytes(data[o..o + 4].try_into().unwrap())
    };
    let (mut pc, mut acc) = (0usize, 0u32);
    for _ in 0..IPT_FILTER.len() {
        let i = IPT_FILTER[pc];
        let (jt, jf) = (usize::from(i.jt), usize::from(i.jf));
        match u32::from(i.code) {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                acc = word(i.k);
                pc += 1;
            }
            c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                pc += 1 + if acc == i.k { jt } else { jf };
            }
            c if c == libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K => {
                pc += 1 + if acc >= i.k { jt } else { jf };
            }
            c if c == libc::BPF_RET | libc::BPF_K => return i.k,
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        }
    }
    panic!("program did not return");
}

fn sockopt(nr: i32, level: u64, optname: u64) -> u32 {
    run(
        nr as u32,
        AUDIT_ARCH_X86_64,
        [3, level, optname, 0x1000, 84, 0],
    )
}

#[test]
fn traps_exactly_the_ipt_ranges() {
    for opt in 0..200u64 {
        let set = if (64..66).contains(&opt) {
            NOTIF
        } else {
            ALLOW
        };
        let get = if (64..68).contains(&opt) {
            NOTIF
        } else {
            ALLOW
        };
        assert_eq!(sockopt(NR_SETSOCKOPT, 0, opt), set, "set {opt}");
        assert_eq!(sockopt(NR_GETSOCKOPT, 0, opt), get, "get {opt}");
    }
    // Other levels with the same numbers: SOL_SOCKET, SOL_IPV6 (ip6tables), SOL_TCP.
    for level in [1u64, 41, 6, 0xffff_ffff] {
        assert_eq!(sockopt(NR_GETSOCKOPT, level, 64), ALLOW, "level {level}");
        assert_eq!(sockopt(NR_SETSOCKOPT, level, 64), ALLOW, "level {level}");
    }
    // A negative int optname is not in range (unsigned compare of the low half).
    assert_eq!(sockopt(NR_GETSOCKOPT, 0, 0xffff_ffc0), ALLOW);
}

#[test]
fn high_halves_are_ignored_like_the_kernel_does() {
    // The kernel truncates int arguments, so these ARE SOL_IP/IPT_SO_GET_INFO to it.
    for hi in [0u64, 0xffff_ffff, 0xdead, 0x8000_0000] {
        assert_eq!(
            sockopt(NR_GETSOCKOPT, hi << 32, (hi << 32) | 64),
            NOTIF,
            "{hi:#x}"
        );
        assert_eq!(
            sockopt(NR_SETSOCKOPT, hi << 32, (hi << 32) | 65),
            NOTIF,
            "{hi:#x}"
        );
        assert_eq!(sockopt(NR_GETSOCKOPT, (hi << 32) | 1, 64), ALLOW, "{hi:#x}");
    }
}

#[test]
fn other_syscalls_abis_and_io_uring() {
    assert_eq!(run(0, AUDIT_ARCH_X86_64, [0; 6]), ALLOW); // read
    assert_eq!(run(41, AUDIT_ARCH_X86_64, [2, 3, 255, 0, 0, 0]), ALLOW); // socket
                                                                         // open/openat reach the service (which answers /proc/net/ip_tables_names only);
                                                                         // openat2 and the rest of the file calls do not.
    assert_eq!(run(2, AUDIT_ARCH_X86_64, [0; 6]), NOTIF, "open");
    assert_eq!(run(257, AUDIT_ARCH_X86_64, [0; 6]), NOTIF, "openat");
    for nr in [3, 4, 5, 437] {
        assert_eq!(run(nr, AUDIT_ARCH_X86_64, [0; 6]), ALLOW, "{nr}");
    }
    for nr in [425, 426, 427] {
        assert_eq!(run(nr, AUDIT_ARCH_X86_64, [0; 6]), ENOSYS, "io_uring {nr}");
    }
    // i386 (int $0x80 / compat socketcall): killed whatever the call.
    for nr in [1, 102, 365, 366] {
        assert_eq!(run(nr, AUDIT_ARCH_I386, [0; 6]), KILL);
    }
    // x32 numbers (bit 30): 541/542 are x32 setsockopt/getsockopt.
    assert_eq!(
        run(
            X32_SYSCALL_BIT | 541,
            AUDIT_ARCH_X86_64,
            [3, 0, 64, 0, 0, 0]
        ),
        KILL
    );
    assert_eq!(
        run(X32_SYSCALL_BIT | 55, AUDIT_ARCH_X86_64, [3, 0, 64, 0, 0, 0]),
        KILL
    );
}

const NOT_IPT: &str = r#"
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 16)
print("tos", s.getsockopt(socket.IPPROTO_IP, socket.IP_TOS))
def err(f):
    try:
        f(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
for opt in (63, 66, 67, 96):
    print("set", opt, err(lambda: s.setsockopt(socket.IPPROTO_IP, opt, b"x" * 8)))
for opt in (63, 68, 96, 128):
    print("get", opt, err(lambda: s.getsockopt(socket.IPPROTO_IP, opt, 84)))
print("ipv6-level", err(lambda: s.getsockopt(socket.IPPROTO_IPV6, 64, 84)))
print("sol-socket", err(lambda: s.getsockopt(socket.SOL_SOCKET, 64, 84)))
"#;

#[test]
fn other_socket_options_are_not_trapped() {
    require_root!();
    let ns = Netns::new();
    let (out, run) = intercepted(&ns, &[python(), "-c", NOT_IPT], PassThrough::new());
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("tos 16"), "{out:?}");
    assert_eq!(out.stdout, direct(&ns, &[python(), "-c", NOT_IPT]).stdout);
    assert_eq!(run.stats.trapped, 0, "{:?}", run.stats.calls);
}

/// `mov eax, 20 (i386 getpid); int $0x80; ret`, run from an executable mapping.
const INT80: &str = r#"
import ctypes, mmap
m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
m.write(b"\xb8\x14\x00\x00\x00\xcd\x80\xc3")
f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
print("pid", f())
"#;

#[test]
fn an_i386_syscall_kills_the_process() {
    require_root!();
    let ns = Netns::new();
    let plain = direct(&ns, &[python(), "-c", INT80]);
    if !plain.status.success() || !plain.stdout.starts_with("pid ") {
        eprintln!("skipped: no IA32 emulation here ({plain:?})");
        return;
    }
    let (out, _) = intercepted(&ns, &[python(), "-c", INT80], PassThrough::new());
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");
}

const URING: &str = r#"
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
params = ctypes.create_string_buffer(120)
r = libc.syscall(ctypes.c_long(425), ctypes.c_long(4), params)
print("ok" if r >= 0 else errno.errorcode[ctypes.get_errno()])
"#;

#[test]
fn io_uring_is_refused_with_enosys() {
    require_root!();
    let ns = Netns::new();
    let plain = direct(&ns, &[python(), "-c", URING]);
    let (out, _) = intercepted(&ns, &[python(), "-c", URING], PassThrough::new());
    assert_eq!(
        out.stdout.trim(),
        "ENOSYS",
        "{out:?} (without the filter: {plain:?})"
    );
}

/// GET_INFO and SET_ADD_COUNTERS from Python, printing the errno of each.
const TWO_CALLS: &str = r#"
import ctypes, errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def err(f):
    try:
        r = f()
        return "ok" if r is None else "ok%d" % len(r)
    except OSError as e:
        return errno.errorcode[e.errno]
print(err(lambda: s.getsockopt(0, 64, 84)), err(lambda: s.setsockopt(0, 65, b"\0" * 56)))
"#;

/// Replies that break the contract or exercise the side-write policy.
struct Contract {
    get_len: usize,
    side_write_addr: u64,
    ignore_fault: bool,
}
impl SockoptHandler for Contract {
    fn set(&mut self, _: &Request, _: i32, _: &[u8]) -> Result<SetReply, Errno> {
        Ok(SetReply {
            side_writes: vec![SideWrite {
                addr: self.side_write_addr,
                bytes: vec![1; 16],
                ignore_fault: self.ignore_fault,
            }],
        })
    }
    fn get(&mut self, _: &Request, _: i32, _: &[u8], _: u32) -> Result<Vec<u8>, Errno> {
        Ok(vec![0; self.get_len])
    }
}

#[test]
fn reply_contract_overlong_get_and_side_write_faults() {
    require_root!();
    let ns = Netns::new();
    let py = |h: Contract| {
        let (out, run) = intercepted(&ns, &[python(), "-c", TWO_CALLS], h);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(run.stats.trapped, 2);
        out.stdout.trim().to_string()
    };
    // A get reply longer than the caller's buffer is refused, never written past *optlen.
    let over = Contract {
        get_len: 85,
        side_write_addr: 8,
        ignore_fault: true,
    };
    assert_eq!(py(over), "EINVAL ok");
    // A faulting side write: ignored (SET_REPLACE's counters) or EFAULT.
    let strict = Contract {
        get_len: 84,
        side_write_addr: 8,
        ignore_fault: false,
    };
    assert_eq!(py(strict), "ok84 EFAULT");
    let shorter = Contract {
        get_len: 10,
        side_write_addr: 8,
        ignore_fault: true,
    };
    // *optlen follows the reply's length.
    assert_eq!(py(shorter), "ok10 ok");
}

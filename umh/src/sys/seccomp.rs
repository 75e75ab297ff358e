//! seccomp user notification: the filter that traps iptables' socket options, the child-side
//! setup between `fork` and `exec`, and the parent-side listener.
//!
//! ```text
//!  parent (bpfilter)                           child (becomes CMD)
//!  socketpair(AF_UNIX) ───────────fork────────▶ [setns / unshare(CLONE_NEWNET)]
//!                                               seccomp(SET_MODE_FILTER, NEW_LISTENER) -> lfd
//!  recvmsg(SCM_RIGHTS) ◀──── sendmsg(lfd) ───── (NO_NEW_PRIVS only if CAP_SYS_ADMIN is missing)
//!  NOTIF_RECV / ID_VALID / NOTIF_SEND           execvp(CMD) — the filter stays, and is inherited
//! ```
//!
//! # What the filter decides (x86_64 only)
//!
//! | call | action |
//! |---|---|
//! | `arch != AUDIT_ARCH_X86_64` (i386 `int $0x80`), or an x32 number (bit 30) | `KILL_PROCESS` |
//! | `setsockopt`, low 32 bits of level == 0, low 32 bits of optname in [64, 66) | `USER_NOTIF` |
//! | `getsockopt`, low 32 bits of level == 0, low 32 bits of optname in [64, 68) | `USER_NOTIF` |
//! | `open`, `openat` | `USER_NOTIF` (answered for `/proc/net/ip_tables_names`, else `CONTINUE`) |
//! | `io_uring_setup` / `_enter` / `_register` | `ERRNO(ENOSYS)` |
//! | anything else | `ALLOW` |
//!
//! * **Only the low 32 bits are compared.** `level` and `optname` are C `int`s; the kernel's
//!   syscall wrappers (`SYSCALL_DEFINE5` → `__SC_CAST`) truncate the 64-bit register to 32 bits,
//!   so `getsockopt(fd, 0xdead_0000_0000, 0xbeef_0000_0040, ...)` *is* `IPT_SO_GET_INFO` (seen
//!   here on 6.18: it returns the filter table's info). Requiring any particular high half —
//!   zero or a sign extension — would let such a call slip past the trap into the real
//!   x_tables, so the high halves are deliberately ignored. The range compare is unsigned, which
//!   is also right: a negative `int` optname is never in the kernel's `[min, max)` range.
//! * **Foreign ABIs are killed**, not allowed: an i386 (`int $0x80`, compat `socketcall`) or x32
//!   call would reach x_tables through the compat layout without being trapped, and the
//!   compat `socketcall` keeps its arguments in memory where a filter cannot see them.
//!   `ERRNO` for every call of such a task is no better: it would make `exit` fail too and
//!   leave the task spinning. `SIGSYS` is loud and immediate.
//! * **io_uring is refused with ENOSYS** because `IORING_OP_URING_CMD`
//!   (`SOCKET_URING_OP_SETSOCKOPT`/`GETSOCKOPT`, 6.7+) runs `do_sock_setsockopt` without a
//!   syscall seccomp could see. Programs that use io_uring fall back to plain syscalls on
//!   ENOSYS (the same choice as container runtimes' default profiles).
//!
//! * **open/openat are trapped** because `iptables-save` lists the tables to dump from
//!   `/proc/net/ip_tables_names`, which only the kernel's x_tables fill; a filter cannot read
//!   the path, so every open reaches the service, which answers that one file (a memfd
//!   installed with `SECCOMP_IOCTL_NOTIF_ADDFD`) and lets the kernel run all others
//!   (`CONTINUE`). It costs one round trip per open of the wrapped commands.
//!
//! The filter is interception, not a sandbox: a root caller can always leave it (ask an
//! unfiltered daemon to run the command, ptrace an unfiltered process). It closes the accidental
//! and the cheap deliberate bypasses.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

/// `AUDIT_ARCH_X86_64` (`EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`).
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// `AUDIT_ARCH_I386` (what `int $0x80` from any process reports).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// x32 syscalls carry this bit in `nr` (`__X32_SYSCALL_BIT`).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// x86_64 `open`.
pub const NR_OPEN: i32 = 2;
/// x86_64 `openat`.
pub const NR_OPENAT: i32 = 257;
/// x86_64 `setsockopt`.
pub const NR_SETSOCKOPT: i32 = 54;
/// x86_64 `getsockopt`.
pub const NR_GETSOCKOPT: i32 = 55;
/// x86_64 `io_uring_setup`.
pub const NR_IO_URING_SETUP: i32 = 425;
/// x86_64 `io_uring_enter`.
pub const NR_IO_URING_ENTER: i32 = 426;
/// x86_64 `io_uring_register`.
pub const NR_IO_URING_REGISTER: i32 = 427;
/// `SOL_IP` (= `IPPROTO_IP`).
pub const SOL_IP: u32 = 0;
/// Netfilter's IPv4 setsockopt range is `[SET_MIN, SET_MAX)` (spec §1.6).
pub const IPT_SET_MIN: u32 = 64;
/// End of the IPv4 setsockopt range (exclusive).
pub const IPT_SET_MAX: u32 = 66;
/// Netfilter's IPv4 getsockopt range is `[GET_MIN, GET_MAX)`.
pub const IPT_GET_MIN: u32 = 64;
/// End of the IPv4 getsockopt range (exclusive).
pub const IPT_GET_MAX: u32 = 68;

/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (5.19+): once the listener has received a
/// notification, only a fatal signal interrupts the trapped task. Without it a stray signal
/// would make the kernel restart the syscall and deliver it again — after we may already have
/// applied a SET_REPLACE.
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;

// Offsets into `struct seccomp_data` (little-endian x86_64): nr, arch, ip, args[6].
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Low 32 bits of `args[i]`.
const fn off_arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

const LD_ABS_W: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

const fn ld(off: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: LD_ABS_W,
        jt: 0,
        jf: 0,
        k: off,
    }
}
const fn ret(action: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: action,
    }
}
/// A conditional jump at index `at` to absolute indices `t` / `f` (cBPF only jumps forward;
/// an impossible layout fails at compile time, since the table below is a `const`).
const fn jmp(code: u16, k: u32, at: usize, t: usize, f: usize) -> libc::sock_filter {
    assert!(t > at && f > at && t - at - 1 <= 255 && f - at - 1 <= 255);
    libc::sock_filter {
        code,
        jt: (t - at - 1) as u8,
        jf: (f - at - 1) as u8,
        k,
    }
}

// Instruction indices of the shared tails.
const SET: usize = 11;
const GET: usize = 16;
const ALLOW: usize = 21;
const NOTIF: usize = 22;
const ENOSYS: usize = 23;
const KILL: usize = 24;

/// The classic-BPF program (see the module table). Public so tests can run it through an
/// interpreter on synthetic `seccomp_data`.
pub const IPT_FILTER: [libc::sock_filter; 25] = [
    /* 0 */ ld(OFF_ARCH),
    /* 1 */ jmp(JEQ_K, AUDIT_ARCH_X86_64, 1, 2, KILL),
    /* 2 */ ld(OFF_NR),
    /* 3 */ jmp(JGE_K, X32_SYSCALL_BIT, 3, KILL, 4),
    /* 4 */ jmp(JEQ_K, NR_SETSOCKOPT as u32, 4, SET, 5),
    /* 5 */ jmp(JEQ_K, NR_GETSOCKOPT as u32, 5, GET, 6),
    /* 6 */ jmp(JEQ_K, NR_OPENAT as u32, 6, NOTIF, 7),
    /* 7 */ jmp(JEQ_K, NR_OPEN as u32, 7, NOTIF, 8),
    /* 8 */ jmp(JEQ_K, NR_IO_URING_SETUP as u32, 8, ENOSYS, 9),
    /* 9 */ jmp(JEQ_K, NR_IO_URING_ENTER as u32, 9, ENOSYS, 10),
    /* 10 */ jmp(JEQ_K, NR_IO_URING_REGISTER as u32, 10, ENOSYS, ALLOW),
    /* 11 SET */ ld(off_arg_lo(1)),
    /* 12 */ jmp(JEQ_K, SOL_IP, 12, 13, ALLOW),
    /* 13 */ ld(off_arg_lo(2)),
    /* 14 */ jmp(JGE_K, IPT_SET_MIN, 14, 15, ALLOW),
    /* 15 */ jmp(JGE_K, IPT_SET_MAX, 15, ALLOW, NOTIF),
    /* 16 GET */ ld(off_arg_lo(1)),
    /* 17 */ jmp(JEQ_K, SOL_IP, 17, 18, ALLOW),
    /* 18 */ ld(off_arg_lo(2)),
    /* 19 */ jmp(JGE_K, IPT_GET_MIN, 19, 20, ALLOW),
    /* 20 */ jmp(JGE_K, IPT_GET_MAX, 20, ALLOW, NOTIF),
    /* 21 ALLOW */ ret(libc::SECCOMP_RET_ALLOW),
    /* 22 NOTIF */ ret(libc::SECCOMP_RET_USER_NOTIF),
    /* 23 ENOSYS */
    ret(libc::SECCOMP_RET_ERRNO | (libc::ENOSYS as u32 & libc::SECCOMP_RET_DATA)),
    /* 24 KILL */ ret(libc::SECCOMP_RET_KILL_PROCESS),
];

/// What the child does between `fork` and `exec`. Built in the parent (no allocation happens
/// in the child); [`ChildSetup::run`] uses only raw syscalls.
#[derive(Debug, Clone, Copy)]
pub struct ChildSetup {
    /// The child's end of the socketpair the listener fd is sent over.
    pub sock: RawFd,
    /// A network namespace fd to `setns` into first, or -1.
    pub join_netns: RawFd,
    /// `unshare(CLONE_NEWNET)` (after `join_netns`, before the filter).
    pub new_netns: bool,
}

impl ChildSetup {
    /// Enter the requested network namespace, install [`IPT_FILTER`] with a new listener and
    /// send the listener over `sock`.
    ///
    /// # Safety
    /// Only in a freshly forked, single-threaded child about to `exec` (e.g. a
    /// `CommandExt::pre_exec` closure): it installs a process-wide seccomp filter that can never
    /// be removed. It is async-signal-safe: raw syscalls and stack buffers only.
    pub unsafe fn run(&self) -> io::Result<()> {
        if self.join_netns >= 0 {
            // SAFETY: setns on a caller-provided fd; failure is reported, nothing is borrowed.
            if unsafe { libc::setns(self.join_netns, libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if self.new_netns {
            // SAFETY: plain syscall in a single-threaded child.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let listener = install_filter()?;
        let sent = send_fd(self.sock, listener);
        // SAFETY: `listener` is the fd seccomp just returned to us and nothing else owns it.
        unsafe { libc::close(listener) };
        sent
    }
}

/// Install [`IPT_FILTER`] on the calling thread with `NEW_LISTENER`; returns the listener fd.
/// Tries without `NO_NEW_PRIVS` first (allowed with CAP_SYS_ADMIN, and keeps set-uid programs
/// working for root callers), and sets it only when the kernel asks for it (EACCES).
/// Async-signal-safe.
fn install_filter() -> io::Result<RawFd> {
    let prog = libc::sock_fprog {
        len: IPT_FILTER.len() as u16,
        filter: IPT_FILTER.as_ptr().cast_mut(),
    };
    let base = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    let mut nnp_set = false;
    let mut flags = base | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    loop {
        // SAFETY: `prog` points at a 'static, correctly sized cBPF program; the kernel copies it.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if fd >= 0 {
            return Ok(fd as RawFd);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // Kernels before 5.19 do not know WAIT_KILLABLE_RECV.
            Some(libc::EINVAL) if flags != base => flags = base,
            Some(libc::EACCES) if !nnp_set => {
                // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) only sets a flag on this task.
                if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                nnp_set = true;
            }
            _ => return Err(err),
        }
    }
}

/// A control-message buffer for one fd, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct FdCmsg([u8; 24]);
const _: () = assert!(size_of::<FdCmsg>() >= cmsg_space_one_fd());
const fn cmsg_space_one_fd() -> usize {
    // CMSG_SPACE(sizeof(int)) on LP64: 16-byte header + 4 bytes, aligned to 8 = 24.
    size_of::<libc::cmsghdr>() + 8
}

/// Send `fd` over the Unix socket `sock` (`SCM_RIGHTS`, one payload byte). Async-signal-safe.
fn send_fd(sock: RawFd, fd: RawFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = FdCmsg([0; 24]);
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the sendmsg call.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg_space_one_fd();
    // SAFETY: msg_control points at 24 writable, aligned bytes, enough for one cmsghdr + int;
    // CMSG_FIRSTHDR therefore returns a valid, non-null pointer into `cbuf`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
    }
    // SAFETY: msg is fully initialised and its buffers are live.
    let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    if n == 1 {
        Ok(())
    } else if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }
}

/// Spawn `cmd` with [`ChildSetup`] run between fork and exec (optionally joining the network
/// namespace `join_netns` and/or unsharing a new one), and return the child with the
/// listener for its trapped calls.
pub fn spawn_filtered(
    cmd: &mut Command,
    join_netns: Option<BorrowedFd<'_>>,
    new_netns: bool,
) -> io::Result<(Child, Listener)> {
    let (parent_end, child_end) = socketpair()?;
    let setup = ChildSetup {
        sock: child_end.as_raw_fd(),
        join_netns: join_netns.map_or(-1, |f| f.as_raw_fd()),
        new_netns,
    };
    let hook = move || {
        // SAFETY: pre_exec runs this in the forked child right before exec, which is exactly
        // what ChildSetup::run requires; it only uses fds that stay open in the parent until
        // `spawn` returns.
        unsafe { setup.run() }
    };
    // SAFETY: `hook` is async-signal-safe (raw syscalls, stack buffers, no allocation).
    unsafe {
        cmd.pre_exec(hook);
    }
    let mut child = cmd.spawn()?;
    drop(child_end);
    match recv_fd(parent_end.as_fd()).and_then(Listener::new) {
        Ok(l) => Ok((child, l)),
        Err(e) => {
            // Cannot happen once pre_exec succeeded; never leave the child unserved.
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// A `SOCK_SEQPACKET` Unix socketpair, both ends close-on-exec (the child's end is closed by
/// its `exec`, after the listener has been sent).
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a writable [c_int; 2].
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Receive the listener fd the child sent (non-blocking: by the time `spawn` returns, the child
/// has exec'd, so the message is already queued — or it never will be).
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = FdCmsg([0; 24]);
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the recvmsg call.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg_space_one_fd();
    // SAFETY: buffers are live and sized as declared in `msg`.
    let n = unsafe {
        libc::recvmsg(
            sock.as_raw_fd(),
            &mut msg,
            libc::MSG_CMSG_CLOEXEC | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `msg` was filled by the kernel; CMSG_FIRSTHDR checks msg_controllen.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    // SAFETY: a non-null cmsg points into `cbuf`, which the kernel filled.
    let ok = !cmsg.is_null()
        && unsafe {
            (*cmsg).cmsg_level == libc::SOL_SOCKET
                && (*cmsg).cmsg_type == libc::SCM_RIGHTS
                && (*cmsg).cmsg_len == libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize
        };
    if !ok || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no seccomp listener fd received from the child",
        ));
    }
    // SAFETY: the SCM_RIGHTS payload is one int, a fresh fd now owned by this process.
    Ok(unsafe {
        OwnedFd::from_raw_fd(std::ptr::read_unaligned(
            libc::CMSG_DATA(cmsg).cast::<RawFd>(),
        ))
    })
}

/// One trapped syscall, as `struct seccomp_notif` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notif {
    /// The cookie for ID_VALID and SEND.
    pub id: u64,
    /// The trapped *thread*'s id, in the listener's pid namespace.
    pub pid: u32,
    /// `seccomp_data.nr`.
    pub nr: i32,
    /// `seccomp_data.arch`.
    pub arch: u32,
    /// `seccomp_data.args`, full 64-bit registers.
    pub args: [u64; 6],
}

/// How a trapped call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The syscall returns this value.
    Value(i64),
    /// The syscall fails with this (positive) errno.
    Errno(i32),
    /// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: the kernel runs the syscall itself. Only for calls
    /// we do not answer; the kernel re-reads nothing we checked except the registers.
    Continue,
}

/// What [`Listener::wait`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wake {
    /// A notification is pending.
    pub notif: bool,
    /// No task uses the filter any more (POLLHUP): nothing further can be trapped.
    pub hangup: bool,
    /// The extra fd is readable (e.g. a child's pidfd: it exited).
    pub extra: bool,
}

/// The parent's end: a seccomp listener fd.
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
    notif_size: usize,
    resp_size: usize,
}

/// Offsets in `struct seccomp_notif` / `seccomp_notif_resp` (stable UAPI; the structs may grow
/// at the end, which is why sizes come from SECCOMP_GET_NOTIF_SIZES).
const NOTIF_MIN: usize = 80;
const RESP_MIN: usize = 24;

impl AsFd for Listener {
    /// The listener fd, e.g. to hand it to the daemon (`SCM_RIGHTS`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Listener {
    /// Wrap a listener fd, asking the kernel how large its notification structs are.
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        let mut sizes = libc::seccomp_notif_sizes {
            seccomp_notif: 0,
            seccomp_notif_resp: 0,
            seccomp_data: 0,
        };
        // SAFETY: GET_NOTIF_SIZES writes one seccomp_notif_sizes.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_GET_NOTIF_SIZES,
                0,
                &mut sizes as *mut libc::seccomp_notif_sizes,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Listener {
            fd,
            notif_size: usize::from(sizes.seccomp_notif).max(NOTIF_MIN),
            resp_size: usize::from(sizes.seccomp_notif_resp).max(RESP_MIN),
        })
    }

    /// Wait up to `timeout` for a notification, the listener's hang-up, or `extra` becoming
    /// readable. EINTR is reported as a wake with nothing set.
    pub fn wait(&self, extra: Option<BorrowedFd<'_>>, timeout: Duration) -> io::Result<Wake> {
        let mut fds = [
            libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: extra.map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `fds` is a valid array of 2 pollfds (a negative fd is ignored by poll).
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(Wake::default())
            } else {
                Err(e)
            };
        }
        Ok(Wake {
            notif: fds[0].revents & libc::POLLIN != 0,
            hangup: fds[0].revents & (libc::POLLHUP | libc::POLLERR) != 0,
            extra: fds[1].revents & (libc::POLLIN | libc::POLLHUP) != 0,
        })
    }

    /// `SECCOMP_IOCTL_NOTIF_RECV`. ENOENT means the trapped task went away (killed) before we
    /// picked the notification up; callers just wait again.
    pub fn recv(&self) -> io::Result<Notif> {
        // The kernel requires a zeroed buffer; u64 storage keeps it 8-byte aligned.
        let mut buf = vec![0u64; self.notif_size.div_ceil(8)];
        // SAFETY: `buf` is at least `notif_size` zeroed bytes, the size the kernel reported.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                buf.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // Layout: id u64 @0, pid u32 @8, flags u32 @12, data { nr i32 @16, arch u32 @20,
        // ip u64 @24, args [u64; 6] @32 }: words 0..10.
        let w = |i: usize| buf.get(i).copied().unwrap_or(0);
        let lo = |x: u64| (x & 0xffff_ffff) as u32;
        let hi = |x: u64| (x >> 32) as u32;
        Ok(Notif {
            id: w(0),
            pid: lo(w(1)),
            nr: lo(w(2)) as i32,
            arch: hi(w(2)),
            args: [w(4), w(5), w(6), w(7), w(8), w(9)],
        })
    }

    /// `SECCOMP_IOCTL_NOTIF_ID_VALID`: is the trapped task still waiting for this answer?
    /// After a "yes", memory read by pid belonged to the trapped task (its pid cannot have been
    /// reused while it is blocked in our notification).
    pub fn id_valid(&self, id: u64) -> bool {
        let mut id = id;
        // SAFETY: ID_VALID reads one u64.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
                &mut id as *mut u64,
            )
        };
        rc == 0
    }

    /// `SECCOMP_IOCTL_NOTIF_ADDFD` with `SECCOMP_ADDFD_FLAG_SEND`: install a copy of `fd` in
    /// the trapped task and make the trapped call return its number, atomically (5.14+).
    /// `cloexec` sets `O_CLOEXEC` on the new descriptor. ENOENT: the task is gone.
    pub fn add_fd_and_return(&self, id: u64, fd: BorrowedFd<'_>, cloexec: bool) -> io::Result<i32> {
        /// `SECCOMP_ADDFD_FLAG_SEND`.
        const FLAG_SEND: u32 = 1 << 1;
        let addfd = libc::seccomp_notif_addfd {
            id,
            flags: FLAG_SEND,
            srcfd: u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX),
            newfd: 0,
            newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
        };
        // SAFETY: ADDFD reads one seccomp_notif_addfd; `fd` stays open during the call.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_ADDFD,
                &addfd as *const libc::seccomp_notif_addfd,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(rc)
    }

    /// `SECCOMP_IOCTL_NOTIF_SEND`. ENOENT: the task is gone (or was interrupted) — harmless.
    pub fn respond(&self, id: u64, response: Response) -> io::Result<()> {
        let (val, error, flags): (i64, i32, u32) = match response {
            Response::Value(v) => (v, 0, 0),
            Response::Errno(e) => (0, e.wrapping_neg(), 0),
            Response::Continue => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
        };
        let mut buf = vec![0u64; self.resp_size.div_ceil(8)];
        // Layout: id u64 @0, val s64 @8, error s32 @16, flags u32 @20.
        if let Some(w) = buf.get_mut(0) {
            *w = id;
        }
        if let Some(w) = buf.get_mut(1) {
            *w = val as u64;
        }
        if let Some(w) = buf.get_mut(2) {
            *w = u64::from(error as u32) | (u64::from(flags) << 32);
        }
        // SAFETY: `buf` holds at least `resp_size` bytes, the size the kernel reported.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                buf.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_libc_structs_matches_the_offsets_used() {
        assert_eq!(size_of::<libc::seccomp_notif>(), NOTIF_MIN);
        assert_eq!(size_of::<libc::seccomp_notif_resp>(), RESP_MIN);
        assert_eq!(std::mem::offset_of!(libc::seccomp_notif, data), 16);
        assert_eq!(std::mem::offset_of!(libc::seccomp_data, args), 16);
        assert_eq!(std::mem::offset_of!(libc::seccomp_notif_resp, error), 16);
    }
}

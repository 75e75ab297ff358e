//! The interception service: unmodified `iptables-legacy` answered by bpfilter.
//!
//! [`exec`] runs a command under the seccomp filter of [`crate::sys::seccomp`], which traps
//! `setsockopt`/`getsockopt` at level `SOL_IP` with the `IPT_SO_*` numbers (and nothing else).
//! Every trapped call becomes a [`Request`] — the contract of the kernel's bpfilter helper
//! (`{pid, addr, len, cmd, is_set}` plus the socket's network namespace and the caller's
//! credentials) — answered by a [`SockoptHandler`]:
//!
//! ```text
//!  NOTIF_RECV ─▶ classify ─▶ caller's socket (pidfd_getfd) ─▶ optlen ─▶ netns (SIOCGSKNS)
//!       ─▶ CAP_NET_ADMIN? ─▶ read optval ─▶ ID_VALID ─▶ handler.set / handler.get
//!       ─▶ ID_VALID ─▶ write back (buffer, *optlen, side writes) ─▶ NOTIF_SEND 0 / -errno
//! ```
//!
//! # The errno order, as the kernel has it (checked on 6.18)
//!
//! 1. The fd: not open → EBADF, not a socket → ENOTSOCK. Sockets whose family never reaches
//!    x_tables with `SOL_IP` (anything but `AF_INET`, and `AF_INET6` sockets that are not
//!    `SOCK_RAW`) are handed back to the kernel (`CONTINUE`), which answers for its family
//!    (EOPNOTSUPP for `AF_UNIX`, ENOPROTOOPT for `AF_PACKET`, `AF_NETLINK`, raw IPv6).
//! 2. setsockopt: `optlen < 0` → EINVAL. getsockopt: reading `*optlen` faults → EFAULT;
//!    `*optlen < 0` → EINVAL. Both come before the capability check, even for the unprivileged.
//! 3. No `CAP_NET_ADMIN` in the user namespace that owns the socket's network namespace →
//!    EPERM, before anything touches `optval` (spec §2.0). The kernel's `ns_capable` walk is
//!    reproduced (see [`Caller::net_admin`]); a bare `CapEff` bit is not enough — a process
//!    in a child user namespace has a full `CapEff` but no power over its parent's netns.
//! 4. Then the handler, which sees `optval` already copied in.
//!
//! # Known differences from the kernel
//!
//! * `optval` is copied in whole (`optlen` bytes) before the handler runs, and a fault there is
//!   EFAULT. The kernel checks some lengths first, so a caller whose buffer is partly unmapped
//!   *and* whose length is wrong gets EFAULT here where the kernel says EINVAL (e.g. GET_INFO
//!   with optlen 83 and an unmapped buffer). Correct callers cannot tell the difference.
//! * `optlen` above [`MAX_OPTLEN`] is answered ENOMEM without reading (the kernel cannot
//!   allocate more than 512 MiB for any of these tables either).
//! * The caller's memory is accessed by pid (`process_vm_readv`/`writev`). ID_VALID is checked
//!   after the reads and again right before the writes; a trapped task cannot exit unless it is
//!   SIGKILLed, and its pid would have to be reaped and reused within that window.
//! * Non-`x_tables` sockets are `CONTINUE`d; another thread of the caller could swap the fd
//!   for an `AF_INET` socket in between, reaching the real x_tables. The kernel still checks
//!   that caller's `CAP_NET_ADMIN` then, so this gives nobody new powers.

mod creds;
mod exec;
mod passthrough;
mod service;

use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

pub use exec::{exec, serve_listener, Ended, Exec, Outcome, Remote, Rescue, Spawned};
pub use passthrough::{KernelContinue, PassThrough};

/// Largest `optlen` the service copies in; larger requests are answered ENOMEM.
/// 512 MiB is the kernel's own cap on a table (`XT_MAX_TABLE_SIZE`) plus the largest header.
pub const MAX_OPTLEN: u32 = 512 * 1024 * 1024 + 96;

/// A Linux errno to answer a trapped call with (1..=4095). Unlike
/// [`bpfilter_core::error::Errno`] it holds any value, so the kernel's own answers can be
/// passed through unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(i32);

impl Errno {
    /// Operation not permitted.
    pub const EPERM: Errno = Errno(libc::EPERM);
    /// No such file or directory (unknown table).
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    /// I/O error.
    pub const EIO: Errno = Errno(libc::EIO);
    /// Try again.
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    /// Out of memory.
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    /// Bad address.
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    /// Invalid argument.
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    /// Function not implemented.
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    /// Protocol not available.
    pub const ENOPROTOOPT: Errno = Errno(libc::ENOPROTOOPT);

    /// An errno from its number, if it is in the kernel's range 1..=4095.
    pub fn new(code: i32) -> Option<Errno> {
        (1..=4095).contains(&code).then_some(Errno(code))
    }

    /// The positive errno number.
    pub fn code(self) -> i32 {
        self.0
    }

    /// The errno of an `io::Error` from a syscall (EIO if it carries none).
    pub fn from_io(e: &io::Error) -> Errno {
        e.raw_os_error().and_then(Errno::new).unwrap_or(Errno::EIO)
    }
}

impl From<bpfilter_core::error::Errno> for Errno {
    fn from(e: bpfilter_core::error::Errno) -> Self {
        Errno(e.code())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match bpfilter_core::error::Errno::from_code(self.0) {
            Some(known) => write!(f, "{known}"),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// Identity of a namespace: `(st_dev, st_ino)` of its nsfs file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NsId {
    /// `st_dev` of the nsfs inode.
    pub dev: u64,
    /// `st_ino`: the number shown in `/proc/PID/ns/*` links.
    pub ino: u64,
}

/// The trapped thread's credentials, as the daemon sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Effective uid (in the daemon's user namespace), from `/proc/TID/status`.
    pub euid: u32,
    /// Effective capability set (`CapEff`), relative to the caller's own user namespace.
    pub cap_eff: u64,
    /// The caller's user namespace.
    pub userns: NsId,
    /// Whether the caller has `CAP_NET_ADMIN` over the socket's network namespace: the kernel's
    /// `ns_capable(sock_net(sk)->user_ns, CAP_NET_ADMIN)`. Yes if the caller lives in the user
    /// namespace owning the netns and `CapEff` has bit 12; yes if that namespace descends from
    /// a child of the caller's user namespace created by the caller's euid (an owner has every
    /// capability there); no otherwise — in particular for a caller in a *child* user namespace,
    /// whatever its `CapEff`.
    pub net_admin: bool,
}

/// A trapped call before the service looked into the caller (for
/// [`SockoptHandler::continue_to_kernel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The trapped thread's id.
    pub pid: u32,
    /// The socket fd number in the caller.
    pub fd: i32,
    /// setsockopt (`true`) or getsockopt.
    pub is_set: bool,
    /// The option number (64..=67).
    pub optname: i32,
    /// `optval` address in the caller.
    pub optval: u64,
    /// The raw `optlen` argument: the length for set, the address of `*optlen` for get.
    pub optlen_arg: u64,
}

/// A fully inspected trapped call: the kernel bpfilter helper's request.
#[derive(Debug)]
pub struct Request {
    /// The seccomp notification id.
    pub id: u64,
    /// The trapped thread's id (in the daemon's pid namespace).
    pub pid: u32,
    /// The socket fd number in the caller.
    pub fd: i32,
    /// setsockopt (`true`) or getsockopt.
    pub is_set: bool,
    /// The option number: 64/65 for set, 64..=67 for get.
    pub optname: i32,
    /// `optval` address in the caller.
    pub optval: u64,
    /// The length: the set argument, or `*optlen` as read from the caller for get.
    pub optlen: u32,
    /// For get: the address of `*optlen` in the caller.
    pub optlen_ptr: Option<u64>,
    /// The socket's address family (`AF_INET`, or `AF_INET6` for a non-raw IPv6 socket, which
    /// the kernel also routes to IPv4 x_tables at `SOL_IP`).
    pub family: i32,
    /// The network namespace of the caller's socket (where the rules live).
    pub netns: OwnedFd,
    /// Identity of [`Request::netns`].
    pub netns_id: NsId,
    /// The caller's credentials.
    pub caller: Caller,
}

/// What happens to a trapped call's `optval` after a successful set, beyond the return value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetReply {
    /// Writes into the caller's memory, in order (e.g. SET_REPLACE's old counters, written
    /// through the `counters` pointer inside `ipt_replace`).
    pub side_writes: Vec<SideWrite>,
}

/// A write into the caller's memory that goes with a set's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideWrite {
    /// Address in the caller.
    pub addr: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `true`: a fault is ignored and the call still succeeds (the kernel does this for the
    /// old counters of SET_REPLACE, spec §2.7); `false`: a fault answers EFAULT.
    pub ignore_fault: bool,
}

/// Answers trapped `IPT_SO_*` calls. The service has already copied `optval` in, checked the
/// caller's `CAP_NET_ADMIN` and the option range; the handler implements the option itself.
pub trait SockoptHandler {
    /// Return `true` to let the kernel run this call itself (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`,
    /// the kernel does its own checks). Asked before the caller is inspected.
    fn continue_to_kernel(&mut self, call: &Call) -> bool {
        let _ = call;
        false
    }

    /// The IPv4 tables that exist in network namespace `netns`, for a trapped open of
    /// `/proc/net/ip_tables_names` (what `iptables-save` without `-t` reads). `None` lets the
    /// kernel open its own file (the default: the kernel's tables are the truth).
    fn table_names(&mut self, netns: BorrowedFd<'_>) -> Option<Vec<String>> {
        let _ = netns;
        None
    }

    /// `setsockopt(SOL_IP, optname, optval, optval.len())`. `Ok` makes the call return 0.
    fn set(&mut self, ctx: &Request, optname: i32, optval: &[u8]) -> Result<SetReply, Errno>;

    /// `getsockopt(SOL_IP, optname, optval, &optlen)`. `optval_in` is the caller's buffer as it
    /// was (`optlen` bytes). `Ok(bytes)` (at most `optlen` of them) is written to `optval`,
    /// `*optlen` is set to `bytes.len()`, and the call returns 0. Where the kernel writes
    /// nothing and leaves `*optlen` alone (a successful GET_REVISION_*), return `optval_in`.
    fn get(
        &mut self,
        ctx: &Request,
        optname: i32,
        optval_in: &[u8],
        optlen: u32,
    ) -> Result<Vec<u8>, Errno>;
}

impl<H: SockoptHandler + ?Sized> SockoptHandler for &mut H {
    fn continue_to_kernel(&mut self, call: &Call) -> bool {
        (**self).continue_to_kernel(call)
    }
    fn table_names(&mut self, netns: BorrowedFd<'_>) -> Option<Vec<String>> {
        (**self).table_names(netns)
    }
    fn set(&mut self, ctx: &Request, optname: i32, optval: &[u8]) -> Result<SetReply, Errno> {
        (**self).set(ctx, optname, optval)
    }
    fn get(
        &mut self,
        ctx: &Request,
        optname: i32,
        optval_in: &[u8],
        optlen: u32,
    ) -> Result<Vec<u8>, Errno> {
        (**self).get(ctx, optname, optval_in, optlen)
    }
}

/// How one trapped call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// The call returned this value (always 0 for IPT_SO_*).
    Returned(i64),
    /// The call failed with this errno.
    Failed(Errno),
    /// Handed back to the kernel (`CONTINUE`).
    Continued,
    /// The caller went away (killed) before it could be answered.
    Vanished,
}

/// One trapped call, for statistics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// The trapped thread.
    pub pid: u32,
    /// setsockopt or getsockopt.
    pub is_set: bool,
    /// The low 32 bits of the option argument.
    pub optname: i32,
    /// The length the call carried (`*optlen` for get), when it was read.
    pub optlen: Option<u32>,
    /// The answer.
    pub result: CallResult,
    /// From NOTIF_RECV returning to NOTIF_SEND returning.
    pub elapsed: Duration,
}

/// What the service did while a command ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Notifications received.
    pub trapped: u64,
    /// The first [`Stats::LOG_LIMIT`] calls, in order.
    pub calls: Vec<CallRecord>,
}

impl Stats {
    /// How many calls [`Stats::calls`] keeps.
    pub const LOG_LIMIT: usize = 4096;

    fn record(&mut self, r: CallRecord) {
        self.trapped = self.trapped.saturating_add(1);
        if self.calls.len() < Self::LOG_LIMIT {
            self.calls.push(r);
        }
    }
}

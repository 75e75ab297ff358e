//! One trapped call, from notification to answer (the order is the module doc's).

use std::io;
use std::os::fd::AsFd;
use std::time::Instant;

use super::{
    creds, Call, CallRecord, CallResult, Errno, NsId, Request, SockoptHandler, MAX_OPTLEN,
};
use crate::sys::procmem;
use crate::sys::seccomp::{
    Listener, Notif, Response, AUDIT_ARCH_X86_64, IPT_GET_MAX, IPT_GET_MIN, IPT_SET_MAX,
    IPT_SET_MIN, NR_GETSOCKOPT, NR_OPEN, NR_OPENAT, NR_SETSOCKOPT, SOL_IP,
};

/// The low 32 bits of a register: what the kernel's `int` parameters see.
fn low32(x: u64) -> u32 {
    (x & 0xffff_ffff) as u32
}

/// How a call ends, before it is sent.
enum Answer {
    Send(Response),
    /// The notification is no longer valid: nothing to send.
    Gone,
}

fn fail(e: Errno) -> Answer {
    Answer::Send(Response::Errno(e.code()))
}

/// Serve one notification; never fails (every problem becomes the call's answer). Opens
/// are not socket-option calls: they give no record.
pub(super) fn serve<H: SockoptHandler + ?Sized>(
    listener: &Listener,
    handler: &mut H,
    n: &Notif,
) -> Option<CallRecord> {
    if n.arch == AUDIT_ARCH_X86_64 && (n.nr == NR_OPEN || n.nr == NR_OPENAT) {
        if let Some(resp) = open_answer(listener, handler, n) {
            let _ = listener.respond(n.id, resp);
        }
        return None;
    }
    let start = Instant::now();
    let is_set = n.nr == NR_SETSOCKOPT;
    let optname = low32(n.args[2]) as i32;
    let mut optlen_seen = None;
    let answer = answer(listener, handler, n, &mut optlen_seen);
    let result = match answer {
        Answer::Gone => CallResult::Vanished,
        Answer::Send(resp) => match listener.respond(n.id, resp) {
            // ENOENT: the task was killed or its wait interrupted in the meantime.
            Err(_) => CallResult::Vanished,
            Ok(()) => match resp {
                Response::Value(v) => CallResult::Returned(v),
                Response::Errno(e) => CallResult::Failed(Errno::new(e).unwrap_or(Errno::EIO)),
                Response::Continue => CallResult::Continued,
            },
        },
    };
    Some(CallRecord {
        pid: n.pid,
        is_set,
        optname,
        optlen: optlen_seen,
        result,
        elapsed: start.elapsed(),
    })
}

fn is_ipt_call(n: &Notif) -> bool {
    if n.arch != AUDIT_ARCH_X86_64 || low32(n.args[1]) != SOL_IP {
        return false;
    }
    let opt = low32(n.args[2]);
    match n.nr {
        NR_SETSOCKOPT => (IPT_SET_MIN..IPT_SET_MAX).contains(&opt),
        NR_GETSOCKOPT => (IPT_GET_MIN..IPT_GET_MAX).contains(&opt),
        _ => false,
    }
}

fn answer<H: SockoptHandler + ?Sized>(
    listener: &Listener,
    handler: &mut H,
    n: &Notif,
    optlen_seen: &mut Option<u32>,
) -> Answer {
    // The filter only traps IPT_SO_* calls; anything else is the kernel's business.
    if !is_ipt_call(n) {
        return Answer::Send(Response::Continue);
    }
    let call = Call {
        pid: n.pid,
        fd: low32(n.args[0]) as i32,
        is_set: n.nr == NR_SETSOCKOPT,
        optname: low32(n.args[2]) as i32,
        optval: n.args[3],
        optlen_arg: n.args[4],
    };
    if handler.continue_to_kernel(&call) {
        return Answer::Send(Response::Continue);
    }

    // 1. The fd, as the kernel resolves it first (EBADF, ENOTSOCK).
    let Ok(pidfd) = procmem::pidfd_open(n.pid) else {
        return Answer::Gone;
    };
    let sock = match procmem::pidfd_getfd(pidfd.as_fd(), call.fd) {
        Ok(s) => s,
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => return fail(Errno::from_io(&e)),
        Err(_) if !listener.id_valid(n.id) => return Answer::Gone,
        Err(e) => return fail(Errno::from_io(&e)),
    };
    let family = match procmem::socket_domain_type(sock.as_fd()) {
        Ok((libc::AF_INET, _)) => libc::AF_INET,
        Ok((libc::AF_INET6, ty)) if ty != libc::SOCK_RAW => libc::AF_INET6,
        // Families that never reach x_tables at SOL_IP: their own answer is the kernel's.
        Ok(_) => return Answer::Send(Response::Continue),
        Err(e) => return fail(Errno::from_io(&e)),
    };

    // 2. optlen (before the capability check, as in the kernel).
    let (optlen, optlen_ptr) = if call.is_set {
        let len = low32(call.optlen_arg) as i32;
        (len, None)
    } else {
        match procmem::read_mem(n.pid, call.optlen_arg, 4) {
            Ok(b) => {
                let mut w = [0u8; 4];
                w.copy_from_slice(&b);
                (i32::from_ne_bytes(w), Some(call.optlen_arg))
            }
            Err(e) => return fail(Errno::from_io(&e)),
        }
    };
    let Ok(optlen) = u32::try_from(optlen) else {
        return fail(Errno::EINVAL);
    };
    *optlen_seen = Some(optlen);

    // 3. CAP_NET_ADMIN over the socket's netns.
    let netns = match procmem::socket_netns(sock.as_fd()) {
        Ok(ns) => ns,
        Err(e) => return fail(Errno::from_io(&e)),
    };
    drop(sock);
    let netns_id = match procmem::fd_dev_ino(netns.as_fd()) {
        Ok((dev, ino)) => NsId { dev, ino },
        Err(e) => return fail(Errno::from_io(&e)),
    };
    let caller = match creds::caller(n.pid, netns.as_fd()) {
        Ok(c) => c,
        Err(_) if !listener.id_valid(n.id) => return Answer::Gone,
        Err(e) => return fail(Errno::from_io(&e)),
    };
    if !caller.net_admin {
        return fail(Errno::EPERM);
    }

    // 4. Copy optval in, then make sure it was the trapped task's memory we read.
    if optlen > MAX_OPTLEN {
        return fail(Errno::ENOMEM);
    }
    let optval = match procmem::read_mem(n.pid, call.optval, optlen as usize) {
        Ok(b) => b,
        Err(_) if !listener.id_valid(n.id) => return Answer::Gone,
        Err(e) => return fail(Errno::from_io(&e)),
    };
    if !listener.id_valid(n.id) {
        return Answer::Gone;
    }

    let req = Request {
        id: n.id,
        pid: n.pid,
        fd: call.fd,
        is_set: call.is_set,
        optname: call.optname,
        optval: call.optval,
        optlen,
        optlen_ptr,
        family,
        netns,
        netns_id,
        caller,
    };
    if req.is_set {
        match handler.set(&req, req.optname, &optval) {
            Err(e) => fail(e),
            Ok(reply) => {
                if !listener.id_valid(n.id) {
                    return Answer::Gone;
                }
                for w in &reply.side_writes {
                    if let Err(e) = procmem::write_mem(n.pid, w.addr, &w.bytes) {
                        if !w.ignore_fault {
                            return fail(Errno::from_io(&e));
                        }
                    }
                }
                Answer::Send(Response::Value(0))
            }
        }
    } else {
        match handler.get(&req, req.optname, &optval, optlen) {
            Err(e) => fail(e),
            Ok(out) => {
                // More than the caller's buffer would be a handler bug; the kernel never
                // writes past *optlen.
                let Ok(out_len) = u32::try_from(out.len()) else {
                    return fail(Errno::EINVAL);
                };
                if out_len > optlen {
                    return fail(Errno::EINVAL);
                }
                if !listener.id_valid(n.id) {
                    return Answer::Gone;
                }
                if let Err(e) = write_get_reply(n.pid, &req, &out, out_len) {
                    return fail(Errno::from_io(&e));
                }
                Answer::Send(Response::Value(0))
            }
        }
    }
}

/// The buffer first, then `*optlen` (the kernel's `put_user(len, optlen)` comes last and is
/// skipped when the copy failed).
fn write_get_reply(pid: u32, req: &Request, out: &[u8], out_len: u32) -> io::Result<()> {
    procmem::write_mem(pid, req.optval, out)?;
    if let Some(p) = req.optlen_ptr {
        procmem::write_mem(pid, p, &out_len.to_ne_bytes())?;
    }
    Ok(())
}

/// The paths `iptables-save` (and anything else) may open to list the IPv4 tables.
const TABLE_NAMES_PATHS: [&[u8]; 3] = [
    b"/proc/net/ip_tables_names",
    b"/proc/self/net/ip_tables_names",
    b"/proc/thread-self/net/ip_tables_names",
];

/// The longest of [`TABLE_NAMES_PATHS`] plus its NUL.
const PATH_PROBE: usize = 38;

/// A trapped `open`/`openat`: `/proc/net/ip_tables_names` for reading gets the tables of the
/// caller's network namespace as the service sees them (plus any the kernel itself has there);
/// every other open runs in the kernel unchanged. `None`: nothing left to send (the answer
/// went with the descriptor, or the task is gone).
fn open_answer<H: SockoptHandler + ?Sized>(
    listener: &Listener,
    handler: &mut H,
    n: &Notif,
) -> Option<Response> {
    let (path_arg, flags) = if n.nr == NR_OPEN {
        (n.args[0], low32(n.args[1]))
    } else {
        (n.args[1], low32(n.args[2]))
    };
    // Only read-only opens of the exact path: anything else is the kernel's answer.
    if flags & (libc::O_ACCMODE as u32) != libc::O_RDONLY as u32 {
        return Some(Response::Continue);
    }
    let Some(path) = read_short_path(n.pid, path_arg) else {
        return Some(Response::Continue);
    };
    if !TABLE_NAMES_PATHS.contains(&path.as_slice()) {
        return Some(Response::Continue);
    }
    let Ok(netns) = crate::sys::netns::NetNs::of_pid(n.pid) else {
        return None;
    };
    let Some(ours) = handler.table_names(netns.as_fd()) else {
        return Some(Response::Continue);
    };
    // The kernel's own tables in that namespace (its file exists once ip_tables is loaded).
    let kernel = std::fs::read_to_string(format!("/proc/{}/net/ip_tables_names", n.pid));
    if kernel.is_err() && ours.is_empty() {
        return Some(Response::Errno(Errno::ENOENT.code()));
    }
    let mut names = ours;
    for k in kernel.unwrap_or_default().lines() {
        if !k.is_empty() && !names.iter().any(|o| o == k) {
            names.push(k.to_string());
        }
    }
    let text: String = names.iter().map(|t| format!("{t}\n")).collect();
    let fd = match procmem::readonly_memfd("ip_tables_names", text.as_bytes()) {
        Ok(fd) => fd,
        Err(e) => return Some(Response::Errno(Errno::from_io(&e).code())),
    };
    if !listener.id_valid(n.id) {
        return None;
    }
    let cloexec = flags & (libc::O_CLOEXEC as u32) != 0;
    match listener.add_fd_and_return(n.id, fd.as_fd(), cloexec) {
        // ADDFD with SEND answered the call already.
        Ok(_) => None,
        Err(_) if !listener.id_valid(n.id) => None,
        Err(e) => Some(Response::Errno(Errno::from_io(&e).code())),
    }
}

/// The NUL-terminated string at `addr` in `pid`, if it is at most [`PATH_PROBE`] bytes long
/// (longer ones cannot be one of ours). Reads up to the end of the page first, so a short
/// string just before an unmapped page is still read.
fn read_short_path(pid: u32, addr: u64) -> Option<Vec<u8>> {
    let to_page_end = usize::try_from(4096 - (addr % 4096)).ok()?;
    let first = to_page_end.min(PATH_PROBE);
    let mut b = procmem::read_mem(pid, addr, first).ok()?;
    if !b.contains(&0) && first < PATH_PROBE {
        b.extend(procmem::read_mem(pid, addr.checked_add(first as u64)?, PATH_PROBE - first).ok()?);
    }
    let end = b.iter().position(|&c| c == 0)?;
    b.truncate(end);
    Some(b)
}

//! The trapped caller, seen from outside: its memory, its file descriptors, its sockets'
//! network namespaces and user namespaces; and doing its socket call in its place.
//!
//! Memory access mirrors the kernel's `copy_from_user` / `copy_to_user`: a range is either
//! transferred completely or the request fails with **EFAULT** (a short transfer counts as a
//! fault), so a service can answer exactly as the kernel would have after a failed copy.
//!
//! The raw socket-option and namespace helpers at the end are minimal private versions of what
//! `sys::ipt` / `sys::netns` provide in another branch; they can be replaced once merged.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn efault() -> io::Error {
    io::Error::from_raw_os_error(libc::EFAULT)
}

fn remote(addr: u64, len: usize) -> io::Result<libc::iovec> {
    // Reject ranges that wrap: the kernel's access_ok() fails them with EFAULT too.
    let len64 = u64::try_from(len).map_err(|_| efault())?;
    addr.checked_add(len64).ok_or_else(efault)?;
    Ok(libc::iovec {
        iov_base: usize::try_from(addr).map_err(|_| efault())? as *mut libc::c_void,
        iov_len: len,
    })
}

/// Read `len` bytes at `addr` in process (thread) `pid` with `process_vm_readv`.
/// Any fault, or a transfer that stops short, is `EFAULT`; ESRCH if the process is gone.
pub fn read_mem(pid: u32, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0usize;
    // process_vm_readv copies page by page and may return a partial count; a retry of the rest
    // then reports the fault itself (or 0).
    while done < len {
        let rest = len - done;
        let local = libc::iovec {
            // SAFETY: `done < len == buf.len()`, so the pointer stays inside `buf`.
            iov_base: unsafe { buf.as_mut_ptr().add(done) }.cast(),
            iov_len: rest,
        };
        let rem = remote(addr.wrapping_add(done as u64), rest)?;
        let pid =
            libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        // SAFETY: `local` points at `rest` writable bytes of `buf`; the remote iovec is only
        // interpreted in the other process's address space by the kernel.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &rem, 1, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EFAULT) {
                efault()
            } else {
                e
            });
        }
        if n == 0 {
            return Err(efault());
        }
        done += n as usize;
    }
    Ok(buf)
}

/// Write `data` at `addr` in process (thread) `pid` with `process_vm_writev`.
/// Any fault or short transfer is `EFAULT` (bytes before the fault may have been written, as
/// with the kernel's `copy_to_user`).
pub fn write_mem(pid: u32, addr: u64, data: &[u8]) -> io::Result<()> {
    let mut done = 0usize;
    while done < data.len() {
        let rest = data.len() - done;
        let local = libc::iovec {
            // SAFETY: `done < data.len()`; the kernel only reads through this pointer.
            iov_base: unsafe { data.as_ptr().add(done) }.cast_mut().cast(),
            iov_len: rest,
        };
        let rem = remote(addr.wrapping_add(done as u64), rest)?;
        let pid =
            libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
        // SAFETY: `local` points at `rest` readable bytes of `data`.
        let n = unsafe { libc::process_vm_writev(pid, &local, 1, &rem, 1, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EFAULT) {
                efault()
            } else {
                e
            });
        }
        if n == 0 {
            return Err(efault());
        }
        done += n as usize;
    }
    Ok(())
}

/// `PIDFD_THREAD` (6.9+): a pidfd for a thread that is not a thread-group leader.
const PIDFD_THREAD: libc::c_uint = libc::O_EXCL as libc::c_uint;

/// A pidfd for the thread `tid` (the id a seccomp notification reports): `PIDFD_THREAD` first,
/// a plain pidfd (thread-group leaders only) on kernels without it.
pub fn pidfd_open(tid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(tid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    for flags in [PIDFD_THREAD, 0] {
        // SAFETY: pidfd_open takes (pid, flags) and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) };
        if fd >= 0 {
            // SAFETY: a fresh fd owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) || flags == 0 {
            return Err(e);
        }
    }
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// `pidfd_getfd`: a duplicate of the target's file descriptor `fd` (same open file).
/// EBADF if the target has no such fd.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_getfd takes (pidfd, targetfd, flags=0) and returns a new fd or -1.
    let new = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else (O_CLOEXEC is set by the kernel).
    Ok(unsafe { OwnedFd::from_raw_fd(new as RawFd) })
}

fn getsockopt_int(fd: BorrowedFd<'_>, level: i32, name: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for an int-sized option.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

/// `(SO_DOMAIN, SO_TYPE)` of a socket; ENOTSOCK for anything else.
pub fn socket_domain_type(fd: BorrowedFd<'_>) -> io::Result<(i32, i32)> {
    Ok((
        getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)?,
        getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)?,
    ))
}

/// `SIOCGSKNS`: the network namespace the socket belongs to (`sock_net(sk)`, which is what the
/// kernel's IPT_SO_* handlers use — not necessarily the caller's current one).
pub fn socket_netns(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    const SIOCGSKNS: libc::c_ulong = 0x894C;
    // SAFETY: SIOCGSKNS takes no argument and returns a new fd or -1.
    let ns = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSKNS) };
    if ns < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(ns) })
}

/// `(st_dev, st_ino)` of an fd: a namespace's identity.
pub fn fd_dev_ino(fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills `st` on success.
    if unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev, st.st_ino))
}

fn ns_ioctl_fd(fd: BorrowedFd<'_>, req: libc::Ioctl) -> io::Result<OwnedFd> {
    // SAFETY: NS_GET_USERNS / NS_GET_PARENT take no argument and return a new fd or -1.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// `NS_GET_USERNS`: the user namespace that owns namespace `ns`.
pub fn ns_owner_userns(ns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    ns_ioctl_fd(ns, libc::NS_GET_USERNS)
}

/// `NS_GET_PARENT` of a user namespace. EPERM at the top of what this process can see.
pub fn userns_parent(userns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    ns_ioctl_fd(userns, libc::NS_GET_PARENT)
}

/// `NS_GET_OWNER_UID` of a user namespace, as a uid in this process's user namespace.
pub fn userns_owner_uid(userns: BorrowedFd<'_>) -> io::Result<u32> {
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t.
    let r = unsafe {
        libc::ioctl(
            userns.as_raw_fd(),
            libc::NS_GET_OWNER_UID,
            &mut uid as *mut libc::uid_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}

/// `kill(-pgid, sig)`: signal a whole process group (used for a command started in its own
/// group, on timeout).
pub fn signal_process_group(pgid: u32, sig: i32) -> io::Result<()> {
    let pgid =
        libc::pid_t::try_from(pgid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    if pgid <= 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: kill(2) with a negative pid signals that process group only.
    if unsafe { libc::kill(-pgid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A read-only descriptor of an anonymous in-memory file holding `bytes` (a sealed memfd,
/// reopened `O_RDONLY`), positioned at the start: what a trapped `open` gets in place of a
/// file only the kernel's x_tables could fill.
pub fn readonly_memfd(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
    let cname =
        std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: memfd_create with a NUL-terminated name; the result is owned below.
    let fd =
        unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
    let rw = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut f = std::fs::File::from(rw);
    std::io::Write::write_all(&mut f, bytes)?;
    // SAFETY: fcntl on an fd owned by `f`.
    let rc = unsafe {
        libc::fcntl(
            f.as_raw_fd(),
            libc::F_ADD_SEALS,
            libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let ro = std::fs::File::open(format!("/proc/self/fd/{}", f.as_raw_fd()))?;
    Ok(ro.into())
}

/// A socket created inside network namespace `netns` (a socket keeps the namespace it was
/// created in, so it can then be used from any thread). The `setns` happens in a short-lived
/// helper thread so this process's own threads never change namespace.
pub fn socket_in_netns(
    netns: BorrowedFd<'_>,
    domain: i32,
    ty: i32,
    proto: i32,
) -> io::Result<OwnedFd> {
    let ns = netns.try_clone_to_owned()?;
    std::thread::scope(|s| {
        s.spawn(move || -> io::Result<OwnedFd> {
            // SAFETY: setns affects only this helper thread, which exits right after.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: plain socket(2).
            let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a fresh fd owned by nobody else.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("netns helper thread panicked")))
    })
}

/// `setsockopt(fd, level, name, optval, optval.len())`.
pub fn raw_setsockopt(fd: BorrowedFd<'_>, level: i32, name: i32, optval: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(optval.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `optval` is readable for `len` bytes.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, optval.as_ptr().cast(), len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getsockopt(fd, level, name, buf, &len)` with `len = buf.len()` in; returns `len` out.
pub fn raw_getsockopt(
    fd: BorrowedFd<'_>,
    level: i32,
    name: i32,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `buf` is writable for `len` bytes and `len` is a valid socklen_t.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn me() -> u32 {
        std::process::id()
    }

    #[test]
    fn read_and_write_own_memory() {
        let mut target = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let addr = target.as_ptr() as u64;
        assert_eq!(read_mem(me(), addr, 8).unwrap(), target.to_vec());
        write_mem(me(), addr + 2, &[9, 9]).unwrap();
        assert_eq!(std::hint::black_box(&mut target)[..4], [1, 2, 9, 9]);
        assert!(read_mem(me(), 0, 0).unwrap().is_empty());
    }

    #[test]
    fn faults_are_efault() {
        let code = |r: io::Result<Vec<u8>>| r.unwrap_err().raw_os_error();
        assert_eq!(code(read_mem(me(), 8, 4)), Some(libc::EFAULT));
        assert_eq!(code(read_mem(me(), u64::MAX - 1, 4)), Some(libc::EFAULT));
        assert_eq!(
            write_mem(me(), 8, &[0]).unwrap_err().raw_os_error(),
            Some(libc::EFAULT)
        );
    }

    #[test]
    fn a_read_running_into_an_unmapped_page_is_efault_not_short() {
        // Two pages, the second made inaccessible: a read across the boundary must fail whole.
        let page = 4096usize;
        // SAFETY: anonymous private mapping; unmapped at the end of the test.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: the second page lies inside the mapping.
        assert_eq!(
            unsafe { libc::mprotect(p.cast::<u8>().add(page).cast(), page, libc::PROT_NONE) },
            0
        );
        let base = p as u64;
        assert_eq!(read_mem(me(), base + page as u64 - 8, 8).unwrap().len(), 8);
        assert_eq!(
            read_mem(me(), base + page as u64 - 8, 16)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EFAULT)
        );
        assert_eq!(
            write_mem(me(), base + page as u64 - 8, &[0; 16])
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EFAULT)
        );
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(p, 2 * page) };
    }
}

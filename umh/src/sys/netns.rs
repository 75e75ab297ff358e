//! Network namespaces.
//!
//! A network namespace lives as long as something references it: a task in it, an open
//! `/proc/<pid>/ns/net` file, or a socket created in it. The namespace is a property of each
//! *thread* (`unshare(CLONE_NEWNET)` and `setns` act on the calling thread only), so the helpers
//! here never move the caller's thread: they run the work on a new thread that enters the
//! namespace and then exits. When that thread is gone and nothing else holds the namespace, the
//! kernel destroys it, together with its x_tables, interfaces and routes. That is what makes a
//! test that panics halfway safe: its namespace vanishes with its thread.
//!
//! ```text
//! caller thread ──spawn──> worker: unshare(CLONE_NEWNET) / setns(fd) ── f() ── exit
//!      │                                                                 │
//!      └────────────────────────── join (panic re-raised) <──────────────┘
//! ```

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::thread;

/// `unshare(CLONE_NEWNET)` for the calling thread.
fn unshare_net() -> io::Result<()> {
    // SAFETY: unshare(2) takes a flag word and reads or writes no memory of ours.
    let ret = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setns(fd, CLONE_NEWNET)` for the calling thread.
fn setns_net(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns(2) takes an fd that `fd` keeps open for the duration of the call and a flag
    // word; it reads or writes no memory of ours.
    let ret = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Run `f` on a new thread after `enter` has moved that thread into a namespace. A panic in `f`
/// is re-raised in the caller after the thread (and with it its hold on the namespace) is gone.
fn on_thread<R: Send>(
    enter: impl FnOnce() -> io::Result<()> + Send,
    f: impl FnOnce() -> R + Send,
) -> io::Result<R> {
    thread::scope(|s| {
        let worker = thread::Builder::new()
            .name("bpfilter-netns".into())
            .spawn_scoped(s, move || {
                enter()?;
                Ok(f())
            })?;
        match worker.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

/// Run `f` in a fresh, empty network namespace that is destroyed afterwards.
///
/// `f` runs on its own thread, which unshares its network namespace first; threads `f` spawns
/// inherit it. The namespace goes away when the thread exits, unless `f` let something escape
/// that holds it (a socket created inside, or a [`NetNs`] from [`NetNs::current`]): then it
/// lives exactly as long as that. A panic in `f` is propagated to the caller.
/// Needs `CAP_SYS_ADMIN`.
pub fn in_new_netns<R: Send>(f: impl FnOnce() -> R + Send) -> io::Result<R> {
    on_thread(unshare_net, f)
}

/// Make `cmd` run in a fresh network namespace of its own (like `unshare -n CMD`): the child
/// unshares between `fork` and `exec`, so the namespace dies with the child's last process.
pub fn command_in_new_netns(cmd: &mut Command) -> &mut Command {
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
    // work is allowed; it makes one syscall and builds an `io::Error` from errno, which does
    // not allocate.
    unsafe { cmd.pre_exec(unshare_net) }
}

/// A handle to a network namespace, held open by a file descriptor of its `ns/net` file.
///
/// The namespace lives at least as long as the handle. Use it to run code ([`NetNs::run`]) or
/// commands ([`NetNs::command`]) in the same namespace more than once.
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
}

impl NetNs {
    /// A fresh, empty network namespace, kept alive only by the returned handle.
    pub fn new() -> io::Result<NetNs> {
        in_new_netns(NetNs::current)?
    }

    /// The calling thread's network namespace.
    pub fn current() -> io::Result<NetNs> {
        // thread-self, not self: the namespace is per thread, and this may run on a worker
        // thread that has unshared.
        Ok(NetNs {
            fd: File::open("/proc/thread-self/ns/net")?.into(),
        })
    }

    /// The network namespace of process `pid` (the daemon serves its caller's namespace).
    pub fn of_pid(pid: u32) -> io::Result<NetNs> {
        Ok(NetNs {
            fd: File::open(format!("/proc/{pid}/ns/net"))?.into(),
        })
    }

    /// Wrap an fd that refers to a network namespace (e.g. from `/proc/<pid>/ns/net` or a
    /// bind mount under `/run/netns`). Not checked here: `setns` rejects other fds later.
    pub fn from_fd(fd: OwnedFd) -> NetNs {
        NetNs { fd }
    }

    /// Run `f` on a new thread that has entered this namespace; a panic in `f` is propagated.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> io::Result<R> {
        on_thread(|| setns_net(self.fd.as_fd()), f)
    }

    /// Make `cmd` run in this namespace (the child calls `setns` between `fork` and `exec`).
    /// The command keeps its own copy of the fd, so it may outlive `self`.
    pub fn command<'c>(&self, cmd: &'c mut Command) -> io::Result<&'c mut Command> {
        let fd = self.fd.try_clone()?;
        // SAFETY: the closure runs in the forked child before exec; it makes one syscall on an
        // fd owned by the closure (open in the child too) and builds an `io::Error` from errno,
        // which does not allocate.
        Ok(unsafe { cmd.pre_exec(move || setns_net(fd.as_fd())) })
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Set interface `name` up in the calling thread's network namespace (`ip link set NAME up`).
/// A fresh namespace has only `lo`, and it is down: nothing reaches 127.0.0.1 until this runs.
pub fn link_up(name: &str) -> io::Result<()> {
    let sock = Socket::new(libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    // SAFETY: ifreq is plain old data (byte arrays and integers); all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.as_bytes();
    // Keep one NUL at the end: the kernel reads at most IFNAMSIZ bytes and forces the last one
    // to NUL itself, but a too-long name would silently name another interface.
    if bytes.len() >= req.ifr_name.len() || bytes.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (dst, &src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = libc::c_char::from_ne_bytes([src]);
    }
    // SAFETY: `req` is a valid, writable ifreq for the duration of the call; SIOCGIFFLAGS
    // writes only `ifr_flags` inside it.
    if unsafe { libc::ioctl(sock.raw(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFFLAGS just initialised the `ifru_flags` member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    let up = libc::c_short::try_from(libc::IFF_UP).unwrap_or(1);
    req.ifr_ifru.ifru_flags = flags | up;
    // SAFETY: `req` is a valid ifreq for the duration of the call; SIOCSIFFLAGS only reads it.
    if unsafe { libc::ioctl(sock.raw(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A socket fd, closed on drop.
#[derive(Debug)]
pub(crate) struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// `socket(domain, ty | SOCK_CLOEXEC, protocol)`.
    pub(crate) fn new(domain: i32, ty: i32, protocol: i32) -> io::Result<Socket> {
        // SAFETY: socket(2) takes integers and returns a new fd or -1; no memory is involved.
        let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2), is open, and is owned by nobody else.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(Socket { fd })
    }

    /// The raw fd, valid while `self` lives.
    pub(crate) fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly on any error")]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// The inode of a namespace file identifies the namespace.
    fn ns_inode(ns: &NetNs) -> u64 {
        File::from(ns.fd.try_clone().unwrap())
            .metadata()
            .unwrap()
            .ino()
    }

    #[test]
    fn new_netns_differs_from_callers_and_from_each_other() {
        let here = ns_inode(&NetNs::current().unwrap());
        let a = in_new_netns(|| ns_inode(&NetNs::current().unwrap())).unwrap();
        let b = in_new_netns(|| ns_inode(&NetNs::current().unwrap())).unwrap();
        assert_ne!(here, a);
        assert_ne!(a, b);
        // The caller's own thread never moved.
        assert_eq!(here, ns_inode(&NetNs::current().unwrap()));
    }

    #[test]
    fn run_enters_the_held_namespace_every_time() {
        let ns = NetNs::new().unwrap();
        let want = ns_inode(&ns);
        for _ in 0..2 {
            assert_eq!(
                ns.run(|| ns_inode(&NetNs::current().unwrap())).unwrap(),
                want
            );
        }
    }

    #[test]
    fn panic_in_closure_reaches_the_caller() {
        let r = std::panic::catch_unwind(|| in_new_netns(|| panic!("boom")));
        let payload = r.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[test]
    fn commands_run_in_other_namespaces() {
        let here = std::fs::read_link("/proc/self/ns/net").unwrap();
        let link = |cmd: &mut Command| {
            let out = cmd
                .args(["-c", "readlink /proc/self/ns/net"])
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        let fresh = link(command_in_new_netns(&mut Command::new("sh")));
        assert_ne!(fresh, here.to_str().unwrap());
        let ns = NetNs::new().unwrap();
        let held = format!("net:[{}]", ns_inode(&ns));
        assert_eq!(link(ns.command(&mut Command::new("sh")).unwrap()), held);
    }

    #[test]
    fn loopback_comes_up() {
        fn echo() -> io::Result<usize> {
            let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
            s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
            s.send_to(b"x", s.local_addr()?)?;
            s.recv(&mut [0u8; 1])
        }
        in_new_netns(|| {
            assert!(echo().is_err(), "lo is down in a fresh namespace");
            link_up("lo").unwrap();
            assert_eq!(echo().unwrap(), 1);
        })
        .unwrap();
        assert!(in_new_netns(|| link_up("nosuchif0")).unwrap().is_err());
    }
}

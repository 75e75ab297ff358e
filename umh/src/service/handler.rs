//! [`Service`]: the trapped `IPT_SO_*` calls of [`crate::intercept`] answered from
//! [`NsTables`], one set of tables (and one [`Enforcer`]) per network namespace of the
//! caller's socket.
//!
//! Namespaces are keyed by their cookie (`SO_NETNS_COOKIE`), which the kernel never reuses,
//! unlike the nsfs inode number.

use super::{replace_counters_ptr, Enforcer, NsTables};
use crate::intercept::{Errno as IErrno, Request, SetReply, SideWrite, SockoptHandler};
use crate::journal::{log, Dbg, Level};
use crate::sys::procmem::{raw_getsockopt, socket_in_netns};
use bpfilter_core::sockopt::{dispatch, Opt};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

/// `SO_NETNS_COOKIE` (Linux 5.14+).
const SO_NETNS_COOKIE: i32 = 71;

/// The cookie of the network namespace `netns` refers to.
pub fn netns_cookie(netns: BorrowedFd<'_>) -> io::Result<u64> {
    let s = socket_in_netns(netns, libc::AF_INET, libc::SOCK_DGRAM, 0)?;
    let mut buf = [0u8; 8];
    let n = raw_getsockopt(s.as_fd(), libc::SOL_SOCKET, SO_NETNS_COOKIE, &mut buf)?;
    if n != 8 {
        return Err(io::Error::other("SO_NETNS_COOKIE returned a short value"));
    }
    Ok(u64::from_le_bytes(buf))
}

/// Makes a namespace's tables (fresh, or loaded from saved state) and its enforcer the first
/// time a call from it arrives.
pub type EnforcerFactory =
    Box<dyn FnMut(&Request, u64) -> io::Result<(NsTables, Box<dyn Enforcer>)>>;

/// One namespace's state.
struct Ns {
    tables: NsTables,
    enforcer: Box<dyn Enforcer>,
}

/// Serves trapped calls; see the module docs.
pub struct Service {
    namespaces: HashMap<u64, Ns>,
    factory: EnforcerFactory,
    /// Log verbosity ([`Level::enabled`]): 0 errors and warnings, 1 info, 2 debug.
    pub verbosity: u8,
    /// Where the per-namespace lock files go (the state root), if processes share state.
    pub lock_root: Option<std::path::PathBuf>,
}

impl Service {
    /// A service that makes each namespace's enforcer with `factory`.
    pub fn new(factory: EnforcerFactory) -> Self {
        Service {
            namespaces: HashMap::new(),
            factory,
            verbosity: 1,
            lock_root: None,
        }
    }

    fn ns(&mut self, ctx: &Request, cookie: u64) -> Result<&mut Ns, IErrno> {
        // Another `bpfilter exec` serving this namespace saved newer state: start again from
        // it (tables and the pinned links it installed).
        if self
            .namespaces
            .get(&cookie)
            .is_some_and(|ns| ns.tables.stale())
        {
            self.namespaces.remove(&cookie);
        }
        if !self.namespaces.contains_key(&cookie) {
            let verbosity = self.verbosity;
            let (tables, enforcer) = (self.factory)(ctx, cookie).map_err(|e| {
                log(
                    Level::Err,
                    verbosity,
                    "cannot set up enforcement",
                    &[("ns", &cookie), ("pid", &ctx.pid), ("reason", &e)],
                );
                IErrno::from_io(&e)
            })?;
            self.namespaces.insert(cookie, Ns { tables, enforcer });
        }
        self.namespaces.get_mut(&cookie).ok_or(IErrno::EIO)
    }

    /// The tables of every namespace served so far, for inspection.
    pub fn namespaces(&mut self) -> impl Iterator<Item = (u64, &mut NsTables, &dyn Enforcer)> {
        self.namespaces
            .iter_mut()
            .map(|(k, ns)| (*k, &mut ns.tables, ns.enforcer.as_ref()))
    }

    fn call(
        &mut self,
        ctx: &Request,
        is_set: bool,
        optname: i32,
        optval: &[u8],
        optlen: usize,
    ) -> Result<Vec<u8>, IErrno> {
        let opt =
            dispatch(is_set, optname, ctx.caller.net_admin).map_err(|e| IErrno::from(e.errno()))?;
        let verbosity = self.verbosity;
        // The cookie takes a socket made in the caller's namespace: once per call.
        let cookie = netns_cookie(ctx.netns.as_fd()).map_err(|e| {
            log(
                Level::Err,
                verbosity,
                "cannot identify the caller's network namespace",
                &[("pid", &ctx.pid), ("reason", &e)],
            );
            IErrno::EIO
        })?;
        // One call at a time per namespace across processes: the state is read, checked and
        // written under the lock (a client gets EAGAIN from a stale num_counters, as from the
        // kernel, instead of a lost update).
        let _lock = match &self.lock_root {
            Some(root) => {
                let _ = std::fs::create_dir_all(root);
                Some(
                    crate::sys::lock::FileLock::exclusive(&root.join(format!("{cookie}.lock")))
                        .map_err(|e| IErrno::from_io(&e))?,
                )
            }
            None => None,
        };
        let ns = self.ns(ctx, cookie)?;
        // Every request starts with a name: the table's, or for GET_REVISION_* the extension's.
        let name =
            String::from_utf8_lossy(bpfilter_core::uapi::cstr(optval.get(..31).unwrap_or(&[])))
                .into_owned();
        let name_key = if matches!(opt, Opt::GetRevisionMatch | Opt::GetRevisionTarget) {
            "ext"
        } else {
            "table"
        };
        match ns.tables.call(opt, optval, optlen, ns.enforcer.as_mut()) {
            Ok(bytes) => {
                if opt == Opt::SetReplace {
                    // ipt_replace.num_entries (offset 36): the size of what is now enforced.
                    let entries = optval
                        .get(36..40)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map_or(0, u32::from_ne_bytes);
                    log(
                        Level::Info,
                        verbosity,
                        "replaced table",
                        &[
                            ("ns", &cookie),
                            ("pid", &ctx.pid),
                            ("table", &name),
                            ("entries", &entries),
                        ],
                    );
                } else {
                    log(
                        Level::Debug,
                        verbosity,
                        "call served",
                        &[
                            ("ns", &cookie),
                            ("pid", &ctx.pid),
                            ("op", &Dbg(opt)),
                            (name_key, &name),
                        ],
                    );
                }
                Ok(bytes)
            }
            Err(e) => {
                // A refused replace is what an operator must see (an extension bpfilter cannot
                // enforce, by name; the verifier's message); failed reads are routine (iptables
                // probes tables and revisions).
                let level = if matches!(opt, Opt::SetReplace | Opt::SetAddCounters) {
                    Level::Err
                } else {
                    Level::Debug
                };
                log(
                    level,
                    verbosity,
                    "call failed",
                    &[
                        ("ns", &cookie),
                        ("pid", &ctx.pid),
                        ("op", &Dbg(opt)),
                        (name_key, &name),
                        ("errno", &e.errno),
                        ("reason", &e.message),
                    ],
                );
                Err(IErrno::from(e.errno))
            }
        }
    }
}

impl SockoptHandler for Service {
    /// The tables this namespace has in bpfilter: those saved under the state root (another
    /// process may have made them) and those instantiated here, in the kernel's table order.
    fn table_names(&mut self, netns: BorrowedFd<'_>) -> Option<Vec<String>> {
        let cookie = netns_cookie(netns).ok()?;
        let mut have: Vec<String> = Vec::new();
        if let Some(root) = &self.lock_root {
            if let Ok(t) = NsTables::load_state(&root.join(cookie.to_string())) {
                have.extend(t.tables().map(|(t, _)| t.name.to_string()));
            }
        }
        if let Some(ns) = self.namespaces.get(&cookie) {
            have.extend(ns.tables.tables().map(|(t, _)| t.name.to_string()));
        }
        Some(
            bpfilter_core::uapi::TABLES
                .iter()
                .map(|t| t.name.to_string())
                .filter(|n| have.contains(n))
                .collect(),
        )
    }

    fn set(&mut self, ctx: &Request, optname: i32, optval: &[u8]) -> Result<SetReply, IErrno> {
        let bytes = self.call(ctx, true, optname, optval, optval.len())?;
        let mut reply = SetReply::default();
        if optname == bpfilter_core::uapi::IPT_SO_SET_REPLACE && !bytes.is_empty() {
            if let Some(addr) = replace_counters_ptr(optval) {
                // The kernel ignores a fault writing the old counters (spec §2.7).
                reply.side_writes.push(SideWrite {
                    addr,
                    bytes,
                    ignore_fault: true,
                });
            }
        }
        Ok(reply)
    }

    fn get(
        &mut self,
        ctx: &Request,
        optname: i32,
        optval_in: &[u8],
        optlen: u32,
    ) -> Result<Vec<u8>, IErrno> {
        let len = usize::try_from(optlen).unwrap_or(usize::MAX);
        let bytes = self.call(ctx, false, optname, optval_in, len)?;
        // GET_REVISION_* writes nothing but leaves *optlen as it was.
        if bytes.is_empty() {
            return Ok(optval_in.to_vec());
        }
        Ok(bytes)
    }
}

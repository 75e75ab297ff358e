//! Handlers that let the kernel's x_tables answer: for tests and for measuring the service.

use std::collections::hash_map::{Entry, HashMap};
use std::os::fd::{AsFd, OwnedFd};

use bpfilter_core::uapi::IPT_SO_SET_REPLACE;

use super::{Call, Errno, NsId, Request, SetReply, SideWrite, SockoptHandler};
use crate::sys::procmem;

/// Offsets in `struct ipt_replace` (spec §1.2): `num_counters` u32 at 84, `counters` pointer
/// at 88, entries from 96.
const REPLACE_NUM_COUNTERS: usize = 84;
const REPLACE_COUNTERS_PTR: usize = 88;
const REPLACE_HEADER: usize = 96;
/// `sizeof(struct xt_counters)`.
const COUNTERS_SIZE: usize = 16;
/// Largest old-counters buffer allocated locally (4M entries); beyond it the pointer becomes
/// NULL and the kernel's write of the old counters faults, which it ignores (spec §2.7).
const MAX_LOCAL_COUNTERS: usize = 64 * 1024 * 1024;

/// Performs each trapped call itself, in the caller socket's network namespace, on a raw
/// `AF_INET` socket of its own, and returns the kernel's answer. With it, interception is
/// transparent: what the command sees is what the kernel said.
///
/// SET_REPLACE carries a pointer into the caller (`counters`, where the old counters go); it is
/// redirected to a local buffer whose contents are then written back to the caller as a
/// fault-tolerant [`SideWrite`], as the kernel would.
#[derive(Debug, Default)]
pub struct PassThrough {
    /// One socket per network namespace (a socket keeps its netns alive, so the identity cannot
    /// be reused while cached).
    sockets: HashMap<NsId, OwnedFd>,
}

impl PassThrough {
    /// A handler with no sockets yet.
    pub fn new() -> PassThrough {
        PassThrough::default()
    }

    fn socket(&mut self, ctx: &Request) -> Result<&OwnedFd, Errno> {
        match self.sockets.entry(ctx.netns_id) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(v) => {
                let s = procmem::socket_in_netns(
                    ctx.netns.as_fd(),
                    libc::AF_INET,
                    libc::SOCK_RAW,
                    libc::IPPROTO_RAW,
                )
                .map_err(|e| Errno::from_io(&e))?;
                Ok(v.insert(s))
            }
        }
    }
}

impl SockoptHandler for PassThrough {
    fn set(&mut self, ctx: &Request, optname: i32, optval: &[u8]) -> Result<SetReply, Errno> {
        let sock = self.socket(ctx)?;
        let mut buf = optval.to_vec();
        let mut counters: Option<(u64, Vec<u8>)> = None;
        if optname == IPT_SO_SET_REPLACE && buf.len() >= REPLACE_HEADER {
            let mut n = [0u8; 4];
            n.copy_from_slice(&buf[REPLACE_NUM_COUNTERS..REPLACE_NUM_COUNTERS + 4]);
            let mut p = [0u8; 8];
            p.copy_from_slice(&buf[REPLACE_COUNTERS_PTR..REPLACE_HEADER]);
            let len = (u32::from_ne_bytes(n) as usize).saturating_mul(COUNTERS_SIZE);
            let local = if len <= MAX_LOCAL_COUNTERS {
                let mut v = vec![0u8; len];
                // The kernel writes through this address during the call; exposing the
                // provenance tells the compiler that memory may change behind its back.
                let addr = v.as_mut_ptr().expose_provenance() as u64;
                counters = Some((u64::from_ne_bytes(p), v));
                addr
            } else {
                0
            };
            buf[REPLACE_COUNTERS_PTR..REPLACE_HEADER].copy_from_slice(&local.to_ne_bytes());
        }
        procmem::raw_setsockopt(sock.as_fd(), libc::IPPROTO_IP, optname, &buf)
            .map_err(|e| Errno::from_io(&e))?;
        let side_writes = counters
            .map(|(addr, bytes)| SideWrite {
                addr,
                bytes: std::hint::black_box(bytes),
                ignore_fault: true,
            })
            .into_iter()
            .collect();
        Ok(SetReply { side_writes })
    }

    fn get(
        &mut self,
        ctx: &Request,
        optname: i32,
        optval_in: &[u8],
        _optlen: u32,
    ) -> Result<Vec<u8>, Errno> {
        let sock = self.socket(ctx)?;
        let mut buf = optval_in.to_vec();
        let n = procmem::raw_getsockopt(sock.as_fd(), libc::IPPROTO_IP, optname, &mut buf)
            .map_err(|e| Errno::from_io(&e))?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// Hands every trapped call back to the kernel (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`): the
/// cost of the trap alone, and a logging mode.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelContinue;

impl SockoptHandler for KernelContinue {
    fn continue_to_kernel(&mut self, _call: &Call) -> bool {
        true
    }
    fn set(&mut self, _ctx: &Request, _optname: i32, _optval: &[u8]) -> Result<SetReply, Errno> {
        Err(Errno::ENOSYS)
    }
    fn get(
        &mut self,
        _ctx: &Request,
        _optname: i32,
        _optval_in: &[u8],
        _optlen: u32,
    ) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENOSYS)
    }
}

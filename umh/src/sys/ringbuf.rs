//! A consumer of a `BPF_MAP_TYPE_RINGBUF` map: the consumer position page mapped read-write,
//! the producer position page and the data area (mapped twice by the kernel, so a record never
//! wraps) read-only.
//!
//! ```text
//! mmap(fd, off 0,     PAGE)            consumer_pos (u64, we advance it)
//! mmap(fd, off PAGE,  PAGE + 2*size)   producer_pos (u64) | data | data again
//! record: u32 len (bit 31 BUSY, bit 30 DISCARD) | u32 pgoff | sample, 8-aligned
//! ```

use super::bpf::Map;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HDR: usize = 8;

/// A mapped ring buffer.
#[derive(Debug)]
pub struct RingBuf {
    map: Map,
    page: usize,
    size: usize,
    cons: *mut u8,
    prod: *mut u8,
}

// SAFETY: the mappings are owned by this value and only touched through &mut self.
unsafe impl Send for RingBuf {}

impl RingBuf {
    /// Map `map` (which must be a ring buffer of `size` bytes, a power of two).
    pub fn open(map: Map, size: usize) -> io::Result<RingBuf> {
        // SAFETY: sysconf has no memory arguments.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let fd = map.fd().as_raw_fd();
        // SAFETY: a fresh shared mapping of the map's consumer page; checked for MAP_FAILED.
        let cons = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if cons == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let plen = page + 2 * size;
        // SAFETY: as above, read-only, at the kernel's fixed offset of one page.
        let prod = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                plen,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                page as libc::off_t,
            )
        };
        if prod == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: unmapping what was mapped just above.
            unsafe { libc::munmap(cons, page) };
            return Err(e);
        }
        Ok(RingBuf {
            map,
            page,
            size,
            cons: cons.cast(),
            prod: prod.cast(),
        })
    }

    /// Call `f` on every committed record, in order, and release them to the producer.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        // SAFETY: both positions are 8-aligned u64s at the start of pages mapped for `self`'s
        // lifetime; the kernel updates them concurrently, hence the atomics.
        let (cons_pos, prod_pos) = unsafe {
            (
                &*self.cons.cast::<AtomicU64>(),
                &*self.prod.cast::<AtomicU64>(),
            )
        };
        let mask = (self.size - 1) as u64;
        let mut n = 0;
        let mut cons = cons_pos.load(Ordering::Acquire);
        loop {
            let prod = prod_pos.load(Ordering::Acquire);
            if cons >= prod {
                break;
            }
            let at = self.page + (cons & mask) as usize;
            // SAFETY: `at` + 8 is inside the data area (page .. page + 2*size).
            let len_word =
                unsafe { &*self.prod.add(at).cast::<AtomicU32>() }.load(Ordering::Acquire);
            if len_word & BUSY != 0 {
                break;
            }
            let len = (len_word & !(BUSY | DISCARD)) as usize;
            if len_word & DISCARD == 0 && len <= self.size {
                // SAFETY: the record lies in the doubly mapped data area, so `len` bytes after
                // its header are mapped even across the wrap point.
                let sample = unsafe { std::slice::from_raw_parts(self.prod.add(at + HDR), len) };
                f(sample);
                n += 1;
            }
            cons += ((len + HDR + 7) & !7) as u64;
            cons_pos.store(cons, Ordering::Release);
        }
        n
    }

    /// Wait up to `timeout_ms` for data (poll on the map's fd).
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        let mut p = libc::pollfd {
            fd: self.map.fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd on the stack.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r > 0)
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the two mappings made in `open`.
        unsafe {
            libc::munmap(self.cons.cast(), self.page);
            libc::munmap(self.prod.cast(), self.page + 2 * self.size);
        }
    }
}

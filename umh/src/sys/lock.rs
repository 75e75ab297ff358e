//! An exclusive `flock(2)` on a file, released when the guard drops: serializes the
//! `bpfilter exec` processes that serve the same network namespace.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Holds the lock while alive.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Open (create) `path` and wait for an exclusive lock on it.
    pub fn exclusive(path: &Path) -> io::Result<FileLock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is passed.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(FileLock { file });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: unlock of the descriptor this guard owns (closing it would unlock too).
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

//! The running kernel as the oracle for SET_REPLACE: hand it a blob in a throwaway network
//! namespace and report its errno (0 = accepted).
//!
//! [`kernel_replace_errno`] pays for a new namespace per blob. [`KernelOracle`] keeps one
//! namespace for a whole batch and puts the table back into its fresh state after every accepted
//! blob, so each case sees what [`bpfilter_core::validate::FreshNamespace`] models: every table
//! present with its initial ruleset.
//!
//! The blob's `counters` pointer is never used as given (see [`crate::sys::ipt`]); the kernel
//! does not validate it, so the errno is unaffected.

use crate::capture::{capture_from, set_num_counters};
use crate::sys::ipt::IptSocket;
use crate::sys::netns::in_new_netns;
use bpfilter_core::uapi::{table_by_name, TableInfo, TABLES, XT_TABLE_MAXNAMELEN};
use std::io;

/// Check that this process can use the kernel as an oracle: make a network namespace
/// (`CAP_SYS_ADMIN`) and open an x_tables socket in it (`CAP_NET_RAW`). The error says what is
/// missing, for tests that must fail loudly rather than skip.
pub fn probe() -> io::Result<()> {
    let need = |what: &str, e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("the kernel oracle needs root ({what}: {e}); run as root, as CI does"),
        )
    };
    in_new_netns(|| IptSocket::new().map(drop))
        .map_err(|e| need("unshare(CLONE_NEWNET)", e))?
        .map_err(|e| need("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)", e))
}

/// Apply `blob` (exact SET_REPLACE optval bytes) with `setsockopt` in a fresh network namespace
/// and return 0 or the kernel's errno. `Err` only if the namespace or socket could not be made.
pub fn kernel_replace_errno(blob: &[u8]) -> io::Result<i32> {
    in_new_netns(|| {
        let sock = IptSocket::new()?;
        Ok(sock.replace(blob).err().unwrap_or(0))
    })?
}

/// One throwaway namespace for many SET_REPLACE cases, reset to the fresh state between them.
///
/// The namespace is held only by the socket, which was opened inside it: dropping the oracle
/// destroys the namespace.
#[derive(Debug)]
pub struct KernelOracle {
    sock: IptSocket,
    /// Every table's initial ruleset, captured right after the namespace was made.
    initial: Vec<(&'static TableInfo, Vec<u8>)>,
}

impl KernelOracle {
    /// Make the namespace and capture every table's initial state.
    pub fn new() -> io::Result<KernelOracle> {
        in_new_netns(|| {
            let sock = IptSocket::new()?;
            let initial = TABLES
                .iter()
                .map(|t| Ok((t, capture_from(&sock, t.name)?)))
                .collect::<io::Result<Vec<_>>>()?;
            Ok(KernelOracle { sock, initial })
        })?
    }

    /// Apply `blob` and return 0 or the kernel's errno; after an accepted blob the table is
    /// put back to its initial ruleset. `Err` if that reset fails (the oracle is then unusable).
    pub fn replace_errno(&mut self, blob: &[u8]) -> io::Result<i32> {
        self.replace_inspect(blob, |_| ()).map(|(e, _)| e)
    }

    /// Like [`KernelOracle::replace_errno`], and after an accepted blob, before the reset, run
    /// `inspect` on the socket (to read the installed table back with GET_INFO/GET_ENTRIES).
    pub fn replace_inspect<R>(
        &mut self,
        blob: &[u8],
        inspect: impl FnOnce(&IptSocket) -> R,
    ) -> io::Result<(i32, Option<R>)> {
        match self.sock.replace(blob) {
            Err(errno) => Ok((errno, None)),
            Ok(()) => {
                let seen = inspect(&self.sock);
                // The kernel reads the name with byte 31 forced to NUL (spec §2.1).
                let name = blob.get(..XT_TABLE_MAXNAMELEN - 1).unwrap_or(&[]);
                let table = table_by_name(name).ok_or_else(|| {
                    io::Error::other("kernel accepted a blob for a table bpfilter does not know")
                })?;
                self.reset(table.name)?;
                Ok((0, Some(seen)))
            }
        }
    }

    /// Put `table` back to the ruleset it had when the oracle was made.
    pub fn reset(&mut self, table: &str) -> io::Result<()> {
        let (t, initial) = self
            .initial
            .iter()
            .find(|(t, _)| t.name == table)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("table {table}")))?;
        let mut blob = initial.clone();
        // SET_REPLACE's num_counters must equal the current entry count (else EAGAIN).
        let current = self
            .sock
            .get_info(table)
            .map_err(io::Error::from_raw_os_error)?;
        set_num_counters(&mut blob, current.num_entries.get());
        self.sock
            .replace(&blob)
            .map_err(io::Error::from_raw_os_error)?;
        let after = self
            .sock
            .get_info(table)
            .map_err(io::Error::from_raw_os_error)?;
        if after.num_entries.get() != t.initial_entries {
            return Err(io::Error::other(format!("{table} was not reset")));
        }
        Ok(())
    }

    /// The initial SET_REPLACE blob of `table` in this namespace (`num_counters` = its fresh
    /// entry count).
    pub fn initial(&self, table: &str) -> Option<&[u8]> {
        self.initial
            .iter()
            .find(|(t, _)| t.name == table)
            .map(|(_, b)| b.as_slice())
    }

    /// The socket, for other options in the same namespace (GET_INFO, GET_ENTRIES, ...).
    pub fn socket(&self) -> &IptSocket {
        &self.sock
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly on any error")]
mod tests {
    use super::*;
    use crate::capture::capture_from;

    /// A filter blob with one extra rule: DROP everything in INPUT before the policy.
    fn filter_with_drop(initial: &[u8]) -> Vec<u8> {
        let mut blob = initial.to_vec();
        let mut drop_rule = blob[96..96 + 152].to_vec(); // INPUT policy: ACCEPT, 152 bytes
        drop_rule[112 + 32..112 + 36].copy_from_slice(&(-1i32).to_le_bytes());
        blob.splice(96..96, drop_rule);
        let u32_at = |b: &mut Vec<u8>, at: usize, f: &dyn Fn(u32) -> u32| {
            let v = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            b[at..at + 4].copy_from_slice(&f(v).to_le_bytes());
        };
        u32_at(&mut blob, 36, &|n| n + 1); // num_entries
        u32_at(&mut blob, 40, &|s| s + 152); // size
        for hook in 2..4 {
            u32_at(&mut blob, 44 + 4 * hook, &|o| o + 152); // hook_entry FORWARD, OUTPUT
        }
        for hook in 1..4 {
            u32_at(&mut blob, 64 + 4 * hook, &|o| o + 152); // underflows INPUT..OUTPUT
        }
        blob
    }

    #[test]
    fn single_and_batched_agree_and_batch_resets() {
        let mut oracle = KernelOracle::new().unwrap();
        let initial = oracle.initial("filter").unwrap().to_vec();
        let good = filter_with_drop(&initial);
        let mut bad_verdict = good.clone();
        // Verdict 0 would jump to offset 0, which the kernel refuses outright (spec §1.4).
        bad_verdict[96 + 112 + 32..96 + 112 + 36].copy_from_slice(&0i32.to_le_bytes());
        let mut stale = good.clone();
        set_num_counters(&mut stale, 5);
        let cases: [(&[u8], i32); 5] = [
            (&good, 0),
            (&good, 0), // only accepted again because the first one was undone
            (&bad_verdict, libc::EINVAL),
            (&stale, libc::EAGAIN),
            (&initial[..95], libc::EINVAL),
        ];
        for (blob, want) in cases {
            assert_eq!(oracle.replace_errno(blob).unwrap(), want);
            assert_eq!(kernel_replace_errno(blob).unwrap(), want);
        }
        assert_eq!(capture_from(oracle.socket(), "filter").unwrap(), initial);
    }
}

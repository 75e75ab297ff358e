//! The production [`Service`]: tables saved under a state directory, enforced by
//! [`BpfEnforcer`] with pins under a bpffs directory. `bpfilter exec` (serving in-process) and
//! `bpfilter daemon` (one `Service` per client) build theirs here, so both serve a namespace
//! the same way and can take turns on it.

use super::bpf::BpfEnforcer;
use super::handler::{EnforcerFactory, Service};
use super::{Enforcer, NsTables};
use crate::sys::netns::NetNs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// Default root of the per-namespace state files.
pub const DEFAULT_STATE_DIR: &str = "/run/bpfilter";
/// Default bpffs directory for programs, links and maps.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/bpfilter";

/// Where a service keeps each namespace's tables and pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// State files: `STATE/COOKIE/TABLE.blob|.added`, lock files `STATE/COOKIE.lock`.
    pub state: PathBuf,
    /// Pins: `PINS/COOKIE/TABLE/`.
    pub pins: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            state: PathBuf::from(DEFAULT_STATE_DIR),
            pins: PathBuf::from(DEFAULT_PIN_DIR),
        }
    }
}

/// Makes a namespace's [`NsTables`] (from its saved state) and [`BpfEnforcer`] (adopting what
/// is pinned) on its first call, and puts saved tables whose programs are gone (a reboot, a
/// cleaned bpffs) or were left mid-replace back into force before anything else is served.
pub fn bpf_factory(paths: Paths) -> EnforcerFactory {
    Box::new(move |req: &crate::intercept::Request, cookie: u64| {
        let dir = paths.state.join(cookie.to_string());
        let tables = NsTables::load_state(&dir)?;
        let netns = NetNs::from_fd(req.netns.as_fd().try_clone_to_owned()?);
        let mut enforcer = BpfEnforcer::new(netns, paths.pins.join(cookie.to_string()))
            .map_err(|e| std::io::Error::other(e.message))?;
        restore(&tables, &mut enforcer).map_err(|e| std::io::Error::other(e.message))?;
        Ok((tables, Box::new(enforcer) as Box<dyn Enforcer>))
    })
}

/// Put the saved `tables` back into force where `enforcer` has no programs for them (a
/// reboot, a cleaned bpffs) or found them mid-replace, then drop the links of replaces no
/// saved table covers (see [`BpfEnforcer::discard_orphans`]).
pub fn restore(tables: &NsTables, enforcer: &mut BpfEnforcer) -> Result<(), super::ApplyError> {
    for (t, masks) in tables.tables() {
        if enforcer.counters(t.name.as_str()).is_empty() || enforcer.needs_repair(t.name.as_str()) {
            enforcer.apply(t, masks, &mut || Ok(()))?;
        }
    }
    enforcer.discard_orphans();
    Ok(())
}

/// A [`Service`] over [`bpf_factory`], locking each namespace under the state root so that
/// any number of services (processes or daemon threads) can serve one namespace.
pub fn bpf_service(paths: Paths, verbosity: u8) -> Service {
    let lock_root = paths.state.clone();
    let mut svc = Service::new(bpf_factory(paths));
    svc.verbosity = verbosity;
    svc.lock_root = Some(lock_root);
    svc
}

/// bpffs must be mounted at or above `pins`; mount it at /sys/fs/bpf if nothing is.
pub fn ensure_bpffs(pins: &Path) -> std::io::Result<()> {
    let mounts = std::fs::read_to_string("/proc/self/mounts")?;
    let bpffs: Vec<&str> = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, ty) = (f.next(), f.next(), f.next());
            (ty == Some("bpf")).then_some(at).flatten()
        })
        .collect();
    if bpffs.iter().any(|m| pins.starts_with(m)) {
        return Ok(());
    }
    if pins.starts_with("/sys/fs/bpf") {
        let st = std::process::Command::new("mount")
            .args(["-t", "bpf", "bpf", "/sys/fs/bpf"])
            .status()?;
        if st.success() {
            return Ok(());
        }
    }
    Err(std::io::Error::other(format!(
        "no bpffs mounted above {} (mount -t bpf bpf /sys/fs/bpf)",
        pins.display()
    )))
}

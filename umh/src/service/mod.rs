//! The `IPT_SO_*` socket options with the kernel's semantics, served from bpfilter's own tables
//! (spec §2–§3): one set of IPv4 tables per network namespace, each table the validated IR of
//! the last accepted SET_REPLACE, enforced by an [`Enforcer`] (the BPF loader; a recording
//! fake in tests).
//!
//! Order of a SET_REPLACE: validate against this namespace's state (`core::validate`, kernel
//! errno) -> IR -> the enforcer applies the whole table atomically (generate, load, verify,
//! attach new, detach old) -> only then the table here is replaced and the old counters are
//! handed back. If any step fails the old table stays, enforced as before, and the caller gets
//! an errno.

use bpfilter_core::error::{Check, Errno, Error};
use bpfilter_core::ext::{self, Kind};
use bpfilter_core::ir::{Counters, Ruleset, Table};
use bpfilter_core::sockopt::{self, Opt, Tables};
use bpfilter_core::uapi::{
    table_by_name, TableInfo, IPT_GET_ENTRIES_SIZE, IPT_REPLACE_SIZE, TABLES, XT_COUNTERS_SIZE,
    XT_EXTENSION_MAXNAMELEN,
};
use bpfilter_core::validate::{validate_replace, TableState};
use std::collections::BTreeMap;
use zerocopy::IntoBytes;

/// Why the enforcer could not apply a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError {
    /// The errno the caller gets.
    pub errno: Errno,
    /// What went wrong, for the daemon's log (an extension by name, the verifier's message).
    pub message: String,
}

/// Puts a validated table into force, and reads its live counters.
pub trait Enforcer {
    /// Whether `name`/`revision` can be enforced (answers GET_REVISION_*).
    fn supports(&self, kind: Kind, name: &[u8], revision: u8) -> bool;
    /// Make `table` the enforced ruleset of `table.name`, replacing the previous one
    /// atomically: on `Err`, the previous ruleset must still be in force, untouched.
    /// `commit` runs once the new ruleset is in force and before the old one is retired (the
    /// service saves its state there, so a crash at any point leaves state and enforcement
    /// that a restart can reconcile); an `Err` from it aborts the replace.
    fn apply(
        &mut self,
        table: &Table,
        hook_masks: &[u8],
        commit: &mut dyn FnMut() -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError>;
    /// Per-entry counters accumulated by the enforced ruleset since it was applied.
    fn counters(&self, table: &str) -> Vec<Counters>;
    /// Before an `apply` that replaces a running ruleset: how many entries of each hook's
    /// chain to compile inline should the new ruleset need cold mode
    /// ([`bpfilter_core::codegen::hot_entries_hint`] of the old ruleset's counters).
    fn hint_hot_entries(&mut self, entries: usize) {
        let _ = entries;
    }
}

/// One table as this namespace sees it.
#[derive(Debug, Clone)]
struct Entry {
    info: TableInfo,
    table: Table,
    hook_masks: Vec<u8>,
    /// Counters added with SET_ADD_COUNTERS (the enforcer's live counts come on top).
    added: Vec<Counters>,
    size: u32,
}

/// The IPv4 tables of one network namespace.
#[derive(Debug, Default)]
pub struct NsTables {
    tables: BTreeMap<&'static str, Entry>,
    /// Where the tables are saved after every change (see [`NsTables::save_state`]).
    pub state_dir: Option<std::path::PathBuf>,
    /// The saved state's generation this copy was loaded from or last wrote.
    generation: u64,
}

fn initial(info: &TableInfo) -> Result<Entry, Error> {
    let table = Ruleset::new(info)
        .build()
        .map_err(|_| Error::new(Check::NoSuchTable, Errno::ENOENT))?;
    let n = table.entries.len();
    let size = table.get_info().size.get();
    let mut hook_masks = vec![0u8; n];
    for (h, slot) in table.underflow.iter().enumerate() {
        if let Some(i) = slot {
            if let Some(m) = hook_masks.get_mut(*i) {
                *m |= 1 << h;
            }
        }
    }
    Ok(Entry {
        info: *info,
        table,
        hook_masks,
        added: vec![(0, 0); n],
        size,
    })
}

fn name_str(name: &[u8]) -> Option<&'static str> {
    table_by_name(name).map(|t| t.name)
}

impl NsTables {
    /// A namespace as the kernel creates it: tables appear on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Instantiate the table named in a request's first 31 bytes (every IPT_SO_* request
    /// starts with the table name), as the kernel's lookup does, so the checks that follow see
    /// its entry count and size.
    fn instantiate(&mut self, optval: &[u8]) {
        if let Some(name) = optval.get(..31) {
            let _ = self.entry(name);
        }
    }

    /// The table, instantiated from its template on first use (as the kernel does).
    fn entry(&mut self, name: &[u8]) -> Option<&mut Entry> {
        let key = name_str(name)?;
        if !self.tables.contains_key(key) {
            let info = TABLES.iter().find(|t| t.name == key)?;
            let e = initial(info).ok()?;
            self.tables.insert(key, e);
        }
        self.tables.get_mut(key)
    }

    /// The current counters of `name`: added + live.
    fn counters(&self, key: &str, enforcer: &dyn Enforcer) -> Vec<Counters> {
        let Some(e) = self.tables.get(key) else {
            return Vec::new();
        };
        let live = enforcer.counters(key);
        e.added
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let l = live.get(i).copied().unwrap_or((0, 0));
                (a.0.wrapping_add(l.0), a.1.wrapping_add(l.1))
            })
            .collect()
    }

    /// A copy of the table `name` as currently enforced, with its live counters.
    pub fn snapshot(&mut self, name: &str, enforcer: &dyn Enforcer) -> Option<Table> {
        let key = self.entry(name.as_bytes())?.info.name;
        let counters = self.counters(key, enforcer);
        let mut t = self.tables.get(key)?.table.clone();
        t.set_counters(&counters);
        Some(t)
    }

    /// SET_REPLACE: returns the old counters (what the kernel writes through `counters`).
    pub fn set_replace(
        &mut self,
        optval: &[u8],
        enforcer: &mut dyn Enforcer,
    ) -> Result<Vec<u8>, ApplyError> {
        let fail = |e: Error| ApplyError {
            errno: e.errno(),
            message: e.to_string(),
        };
        self.instantiate(optval);
        let state = StateView(self);
        let v = validate_replace(optval, &state).map_err(fail)?;
        let table = Table::from_validated(&v).map_err(|e| ApplyError {
            errno: Errno::EINVAL,
            message: format!("accepted blob not representable: {e:?}"),
        })?;
        let key = name_str(table.name.as_bytes()).ok_or(ApplyError {
            errno: Errno::ENOENT,
            message: "no such table".into(),
        })?;
        let old = self.counters(key, enforcer);
        let n = table.entries.len();
        let size = u32::try_from(v.entries.len()).unwrap_or(u32::MAX);
        let entry = Entry {
            info: v.table,
            table,
            hook_masks: v.hook_mask.clone(),
            added: vec![(0, 0); n],
            size,
        };
        // The state as it will be once the replace is done, saved by the commit step.
        let mut next = NsTables {
            tables: self.tables.clone(),
            state_dir: self.state_dir.clone(),
            generation: self.generation,
        };
        next.tables.insert(key, entry.clone());
        let mut commit = || -> Result<(), ApplyError> {
            match &next.state_dir {
                Some(dir) => next.save_state(dir).map_err(|e| ApplyError {
                    errno: Errno::ENOMEM,
                    message: format!("cannot save state to {}: {e}", dir.display()),
                }),
                None => Ok(()),
            }
        };
        if let Some(prev) = self.tables.get(key) {
            enforcer.hint_hot_entries(bpfilter_core::codegen::hot_entries_hint(
                &prev.table,
                &old,
                n,
            ));
        }
        enforcer.apply(&entry.table, &entry.hook_masks, &mut commit)?;
        self.tables.insert(key, entry);
        if let Some(dir) = &self.state_dir {
            self.generation = read_generation(dir);
        }
        let mut bytes = Vec::with_capacity(old.len() * XT_COUNTERS_SIZE);
        for (p, b) in old {
            bytes.extend_from_slice(&p.to_le_bytes());
            bytes.extend_from_slice(&b.to_le_bytes());
        }
        Ok(bytes)
    }

    /// SET_ADD_COUNTERS.
    pub fn add_counters(&mut self, optval: &[u8]) -> Result<(), Error> {
        self.add_counters_inner(optval)?;
        if let Some(dir) = self.state_dir.clone() {
            // Counters are not rules: a failed save is logged by the caller's next replace.
            let _ = self.save_state(&dir);
            self.generation = read_generation(&dir);
        }
        Ok(())
    }

    fn add_counters_inner(&mut self, optval: &[u8]) -> Result<(), Error> {
        self.instantiate(optval);
        let (name, counters) = sockopt::add_counters(optval, &StateView(self))?;
        let e = self
            .entry(name)
            .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
        for (slot, c) in e
            .added
            .iter_mut()
            .zip(counters.chunks_exact(XT_COUNTERS_SIZE))
        {
            let p = u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8]));
            let b = u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8]));
            slot.0 = slot.0.wrapping_add(p);
            slot.1 = slot.1.wrapping_add(b);
        }
        Ok(())
    }

    /// GET_INFO: the 84 bytes to write back.
    pub fn get_info(&mut self, optval: &[u8], optlen: usize) -> Result<Vec<u8>, Error> {
        self.instantiate(optval);
        let (name, _) = sockopt::get_info(optval, optlen, &StateView(self))?;
        let e = self
            .entry(name)
            .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
        Ok(e.table.get_info().as_bytes().to_vec())
    }

    /// GET_ENTRIES: the `optlen` bytes to write back (the caller's 40-byte header unchanged,
    /// then the entries with hook masks and live counters).
    pub fn get_entries(
        &mut self,
        optval: &[u8],
        optlen: usize,
        enforcer: &dyn Enforcer,
    ) -> Result<Vec<u8>, Error> {
        self.instantiate(optval);
        let name = sockopt::get_entries(optval, optlen, &StateView(self))?;
        let key = name_str(name).ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
        let counters = self.counters(key, enforcer);
        let e = self
            .tables
            .get(key)
            .ok_or(Error::new(Check::NoSuchTable, Errno::ENOENT))?;
        let mut out = optval.get(..IPT_GET_ENTRIES_SIZE).unwrap_or(&[]).to_vec();
        out.extend_from_slice(&e.table.to_get_entries(&e.hook_masks, &counters));
        Ok(out)
    }

    /// GET_REVISION_MATCH / _TARGET, answered from what the enforcer supports, so iptables
    /// behaves as on a kernel without the other extensions.
    pub fn get_revision(
        optval: &[u8],
        optlen: usize,
        kind: Kind,
        enforcer: &dyn Enforcer,
    ) -> Result<(), Error> {
        // Argument checks first (EINVAL on a wrong optlen), exactly as the kernel.
        let known = sockopt::get_revision(optval, optlen, kind);
        let field = optval.get(..XT_EXTENSION_MAXNAMELEN - 1).unwrap_or(&[]);
        let name = bpfilter_core::uapi::cstr(field);
        let rev = optval.get(XT_EXTENSION_MAXNAMELEN).copied().unwrap_or(0);
        match known {
            Err(e) if e.errno == Errno::EINVAL => Err(e),
            _ => {
                let mut have_name = false;
                for d in ext::registry(kind)
                    .iter()
                    .filter(|d| d.name.as_bytes() == name)
                {
                    if enforcer.supports(kind, name, d.revision) {
                        if d.revision == rev {
                            return Ok(());
                        }
                        have_name = true;
                    }
                }
                Err(Error::new(
                    Check::NoSuchRevision,
                    if have_name {
                        Errno::EPROTONOSUPPORT
                    } else {
                        Errno::ENOENT
                    },
                ))
            }
        }
    }

    /// Dispatch one call (after the capability check): `Ok(bytes)` is what a get writes back
    /// (for a set, the old counters of a SET_REPLACE, empty otherwise).
    pub fn call(
        &mut self,
        opt: Opt,
        optval: &[u8],
        optlen: usize,
        enforcer: &mut dyn Enforcer,
    ) -> Result<Vec<u8>, ApplyError> {
        let plain = |e: Error| ApplyError {
            errno: e.errno(),
            message: e.to_string(),
        };
        match opt {
            Opt::SetReplace => self.set_replace(optval, enforcer),
            Opt::SetAddCounters => self
                .add_counters(optval)
                .map(|()| Vec::new())
                .map_err(plain),
            Opt::GetInfo => self.get_info(optval, optlen).map_err(plain),
            Opt::GetEntries => self.get_entries(optval, optlen, enforcer).map_err(plain),
            Opt::GetRevisionMatch => Self::get_revision(optval, optlen, Kind::Match, enforcer)
                .map(|()| Vec::new())
                .map_err(plain),
            Opt::GetRevisionTarget => Self::get_revision(optval, optlen, Kind::Target, enforcer)
                .map(|()| Vec::new())
                .map_err(plain),
        }
    }
}

/// The replace header's `counters` pointer (where SET_REPLACE writes the old counters).
pub fn replace_counters_ptr(optval: &[u8]) -> Option<u64> {
    let b = optval.get(88..IPT_REPLACE_SIZE)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

/// `core`'s view of the namespace's tables for the validator and the option checks.
struct StateView<'a>(&'a NsTables);

impl TableState for StateView<'_> {
    fn table(&self, name: &[u8]) -> Option<(TableInfo, u32)> {
        let info = table_by_name(name)?;
        let n = self
            .0
            .tables
            .get(info.name)
            .map_or(info.initial_entries, |e| {
                u32::try_from(e.table.entries.len()).unwrap_or(u32::MAX)
            });
        Some((*info, n))
    }
}

impl Tables for StateView<'_> {
    fn lookup(&self, name: &[u8]) -> Option<(TableInfo, u32, u32)> {
        let info = table_by_name(name)?;
        let e = self.0.tables.get(info.name)?;
        Some((
            *info,
            u32::try_from(e.table.entries.len()).unwrap_or(u32::MAX),
            e.size,
        ))
    }
}

pub mod bpf;
pub mod handler;
pub mod logs;
pub mod setup;

#[cfg(test)]
mod tests;

/// Persistence: a namespace's tables as files (`TABLE.blob`, the replace form of the table;
/// `TABLE.added`, the counters added with SET_ADD_COUNTERS), so that a later `bpfilter exec`
/// or a restarted daemon picks the state back up. Writes go through a temporary file and a
/// rename, so a crash leaves the old or the new state, never half of one.
impl NsTables {
    /// Write every instantiated table to `dir`.
    pub fn save_state(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let generation = read_generation(dir).wrapping_add(1);
        for (name, e) in &self.tables {
            let n = u32::try_from(e.table.entries.len()).unwrap_or(u32::MAX);
            write_atomic(&dir.join(format!("{name}.blob")), &e.table.to_replace(n, 0))?;
            let mut added = Vec::with_capacity(e.added.len() * XT_COUNTERS_SIZE);
            for (p, b) in &e.added {
                added.extend_from_slice(&p.to_le_bytes());
                added.extend_from_slice(&b.to_le_bytes());
            }
            write_atomic(&dir.join(format!("{name}.added")), &added)?;
        }
        // Last: another process serving the same namespace sees a new generation only once
        // every table file is in place.
        write_atomic(&dir.join("generation"), generation.to_string().as_bytes())
    }

    /// True if another process has saved newer state since this copy was loaded or saved.
    pub fn stale(&self) -> bool {
        self.state_dir
            .as_deref()
            .is_some_and(|d| read_generation(d) != self.generation)
    }

    /// Read the tables saved in `dir` (missing files: the table is fresh). Each blob is
    /// validated again; one that does not validate is an error, not silently dropped.
    pub fn load_state(dir: &std::path::Path) -> std::io::Result<NsTables> {
        let mut ns = NsTables::new();
        ns.state_dir = Some(dir.to_path_buf());
        ns.generation = read_generation(dir);
        for info in TABLES.iter() {
            let path = dir.join(format!("{}.blob", info.name));
            let blob = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let n = crate::capture::num_counters(&blob).unwrap_or(0);
            let v = validate_replace(
                &blob,
                &bpfilter_core::validate::FreshNamespace {
                    current_entries: Some(n),
                },
            )
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            let table = Table::from_validated(&v)
                .map_err(|e| std::io::Error::other(format!("{}: {e:?}", path.display())))?;
            let count = table.entries.len();
            let mut added = vec![(0, 0); count];
            if let Ok(bytes) = std::fs::read(dir.join(format!("{}.added", info.name))) {
                for (slot, c) in added.iter_mut().zip(bytes.chunks_exact(XT_COUNTERS_SIZE)) {
                    let p = u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8]));
                    let b = u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8]));
                    *slot = (p, b);
                }
            }
            let size = u32::try_from(v.entries.len()).unwrap_or(u32::MAX);
            ns.tables.insert(
                info.name,
                Entry {
                    info: *info,
                    hook_masks: v.hook_mask.clone(),
                    table,
                    added,
                    size,
                },
            );
        }
        Ok(ns)
    }

    /// The tables instantiated so far, with their hook masks (to re-enforce after a restart).
    pub fn tables(&self) -> impl Iterator<Item = (&Table, &[u8])> {
        self.tables
            .values()
            .map(|e| (&e.table, e.hook_masks.as_slice()))
    }
}

fn read_generation(dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(dir.join("generation"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

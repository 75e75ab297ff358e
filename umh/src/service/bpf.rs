//! [`BpfEnforcer`]: tables enforced by generated BPF programs attached with netfilter links in
//! the caller's network namespace, everything pinned in bpffs so the rules outlive the
//! process that installed them.
//!
//! ```text
//! PIN/                      one directory per network namespace (its cookie)
//!   filter/                 the table in force
//!     counters              per-CPU array: per-entry packets and bytes
//!     link_1 link_2 link_3  the netfilter links (LOCAL_IN, FORWARD, LOCAL_OUT)
//!   filter_new/             the next ruleset while it is being put in force
//! ```
//!
//! A replace loads and verifies the new programs, attaches them (the old ones still run:
//! between the two attachments a packet meets both rulesets, never half of one), pins them
//! under `filter_new/`, detaches the old links, and swaps the directories. Any failure before
//! the old links go leaves the old ruleset in force and everything new closed.
//!
//! The kernel refuses two BPF netfilter links at the same (hook, priority) (EBUSY), so the
//! new ruleset goes in at a priority no link of the table holds, from [`PRIORITIES`]:
//! NF_IP_PRI_FILTER (0), 1, 2. All sit where the filter table runs: after mangle (-150) and NAT
//! destination (-100), before security (50) and NAT source (100).
//!
//! Killed mid-replace (`kill -9` of `bpfilter exec` or the daemon), the directories tell what
//! happened: a `filter_new/` beside `filter/` is a replace the caller never saw succeed. The
//! next enforcer moves it to `filter_stale/` (its links stay attached: never unfiltered), and
//! [`BpfEnforcer::needs_repair`] asks for the saved table to be applied again, after which the
//! stale links go too. Killed after the old directory went but before the new one took its
//! name, only `filter_new/` is left: it becomes `filter_stale/` all the same, its links an
//! orphan set with no table adopted; the saved table (if the replace was committed, the same
//! ruleset) is applied again and retires them, and if no table was ever saved (the first
//! replace of the namespace, killed before its commit) [`BpfEnforcer::discard_orphans`]
//! detaches them: the saved state is what is in force.

use super::{ApplyError, Enforcer};
use crate::loader::{self, LoaderError, LoaderOptions};
use crate::sys::bpf::{Link, Map, NetfilterAttach, NFPROTO_IPV4};

use crate::sys::netns::NetNs;
use bpfilter_core::error::Errno;
use bpfilter_core::ext::Kind;
use bpfilter_core::ir::{Counters, Table};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What the code generator enforces: (kind, name, revision). GET_REVISION_* answers from this,
/// so iptables behaves as on a kernel that has exactly these extensions.
pub const SUPPORTED: &[(Kind, &str, u8)] = &[
    (Kind::Match, "tcp", 0),
    (Kind::Match, "udp", 0),
    (Kind::Match, "icmp", 0),
    (Kind::Match, "multiport", 1),
    (Kind::Match, "iprange", 1),
    (Kind::Match, "comment", 0),
    (Kind::Match, "length", 0),
    (Kind::Match, "ttl", 0),
    (Kind::Match, "mark", 1),
    (Kind::Match, "pkttype", 0),
    (Kind::Match, "state", 0),
    (Kind::Match, "conntrack", 1),
    (Kind::Match, "conntrack", 2),
    (Kind::Match, "conntrack", 3),
    (Kind::Match, "limit", 0),
    (Kind::Target, "", 0),
    (Kind::Target, "ERROR", 0),
    (Kind::Target, "LOG", 0),
];

/// The two priorities a filter ruleset alternates between (see the module docs).
pub const PRIORITIES: [i32; 3] = [0, 1, 2];

/// One table in force.
struct Active {
    counters: Map,
    links: Vec<Link>,
    entries: usize,
    priority: i32,
}

/// `BPFILTER_TEST_REPLACE_PAUSE_MS`: sleep at the two crash-sensitive points of a replace
/// (new links attached but not pinned; committed but the old links not retired), so the
/// kill test (tests/e2e/kill_during_replace.sh) lands its `kill -9` inside those windows.
fn test_pause() {
    if let Some(ms) = std::env::var("BPFILTER_TEST_REPLACE_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

fn link_priority(l: &Link) -> Option<i32> {
    l.info().ok().and_then(|i| i.netfilter).map(|n| n.priority)
}

fn pinned_links(dir: &Path) -> Vec<Link> {
    (0..5)
        .filter_map(|h| Link::from_pinned(&dir.join(format!("link_{h}"))).ok())
        .collect()
}

/// Links of an interrupted replace (`TABLE_stale/`), kept attached until the repair, with or
/// without a table directory beside them (see the module docs).
struct Stale {
    links: Vec<Link>,
    priority: Option<i32>,
}

/// Enforces tables in one network namespace; see the module docs.
pub struct BpfEnforcer {
    netns: NetNs,
    pin_dir: PathBuf,
    opts: LoaderOptions,
    tables: HashMap<String, Active>,
    stale: HashMap<String, Stale>,
}

fn apply_err(e: &LoaderError) -> ApplyError {
    let errno = match e {
        // As on a kernel without the module: iptables reports "No chain/target/match".
        LoaderError::Compile(_) | LoaderError::UnsupportedTable(_) => Errno::ENOENT,
        LoaderError::Verifier { .. } => Errno::EINVAL,
        LoaderError::NoNetfilterLinks { .. } => Errno::EOPNOTSUPP,
        _ => Errno::ENOMEM,
    };
    ApplyError {
        errno,
        message: e.to_string(),
    }
}

fn io_err(what: &str, e: impl std::fmt::Display) -> ApplyError {
    ApplyError {
        errno: Errno::ENOMEM,
        message: format!("{what}: {e}"),
    }
}

impl BpfEnforcer {
    /// An enforcer for the namespace `netns`, pinning under `pin_dir` (created if missing;
    /// bpffs must be mounted above it). Tables already pinned there are adopted: their links
    /// stay in force, their counters keep counting.
    pub fn new(netns: NetNs, pin_dir: PathBuf) -> Result<BpfEnforcer, ApplyError> {
        let compile = loader::host_compile_options().map_err(|e| apply_err(&e))?;
        let opts = LoaderOptions {
            compile,
            log_level: crate::sys::bpf::LOG_STATS,
        };
        std::fs::create_dir_all(&pin_dir).map_err(|e| io_err(&pin_dir.display().to_string(), e))?;
        let mut me = BpfEnforcer {
            netns,
            pin_dir,
            opts,
            tables: HashMap::new(),
            stale: HashMap::new(),
        };
        me.adopt();
        Ok(me)
    }

    fn adopt(&mut self) {
        for t in bpfilter_core::uapi::TABLES.iter() {
            let dir = self.pin_dir.join(t.name);
            // An interrupted replace: keep its links attached until the repair.
            let new_dir = self.pin_dir.join(format!("{}_new", t.name));
            let stale_dir = self.pin_dir.join(format!("{}_stale", t.name));
            if new_dir.exists() {
                let _ = std::fs::remove_dir_all(&stale_dir);
                let _ = std::fs::rename(&new_dir, &stale_dir);
            }
            let stale = pinned_links(&stale_dir);
            if !stale.is_empty() {
                let priority = stale.first().and_then(link_priority);
                self.stale.insert(
                    t.name.to_string(),
                    Stale {
                        links: stale,
                        priority,
                    },
                );
            }
            let Ok(counters) = Map::from_pinned(&dir.join("counters")) else {
                continue;
            };
            let links = pinned_links(&dir);
            let entries = usize::try_from(counters.info().max_entries).unwrap_or(0);
            let priority = links
                .first()
                .and_then(link_priority)
                .unwrap_or(PRIORITIES[0]);
            self.tables.insert(
                t.name.to_string(),
                Active {
                    counters,
                    links,
                    entries,
                    priority,
                },
            );
        }
    }

    /// True if `table` was left mid-replace by a killed process: apply the saved table again.
    pub fn needs_repair(&self, table: &str) -> bool {
        self.stale.contains_key(table)
    }

    /// Detach and unpin the orphan links (stale links with no table in force: a first
    /// replace killed before its commit) left after the saved tables were applied: what is in
    /// force is what the saved state says, and it has no such table.
    pub fn discard_orphans(&mut self) {
        let tables = &self.tables;
        let orphans: Vec<String> = self
            .stale
            .keys()
            .filter(|name| !tables.contains_key(*name))
            .cloned()
            .collect();
        for name in orphans {
            if let Some(o) = self.stale.remove(&name) {
                for l in &o.links {
                    let _ = l.detach();
                }
            }
            let _ = std::fs::remove_dir_all(self.pin_dir.join(format!("{name}_stale")));
        }
    }

    fn pin(
        dir: &Path,
        counters: &Map,
        log: Option<&Map>,
        links: &[(usize, &Link)],
    ) -> Result<(), ApplyError> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| io_err(&dir.display().to_string(), e))?;
        counters
            .pin(&dir.join("counters"))
            .map_err(|e| io_err("pin counters", e))?;
        // LOG events: `bpfilter log` reads them from here.
        if let Some(l) = log {
            l.pin(&dir.join("log")).map_err(|e| io_err("pin log", e))?;
        }
        for (h, l) in links {
            l.pin(&dir.join(format!("link_{h}")))
                .map_err(|e| io_err("pin link", e))?;
        }
        Ok(())
    }
}

impl Enforcer for BpfEnforcer {
    fn hint_hot_entries(&mut self, entries: usize) {
        // The environment's knob (as the loader reads it), when set, wins over the traffic's
        // hint.
        if loader::env_knob("BPFILTER_HOT_ENTRIES").is_none() {
            self.opts.compile.hot_entries = entries;
        }
    }

    fn supports(&self, kind: Kind, name: &[u8], revision: u8) -> bool {
        SUPPORTED
            .iter()
            .any(|(k, n, r)| *k == kind && n.as_bytes() == name && *r == revision)
    }

    fn apply(
        &mut self,
        table: &Table,
        _hook_masks: &[u8],
        commit: &mut dyn FnMut() -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError> {
        let name = table.name.to_string();
        let loaded = loader::load_table(table, &self.opts).map_err(|e| apply_err(&e))?;
        if loader::table_priority(&name) != Some(0) {
            return Err(ApplyError {
                errno: Errno::ENOENT,
                message: format!("table {name} is not enforced by bpfilter (only filter)"),
            });
        }
        let taken: Vec<i32> = [
            self.tables.get(&name).map(|a| a.priority),
            self.stale.get(&name).and_then(|s| s.priority),
        ]
        .into_iter()
        .flatten()
        .collect();
        let priority = PRIORITIES
            .iter()
            .copied()
            .find(|p| !taken.contains(p))
            .unwrap_or(PRIORITIES[0]);
        // All links or none: on a failure the ones made so far close as the Vec drops.
        let links: Vec<(usize, Link)> = self
            .netns
            .run(|| {
                loaded
                    .hooks
                    .iter()
                    .map(|h| {
                        let at = NetfilterAttach {
                            pf: NFPROTO_IPV4,
                            hooknum: u32::try_from(h.hook).unwrap_or(u32::MAX),
                            priority,
                            flags: 0,
                        };
                        Link::netfilter(&h.program, &at).map(|l| (h.hook, l))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| io_err("enter the caller's network namespace", e))?
            .map_err(|e| io_err("BPF_LINK_CREATE", e))?;
        test_pause();
        // bpffs refuses names with a dot.
        let new_dir = self.pin_dir.join(format!("{name}_new"));
        let refs: Vec<(usize, &Link)> = links.iter().map(|(h, l)| (*h, l)).collect();
        if let Err(e) = Self::pin(
            &new_dir,
            &loaded.maps.counters,
            loaded.maps.log.as_ref(),
            &refs,
        ) {
            // Dropping `links` closes the new links: the old ruleset alone stays.
            let _ = std::fs::remove_dir_all(&new_dir);
            return Err(e);
        }
        // The new ruleset is in force and pinned: let the caller record it, then retire the
        // old one. A failed commit drops the new links (the old ruleset alone stays).
        if let Err(e) = commit() {
            let _ = std::fs::remove_dir_all(&new_dir);
            return Err(e);
        }
        test_pause();
        let old = self.tables.remove(&name).map(|a| a.links);
        let stale = self.stale.remove(&name).map(|s| s.links);
        for l in old.iter().chain(stale.iter()).flatten() {
            let _ = l.detach();
        }
        let _ = std::fs::remove_dir_all(self.pin_dir.join(format!("{name}_stale")));
        let dir = self.pin_dir.join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&new_dir, &dir).map_err(|e| io_err("rename pin directory", e))?;
        let links = links.into_iter().map(|(_, l)| l).collect();
        let counters =
            Map::from_pinned(&dir.join("counters")).map_err(|e| io_err("reopen counters", e))?;
        self.tables.insert(
            name,
            Active {
                counters,
                links,
                entries: table.entries.len(),
                priority,
            },
        );
        Ok(())
    }

    fn counters(&self, table: &str) -> Vec<Counters> {
        let Some(a) = self.tables.get(table) else {
            return Vec::new();
        };
        (0..a.entries)
            .map(|i| {
                let key = u32::try_from(i).unwrap_or(u32::MAX).to_ne_bytes();
                let v = a
                    .counters
                    .sum_percpu_u64(&key)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                (
                    v.first().copied().unwrap_or(0),
                    v.get(1).copied().unwrap_or(0),
                )
            })
            .collect()
    }
}

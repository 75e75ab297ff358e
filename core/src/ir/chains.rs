//! The chain view of a table, and the builder that lays chains out as iptables does.
//!
//! Reading ([`Table::chains`]) follows libiptc's `parse_table`, so it is defined for every
//! table and agrees with what `iptables-legacy-save` shows:
//!
//! ```text
//! entry is the table's last entry      -> end marker: closes the current chain
//! entry is an ERROR entry "X"          -> closes the current chain, opens user chain X
//! entry is a valid hook's hook_entry   -> closes the current chain, opens the built-in chain,
//!                                         and is its first rule
//! anything else                        -> a rule of the current chain (dropped if none)
//! closing a chain                      -> its last rule becomes the foot: the policy of a
//!                                         built-in chain, the RETURN tail of a user chain
//! ```
//!
//! A jump to the very next entry reads as [`ChainTarget::Fallthrough`]; any other jump names
//! the first chain (in list order) whose head..=foot range contains the target offset, so a
//! jump into the middle of a chain shows as a jump to that chain.
//!
//! Writing ([`Ruleset::build`]) produces iptables-legacy 1.8.9's layout (spec §7):
//!
//! ```text
//! [INPUT rules][INPUT policy][FORWARD rules][FORWARD policy]...   built-ins in hook order
//! [ERROR "a"][a's rules][RETURN][ERROR "b"][b's rules][RETURN]... user chains by name
//! [ERROR "ERROR"]                                                  end marker
//! ```
//!
//! A jump or goto to a user chain points at the entry after its ERROR head: its first rule,
//! or its RETURN when it is empty.

use super::{
    write_byte, Counters, ErrorName, ExtTarget, IrError, IsGoto, Rule, Table, TableName, Target,
};
use crate::uapi::{TableInfo, HOOK_NAMES, NF_INET_NUMHOOKS, XT_FUNCTION_MAXNAMELEN};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use arrayvec::ArrayVec;
use core::fmt;

/// A chain name: a built-in chain's hook name, or a user chain's ERROR name (up to its NUL).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainName(ArrayVec<u8, XT_FUNCTION_MAXNAMELEN>);

impl ChainName {
    /// `name`, if it fits in an ERROR entry's 30-byte field (at most 30 bytes; [`Ruleset::build`]
    /// further requires 1..=29 bytes without NUL).
    pub fn new(name: &[u8]) -> Option<ChainName> {
        ArrayVec::try_from(name).ok().map(ChainName)
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&ErrorName> for ChainName {
    fn from(n: &ErrorName) -> Self {
        ChainName(n.as_bytes().iter().copied().collect())
    }
}

impl fmt::Display for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|&b| write_byte(f, b))
    }
}

impl fmt::Debug for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainName(\"{self}\")")
    }
}

/// A std verdict, as a policy or a chain tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// ACCEPT.
    Accept,
    /// DROP.
    Drop,
    /// QUEUE.
    Queue,
    /// RETURN.
    Return,
}

impl Verdict {
    /// iptables' label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Queue => "QUEUE",
            Verdict::Return => "RETURN",
        }
    }
}

/// A rule's target in the chain view: jumps name chains.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one table holds few extension targets; boxing would burden every match on the enum"
)]
pub enum ChainTarget {
    /// ACCEPT.
    Accept,
    /// DROP.
    Drop,
    /// QUEUE.
    Queue,
    /// RETURN.
    Return,
    /// Jump to a chain.
    Jump(ChainName),
    /// Goto a chain.
    Goto(ChainName),
    /// A jump or goto to the very next entry (iptables-save prints no target for it).
    Fallthrough {
        /// `IPT_F_GOTO` was set.
        goto: bool,
    },
    /// A jump whose target lies in no chain (libiptc refuses such a table).
    Unresolved {
        /// `IPT_F_GOTO` was set.
        goto: bool,
    },
    /// A target extension.
    Ext(ExtTarget),
}

impl IsGoto for ChainTarget {
    fn is_goto(&self) -> bool {
        matches!(
            self,
            ChainTarget::Goto(_)
                | ChainTarget::Fallthrough { goto: true }
                | ChainTarget::Unresolved { goto: true }
        )
    }
}

/// One chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Name (`INPUT`, ... for built-in chains).
    pub name: ChainName,
    /// The hook of a built-in chain; `None` for a user chain.
    pub hook: Option<usize>,
    /// The foot's verdict: a built-in chain's policy (ACCEPT or DROP when iptables wrote the
    /// table), RETURN for a user chain; `None` if the foot is no std verdict or missing.
    pub policy: Option<Verdict>,
    /// The foot's counters (a built-in chain's policy counters).
    pub counters: Counters,
    /// The rules, foot excluded.
    pub rules: Vec<Rule<ChainTarget>>,
}

impl Chain {
    /// An empty built-in chain for `hook` with `policy`.
    pub fn builtin(hook: usize, policy: Verdict) -> Option<Chain> {
        Some(Chain {
            name: ChainName::new(HOOK_NAMES.get(hook)?.as_bytes())?,
            hook: Some(hook),
            policy: Some(policy),
            counters: (0, 0),
            rules: Vec::new(),
        })
    }

    /// An empty user chain.
    pub fn user(name: &str) -> Option<Chain> {
        Some(Chain {
            name: ChainName::new(name.as_bytes())?,
            hook: None,
            policy: Some(Verdict::Return),
            counters: (0, 0),
            rules: Vec::new(),
        })
    }
}

/// A table as chains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruleset {
    /// Table name.
    pub name: TableName,
    /// The table's hooks.
    pub valid_hooks: u32,
    /// Chains in libiptc's list order (built-in chains first when iptables wrote the table,
    /// then user chains by name). [`Ruleset::build`] accepts any order.
    pub chains: Vec<Chain>,
}

impl Ruleset {
    /// The table's initial ruleset: one empty built-in chain per hook, policy ACCEPT.
    pub fn new(table: &TableInfo) -> Ruleset {
        let mut name = TableName::new();
        // Known table names are short ASCII; a failure would leave the name cut.
        let _ = name.try_push_str(table.name);
        let chains = (0..NF_INET_NUMHOOKS)
            .filter(|&h| table.valid_hooks & super::hook_bit(h) != 0)
            .filter_map(|h| Chain::builtin(h, Verdict::Accept))
            .collect();
        Ruleset {
            name,
            valid_hooks: table.valid_hooks,
            chains,
        }
    }

    /// The chain named `name`.
    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains
            .iter_mut()
            .find(|c| c.name.as_bytes() == name.as_bytes())
    }

    /// Lay the chains out exactly as iptables-legacy 1.8.9 does (module docs).
    pub fn build(&self) -> Result<Table, IrError> {
        // Check names and hooks.
        let mut by_name: BTreeMap<&[u8], usize> = BTreeMap::new();
        let mut builtin_of = [None; NF_INET_NUMHOOKS];
        for (i, c) in self.chains.iter().enumerate() {
            if by_name.insert(c.name.as_bytes(), i).is_some() {
                return Err(IrError::DuplicateChain { chain: i });
            }
            match c.hook {
                Some(h) => {
                    let slot = builtin_of
                        .get_mut(h)
                        .filter(|_| self.valid_hooks & super::hook_bit(h) != 0)
                        .ok_or(IrError::BadBuiltin { chain: i })?;
                    if slot.replace(i).is_some() {
                        return Err(IrError::BadBuiltin { chain: i });
                    }
                    if !matches!(c.policy, Some(Verdict::Accept | Verdict::Drop)) {
                        return Err(IrError::BadPolicy { chain: i });
                    }
                }
                None => {
                    let n = c.name.as_bytes();
                    if n.is_empty() || ErrorName::new(n).is_none() {
                        return Err(IrError::BadChainName { chain: i });
                    }
                }
            }
        }

        // Order: built-ins by hook, then user chains by name (strcmp order).
        let mut order = Vec::with_capacity(self.chains.len());
        for (h, slot) in builtin_of.iter().enumerate() {
            match slot {
                Some(i) => order.push(*i),
                None if self.valid_hooks & super::hook_bit(h) != 0 => {
                    return Err(IrError::MissingBuiltin { hook: h })
                }
                None => {}
            }
        }
        order.extend(
            by_name
                .values()
                .copied()
                .filter(|&i| self.chains.get(i).is_some_and(|c| c.hook.is_none())),
        );

        // Entry index of each chain's jump target (user chains only).
        let mut jump_to: BTreeMap<&[u8], usize> = BTreeMap::new();
        let mut next = 0usize;
        for &i in &order {
            let Some(c) = self.chains.get(i) else {
                continue;
            };
            if c.hook.is_none() {
                jump_to.insert(c.name.as_bytes(), next.saturating_add(1));
                next = next.saturating_add(1);
            }
            next = next.saturating_add(c.rules.len()).saturating_add(1);
        }

        let mut entries = Vec::with_capacity(next.saturating_add(1));
        let mut hook_entry = [None; NF_INET_NUMHOOKS];
        let mut underflow = [None; NF_INET_NUMHOOKS];
        for &i in &order {
            let Some(c) = self.chains.get(i) else {
                continue;
            };
            match c.hook {
                Some(h) => {
                    if let Some(slot) = hook_entry.get_mut(h) {
                        *slot = Some(entries.len());
                    }
                }
                None => {
                    let name = ErrorName::new(c.name.as_bytes())
                        .ok_or(IrError::BadChainName { chain: i })?;
                    entries.push(Rule::new(Target::Error(name)));
                }
            }
            for (r, rule) in c.rules.iter().enumerate() {
                let bad = IrError::BadJump { chain: i, rule: r };
                let resolve = |n: &ChainName| jump_to.get(n.as_bytes()).copied().ok_or(bad);
                let here = entries.len();
                let target = match &rule.target {
                    ChainTarget::Accept => Target::Accept,
                    ChainTarget::Drop => Target::Drop,
                    ChainTarget::Queue => Target::Queue,
                    ChainTarget::Return => Target::Return,
                    ChainTarget::Jump(n) => Target::Jump(resolve(n)?),
                    ChainTarget::Goto(n) => Target::Goto(resolve(n)?),
                    ChainTarget::Fallthrough { goto: false } => {
                        Target::Jump(here.saturating_add(1))
                    }
                    ChainTarget::Fallthrough { goto: true } => Target::Goto(here.saturating_add(1)),
                    ChainTarget::Unresolved { .. } => return Err(bad),
                    ChainTarget::Ext(x) => Target::Ext(x.clone()),
                };
                entries.push(rule.clone().with_target(target));
            }
            let foot = match (c.hook, c.policy) {
                (Some(_), Some(Verdict::Drop)) => Target::Drop,
                (Some(_), _) => Target::Accept,
                (None, _) => Target::Return,
            };
            if let Some(slot) = c.hook.and_then(|h| underflow.get_mut(h)) {
                *slot = Some(entries.len());
            }
            let mut foot = Rule::new(foot);
            foot.counters = c.counters;
            entries.push(foot);
        }
        entries.push(Rule::new(Target::Error(
            ErrorName::new(b"ERROR").ok_or(IrError::UnknownTable)?,
        )));

        Ok(Table {
            name: self.name,
            valid_hooks: self.valid_hooks,
            entries,
            hook_entry,
            underflow,
        })
    }
}

/// A chain being read, with the entry indices libiptc keeps for it.
struct Reading {
    chain: Chain,
    /// Byte offset of the head (ERROR entry, or a built-in chain's first entry).
    head: u32,
    /// Byte offset of the foot, once the chain is closed with one.
    foot: Option<u32>,
    /// Entry index of each rule, to resolve jumps afterwards.
    rule_entries: Vec<usize>,
}

impl Table {
    /// The chain view, read as libiptc reads a table (module docs). Total: any table has one.
    pub fn chains(&self) -> Ruleset {
        let offsets = self.offsets_saturating();
        let off = |i: usize| offsets.get(i).copied().unwrap_or(u32::MAX);
        let last = self.entries.len().checked_sub(1);
        let mut list: Vec<Reading> = Vec::new();
        let mut cur: Option<usize> = None;

        for (i, e) in self.entries.iter().enumerate() {
            if Some(i) == last {
                close(&mut list, cur, self, &off);
                cur = None;
                continue;
            }
            if let Target::Error(name) = &e.target {
                close(&mut list, cur, self, &off);
                let name = ChainName::from(name);
                // libiptc keeps user chains sorted as it meets them.
                let pos = match list.last() {
                    Some(t) if t.chain.hook.is_none() && name <= t.chain.name => list
                        .iter()
                        .position(|r| r.chain.hook.is_none() && name <= r.chain.name)
                        .unwrap_or(list.len()),
                    _ => list.len(),
                };
                list.insert(
                    pos,
                    Reading {
                        chain: Chain {
                            name,
                            hook: None,
                            policy: None,
                            counters: (0, 0),
                            rules: Vec::new(),
                        },
                        head: off(i),
                        foot: None,
                        rule_entries: Vec::new(),
                    },
                );
                cur = Some(pos);
                continue;
            }
            let hook = (0..NF_INET_NUMHOOKS).find(|&h| {
                self.valid_hooks & super::hook_bit(h) != 0
                    && self.hook_entry.get(h).copied().flatten() == Some(i)
            });
            if let Some(h) = hook {
                close(&mut list, cur, self, &off);
                let Some(chain) = Chain::builtin(h, Verdict::Accept) else {
                    continue;
                };
                list.push(Reading {
                    chain: Chain {
                        policy: None,
                        ..chain
                    },
                    head: off(i),
                    foot: None,
                    rule_entries: Vec::new(),
                });
                cur = list.len().checked_sub(1);
            }
            if let Some(r) = cur.and_then(|c| list.get_mut(c)) {
                r.rule_entries.push(i);
            }
        }

        // Second pass: targets, now that every chain's range is known.
        let mut chains = Vec::with_capacity(list.len());
        for r in &list {
            let mut chain = r.chain.clone();
            for &i in &r.rule_entries {
                let Some(e) = self.entries.get(i) else {
                    continue;
                };
                let jump = |to: u32, goto: bool| {
                    if to == off(i.saturating_add(1)) {
                        return ChainTarget::Fallthrough { goto };
                    }
                    let hit = list
                        .iter()
                        .find(|c| c.foot.is_some_and(|foot| c.head <= to && to <= foot));
                    match (hit, goto) {
                        (Some(c), false) => ChainTarget::Jump(c.chain.name.clone()),
                        (Some(c), true) => ChainTarget::Goto(c.chain.name.clone()),
                        (None, goto) => ChainTarget::Unresolved { goto },
                    }
                };
                let target = match &e.target {
                    Target::Accept => ChainTarget::Accept,
                    Target::Drop => ChainTarget::Drop,
                    Target::Queue => ChainTarget::Queue,
                    Target::Return => ChainTarget::Return,
                    Target::Jump(t) => jump(off(*t), false),
                    Target::Goto(t) => jump(off(*t), true),
                    Target::DanglingJump { offset, goto } => jump(*offset, *goto),
                    // Never reached: an ERROR entry always opens a chain.
                    Target::Error(_) => ChainTarget::Unresolved { goto: false },
                    Target::Ext(x) => ChainTarget::Ext(x.clone()),
                };
                chain.rules.push(e.clone().with_target(target));
            }
            chains.push(chain);
        }
        Ruleset {
            name: self.name,
            valid_hooks: self.valid_hooks,
            chains,
        }
    }

    /// True if the table is exactly what [`Ruleset::build`] makes of its own chain view:
    /// iptables' layout, nothing a chain view cannot say.
    pub fn is_iptables_layout(&self) -> bool {
        self.chains().build().as_ref() == Ok(self)
    }
}

/// libiptc's `__iptcc_p_del_policy`: the current chain's last rule becomes its foot.
fn close(list: &mut [Reading], cur: Option<usize>, t: &Table, off: &dyn Fn(usize) -> u32) {
    let Some(r) = cur.and_then(|c| list.get_mut(c)) else {
        return;
    };
    let Some(i) = r.rule_entries.pop() else {
        return;
    };
    let Some(e) = t.entries.get(i) else { return };
    r.foot = Some(off(i));
    r.chain.counters = e.counters;
    r.chain.policy = match e.target {
        Target::Accept => Some(Verdict::Accept),
        Target::Drop => Some(Verdict::Drop),
        Target::Queue => Some(Verdict::Queue),
        Target::Return => Some(Verdict::Return),
        _ => None,
    };
}

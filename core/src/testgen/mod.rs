//! Test support (feature `testgen`, also on under `cfg(test)`): a low-level blob builder that
//! can express every malformed layout of the spec, and the spec's §6 cases as data.
//!
//! The builder works on entries, not on chains, because the kernel has no chains: each
//! [`RawEntry`] may carry a label, jumps and hook offsets refer to labels or entry indices, and
//! every size and offset can be overridden to build broken blobs.

pub mod gen;
pub mod spec;

use crate::uapi::{
    IptIp, IPT_ENTRY_SIZE, IPT_REPLACE_SIZE, XT_ALIGN_TO, XT_EXTENSION_MAXNAMELEN,
    XT_FUNCTION_MAXNAMELEN, XT_HEADER_SIZE,
};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use zerocopy::IntoBytes;

/// Where a standard verdict points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V {
    /// ACCEPT (-2).
    Accept,
    /// DROP (-1).
    Drop,
    /// RETURN (-5).
    Return,
    /// QUEUE (-4).
    Queue,
    /// A literal verdict value.
    Raw(i32),
    /// Jump to the entry carrying this label, plus a byte delta.
    Label(String, i32),
}

/// A target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum T {
    /// The standard target with a verdict.
    Std(V),
    /// An ERROR target with this errorname.
    Error(String),
    /// Any target by name, revision and payload.
    Ext(RawExt),
}

/// A match or target object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExt {
    /// The 29-byte name field.
    pub name: [u8; XT_EXTENSION_MAXNAMELEN],
    /// Revision.
    pub revision: u8,
    /// Payload (padded with zeros to a multiple of 8 unless `size` is overridden).
    pub data: Vec<u8>,
    /// Override of the size field.
    pub size: Option<u16>,
}

impl RawExt {
    /// An extension object with a C-string name.
    pub fn new(name: &str, revision: u8, data: &[u8]) -> Self {
        let mut n = [0u8; XT_EXTENSION_MAXNAMELEN];
        for (d, s) in n.iter_mut().zip(name.bytes()) {
            *d = s;
        }
        RawExt {
            name: n,
            revision,
            data: data.to_vec(),
            size: None,
        }
    }

    fn padded_len(&self) -> usize {
        XT_HEADER_SIZE + self.data.len().div_ceil(XT_ALIGN_TO) * XT_ALIGN_TO
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let len = self.padded_len();
        let size = self.size.unwrap_or(u16::try_from(len).unwrap_or(u16::MAX));
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&self.name);
        out.push(self.revision);
        out.extend_from_slice(&self.data);
        out.resize(out.len() + (len - XT_HEADER_SIZE - self.data.len()), 0);
    }
}

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// Label other entries and hooks can refer to.
    pub label: Option<String>,
    /// The `ipt_ip` part.
    pub ip: IptIp,
    /// `nfcache`.
    pub nfcache: u32,
    /// `comefrom` as sent.
    pub comefrom: u32,
    /// Counters as sent.
    pub counters: (u64, u64),
    /// Matches.
    pub matches: Vec<RawExt>,
    /// Target.
    pub target: T,
    /// Override of `target_offset`.
    pub target_offset: Option<u16>,
    /// Override of `next_offset` (the entry's bytes are padded or cut to it).
    pub next_offset: Option<u16>,
    /// Bytes appended after the target (before any next_offset cut/pad).
    pub tail: Vec<u8>,
}

impl RawEntry {
    /// An unconditional entry with this target.
    pub fn new(target: T) -> Self {
        RawEntry {
            label: None,
            ip: IptIp::default(),
            nfcache: 0,
            comefrom: 0,
            counters: (0, 0),
            matches: Vec::new(),
            target,
            target_offset: None,
            next_offset: None,
            tail: Vec::new(),
        }
    }

    /// An unconditional standard entry.
    pub fn std(v: V) -> Self {
        Self::new(T::Std(v))
    }

    /// An ERROR entry (a user-chain head, or the final "ERROR").
    pub fn error(name: &str) -> Self {
        Self::new(T::Error(name.into()))
    }

    /// A conditional standard entry: source 10.0.0.0/8.
    pub fn src10(v: V) -> Self {
        let mut e = Self::std(v);
        e.ip.src = [10, 0, 0, 0];
        e.ip.smsk = [255, 0, 0, 0];
        e
    }

    /// Set the label.
    pub fn label(mut self, l: &str) -> Self {
        self.label = Some(l.into());
        self
    }

    /// Add a match.
    pub fn with_match(mut self, m: RawExt) -> Self {
        self.matches.push(m);
        self
    }

    /// Set the protocol.
    pub fn proto(mut self, p: u16) -> Self {
        self.ip.proto = p.into();
        self
    }

    fn natural_target_offset(&self) -> usize {
        IPT_ENTRY_SIZE + self.matches.iter().map(RawExt::padded_len).sum::<usize>()
    }

    fn target_len(&self) -> usize {
        match &self.target {
            T::Std(_) => XT_HEADER_SIZE + 8,
            T::Error(_) => XT_HEADER_SIZE + 32,
            T::Ext(x) => x.padded_len(),
        }
    }

    fn natural_len(&self) -> usize {
        self.natural_target_offset() + self.target_len() + self.tail.len()
    }

    /// This entry's size as laid out.
    pub fn len(&self) -> usize {
        self.next_offset.map_or(self.natural_len(), usize::from)
    }

    /// Never empty; present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// A hook offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Hk {
    /// Not set: 0xFFFFFFFF.
    #[default]
    Unset,
    /// The entry with this index.
    Entry(usize),
    /// The entry carrying this label.
    Label(String),
    /// A literal offset.
    Raw(u32),
}

/// A whole replace request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTable {
    /// Table name (up to 32 bytes, copied verbatim).
    pub name: Vec<u8>,
    /// `valid_hooks`.
    pub valid_hooks: u32,
    /// Entries in blob order.
    pub entries: Vec<RawEntry>,
    /// `hook_entry`.
    pub hook_entry: [Hk; 5],
    /// `underflow`.
    pub underflow: [Hk; 5],
    /// Override of `num_entries`.
    pub num_entries: Option<u32>,
    /// `num_counters`.
    pub num_counters: u32,
    /// `counters` pointer.
    pub counters_ptr: u64,
    /// Override of `size`.
    pub size: Option<u32>,
    /// Bytes appended to the blob (inside `size` unless `size` is overridden).
    pub trailing: Vec<u8>,
    /// Bytes appended after the blob, outside `size`.
    pub extra: Vec<u8>,
    /// Cut the optval to this many bytes.
    pub optlen: Option<usize>,
}

/// A user chain for [`RawTable::iptables_layout`]: name and rules.
pub type UserChain = (&'static str, Vec<RawEntry>);

impl RawTable {
    /// The layout iptables-legacy produces (spec §7): built-in chains in hook order, each
    /// `rules` followed by its policy, then user chains sorted by name (ERROR head, rules,
    /// RETURN), then the final ERROR. Labels: `NAME` on the first entry after a user chain's
    /// head, `@NAME` on the head, `P:HOOK` on each policy, `END` on the final ERROR.
    pub fn iptables_layout(
        name: &str,
        valid_hooks: u32,
        builtin: Vec<(Vec<RawEntry>, V)>,
        mut user: Vec<UserChain>,
        num_counters: u32,
    ) -> Self {
        let mut entries = Vec::new();
        let mut hook_entry: [Hk; 5] = Default::default();
        let mut underflow: [Hk; 5] = Default::default();
        let mut chains = builtin.into_iter();
        for h in 0..5 {
            if valid_hooks & (1 << h) == 0 {
                continue;
            }
            let (rules, policy) = chains.next().unwrap_or((Vec::new(), V::Accept));
            hook_entry[h] = Hk::Entry(entries.len());
            entries.extend(rules);
            underflow[h] = Hk::Entry(entries.len());
            entries.push(RawEntry::std(policy).label(&alloc::format!("P:{h}")));
        }
        user.sort_by(|a, b| a.0.cmp(b.0));
        for (cname, rules) in user {
            entries.push(RawEntry::error(cname).label(&alloc::format!("@{cname}")));
            let first = entries.len();
            entries.extend(rules);
            entries.push(RawEntry::std(V::Return));
            if let Some(e) = entries.get_mut(first) {
                if e.label.is_none() {
                    e.label = Some(cname.into());
                }
            }
        }
        entries.push(RawEntry::error("ERROR").label("END"));
        RawTable {
            name: name.as_bytes().to_vec(),
            valid_hooks,
            entries,
            hook_entry,
            underflow,
            num_entries: None,
            num_counters,
            counters_ptr: 0,
            size: None,
            trailing: Vec::new(),
            extra: Vec::new(),
            optlen: None,
        }
    }

    /// The stock filter table with these INPUT/FORWARD/OUTPUT rules and user chains.
    pub fn filter(
        input: Vec<RawEntry>,
        forward: Vec<RawEntry>,
        output: Vec<RawEntry>,
        user: Vec<UserChain>,
    ) -> Self {
        Self::iptables_layout(
            "filter",
            0x0E,
            vec![
                (input, V::Accept),
                (forward, V::Accept),
                (output, V::Accept),
            ],
            user,
            4,
        )
    }

    /// BASE of spec §6.1.
    pub fn base() -> Self {
        Self::filter(Vec::new(), Vec::new(), Vec::new(), Vec::new())
    }

    /// Byte offset of each entry.
    pub fn offsets(&self) -> Vec<usize> {
        let mut offs = Vec::with_capacity(self.entries.len());
        let mut pos = 0;
        for e in &self.entries {
            offs.push(pos);
            pos += e.len();
        }
        offs
    }

    /// Offset of the entry with label `l`.
    pub fn offset_of(&self, l: &str) -> Option<usize> {
        let offs = self.offsets();
        self.entries
            .iter()
            .position(|e| e.label.as_deref() == Some(l))
            .and_then(|i| offs.get(i).copied())
    }

    /// Index of the entry with label `l`.
    pub fn index_of(&self, l: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.label.as_deref() == Some(l))
    }

    fn hook_value(&self, h: &Hk) -> u32 {
        let offs = self.offsets();
        match h {
            Hk::Unset => u32::MAX,
            Hk::Entry(i) => offs.get(*i).map_or(u32::MAX, |&o| o as u32),
            Hk::Label(l) => self.offset_of(l).map_or(u32::MAX, |o| o as u32),
            Hk::Raw(v) => *v,
        }
    }

    /// The entries blob.
    pub fn blob(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            let start = out.len();
            out.extend_from_slice(e.ip.as_bytes());
            out.extend_from_slice(&e.nfcache.to_le_bytes());
            let to = e
                .target_offset
                .map_or(e.natural_target_offset(), usize::from);
            out.extend_from_slice(&(to as u16).to_le_bytes());
            out.extend_from_slice(&(e.len() as u16).to_le_bytes());
            out.extend_from_slice(&e.comefrom.to_le_bytes());
            out.extend_from_slice(&e.counters.0.to_le_bytes());
            out.extend_from_slice(&e.counters.1.to_le_bytes());
            for m in &e.matches {
                m.encode(&mut out);
            }
            match &e.target {
                T::Std(v) => {
                    RawExt::new("", 0, &[]).encode(&mut out);
                    // Fix the size field to 40.
                    let at = out.len() - XT_HEADER_SIZE;
                    out[at..at + 2].copy_from_slice(&40u16.to_le_bytes());
                    let verdict = match v {
                        V::Accept => -2,
                        V::Drop => -1,
                        V::Return => -5,
                        V::Queue => -4,
                        V::Raw(x) => *x,
                        V::Label(l, d) => self.offset_of(l).map_or(i32::MAX, |o| o as i32 + d),
                    };
                    out.extend_from_slice(&verdict.to_le_bytes());
                    out.extend_from_slice(&[0; 4]);
                }
                T::Error(name) => {
                    let mut data = vec![0u8; XT_FUNCTION_MAXNAMELEN + 2];
                    for (d, s) in data.iter_mut().zip(name.bytes()) {
                        *d = s;
                    }
                    RawExt::new("ERROR", 0, &data).encode(&mut out);
                }
                T::Ext(x) => x.encode(&mut out),
            }
            out.extend_from_slice(&e.tail);
            out.resize(start + e.len(), 0);
        }
        out.extend_from_slice(&self.trailing);
        out
    }

    /// The full optval: header + blob (+ extra), cut to `optlen` if set.
    pub fn optval(&self) -> Vec<u8> {
        let blob = self.blob();
        let mut out = Vec::with_capacity(IPT_REPLACE_SIZE + blob.len());
        let mut name = [0u8; 32];
        for (d, s) in name.iter_mut().zip(self.name.iter()) {
            *d = *s;
        }
        out.extend_from_slice(&name);
        out.extend_from_slice(&self.valid_hooks.to_le_bytes());
        let n = self.num_entries.unwrap_or(self.entries.len() as u32);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&self.size.unwrap_or(blob.len() as u32).to_le_bytes());
        for h in &self.hook_entry {
            out.extend_from_slice(&self.hook_value(h).to_le_bytes());
        }
        for h in &self.underflow {
            out.extend_from_slice(&self.hook_value(h).to_le_bytes());
        }
        out.extend_from_slice(&self.num_counters.to_le_bytes());
        out.extend_from_slice(&self.counters_ptr.to_le_bytes());
        out.extend_from_slice(&blob);
        out.extend_from_slice(&self.extra);
        if let Some(l) = self.optlen {
            out.resize(l, 0);
        }
        out
    }
}

//! Classifiers: a run of consecutive entries that differ only in one exact or prefix field
//! becomes one map lookup instead of one comparison per entry.
//!
//! ```text
//! entries k .. k+n-1 of one chain, each   common steps C  +  key term K_i  ->  ACCEPT/DROP
//!   exact key (port):   BPF_MAP_TYPE_HASH      K -> {first entry with key K, its verdict}
//!   prefix key (addr):  BPF_MAP_TYPE_LPM_TRIE  P -> {first entry whose prefix contains P, ...}
//! code:  C once; on a match look the key up; a hit counts the entry found and returns its
//!        verdict; a miss (or C not matching) goes on after the run
//! ```
//!
//! # Why first-match order is kept exactly
//!
//! Every entry of a run has the same conditions apart from its key term, so for a packet
//! that meets C the first matching entry is the first whose key term holds; a packet that
//! does not meet C matches none of them. Exact keys: the earliest entry with the packet's
//! key (later duplicates can never be reached). Prefix keys: the prefixes present that
//! contain an address form a chain ordered by length, ending at the longest one, and every
//! prefix of that chain contains the longest; so storing, for every prefix P present, the
//! smallest entry index among entries whose prefix contains P makes the trie's
//! longest-prefix answer the first matching entry. Only the deciding entry is counted: the
//! entries before it did not match, as in the kernel.
//!
//! # Hotdrop
//!
//! The kernel may drop a packet inside a match (a UDP match on a truncated header). For the
//! first entry of a run whose key holds, that happens when some header status is 2 and every
//! term before it held. The run's code checks C as one rule does; when C does not hold and
//! the packet has trouble, it looks the key up: on a miss only the statuses before the key's
//! position can drop (no entry gets past its key term), on a hit all of C's can (the key
//! held). See `compile_emit`.
//!
//! What is classified: destination or source port (tcp/udp, one port, not inverted), the
//! protocol (`-p`, not inverted), destination or source address with a prefix mask (/1../32,
//! not inverted), and the input or output interface (`-i`/`-o`, not inverted: an exact name
//! or a `name+` wildcard, any mask that covers whole leading bytes); targets ACCEPT and DROP;
//! anything with a side effect (limit, LOG, jumps) ends a run.
//!
//! Interfaces are prefixes of the device name's 16 bytes: x_tables compares
//! `(dev->name ^ rule name) & mask` over all 16 bytes, and iptables' masks cover the name
//! and its NUL (`eth0`: 5 bytes) or the name alone (`eth+`: 3 bytes), so a rule matches
//! exactly the devices whose name starts with its masked bytes: an LPM trie keyed by the
//! name, with the same first-match construction as addresses (bytes past the NUL, which a
//! renamed device may carry, are past every prefix that could end there).

use super::compile_rule::{Field, RuleInfo, Step, Term, Tgt};
use crate::uapi::IFNAMSIZ;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Shortest run worth a map lookup; shorter runs stay inline. Measured with `bpfilter
/// test-run --repeat 2000000` (min of 5) on packets that miss every rule, the worst case
/// for inline code: a port run costs 39-40 ns classified at any length against 36 / 41 / 47
/// ns inline at 8 / 16 / 24 rules; a /24 run 27 ns against 25 / 27 / 29 ns.
pub const CLASSIFY_MIN_RUN: usize = 16;

/// The field a run is keyed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyField {
    /// TCP/UDP destination port (exact).
    Dport,
    /// TCP/UDP source port (exact).
    Sport,
    /// Destination address with a prefix mask.
    Daddr,
    /// Source address with a prefix mask.
    Saddr,
    /// The IP protocol (exact).
    Proto,
    /// The input device's name, with a prefix (whole bytes) mask.
    Indev,
    /// The output device's name, with a prefix (whole bytes) mask.
    Outdev,
}

impl KeyField {
    /// Every key field, in the order runs are tried.
    const ALL: [KeyField; 7] = [
        KeyField::Dport,
        KeyField::Sport,
        KeyField::Daddr,
        KeyField::Saddr,
        KeyField::Proto,
        KeyField::Indev,
        KeyField::Outdev,
    ];

    /// The per-packet u32 field the key is read from; `None` for the device names (16
    /// bytes of their own in the fields area).
    pub(crate) fn field(self) -> Option<Field> {
        match self {
            KeyField::Dport => Some(Field::Dport),
            KeyField::Sport => Some(Field::Sport),
            KeyField::Daddr => Some(Field::Daddr),
            KeyField::Saddr => Some(Field::Saddr),
            KeyField::Proto => Some(Field::Proto),
            KeyField::Indev | KeyField::Outdev => None,
        }
    }

    /// Whether the key is a prefix (LPM trie) rather than an exact value (hash).
    pub fn is_prefix(self) -> bool {
        matches!(
            self,
            KeyField::Daddr | KeyField::Saddr | KeyField::Indev | KeyField::Outdev
        )
    }

    /// Bytes of a map key: a u32 port or protocol (host order), `{u32 prefixlen, u8
    /// addr[4]}`, or `{u32 prefixlen, u8 name[16]}`.
    pub fn key_size(self) -> u32 {
        match self {
            KeyField::Dport | KeyField::Sport | KeyField::Proto => 4,
            KeyField::Daddr | KeyField::Saddr => 8,
            KeyField::Indev | KeyField::Outdev => {
                4u32.saturating_add(u32::try_from(IFNAMSIZ).unwrap_or(u32::MAX))
            }
        }
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            KeyField::Dport => "dport",
            KeyField::Sport => "sport",
            KeyField::Daddr => "daddr",
            KeyField::Saddr => "saddr",
            KeyField::Proto => "proto",
            KeyField::Indev => "indev",
            KeyField::Outdev => "outdev",
        }
    }
}

/// One key of a run: a port, or an address prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// A port (host order).
    Port(u16),
    /// An IPv4 prefix: the address in host order (bits past `len` are zero) and its length.
    Prefix {
        /// Address, host order.
        addr: u32,
        /// Prefix length, 1..=32.
        len: u8,
    },
    /// An IP protocol.
    Proto(u8),
    /// A device name prefix: its first `len` bytes (the rest zero).
    Name {
        /// The name bytes.
        bytes: [u8; IFNAMSIZ],
        /// Bytes compared, 1..=16.
        len: u8,
    },
}

impl Key {
    /// The map key bytes: a port as a native-endian u32 (what the program stores from the
    /// field), a prefix as the LPM trie's `{u32 prefixlen (native), addr (network order)}`.
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Key::Port(p) => u32::from(p).to_ne_bytes().to_vec(),
            Key::Proto(p) => u32::from(p).to_ne_bytes().to_vec(),
            Key::Prefix { addr, len } => {
                let mut v = u32::from(len).to_ne_bytes().to_vec();
                v.extend_from_slice(&addr.to_be_bytes());
                v
            }
            Key::Name { bytes, len } => {
                let mut v = u32::from(len).saturating_mul(8).to_ne_bytes().to_vec();
                v.extend_from_slice(&bytes);
                v
            }
        }
    }

    /// The prefixes this one extends (shorter, same leading bits), shortest first; none for
    /// exact keys.
    fn ancestors(self) -> Vec<Key> {
        match self {
            Key::Prefix { addr, len } => (1..len)
                .map(|l| Key::Prefix {
                    addr: addr & prefix_mask(l),
                    len: l,
                })
                .collect(),
            Key::Name { bytes, len } => (1..len)
                .map(|l| {
                    let mut b = [0u8; IFNAMSIZ];
                    let n = usize::from(l);
                    if let (Some(d), Some(s)) = (b.get_mut(..n), bytes.get(..n)) {
                        d.copy_from_slice(s);
                    }
                    Key::Name { bytes: b, len: l }
                })
                .collect(),
            Key::Port(_) | Key::Proto(_) => Vec::new(),
        }
    }
}

/// Bytes of a classifier map value: `{u32 entry, u32 verdict}` (native endian).
pub const CLASSIFIER_VALUE_SIZE: u32 = 8;

/// One element of a classifier map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassifierElem {
    /// The key.
    pub key: Key,
    /// Table index of the entry that decides for this key.
    pub entry: u32,
    /// Its verdict (`NF_DROP` 0 or `NF_ACCEPT` 1).
    pub verdict: u32,
}

impl ClassifierElem {
    /// The map value bytes.
    pub fn value(&self) -> [u8; 8] {
        let mut v = [0u8; 8];
        let (a, b) = v.split_at_mut(4);
        a.copy_from_slice(&self.entry.to_ne_bytes());
        b.copy_from_slice(&self.verdict.to_ne_bytes());
        v
    }
}

/// A classified run and the contents of its map (the loader creates and fills it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classifier {
    /// First entry of the run (table index).
    pub first: usize,
    /// Entries in the run.
    pub len: usize,
    /// The key field.
    pub key: KeyField,
    /// The map's elements (one per distinct key).
    pub elems: Vec<ClassifierElem>,
}

/// A run as the emitter needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    /// First entry (table index).
    pub(crate) first: usize,
    /// Entries in the run.
    pub(crate) len: usize,
    /// The key field.
    pub(crate) key: KeyField,
    /// Where the key term sits among the steps (the common steps before it come first).
    pub(crate) pos: usize,
    /// The steps every entry shares (the key term removed).
    pub(crate) common: Vec<Step>,
    /// `(key, entry, verdict)` of every entry, in order.
    pub(crate) keys: Vec<(Key, usize, i32)>,
}

/// The key of term `t` for field `kf`, if `t` is a key term of that field.
fn key_of(t: &Term, kf: KeyField) -> Option<Key> {
    if let Term::Iface {
        out,
        name,
        mask,
        inv: false,
    } = *t
    {
        if kf
            != (if out {
                KeyField::Outdev
            } else {
                KeyField::Indev
            })
        {
            return None;
        }
        // Whole leading bytes under the mask, nothing after them.
        let len = mask.iter().take_while(|b| **b == 0xFF).count();
        if len == 0 || mask.iter().skip(len).any(|b| *b != 0) {
            return None;
        }
        let mut bytes = [0u8; IFNAMSIZ];
        if let (Some(d), Some(s)) = (bytes.get_mut(..len), name.get(..len)) {
            d.copy_from_slice(s);
        }
        return Some(Key::Name {
            bytes,
            len: u8::try_from(len).ok()?,
        });
    }
    let Term::Masked {
        f,
        mask,
        value,
        inv: false,
    } = *t
    else {
        return None;
    };
    if Some(f) != kf.field() {
        return None;
    }
    if kf == KeyField::Proto {
        // The field is one byte: a value past it never matches (dead code, not a key).
        return (mask == u32::MAX)
            .then(|| u8::try_from(value).ok().map(Key::Proto))
            .flatten();
    }
    if kf.is_prefix() {
        // The constants are the address bytes read in the machine's order.
        let m = u32::from_be_bytes(mask.to_ne_bytes());
        let a = u32::from_be_bytes(value.to_ne_bytes());
        let len = m.leading_ones();
        let full = u32::MAX.checked_shl(32u32.checked_sub(len)?).unwrap_or(0);
        // A prefix mask, and no address bits outside it (else the rule never matches).
        if len == 0 || m != full || a & !m != 0 {
            return None;
        }
        Some(Key::Prefix {
            addr: a,
            len: u8::try_from(len).ok()?,
        })
    } else {
        if mask != u32::MAX {
            return None;
        }
        Some(Key::Port(u16::try_from(value).ok()?))
    }
}

/// Entry `info` split for key field `kf`: (position of the key term, the key, the other
/// steps), if it can be in a run.
fn split(info: &RuleInfo, kf: KeyField) -> Option<(usize, Key, Vec<Step>, i32)> {
    let Tgt::Verdict(v) = info.target else {
        return None;
    };
    let mut found: Option<(usize, Key)> = None;
    for (i, s) in info.steps.iter().enumerate() {
        match s {
            // Side effects (limit) cannot be shared; a never-matching term makes the entry
            // dead code, which the plain path handles.
            Step::Limit(_) | Step::Term(Term::Never) => return None,
            Step::Term(t) => {
                if let Some(k) = key_of(t, kf) {
                    if found.is_some() {
                        // Two key terms of one field: which one is the key is ambiguous.
                        return None;
                    }
                    found = Some((i, k));
                }
            }
        }
    }
    let (pos, key) = found?;
    let mut rest = info.steps.clone();
    rest.remove(pos);
    Some((pos, key, rest, v))
}

/// The runs of at least `min` entries in `infos` (entry index -> analysis, `None` for an
/// entry the code generator cannot analyse). Runs are consecutive entries; for each start the
/// key field that gives the longest run wins, and scanning goes on after it.
pub(crate) fn find_runs(infos: &[Option<RuleInfo>], min: usize) -> Vec<Run> {
    let mut runs = Vec::new();
    let min = min.max(2);
    let mut i = 0usize;
    while i < infos.len() {
        let mut best: Option<Run> = None;
        if let Some(Some(first)) = infos.get(i) {
            for kf in KeyField::ALL {
                let Some((pos, key, common, v)) = split(first, kf) else {
                    continue;
                };
                let mut keys = alloc::vec![(key, i, v)];
                let mut j = i.saturating_add(1);
                while let Some(Some(next)) = infos.get(j) {
                    match split(next, kf) {
                        Some((p, k, c, v)) if p == pos && c == common => keys.push((k, j, v)),
                        _ => break,
                    }
                    j = j.saturating_add(1);
                }
                if best.as_ref().is_none_or(|b| keys.len() > b.len) {
                    best = Some(Run {
                        first: i,
                        len: keys.len(),
                        key: kf,
                        pos,
                        common,
                        keys,
                    });
                }
            }
        }
        match best.filter(|b| b.len >= min) {
            Some(b) => {
                i = i.saturating_add(b.len);
                runs.push(b);
            }
            None => i = i.saturating_add(1),
        }
    }
    runs
}

/// The mask of a prefix of `len` bits (host order).
fn prefix_mask(len: u8) -> u32 {
    match 32u32.checked_sub(u32::from(len)) {
        Some(32) | None => 0,
        Some(s) => u32::MAX.checked_shl(s).unwrap_or(0),
    }
}

/// The map contents of a run: exact keys map to their first entry; prefixes to the first
/// entry whose prefix contains them (see the module documentation).
pub(crate) fn elements(run: &Run) -> Vec<ClassifierElem> {
    let elem = |key: Key, (entry, v): (usize, i32)| ClassifierElem {
        key,
        entry: u32::try_from(entry).unwrap_or(u32::MAX),
        verdict: u32::try_from(v).unwrap_or(0),
    };
    // The earliest entry of every distinct key.
    let mut first: BTreeMap<Key, (usize, i32)> = BTreeMap::new();
    for &(k, e, v) in &run.keys {
        first.entry(k).or_insert((e, v));
    }
    if !run.key.is_prefix() {
        return first.into_iter().map(|(k, d)| elem(k, d)).collect();
    }
    let mut out = Vec::with_capacity(first.len());
    for (&k, &own) in &first {
        // Every prefix present that contains this one: its truncations.
        let mut best = own;
        for p in k.ancestors() {
            if let Some(&d) = first.get(&p) {
                if d.0 < best.0 {
                    best = d;
                }
            }
        }
        out.push(elem(k, best));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::compile_rule::LimitSpec;

    fn port_rule(p: u16, v: i32) -> RuleInfo {
        RuleInfo {
            steps: alloc::vec![
                Step::Term(Term::Masked {
                    f: Field::Saddr,
                    mask: u32::MAX,
                    value: 0x0200_000a,
                    inv: false,
                }),
                Step::Term(Term::Masked {
                    f: Field::Proto,
                    mask: u32::MAX,
                    value: 17,
                    inv: false,
                }),
                Step::Term(Term::Status(Field::L8St)),
                Step::Term(Term::Masked {
                    f: Field::Dport,
                    mask: u32::MAX,
                    value: u32::from(p),
                    inv: false,
                }),
            ],
            target: Tgt::Verdict(v),
        }
    }

    fn addr_rule(a: u32, len: u8, v: i32) -> RuleInfo {
        let m = prefix_mask(len);
        RuleInfo {
            steps: alloc::vec![Step::Term(Term::Masked {
                f: Field::Daddr,
                mask: u32::from_ne_bytes(m.to_be_bytes()),
                value: u32::from_ne_bytes((a & m).to_be_bytes()),
                inv: false,
            })],
            target: Tgt::Verdict(v),
        }
    }

    #[test]
    fn a_port_run_is_found_and_ends_at_a_different_entry() {
        let mut infos: Vec<Option<RuleInfo>> = (0..20).map(|p| Some(port_rule(p, 1))).collect();
        // Entry 20: another source address, same ports: not in the run.
        let mut other = port_rule(5, 1);
        if let Some(Step::Term(Term::Masked { value, .. })) = other.steps.get_mut(0) {
            *value = 0x0300_000a;
        }
        infos.push(Some(other));
        infos.push(None);
        let runs = find_runs(&infos, 8);
        assert_eq!(runs.len(), 1);
        let r = runs.first().unwrap();
        assert_eq!((r.first, r.len, r.key, r.pos), (0, 20, KeyField::Dport, 3));
        assert_eq!(r.common.len(), 3);
    }

    #[test]
    fn side_effects_inverted_keys_ranges_and_jumps_end_runs() {
        let mut infos: Vec<Option<RuleInfo>> = (0..10).map(|p| Some(port_rule(p, 0))).collect();
        let mut jump = port_rule(10, 0);
        jump.target = Tgt::Jump(99);
        infos.push(Some(jump));
        let mut inv = port_rule(11, 0);
        if let Some(Step::Term(Term::Masked { inv, .. })) = inv.steps.get_mut(3) {
            *inv = true;
        }
        infos.push(Some(inv));
        let mut limited = port_rule(12, 0);
        limited.steps.push(Step::Limit(LimitSpec {
            slot: 0,
            cost: 1,
            cap: 1,
            initial: 1,
        }));
        infos.push(Some(limited));
        infos.extend((13..22).map(|p| Some(port_rule(p, 1))));
        let runs = find_runs(&infos, 8);
        let spans: Vec<(usize, usize)> = runs.iter().map(|r| (r.first, r.len)).collect();
        assert_eq!(spans, [(0, 10), (13, 9)]);
        // Below the minimum: nothing.
        assert!(find_runs(&infos, 11).is_empty());
    }

    #[test]
    fn non_prefix_masks_and_stray_address_bits_are_not_keys() {
        let mut r = addr_rule(0x0a00_0000, 8, 1);
        assert!(split(&r, KeyField::Daddr).is_some());
        if let Some(Step::Term(Term::Masked { mask, .. })) = r.steps.get_mut(0) {
            *mask = u32::from_ne_bytes(0xff00_ff00u32.to_be_bytes());
        }
        assert!(split(&r, KeyField::Daddr).is_none());
        let mut r = addr_rule(0x0a00_0000, 8, 1);
        if let Some(Step::Term(Term::Masked { value, .. })) = r.steps.get_mut(0) {
            *value = u32::from_ne_bytes(0x0a00_0001u32.to_be_bytes());
        }
        assert!(split(&r, KeyField::Daddr).is_none());
    }

    #[test]
    fn duplicate_exact_keys_keep_the_earliest_entry() {
        let infos: Vec<Option<RuleInfo>> = [(7, 0), (8, 1), (7, 1), (9, 0), (8, 0)]
            .iter()
            .map(|&(p, v)| Some(port_rule(p, v)))
            .collect();
        let runs = find_runs(&infos, 2);
        let e = elements(runs.first().unwrap());
        let got: Vec<(Key, u32, u32)> = e.iter().map(|e| (e.key, e.entry, e.verdict)).collect();
        assert_eq!(
            got,
            [
                (Key::Port(7), 0, 0),
                (Key::Port(8), 1, 1),
                (Key::Port(9), 3, 0)
            ]
        );
    }

    /// xorshift64*, deterministic.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// The LPM trie's answer: the element with the longest prefix containing `a`.
    fn lpm(elems: &[ClassifierElem], a: u32) -> Option<(u32, u32)> {
        elems
            .iter()
            .filter_map(|e| match e.key {
                Key::Prefix { addr, len } if a & prefix_mask(len) == addr => Some((len, e)),
                _ => None,
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, e)| (e.entry, e.verdict))
    }

    /// Random overlapping prefix sets (few distinct high bits, so prefixes nest and
    /// repeat): the trie's longest match, with the stored values, is the brute-force first
    /// matching rule for every address tried.
    #[test]
    fn prefix_values_give_first_match_under_longest_prefix_lookup() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let n = usize::try_from(rng.below(40)).unwrap() + 2;
            let rules: Vec<(u32, u8, i32)> = (0..n)
                .map(|_| {
                    // Addresses from a small pool of patterns so that prefixes overlap.
                    let a = (u32::try_from(rng.below(4)).unwrap() << 30)
                        | (u32::try_from(rng.below(4)).unwrap() << 24)
                        | u32::try_from(rng.below(3)).unwrap();
                    let len = u8::try_from(rng.below(32)).unwrap() + 1;
                    let v = i32::try_from(rng.below(2)).unwrap();
                    (a & prefix_mask(len), len, v)
                })
                .collect();
            let infos: Vec<Option<RuleInfo>> = rules
                .iter()
                .map(|&(a, l, v)| Some(addr_rule(a, l, v)))
                .collect();
            let runs = find_runs(&infos, 2);
            assert_eq!(runs.len(), 1);
            let run = runs.first().unwrap();
            assert_eq!((run.first, run.len), (0, n));
            let elems = elements(run);
            let mut probes: Vec<u32> = rules.iter().map(|r| r.0).collect();
            probes.extend(rules.iter().map(|r| r.0 | !prefix_mask(r.1)));
            probes.extend((0..64).map(|_| {
                (u32::try_from(rng.below(4)).unwrap() << 30)
                    | (u32::try_from(rng.below(4)).unwrap() << 24)
                    | u32::try_from(rng.below(4)).unwrap()
            }));
            for a in probes {
                let brute = rules
                    .iter()
                    .enumerate()
                    .find(|(_, r)| a & prefix_mask(r.1) == r.0)
                    .map(|(i, r)| (u32::try_from(i).unwrap(), u32::try_from(r.2).unwrap()));
                assert_eq!(lpm(&elems, a), brute, "address {a:#010x}, rules {rules:?}");
            }
        }
    }

    #[test]
    fn key_bytes_are_what_the_program_and_the_trie_read() {
        assert_eq!(Key::Port(53).bytes(), 53u32.to_ne_bytes());
        let b = Key::Prefix {
            addr: 0x0a01_0000,
            len: 16,
        }
        .bytes();
        assert_eq!(b.get(..4).unwrap(), 16u32.to_ne_bytes());
        assert_eq!(b.get(4..).unwrap(), [10, 1, 0, 0]);
    }

    fn iface_rule(out: bool, name: &[u8], wildcard: bool, v: i32) -> RuleInfo {
        let mut n = [0u8; 16];
        n.get_mut(..name.len()).unwrap().copy_from_slice(name);
        let mut mask = [0u8; 16];
        // iptables: the name and its NUL, or the name alone for `name+`.
        let covered = if wildcard { name.len() } else { name.len() + 1 };
        mask.get_mut(..covered).unwrap().fill(0xFF);
        RuleInfo {
            steps: alloc::vec![Step::Term(Term::Iface {
                out,
                name: n,
                mask,
                inv: false,
            })],
            target: Tgt::Verdict(v),
        }
    }

    /// The trie's answer for a device name: the element with the longest name prefix
    /// the name starts with.
    fn lpm_name(elems: &[ClassifierElem], dev: &[u8; 16]) -> Option<(u32, u32)> {
        elems
            .iter()
            .filter_map(|e| match e.key {
                Key::Name { bytes, len } => {
                    let l = usize::from(len);
                    (dev.get(..l) == bytes.get(..l)).then_some((len, e))
                }
                _ => None,
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, e)| (e.entry, e.verdict))
    }

    /// Runs of `-i NAME` / `-i NAME+` rules (names from a small pool, so wildcards and
    /// exact names overlap and repeat): for every device name tried, with junk after its
    /// NUL as a renamed device may have, the trie's answer is the first rule whose masked
    /// bytes equal the device's (`ifname_compare_aligned`).
    #[test]
    fn interface_names_give_first_match_under_longest_prefix_lookup() {
        let pool: [&[u8]; 8] = [b"e", b"et", b"eth", b"eth0", b"eth1", b"eth10", b"lo", b"l"];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..300 {
            let n = usize::try_from(rng.below(30)).unwrap() + 2;
            let out = rng.below(2) == 1;
            let rules: Vec<(&[u8], bool, i32)> = (0..n)
                .map(|_| {
                    let name = pool[usize::try_from(rng.below(8)).unwrap()];
                    (
                        name,
                        rng.below(2) == 1,
                        i32::try_from(rng.below(2)).unwrap(),
                    )
                })
                .collect();
            let infos: Vec<Option<RuleInfo>> = rules
                .iter()
                .map(|&(nm, w, v)| Some(iface_rule(out, nm, w, v)))
                .collect();
            let runs = find_runs(&infos, 2);
            assert_eq!(runs.len(), 1);
            let run = runs.first().unwrap();
            assert_eq!((run.first, run.len), (0, n));
            let want = if out {
                KeyField::Outdev
            } else {
                KeyField::Indev
            };
            assert_eq!(run.key, want);
            let elems = elements(run);
            for dev in pool.iter().chain([&b"eth2"[..], b"x", b"eth01"].iter()) {
                let mut d = [0u8; 16];
                d.get_mut(..dev.len()).unwrap().copy_from_slice(dev);
                // Junk after the NUL: never compared by any rule's mask.
                if let Some(b) = d.get_mut(dev.len() + 1..) {
                    b.fill(0x5A);
                }
                let brute = infos.iter().enumerate().find_map(|(i, r)| {
                    let Some(Step::Term(Term::Iface { name, mask, .. })) =
                        r.as_ref().unwrap().steps.first()
                    else {
                        return None;
                    };
                    let hit = (0..16).all(|k| (d[k] ^ name[k]) & mask[k] == 0);
                    hit.then(|| {
                        (
                            u32::try_from(i).unwrap(),
                            u32::try_from(rules[i].2).unwrap(),
                        )
                    })
                });
                assert_eq!(
                    lpm_name(&elems, &d),
                    brute,
                    "device {dev:?}, rules {rules:?}"
                );
            }
        }
    }

    #[test]
    fn interface_masks_that_are_not_whole_leading_bytes_are_not_keys() {
        let mut r = iface_rule(false, b"eth0", false, 1);
        if let Some(Step::Term(Term::Iface { mask, .. })) = r.steps.get_mut(0) {
            mask[1] = 0x0F;
        }
        assert!(split(&r, KeyField::Indev).is_none());
        let mut r = iface_rule(false, b"eth0", false, 1);
        if let Some(Step::Term(Term::Iface { mask, .. })) = r.steps.get_mut(0) {
            mask[9] = 0xFF;
        }
        assert!(split(&r, KeyField::Indev).is_none());
        assert!(split(&iface_rule(true, b"eth0", false, 1), KeyField::Indev).is_none());
        assert!(split(&iface_rule(true, b"eth0", false, 1), KeyField::Outdev).is_some());
    }

    #[test]
    fn a_protocol_run_keeps_the_first_entry_of_each_protocol() {
        let rule = |p: u32, v: i32| RuleInfo {
            steps: alloc::vec![Step::Term(Term::Masked {
                f: Field::Proto,
                mask: u32::MAX,
                value: p,
                inv: false,
            })],
            target: Tgt::Verdict(v),
        };
        let infos: Vec<Option<RuleInfo>> = [(6, 1), (17, 0), (6, 0), (1, 1), (300, 1)]
            .iter()
            .map(|&(p, v)| Some(rule(p, v)))
            .collect();
        let runs = find_runs(&infos, 2);
        let run = runs.first().unwrap();
        // A protocol past one byte never matches: not a key, so it ends the run.
        assert_eq!((run.first, run.len, run.key), (0, 4, KeyField::Proto));
        assert_eq!(
            elements(run)
                .iter()
                .map(|e| (e.key, e.entry, e.verdict))
                .collect::<Vec<_>>(),
            [
                (Key::Proto(1), 3, 1),
                (Key::Proto(6), 0, 1),
                (Key::Proto(17), 1, 0)
            ]
        );
        let b = Key::Name {
            bytes: *b"eth0\0\0\0\0\0\0\0\0\0\0\0\0",
            len: 5,
        }
        .bytes();
        assert_eq!(b.get(..4).unwrap(), 40u32.to_ne_bytes());
        assert_eq!(b.get(4..9).unwrap(), b"eth0\0");
    }
}

//! Shared by the `loader*` tests: rulesets through the machine's own iptables-legacy-restore
//! (in a scratch network namespace), packet builders, and one-packet test runs with the
//! counters that moved.
#![allow(dead_code, reason = "each test file uses its own subset")]

use bpfilter_core::ir::Table;
use bpfilter_umh::cli::compile::{loader_options, tables_from_save};
use bpfilter_umh::loader::{self, LoadedTable};

/// The `filter` table iptables-legacy-restore makes of `rules` (iptables-save text).
pub fn table(rules: &str) -> Table {
    let mut tables = tables_from_save(rules.as_bytes()).expect("iptables-legacy-restore");
    assert_eq!(tables.len(), 1, "one table per ruleset");
    tables.remove(0).table
}

/// Compile and load every hook of `rules`.
pub fn load(rules: &str) -> (Table, LoadedTable) {
    let t = table(rules);
    let opts = loader_options().expect("BTF");
    let l = match loader::load_table(&t, &opts) {
        Ok(l) => l,
        Err(e) => panic!("load failed: {e}"),
    };
    (t, l)
}

/// Internet checksum.
pub fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An IPv4 header + `l4` (protocol `proto`), with `frag` the 16-bit flags/offset field.
#[derive(Clone, Debug)]
pub struct Ip {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub ttl: u8,
    pub frag: u16,
    pub id: u16,
}

impl Ip {
    pub fn new(src: [u8; 4], dst: [u8; 4], proto: u8) -> Ip {
        Ip {
            src,
            dst,
            proto,
            ttl: 64,
            frag: 0x4000,
            id: 0x1234,
        }
    }

    pub fn ttl(mut self, ttl: u8) -> Ip {
        self.ttl = ttl;
        self
    }

    /// A fragment at `offset` (in 8-byte units).
    pub fn fragment(mut self, offset: u16) -> Ip {
        self.frag = offset & 0x1fff;
        self
    }

    pub fn packet(&self, l4: &[u8]) -> Vec<u8> {
        let len = u16::try_from(20 + l4.len()).expect("length");
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&self.frag.to_be_bytes());
        p.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        p.extend_from_slice(&self.src);
        p.extend_from_slice(&self.dst);
        let c = csum(&p);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p.extend_from_slice(l4);
        p
    }
}

/// A TCP header with `flags` and `options` (padded to 4 bytes), then `payload`.
pub fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut opts = options.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(0);
    }
    let doff = u8::try_from((20 + opts.len()) / 4).expect("doff");
    tcp_doff(sport, dport, flags, doff, &opts, payload)
}

/// A TCP header with an explicit data offset (for malformed headers).
pub fn tcp_doff(
    sport: u16,
    dport: u16,
    flags: u8,
    doff: u8,
    opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        doff << 4,
        flags,
        0xff,
        0xff,
        0,
        0,
        0,
        0,
    ]);
    t.extend_from_slice(opts);
    t.extend_from_slice(payload);
    t
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).expect("length");
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

pub fn icmp(ty: u8, code: u8) -> Vec<u8> {
    vec![ty, code, 0, 0, 0, 1, 0, 1]
}

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const ACK: u8 = 0x10;

/// What one run did: the verdict (0 DROP, 1 ACCEPT) and the entries counted, with the
/// packets and bytes added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub verdict: u32,
    pub counted: Vec<(usize, u64, u64)>,
}

pub fn run(l: &LoadedTable, hook: usize, pkt: &[u8]) -> Run {
    let before = l.counters().expect("counters");
    let out = l.test_run(hook, pkt, 1).expect("test run");
    let after = l.counters().expect("counters");
    let counted = before
        .iter()
        .zip(&after)
        .enumerate()
        .filter(|(_, (b, a))| a.0 != b.0 || a.1 != b.1)
        .map(|(i, (b, a))| (i, a.0 - b.0, a.1 - b.1))
        .collect();
    Run {
        verdict: out.retval,
        counted,
    }
}

/// Expect `verdict` and exactly `entries` counted once each with the packet's length.
#[track_caller]
pub fn expect(
    l: &LoadedTable,
    hook: usize,
    pkt: &[u8],
    verdict: u32,
    entries: &[usize],
    what: &str,
) {
    let r = run(l, hook, pkt);
    let len = u64::try_from(pkt.len()).expect("len");
    let want: Vec<(usize, u64, u64)> = entries.iter().map(|e| (*e, 1, len)).collect();
    let mut got = r.counted.clone();
    got.sort_unstable();
    let mut want_sorted = want;
    want_sorted.sort_unstable();
    assert_eq!(
        (r.verdict, got),
        (verdict, want_sorted),
        "{what}: verdict and counted entries (entry, packets, bytes)"
    );
}

pub const DROP: u32 = 0;
pub const ACCEPT: u32 = 1;

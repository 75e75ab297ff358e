//! Arbitrary sequences of IPT_SO_* requests to the socket-option service (the daemon's request
//! handler, umh::service::NsTables, with an enforcer that accepts everything): no panic, and
//! the tables stay readable and self-consistent (GET_INFO and GET_ENTRIES agree on the size).
#![no_main]
use bpfilter_core::ext::Kind;
use bpfilter_core::ir::{Counters, Table};
use bpfilter_core::sockopt::Opt;
use bpfilter_umh::service::{ApplyError, Enforcer, NsTables};
use libfuzzer_sys::fuzz_target;

struct AcceptAll;
impl Enforcer for AcceptAll {
    fn supports(&self, _: Kind, name: &[u8], _: u8) -> bool {
        name != b"LOG"
    }
    fn apply(
        &mut self,
        _: &Table,
        _: &[u8],
        commit: &mut dyn FnMut() -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError> {
        commit()
    }
    fn counters(&self, _: &str) -> Vec<Counters> {
        Vec::new()
    }
}

const OPTS: [Opt; 6] = [
    Opt::SetReplace,
    Opt::SetAddCounters,
    Opt::GetInfo,
    Opt::GetEntries,
    Opt::GetRevisionMatch,
    Opt::GetRevisionTarget,
];

fuzz_target!(|data: &[u8]| {
    let mut ns = NsTables::new();
    let mut enf = AcceptAll;
    let mut rest = data;
    // Records: [opt selector][len lo][len hi][len bytes...]; optlen = the byte count.
    while rest.len() >= 3 {
        let opt = OPTS[usize::from(rest[0]) % OPTS.len()];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        let body = &rest[3..];
        let take = len.min(body.len());
        let _ = ns.call(opt, &body[..take], take, &mut enf);
        rest = &body[take..];
    }
    let mut q = [0u8; 84];
    q[..6].copy_from_slice(b"filter");
    let info = ns.get_info(&q, 84).expect("filter is always readable");
    let size = u32::from_le_bytes(info[80..84].try_into().unwrap());
    let mut e = vec![0u8; 40 + size as usize];
    e[..6].copy_from_slice(b"filter");
    e[32..36].copy_from_slice(&size.to_le_bytes());
    let got = ns.get_entries(&e, e.len(), &enf).expect("GET_ENTRIES with GET_INFO's size");
    assert_eq!(got.len(), e.len());
});

//! The service's tables against the kernel's: the same sequence of socket-option calls goes to
//! the kernel (in a throwaway network namespace) and to [`NsTables`]; every answer and every
//! byte written back must be equal.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use super::*;
use crate::capture::set_num_counters;
use crate::oracle::KernelOracle;
use crate::sys::ipt::IptSocket;
use bpfilter_core::testgen::gen::{random_ruleset, Rng};
use bpfilter_core::uapi::{
    IPT_SO_GET_ENTRIES, IPT_SO_GET_INFO, IPT_SO_SET_ADD_COUNTERS, IPT_SO_SET_REPLACE,
};

/// Applies nothing and counts nothing: the service's bookkeeping alone.
#[derive(Default)]
struct Recorder {
    applied: Vec<String>,
    fail_next: bool,
    /// Every hot-prefix hint, in order.
    hints: Vec<usize>,
}

impl Enforcer for Recorder {
    fn hint_hot_entries(&mut self, entries: usize) {
        self.hints.push(entries);
    }
    fn supports(&self, _: Kind, name: &[u8], _: u8) -> bool {
        name != b"LOG"
    }
    fn apply(
        &mut self,
        table: &Table,
        _: &[u8],
        commit: &mut dyn FnMut() -> Result<(), ApplyError>,
    ) -> Result<(), ApplyError> {
        commit()?;
        if std::mem::take(&mut self.fail_next) {
            return Err(ApplyError {
                errno: Errno::EINVAL,
                message: "refused".into(),
            });
        }
        self.applied.push(table.name.to_string());
        Ok(())
    }
    fn counters(&self, _: &str) -> Vec<Counters> {
        Vec::new()
    }
}

fn info_req(name: &str) -> Vec<u8> {
    let mut v = vec![0u8; 84];
    v[..name.len()].copy_from_slice(name.as_bytes());
    v
}

fn entries_req(name: &str, size: u32) -> Vec<u8> {
    let mut v = vec![0u8; 40 + size as usize];
    v[..name.len()].copy_from_slice(name.as_bytes());
    v[32..36].copy_from_slice(&size.to_le_bytes());
    v
}

fn compare_reads(sock: &IptSocket, ours: &mut NsTables, enf: &Recorder, table: &str) {
    let mut k = info_req(table);
    sock.get_raw(IPT_SO_GET_INFO, &mut k).unwrap();
    let o = ours.get_info(&info_req(table), 84).unwrap();
    assert_eq!(o, k, "GET_INFO {table}");
    let size = u32::from_le_bytes(k[80..84].try_into().unwrap());
    let mut k = entries_req(table, size);
    sock.get_raw(IPT_SO_GET_ENTRIES, &mut k).unwrap();
    let req = entries_req(table, size);
    let o = ours.get_entries(&req, req.len(), enf).unwrap();
    assert_eq!(o, k, "GET_ENTRIES {table}");
}

#[test]
fn same_answers_as_the_kernel() {
    let oracle = KernelOracle::new().unwrap();
    let sock = oracle.socket();
    let mut ours = NsTables::new();
    let mut enf = Recorder::default();
    for t in ["filter", "nat", "mangle", "raw", "security"] {
        compare_reads(sock, &mut ours, &enf, t);
    }
    let mut rng = Rng::new(7);
    for round in 0..40 {
        let rs = random_ruleset(&mut rng);
        let table = rs.build().unwrap();
        let name = table.name.to_string();
        // num_counters = the current count, as iptables does.
        let cur = u32::from_le_bytes(
            ours.get_info(&info_req(&name), 84).unwrap()[76..80]
                .try_into()
                .unwrap(),
        );
        let mut blob = table.to_replace(cur, 0);
        set_num_counters(&mut blob, cur);
        // Add counters to the current table first, so the old counters are not all zero.
        let mut add = vec![0u8; 40 + 16 * cur as usize];
        add[..name.len()].copy_from_slice(name.as_bytes());
        add[32..36].copy_from_slice(&cur.to_le_bytes());
        for i in 0..cur as usize {
            add[40 + 16 * i..48 + 16 * i].copy_from_slice(&(i as u64 + round).to_le_bytes());
            add[48 + 16 * i..56 + 16 * i].copy_from_slice(&(1000 * i as u64).to_le_bytes());
        }
        sock.set_raw(IPT_SO_SET_ADD_COUNTERS, &add).unwrap();
        ours.add_counters(&add).unwrap();
        compare_reads(sock, &mut ours, &enf, &name);
        let kernel_old = sock.replace_counters(&blob).unwrap();
        let ours_old = ours.set_replace(&blob, &mut enf).unwrap();
        let kernel_old: Vec<u8> = kernel_old
            .iter()
            .flat_map(|c| c.as_bytes().to_vec())
            .collect();
        assert_eq!(ours_old, kernel_old, "old counters, round {round}");
        compare_reads(sock, &mut ours, &enf, &name);
    }
    // Errors: the same errno for a stale num_counters (EAGAIN) and a broken blob.
    let table = random_ruleset(&mut Rng::new(99)).build().unwrap();
    let name = table.name.to_string();
    let stale = table.to_replace(1, 0);
    let k = sock.set_raw(IPT_SO_SET_REPLACE, &stale).unwrap_err();
    let o = ours.set_replace(&stale, &mut enf).unwrap_err();
    assert_eq!(o.errno.code(), k, "{name} stale num_counters");
    assert!(enf.applied.len() >= 40);
}

#[test]
fn a_failed_apply_keeps_the_old_table() {
    let mut ours = NsTables::new();
    let mut enf = Recorder::default();
    let before = ours.get_info(&info_req("filter"), 84).unwrap();
    let rs = random_ruleset(&mut Rng::new(3));
    let mut table = rs.build().unwrap();
    table.name = "filter".try_into().unwrap();
    enf.fail_next = true;
    let blob = {
        let mut rs = Ruleset::new(table_by_name(b"filter").unwrap());
        rs.chains[0].rules.push(bpfilter_core::ir::Rule::new(
            bpfilter_core::ir::ChainTarget::Drop,
        ));
        rs.build().unwrap().to_replace(4, 0)
    };
    let e = ours.set_replace(&blob, &mut enf).unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL);
    assert_eq!(ours.get_info(&info_req("filter"), 84).unwrap(), before);
    ours.set_replace(&blob, &mut enf).unwrap();
    assert_ne!(ours.get_info(&info_req("filter"), 84).unwrap(), before);
}

#[test]
fn revisions_follow_what_the_enforcer_supports() {
    let enf = Recorder::default();
    let mut q = vec![0u8; 30];
    q[..5].copy_from_slice(b"ERROR");
    assert!(NsTables::get_revision(&q, 30, Kind::Target, &enf).is_ok());
    assert_eq!(
        NsTables::get_revision(&q, 29, Kind::Target, &enf)
            .unwrap_err()
            .errno,
        Errno::EINVAL
    );
    q[29] = 1;
    assert_eq!(
        NsTables::get_revision(&q, 30, Kind::Target, &enf)
            .unwrap_err()
            .errno,
        Errno::EPROTONOSUPPORT
    );
    let mut q = vec![0u8; 30];
    q[..7].copy_from_slice(b"nosuchx");
    assert_eq!(
        NsTables::get_revision(&q, 30, Kind::Match, &enf)
            .unwrap_err()
            .errno,
        Errno::ENOENT
    );
}

#[test]
fn state_survives_save_and_load() {
    let mut ours = NsTables::new();
    let mut enf = Recorder::default();
    let rs = random_ruleset(&mut Rng::new(5));
    let table = rs.build().unwrap();
    let name = table.name.to_string();
    let cur = u32::from_le_bytes(
        ours.get_info(&info_req(&name), 84).unwrap()[76..80]
            .try_into()
            .unwrap(),
    );
    ours.set_replace(&table.to_replace(cur, 0), &mut enf)
        .unwrap();
    let n = table.entries.len() as u32;
    let mut add = vec![0u8; 40 + 16 * n as usize];
    add[..name.len()].copy_from_slice(name.as_bytes());
    add[32..36].copy_from_slice(&n.to_le_bytes());
    add[40] = 7;
    ours.add_counters(&add).unwrap();
    let dir = std::env::temp_dir().join(format!("bpfilter-state-{}", std::process::id()));
    ours.save_state(&dir).unwrap();
    let mut back = NsTables::load_state(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let size = u32::from_le_bytes(
        ours.get_info(&info_req(&name), 84).unwrap()[80..84]
            .try_into()
            .unwrap(),
    );
    let req = entries_req(&name, size);
    assert_eq!(
        back.get_info(&info_req(&name), 84).unwrap(),
        ours.get_info(&info_req(&name), 84).unwrap()
    );
    assert_eq!(
        back.get_entries(&req, req.len(), &enf).unwrap(),
        ours.get_entries(&req, req.len(), &enf).unwrap()
    );
    assert_eq!(back.tables().count(), 1);
}

/// The counters of the ruleset being replaced reach the enforcer as the hot prefix of the
/// next one: INPUT with 3,000 rules whose entry 2,400 took traffic (a thousandth of the
/// chain's packets or more) and whose later entries took a few stray packets; replaced by the
/// same rules plus 10, the hint covers entry 2,400 and the 10 new ones.
#[test]
fn the_old_counters_set_the_hot_prefix_of_the_replacement() {
    use bpfilter_core::ir::{Chain, ChainTarget, Rule, Ruleset};
    use bpfilter_core::uapi::table_by_name;
    let build = |n: usize| {
        let mut rs = Ruleset::new(table_by_name(b"filter").unwrap());
        let input: &mut Chain = rs
            .chains
            .iter_mut()
            .find(|c| c.name.as_bytes() == b"INPUT")
            .unwrap();
        input.rules = (0..n)
            .map(|i| {
                let mut r = Rule::new(ChainTarget::Accept);
                r.ip.src = std::net::Ipv4Addr::from(0x0a00_0000 + i as u32);
                r.ip.smsk = std::net::Ipv4Addr::BROADCAST;
                r
            })
            .collect();
        rs.build().unwrap()
    };
    let mut ours = NsTables::new();
    let mut enf = Recorder::default();
    let first = build(3000);
    let blob = first.to_replace(
        ours.get_info(&info_req("filter"), 84)
            .map_or(0, |i| u32::from_le_bytes(i[76..80].try_into().unwrap())),
        0,
    );
    ours.set_replace(&blob, &mut enf).unwrap();
    // Replacing the initial table, which took no traffic: the default prefix.
    assert_eq!(enf.hints, [bpfilter_core::codegen::DEFAULT_HOT_ENTRIES]);
    // INPUT's entries are 0..3000 (its policy 3000): entry 2400 takes 1000 packets of the
    // chain's 100,000, entry 2900 takes 10 (below a thousandth).
    let cur = first.entries.len();
    let mut add = vec![0u8; 40 + 16 * cur];
    add[..6].copy_from_slice(b"filter");
    add[32..36].copy_from_slice(&(cur as u32).to_le_bytes());
    for (i, p) in [
        (0usize, 50_000u64),
        (2400, 1000),
        (2900, 10),
        (3000, 48_990),
    ] {
        add[40 + 16 * i..48 + 16 * i].copy_from_slice(&p.to_le_bytes());
    }
    ours.add_counters(&add).unwrap();
    let next = build(3010);
    let blob = next.to_replace(cur as u32, 0);
    ours.set_replace(&blob, &mut enf).unwrap();
    assert_eq!(
        enf.hints,
        [bpfilter_core::codegen::DEFAULT_HOT_ENTRIES, 2401 + 10]
    );
}

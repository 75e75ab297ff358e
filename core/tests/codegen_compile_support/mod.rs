//! Tables built with `ir::Ruleset` for the code generator's tests, and fixed compile options
//! (made-up kfunc ids and struct offsets, so that the output does not depend on a kernel).
#![allow(dead_code, reason = "each test file uses its own subset")]

use bpfilter_core::codegen::{CompileOptions, DirectRead, Kfuncs, NfLayout};
use bpfilter_core::ext::matches::{Limit, MatchValue, Tcp, Udp};
use bpfilter_core::ext::targets::log::Log;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ir::{
    Chain, ChainName, ChainTarget, ExtTarget, Iface, IpMatch, Match, Rule, Ruleset, Table,
};
use bpfilter_core::uapi::table_by_name;
use core::net::Ipv4Addr;

pub fn opts() -> CompileOptions {
    CompileOptions {
        kfuncs: Kfuncs {
            dynptr_from_skb: 1001,
            dynptr_slice: 1002,
        },
        layout: NfLayout::REFERENCE,
        direct: Some(DirectRead {
            rdonly_cast: 1003,
            skb_data: 200,
            skb_data_len: 116,
        }),
        hz: 250,
        inline_max_entries: 4,
        cold_above: bpfilter_core::codegen::DEFAULT_COLD_ABOVE,
        hot_entries: bpfilter_core::codegen::DEFAULT_HOT_ENTRIES,
    }
}

pub type R = Rule<ChainTarget>;

pub fn rule(t: ChainTarget) -> R {
    Rule::new(t)
}

pub fn jump(c: &str) -> ChainTarget {
    ChainTarget::Jump(ChainName::new(c.as_bytes()).expect("name"))
}

pub fn goto(c: &str) -> ChainTarget {
    ChainTarget::Goto(ChainName::new(c.as_bytes()).expect("name"))
}

pub fn src(mut r: R, a: [u8; 4], prefix: u32) -> R {
    r.ip.src = Ipv4Addr::from(a);
    r.ip.smsk = Ipv4Addr::from(u32::MAX.checked_shl(32 - prefix).unwrap_or(0));
    r
}

pub fn proto(mut r: R, p: u16) -> R {
    r.ip.proto = p;
    r
}

pub fn iniface(mut r: R, name: &str) -> R {
    r.ip.iniface = Iface::parse(name).expect("iface");
    r
}

pub fn tcp_dport(mut r: R, port: u16) -> R {
    r.ip.proto = 6;
    let v = Tcp {
        spts: [0, 0xFFFF],
        dpts: [port, port],
        option: 0,
        flg_mask: 0,
        flg_cmp: 0,
        invflags: 0,
    };
    r.matches
        .push(Match::new("tcp", 0, MatchValue::Tcp(v)).expect("tcp"));
    r
}

pub fn udp_dport(mut r: R, port: u16) -> R {
    r.ip.proto = 17;
    let v = Udp {
        spts: [0, 0xFFFF],
        dpts: [port, port],
        invflags: 0,
    };
    r.matches
        .push(Match::new("udp", 0, MatchValue::Udp(v)).expect("udp"));
    r
}

pub fn limit(mut r: R, avg: u32, burst: u32) -> R {
    r.matches
        .push(Match::new("limit", 0, MatchValue::Limit(Limit { avg, burst })).expect("limit"));
    r
}

pub fn log(prefix: &str) -> ChainTarget {
    let mut p = [0u8; 30];
    for (d, s) in p.iter_mut().zip(prefix.bytes()) {
        *d = s;
    }
    ChainTarget::Ext(
        ExtTarget::new(
            "LOG",
            0,
            TargetValue::Log(Log {
                level: 4,
                logflags: 0,
                prefix: p,
            }),
        )
        .expect("LOG"),
    )
}

/// The filter table with `input` in INPUT and the user chains `chains`.
pub fn filter(input: Vec<R>, chains: Vec<(&str, Vec<R>)>) -> Table {
    let mut rs = Ruleset::new(table_by_name(b"filter").expect("filter"));
    rs.chain_mut("INPUT").expect("INPUT").rules = input;
    for (name, rules) in chains {
        let mut c = Chain::user(name).expect("chain");
        c.rules = rules;
        rs.chains.push(c);
    }
    rs.build().expect("build")
}

pub fn any_ip() -> IpMatch {
    IpMatch::default()
}

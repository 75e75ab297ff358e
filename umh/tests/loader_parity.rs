//! Counter parity with the kernel's own iptables on real traffic: the same ruleset runs as
//! x_tables in one fresh network namespace and as the generated programs in another, the
//! same datagrams go over loopback in both, and every entry's packet and byte counters must
//! come out the same. The kernel is the truth here, not a hand computation.

mod loader_support;

use bpfilter_core::blob::Entries;
use bpfilter_umh::cli::compile::loader_options;
use bpfilter_umh::loader;
use bpfilter_umh::sys::ipt::IptSocket;
use bpfilter_umh::sys::netns::{self, NetNs};
use loader_support::table;
use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Traffic that exercises addresses, ports, lengths, chains, goto/RETURN, multiport,
/// iprange, limit and conntrack states (each reply is ESTABLISHED, and a closed port makes
/// ICMP errors that are RELATED).
const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:udpin - [0:0]
:small - [0:0]
-A INPUT -m state --state ESTABLISHED -p udp -j ACCEPT
-A INPUT -m state --state RELATED -j ACCEPT
-A INPUT -p udp -j udpin
-A INPUT -p icmp -j DROP
-A OUTPUT -p udp -m multiport --dports 7001,7003:7004 -j ACCEPT
-A OUTPUT -m iprange --src-range 127.0.0.2-127.0.0.3 -j ACCEPT
-A OUTPUT -p udp -m length --length 0:60 -g small
-A udpin -p udp --dport 7001 -j ACCEPT
-A udpin -s 127.0.0.2 -p udp --dport 7002 -j DROP
-A udpin -p udp --sport 40001 -j RETURN
-A udpin -m limit --limit 1/hour --limit-burst 2 -j ACCEPT
-A udpin -p udp -j DROP
-A small -p udp --dport 7005 -j RETURN
-A small -j ACCEPT
COMMIT
";

/// Echo servers on 127.0.0.1:7001..=7004 (7005 is closed: ICMP port unreachable), clients
/// from 127.0.0.1..=3, several sizes. Bounded: every receive waits at most 100 ms.
fn traffic() {
    netns::link_up("lo").expect("lo up");
    let servers: Vec<UdpSocket> = (7001..=7004)
        .map(|p| {
            let s = UdpSocket::bind(("127.0.0.1", p)).expect("server");
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            s
        })
        .collect();
    let mut buf = [0u8; 2048];
    for (client, sport) in [
        ("127.0.0.1", 40001),
        ("127.0.0.2", 40002),
        ("127.0.0.3", 40003),
    ] {
        let c = UdpSocket::bind((client, sport)).expect("client");
        c.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        for (i, port) in (7001u16..=7005).enumerate() {
            for size in [10usize, 40, 300] {
                let msg = vec![u8::try_from(i).expect("i"); size];
                if c.send_to(&msg, ("127.0.0.1", port)).is_err() {
                    continue;
                }
                if let Some(s) = servers.get(usize::from(port - 7001)) {
                    if let Ok((n, from)) = s.recv_from(&mut buf) {
                        // The reply is ESTABLISHED for conntrack.
                        let _ = s.send_to(&buf[..n], from);
                        let _ = c.recv_from(&mut buf);
                    }
                } else {
                    // Closed port: the ICMP error makes the next send fail; read it off.
                    let _ = c.recv_from(&mut buf);
                }
            }
        }
    }
}

/// The filter table's counters, from IPT_SO_GET_ENTRIES.
fn kernel_counters() -> Vec<(u64, u64)> {
    let s = IptSocket::new().expect("socket");
    let info = s.get_info("filter").expect("info");
    let entries = s.get_entries("filter", info.size.get()).expect("entries");
    Entries::new(&entries)
        .iter()
        .map(|e| {
            let c = &e.header().counters;
            (c.pcnt.get(), c.bcnt.get())
        })
        .collect()
}

#[test]
fn counters_match_the_kernels_iptables_on_the_same_traffic() {
    parity(loader_options().expect("BTF"));
}

/// The same with every hook in cold mode (one entry inline, the rest interpreted from the
/// cold-code map): the interpreter's walk, jumps, gotos, RETURNs, limit and conntrack
/// matches against the kernel's counters.
#[test]
fn cold_mode_counters_match_the_kernels_iptables() {
    let mut opts = loader_options().expect("BTF");
    opts.compile.cold_above = 0;
    opts.compile.hot_entries = 1;
    parity(opts);
}

fn parity(opts: loader::LoaderOptions) {
    // x_tables in one namespace.
    let kernel = netns::in_new_netns(|| {
        let mut child = Command::new("iptables-legacy-restore")
            .stdin(Stdio::piped())
            .spawn()
            .expect("iptables-legacy-restore");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(RULES.as_bytes())
            .expect("write");
        assert!(child.wait().expect("wait").success());
        traffic();
        kernel_counters()
    })
    .expect("netns");

    // The generated programs in another. Conntrack only runs in a namespace where something
    // asked for it: an unreferenced chain with a state match in the raw table does (the raw
    // table's hooks sit at priority -300; the filter table's, at 0, would make the kernel
    // refuse a BPF link at the same priority).
    let t = table(RULES);
    let loaded = loader::load_table(&t, &opts).expect("load");
    let cold = opts.compile.cold_above == 0;
    assert!(loaded
        .hooks
        .iter()
        .all(|h| h.compiled.cold.is_some() == cold));
    let ns = NetNs::new().expect("netns");
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "iptables-legacy -t raw -N ct_on && iptables-legacy -t raw -A ct_on -m state --state NEW",
    ]);
    assert!(ns
        .command(&mut cmd)
        .expect("setns")
        .status()
        .expect("iptables")
        .success());
    let att = loaded.attach(Some(&ns)).expect("attach");
    ns.run(traffic).expect("thread");
    att.detach().expect("detach");
    let ours = loaded.counters().expect("counters");

    assert_eq!(ours.len(), kernel.len());
    let moved = kernel.iter().filter(|c| c.0 != 0).count();
    assert!(moved >= 10, "the traffic reaches most entries: {kernel:?}");
    for (i, (k, o)) in kernel.iter().zip(&ours).enumerate() {
        assert_eq!(
            k, o,
            "entry {i}: kernel (packets, bytes) vs ours\nkernel {kernel:?}\nours   {ours:?}"
        );
    }
}

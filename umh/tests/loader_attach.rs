//! Programs attached for real, in a fresh network namespace: UDP over loopback, interface
//! matching (which a test run cannot exercise: its context has no devices), and the
//! counters read back against what was sent.

mod loader_support;

use bpfilter_umh::loader;
use bpfilter_umh::sys::netns::{self, NetNs};
use loader_support::table;
use std::net::UdpSocket;
use std::time::Duration;

const RULES: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -p udp --dport 9999 -j DROP
-A INPUT ! -i lo -j DROP
-A INPUT -i l+ -p udp --dport 9998 -j ACCEPT
-A OUTPUT -o lo -p udp --dport 9999 -j ACCEPT
-A OUTPUT ! -o lo -j DROP
COMMIT
";

/// Send `n` datagrams of `size` payload bytes to `port`; how many arrived (each waited for
/// at most 200 ms).
fn send(n: usize, size: usize, port: u16) -> usize {
    let rx = UdpSocket::bind(("127.0.0.1", port)).expect("bind rx");
    rx.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind tx");
    let msg = vec![0x5a; size];
    let mut got = 0;
    for _ in 0..n {
        tx.send_to(&msg, ("127.0.0.1", port)).expect("send");
        let mut buf = vec![0u8; size + 1];
        if rx.recv_from(&mut buf).is_ok_and(|(len, _)| len == size) {
            got += 1;
        }
    }
    got
}

#[test]
fn attached_programs_drop_real_traffic_and_count_it() {
    let t = table(RULES);
    let opts = bpfilter_umh::cli::compile::loader_options().expect("BTF");
    let loaded = loader::load_table(&t, &opts).expect("load");
    let ns = NetNs::new().expect("netns");
    ns.run(|| netns::link_up("lo").expect("lo up"))
        .expect("thread");
    let att = loaded.attach(Some(&ns)).expect("attach");
    let (dropped, passed) = ns
        .run(|| (send(5, 100, 9999), send(3, 100, 9998)))
        .expect("thread");
    assert_eq!(
        (dropped, passed),
        (0, 3),
        "9999 dropped at INPUT, 9998 accepted"
    );

    // Entries: 0..2 INPUT rules, 3 INPUT policy, 4 FORWARD policy, 5..6 OUTPUT rules,
    // 7 OUTPUT policy, 8 end marker. Each datagram is 20 + 8 + 100 = 128 bytes at both hooks.
    let c = loaded.counters().expect("counters");
    let want = [
        (5, 640), // -i lo --dport 9999 DROP
        (0, 0),   // ! -i lo: every packet came in on lo
        (3, 384), // -i l+ --dport 9998 ACCEPT
        (0, 0),
        (0, 0),
        (5, 640), // -o lo --dport 9999 ACCEPT
        (0, 0),   // ! -o lo
        (3, 384), // OUTPUT policy for 9998
        (0, 0),
    ];
    assert_eq!(c, want, "counters in entry order");

    // Detached: traffic flows again, counters stay.
    att.detach().expect("detach");
    let after = ns.run(|| send(2, 100, 9999)).expect("thread");
    assert_eq!(after, 2);
    assert_eq!(loaded.counters().expect("counters"), want);
}

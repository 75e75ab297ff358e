//! Netfilter BPF programs on the real kernel (root): a UDP dropper built with the codegen
//! Builder, loaded through `sys::bpf`, test-run at LOCAL_OUT and LOCAL_IN, rejected programs
//! carrying the verifier log, and a link attached in a throwaway network namespace.

use bpfilter_core::codegen::{
    emit_l3_prologue, roles, verdict, Builder, Cond, Insn, Kfuncs, Reg, Size,
};
use bpfilter_core::uapi::{NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT};
use bpfilter_umh::sys::bpf::{
    nf_hook_state, BpfError, Link, LoadOptions, NetfilterAttach, Program, TestRun, LOG_LEVEL2,
    LOG_STATS, NFPROTO_IPV4,
};
use bpfilter_umh::sys::btf::Btf;
use bpfilter_umh::sys::netns;
use std::io::ErrorKind;
use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

fn kfuncs() -> Kfuncs {
    Btf::from_sys_fs()
        .and_then(|b| b.kfuncs())
        .expect("kfunc ids from vmlinux BTF")
}

/// Drop IPv4 UDP, accept everything else (and packets shorter than an IPv4 header).
fn udp_dropper(k: &Kfuncs) -> Vec<Insn> {
    let mut b = Builder::new();
    let accept = b.new_label();
    emit_l3_prologue(&mut b, k, 20, accept).expect("prologue");
    b.load(Size::B, Reg::R1, roles::L3, 9)
        .jmp_if(Cond::Ne, Reg::R1, i32::from(IPPROTO_UDP), accept)
        .ret(verdict::DROP)
        .bind(accept)
        .ret(verdict::ACCEPT);
    b.finish().expect("labels resolve")
}

fn load(insns: &[Insn], name: &str) -> (Program, bpfilter_umh::sys::bpf::LoadStats) {
    let opts = LoadOptions {
        name,
        ..LoadOptions::default()
    };
    match Program::load_netfilter(insns, &opts) {
        Ok(p) => p,
        Err(e) => panic!("load failed: {e}"),
    }
}

/// An IPv4 packet 10.0.0.1 -> 10.0.0.2 with an 8-byte transport header and 4 payload bytes.
fn ipv4(proto: u8) -> Vec<u8> {
    let mut p = vec![
        0x45, 0, 0, 32, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let sum = p
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let folded = (sum & 0xffff) + (sum >> 16);
    let csum = !u16::try_from((folded & 0xffff) + (folded >> 16)).expect("folded");
    p[10..12].copy_from_slice(&csum.to_be_bytes());
    p.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, b'p', b'i', b'n', b'g']);
    p
}

/// The same packet behind an Ethernet header, as test runs at hooks other than LOCAL_OUT
/// need (the kernel runs `eth_type_trans` on it).
fn ether(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

fn hook(h: usize) -> u8 {
    u8::try_from(h).expect("hook number")
}

#[test]
fn udp_dropper_verdicts_at_local_out_and_local_in() {
    let k = kfuncs();
    let insns = udp_dropper(&k);
    let (prog, stats) = load(&insns, "bpfilter_udp");
    assert_eq!(stats.insn_cnt, insns.len());
    assert_eq!(
        stats.processed_insns,
        Some(u64::from(stats.verified_insns)),
        "log and prog_info agree; log:\n{}",
        stats.log
    );
    assert!(stats.verified_insns >= 20, "{stats:?}");
    assert!(stats.jited_len > 0, "JIT is on: {stats:?}");
    let info = prog.info().expect("prog info");
    assert_eq!((info.id, info.name.as_str()), (stats.id, "bpfilter_udp"));

    let state_in = nf_hook_state(hook(NF_INET_LOCAL_IN), 2);
    for (proto, want) in [(IPPROTO_UDP, verdict::DROP), (IPPROTO_TCP, verdict::ACCEPT)] {
        let want = u32::try_from(want).expect("verdict");
        let pkt = ipv4(proto);
        let out = prog
            .test_run(&TestRun {
                data: &pkt,
                ctx: None,
                repeat: 1,
            })
            .expect("LOCAL_OUT test run");
        assert_eq!(out.retval, want, "LOCAL_OUT, protocol {proto}");
        let frame = ether(&pkt);
        let out = prog
            .test_run(&TestRun {
                data: &frame,
                ctx: Some(&state_in),
                repeat: 1,
            })
            .expect("LOCAL_IN test run");
        assert_eq!(out.retval, want, "LOCAL_IN, protocol {proto}");
    }
    // Without the Ethernet header the kernel reads the IPv4 addresses as the EtherType.
    let r = prog.test_run(&TestRun {
        data: &ipv4(IPPROTO_UDP),
        ctx: Some(&state_in),
        repeat: 1,
    });
    assert_eq!(r.err().and_then(|e| e.errno()), Some(libc::EINVAL));
}

#[test]
fn test_run_timing_with_a_million_repeats() {
    let mut b = Builder::new();
    b.ret(verdict::ACCEPT);
    let (tiny, _) = load(&b.finish().expect("finish"), "bpfilter_tiny");
    let (dropper, stats) = load(&udp_dropper(&kfuncs()), "bpfilter_udp");
    let pkt = ipv4(IPPROTO_UDP);
    let run = TestRun {
        data: &pkt,
        ctx: None,
        repeat: 1_000_000,
    };
    let t = tiny.test_run(&run).expect("tiny run");
    let d = dropper.test_run(&run).expect("dropper run");
    assert_eq!((t.retval, d.retval), (1, 0));
    assert!(t.duration_ns > 0 && t.duration_ns < 10_000, "{t:?}");
    assert!(d.duration_ns > 0 && d.duration_ns < 10_000, "{d:?}");
    println!(
        "r0 = 1; exit: {} ns/run; {}-insn UDP dropper: {} ns/run (JIT {} bytes, verified {} \
         insns, load {:?})",
        t.duration_ns,
        stats.insn_cnt,
        d.duration_ns,
        stats.jited_len,
        stats.verified_insns,
        stats.load_time
    );
}

#[test]
fn rejected_program_error_carries_the_whole_verifier_log() {
    // r5 is never written: the verifier refuses to read it.
    let mut b = Builder::new();
    b.mov64(Reg::R0, Reg::R5).exit();
    let insns = b.finish().expect("finish");
    let err = Program::load_netfilter(&insns, &LoadOptions::default()).expect_err("rejected");
    let BpfError::Verifier { errno, log, .. } = &err else {
        panic!("not a verifier error: {err}");
    };
    assert_eq!(*errno, libc::EACCES, "{err}");
    assert!(log.contains("R5 !read_ok"), "log:\n{log}");
    // The reload at level 1 put the instruction trace in, not just the summary.
    assert!(log.contains("0: (bf) r0 = r5"), "log:\n{log}");
    assert!(err.to_string().contains("R5 !read_ok"));

    // A verdict other than 0 or 1 is refused for netfilter programs.
    let mut b = Builder::new();
    b.ret(2);
    let err = Program::load_netfilter(&b.finish().expect("finish"), &LoadOptions::default())
        .expect_err("return 2 is refused");
    let log = err.verifier_log().expect("verifier log");
    assert!(log.contains("R0"), "log:\n{log}");

    // A log buffer far too small still ends with the whole log, after retries. (Level 2:
    // at level 1 the verifier discards the trace of every path that verified.)
    let opts = LoadOptions {
        log_level: LOG_LEVEL2 | LOG_STATS,
        log_size: 64,
        ..LoadOptions::default()
    };
    let (_, stats) = Program::load_netfilter(&udp_dropper(&kfuncs()), &opts).expect("loads");
    assert!(stats.attempts > 1, "{stats:?}");
    assert!(stats.log.len() > 64);
    assert!(
        stats.log.contains("call bpf_dynptr_from_skb"),
        "{}",
        stats.log
    );
    assert_eq!(stats.processed_insns, Some(u64::from(stats.verified_insns)));
}

/// Run `f` on a thread in a new network namespace with `lo` up; the namespace disappears
/// when the thread ends.
fn in_fresh_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    netns::in_new_netns(|| {
        netns::link_up("lo").expect("lo up");
        f()
    })
    .expect("new netns")
}

/// Send one datagram over loopback; `Ok(true)` if it arrived within 1 s.
fn udp_arrives(rx: &UdpSocket, tx: &UdpSocket, msg: &[u8]) -> std::io::Result<bool> {
    tx.send_to(msg, rx.local_addr()?)?;
    let mut buf = [0u8; 64];
    match rx.recv_from(&mut buf) {
        Ok((n, _)) => Ok(buf.get(..n) == Some(msg)),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
        Err(e) => Err(e),
    }
}

#[test]
fn netfilter_link_drops_udp_in_a_fresh_netns_and_leaves_nothing_behind() {
    let k = kfuncs();
    let (link_ids, prog_id) = in_fresh_netns(move || {
        let (prog, stats) = load(&udp_dropper(&k), "bpfilter_udp");
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind rx");
        rx.set_read_timeout(Some(Duration::from_secs(1)))
            .expect("timeout");
        let tx = UdpSocket::bind("127.0.0.1:0").expect("bind tx");
        assert!(udp_arrives(&rx, &tx, b"before").expect("before"));

        let at = NetfilterAttach {
            pf: NFPROTO_IPV4,
            hooknum: u32::try_from(NF_INET_LOCAL_IN).expect("hook"),
            priority: -128,
            flags: 0,
        };
        let link = Link::netfilter(&prog, &at).expect("link at LOCAL_IN");
        let info = link.info().expect("link info");
        assert_eq!(info.prog_id, stats.id);
        assert_eq!(info.netfilter, Some(at));
        assert!(
            !udp_arrives(&rx, &tx, b"during").expect("during"),
            "UDP must be dropped at LOCAL_IN"
        );
        let mut ids = vec![info.id];
        drop(link);

        // At LOCAL_OUT the drop is reported to the sender.
        let out = NetfilterAttach {
            hooknum: u32::try_from(NF_INET_LOCAL_OUT).expect("hook"),
            ..at
        };
        let link = Link::netfilter(&prog, &out).expect("link at LOCAL_OUT");
        ids.push(link.info().expect("info").id);
        let err = tx
            .send_to(b"out", rx.local_addr().expect("addr"))
            .expect_err("dropped at LOCAL_OUT");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        link.detach().expect("explicit detach");
        drop(link);

        assert!(
            udp_arrives(&rx, &tx, b"after").expect("after"),
            "after closing the links UDP flows again (and the dropped one never queued)"
        );
        (ids, stats.id)
    });

    let out = Command::new("bpftool")
        .args(["-j", "link", "show"])
        .output()
        .expect("bpftool");
    assert!(out.status.success());
    let json = String::from_utf8_lossy(&out.stdout);
    for id in link_ids {
        assert!(
            !json.contains(&format!("\"id\":{id},")),
            "link {id} still listed: {json}"
        );
    }
    assert!(
        !json.contains(&format!("\"prog_id\":{prog_id},")),
        "a link still holds program {prog_id}: {json}"
    );
}

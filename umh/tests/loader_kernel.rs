//! The loader against the real kernel (root): what it refuses and why, the kernel facts the
//! refusals rest on, the jump-stack overflow drop, and attach-all-or-none.

mod loader_support;

use bpfilter_core::codegen::{Builder, CompileError, Reg, Size};
use bpfilter_core::ir::{Rule, Table, TableName, Target};
use bpfilter_core::uapi::{NF_INET_FORWARD, NF_INET_LOCAL_IN as IN, NF_INET_NUMHOOKS};
use bpfilter_umh::cli::compile::loader_options;
use bpfilter_umh::loader::{self, LoaderError};
use bpfilter_umh::sys::bpf::{Link, LoadOptions, NetfilterAttach, Program, NFPROTO_IPV4};
use bpfilter_umh::sys::btf::Btf;
use bpfilter_umh::sys::netns::{self, NetNs};
use loader_support::*;
use std::net::UdpSocket;
use std::time::Duration;

const HEAD: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";

fn load_err(body: &str) -> LoaderError {
    let t = table(&format!("{HEAD}{body}COMMIT\n"));
    let opts = loader_options().expect("BTF");
    match loader::load_table(&t, &opts) {
        Ok(_) => panic!("loaded, but should have been refused: {body}"),
        Err(e) => e,
    }
}

#[test]
fn unsupported_extensions_are_refused_by_name_before_loading() {
    let e = load_err("-A INPUT -p tcp -j REJECT --reject-with tcp-reset\n");
    assert!(
        matches!(
            e,
            LoaderError::Compile(CompileError::UnsupportedTarget {
                name: "REJECT",
                entry: 0,
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("\"REJECT\""), "{e}");

    let e = load_err("-A INPUT -m string --string foo --algo bm -j DROP\n");
    assert!(
        matches!(
            e,
            LoaderError::Compile(CompileError::UnsupportedMatch { name: "string", .. })
        ),
        "{e}"
    );

    // The refusal is about the reachable entries of every hook: one in OUTPUT is enough.
    let e = load_err("-A INPUT -j ACCEPT\n-A OUTPUT -j MARK --set-mark 1\n");
    assert!(
        matches!(
            e,
            LoaderError::Compile(CompileError::UnsupportedTarget { name: "MARK", .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("skb->mark"), "{e}");

    // conntrack options that need the conntrack entry itself.
    let e = load_err("-A INPUT -m conntrack --ctorigsrc 10.0.0.1 -j DROP\n");
    assert!(
        matches!(
            e,
            LoaderError::Compile(CompileError::UnsupportedMatch {
                name: "conntrack",
                ..
            })
        ),
        "{e}"
    );
}

/// Why MARK is refused: the verifier does not let a netfilter program write `skb->mark`.
#[test]
fn kernel_refuses_skb_mark_writes_from_netfilter_programs() {
    let btf = Btf::from_sys_fs().expect("BTF");
    let mark = btf.nf_offsets().expect("offsets").skb_mark;
    let mark = i16::try_from(mark.byte_offset().expect("byte offset")).expect("offset");
    let mut b = Builder::new();
    b.load(Size::DW, Reg::R2, Reg::R1, 8)
        .mov64(Reg::R3, 7)
        .store(Size::W, Reg::R2, mark, Reg::R3)
        .ret(1);
    let insns = b.finish().expect("finish");
    let err = Program::load_netfilter(&insns, &LoadOptions::default()).expect_err("refused");
    let log = err.verifier_log().expect("verifier log");
    assert!(log.contains("only read is supported"), "{log}");
}

fn handmade(entries: Vec<Rule>, hook: usize, hook_entry: usize, underflow: usize) -> Table {
    let mut he = [None; NF_INET_NUMHOOKS];
    let mut uf = [None; NF_INET_NUMHOOKS];
    he[hook] = Some(hook_entry);
    uf[hook] = Some(underflow);
    let mut name = TableName::new();
    name.push_str("filter");
    Table {
        name,
        valid_hooks: 1 << hook,
        entries,
        hook_entry: he,
        underflow: uf,
    }
}

/// `ipt_do_table` drops when a jump would push beyond the jump stack, whose size is the
/// number of ERROR entries (`stackidx >= private->stacksize`); the entry is counted first.
#[test]
fn jump_stack_overflow_drops_like_the_kernel() {
    let opts = loader_options().expect("BTF");
    let pkt = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&udp(1, 2, b"x"));
    // 0: jump 2, 1: policy ACCEPT, 2: RETURN. No ERROR entry: a stack of size 0.
    let entries = vec![
        Rule::new(Target::Jump(2)),
        Rule::new(Target::Accept),
        Rule::new(Target::Return),
    ];
    let t = handmade(entries.clone(), IN, 0, 1);
    let l = loader::load_table(&t, &opts).expect("load");
    assert!(l.hooks[0].compiled.stats.tracks_depth);
    expect(&l, IN, &pkt, DROP, &[0], "push beyond a zero-size stack");

    // One ERROR entry (never reached) makes room for the jump.
    let mut with_error = entries;
    with_error.push(Rule::new(Target::Error(
        bpfilter_core::ir::ErrorName::new(b"ERROR").expect("name"),
    )));
    let t = handmade(with_error, IN, 0, 1);
    let l = loader::load_table(&t, &opts).expect("load");
    assert!(!l.hooks[0].compiled.stats.tracks_depth);
    expect(&l, IN, &pkt, ACCEPT, &[0, 2, 1], "jump, RETURN, policy");
}

/// Send one datagram over loopback; true if it arrived within 300 ms.
fn arrives(rx: &UdpSocket, tx: &UdpSocket) -> bool {
    tx.send_to(b"ping", rx.local_addr().expect("addr"))
        .expect("send");
    let mut buf = [0u8; 16];
    rx.recv_from(&mut buf).is_ok()
}

#[test]
fn attach_is_all_or_none() {
    let opts = loader_options().expect("BTF");
    let t = table(&format!("{HEAD}-A INPUT -p udp -j DROP\nCOMMIT\n"));
    let loaded = loader::load_table(&t, &opts).expect("load");
    let ns = NetNs::new().expect("netns");
    // Something else already holds FORWARD's priority 0: that link must fail, and the INPUT
    // link made before it must be gone again.
    let mut b = Builder::new();
    b.ret(1);
    let (other, _) = Program::load_netfilter(&b.finish().expect("finish"), &LoadOptions::default())
        .expect("load");
    let blocker = ns
        .run(|| {
            Link::netfilter(
                &other,
                &NetfilterAttach {
                    pf: NFPROTO_IPV4,
                    hooknum: u32::try_from(NF_INET_FORWARD).expect("hook"),
                    priority: 0,
                    flags: 0,
                },
            )
        })
        .expect("thread")
        .expect("blocking link");
    let err = loaded.attach(Some(&ns)).expect_err("FORWARD is taken");
    assert!(
        matches!(
            err,
            LoaderError::PriorityTaken {
                hook: NF_INET_FORWARD,
                priority: 0
            }
        ),
        "{err}"
    );
    let flows = ns
        .run(|| {
            netns::link_up("lo").expect("lo");
            let rx = UdpSocket::bind("127.0.0.1:0").expect("rx");
            rx.set_read_timeout(Some(Duration::from_millis(300)))
                .expect("timeout");
            let tx = UdpSocket::bind("127.0.0.1:0").expect("tx");
            arrives(&rx, &tx)
        })
        .expect("thread");
    assert!(flows, "no INPUT link may remain after the failed attach");
    drop(blocker);
    // With FORWARD free, all three attach, and INPUT drops UDP.
    let att = loaded.attach(Some(&ns)).expect("attach");
    assert_eq!(att.links().count(), 3);
    let flows = ns
        .run(|| {
            let rx = UdpSocket::bind("127.0.0.1:0").expect("rx");
            rx.set_read_timeout(Some(Duration::from_millis(300)))
                .expect("timeout");
            let tx = UdpSocket::bind("127.0.0.1:0").expect("tx");
            arrives(&rx, &tx)
        })
        .expect("thread");
    assert!(!flows, "INPUT drops UDP once attached");
    att.detach().expect("detach");
}

/// LOG writes one event per logged packet into the ring buffer. There is no consumer yet
/// (user space needs an mmap of the ring), so a second program asks the kernel how many
/// bytes are waiting (`bpf_ringbuf_query(BPF_RB_AVAIL_DATA)`): one 8-byte record header
/// plus the event per packet.
#[test]
fn log_emits_one_event_per_logged_packet() {
    use bpfilter_core::codegen::compile_log::EVENT_SIZE;
    use bpfilter_core::codegen::Cond;
    let (_, l) = load(&format!(
        "{HEAD}-A INPUT -p udp --dport 5 -j LOG --log-prefix \"x \"\n-A INPUT -p udp -j DROP\nCOMMIT\n"
    ));
    let ring = l
        .maps
        .log
        .as_ref()
        .expect("a log ring buffer")
        .fd()
        .as_raw();
    let waiting = |events: u32| {
        let want = i32::try_from(events * (8 + EVENT_SIZE)).expect("size");
        let mut b = Builder::new();
        let yes = b.new_label();
        b.ld_map_fd(Reg::R1, ring)
            .mov64(Reg::R2, 0)
            .call_helper(134)
            .jmp_if(Cond::Eq, Reg::R0, want, yes)
            .ret(0)
            .bind(yes)
            .ret(1);
        let (p, _) = Program::load_netfilter(&b.finish().expect("finish"), &LoadOptions::default())
            .expect("query program");
        let pkt = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&udp(1, 2, b"x"));
        loader::test_run_packet(&p, bpfilter_core::uapi::NF_INET_LOCAL_OUT, &pkt, 1)
            .expect("run")
            .retval
            == 1
    };
    assert!(waiting(0));
    let logged = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&udp(1, 5, b"x"));
    let other = Ip::new([1, 1, 1, 1], [2, 2, 2, 2], UDP).packet(&udp(1, 6, b"x"));
    for _ in 0..3 {
        expect(&l, IN, &logged, DROP, &[0, 1], "LOG then DROP");
    }
    expect(&l, IN, &other, DROP, &[1], "not logged");
    assert!(waiting(3), "three events of {} bytes waiting", EVENT_SIZE);
}

//! LOG lines against the kernel's own: the same rules with every LOG flag, the same packets
//! through the same veth, once through the kernel's iptables (lines read from /dev/kmsg) and
//! once through the generated programs (lines made from the ring buffer by
//! `service::logs::LogRules`, as the daemon and `bpfilter log` make them). Both lists must be
//! equal, byte for byte, and carry the same syslog level.
//!
//! The kernel logs from a network namespace other than the initial one only when
//! `net.netfilter.nf_log_all_netns` is 1; the test sets it for its duration and puts the old
//! value back (also when it fails). Nothing else outside its namespaces is touched.

mod loader_support;

use bpfilter_core::uapi::{NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT};
use bpfilter_umh::cli::compile::{loader_options, tables_from_save};
use bpfilter_umh::loader::load_table;
use bpfilter_umh::service::logs::LogRules;
use bpfilter_umh::sys::bpf::Map;
use bpfilter_umh::sys::netns::NetNs;
use bpfilter_umh::sys::ringbuf::RingBuf;
use loader_support::{csum, udp};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SYSCTL: &str = "/proc/sys/net/netfilter/nf_log_all_netns";

/// Puts `nf_log_all_netns` back as it was.
struct AllNetns(Option<String>);

impl AllNetns {
    fn enable() -> AllNetns {
        let old = std::fs::read_to_string(SYSCTL).ok();
        std::fs::write(SYSCTL, "1").expect("set nf_log_all_netns");
        AllNetns(old)
    }
}

impl Drop for AllNetns {
    fn drop(&mut self) {
        if let Some(v) = &self.0 {
            let _ = std::fs::write(SYSCTL, v.trim());
        }
    }
}

fn ns_path(ns: &NetNs) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), ns.as_fd().as_raw_fd())
}

fn run(ns: &NetNs, prog: &str, args: &[&str], stdin: Option<&str>) {
    let mut c = Command::new(prog);
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    ns.command(&mut c).expect("setns");
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{prog}: {e}"));
    if let (Some(text), Some(mut w)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        w.write_all(text.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{prog} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(ns: &NetNs, args: &str) {
    run(ns, "ip", &args.split_whitespace().collect::<Vec<_>>(), None);
}

/// T (10.77.0.1 on `va`, the rules) and its peer (10.77.0.2 on `vp`), with fixed MACs and
/// static neighbours, so that two labs see byte-identical frames.
struct Lab {
    t: NetNs,
    peer: NetNs,
}

impl Lab {
    fn new() -> Lab {
        let t = NetNs::new().expect("netns");
        let peer = NetNs::new().expect("netns");
        ip(&t, "link set lo up");
        ip(&peer, "link set lo up");
        ip(
            &t,
            &format!(
                "link add va address 02:00:00:00:77:01 type veth peer name vp \
                 address 02:00:00:00:77:02 netns {}",
                ns_path(&peer)
            ),
        );
        ip(&t, "addr add 10.77.0.1/24 dev va");
        ip(&t, "link set va up");
        ip(
            &t,
            "neigh add 10.77.0.2 lladdr 02:00:00:00:77:02 dev va nud permanent",
        );
        // Nobody has this address: the OUTPUT test packet leaves and is dropped by the peer
        // (another host's MAC), so nothing comes back to log.
        ip(
            &t,
            "neigh add 10.77.0.3 lladdr 02:00:00:00:77:33 dev va nud permanent",
        );
        ip(&peer, "addr add 10.77.0.2/24 dev vp");
        ip(&peer, "link set vp up");
        ip(
            &peer,
            "neigh add 10.77.0.1 lladdr 02:00:00:00:77:01 dev vp nud permanent",
        );
        Lab { t, peer }
    }

    /// Send every packet from the peer, then one from a raw socket in T whose file has
    /// fsuid 1234 / fsgid 4321 (raw, so that its IP id is ours and not a counter's).
    fn traffic(&self, packets: &[Vec<u8>]) {
        let packets = packets.to_vec();
        self.peer
            .run(move || {
                let fd = raw_socket();
                for p in &packets {
                    send(&fd, p);
                }
            })
            .expect("peer thread");
        self.t
            .run(|| {
                // SAFETY: setfsuid/setfsgid are per-thread syscalls; the socket's file takes
                // these credentials, then they are put back.
                unsafe {
                    libc::syscall(libc::SYS_setfsgid, 4321);
                    libc::syscall(libc::SYS_setfsuid, 1234);
                }
                let fd = raw_socket();
                // SAFETY: as above.
                unsafe {
                    libc::syscall(libc::SYS_setfsuid, 0);
                    libc::syscall(libc::SYS_setfsgid, 0);
                }
                let mut p = ipv4(999, 0x4000, 17, &[1, 1, 1, 0], &udp(4000, 9, b"owned"));
                p[12..20].copy_from_slice(&[10, 77, 0, 1, 10, 77, 0, 3]);
                send(&fd, &p);
            })
            .expect("T thread");
    }
}

fn raw_socket() -> OwnedFd {
    // SAFETY: socket(2); the descriptor is owned by the returned OwnedFd.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
        assert!(fd >= 0, "raw socket");
        OwnedFd::from_raw_fd(fd)
    }
}

/// Send a whole IPv4 packet (the kernel fills in the checksum) to its destination.
fn send(fd: &OwnedFd, p: &[u8]) {
    let dst = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([p[16], p[17], p[18], p[19]]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sendto with a buffer and address that live across the call.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            p.as_ptr().cast(),
            p.len(),
            0,
            (&dst as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(n, p.len() as isize, "sendto");
}

/// An IPv4 packet from the peer to T: `opts` are IP options (a multiple of 4 bytes).
fn ipv4(id: u16, frag: u16, proto: u8, opts: &[u8], l4: &[u8]) -> Vec<u8> {
    let ihl = 20 + opts.len();
    let total = ihl + l4.len();
    let mut p = vec![0x40 | (ihl / 4) as u8, 0x10];
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0, 10, 77, 0, 2, 10, 77, 0, 1]);
    p.extend_from_slice(opts);
    let c = csum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(l4);
    p
}

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, res: u8, opts: &[u8]) -> Vec<u8> {
    let doff = (20 + opts.len()) / 4;
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(((doff as u8) << 4) | (res & 0x0f));
    t.push(flags);
    t.extend_from_slice(&[0x72, 0x10, 0, 0, 0, 7]);
    t.extend_from_slice(opts);
    t
}

fn icmp(ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut i = vec![ty, code, 0, 0];
    i.extend_from_slice(&rest);
    i.extend_from_slice(body);
    let c = csum(&i);
    i[2..4].copy_from_slice(&c.to_be_bytes());
    i
}

/// Packets that reach every part of the kernel's dump.
fn packets() -> Vec<Vec<u8>> {
    let mss_sack_ts_ws = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    // A quoted UDP datagram (as an ICMP error carries it), from T to the peer.
    let mut quoted = vec![0x45, 0, 0, 36, 0xab, 0xcd, 0x40, 0, 63, 17, 0, 0];
    quoted.extend_from_slice(&[10, 77, 0, 1, 10, 77, 0, 2]);
    quoted.extend_from_slice(&udp(5353, 53, b"qqqqqqqq")[..8]);
    // The same with a quoted TCP header with options.
    let mut quoted_tcp = vec![0x45, 0, 0, 60, 0x01, 0x02, 0, 0, 9, 6, 0, 0];
    quoted_tcp.extend_from_slice(&[10, 77, 0, 1, 10, 77, 0, 2]);
    quoted_tcp.extend_from_slice(&tcp(80, 40000, 7, 8, 0x12, 0, &mss_sack_ts_ws));
    vec![
        // tcp rule: SEQ/ACK, options, IP options, reserved bits, all flags but SYN/FIN
        ipv4(
            101,
            0,
            6,
            &[],
            &tcp(1111, 22, 0xdeadbeef, 0x01020304, 0x02, 0, &mss_sack_ts_ws),
        ),
        ipv4(
            102,
            0x4000,
            6,
            &[1, 1, 1, 0],
            &tcp(1112, 80, 1, 2, 0xf8, 0x5, &[]),
        ),
        ipv4(103, 0, 6, &[], &[0x04, 0x57, 0x00, 0x16, 0, 0, 0, 1, 0, 0]),
        // udp rule: MAC decoding, level 6
        ipv4(201, 0, 17, &[], &udp(3333, 23, b"hello")),
        ipv4(203, 0, 17, &[], &[0x12, 0x34, 0x56]),
        ipv4(204, 0, 136, &[], &udp(3334, 24, b"lite")),
        // everything else: plain MAC, default flags
        ipv4(301, 0, 1, &[], &icmp(8, 0, [0x12, 0x34, 0, 9], b"ping")),
        ipv4(302, 0, 1, &[], &icmp(0, 0, [0x12, 0x34, 0, 10], b"")),
        ipv4(303, 0, 1, &[], &icmp(3, 4, [0, 0, 0x05, 0xdc], &quoted)),
        ipv4(304, 0, 1, &[], &icmp(5, 1, [10, 77, 0, 9], &quoted)),
        ipv4(305, 0, 1, &[], &icmp(11, 0, [0; 4], &quoted_tcp)),
        ipv4(306, 0, 1, &[], &icmp(12, 0, [20, 0, 0, 0], &quoted)),
        ipv4(307, 0, 1, &[], &icmp(13, 0, [0, 1, 0, 2], b"")),
        ipv4(308, 0, 1, &[], &icmp(3, 3, [0; 4], &quoted[..10])),
        ipv4(309, 0, 1, &[], &[8, 0]),
        ipv4(
            311,
            0,
            51,
            &[],
            &[6, 4, 0, 0, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1],
        ),
        ipv4(313, 0, 50, &[], &[0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 5, 1, 2]),
        ipv4(314, 0, 50, &[], &[0xaa, 0xbb]),
        ipv4(315, 0, 47, &[], &[0, 0, 8, 0]),
        ipv4(
            316,
            0,
            6,
            &[7, 7, 4, 0, 0, 0, 0, 0],
            &tcp(1, 2, 3, 4, 0x01, 0, &[]),
        ),
    ]
}

const RULES: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -j LOG --log-prefix \"PFX-t: \" --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid
-A INPUT -p udp -j LOG --log-prefix \"PFX-u: \" --log-level 6 --log-macdecode
-A INPUT -p udplite -j LOG --log-prefix \"PFX-l: \" --log-level 1 --log-macdecode --log-uid
-A INPUT ! -p tcp -j LOG --log-prefix \"PFX-o: \" --log-level 3
-A OUTPUT -d 10.77.0.3 -j LOG --log-prefix \"PFX-out: \" --log-uid --log-ip-options
COMMIT
";

/// The kernel log's records from now on (`/dev/kmsg`: `PRIO,SEQ,TS,FLAGS;TEXT`).
struct Kmsg(std::fs::File);

impl Kmsg {
    fn open() -> Kmsg {
        let mut f = std::fs::File::open("/dev/kmsg").expect("/dev/kmsg");
        f.seek(SeekFrom::End(0)).expect("seek");
        // SAFETY: fcntl on an fd owned by `f`.
        unsafe {
            let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        Kmsg(f)
    }

    /// (level, text) of the records whose text starts with `tag`, until `n` are read or 5 s.
    fn read(&mut self, tag: &str, n: usize) -> Vec<(u8, String)> {
        let mut got = Vec::new();
        let start = Instant::now();
        let mut buf = vec![0u8; 8192];
        while got.len() < n && start.elapsed() < Duration::from_secs(5) {
            match self.0.read(&mut buf) {
                Ok(len) => {
                    let rec = String::from_utf8_lossy(&buf[..len]).into_owned();
                    let Some((head, text)) = rec.split_once(';') else {
                        continue;
                    };
                    let text = text.lines().next().unwrap_or("");
                    if !text.starts_with(tag) {
                        continue;
                    }
                    let prio: u32 = head.split(',').next().unwrap_or("").parse().unwrap_or(99);
                    got.push(((prio & 7) as u8, unescape(text)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                // EPIPE: records were overwritten; keep reading.
                Err(_) => {}
            }
        }
        got
    }
}

/// /dev/kmsg writes unprintable bytes as `\xNN`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\x") {
        out.push_str(&rest[..i]);
        match u8::from_str_radix(rest.get(i + 2..i + 4).unwrap_or("zz"), 16) {
            Ok(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            Err(_) => {
                out.push_str("\\x");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn log_lines_equal_the_kernels() {
    let _sysctl = AllNetns::enable();
    let tag = "PFX-";
    let pkts = packets();
    // One line per packet at INPUT (two for UDP and UDP-Lite: their own rule and the
    // catch-all), one at OUTPUT. Fragments are not sent: LOCAL_IN sees them reassembled.
    let expected = pkts.len() + 1 + pkts.iter().filter(|p| matches!(p[9], 17 | 136)).count();

    // The kernel.
    let kernel = {
        let lab = Lab::new();
        run(&lab.t, "iptables-legacy-restore", &[], Some(RULES));
        let mut kmsg = Kmsg::open();
        lab.traffic(&pkts);
        kmsg.read(tag, expected)
    };
    assert_eq!(kernel.len(), expected, "kernel lines: {kernel:#?}");

    // bpfilter: the blob iptables-legacy-restore makes, loaded and attached in a second lab.
    let ours = {
        let lab = Lab::new();
        let table = tables_from_save(RULES.as_bytes())
            .expect("iptables-legacy-restore")
            .remove(0)
            .table;
        let opts = loader_options().expect("BTF");
        let loaded = load_table(&table, &opts).expect("load");
        assert!(loaded.hooks.iter().any(|h| h.hook == NF_INET_LOCAL_IN));
        assert!(loaded.hooks.iter().any(|h| h.hook == NF_INET_LOCAL_OUT));
        let map = loaded.maps.log.as_ref().expect("log ring");
        let fd = map.fd().try_clone().expect("dup");
        let mut ring = RingBuf::open(
            Map::from_fd(fd).expect("map"),
            bpfilter_core::codegen::LOG_RINGBUF_SIZE as usize,
        )
        .expect("mmap ring");
        let att = loaded.attach(Some(&lab.t)).expect("attach");
        lab.traffic(&pkts);
        let rules = LogRules::of(&table);
        let mut lines = Vec::new();
        let start = Instant::now();
        while lines.len() < expected && start.elapsed() < Duration::from_secs(5) {
            ring.drain(|s| {
                if let Some(l) = rules.line("t", s) {
                    lines.push((l.level, l.text));
                }
            });
            let _ = ring.wait(50);
        }
        att.detach().expect("detach");
        lines
    };
    for (i, (k, o)) in kernel.iter().zip(&ours).enumerate() {
        assert_eq!(
            (k.0, k.1.trim_end()),
            (o.0, o.1.trim_end()),
            "line {i}:\nkernel:   {}\nbpfilter: {}",
            k.1,
            o.1
        );
    }
    assert_eq!(ours.len(), kernel.len(), "bpfilter lines: {ours:#?}");
}

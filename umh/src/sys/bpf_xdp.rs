//! XDP programs as a packet generator: `BPF_PROG_TEST_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES`.
//!
//! This machine has no pktgen. The fastest way to push packets through a namespace's receive
//! path is to test-run an XDP program that returns `XDP_PASS` with the live-frames flag: the
//! kernel builds real frames from `data_in` in a page pool and hands every frame the program
//! passes to `netif_receive_skb_list` as if it had arrived on `xdp_md.ingress_ifindex`. The
//! returned `duration` is the kernel-timed mean per frame of that whole receive path (netfilter
//! hooks and their BPF links included; an XDP program attached to the device is not run).
//!
//! ```text
//! test_run_live(prog, frame, ifindex, repeat)            caller thread's network namespace
//!   BPF_PROG_TEST_RUN { flags = LIVE_FRAMES, ctx_in = xdp_md { data_end = len(frame),
//!                                                              ingress_ifindex } }
//!     repeat x: page-pool frame <- frame; prog -> XDP_PASS -> skb -> netif_receive_skb_list
//!        -> ip_rcv -> PREROUTING -> route -> LOCAL_IN (iptables, nftables, nf BPF links) ...
//! ```
//!
//! The kernel looks `ingress_ifindex` up in the network namespace of the *calling thread*, so
//! call this from a thread that has entered the namespace (`NetNs::run`). The frame must be an
//! Ethernet frame whose destination MAC is the device's own (anything else is
//! `PACKET_OTHERHOST` and dropped by `ip_rcv`).
//!
//! [`bpf`](super::bpf)'s `Program::test_run` has no `flags` or `batch_size` and always sends a
//! netfilter-sized context, so this module makes its own `BPF_PROG_TEST_RUN` call, through its
//! own single `unsafe` choke point with the same safety argument as `bpf::sys_bpf`.

use super::bpf::{BpfError, Cmd, LoadOptions, LoadStats, Program, TestRunOutput};
use bpfilter_core::codegen::{Builder, Insn};
use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `BPF_PROG_TYPE_XDP`.
pub const BPF_PROG_TYPE_XDP: u32 = 6;
/// `BPF_XDP`, the attach type libbpf gives XDP programs (only devmap/cpumap types are
/// refused by the live-frames test run).
pub const BPF_XDP: u32 = 37;
/// `BPF_F_TEST_XDP_LIVE_FRAMES`: run frames through the stack instead of returning them.
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
/// `XDP_PASS`: hand the frame to the network stack.
pub const XDP_PASS: i32 = 2;
/// `XDP_DROP`.
pub const XDP_DROP: i32 = 1;
/// `TEST_XDP_MAX_BATCH`: the largest batch the live-frames mode accepts.
pub const TEST_XDP_MAX_BATCH: u32 = 256;
/// Largest frame the live-frames mode takes: one page minus the headroom (`XDP_PACKET_HEADROOM`
/// 256 + `struct xdp_page_head`) and the `skb_shared_info` tailroom; 1,500-byte frames fit.
pub const MAX_LIVE_FRAME: usize = 3000;

/// `struct xdp_md`, the XDP test-run context (24 bytes).
#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default, Clone, Copy, Debug)]
#[repr(C)]
pub struct XdpMd {
    /// Offset of the packet start; 0 (no metadata before it).
    pub data: u32,
    /// Must equal the length of `data_in`.
    pub data_end: u32,
    /// Must be 0.
    pub data_meta: u32,
    /// Device the frames arrive on, in the caller's network namespace.
    pub ingress_ifindex: u32,
    /// Receive queue of that device (below its `real_num_rx_queues`).
    pub rx_queue_index: u32,
    /// Must be 0.
    pub egress_ifindex: u32,
}

/// `union bpf_attr`'s `test` member, complete up to `batch_size`.
#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Load an XDP program (`BPF_PROG_TYPE_XDP`, `expected_attach_type = BPF_XDP`).
pub fn load_xdp(insns: &[Insn], opts: &LoadOptions<'_>) -> Result<(Program, LoadStats), BpfError> {
    Program::load(BPF_PROG_TYPE_XDP, BPF_XDP, insns, opts)
}

/// The generator program: `r0 = XDP_PASS; exit`.
pub fn load_xdp_pass() -> Result<Program, BpfError> {
    let mut b = Builder::new();
    b.ret(XDP_PASS);
    let insns = b
        .finish()
        .map_err(|e| BpfError::Invalid(format!("xdp_pass: {e:?}")))?;
    let opts = LoadOptions {
        name: "bench_xdp_pass",
        ..LoadOptions::default()
    };
    load_xdp(&insns, &opts).map(|(p, _)| p)
}

/// One live-frames test run.
#[derive(Clone, Copy, Debug)]
pub struct LiveRun<'a> {
    /// The Ethernet frame, sent `repeat` times (at least 14 bytes, at most
    /// [`MAX_LIVE_FRAME`]).
    pub frame: &'a [u8],
    /// The device the frames arrive on (see [`ifindex`]), in the caller's namespace.
    pub ingress_ifindex: u32,
    /// Number of frames.
    pub repeat: u32,
    /// Frames per batch handed to the stack; 0 means the kernel's default (64).
    pub batch_size: u32,
}

/// Inject `run.repeat` copies of `run.frame` into the calling thread's network namespace as
/// received on `run.ingress_ifindex`, through `prog` (which should return [`XDP_PASS`]).
/// `duration_ns` is the kernel-timed mean per frame; `retval` is not meaningful in this mode.
pub fn test_run_live(prog: &Program, run: &LiveRun<'_>) -> Result<TestRunOutput, BpfError> {
    if run.frame.len() < 14 || run.frame.len() > MAX_LIVE_FRAME {
        return Err(BpfError::Invalid(format!(
            "live frame of {} bytes (14..={MAX_LIVE_FRAME})",
            run.frame.len()
        )));
    }
    if run.batch_size > TEST_XDP_MAX_BATCH {
        return Err(BpfError::Invalid(format!(
            "batch size {} above {TEST_XDP_MAX_BATCH}",
            run.batch_size
        )));
    }
    let len = u32::try_from(run.frame.len()).unwrap_or(u32::MAX);
    let ctx = XdpMd {
        data_end: len,
        ingress_ifindex: run.ingress_ifindex,
        ..XdpMd::default()
    };
    let mut attr = TestRunAttr {
        prog_fd: u32::try_from(prog.fd().as_raw_fd()).unwrap_or(u32::MAX),
        data_size_in: len,
        data_in: addr(run.frame.as_ptr()),
        repeat: run.repeat,
        ctx_size_in: u32::try_from(std::mem::size_of::<XdpMd>()).unwrap_or(u32::MAX),
        ctx_in: addr(std::ptr::from_ref(&ctx)),
        flags: BPF_F_TEST_XDP_LIVE_FRAMES,
        batch_size: run.batch_size,
        ..TestRunAttr::default()
    };
    // SAFETY: `data_in` (the frame) and `ctx_in` (`ctx`, a local that outlives the call) are
    // borrowed for the whole call with their exact lengths in `data_size_in` / `ctx_size_in`;
    // `data_out` and `ctx_out` are null with size 0 (the live mode refuses them anyway), so
    // the kernel writes only into `attr` itself, which is exclusively borrowed, has no padding
    // (IntoBytes) and is `size_of::<TestRunAttr>()` bytes long.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(Cmd::ProgTestRun.code()),
            std::ptr::from_mut(&mut attr),
            std::mem::size_of::<TestRunAttr>(),
        )
    };
    if ret < 0 {
        return Err(BpfError::Syscall {
            cmd: Cmd::ProgTestRun,
            errno: io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        });
    }
    Ok(TestRunOutput {
        retval: attr.retval,
        duration_ns: attr.duration,
    })
}

/// `if_nametoindex(name)` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` is a NUL-terminated string borrowed for the call; the function only reads it.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(idx)
    }
}

/// Address of a buffer as a bpf_attr field.
fn addr<T: ?Sized>(p: *const T) -> u64 {
    p.cast::<u8>() as usize as u64
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on any error"
)]
mod tests {
    use super::*;
    use crate::sys::btf::Btf;
    use crate::sys::netns::{in_new_netns, link_up};
    use std::mem::offset_of;

    #[test]
    fn layouts_and_constants_match_kernel_btf() {
        let btf = Btf::from_sys_fs().expect("vmlinux BTF");
        let off = |outer: &str, path: &str| {
            usize::try_from(btf.member(outer, path).unwrap().byte_offset().unwrap()).unwrap()
        };
        assert_eq!(
            offset_of!(TestRunAttr, flags),
            off("bpf_attr", "test.flags")
        );
        assert_eq!(offset_of!(TestRunAttr, cpu), off("bpf_attr", "test.cpu"));
        assert_eq!(
            offset_of!(TestRunAttr, batch_size),
            off("bpf_attr", "test.batch_size")
        );
        assert_eq!(
            offset_of!(TestRunAttr, ctx_in),
            off("bpf_attr", "test.ctx_in")
        );
        assert_eq!(
            offset_of!(XdpMd, ingress_ifindex),
            off("xdp_md", "ingress_ifindex")
        );
        assert_eq!(
            offset_of!(XdpMd, egress_ifindex),
            off("xdp_md", "egress_ifindex")
        );
        let id = btf
            .find("xdp_md", crate::sys::btf::BtfKind::Struct)
            .unwrap();
        assert_eq!(
            btf.type_size(id),
            u32::try_from(std::mem::size_of::<XdpMd>()).ok()
        );
        let e = |en: &str, name: &str| btf.enum_value(en, name).unwrap();
        assert_eq!(
            e("bpf_prog_type", "BPF_PROG_TYPE_XDP"),
            i64::from(BPF_PROG_TYPE_XDP)
        );
        assert_eq!(e("bpf_attach_type", "BPF_XDP"), i64::from(BPF_XDP));
        assert_eq!(e("xdp_action", "XDP_PASS"), i64::from(XDP_PASS));
    }

    /// Frames injected on `lo` reach the IP layer: `Ip: InReceives` in the namespace grows by
    /// exactly the number of frames (they are addressed to 127.0.0.1 from a MAC of zeros,
    /// which is `lo`'s own).
    #[test]
    fn live_frames_reach_the_ip_layer_of_the_callers_namespace() {
        let prog = load_xdp_pass().unwrap();
        in_new_netns(|| {
            link_up("lo").unwrap();
            let lo = ifindex("lo").unwrap();
            let frame = udp_frame([0; 6], [127, 0, 0, 1], [127, 0, 0, 1], 9);
            let before = in_receives();
            let out = test_run_live(
                &prog,
                &LiveRun {
                    frame: &frame,
                    ingress_ifindex: lo,
                    repeat: 1000,
                    batch_size: 0,
                },
            )
            .unwrap();
            assert_eq!(in_receives() - before, 1000);
            assert!(out.duration_ns > 0);
        })
        .unwrap();
    }

    #[test]
    fn bad_frames_and_devices_are_refused() {
        let prog = load_xdp_pass().unwrap();
        let short = LiveRun {
            frame: &[0; 10],
            ingress_ifindex: 1,
            repeat: 1,
            batch_size: 0,
        };
        assert!(matches!(
            test_run_live(&prog, &short),
            Err(BpfError::Invalid(_))
        ));
        in_new_netns(|| {
            let frame = udp_frame([0; 6], [127, 0, 0, 1], [127, 0, 0, 1], 9);
            let nodev = LiveRun {
                frame: &frame,
                ingress_ifindex: 9999,
                repeat: 1,
                batch_size: 0,
            };
            assert_eq!(
                test_run_live(&prog, &nodev).unwrap_err().errno(),
                Some(libc::ENODEV)
            );
        })
        .unwrap();
        assert!(in_new_netns(|| ifindex("nosuchif0")).unwrap().is_err());
    }

    fn in_receives() -> u64 {
        let snmp = std::fs::read_to_string("/proc/thread-self/net/snmp").unwrap();
        let mut ip = snmp.lines().filter(|l| l.starts_with("Ip:"));
        let (names, values) = (ip.next().unwrap(), ip.next().unwrap());
        let i = names
            .split_whitespace()
            .position(|n| n == "InReceives")
            .unwrap();
        values.split_whitespace().nth(i).unwrap().parse().unwrap()
    }

    /// Ethernet + IPv4 + UDP with a valid IP checksum and no UDP checksum.
    fn udp_frame(dst_mac: [u8; 6], src: [u8; 4], dst: [u8; 4], dport: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst_mac);
        f.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let sum = ip
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum::<u32>();
        let sum = !u16::try_from((sum & 0xffff) + (sum >> 16)).unwrap();
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&[0x30, 0x39]);
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 8, 0, 0]);
        f
    }
}

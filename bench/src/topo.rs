//! One throwaway network namespace per configuration, and the injection into it.
//!
//! ```text
//!  netns (held only by an fd: it vanishes when the Sandbox is dropped or the process dies)
//!  ┌──────────────────────────────────────────────────────────────────────────────┐
//!  │ lo up                                                                        │
//!  │ veth0 02:..:01 10.0.0.1/24  <── live frames (xdp_md.ingress_ifindex = veth0) │
//!  │ veth1 02:..:02 (peer, up, no address)                                        │
//!  │ UDP socket 10.0.0.1:5000, never read: accepted packets end at its full queue  │
//!  │ filter under test at LOCAL_IN (iptables / nftables / BPF link)               │
//!  └──────────────────────────────────────────────────────────────────────────────┘
//! frame -> ip_rcv -> PREROUTING -> route: local -> LOCAL_IN (filter) -> udp_rcv -> socket
//! ```
//!
//! Nothing here touches the host: every command runs inside the namespace (`setns` in the
//! child before exec), every injection from a thread that entered it. No namespace is
//! mounted under `/run/netns`, so there is nothing to clean up after an error or a ctrl-C.

use crate::rules::{DST, MATCH_PORT, PEER_MAC, VETH_MAC};
use crate::BenchError;
use bpfilter_umh::sys::bpf::Program;
use bpfilter_umh::sys::bpf_xdp::{ifindex, test_run_live, LiveRun};
use bpfilter_umh::sys::netns::NetNs;
use std::collections::HashMap;
use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The receiving device.
pub const VETH: &str = "veth0";

/// A configured namespace: veth pair, address, the bound socket.
#[derive(Debug)]
pub struct Sandbox {
    /// The namespace (the only thing keeping it alive, with the socket).
    pub ns: NetNs,
    /// `veth0`'s ifindex inside the namespace.
    pub ifindex: u32,
    _sock: UdpSocket,
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Sandbox {
    /// Create and configure a fresh namespace.
    pub fn new() -> Result<Sandbox, BenchError> {
        let ns = NetNs::new()?;
        let steps: [Vec<String>; 5] = [
            vec!["link".into(), "set".into(), "lo".into(), "up".into()],
            vec![
                "link".into(),
                "add".into(),
                VETH.into(),
                "address".into(),
                mac(VETH_MAC),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                "veth1".into(),
                "address".into(),
                mac(PEER_MAC),
            ],
            vec![
                "addr".into(),
                "add".into(),
                format!("{DST}/24"),
                "dev".into(),
                VETH.into(),
            ],
            vec!["link".into(), "set".into(), "veth1".into(), "up".into()],
            vec!["link".into(), "set".into(), VETH.into(), "up".into()],
        ];
        for args in &steps {
            run_in(&ns, "ip", args, None)?;
        }
        let (ifindex, sock) = ns.run(|| -> Result<_, BenchError> {
            let idx = ifindex(VETH)?;
            let sock = UdpSocket::bind((DST, MATCH_PORT))?;
            Ok((idx, sock))
        })??;
        Ok(Sandbox {
            ns,
            ifindex,
            _sock: sock,
        })
    }

    /// Inject `repeat` copies of `frame` on `veth0` through the generator `gen`; the kernel's
    /// mean ns per frame for the whole receive path.
    pub fn inject(&self, gen: &Program, frame: &[u8], repeat: u32) -> Result<u32, BenchError> {
        let ifindex = self.ifindex;
        self.ns.run(|| inject_here(gen, frame, ifindex, repeat))?
    }

    /// Inject and return the namespace's SNMP counter deltas with the mean ns per frame.
    pub fn inject_counted(
        &self,
        gen: &Program,
        frame: &[u8],
        repeat: u32,
    ) -> Result<(u32, Snmp), BenchError> {
        let ifindex = self.ifindex;
        self.ns.run(|| -> Result<_, BenchError> {
            let before = Snmp::read()?;
            let ns = inject_here(gen, frame, ifindex, repeat)?;
            let after = Snmp::read()?;
            Ok((ns, after.delta(&before)))
        })?
    }

    /// Run `prog args` in the namespace with `input` on stdin; its wall time.
    pub fn run(
        &self,
        prog: &str,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<Duration, BenchError> {
        run_in(&self.ns, prog, args, input)
    }
}

fn inject_here(gen: &Program, frame: &[u8], ifindex: u32, repeat: u32) -> Result<u32, BenchError> {
    let out = test_run_live(
        gen,
        &LiveRun {
            frame,
            ingress_ifindex: ifindex,
            repeat,
            batch_size: 0,
        },
    )?;
    Ok(out.duration_ns)
}

/// Run a command inside `ns`, feeding `input` through a pipe from a writer thread (so a
/// chatty stderr cannot deadlock it); fail with its stderr if it fails. Returns the wall time
/// from spawn to exit.
pub fn run_in(
    ns: &NetNs,
    prog: &str,
    args: &[impl AsRef<str>],
    input: Option<&str>,
) -> Result<Duration, BenchError> {
    let mut cmd = Command::new(prog);
    cmd.args(args.iter().map(AsRef::as_ref))
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    ns.command(&mut cmd)?;
    let shown = || {
        let a: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        format!("{prog} {}", a.join(" "))
    };
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| BenchError(format!("{}: {e}", shown())))?;
    let out = std::thread::scope(|s| {
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            s.spawn(move || {
                // A failed write shows up as the command's own error below.
                let _ = stdin.write_all(text.as_bytes());
            });
        }
        child.wait_with_output()
    })?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().take(8).collect::<Vec<_>>().join("\n");
        return Err(BenchError(format!(
            "{} failed ({}): {tail}",
            shown(),
            out.status
        )));
    }
    Ok(elapsed)
}

/// The calling thread's namespace's `/proc/net/snmp`, as `"Ip:InReceives" -> value`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snmp(HashMap<String, i64>);

impl Snmp {
    /// Read it (thread-self: `/proc/net` follows the thread group leader's namespace, not the
    /// calling thread's).
    pub fn read() -> Result<Snmp, BenchError> {
        let text = std::fs::read_to_string("/proc/thread-self/net/snmp")?;
        Ok(Snmp::parse(&text))
    }

    /// Parse the paired header/value lines of `/proc/net/snmp`.
    pub fn parse(text: &str) -> Snmp {
        let mut map = HashMap::new();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            let (Some(names), Some(values)) = (pair.first(), pair.get(1)) else {
                continue;
            };
            let mut n = names.split_whitespace();
            let mut v = values.split_whitespace();
            let (Some(group), Some(_)) = (n.next(), v.next()) else {
                continue;
            };
            for (name, value) in n.zip(v) {
                if let Ok(x) = value.parse::<i64>() {
                    map.insert(format!("{group}{name}"), x);
                }
            }
        }
        Snmp(map)
    }

    /// One counter, e.g. `get("Ip:InReceives")`; 0 if absent.
    pub fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// `self - earlier`, counter by counter.
    pub fn delta(&self, earlier: &Snmp) -> Snmp {
        Snmp(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(earlier.get(k))))
                .collect(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn snmp_pairs_header_and_value_lines() {
        let text = "Ip: Forwarding DefaultTTL InReceives\nIp: 1 64 42\n\
                    Udp: InDatagrams NoPorts\nUdp: 3 4\n";
        let s = Snmp::parse(text);
        assert_eq!(s.get("Ip:InReceives"), 42);
        assert_eq!(s.get("Udp:NoPorts"), 4);
        assert_eq!(s.get("Udp:Nothing"), 0);
        let later = Snmp::parse(&text.replace("42", "50"));
        assert_eq!(later.delta(&s).get("Ip:InReceives"), 8);
    }
}

//! The lab: throwaway network namespaces where the kernel's own iptables judges real packets.
//!
//! ```text
//!  pin0 --veth-- [in0  T_in   ]   anyip: every address is local     (LOCAL_IN)
//!  pin1 --veth-- [in1         ]
//!
//!  pfw0 --veth-- [in0  T_fwd out0] --veth-- sink    0.0.0.0/1     (FORWARD)
//!  pfw1 --veth-- [in1        out1] --veth-- sink    128.0.0.0/1
//!
//!               [     T_out out0] --veth-- sink    0.0.0.0/1     (LOCAL_OUT, sent from
//!               [           out1] --veth-- sink    128.0.0.0/1    inside T_out)
//! ```
//! Packets are raw IPv4 (`IP_HDRINCL`) sent from a peer namespace, so any header goes: bad
//! flags, short headers, fragments, IP options. Every neighbour is static (no ARP, nothing
//! asynchronous), reverse-path filtering is off, and `accept_local` lets T_in take sources
//! its any-address route calls local.
//!
//! In each T namespace the filter table under test is replaced with the generated blob, and
//! three tables are read around every packet:
//!
//! * `mangle` (priority -150, before filter): its chain counters say the packet reached the
//!   hook. Its first rules give the packet a mark chosen by the IP id (`-m u32`, `MARK`), so
//!   filter sees marked packets. When the ruleset uses conntrack, probe rules follow
//!   (`--ctstate X`, `--ctdir REPLY`, `--ctstatus Y`, no target) whose counters say what
//!   conntrack attached.
//! * `filter` (0): the per-entry counter deltas to compare.
//! * `security` (+50, after filter): its policy counter says the packet was accepted, and 32
//!   rules before it (`-m mark --mark 2^b/2^b`, no target) read the mark filter left on it
//!   bit by bit, so a `MARK` target's effect is compared too.
//!
//! In BPF mode ([`Lab::load_bpf`], edge (c)) the generated programs are attached at filter's
//! priority instead, filter keeps its empty chains, and the per-rule counters are read from
//! the programs' counters map; everything else is the same.
//!
//! Packets the namespace itself makes (TCP resets, ICMP errors, REJECT's replies) would cross
//! OUTPUT: `raw` (-300) drops every packet without a user socket (`! --uid-owner 0`) first.
//! With conntrack on, raw also untracks the packets whose IP id has bits 3 and 4 set.

use super::gen::{in_link, out_iface, TestPacket, FWD, IN, INPUTS, MARKS, OUT, OUTPUTS};
use bpfilter_core::blob::Entries;
use bpfilter_core::eval::Ct;
use bpfilter_core::ir::Table;
use bpfilter_umh::loader::{load_table, Attachment, LoadedTable, LoaderError, LoaderOptions};
use bpfilter_umh::sys::ipt::IptSocket;
use bpfilter_umh::sys::netns::NetNs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One (packets, bytes) counter pair per entry.
pub type Counters = Vec<(u64, u64)>;

/// What the kernel did with one packet.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The packet reached the hook (mangle saw it).
    pub delivered: bool,
    /// The conntrack state and status the probes saw (`Invalid` without conntrack).
    pub ct: Ct,
    /// `ct->status` bits the probes saw (EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED).
    pub ct_status: u32,
    /// Per filter entry: (packets, bytes) added by this packet.
    pub filter: Counters,
    /// The security table's policy for the hook counted it: filter accepted it.
    pub accepted: bool,
    /// The skb mark after filter (read by the security table's bit probes), when accepted.
    pub mark: Option<u32>,
    /// `sendto`'s error: EPERM when OUTPUT dropped the packet, anything else is suspect.
    pub send_error: Option<String>,
}

/// The mangle probe rules, in chain order: the first five are the state, then the direction,
/// then four status bits.
const PROBES: [&str; 10] = [
    "--ctstate INVALID",
    "--ctstate NEW",
    "--ctstate ESTABLISHED",
    "--ctstate RELATED",
    "--ctstate UNTRACKED",
    "--ctdir REPLY",
    "--ctstatus EXPECTED",
    "--ctstatus SEEN_REPLY",
    "--ctstatus ASSURED",
    "--ctstatus CONFIRMED",
];

/// One namespace under test.
struct Tns {
    hook: usize,
    ns: NetNs,
    ipt: IptSocket,
    /// Raw sockets per input interface (in the peers), or the namespace's own for OUTPUT.
    senders: Vec<OwnedFd>,
    /// Whether mangle holds the conntrack probes.
    ct_probe: bool,
    filter: Counters,
    mangle: Counters,
    security: Counters,
    /// Entry index ranges of the hook's chain in mangle, and its policy index in security.
    mangle_chain: (usize, usize),
    security_policy: usize,
    /// In BPF mode: the generated programs (attached here) whose counters stand for filter's.
    bpf: Option<(LoadedTable, Attachment)>,
}

impl Tns {
    /// The per-rule counters of whatever enforces the ruleset here.
    fn rule_counters(&self) -> Result<Counters, String> {
        match &self.bpf {
            Some((t, _)) => t.counters().map_err(|e| format!("BPF counters: {e}")),
            None => read_counters(&self.ipt, "filter"),
        }
    }
}

/// The whole lab. Dropping it closes every socket and namespace handle: the namespaces vanish.
pub struct Lab {
    t: Vec<Tns>,
    _keep: Vec<NetNs>,
    /// When the current ruleset was loaded (the limit match's clock starts there).
    loaded_at: Instant,
}

fn ns_path(ns: &NetNs) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), ns.as_fd().as_raw_fd())
}

/// Run `prog args` in `ns`, failing with its stderr.
fn cmd(ns: &NetNs, prog: &str, args: &[&str], stdin: Option<&str>) -> Result<(), String> {
    let mut c = Command::new(prog);
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    ns.command(&mut c).map_err(|e| format!("{prog}: {e}"))?;
    let mut child = c.spawn().map_err(|e| format!("{prog}: {e}"))?;
    if let (Some(text), Some(mut w)) = (stdin, child.stdin.take()) {
        w.write_all(text.as_bytes())
            .map_err(|e| format!("{prog}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{prog}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{prog} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn ip(ns: &NetNs, args: &str) -> Result<(), String> {
    let v: Vec<&str> = args.split_whitespace().collect();
    cmd(ns, "ip", &v, None)
}

fn sysctl(ns: &NetNs, path: &str, value: &str) -> Result<(), String> {
    let p = format!("/proc/sys/net/{path}");
    ns.run(|| std::fs::write(&p, value))
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{p}: {e}"))
}

fn mac(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn raw_socket(ns: &NetNs) -> Result<OwnedFd, String> {
    ns.run(|| {
        rustix::net::socket(
            rustix::net::AddressFamily::INET,
            rustix::net::SocketType::RAW,
            Some(rustix::net::ipproto::RAW),
        )
    })
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("raw socket: {e}"))
}

/// Read every entry's counters of `table`.
pub fn read_counters(ipt: &IptSocket, table: &str) -> Result<Counters, String> {
    for _ in 0..5 {
        let info = ipt
            .get_info(table)
            .map_err(|e| format!("GET_INFO {table}: errno {e}"))?;
        match ipt.get_entries(table, info.size.get()) {
            Ok(b) => {
                return Ok(Entries::new(&b)
                    .iter()
                    .map(|e| {
                        let c = &e.header().counters;
                        (c.pcnt.get(), c.bcnt.get())
                    })
                    .collect())
            }
            // EAGAIN: the table changed between GET_INFO and GET_ENTRIES.
            Err(11) => continue,
            Err(e) => return Err(format!("GET_ENTRIES {table}: errno {e}")),
        }
    }
    Err(format!("GET_ENTRIES {table}: table keeps changing"))
}

/// Entry indices of the hook's chain (hook entry ..= underflow) in `table`.
fn chain_range(ipt: &IptSocket, table: &str, hook: usize) -> Result<(usize, usize), String> {
    let info = ipt
        .get_info(table)
        .map_err(|e| format!("GET_INFO {table}: errno {e}"))?;
    let b = ipt
        .get_entries(table, info.size.get())
        .map_err(|e| format!("GET_ENTRIES {table}: errno {e}"))?;
    let pos: Vec<usize> = Entries::new(&b).iter().map(|e| e.pos()).collect();
    let idx = |off: u32| {
        pos.iter()
            .position(|&p| p == off as usize)
            .ok_or_else(|| format!("{table}: hook offset {off} is no entry"))
    };
    Ok((
        idx(info.hook_entry[hook].get())?,
        idx(info.underflow[hook].get())?,
    ))
}

fn delta(now: &Counters, before: &Counters) -> Counters {
    now.iter()
        .enumerate()
        .map(|(i, &(p, b))| {
            let (p0, b0) = before.get(i).copied().unwrap_or((0, 0));
            (p.wrapping_sub(p0), b.wrapping_sub(b0))
        })
        .collect()
}

impl Lab {
    /// Build the lab (needs root). Everything lives in namespaces made here.
    pub fn new() -> Result<Lab, String> {
        let mk = || NetNs::new().map_err(|e| format!("network namespace: {e}"));
        let sink = mk()?;
        ip(&sink, "link set lo up")?;
        let mut keep = Vec::new();
        let mut t = Vec::new();
        for hook in [IN, FWD, OUT] {
            let ns = mk()?;
            ip(&ns, "link set lo up")?;
            for (k, v) in [
                ("ipv4/conf/all/rp_filter", "0"),
                ("ipv4/conf/default/rp_filter", "0"),
                ("ipv4/conf/all/accept_local", "1"),
                ("ipv4/conf/default/accept_local", "1"),
                ("ipv4/conf/all/send_redirects", "0"),
                ("ipv4/conf/default/send_redirects", "0"),
            ] {
                sysctl(&ns, k, v)?;
            }
            let mut senders = Vec::new();
            if hook != OUT {
                for (i, (name, peer_mac)) in INPUTS.iter().enumerate() {
                    let peer = mk()?;
                    let net = in_link(hook, i);
                    let tmac = format!("02:00:00:00:{:02x}:01", 0xA0 + i);
                    ip(
                        &ns,
                        &format!(
                            "link add {name} address {tmac} type veth peer name p{i} address {} netns {}",
                            mac(*peer_mac),
                            ns_path(&peer)
                        ),
                    )?;
                    ip(&ns, &format!("addr add 10.255.{net}.1/30 dev {name}"))?;
                    ip(&ns, &format!("link set {name} up"))?;
                    ip(&peer, "link set lo up")?;
                    ip(&peer, &format!("addr add 10.255.{net}.2/30 dev p{i}"))?;
                    ip(&peer, &format!("link set p{i} up"))?;
                    ip(
                        &peer,
                        &format!("neigh add 10.255.{net}.1 lladdr {tmac} dev p{i} nud permanent"),
                    )?;
                    ip(
                        &peer,
                        &format!("route add default via 10.255.{net}.1 dev p{i} onlink"),
                    )?;
                    let sock = raw_socket(&peer)?;
                    // Raw sends to the link's broadcast address need SO_BROADCAST.
                    rustix::net::sockopt::set_socket_broadcast(&sock, true)
                        .map_err(|e| format!("SO_BROADCAST: {e}"))?;
                    senders.push(sock);
                    keep.push(peer);
                }
            }
            if hook == IN {
                // Any address is local: every destination reaches LOCAL_IN.
                ip(&ns, "route add local 0.0.0.0/0 dev lo")?;
            } else {
                for (j, name) in OUTPUTS.iter().enumerate() {
                    let net = 100 + 10 * hook + j;
                    let smac = format!("02:00:00:00:{:02x}:{:02x}", 0xB0 + hook, j);
                    let sname = format!("s{hook}{j}");
                    ip(
                        &ns,
                        &format!(
                            "link add {name} type veth peer name {sname} address {smac} netns {}",
                            ns_path(&sink)
                        ),
                    )?;
                    ip(&ns, &format!("addr add 10.255.{net}.1/30 dev {name}"))?;
                    ip(&ns, &format!("link set {name} up"))?;
                    ip(
                        &ns,
                        &format!("neigh add 10.255.{net}.2 lladdr {smac} dev {name} nud permanent"),
                    )?;
                    let dst = if j == 0 { "0.0.0.0/1" } else { "128.0.0.0/1" };
                    ip(
                        &ns,
                        &format!("route add {dst} via 10.255.{net}.2 dev {name} onlink"),
                    )?;
                    ip(&sink, &format!("link set {sname} up"))?;
                }
                // The routes must agree with the generator's idea of them.
                debug_assert_eq!(out_iface(0x7FFF_FFFF), 0);
            }
            if hook == FWD {
                sysctl(&ns, "ipv4/ip_forward", "1")?;
            }
            if hook == OUT {
                senders.push(raw_socket(&ns)?);
            }
            let ipt = ns
                .run(IptSocket::new)
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("ipt socket: {e}"))?;
            let chain = ["", "INPUT", "FORWARD", "OUTPUT"][hook];
            let mut sec = String::from(
                "*security\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
            );
            for b in 0..32 {
                let bit = 1u32 << b;
                sec.push_str(&format!("-A {chain} -m mark --mark {bit:#x}/{bit:#x}\n"));
            }
            sec.push_str("COMMIT\n");
            cmd(&ns, "iptables-legacy-restore", &["-w", "5"], Some(&sec))?;
            let (sec_first, security_policy) = chain_range(&ipt, "security", hook)?;
            if security_policy != sec_first + 32 {
                return Err("security mark probes not where expected".into());
            }
            let mangle_chain = chain_range(&ipt, "mangle", hook)?;
            let mut tns = Tns {
                hook,
                ns,
                ipt,
                senders,
                ct_probe: false,
                filter: Vec::new(),
                mangle: Vec::new(),
                security: Vec::new(),
                mangle_chain,
                security_policy,
                bpf: None,
            };
            tns.set_mangle(false)?;
            tns.mangle = read_counters(&tns.ipt, "mangle")?;
            tns.security = read_counters(&tns.ipt, "security")?;
            t.push(tns);
        }
        keep.push(sink);
        Ok(Lab {
            t,
            _keep: keep,
            loaded_at: Instant::now(),
        })
    }

    fn tns(&mut self, hook: usize) -> &mut Tns {
        let i = match hook {
            IN => 0,
            FWD => 1,
            _ => 2,
        };
        &mut self.t[i]
    }

    /// Replace filter with `table` (via `blob_for(num_counters)`) in every namespace, and
    /// set the mangle probes up for conntrack or not. `Err(errno)` if the kernel refuses it.
    pub fn load(
        &mut self,
        blob_for: impl Fn(u32) -> Vec<u8>,
        uses_ct: bool,
    ) -> Result<Result<(), i32>, String> {
        for tns in &mut self.t {
            let info = tns
                .ipt
                .get_info("filter")
                .map_err(|e| format!("GET_INFO filter: errno {e}"))?;
            if let Err(e) = tns.ipt.replace(&blob_for(info.num_entries.get())) {
                return Ok(Err(e));
            }
            if tns.ct_probe != uses_ct {
                tns.set_mangle(uses_ct)?;
            }
            tns.filter = read_counters(&tns.ipt, "filter")?;
            tns.mangle = read_counters(&tns.ipt, "mangle")?;
            tns.security = read_counters(&tns.ipt, "security")?;
        }
        self.loaded_at = Instant::now();
        Ok(Ok(()))
    }

    /// BPF mode: compile `table`, load and attach its programs in every namespace (one
    /// loaded table per namespace, as each kernel table has its own limit state); filter
    /// keeps its empty chains. `Ok(Err(why))` if the code generator refuses the table.
    pub fn load_bpf(
        &mut self,
        table: &Table,
        opts: &LoaderOptions,
        uses_ct: bool,
    ) -> Result<Result<(), LoaderError>, String> {
        for tns in &mut self.t {
            // Detach the previous ruleset's programs first: both would run otherwise.
            tns.bpf = None;
            let loaded = match load_table(table, opts) {
                Ok(l) => l,
                Err(e) => return Ok(Err(e)),
            };
            let attached = match loaded.attach(Some(&tns.ns)) {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            tns.bpf = Some((loaded, attached));
            if tns.ct_probe != uses_ct {
                tns.set_mangle(uses_ct)?;
            }
            tns.filter = tns.rule_counters()?;
            tns.mangle = read_counters(&tns.ipt, "mangle")?;
            tns.security = read_counters(&tns.ipt, "security")?;
        }
        self.loaded_at = Instant::now();
        Ok(Ok(()))
    }

    /// Jiffies (HZ 250) since the ruleset was loaded.
    pub fn jiffies(&self) -> u64 {
        (self.loaded_at.elapsed().as_millis() / 4) as u64
    }

    /// Send `p` and observe what the kernel did.
    pub fn send(&mut self, p: &TestPacket) -> Result<Observed, String> {
        let tns = self.tns(p.hook);
        let fd = tns
            .senders
            .get(if p.hook == OUT { 0 } else { p.in_if })
            .ok_or("no sender")?;
        let dst = std::net::SocketAddrV4::new(p.dst().into(), 0);
        // A packet OUTPUT drops makes sendto fail with EPERM: it was sent all the same.
        let send_error = rustix::net::sendto(fd, &p.bytes, rustix::net::SendFlags::empty(), &dst)
            .err()
            .map(|e| e.to_string());
        // veth hands the frame to the peer's backlog and the softirq runs when the sender
        // re-enables bottom halves, before sendto returns; poll briefly in case it did not.
        let (lo, hi) = tns.mangle_chain;
        let mut waited = false;
        let mut mangle = read_counters(&tns.ipt, "mangle")?;
        let mut tries = 0;
        loop {
            let d = delta(&mangle, &tns.mangle);
            if d[lo..=hi].iter().any(|&(p, _)| p > 0) || tries >= 10 {
                break;
            }
            tries += 1;
            waited = true;
            std::thread::sleep(Duration::from_millis(1));
            mangle = read_counters(&tns.ipt, "mangle")?;
        }
        if waited {
            // It came late: give filter and security time to finish with it too.
            std::thread::sleep(Duration::from_millis(5));
            mangle = read_counters(&tns.ipt, "mangle")?;
        }
        let filter = tns.rule_counters()?;
        let security = read_counters(&tns.ipt, "security")?;
        let dm = delta(&mangle, &tns.mangle);
        let df = delta(&filter, &tns.filter);
        let ds = delta(&security, &tns.security);
        tns.mangle = mangle;
        tns.filter = filter;
        tns.security = security;
        let chain = &dm[lo..=hi];
        let delivered = chain.iter().any(|&(p, _)| p > 0);
        let accepted = ds.get(tns.security_policy).is_some_and(|&(p, _)| p > 0);
        let mark = accepted.then(|| {
            (0..32).fold(0u32, |m, b| {
                let hit = ds
                    .get(tns.security_policy - 32 + b)
                    .is_some_and(|&(p, _)| p > 0);
                m | (u32::from(hit) << b)
            })
        });
        let (ct, ct_status) = if tns.ct_probe && delivered {
            probe_state(chain)?
        } else {
            (Ct::Invalid, 0)
        };
        Ok(Observed {
            delivered,
            ct,
            ct_status,
            filter: df,
            accepted,
            mark,
            send_error,
        })
    }
}

/// Mangle rules before the probes: one MARK rule per nonzero entry of [`MARKS`].
const MARK_RULES: usize = MARKS.len() - 1;

/// Read the conntrack state off the probe rules' deltas.
fn probe_state(chain: &[(u64, u64)]) -> Result<(Ct, u32), String> {
    let hit = |i: usize| chain.get(MARK_RULES + i).is_some_and(|&(p, _)| p > 0);
    let states: Vec<usize> = (0..5).filter(|&i| hit(i)).collect();
    let reply = hit(5);
    let mut status = 0u32;
    for (k, bit) in [(6, 1u32), (7, 2), (8, 4), (9, 8)] {
        if hit(k) {
            status |= bit;
        }
    }
    let ct = match states.as_slice() {
        [0] => Ct::Invalid,
        [1] => Ct::New,
        [2] => Ct::Established { reply },
        [3] => Ct::Related { reply },
        [4] => Ct::Untracked,
        other => return Err(format!("conntrack probes saw states {other:?}")),
    };
    Ok((ct, status))
}

impl Tns {
    /// Load raw and mangle: raw drops what the namespace sends itself (no user socket), and
    /// with conntrack on (`on`) untracks a quarter of the packets (`CT --notrack` by two bits
    /// of the IP id) so that UNTRACKED shows up; mangle sets the marks and, if `on`, probes.
    fn set_mangle(&mut self, on: bool) -> Result<(), String> {
        let mut raw = String::from(
            "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A OUTPUT -m owner ! --uid-owner 0 -j DROP\n",
        );
        if on {
            let chain = if self.hook == OUT {
                "OUTPUT"
            } else {
                "PREROUTING"
            };
            raw.push_str(&format!(
                "-A {chain} -m u32 --u32 \"4&0x180000=0x180000\" -j CT --notrack\n"
            ));
        }
        raw.push_str("COMMIT\n");
        cmd(
            &self.ns,
            "iptables-legacy-restore",
            &["-w", "5"],
            Some(&raw),
        )?;
        let mut text = String::from(
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
             :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
        );
        let chain = ["", "INPUT", "FORWARD", "OUTPUT"][self.hook];
        // The packet's mark: MARKS[k] for k = the low 3 bits of the IP id (bytes 4-5, read
        // by u32 as bits 16-18 of the word at offset 4).
        for (k, m) in MARKS.iter().enumerate().skip(1) {
            text.push_str(&format!(
                "-A {chain} -m u32 --u32 \"4&0x70000={:#x}\" -j MARK --set-xmark {m:#x}/0xffffffff\n",
                k << 16
            ));
        }
        if on {
            for p in PROBES {
                text.push_str(&format!("-A {chain} -m conntrack {p}\n"));
            }
        }
        text.push_str("COMMIT\n");
        cmd(
            &self.ns,
            "iptables-legacy-restore",
            &["-w", "5"],
            Some(&text),
        )?;
        self.ct_probe = on;
        self.mangle_chain = chain_range(&self.ipt, "mangle", self.hook)?;
        Ok(())
    }
}

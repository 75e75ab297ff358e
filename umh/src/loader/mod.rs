//! Load a table's generated programs into the kernel, attach them at the table's hooks in a
//! network namespace, read the per-rule counters back.
//!
//! ```text
//! load_table(table)        compile every hook (core::codegen::compile_table): an unsupported
//!   |                      extension is refused by name before anything reaches the kernel
//!   |                      create the maps (counters, limits, log ring buffer)
//!   |                      link map fds, BPF_PROG_LOAD each hook's program
//!   v
//! LoadedTable --attach(netns)--> Attachment (one netfilter link per hook, all or none)
//!   |  counters()      per entry {packets, bytes}, summed over CPUs, in entry order (the
//!   |                  order IPT_SO_GET_ENTRIES reports them)
//!   |  test_run(...)   BPF_PROG_TEST_RUN of one hook's program
//! ```
//!
//! Kernel facts (`shared/notes/bpf-on-this-kernel.md`, checked by `umh/tests/loader*.rs`):
//! kfunc ids and struct offsets come from the running kernel's BTF; a link attaches in the
//! network namespace of the thread that creates it, so [`LoadedTable::attach`] creates the
//! links on a thread inside the target namespace; closing the last link fd detaches.

use crate::sys::bpf::{
    nf_hook_state, BpfError, Link, LoadOptions, LoadStats, Map, MapSpec, NetfilterAttach, Program,
    TestRun, TestRunOutput, NFPROTO_IPV4,
};
use crate::sys::btf::{Btf, BtfError, Member};
use crate::sys::netns::NetNs;
use bpfilter_core::codegen::classify::{Classifier, CLASSIFIER_VALUE_SIZE};
use bpfilter_core::codegen::compile_cold::{ColdCode, COLD_INSN_SIZE};
use bpfilter_core::codegen::{
    compile_table, BitField, CompileError, CompileOptions, CompiledProgram, DirectRead, LogLayout,
    MapKind, NfLayout, UidLayout, COUNTER_VALUE_SIZE, DEFAULT_COLD_ABOVE, DEFAULT_HOT_ENTRIES,
    DEFAULT_HZ, DEFAULT_INLINE_MAX_ENTRIES, LIMIT_VALUE_SIZE, LOG_RINGBUF_SIZE,
};
use bpfilter_core::ir::{Counters, Table};
use bpfilter_core::uapi::{HOOK_NAMES, NF_INET_LOCAL_OUT};
use std::fmt;
use std::io;

/// Why loading or attaching failed.
#[derive(Debug)]
pub enum LoaderError {
    /// The table cannot be compiled (an unsupported extension, named).
    Compile(CompileError),
    /// The verifier refused a hook's program; the log is kept whole.
    Verifier {
        /// The hook.
        hook: usize,
        /// The load's errno.
        errno: i32,
        /// The verifier log.
        log: String,
    },
    /// The kernel has no netfilter BPF programs or links (before 6.4, or
    /// `CONFIG_NETFILTER_BPF_LINK` off).
    NoNetfilterLinks {
        /// What the kernel answered.
        errno: i32,
    },
    /// Another hook function already sits at the table's priority on this hook (for the
    /// filter table: typically iptables' own filter table, active in the namespace). The
    /// kernel refuses a BPF link at a priority any other hook function uses (EBUSY).
    PriorityTaken {
        /// The hook.
        hook: usize,
        /// The priority.
        priority: i32,
    },
    /// The table's name has no netfilter priority bpfilter knows (nat is not supported).
    UnsupportedTable(String),
    /// Reading the kernel's BTF failed.
    Btf(BtfError),
    /// Another BPF call failed.
    Bpf(BpfError),
    /// Entering the network namespace failed.
    Io(io::Error),
}

impl fmt::Display for LoaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoaderError::Compile(e) => write!(f, "cannot compile the table: {e}"),
            LoaderError::Verifier { hook, errno, log } => write!(
                f,
                "the verifier refused the {} program: {}\n--- verifier log ---\n{log}",
                hook_name(*hook),
                io::Error::from_raw_os_error(*errno)
            ),
            LoaderError::NoNetfilterLinks { errno } => write!(
                f,
                "this kernel cannot run netfilter BPF programs (BPF_PROG_TYPE_NETFILTER and \
                 netfilter links need Linux 6.4+ with CONFIG_NETFILTER_BPF_LINK): {}",
                io::Error::from_raw_os_error(*errno)
            ),
            LoaderError::PriorityTaken { hook, priority } => write!(
                f,
                "another hook function already uses priority {priority} at {} in this network \
                 namespace (the kernel's own iptables table?); the kernel allows one BPF link \
                 per priority",
                hook_name(*hook)
            ),
            LoaderError::UnsupportedTable(t) => {
                write!(
                    f,
                    "table {t:?}: bpfilter attaches only filter, mangle, raw and security"
                )
            }
            LoaderError::Btf(e) => write!(f, "kernel BTF: {e}"),
            LoaderError::Bpf(e) => write!(f, "{e}"),
            LoaderError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoaderError {}

impl From<CompileError> for LoaderError {
    fn from(e: CompileError) -> Self {
        LoaderError::Compile(e)
    }
}
impl From<BpfError> for LoaderError {
    fn from(e: BpfError) -> Self {
        LoaderError::Bpf(e)
    }
}
impl From<BtfError> for LoaderError {
    fn from(e: BtfError) -> Self {
        LoaderError::Btf(e)
    }
}
impl From<io::Error> for LoaderError {
    fn from(e: io::Error) -> Self {
        LoaderError::Io(e)
    }
}

fn hook_name(h: usize) -> &'static str {
    HOOK_NAMES.get(h).copied().unwrap_or("?")
}

fn byte_off(m: &Member, what: &str) -> Result<i16, LoaderError> {
    m.byte_offset()
        .and_then(|o| i16::try_from(o).ok())
        .ok_or_else(|| LoaderError::Btf(BtfError::NotFound(format!("{what} at a byte offset"))))
}

/// The running kernel's `CONFIG_HZ`: from `/boot/config-$(uname -r)` or `/proc/config.gz`
/// (through `zcat`), else [`DEFAULT_HZ`].
pub fn kernel_hz() -> u32 {
    let parse = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("CONFIG_HZ="))
            .and_then(|v| v.trim().parse().ok())
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    if let Ok(text) = std::fs::read_to_string(format!("/boot/config-{}", release.trim())) {
        if let Some(hz) = parse(&text) {
            return hz;
        }
    }
    std::process::Command::new("zcat")
        .arg("/proc/config.gz")
        .output()
        .ok()
        .and_then(|o| parse(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or(DEFAULT_HZ)
}

/// Compile options for the running kernel: kfunc ids and struct offsets from its BTF.
pub fn compile_options(btf: &Btf) -> Result<CompileOptions, LoaderError> {
    let nf = btf.nf_offsets()?;
    let skb_len = btf.member("sk_buff", "len")?;
    let pkt_type = match nf.skb_pkt_type {
        Some(m) => {
            let byte = i16::try_from(m.bit_offset / 8).ok();
            let shift = u8::try_from(m.bit_offset % 8).ok();
            let bits = u8::try_from(m.bitfield_size).ok();
            match (byte, shift, bits) {
                // The field must sit in one byte for a byte load to hold it.
                (Some(byte), Some(shift), Some(bits))
                    if bits > 0 && u32::from(shift) + u32::from(bits) <= 8 =>
                {
                    Some(BitField { byte, shift, bits })
                }
                _ => None,
            }
        }
        None => None,
    };
    let kfuncs = btf.kfuncs()?;
    Ok(CompileOptions {
        kfuncs,
        layout: NfLayout {
            state_in: byte_off(&nf.state_in, "nf_hook_state.in")?,
            state_out: byte_off(&nf.state_out, "nf_hook_state.out")?,
            dev_name: byte_off(&nf.dev_name, "net_device.name")?,
            skb_len: byte_off(&skb_len, "sk_buff.len")?,
            skb_mark: byte_off(&nf.skb_mark, "sk_buff.mark")?,
            skb_nfct: match nf.skb_nfct {
                Some(m) => Some(byte_off(&m, "sk_buff._nfct")?),
                None => None,
            },
            skb_pkt_type: pkt_type,
            log: log_layout(btf)?,
        },
        direct: direct_read(btf, skb_len.byte_offset()),
        hz: kernel_hz(),
        inline_max_entries: DEFAULT_INLINE_MAX_ENTRIES,
        cold_above: env_knob("BPFILTER_COLD_ABOVE").unwrap_or(DEFAULT_COLD_ABOVE),
        hot_entries: env_knob("BPFILTER_HOT_ENTRIES").unwrap_or(DEFAULT_HOT_ENTRIES),
    })
}

/// Direct header reads, if this kernel's BTF has what they need and its verifier accepts
/// them: `bpf_rdonly_cast(ptr, 0)` (the untyped cast) is newer than netfilter programs
/// (Linux 6.17), so a small probe program is loaded once per process; without it every
/// packet read goes through the dynptr kfuncs.
fn direct_read(btf: &Btf, skb_len: Option<u32>) -> Option<DirectRead> {
    let off = |outer: &str, path: &str| {
        btf.member(outer, path)
            .ok()?
            .byte_offset()
            .and_then(|o| i16::try_from(o).ok())
    };
    let d = DirectRead {
        rdonly_cast: btf.kfunc_id("bpf_rdonly_cast").ok()?,
        skb_data: off("sk_buff", "data")?,
        skb_data_len: off("sk_buff", "data_len")?,
    };
    let skb_len = i16::try_from(skb_len?).ok()?;
    // The verifier's answer does not change while the process runs: probe once (again only
    // if another BTF gives other ids or offsets).
    static PROBED: std::sync::Mutex<Option<(DirectRead, bool)>> = std::sync::Mutex::new(None);
    let mut probed = PROBED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((seen, ok)) = *probed {
        if seen == d {
            return ok.then_some(d);
        }
    }
    let ok = probe_direct_read(d, skb_len);
    *probed = Some((d, ok));
    ok.then_some(d)
}

/// Load a program that reads a packet byte the way generated code does: the skb's data
/// pointer plus a bounded variable offset, cast with `bpf_rdonly_cast(p, 0)`.
fn probe_direct_read(d: DirectRead, skb_len: i16) -> bool {
    use bpfilter_core::codegen::{AluOp, Builder, Reg, Size};
    let mut b = Builder::new();
    b.load(
        Size::DW,
        Reg::R6,
        Reg::R1,
        bpfilter_core::codegen::nf_ctx::SKB,
    )
    .load(Size::W, Reg::R2, Reg::R6, skb_len)
    .alu64(AluOp::And, Reg::R2, 63)
    .load(Size::DW, Reg::R1, Reg::R6, d.skb_data)
    .alu64(AluOp::Add, Reg::R1, Reg::R2)
    .mov64(Reg::R2, 0)
    .call_kfunc(d.rdonly_cast)
    .load(Size::DW, Reg::R1, Reg::R0, 8)
    .load(Size::W, Reg::R1, Reg::R6, d.skb_data_len)
    .ret(0);
    let Ok(insns) = b.finish() else {
        return false;
    };
    let opts = LoadOptions {
        name: "bpfilter_probe",
        full_log_on_error: false,
        ..LoadOptions::default()
    };
    Program::load_netfilter(&insns, &opts).is_ok()
}

/// The LOG subprogram's offsets; the `--log-uid` walk is optional.
fn log_layout(btf: &Btf) -> Result<LogLayout, LoaderError> {
    let off = |outer: &str, path: &str| -> Result<i16, LoaderError> {
        byte_off(&btf.member(outer, path)?, &format!("{outer}.{path}"))
    };
    let uid = (|| -> Result<UidLayout, LoaderError> {
        Ok(UidLayout {
            state_net: off("nf_hook_state", "net")?,
            skb_sk: off("sk_buff", "sk")?,
            sk_state: off("sock", "__sk_common.skc_state")?,
            sk_net: off("sock", "__sk_common.skc_net.net")?,
            sk_socket: off("sock", "sk_socket")?,
            socket_file: off("socket", "file")?,
            file_cred: off("file", "f_cred")?,
            cred_fsuid: off("cred", "fsuid")?,
            cred_fsgid: off("cred", "fsgid")?,
        })
    })()
    .ok();
    Ok(LogLayout {
        skb_dev: off("sk_buff", "dev")?,
        skb_head: off("sk_buff", "head")?,
        skb_mac_header: off("sk_buff", "mac_header")?,
        skb_network_header: off("sk_buff", "network_header")?,
        skb_vlan_proto: off("sk_buff", "vlan_proto")?,
        skb_vlan_tci: off("sk_buff", "vlan_tci")?,
        dev_type: off("net_device", "type")?,
        dev_hard_header_len: off("net_device", "hard_header_len")?,
        uid,
    })
}

/// A tuning knob from the environment (`BPFILTER_COLD_ABOVE`, `BPFILTER_HOT_ENTRIES`: when
/// the cold-rule interpreter takes over, and how many entries stay inline before it).
pub(crate) fn env_knob(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Compile options for the running kernel, reading `/sys/kernel/btf/vmlinux`.
pub fn host_compile_options() -> Result<CompileOptions, LoaderError> {
    compile_options(&Btf::from_sys_fs()?)
}

/// The netfilter priority of a table's hook functions (`NF_IP_PRI_*`), as the kernel
/// registers the x_tables table itself.
pub fn table_priority(table: &str) -> Option<i32> {
    match table {
        "filter" => Some(0),
        "mangle" => Some(-150),
        "raw" => Some(-300),
        "security" => Some(50),
        _ => None,
    }
}

/// The maps of one loaded table.
#[derive(Debug)]
pub struct TableMaps {
    /// Per-rule counters (per-CPU array indexed by entry).
    pub counters: Map,
    /// xt_limit state, if the table has limit matches.
    pub limits: Option<Map>,
    /// LOG events, if the table has LOG rules.
    pub log: Option<Map>,
    /// One hash map or LPM trie per classifier run (`CompiledProgram::classifiers`).
    pub classifiers: Vec<Map>,
    /// The cold code of each hook in cold mode (`CompiledProgram::cold`), by hook.
    pub cold: Vec<(usize, Map)>,
}

impl TableMaps {
    fn fd(&self, k: MapKind) -> Option<i32> {
        match k {
            MapKind::Counters => Some(self.counters.fd().as_raw()),
            MapKind::Limits => self.limits.as_ref().map(|m| m.fd().as_raw()),
            MapKind::Log => self.log.as_ref().map(|m| m.fd().as_raw()),
            MapKind::ExactClassifier(i) | MapKind::PrefixClassifier(i) => self
                .classifiers
                .get(usize::try_from(i).ok()?)
                .map(|m| m.fd().as_raw()),
            MapKind::Cold(h) => self
                .cold
                .iter()
                .find(|(hook, _)| u32::try_from(*hook).ok() == Some(h))
                .map(|(_, m)| m.fd().as_raw()),
        }
    }
}

/// One hook's loaded program.
#[derive(Debug)]
pub struct LoadedHook {
    /// The hook.
    pub hook: usize,
    /// The program.
    pub program: Program,
    /// What the verifier and the JIT said.
    pub stats: LoadStats,
    /// The generated program (unlinked instructions, entry spans, figures).
    pub compiled: CompiledProgram,
}

/// A table's programs, loaded but not attached.
#[derive(Debug)]
pub struct LoadedTable {
    /// Table name.
    pub name: String,
    /// The maps.
    pub maps: TableMaps,
    /// One program per hook of the table, in hook order.
    pub hooks: Vec<LoadedHook>,
    /// Number of entries in the table.
    pub entries: usize,
}

/// How to load.
#[derive(Clone, Copy, Debug)]
pub struct LoaderOptions {
    /// Compiler options (from [`host_compile_options`] for the running kernel).
    pub compile: CompileOptions,
    /// Verifier log level for successful loads (`sys::bpf::LOG_STATS` is enough for the
    /// processed-instruction count).
    pub log_level: u32,
}

fn check_prog_support(e: BpfError, hook: usize) -> LoaderError {
    match e {
        // Without the program type the kernel fails before verifying: EINVAL, empty log.
        BpfError::Verifier { errno, log, .. } if errno == libc::EINVAL && log.trim().is_empty() => {
            LoaderError::NoNetfilterLinks { errno }
        }
        BpfError::Verifier { errno, log, .. } => LoaderError::Verifier { hook, errno, log },
        e => LoaderError::Bpf(e),
    }
}

/// Compile and load every hook's program of `table`. Nothing is attached.
///
/// A hook whose program the verifier finds too large (E2BIG: a million instructions
/// processed, which complex rules reach long before [`DEFAULT_COLD_ABOVE`] entries) is
/// compiled again in cold mode, with a hot prefix halved at each further refusal down to none:
/// no ruleset the kernel accepts is refused for its size.
pub fn load_table(table: &Table, opts: &LoaderOptions) -> Result<LoadedTable, LoaderError> {
    // Every hook compiles, or nothing reaches the kernel.
    let mut programs = compile_table(table, &opts.compile)?;
    loop {
        match try_load(table, programs, opts) {
            Err((LoaderError::Verifier { hook, errno, log }, back)) if errno == libc::E2BIG => {
                programs = back;
                let Some(at) = programs.iter().position(|p| p.hook == hook) else {
                    return Err(LoaderError::Verifier { hook, errno, log });
                };
                let hot = match programs.get(at).and_then(|p| p.stats.hot_entries) {
                    // Already cold with no hot prefix: nothing smaller to try.
                    Some(0) => return Err(LoaderError::Verifier { hook, errno, log }),
                    Some(h) => h / 2,
                    None => opts.compile.hot_entries.min(DEFAULT_HOT_ENTRIES),
                };
                let cold = CompileOptions {
                    cold_above: 0,
                    hot_entries: hot,
                    ..opts.compile
                };
                let again = bpfilter_core::codegen::compile(table, hook, &cold)?;
                if let Some(slot) = programs.get_mut(at) {
                    *slot = again;
                }
            }
            other => return other.map_err(|(e, _)| e),
        }
    }
}

/// Load programs compiled from `table` (all its hooks, from `compile_table`).
pub fn load_programs(
    table: &Table,
    programs: Vec<CompiledProgram>,
    opts: &LoaderOptions,
) -> Result<LoadedTable, LoaderError> {
    try_load(table, programs, opts).map_err(|(e, _)| e)
}

/// [`load_programs`], handing the programs back with the error (for another attempt).
fn try_load(
    table: &Table,
    programs: Vec<CompiledProgram>,
    opts: &LoaderOptions,
) -> Result<LoadedTable, (LoaderError, Vec<CompiledProgram>)> {
    let maps = match table_maps(&programs) {
        Ok(m) => m,
        Err(e) => return Err((e, programs)),
    };
    let mut loaded = Vec::with_capacity(programs.len());
    for compiled in &programs {
        match load_hook(table, compiled, &maps, opts) {
            Ok(l) => loaded.push(l),
            Err(e) => return Err((e, programs)),
        }
    }
    let hooks = programs
        .into_iter()
        .zip(loaded)
        .map(|(compiled, (program, stats))| LoadedHook {
            hook: compiled.hook,
            program,
            stats,
            compiled,
        })
        .collect();
    Ok(LoadedTable {
        name: table.name.as_str().to_string(),
        maps,
        hooks,
        entries: table.entries.len(),
    })
}

/// The table's maps, created and filled before any program is loaded.
fn table_maps(programs: &[CompiledProgram]) -> Result<TableMaps, LoaderError> {
    let needed = programs
        .first()
        .map(|p| p.maps)
        .ok_or(LoaderError::Compile(CompileError::NoSuchHook { hook: 0 }))?;
    let counters = Map::create(&MapSpec::percpu_array(
        "bpfilter_cnt",
        COUNTER_VALUE_SIZE,
        needed.counters.max(1),
    ))?;
    let limits = if needed.limits > 0 {
        Some(Map::create(&MapSpec::array(
            "bpfilter_limit",
            LIMIT_VALUE_SIZE,
            needed.limits,
        ))?)
    } else {
        None
    };
    let log = if needed.log {
        Some(Map::create(&MapSpec::ringbuf(
            "bpfilter_log",
            LOG_RINGBUF_SIZE,
        ))?)
    } else {
        None
    };
    let classifiers = programs
        .first()
        .map(|p| p.classifiers.as_slice())
        .unwrap_or_default()
        .iter()
        .map(classifier_map)
        .collect::<Result<Vec<Map>, BpfError>>()?;
    let cold = programs
        .iter()
        .filter_map(|p| p.cold.as_ref().map(|c| (p.hook, c)))
        .map(|(h, c)| cold_map(c).map(|m| (h, m)))
        .collect::<Result<Vec<_>, BpfError>>()?;
    Ok(TableMaps {
        counters,
        limits,
        log,
        classifiers,
        cold,
    })
}

/// Link one hook's program to the table's maps and load it.
fn load_hook(
    table: &Table,
    compiled: &CompiledProgram,
    maps: &TableMaps,
    opts: &LoaderOptions,
) -> Result<(Program, LoadStats), LoaderError> {
    let insns = compiled.link(|k| maps.fd(k))?;
    let name = format!(
        "bpf_{}_{}",
        table.name.as_str(),
        hook_name(compiled.hook).to_ascii_lowercase()
    );
    let name: String = name.chars().take(15).collect();
    let load = LoadOptions {
        name: &name,
        log_level: opts.log_level,
        ..LoadOptions::default()
    };
    Program::load_netfilter(&insns, &load).map_err(|e| check_prog_support(e, compiled.hook))
}

/// Create and fill the map of one classifier run: a hash map (exact keys) or an LPM trie
/// (prefixes), `{u32 entry, u32 verdict}` values, filled before any program uses it.
fn classifier_map(c: &Classifier) -> Result<Map, BpfError> {
    let n = u32::try_from(c.elems.len().max(1))
        .map_err(|_| BpfError::Invalid("classifier too large".to_string()))?;
    let spec = if c.key.is_prefix() {
        MapSpec::lpm_trie(
            "bpfilter_lpm",
            c.key.key_size().saturating_sub(4),
            CLASSIFIER_VALUE_SIZE,
            n,
        )
    } else {
        MapSpec::hash("bpfilter_hash", c.key.key_size(), CLASSIFIER_VALUE_SIZE, n)
    };
    let map = Map::create(&spec)?;
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for e in &c.elems {
        keys.extend_from_slice(&e.key.bytes());
        values.extend_from_slice(&e.value());
    }
    map.update_batch(&keys, &values)?;
    Ok(map)
}

/// Create and fill the array of one hook's cold code (16-byte instructions at keys 0..n).
fn cold_map(c: &ColdCode) -> Result<Map, BpfError> {
    let n = u32::try_from(c.insns.len().max(1))
        .map_err(|_| BpfError::Invalid("cold code too large".to_string()))?;
    let map = Map::create(&MapSpec::array("bpfilter_cold", COLD_INSN_SIZE, n))?;
    let mut keys = Vec::with_capacity(c.insns.len().saturating_mul(4));
    let mut values = Vec::with_capacity(c.insns.len().saturating_mul(16));
    for (i, insn) in (0u32..).zip(&c.insns) {
        keys.extend_from_slice(&i.to_ne_bytes());
        values.extend_from_slice(insn);
    }
    map.update_batch(&keys, &values)?;
    Ok(map)
}

/// Attached links; dropping this (or [`Attachment::detach`]) detaches them.
#[derive(Debug)]
pub struct Attachment {
    links: Vec<(usize, Link)>,
}

impl Attachment {
    /// The links, with their hooks.
    pub fn links(&self) -> impl Iterator<Item = (usize, &Link)> {
        self.links.iter().map(|(h, l)| (*h, l))
    }

    /// Detach every link now.
    pub fn detach(self) -> Result<(), LoaderError> {
        let mut first = Ok(());
        for (_, l) in &self.links {
            if let Err(e) = l.detach() {
                if first.is_ok() {
                    first = Err(LoaderError::Bpf(e));
                }
            }
        }
        first
    }
}

impl LoadedTable {
    /// The program of `hook`.
    pub fn hook(&self, hook: usize) -> Option<&LoadedHook> {
        self.hooks.iter().find(|h| h.hook == hook)
    }

    /// Attach every hook's program in network namespace `ns` (the calling thread's when
    /// `None`) at the table's priority. All or none: on any failure the links made so far
    /// are closed (detached) before the error returns.
    pub fn attach(&self, ns: Option<&NetNs>) -> Result<Attachment, LoaderError> {
        let priority = table_priority(&self.name)
            .ok_or_else(|| LoaderError::UnsupportedTable(self.name.clone()))?;
        let make = || -> Result<Attachment, LoaderError> {
            let mut links = Vec::new();
            for h in &self.hooks {
                let at = NetfilterAttach {
                    pf: NFPROTO_IPV4,
                    hooknum: u32::try_from(h.hook).unwrap_or(u32::MAX),
                    priority,
                    flags: 0,
                };
                match Link::netfilter(&h.program, &at) {
                    // `links` drops with the error: closing the fds detaches them.
                    Ok(l) => links.push((h.hook, l)),
                    Err(BpfError::Syscall { errno, .. })
                        if errno == libc::EINVAL || errno == libc::EOPNOTSUPP =>
                    {
                        return Err(LoaderError::NoNetfilterLinks { errno })
                    }
                    Err(BpfError::Syscall { errno, .. }) if errno == libc::EBUSY => {
                        return Err(LoaderError::PriorityTaken {
                            hook: h.hook,
                            priority,
                        })
                    }
                    Err(e) => return Err(LoaderError::Bpf(e)),
                }
            }
            Ok(Attachment { links })
        };
        match ns {
            Some(ns) => ns.run(make)?,
            None => make(),
        }
    }

    /// Every entry's counters `(packets, bytes)` summed over CPUs, in entry order.
    pub fn counters(&self) -> Result<Vec<Counters>, LoaderError> {
        let mut out = Vec::with_capacity(self.entries);
        for i in 0..self.entries {
            let key = u32::try_from(i).unwrap_or(u32::MAX).to_ne_bytes();
            let v = self.maps.counters.sum_percpu_u64(&key)?.unwrap_or_default();
            out.push((
                v.first().copied().unwrap_or(0),
                v.get(1).copied().unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// Run `hook`'s program on one IPv4 packet (`BPF_PROG_TEST_RUN`, `repeat` times; the
    /// duration is the kernel's mean per run). At LOCAL_OUT the packet goes in as it is;
    /// at the other hooks an Ethernet header is put in front and the context names the hook
    /// (the kernel runs `eth_type_trans`). The context's device pointers are NULL in a test
    /// run, so the program sees no input or output device.
    pub fn test_run(
        &self,
        hook: usize,
        packet: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutput, LoaderError> {
        let h = self
            .hook(hook)
            .ok_or(LoaderError::Compile(CompileError::NoSuchHook { hook }))?;
        Ok(test_run_packet(&h.program, hook, packet, repeat)?)
    }
}

/// `BPF_PROG_TEST_RUN` of a netfilter program at `hook` (see [`LoadedTable::test_run`]).
pub fn test_run_packet(
    program: &Program,
    hook: usize,
    packet: &[u8],
    repeat: u32,
) -> Result<TestRunOutput, BpfError> {
    if hook == NF_INET_LOCAL_OUT {
        return program.test_run(&TestRun {
            data: packet,
            ctx: None,
            repeat,
        });
    }
    let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    frame.extend_from_slice(packet);
    let ctx = nf_hook_state(u8::try_from(hook).unwrap_or(u8::MAX), 2);
    program.test_run(&TestRun {
        data: &frame,
        ctx: Some(&ctx),
        repeat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel without BPF_PROG_TYPE_NETFILTER fails the load before verifying anything:
    /// EINVAL and an empty log. That must read as "no netfilter programs", not as a
    /// verifier refusal; a real refusal keeps its log.
    #[test]
    fn missing_program_type_is_told_apart_from_a_refusal() {
        let e = check_prog_support(
            BpfError::Verifier {
                errno: libc::EINVAL,
                log: String::new(),
                truncated: false,
            },
            1,
        );
        assert!(matches!(
            e,
            LoaderError::NoNetfilterLinks {
                errno: libc::EINVAL
            }
        ));
        assert!(e.to_string().contains("6.4"), "{e}");
        let e = check_prog_support(
            BpfError::Verifier {
                errno: libc::EACCES,
                log: "R5 !read_ok".into(),
                truncated: false,
            },
            3,
        );
        assert!(
            matches!(&e, LoaderError::Verifier { hook: 3, log, .. } if log.contains("R5")),
            "{e}"
        );
    }

    #[test]
    fn priorities_are_the_kernels() {
        assert_eq!(table_priority("filter"), Some(0));
        assert_eq!(table_priority("raw"), Some(-300));
        assert_eq!(table_priority("nat"), None);
    }

    /// CONFIG_HZ from the running kernel's config, when it is readable at all.
    #[test]
    fn hz_is_read_from_the_kernel_config() {
        let hz = kernel_hz();
        assert!([100, 250, 300, 1000].contains(&hz), "{hz}");
    }
}

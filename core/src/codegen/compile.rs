//! The code generator: one `BPF_PROG_TYPE_NETFILTER` program per hook that decides what the
//! kernel's `ipt_do_table` decides for the table at that hook, and counts what it counts.
//!
//! ```text
//! compile(table, hook, opts)
//!   plan:  walk the entries reachable from hook_entry[hook] (compile_rule::analyze each);
//!          every jump/goto target starts a "function" (its walk: the entries from it up to
//!          the first one that never falls through); refuse unsupported extensions by name,
//!          loops, and call nesting beyond the BPF limits
//!   emit:  prologue (parse the packet once into a fields area on the stack)
//!          main = the hook's walk; subprograms = the functions not inlined; LOG subprogram
//!   link:  the loader patches map fds into the ld_imm64 of each MapReloc
//! ```
//!
//! # Chains: BPF subprograms, inlined when called once or small
//!
//! A user chain reached by a jump becomes a bpf-to-bpf subprogram `f(fields *, ctx)` that
//! returns `NF_DROP` (0), `NF_ACCEPT` (1) or [`CONTINUE`] (2, the chain RETURNed). A jump is
//! `call; if r0 != CONTINUE: return r0`; a goto is `return call` (no return address is
//! pushed, so the callee's RETURN goes to the goto's caller, as in the kernel); RETURN in the
//! hook's own chain runs the policy entry (`underflow[hook]`). A jump to the next entry is a
//! plain fall-through, exactly as `ipt_do_table` treats it.
//!
//! A function called from one site only, or with at most
//! [`CompileOptions::inline_max_entries`] entries, is inlined instead (RETURN becomes a jump
//! to the code after the jump). BPF allows 8 frames in a call chain ([`MAX_FRAMES`]; the LOG
//! subprogram is one more frame where it is called); when the subprograms would nest
//! deeper, more functions are inlined, one at a time (on a deepest call chain, the one whose
//! copies add the least code), and if the program would exceed [`MAX_EXPANDED_ENTRIES`]
//! entry copies the table is refused with [`CompileError::TooDeep`].
//!
//! The kernel drops a packet when its jump stack (one slot per ERROR entry of the table)
//! overflows. When the table's jumps can nest deeper than that, the program keeps the depth
//! in the fields area and drops exactly where the kernel would.
//!
//! # Code shape
//!
//! Each rule ORs the mismatch terms of all its conditions into one register and branches
//! once; the matched path falls through into the target. The verifier then explores each
//! rule a bounded number of times (processed instructions ≈ 1.5–2.3 × program size)
//! instead of once per field and rule (N², which fails near 1,400 rules; see
//! `shared/notes/bpf-on-this-kernel.md`). Conditions that may hotdrop (TCP/UDP/ICMP/
//! multiport on a short header or a fragment) cost one extra `if r9 != 0` after a mismatch;
//! their exact check runs only for packets with such trouble. See `compile_emit`.
//!
//! Chains are static subprograms, which the verifier walks again at every call path: a
//! chain reachable through many call paths multiplies its verification cost (nested
//! chains each jumped to from several places can exceed the 1,000,000-instruction limit).
//! Global functions (verified once) would need the program loaded with BTF and func_info.
//!
//! # Counters and maps
//!
//! * counters: per-CPU array, key = entry index, value `{packets: u64, bytes: u64}`; every
//!   entry whose conditions matched is counted before its target runs, with `skb->len`
//!   bytes, as `ADD_COUNTER(*counter, skb->len, 1)` does (policies and RETURN tails
//!   included). Shared by all hooks of a table.
//! * limits: array, one [`LIMIT_VALUE_SIZE`]-byte slot per limit match of the table (in entry
//!   order), the kernel's `xt_limit_priv` state; shared by all hooks (the kernel has one state
//!   per rule).
//! * log: ring buffer of [`super::compile_log::LogEvent`]s.
//! * classifiers: one hash map or LPM trie per run of entries that differ only in one port,
//!   the protocol, an address prefix or an interface ([`super::classify`]; the runs are found over the whole table, so every hook
//!   shares them), `{u32 entry, u32 verdict}` values, listed in
//!   [`CompiledProgram::classifiers`] and filled by the loader.
//!
//! No-panic contract: [`compile`] accepts any [`Table`] (hand-built ones with out-of-range
//! indices included) and returns an error value instead of panicking; every walk is bounded.

use super::builder::CodegenError;
use super::classify::{self, Classifier, Run, CLASSIFY_MIN_RUN};
use super::compile_cold::{self, ColdCode};
use super::compile_emit::Emitter;
use super::compile_rule::{self, Env, Needs, RuleInfo, Tgt};
use super::insn::Insn;
use super::prologue::{DirectRead, Kfuncs};
use crate::ir::{Rule, Table, Target};
use crate::uapi::{HOOK_NAMES, NF_INET_NUMHOOKS};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::fmt;
use core::fmt::Write as _;

/// Value a subprogram returns when its chain RETURNed (the caller goes on).
pub const CONTINUE: i32 = 2;
/// Most frames in a BPF call chain (`MAX_CALL_FRAMES`), the main program included.
pub const MAX_FRAMES: usize = 8;
/// Largest number of entry copies inlining for depth may produce.
pub const MAX_EXPANDED_ENTRIES: usize = 200_000;
/// Bytes of one counters-map value: `{u64 packets, u64 bytes}` (`struct xt_counters`).
pub const COUNTER_VALUE_SIZE: u32 = 16;
/// Bytes of one limits-map value: `{u64 prev, u32 credit, u32 initialised}`.
pub const LIMIT_VALUE_SIZE: u32 = 16;
/// Size of the log ring buffer (a power of two, a multiple of the page size).
pub const LOG_RINGBUF_SIZE: u32 = 256 * 1024;
/// Default for [`CompileOptions::inline_max_entries`].
pub const DEFAULT_INLINE_MAX_ENTRIES: usize = 4;
/// Default [`CompileOptions::cold_above`]: about where straight-line code nears the
/// verifier's limit of one million processed instructions.
pub const DEFAULT_COLD_ABOVE: usize = 10_000;
/// Default [`CompileOptions::hot_entries`]: what fits the instruction cache.
pub const DEFAULT_HOT_ENTRIES: usize = 1_000;
/// The most entries [`hot_entries_hint`] keeps inline (straight-line code stays well below
/// the verifier's limit there).
pub const MAX_HOT_ENTRIES: usize = 8_000;

/// The hot prefix for the ruleset that replaces `old`, from `old`'s counters: in every hook's
/// chain, the last entry (the policy aside: a packet that reaches it crossed every rule
/// anyway) that took at least a thousandth of the chain's packets marks how far the traffic
/// gets before it is decided; the prefix covers it, plus the entries the new ruleset adds
/// (insertions shift positions), between [`DEFAULT_HOT_ENTRIES`] and [`MAX_HOT_ENTRIES`].
/// Only the length of the prefix changes: rules keep their order, so first-match holds.
pub fn hot_entries_hint(old: &Table, counters: &[crate::ir::Counters], new_len: usize) -> usize {
    let grow = new_len.saturating_sub(old.entries.len());
    let mut want = DEFAULT_HOT_ENTRIES;
    for (start, uf) in old.hook_entry.iter().zip(old.underflow.iter()) {
        let (Some(start), Some(uf)) = (*start, *uf) else {
            continue;
        };
        let chain = counters.get(start..uf).unwrap_or_default();
        let total: u64 = chain
            .iter()
            .map(|c| c.0)
            .fold(0u64, u64::saturating_add)
            .saturating_add(counters.get(uf).map_or(0, |c| c.0));
        if total == 0 {
            continue;
        }
        let threshold = (total / 1000).max(1);
        if let Some(last) = chain.iter().rposition(|c| c.0 >= threshold) {
            want = want.max(last.saturating_add(1).saturating_add(grow));
        }
    }
    want.min(MAX_HOT_ENTRIES)
}
/// Default `CONFIG_HZ` (this machine's kernel).
pub const DEFAULT_HZ: u32 = 250;

/// A bitfield inside a kernel struct: the byte holding it, and its position in that byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitField {
    /// Byte offset of the byte that holds the field.
    pub byte: i16,
    /// Bit position of the field's lowest bit in that byte (little-endian bit order).
    pub shift: u8,
    /// Width in bits.
    pub bits: u8,
}

/// Kernel struct offsets the generated code reads through BTF-typed pointers; they come from
/// the running kernel's BTF (umh's `Btf::nf_offsets`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NfLayout {
    /// `nf_hook_state.in` (`struct net_device *`).
    pub state_in: i16,
    /// `nf_hook_state.out`.
    pub state_out: i16,
    /// `net_device.name` (`char[IFNAMSIZ]`).
    pub dev_name: i16,
    /// `sk_buff.len` (u32).
    pub skb_len: i16,
    /// `sk_buff.mark` (u32).
    pub skb_mark: i16,
    /// `sk_buff._nfct` (unsigned long), if the kernel has conntrack.
    pub skb_nfct: Option<i16>,
    /// `sk_buff.pkt_type` (a 3-bit bitfield), if present.
    pub skb_pkt_type: Option<BitField>,
    /// What the LOG subprogram reads besides the packet.
    pub log: LogLayout,
}

impl NfLayout {
    /// The offsets of the reference kernel (x86_64 Linux 6.18, this project's machines), for
    /// compiling without a kernel: golden tests and fuzzing. Programs for a running kernel
    /// take theirs from its BTF.
    pub const REFERENCE: NfLayout = NfLayout {
        state_in: 8,
        state_out: 16,
        dev_name: 280,
        skb_len: 112,
        skb_mark: 164,
        skb_nfct: Some(104),
        skb_pkt_type: Some(BitField {
            byte: 128,
            shift: 0,
            bits: 3,
        }),
        log: LogLayout {
            skb_dev: 16,
            skb_head: 192,
            skb_mac_header: 182,
            skb_network_header: 180,
            skb_vlan_proto: 152,
            skb_vlan_tci: 154,
            dev_type: 536,
            dev_hard_header_len: 180,
            uid: Some(UidLayout {
                state_net: 32,
                skb_sk: 24,
                sk_state: 18,
                sk_net: 48,
                sk_socket: 288,
                socket_file: 16,
                file_cred: 48,
                cred_fsuid: 32,
                cred_fsgid: 36,
            }),
        },
    };
}

/// Offsets the LOG subprogram reads: the MAC header (through `skb->dev`) and, for
/// `--log-uid`, the owning socket's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLayout {
    /// `sk_buff.dev` (`struct net_device *`).
    pub skb_dev: i16,
    /// `sk_buff.head` (`unsigned char *`).
    pub skb_head: i16,
    /// `sk_buff.mac_header` (u16).
    pub skb_mac_header: i16,
    /// `sk_buff.network_header` (u16).
    pub skb_network_header: i16,
    /// `sk_buff.vlan_proto` (`__be16`).
    pub skb_vlan_proto: i16,
    /// `sk_buff.vlan_tci` (u16).
    pub skb_vlan_tci: i16,
    /// `net_device.type` (u16).
    pub dev_type: i16,
    /// `net_device.hard_header_len` (u16).
    pub dev_hard_header_len: i16,
    /// The socket walk of `nf_log_dump_sk_uid_gid`, if the kernel's BTF has every member;
    /// without it `--log-uid` is refused.
    pub uid: Option<UidLayout>,
}

/// `skb->sk->sk_socket->file->f_cred->fsuid` and the checks on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UidLayout {
    /// `nf_hook_state.net`.
    pub state_net: i16,
    /// `sk_buff.sk`.
    pub skb_sk: i16,
    /// `sock.__sk_common.skc_state` (u8).
    pub sk_state: i16,
    /// `sock.__sk_common.skc_net.net`.
    pub sk_net: i16,
    /// `sock.sk_socket`.
    pub sk_socket: i16,
    /// `socket.file`.
    pub socket_file: i16,
    /// `file.f_cred`.
    pub file_cred: i16,
    /// `cred.fsuid` (u32).
    pub cred_fsuid: i16,
    /// `cred.fsgid` (u32).
    pub cred_fsgid: i16,
}

/// Everything the compiler needs from the running kernel, and the tuning knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// BTF ids of the packet kfuncs.
    pub kfuncs: Kfuncs,
    /// Struct offsets.
    pub layout: NfLayout,
    /// Direct header reads (no kfunc calls for linear packets); `None`: dynptr reads only.
    pub direct: Option<DirectRead>,
    /// The kernel's `CONFIG_HZ` (xt_limit counts in jiffies).
    pub hz: u32,
    /// Functions with at most this many entries are inlined at each jump.
    pub inline_max_entries: usize,
    /// A hook whose program would compile more entries than this runs in cold mode: a hot
    /// prefix inline, the rest interpreted from a map (see `compile_cold`).
    pub cold_above: usize,
    /// Entries of the hook's chain kept inline in cold mode (fewer if a jump comes first).
    pub hot_entries: usize,
}

/// Which map an `ld_imm64` refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MapKind {
    /// Per-rule counters (per-CPU array).
    Counters,
    /// xt_limit state (array).
    Limits,
    /// LOG events (ring buffer).
    Log,
    /// The hash map of classifier `n` ([`CompiledProgram::classifiers`]): exact keys.
    ExactClassifier(u32),
    /// The LPM trie of classifier `n`: prefix keys.
    PrefixClassifier(u32),
    /// The cold code of hook `n`'s program (array of 16-byte instructions).
    Cold(u32),
}

/// An `ld_imm64` (`src_reg = BPF_PSEUDO_MAP_FD`) whose `imm` must become a map's fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapReloc {
    /// Slot of the first half of the `ld_imm64`.
    pub insn: usize,
    /// The map.
    pub map: MapKind,
}

/// The maps a table's programs use (the same for every hook of the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapsNeeded {
    /// Entries of the counters map: the number of entries of the table.
    pub counters: u32,
    /// Entries of the limits map (limit matches in the whole table); 0 = no map.
    pub limits: u32,
    /// Whether a LOG ring buffer is needed.
    pub log: bool,
}

/// Where the code of one entry instance lies (an entry can be compiled more than once: in
/// inlined chains, or when jumps land inside another function's walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSpan {
    /// The entry's index in the table.
    pub entry: usize,
    /// First slot of its code.
    pub start: usize,
    /// One past its last slot (islands included).
    pub end: usize,
}

/// Figures about a compiled program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileStats {
    /// Instruction slots.
    pub insns: usize,
    /// Entries reachable from the hook.
    pub reachable_entries: usize,
    /// Entry instances compiled (copies counted).
    pub rule_instances: usize,
    /// Reachable entries that can never match and got no code.
    pub dead_entries: usize,
    /// BPF subprograms (chains not inlined; LOG included).
    pub subprograms: usize,
    /// Jumps and gotos compiled by inlining the target chain.
    pub inlined_calls: usize,
    /// Deepest frame nesting (main = 1).
    pub frames: usize,
    /// Bytes of the main program's stack frame.
    pub main_stack: usize,
    /// Whether functions beyond the usual policy were inlined to stay within
    /// [`MAX_FRAMES`].
    pub inlined_for_depth: bool,
    /// Whether the program tracks the kernel's jump-stack depth.
    pub tracks_depth: bool,
    /// Runs of entries compiled as one map lookup (see [`super::classify`]).
    pub classified_runs: usize,
    /// Entries those runs hold.
    pub classified_entries: usize,
    /// Cold mode: entries compiled inline before the interpreter takes over.
    pub hot_entries: Option<usize>,
    /// Cold mode: instructions of the cold code.
    pub cold_insns: usize,
    /// Whether packets that no entry can match on its leading IPv4-header conditions are
    /// decided before the rest of the prologue, and how ([`Prescreen::Direct`]: in the
    /// program's entry function, which calls the rules as a subprogram; not counted in
    /// [`CompileStats::subprograms`], counted in [`CompileStats::frames`]).
    pub prescreen: Option<Prescreen>,
}

/// The prescreen of a small chain (see `Emitter::prescreen`): packets that no entry can
/// match on its leading IPv4-header conditions go to the policy before anything else is
/// read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prescreen {
    /// In the program's entry function, on the IPv4 header read in place: one
    /// mask-and-compare per test; the prologue and the rules are a subprogram it calls.
    Direct {
        /// Distinct tests (entries with equal conditions share one).
        tests: usize,
    },
    /// After the prologue stored the IPv4 fields.
    Fields {
        /// Distinct tests.
        tests: usize,
    },
}

/// One hook's program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledProgram {
    /// The hook (`NF_INET_*`).
    pub hook: usize,
    /// The instructions; map loads carry fd 0 until [`CompiledProgram::link`].
    pub insns: Vec<Insn>,
    /// The map loads to patch.
    pub relocs: Vec<MapReloc>,
    /// The maps of the table.
    pub maps: MapsNeeded,
    /// The classifier maps of the table (the same for every hook; a hook's program uses
    /// those of the runs it reaches), indexed by the number in [`MapKind::ExactClassifier`]
    /// and [`MapKind::PrefixClassifier`].
    pub classifiers: Vec<Classifier>,
    /// Cold mode: the code the interpreter walks (the [`MapKind::Cold`] map's contents).
    pub cold: Option<ColdCode>,
    /// Entries reachable from the hook, ascending.
    pub entries: Vec<usize>,
    /// Where each compiled entry instance lies, in code order.
    pub spans: Vec<RuleSpan>,
    /// Figures.
    pub stats: CompileStats,
}

impl CompiledProgram {
    /// The instructions with every map load pointing at the fd `fd(kind)`.
    pub fn link(&self, fd: impl Fn(MapKind) -> Option<i32>) -> Result<Vec<Insn>, CompileError> {
        let mut out = self.insns.clone();
        for r in &self.relocs {
            let f = fd(r.map).ok_or(CompileError::MissingMap(r.map))?;
            let insn = out
                .get_mut(r.insn)
                .ok_or(CompileError::Internal("relocation out of range"))?;
            insn.imm = f;
        }
        Ok(out)
    }

    /// The disassembly ([`super::disasm`]) with a `; entry N` line where the code of each
    /// entry instance starts.
    pub fn disasm(&self) -> alloc::string::String {
        let text = super::disasm(&self.insns);
        let mut out = alloc::string::String::new();
        for line in text.lines() {
            let pc = line
                .trim_start()
                .split(':')
                .next()
                .and_then(|n| n.parse::<usize>().ok());
            if let Some(pc) = pc {
                for s in self.spans.iter().filter(|s| s.start == pc) {
                    let _ = writeln!(out, "; entry {}", s.entry);
                }
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// The classifier runs this hook's program looks up (the table's runs it reaches).
    pub fn classified(&self) -> impl Iterator<Item = &Classifier> + '_ {
        self.classifiers.iter().enumerate().filter_map(|(i, c)| {
            let i = u32::try_from(i).ok()?;
            self.relocs
                .iter()
                .any(|r| {
                    r.map == MapKind::ExactClassifier(i) || r.map == MapKind::PrefixClassifier(i)
                })
                .then_some(c)
        })
    }

    /// The entry whose code contains slot `pc`, if any.
    pub fn entry_at(&self, pc: usize) -> Option<usize> {
        self.spans
            .iter()
            .filter(|s| s.start <= pc && pc < s.end)
            .min_by_key(|s| s.end.saturating_sub(s.start))
            .map(|s| s.entry)
    }
}

/// Why a table cannot be compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The hook is not one of the table's.
    NoSuchHook {
        /// The hook.
        hook: usize,
    },
    /// A match this code generator does not implement.
    UnsupportedMatch {
        /// Entry index.
        entry: usize,
        /// Extension name.
        name: &'static str,
        /// Revision.
        revision: u8,
        /// Why.
        why: &'static str,
    },
    /// A target this code generator does not implement.
    UnsupportedTarget {
        /// Entry index.
        entry: usize,
        /// Extension (or verdict) name.
        name: &'static str,
        /// Why.
        why: &'static str,
    },
    /// A reachable jump whose offset is no entry (validation refuses these).
    DanglingJump {
        /// Entry index.
        entry: usize,
    },
    /// A jump or index points outside the table.
    BadIndex {
        /// Entry index (or hook number for hook fields).
        entry: usize,
    },
    /// The walk from an entry runs past the end of the table (validation refuses these).
    FallsOffTable {
        /// Where the walk started.
        entry: usize,
    },
    /// Jumps form a loop (validation refuses these).
    Loop {
        /// An entry on the loop.
        entry: usize,
    },
    /// The policy entry of the hook is not an unconditional ACCEPT or DROP.
    BadPolicy {
        /// Entry index.
        entry: usize,
    },
    /// Chains nest deeper than BPF's call-frame limit allows, and inlining them all would be
    /// too large.
    TooDeep {
        /// Frames the subprograms would need.
        frames: usize,
        /// The limit.
        limit: usize,
    },
    /// The program uses more stack than BPF allows.
    StackTooLarge {
        /// Bytes needed over the deepest call chain.
        bytes: usize,
    },
    /// A map load could not be linked.
    MissingMap(MapKind),
    /// Assembling failed (a jump out of range, ...).
    Codegen(CodegenError),
    /// A broken invariant of the compiler itself.
    Internal(&'static str),
}

impl From<CodegenError> for CompileError {
    fn from(e: CodegenError) -> Self {
        CompileError::Codegen(e)
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CompileError::NoSuchHook { hook } => {
                write!(f, "the table has no hook {}", hook_name(hook))
            }
            CompileError::UnsupportedMatch {
                entry,
                name,
                revision,
                why,
            } => write!(
                f,
                "entry {entry}: match \"{name}\" (revision {revision}) is not supported: {why}"
            ),
            CompileError::UnsupportedTarget { entry, name, why } => {
                write!(
                    f,
                    "entry {entry}: target \"{name}\" is not supported: {why}"
                )
            }
            CompileError::DanglingJump { entry } => {
                write!(
                    f,
                    "entry {entry}: reachable jump to an offset that is no entry"
                )
            }
            CompileError::BadIndex { entry } => write!(f, "entry {entry}: index out of range"),
            CompileError::FallsOffTable { entry } => {
                write!(
                    f,
                    "the walk from entry {entry} runs off the end of the table"
                )
            }
            CompileError::Loop { entry } => write!(f, "jumps loop through entry {entry}"),
            CompileError::BadPolicy { entry } => write!(
                f,
                "entry {entry}: a hook's policy must be an unconditional ACCEPT or DROP"
            ),
            CompileError::TooDeep { frames, limit } => write!(
                f,
                "user chains nest {frames} calls deep; BPF allows {limit} frames and inlining \
                 every chain would exceed {MAX_EXPANDED_ENTRIES} entries"
            ),
            CompileError::StackTooLarge { bytes } => {
                write!(
                    f,
                    "{bytes} bytes of stack over the deepest call chain (BPF: 512)"
                )
            }
            CompileError::MissingMap(k) => write!(f, "no file descriptor for the {k:?} map"),
            CompileError::Codegen(e) => write!(f, "assembling: {e}"),
            CompileError::Internal(what) => write!(f, "code generator bug: {what}"),
        }
    }
}

impl core::error::Error for CompileError {}

fn hook_name(h: usize) -> &'static str {
    HOOK_NAMES.get(h).copied().unwrap_or("?")
}

/// The analysis of the entries reachable from one hook.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Analysed entries.
    pub(crate) infos: BTreeMap<usize, RuleInfo>,
    /// Function start -> its walk.
    pub(crate) funcs: BTreeMap<usize, Vec<usize>>,
    /// The hook's first entry (the main function).
    pub(crate) main: usize,
    /// The hook's policy entry and its verdict.
    pub(crate) underflow: (usize, i32),
    /// Functions compiled inline at every jump/goto.
    pub(crate) inline: BTreeSet<usize>,
    /// What the prologue computes.
    pub(crate) needs: Needs,
    /// The kernel's jump-stack size (ERROR entries in the table).
    pub(crate) stacksize: u32,
    /// Whether the depth must be tracked at run time.
    pub(crate) track_depth: bool,
    /// Frames of the deepest call chain.
    pub(crate) frames: usize,
    /// More functions than the policy's were inlined to fit the frame limit.
    pub(crate) inlined_for_depth: bool,
    /// The table's classifier runs.
    pub(crate) runs: Vec<Run>,
    /// First entry of a run -> its index in `runs`.
    pub(crate) run_at: BTreeMap<usize, usize>,
    /// Cold mode: the hot prefix (the main walk) hands over to the cold-rule interpreter.
    pub(crate) cold: Option<ColdPlan>,
}

/// The cold part of a hook's program (see `compile_cold`).
#[derive(Debug)]
pub(crate) struct ColdPlan {
    /// Every reachable entry as cold code.
    pub(crate) code: ColdCode,
    /// Where the interpreter starts: the first entry after the hot prefix.
    pub(crate) start_pc: u32,
    /// The policy entry's pc (RETURN with an empty stack).
    pub(crate) underflow_pc: u32,
    /// Entries of the hot prefix.
    pub(crate) hot: usize,
}

impl Plan {
    /// The analysed entry `k`.
    pub(crate) fn info(&self, k: usize) -> Result<&RuleInfo, CompileError> {
        self.infos
            .get(&k)
            .ok_or(CompileError::Internal("entry not analysed"))
    }

    /// The walk of the function starting at `s`.
    pub(crate) fn walk(&self, s: usize) -> Result<&[usize], CompileError> {
        self.funcs
            .get(&s)
            .map(Vec::as_slice)
            .ok_or(CompileError::Internal("function not planned"))
    }
}

/// The kernel's jump stack: one slot per ERROR entry; a push beyond it drops the packet.
fn stacksize(table: &Table) -> u32 {
    u32::try_from(
        table
            .entries
            .iter()
            .filter(|r| matches!(r.target, Target::Error(_)))
            .count(),
    )
    .unwrap_or(u32::MAX)
}

/// The targets a live (non-dead) entry calls or inlines.
fn callee(info: &RuleInfo) -> Option<usize> {
    if info.is_dead() {
        return None;
    }
    match info.target {
        Tgt::Jump(t) | Tgt::Goto(t) => Some(t),
        _ => None,
    }
}

fn plan(table: &Table, hook: usize, opts: &CompileOptions) -> Result<Plan, CompileError> {
    let n = table.entries.len();
    let (Some(Some(main)), Some(Some(uf))) =
        (table.hook_entry.get(hook), table.underflow.get(hook))
    else {
        return Err(CompileError::NoSuchHook { hook });
    };
    let (main, uf) = (*main, *uf);
    if main >= n || uf >= n {
        return Err(CompileError::BadIndex { entry: hook });
    }
    let env = Env {
        hz: opts.hz,
        has_nfct: opts.layout.skb_nfct.is_some(),
        has_pkt_type: opts.layout.skb_pkt_type.is_some(),
    };
    // First limits-map slot of every entry (slots are numbered over the whole table, so
    // every hook's program agrees on them).
    let mut limit_base = Vec::with_capacity(n);
    let mut slots = 0u32;
    for r in &table.entries {
        limit_base.push(slots);
        slots = slots.saturating_add(compile_rule::limit_count(r));
    }
    let mut needs = Needs::default();
    let mut infos: BTreeMap<usize, RuleInfo> = BTreeMap::new();
    let mut analyse = |k: usize, needs: &mut Needs| -> Result<RuleInfo, CompileError> {
        if let Some(i) = infos.get(&k) {
            return Ok(i.clone());
        }
        let rule: &Rule = table
            .entries
            .get(k)
            .ok_or(CompileError::BadIndex { entry: k })?;
        let base = limit_base.get(k).copied().unwrap_or(0);
        let info = compile_rule::analyze(rule, k, &env, needs, base)?;
        if let Tgt::Jump(t) | Tgt::Goto(t) = info.target {
            if t >= n {
                return Err(CompileError::BadIndex { entry: k });
            }
        }
        infos.insert(k, info.clone());
        Ok(info)
    };

    // The policy entry: `check_underflow` guarantees an unconditional ACCEPT or DROP.
    let uf_info = analyse(uf, &mut needs)?;
    let uf_verdict = match (uf_info.steps.is_empty(), uf_info.target) {
        (true, Tgt::Verdict(v)) => v,
        _ => return Err(CompileError::BadPolicy { entry: uf }),
    };

    let mut funcs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut sites: BTreeMap<usize, usize> = BTreeMap::new();
    let mut todo = alloc::vec![main];
    while let Some(s) = todo.pop() {
        if funcs.contains_key(&s) {
            continue;
        }
        let mut walk = Vec::new();
        let mut k = s;
        loop {
            let info = analyse(k, &mut needs)?;
            walk.push(k);
            if let Some(t) = callee(&info) {
                let c = sites.entry(t).or_insert(0);
                *c = c.saturating_add(1);
                if !funcs.contains_key(&t) {
                    todo.push(t);
                }
            }
            if !info.falls_through() {
                break;
            }
            k = k
                .checked_add(1)
                .filter(|k| *k < n)
                .ok_or(CompileError::FallsOffTable { entry: s })?;
        }
        funcs.insert(s, walk);
    }

    let calls = |s: usize| -> Vec<usize> {
        funcs
            .get(&s)
            .map(|w| {
                w.iter()
                    .filter_map(|k| infos.get(k).and_then(callee))
                    .collect()
            })
            .unwrap_or_default()
    };
    let order = topo_order(main, &calls)?;

    // Cold mode: past `cold_above` compiled entries the straight-line program would stop
    // fitting the instruction cache and, further on, the verifier; keep a hot prefix of the
    // hook's chain inline (up to `hot_entries`, ending before the first jump) and interpret
    // the rest.
    // Every entry reachable from the hook is analysed by now: the table's runs are final.
    let runs = table_runs(table, &env, &infos);
    let run_at: BTreeMap<usize, usize> =
        runs.iter().enumerate().map(|(i, r)| (r.first, i)).collect();
    let classified_saving: usize = runs
        .iter()
        .filter(|r| infos.contains_key(&r.first))
        .map(|r| r.len.saturating_sub(1))
        .sum();
    let size = funcs
        .values()
        .map(Vec::len)
        .sum::<usize>()
        .saturating_sub(classified_saving);
    if size > opts.cold_above {
        let walk = funcs.get(&main).cloned().unwrap_or_default();
        let mut hot = 0usize;
        while let Some(k) = walk.get(hot) {
            let Some(info) = infos.get(k) else { break };
            let last = hot.saturating_add(1) >= walk.len();
            if hot >= opts.hot_entries || callee(info).is_some() || last || !info.falls_through() {
                break;
            }
            hot = hot.saturating_add(1);
        }
        let start = *walk
            .get(hot)
            .ok_or(CompileError::Internal("empty main walk"))?;
        let stacksize = stacksize(table);
        let pushes = max_pushes(&order, &funcs, &infos)
            .get(&main)
            .copied()
            .unwrap_or(0);
        let slots = u64::from(compile_cold::STACK_SLOTS);
        if pushes > slots && u64::from(stacksize) > slots {
            return Err(CompileError::TooDeep {
                frames: usize::try_from(pushes).unwrap_or(usize::MAX),
                limit: usize::try_from(slots).unwrap_or(0),
            });
        }
        let code = compile_cold::encode(&infos)?;
        let start_pc = code.pc_of(start)?;
        let underflow_pc = code.pc_of(uf)?;
        let mut hot_funcs = BTreeMap::new();
        hot_funcs.insert(
            main,
            walk.get(..hot).map(<[usize]>::to_vec).unwrap_or_default(),
        );
        needs.add(compile_rule::Field::SkbLen);
        return Ok(Plan {
            infos,
            funcs: hot_funcs,
            main,
            underflow: (uf, uf_verdict),
            inline: BTreeSet::new(),
            needs,
            stacksize,
            track_depth: false,
            // main, the bpf_loop callback, LOG's subprogram.
            frames: 3,
            inlined_for_depth: false,
            runs,
            run_at,
            cold: Some(ColdPlan {
                code,
                start_pc,
                underflow_pc,
                hot,
            }),
        });
    }

    let logs = |s: usize| -> bool {
        funcs.get(&s).is_some_and(|w| {
            w.iter().any(|k| {
                infos
                    .get(k)
                    .is_some_and(|i| !i.is_dead() && i.target == Tgt::Log)
            })
        })
    };
    // Inline a function whose code would appear once (one call site, counting the copies of
    // inlined callers) or that is small. Callers are decided before their callees.
    let mut policy_inline: BTreeSet<usize> = BTreeSet::new();
    let mut mult: BTreeMap<usize, usize> = BTreeMap::new();
    mult.insert(main, 1);
    for &s in order.iter().rev() {
        let copies = mult.get(&s).copied().unwrap_or(0);
        let small = funcs.get(&s).map_or(0, Vec::len) <= opts.inline_max_entries;
        let inl = s != main && (copies <= 1 || small);
        if inl {
            policy_inline.insert(s);
        }
        let each = if inl { copies } else { 1 };
        for t in calls(s) {
            let m = mult.entry(t).or_insert(0);
            *m = m.saturating_add(each);
        }
    }
    let mut inline = policy_inline;
    let mut frames = heights(&order, &calls, &logs, &inline)
        .get(&main)
        .copied()
        .unwrap_or(1);
    let mut extra_inlined = 0usize;
    // Too deep for BPF's call frames: inline more functions, one at a time, each time the
    // one on a deepest call chain whose inlining adds the least code.
    while frames > MAX_FRAMES {
        let h = heights(&order, &calls, &logs, &inline);
        let top = tops(&order, &calls, &inline, main);
        let mut best: Option<(usize, usize)> = None;
        for &f in &order {
            if f == main || inline.contains(&f) {
                continue;
            }
            let on_deepest = top
                .get(&f)
                .copied()
                .unwrap_or(0)
                .saturating_add(h.get(&f).copied().unwrap_or(0))
                == frames.saturating_add(1);
            if !on_deepest {
                continue;
            }
            let mut trial = inline.clone();
            trial.insert(f);
            let size = emitted_size(&order, &funcs, &calls, &trial);
            if best.is_none_or(|(_, s)| size < s) {
                best = Some((f, size));
            }
        }
        let Some((f, size)) = best else {
            return Err(CompileError::TooDeep {
                frames,
                limit: MAX_FRAMES,
            });
        };
        if size > MAX_EXPANDED_ENTRIES {
            return Err(CompileError::TooDeep {
                frames,
                limit: MAX_FRAMES,
            });
        }
        inline.insert(f);
        extra_inlined = extra_inlined.saturating_add(1);
        frames = heights(&order, &calls, &logs, &inline)
            .get(&main)
            .copied()
            .unwrap_or(1);
    }
    let inlined_for_depth = extra_inlined > 0;

    let stacksize = stacksize(table);
    let pushes = max_pushes(&order, &funcs, &infos);
    let track_depth = pushes.get(&main).copied().unwrap_or(0) > u64::from(stacksize);
    if track_depth {
        needs.add(compile_rule::Field::Depth);
    }
    needs.add(compile_rule::Field::SkbLen);

    Ok(Plan {
        infos,
        funcs,
        main,
        underflow: (uf, uf_verdict),
        inline,
        needs,
        stacksize,
        track_depth,
        frames,
        inlined_for_depth,
        runs,
        run_at,
        cold: None,
    })
}

/// The classifier runs of the whole table (every hook's program shares the maps, so they do
/// not depend on the hook). Entries the walk analysed are reused; the others are analysed
/// here, an unsupported one simply ends a run.
fn table_runs(table: &Table, env: &Env, infos: &BTreeMap<usize, RuleInfo>) -> Vec<Run> {
    let mut scratch = Needs::default();
    let all: Vec<Option<RuleInfo>> = table
        .entries
        .iter()
        .enumerate()
        .map(|(k, r)| match infos.get(&k) {
            Some(i) => Some(i.clone()),
            None => compile_rule::analyze(r, k, env, &mut scratch, 0).ok(),
        })
        .collect();
    classify::find_runs(&all, CLASSIFY_MIN_RUN)
}

/// Functions in an order where every callee comes before its callers (post-order from
/// `main`); a loop is an error. Iterative, so a long chain of chains cannot overflow the
/// stack.
fn topo_order(
    main: usize,
    calls: &dyn Fn(usize) -> Vec<usize>,
) -> Result<Vec<usize>, CompileError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Open,
        Done,
    }
    let mut mark: BTreeMap<usize, Mark> = BTreeMap::new();
    let mut order = Vec::new();
    let mut stack: Vec<(usize, Vec<usize>)> = alloc::vec![(main, calls(main))];
    mark.insert(main, Mark::Open);
    while let Some((s, pending)) = stack.last_mut() {
        match pending.pop() {
            Some(t) => match mark.get(&t) {
                Some(Mark::Open) => return Err(CompileError::Loop { entry: t }),
                Some(Mark::Done) => {}
                None => {
                    mark.insert(t, Mark::Open);
                    let c = calls(t);
                    stack.push((t, c));
                }
            },
            None => {
                let s = *s;
                mark.insert(s, Mark::Done);
                order.push(s);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Frames each function needs when called (itself included): inlined callees run in the
/// caller's frame, LOG calls a one-frame subprogram.
fn heights(
    order: &[usize],
    calls: &dyn Fn(usize) -> Vec<usize>,
    logs: &dyn Fn(usize) -> bool,
    inline: &BTreeSet<usize>,
) -> BTreeMap<usize, usize> {
    let mut h: BTreeMap<usize, usize> = BTreeMap::new();
    for &s in order {
        let mut below = usize::from(logs(s));
        for t in calls(s) {
            let ht = h.get(&t).copied().unwrap_or(1);
            let add = if inline.contains(&t) {
                ht.saturating_sub(1)
            } else {
                ht
            };
            below = below.max(add);
        }
        h.insert(s, below.saturating_add(1));
    }
    h
}

/// Entry copies the program holds: main and every subprogram, each with the functions it
/// inlines expanded.
fn emitted_size(
    order: &[usize],
    funcs: &BTreeMap<usize, Vec<usize>>,
    calls: &dyn Fn(usize) -> Vec<usize>,
    inline: &BTreeSet<usize>,
) -> usize {
    let mut size: BTreeMap<usize, usize> = BTreeMap::new();
    let mut total = 0usize;
    for &s in order {
        let mut own = funcs.get(&s).map_or(0, Vec::len);
        for t in calls(s) {
            if inline.contains(&t) {
                own = own.saturating_add(size.get(&t).copied().unwrap_or(0));
            }
        }
        size.insert(s, own);
        if !inline.contains(&s) {
            total = total.saturating_add(own);
        }
    }
    total
}

/// The frame each function's code runs in, counted from main = 1, at its deepest call site
/// (inlined functions run in their caller's frame).
fn tops(
    order: &[usize],
    calls: &dyn Fn(usize) -> Vec<usize>,
    inline: &BTreeSet<usize>,
    main: usize,
) -> BTreeMap<usize, usize> {
    let mut top: BTreeMap<usize, usize> = BTreeMap::new();
    top.insert(main, 1);
    for &s in order.iter().rev() {
        let here = top.get(&s).copied().unwrap_or(1);
        for t in calls(s) {
            let at = if inline.contains(&t) {
                here
            } else {
                here.saturating_add(1)
            };
            let e = top.entry(t).or_insert(0);
            *e = (*e).max(at);
        }
    }
    top
}

/// The most return addresses the kernel's jump stack holds below each function (jumps push,
/// gotos do not).
fn max_pushes(
    order: &[usize],
    funcs: &BTreeMap<usize, Vec<usize>>,
    infos: &BTreeMap<usize, RuleInfo>,
) -> BTreeMap<usize, u64> {
    let mut p: BTreeMap<usize, u64> = BTreeMap::new();
    for &s in order {
        let mut best = 0u64;
        for k in funcs.get(&s).map(Vec::as_slice).unwrap_or_default() {
            let Some(info) = infos.get(k).filter(|i| !i.is_dead()) else {
                continue;
            };
            let v = match info.target {
                Tgt::Jump(t) => p.get(&t).copied().unwrap_or(0).saturating_add(1),
                Tgt::Goto(t) => p.get(&t).copied().unwrap_or(0),
                _ => 0,
            };
            best = best.max(v);
        }
        p.insert(s, best);
    }
    p
}

/// Compile the program of `hook` for `table`.
pub fn compile(
    table: &Table,
    hook: usize,
    opts: &CompileOptions,
) -> Result<CompiledProgram, CompileError> {
    let plan = plan(table, hook, opts)?;
    let limits = table
        .entries
        .iter()
        .map(compile_rule::limit_count)
        .fold(0u32, u32::saturating_add);
    let maps = MapsNeeded {
        counters: u32::try_from(table.entries.len()).unwrap_or(u32::MAX),
        limits,
        log: table
            .entries
            .iter()
            .any(|r| matches!(&r.target, Target::Ext(x) if x.desc.name == "LOG")),
    };
    let mut entries: Vec<usize> = match &plan.cold {
        // Cold mode: every analysed entry is reachable (hot or interpreted).
        Some(_) => plan.infos.keys().copied().collect(),
        None => plan.funcs.values().flatten().copied().collect(),
    };
    entries.push(plan.underflow.0);
    entries.sort_unstable();
    entries.dedup();
    let dead = entries
        .iter()
        .filter(|k| plan.infos.get(k).is_some_and(RuleInfo::is_dead))
        .count();
    let out = Emitter::new(hook, opts, &plan).run()?;
    let stats = CompileStats {
        insns: out.insns.len(),
        reachable_entries: entries.len(),
        rule_instances: out.spans.len(),
        dead_entries: dead,
        subprograms: out.subprograms,
        inlined_calls: out.inlined_calls,
        // The entry screen's function calls the rules: one frame more.
        frames: match out.prescreen {
            Some(Prescreen::Direct { .. }) => plan.frames.saturating_add(1),
            _ => plan.frames,
        },
        main_stack: out.main_stack,
        inlined_for_depth: plan.inlined_for_depth,
        tracks_depth: plan.track_depth,
        classified_runs: out.classified_runs,
        classified_entries: out.classified_entries,
        hot_entries: plan.cold.as_ref().map(|c| c.hot),
        cold_insns: plan.cold.as_ref().map_or(0, |c| c.code.insns.len()),
        prescreen: out.prescreen,
    };
    let classifiers = plan
        .runs
        .iter()
        .map(|r| Classifier {
            first: r.first,
            len: r.len,
            key: r.key,
            elems: classify::elements(r),
        })
        .collect();
    Ok(CompiledProgram {
        hook,
        insns: out.insns,
        relocs: out.relocs,
        maps,
        classifiers,
        cold: plan.cold.map(|c| c.code),
        entries,
        spans: out.spans,
        stats,
    })
}

/// Compile every hook of the table, in hook order; the first error stops (nothing is half
/// compiled: a caller loads only after this succeeded).
pub fn compile_table(
    table: &Table,
    opts: &CompileOptions,
) -> Result<Vec<CompiledProgram>, CompileError> {
    (0..NF_INET_NUMHOOKS)
        .filter(|h| table.hook_entry.get(*h).is_some_and(Option::is_some))
        .map(|h| compile(table, h, opts))
        .collect()
}

//! Instruction emission for [`super::compile`].
//!
//! A small chain whose entries all start with plain header conditions gets an entry function
//! first (`Emitter::entry_screen`): it decides the packets no entry can match from the IPv4
//! header read in place, with r0..r5 only, and calls the rest, described below as "main"
//! (prologue and rules), as a subprogram with the context.
//!
//! # Registers
//!
//! ```text
//! r0      the rule's mismatch accumulator; verdicts; call results
//! r1..r5  scratch (clobbered by calls)
//! r6      fields area (main: r10 + FIELDS; subprograms: their first argument)
//! r7, r8  prologue: L3 slice pointer, skb; rules: scratch that survives helper calls
//! r9      prologue: the context; rules: the trouble flag (some header status is 2, the
//!         packet may hotdrop), passed to subprograms as their third argument
//! ```
//!
//! # Stack frames (offsets from r10)
//!
//! ```text
//!   -8 ..   -1   KEY: map key (counters, limits)             every frame
//!  -16 ..   -9   CTXS: the context pointer, spilled           every frame
//!  -24 ..  -17   SKBS: the skb pointer, spilled               the entry screen's frame
//!  -32 ..  -17   struct bpf_dynptr over the skb (only where    main
//!                a read falls back to the dynptr kfuncs)
//!  -56 ..  -33   L3 slice / copy buffer (20-byte IPv4 header) main
//! -120 ..  -57   L4 header read (20 bytes), then the TCP      main
//!                options (up to 40; 64 for the verifier's bounds)
//! -272 .. -121   fields area: one u32 per compile_rule::Field, main
//!                the TCP option bitmap (u64), the input and output device names (16 each)
//! ```
//!
//! Subprograms read the caller's fields area through r6. The LOG subprogram keeps its own
//! dynptr below CTXS.
//!
//! # One rule
//!
//! ```text
//!     r0 = term1 | term2 | ...        (one segment; a limit match splits segments)
//!     if r0 != 0 goto miss
//!     <target: count, then verdict / call / LOG ...>
//! miss:                               (only for segments with a header status)
//!     if r9 != 0 goto cold            (cold code sits in the group tail)
//! next:
//! ```
//!
//! `cold` redoes the kernel's match order for a packet with trouble: a hotdrop if a status
//! is 2 while every term before it held, else the next entry.
//!
//! # What keeps verification linear
//!
//! The verifier prunes a path when an equivalent state was already explored at the same
//! instruction; liveness makes dead registers irrelevant. So:
//!
//! * every per-packet value the rules read is computed once in the prologue **without
//!   branches** (statuses, conntrack bits, packet type: selects done with masks), so all
//!   paths reach the first rule with the same state;
//! * rules only ever branch on *derived* registers (a field loaded, then XORed/masked/
//!   shifted); a comparison of a plain reload could refine the spilled stack slot it came
//!   from (scalar ids) and make the states at the next rule differ;
//! * one branch per rule segment, the matched path falling through and ending quickly (a
//!   verdict), so the verifier's stack of pending branches stays short ("The sequence of
//!   8193 jumps is too complex" otherwise). The prologue branches once on r9 (`if r9 != 0
//!   goto +0`), splitting the walk into a pass where r9 is 0 and one where it is not: in
//!   each, every per-rule `if r9 != 0` is decided, so it leaves no pending branch;
//! * 6.18's stack liveness (`kernel/bpf/liveness.c`) recomputes a subprogram's liveness
//!   whenever an instruction reads a stack slot not yet known live there: every group tail
//!   reads each field slot once (`touch_fields`), which makes them live at every rule
//!   before the rules are explored (measured: 4 s -> 0.16 s at 4,000 rules);
//! * map lookups, helper calls and LOG happen only on matched paths.
//!
//! # Far jumps
//!
//! Jumps carry 16-bit offsets. Shared tails (`count_exit`: count the entry in r1, return the
//! verdict in r0) and the cold hotdrop checks are emitted in *groups* at most
//! [`GROUP_SPAN`] slots after the code that uses them; a jump to a label further away (over
//! a long inlined chain, or a RETURN from one to the code after its jump) goes through a
//! proxy in each group on the way.

use super::builder::{Builder, Label};
use super::classify::KeyField;
use super::compile::{
    CompileError, CompileOptions, MapKind, MapReloc, Plan, Prescreen, RuleSpan, CONTINUE,
    MAX_FRAMES,
};
use super::compile_cold as cold;
use super::compile_log as log;
use super::compile_rule::{Field, LimitSpec, RuleInfo, Step, Term, Tgt};
use super::insn::{helper, AluOp, Cond, Insn, Reg, Size};
use super::prologue::DirectRead;
use super::{nf_ctx, verdict};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

/// Map key slot (every frame).
const KEY: i16 = -8;
/// The context pointer (`struct bpf_nf_ctx *`), spilled (every frame).
const CTXS: i16 = -16;
/// The skb pointer, spilled by the entry screen (its own frame).
const SKBS: i16 = -24;
/// `struct bpf_dynptr` (main frame).
const DYNPTR: i16 = -32;
/// L3 slice buffer (main frame).
const L3BUF: i16 = -56;
/// Length of the IPv4 header slice.
const L3LEN: i32 = 20;
/// L4 header / TCP options buffer (main frame, 64 bytes).
const L4BUF: i16 = -120;
/// Bytes of the L4 buffer.
const L4BUF_LEN: i16 = 64;
/// Fixed-size u32 fields come first in the fields area.
const FIELDS_U32: i16 = 112;
/// TCP option bitmap (u64).
const F_OPTBITS: i16 = FIELDS_U32;
/// Input device name (16 bytes).
const F_INDEV: i16 = FIELDS_U32 + 8;
/// Output device name (16 bytes).
const F_OUTDEV: i16 = FIELDS_U32 + 24;
/// Bytes of the fields area.
const FIELDS_SIZE: i16 = FIELDS_U32 + 40;
/// A device-name classifier's key (20 bytes), relative to the fields area: the main frame's
/// L4 buffer, which only the prologue uses.
const IFKEY: i16 = FIELDS_SIZE;
/// Offset of the fields area from r10.
const FIELDS: i16 = L4BUF - FIELDS_SIZE;
/// LOG subprogram's dynptr.
const LOG_DYNPTR: i16 = -24;
/// Code between the first use of a group's tails and the group itself stays below this.
pub(crate) const GROUP_SPAN: usize = 12_000;
/// Deepest inlining the emitter recurses into.
const MAX_INLINE_NEST: usize = 256;

/// Byte offset of a u32 field in the fields area.
fn off(f: Field) -> i16 {
    // At most 27 fields: the product fits easily.
    i16::try_from(f.index().saturating_mul(4)).unwrap_or(0)
}

/// A 32-bit immediate holding the bits of `v`.
fn imm(v: u32) -> i32 {
    i32::from_ne_bytes(v.to_ne_bytes())
}

/// An `i16` from an offset the compiler computed (out of range is an error, not a
/// truncation).
fn off16(v: impl TryInto<i16>) -> Result<i16, CompileError> {
    v.try_into()
        .map_err(|_| CompileError::Internal("struct offset out of range"))
}

/// A 32-bit operand: a constant, or a word in memory.
#[derive(Clone, Copy, Debug)]
enum Val {
    /// The value itself.
    Imm(u64),
    /// `*(u32 *)(reg + off)`.
    At(Reg, i16),
}

/// One test of the direct prescreen: some entry may match when `(word & mask) == value`
/// (`word` = IPv4 header bytes 8..16: TTL, protocol, checksum, source) and, if given,
/// `(daddr & m) == v` for `daddr = (m, v)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DirectTest {
    mask: u64,
    value: u64,
    daddr: Option<(u32, u32)>,
}

/// Where a counter update takes the packet's length from.
#[derive(Clone, Copy, Debug)]
enum Len {
    /// The `SkbLen` field the prologue stored.
    Field,
    /// `skb->len` through the skb pointer the entry screen spilled at SKBS.
    SpilledSkb,
}

/// What RETURN (popping the kernel's jump stack) does where code is emitted.
#[derive(Clone, Copy, Debug)]
enum Ctx {
    /// The hook's chain: the stack is empty, RETURN runs the policy entry.
    Main,
    /// A subprogram: return [`CONTINUE`] to the caller.
    Sub,
    /// An inlined chain: go on after the jump that inlined it.
    Inline {
        /// Code after the jump.
        resume: Label,
    },
}

/// Shared tails within [`GROUP_SPAN`] of their users.
#[derive(Debug)]
struct Group {
    start: usize,
    count_exit: Option<Label>,
    /// Hotdrop checks: (label, the rule's next entry, the segment's terms).
    cold: Vec<(Label, Label, Vec<Term>)>,
    /// far target -> local proxy
    proxies: BTreeMap<Label, Label>,
}

impl Group {
    fn new(start: usize) -> Group {
        Group {
            start,
            count_exit: None,
            cold: Vec::new(),
            proxies: BTreeMap::new(),
        }
    }
}

/// What emission produced.
pub(crate) struct Output {
    pub(crate) insns: Vec<Insn>,
    pub(crate) relocs: Vec<MapReloc>,
    pub(crate) spans: Vec<RuleSpan>,
    pub(crate) subprograms: usize,
    pub(crate) inlined_calls: usize,
    pub(crate) main_stack: usize,
    pub(crate) classified_runs: usize,
    pub(crate) prescreen: Option<Prescreen>,
    pub(crate) classified_entries: usize,
}

/// Emits one hook's program.
pub(crate) struct Emitter<'a> {
    b: Builder,
    hook: usize,
    opts: &'a CompileOptions,
    plan: &'a Plan,
    relocs: Vec<MapReloc>,
    spans: Vec<RuleSpan>,
    group: Group,
    subs: BTreeMap<usize, Label>,
    sub_queue: Vec<usize>,
    emitted_subs: BTreeSet<usize>,
    log_label: Option<Label>,
    /// The cold interpreter's callback, once used.
    cold_label: Option<Label>,
    inlined_calls: usize,
    classified_runs: usize,
    classified_entries: usize,
    prescreen: Option<Prescreen>,
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(hook: usize, opts: &'a CompileOptions, plan: &'a Plan) -> Emitter<'a> {
        Emitter {
            b: Builder::new(),
            hook,
            opts,
            plan,
            relocs: Vec::new(),
            spans: Vec::new(),
            group: Group::new(0),
            subs: BTreeMap::new(),
            sub_queue: Vec::new(),
            emitted_subs: BTreeSet::new(),
            log_label: None,
            cold_label: None,
            inlined_calls: 0,
            classified_runs: 0,
            classified_entries: 0,
            prescreen: None,
        }
    }

    pub(crate) fn run(mut self) -> Result<Output, CompileError> {
        let mut prefixes = self.prescreen_prefixes()?;
        // The entry screen makes the rules one frame deeper: only with a frame to spare.
        let tests = match (self.opts.direct, self.plan.frames < MAX_FRAMES, &prefixes) {
            (Some(d), true, Some(p)) => Self::direct_tests(p).map(|t| (d, t)),
            _ => None,
        };
        if let Some((d, t)) = tests {
            let body = self.entry_screen(d, &t)?;
            self.b.bind(body);
            // Decided already: the prologue screens nothing more.
            prefixes = None;
        }
        self.prologue(prefixes.as_deref())?;
        self.group = Group::new(self.b.len());
        self.walk(self.plan.main, Ctx::Main, 0)?;
        if let Some(c) = &self.plan.cold {
            let (start, uf) = (c.start_pc, c.underflow_pc);
            self.cold_call(start, uf)?;
        }
        self.close_group(false)?;
        let mut subprograms = 0usize;
        while let Some(s) = self.sub_queue.pop() {
            if !self.emitted_subs.insert(s) {
                continue;
            }
            let label = self.sub_label(s);
            self.b.bind(label);
            // f(fields *, ctx, trouble)
            self.b
                .mov64(Reg::R6, Reg::R1)
                .store(Size::DW, Reg::R10, CTXS, Reg::R2)
                .mov64(Reg::R9, Reg::R3);
            self.group = Group::new(self.b.len());
            self.walk(s, Ctx::Sub, 0)?;
            self.close_group(false)?;
            subprograms = subprograms.saturating_add(1);
        }
        if self.cold_label.is_some() {
            self.cold_callback()?;
            subprograms = subprograms.saturating_add(1);
        }
        if let Some(l) = self.log_label {
            self.b.bind(l);
            self.log_subprogram()?;
            subprograms = subprograms.saturating_add(1);
        }
        let main_stack = match self.plan.cold {
            Some(_) => Self::cold_stack(),
            None => usize::from((-FIELDS).unsigned_abs()),
        };
        let insns = self.b.finish()?;
        // Code after a chain that always ends the walk (inlined at its call site) is dead; the
        // verifier refuses dead code, so drop it and move everything that points into the code.
        let (insns, map) = super::builder::eliminate_dead_code(insns)?;
        if let Some(map) = map {
            let at = |i: usize| map.get(i).copied().flatten();
            self.relocs = self
                .relocs
                .into_iter()
                .filter_map(|r| at(r.insn).map(|insn| MapReloc { insn, ..r }))
                .collect();
            // A span keeps its live part: from its first live slot to one past its last.
            self.spans = self
                .spans
                .into_iter()
                .filter_map(|s| {
                    let first = (s.start..s.end).find_map(at)?;
                    let last = (s.start..s.end).rev().find_map(at)?;
                    Some(RuleSpan {
                        start: first,
                        end: last.saturating_add(1),
                        ..s
                    })
                })
                .collect();
        }
        Ok(Output {
            insns,
            relocs: self.relocs,
            spans: self.spans,
            subprograms,
            inlined_calls: self.inlined_calls,
            main_stack,
            classified_runs: self.classified_runs,
            prescreen: self.prescreen,
            classified_entries: self.classified_entries,
        })
    }

    // ---------------------------------------------------------------- small helpers

    fn ld_map(&mut self, dst: Reg, map: MapKind) {
        self.relocs.push(MapReloc {
            insn: self.b.len(),
            map,
        });
        self.b.ld_map_fd(dst, 0);
    }

    /// `dst = v` with the fewest slots.
    fn constant(&mut self, dst: Reg, v: u64) {
        match i32::try_from(v) {
            Ok(i) => {
                self.b.mov64(dst, i);
            }
            Err(_) => {
                self.b.ld_imm64(dst, v);
            }
        }
    }

    fn load_field(&mut self, dst: Reg, f: Field) {
        self.b.load(Size::W, dst, Reg::R6, off(f));
    }

    fn store_field(&mut self, f: Field, src: Reg) {
        self.b.store(Size::W, Reg::R6, off(f), src);
    }

    /// The leading IPv4-header conditions of every entry of a small chain, for the prescreen:
    /// `None` when the prescreen does not apply (cold mode, more than `PRESCREEN_MAX`
    /// distinct such prefixes, an unconditional entry before the policy, or an entry that
    /// may match without such a condition). Entries with equal prefixes share one.
    fn prescreen_prefixes(&self) -> Result<Option<Vec<Vec<Term>>>, CompileError> {
        /// Chains with more distinct prefixes than this run the full prologue first.
        const PRESCREEN_MAX: usize = 16;
        let early = |f: &Field| {
            matches!(
                f,
                Field::Saddr
                    | Field::Daddr
                    | Field::SaddrH
                    | Field::DaddrH
                    | Field::Proto
                    | Field::Frag
                    | Field::TotLen
                    | Field::Ttl
                    | Field::SkbLen
            )
        };
        if self.plan.cold.is_some() {
            return Ok(None);
        }
        let (uf, _) = self.plan.underflow;
        let walk = self.plan.walk(self.plan.main)?;
        // The walk must end at the policy: an unconditional entry before it decides instead.
        if walk.last() != Some(&uf) {
            return Ok(None);
        }
        let mut prefixes: Vec<Vec<Term>> = Vec::new();
        for k in walk.iter().copied().filter(|k| *k != uf) {
            let info = self.plan.info(k)?;
            if info.is_dead() {
                continue;
            }
            let p: Vec<Term> = info
                .steps
                .iter()
                .map_while(|s| match s {
                    Step::Term(t @ (Term::Masked { f, .. } | Term::Range { f, .. }))
                        if early(f) =>
                    {
                        Some(t.clone())
                    }
                    _ => None,
                })
                .collect();
            // An entry that may match without an early condition: nothing to conclude.
            if p.is_empty() {
                return Ok(None);
            }
            // Entries with the same leading conditions need one test between them.
            if !prefixes.contains(&p) {
                if prefixes.len() == PRESCREEN_MAX {
                    return Ok(None);
                }
                prefixes.push(p);
            }
        }
        if prefixes.is_empty() {
            return Ok(None);
        }
        Ok(Some(prefixes))
    }

    /// Small programs: once the IPv4 header's fields are stored, and before anything else
    /// (transport header, conntrack, devices) is read, check whether any entry of the hook's
    /// chain can still match on its leading IPv4-header conditions. If none can, no entry
    /// matches (each fails on a condition the kernel checks before any of its matches, so no
    /// match runs, no hotdrop, no token, no jump), and the packet goes to the policy at once,
    /// counted there. Cheap for a packet the first field already rules out, which is what
    /// iptables is fastest at; a few instructions per entry otherwise. Not emitted when
    /// [`Self::fast_prescreen`] already decided the same before the prologue.
    fn prescreen(&mut self, prefixes: &[Vec<Term>]) -> Result<(), CompileError> {
        self.prescreen = Some(Prescreen::Fields {
            tests: prefixes.len(),
        });
        let full = self.b.new_label();
        for p in prefixes {
            self.fused(p)?;
            self.b.jmp_if(Cond::Eq, Reg::R0, 0, full);
        }
        self.count(self.plan.underflow.0)?;
        self.b
            .mov64(Reg::R0, self.plan.underflow.1)
            .exit()
            .bind(full);
        Ok(())
    }

    /// The prescreen's tests on the IPv4 header read in place, when every leading condition
    /// of [`Self::prescreen_prefixes`] is a plain (not inverted) comparison of the source or
    /// destination address, the protocol or the TTL: one mask-and-compare per distinct
    /// prefix over header bytes 8..16 (TTL, protocol, checksum, source), and over bytes
    /// 16..20 (destination) where needed. `None` otherwise (the prologue's prescreen on the
    /// stored fields then runs instead).
    fn direct_tests(prefixes: &[Vec<Term>]) -> Option<Vec<DirectTest>> {
        /// Where a field lives: in the 8 bytes at header offset 8 (shift), or `None` for the
        /// destination address (its own 4-byte load at offset 16); and the field's width mask.
        fn place(f: Field) -> Option<(Option<u32>, u32)> {
            match f {
                Field::Ttl => Some((Some(0), 0xFF)),
                Field::Proto => Some((Some(8), 0xFF)),
                Field::Saddr => Some((Some(32), u32::MAX)),
                Field::Daddr => Some((None, u32::MAX)),
                _ => None,
            }
        }
        // The shifts place header bytes in a little-endian load.
        if cfg!(target_endian = "big") {
            return None;
        }
        let mut tests: Vec<DirectTest> = Vec::new();
        for p in prefixes {
            let (mut m, mut v, mut dm) = (0u64, 0u64, None::<(u32, u32)>);
            for t in p {
                let Term::Masked {
                    f,
                    mask,
                    value,
                    inv: false,
                } = t
                else {
                    return None;
                };
                let (at, width) = place(*f)?;
                let mask = mask & width;
                // A value with bits outside the mask never compares equal: leave such an
                // entry (which cannot match) to the fields prescreen rather than fold it here.
                if value & !mask != 0 {
                    return None;
                }
                match at {
                    Some(sh) => {
                        let (mm, vv) = (u64::from(mask) << sh, u64::from(*value) << sh);
                        // Two conditions on the same field: each must hold.
                        if (v ^ vv) & (m & mm) != 0 {
                            return None;
                        }
                        m |= mm;
                        v |= vv;
                    }
                    None => {
                        dm = match dm {
                            Some((pm, pv)) if (pv ^ value) & (pm & mask) != 0 => return None,
                            Some((pm, pv)) => Some((pm | mask, pv | value)),
                            None => Some((mask, *value)),
                        };
                    }
                }
            }
            let t = DirectTest {
                mask: m,
                value: v,
                daddr: dm,
            };
            if !tests.contains(&t) {
                tests.push(t);
            }
        }
        Some(tests)
    }

    /// The program's entry when the prescreen can run on the header read in place: the
    /// cheapest path iptables has (a packet its first rule's first field already rules out)
    /// costs here one 8-byte header load, one mask-and-compare per test, and the policy's
    /// counter, in a function that uses r0..r5 only, so that the JIT saves no callee-saved
    /// register for it. Everything else (the prologue and the rules, unchanged) is a
    /// subprogram it calls with the context when some entry may match:
    ///
    /// ```text
    ///     CTXS = ctx;  SKBS = ctx->skb
    ///     r0 = bpf_rdonly_cast(skb->data)            (inlined: a move)
    ///     r3 = header[8..16];  r4 = header[16..20]
    ///     for each test: if ((r3 & M) ^ V) | ((r4 & m) ^ v) == 0 goto rules
    ///     count the policy with SKBS->len;  return the policy
    /// rules:
    ///     return body(CTXS)
    /// ```
    ///
    /// No linear-length check comes first: at every IPv4 netfilter hook the stack has made
    /// the IPv4 header linear at `skb->data` (`ip_rcv_core` pulls `ihl * 4` bytes, locally
    /// built packets carry it in the head), which is what `ipt_do_table` itself relies on
    /// when it reads `ip_hdr(skb)` without one. The loads are exception-handled loads in
    /// any case. Returns the body's label.
    fn entry_screen(&mut self, d: DirectRead, tests: &[DirectTest]) -> Result<Label, CompileError> {
        let word = tests.iter().any(|t| t.mask != 0);
        let dst = tests.iter().any(|t| t.daddr.is_some());
        self.b
            .load(Size::DW, Reg::R2, Reg::R1, nf_ctx::SKB)
            .store(Size::DW, Reg::R10, CTXS, Reg::R1)
            .store(Size::DW, Reg::R10, SKBS, Reg::R2)
            .load(Size::DW, Reg::R1, Reg::R2, d.skb_data)
            .mov64(Reg::R2, 0)
            .call_kfunc(d.rdonly_cast);
        if word {
            self.b.load(Size::DW, Reg::R3, Reg::R0, 8);
        }
        if dst {
            self.b.load(Size::W, Reg::R4, Reg::R0, 16);
        }
        self.prescreen = Some(Prescreen::Direct { tests: tests.len() });
        let rules = self.b.new_label();
        for t in tests {
            if t.mask == 0 {
                self.b.mov64(Reg::R5, 0);
            } else {
                self.b.mov64(Reg::R5, Reg::R3);
                if t.mask != u64::MAX {
                    self.constant(Reg::R2, t.mask);
                    self.b.alu64(AluOp::And, Reg::R5, Reg::R2);
                }
                if t.value != 0 {
                    self.constant(Reg::R2, t.value);
                    self.b.alu64(AluOp::Xor, Reg::R5, Reg::R2);
                }
            }
            if let Some((dm, dv)) = t.daddr {
                self.b.mov64(Reg::R1, Reg::R4);
                if dm != u32::MAX {
                    self.b.alu32(AluOp::And, Reg::R1, imm(dm));
                }
                if dv != 0 {
                    self.b.alu32(AluOp::Xor, Reg::R1, imm(dv));
                }
                self.b.alu64(AluOp::Or, Reg::R5, Reg::R1);
            }
            self.b.jmp_if(Cond::Eq, Reg::R5, 0, rules);
        }
        let (uf, verdict) = self.plan.underflow;
        let k = i32::try_from(uf).map_err(|_| CompileError::BadIndex { entry: uf })?;
        self.b.store_imm(Size::W, Reg::R10, KEY, k);
        self.count_key(None, Len::SpilledSkb);
        self.b.mov64(Reg::R0, verdict).exit();
        let body = self.b.new_label();
        self.b
            .bind(rules)
            .load(Size::DW, Reg::R1, Reg::R10, CTXS)
            .call_local(body)
            .exit();
        Ok(body)
    }

    /// `r = (r == 0)` for `r < 2^63` (values of 32 bits or less).
    fn is_zero_small(&mut self, r: Reg) {
        self.b.add64(r, -1).alu64(AluOp::Rsh, r, 63);
    }

    /// `r = (r != 0)` for any 64-bit value, using `tmp`.
    fn is_nonzero64(&mut self, r: Reg, tmp: Reg) {
        self.b
            .mov64(tmp, r)
            .neg64(tmp)
            .alu64(AluOp::Or, tmp, r)
            .alu64(AluOp::Rsh, tmp, 63)
            .mov64(r, tmp);
    }

    /// `dst = c ? a : b` for `c` in {0, 1}: `b ^ ((a ^ b) & -c)`. Clobbers `a` and `c`;
    /// `dst` may be `b` but not `a` or `c`.
    fn select(&mut self, dst: Reg, c: Reg, a: Reg, b: Reg) {
        self.b
            .alu64(AluOp::Xor, a, b)
            .neg64(c)
            .alu64(AluOp::And, a, c);
        if dst != b {
            self.b.mov64(dst, b);
        }
        self.b.alu64(AluOp::Xor, dst, a);
    }

    // ---------------------------------------------------------------- groups

    fn far(&mut self, target: Label) -> Label {
        if let Some(l) = self.group.proxies.get(&target) {
            return *l;
        }
        let l = self.b.new_label();
        self.group.proxies.insert(target, l);
        l
    }

    /// `l` itself, or its proxy in this group when the jump may be far.
    fn to(&mut self, l: Label, far: bool) -> Label {
        if far {
            self.far(l)
        } else {
            l
        }
    }

    fn bind_far(&mut self, target: Label) {
        if let Some(local) = self.group.proxies.remove(&target) {
            self.b.bind(local);
        }
        self.b.bind(target);
    }

    fn count_exit(&mut self) -> Label {
        match self.group.count_exit {
            Some(l) => l,
            None => {
                let l = self.b.new_label();
                self.group.count_exit = Some(l);
                l
            }
        }
    }

    fn maybe_close_group(&mut self) -> Result<(), CompileError> {
        if self.b.len().saturating_sub(self.group.start) > GROUP_SPAN {
            self.close_group(true)?;
        }
        Ok(())
    }

    /// Emit the group's tails and proxies; `fallthrough` when code before falls into it.
    fn close_group(&mut self, fallthrough: bool) -> Result<(), CompileError> {
        let after = fallthrough.then(|| self.b.new_label());
        if let Some(a) = after {
            self.b.jmp(a);
        }
        let old = core::mem::replace(&mut self.group, Group::new(0));
        for (label, next, terms) in old.cold {
            self.b.bind(label);
            self.cold(&terms, next)?;
        }
        if let Some(l) = old.count_exit {
            // r1 = entry, r0 = verdict.
            self.b.bind(l);
            self.b
                .store(Size::W, Reg::R10, KEY, Reg::R1)
                .mov64(Reg::R7, Reg::R0);
            self.touch_fields();
            self.count_key_ready(Reg::R7);
            self.b.mov64(Reg::R0, Reg::R7).exit();
        }
        if !old.proxies.is_empty() && !fallthrough {
            return Err(CompileError::Internal("a far label outlives its function"));
        }
        for (target, local) in old.proxies {
            self.b.bind(local);
            let next = self.far(target);
            self.b.jmp(next);
        }
        if let Some(a) = after {
            self.b.bind(a);
        }
        self.group.start = self.b.len();
        Ok(())
    }

    /// Read one word of every 8-byte stack slot of the fields area that rules read.
    ///
    /// Why: the verifier (6.18's path-insensitive stack liveness, `kernel/bpf/liveness.c`)
    /// recomputes a subprogram's stack liveness to a fixed point whenever an instruction
    /// reads a slot not yet known live there, which is the case for every new rule: O(rules
    /// x program size), 4 s at 4,000 rules. Reading every field slot in the shared tail that
    /// every rule of the group can reach makes the slots live at all those rules after one
    /// recomputation, so later reads change nothing. The loads cost ~1 ns per packet.
    fn touch_fields(&mut self) {
        let mut slots: Vec<i16> = Vec::new();
        for f in Field::ALL {
            if self.plan.needs.has(f) {
                let at = off(f);
                if !slots.iter().any(|s| s / 8 == at / 8) {
                    slots.push(at);
                }
            }
        }
        let n = &self.plan.needs;
        if !n.options.is_empty() {
            slots.push(F_OPTBITS);
        }
        if n.indev {
            slots.extend([F_INDEV, F_INDEV.saturating_add(8)]);
        }
        if n.outdev {
            slots.extend([F_OUTDEV, F_OUTDEV.saturating_add(8)]);
        }
        for at in slots {
            self.b.load(Size::W, Reg::R2, Reg::R6, at);
        }
        self.b.load(Size::DW, Reg::R2, Reg::R10, CTXS);
    }

    // ---------------------------------------------------------------- counting

    /// Count the entry whose index is at KEY: `packets += 1; bytes += skb->len`. `on_null`
    /// is what to return if the lookup failed, which an in-range array key cannot: that
    /// branch ends the program so that it adds no pending state to the verifier's walk.
    fn count_key_ready(&mut self, on_null: Reg) {
        self.count_key(Some(on_null), Len::Field);
    }

    /// [`Self::count_key_ready`] with DROP (`None`) or a register to return on the
    /// impossible miss, and the packet's length from `len`. Uses r0..r2 (and `on_null`).
    fn count_key(&mut self, on_null: Option<Reg>, len: Len) {
        let ok = self.b.new_label();
        self.ld_map(Reg::R1, MapKind::Counters);
        self.b
            .mov64(Reg::R2, Reg::R10)
            .add64(Reg::R2, i32::from(KEY))
            .call_helper(helper::MAP_LOOKUP_ELEM)
            .jmp_if(Cond::Ne, Reg::R0, 0, ok);
        match on_null {
            Some(r) => self.b.mov64(Reg::R0, r),
            None => self.b.mov64(Reg::R0, verdict::DROP),
        };
        self.b
            .exit()
            .bind(ok)
            // Per-CPU values: this CPU's copy, so plain adds (the kernel's ADD_COUNTER on its
            // per-CPU counters is not atomic either).
            .load(Size::DW, Reg::R1, Reg::R0, 0)
            .add64(Reg::R1, 1)
            .store(Size::DW, Reg::R0, 0, Reg::R1);
        match len {
            Len::Field => self.load_field(Reg::R2, Field::SkbLen),
            Len::SpilledSkb => {
                self.b.load(Size::DW, Reg::R2, Reg::R10, SKBS).load(
                    Size::W,
                    Reg::R2,
                    Reg::R2,
                    self.opts.layout.skb_len,
                );
            }
        }
        self.b
            .load(Size::DW, Reg::R1, Reg::R0, 8)
            .alu64(AluOp::Add, Reg::R1, Reg::R2)
            .store(Size::DW, Reg::R0, 8, Reg::R1);
    }

    fn count(&mut self, entry: usize) -> Result<(), CompileError> {
        let k = i32::try_from(entry).map_err(|_| CompileError::BadIndex { entry })?;
        self.b
            .store_imm(Size::W, Reg::R10, KEY, k)
            .mov64(Reg::R7, verdict::DROP);
        self.count_key_ready(Reg::R7);
        Ok(())
    }

    /// Count `entry` and return `v` (through the group's tail).
    fn count_and_return(&mut self, entry: usize, v: i32) -> Result<(), CompileError> {
        let k = i32::try_from(entry).map_err(|_| CompileError::BadIndex { entry })?;
        let tail = self.count_exit();
        self.b.mov32(Reg::R1, k).mov64(Reg::R0, v).jmp(tail);
        Ok(())
    }

    // ---------------------------------------------------------------- prologue

    fn no_packet_check(&mut self, cond: Cond) {
        // A packet without a readable IPv4 header never reaches iptables; drop it.
        let ok = self.b.new_label();
        self.b
            .jmp_if(cond, Reg::R0, 0, ok)
            .ret(verdict::DROP)
            .bind(ok);
    }

    /// `bpf_dynptr_from_skb(r8, 0, FP + DYNPTR)` (r8 = the skb); r0 = its result.
    fn fresh_dynptr(&mut self) {
        self.b
            .mov64(Reg::R1, Reg::R8)
            .mov64(Reg::R2, 0)
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(DYNPTR))
            .call_kfunc(self.opts.kfuncs.dynptr_from_skb);
    }

    /// `r1 = skb->len - skb->data_len`: the bytes from `skb->data` in the linear part.
    /// Needs r8 = the skb; clobbers r2.
    fn headlen(&mut self, d: DirectRead) {
        self.b
            .load(Size::W, Reg::R1, Reg::R8, self.opts.layout.skb_len)
            .load(Size::W, Reg::R2, Reg::R8, d.skb_data_len)
            .alu64(AluOp::Sub, Reg::R1, Reg::R2);
    }

    /// r7 = the 20-byte IPv4 header. When it is in the linear part (always, in practice: the
    /// stack makes the network header linear before any hook) r7 points at `skb->data`
    /// (`bpf_rdonly_cast`, inlined to a move: no call); otherwise the header is copied to
    /// L3BUF with `bpf_dynptr_read` and r7 points there. A packet shorter than 20 bytes is
    /// dropped, as the dynptr slice did. No live dynptr is left behind (the L4 reads make
    /// their own), so r7 never depends on one.
    fn l3_direct(&mut self, d: DirectRead) {
        let slow = self.b.new_label();
        let have = self.b.new_label();
        self.headlen(d);
        self.b
            .jmp_if(Cond::Lt, Reg::R1, L3LEN, slow)
            .load(Size::DW, Reg::R1, Reg::R8, d.skb_data)
            .mov64(Reg::R2, 0)
            .call_kfunc(d.rdonly_cast)
            .mov64(Reg::R7, Reg::R0)
            .jmp(have)
            .bind(slow);
        self.fresh_dynptr();
        self.no_packet_check(Cond::Eq);
        self.b
            .mov64(Reg::R1, Reg::R10)
            .add64(Reg::R1, i32::from(L3BUF))
            .mov64(Reg::R2, L3LEN)
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(DYNPTR))
            .mov64(Reg::R4, 0)
            .mov64(Reg::R5, 0)
            .call_helper(log::DYNPTR_READ);
        self.no_packet_check(Cond::Eq);
        self.b
            .mov64(Reg::R7, Reg::R10)
            .add64(Reg::R7, i32::from(L3BUF))
            .bind(have);
    }

    /// `prefixes`: the leading conditions to prescreen once the fields are stored (`None`
    /// when the prescreen does not apply or [`Self::entry_screen`] ran it already).
    fn prologue(&mut self, prefixes: Option<&[Vec<Term>]>) -> Result<(), CompileError> {
        let needs = &self.plan.needs;
        let lay = self.opts.layout;
        let k = self.opts.kfuncs;
        self.b
            .mov64(Reg::R9, Reg::R1)
            .load(Size::DW, Reg::R8, Reg::R9, nf_ctx::SKB);
        self.b
            .store(Size::DW, Reg::R10, CTXS, Reg::R9)
            .mov64(Reg::R6, Reg::R10)
            .add64(Reg::R6, i32::from(FIELDS));
        match self.opts.direct {
            Some(d) => self.l3_direct(d),
            None => {
                self.fresh_dynptr();
                self.no_packet_check(Cond::Eq);
                self.b
                    .mov64(Reg::R1, Reg::R10)
                    .add64(Reg::R1, i32::from(DYNPTR))
                    .mov64(Reg::R2, 0)
                    .mov64(Reg::R3, Reg::R10)
                    .add64(Reg::R3, i32::from(L3BUF))
                    .mov64(Reg::R4, L3LEN)
                    .call_kfunc(k.dynptr_slice);
                self.no_packet_check(Cond::Ne);
                self.b.mov64(Reg::R7, Reg::R0);
            }
        }

        if self.plan.cold.is_some() {
            self.cold_zero_fields();
        }
        // skb->len, for the byte counters (and the L4 bounds).
        self.b.load(Size::W, Reg::R1, Reg::R8, lay.skb_len);
        self.store_field(Field::SkbLen, Reg::R1);
        let simple: [(Field, Size, i16, i32); 6] = [
            (Field::Saddr, Size::W, 12, 0),
            (Field::Daddr, Size::W, 16, 0),
            (Field::SaddrH, Size::W, 12, 32),
            (Field::DaddrH, Size::W, 16, 32),
            (Field::Proto, Size::B, 9, 0),
            (Field::Ttl, Size::B, 8, 0),
        ];
        for (f, sz, at, swap) in simple {
            if needs.has(f) {
                self.b.load(sz, Reg::R1, Reg::R7, at);
                if swap != 0 {
                    self.b.to_be(Reg::R1, swap);
                }
                self.store_field(f, Reg::R1);
            }
        }
        if needs.has(Field::TotLen) {
            self.b.load(Size::H, Reg::R1, Reg::R7, 2).to_be(Reg::R1, 16);
            self.store_field(Field::TotLen, Reg::R1);
        }
        let l4 = needs.l4();
        if needs.has(Field::Frag) || l4 {
            // par->fragoff = ntohs(ip->frag_off) & IP_OFFSET
            self.b
                .load(Size::H, Reg::R1, Reg::R7, 6)
                .to_be(Reg::R1, 16)
                .alu32(AluOp::And, Reg::R1, 0x1FFF);
            self.store_field(Field::Frag, Reg::R1);
        }
        if let Some(p) = prefixes {
            self.prescreen(p)?;
        }
        let needs = &self.plan.needs;
        if needs.has(Field::Mark) {
            self.b.load(Size::W, Reg::R1, Reg::R8, lay.skb_mark);
            self.store_field(Field::Mark, Reg::R1);
        }
        if needs.has(Field::PktType) {
            self.pkt_type()?;
        }
        if needs.ct() {
            self.conntrack()?;
        }
        if needs.indev || needs.outdev {
            self.b.load(Size::DW, Reg::R1, Reg::R9, nf_ctx::STATE);
            for (want, at, dst) in [
                (needs.indev, lay.state_in, F_INDEV),
                (needs.outdev, lay.state_out, F_OUTDEV),
            ] {
                if !want {
                    continue;
                }
                // `state->in ? state->in->name : nulldevname`: a NULL device reads as zeros
                // (the loads are BTF loads, which yield 0 on a fault).
                let name_hi = off16(i32::from(lay.dev_name).saturating_add(8))?;
                let dst_hi = off16(i32::from(dst).saturating_add(8))?;
                self.b
                    .load(Size::DW, Reg::R2, Reg::R1, at)
                    .load(Size::DW, Reg::R3, Reg::R2, lay.dev_name)
                    .store(Size::DW, Reg::R6, dst, Reg::R3)
                    .load(Size::DW, Reg::R3, Reg::R2, name_hi)
                    .store(Size::DW, Reg::R6, dst_hi, Reg::R3);
            }
        }
        if needs.has(Field::Depth) {
            self.b.store_imm(Size::W, Reg::R6, off(Field::Depth), 0);
        }
        if l4 {
            self.l4_header()?;
        }
        if !needs.options.is_empty() {
            self.tcp_options()?;
        }
        // r9 = some status is 2 (the packet may hotdrop). Rules check it only after a
        // mismatch. The branch to the next instruction splits the verifier's walk into a
        // pass with r9 = 0, where every hotdrop check is decided, and one with r9 != 0:
        // otherwise each check would leave a pending branch behind, one per rule.
        let statuses: Vec<Field> = [Field::TcpSt, Field::L8St, Field::PortsSt, Field::OptSt]
            .into_iter()
            .filter(|f| self.plan.needs.has(*f))
            .collect();
        self.b.mov64(Reg::R9, 0);
        if !statuses.is_empty() {
            for f in statuses {
                self.load_field(Reg::R1, f);
                self.b.alu64(AluOp::Or, Reg::R9, Reg::R1);
            }
            // Statuses are 0, 1 or 2: bit 1 of their OR says one is 2.
            let split = self.b.new_label();
            self.b
                .alu64(AluOp::Rsh, Reg::R9, 1)
                .jmp_if(Cond::Ne, Reg::R9, 0, split)
                .bind(split);
        }
        Ok(())
    }

    /// xt_pkttype's type: `skb->pkt_type`, with PACKET_LOOPBACK replaced by
    /// PACKET_MULTICAST for a multicast destination and PACKET_BROADCAST otherwise.
    fn pkt_type(&mut self) -> Result<(), CompileError> {
        let pt = self
            .opts
            .layout
            .skb_pkt_type
            .ok_or(CompileError::Internal("pkt_type offset missing"))?;
        let mask = 1i32
            .checked_shl(u32::from(pt.bits))
            .and_then(|v| v.checked_sub(1))
            .ok_or(CompileError::Internal("bad pkt_type width"))?;
        const PACKET_LOOPBACK: i32 = 5;
        self.b.load(Size::B, Reg::R1, Reg::R8, pt.byte);
        if pt.shift != 0 {
            self.b.alu64(AluOp::Rsh, Reg::R1, i32::from(pt.shift));
        }
        self.b
            .alu64(AluOp::And, Reg::R1, mask)
            // r2 = (type == PACKET_LOOPBACK)
            .mov64(Reg::R2, Reg::R1)
            .alu32(AluOp::Xor, Reg::R2, PACKET_LOOPBACK);
        self.is_zero_small(Reg::R2);
        // r3 = 1 + ipv4_is_multicast(daddr): first octet 224..239.
        self.b
            .load(Size::B, Reg::R3, Reg::R7, 16)
            .alu32(AluOp::And, Reg::R3, 0xF0)
            .alu32(AluOp::Xor, Reg::R3, 0xE0);
        self.is_zero_small(Reg::R3);
        self.b.add64(Reg::R3, 1);
        self.select(Reg::R4, Reg::R2, Reg::R3, Reg::R1);
        self.store_field(Field::PktType, Reg::R4);
        Ok(())
    }

    /// `nf_ct_get`: ctinfo = _nfct & 7, entry = _nfct & ~7; the state bits of xt_state and
    /// xt_conntrack, the no-entry flag and the direction flags.
    fn conntrack(&mut self) -> Result<(), CompileError> {
        let nfct = self
            .opts
            .layout
            .skb_nfct
            .ok_or(CompileError::Internal("_nfct offset missing"))?;
        self.b
            .load(Size::DW, Reg::R1, Reg::R8, nfct)
            .mov64(Reg::R2, Reg::R1)
            .alu64(AluOp::And, Reg::R2, 7)
            .alu64(AluOp::And, Reg::R1, -8);
        // r4 = (entry != NULL)
        self.b.mov64(Reg::R4, Reg::R1);
        self.is_nonzero64(Reg::R4, Reg::R3);
        // CtNull = !r4
        self.b.mov64(Reg::R1, Reg::R4).alu64(AluOp::Xor, Reg::R1, 1);
        self.store_field(Field::CtNull, Reg::R1);
        // r5 = (ctinfo >= IP_CT_IS_REPLY), i.e. CTINFO2DIR(ctinfo) == IP_CT_DIR_REPLY
        self.b.mov64(Reg::R5, Reg::R2).add64(Reg::R5, -3);
        self.b
            .alu64(AluOp::Rsh, Reg::R5, 63)
            .alu64(AluOp::Xor, Reg::R5, 1)
            .mov64(Reg::R1, Reg::R5)
            .alu64(AluOp::And, Reg::R1, Reg::R4);
        self.store_field(Field::CtReply, Reg::R1);
        self.b
            .alu64(AluOp::Xor, Reg::R5, 1)
            .alu64(AluOp::And, Reg::R5, Reg::R4);
        self.store_field(Field::CtOrig, Reg::R5);
        // r0 = XT_STATE_BIT(ctinfo) = 1 << (ctinfo % IP_CT_IS_REPLY + 1)
        self.b
            .mov64(Reg::R5, Reg::R2)
            .alu64(AluOp::Mod, Reg::R5, 3)
            .add64(Reg::R5, 1)
            .mov64(Reg::R0, 1)
            .alu64(AluOp::Lsh, Reg::R0, Reg::R5);
        // r2 = (ctinfo == IP_CT_UNTRACKED)
        self.b.alu32(AluOp::Xor, Reg::R2, 7);
        self.is_zero_small(Reg::R2);
        // No entry: UNTRACKED if ctinfo says so, else INVALID (bit 0). xt_state's UNTRACKED
        // is 1 << (IP_CT_NUMBER + 1) = 64, xt_conntrack's 256.
        for (f, untracked_less_one) in [(Field::StateBit, 63), (Field::CtBit, 255)] {
            if !self.plan.needs.has(f) {
                continue;
            }
            // r3 = 1 + untracked_flag * (untracked - 1); r3 = entry ? bit : r3
            self.b
                .mov64(Reg::R3, Reg::R2)
                .alu64(AluOp::Mul, Reg::R3, untracked_less_one)
                .add64(Reg::R3, 1)
                .mov64(Reg::R1, Reg::R0)
                .mov64(Reg::R5, Reg::R4);
            self.select(Reg::R3, Reg::R5, Reg::R1, Reg::R3);
            self.store_field(f, Reg::R3);
        }
        Ok(())
    }

    /// Read up to 20 bytes of the transport header at `thoff = ihl * 4` and the statuses of
    /// every header size a match needs (tcp 20, udp/icmp 8, multiport's ports 4):
    /// `fragoff != 0` -> 1 (no match; 2 for TCP at fragoff 1), too short -> 2 (hotdrop).
    fn l4_header(&mut self) -> Result<(), CompileError> {
        // r2 = thoff, r3 = avail = skb->len - thoff (signed)
        self.thoff_avail();
        self.load_field(Reg::R4, Field::Frag);
        // r5 = (fragoff != 0); r0 = (fragoff == 1)
        self.b
            .mov64(Reg::R5, 0)
            .alu64(AluOp::Sub, Reg::R5, Reg::R4)
            .alu64(AluOp::Rsh, Reg::R5, 63)
            .mov64(Reg::R0, Reg::R4)
            .alu32(AluOp::Xor, Reg::R0, 1);
        self.is_zero_small(Reg::R0);
        for (st, minus_need, frag_val) in [
            (Field::TcpSt, -20, None),
            (Field::L8St, -8, Some(1)),
            (Field::PortsSt, -4, Some(1)),
        ] {
            if !self.plan.needs.has(st) {
                continue;
            }
            // r1 = (avail < need) << 1
            self.b
                .mov64(Reg::R1, Reg::R3)
                .add64(Reg::R1, minus_need)
                .alu64(AluOp::Rsh, Reg::R1, 63)
                .alu64(AluOp::Lsh, Reg::R1, 1);
            // r4 = fragment status: tcp_mt hotdrops at fragoff 1, others just do not match.
            match frag_val {
                Some(v) => {
                    self.b.mov64(Reg::R4, v);
                }
                None => {
                    self.b.mov64(Reg::R4, Reg::R0).add64(Reg::R4, 1);
                }
            }
            // st = fragoff ? r4 : r1
            self.b.mov64(Reg::R8, Reg::R5);
            self.select(Reg::R1, Reg::R8, Reg::R4, Reg::R1);
            self.store_field(st, Reg::R1);
        }
        // len = clamp(avail, 0, 20) without branches; `& 31` gives the verifier its bound.
        self.clamp(Reg::R3, 20, 31);
        match self.opts.direct {
            Some(d) => self.l4_direct(d)?,
            None => {
                self.zero_l4_window()?;
                self.b.mov64(Reg::R4, Reg::R2).mov64(Reg::R2, Reg::R3);
                self.l4_read();
            }
        }
        // A failed read leaves the zeros; the statuses already say the header is short.
        let fields: [(Field, Size, i16, bool); 5] = [
            (Field::Sport, Size::H, 0, true),
            (Field::Dport, Size::H, 2, true),
            (Field::TcpFlags, Size::B, 13, false),
            (Field::IcmpType, Size::B, 0, false),
            (Field::IcmpCode, Size::B, 1, false),
        ];
        for (f, sz, at, swap) in fields {
            if !self.plan.needs.has(f) {
                continue;
            }
            let at = off16(i32::from(L4BUF).saturating_add(i32::from(at)))?;
            self.b.load(sz, Reg::R1, Reg::R10, at);
            if swap {
                self.b.to_be(Reg::R1, 16);
            }
            self.store_field(f, Reg::R1);
        }
        Ok(())
    }

    /// Zero the 24 bytes of the L4 window in L4BUF.
    fn zero_l4_window(&mut self) -> Result<(), CompileError> {
        for off in [0i16, 8, 16] {
            let at = off16(i32::from(L4BUF).saturating_add(i32::from(off)))?;
            self.b.store_imm(Size::DW, Reg::R10, at, 0);
        }
        Ok(())
    }

    /// `bpf_dynptr_read(FP + L4BUF, r2 = len, FP + DYNPTR, r4 = offset, 0)`.
    fn l4_read(&mut self) {
        self.b
            .mov64(Reg::R1, Reg::R10)
            .add64(Reg::R1, i32::from(L4BUF))
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(DYNPTR))
            .mov64(Reg::R5, 0)
            .call_helper(log::DYNPTR_READ);
    }

    /// The L4 window (r2 = thoff, r3 = len in 0..=20) into L4BUF: the packet's bytes
    /// `[thoff, thoff + len)` followed by zeros, as `bpf_dynptr_read` of `len` bytes into
    /// the zeroed buffer leaves it.
    ///
    /// When those bytes are in the linear part, they are loaded through
    /// `bpf_rdonly_cast(data + thoff, 0)` as three words (8, 8, 4 bytes) and the bytes from
    /// `len` on are masked off: with `m = (1 << 8 * (len & 7)) - 1`, the word holding byte `len` is ANDed with `m`
    /// and the words after it are 0 (`len` = 8 or 16 masks a whole word with `m` = 0). Loads
    /// past the end of the packet read the skb's own buffer (or fault to 0: exception-handled
    /// loads); only masked-off bytes come from there. Otherwise (part of the window in paged
    /// data) the dynptr read does it, as without direct reads.
    fn l4_direct(&mut self, d: DirectRead) -> Result<(), CompileError> {
        let slow = self.b.new_label();
        let (lt8, lt16, store, done) = (
            self.b.new_label(),
            self.b.new_label(),
            self.b.new_label(),
            self.b.new_label(),
        );
        // r8 was scratch for the statuses: the skb again.
        self.b
            .load(Size::DW, Reg::R8, Reg::R9, nf_ctx::SKB)
            .mov64(Reg::R4, Reg::R2);
        self.headlen(d);
        self.b
            .mov64(Reg::R2, Reg::R4)
            .alu64(AluOp::Add, Reg::R2, Reg::R3)
            .jmp_if(Cond::Gt, Reg::R2, Reg::R1, slow)
            .load(Size::DW, Reg::R1, Reg::R8, d.skb_data)
            .alu64(AluOp::Add, Reg::R1, Reg::R4)
            // The call clobbers r1..r5 for the verifier (it is a move once inlined): len
            // waits in r8.
            .mov64(Reg::R8, Reg::R3)
            .mov64(Reg::R2, 0)
            .call_kfunc(d.rdonly_cast)
            // r5 = m
            .mov64(Reg::R4, Reg::R8)
            .alu64(AluOp::And, Reg::R4, 7)
            .alu64(AluOp::Lsh, Reg::R4, 3)
            .mov64(Reg::R5, 1)
            .alu64(AluOp::Lsh, Reg::R5, Reg::R4)
            .add64(Reg::R5, -1)
            .load(Size::DW, Reg::R1, Reg::R0, 0)
            .load(Size::DW, Reg::R2, Reg::R0, 8)
            .load(Size::W, Reg::R4, Reg::R0, 16)
            // The verifier walks the fall-through first and prunes the other paths against
            // it: that must be the path where no word is a known constant (len >= 16), or a
            // rule's branch decided by a constant 0 would make it precise and every other
            // path would be walked through all the rules again.
            .jmp_if(Cond::Lt, Reg::R8, 16, lt16)
            .alu64(AluOp::And, Reg::R4, Reg::R5)
            .jmp(store)
            .bind(lt16)
            .mov64(Reg::R4, 0)
            .jmp_if(Cond::Lt, Reg::R8, 8, lt8)
            .alu64(AluOp::And, Reg::R2, Reg::R5)
            .jmp(store)
            .bind(lt8)
            .mov64(Reg::R2, 0)
            .alu64(AluOp::And, Reg::R1, Reg::R5)
            .bind(store);
        for (off, r) in [(0i16, Reg::R1), (8, Reg::R2), (16, Reg::R4)] {
            let at = off16(i32::from(L4BUF).saturating_add(i32::from(off)))?;
            self.b.store(Size::DW, Reg::R10, at, r);
        }
        self.b.jmp(done).bind(slow);
        // No dynptr exists on the direct L3 path (and one made for a slow L3 read holds no
        // slices): make one. thoff waits in KEY, len in r8 across the call.
        self.zero_l4_window()?;
        self.b
            .store(Size::W, Reg::R10, KEY, Reg::R4)
            .mov64(Reg::R1, Reg::R8)
            .mov64(Reg::R8, Reg::R3)
            .mov64(Reg::R2, 0)
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(DYNPTR))
            .call_kfunc(self.opts.kfuncs.dynptr_from_skb)
            .load(Size::W, Reg::R4, Reg::R10, KEY)
            .mov64(Reg::R2, Reg::R8);
        self.l4_read();
        self.b.bind(done);
        Ok(())
    }

    /// `r2 = ihl * 4`, `r3 = skb->len - r2` (64-bit signed). Needs r7 = L3 pointer.
    fn thoff_avail(&mut self) {
        self.b
            .load(Size::B, Reg::R2, Reg::R7, 0)
            .alu64(AluOp::And, Reg::R2, 15)
            .alu64(AluOp::Lsh, Reg::R2, 2);
        self.load_field(Reg::R3, Field::SkbLen);
        self.b.alu64(AluOp::Sub, Reg::R3, Reg::R2);
    }

    /// `r = min(max(r, 0), hi) & mask`, branch-free (uses r0 and r1).
    fn clamp(&mut self, r: Reg, hi: i32, mask: i32) {
        self.b
            .mov64(Reg::R0, r)
            .alu64(AluOp::Arsh, Reg::R0, 63)
            .alu64(AluOp::Xor, Reg::R0, -1)
            .alu64(AluOp::And, r, Reg::R0)
            .mov64(Reg::R1, hi)
            .alu64(AluOp::Sub, Reg::R1, r)
            .mov64(Reg::R0, Reg::R1)
            .alu64(AluOp::Arsh, Reg::R0, 63)
            .alu64(AluOp::And, Reg::R1, Reg::R0)
            .alu64(AluOp::Add, r, Reg::R1)
            .alu64(AluOp::And, r, mask);
    }

    /// The TCP option kinds rules look for: `tcp_find_option`'s walk over the options
    /// (`op[i] < 2` advances 1, else `op[i+1] ?: 1`), done once for every kind, and the
    /// options status (doff < 5 or options beyond the packet: hotdrop).
    fn tcp_options(&mut self) -> Result<(), CompileError> {
        let kinds = self.plan.needs.options.clone();
        // r1 = doff, r4 = doff * 4
        self.thoff_avail();
        let at12 = off16(i32::from(L4BUF).saturating_add(12))?;
        self.b
            .load(Size::B, Reg::R1, Reg::R10, at12)
            .alu64(AluOp::Rsh, Reg::R1, 4)
            .mov64(Reg::R4, Reg::R1)
            .alu64(AluOp::Lsh, Reg::R4, 2)
            // r5 = doff < 5
            .mov64(Reg::R5, Reg::R1)
            .add64(Reg::R5, -5)
            .alu64(AluOp::Rsh, Reg::R5, 63)
            // r0 = avail < doff * 4: the options are not all in the packet
            .mov64(Reg::R0, Reg::R3)
            .alu64(AluOp::Sub, Reg::R0, Reg::R4)
            .alu64(AluOp::Rsh, Reg::R0, 63)
            .alu64(AluOp::Or, Reg::R5, Reg::R0)
            .alu64(AluOp::Lsh, Reg::R5, 1);
        self.store_field(Field::OptSt, Reg::R5);
        // Read optlen = clamp(doff * 4 - 20, 0, 40) bytes at thoff + 20 into the zeroed
        // buffer (a failed read leaves zeros: no option found, and the status says hotdrop).
        let mut at = L4BUF;
        while at < L4BUF.saturating_add(L4BUF_LEN) {
            self.b.store_imm(Size::DW, Reg::R10, at, 0);
            at = at.saturating_add(8);
        }
        self.b.add64(Reg::R4, -20);
        self.clamp(Reg::R4, 40, 63);
        if self.opts.direct.is_some() {
            // With direct reads there may be no dynptr yet: make one (thoff waits in KEY,
            // optlen in r8 across the call). Only rulesets matching TCP options pay this.
            self.b
                .load(Size::DW, Reg::R1, Reg::R9, nf_ctx::SKB)
                .mov64(Reg::R8, Reg::R4)
                .store(Size::W, Reg::R10, KEY, Reg::R2)
                .mov64(Reg::R2, 0)
                .mov64(Reg::R3, Reg::R10)
                .add64(Reg::R3, i32::from(DYNPTR))
                .call_kfunc(self.opts.kfuncs.dynptr_from_skb)
                .load(Size::W, Reg::R2, Reg::R10, KEY)
                .mov64(Reg::R4, Reg::R8);
        }
        self.b
            .mov64(Reg::R8, Reg::R4)
            .add64(Reg::R2, 20)
            .mov64(Reg::R1, Reg::R10)
            .add64(Reg::R1, i32::from(L4BUF))
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(DYNPTR))
            .mov64(Reg::R5, 0)
            .mov64(Reg::R0, Reg::R2)
            .mov64(Reg::R2, Reg::R4)
            .mov64(Reg::R4, Reg::R0)
            .call_helper(log::DYNPTR_READ);
        // r1 = i, r2 = optlen, r3 = found bits; the bytes at i and i + 1 go to r5 and r0.
        let done = self.b.new_label();
        self.b
            .mov64(Reg::R1, 0)
            .mov64(Reg::R2, Reg::R8)
            .mov64(Reg::R3, 0);
        for iter in 0..40u32 {
            if iter == 0 {
                // The first step runs without a branch (gated by optlen > 0), so every path
                // reaches `done` with the same abstract bitmap.
                self.b
                    .load(Size::B, Reg::R5, Reg::R10, L4BUF)
                    .load(
                        Size::B,
                        Reg::R0,
                        Reg::R10,
                        off16(i32::from(L4BUF).saturating_add(1))?,
                    )
                    .mov64(Reg::R8, 0)
                    .alu64(AluOp::Sub, Reg::R8, Reg::R2)
                    .alu64(AluOp::Rsh, Reg::R8, 63);
            } else {
                self.b
                    .jmp_if(Cond::Ge, Reg::R1, Reg::R2, done)
                    .mov64(Reg::R4, Reg::R10)
                    .add64(Reg::R4, i32::from(L4BUF))
                    .alu64(AluOp::Add, Reg::R4, Reg::R1)
                    .load(Size::B, Reg::R5, Reg::R4, 0)
                    .load(Size::B, Reg::R0, Reg::R4, 1)
                    .mov64(Reg::R8, 1);
            }
            for (bit, kind) in kinds.iter().enumerate() {
                let bit = i32::try_from(bit).map_err(|_| CompileError::Internal("option bit"))?;
                self.b
                    .mov64(Reg::R7, Reg::R5)
                    .alu32(AluOp::Xor, Reg::R7, i32::from(*kind));
                self.is_zero_small(Reg::R7);
                self.b.alu64(AluOp::And, Reg::R7, Reg::R8);
                if bit != 0 {
                    self.b.alu64(AluOp::Lsh, Reg::R7, bit);
                }
                self.b.alu64(AluOp::Or, Reg::R3, Reg::R7);
            }
            // n1 = op[i+1] ?: 1; adv = op[i] < 2 ? 1 : n1; i += adv
            self.b.mov64(Reg::R7, Reg::R0);
            self.is_zero_small(Reg::R7);
            self.b
                .alu64(AluOp::Add, Reg::R0, Reg::R7)
                .add64(Reg::R5, -2)
                .alu64(AluOp::Rsh, Reg::R5, 63)
                .mov64(Reg::R7, Reg::R0)
                .alu64(AluOp::Xor, Reg::R7, 1)
                .neg64(Reg::R5)
                .alu64(AluOp::And, Reg::R7, Reg::R5)
                .alu64(AluOp::Xor, Reg::R0, Reg::R7)
                .alu64(AluOp::Add, Reg::R1, Reg::R0);
        }
        self.b
            .bind(done)
            .store(Size::DW, Reg::R6, F_OPTBITS, Reg::R3);
        Ok(())
    }

    // ---------------------------------------------------------------- walks and rules

    fn sub_label(&mut self, s: usize) -> Label {
        if let Some(l) = self.subs.get(&s) {
            return *l;
        }
        let l = self.b.new_label();
        self.subs.insert(s, l);
        l
    }

    fn walk(&mut self, start: usize, ctx: Ctx, nest: usize) -> Result<(), CompileError> {
        if nest > MAX_INLINE_NEST {
            return Err(CompileError::TooDeep {
                frames: nest,
                limit: MAX_INLINE_NEST,
            });
        }
        let walk: Vec<usize> = self.plan.walk(start)?.to_vec();
        let mut i = 0usize;
        while let Some(&k) = walk.get(i) {
            // A classifier run starting here, whole in this walk (a walk that starts inside a
            // run compiles its entries one by one).
            if let Some(&r) = self.plan.run_at.get(&k) {
                let run = self
                    .plan
                    .runs
                    .get(r)
                    .ok_or(CompileError::Internal("run index"))?;
                let len = run.len;
                let whole = walk
                    .get(i..i.saturating_add(len))
                    .is_some_and(|w| w.iter().copied().eq(k..k.saturating_add(len)));
                if whole {
                    self.maybe_close_group()?;
                    self.classified(r)?;
                    i = i.saturating_add(len);
                    continue;
                }
            }
            i = i.saturating_add(1);
            let info = self.plan.info(k)?.clone();
            if info.is_dead() {
                continue;
            }
            self.maybe_close_group()?;
            self.rule(k, &info, ctx, nest)?;
        }
        Ok(())
    }

    /// Classifier run `r` (see `super::classify`):
    ///
    /// ```text
    ///     r0 = common terms;  if r0 != 0 goto miss
    ///     KEY = the packet's key;  r0 = lookup(map, KEY);  if r0 == 0 goto next
    ///     r1 = value.entry;  r0 = value.verdict & 1;  goto count_exit
    /// miss:                                      (only with a header status in the terms)
    ///     if r9 == 0 goto next
    ///     KEY = key;  r0 = lookup;  if r0 == 0: cold(terms before the key) else cold(terms)
    /// next:
    /// ```
    fn classified(&mut self, r: usize) -> Result<(), CompileError> {
        let run = self
            .plan
            .runs
            .get(r)
            .ok_or(CompileError::Internal("run index"))?
            .clone();
        let start = self.b.len();
        let id = u32::try_from(r).map_err(|_| CompileError::Internal("run index"))?;
        let map = if run.key.is_prefix() {
            MapKind::PrefixClassifier(id)
        } else {
            MapKind::ExactClassifier(id)
        };
        let terms: Vec<Term> = run
            .common
            .iter()
            .filter_map(|s| match s {
                Step::Term(t) => Some(t.clone()),
                Step::Limit(_) => None,
            })
            .collect();
        if terms.len() != run.common.len() {
            return Err(CompileError::Internal("a classifier run with a limit"));
        }
        let next = self.b.new_label();
        let troubled = terms.iter().any(|t| matches!(t, Term::Status(_)));
        let miss = if troubled { self.b.new_label() } else { next };
        if !terms.is_empty() {
            self.fused(&terms)?;
            self.b.jmp_if(Cond::Ne, Reg::R0, 0, miss);
        }
        self.lookup_key(run.key, map);
        let tail = self.count_exit();
        self.b
            .jmp_if(Cond::Eq, Reg::R0, 0, next)
            .load(Size::W, Reg::R1, Reg::R0, 0)
            .load(Size::W, Reg::R0, Reg::R0, 4)
            .alu64(AluOp::And, Reg::R0, 1)
            .jmp(tail);
        if troubled {
            // The common part failed with a status 2 somewhere: which statuses could have
            // dropped the packet depends on whether some entry's key held.
            let hit = self.b.new_label();
            self.b.bind(miss).jmp_if(Cond::Eq, Reg::R9, 0, next);
            self.lookup_key(run.key, map);
            self.b.jmp_if(Cond::Ne, Reg::R0, 0, hit);
            let before = terms.get(..run.pos.min(terms.len())).unwrap_or_default();
            if before.iter().any(|t| matches!(t, Term::Status(_))) {
                self.cold(before, next)?;
            } else {
                self.b.jmp(next);
            }
            self.b.bind(hit);
            self.cold(&terms, next)?;
        }
        self.b.bind(next);
        self.spans.push(RuleSpan {
            entry: run.first,
            start,
            end: self.b.len(),
        });
        self.classified_runs = self.classified_runs.saturating_add(1);
        self.classified_entries = self.classified_entries.saturating_add(run.len);
        Ok(())
    }

    /// Store the packet's key for `key` at KEY and look it up in `map`: r0 = the value or
    /// NULL.
    fn lookup_key(&mut self, key: KeyField, map: MapKind) {
        match key.field() {
            Some(f) if key.is_prefix() => {
                // `struct bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[4]; }`, the address as
                // loaded (network byte order).
                self.b.store_imm(Size::W, Reg::R10, KEY, 32);
                self.load_field(Reg::R1, f);
                self.b
                    .store(Size::W, Reg::R10, KEY.saturating_add(4), Reg::R1);
            }
            Some(f) => {
                self.load_field(Reg::R1, f);
                self.b.store(Size::W, Reg::R10, KEY, Reg::R1);
            }
            None => {
                // `{ u32 prefixlen = 128; u8 name[16]; }` in the main frame's L4 buffer (dead
                // once the prologue is done), reached through r6 from any frame; copied in
                // words, as stack accesses must be aligned.
                let name = if key == KeyField::Outdev {
                    F_OUTDEV
                } else {
                    F_INDEV
                };
                self.b.store_imm(Size::W, Reg::R6, IFKEY, 128);
                for at in [0i16, 4, 8, 12] {
                    self.b
                        .load(Size::W, Reg::R1, Reg::R6, name.saturating_add(at))
                        .store(
                            Size::W,
                            Reg::R6,
                            IFKEY.saturating_add(4).saturating_add(at),
                            Reg::R1,
                        );
                }
                self.ld_map(Reg::R1, map);
                self.b
                    .mov64(Reg::R2, Reg::R6)
                    .add64(Reg::R2, i32::from(IFKEY))
                    .call_helper(helper::MAP_LOOKUP_ELEM);
                return;
            }
        }
        self.ld_map(Reg::R1, map);
        self.b
            .mov64(Reg::R2, Reg::R10)
            .add64(Reg::R2, i32::from(KEY))
            .call_helper(helper::MAP_LOOKUP_ELEM);
    }

    fn rule(
        &mut self,
        k: usize,
        info: &RuleInfo,
        ctx: Ctx,
        nest: usize,
    ) -> Result<(), CompileError> {
        let start = self.b.len();
        let next = self.b.new_label();
        // A target compiled as an inlined chain can be far longer than a 16-bit jump: jumps
        // over it go through the groups' proxies.
        let big =
            matches!(info.target, Tgt::Jump(t) | Tgt::Goto(t) if self.plan.inline.contains(&t));
        let mut islands: Vec<(Label, Vec<Term>)> = Vec::new();
        let mut segments: Vec<(Vec<Term>, Option<LimitSpec>)> = Vec::new();
        let mut seg: Vec<Term> = Vec::new();
        for s in &info.steps {
            match s {
                Step::Term(t) => seg.push(t.clone()),
                Step::Limit(l) => segments.push((core::mem::take(&mut seg), Some(*l))),
            }
        }
        segments.push((seg, None));
        for (terms, limit) in segments {
            if !terms.is_empty() {
                self.fused(&terms)?;
                let troubled = terms.iter().any(|t| matches!(t, Term::Status(_)));
                let miss = if troubled { self.b.new_label() } else { next };
                let to = self.to(miss, big);
                self.b.jmp_if(Cond::Ne, Reg::R0, 0, to);
                if troubled {
                    islands.push((miss, terms));
                }
            }
            if let Some(l) = limit {
                self.limit(&l, next, big)?;
            }
        }
        self.target(k, info.target, ctx, nest)?;
        if !islands.is_empty() {
            if info.target.continues() {
                self.b.jmp(next);
            }
            // No match. Only when the packet has a status 2 somewhere (r9) can it be a
            // hotdrop; that check is in the cold code.
            for (miss, terms) in islands {
                if big {
                    self.bind_far(miss);
                    self.b.jmp_if(Cond::Eq, Reg::R9, 0, next);
                    self.cold(&terms, next)?;
                } else {
                    self.b.bind(miss);
                    let cold = self.b.new_label();
                    self.b.jmp_if(Cond::Ne, Reg::R9, 0, cold);
                    self.group.cold.push((cold, next, terms));
                }
            }
        }
        if big {
            self.bind_far(next);
        } else {
            self.b.bind(next);
        }
        self.spans.push(RuleSpan {
            entry: k,
            start,
            end: self.b.len(),
        });
        Ok(())
    }

    /// The terms ORed into r0.
    fn fused(&mut self, terms: &[Term]) -> Result<(), CompileError> {
        for (i, t) in terms.iter().enumerate() {
            let plain = self.term(t)?;
            if i == 0 {
                if plain {
                    // A plain reload: derive it, so that the branch on r0 (a copy) cannot
                    // refine the stack slot the value came from.
                    self.b.alu32(AluOp::Or, Reg::R1, 0);
                }
                self.b.mov64(Reg::R0, Reg::R1);
            } else {
                self.b.alu64(AluOp::Or, Reg::R0, Reg::R1);
            }
        }
        Ok(())
    }

    /// The segment did not match and the packet has a status 2: it is a hotdrop if some
    /// status point of the segment is 2 while every term before it held (the kernel's match
    /// order). Recomputes those prefixes; branch-free until the one branch whose
    /// fall-through ends the program.
    fn cold(&mut self, terms: &[Term], next: Label) -> Result<(), CompileError> {
        self.b.mov64(Reg::R7, 0);
        for (j, t) in terms.iter().enumerate() {
            let Term::Status(f) = t else { continue };
            if j == 0 {
                self.b.mov64(Reg::R8, 1);
            } else {
                self.fused(terms.get(..j).unwrap_or_default())?;
                self.b.mov64(Reg::R8, Reg::R0);
                self.is_zero_small(Reg::R8);
            }
            self.load_field(Reg::R1, *f);
            self.b
                .alu64(AluOp::Rsh, Reg::R1, 1)
                .alu64(AluOp::And, Reg::R8, Reg::R1)
                .alu64(AluOp::Or, Reg::R7, Reg::R8);
        }
        self.b.jmp_if(Cond::Eq, Reg::R7, 0, next).ret(verdict::DROP);
        Ok(())
    }

    /// Compute term `t` into r1 (0 = the condition holds). Uses r1..r5. Returns whether r1
    /// is a plain reload of a field (not derived by an ALU operation).
    fn term(&mut self, t: &Term) -> Result<bool, CompileError> {
        let mut plain = false;
        match t {
            Term::Never => {
                self.b.mov64(Reg::R1, 1);
            }
            Term::Status(f) => {
                self.load_field(Reg::R1, *f);
                plain = true;
            }
            Term::Masked {
                f,
                mask,
                value,
                inv,
            } => {
                self.load_field(Reg::R1, *f);
                if *mask != u32::MAX {
                    self.b.alu32(AluOp::And, Reg::R1, imm(*mask));
                }
                if *value != 0 {
                    self.b.alu32(AluOp::Xor, Reg::R1, imm(*value));
                }
                if *inv {
                    self.is_zero_small(Reg::R1);
                } else {
                    plain = *mask == u32::MAX && *value == 0;
                }
            }
            Term::Range {
                f,
                lo,
                hi,
                fmax,
                inv,
            } => {
                self.load_field(Reg::R2, *f);
                self.range_out(Reg::R1, Reg::R2, *lo, *hi, *fmax);
                if *inv {
                    self.b.alu64(AluOp::Xor, Reg::R1, 1);
                }
            }
            Term::Iface {
                out,
                name,
                mask,
                inv,
            } => self.iface(*out, name, mask, *inv)?,
            Term::Icmp { ty, lo, hi, inv } => {
                self.load_field(Reg::R2, Field::IcmpCode);
                self.range_out(Reg::R4, Reg::R2, u32::from(*lo), u32::from(*hi), 0xFF);
                self.load_field(Reg::R1, Field::IcmpType);
                self.b.alu32(AluOp::Xor, Reg::R1, i32::from(*ty)).alu64(
                    AluOp::Or,
                    Reg::R1,
                    Reg::R4,
                );
                if *inv {
                    self.is_zero_small(Reg::R1);
                }
            }
            Term::Multiport {
                src,
                dst,
                items,
                mismatch_on_hit,
            } => {
                let mut ports = Vec::new();
                if *src {
                    self.load_field(Reg::R2, Field::Sport);
                    ports.push(Reg::R2);
                }
                if *dst {
                    self.load_field(Reg::R3, Field::Dport);
                    ports.push(Reg::R3);
                }
                self.b.mov64(Reg::R4, 0);
                for &(lo, hi) in items {
                    for &p in &ports {
                        if lo == hi {
                            self.b
                                .mov64(Reg::R1, p)
                                .alu32(AluOp::Xor, Reg::R1, i32::from(lo));
                            self.is_zero_small(Reg::R1);
                        } else {
                            self.range_out(Reg::R1, p, u32::from(lo), u32::from(hi), 0xFFFF);
                            self.b.alu64(AluOp::Xor, Reg::R1, 1);
                        }
                        self.b.alu64(AluOp::Or, Reg::R4, Reg::R1);
                    }
                }
                self.b.mov64(Reg::R1, Reg::R4);
                if !mismatch_on_hit {
                    self.b.alu64(AluOp::Xor, Reg::R1, 1);
                }
            }
            Term::OptBit { bit, inv } => {
                self.b.load(Size::DW, Reg::R1, Reg::R6, F_OPTBITS);
                if *bit != 0 {
                    self.b.alu64(AluOp::Rsh, Reg::R1, i32::from(*bit));
                }
                self.b.alu64(AluOp::And, Reg::R1, 1);
                if !inv {
                    self.b.alu64(AluOp::Xor, Reg::R1, 1);
                }
            }
        }
        Ok(plain)
    }

    /// `dst = (src < lo || src > hi)` for a zero-extended `src`: the sign bits of
    /// `src - lo` and `hi - src`. `fmax` is the field's largest value (that check is left
    /// out then). Uses r5 as scratch; `dst` may not be r5 or `src`.
    fn range_out(&mut self, dst: Reg, src: Reg, lo: u32, hi: u32, fmax: u32) {
        let mut have = false;
        if lo > 0 {
            self.b.mov64(dst, src);
            match i32::try_from(lo) {
                Ok(l) => {
                    self.b.add64(dst, l.wrapping_neg());
                }
                Err(_) => {
                    self.constant(Reg::R5, u64::from(lo));
                    self.b.alu64(AluOp::Sub, dst, Reg::R5);
                }
            }
            have = true;
        }
        if hi < fmax {
            self.constant(Reg::R5, u64::from(hi));
            self.b.alu64(AluOp::Sub, Reg::R5, src);
            if have {
                self.b.alu64(AluOp::Or, dst, Reg::R5);
            } else {
                self.b.mov64(dst, Reg::R5);
                have = true;
            }
        }
        if have {
            self.b.alu64(AluOp::Rsh, dst, 63);
        } else {
            self.b.mov64(dst, 0);
        }
    }

    /// `ifname_compare_aligned`: `((dev ^ name) & mask)` over two 8-byte words.
    fn iface(
        &mut self,
        out: bool,
        name: &[u8; 16],
        mask: &[u8; 16],
        inv: bool,
    ) -> Result<(), CompileError> {
        let base = if out { F_OUTDEV } else { F_INDEV };
        let word = |b: &[u8; 16], i: usize| {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(b.iter().skip(i.saturating_mul(8))) {
                *d = *s;
            }
            u64::from_ne_bytes(w)
        };
        let mut have = false;
        for i in 0..2usize {
            let (n, m) = (word(name, i), word(mask, i));
            if m == 0 {
                continue;
            }
            let at = off16(i32::from(base).saturating_add(if i == 0 { 0 } else { 8 }))?;
            let r = if have { Reg::R3 } else { Reg::R1 };
            self.b.load(Size::DW, r, Reg::R6, at);
            let n = n & m;
            if n != 0 {
                self.constant(Reg::R2, n);
                self.b.alu64(AluOp::Xor, r, Reg::R2);
            }
            if m != u64::MAX {
                self.constant(Reg::R2, m);
                self.b.alu64(AluOp::And, r, Reg::R2);
            }
            if have {
                self.b.alu64(AluOp::Or, Reg::R1, Reg::R3);
            }
            have = true;
        }
        if !have {
            return Err(CompileError::Internal("interface term with an empty mask"));
        }
        self.is_nonzero64(Reg::R1, Reg::R2);
        if inv {
            self.b.alu64(AluOp::Xor, Reg::R1, 1);
        }
        Ok(())
    }

    /// `limit_mt`: the kernel's token bucket over a shared map value
    /// `{u64 prev, u32 credit, u32 initialised}`; on no match go to `next`.
    fn limit(&mut self, l: &LimitSpec, next: Label, big: bool) -> Result<(), CompileError> {
        let cpj = super::compile_rule::credits_per_jiffy(self.opts.hz);
        let shift = i32::try_from(cpj.checked_ilog2().unwrap_or(0))
            .map_err(|_| CompileError::Internal("credits per jiffy"))?;
        let slot = i32::try_from(l.slot).map_err(|_| CompileError::Internal("limit slot"))?;
        self.b.store_imm(Size::W, Reg::R10, KEY, slot);
        self.ld_map(Reg::R1, MapKind::Limits);
        self.b
            .mov64(Reg::R2, Reg::R10)
            .add64(Reg::R2, i32::from(KEY))
            .call_helper(helper::MAP_LOOKUP_ELEM);
        let to = self.to(next, big);
        self.b
            .jmp_if(Cond::Eq, Reg::R0, 0, to)
            .mov64(Reg::R7, Reg::R0)
            .call_helper(JIFFIES64)
            .mov64(Reg::R8, Reg::R0);
        // The kernel fills the bucket when the rule is loaded (prev = jiffies then); a full
        // bucket gains nothing from time, so filling it at the first packet is the same.
        let inited = self.b.new_label();
        self.b
            .load(Size::W, Reg::R1, Reg::R7, 12)
            .jmp_if(Cond::Ne, Reg::R1, 0, inited)
            .store(Size::DW, Reg::R7, 0, Reg::R8);
        self.constant(Reg::R1, u64::from(l.initial));
        self.b
            .store(Size::W, Reg::R7, 8, Reg::R1)
            .store_imm(Size::W, Reg::R7, 12, 1)
            .bind(inited);
        self.limit_take(
            Val::Imm(u64::from(l.cost)),
            Val::Imm(u64::from(l.cap)),
            shift,
            to,
        );
        self.b.jmp_if(Cond::Eq, Reg::R5, 0, next);
        Ok(())
    }

    /// `dst = v`.
    fn put(&mut self, dst: Reg, v: Val) {
        match v {
            Val::Imm(x) => self.constant(dst, x),
            Val::At(base, at) => {
                self.b.load(Size::W, dst, base, at);
            }
        }
    }

    /// xt_limit's `limit_mt` on the bucket at r7 with jiffies in r8: r5 = 1 when a token was
    /// taken, 0 when not; the fast path (`credit < cost && prev == jiffies`) jumps to `no`
    /// without writing anything.
    fn limit_take(&mut self, cost: Val, cap: Val, shift: i32, no: Label) {
        let slow = self.b.new_label();
        self.put(Reg::R2, cost);
        self.b
            .load(Size::W, Reg::R1, Reg::R7, 8)
            .jmp_if(Cond::Ge, Reg::R1, Reg::R2, slow)
            .load(Size::DW, Reg::R1, Reg::R7, 0)
            .jmp_if(Cond::Eq, Reg::R1, Reg::R8, no)
            .bind(slow)
            // credit_increase = (now - xchg(&prev, now)) * CREDITS_PER_JIFFY, as u32
            .mov64(Reg::R1, Reg::R8)
            .push(Insn::new(ATOMIC_DW, Reg::R7.num(), Reg::R1.num(), 0, XCHG))
            .mov64(Reg::R2, Reg::R8)
            .alu64(AluOp::Sub, Reg::R2, Reg::R1)
            .alu64(AluOp::Lsh, Reg::R2, shift)
            .mov32(Reg::R2, Reg::R2);
        // new = min(old + increase, cap); match if new >= cost (then new -= cost); publish
        // with cmpxchg, retried a few times as the kernel's loop does.
        let done = self.b.new_label();
        for _ in 0..4 {
            let capped = self.b.new_label();
            let poor = self.b.new_label();
            self.b
                .load(Size::W, Reg::R0, Reg::R7, 8)
                .mov64(Reg::R4, Reg::R0)
                .mov32(Reg::R3, Reg::R0)
                .alu32(AluOp::Add, Reg::R3, Reg::R2);
            self.put(Reg::R1, cap);
            self.b
                .jmp32_if(Cond::Le, Reg::R3, Reg::R1, capped)
                .mov64(Reg::R3, Reg::R1)
                .bind(capped)
                .mov64(Reg::R5, 0);
            self.put(Reg::R1, cost);
            self.b
                .jmp32_if(Cond::Lt, Reg::R3, Reg::R1, poor)
                .alu32(AluOp::Sub, Reg::R3, Reg::R1)
                .mov64(Reg::R5, 1)
                .bind(poor)
                .mov64(Reg::R0, Reg::R4)
                .push(Insn::new(
                    ATOMIC_W,
                    Reg::R7.num(),
                    Reg::R3.num(),
                    8,
                    CMPXCHG,
                ))
                .jmp32_if(Cond::Eq, Reg::R0, Reg::R4, done);
        }
        // Still contended after four tries: no match (the kernel would keep looping).
        self.b.mov64(Reg::R5, 0).bind(done);
    }

    fn target(&mut self, k: usize, t: Tgt, ctx: Ctx, nest: usize) -> Result<(), CompileError> {
        match t {
            Tgt::Verdict(v) => self.count_and_return(k, v),
            // ipt_error: NF_DROP.
            Tgt::Error => self.count_and_return(k, verdict::DROP),
            Tgt::Next => self.count(k),
            Tgt::Return => {
                self.count(k)?;
                self.ret(ctx)
            }
            Tgt::Log => {
                self.count(k)?;
                let l = match self.log_label {
                    Some(l) => l,
                    None => {
                        let l = self.b.new_label();
                        self.log_label = Some(l);
                        l
                    }
                };
                let e = i32::try_from(k).map_err(|_| CompileError::BadIndex { entry: k })?;
                self.b
                    .load(Size::DW, Reg::R1, Reg::R10, CTXS)
                    .mov32(Reg::R2, e)
                    .call_local(l);
                Ok(())
            }
            Tgt::Jump(to) => {
                self.count(k)?;
                if self.plan.track_depth {
                    self.depth_push()?;
                }
                if self.plan.inline.contains(&to) {
                    self.inlined_calls = self.inlined_calls.saturating_add(1);
                    let resume = self.b.new_label();
                    self.walk(to, Ctx::Inline { resume }, nest.saturating_add(1))?;
                    self.bind_far(resume);
                    if self.plan.track_depth {
                        self.depth_pop();
                    }
                } else {
                    self.call(to);
                    if self.plan.track_depth {
                        self.depth_pop();
                    }
                    let cont = self.b.new_label();
                    self.b
                        .jmp_if(Cond::Eq, Reg::R0, CONTINUE, cont)
                        .exit()
                        .bind(cont);
                }
                Ok(())
            }
            Tgt::Goto(to) => {
                self.count(k)?;
                if self.plan.inline.contains(&to) {
                    self.inlined_calls = self.inlined_calls.saturating_add(1);
                    // No return address: the chain's RETURN is this context's RETURN.
                    return self.walk(to, ctx, nest.saturating_add(1));
                }
                self.call(to);
                if let Ctx::Sub = ctx {
                    // CONTINUE or a verdict: either way the caller's business.
                    self.b.exit();
                    return Ok(());
                }
                let cont = self.b.new_label();
                self.b
                    .jmp_if(Cond::Eq, Reg::R0, CONTINUE, cont)
                    .exit()
                    .bind(cont);
                self.ret(ctx)
            }
        }
    }

    /// RETURN in context `ctx`.
    fn ret(&mut self, ctx: Ctx) -> Result<(), CompileError> {
        match ctx {
            // Empty stack: `e = get_entry(table_base, private->underflow[hook])`.
            Ctx::Main => {
                let (uf, v) = self.plan.underflow;
                self.count_and_return(uf, v)
            }
            Ctx::Sub => {
                self.b.ret(CONTINUE);
                Ok(())
            }
            Ctx::Inline { resume } => {
                let l = self.far(resume);
                self.b.jmp(l);
                Ok(())
            }
        }
    }

    fn call(&mut self, to: usize) {
        let l = self.sub_label(to);
        if !self.emitted_subs.contains(&to) {
            self.sub_queue.push(to);
        }
        self.b
            .mov64(Reg::R1, Reg::R6)
            .load(Size::DW, Reg::R2, Reg::R10, CTXS)
            .mov64(Reg::R3, Reg::R9)
            .call_local(l);
    }

    /// `if (stackidx >= private->stacksize) { verdict = NF_DROP; break; }` then push.
    fn depth_push(&mut self) -> Result<(), CompileError> {
        let ok = self.b.new_label();
        let size = i32::try_from(self.plan.stacksize).unwrap_or(i32::MAX);
        self.load_field(Reg::R1, Field::Depth);
        self.b
            .jmp_if(Cond::Lt, Reg::R1, size, ok)
            .ret(verdict::DROP)
            .bind(ok)
            .add64(Reg::R1, 1);
        self.store_field(Field::Depth, Reg::R1);
        Ok(())
    }

    fn depth_pop(&mut self) {
        self.load_field(Reg::R1, Field::Depth);
        self.b.add64(Reg::R1, -1);
        self.store_field(Field::Depth, Reg::R1);
    }

    /// `log_event(ctx, entry)`: reserve a [`log::LogEvent`] in the ring buffer, fill it
    /// from the hook state and the packet, submit it. Returns 0.
    fn log_subprogram(&mut self) -> Result<(), CompileError> {
        let lay = self.opts.layout;
        let out = self.b.new_label();
        let hook = i32::try_from(self.hook).map_err(|_| CompileError::Internal("hook"))?;
        self.b.mov64(Reg::R6, Reg::R1).mov64(Reg::R7, Reg::R2);
        self.ld_map(Reg::R1, MapKind::Log);
        self.b
            .mov64(Reg::R2, i32::try_from(log::EVENT_SIZE).unwrap_or(0))
            .mov64(Reg::R3, 0)
            .call_helper(RINGBUF_RESERVE)
            .jmp_if(Cond::Eq, Reg::R0, 0, out)
            .mov64(Reg::R8, Reg::R0)
            .store(Size::W, Reg::R8, log::E_ENTRY, Reg::R7)
            .store_imm(Size::W, Reg::R8, log::E_HOOK, hook)
            .load(Size::DW, Reg::R1, Reg::R6, nf_ctx::STATE);
        let name_hi = off16(i32::from(lay.dev_name).saturating_add(8))?;
        for (at, dst) in [(lay.state_in, log::E_INDEV), (lay.state_out, log::E_OUTDEV)] {
            let dst_hi = off16(i32::from(dst).saturating_add(8))?;
            self.b
                .load(Size::DW, Reg::R2, Reg::R1, at)
                .load(Size::DW, Reg::R3, Reg::R2, lay.dev_name)
                .store(Size::DW, Reg::R8, dst, Reg::R3)
                .load(Size::DW, Reg::R3, Reg::R2, name_hi)
                .store(Size::DW, Reg::R8, dst_hi, Reg::R3);
        }
        let capped = self.b.new_label();
        let read = self.b.new_label();
        let cap = i32::try_from(log::CAPTURE_LEN).unwrap_or(0);
        self.b
            .load(Size::DW, Reg::R1, Reg::R6, nf_ctx::SKB)
            .load(Size::W, Reg::R2, Reg::R1, lay.skb_len)
            .store(Size::W, Reg::R8, log::E_LEN, Reg::R2)
            .mov64(Reg::R7, Reg::R2)
            .load(Size::W, Reg::R2, Reg::R1, lay.skb_mark)
            .store(Size::W, Reg::R8, log::E_MARK, Reg::R2)
            .jmp_if(Cond::Le, Reg::R7, cap, capped)
            .mov64(Reg::R7, cap)
            .bind(capped)
            .mov64(Reg::R2, 0)
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(LOG_DYNPTR))
            .call_kfunc(self.opts.kfuncs.dynptr_from_skb)
            .jmp_if(Cond::Eq, Reg::R0, 0, read)
            .mov64(Reg::R7, 0)
            .bind(read)
            .store(Size::W, Reg::R8, log::E_CAPLEN, Reg::R7)
            .mov64(Reg::R1, Reg::R8)
            .add64(Reg::R1, i32::from(log::E_DATA))
            .mov64(Reg::R2, Reg::R7)
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(LOG_DYNPTR))
            .mov64(Reg::R4, 0)
            .mov64(Reg::R5, 0)
            .call_helper(log::DYNPTR_READ);
        self.log_mac()?;
        self.log_uid()?;
        self.b
            .mov64(Reg::R1, Reg::R8)
            .mov64(Reg::R2, 0)
            .call_helper(RINGBUF_SUBMIT)
            .bind(out)
            .ret(0);
        Ok(())
    }
}

impl Emitter<'_> {
    /// The MAC part of a LOG event (r6 = ctx, r8 = event): `skb->dev`'s type and
    /// `hard_header_len`, the header offsets, the VLAN tag, and the first
    /// `min(hard_header_len, 32)` bytes at `skb->head + skb->mac_header`, read with
    /// `bpf_probe_read_kernel` (the skb dynptr cannot reach before the network header).
    fn log_mac(&mut self) -> Result<(), CompileError> {
        let l = self.opts.layout.log;
        let done = self.b.new_label();
        let capped = self.b.new_label();
        let cap = i32::try_from(log::MAC_CAPTURE_LEN).unwrap_or(0);
        self.b
            .store_imm(Size::W, Reg::R8, log::E_MACLEN, 0)
            .load(Size::DW, Reg::R1, Reg::R6, nf_ctx::SKB)
            .load(Size::DW, Reg::R9, Reg::R1, l.skb_dev)
            .load(Size::H, Reg::R2, Reg::R9, l.dev_type)
            .store(Size::H, Reg::R8, log::E_DEV_TYPE, Reg::R2)
            .load(Size::H, Reg::R7, Reg::R9, l.dev_hard_header_len)
            .store(Size::H, Reg::R8, log::E_HHLEN, Reg::R7)
            .load(Size::H, Reg::R2, Reg::R1, l.skb_network_header)
            .store(Size::H, Reg::R8, log::E_NET_HEADER, Reg::R2)
            .load(Size::H, Reg::R2, Reg::R1, l.skb_vlan_proto)
            .store(Size::H, Reg::R8, log::E_VLAN_PROTO, Reg::R2)
            .load(Size::H, Reg::R2, Reg::R1, l.skb_vlan_tci)
            .store(Size::H, Reg::R8, log::E_VLAN_TCI, Reg::R2)
            .load(Size::H, Reg::R9, Reg::R1, l.skb_mac_header)
            .store(Size::H, Reg::R8, log::E_MAC_HEADER, Reg::R9)
            .jmp_if(Cond::Eq, Reg::R7, 0, done)
            .jmp_if(Cond::Le, Reg::R7, cap, capped)
            .mov64(Reg::R7, cap)
            .bind(capped)
            // skb->head is a `char *`: the walk gives a scalar address, read it whole.
            .load(Size::DW, Reg::R3, Reg::R1, l.skb_head)
            .add64(Reg::R3, Reg::R9)
            .mov64(Reg::R1, Reg::R8)
            .add64(Reg::R1, i32::from(log::E_MAC))
            .mov64(Reg::R2, Reg::R7)
            .call_helper(log::PROBE_READ_KERNEL)
            .jmp_if(Cond::Ne, Reg::R0, 0, done)
            .store(Size::W, Reg::R8, log::E_MACLEN, Reg::R7)
            .bind(done);
        Ok(())
    }

    /// `nf_log_dump_sk_uid_gid` (r6 = ctx, r8 = event), emitted when a LOG rule has
    /// `--log-uid`: a full socket of this namespace with a file gives the file's fsuid and
    /// fsgid. Every pointer of the walk is a BTF load (a fault reads 0).
    fn log_uid(&mut self) -> Result<(), CompileError> {
        self.b.store_imm(Size::W, Reg::R8, log::E_HAS_UID, 0);
        let Some(entry) = self.plan.needs.log_uid else {
            return Ok(());
        };
        let Some(u) = self.opts.layout.log.uid else {
            return Err(CompileError::UnsupportedTarget {
                entry,
                name: "LOG",
                why: "--log-uid needs sock, socket, file and cred members the running \
                      kernel's BTF does not describe",
            });
        };
        /// `TCP_TIME_WAIT`, `TCP_NEW_SYN_RECV`: not full sockets (`sk_fullsock`).
        const TIME_WAIT: i32 = 6;
        const NEW_SYN_RECV: i32 = 12;
        let none = self.b.new_label();
        self.b
            .load(Size::DW, Reg::R1, Reg::R6, nf_ctx::SKB)
            .load(Size::DW, Reg::R9, Reg::R1, u.skb_sk)
            .jmp_if(Cond::Eq, Reg::R9, 0, none)
            .load(Size::B, Reg::R2, Reg::R9, u.sk_state)
            .jmp_if(Cond::Eq, Reg::R2, TIME_WAIT, none)
            .jmp_if(Cond::Eq, Reg::R2, NEW_SYN_RECV, none)
            .load(Size::DW, Reg::R2, Reg::R9, u.sk_net)
            .load(Size::DW, Reg::R1, Reg::R6, nf_ctx::STATE)
            .load(Size::DW, Reg::R3, Reg::R1, u.state_net)
            .jmp_if(Cond::Ne, Reg::R2, Reg::R3, none)
            .load(Size::DW, Reg::R9, Reg::R9, u.sk_socket)
            .jmp_if(Cond::Eq, Reg::R9, 0, none)
            .load(Size::DW, Reg::R9, Reg::R9, u.socket_file)
            .jmp_if(Cond::Eq, Reg::R9, 0, none)
            .load(Size::DW, Reg::R9, Reg::R9, u.file_cred)
            .jmp_if(Cond::Eq, Reg::R9, 0, none)
            .load(Size::W, Reg::R2, Reg::R9, u.cred_fsuid)
            .store(Size::W, Reg::R8, log::E_UID, Reg::R2)
            .load(Size::W, Reg::R2, Reg::R9, u.cred_fsgid)
            .store(Size::W, Reg::R8, log::E_GID, Reg::R2)
            .store_imm(Size::W, Reg::R8, log::E_HAS_UID, 1)
            .bind(none);
        Ok(())
    }
}

/// `u64 bpf_jiffies64(void)`.
const JIFFIES64: i32 = 118;
/// `void *bpf_ringbuf_reserve(void *ringbuf, u64 size, u64 flags)`.
const RINGBUF_RESERVE: i32 = 131;
/// `void bpf_ringbuf_submit(void *data, u64 flags)`.
const RINGBUF_SUBMIT: i32 = 132;
/// `BPF_STX | BPF_ATOMIC | BPF_DW`.
const ATOMIC_DW: u8 = 0xdb;
/// `BPF_STX | BPF_ATOMIC | BPF_W`.
const ATOMIC_W: u8 = 0xc3;
/// `BPF_XCHG` (`0xe0 | BPF_FETCH`).
const XCHG: i32 = 0xe1;
/// `BPF_CMPXCHG` (`0xf0 | BPF_FETCH`).
const CMPXCHG: i32 = 0xf1;

// -------------------------------------------------------------------- cold rules

/// `long bpf_loop(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags)`.
const BPF_LOOP: i32 = 181;
/// `BPF_MAX_LOOPS`: the most iterations `bpf_loop` runs.
const MAX_LOOPS: i32 = 8 * 1024 * 1024;
/// Bytes of the cold interpreter's state (main frame, below the fields area).
const COLD_STATE_SIZE: i16 = 32 + 4 * 24;
const _: () = assert!(
    cold::STACK_SLOTS == 24,
    "COLD_STATE_SIZE holds 24 return pcs"
);
/// The cold interpreter's state (main frame).
const STATE: i16 = FIELDS - COLD_STATE_SIZE;
/// State words, relative to [`STATE`]: the pc, the pc of the current entry's next entry,
/// the current entry, the verdict, the jump-stack depth, multiport's hit flag, the policy
/// entry's pc, and the jump stack (return pcs).
const S_PC: i16 = 0;
const S_NEXT: i16 = 4;
const S_ENTRY: i16 = 8;
const S_VERDICT: i16 = 12;
const S_SP: i16 = 16;
const S_HIT: i16 = 20;
const S_UF: i16 = 24;
const S_STACK: i16 = 32;
/// The fields area, relative to [`STATE`].
const S_FIELDS: i16 = FIELDS - STATE;

/// Field `f`, relative to [`STATE`].
fn sf(f: Field) -> i16 {
    S_FIELDS.saturating_add(off(f))
}

/// The code label of each cold operation the callback handles.
struct OpLabels(Vec<(u8, Label)>);

impl OpLabels {
    /// The label of `o` (an operation left out is a compiler bug).
    fn at(&self, o: u8) -> Result<Label, CompileError> {
        self.0
            .iter()
            .find(|(x, _)| *x == o)
            .map(|(_, l)| *l)
            .ok_or(CompileError::Internal("cold op label"))
    }
}

impl Emitter<'_> {
    /// The main frame's stack in cold mode.
    pub(crate) fn cold_stack() -> usize {
        usize::from((-STATE).unsigned_abs())
    }

    /// Cold mode: zero the fields area first, so that the interpreter may read any field
    /// (the verifier checks every slot a variable-offset read can reach).
    pub(crate) fn cold_zero_fields(&mut self) {
        let mut at = 0i16;
        while at < FIELDS_SIZE {
            self.b.store_imm(Size::DW, Reg::R6, at, 0);
            at = at.saturating_add(8);
        }
    }

    /// The hot prefix ends here: run the cold code from `start` (a pc) and return its
    /// verdict.
    pub(crate) fn cold_call(&mut self, start: u32, underflow: u32) -> Result<(), CompileError> {
        let cb = match self.cold_label {
            Some(l) => l,
            None => {
                let l = self.b.new_label();
                self.cold_label = Some(l);
                l
            }
        };
        let mut at = STATE;
        while at < FIELDS {
            self.b.store_imm(Size::DW, Reg::R10, at, 0);
            at = at.saturating_add(8);
        }
        self.b
            .store_imm(Size::W, Reg::R10, STATE + S_PC, imm(start))
            .store_imm(Size::W, Reg::R10, STATE + S_UF, imm(underflow))
            .store_imm(Size::W, Reg::R10, STATE + S_VERDICT, verdict::DROP)
            .mov64(Reg::R1, MAX_LOOPS)
            .ld_func(Reg::R2, cb)
            .mov64(Reg::R3, Reg::R10)
            .add64(Reg::R3, i32::from(STATE))
            .mov64(Reg::R4, 0)
            .call_helper(BPF_LOOP)
            .load(Size::W, Reg::R0, Reg::R10, STATE + S_VERDICT)
            .alu64(AluOp::And, Reg::R0, 1)
            .exit();
        Ok(())
    }

    /// A label for each of `ops` that `keep` keeps.
    fn op_labels(&mut self, ops: &[u8], keep: &dyn Fn(u8) -> bool) -> OpLabels {
        OpLabels(
            ops.iter()
                .copied()
                .filter(|o| keep(*o))
                .map(|o| (o, self.b.new_label()))
                .collect(),
        )
    }

    /// `r2 = field[f]` of the instruction at r9 (a bad index drops).
    fn cold_field(&mut self, bad: Label) {
        let last = i32::try_from(Field::ALL.len().saturating_sub(1)).unwrap_or(0);
        self.b
            .load(Size::B, Reg::R2, Reg::R9, 1)
            .jmp_if(Cond::Gt, Reg::R2, last, bad)
            .alu64(AluOp::Lsh, Reg::R2, 2)
            .mov64(Reg::R3, Reg::R6)
            .alu64(AluOp::Add, Reg::R3, Reg::R2)
            .load(Size::W, Reg::R2, Reg::R3, S_FIELDS);
    }

    /// `r0 = lookup(cold code, pc + delta)`, dropping if out of range.
    fn cold_fetch(&mut self, delta: i32, bad: Label) {
        self.b
            .load(Size::W, Reg::R1, Reg::R6, S_PC)
            .add64(Reg::R1, delta)
            .store(Size::W, Reg::R10, KEY, Reg::R1);
        self.ld_map(Reg::R1, cold::map_kind(self.hook));
        self.b
            .mov64(Reg::R2, Reg::R10)
            .add64(Reg::R2, i32::from(KEY))
            .call_helper(helper::MAP_LOOKUP_ELEM)
            .jmp_if(Cond::Eq, Reg::R0, 0, bad);
    }

    /// The `bpf_loop` callback: one cold instruction per call (see `compile_cold`).
    /// r6 = the state, r9 = the instruction, r8 = the pc of the next instruction.
    pub(crate) fn cold_callback(&mut self) -> Result<(), CompileError> {
        use cold::op;
        let Some(cb) = self.cold_label else {
            return Ok(());
        };
        let b = |e: &mut Self| e.b.new_label();
        let (ok, miss, drop, target) = (b(self), b(self), b(self), b(self));
        let labels = self.op_labels(
            &[
                op::RULE,
                op::MASKED,
                op::RANGE,
                op::STATUS,
                op::IFACE,
                op::ICMP,
                op::MP_BEGIN,
                op::MP_ITEM,
                op::MP_END,
                op::OPTBIT,
                op::LIMIT,
                op::NEVER,
            ],
            // The limits map exists only for tables with limit matches.
            &|o| o != op::LIMIT || self.plan.needs.limit,
        );
        let at = |o: u8| labels.at(o);
        self.b.bind(cb).mov64(Reg::R6, Reg::R2);
        self.cold_fetch(0, drop);
        self.b
            .mov64(Reg::R9, Reg::R0)
            .load(Size::W, Reg::R8, Reg::R6, S_PC)
            .add64(Reg::R8, 1)
            .load(Size::B, Reg::R1, Reg::R9, 0)
            .jmp_if(Cond::Ge, Reg::R1, i32::from(op::T_VERDICT), target);
        for (o, l) in &labels.0 {
            self.b.jmp_if(Cond::Eq, Reg::R1, i32::from(*o), *l);
        }
        self.b.jmp(drop);

        // Tails.
        self.b
            .bind(ok)
            .store(Size::W, Reg::R6, S_PC, Reg::R8)
            .ret(0)
            .bind(miss)
            .load(Size::W, Reg::R1, Reg::R6, S_NEXT)
            .store(Size::W, Reg::R6, S_PC, Reg::R1)
            .ret(0)
            .bind(drop)
            .store_imm(Size::W, Reg::R6, S_VERDICT, verdict::DROP)
            .ret(1);
        // `if (r2 ^ inv) != 0 goto miss; goto ok` with r2 a 0/1 mismatch.
        let decide = |e: &mut Self| {
            e.b.load(Size::B, Reg::R4, Reg::R9, 2)
                .alu64(AluOp::Xor, Reg::R2, Reg::R4)
                .jmp_if(Cond::Ne, Reg::R2, 0, miss)
                .jmp(ok);
        };

        // RULE: the entry and where a mismatch continues.
        self.b
            .bind(at(op::RULE)?)
            .load(Size::W, Reg::R1, Reg::R9, 4)
            .store(Size::W, Reg::R6, S_ENTRY, Reg::R1)
            .load(Size::W, Reg::R1, Reg::R9, 8)
            .store(Size::W, Reg::R6, S_NEXT, Reg::R1)
            .jmp(ok);
        // NEVER.
        self.b.bind(at(op::NEVER)?).jmp(miss);
        // MASKED: ((F & a) ^ b) != 0.
        self.b.bind(at(op::MASKED)?);
        self.cold_field(drop);
        let nz = self.b.new_label();
        self.b
            .load(Size::W, Reg::R3, Reg::R9, 4)
            .alu32(AluOp::And, Reg::R2, Reg::R3)
            .load(Size::W, Reg::R3, Reg::R9, 8)
            .alu32(AluOp::Xor, Reg::R2, Reg::R3)
            .jmp_if(Cond::Eq, Reg::R2, 0, nz)
            .mov64(Reg::R2, 1)
            .bind(nz);
        decide(self);
        // RANGE: !(a <= F <= b).
        self.b.bind(at(op::RANGE)?);
        self.cold_field(drop);
        let out = self.b.new_label();
        self.b
            .mov64(Reg::R5, 1)
            .load(Size::W, Reg::R3, Reg::R9, 4)
            .jmp_if(Cond::Lt, Reg::R2, Reg::R3, out)
            .load(Size::W, Reg::R3, Reg::R9, 8)
            .jmp_if(Cond::Gt, Reg::R2, Reg::R3, out)
            .mov64(Reg::R5, 0)
            .bind(out)
            .mov64(Reg::R2, Reg::R5);
        decide(self);
        // STATUS: 0 holds, 2 hotdrops, anything else is a mismatch.
        self.b.bind(at(op::STATUS)?);
        self.cold_field(drop);
        self.b
            .jmp_if(Cond::Eq, Reg::R2, 0, ok)
            .jmp_if(Cond::Eq, Reg::R2, 2, drop)
            .jmp(miss);
        // ICMP: !(type == a && b <= code <= c).
        self.b.bind(at(op::ICMP)?);
        let done = self.b.new_label();
        self.b
            .mov64(Reg::R5, 1)
            .load(Size::W, Reg::R2, Reg::R6, sf(Field::IcmpType))
            .load(Size::W, Reg::R3, Reg::R6, sf(Field::IcmpCode))
            .load(Size::W, Reg::R4, Reg::R9, 4)
            .jmp_if(Cond::Ne, Reg::R2, Reg::R4, done)
            .load(Size::W, Reg::R4, Reg::R9, 8)
            .jmp_if(Cond::Lt, Reg::R3, Reg::R4, done)
            .load(Size::W, Reg::R4, Reg::R9, 12)
            .jmp_if(Cond::Gt, Reg::R3, Reg::R4, done)
            .mov64(Reg::R5, 0)
            .bind(done)
            .mov64(Reg::R2, Reg::R5);
        decide(self);
        // Multiport.
        self.b
            .bind(at(op::MP_BEGIN)?)
            .store_imm(Size::W, Reg::R6, S_HIT, 0)
            .jmp(ok);
        self.b.bind(at(op::MP_ITEM)?);
        let hit = self.b.new_label();
        for (bit, f) in [(1, Field::Sport), (2, Field::Dport)] {
            let skip = self.b.new_label();
            self.b
                .load(Size::B, Reg::R1, Reg::R9, 3)
                .alu64(AluOp::And, Reg::R1, bit)
                .jmp_if(Cond::Eq, Reg::R1, 0, skip)
                .load(Size::W, Reg::R2, Reg::R6, sf(f))
                .load(Size::W, Reg::R3, Reg::R9, 4)
                .jmp_if(Cond::Lt, Reg::R2, Reg::R3, skip)
                .load(Size::W, Reg::R3, Reg::R9, 8)
                .jmp_if(Cond::Le, Reg::R2, Reg::R3, hit)
                .bind(skip);
        }
        self.b
            .jmp(ok)
            .bind(hit)
            .store_imm(Size::W, Reg::R6, S_HIT, 1)
            .jmp(ok);
        // MP_END: a hit is a mismatch with inv (--invert), a miss without: hit ^ !inv.
        self.b
            .bind(at(op::MP_END)?)
            .load(Size::W, Reg::R2, Reg::R6, S_HIT)
            .alu64(AluOp::And, Reg::R2, 1)
            .alu64(AluOp::Xor, Reg::R2, 1);
        decide(self);
        // OPTBIT: !(optbits >> a & 1).
        self.b
            .bind(at(op::OPTBIT)?)
            .load(
                Size::DW,
                Reg::R2,
                Reg::R6,
                S_FIELDS.saturating_add(F_OPTBITS),
            )
            .load(Size::W, Reg::R3, Reg::R9, 4)
            .alu64(AluOp::And, Reg::R3, 63)
            .alu64(AluOp::Rsh, Reg::R2, Reg::R3)
            .alu64(AluOp::And, Reg::R2, 1)
            .alu64(AluOp::Xor, Reg::R2, 1);
        decide(self);
        // IFACE: the name and the mask are the next two instructions.
        self.b.bind(at(op::IFACE)?);
        self.cold_fetch(1, drop);
        self.b.mov64(Reg::R7, Reg::R0);
        self.cold_fetch(2, drop);
        let dev = self.b.new_label();
        let zero = self.b.new_label();
        self.b
            .mov64(Reg::R8, Reg::R0)
            .mov64(Reg::R2, Reg::R6)
            .add64(Reg::R2, i32::from(S_FIELDS.saturating_add(F_INDEV)))
            .load(Size::B, Reg::R1, Reg::R9, 3)
            .jmp_if(Cond::Eq, Reg::R1, 0, dev)
            .mov64(Reg::R2, Reg::R6)
            .add64(Reg::R2, i32::from(S_FIELDS.saturating_add(F_OUTDEV)))
            .bind(dev)
            .mov64(Reg::R5, 0);
        for w in [0i16, 8] {
            self.b
                .load(Size::DW, Reg::R3, Reg::R2, w)
                .load(Size::DW, Reg::R4, Reg::R7, w)
                .alu64(AluOp::Xor, Reg::R3, Reg::R4)
                .load(Size::DW, Reg::R4, Reg::R8, w)
                .alu64(AluOp::And, Reg::R3, Reg::R4)
                .alu64(AluOp::Or, Reg::R5, Reg::R3);
        }
        self.b
            .mov64(Reg::R2, 0)
            .jmp_if(Cond::Eq, Reg::R5, 0, zero)
            .mov64(Reg::R2, 1)
            .bind(zero)
            .load(Size::W, Reg::R8, Reg::R6, S_PC)
            .add64(Reg::R8, 3);
        decide(self);
        if self.plan.needs.limit {
            self.b.bind(at(op::LIMIT)?);
            self.cold_limit(ok, miss, drop)?;
        }

        // Targets: the entry matched. Count it, then act.
        self.b.bind(target);
        self.b
            .load(Size::W, Reg::R1, Reg::R6, S_ENTRY)
            .store(Size::W, Reg::R10, KEY, Reg::R1);
        self.ld_map(Reg::R1, MapKind::Counters);
        self.b
            .mov64(Reg::R2, Reg::R10)
            .add64(Reg::R2, i32::from(KEY))
            .call_helper(helper::MAP_LOOKUP_ELEM)
            .jmp_if(Cond::Eq, Reg::R0, 0, drop)
            .load(Size::DW, Reg::R1, Reg::R0, 0)
            .add64(Reg::R1, 1)
            .store(Size::DW, Reg::R0, 0, Reg::R1)
            .load(Size::W, Reg::R2, Reg::R6, sf(Field::SkbLen))
            .load(Size::DW, Reg::R1, Reg::R0, 8)
            .alu64(AluOp::Add, Reg::R1, Reg::R2)
            .store(Size::DW, Reg::R0, 8, Reg::R1)
            .load(Size::B, Reg::R1, Reg::R9, 0);
        let t = self.op_labels(
            &[
                op::T_VERDICT,
                op::T_NEXT,
                op::T_LOG,
                op::T_JUMP,
                op::T_GOTO,
                op::T_RETURN,
            ],
            // The log ring buffer exists only for tables with LOG rules.
            &|o| o != op::T_LOG || self.plan.needs.log,
        );
        let tat = |o: u8| t.at(o);
        for (o, l) in &t.0 {
            self.b.jmp_if(Cond::Eq, Reg::R1, i32::from(*o), *l);
        }
        // T_ERROR (ipt_error) and anything unknown: NF_DROP.
        self.b.jmp(drop);
        self.b
            .bind(tat(op::T_VERDICT)?)
            .load(Size::W, Reg::R1, Reg::R9, 4)
            .alu64(AluOp::And, Reg::R1, 1)
            .store(Size::W, Reg::R6, S_VERDICT, Reg::R1)
            .ret(1);
        self.b.bind(tat(op::T_NEXT)?).jmp(miss);
        // LOG, then the next entry.
        if self.plan.needs.log {
            let log = match self.log_label {
                Some(l) => l,
                None => {
                    let l = self.b.new_label();
                    self.log_label = Some(l);
                    l
                }
            };
            self.b
                .bind(tat(op::T_LOG)?)
                .load(Size::DW, Reg::R1, Reg::R6, CTXS - STATE)
                .load(Size::W, Reg::R2, Reg::R6, S_ENTRY)
                .call_local(log)
                .jmp(miss);
        }
        self.b
            .bind(tat(op::T_GOTO)?)
            .load(Size::W, Reg::R1, Reg::R9, 4)
            .store(Size::W, Reg::R6, S_PC, Reg::R1)
            .ret(0);
        // JUMP: the kernel drops when its stack (ERROR entries) is full.
        let cap = self.plan.stacksize.min(cold::STACK_SLOTS);
        let cap = i32::try_from(cap).map_err(|_| CompileError::Internal("stack"))?;
        self.b
            .bind(tat(op::T_JUMP)?)
            .load(Size::W, Reg::R1, Reg::R6, S_SP)
            .jmp_if(Cond::Ge, Reg::R1, cap, drop)
            .mov64(Reg::R2, Reg::R1)
            .alu64(AluOp::Lsh, Reg::R2, 2)
            .mov64(Reg::R3, Reg::R6)
            .alu64(AluOp::Add, Reg::R3, Reg::R2)
            .load(Size::W, Reg::R4, Reg::R6, S_NEXT)
            .store(Size::W, Reg::R3, S_STACK, Reg::R4)
            .add64(Reg::R1, 1)
            .store(Size::W, Reg::R6, S_SP, Reg::R1)
            .load(Size::W, Reg::R1, Reg::R9, 4)
            .store(Size::W, Reg::R6, S_PC, Reg::R1)
            .ret(0);
        // RETURN: pop, or the policy entry when the stack is empty.
        let pop = self.b.new_label();
        let slots = i32::try_from(cold::STACK_SLOTS).unwrap_or(0);
        self.b
            .bind(tat(op::T_RETURN)?)
            .load(Size::W, Reg::R1, Reg::R6, S_SP)
            .jmp_if(Cond::Ne, Reg::R1, 0, pop)
            .load(Size::W, Reg::R1, Reg::R6, S_UF)
            .store(Size::W, Reg::R6, S_PC, Reg::R1)
            .ret(0)
            .bind(pop)
            .add64(Reg::R1, -1)
            .jmp_if(Cond::Ge, Reg::R1, slots, drop)
            .store(Size::W, Reg::R6, S_SP, Reg::R1)
            .alu64(AluOp::Lsh, Reg::R1, 2)
            .mov64(Reg::R3, Reg::R6)
            .alu64(AluOp::Add, Reg::R3, Reg::R1)
            .load(Size::W, Reg::R2, Reg::R3, S_STACK)
            .store(Size::W, Reg::R6, S_PC, Reg::R2)
            .ret(0);
        Ok(())
    }

    /// xt_limit's token bucket for a LIMIT instruction at r9 (a slot, b cost, c cap; the
    /// initial credit in the DATA instruction after it), as `Emitter::limit` does with
    /// constants. Continues at `ok` (pc + 2) on a token, at `miss` without.
    fn cold_limit(&mut self, ok: Label, miss: Label, drop: Label) -> Result<(), CompileError> {
        let cpj = super::compile_rule::credits_per_jiffy(self.opts.hz);
        let shift = i32::try_from(cpj.checked_ilog2().unwrap_or(0))
            .map_err(|_| CompileError::Internal("credits per jiffy"))?;
        self.b
            .load(Size::W, Reg::R1, Reg::R9, 4)
            .store(Size::W, Reg::R10, KEY, Reg::R1);
        self.ld_map(Reg::R1, MapKind::Limits);
        let nomatch = self.b.new_label();
        self.b
            .mov64(Reg::R2, Reg::R10)
            .add64(Reg::R2, i32::from(KEY))
            .call_helper(helper::MAP_LOOKUP_ELEM)
            .jmp_if(Cond::Eq, Reg::R0, 0, nomatch)
            .mov64(Reg::R7, Reg::R0)
            .call_helper(JIFFIES64)
            .mov64(Reg::R8, Reg::R0);
        let inited = self.b.new_label();
        self.b
            .load(Size::W, Reg::R1, Reg::R7, 12)
            .jmp_if(Cond::Ne, Reg::R1, 0, inited);
        self.cold_fetch(1, drop);
        self.b
            .load(Size::W, Reg::R1, Reg::R0, 4)
            .store(Size::DW, Reg::R7, 0, Reg::R8)
            .store(Size::W, Reg::R7, 8, Reg::R1)
            .store_imm(Size::W, Reg::R7, 12, 1)
            .bind(inited);
        self.limit_take(Val::At(Reg::R9, 8), Val::At(Reg::R9, 12), shift, nomatch);
        self.b
            .load(Size::W, Reg::R8, Reg::R6, S_PC)
            .add64(Reg::R8, 2)
            .jmp_if(Cond::Ne, Reg::R5, 0, ok)
            .bind(nomatch)
            .jmp(miss);
        Ok(())
    }
}

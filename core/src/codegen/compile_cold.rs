//! Cold rules: entries kept in a BPF array map in a compact form and walked by one generic
//! routine, so that no rule count the kernel accepts is refused by the verifier.
//!
//! A hook's program compiles its first entries inline (the *hot* prefix of the hook's chain,
//! up to the first jump) and hands the rest to a `bpf_loop` whose callback interprets the
//! *cold code*: every analysed entry of the hook, in table order, as fixed 16-byte
//! instructions. One loop iteration executes one instruction; the walk is `ipt_do_table`'s:
//! first match, jumps and gotos into user chains, RETURN with an explicit stack (underflow:
//! the hook's policy entry), the kernel's jump-stack limit, counters of the entries that
//! match, hotdrops, limit, LOG.
//!
//! ```text
//! byte  0     op
//! byte  1     f      a compile_rule::Field index (MASKED, RANGE, STATUS)
//! byte  2     inv    1: inverted
//! byte  3     x      IFACE: 1 = output device; MP_*: bit 0 source port, bit 1 destination
//! bytes 4..8  a      u32, little-endian
//! bytes 8..12 b      u32
//! bytes 12..16 c     u32
//!
//! RULE     a entry, b pc of the next entry's RULE (u32::MAX: never falls through)
//! MASKED   mismatch = ((F & a) ^ b) != 0, xor inv
//! RANGE    mismatch = !(a <= F <= b), xor inv
//! IFACE    two DATA instructions follow: the name, then the mask (16 bytes each);
//!          mismatch = ((dev ^ name) & mask) != 0, xor inv
//! ICMP     mismatch = !(type == a && b <= code <= c), xor inv
//! MP_BEGIN hit = 0;  MP_ITEM (a..=b on the ports of x): hit |= in range;  MP_END: mismatch =
//!          hit if inv (--invert: a hit is a mismatch), else !hit
//! OPTBIT   mismatch = !(optbits >> a & 1), xor inv
//! STATUS   F == 2: hotdrop (NF_DROP, nothing counted); F != 0: mismatch
//! LIMIT    a slot, b cost, c cap; one DATA follows (a: the initial credit); xt_limit's bucket
//! NEVER    mismatch
//! T_*      the entry matched: count it, then VERDICT a / NEXT / LOG / JUMP a (pc) /
//!          GOTO a / RETURN / ERROR
//! ```
//!
//! A mismatch continues at the entry's `b` (the next entry); a condition that holds continues
//! with the next instruction. Conditions run in the kernel's order, so a hotdrop or a token
//! taken happens exactly when the kernel's match would run.

use super::compile::{CompileError, MapKind};
use super::compile_rule::{Field, RuleInfo, Step, Term, Tgt};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Size of one cold instruction.
pub const COLD_INSN_SIZE: u32 = 16;
/// Return addresses the interpreter's jump stack holds.
pub(crate) const STACK_SLOTS: u32 = 24;

/// Operation codes.
pub(crate) mod op {
    pub(crate) const RULE: u8 = 1;
    pub(crate) const MASKED: u8 = 2;
    pub(crate) const RANGE: u8 = 3;
    pub(crate) const IFACE: u8 = 4;
    pub(crate) const ICMP: u8 = 5;
    pub(crate) const MP_BEGIN: u8 = 6;
    pub(crate) const MP_ITEM: u8 = 7;
    pub(crate) const MP_END: u8 = 8;
    pub(crate) const OPTBIT: u8 = 9;
    pub(crate) const STATUS: u8 = 10;
    pub(crate) const LIMIT: u8 = 11;
    pub(crate) const NEVER: u8 = 12;
    pub(crate) const DATA: u8 = 13;
    pub(crate) const T_VERDICT: u8 = 20;
    pub(crate) const T_NEXT: u8 = 21;
    pub(crate) const T_LOG: u8 = 22;
    pub(crate) const T_JUMP: u8 = 23;
    pub(crate) const T_GOTO: u8 = 24;
    pub(crate) const T_RETURN: u8 = 25;
    pub(crate) const T_ERROR: u8 = 26;
}

/// One cold instruction: its 16 bytes.
pub(crate) type ColdInsn = [u8; 16];

/// An instruction from its parts.
fn ins(op: u8, f: u8, inv: bool, x: u8, a: u32, b: u32, c: u32) -> ColdInsn {
    let mut out = [0u8; 16];
    let head = [op, f, u8::from(inv), x];
    let (a, b, c) = (a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes());
    for (dst, src) in out
        .iter_mut()
        .zip(head.iter().chain(&a).chain(&b).chain(&c))
    {
        *dst = *src;
    }
    out
}

/// The cold code of one hook.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColdCode {
    /// The instructions (the map's value at key `i` is `insns[i]`).
    pub insns: Vec<[u8; 16]>,
    /// Entry -> the pc of its RULE instruction.
    pub pc: BTreeMap<usize, u32>,
}

impl ColdCode {
    /// The pc of entry `k`'s RULE.
    pub(crate) fn pc_of(&self, k: usize) -> Result<u32, CompileError> {
        self.pc
            .get(&k)
            .copied()
            .ok_or(CompileError::Internal("cold entry has no code"))
    }
}

fn field_byte(f: Field) -> u8 {
    u8::try_from(f.index()).unwrap_or(u8::MAX)
}

/// Instructions of one step.
fn step_insns(s: &Step, out: &mut Vec<ColdInsn>) {
    match s {
        Step::Limit(l) => {
            out.push(ins(op::LIMIT, 0, false, 0, l.slot, l.cost, l.cap));
            out.push(ins(op::DATA, 0, false, 0, l.initial, 0, 0));
        }
        Step::Term(t) => match t {
            Term::Never => out.push(ins(op::NEVER, 0, false, 0, 0, 0, 0)),
            Term::Masked {
                f,
                mask,
                value,
                inv,
            } => out.push(ins(op::MASKED, field_byte(*f), *inv, 0, *mask, *value, 0)),
            Term::Range { f, lo, hi, inv, .. } => {
                out.push(ins(op::RANGE, field_byte(*f), *inv, 0, *lo, *hi, 0));
            }
            Term::Iface {
                out: o,
                name,
                mask,
                inv,
            } => {
                out.push(ins(op::IFACE, 0, *inv, u8::from(*o), 0, 0, 0));
                // DATA instructions: the raw 16 bytes of the name, then of the mask.
                out.push(*name);
                out.push(*mask);
            }
            Term::Icmp { ty, lo, hi, inv } => out.push(ins(
                op::ICMP,
                0,
                *inv,
                0,
                u32::from(*ty),
                u32::from(*lo),
                u32::from(*hi),
            )),
            Term::Multiport {
                src,
                dst,
                items,
                mismatch_on_hit,
            } => {
                let x = u8::from(*src) | (u8::from(*dst) << 1);
                out.push(ins(op::MP_BEGIN, 0, false, x, 0, 0, 0));
                for &(lo, hi) in items {
                    out.push(ins(
                        op::MP_ITEM,
                        0,
                        false,
                        x,
                        u32::from(lo),
                        u32::from(hi),
                        0,
                    ));
                }
                out.push(ins(op::MP_END, 0, *mismatch_on_hit, x, 0, 0, 0));
            }
            Term::OptBit { bit, inv } => {
                out.push(ins(op::OPTBIT, 0, *inv, 0, u32::from(*bit), 0, 0));
            }
            Term::Status(f) => out.push(ins(op::STATUS, field_byte(*f), false, 0, 0, 0, 0)),
        },
    }
}

/// The target instruction (`pc` resolves jump targets).
fn target_insn(t: Tgt, pc: &BTreeMap<usize, u32>) -> Result<ColdInsn, CompileError> {
    let to = |k: usize| {
        pc.get(&k)
            .copied()
            .ok_or(CompileError::Internal("cold jump target has no code"))
    };
    Ok(match t {
        Tgt::Verdict(v) => ins(op::T_VERDICT, 0, false, 0, u32::from(v != 0), 0, 0),
        Tgt::Next => ins(op::T_NEXT, 0, false, 0, 0, 0, 0),
        Tgt::Log => ins(op::T_LOG, 0, false, 0, 0, 0, 0),
        Tgt::Jump(k) => ins(op::T_JUMP, 0, false, 0, to(k)?, 0, 0),
        Tgt::Goto(k) => ins(op::T_GOTO, 0, false, 0, to(k)?, 0, 0),
        Tgt::Return => ins(op::T_RETURN, 0, false, 0, 0, 0, 0),
        Tgt::Error => ins(op::T_ERROR, 0, false, 0, 0, 0, 0),
    })
}

/// The body of one entry (everything after its RULE).
fn body(info: &RuleInfo) -> Vec<ColdInsn> {
    let mut out = Vec::new();
    if info.is_dead() {
        out.push(ins(op::NEVER, 0, false, 0, 0, 0, 0));
        return out;
    }
    for s in &info.steps {
        step_insns(s, &mut out);
    }
    out
}

/// Encode every entry the plan analysed (all entries reachable from the hook), in table
/// order.
pub(crate) fn encode(infos: &BTreeMap<usize, RuleInfo>) -> Result<ColdCode, CompileError> {
    // Pass 1: where each entry starts.
    let bodies: BTreeMap<usize, Vec<ColdInsn>> = infos.iter().map(|(k, i)| (*k, body(i))).collect();
    let mut pc = BTreeMap::new();
    let mut at = 0u32;
    for (k, b) in &bodies {
        pc.insert(*k, at);
        let n = u32::try_from(b.len())
            .ok()
            .and_then(|n| n.checked_add(2))
            .ok_or(CompileError::Internal("cold code too large"))?;
        at = at
            .checked_add(n)
            .ok_or(CompileError::Internal("cold code too large"))?;
    }
    // Pass 2: the code.
    let mut insns = Vec::with_capacity(usize::try_from(at).unwrap_or(0));
    for (k, b) in &bodies {
        let info = infos
            .get(k)
            .ok_or(CompileError::Internal("cold entry vanished"))?;
        let next = k
            .checked_add(1)
            .and_then(|n| pc.get(&n).copied())
            .unwrap_or(u32::MAX);
        let entry = u32::try_from(*k).map_err(|_| CompileError::BadIndex { entry: *k })?;
        insns.push(ins(op::RULE, 0, false, 0, entry, next, 0));
        insns.extend_from_slice(b);
        // A dead entry (it never matches) may jump to a chain nobody analysed: its target
        // is never reached.
        insns.push(if info.is_dead() {
            ins(op::T_ERROR, 0, false, 0, 0, 0, 0)
        } else {
            target_insn(info.target, &pc)?
        });
    }
    Ok(ColdCode { insns, pc })
}

/// The map kind of a hook's cold code.
pub(crate) fn map_kind(hook: usize) -> MapKind {
    MapKind::Cold(u32::try_from(hook).unwrap_or(u32::MAX))
}

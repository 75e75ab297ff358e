//! A readable, bpftool-like disassembler for golden tests and error messages.
//!
//! ```text
//!    0: r6 = r1
//!    1: r1 = *(u64 *)(r6 + 8)
//!    4: if r0 == 0x0 goto +3 <L0>
//! L0:
//!    8: r0 = 1
//!    9: exit
//! ```
//!
//! Every jump or call target gets a label `Ln`, numbered in address order, printed on its own
//! line before the target slot. Any slice decodes: unknown opcodes print as `(invalid ...)`.

use super::insn::{alu, atomic, class, helper, jmp, mode, pseudo, size, source, Insn, Size};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The slot a jump or call at `pc` reaches, if it lies inside a program of `len` slots.
fn target(pc: usize, dist: i64, len: usize) -> Option<usize> {
    let t = i64::try_from(pc).ok()?.checked_add(1)?.checked_add(dist)?;
    usize::try_from(t).ok().filter(|t| *t < len)
}

/// What transfers control elsewhere: the slot distance it encodes, if any.
fn branch_distance(insn: &Insn) -> Option<i64> {
    let c = insn.class();
    let op = insn.code & jmp::MASK;
    if c == class::JMP || c == class::JMP32 {
        if op == jmp::CALL {
            return (insn.src == pseudo::CALL && c == class::JMP).then_some(i64::from(insn.imm));
        }
        if op == jmp::EXIT {
            return None;
        }
        if c == class::JMP32 && op == jmp::JA {
            // `gotol`: the distance lives in imm.
            return Some(i64::from(insn.imm));
        }
        return Some(i64::from(insn.off));
    }
    if insn.is_ld_imm64() && insn.src == pseudo::FUNC {
        return Some(i64::from(insn.imm));
    }
    None
}

fn size_name(code: u8, signed: bool) -> &'static str {
    match (Size::from_code(code), signed) {
        (Size::B, false) => "u8",
        (Size::H, false) => "u16",
        (Size::W, false) => "u32",
        (Size::DW, false) => "u64",
        (Size::B, true) => "s8",
        (Size::H, true) => "s16",
        (Size::W, true) => "s32",
        (Size::DW, true) => "s64",
    }
}

/// `(r10 - 8)` / `(r1 + 0)`.
fn mem(out: &mut String, reg: u8, off: i16) {
    let _ = if off < 0 {
        write!(out, "(r{reg} - {})", off.unsigned_abs())
    } else {
        write!(out, "(r{reg} + {off})")
    };
}

/// Hex immediate as bpftool prints compare operands, with a sign for negatives.
fn hex(out: &mut String, imm: i32) {
    let _ = if imm < 0 {
        write!(out, "-{:#x}", imm.unsigned_abs())
    } else {
        write!(out, "{imm:#x}")
    };
}

fn helper_name(id: i32) -> Option<&'static str> {
    Some(match id {
        helper::MAP_LOOKUP_ELEM => "bpf_map_lookup_elem",
        helper::MAP_UPDATE_ELEM => "bpf_map_update_elem",
        helper::MAP_DELETE_ELEM => "bpf_map_delete_elem",
        helper::KTIME_GET_NS => "bpf_ktime_get_ns",
        helper::GET_PRANDOM_U32 => "bpf_get_prandom_u32",
        helper::GET_SMP_PROCESSOR_ID => "bpf_get_smp_processor_id",
        helper::RINGBUF_OUTPUT => "bpf_ringbuf_output",
        helper::FOR_EACH_MAP_ELEM => "bpf_for_each_map_elem",
        helper::LOOP => "bpf_loop",
        _ => return None,
    })
}

fn alu_sym(op: u8, signed: bool) -> Option<&'static str> {
    Some(match (op, signed) {
        (alu::ADD, _) => "+=",
        (alu::SUB, _) => "-=",
        (alu::MUL, _) => "*=",
        (alu::DIV, false) => "/=",
        (alu::DIV, true) => "s/=",
        (alu::OR, _) => "|=",
        (alu::AND, _) => "&=",
        (alu::LSH, _) => "<<=",
        (alu::RSH, _) => ">>=",
        (alu::MOD, false) => "%=",
        (alu::MOD, true) => "s%=",
        (alu::XOR, _) => "^=",
        (alu::ARSH, _) => "s>>=",
        _ => return None,
    })
}

fn cond_sym(op: u8) -> Option<&'static str> {
    Some(match op {
        jmp::JEQ => "==",
        jmp::JNE => "!=",
        jmp::JGT => ">",
        jmp::JGE => ">=",
        jmp::JLT => "<",
        jmp::JLE => "<=",
        jmp::JSGT => "s>",
        jmp::JSGE => "s>=",
        jmp::JSLT => "s<",
        jmp::JSLE => "s<=",
        jmp::JSET => "&",
        _ => return None,
    })
}

struct Labels(Vec<usize>);

impl Labels {
    fn name(&self, slot: usize) -> Option<usize> {
        self.0.binary_search(&slot).ok()
    }
}

/// `+3 <L5>`, or `+3 <out of program>`.
fn branch(out: &mut String, labels: &Labels, pc: usize, dist: i64, len: usize) {
    let _ = write!(out, "{dist:+}");
    match target(pc, dist, len).and_then(|t| labels.name(t)) {
        Some(n) => {
            let _ = write!(out, " <L{n}>");
        }
        None => out.push_str(" <out of program>"),
    }
}

fn invalid(out: &mut String, insn: &Insn) {
    let _ = write!(
        out,
        "(invalid code={:#04x} dst=r{} src=r{} off={} imm={})",
        insn.code, insn.dst, insn.src, insn.off, insn.imm
    );
}

fn alu_insn(out: &mut String, insn: &Insn) {
    let r = if insn.class() == class::ALU64 {
        'r'
    } else {
        'w'
    };
    let op = insn.code & alu::MASK;
    let x = insn.code & source::MASK == source::X;
    let d = insn.dst;
    let _ = match op {
        alu::MOV if x && insn.off != 0 => write!(out, "{r}{d} = (s{}){r}{}", insn.off, insn.src),
        alu::MOV if x => write!(out, "{r}{d} = {r}{}", insn.src),
        alu::MOV => write!(out, "{r}{d} = {}", insn.imm),
        alu::NEG => write!(out, "{r}{d} = -{r}{d}"),
        alu::END => {
            let kind = match (insn.class() == class::ALU64, x) {
                (true, _) => "bswap",
                (false, true) => "be",
                (false, false) => "le",
            };
            write!(out, "r{d} = {kind}{} r{d}", insn.imm)
        }
        _ => match alu_sym(op, insn.off == 1) {
            Some(sym) if x => write!(out, "{r}{d} {sym} {r}{}", insn.src),
            Some(sym) => write!(out, "{r}{d} {sym} {}", insn.imm),
            None => {
                invalid(out, insn);
                Ok(())
            }
        },
    };
}

fn jmp_insn(out: &mut String, insn: &Insn, labels: &Labels, pc: usize, len: usize) {
    let is32 = insn.class() == class::JMP32;
    let op = insn.code & jmp::MASK;
    match op {
        jmp::EXIT if !is32 => out.push_str("exit"),
        jmp::CALL if !is32 => match insn.src {
            pseudo::KFUNC_CALL => {
                let _ = write!(out, "call kfunc#{}", insn.imm);
            }
            pseudo::CALL => {
                out.push_str("call ");
                branch(out, labels, pc, i64::from(insn.imm), len);
            }
            _ => {
                let _ = match helper_name(insn.imm) {
                    Some(name) => write!(out, "call {name}#{}", insn.imm),
                    None => write!(out, "call #{}", insn.imm),
                };
            }
        },
        jmp::JA => {
            out.push_str(if is32 { "gotol " } else { "goto " });
            let dist = if is32 { insn.imm } else { i32::from(insn.off) };
            branch(out, labels, pc, i64::from(dist), len);
        }
        _ => match cond_sym(op) {
            Some(sym) => {
                let r = if is32 { 'w' } else { 'r' };
                let _ = write!(out, "if {r}{} {sym} ", insn.dst);
                if insn.code & source::MASK == source::X {
                    let _ = write!(out, "{r}{}", insn.src);
                } else {
                    hex(out, insn.imm);
                }
                out.push_str(" goto ");
                branch(out, labels, pc, i64::from(insn.off), len);
            }
            None => invalid(out, insn),
        },
    }
}

fn mem_insn(out: &mut String, insn: &Insn) {
    let m = insn.code & mode::MASK;
    let sz = insn.code & size::MASK;
    match (insn.class(), m) {
        (class::LDX, mode::MEM | mode::MEMSX) => {
            let _ = write!(
                out,
                "r{} = *({} *)",
                insn.dst,
                size_name(sz, m == mode::MEMSX)
            );
            mem(out, insn.src, insn.off);
        }
        (class::ST, mode::MEM) => {
            let _ = write!(out, "*({} *)", size_name(sz, false));
            mem(out, insn.dst, insn.off);
            let _ = write!(out, " = {}", insn.imm);
        }
        (class::STX, mode::MEM) => {
            let _ = write!(out, "*({} *)", size_name(sz, false));
            mem(out, insn.dst, insn.off);
            let _ = write!(out, " = r{}", insn.src);
        }
        (class::STX, mode::ATOMIC) if sz == size::W || sz == size::DW => {
            let op = match insn.imm & !atomic::FETCH {
                atomic::ADD => "add",
                atomic::OR => "or",
                atomic::AND => "and",
                atomic::XOR => "xor",
                _ => return invalid(out, insn),
            };
            if insn.imm & atomic::FETCH != 0 {
                let _ = write!(
                    out,
                    "r{} = atomic_fetch_{op}(({} *)",
                    insn.src,
                    size_name(sz, false)
                );
                mem(out, insn.dst, insn.off);
                let _ = write!(out, ", r{})", insn.src);
            } else {
                let sym = alu_sym(u8::try_from(insn.imm).unwrap_or(0xff), false).unwrap_or("?=");
                let _ = write!(out, "lock *({} *)", size_name(sz, false));
                mem(out, insn.dst, insn.off);
                let _ = write!(out, " {sym} r{}", insn.src);
            }
        }
        _ => invalid(out, insn),
    }
}

fn ld_imm64(
    out: &mut String,
    insn: &Insn,
    next: Option<&Insn>,
    labels: &Labels,
    pc: usize,
    len: usize,
) {
    let Some(next) = next else {
        out.push_str("(truncated ld_imm64)");
        return;
    };
    let _ = match insn.src {
        pseudo::MAP_FD => write!(out, "r{} = map[fd:{}]", insn.dst, insn.imm),
        pseudo::MAP_VALUE => write!(out, "r{} = map[fd:{}][0]+{}", insn.dst, insn.imm, next.imm),
        pseudo::FUNC => {
            let _ = write!(out, "r{} = func ", insn.dst);
            branch(out, labels, pc, i64::from(insn.imm), len);
            Ok(())
        }
        _ => {
            let lo = insn.imm.to_le_bytes();
            let hi = next.imm.to_le_bytes();
            let v = u64::from_le_bytes([lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]]);
            write!(out, "r{} = {v:#x} ll", insn.dst)
        }
    };
}

/// Disassemble a program, one slot per line (the second slot of `ld_imm64` is not printed).
pub fn disasm(insns: &[Insn]) -> String {
    let len = insns.len();
    let mut targets: Vec<usize> = insns
        .iter()
        .enumerate()
        .filter_map(|(pc, i)| target(pc, branch_distance(i)?, len))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let labels = Labels(targets);

    let mut out = String::new();
    let mut iter = insns.iter().enumerate();
    while let Some((pc, insn)) = iter.next() {
        if let Some(n) = labels.name(pc) {
            let _ = writeln!(out, "L{n}:");
        }
        let _ = write!(out, "{pc:4}: ");
        match insn.class() {
            class::ALU | class::ALU64 => alu_insn(&mut out, insn),
            class::JMP | class::JMP32 => jmp_insn(&mut out, insn, &labels, pc, len),
            class::LD if insn.is_ld_imm64() => {
                let next = iter.next().map(|(_, n)| n);
                ld_imm64(&mut out, insn, next, &labels, pc, len);
            }
            class::LD => invalid(&mut out, insn),
            _ => mem_insn(&mut out, insn),
        }
        out.push('\n');
    }
    out
}

//! `bpf` revisions 0 and 1 (`xt_bpf.c`; classic BPF checking from `net/core/filter.c`).
//!
//! ```text
//! struct xt_bpf_info    { u16 bpf_program_num_elem; struct sock_filter bpf_program[64] @4;
//!                         struct bpf_prog *filter @520; };                          // 528
//! struct xt_bpf_info_v1 { u16 mode; u16 bpf_program_num_elem; s32 fd;
//!     union { struct sock_filter bpf_program[64]; char path[512]; } @8; filter @520 };   // 528
//! struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; };                           // 8
//! ```
//! Bytecode is checked exactly (`bpf_prog_create()` → `bpf_check_classic()`); every failure
//! there is EINVAL in xt_bpf. The fd and pinned-path modes name objects outside the blob:
//! bpfilter has no BPF objects for them, which is modelled as the lookup failing.

use super::{CheckCtx, Rd};
use crate::error::Errno;

/// `XT_BPF_MAX_NUM_INSTR`.
const MAX_INSNS: u16 = 64;
/// `XT_BPF_PATH_MAX`.
const PATH_MAX: usize = 512;
/// `BPF_MEMWORDS`.
const MEMWORDS: u32 = 16;
/// `SKF_AD_OFF` as an unsigned `k`.
const SKF_AD_OFF: u32 = 0xFFFF_F000;
/// Highest ancillary offset `bpf_anc_helper()` knows (`SKF_AD_VLAN_TPID`); all are multiples
/// of 4 from `SKF_AD_PROTOCOL` (0).
const SKF_AD_LAST: u32 = 60;

// Classic BPF opcodes (`BPF_CLASS | BPF_SIZE/OP | BPF_MODE/SRC`).
const LD_W_ABS: u16 = 0x20;
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_MEM: u16 = 0x60;
const LDX_MEM: u16 = 0x61;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU_DIV_K: u16 = 0x34;
const ALU_MOD_K: u16 = 0x94;
const ALU_LSH_K: u16 = 0x64;
const ALU_RSH_K: u16 = 0x74;
const JMP_JA: u16 = 0x05;
const RET_K: u16 = 0x06;
const RET_A: u16 = 0x16;

/// `chk_code_allowed()`: the opcodes classic BPF accepts.
fn code_allowed(code: u16) -> bool {
    matches!(
        code,
        // ALU: add sub mul div mod and or xor lsh rsh, K and X; neg.
        0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c | 0x34 | 0x3c | 0x94 | 0x9c
            | 0x54 | 0x5c | 0x44 | 0x4c | 0xa4 | 0xac | 0x64 | 0x6c | 0x74 | 0x7c | 0x84
            // LD: W/H/B ABS, W LEN, W/H/B IND, IMM, MEM.
            | 0x20 | 0x28 | 0x30 | 0x80 | 0x40 | 0x48 | 0x50 | 0x00 | 0x60
            // LDX: W LEN, B MSH, IMM, MEM.
            | 0x81 | 0xb1 | 0x01 | 0x61
            // ST, STX; MISC TAX, TXA; RET K, A.
            | 0x02 | 0x03 | 0x07 | 0x87 | 0x06 | 0x16
            // JMP: JA; JEQ JGE JGT JSET with K and X.
            | 0x05 | 0x15 | 0x1d | 0x35 | 0x3d | 0x25 | 0x2d | 0x45 | 0x4d
    )
}

/// Whether `code` is one of the conditional jumps (JEQ/JGE/JGT/JSET, K or X).
fn is_cond_jump(code: u16) -> bool {
    matches!(code, 0x15 | 0x1d | 0x35 | 0x3d | 0x25 | 0x2d | 0x45 | 0x4d)
}

#[derive(Clone, Copy)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// `bpf_check_classic()` (with `bpf_check_basics_ok()` and `check_load_and_stores()`).
fn check_classic(insns: &[Insn]) -> bool {
    let flen = insns.len();
    if flen == 0 || flen > 4096 {
        return false;
    }
    for (pc, ins) in insns.iter().enumerate() {
        if !code_allowed(ins.code) {
            return false;
        }
        let rest = flen.saturating_sub(pc).saturating_sub(1);
        let ok = match ins.code {
            ALU_DIV_K | ALU_MOD_K => ins.k != 0,
            ALU_LSH_K | ALU_RSH_K => ins.k < 32,
            LD_MEM | LDX_MEM | ST | STX => ins.k < MEMWORDS,
            JMP_JA => usize::try_from(ins.k).is_ok_and(|k| k < rest),
            c if is_cond_jump(c) => usize::from(ins.jt) < rest && usize::from(ins.jf) < rest,
            LD_W_ABS | LD_H_ABS | LD_B_ABS => {
                let anc = ins.k.wrapping_sub(SKF_AD_OFF);
                ins.k < SKF_AD_OFF || (anc <= SKF_AD_LAST && anc % 4 == 0)
            }
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    if !matches!(insns.last().map(|i| i.code), Some(RET_K | RET_A)) {
        return false;
    }
    load_and_stores_ok(insns)
}

/// `check_load_and_stores()`: scratch memory may only be read after a write on every path.
fn load_and_stores_ok(insns: &[Insn]) -> bool {
    let mut masks = alloc::vec![u16::MAX; insns.len()];
    let mut memvalid: u16 = 0;
    let and_at = |masks: &mut alloc::vec::Vec<u16>, at: usize, v: u16| {
        if let Some(m) = masks.get_mut(at) {
            *m &= v;
        }
    };
    for (pc, ins) in insns.iter().enumerate() {
        memvalid &= masks.get(pc).copied().unwrap_or(u16::MAX);
        let bit = 1u16.checked_shl(ins.k).unwrap_or(0);
        let next = pc.saturating_add(1);
        match ins.code {
            ST | STX => memvalid |= bit,
            LD_MEM | LDX_MEM if memvalid & bit == 0 => return false,
            JMP_JA => {
                let to = usize::try_from(ins.k).map_or(usize::MAX, |k| next.saturating_add(k));
                and_at(&mut masks, to, memvalid);
                memvalid = u16::MAX;
            }
            c if is_cond_jump(c) => {
                and_at(
                    &mut masks,
                    next.saturating_add(usize::from(ins.jt)),
                    memvalid,
                );
                and_at(
                    &mut masks,
                    next.saturating_add(usize::from(ins.jf)),
                    memvalid,
                );
                memvalid = u16::MAX;
            }
            _ => {}
        }
    }
    true
}

/// `__bpf_mt_check_bytecode()`: at most 64 instructions, and a valid classic program.
fn check_bytecode(p: Rd<'_>, len: u16, prog_off: usize) -> Result<(), Errno> {
    if len > MAX_INSNS {
        return Err(Errno::EINVAL);
    }
    let insns: alloc::vec::Vec<Insn> = (0..usize::from(len))
        .map(|i| {
            let off = prog_off.saturating_add(i.saturating_mul(8));
            Insn {
                code: p.u16(off),
                jt: p.u8(off.saturating_add(2)),
                jf: p.u8(off.saturating_add(3)),
                k: p.u32(off.saturating_add(4)),
            }
        })
        .collect();
    if check_classic(&insns) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// `bpf_mt_check`: bytecode only.
pub(super) fn check_v0(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    check_bytecode(p, p.u16(0), 4)
}

/// `bpf_mt_check_v1`: mode 0 bytecode, 1 a pinned object path, 2 an fd; anything else EINVAL.
///
/// Modelled: a pinned path (once it is NUL-terminated) does not exist → ENOENT; an fd is not
/// open in bpfilter → EBADF in the kernel, reported as EINVAL here because [`Errno`] has no
/// EBADF (known-wrong errno, right decision).
pub(super) fn check_v1(_: &CheckCtx<'_>, p: &[u8]) -> Result<(), Errno> {
    let p = Rd(p);
    match p.u16(0) {
        0 => check_bytecode(p, p.u16(2), 8),
        1 => {
            if !p.has_nul(8, PATH_MAX) {
                Err(Errno::EINVAL)
            } else {
                Err(Errno::ENOENT)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

//! A typed instruction builder with symbolic labels, resolved once in [`Builder::finish`].
//!
//! Jumps and bpf-to-bpf calls name a [`Label`]; each records a fixup. `finish` turns every
//! fixup into a slot-relative offset (`target - (pc + 1)`) and refuses, with a
//! [`CodegenError`], an offset that does not fit the instruction field or a label that was
//! never bound. Nothing is ever truncated.

use super::insn::{
    alu, atomic, class, jmp, mode, pseudo, size, source, AluOp, Cond, Insn, Operand, Reg, Size,
};
use alloc::vec::Vec;
use core::fmt;

/// A jump target, created by [`Builder::new_label`] and placed by [`Builder::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(u32);

impl Label {
    /// The label's number within its builder (labels are numbered from 0 in creation order).
    pub const fn index(self) -> u32 {
        self.0
    }
}

/// Why a program could not be assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodegenError {
    /// A jump or call names a label that was never bound.
    UnboundLabel {
        /// The label.
        label: u32,
    },
    /// [`Builder::bind`] was called twice for the same label.
    LabelBoundTwice {
        /// The label.
        label: u32,
    },
    /// A label that this builder did not create.
    UnknownLabel {
        /// The label.
        label: u32,
    },
    /// A jump distance does not fit the instruction's signed 16-bit `off` field.
    JumpOutOfRange {
        /// Slot of the jump.
        from: usize,
        /// Slot of the target.
        to: usize,
    },
    /// A call or function-address distance does not fit the 32-bit `imm` field.
    CallOutOfRange {
        /// Slot of the call.
        from: usize,
        /// Slot of the target.
        to: usize,
    },
    /// More slots than any offset arithmetic here can address.
    ProgramTooLarge,
    /// A packet slice longer than its stack buffer (or empty).
    SliceTooLong {
        /// Requested length in bytes.
        len: i16,
        /// The buffer's length.
        max: i16,
    },
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CodegenError::UnboundLabel { label } => write!(f, "label L{label} is never bound"),
            CodegenError::LabelBoundTwice { label } => write!(f, "label L{label} bound twice"),
            CodegenError::UnknownLabel { label } => {
                write!(f, "label L{label} does not belong to this builder")
            }
            CodegenError::JumpOutOfRange { from, to } => {
                write!(f, "jump from slot {from} to slot {to} does not fit i16")
            }
            CodegenError::CallOutOfRange { from, to } => {
                write!(f, "call from slot {from} to slot {to} does not fit i32")
            }
            CodegenError::ProgramTooLarge => write!(f, "program too large to address"),
            CodegenError::SliceTooLong { len, max } => {
                write!(
                    f,
                    "packet slice of {len} bytes does not fit its {max}-byte buffer"
                )
            }
        }
    }
}

impl core::error::Error for CodegenError {}

/// Which field of the instruction at a fixup receives the resolved distance.
#[derive(Clone, Copy, Debug)]
enum Field {
    /// `off` (jumps).
    Off,
    /// `imm` (bpf-to-bpf calls, `ld_imm64` of a function address).
    Imm,
}

#[derive(Clone, Copy, Debug)]
struct Fixup {
    at: usize,
    label: Label,
    field: Field,
}

/// Builds a program slot by slot; see the module documentation.
///
/// Methods that can only fail because of labels record the first error and return `&mut Self`
/// so calls chain; [`Builder::finish`] reports it.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<Fixup>,
    error: Option<CodegenError>,
}

fn code_of(class: u8, op: u8, src: &Operand) -> u8 {
    match src {
        Operand::Reg(_) => class | op | source::X,
        Operand::Imm(_) => class | op | source::K,
    }
}

fn split(src: Operand) -> (u8, i32) {
    match src {
        Operand::Reg(r) => (r.num(), 0),
        Operand::Imm(i) => (0, i),
    }
}

impl Builder {
    /// An empty program.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of slots emitted so far (the slot the next instruction goes to).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether nothing has been emitted yet.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// A fresh, unbound label.
    pub fn new_label(&mut self) -> Label {
        // More than u32::MAX labels cannot happen before memory runs out; saturate so the
        // result is still a label that `finish` reports as unknown rather than a wrap-around.
        let n = u32::try_from(self.labels.len()).unwrap_or(u32::MAX);
        self.labels.push(None);
        Label(n)
    }

    /// Place `label` at the next instruction slot.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        let here = self.insns.len();
        match usize::try_from(label.0)
            .ok()
            .and_then(|i| self.labels.get_mut(i))
        {
            Some(slot @ None) => *slot = Some(here),
            Some(Some(_)) => self.fail(CodegenError::LabelBoundTwice { label: label.0 }),
            None => self.fail(CodegenError::UnknownLabel { label: label.0 }),
        }
        self
    }

    fn fail(&mut self, e: CodegenError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Append a raw instruction slot.
    pub fn push(&mut self, insn: Insn) -> &mut Self {
        self.insns.push(insn);
        self
    }

    fn push_fixup(&mut self, insn: Insn, label: Label, field: Field) -> &mut Self {
        let at = self.insns.len();
        self.fixups.push(Fixup { at, label, field });
        self.push(insn)
    }

    /// `dst op= src` on 64 bits.
    pub fn alu64(&mut self, op: AluOp, dst: Reg, src: impl Into<Operand>) -> &mut Self {
        let src = src.into();
        let code = code_of(class::ALU64, op.code(), &src);
        let (s, imm) = split(src);
        self.push(Insn::new(code, dst.num(), s, 0, imm))
    }

    /// `dst op= src` on the low 32 bits; the upper 32 bits of `dst` become zero.
    pub fn alu32(&mut self, op: AluOp, dst: Reg, src: impl Into<Operand>) -> &mut Self {
        let src = src.into();
        let code = code_of(class::ALU, op.code(), &src);
        let (s, imm) = split(src);
        self.push(Insn::new(code, dst.num(), s, 0, imm))
    }

    /// `dst = src` (64 bits; an immediate is sign-extended).
    pub fn mov64(&mut self, dst: Reg, src: impl Into<Operand>) -> &mut Self {
        self.alu64(AluOp::Mov, dst, src)
    }

    /// `dst = (u32)src` (upper 32 bits zeroed).
    pub fn mov32(&mut self, dst: Reg, src: impl Into<Operand>) -> &mut Self {
        self.alu32(AluOp::Mov, dst, src)
    }

    /// `dst += imm` (64 bits), the usual way to form a stack address from `r10`.
    pub fn add64(&mut self, dst: Reg, src: impl Into<Operand>) -> &mut Self {
        self.alu64(AluOp::Add, dst, src)
    }

    /// `dst = -dst` (64 bits).
    pub fn neg64(&mut self, dst: Reg) -> &mut Self {
        self.push(Insn::new(class::ALU64 | alu::NEG, dst.num(), 0, 0, 0))
    }

    /// `dst = htobe(dst)` for a 16, 32 or 64-bit width (converts network order on x86).
    ///
    /// Other widths are recorded as-is; the verifier rejects them.
    pub fn to_be(&mut self, dst: Reg, bits: i32) -> &mut Self {
        self.push(Insn::new(
            class::ALU | alu::END | source::X,
            dst.num(),
            0,
            0,
            bits,
        ))
    }

    /// `dst = ld_imm64 value` (two slots).
    pub fn ld_imm64(&mut self, dst: Reg, value: u64) -> &mut Self {
        let lo = value.to_le_bytes();
        let lo_imm = i32::from_le_bytes([lo[0], lo[1], lo[2], lo[3]]);
        let hi_imm = i32::from_le_bytes([lo[4], lo[5], lo[6], lo[7]]);
        self.push(Insn::new(
            class::LD | size::DW | mode::IMM,
            dst.num(),
            0,
            0,
            lo_imm,
        ))
        .push(Insn::new(0, 0, 0, 0, hi_imm))
    }

    /// `dst = map pointer` for the map whose file descriptor is `fd` (two slots,
    /// `src_reg = BPF_PSEUDO_MAP_FD`; the kernel swaps in the map address at load).
    pub fn ld_map_fd(&mut self, dst: Reg, fd: i32) -> &mut Self {
        self.push(Insn::new(
            class::LD | size::DW | mode::IMM,
            dst.num(),
            pseudo::MAP_FD,
            0,
            fd,
        ))
        .push(Insn::new(0, 0, 0, 0, 0))
    }

    /// `dst = &value[off]` of element 0 of the array map `fd` (`BPF_PSEUDO_MAP_VALUE`).
    pub fn ld_map_value(&mut self, dst: Reg, fd: i32, off: i32) -> &mut Self {
        self.push(Insn::new(
            class::LD | size::DW | mode::IMM,
            dst.num(),
            pseudo::MAP_VALUE,
            0,
            fd,
        ))
        .push(Insn::new(0, 0, 0, 0, off))
    }

    /// `dst = address of the subprogram at label` (`BPF_PSEUDO_FUNC`), for callbacks such as
    /// `bpf_loop`'s.
    pub fn ld_func(&mut self, dst: Reg, target: Label) -> &mut Self {
        let insn = Insn::new(
            class::LD | size::DW | mode::IMM,
            dst.num(),
            pseudo::FUNC,
            0,
            0,
        );
        self.push_fixup(insn, target, Field::Imm)
            .push(Insn::new(0, 0, 0, 0, 0))
    }

    /// `dst = *(size *)(src + off)`.
    pub fn load(&mut self, sz: Size, dst: Reg, src: Reg, off: i16) -> &mut Self {
        self.push(Insn::new(
            class::LDX | mode::MEM | sz.code(),
            dst.num(),
            src.num(),
            off,
            0,
        ))
    }

    /// `*(size *)(dst + off) = src`.
    pub fn store(&mut self, sz: Size, dst: Reg, off: i16, src: Reg) -> &mut Self {
        self.push(Insn::new(
            class::STX | mode::MEM | sz.code(),
            dst.num(),
            src.num(),
            off,
            0,
        ))
    }

    /// `*(size *)(dst + off) = imm` (a 64-bit store sign-extends `imm`).
    pub fn store_imm(&mut self, sz: Size, dst: Reg, off: i16, imm: i32) -> &mut Self {
        self.push(Insn::new(
            class::ST | mode::MEM | sz.code(),
            dst.num(),
            0,
            off,
            imm,
        ))
    }

    /// `lock *(u64 *)(dst + off) += src`.
    pub fn atomic_add64(&mut self, dst: Reg, off: i16, src: Reg) -> &mut Self {
        self.push(Insn::new(
            class::STX | mode::ATOMIC | size::DW,
            dst.num(),
            src.num(),
            off,
            atomic::ADD,
        ))
    }

    /// `goto target`.
    pub fn jmp(&mut self, target: Label) -> &mut Self {
        self.push_fixup(
            Insn::new(class::JMP | jmp::JA, 0, 0, 0, 0),
            target,
            Field::Off,
        )
    }

    /// `if dst cond src goto target`, comparing 64 bits (an immediate is sign-extended).
    pub fn jmp_if(
        &mut self,
        cond: Cond,
        dst: Reg,
        src: impl Into<Operand>,
        target: Label,
    ) -> &mut Self {
        let src = src.into();
        let code = code_of(class::JMP, cond.code(), &src);
        let (s, imm) = split(src);
        self.push_fixup(Insn::new(code, dst.num(), s, 0, imm), target, Field::Off)
    }

    /// `if wdst cond wsrc goto target`, comparing the low 32 bits.
    pub fn jmp32_if(
        &mut self,
        cond: Cond,
        dst: Reg,
        src: impl Into<Operand>,
        target: Label,
    ) -> &mut Self {
        let src = src.into();
        let code = code_of(class::JMP32, cond.code(), &src);
        let (s, imm) = split(src);
        self.push_fixup(Insn::new(code, dst.num(), s, 0, imm), target, Field::Off)
    }

    /// Call helper `id` (`enum bpf_func_id`); arguments in r1-r5, result in r0, r1-r5
    /// clobbered.
    pub fn call_helper(&mut self, id: i32) -> &mut Self {
        self.push(Insn::new(class::JMP | jmp::CALL, 0, 0, 0, id))
    }

    /// Call the kernel function whose vmlinux BTF id is `btf_id` (`src_reg =
    /// BPF_PSEUDO_KFUNC_CALL`, `off = 0` meaning vmlinux rather than a module's BTF).
    pub fn call_kfunc(&mut self, btf_id: u32) -> &mut Self {
        // BTF ids are below 2^31 in practice; the kernel reads `imm` as the u32 id, so the
        // bit pattern is kept exactly.
        let imm = i32::from_le_bytes(btf_id.to_le_bytes());
        self.push(Insn::new(
            class::JMP | jmp::CALL,
            0,
            pseudo::KFUNC_CALL,
            0,
            imm,
        ))
    }

    /// Call the subprogram starting at `target` (`src_reg = BPF_PSEUDO_CALL`).
    pub fn call_local(&mut self, target: Label) -> &mut Self {
        self.push_fixup(
            Insn::new(class::JMP | jmp::CALL, 0, pseudo::CALL, 0, 0),
            target,
            Field::Imm,
        )
    }

    /// `exit`: return `r0`.
    pub fn exit(&mut self) -> &mut Self {
        self.push(Insn::new(class::JMP | jmp::EXIT, 0, 0, 0, 0))
    }

    /// `r0 = value; exit`.
    pub fn ret(&mut self, value: i32) -> &mut Self {
        self.mov64(Reg::R0, value).exit()
    }

    /// Resolve every label and return the program.
    pub fn finish(self) -> Result<Vec<Insn>, CodegenError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut insns = self.insns;
        for fx in &self.fixups {
            let target = usize::try_from(fx.label.0)
                .ok()
                .and_then(|i| self.labels.get(i))
                .ok_or(CodegenError::UnknownLabel { label: fx.label.0 })?
                .ok_or(CodegenError::UnboundLabel { label: fx.label.0 })?;
            let from = i64::try_from(fx.at).map_err(|_| CodegenError::ProgramTooLarge)?;
            let to = i64::try_from(target).map_err(|_| CodegenError::ProgramTooLarge)?;
            let dist = to
                .checked_sub(from)
                .and_then(|d| d.checked_sub(1))
                .ok_or(CodegenError::ProgramTooLarge)?;
            let insn = insns.get_mut(fx.at).ok_or(CodegenError::ProgramTooLarge)?;
            match fx.field {
                Field::Off => {
                    insn.off = i16::try_from(dist).map_err(|_| CodegenError::JumpOutOfRange {
                        from: fx.at,
                        to: target,
                    })?;
                }
                Field::Imm => {
                    insn.imm = i32::try_from(dist).map_err(|_| CodegenError::CallOutOfRange {
                        from: fx.at,
                        to: target,
                    })?;
                }
            }
        }
        Ok(insns)
    }
}

/// Where an instruction can go next, on resolved code: `(fall through?, jump target)`.
fn successors(insns: &[Insn], i: usize) -> (Option<usize>, Option<usize>) {
    use super::insn::{class as c, jmp, pseudo};
    let Some(x) = insns.get(i) else {
        return (None, None);
    };
    let target = |d: i64| -> Option<usize> {
        i64::try_from(i)
            .ok()
            .and_then(|i| i.checked_add(d)?.checked_add(1))
            .and_then(|t| usize::try_from(t).ok())
    };
    let class = x.code & 0x07;
    if x.is_ld_imm64() {
        let func = (x.src == pseudo::FUNC)
            .then(|| target(i64::from(x.imm)))
            .flatten();
        return (i.checked_add(2), func);
    }
    if class != c::JMP && class != c::JMP32 {
        return (i.checked_add(1), None);
    }
    match x.code & 0xf0 {
        jmp::EXIT => (None, None),
        jmp::CALL => {
            let sub = (x.src == pseudo::CALL)
                .then(|| target(i64::from(x.imm)))
                .flatten();
            (i.checked_add(1), sub)
        }
        jmp::JA if class == c::JMP => (None, target(i64::from(x.off))),
        jmp::JA => (None, target(i64::from(x.imm))),
        _ => (i.checked_add(1), target(i64::from(x.off))),
    }
}

/// Drop the instructions no path reaches (the verifier refuses a program with any: "unreachable
/// insn"), re-aiming every jump, call and function reference. Returns the code and, if
/// anything was dropped, each old slot's new slot (`None` for dropped slots).
#[expect(
    clippy::type_complexity,
    reason = "a code vector and the slot map that goes with it"
)]
pub fn eliminate_dead_code(
    insns: Vec<Insn>,
) -> Result<(Vec<Insn>, Option<Vec<Option<usize>>>), CodegenError> {
    let n = insns.len();
    let mut live = alloc::vec![false; n];
    let mut work = alloc::vec![0usize];
    while let Some(i) = work.pop() {
        match live.get_mut(i) {
            Some(l) if !*l => *l = true,
            _ => continue,
        }
        if insns.get(i).is_some_and(Insn::is_ld_imm64) {
            if let Some(l) = live.get_mut(i.saturating_add(1)) {
                *l = true;
            }
        }
        let (next, jump) = successors(&insns, i);
        work.extend(next.into_iter().chain(jump).filter(|&t| t < n));
    }
    if live.iter().all(|&l| l) {
        return Ok((insns, None));
    }
    let mut map = alloc::vec![None; n];
    let mut kept = 0usize;
    for (slot, l) in map.iter_mut().zip(&live) {
        if *l {
            *slot = Some(kept);
            kept = kept.saturating_add(1);
        }
    }
    let mut out = Vec::with_capacity(kept);
    for (i, x) in insns.iter().enumerate() {
        let Some(Some(new_i)) = map.get(i).copied() else {
            continue;
        };
        let mut y = *x;
        let (_, jump) = successors(&insns, i);
        // The second slot of an ld_imm64 has code 0: never a jump.
        let first_of_pair = i > 0 && insns.get(i.wrapping_sub(1)).is_some_and(Insn::is_ld_imm64);
        if let (Some(t), false) = (jump, first_of_pair) {
            let new_t = map
                .get(t)
                .copied()
                .flatten()
                .ok_or(CodegenError::ProgramTooLarge)?;
            let dist = i64::try_from(new_t)
                .ok()
                .zip(i64::try_from(new_i).ok())
                .and_then(|(t, f)| t.checked_sub(f)?.checked_sub(1))
                .ok_or(CodegenError::ProgramTooLarge)?;
            let class = y.code & 0x07;
            let uses_imm = y.is_ld_imm64()
                || (y.code & 0xf0) == super::insn::jmp::CALL
                || (class == super::insn::class::JMP32 && (y.code & 0xf0) == super::insn::jmp::JA);
            if uses_imm {
                y.imm = i32::try_from(dist).map_err(|_| CodegenError::CallOutOfRange {
                    from: new_i,
                    to: new_t,
                })?;
            } else {
                y.off = i16::try_from(dist).map_err(|_| CodegenError::JumpOutOfRange {
                    from: new_i,
                    to: new_t,
                })?;
            }
        }
        out.push(y);
    }
    Ok((out, Some(map)))
}

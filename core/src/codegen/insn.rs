//! The 8-byte BPF instruction, its opcode constants and typed operands.
//!
//! ```text
//! byte:  0        1                 2..4          4..8
//!        [ code ][ src:4 | dst:4 ][ off: i16 LE ][ imm: i32 LE ]
//! code:  [ op:4 | source:1 | class:3 ]   (ALU / ALU64 / JMP / JMP32)
//!        [ mode:3 | size:2 | class:3 ]   (LD / LDX / ST / STX)
//! ```
//!
//! `ld_imm64` takes two slots: the second carries the upper 32 bits in its `imm` and is
//! otherwise zero. Jump offsets count slots, so both slots are kept as separate [`Insn`]s.

/// Instruction classes (low 3 bits of `code`).
pub mod class {
    /// Non-standard loads (only `ld_imm64` is used).
    pub const LD: u8 = 0x00;
    /// Load from memory into a register.
    pub const LDX: u8 = 0x01;
    /// Store an immediate to memory.
    pub const ST: u8 = 0x02;
    /// Store a register to memory (and atomics).
    pub const STX: u8 = 0x03;
    /// 32-bit arithmetic (zero-extends the result).
    pub const ALU: u8 = 0x04;
    /// 64-bit jumps, calls and exit.
    pub const JMP: u8 = 0x05;
    /// Jumps comparing the low 32 bits.
    pub const JMP32: u8 = 0x06;
    /// 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;
    /// Mask selecting the class bits of `code`.
    pub const MASK: u8 = 0x07;
}

/// Memory access sizes (bits 3-4 of `code` for load/store classes).
pub mod size {
    /// 32 bits.
    pub const W: u8 = 0x00;
    /// 16 bits.
    pub const H: u8 = 0x08;
    /// 8 bits.
    pub const B: u8 = 0x10;
    /// 64 bits.
    pub const DW: u8 = 0x18;
    /// Mask selecting the size bits of `code`.
    pub const MASK: u8 = 0x18;
}

/// Load/store modes (bits 5-7 of `code` for load/store classes).
pub mod mode {
    /// Immediate (`ld_imm64`).
    pub const IMM: u8 = 0x00;
    /// Legacy packet access (socket filters only).
    pub const ABS: u8 = 0x20;
    /// Legacy packet access (socket filters only).
    pub const IND: u8 = 0x40;
    /// Regular memory access.
    pub const MEM: u8 = 0x60;
    /// Sign-extending load (cpu v4).
    pub const MEMSX: u8 = 0x80;
    /// Atomic read-modify-write (with `STX`).
    pub const ATOMIC: u8 = 0xc0;
    /// Mask selecting the mode bits of `code`.
    pub const MASK: u8 = 0xe0;
}

/// Operand source bit (bit 3 of `code` for ALU/JMP classes).
pub mod source {
    /// The operand is `imm`.
    pub const K: u8 = 0x00;
    /// The operand is `src_reg`.
    pub const X: u8 = 0x08;
    /// Mask selecting the source bit of `code`.
    pub const MASK: u8 = 0x08;
}

/// ALU operations (high 4 bits of `code`).
pub mod alu {
    /// `dst += src`.
    pub const ADD: u8 = 0x00;
    /// `dst -= src`.
    pub const SUB: u8 = 0x10;
    /// `dst *= src`.
    pub const MUL: u8 = 0x20;
    /// `dst /= src` (unsigned; division by zero yields 0 at run time).
    pub const DIV: u8 = 0x30;
    /// `dst |= src`.
    pub const OR: u8 = 0x40;
    /// `dst &= src`.
    pub const AND: u8 = 0x50;
    /// `dst <<= src`.
    pub const LSH: u8 = 0x60;
    /// `dst >>= src` (logical).
    pub const RSH: u8 = 0x70;
    /// `dst = -dst`.
    pub const NEG: u8 = 0x80;
    /// `dst %= src` (unsigned).
    pub const MOD: u8 = 0x90;
    /// `dst ^= src`.
    pub const XOR: u8 = 0xa0;
    /// `dst = src`.
    pub const MOV: u8 = 0xb0;
    /// `dst >>= src` (arithmetic).
    pub const ARSH: u8 = 0xc0;
    /// Byte swap; the source bit selects to-big-endian, `imm` the width.
    pub const END: u8 = 0xd0;
    /// Mask selecting the operation bits of `code`.
    pub const MASK: u8 = 0xf0;
}

/// Jump operations (high 4 bits of `code`).
pub mod jmp {
    /// Unconditional jump.
    pub const JA: u8 = 0x00;
    /// `==`.
    pub const JEQ: u8 = 0x10;
    /// `>` unsigned.
    pub const JGT: u8 = 0x20;
    /// `>=` unsigned.
    pub const JGE: u8 = 0x30;
    /// `&` non-zero.
    pub const JSET: u8 = 0x40;
    /// `!=`.
    pub const JNE: u8 = 0x50;
    /// `>` signed.
    pub const JSGT: u8 = 0x60;
    /// `>=` signed.
    pub const JSGE: u8 = 0x70;
    /// Helper, kfunc or bpf-to-bpf call.
    pub const CALL: u8 = 0x80;
    /// Return `r0`.
    pub const EXIT: u8 = 0x90;
    /// `<` unsigned.
    pub const JLT: u8 = 0xa0;
    /// `<=` unsigned.
    pub const JLE: u8 = 0xb0;
    /// `<` signed.
    pub const JSLT: u8 = 0xc0;
    /// `<=` signed.
    pub const JSLE: u8 = 0xd0;
    /// Mask selecting the operation bits of `code`.
    pub const MASK: u8 = 0xf0;
}

/// Atomic operations (`imm` of a `STX | ATOMIC` instruction).
pub mod atomic {
    /// `lock *(size *)(dst + off) += src`.
    pub const ADD: i32 = 0x00;
    /// `lock *(size *)(dst + off) |= src`.
    pub const OR: i32 = 0x40;
    /// `lock *(size *)(dst + off) &= src`.
    pub const AND: i32 = 0x50;
    /// `lock *(size *)(dst + off) ^= src`.
    pub const XOR: i32 = 0xa0;
    /// Flag: also return the old value in `src`.
    pub const FETCH: i32 = 0x01;
}

/// Pseudo `src_reg` values that change what `imm` means.
pub mod pseudo {
    /// `ld_imm64`: `imm` is a map file descriptor.
    pub const MAP_FD: u8 = 1;
    /// `ld_imm64`: `imm` is a map fd and the second slot's `imm` an offset into its value.
    pub const MAP_VALUE: u8 = 2;
    /// `ld_imm64`: `imm` is the slot offset of a subprogram (for callbacks).
    pub const FUNC: u8 = 4;
    /// `call`: `imm` is the slot offset of a subprogram.
    pub const CALL: u8 = 1;
    /// `call`: `imm` is the BTF id of a kernel function (kfunc).
    pub const KFUNC_CALL: u8 = 2;
}

/// Helper function ids (`enum bpf_func_id`) that bpfilter uses.
pub mod helper {
    /// `void *bpf_map_lookup_elem(map, key)`.
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    /// `long bpf_map_update_elem(map, key, value, flags)`.
    pub const MAP_UPDATE_ELEM: i32 = 2;
    /// `long bpf_map_delete_elem(map, key)`.
    pub const MAP_DELETE_ELEM: i32 = 3;
    /// `u64 bpf_ktime_get_ns(void)`.
    pub const KTIME_GET_NS: i32 = 5;
    /// `u32 bpf_get_smp_processor_id(void)`.
    pub const GET_SMP_PROCESSOR_ID: i32 = 8;
    /// `u32 bpf_get_prandom_u32(void)`.
    pub const GET_PRANDOM_U32: i32 = 7;
    /// `long bpf_loop(nr, callback, ctx, flags)`.
    pub const LOOP: i32 = 181;
    /// `long bpf_ringbuf_output(ringbuf, data, size, flags)`.
    pub const RINGBUF_OUTPUT: i32 = 130;
    /// `long bpf_for_each_map_elem(map, callback, ctx, flags)`.
    pub const FOR_EACH_MAP_ELEM: i32 = 164;
}

/// A BPF register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reg {
    /// Return value of calls and of the program.
    R0 = 0,
    /// First argument; the context pointer on entry.
    R1 = 1,
    /// Second argument.
    R2 = 2,
    /// Third argument.
    R3 = 3,
    /// Fourth argument.
    R4 = 4,
    /// Fifth argument.
    R5 = 5,
    /// Callee-saved.
    R6 = 6,
    /// Callee-saved.
    R7 = 7,
    /// Callee-saved.
    R8 = 8,
    /// Callee-saved.
    R9 = 9,
    /// Read-only frame pointer; the stack is the 512 bytes below it.
    R10 = 10,
}

impl Reg {
    /// Every register, indexed by number.
    pub const ALL: [Reg; 11] = [
        Reg::R0,
        Reg::R1,
        Reg::R2,
        Reg::R3,
        Reg::R4,
        Reg::R5,
        Reg::R6,
        Reg::R7,
        Reg::R8,
        Reg::R9,
        Reg::R10,
    ];

    /// The register number (0..=10).
    #[expect(
        clippy::as_conversions,
        reason = "fieldless #[repr(u8)] enum to its discriminant"
    )]
    pub const fn num(self) -> u8 {
        self as u8
    }

    /// The register with number `n`, if there is one.
    pub fn from_num(n: u8) -> Option<Reg> {
        Reg::ALL.get(usize::from(n)).copied()
    }
}

/// The second operand of an ALU or conditional jump: a register or a 32-bit immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// `src_reg`, with `source::X`.
    Reg(Reg),
    /// `imm`, with `source::K` (sign-extended to 64 bits by 64-bit operations).
    Imm(i32),
}

impl From<Reg> for Operand {
    fn from(r: Reg) -> Self {
        Operand::Reg(r)
    }
}

impl From<i32> for Operand {
    fn from(imm: i32) -> Self {
        Operand::Imm(imm)
    }
}

/// Memory access width of a load or store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// `u8`.
    B,
    /// `u16`.
    H,
    /// `u32`.
    W,
    /// `u64`.
    DW,
}

impl Size {
    /// The `size` bits of `code`.
    pub const fn code(self) -> u8 {
        match self {
            Size::B => size::B,
            Size::H => size::H,
            Size::W => size::W,
            Size::DW => size::DW,
        }
    }

    /// The access width in bytes.
    pub const fn bytes(self) -> u8 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// The size named by the `size` bits of `code`.
    pub const fn from_code(code: u8) -> Size {
        match code & size::MASK {
            size::B => Size::B,
            size::H => Size::H,
            size::W => Size::W,
            _ => Size::DW,
        }
    }
}

/// A binary or unary ALU operation (everything but byte swaps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `+=`.
    Add,
    /// `-=`.
    Sub,
    /// `*=`.
    Mul,
    /// `/=` unsigned.
    Div,
    /// `|=`.
    Or,
    /// `&=`.
    And,
    /// `<<=`.
    Lsh,
    /// `>>=` logical.
    Rsh,
    /// `%=` unsigned.
    Mod,
    /// `^=`.
    Xor,
    /// `=`.
    Mov,
    /// `>>=` arithmetic.
    Arsh,
}

impl AluOp {
    /// The operation bits of `code`.
    pub const fn code(self) -> u8 {
        match self {
            AluOp::Add => alu::ADD,
            AluOp::Sub => alu::SUB,
            AluOp::Mul => alu::MUL,
            AluOp::Div => alu::DIV,
            AluOp::Or => alu::OR,
            AluOp::And => alu::AND,
            AluOp::Lsh => alu::LSH,
            AluOp::Rsh => alu::RSH,
            AluOp::Mod => alu::MOD,
            AluOp::Xor => alu::XOR,
            AluOp::Mov => alu::MOV,
            AluOp::Arsh => alu::ARSH,
        }
    }
}

/// The condition of a conditional jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `>` unsigned.
    Gt,
    /// `>=` unsigned.
    Ge,
    /// `<` unsigned.
    Lt,
    /// `<=` unsigned.
    Le,
    /// `>` signed.
    Sgt,
    /// `>=` signed.
    Sge,
    /// `<` signed.
    Slt,
    /// `<=` signed.
    Sle,
    /// `dst & src` non-zero.
    Set,
}

impl Cond {
    /// The operation bits of `code`.
    pub const fn code(self) -> u8 {
        match self {
            Cond::Eq => jmp::JEQ,
            Cond::Ne => jmp::JNE,
            Cond::Gt => jmp::JGT,
            Cond::Ge => jmp::JGE,
            Cond::Lt => jmp::JLT,
            Cond::Le => jmp::JLE,
            Cond::Sgt => jmp::JSGT,
            Cond::Sge => jmp::JSGE,
            Cond::Slt => jmp::JSLT,
            Cond::Sle => jmp::JSLE,
            Cond::Set => jmp::JSET,
        }
    }

    /// The opposite condition (`!(a cond b)`), except for `Set` which has none.
    pub const fn negate(self) -> Option<Cond> {
        Some(match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Gt => Cond::Le,
            Cond::Ge => Cond::Lt,
            Cond::Lt => Cond::Ge,
            Cond::Le => Cond::Gt,
            Cond::Sgt => Cond::Sle,
            Cond::Sge => Cond::Slt,
            Cond::Slt => Cond::Sge,
            Cond::Sle => Cond::Sgt,
            Cond::Set => return None,
        })
    }
}

/// One BPF instruction slot, as the kernel reads it (`struct bpf_insn`).
///
/// `dst` and `src` are 4-bit fields; [`Insn::encode`] keeps only their low nibble, so every
/// value encodes to exactly one 8-byte slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register number (4 bits).
    pub dst: u8,
    /// Source register number or pseudo value (4 bits).
    pub src: u8,
    /// Signed offset: jump distance in slots, or memory displacement in bytes.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    /// Size of one slot in bytes.
    pub const SIZE: usize = 8;

    /// An instruction from its fields.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// The kernel's little-endian byte layout (x86_64, arm64, ...).
    pub fn encode(&self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        let regs = ((self.src & 0x0f) << 4) | (self.dst & 0x0f);
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }

    /// The slot as the `u64` a little-endian kernel reads.
    pub fn to_u64(&self) -> u64 {
        u64::from_le_bytes(self.encode())
    }

    /// Decode one slot; every 8-byte pattern is a (possibly invalid) instruction.
    pub fn decode(bytes: [u8; 8]) -> Insn {
        let [code, regs, o0, o1, i0, i1, i2, i3] = bytes;
        Insn {
            code,
            dst: regs & 0x0f,
            src: regs >> 4,
            off: i16::from_le_bytes([o0, o1]),
            imm: i32::from_le_bytes([i0, i1, i2, i3]),
        }
    }

    /// Decode from the `u64` a little-endian kernel reads.
    pub fn from_u64(v: u64) -> Insn {
        Insn::decode(v.to_le_bytes())
    }

    /// The class bits of `code`.
    pub const fn class(&self) -> u8 {
        self.code & class::MASK
    }

    /// Whether this is the first slot of a two-slot `ld_imm64`.
    pub const fn is_ld_imm64(&self) -> bool {
        self.code == class::LD | size::DW | mode::IMM
    }
}

/// Encode a program into the byte image `BPF_PROG_LOAD` takes.
pub fn encode_all(insns: &[Insn]) -> alloc::vec::Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

/// Decode a byte image; `None` if its length is not a multiple of 8.
pub fn decode_all(bytes: &[u8]) -> Option<alloc::vec::Vec<Insn>> {
    let chunks = bytes.chunks_exact(Insn::SIZE);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks
        .map(|c| <[u8; 8]>::try_from(c).ok().map(Insn::decode))
        .collect()
}

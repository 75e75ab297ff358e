//! BPF code generation: instructions, a typed builder with symbolic labels, a disassembler,
//! the conventions every generated netfilter program follows, and the compiler from an
//! [`crate::ir::Table`] to one program per hook ([`compile`], [`compile_table`]; its own
//! frame layout and register use are documented in `compile_emit`).
//!
//! # Program shape
//!
//! Generated programs are `BPF_PROG_TYPE_NETFILTER`, loaded with `expected_attach_type =
//! BPF_NETFILTER`, and must return exactly 0 (`NF_DROP`) or 1 (`NF_ACCEPT`): the verifier
//! rejects any other constant in `r0` at `exit`. The context is
//!
//! ```text
//! struct bpf_nf_ctx { const struct nf_hook_state *state;  // ctx + 0  (nf_ctx::STATE)
//!                     struct sk_buff *skb; };             // ctx + 8  (nf_ctx::SKB)
//! ```
//!
//! There are no direct packet pointers for this program type: packet bytes are read through
//! the kfuncs below, or, by [`compile`] when the kernel allows it ([`DirectRead`]), through
//! `bpf_rdonly_cast(skb->data + off, 0)` when they are in the skb's linear part. `state->hook`, `state->pf`, `state->in`, `state->out` and device fields
//! are BTF-typed loads whose offsets come from vmlinux BTF at run time (umh's BTF reader).
//!
//! # Register roles ([`roles`])
//!
//! ```text
//! r0      RET   call results, the slice pointer from bpf_dynptr_slice, the verdict at exit
//! r1..r5  ARGn  call arguments; clobbered by every helper and kfunc call
//! r6      CTX   struct bpf_nf_ctx *, copied from r1 on entry (r1 does not survive a call)
//! r7      L3    read-only pointer to the network header slice (after the NULL check)
//! r8      L4    read-only pointer to the transport header slice (after the NULL check)
//! r9      TMP   callee-saved scratch (a loaded field kept across a call)
//! r10     FP    frame pointer, read-only; the stack is the 512 bytes below it
//! ```
//!
//! # Calling convention for the packet kfuncs
//!
//! Kfunc calls are `call` with `src_reg = BPF_PSEUDO_KFUNC_CALL` (2) and `imm` = the function's
//! BTF id in vmlinux, looked up at run time ([`Builder::call_kfunc`]); ids are never
//! hard-coded because they change with every kernel build.
//!
//! ```text
//! int   bpf_dynptr_from_skb(struct __sk_buff *skb,      r1 = *(u64 *)(CTX + nf_ctx::SKB)
//!                           u64 flags,                  r2 = 0
//!                           struct bpf_dynptr *ptr)     r3 = FP + stack::DYNPTR
//!       -> r0 = 0, or a negative errno
//! void *bpf_dynptr_slice(const struct bpf_dynptr *p,    r1 = FP + stack::DYNPTR
//!                        u32 offset,                    r2 = byte offset from skb->data
//!                        void *buffer, u32 len)         r3 = FP + stack buffer, r4 = constant
//!       -> r0 = pointer to len readable bytes, or NULL when the packet is shorter
//! ```
//!
//! `skb->data` is at the network header on every netfilter hook, so offset 0 is the first
//! byte of the IPv4 header. The slice pointer points either into the packet or into the
//! stack buffer (when the bytes are not linear); either way it must be NULL-checked before
//! use, and `len` must be a verifier-known constant.
//!
//! # Stack layout ([`stack`], offsets from r10)
//!
//! ```text
//! r10 -  16 .. r10 -  1   struct bpf_dynptr for the skb (16 bytes, 8-aligned)
//! r10 -  80 .. r10 - 17   L3 slice buffer (64 bytes: an IPv4 header with options is <= 60)
//! r10 - 112 .. r10 - 81   L4 slice buffer (32 bytes: TCP without options 20, UDP 8, ICMP 8)
//! r10 - 512 .. r10 - 113  free for matchers (spills, map keys)
//! ```
//!
//! The slice buffers are written by the kernel only when the requested bytes are not in the
//! linear part of the skb, so generated code never reads them directly, only through the
//! returned pointer.
//!
//! # No-panic contract
//!
//! Nothing here panics: the builder records label errors and [`Builder::finish`] returns them;
//! jump distances that do not fit the instruction field are errors, never truncated; the
//! disassembler accepts any slice of instructions.

mod builder;
pub mod classify;
mod compile;
pub mod compile_cold;
mod compile_emit;
pub mod compile_log;
mod compile_rule;
mod disasm;
mod insn;
mod prologue;

pub use builder::{eliminate_dead_code, Builder, CodegenError, Label};
pub use compile::{
    compile, compile_table, hot_entries_hint, BitField, CompileError, CompileOptions, CompileStats,
    CompiledProgram, LogLayout, MapKind, MapReloc, MapsNeeded, NfLayout, Prescreen, RuleSpan,
    UidLayout, CONTINUE, COUNTER_VALUE_SIZE, DEFAULT_COLD_ABOVE, DEFAULT_HOT_ENTRIES, DEFAULT_HZ,
    DEFAULT_INLINE_MAX_ENTRIES, LIMIT_VALUE_SIZE, LOG_RINGBUF_SIZE, MAX_EXPANDED_ENTRIES,
    MAX_FRAMES, MAX_HOT_ENTRIES,
};
pub use disasm::disasm;
pub use insn::{
    alu, atomic, class, decode_all, encode_all, helper, jmp, mode, pseudo, size, source, AluOp,
    Cond, Insn, Operand, Reg, Size,
};
pub use prologue::{emit_l3_prologue, DirectRead, Kfuncs};

/// Named register roles; see the module documentation.
pub mod roles {
    use super::Reg;

    /// Call results and the program's verdict.
    pub const RET: Reg = Reg::R0;
    /// First call argument; the context on entry.
    pub const ARG1: Reg = Reg::R1;
    /// Second call argument.
    pub const ARG2: Reg = Reg::R2;
    /// Third call argument.
    pub const ARG3: Reg = Reg::R3;
    /// Fourth call argument.
    pub const ARG4: Reg = Reg::R4;
    /// Fifth call argument.
    pub const ARG5: Reg = Reg::R5;
    /// `struct bpf_nf_ctx *`, saved from r1 on entry.
    pub const CTX: Reg = Reg::R6;
    /// Network header slice pointer.
    pub const L3: Reg = Reg::R7;
    /// Transport header slice pointer.
    pub const L4: Reg = Reg::R8;
    /// Callee-saved scratch.
    pub const TMP: Reg = Reg::R9;
    /// Frame pointer (read-only).
    pub const FP: Reg = Reg::R10;
}

/// Stack slots, as offsets from r10; see the module documentation.
pub mod stack {
    /// `struct bpf_dynptr` over the skb (16 bytes).
    pub const DYNPTR: i16 = -16;
    /// Size of `struct bpf_dynptr`.
    pub const DYNPTR_LEN: i16 = 16;
    /// Start of the network header slice buffer.
    pub const L3_BUF: i16 = -80;
    /// Length of the network header slice buffer.
    pub const L3_BUF_LEN: i16 = 64;
    /// Start of the transport header slice buffer.
    pub const L4_BUF: i16 = -112;
    /// Length of the transport header slice buffer.
    pub const L4_BUF_LEN: i16 = 32;
    /// Lowest offset used by the fixed layout; matchers may use `-512 .. FREE_TOP`.
    pub const FREE_TOP: i16 = -112;
    /// The verifier's stack limit.
    pub const LIMIT: i16 = -512;
}

/// Offsets in `struct bpf_nf_ctx`, the netfilter program's context.
pub mod nf_ctx {
    /// `const struct nf_hook_state *state`.
    pub const STATE: i16 = 0;
    /// `struct sk_buff *skb`.
    pub const SKB: i16 = 8;
}

/// Program return values the verifier allows for netfilter programs.
pub mod verdict {
    /// `NF_DROP`.
    pub const DROP: i32 = 0;
    /// `NF_ACCEPT`.
    pub const ACCEPT: i32 = 1;
}

/// `BPF_PROG_TYPE_NETFILTER`.
pub const BPF_PROG_TYPE_NETFILTER: u32 = 32;
/// `BPF_NETFILTER`, the only `expected_attach_type` a netfilter program loads with.
pub const BPF_NETFILTER: u32 = 45;
/// `BPF_PSEUDO_MAP_FD`: `ld_imm64` whose `imm` is a map file descriptor.
pub const BPF_PSEUDO_MAP_FD: u8 = pseudo::MAP_FD;
/// `BPF_PSEUDO_KFUNC_CALL`: `call` whose `imm` is a kfunc BTF id.
pub const BPF_PSEUDO_KFUNC_CALL: u8 = pseudo::KFUNC_CALL;

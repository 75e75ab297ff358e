//! The entry sequence every generated netfilter program starts with: keep the context, make
//! a dynptr over the skb and take a read-only slice of the network header.

use super::builder::{Builder, CodegenError, Label};
use super::insn::{Cond, Reg, Size};
use super::{nf_ctx, roles, stack};

/// BTF ids (vmlinux) of the kfuncs generated programs call, looked up at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Kfuncs {
    /// `bpf_dynptr_from_skb`.
    pub dynptr_from_skb: u32,
    /// `bpf_dynptr_slice`.
    pub dynptr_slice: u32,
}

/// What reading packet headers directly (without kfunc calls) needs from the running kernel.
///
/// `bpf_rdonly_cast(ptr, 0)` (the untyped form, Linux 6.17+) turns an address into a
/// read-only untrusted pointer; the verifier inlines the call into a register move and turns
/// loads through it into exception-handled loads. Generated code takes this path only when
/// the bytes it reads are in the skb's linear part (`len - data_len` bytes from `data`), so
/// it reads exactly what `bpf_dynptr_slice`/`bpf_dynptr_read` would; otherwise it falls back
/// to the dynptr reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DirectRead {
    /// BTF id (vmlinux) of `bpf_rdonly_cast`.
    pub rdonly_cast: u32,
    /// `sk_buff.data` (`unsigned char *`): the network header at every IPv4 netfilter hook,
    /// and the origin of an skb dynptr's offsets.
    pub skb_data: i16,
    /// `sk_buff.data_len` (u32): bytes of the packet outside the linear part.
    pub skb_data_len: i16,
}

/// Emit the entry sequence:
///
/// ```text
/// CTX = r1
/// bpf_dynptr_from_skb(ctx->skb, 0, FP + DYNPTR)      ; r0 != 0  -> goto no_packet
/// L3 = bpf_dynptr_slice(FP + DYNPTR, 0, FP + L3_BUF, l3_len)  ; NULL -> goto no_packet
/// ```
///
/// Afterwards `L3` points to `l3_len` readable bytes starting at the network header, and
/// `CTX` holds the context. `no_packet` is taken when the packet is shorter than `l3_len`.
/// An `l3_len` of 0 or larger than the stack buffer is an error (the kernel would write the
/// slice into the buffer when the bytes are not linear).
pub fn emit_l3_prologue(
    b: &mut Builder,
    k: &Kfuncs,
    l3_len: i16,
    no_packet: Label,
) -> Result<(), CodegenError> {
    if l3_len <= 0 || l3_len > stack::L3_BUF_LEN {
        return Err(CodegenError::SliceTooLong {
            len: l3_len,
            max: stack::L3_BUF_LEN,
        });
    }
    b.mov64(roles::CTX, Reg::R1)
        .load(Size::DW, roles::ARG1, roles::CTX, nf_ctx::SKB)
        .mov64(roles::ARG2, 0)
        .mov64(roles::ARG3, roles::FP)
        .add64(roles::ARG3, i32::from(stack::DYNPTR))
        .call_kfunc(k.dynptr_from_skb)
        .jmp_if(Cond::Ne, roles::RET, 0, no_packet)
        .mov64(roles::ARG1, roles::FP)
        .add64(roles::ARG1, i32::from(stack::DYNPTR))
        .mov64(roles::ARG2, 0)
        .mov64(roles::ARG3, roles::FP)
        .add64(roles::ARG3, i32::from(stack::L3_BUF))
        .mov64(roles::ARG4, i32::from(l3_len))
        .call_kfunc(k.dynptr_slice)
        .jmp_if(Cond::Eq, roles::RET, 0, no_packet)
        .mov64(roles::L3, roles::RET);
    Ok(())
}

//! Golden disassembly of small programs built with `codegen::Builder`, plus the encoding
//! and label-resolution rules the builder promises.

use bpfilter_core::codegen::{
    disasm, emit_l3_prologue, helper, roles, verdict, AluOp, Builder, CodegenError, Cond, Insn,
    Kfuncs, Reg, Size,
};

/// Made-up BTF ids: the real ones are looked up in vmlinux at run time.
const KFUNCS: Kfuncs = Kfuncs {
    dynptr_from_skb: 70001,
    dynptr_slice: 70002,
};

fn check(insns: &[Insn], expected: &str) {
    let got = disasm(insns);
    assert_eq!(
        got, expected,
        "\n--- got ---\n{got}--- expected ---\n{expected}"
    );
}

/// Drop UDP (IPv4 protocol 17), accept everything else, including packets too short to hold
/// an IPv4 header.
#[test]
fn udp_dropper() {
    let mut b = Builder::new();
    let accept = b.new_label();
    emit_l3_prologue(&mut b, &KFUNCS, 20, accept).expect("prologue");
    b.load(Size::B, Reg::R1, roles::L3, 9)
        .jmp_if(Cond::Ne, Reg::R1, 17, accept)
        .ret(verdict::DROP)
        .bind(accept)
        .ret(verdict::ACCEPT);
    let insns = b.finish().expect("finish");
    check(
        &insns,
        "   0: r6 = r1
   1: r1 = *(u64 *)(r6 + 8)
   2: r2 = 0
   3: r3 = r10
   4: r3 += -16
   5: call kfunc#70001
   6: if r0 != 0x0 goto +13 <L0>
   7: r1 = r10
   8: r1 += -16
   9: r2 = 0
  10: r3 = r10
  11: r3 += -80
  12: r4 = 20
  13: call kfunc#70002
  14: if r0 == 0x0 goto +5 <L0>
  15: r7 = r0
  16: r1 = *(u8 *)(r7 + 9)
  17: if r1 != 0x11 goto +2 <L0>
  18: r0 = 0
  19: exit
L0:
  20: r0 = 1
  21: exit
",
    );
}

/// Count a packet in an array map: look up element 7, add 1 to the packets and (atomically)
/// 1 to the bytes.
#[test]
fn counter_update() {
    let mut b = Builder::new();
    let done = b.new_label();
    b.store_imm(Size::W, Reg::R10, -4, 7)
        .ld_map_fd(Reg::R1, 5)
        .mov64(Reg::R2, Reg::R10)
        .add64(Reg::R2, -4)
        .call_helper(helper::MAP_LOOKUP_ELEM)
        .jmp_if(Cond::Eq, Reg::R0, 0, done)
        .load(Size::DW, Reg::R1, Reg::R0, 0)
        .add64(Reg::R1, 1)
        .store(Size::DW, Reg::R0, 0, Reg::R1)
        .mov64(Reg::R1, 1)
        .atomic_add64(Reg::R0, 8, Reg::R1)
        .bind(done)
        .ret(verdict::ACCEPT);
    check(
        &b.finish().expect("finish"),
        "   0: *(u32 *)(r10 - 4) = 7
   1: r1 = map[fd:5]
   3: r2 = r10
   4: r2 += -4
   5: call bpf_map_lookup_elem#1
   6: if r0 == 0x0 goto +5 <L0>
   7: r1 = *(u64 *)(r0 + 0)
   8: r1 += 1
   9: *(u64 *)(r0 + 0) = r1
  10: r1 = 1
  11: lock *(u64 *)(r0 + 8) += r1
L0:
  12: r0 = 1
  13: exit
",
    );
}

/// 32-bit ALU and jumps, a 64-bit constant, byte swaps, a backward jump and a local call.
#[test]
fn alu32_jmp32_and_calls() {
    let mut b = Builder::new();
    let top = b.new_label();
    let sub = b.new_label();
    let out = b.new_label();
    b.ld_imm64(Reg::R9, 0x1122_3344_5566_7788)
        .mov32(Reg::R2, -1)
        .bind(top)
        .alu32(AluOp::And, Reg::R2, 0xff00)
        .to_be(Reg::R2, 16)
        .alu64(AluOp::Rsh, Reg::R9, 8)
        .alu64(AluOp::Xor, Reg::R9, Reg::R2)
        .jmp32_if(Cond::Sgt, Reg::R2, Reg::R3, top)
        .jmp_if(Cond::Set, Reg::R9, -2, out)
        .call_local(sub)
        .bind(out)
        .ret(verdict::ACCEPT)
        .bind(sub)
        .neg64(Reg::R0)
        .jmp(out);
    check(
        &b.finish().expect("finish"),
        "   0: r9 = 0x1122334455667788 ll
   2: w2 = -1
L0:
   3: w2 &= 65280
   4: r2 = be16 r2
   5: r9 >>= 8
   6: r9 ^= r2
   7: if w2 s> w3 goto -5 <L0>
   8: if r9 & -0x2 goto +1 <L1>
   9: call +2 <L2>
L1:
  10: r0 = 1
  11: exit
L2:
  12: r0 = -r0
  13: goto -4 <L1>
",
    );
}

/// The byte image the kernel reads, checked against hand-encoded instructions.
#[test]
fn encoding() {
    let mut b = Builder::new();
    b.mov64(Reg::R0, 1)
        .exit()
        .call_kfunc(0x0001_2345)
        .load(Size::W, Reg::R1, Reg::R10, -8)
        .ld_map_fd(Reg::R1, 3);
    let insns = b.finish().expect("finish");
    let bytes: Vec<[u8; 8]> = insns.iter().map(Insn::encode).collect();
    assert_eq!(
        bytes,
        vec![
            [0xb7, 0x00, 0, 0, 1, 0, 0, 0],
            [0x95, 0x00, 0, 0, 0, 0, 0, 0],
            [0x85, 0x20, 0, 0, 0x45, 0x23, 0x01, 0],
            [0x61, 0xa1, 0xf8, 0xff, 0, 0, 0, 0],
            [0x18, 0x11, 0, 0, 3, 0, 0, 0],
            [0x00, 0x00, 0, 0, 0, 0, 0, 0],
        ]
    );
    for i in &insns {
        assert_eq!(Insn::decode(i.encode()), *i);
        assert_eq!(Insn::from_u64(i.to_u64()), *i);
    }
}

#[test]
fn unbound_label_is_an_error() {
    let mut b = Builder::new();
    let nowhere = b.new_label();
    b.jmp(nowhere).ret(verdict::ACCEPT);
    assert_eq!(b.finish(), Err(CodegenError::UnboundLabel { label: 0 }));
}

#[test]
fn label_bound_twice_is_an_error() {
    let mut b = Builder::new();
    let l = b.new_label();
    b.bind(l).ret(verdict::ACCEPT).bind(l);
    assert_eq!(b.finish(), Err(CodegenError::LabelBoundTwice { label: 0 }));
}

#[test]
fn foreign_label_is_an_error() {
    let mut other = Builder::new();
    let _ = other.new_label();
    let foreign = other.new_label();
    let mut b = Builder::new();
    b.jmp(foreign);
    assert_eq!(b.finish(), Err(CodegenError::UnknownLabel { label: 1 }));
}

/// Forward jumps reach at most 32767 slots ahead, backward ones 32768 behind; one more is an
/// error, never a truncated offset.
#[test]
fn jump_range_is_exactly_i16() {
    fn forward(gap: usize) -> Result<Vec<Insn>, CodegenError> {
        let mut b = Builder::new();
        let end = b.new_label();
        b.jmp(end);
        for _ in 0..gap {
            b.mov64(Reg::R0, 0);
        }
        b.bind(end).exit();
        b.finish()
    }
    fn backward(gap: usize) -> Result<Vec<Insn>, CodegenError> {
        let mut b = Builder::new();
        let top = b.new_label();
        b.bind(top);
        for _ in 0..gap {
            b.mov64(Reg::R0, 0);
        }
        b.jmp_if(Cond::Eq, Reg::R0, 0, top).exit();
        b.finish()
    }
    assert_eq!(forward(32767).expect("fits")[0].off, 32767);
    assert_eq!(
        forward(32768),
        Err(CodegenError::JumpOutOfRange { from: 0, to: 32769 })
    );
    assert_eq!(backward(32767).expect("fits")[32767].off, -32768);
    assert_eq!(
        backward(32768),
        Err(CodegenError::JumpOutOfRange { from: 32768, to: 0 })
    );
}

#[test]
fn prologue_rejects_slices_that_do_not_fit_the_buffer() {
    let mut b = Builder::new();
    let l = b.new_label();
    assert!(matches!(
        emit_l3_prologue(&mut b, &KFUNCS, 65, l),
        Err(CodegenError::SliceTooLong { len: 65, max: 64 })
    ));
    assert!(emit_l3_prologue(&mut b, &KFUNCS, 0, l).is_err());
    assert!(b.is_empty());
}

/// Whatever the bytes, disassembly neither panics nor loses a slot: every slot is printed
/// except the second half of each `ld_imm64`.
#[test]
fn disasm_accepts_any_bytes() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let insns: Vec<Insn> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            Insn::from_u64(state)
        })
        .collect();
    let text = disasm(&insns);
    let numbered = text.lines().filter(|l| !l.starts_with('L')).count();
    let wide = insns.iter().filter(|i| i.is_ld_imm64()).count();
    assert!(numbered <= insns.len() && numbered + wide >= insns.len());
}

proptest::proptest! {
    /// Decoding then encoding any slot gives back the same 8 bytes.
    #[test]
    fn encode_decode_round_trip(v: u64) {
        proptest::prop_assert_eq!(Insn::from_u64(v).to_u64(), v);
    }
}

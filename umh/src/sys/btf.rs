//! A small reader for the kernel's BTF (`/sys/kernel/btf/vmlinux`): kfunc ids, struct member
//! offsets, enum values. Safe code only; it lives here because it reads a kernel interface.
//!
//! ```text
//! [ btf_header (hdr_len) ][ type section (type_off, type_len) ][ strings (str_off, str_len) ]
//! type record: [ name_off u32 | info u32 (kind<<24 | vlen, kflag<<31) | size/type u32 ]
//!              [ kind-specific tail: INT 4, ARRAY 12, STRUCT/UNION 12*vlen, ENUM 8*vlen,
//!                FUNC_PROTO 8*vlen, VAR 4, DATASEC 12*vlen, DECL_TAG 4, ENUM64 12*vlen ]
//! ```
//!
//! Type ids are implicit (1, 2, ... in record order, 0 is `void`), so every kind's tail length
//! must be known to count them: an unknown kind is an error rather than a guess. The ids
//! change with every kernel build, which is why generated code never hard-codes them.
//!
//! No-panic contract: [`Btf::parse`] accepts any bytes and every accessor bounds-checks.

use bpfilter_core::codegen::Kfuncs;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the running kernel exposes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const BTF_MAGIC: u16 = 0xeb9f;

/// The BTF kinds (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BtfKind {
    /// Integer (with an encoding tail).
    Int,
    /// Pointer.
    Ptr,
    /// Array.
    Array,
    /// Struct.
    Struct,
    /// Union.
    Union,
    /// 32-bit enum.
    Enum,
    /// Forward declaration.
    Fwd,
    /// Typedef.
    Typedef,
    /// `volatile` modifier.
    Volatile,
    /// `const` modifier.
    Const,
    /// `restrict` modifier.
    Restrict,
    /// Function (the kfuncs are these).
    Func,
    /// Function prototype.
    FuncProto,
    /// Variable.
    Var,
    /// Data section.
    Datasec,
    /// Floating point.
    Float,
    /// Declaration tag.
    DeclTag,
    /// Type tag.
    TypeTag,
    /// 64-bit enum.
    Enum64,
}

impl BtfKind {
    fn from_raw(k: u32) -> Option<BtfKind> {
        Some(match k {
            1 => BtfKind::Int,
            2 => BtfKind::Ptr,
            3 => BtfKind::Array,
            4 => BtfKind::Struct,
            5 => BtfKind::Union,
            6 => BtfKind::Enum,
            7 => BtfKind::Fwd,
            8 => BtfKind::Typedef,
            9 => BtfKind::Volatile,
            10 => BtfKind::Const,
            11 => BtfKind::Restrict,
            12 => BtfKind::Func,
            13 => BtfKind::FuncProto,
            14 => BtfKind::Var,
            15 => BtfKind::Datasec,
            16 => BtfKind::Float,
            17 => BtfKind::DeclTag,
            18 => BtfKind::TypeTag,
            19 => BtfKind::Enum64,
            _ => return None,
        })
    }

    /// Length of the record's tail after the 12-byte common part.
    fn tail_len(self, vlen: usize) -> Option<usize> {
        match self {
            BtfKind::Int | BtfKind::Var | BtfKind::DeclTag => Some(4),
            BtfKind::Array => Some(12),
            BtfKind::Struct | BtfKind::Union | BtfKind::Datasec | BtfKind::Enum64 => {
                vlen.checked_mul(12)
            }
            BtfKind::Enum | BtfKind::FuncProto => vlen.checked_mul(8),
            BtfKind::Ptr
            | BtfKind::Fwd
            | BtfKind::Typedef
            | BtfKind::Volatile
            | BtfKind::Const
            | BtfKind::Restrict
            | BtfKind::Func
            | BtfKind::Float
            | BtfKind::TypeTag => Some(0),
        }
    }
}

/// Why BTF could not be read or a name not resolved.
#[derive(Debug)]
pub enum BtfError {
    /// Reading the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The header is malformed (bad magic, sections outside the data, big-endian BTF).
    BadHeader(&'static str),
    /// A type record runs past the end of the type section.
    Truncated {
        /// The id the record would have had.
        id: u32,
    },
    /// A kind this reader does not know, so later ids cannot be counted.
    UnknownKind {
        /// The record's id.
        id: u32,
        /// The raw kind number.
        kind: u32,
    },
    /// A name (type, member path, function, enumerator) is not in this BTF.
    NotFound(String),
}

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BtfError::Io { path, source } => write!(f, "reading {}: {source}", path.display()),
            BtfError::BadHeader(why) => write!(f, "bad BTF header: {why}"),
            BtfError::Truncated { id } => write!(f, "BTF type {id} is truncated"),
            BtfError::UnknownKind { id, kind } => {
                write!(f, "BTF type {id} has unknown kind {kind}")
            }
            BtfError::NotFound(what) => write!(f, "not in BTF: {what}"),
        }
    }
}

impl std::error::Error for BtfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BtfError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A struct or union member, with its offset from the start of the outermost struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// Offset in bits.
    pub bit_offset: u32,
    /// Width in bits for a bitfield, 0 otherwise.
    pub bitfield_size: u32,
    /// The member's type id.
    pub type_id: u32,
    /// Size in bytes of the member's type, when it has one.
    pub size: Option<u32>,
}

impl Member {
    /// Offset in bytes, if the member starts on a byte boundary.
    pub fn byte_offset(&self) -> Option<u32> {
        self.bit_offset
            .is_multiple_of(8)
            .then_some(self.bit_offset / 8)
    }
}

/// Kernel struct offsets a netfilter program reads through BTF-typed pointers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NfOffsets {
    /// `nf_hook_state.hook` (u8).
    pub state_hook: Member,
    /// `nf_hook_state.pf` (u8).
    pub state_pf: Member,
    /// `nf_hook_state.in` (`struct net_device *`).
    pub state_in: Member,
    /// `nf_hook_state.out` (`struct net_device *`).
    pub state_out: Member,
    /// `net_device.ifindex`.
    pub dev_ifindex: Member,
    /// `net_device.name` (`char[IFNAMSIZ]`).
    pub dev_name: Member,
    /// `sk_buff.mark`.
    pub skb_mark: Member,
    /// `sk_buff._nfct`, present when the kernel has conntrack.
    pub skb_nfct: Option<Member>,
    /// `sk_buff.pkt_type`, a 3-bit bitfield.
    pub skb_pkt_type: Option<Member>,
}

#[derive(Clone, Copy, Debug)]
struct Raw {
    name_off: u32,
    kind: BtfKind,
    kflag: bool,
    vlen: usize,
    size_or_type: u32,
    /// Offset of the tail in `data`.
    tail: usize,
}

/// Parsed BTF: the bytes plus an index of where each type id's record starts.
pub struct Btf {
    data: Vec<u8>,
    strings: (usize, usize),
    /// `records[i]` is the offset in `data` of type id `i + 1`.
    records: Vec<usize>,
    /// Type ids by name, in id order; built on the first lookup.
    by_name: OnceLock<HashMap<String, Vec<u32>>>,
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("bytes", &self.data.len())
            .field("types", &self.records.len())
            .finish()
    }
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let b: [u8; 4] = data.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn usize_at(data: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32_at(data, at)?).ok()
}

impl Btf {
    /// Read the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Btf, BtfError> {
        Btf::from_file(Path::new(VMLINUX_BTF))
    }

    /// Read and parse a raw BTF file.
    pub fn from_file(path: &Path) -> Result<Btf, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Btf::parse(data)
    }

    /// Parse raw BTF bytes (little-endian, as the kernel exposes them on x86_64).
    pub fn parse(data: Vec<u8>) -> Result<Btf, BtfError> {
        let magic = data
            .get(0..2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(BtfError::BadHeader("shorter than the magic"))?;
        if magic != BTF_MAGIC {
            return Err(BtfError::BadHeader(if magic.swap_bytes() == BTF_MAGIC {
                "big-endian BTF is not supported"
            } else {
                "bad magic"
            }));
        }
        let field = |at| usize_at(&data, at).ok_or(BtfError::BadHeader("header truncated"));
        let hdr_len = field(4)?;
        let (type_off, type_len) = (field(8)?, field(12)?);
        let (str_off, str_len) = (field(16)?, field(20)?);
        let section = |off: usize, len: usize| -> Result<(usize, usize), BtfError> {
            let start = hdr_len
                .checked_add(off)
                .ok_or(BtfError::BadHeader("section offset overflows"))?;
            let end = start
                .checked_add(len)
                .filter(|end| *end <= data.len())
                .ok_or(BtfError::BadHeader("section outside the data"))?;
            Ok((start, end))
        };
        let types = section(type_off, type_len)?;
        let strings = section(str_off, str_len)?;

        let mut records = Vec::new();
        let mut at = types.0;
        while at < types.1 {
            let id = u32::try_from(records.len())
                .ok()
                .and_then(|n| n.checked_add(1))
                .ok_or(BtfError::BadHeader("too many types"))?;
            let info = u32_at(&data, at.saturating_add(4)).ok_or(BtfError::Truncated { id })?;
            let raw_kind = (info >> 24) & 0x1f;
            let kind =
                BtfKind::from_raw(raw_kind).ok_or(BtfError::UnknownKind { id, kind: raw_kind })?;
            let vlen = usize::try_from(info & 0xffff).map_err(|_| BtfError::Truncated { id })?;
            let next = kind
                .tail_len(vlen)
                .and_then(|t| t.checked_add(12))
                .and_then(|l| at.checked_add(l))
                .filter(|n| *n <= types.1)
                .ok_or(BtfError::Truncated { id })?;
            records.push(at);
            at = next;
        }
        Ok(Btf {
            data,
            strings,
            records,
            by_name: OnceLock::new(),
        })
    }

    /// Number of types (valid ids are `1..=type_count()`; 0 is `void`).
    pub fn type_count(&self) -> u32 {
        u32::try_from(self.records.len()).unwrap_or(u32::MAX)
    }

    fn raw(&self, id: u32) -> Option<Raw> {
        let at = *self
            .records
            .get(usize::try_from(id).ok()?.checked_sub(1)?)?;
        let info = u32_at(&self.data, at.checked_add(4)?)?;
        Some(Raw {
            name_off: u32_at(&self.data, at)?,
            kind: BtfKind::from_raw((info >> 24) & 0x1f)?,
            kflag: info >> 31 == 1,
            vlen: usize::try_from(info & 0xffff).ok()?,
            size_or_type: u32_at(&self.data, at.checked_add(8)?)?,
            tail: at.checked_add(12)?,
        })
    }

    fn str_at(&self, off: u32) -> Option<&str> {
        let start = self.strings.0.checked_add(usize::try_from(off).ok()?)?;
        let bytes = self.data.get(start..self.strings.1)?;
        let len = bytes.iter().position(|b| *b == 0)?;
        std::str::from_utf8(bytes.get(..len)?).ok()
    }

    /// The kind of type `id`.
    pub fn kind(&self, id: u32) -> Option<BtfKind> {
        self.raw(id).map(|r| r.kind)
    }

    /// The name of type `id` (empty for anonymous types).
    pub fn name(&self, id: u32) -> Option<&str> {
        self.str_at(self.raw(id)?.name_off)
    }

    /// The first type with this name and kind, as the kernel's `btf_find_by_name_kind`.
    pub fn find(&self, name: &str, kind: BtfKind) -> Option<u32> {
        let index = self.by_name.get_or_init(|| {
            let mut m: HashMap<String, Vec<u32>> = HashMap::new();
            for id in 1..=self.type_count() {
                if let Some(n) = self.name(id).filter(|n| !n.is_empty()) {
                    m.entry(n.to_string()).or_default().push(id);
                }
            }
            m
        });
        index
            .get(name)?
            .iter()
            .copied()
            .find(|id| self.kind(*id) == Some(kind))
    }

    /// The BTF id of the kernel function `name`, for `call_kfunc`.
    pub fn kfunc_id(&self, name: &str) -> Result<u32, BtfError> {
        self.find(name, BtfKind::Func)
            .ok_or_else(|| BtfError::NotFound(format!("function {name}")))
    }

    /// The ids of the packet-reading kfuncs generated programs call.
    pub fn kfuncs(&self) -> Result<Kfuncs, BtfError> {
        Ok(Kfuncs {
            dynptr_from_skb: self.kfunc_id("bpf_dynptr_from_skb")?,
            dynptr_slice: self.kfunc_id("bpf_dynptr_slice")?,
        })
    }

    /// Follow typedefs and modifiers to the underlying type.
    pub fn resolve(&self, mut id: u32) -> Option<u32> {
        // A well-formed chain is short; the bound keeps a malicious cycle finite.
        for _ in 0..64 {
            let r = self.raw(id)?;
            match r.kind {
                BtfKind::Typedef
                | BtfKind::Volatile
                | BtfKind::Const
                | BtfKind::Restrict
                | BtfKind::TypeTag => id = r.size_or_type,
                _ => return Some(id),
            }
        }
        None
    }

    /// Size in bytes of type `id` (pointers are 8 on the 64-bit kernels this runs on).
    pub fn type_size(&self, id: u32) -> Option<u32> {
        let r = self.raw(self.resolve(id)?)?;
        match r.kind {
            BtfKind::Int
            | BtfKind::Struct
            | BtfKind::Union
            | BtfKind::Enum
            | BtfKind::Enum64
            | BtfKind::Float
            | BtfKind::Datasec => Some(r.size_or_type),
            BtfKind::Ptr => Some(8),
            BtfKind::Array => {
                let elem = u32_at(&self.data, r.tail)?;
                let nelems = u32_at(&self.data, r.tail.checked_add(8)?)?;
                self.type_size(elem)?.checked_mul(nelems)
            }
            _ => None,
        }
    }

    /// The `i`th member of a struct/union: (name, type id, bit offset, bitfield size).
    fn member_at(&self, r: &Raw, i: usize) -> Option<(&str, u32, u32, u32)> {
        let at = r.tail.checked_add(i.checked_mul(12)?)?;
        let name = self.str_at(u32_at(&self.data, at)?)?;
        let ty = u32_at(&self.data, at.checked_add(4)?)?;
        let off = u32_at(&self.data, at.checked_add(8)?)?;
        if r.kflag {
            return Some((name, ty, off & 0x00ff_ffff, off >> 24));
        }
        // Without kind_flag a bitfield is described by the INT type's encoding:
        // bits 16..24 are an extra bit offset, bits 0..8 the width.
        let mut bits = 0;
        let mut extra = 0;
        if let Some(int) = self.resolve(ty).and_then(|t| self.raw(t)) {
            if int.kind == BtfKind::Int {
                let enc = u32_at(&self.data, int.tail)?;
                let width = enc & 0xff;
                extra = (enc >> 16) & 0xff;
                if width != int.size_or_type.checked_mul(8)? || extra != 0 {
                    bits = width;
                }
            }
        }
        Some((name, ty, off.checked_add(extra)?, bits))
    }

    /// Find `name` among the members of struct/union `id`, looking through anonymous
    /// members; returns (type id, bit offset, bitfield size) relative to `id`.
    fn find_member(&self, id: u32, name: &str, depth: u32) -> Option<(u32, u32, u32)> {
        let r = self.raw(self.resolve(id)?)?;
        if !matches!(r.kind, BtfKind::Struct | BtfKind::Union) || depth > 16 {
            return None;
        }
        for i in 0..r.vlen {
            let (mname, ty, off, bits) = self.member_at(&r, i)?;
            if mname == name {
                return Some((ty, off, bits));
            }
            if mname.is_empty() {
                if let Some((t, o, b)) = self.find_member(ty, name, depth.checked_add(1)?) {
                    return Some((t, o.checked_add(off)?, b));
                }
            }
        }
        None
    }

    /// A member of struct or union `outer`, by a dot-separated path (`"test.ctx_in"`);
    /// anonymous struct/union members are searched transparently, as C does.
    pub fn member(&self, outer: &str, path: &str) -> Result<Member, BtfError> {
        let not_found = || BtfError::NotFound(format!("{outer}.{path}"));
        let mut id = self
            .find(outer, BtfKind::Struct)
            .or_else(|| self.find(outer, BtfKind::Union))
            .ok_or_else(not_found)?;
        let mut bit_offset = 0u32;
        let mut bitfield_size = 0;
        for part in path.split('.') {
            let (ty, off, bits) = self.find_member(id, part, 0).ok_or_else(not_found)?;
            bit_offset = bit_offset.checked_add(off).ok_or_else(not_found)?;
            bitfield_size = bits;
            id = ty;
        }
        Ok(Member {
            bit_offset,
            bitfield_size,
            type_id: id,
            size: self.type_size(id),
        })
    }

    /// The value of enumerator `name` in enum `enum_name` (32 or 64-bit enums).
    pub fn enum_value(&self, enum_name: &str, name: &str) -> Result<i64, BtfError> {
        let not_found = || BtfError::NotFound(format!("{enum_name}::{name}"));
        let (id, wide) = match self.find(enum_name, BtfKind::Enum) {
            Some(id) => (id, false),
            None => (
                self.find(enum_name, BtfKind::Enum64)
                    .ok_or_else(not_found)?,
                true,
            ),
        };
        let r = self.raw(id).ok_or_else(not_found)?;
        let stride = if wide { 12 } else { 8 };
        for i in 0..r.vlen {
            let Some(at) = i.checked_mul(stride).and_then(|o| r.tail.checked_add(o)) else {
                break;
            };
            let Some(n) = u32_at(&self.data, at).and_then(|o| self.str_at(o)) else {
                continue;
            };
            if n != name {
                continue;
            }
            let lo = u32_at(&self.data, at.saturating_add(4)).ok_or_else(not_found)?;
            return Ok(if wide {
                let hi = u32_at(&self.data, at.saturating_add(8)).ok_or_else(not_found)?;
                i64::from_le_bytes(((u64::from(hi) << 32) | u64::from(lo)).to_le_bytes())
            } else if r.kflag {
                // kind_flag marks a signed enum.
                i64::from(i32::from_le_bytes(lo.to_le_bytes()))
            } else {
                i64::from(lo)
            });
        }
        Err(not_found())
    }

    /// The member offsets a netfilter program needs; `_nfct` and `pkt_type` are optional
    /// because they depend on the kernel configuration.
    pub fn nf_offsets(&self) -> Result<NfOffsets, BtfError> {
        Ok(NfOffsets {
            state_hook: self.member("nf_hook_state", "hook")?,
            state_pf: self.member("nf_hook_state", "pf")?,
            state_in: self.member("nf_hook_state", "in")?,
            state_out: self.member("nf_hook_state", "out")?,
            dev_ifindex: self.member("net_device", "ifindex")?,
            dev_name: self.member("net_device", "name")?,
            skb_mark: self.member("sk_buff", "mark")?,
            skb_nfct: self.member("sk_buff", "_nfct").ok(),
            skb_pkt_type: self.member("sk_buff", "pkt_type").ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name_off: u32, kind: u32, vlen: u32, kflag: bool, size_or_type: u32) -> Vec<u8> {
        let info = (u32::from(kflag) << 31) | (kind << 24) | vlen;
        [name_off, info, size_or_type]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A small BTF blob: ints, a struct with a kind_flag bitfield and an anonymous union, a
    /// function and a signed enum.
    fn sample() -> Vec<u8> {
        // Offsets:          0    1      5     8    10   12   14   16   18   20   22
        let strings = b"\0int\0u8\0s\0a\0b\0c\0f\0e\0X\0Y\0";
        let mut t = Vec::new();
        t.extend(ty(1, 1, 0, false, 4)); // 1: int
        t.extend(words(&[32]));
        t.extend(ty(5, 1, 0, false, 1)); // 2: u8
        t.extend(words(&[8]));
        t.extend(ty(8, 4, 3, true, 8)); // 3: struct s
        t.extend(words(&[10, 1, 0])); //   a: int at bit 0
        t.extend(words(&[12, 2, (3 << 24) | 32])); //   b: u8:3 at bit 32
        t.extend(words(&[0, 4, 40])); //   (anon union) at bit 40
        t.extend(ty(0, 5, 1, false, 1)); // 4: union { u8 c; }
        t.extend(words(&[14, 2, 0]));
        t.extend(ty(0, 13, 0, false, 1)); // 5: int (void)
        t.extend(ty(16, 12, 0, false, 5)); // 6: f
        t.extend(ty(18, 6, 2, true, 4)); // 7: signed enum e
        t.extend(words(&[20, 1, 22, u32::MAX]));
        let mut out = words(&[0, 0, 0, 0, 0, 0]);
        out[0..4].copy_from_slice(&[0x9f, 0xeb, 1, 0]);
        let tl = u32::try_from(t.len()).unwrap_or(0);
        let sl = u32::try_from(strings.len()).unwrap_or(0);
        out[4..8].copy_from_slice(&24u32.to_le_bytes());
        out[8..12].copy_from_slice(&0u32.to_le_bytes());
        out[12..16].copy_from_slice(&tl.to_le_bytes());
        out[16..20].copy_from_slice(&tl.to_le_bytes());
        out[20..24].copy_from_slice(&sl.to_le_bytes());
        out.extend(t);
        out.extend_from_slice(strings);
        out
    }

    #[test]
    fn reads_a_hand_built_blob() {
        let btf = Btf::parse(sample()).expect("parse");
        assert_eq!(btf.type_count(), 7);
        assert_eq!(btf.kfunc_id("f").ok(), Some(6));
        assert_eq!(btf.find("s", BtfKind::Struct), Some(3));
        let b = btf.member("s", "b").expect("b");
        assert_eq!((b.bit_offset, b.bitfield_size, b.size), (32, 3, Some(1)));
        let c = btf
            .member("s", "c")
            .expect("c, through the anonymous union");
        assert_eq!((c.byte_offset(), c.bitfield_size), (Some(5), 0));
        assert_eq!(btf.type_size(3), Some(8));
        assert_eq!(btf.enum_value("e", "X").ok(), Some(1));
        assert_eq!(btf.enum_value("e", "Y").ok(), Some(-1));
        assert!(btf.member("s", "zz").is_err());
    }

    #[test]
    fn unknown_kinds_and_truncations_are_errors_not_panics() {
        let good = sample();
        for len in 0..good.len() {
            // Every prefix is either refused or parsed; nothing panics.
            let _ = Btf::parse(good[..len].to_vec());
        }
        let mut bad = good.clone();
        // Type 1's info word: kind 31 does not exist.
        bad[24 + 4..24 + 8].copy_from_slice(&(31u32 << 24).to_le_bytes());
        assert!(matches!(
            Btf::parse(bad),
            Err(BtfError::UnknownKind { id: 1, kind: 31 })
        ));
        let mut short = good;
        // Shrink type_len by 4: the enum's last enumerator no longer fits.
        let tl = u32::from_le_bytes([short[12], short[13], short[14], short[15]]) - 4;
        short[12..16].copy_from_slice(&tl.to_le_bytes());
        assert!(matches!(
            Btf::parse(short),
            Err(BtfError::Truncated { id: 7 })
        ));
    }
}

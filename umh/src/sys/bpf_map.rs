//! BPF maps through raw `bpf(2)`: create, lookup, update, delete, iterate, per-CPU sums.
//!
//! The kernel copies exactly `key_size` bytes from the key address and `value_size` bytes
//! (per-CPU maps: `round_up(value_size, 8)` per possible CPU) to or from the value address.
//! Those lengths are the whole memory-safety argument, so every call checks the caller's
//! slices against them first and allocates the output buffers itself.
//!
//! ```text
//! per-CPU value buffer:  [ cpu0: value, pad to 8 ][ cpu1: value, pad to 8 ] ... (possible CPUs)
//! LPM trie key:          [ prefixlen: u32 host order ][ data: key_size - 4 bytes, network order ]
//! ```

use super::{addr, new_fd, obj_get, obj_get_info, obj_name, obj_pin, sys_bpf, BpfError, Cmd, Fd};
use std::path::Path;
use std::sync::OnceLock;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `BPF_F_NO_PREALLOC`, required for LPM tries.
pub const BPF_F_NO_PREALLOC: u32 = 1;

/// Where the kernel lists the CPUs per-CPU maps have a slot for.
pub const POSSIBLE_CPUS: &str = "/sys/devices/system/cpu/possible";

/// Map types used by bpfilter (`enum bpf_map_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapType {
    /// `BPF_MAP_TYPE_HASH`.
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    PercpuArray,
    /// `BPF_MAP_TYPE_LPM_TRIE`.
    LpmTrie,
    /// `BPF_MAP_TYPE_RINGBUF`.
    RingBuf,
    /// Any other type, by number (e.g. a map opened from a pin).
    Other(u32),
}

impl MapType {
    /// The type number.
    pub const fn code(self) -> u32 {
        match self {
            MapType::Hash => 1,
            MapType::Array => 2,
            MapType::PercpuHash => 5,
            MapType::PercpuArray => 6,
            MapType::LpmTrie => 11,
            MapType::RingBuf => 27,
            MapType::Other(n) => n,
        }
    }

    /// The type with number `n`.
    pub const fn from_code(n: u32) -> MapType {
        match n {
            1 => MapType::Hash,
            2 => MapType::Array,
            5 => MapType::PercpuHash,
            6 => MapType::PercpuArray,
            11 => MapType::LpmTrie,
            27 => MapType::RingBuf,
            n => MapType::Other(n),
        }
    }

    /// Whether user space sees one value per possible CPU.
    pub const fn is_percpu(self) -> bool {
        matches!(self, MapType::PercpuHash | MapType::PercpuArray)
            // LRU_PERCPU_HASH (10) and PERCPU_CGROUP_STORAGE (21) behave the same way.
            || matches!(self, MapType::Other(10 | 21))
    }
}

/// Parameters of a new map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSpec<'a> {
    /// Map type.
    pub map_type: MapType,
    /// Key size in bytes (arrays: 4).
    pub key_size: u32,
    /// Value size in bytes (per CPU for per-CPU maps).
    pub value_size: u32,
    /// Capacity (ring buffers: size in bytes, a power-of-2 multiple of the page size).
    pub max_entries: u32,
    /// `BPF_F_*` creation flags.
    pub flags: u32,
    /// Name shown by bpftool (at most 15 of `[A-Za-z0-9_.]`).
    pub name: &'a str,
}

impl<'a> MapSpec<'a> {
    /// An array of `max_entries` values, indexed by a `u32`.
    pub fn array(name: &'a str, value_size: u32, max_entries: u32) -> Self {
        MapSpec {
            map_type: MapType::Array,
            key_size: 4,
            value_size,
            max_entries,
            flags: 0,
            name,
        }
    }

    /// A per-CPU array (bpfilter's rule counters).
    pub fn percpu_array(name: &'a str, value_size: u32, max_entries: u32) -> Self {
        MapSpec {
            map_type: MapType::PercpuArray,
            ..MapSpec::array(name, value_size, max_entries)
        }
    }

    /// A hash map.
    pub fn hash(name: &'a str, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapSpec {
            map_type: MapType::Hash,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            name,
        }
    }

    /// A longest-prefix-match trie over `data_len`-byte keys (4 for IPv4); see [`lpm_key`].
    pub fn lpm_trie(name: &'a str, data_len: u32, value_size: u32, max_entries: u32) -> Self {
        MapSpec {
            map_type: MapType::LpmTrie,
            key_size: data_len.saturating_add(4),
            value_size,
            max_entries,
            // The kernel refuses a preallocated LPM trie.
            flags: BPF_F_NO_PREALLOC,
            name,
        }
    }

    /// A ring buffer of `size` bytes.
    pub fn ringbuf(name: &'a str, size: u32) -> Self {
        MapSpec {
            map_type: MapType::RingBuf,
            key_size: 0,
            value_size: 0,
            max_entries: size,
            flags: 0,
            name,
        }
    }
}

/// An LPM trie key: `prefixlen` then the address bytes in network order.
pub fn lpm_key(prefixlen: u32, data: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(data.len().saturating_add(4));
    k.extend_from_slice(&prefixlen.to_ne_bytes());
    k.extend_from_slice(data);
    k
}

/// How an update treats an existing element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpdateFlags {
    /// `BPF_ANY`: create or replace.
    Any,
    /// `BPF_NOEXIST`: create only.
    NoExist,
    /// `BPF_EXIST`: replace only.
    Exist,
}

impl UpdateFlags {
    const fn code(self) -> u64 {
        match self {
            UpdateFlags::Any => 0,
            UpdateFlags::NoExist => 1,
            UpdateFlags::Exist => 2,
        }
    }
}

/// Count the CPUs in a kernel CPU list such as `"0-3,8,10-11\n"`.
pub fn parse_cpu_list(s: &str) -> Option<usize> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.split(',').try_fold(0usize, |n, part| {
        let count = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                b.checked_sub(a)?.checked_add(1)?
            }
            None => part.parse::<usize>().map(|_| 1).ok()?,
        };
        n.checked_add(count)
    })
}

/// Number of possible CPUs: the number of per-CPU slots the kernel copies for per-CPU maps.
pub fn possible_cpus() -> Result<usize, BpfError> {
    static CPUS: OnceLock<usize> = OnceLock::new();
    if let Some(n) = CPUS.get() {
        return Ok(*n);
    }
    let text = std::fs::read_to_string(POSSIBLE_CPUS).map_err(|source| BpfError::Io {
        what: POSSIBLE_CPUS.to_string(),
        source,
    })?;
    let n = parse_cpu_list(&text)
        .ok_or_else(|| BpfError::Invalid(format!("{POSSIBLE_CPUS}: cannot parse {text:?}")))?;
    Ok(*CPUS.get_or_init(|| n))
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
pub(super) struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
    map_ifindex: u32,
    btf_fd: u32,
    btf_key_type_id: u32,
    btf_value_type_id: u32,
    btf_vmlinux_value_type_id: u32,
    map_extra: u64,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
pub(super) struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `union bpf_attr`'s `batch` member.
#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
pub(super) struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// `struct bpf_map_info` up to `map_extra`.
#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
pub(super) struct RawMapInfo {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: [u8; 16],
    ifindex: u32,
    btf_vmlinux_value_type_id: u32,
    netns_dev: u64,
    netns_ino: u64,
    btf_id: u32,
    btf_key_type_id: u32,
    btf_value_type_id: u32,
    btf_vmlinux_id: u32,
    map_extra: u64,
}

/// What the kernel says about a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// Map type.
    pub map_type: MapType,
    /// Map id (global).
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes (per CPU for per-CPU maps).
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Creation flags.
    pub map_flags: u32,
    /// Name.
    pub name: String,
}

/// A BPF map with the sizes its element calls are checked against.
#[derive(Debug)]
pub struct Map {
    fd: Fd,
    info: MapInfo,
    /// Bytes the kernel copies for one value (all CPUs for per-CPU maps).
    value_len: usize,
    /// Stride of one CPU's slot in a per-CPU value.
    percpu_stride: usize,
}

fn elem_err(cmd: Cmd) -> impl Fn(i32) -> BpfError {
    move |errno| BpfError::Syscall { cmd, errno }
}

impl Map {
    /// Create a map.
    pub fn create(spec: &MapSpec<'_>) -> Result<Map, BpfError> {
        let mut attr = MapCreateAttr {
            map_type: spec.map_type.code(),
            key_size: spec.key_size,
            value_size: spec.value_size,
            max_entries: spec.max_entries,
            map_flags: spec.flags,
            map_name: obj_name(spec.name)?,
            ..MapCreateAttr::default()
        };
        // SAFETY: the attribute holds only integers and an inline name, no addresses.
        let fd = unsafe { sys_bpf(Cmd::MapCreate, &mut attr) }
            .and_then(new_fd)
            .map_err(elem_err(Cmd::MapCreate))?;
        Map::from_fd(fd)
    }

    /// Wrap a map descriptor, reading its sizes from the kernel.
    pub fn from_fd(fd: Fd) -> Result<Map, BpfError> {
        let mut raw = RawMapInfo::default();
        obj_get_info(&fd, &mut raw)?;
        let info = MapInfo {
            map_type: MapType::from_code(raw.map_type),
            id: raw.id,
            key_size: raw.key_size,
            value_size: raw.value_size,
            max_entries: raw.max_entries,
            map_flags: raw.map_flags,
            name: super::log_text(&raw.name),
        };
        let size = usize::try_from(info.value_size)
            .map_err(|_| BpfError::Invalid("value size".to_string()))?;
        let (value_len, percpu_stride) = if info.map_type.is_percpu() {
            let stride = size
                .checked_next_multiple_of(8)
                .ok_or_else(|| BpfError::Invalid("value size".to_string()))?;
            let total = stride
                .checked_mul(possible_cpus()?)
                .ok_or_else(|| BpfError::Invalid("per-CPU value size".to_string()))?;
            (total, stride)
        } else {
            (size, size)
        };
        Ok(Map {
            fd,
            info,
            value_len,
            percpu_stride,
        })
    }

    /// Open a map pinned on bpffs.
    pub fn from_pinned(path: &Path) -> Result<Map, BpfError> {
        Map::from_fd(obj_get(path)?)
    }

    /// The map's descriptor (for `ld_map_fd`).
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Type, id and sizes.
    pub fn info(&self) -> &MapInfo {
        &self.info
    }

    /// Pin the map at `path` on bpffs.
    pub fn pin(&self, path: &Path) -> Result<(), BpfError> {
        obj_pin(&self.fd, path)
    }

    /// Bytes of one value as user space sees it: `value_size`, or for per-CPU maps
    /// `round_up(value_size, 8)` times the number of possible CPUs.
    pub fn value_len(&self) -> usize {
        self.value_len
    }

    fn check_key(&self, key: &[u8]) -> Result<(), BpfError> {
        if u32::try_from(key.len()).ok() == Some(self.info.key_size) {
            Ok(())
        } else {
            Err(BpfError::Invalid(format!(
                "key of {} bytes for map {:?} with key_size {}",
                key.len(),
                self.info.name,
                self.info.key_size
            )))
        }
    }

    /// The value stored under `key`, or `None` if there is none.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BpfError> {
        self.check_key(key)?;
        let mut value = vec![0u8; self.value_len];
        let mut attr = ElemAttr {
            map_fd: self.fd.as_u32(),
            key: addr(key.as_ptr()),
            value: addr(value.as_mut_ptr()),
            ..ElemAttr::default()
        };
        // SAFETY: `key` has exactly key_size bytes (checked) and `value` is a writable buffer
        // of the value length the kernel copies for this map type, both live for the call.
        match unsafe { sys_bpf(Cmd::MapLookupElem, &mut attr) } {
            Ok(_) => Ok(Some(value)),
            Err(libc::ENOENT) => Ok(None),
            Err(errno) => Err(elem_err(Cmd::MapLookupElem)(errno)),
        }
    }

    /// Store `value` under `key`. For per-CPU maps `value` holds every CPU's slot
    /// ([`Map::value_len`] bytes).
    pub fn update(&self, key: &[u8], value: &[u8], flags: UpdateFlags) -> Result<(), BpfError> {
        self.check_key(key)?;
        if value.len() != self.value_len {
            return Err(BpfError::Invalid(format!(
                "value of {} bytes for map {:?} expecting {}",
                value.len(),
                self.info.name,
                self.value_len
            )));
        }
        let mut attr = ElemAttr {
            map_fd: self.fd.as_u32(),
            key: addr(key.as_ptr()),
            value: addr(value.as_ptr()),
            flags: flags.code(),
            ..ElemAttr::default()
        };
        // SAFETY: `key` and `value` have exactly the lengths the kernel reads (checked
        // above) and are borrowed for the call; the kernel only reads them.
        unsafe { sys_bpf(Cmd::MapUpdateElem, &mut attr) }
            .map(drop)
            .map_err(elem_err(Cmd::MapUpdateElem))
    }

    /// Store many elements under `BPF_ANY`: `keys` and `values` are the keys and values laid
    /// end to end (`key_size` and [`Map::value_len`] bytes each). One `BPF_MAP_UPDATE_BATCH`
    /// call where the kernel has it for the map type, element by element otherwise. (The
    /// batch takes no `BPF_NOEXIST`/`BPF_EXIST`: its `elem_flags` may only be `BPF_F_LOCK`.)
    pub fn update_batch(&self, keys: &[u8], values: &[u8]) -> Result<(), BpfError> {
        let klen = usize::try_from(self.info.key_size)
            .map_err(|_| BpfError::Invalid("key size".to_string()))?;
        let n = keys.len().checked_div(klen).unwrap_or(0);
        if klen == 0
            || n.checked_mul(klen) != Some(keys.len())
            || n.checked_mul(self.value_len) != Some(values.len())
        {
            return Err(BpfError::Invalid(format!(
                "batch of {} key bytes and {} value bytes for map {:?}",
                keys.len(),
                values.len(),
                self.info.name
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let count =
            u32::try_from(n).map_err(|_| BpfError::Invalid("batch too large".to_string()))?;
        let mut attr = BatchAttr {
            keys: addr(keys.as_ptr()),
            values: addr(values.as_ptr()),
            count,
            map_fd: self.fd.as_u32(),
            ..BatchAttr::default()
        };
        // SAFETY: `keys` and `values` hold exactly `count` keys and values of the sizes the
        // kernel copies (checked above) and are borrowed for the call; the kernel only reads
        // them and writes back `count`.
        if unsafe { sys_bpf(Cmd::MapUpdateBatch, &mut attr) }.is_ok() {
            return Ok(());
        }
        // No batch for this map type (or it failed part way; the kernel leaves `count`
        // untouched when it fails before the first element): BPF_ANY makes redoing every
        // element harmless.
        for i in 0..n {
            let k = keys
                .get(i.saturating_mul(klen)..i.saturating_add(1).saturating_mul(klen))
                .unwrap_or_default();
            let v = values
                .get(
                    i.saturating_mul(self.value_len)
                        ..i.saturating_add(1).saturating_mul(self.value_len),
                )
                .unwrap_or_default();
            self.update(k, v, UpdateFlags::Any)?;
        }
        Ok(())
    }

    /// Delete `key`; `false` if it was not there.
    pub fn delete(&self, key: &[u8]) -> Result<bool, BpfError> {
        self.check_key(key)?;
        let mut attr = ElemAttr {
            map_fd: self.fd.as_u32(),
            key: addr(key.as_ptr()),
            ..ElemAttr::default()
        };
        // SAFETY: `key` has exactly key_size bytes (checked) and is borrowed for the call.
        match unsafe { sys_bpf(Cmd::MapDeleteElem, &mut attr) } {
            Ok(_) => Ok(true),
            Err(libc::ENOENT) => Ok(false),
            Err(errno) => Err(elem_err(Cmd::MapDeleteElem)(errno)),
        }
    }

    /// The key after `key` (the first key for `None`), or `None` at the end.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Option<Vec<u8>>, BpfError> {
        if let Some(k) = key {
            self.check_key(k)?;
        }
        let len = usize::try_from(self.info.key_size)
            .map_err(|_| BpfError::Invalid("key size".to_string()))?;
        let mut next = vec![0u8; len];
        let mut attr = ElemAttr {
            map_fd: self.fd.as_u32(),
            key: key.map_or(0, |k| addr(k.as_ptr())),
            value: addr(next.as_mut_ptr()),
            ..ElemAttr::default()
        };
        // SAFETY: `key` is null or exactly key_size bytes (checked); `next` is a writable
        // buffer of key_size bytes; both live for the call.
        match unsafe { sys_bpf(Cmd::MapGetNextKey, &mut attr) } {
            Ok(_) => Ok(Some(next)),
            Err(libc::ENOENT) => Ok(None),
            Err(errno) => Err(elem_err(Cmd::MapGetNextKey)(errno)),
        }
    }

    /// Each possible CPU's value under `key` (per-CPU maps only).
    pub fn lookup_percpu(&self, key: &[u8]) -> Result<Option<Vec<Vec<u8>>>, BpfError> {
        if !self.info.map_type.is_percpu() {
            return Err(BpfError::Invalid(format!(
                "map {:?} is not per-CPU",
                self.info.name
            )));
        }
        let size = usize::try_from(self.info.value_size)
            .map_err(|_| BpfError::Invalid("value size".to_string()))?;
        Ok(self.lookup(key)?.map(|all| {
            all.chunks(self.percpu_stride.max(1))
                .map(|slot| slot.get(..size).unwrap_or(slot).to_vec())
                .collect()
        }))
    }

    /// The value under `key` read as native-endian `u64` fields, each summed over all
    /// possible CPUs (wrapping, as the kernel's counters do). `value_size` must be a
    /// multiple of 8.
    pub fn sum_percpu_u64(&self, key: &[u8]) -> Result<Option<Vec<u64>>, BpfError> {
        if !self.info.value_size.is_multiple_of(8) {
            return Err(BpfError::Invalid(format!(
                "map {:?}: value size {} is not a multiple of 8",
                self.info.name, self.info.value_size
            )));
        }
        Ok(self.lookup_percpu(key)?.map(|cpus| {
            let fields = usize::try_from(self.info.value_size / 8).unwrap_or(0);
            let mut sums = vec![0u64; fields];
            for cpu in &cpus {
                for (sum, chunk) in sums.iter_mut().zip(cpu.chunks_exact(8)) {
                    let v = chunk.try_into().map(u64::from_ne_bytes).unwrap_or(0);
                    *sum = sum.wrapping_add(v);
                }
            }
            sums
        }))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::sys::btf::Btf;
    use std::mem::offset_of;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,8,10-11"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    pub(crate) fn check_layouts(btf: &Btf) {
        let off = |outer: &str, path: &str| {
            btf.member(outer, path)
                .ok()
                .and_then(|m| m.byte_offset())
                .and_then(|o| usize::try_from(o).ok())
        };
        let a = "bpf_attr";
        assert_eq!(
            Some(offset_of!(MapCreateAttr, map_type)),
            off(a, "map_type")
        );
        assert_eq!(
            Some(offset_of!(MapCreateAttr, map_flags)),
            off(a, "map_flags")
        );
        assert_eq!(
            Some(offset_of!(MapCreateAttr, map_name)),
            off(a, "map_name")
        );
        assert_eq!(
            Some(offset_of!(MapCreateAttr, btf_vmlinux_value_type_id)),
            off(a, "btf_vmlinux_value_type_id")
        );
        assert_eq!(
            Some(offset_of!(MapCreateAttr, map_extra)),
            off(a, "map_extra")
        );
        assert_eq!(Some(offset_of!(ElemAttr, map_fd)), off(a, "map_fd"));
        assert_eq!(Some(offset_of!(ElemAttr, key)), off(a, "key"));
        assert_eq!(Some(offset_of!(ElemAttr, value)), off(a, "value"));
        assert_eq!(Some(offset_of!(ElemAttr, value)), off(a, "next_key"));
        let i = "bpf_map_info";
        assert_eq!(Some(offset_of!(RawMapInfo, key_size)), off(i, "key_size"));
        assert_eq!(Some(offset_of!(RawMapInfo, name)), off(i, "name"));
        assert_eq!(Some(offset_of!(RawMapInfo, netns_dev)), off(i, "netns_dev"));
        assert_eq!(Some(offset_of!(RawMapInfo, map_extra)), off(i, "map_extra"));
        for (t, name) in [
            (MapType::Hash, "BPF_MAP_TYPE_HASH"),
            (MapType::Array, "BPF_MAP_TYPE_ARRAY"),
            (MapType::PercpuHash, "BPF_MAP_TYPE_PERCPU_HASH"),
            (MapType::PercpuArray, "BPF_MAP_TYPE_PERCPU_ARRAY"),
            (MapType::LpmTrie, "BPF_MAP_TYPE_LPM_TRIE"),
            (MapType::RingBuf, "BPF_MAP_TYPE_RINGBUF"),
            (MapType::Other(10), "BPF_MAP_TYPE_LRU_PERCPU_HASH"),
            (MapType::Other(21), "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE"),
        ] {
            assert_eq!(
                btf.enum_value("bpf_map_type", name).ok(),
                Some(i64::from(t.code())),
                "{name}"
            );
        }
    }
}

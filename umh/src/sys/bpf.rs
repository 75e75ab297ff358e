//! Raw `bpf(2)`: program load and test-run, netfilter links, maps, pinning, object info.
//!
//! Every call goes through one function, [`sys_bpf`], the only `unsafe` in this module
//! family. Each command has its own `#[repr(C)]` attribute struct that mirrors the kernel's
//! `union bpf_attr` member up to the last field used (the kernel accepts a shorter `size` and
//! zero-fills the rest). The structs derive `zerocopy::IntoBytes`, which refuses to compile
//! if a struct has implicit padding: the kernel rejects non-zero bytes after the fields a
//! command reads, and uninitialised padding could be anything. Their field offsets are checked
//! against the running kernel's BTF in the tests.
//!
//! Pointers travel to the kernel as `u64` addresses inside those structs, so the safety
//! argument is always the same: the buffer is borrowed for the whole call and the length
//! stored next to the address is the buffer's length (or, for map keys and values, a length
//! checked against the map's key and value sizes before the call).
//!
//! ```text
//! Program::load_netfilter(insns) --PROG_LOAD(log level 4; on ENOSPC: retry with
//!        |                                  log_true_size; on failure: reload at 1|4)
//!        +--> (Program, LoadStats{processed insns, JIT size, load time, log})
//! Program::test_run(data, ctx)   --PROG_TEST_RUN--> retval, duration
//! Link::netfilter(prog, pf, hook, priority) --LINK_CREATE--> attached in this thread's netns
//! Map::create(spec) / lookup / update / delete / lookup_percpu / sum_percpu_u64
//! obj_pin / obj_get on bpffs; Fd closes on drop (a link detaches when its last fd closes)
//! ```

#[path = "bpf_map.rs"]
mod map;

pub use map::{
    lpm_key, parse_cpu_list, possible_cpus, Map, MapInfo, MapSpec, MapType, UpdateFlags,
};

use bpfilter_core::codegen::{Insn, BPF_NETFILTER, BPF_PROG_TYPE_NETFILTER};
use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `bpf(2)` commands used here (`enum bpf_cmd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmd {
    /// `BPF_MAP_CREATE`.
    MapCreate,
    /// `BPF_MAP_LOOKUP_ELEM`.
    MapLookupElem,
    /// `BPF_MAP_UPDATE_ELEM`.
    MapUpdateElem,
    /// `BPF_MAP_DELETE_ELEM`.
    MapDeleteElem,
    /// `BPF_MAP_GET_NEXT_KEY`.
    MapGetNextKey,
    /// `BPF_MAP_UPDATE_BATCH`.
    MapUpdateBatch,
    /// `BPF_PROG_LOAD`.
    ProgLoad,
    /// `BPF_OBJ_PIN`.
    ObjPin,
    /// `BPF_OBJ_GET`.
    ObjGet,
    /// `BPF_PROG_TEST_RUN`.
    ProgTestRun,
    /// `BPF_OBJ_GET_INFO_BY_FD`.
    ObjGetInfoByFd,
    /// `BPF_LINK_CREATE`.
    LinkCreate,
    /// `BPF_LINK_DETACH`.
    LinkDetach,
    /// `BPF_BTF_LOAD`.
    BtfLoad,
}

impl Cmd {
    /// The command number.
    pub const fn code(self) -> u32 {
        match self {
            Cmd::MapCreate => 0,
            Cmd::MapLookupElem => 1,
            Cmd::MapUpdateElem => 2,
            Cmd::MapDeleteElem => 3,
            Cmd::MapGetNextKey => 4,
            Cmd::MapUpdateBatch => 26,
            Cmd::ProgLoad => 5,
            Cmd::ObjPin => 6,
            Cmd::ObjGet => 7,
            Cmd::ProgTestRun => 10,
            Cmd::ObjGetInfoByFd => 15,
            Cmd::LinkCreate => 28,
            Cmd::LinkDetach => 34,
            Cmd::BtfLoad => 18,
        }
    }

    /// The kernel's name, e.g. `"BPF_PROG_LOAD"`.
    pub const fn name(self) -> &'static str {
        match self {
            Cmd::MapCreate => "BPF_MAP_CREATE",
            Cmd::MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
            Cmd::MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
            Cmd::MapDeleteElem => "BPF_MAP_DELETE_ELEM",
            Cmd::MapGetNextKey => "BPF_MAP_GET_NEXT_KEY",
            Cmd::MapUpdateBatch => "BPF_MAP_UPDATE_BATCH",
            Cmd::ProgLoad => "BPF_PROG_LOAD",
            Cmd::ObjPin => "BPF_OBJ_PIN",
            Cmd::ObjGet => "BPF_OBJ_GET",
            Cmd::ProgTestRun => "BPF_PROG_TEST_RUN",
            Cmd::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Cmd::LinkCreate => "BPF_LINK_CREATE",
            Cmd::LinkDetach => "BPF_LINK_DETACH",
            Cmd::BtfLoad => "BPF_BTF_LOAD",
        }
    }
}

/// A failed BPF operation.
#[derive(Debug)]
pub enum BpfError {
    /// A `bpf(2)` call failed.
    Syscall {
        /// The command.
        cmd: Cmd,
        /// The errno.
        errno: i32,
    },
    /// The verifier (or the loader before it) rejected a program; the log is kept whole.
    Verifier {
        /// The errno of the load that failed.
        errno: i32,
        /// The verifier log, as the kernel wrote it.
        log: String,
        /// Whether the log hit the size limit (the kernel keeps its tail then).
        truncated: bool,
    },
    /// An argument this module refuses before any syscall (wrong key length, bad name).
    Invalid(String),
    /// Reading a file the kernel exposes failed.
    Io {
        /// What was being read.
        what: String,
        /// The error.
        source: io::Error,
    },
}

impl BpfError {
    /// The errno behind the error, if a syscall returned one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            BpfError::Syscall { errno, .. } | BpfError::Verifier { errno, .. } => Some(*errno),
            BpfError::Invalid(_) => Some(libc::EINVAL),
            BpfError::Io { source, .. } => source.raw_os_error(),
        }
    }

    /// The verifier log, for a rejected program.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            BpfError::Verifier { log, .. } => Some(log),
            _ => None,
        }
    }
}

impl fmt::Display for BpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BpfError::Syscall { cmd, errno } => write!(
                f,
                "{}: {}",
                cmd.name(),
                io::Error::from_raw_os_error(*errno)
            ),
            BpfError::Verifier {
                errno,
                log,
                truncated,
            } => {
                write!(
                    f,
                    "BPF_PROG_LOAD rejected the program: {}\n--- verifier log{} ---\n{log}",
                    io::Error::from_raw_os_error(*errno),
                    if *truncated { " (tail only)" } else { "" }
                )
            }
            BpfError::Invalid(what) => write!(f, "invalid BPF argument: {what}"),
            BpfError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for BpfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BpfError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A BPF object file descriptor (program, map, link); closed on drop.
#[derive(Debug)]
pub struct Fd(OwnedFd);

impl Fd {
    /// The raw descriptor, e.g. for `ld_map_fd`. It stays owned by `self`.
    pub fn as_raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// A second descriptor for the same object.
    pub fn try_clone(&self) -> io::Result<Fd> {
        self.0.try_clone().map(Fd)
    }

    /// Give up ownership.
    pub fn into_owned(self) -> OwnedFd {
        self.0
    }

    /// The descriptor as the `u32` bpf_attr fields take (descriptors are never negative).
    fn as_u32(&self) -> u32 {
        u32::try_from(self.as_raw()).unwrap_or(u32::MAX)
    }
}

impl From<OwnedFd> for Fd {
    fn from(fd: OwnedFd) -> Fd {
        Fd(fd)
    }
}

impl AsFd for Fd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.as_raw()
    }
}

/// Address of a buffer as a bpf_attr field.
fn addr<T: ?Sized>(p: *const T) -> u64 {
    p.cast::<u8>() as usize as u64
}

/// A length as a bpf_attr `u32` field.
fn len_u32(len: usize, what: &str) -> Result<u32, BpfError> {
    u32::try_from(len).map_err(|_| BpfError::Invalid(format!("{what} too long ({len} bytes)")))
}

/// The single `bpf(2)` choke point. Returns the syscall's non-negative result or the errno.
///
/// # Safety
///
/// Every address stored in `attr` must point to memory that stays valid for the whole call
/// and is at least as long as the length the kernel will use for it (the length stored beside
/// it, or the map's key/value size), and writable where the kernel writes.
unsafe fn sys_bpf<A: IntoBytes + FromBytes + Immutable>(
    cmd: Cmd,
    attr: &mut A,
) -> Result<i64, i32> {
    let size = std::mem::size_of::<A>();
    // SAFETY: `attr` is an exclusively borrowed, fully initialised struct of `size` bytes
    // without padding (IntoBytes); the kernel reads and may write back at most `size` bytes
    // of it. Addresses inside it are valid per this function's contract.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(cmd.code()),
            std::ptr::from_mut(attr),
            size,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(ret)
    }
}

/// Turn a syscall result that is a new descriptor into an owned [`Fd`]. A value that is not
/// a descriptor (cannot happen for the object-creating commands) is `EBADF`, never wrapped.
fn new_fd(ret: i64) -> Result<Fd, i32> {
    let raw = RawFd::try_from(ret)
        .ok()
        .filter(|fd| *fd >= 0)
        .ok_or(libc::EBADF)?;
    // SAFETY: the kernel just returned `raw` as a new, open descriptor that nothing else owns
    // (commands creating objects return a fresh fd or fail).
    Ok(Fd(unsafe { OwnedFd::from_raw_fd(raw) }))
}

/// A NUL-terminated object name (`BPF_OBJ_NAME_LEN` = 16): the kernel accepts only
/// `[A-Za-z0-9_.]` and at most 15 characters.
fn obj_name(name: &str) -> Result<[u8; 16], BpfError> {
    let mut out = [0u8; 16];
    if name.len() > 15
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(BpfError::Invalid(format!(
            "object name {name:?}: at most 15 of [A-Za-z0-9_.]"
        )));
    }
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = b;
    }
    Ok(out)
}

fn path_cstring(path: &Path) -> Result<CString, BpfError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| BpfError::Invalid(format!("path {} contains NUL", path.display())))
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_prog_fd: u32,
    core_relo_cnt: u32,
    fd_array: u64,
    core_relos: u64,
    core_relo_rec_size: u32,
    log_true_size: u32,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
    btf_log_true_size: u32,
    btf_flags: u32,
    btf_token_fd: u32,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct LinkCreateNetfilterAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    pf: u32,
    hooknum: u32,
    priority: i32,
    nf_flags: u32,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct LinkDetachAttr {
    link_fd: u32,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
    path_fd: i32,
    _pad: u32,
}

#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_prog_info` up to `attach_btf_id`.
#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct RawProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
    ifindex: u32,
    gpl_compatible: u32,
    netns_dev: u64,
    netns_ino: u64,
    nr_jited_ksyms: u32,
    nr_jited_func_lens: u32,
    jited_ksyms: u64,
    jited_func_lens: u64,
    btf_id: u32,
    func_info_rec_size: u32,
    func_info: u64,
    nr_func_info: u32,
    nr_line_info: u32,
    line_info: u64,
    jited_line_info: u64,
    nr_jited_line_info: u32,
    line_info_rec_size: u32,
    jited_line_info_rec_size: u32,
    nr_prog_tags: u32,
    prog_tags: u64,
    run_time_ns: u64,
    run_cnt: u64,
    recursion_misses: u64,
    verified_insns: u32,
    attach_btf_obj_id: u32,
    attach_btf_id: u32,
    _pad: u32,
}

/// `struct bpf_link_info` with the netfilter arm of its union.
#[derive(IntoBytes, FromBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
struct RawLinkInfo {
    link_type: u32,
    id: u32,
    prog_id: u32,
    _pad: u32,
    nf_pf: u32,
    nf_hooknum: u32,
    nf_priority: i32,
    nf_flags: u32,
    _rest: [u64; 4],
}

/// Fill `info` for the object behind `fd` (`BPF_OBJ_GET_INFO_BY_FD`).
fn obj_get_info<T: IntoBytes + FromBytes + Immutable>(
    fd: &Fd,
    info: &mut T,
) -> Result<(), BpfError> {
    let mut attr = InfoAttr {
        bpf_fd: fd.as_u32(),
        info_len: len_u32(std::mem::size_of::<T>(), "info")?,
        info: addr(std::ptr::from_mut(info)),
    };
    // SAFETY: `info` is exclusively borrowed for the call and `info_len` is its size; the
    // kernel writes at most `info_len` bytes. It contains only integers, so any bytes written
    // are a valid value; its pointer fields are zero, so the kernel writes nothing through them.
    unsafe { sys_bpf(Cmd::ObjGetInfoByFd, &mut attr) }
        .map(drop)
        .map_err(|errno| BpfError::Syscall {
            cmd: Cmd::ObjGetInfoByFd,
            errno,
        })
}

/// Pin the object behind `fd` at `path` on a bpffs mount.
pub fn obj_pin(fd: &Fd, path: &Path) -> Result<(), BpfError> {
    let c = path_cstring(path)?;
    let mut attr = ObjAttr {
        pathname: addr(c.as_ptr()),
        bpf_fd: fd.as_u32(),
        ..ObjAttr::default()
    };
    // SAFETY: `pathname` is a NUL-terminated string borrowed for the call.
    unsafe { sys_bpf(Cmd::ObjPin, &mut attr) }
        .map(drop)
        .map_err(|errno| BpfError::Syscall {
            cmd: Cmd::ObjPin,
            errno,
        })
}

/// Open the object pinned at `path`.
pub fn obj_get(path: &Path) -> Result<Fd, BpfError> {
    let c = path_cstring(path)?;
    let mut attr = ObjAttr {
        pathname: addr(c.as_ptr()),
        ..ObjAttr::default()
    };
    // SAFETY: `pathname` is a NUL-terminated string borrowed for the call.
    unsafe { sys_bpf(Cmd::ObjGet, &mut attr) }
        .and_then(new_fd)
        .map_err(|errno| BpfError::Syscall {
            cmd: Cmd::ObjGet,
            errno,
        })
}

/// `BPF_LOG_LEVEL1`: the verifier's instruction-by-instruction trace.
pub const LOG_LEVEL1: u32 = 1;
/// `BPF_LOG_LEVEL2`: the trace with every state.
pub const LOG_LEVEL2: u32 = 2;
/// `BPF_LOG_STATS`: only the summary ("processed N insns ...") and errors.
pub const LOG_STATS: u32 = 4;
/// The largest log buffer the kernel accepts (`UINT_MAX >> 2`).
pub const LOG_SIZE_MAX: u32 = u32::MAX >> 2;

/// How to load a program.
#[derive(Clone, Debug)]
pub struct LoadOptions<'a> {
    /// Program name (at most 15 of `[A-Za-z0-9_.]`), shown by bpftool.
    pub name: &'a str,
    /// Verifier log level for the load ([`LOG_STATS`] by default: cheap, and enough for the
    /// processed-instruction count).
    pub log_level: u32,
    /// First log buffer size in bytes.
    pub log_size: u32,
    /// Largest log buffer to retry with when the log does not fit.
    pub max_log_size: u32,
    /// On failure, load again with [`LOG_LEVEL1`] so the error carries the whole trace.
    pub full_log_on_error: bool,
}

impl Default for LoadOptions<'_> {
    fn default() -> Self {
        LoadOptions {
            name: "bpfilter",
            log_level: LOG_STATS,
            log_size: 64 * 1024,
            max_log_size: 256 * 1024 * 1024,
            full_log_on_error: true,
        }
    }
}

/// What the kernel said about a successful load.
#[derive(Clone, Debug)]
pub struct LoadStats {
    /// Program id (global, as `bpftool prog` shows it).
    pub id: u32,
    /// Instructions submitted.
    pub insn_cnt: usize,
    /// "processed N insns" parsed from the verifier log, if the log has it.
    pub processed_insns: Option<u64>,
    /// The same count from `bpf_prog_info.verified_insns`.
    pub verified_insns: u32,
    /// Size of the JIT image in bytes (`jited_prog_len`; 0 without JIT).
    pub jited_len: u32,
    /// Size of the program after the kernel's rewrites, in bytes.
    pub xlated_len: u32,
    /// Wall time of the successful `BPF_PROG_LOAD` call (verification and JIT).
    pub load_time: Duration,
    /// Number of `BPF_PROG_LOAD` calls made (more than 1 when the log had to grow).
    pub attempts: u32,
    /// The verifier log of the successful load.
    pub log: String,
}

/// Summary of `bpf_prog_info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgInfo {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// Program id.
    pub id: u32,
    /// The program tag (a hash of its instructions).
    pub tag: [u8; 8],
    /// JIT image size.
    pub jited_prog_len: u32,
    /// Size after kernel rewrites.
    pub xlated_prog_len: u32,
    /// Verifier-processed instructions.
    pub verified_insns: u32,
    /// Total run time when `kernel.bpf_stats_enabled` is on.
    pub run_time_ns: u64,
    /// Run count when `kernel.bpf_stats_enabled` is on.
    pub run_cnt: u64,
    /// Name given at load.
    pub name: String,
}

/// Parse "processed N insns" from a verifier log (the last such line wins).
pub fn parse_processed_insns(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|line| {
        let rest = line.trim_start().strip_prefix("processed ")?;
        let (n, tail) = rest.split_once(' ')?;
        tail.starts_with("insns").then(|| n.parse().ok()).flatten()
    })
}

fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
}

/// One load attempt's result, as the log-retry loop sees it.
#[derive(Debug)]
pub(crate) struct Attempt<T> {
    pub(crate) result: Result<T, i32>,
    /// `log_true_size` as the kernel reported it (0 if it did not).
    pub(crate) true_size: u32,
}

/// Run `attempt` with a log buffer, growing the buffer while the kernel says the log did not
/// fit (`ENOSPC`): to exactly `log_true_size` when the kernel reports it (6.4+), else
/// doubling, up to `max`. Returns the result, the log, the number of attempts, and whether the
/// log was still truncated.
pub(crate) fn with_log<T>(
    initial: u32,
    max: u32,
    mut attempt: impl FnMut(&mut [u8]) -> Attempt<T>,
) -> (Result<T, i32>, String, u32, bool) {
    let max = max.clamp(1, LOG_SIZE_MAX);
    let mut size = initial.clamp(1, max);
    let mut attempts = 0u32;
    loop {
        let Ok(len) = usize::try_from(size) else {
            return (Err(libc::ENOMEM), String::new(), attempts, false);
        };
        let mut buf = vec![0u8; len];
        let a = attempt(&mut buf);
        attempts = attempts.saturating_add(1);
        let log = log_text(&buf);
        match a.result {
            Err(libc::ENOSPC) if size < max => {
                size = if a.true_size > size {
                    a.true_size
                } else {
                    size.saturating_mul(2)
                }
                .min(max);
            }
            Err(libc::ENOSPC) => return (Err(libc::ENOSPC), log, attempts, true),
            r => return (r, log, attempts, false),
        }
    }
}

/// One `BPF_PROG_LOAD` call with `log` as the log buffer; `Ok((fd, elapsed))`.
#[expect(clippy::too_many_arguments, reason = "the attr's fields, one by one")]
fn prog_load_once(
    prog_type: u32,
    expected_attach_type: u32,
    insns: &[u8],
    insn_cnt: u32,
    name: [u8; 16],
    log_level: u32,
    log: &mut [u8],
    funcs: Option<&(Fd, Vec<u8>)>,
) -> Attempt<(Fd, Duration)> {
    const LICENSE: &std::ffi::CStr = c"GPL";
    let Ok(log_size) = u32::try_from(log.len()) else {
        return Attempt {
            result: Err(libc::EINVAL),
            true_size: 0,
        };
    };
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt,
        insns: addr(insns.as_ptr()),
        license: addr(LICENSE.as_ptr()),
        log_level,
        log_size,
        log_buf: addr(log.as_mut_ptr()),
        prog_name: name,
        expected_attach_type,
        ..ProgLoadAttr::default()
    };
    if let Some((btf, info)) = funcs {
        attr.prog_btf_fd = u32::try_from(btf.as_raw()).unwrap_or(u32::MAX);
        attr.func_info_rec_size = FUNC_INFO_SIZE;
        attr.func_info = addr(info.as_ptr());
        attr.func_info_cnt = u32::try_from(info.len() / 8).unwrap_or(0);
    }
    let mut result = Err(libc::EAGAIN);
    // libbpf retries EAGAIN a few times: the kernel can return it when memory for the
    // verifier is momentarily short.
    for _ in 0..5 {
        let start = Instant::now();
        // SAFETY: `insns` holds `insn_cnt` 8-byte instructions, `license` is a static
        // NUL-terminated string, `log_buf` is a writable buffer of `log_size` bytes and
        // `func_info` holds `func_info_cnt` 8-byte records, all borrowed for the whole call.
        result = unsafe { sys_bpf(Cmd::ProgLoad, &mut attr) }
            .and_then(new_fd)
            .map(|fd| (fd, start.elapsed()));
        if !matches!(result, Err(libc::EAGAIN)) {
            break;
        }
    }
    Attempt {
        result,
        true_size: attr.log_true_size,
    }
}

/// `sizeof(struct bpf_func_info)`: `insn_off`, `type_id`.
const FUNC_INFO_SIZE: u32 = 8;

/// BTF and `func_info` for a program that passes a callback (`ld_imm64` with
/// `BPF_PSEUDO_FUNC`, e.g. to `bpf_loop`): the verifier refuses those without function info
/// ("missing btf func_info"). Every function (main and each target of a `BPF_PSEUDO_CALL` or
/// `BPF_PSEUDO_FUNC`) gets a static `int fN(void)`; static functions are verified by their
/// code, not by their BTF prototype. `None` for programs without callbacks.
fn func_info(insns: &[Insn]) -> Result<Option<(Fd, Vec<u8>)>, BpfError> {
    const LD_IMM64: u8 = 0x18;
    const CALL: u8 = 0x85;
    const PSEUDO_CALL: u8 = 1;
    const PSEUDO_FUNC: u8 = 4;
    if !insns
        .iter()
        .any(|i| i.code == LD_IMM64 && i.src == PSEUDO_FUNC)
    {
        return Ok(None);
    }
    let mut starts = std::collections::BTreeSet::new();
    starts.insert(0i64);
    for (pc, i) in insns.iter().enumerate() {
        if (i.code == CALL && i.src == PSEUDO_CALL) || (i.code == LD_IMM64 && i.src == PSEUDO_FUNC)
        {
            let pc = i64::try_from(pc).unwrap_or(i64::MAX);
            starts.insert(pc.saturating_add(i64::from(i.imm)).saturating_add(1));
        }
    }
    let n = u32::try_from(starts.len()).map_err(|_| BpfError::Invalid("functions".into()))?;
    let btf = btf_load(&func_btf(n))?;
    let mut info = Vec::with_capacity(starts.len().saturating_mul(8));
    for (i, at) in (0u32..).zip(&starts) {
        let off = u32::try_from(*at).map_err(|_| BpfError::Invalid("function start".into()))?;
        info.extend_from_slice(&off.to_ne_bytes());
        // Types: 1 int, 2 the prototype, 3.. the functions.
        info.extend_from_slice(&i.saturating_add(3).to_ne_bytes());
    }
    Ok(Some((btf, info)))
}

/// A BTF blob: `int`, `int (void)`, and `n` static functions `f0`..`fn-1` of that type.
fn func_btf(n: u32) -> Vec<u8> {
    const KIND_INT: u32 = 1;
    const KIND_FUNC: u32 = 12;
    const KIND_FUNC_PROTO: u32 = 13;
    let mut strings = b"\0int\0".to_vec();
    let mut types: Vec<u8> = Vec::new();
    let mut put = |words: &[u32]| {
        for w in words {
            types.extend_from_slice(&w.to_ne_bytes());
        }
    };
    // [1] int: signed, 32 bits.
    put(&[1, KIND_INT << 24, 4, (1 << 24) | 32]);
    // [2] int (void).
    put(&[0, KIND_FUNC_PROTO << 24, 1]);
    for i in 0..n {
        let name = u32::try_from(strings.len()).unwrap_or(0);
        strings.extend_from_slice(format!("f{i}\0").as_bytes());
        // Static linkage (vlen 0).
        put(&[name, KIND_FUNC << 24, 2]);
    }
    let type_len = u32::try_from(types.len()).unwrap_or(u32::MAX);
    let str_len = u32::try_from(strings.len()).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    out.extend_from_slice(&0xEB9Fu16.to_ne_bytes());
    out.extend_from_slice(&[1, 0]);
    for w in [24u32, 0, type_len, type_len, str_len] {
        out.extend_from_slice(&w.to_ne_bytes());
    }
    out.extend_from_slice(&types);
    out.extend_from_slice(&strings);
    out
}

/// `BPF_BTF_LOAD`; a refusal carries the kernel's BTF log.
fn btf_load(blob: &[u8]) -> Result<Fd, BpfError> {
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = BtfLoadAttr {
        btf: addr(blob.as_ptr()),
        btf_log_buf: addr(log.as_mut_ptr()),
        btf_size: len_u32(blob.len(), "BTF")?,
        btf_log_size: len_u32(log.len(), "BTF log")?,
        btf_log_level: 1,
        ..BtfLoadAttr::default()
    };
    // SAFETY: `btf` points at `btf_size` readable bytes and `btf_log_buf` at `btf_log_size`
    // writable bytes, both borrowed for the whole call.
    match unsafe { sys_bpf(Cmd::BtfLoad, &mut attr) }.and_then(new_fd) {
        Ok(fd) => Ok(fd),
        Err(errno) => Err(BpfError::Verifier {
            errno,
            log: String::from_utf8_lossy(&log)
                .trim_end_matches('\0')
                .to_string(),
            truncated: false,
        }),
    }
}

/// A loaded program. The kernel keeps it while a descriptor, a link or a pin holds it.
#[derive(Debug)]
pub struct Program {
    fd: Fd,
}

/// One `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug)]
pub struct TestRun<'a> {
    /// Packet bytes: a raw IPv4 packet without `ctx` (LOCAL_OUT), an Ethernet frame with a
    /// `ctx` naming another hook (the kernel runs `eth_type_trans` on it).
    pub data: &'a [u8],
    /// Context: for netfilter, a 48-byte `struct nf_hook_state` (see [`nf_hook_state`]).
    pub ctx: Option<&'a [u8]>,
    /// Run this many times; the duration is the kernel-timed mean per run.
    pub repeat: u32,
}

/// What one test run returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The program's return value (the verdict).
    pub retval: u32,
    /// Mean nanoseconds per run, timed by the kernel.
    pub duration_ns: u32,
}

/// Size of `struct nf_hook_state` in this kernel (checked against BTF in the tests).
pub const NF_HOOK_STATE_SIZE: usize = 48;

/// A test-run context for a netfilter program: `struct nf_hook_state` with only `hook`
/// (byte 0) and `pf` (byte 1) set; the kernel rejects non-zero pointers in it.
pub fn nf_hook_state(hook: u8, pf: u8) -> [u8; NF_HOOK_STATE_SIZE] {
    let mut s = [0u8; NF_HOOK_STATE_SIZE];
    s[0] = hook;
    s[1] = pf;
    s
}

impl Program {
    /// Load a `BPF_PROG_TYPE_NETFILTER` program (GPL, `expected_attach_type = BPF_NETFILTER`).
    pub fn load_netfilter(
        insns: &[Insn],
        opts: &LoadOptions<'_>,
    ) -> Result<(Program, LoadStats), BpfError> {
        Program::load(BPF_PROG_TYPE_NETFILTER, BPF_NETFILTER, insns, opts)
    }

    /// Load a program of any type; see [`LoadOptions`] for the log handling.
    pub fn load(
        prog_type: u32,
        expected_attach_type: u32,
        insns: &[Insn],
        opts: &LoadOptions<'_>,
    ) -> Result<(Program, LoadStats), BpfError> {
        let name = obj_name(opts.name)?;
        let image = bpfilter_core::codegen::encode_all(insns);
        let insn_cnt = len_u32(insns.len(), "program")?;
        let funcs = func_info(insns)?;
        let load = |level: u32| {
            with_log(opts.log_size, opts.max_log_size, |log| {
                prog_load_once(
                    prog_type,
                    expected_attach_type,
                    &image,
                    insn_cnt,
                    name,
                    level,
                    log,
                    funcs.as_ref(),
                )
            })
        };
        let (result, log, attempts, truncated) = load(opts.log_level);
        let (fd, load_time) = match result {
            Ok(ok) => ok,
            Err(errno) => {
                let full = LOG_LEVEL1 | LOG_STATS;
                if opts.full_log_on_error && opts.log_level & (LOG_LEVEL1 | LOG_LEVEL2) == 0 {
                    if let (Err(_), full_log, _, full_truncated) = load(full) {
                        return Err(BpfError::Verifier {
                            errno,
                            log: full_log,
                            truncated: full_truncated,
                        });
                    }
                }
                return Err(BpfError::Verifier {
                    errno,
                    log,
                    truncated,
                });
            }
        };
        let prog = Program { fd };
        let info = prog.info()?;
        let stats = LoadStats {
            id: info.id,
            insn_cnt: insns.len(),
            processed_insns: parse_processed_insns(&log),
            verified_insns: info.verified_insns,
            jited_len: info.jited_prog_len,
            xlated_len: info.xlated_prog_len,
            load_time,
            attempts,
            log,
        };
        Ok((prog, stats))
    }

    /// Wrap a descriptor known to be a program (e.g. from [`obj_get`]).
    pub fn from_fd(fd: Fd) -> Program {
        Program { fd }
    }

    /// Open a program pinned on bpffs.
    pub fn from_pinned(path: &Path) -> Result<Program, BpfError> {
        obj_get(path).map(Program::from_fd)
    }

    /// The program's descriptor.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Pin the program at `path` on bpffs.
    pub fn pin(&self, path: &Path) -> Result<(), BpfError> {
        obj_pin(&self.fd, path)
    }

    /// `bpf_prog_info` for this program.
    pub fn info(&self) -> Result<ProgInfo, BpfError> {
        let mut raw = RawProgInfo::default();
        obj_get_info(&self.fd, &mut raw)?;
        Ok(ProgInfo {
            prog_type: raw.prog_type,
            id: raw.id,
            tag: raw.tag,
            jited_prog_len: raw.jited_prog_len,
            xlated_prog_len: raw.xlated_prog_len,
            verified_insns: raw.verified_insns,
            run_time_ns: raw.run_time_ns,
            run_cnt: raw.run_cnt,
            name: log_text(&raw.name),
        })
    }

    /// Run the program on `run.data` (`BPF_PROG_TEST_RUN`); nothing is attached.
    pub fn test_run(&self, run: &TestRun<'_>) -> Result<TestRunOutput, BpfError> {
        let (ctx_in, ctx_size_in) = match run.ctx {
            Some(c) => (addr(c.as_ptr()), len_u32(c.len(), "ctx")?),
            None => (0, 0),
        };
        let mut attr = TestRunAttr {
            prog_fd: self.fd.as_u32(),
            data_size_in: len_u32(run.data.len(), "data")?,
            data_in: addr(run.data.as_ptr()),
            repeat: run.repeat,
            ctx_size_in,
            ctx_in,
            ..TestRunAttr::default()
        };
        // SAFETY: `data_in` and `ctx_in` are borrowed for the call with their exact lengths;
        // `data_out` and `ctx_out` are null with size 0, so the kernel writes no output.
        unsafe { sys_bpf(Cmd::ProgTestRun, &mut attr) }.map_err(|errno| BpfError::Syscall {
            cmd: Cmd::ProgTestRun,
            errno,
        })?;
        Ok(TestRunOutput {
            retval: attr.retval,
            duration_ns: attr.duration,
        })
    }
}

/// Where and how a netfilter link attaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetfilterAttach {
    /// Protocol family (`NFPROTO_IPV4` = 2).
    pub pf: u32,
    /// Hook number (`NF_INET_LOCAL_IN` = 1, ...).
    pub hooknum: u32,
    /// Priority among the hook's functions (the filter table's is 0); the kernel refuses
    /// `INT_MIN` and `INT_MAX`, and a priority already taken by another BPF link.
    pub priority: i32,
    /// `BPF_F_NETFILTER_IP_DEFRAG` (1) or 0.
    pub flags: u32,
}

/// `NFPROTO_IPV4`.
pub const NFPROTO_IPV4: u32 = 2;
/// `NFPROTO_IPV6`.
pub const NFPROTO_IPV6: u32 = 10;
/// `BPF_LINK_TYPE_NETFILTER`.
pub const BPF_LINK_TYPE_NETFILTER: u32 = 10;

/// What `bpf_link_info` says about a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// `BPF_LINK_TYPE_*`.
    pub link_type: u32,
    /// Link id (global, as `bpftool link show` lists it).
    pub id: u32,
    /// Id of the attached program.
    pub prog_id: u32,
    /// For netfilter links, where it is attached.
    pub netfilter: Option<NetfilterAttach>,
}

/// A BPF link; closing its last descriptor (dropping it, unless pinned) detaches it.
#[derive(Debug)]
pub struct Link {
    fd: Fd,
}

impl Link {
    /// Attach `prog` to a netfilter hook in the network namespace of the calling thread.
    pub fn netfilter(prog: &Program, at: &NetfilterAttach) -> Result<Link, BpfError> {
        let mut attr = LinkCreateNetfilterAttr {
            prog_fd: prog.fd.as_u32(),
            attach_type: BPF_NETFILTER,
            pf: at.pf,
            hooknum: at.hooknum,
            priority: at.priority,
            nf_flags: at.flags,
            ..LinkCreateNetfilterAttr::default()
        };
        // SAFETY: the attribute holds only integers, no addresses.
        unsafe { sys_bpf(Cmd::LinkCreate, &mut attr) }
            .and_then(new_fd)
            .map(|fd| Link { fd })
            .map_err(|errno| BpfError::Syscall {
                cmd: Cmd::LinkCreate,
                errno,
            })
    }

    /// Wrap a descriptor known to be a link.
    pub fn from_fd(fd: Fd) -> Link {
        Link { fd }
    }

    /// Open a link pinned on bpffs.
    pub fn from_pinned(path: &Path) -> Result<Link, BpfError> {
        obj_get(path).map(Link::from_fd)
    }

    /// The link's descriptor.
    pub fn fd(&self) -> &Fd {
        &self.fd
    }

    /// Pin the link at `path`: it then stays attached after every descriptor is closed.
    pub fn pin(&self, path: &Path) -> Result<(), BpfError> {
        obj_pin(&self.fd, path)
    }

    /// Detach now, even if pinned or held elsewhere (`BPF_LINK_DETACH`); the descriptor
    /// stays valid but defunct.
    pub fn detach(&self) -> Result<(), BpfError> {
        let mut attr = LinkDetachAttr {
            link_fd: self.fd.as_u32(),
        };
        // SAFETY: the attribute holds only integers, no addresses.
        unsafe { sys_bpf(Cmd::LinkDetach, &mut attr) }
            .map(drop)
            .map_err(|errno| BpfError::Syscall {
                cmd: Cmd::LinkDetach,
                errno,
            })
    }

    /// `bpf_link_info` for this link.
    pub fn info(&self) -> Result<LinkInfo, BpfError> {
        let mut raw = RawLinkInfo::default();
        obj_get_info(&self.fd, &mut raw)?;
        Ok(LinkInfo {
            link_type: raw.link_type,
            id: raw.id,
            prog_id: raw.prog_id,
            netfilter: (raw.link_type == BPF_LINK_TYPE_NETFILTER).then_some(NetfilterAttach {
                pf: raw.nf_pf,
                hooknum: raw.nf_hooknum,
                priority: raw.nf_priority,
                flags: raw.nf_flags,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::btf::Btf;
    use std::mem::offset_of;

    #[test]
    fn processed_insns_is_parsed_from_the_stats_line() {
        let log = "func#0 @0\nprocessed 23 insns (limit 1000000) max_states_per_insn 0 \
                   total_states 2 peak_states 2 mark_read 1\n";
        assert_eq!(parse_processed_insns(log), Some(23));
        assert_eq!(parse_processed_insns("processed many insns"), None);
        assert_eq!(parse_processed_insns(""), None);
    }

    #[test]
    fn log_grows_to_the_true_size_the_kernel_reports() {
        let mut sizes = Vec::new();
        let (r, log, attempts, truncated) = with_log(16, 1 << 20, |buf| {
            sizes.push(buf.len());
            if buf.len() < 1000 {
                return Attempt {
                    result: Err(libc::ENOSPC),
                    true_size: 1000,
                };
            }
            buf[..2].copy_from_slice(b"ok");
            Attempt {
                result: Ok(7),
                true_size: 3,
            }
        });
        assert_eq!(
            (r, log.as_str(), attempts, truncated),
            (Ok(7), "ok", 2, false)
        );
        assert_eq!(sizes, [16, 1000]);
    }

    #[test]
    fn log_doubles_without_a_true_size_and_stops_at_the_cap() {
        let mut sizes = Vec::new();
        let (r, _, attempts, truncated) = with_log(100, 700, |buf| {
            sizes.push(buf.len());
            Attempt::<()> {
                result: Err(libc::ENOSPC),
                true_size: 0,
            }
        });
        assert_eq!((r, attempts, truncated), (Err(libc::ENOSPC), 4, true));
        assert_eq!(sizes, [100, 200, 400, 700]);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let (r, _, attempts, truncated) = with_log(100, 700, |_| Attempt::<()> {
            result: Err(libc::EACCES),
            true_size: 0,
        });
        assert_eq!((r, attempts, truncated), (Err(libc::EACCES), 1, false));
    }

    #[test]
    fn object_names_follow_the_kernel_rule() {
        assert!(obj_name("bpfilter_in.4").is_ok());
        assert!(obj_name("fifteen_chars_x").is_ok());
        assert!(obj_name("sixteen_chars_xx").is_err());
        assert!(obj_name("bad-name").is_err());
    }

    /// Byte offset of `outer.path` in the running kernel's BTF.
    fn btf_off(btf: &Btf, outer: &str, path: &str) -> usize {
        let m = btf.member(outer, path).expect(path);
        usize::try_from(m.byte_offset().expect("byte aligned")).expect("fits")
    }

    /// Every attribute struct field used here sits where the running kernel's `union
    /// bpf_attr` and info structs put it.
    #[test]
    fn attr_layouts_match_kernel_btf() {
        let btf = Btf::from_sys_fs().expect("vmlinux BTF");
        let a = "bpf_attr";
        macro_rules! same {
            ($ty:ty, $field:ident, $outer:expr, $path:expr) => {
                assert_eq!(
                    offset_of!($ty, $field),
                    btf_off(&btf, $outer, $path),
                    "{}.{}",
                    stringify!($ty),
                    stringify!($field)
                );
            };
        }
        same!(ProgLoadAttr, prog_type, a, "prog_type");
        same!(ProgLoadAttr, insns, a, "insns");
        same!(ProgLoadAttr, license, a, "license");
        same!(ProgLoadAttr, log_level, a, "log_level");
        same!(ProgLoadAttr, log_buf, a, "log_buf");
        same!(ProgLoadAttr, prog_name, a, "prog_name");
        same!(
            ProgLoadAttr,
            expected_attach_type,
            a,
            "expected_attach_type"
        );
        same!(ProgLoadAttr, fd_array, a, "fd_array");
        same!(ProgLoadAttr, log_true_size, a, "log_true_size");
        same!(TestRunAttr, retval, a, "test.retval");
        same!(TestRunAttr, data_in, a, "test.data_in");
        same!(TestRunAttr, repeat, a, "test.repeat");
        same!(TestRunAttr, duration, a, "test.duration");
        same!(TestRunAttr, ctx_in, a, "test.ctx_in");
        same!(TestRunAttr, batch_size, a, "test.batch_size");
        same!(
            LinkCreateNetfilterAttr,
            attach_type,
            a,
            "link_create.attach_type"
        );
        same!(LinkCreateNetfilterAttr, flags, a, "link_create.flags");
        same!(LinkCreateNetfilterAttr, pf, a, "link_create.netfilter.pf");
        same!(
            LinkCreateNetfilterAttr,
            hooknum,
            a,
            "link_create.netfilter.hooknum"
        );
        same!(
            LinkCreateNetfilterAttr,
            priority,
            a,
            "link_create.netfilter.priority"
        );
        same!(
            LinkCreateNetfilterAttr,
            nf_flags,
            a,
            "link_create.netfilter.flags"
        );
        same!(LinkDetachAttr, link_fd, a, "link_detach.link_fd");
        same!(ObjAttr, bpf_fd, a, "bpf_fd");
        same!(ObjAttr, path_fd, a, "path_fd");
        same!(InfoAttr, info_len, a, "info.info_len");
        same!(InfoAttr, info, a, "info.info");
        let p = "bpf_prog_info";
        same!(RawProgInfo, jited_prog_len, p, "jited_prog_len");
        same!(RawProgInfo, name, p, "name");
        same!(RawProgInfo, netns_dev, p, "netns_dev");
        same!(RawProgInfo, run_time_ns, p, "run_time_ns");
        same!(RawProgInfo, verified_insns, p, "verified_insns");
        same!(RawProgInfo, attach_btf_id, p, "attach_btf_id");
        let l = "bpf_link_info";
        same!(RawLinkInfo, prog_id, l, "prog_id");
        same!(RawLinkInfo, nf_pf, l, "netfilter.pf");
        same!(RawLinkInfo, nf_priority, l, "netfilter.priority");
        same!(RawLinkInfo, nf_flags, l, "netfilter.flags");
        map::tests::check_layouts(&btf);
        let sizes = [
            ("bpf_prog_info", std::mem::size_of::<RawProgInfo>()),
            ("bpf_link_info", std::mem::size_of::<RawLinkInfo>()),
            ("nf_hook_state", NF_HOOK_STATE_SIZE),
        ];
        for (name, size) in sizes {
            let id = btf
                .find(name, crate::sys::btf::BtfKind::Struct)
                .expect(name);
            assert_eq!(btf.type_size(id), u32::try_from(size).ok(), "{name}");
        }
        assert_eq!(
            btf.enum_value("bpf_link_type", "BPF_LINK_TYPE_NETFILTER")
                .ok(),
            Some(i64::from(BPF_LINK_TYPE_NETFILTER))
        );
        assert_eq!(
            btf.enum_value("bpf_prog_type", "BPF_PROG_TYPE_NETFILTER")
                .ok(),
            Some(i64::from(BPF_PROG_TYPE_NETFILTER))
        );
        assert_eq!(
            btf.enum_value("bpf_attach_type", "BPF_NETFILTER").ok(),
            Some(i64::from(BPF_NETFILTER))
        );
        for cmd in [
            Cmd::MapCreate,
            Cmd::MapLookupElem,
            Cmd::MapUpdateElem,
            Cmd::MapDeleteElem,
            Cmd::MapGetNextKey,
            Cmd::ProgLoad,
            Cmd::ObjPin,
            Cmd::ObjGet,
            Cmd::ProgTestRun,
            Cmd::ObjGetInfoByFd,
            Cmd::LinkCreate,
            Cmd::LinkDetach,
        ] {
            assert_eq!(
                btf.enum_value("bpf_cmd", cmd.name()).ok(),
                Some(i64::from(cmd.code())),
                "{}",
                cmd.name()
            );
        }
    }
}

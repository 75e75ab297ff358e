//! BPF maps through `sys::bpf` on the real kernel (root): every map type bpfilter uses, a
//! per-CPU counter bumped by a generated program, and pinning on a private bpffs.

use bpfilter_core::codegen::{helper, verdict, Builder, Cond, Reg, Size};
use bpfilter_umh::sys::bpf::{
    lpm_key, possible_cpus, BpfError, LoadOptions, Map, MapSpec, MapType, Program, TestRun,
    UpdateFlags,
};
use std::ffi::CString;
use std::path::{Path, PathBuf};

fn errno(r: Result<impl std::fmt::Debug, BpfError>) -> Option<i32> {
    r.err().and_then(|e| e.errno())
}

#[test]
fn array_lookup_update_delete() {
    let m = Map::create(&MapSpec::array("bpfilter_t_arr", 8, 4)).expect("create");
    assert_eq!(m.info().map_type, MapType::Array);
    assert_eq!((m.info().key_size, m.info().max_entries), (4, 4));
    assert_eq!(
        m.lookup(&0u32.to_ne_bytes()).expect("lookup"),
        Some(vec![0; 8])
    );
    m.update(&3u32.to_ne_bytes(), &42u64.to_ne_bytes(), UpdateFlags::Any)
        .expect("update");
    assert_eq!(
        m.lookup(&3u32.to_ne_bytes()).expect("lookup"),
        Some(42u64.to_ne_bytes().to_vec())
    );
    assert_eq!(m.lookup(&4u32.to_ne_bytes()).expect("out of range"), None);
    // Array elements always exist: the kernel refuses to delete them.
    assert_eq!(errno(m.delete(&3u32.to_ne_bytes())), Some(libc::EINVAL));
    // Wrong lengths never reach the kernel.
    assert!(matches!(m.lookup(&[0u8; 2]), Err(BpfError::Invalid(_))));
    assert!(matches!(
        m.update(&0u32.to_ne_bytes(), &[0u8; 4], UpdateFlags::Any),
        Err(BpfError::Invalid(_))
    ));
}

#[test]
fn hash_flags_iteration_and_delete() {
    let m = Map::create(&MapSpec::hash("bpfilter_t_hash", 4, 4, 16)).expect("create");
    let k = |n: u32| n.to_ne_bytes();
    m.update(&k(1), &k(10), UpdateFlags::NoExist)
        .expect("insert");
    assert_eq!(
        errno(m.update(&k(1), &k(11), UpdateFlags::NoExist)),
        Some(libc::EEXIST)
    );
    assert_eq!(
        errno(m.update(&k(2), &k(20), UpdateFlags::Exist)),
        Some(libc::ENOENT)
    );
    m.update(&k(1), &k(11), UpdateFlags::Exist)
        .expect("replace");
    m.update(&k(2), &k(20), UpdateFlags::Any).expect("insert");
    let mut keys = Vec::new();
    let mut cur = None;
    while let Some(next) = m.next_key(cur.as_deref()).expect("next key") {
        keys.push(u32::from_ne_bytes(
            next.clone().try_into().expect("4 bytes"),
        ));
        cur = Some(next);
    }
    keys.sort_unstable();
    assert_eq!(keys, [1, 2]);
    assert_eq!(m.lookup(&k(1)).expect("lookup"), Some(k(11).to_vec()));
    assert!(m.delete(&k(1)).expect("delete"));
    assert!(!m.delete(&k(1)).expect("delete again"));
    assert_eq!(m.lookup(&k(1)).expect("lookup"), None);
}

#[test]
fn lpm_trie_longest_prefix_wins() {
    let m = Map::create(&MapSpec::lpm_trie("bpfilter_t_lpm", 4, 4, 16)).expect("create");
    assert_eq!(m.info().key_size, 8);
    m.update(
        &lpm_key(8, &[10, 0, 0, 0]),
        &1u32.to_ne_bytes(),
        UpdateFlags::Any,
    )
    .expect("10/8");
    m.update(
        &lpm_key(16, &[10, 1, 0, 0]),
        &2u32.to_ne_bytes(),
        UpdateFlags::Any,
    )
    .expect("10.1/16");
    let find = |a: [u8; 4]| {
        m.lookup(&lpm_key(32, &a))
            .expect("lookup")
            .map(|v| u32::from_ne_bytes(v.try_into().expect("4 bytes")))
    };
    assert_eq!(find([10, 1, 2, 3]), Some(2));
    assert_eq!(find([10, 9, 9, 9]), Some(1));
    assert_eq!(find([11, 0, 0, 0]), None);
}

#[test]
fn ringbuf_is_created() {
    let m = Map::create(&MapSpec::ringbuf("bpfilter_t_rb", 1 << 16)).expect("create");
    assert_eq!(m.info().map_type, MapType::RingBuf);
    assert_eq!(m.info().max_entries, 1 << 16);
    // Not a power of two: the kernel refuses.
    assert!(Map::create(&MapSpec::ringbuf("bpfilter_t_rb", 3 << 12)).is_err());
}

#[test]
fn percpu_values_are_summed_over_possible_cpus() {
    let cpus = possible_cpus().expect("possible cpus");
    let m = Map::create(&MapSpec::percpu_array("bpfilter_t_pc", 16, 2)).expect("create");
    assert_eq!(m.value_len(), 16 * cpus);
    let mut value = Vec::new();
    for cpu in 0..cpus {
        let c = u64::try_from(cpu).expect("cpu") + 1;
        value.extend_from_slice(&c.to_ne_bytes());
        value.extend_from_slice(&(100 * c).to_ne_bytes());
    }
    m.update(&1u32.to_ne_bytes(), &value, UpdateFlags::Any)
        .expect("update all cpus");
    let per_cpu = m
        .lookup_percpu(&1u32.to_ne_bytes())
        .expect("lookup")
        .expect("present");
    assert_eq!(per_cpu.len(), cpus);
    let n = u64::try_from(cpus).expect("cpus");
    let triangle = n * (n + 1) / 2;
    assert_eq!(
        m.sum_percpu_u64(&1u32.to_ne_bytes()).expect("sum"),
        Some(vec![triangle, 100 * triangle])
    );
    // A non-per-CPU map has no per-CPU view.
    let a = Map::create(&MapSpec::array("bpfilter_t_arr", 8, 1)).expect("create");
    assert!(a.lookup_percpu(&0u32.to_ne_bytes()).is_err());
}

/// A netfilter program that adds (1, 100) to element 0 of a per-CPU (packets, bytes) array.
fn counting_program(map: &Map) -> Program {
    let mut b = Builder::new();
    let out = b.new_label();
    b.store_imm(Size::W, Reg::R10, -4, 0)
        .ld_map_fd(Reg::R1, map.fd().as_raw())
        .mov64(Reg::R2, Reg::R10)
        .add64(Reg::R2, -4)
        .call_helper(helper::MAP_LOOKUP_ELEM)
        .jmp_if(Cond::Eq, Reg::R0, 0, out)
        .load(Size::DW, Reg::R1, Reg::R0, 0)
        .add64(Reg::R1, 1)
        .store(Size::DW, Reg::R0, 0, Reg::R1)
        .load(Size::DW, Reg::R1, Reg::R0, 8)
        .add64(Reg::R1, 100)
        .store(Size::DW, Reg::R0, 8, Reg::R1)
        .bind(out)
        .ret(verdict::ACCEPT);
    let insns = b.finish().expect("finish");
    let opts = LoadOptions {
        name: "bpfilter_count",
        ..LoadOptions::default()
    };
    match Program::load_netfilter(&insns, &opts) {
        Ok((p, _)) => p,
        Err(e) => panic!("{e}"),
    }
}

fn run(prog: &Program, repeat: u32) {
    let pkt = [
        0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let out = prog
        .test_run(&TestRun {
            data: &pkt,
            ctx: None,
            repeat,
        })
        .expect("test run");
    assert_eq!(out.retval, 1);
}

#[test]
fn generated_program_counts_into_a_percpu_map() {
    let map = Map::create(&MapSpec::percpu_array("bpfilter_t_cnt", 16, 1)).expect("create");
    let prog = counting_program(&map);
    run(&prog, 1000);
    run(&prog, 1);
    assert_eq!(
        map.sum_percpu_u64(&0u32.to_ne_bytes()).expect("sum"),
        Some(vec![1001, 100_100])
    );
}

/// Mount a private bpffs on a fresh directory in a private mount namespace on a new thread,
/// so neither the mount nor the pins are visible outside it; everything is undone at the end.
fn with_private_bpffs<T: Send + 'static>(f: impl FnOnce(&Path) -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: unshare touches no memory; CLONE_NEWNS (which implies CLONE_FS) is allowed
        // in a multi-threaded process and only affects this thread.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNS) }, 0);
        let root = CString::new("/").expect("cstr");
        // Without this, a shared "/" would propagate the bpffs mount to the host namespace.
        // SAFETY: valid NUL-terminated path; null source/fstype/data are allowed for a
        // propagation change.
        let rc = unsafe {
            libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "make / private: {}", std::io::Error::last_os_error());
        let dir = PathBuf::from(format!("/tmp/bpfilter-bpffs-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let cdir = CString::new(dir.as_os_str().as_encoded_bytes()).expect("cstr");
        let fstype = CString::new("bpf").expect("cstr");
        // SAFETY: valid NUL-terminated strings borrowed for the call, null data.
        let rc = unsafe {
            libc::mount(
                fstype.as_ptr(),
                cdir.as_ptr(),
                fstype.as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "mount bpffs: {}", std::io::Error::last_os_error());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&dir)));
        // SAFETY: valid NUL-terminated path.
        unsafe { libc::umount2(cdir.as_ptr(), libc::MNT_DETACH) };
        let _ = std::fs::remove_dir(&dir);
        result.unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
    .join()
    .expect("bpffs thread")
}

#[test]
fn pinned_map_and_program_outlive_their_descriptors() {
    with_private_bpffs(|dir| {
        let map_path = dir.join("counters");
        let prog_path = dir.join("prog");
        {
            let map = Map::create(&MapSpec::percpu_array("bpfilter_t_pin", 16, 1)).expect("create");
            let prog = counting_program(&map);
            map.pin(&map_path).expect("pin map");
            prog.pin(&prog_path).expect("pin prog");
            run(&prog, 5);
        }
        // Every descriptor is closed; the pins keep both alive, and the program still
        // writes into the same map.
        let prog = Program::from_pinned(&prog_path).expect("open prog");
        run(&prog, 2);
        let map = Map::from_pinned(&map_path).expect("open map");
        assert_eq!(map.info().map_type, MapType::PercpuArray);
        assert_eq!(map.info().name, "bpfilter_t_pin");
        assert_eq!(
            map.sum_percpu_u64(&0u32.to_ne_bytes()).expect("sum"),
            Some(vec![7, 700])
        );
        assert_eq!(
            errno(map.pin(&map_path)),
            Some(libc::EEXIST),
            "a pin path is taken once"
        );
        std::fs::remove_file(&map_path).expect("unpin map");
        std::fs::remove_file(&prog_path).expect("unpin prog");
        assert_eq!(errno(Map::from_pinned(&map_path)), Some(libc::ENOENT));
    });
}

/// `update_batch` fills a hash map and an LPM trie (one `BPF_MAP_UPDATE_BATCH`, or element
/// by element where the kernel has no batch for the type) with exactly the given elements.
#[test]
fn batch_update_fills_hash_and_lpm_trie() {
    let h = Map::create(&MapSpec::hash("bpfilter_t_bh", 4, 8, 64)).expect("create hash");
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for i in 0..50u32 {
        keys.extend_from_slice(&(i * 7).to_ne_bytes());
        values.extend_from_slice(&i.to_ne_bytes());
        values.extend_from_slice(&(i % 2).to_ne_bytes());
    }
    h.update_batch(&keys, &values).expect("hash batch");
    for i in 0..50u32 {
        let v = h.lookup(&(i * 7).to_ne_bytes()).expect("lookup");
        let mut want = i.to_ne_bytes().to_vec();
        want.extend_from_slice(&(i % 2).to_ne_bytes());
        assert_eq!(v, Some(want), "key {}", i * 7);
    }
    assert_eq!(h.lookup(&1u32.to_ne_bytes()).expect("lookup"), None);

    let t = Map::create(&MapSpec::lpm_trie("bpfilter_t_bl", 4, 4, 16)).expect("create trie");
    let mut keys = lpm_key(8, &[10, 0, 0, 0]);
    keys.extend(lpm_key(29, &[213, 191, 160, 216]));
    keys.extend(lpm_key(16, &[10, 1, 0, 0]));
    let values: Vec<u8> = [1u32, 2, 3].iter().flat_map(|v| v.to_ne_bytes()).collect();
    t.update_batch(&keys, &values).expect("trie batch");
    let find = |a: [u8; 4]| {
        t.lookup(&lpm_key(32, &a))
            .expect("lookup")
            .map(|v| u32::from_ne_bytes(v.try_into().expect("4 bytes")))
    };
    assert_eq!(find([10, 1, 2, 3]), Some(3));
    assert_eq!(find([10, 9, 9, 9]), Some(1));
    assert_eq!(find([213, 191, 160, 217]), Some(2));
    assert_eq!(find([213, 191, 160, 224]), None);
    // Sizes that do not divide into elements are refused before the kernel sees them.
    assert!(t.update_batch(&keys[1..], &values).is_err());
}

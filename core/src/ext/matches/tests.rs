//! Unit tests for the registry helpers; golden iptables payloads live in
//! `core/tests/ext_matches*.rs`.

use super::*;

#[test]
fn registry_is_sorted_and_unique() {
    for w in REGISTRY.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        assert!(
            (a.name, a.revision) < (b.name, b.revision),
            "{}/{} before {}/{}",
            a.name,
            a.revision,
            b.name,
            b.revision
        );
    }
}

#[test]
fn mask_printing_follows_xtables_ipmask_to_numeric() {
    let f = |m: [u8; 4]| {
        let mut s = alloc::string::String::new();
        write_ipv4_mask(&mut s, &m).unwrap();
        s
    };
    assert_eq!(f([255; 4]), "");
    assert_eq!(f([255, 255, 255, 0]), "/24");
    assert_eq!(f([0; 4]), "/0");
    assert_eq!(f([255, 0, 255, 0]), "/255.0.255.0");
}

#[test]
fn save_string_quotes_like_xtables() {
    let f = |v: &[u8]| {
        let mut s = alloc::string::String::new();
        save_string(&mut s, v).unwrap();
        s
    };
    assert_eq!(f(b"abc_D-9"), " abc_D-9");
    assert_eq!(f(b""), " \"\"");
    assert_eq!(f(b"a b"), " \"a b\"");
    assert_eq!(f(b"x\"y\\z'"), " \"x\\\"y\\\\z\\'\"");
}

#[test]
fn proc_names() {
    let mut f = [0u8; 16];
    assert_eq!(check_proc_name(&f), Err(Errno::EINVAL));
    f[..3].copy_from_slice(b"abc");
    assert_eq!(check_proc_name(&f), Ok(()));
    f[..2].copy_from_slice(b"..");
    f[2] = 0;
    assert_eq!(check_proc_name(&f), Err(Errno::EINVAL));
    f[..3].copy_from_slice(b"a/b");
    assert_eq!(check_proc_name(&f), Err(Errno::EINVAL));
    assert_eq!(check_proc_name(&[b'x'; 16]), Err(Errno::ENAMETOOLONG));
}

/// The stored payload after the `checkentry`s that rewrite it (measured with GET_ENTRIES).
#[test]
fn kernel_rewrites_are_reproduced() {
    let desc = |n: &str, r| crate::ext::lookup(Kind::Match, n.as_bytes(), r).unwrap();
    // helper: name[29] forced to NUL.
    let mut p = vec![0u8; 40];
    p[4..34].fill(b'h');
    let mut out = Vec::new();
    MatchValue::parse(desc("helper", 0), &p)
        .unwrap()
        .encode(desc("helper", 0), &mut out);
    assert_eq!(out[33], 0);
    assert_eq!(&out[4..33], &p[4..33]);
    // hashlimit revision 3: size and max clamped to 1048576; revision 2 keeps them.
    for (rev, clamped) in [(3u8, true), (2, false)] {
        let d = desc("hashlimit", rev);
        let mut p = vec![0u8; xt_align(d.size).unwrap()];
        p[276..280].copy_from_slice(&2_000_000u32.to_le_bytes());
        p[280..284].copy_from_slice(&3_000_000u32.to_le_bytes());
        let mut out = Vec::new();
        MatchValue::parse(d, &p).unwrap().encode(d, &mut out);
        let want: [u32; 2] = if clamped {
            [1_048_576; 2]
        } else {
            [2_000_000, 3_000_000]
        };
        assert_eq!(Rd(&out).u32(276), want[0]);
        assert_eq!(Rd(&out).u32(280), want[1]);
    }
    // set revision 0: compat dimension and flags (as GET_ENTRIES showed for src,dst).
    let d = desc("set", 0);
    let mut p = vec![0u8; 32];
    p[4] = 1; // flags[0] = IPSET_SRC
    p[8] = 2; // flags[1] = IPSET_DST
    let mut out = Vec::new();
    MatchValue::parse(d, &p).unwrap().encode(d, &mut out);
    assert_eq!(&out[28..30], &[2, 2]);
}

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

//! The test cases of spec §6 (negative §6.2, positive §6.3) as data: id, what it changes,
//! the optval, and the errno the spec says the kernel returns (0 = accepted).
//!
//! These expectations are the spec's map; the kernel test in `tests/` checks each case against
//! the running kernel, which is the truth.

use super::{Hk, RawEntry, RawExt, RawTable, UserChain, T, V};
use crate::uapi::{IPT_F_GOTO, IPT_INV_PROTO};
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// One case.
#[derive(Clone, Debug)]
pub struct SpecCase {
    /// The spec's id (e.g. "B12").
    pub id: &'static str,
    /// What the case changes against BASE.
    pub what: &'static str,
    /// The optval bytes.
    pub optval: Vec<u8>,
    /// Expected errno (0 = accepted), as the spec says.
    pub errno: i32,
    /// The table's current entry count the case assumes (fresh namespace by default).
    pub current_entries: Option<u32>,
}

const EINVAL: i32 = 22;
const ENOENT: i32 = 2;
const ENOMEM: i32 = 12;
const ELOOP: i32 = 40;
const EAGAIN: i32 = 11;
const EPROTOTYPE: i32 = 91;

fn l(s: &str) -> V {
    V::Label(s.to_string(), 0)
}

/// `tcp` match, any source port, destination port `dport`.
pub fn tcp(dport: u16) -> RawExt {
    let mut d = Vec::new();
    for p in [0u16, 0xFFFF, dport, dport] {
        d.extend_from_slice(&p.to_le_bytes());
    }
    d.extend_from_slice(&[0, 0, 0, 0]);
    RawExt::new("tcp", 0, &d)
}

/// `comment` match.
pub fn comment(text: &str) -> RawExt {
    let mut d = vec![0u8; 256];
    for (x, b) in d.iter_mut().zip(text.bytes()) {
        *x = b;
    }
    RawExt::new("comment", 0, &d)
}

/// `state` match with a state mask.
pub fn state(mask: u32) -> RawExt {
    RawExt::new("state", 0, &mask.to_le_bytes())
}

/// `LOG` target.
pub fn log(level: u8, prefix: &[u8]) -> T {
    let mut d = vec![0u8; 32];
    d[0] = level;
    for (x, b) in d[2..].iter_mut().zip(prefix.iter()) {
        *x = *b;
    }
    T::Ext(RawExt::new("LOG", 0, &d))
}

/// `REJECT` target.
pub fn reject(with: u32) -> T {
    T::Ext(RawExt::new("REJECT", 0, &with.to_le_bytes()))
}

/// A rev-0 NAT target (`nf_nat_ipv4_multi_range_compat`) with `rangesize`. MASQUERADE gets
/// no `NF_NAT_RANGE_MAP_IPS` flag (its checkentry refuses one), the others map to 10.0.0.1.
pub fn nat0(name: &str, rangesize: u32) -> T {
    let mut d = Vec::new();
    d.extend_from_slice(&rangesize.to_le_bytes());
    let flags: u32 = if name == "MASQUERADE" { 0 } else { 1 };
    d.extend_from_slice(&flags.to_le_bytes());
    d.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 1]);
    d.extend_from_slice(&[0, 0, 0, 0]);
    T::Ext(RawExt::new(name, 0, &d))
}

/// `owner` match rev 1 matching uid 0.
pub fn owner() -> RawExt {
    let mut d = vec![0u8; 20];
    d[16] = 1; // XT_OWNER_UID
    RawExt::new("owner", 1, &d)
}

/// A standard target object with a raw size field.
fn std_sized(verdict: i32, size: u16) -> T {
    let mut d = verdict.to_le_bytes().to_vec();
    d.extend_from_slice(&[0; 4]);
    let mut x = RawExt::new("", 0, &d);
    x.size = Some(size);
    T::Ext(x)
}

fn rule(target: T) -> RawEntry {
    let mut e = RawEntry::new(target);
    e.ip.src = [10, 0, 0, 0];
    e.ip.smsk = [255, 0, 0, 0];
    e
}

fn input(rules: Vec<RawEntry>) -> RawTable {
    RawTable::filter(rules, vec![], vec![], vec![])
}

fn with_user(inp: Vec<RawEntry>, user: Vec<UserChain>) -> RawTable {
    RawTable::filter(inp, vec![], vec![], user)
}

fn nat(
    pre: Vec<RawEntry>,
    inp: Vec<RawEntry>,
    out: Vec<RawEntry>,
    post: Vec<RawEntry>,
    user: Vec<UserChain>,
) -> RawTable {
    RawTable::iptables_layout(
        "nat",
        0x1B,
        vec![
            (pre, V::Accept),
            (inp, V::Accept),
            (out, V::Accept),
            (post, V::Accept),
        ],
        user,
        5,
    )
}

/// Remove the unconditional RETURN that ends user chain `name`.
fn drop_return(mut t: RawTable, name: &str) -> RawTable {
    if let Some(head) = t.index_of(&alloc::format!("@{name}")) {
        let mut i = head + 1;
        while i < t.entries.len() {
            if t.entries[i].target == T::Std(V::Return)
                && t.entries[i].ip == Default::default()
                && t.entries[i].matches.is_empty()
            {
                let label = t.entries[i].label.take();
                t.entries.remove(i);
                if let (Some(lab), Some(e)) = (label, t.entries.get_mut(i)) {
                    if e.label.is_none() {
                        e.label = Some(lab);
                    }
                }
                break;
            }
            i += 1;
        }
    }
    t
}

fn case(id: &'static str, what: &'static str, t: RawTable, errno: i32) -> SpecCase {
    SpecCase {
        id,
        what,
        optval: t.optval(),
        errno,
        current_entries: None,
    }
}

/// Every case of spec §6.2 and §6.3 that can be expressed as bytes (EFAULT cases and the
/// 512 MiB allocation case X4 need a caller-side setup and are left to the kernel tests).
pub fn cases() -> Vec<SpecCase> {
    let mut v = Vec::new();
    let base = RawTable::base;

    // §6.2 A: header.
    let mut t = base();
    t.optlen = Some(95);
    v.push(case("A1", "optlen = 95", t, EINVAL));
    let mut t = base();
    t.optlen = Some(0);
    v.push(case("A2", "optlen = 0", t, EINVAL));
    let mut t = base();
    t.num_counters = 0;
    v.push(case("A3", "num_counters = 0", t, EINVAL));
    let mut t = base();
    t.num_counters = 134_217_727;
    v.push(case("A4", "num_counters = INT_MAX/16", t, ENOMEM));
    let mut t = base();
    t.num_counters = u32::MAX;
    t.optlen = Some(96);
    v.push(case(
        "A5b",
        "num_counters = 0xFFFFFFFF and optlen = 96",
        t,
        ENOMEM,
    ));
    let mut t = base();
    t.optlen = Some(96 + 632 - 1);
    v.push(case("A6", "optlen = 96 + size - 1", t, EINVAL));
    let mut t = base();
    t.size = Some(u32::MAX);
    v.push(case("A7", "size = 0xFFFFFFFF", t, EINVAL));
    let mut t = base();
    t.size = Some(0);
    t.num_entries = Some(0);
    v.push(case("A8", "size = 0, num_entries = 0", t, EINVAL));

    // §6.2 B: pass 1.
    let mut t = base();
    t.size = Some(624);
    v.push(case(
        "B1",
        "size = 624: the last entry crosses the limit",
        t,
        EINVAL,
    ));
    let mut t = base();
    t.trailing = vec![0; 8];
    v.push(case("B2", "8 trailing bytes inside size", t, EINVAL));
    let mut t = base();
    t.trailing = vec![0; 200];
    v.push(case("B3", "200 trailing zero bytes inside size", t, EINVAL));
    let mut t = base();
    t.entries[0].next_offset = Some(143);
    v.push(case("B4", "E0.next_offset = 143", t, EINVAL));
    let mut t = base();
    t.entries[0].next_offset = Some(0);
    v.push(case("B4b", "E0.next_offset = 0", t, EINVAL));
    let mut t = with_user(vec![], vec![("foo", vec![])]);
    let h = t.index_of("@foo").unwrap_or(0);
    t.entries[h].next_offset = Some(180);
    v.push(case(
        "B5",
        "user-chain head next_offset 180: next entry misaligned",
        t,
        EINVAL,
    ));
    let mut r = rule(T::Std(V::Accept));
    r.ip.flags = 0x04;
    v.push(case("B6", "ip.flags = 0x04", input(vec![r]), EINVAL));
    let mut r = rule(T::Std(V::Accept));
    r.ip.invflags = 0x80;
    v.push(case("B7", "ip.invflags = 0x80", input(vec![r]), EINVAL));
    let mut r = rule(T::Std(V::Accept));
    r.target_offset = Some(104);
    v.push(case("B8", "target_offset = 104", input(vec![r]), EINVAL));
    let mut r = rule(T::Std(V::Accept));
    r.target_offset = Some(128);
    v.push(case(
        "B9",
        "target_offset = 128 (target header overruns)",
        input(vec![r]),
        EINVAL,
    ));
    v.push(case(
        "B10",
        "std target_size = 31",
        input(vec![rule(std_sized(-2, 31))]),
        EINVAL,
    ));
    v.push(case(
        "B11",
        "std target_size = 48 > next_offset",
        input(vec![rule(std_sized(-2, 48))]),
        EINVAL,
    ));
    let mut r = rule(T::Std(V::Accept));
    r.next_offset = Some(160);
    v.push(case(
        "B12",
        "std rule with next_offset 160",
        input(vec![r]),
        EINVAL,
    ));
    for (id, what, verdict) in [
        ("B13", "verdict 0", 0),
        ("B14", "verdict -3 (STOLEN)", -3),
        ("B15", "verdict -6 (STOP)", -6),
        ("B16", "verdict -7", -7),
        ("B17", "verdict INT_MIN", i32::MIN),
        ("B18q", "verdict NF_QUEUE_NR(1)", -((1 << 16) | 3) - 1),
        ("B18e", "verdict NF_DROP_ERR(-EPERM)", -(1 << 16) - 1),
        ("B18b", "verdict NF_QUEUE with bypass flag", -0x8003 - 1),
    ] {
        v.push(case(
            id,
            what,
            input(vec![rule(T::Std(V::Raw(verdict)))]),
            EINVAL,
        ));
    }
    let mut d = vec![0u8; 40];
    d[..3].copy_from_slice(b"foo");
    v.push(case(
        "B19",
        "ERROR target_size 72",
        input(vec![rule(T::Ext(RawExt::new("ERROR", 0, &d)))]),
        EINVAL,
    ));
    let mut d = vec![b'A'; 30];
    d.extend_from_slice(&[0, 0]);
    v.push(case(
        "B20",
        "ERROR errorname of 30 non-NUL bytes",
        input(vec![rule(T::Ext(RawExt::new("ERROR", 0, &d)))]),
        EINVAL,
    ));
    v.push(case(
        "E22",
        "ERROR target_size 32",
        input(vec![rule(T::Ext(RawExt::new("ERROR", 0, &[])))]),
        EINVAL,
    ));
    let mut m = RawExt::new("comment", 0, &[]);
    m.size = Some(31);
    v.push(case(
        "B21",
        "match_size 31",
        input(vec![rule(T::Std(V::Accept)).with_match(m)]),
        EINVAL,
    ));
    let mut m = RawExt::new("nosuch", 0, &[0; 16]);
    m.size = Some(56);
    v.push(case(
        "B22",
        "match_size 56 with only 48 bytes before the target",
        input(vec![rule(T::Std(V::Accept)).with_match(m)]),
        EINVAL,
    ));
    let mut r = rule(T::Std(V::Accept)).with_match(RawExt::new("nosuch", 0, &[0; 8]));
    r.target_offset = Some(112 + 48);
    r.next_offset = Some(112 + 48 + 40);
    v.push(case(
        "B23",
        "8 leftover bytes between the last match and the target",
        input(vec![r]),
        EINVAL,
    ));
    let mut m = RawExt::new("nosuch", 0, &[0; 16]);
    m.size = Some(44);
    let r = rule(T::Std(V::Accept))
        .with_match(m)
        .with_match(RawExt::new("nosuch", 0, &[0; 8]));
    v.push(case(
        "B24",
        "first match_size 44: the second match is misaligned",
        input(vec![r]),
        EINVAL,
    ));
    let mut t = base();
    t.hook_entry[1] = Hk::Raw(8);
    v.push(case("B25", "hook_entry[INPUT] = 8", t, EINVAL));
    let mut t = base();
    t.hook_entry[1] = Hk::Unset;
    v.push(case("B26", "hook_entry[INPUT] = 0xFFFFFFFF", t, EINVAL));
    let mut t = base();
    t.underflow[1] = Hk::Raw(8);
    v.push(case("B27", "underflow[INPUT] = 8", t, EINVAL));
    let mut t = input(vec![RawEntry::std(V::Accept).with_match(comment("x"))]);
    t.underflow[1] = Hk::Entry(0);
    v.push(case(
        "B28",
        "underflow[INPUT] on a rule with a comment match",
        t,
        EINVAL,
    ));
    let mut t = base();
    t.entries[0].ip.src = [10, 0, 0, 0];
    t.entries[0].ip.smsk = [255, 0, 0, 0];
    v.push(case("B29", "INPUT policy has src 10/8", t, EINVAL));
    for (id, what, verdict) in [
        ("B30", "INPUT policy RETURN", V::Return),
        ("B31", "INPUT policy QUEUE", V::Queue),
        ("B32", "INPUT policy is a jump", l("P:2")),
    ] {
        let mut t = base();
        t.entries[0].target = T::Std(verdict);
        v.push(case(id, what, t, EINVAL));
    }
    let mut t = base();
    t.entries[0].target = log(4, b"x");
    v.push(case("B33", "underflow on a LOG rule", t, EINVAL));
    let mut t = base();
    t.entries[0].ip.flags = IPT_F_GOTO;
    v.push(case("B34", "INPUT policy with ip.flags = GOTO", t, EINVAL));
    let mut t = with_user(vec![], vec![("foo", vec![])]);
    t.underflow[3] = Hk::Label("@foo".into());
    v.push(case(
        "B35",
        "underflow[OUTPUT] = a user-chain ERROR head",
        t,
        EINVAL,
    ));

    // §6.2 C: count and hooks.
    let mut t = base();
    t.num_entries = Some(5);
    v.push(case("C1", "num_entries = 5", t, EINVAL));
    let mut t = base();
    t.num_entries = Some(3);
    v.push(case("C2", "num_entries = 3", t, EINVAL));
    let mut t = base();
    t.num_entries = Some(u32::MAX);
    v.push(case("C3", "num_entries = 0xFFFFFFFF", t, ENOMEM));
    let mut t = base();
    t.entries.swap(0, 2); // OUTPUT, FORWARD, INPUT
    t.entries.swap(1, 2); // OUTPUT, INPUT, FORWARD
    for (h, i) in [(1, 1), (2, 2), (3, 0)] {
        t.hook_entry[h] = Hk::Entry(i);
        t.underflow[h] = Hk::Entry(i);
    }
    v.push(case(
        "C4",
        "layout OUTPUT, INPUT, FORWARD, ERROR",
        t,
        EINVAL,
    ));
    let mut t = base();
    t.hook_entry[2] = Hk::Entry(0);
    t.underflow[2] = Hk::Entry(0);
    v.push(case(
        "C5",
        "FORWARD shares INPUT's entry and policy",
        t,
        EINVAL,
    ));
    let mut t = base();
    t.hook_entry[2] = Hk::Entry(0);
    v.push(case(
        "C6",
        "FORWARD entry = INPUT entry, distinct underflows",
        t,
        EINVAL,
    ));
    let mut t = input(vec![rule(T::Std(V::Accept))]);
    t.hook_entry[1] = Hk::Entry(2);
    t.hook_entry[2] = Hk::Entry(0);
    v.push(case(
        "C7",
        "hook entries unsorted, underflows sorted",
        t,
        EINVAL,
    ));
    let mut t = RawTable::iptables_layout(
        "filter",
        0x0F,
        vec![
            (vec![], V::Accept),
            (vec![], V::Accept),
            (vec![], V::Accept),
            (vec![], V::Accept),
        ],
        vec![],
        4,
    );
    t.num_counters = 4;
    v.push(case(
        "C11",
        "valid_hooks = 0x0F with a PREROUTING chain",
        t,
        EINVAL,
    ));
    let mut t = base();
    t.valid_hooks = 0x2E;
    v.push(case("C12", "valid_hooks = 0x2E (bit 5)", t, EINVAL));
    let mut t = base();
    t.valid_hooks = 0x06;
    v.push(case("C13", "valid_hooks = 0x06", t, EINVAL));

    // §6.2 D: the walk.
    v.push(case(
        "D1",
        "INPUT -> foo; foo's rule jumps to foo",
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![("foo", vec![rule(T::Std(l("foo")))])],
        ),
        ELOOP,
    ));
    v.push(case(
        "D2",
        "foo -> bar -> foo",
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![
                ("foo", vec![rule(T::Std(l("bar")))]),
                ("bar", vec![rule(T::Std(l("foo")))]),
            ],
        ),
        ELOOP,
    ));
    v.push(case(
        "D3",
        "jump to a user chain's start + 8",
        with_user(
            vec![rule(T::Std(V::Label("foo".into(), 8)))],
            vec![("foo", vec![rule(T::Std(V::Accept))])],
        ),
        ELOOP,
    ));
    v.push(case(
        "D4",
        "jump to 100000",
        input(vec![rule(T::Std(V::Raw(100_000)))]),
        ELOOP,
    ));
    let t = input(vec![rule(T::Std(V::Raw(0)))]);
    let size = i32::try_from(t.blob().len()).unwrap_or(0);
    v.push(case(
        "D5",
        "jump to size",
        input(vec![rule(T::Std(V::Raw(size)))]),
        ELOOP,
    ));
    v.push(case(
        "B37",
        "jump to 0x7fffffff",
        input(vec![rule(T::Std(V::Raw(0x7fff_ffff)))]),
        ELOOP,
    ));
    let t = drop_return(
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![("foo", vec![rule(T::Std(V::Accept))])],
        ),
        "foo",
    );
    v.push(case(
        "D6",
        "foo has a conditional ACCEPT and no RETURN, then the final ERROR",
        t,
        ELOOP,
    ));
    v.push(case(
        "D7",
        "jump to the final ERROR entry",
        input(vec![rule(T::Std(l("END")))]),
        ELOOP,
    ));
    let mut g = rule(T::Std(l("foo")));
    g.ip.flags = IPT_F_GOTO;
    v.push(case(
        "D8",
        "foo contains a goto to itself",
        with_user(vec![rule(T::Std(l("foo")))], vec![("foo", vec![g])]),
        ELOOP,
    ));
    let t = RawTable::filter(
        vec![],
        vec![rule(T::Std(V::Accept)).label("F1"), rule(T::Std(l("F1")))],
        vec![],
        vec![],
    );
    v.push(case(
        "D9b",
        "FORWARD rule 2 jumps back to FORWARD rule 1",
        t,
        ELOOP,
    ));
    let mut t = base();
    t.entries.pop();
    t.entries.push(rule(T::Std(l("P:2"))));
    t.hook_entry[3] = Hk::Entry(3);
    v.push(case(
        "D12",
        "no final ERROR; the last entry is a reached conditional jump",
        t,
        ELOOP,
    ));
    let t = drop_return(
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![("foo", vec![RawEntry::std(l("bar"))]), ("bar", vec![])],
        ),
        "foo",
    );
    v.push(case(
        "D15",
        "foo ends in an unconditional jump to bar, then the final ERROR",
        t,
        ELOOP,
    ));
    let mut g = RawEntry::std(l("bar"));
    g.ip.flags = IPT_F_GOTO;
    let t = drop_return(
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![("foo", vec![g]), ("bar", vec![])],
        ),
        "foo",
    );
    v.push(case(
        "D15b",
        "foo ends in an unconditional goto to bar, then the final ERROR",
        t,
        ELOOP,
    ));
    let t = drop_return(
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![(
                "foo",
                vec![RawEntry::std(V::Return).with_match(comment("hi"))],
            )],
        ),
        "foo",
    );
    v.push(case(
        "D21",
        "foo ends in -m comment -j RETURN, then the final ERROR",
        t,
        ELOOP,
    ));
    v.push(case(
        "D9",
        "a rule jumping to offset 0 (verdict 0)",
        input(vec![rule(T::Std(V::Raw(0)))]),
        EINVAL,
    ));

    // §6.2 E: pass 2.
    let ext_t = |name: &str| T::Ext(RawExt::new(name, 0, &[0; 8]));
    v.push(case(
        "E1",
        "unknown target NOSUCHTG",
        input(vec![rule(ext_t("NOSUCHTG"))]),
        ENOENT,
    ));
    v.push(case(
        "E2",
        "unknown match nosuchmatch",
        input(vec![rule(T::Std(V::Accept)).with_match(RawExt::new(
            "nosuchmatch",
            0,
            &[0; 8],
        ))]),
        ENOENT,
    ));
    let long = "a".repeat(29);
    v.push(case(
        "E3",
        "match name of 29 non-NUL chars",
        input(vec![
            rule(T::Std(V::Accept)).with_match(RawExt::new(&long, 0, &[0; 8]))
        ]),
        EINVAL,
    ));
    v.push(case(
        "E4",
        "target name of 29 non-NUL chars",
        input(vec![rule(T::Ext(RawExt::new(&long, 0, &[0; 8])))]),
        EINVAL,
    ));
    let mut m = tcp(22);
    m.revision = 1;
    v.push(case(
        "E5",
        "tcp match rev 1",
        input(vec![rule(T::Std(V::Accept)).with_match(m).proto(6)]),
        ENOENT,
    ));
    let mut m = comment("x");
    m.revision = 1;
    v.push(case(
        "E6",
        "comment match rev 1",
        input(vec![rule(T::Std(V::Accept)).with_match(m)]),
        EPROTOTYPE,
    ));
    let mut x = RawExt::new("", 1, &(-2i32).to_le_bytes());
    x.data.extend_from_slice(&[0; 4]);
    v.push(case(
        "E7",
        "standard target rev 1",
        input(vec![rule(T::Ext(x.clone()))]),
        ENOENT,
    ));
    let mut d = b"foo".to_vec();
    d.resize(32, 0);
    v.push(case(
        "P17",
        "ERROR target rev 1",
        input(vec![rule(T::Ext(RawExt::new("ERROR", 1, &d)))]),
        ENOENT,
    ));
    let mut t = base();
    x.revision = 2;
    t.entries[0].target = T::Ext(x);
    v.push(case(
        "B40",
        "policy standard target with revision 2",
        t,
        ENOENT,
    ));
    v.push(case(
        "E8",
        "tcp with proto 0",
        input(vec![rule(T::Std(V::Accept)).with_match(tcp(22))]),
        EINVAL,
    ));
    let mut r = rule(T::Std(V::Accept)).with_match(tcp(22)).proto(6);
    r.ip.invflags = IPT_INV_PROTO;
    v.push(case(
        "E9",
        "tcp with proto 6 and INV_PROTO",
        input(vec![r]),
        EINVAL,
    ));
    v.push(case(
        "E10",
        "tcp with proto 17",
        input(vec![rule(T::Std(V::Accept)).with_match(tcp(22)).proto(17)]),
        EINVAL,
    ));
    let mut m = tcp(22);
    m.data.truncate(4);
    v.push(case(
        "E11",
        "tcp match_size 40",
        input(vec![rule(T::Std(V::Accept)).with_match(m).proto(6)]),
        EINVAL,
    ));
    let mut m = tcp(22);
    m.data[11] = 0x10;
    v.push(case(
        "E12",
        "tcp invflags 0x10",
        input(vec![rule(T::Std(V::Accept)).with_match(m).proto(6)]),
        EINVAL,
    ));
    v.push(case(
        "E13",
        "DNAT in filter OUTPUT",
        RawTable::filter(vec![], vec![], vec![rule(nat0("DNAT", 1))], vec![]),
        EINVAL,
    ));
    v.push(case(
        "E14",
        "REJECT with ECHOREPLY (4)",
        input(vec![rule(reject(4))]),
        EINVAL,
    ));
    v.push(case(
        "E15",
        "REJECT tcp-reset (7) with proto 0",
        input(vec![rule(reject(7))]),
        EINVAL,
    ));
    v.push(case(
        "E16",
        "LOG level 8",
        input(vec![rule(log(8, b"x"))]),
        EINVAL,
    ));
    v.push(case(
        "E17",
        "std target_size 36, next_offset 152",
        input(vec![rule(std_sized(-2, 36))]),
        EINVAL,
    ));
    v.push(case(
        "E20",
        "owner in INPUT",
        input(vec![rule(T::Std(V::Accept)).with_match(owner())]),
        EINVAL,
    ));
    let t = RawTable::filter(
        vec![rule(T::Std(l("foo")))],
        vec![],
        vec![rule(T::Std(l("foo")))],
        vec![("foo", vec![rule(T::Std(V::Accept)).with_match(owner())])],
    );
    v.push(case(
        "E21",
        "owner in a chain reached from INPUT and OUTPUT",
        t,
        EINVAL,
    ));
    let mut c = case(
        "N1",
        "nat: MASQUERADE in PREROUTING",
        nat(
            vec![rule(nat0("MASQUERADE", 1))],
            vec![],
            vec![],
            vec![],
            vec![],
        ),
        EINVAL,
    );
    c.current_entries = None;
    v.push(c);
    let t = nat(
        vec![],
        vec![],
        vec![rule(T::Std(l("foo")))],
        vec![rule(T::Std(l("foo")))],
        vec![("foo", vec![rule(nat0("MASQUERADE", 1))])],
    );
    v.push(case(
        "N3",
        "nat: MASQUERADE in a chain reached from OUTPUT and POSTROUTING",
        t,
        EINVAL,
    ));
    let t3 = match nat0("DNAT", 1) {
        T::Ext(mut x) => {
            x.revision = 3;
            T::Ext(x)
        }
        t => t,
    };
    v.push(case(
        "N4",
        "nat: DNAT rev 3",
        nat(vec![rule(t3)], vec![], vec![], vec![], vec![]),
        EPROTOTYPE,
    ));
    v.push(case(
        "N5",
        "nat: DNAT rev 0 with rangesize 2",
        nat(vec![rule(nat0("DNAT", 2))], vec![], vec![], vec![], vec![]),
        EINVAL,
    ));

    // §6.2 F: table state.
    let mut t = base();
    t.name = b"nosuchtable".to_vec();
    v.push(case("F1", "table nosuchtable", t, ENOENT));
    let mut t = base();
    let mut n = b"filter".to_vec();
    n.extend_from_slice(&[b'X'; 26]);
    t.name = n;
    v.push(case(
        "F2",
        "name = filter + 26 X (truncated to 31)",
        t,
        ENOENT,
    ));
    let mut t = base();
    t.num_counters = 5;
    v.push(case("F3", "num_counters = current + 1", t, EAGAIN));
    let mut t = base();
    t.num_counters = 33_554_433;
    v.push(case("F4", "num_counters = 33554433", t, ENOMEM));
    let mut t = base();
    t.num_counters = 33_554_433;
    t.num_entries = Some(5);
    v.push(case("F5", "F4 and num_entries + 1", t, EINVAL));
    let mut t = input(vec![rule(T::Std(l("END")))]);
    t.name = b"nosuchtable".to_vec();
    v.push(case(
        "F6",
        "jump to the final ERROR and unknown table",
        t,
        ELOOP,
    ));
    let mut t = input(vec![rule(ext_t("NOSUCHTG"))]);
    t.num_counters = 7;
    v.push(case(
        "F7",
        "unknown target and wrong num_counters",
        t,
        ENOENT,
    ));
    v.push(case(
        "D19",
        "jump to the final ERROR and an unknown target in an unreferenced chain",
        with_user(
            vec![rule(T::Std(l("END")))],
            vec![("foo", vec![rule(ext_t("NOSUCHTG"))])],
        ),
        ELOOP,
    ));
    v.push(case(
        "D20",
        "rule 1 unknown target, rule 2 verdict 0",
        input(vec![rule(ext_t("NOSUCHTG")), rule(T::Std(V::Raw(0)))]),
        EINVAL,
    ));

    // §6.2 H: CVE payloads, natively.
    let mut r = rule(T::Std(V::Accept));
    r.target_offset = Some(74);
    v.push(case(
        "H1",
        "CVE-2016-4997 shape: target_offset 74",
        input(vec![r]),
        EINVAL,
    ));
    let r =
        rule(T::Ext(RawExt::new("REJECT", 0, &[]))).with_match(RawExt::new("state", 0, &[0; 776]));
    v.push(case(
        "H2",
        "CVE-2021-22555 shape: state match_size 808, REJECT 32",
        input(vec![r]),
        EINVAL,
    ));
    let mut t = input(vec![RawEntry::std(V::Accept).with_match(comment("x"))]);
    t.entries[0].next_offset = Some(0xFFF0);
    t.underflow[1] = Hk::Entry(0);
    v.push(case(
        "H3",
        "underflow entry with a match and next_offset 0xFFF0",
        t,
        EINVAL,
    ));

    // §6.2 U: unreachable entries still get pass 2.
    v.push(case(
        "U1",
        "unknown target in an unreferenced chain",
        with_user(vec![], vec![("foo", vec![rule(ext_t("NOSUCHTG"))])]),
        ENOENT,
    ));
    v.push(case(
        "U2",
        "DNAT in an unreferenced chain of filter",
        with_user(vec![], vec![("foo", vec![rule(nat0("DNAT", 1))])]),
        EINVAL,
    ));
    v.push(case(
        "U3",
        "tcp with proto 0 in an unreferenced chain",
        with_user(
            vec![],
            vec![("foo", vec![rule(T::Std(V::Accept)).with_match(tcp(22))])],
        ),
        EINVAL,
    ));
    v.push(case(
        "U4",
        "REJECT in an unreferenced chain of nat",
        nat(
            vec![],
            vec![],
            vec![],
            vec![],
            vec![("foo", vec![rule(reject(0))])],
        ),
        EINVAL,
    ));
    v.push(case(
        "U6",
        "LOG with a 30-byte prefix and no NUL",
        input(vec![rule(log(4, &[b'p'; 30]))]),
        EINVAL,
    ));

    positive(&mut v);
    v
}

fn positive(v: &mut Vec<SpecCase>) {
    let ok = |v: &mut Vec<SpecCase>, id: &'static str, what: &'static str, t: RawTable| {
        v.push(case(id, what, t, 0))
    };
    ok(v, "BASE", "the stock filter table", RawTable::base());
    ok(
        v,
        "P1",
        "empty unreferenced user chain",
        with_user(vec![], vec![("foo", vec![])]),
    );
    ok(
        v,
        "P2",
        "INPUT -> foo (conditional ACCEPT + RETURN)",
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![("foo", vec![rule(T::Std(V::Accept))])],
        ),
    );
    let t = RawTable::filter(
        vec![rule(T::Std(l("foo"))), rule(T::Std(l("foo")))],
        vec![rule(T::Std(l("foo")))],
        vec![rule(T::Std(l("foo")))],
        vec![("foo", vec![rule(T::Std(V::Drop))])],
    );
    ok(
        v,
        "P3",
        "one chain referenced from INPUT twice, FORWARD and OUTPUT",
        t,
    );
    let mut g = rule(T::Std(l("foo")));
    g.ip.flags = IPT_F_GOTO;
    ok(
        v,
        "P4",
        "goto to a user chain",
        with_user(vec![g], vec![("foo", vec![rule(T::Std(V::Accept))])]),
    );
    ok(
        v,
        "P5",
        "user chain ending in an unconditional DROP, no RETURN",
        drop_return(
            with_user(
                vec![rule(T::Std(l("foo")))],
                vec![("foo", vec![RawEntry::std(V::Drop)])],
            ),
            "foo",
        ),
    );
    let t = with_user(
        vec![rule(T::Std(l("mid")))],
        vec![(
            "foo",
            vec![rule(T::Std(V::Accept)), rule(T::Std(V::Drop)).label("mid")],
        )],
    );
    ok(v, "P6", "jump into the middle of a user chain", t);
    ok(
        v,
        "P7",
        "jump to a user chain's ERROR head",
        with_user(
            vec![rule(T::Std(l("@foo")))],
            vec![("foo", vec![rule(T::Std(V::Accept))])],
        ),
    );
    ok(
        v,
        "P8",
        "conditional RETURN in a built-in chain",
        input(vec![rule(T::Std(V::Return))]),
    );
    ok(
        v,
        "P11",
        "unconditional RETURN as the first INPUT rule",
        input(vec![RawEntry::std(V::Return)]),
    );
    let t = with_user(
        vec![rule(T::Std(l("foo")))],
        vec![
            ("foo", vec![rule(T::Std(l("bar")))]),
            ("bar", vec![rule(T::Std(l("baz")))]),
            ("baz", vec![rule(T::Std(V::Accept))]),
        ],
    );
    ok(v, "P9", "nested chains foo -> bar -> baz", t);
    let mut g = rule(T::Std(l("bar")));
    g.ip.flags = IPT_F_GOTO;
    let t = with_user(
        vec![rule(T::Std(l("foo")))],
        vec![
            ("foo", vec![g, rule(T::Std(V::Return))]),
            ("bar", vec![rule(T::Std(l("baz")))]),
            ("baz", vec![rule(T::Std(V::Return))]),
        ],
    );
    ok(
        v,
        "P14",
        "depth 3 mixing goto and jump with conditional RETURN",
        t,
    );
    ok(
        v,
        "P10",
        "OUTPUT rule jumping to the FORWARD policy entry",
        RawTable::filter(vec![], vec![], vec![rule(T::Std(l("P:2")))], vec![]),
    );
    let t = input(vec![
        rule(T::Std(l("next"))),
        rule(T::Std(V::Accept)).label("next"),
    ]);
    ok(v, "D14", "a jump to the immediately following entry", t);
    let t = drop_return(
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![
                ("foo", vec![RawEntry::std(l("bar")), RawEntry::std(V::Drop)]),
                ("bar", vec![]),
            ],
        ),
        "foo",
    );
    ok(
        v,
        "D15c",
        "unconditional jump as next-to-last rule, then an unconditional DROP",
        t,
    );
    ok(
        v,
        "D16",
        "the same chain called twice from the same hook",
        with_user(
            vec![rule(T::Std(l("foo"))), rule(T::Std(l("foo")))],
            vec![("foo", vec![])],
        ),
    );
    let mut t = RawTable::base();
    t.entries.insert(0, RawEntry::error("head"));
    t.hook_entry[1] = Hk::Entry(0);
    t.underflow[1] = Hk::Entry(1);
    t.hook_entry[2] = Hk::Entry(2);
    t.underflow[2] = Hk::Entry(2);
    t.hook_entry[3] = Hk::Entry(3);
    t.underflow[3] = Hk::Entry(3);
    ok(
        v,
        "D17",
        "hook entry = an ERROR head placed before the policies",
        t,
    );
    ok(
        v,
        "D18",
        "INPUT rules fall through into FORWARD's rules before INPUT's policy",
        d18(),
    );
    let mut t = RawTable::filter(vec![rule(T::Std(V::Accept))], vec![], vec![], vec![]);
    t.hook_entry[1] = Hk::Entry(1);
    t.underflow[1] = Hk::Entry(0);
    t.entries[0] = RawEntry::std(V::Accept);
    ok(v, "C8", "underflow located before its hook entry", t);
    let mut t = RawTable::base();
    t.hook_entry[0] = Hk::Raw(0xdead_beef);
    t.underflow[4] = Hk::Raw(12345);
    ok(
        v,
        "C9",
        "garbage hook_entry/underflow for hooks not in valid_hooks",
        t,
    );
    let mut t = RawTable::base();
    t.entries.pop();
    ok(v, "C10", "no trailing ERROR entry at all", t);
    ok(
        v,
        "D10",
        "unreferenced chain with a jump to offset 8",
        with_user(vec![], vec![("foo", vec![rule(T::Std(V::Raw(8)))])]),
    );
    ok(
        v,
        "D11",
        "unreferenced chain with a self-loop",
        with_user(vec![], vec![("foo", vec![rule(T::Std(l("foo")))])]),
    );
    ok(
        v,
        "N2",
        "nat: MASQUERADE in an unreferenced user chain",
        nat(
            vec![],
            vec![],
            vec![],
            vec![],
            vec![("foo", vec![rule(nat0("MASQUERADE", 1))])],
        ),
    );
    ok(
        v,
        "U5",
        "owner in an unreferenced filter chain",
        with_user(
            vec![],
            vec![("foo", vec![rule(T::Std(V::Accept)).with_match(owner())])],
        ),
    );
    ok(
        v,
        "E18",
        "an ERROR entry used as an ordinary rule in INPUT",
        input(vec![RawEntry::error("x")]),
    );
    let mut t = input(vec![rule(T::Std(V::Accept))]);
    t.entries[0].nfcache = 0xdead;
    t.entries[0].comefrom = 0xbeef;
    t.entries[0].counters = (1, 2);
    ok(
        v,
        "P12",
        "nonzero nfcache, comefrom and counters in the blob",
        t,
    );
    let mut m = comment("x");
    m.name[8..12].copy_from_slice(b"junk");
    let mut t = input(vec![rule(T::Std(V::Accept)).with_match(m)]);
    if let T::Std(_) = t.entries[0].target {
        let mut x = RawExt::new("", 0, &(-2i32).to_le_bytes());
        x.data.extend_from_slice(&[0; 4]);
        x.name[1..5].copy_from_slice(b"junk");
        x.size = Some(40);
        t.entries[0].target = T::Ext(x);
    }
    ok(
        v,
        "P13",
        "junk after the NUL in match and std target names",
        t,
    );
    let mut r = rule(T::Std(V::Accept)).proto(300);
    r.ip.iniface = *b"abcdefghijklmnop";
    r.ip.iniface_mask = [0xFF; 16];
    ok(
        v,
        "P15",
        "16-char iniface without NUL, mask 0xff.., proto 300",
        input(vec![r]),
    );
    ok(
        v,
        "P16",
        "duplicate user-chain names and an empty name",
        with_user(vec![], vec![("foo", vec![]), ("foo", vec![]), ("", vec![])]),
    );
    let mut r = rule(T::Std(V::Accept));
    r.ip.flags = 0x03;
    ok(v, "B6ok", "flags 0x03 on an ordinary rule", input(vec![r]));
    let mut r = rule(T::Std(V::Accept));
    r.ip.invflags = 0x7F;
    ok(
        v,
        "B7ok",
        "invflags 0x7F on an ordinary rule",
        input(vec![r]),
    );
    ok(
        v,
        "B18ok",
        "QUEUE on an ordinary rule",
        input(vec![rule(T::Std(V::Queue))]),
    );
    let mut t = RawTable::base();
    for e in t.entries.iter_mut().take(3) {
        e.target = T::Std(V::Drop);
    }
    ok(v, "B36", "all policies DROP", t);
    let mut x = RawExt::new("", 0, &(-2i32).to_le_bytes());
    x.data.extend_from_slice(&[1, 2, 3, 4]);
    ok(
        v,
        "B38",
        "nonzero std-target padding",
        input(vec![rule(T::Ext(x))]),
    );
    let mut d = b"foo".to_vec();
    d.resize(30, 0);
    d.extend_from_slice(&[7, 7]);
    ok(
        v,
        "B39",
        "nonzero ERROR padding",
        input(vec![rule(T::Ext(RawExt::new("ERROR", 0, &d)))]),
    );
    let mut t = RawTable::base();
    t.extra = vec![0xAA; 64];
    ok(v, "A9", "optlen larger than 96 + size", t);
    let mut t = RawTable::base();
    t.counters_ptr = 0x10;
    ok(
        v,
        "X3",
        "invalid counters pointer (write-back fault is silent)",
        t,
    );
    ok(
        v,
        "E12ok",
        "tcp --dport 22 with -p tcp",
        input(vec![rule(T::Std(V::Accept)).with_match(tcp(22)).proto(6)]),
    );
    ok(
        v,
        "E15ok",
        "REJECT tcp-reset with -p tcp",
        input(vec![rule(reject(7)).proto(6)]),
    );
    ok(
        v,
        "E16ok",
        "LOG + comment",
        input(vec![rule(log(4, b"x")).with_match(comment("hi"))]),
    );
    ok(
        v,
        "E19",
        "REJECT in a user chain reached from INPUT",
        with_user(
            vec![rule(T::Std(l("foo")))],
            vec![("foo", vec![rule(reject(0))])],
        ),
    );
    ok(
        v,
        "E20ok",
        "owner in OUTPUT",
        RawTable::filter(
            vec![],
            vec![],
            vec![rule(T::Std(V::Accept)).with_match(owner())],
            vec![],
        ),
    );
    ok(
        v,
        "N0",
        "the minimal nat table",
        nat(vec![], vec![], vec![], vec![], vec![]),
    );
    ok(
        v,
        "N1ok",
        "MASQUERADE in POSTROUTING",
        nat(
            vec![],
            vec![],
            vec![],
            vec![rule(nat0("MASQUERADE", 1))],
            vec![],
        ),
    );
    ok(v, "S1", "spec §7 reference ruleset", spec7());
}

/// D18: INPUT = [r0, r1(FORWARD's first rule)...]: INPUT starts at r0 and falls into FORWARD's
/// rule r1 before reaching its own policy, placed after FORWARD's.
fn d18() -> RawTable {
    let mut t = RawTable::base();
    // Entries: 0 r0 (INPUT start), 1 r1 (FORWARD start), 2 INPUT policy, 3 FORWARD policy,
    // 4 OUTPUT policy, 5 ERROR.
    t.entries = vec![
        rule(T::Std(V::Accept)),
        rule(T::Std(V::Drop)),
        RawEntry::std(V::Accept),
        RawEntry::std(V::Accept),
        RawEntry::std(V::Accept),
        RawEntry::error("ERROR"),
    ];
    t.hook_entry = [
        Hk::Unset,
        Hk::Entry(0),
        Hk::Entry(1),
        Hk::Entry(4),
        Hk::Unset,
    ];
    t.underflow = [
        Hk::Unset,
        Hk::Entry(2),
        Hk::Entry(3),
        Hk::Entry(4),
        Hk::Unset,
    ];
    t
}

/// The ruleset of spec §7.
pub fn spec7() -> RawTable {
    let mut g = RawEntry::std(l("bar"));
    g.ip.flags = IPT_F_GOTO;
    let mut src = RawEntry::std(V::Accept);
    src.ip.src = [10, 0, 0, 0];
    src.ip.smsk = [255, 0, 0, 0];
    let jump = RawEntry::std(l("foo")).with_match(tcp(22)).proto(6);
    let logr = RawEntry::new(log(4, b"x")).with_match(comment("hi"));
    RawTable::iptables_layout(
        "filter",
        0x0E,
        vec![
            (vec![jump, logr], V::Accept),
            (vec![], V::Drop),
            (vec![], V::Accept),
        ],
        vec![("foo", vec![src, g]), ("bar", vec![])],
        4,
    )
}

/// Render a case list as `id: errno` lines (for debugging).
pub fn summary(cases: &[SpecCase]) -> String {
    let mut s = String::new();
    for c in cases {
        s.push_str(c.id);
        s.push_str(": ");
        s.push_str(&c.errno.to_string());
        s.push('\n');
    }
    s
}

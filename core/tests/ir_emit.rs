//! Emitter details that the fixtures cannot show (no registered extension has them yet), the
//! builder's refusals, and `check`.

#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use bpfilter_core::blob::ReplaceView;
use bpfilter_core::ext::matches::MatchValue;
use bpfilter_core::ext::targets::TargetValue;
use bpfilter_core::ext::{check_none, ExtDesc, Family, Kind};
use bpfilter_core::ir::{
    Chain, ChainName, ChainTarget, ExtTarget, IrError, Match, Rule, Ruleset, Table, Target, Verdict,
};
use bpfilter_core::uapi::{table_by_name, IPT_ENTRY_SIZE};
use bpfilter_core::validate::Validated;

/// Like `limit`: 12 payload bytes, of which the kernel returns only the first 8.
static PRIVATE_TAIL: ExtDesc = ExtDesc {
    kind: Kind::Match,
    name: "tailish",
    revision: 3,
    family: Family::Unspec,
    size: 12,
    usersize: 8,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_none,
};

/// A 4-byte target payload, aligned to 8.
static SMALL_TARGET: ExtDesc = ExtDesc {
    kind: Kind::Target,
    name: "SMALL",
    revision: 1,
    family: Family::Ipv4,
    size: 4,
    usersize: 0,
    table: None,
    hooks: 0,
    proto: 0,
    check: check_none,
};

fn one_rule_table(rule: Rule) -> Table {
    Table {
        name: "filter".try_into().unwrap(),
        valid_hooks: 0,
        entries: vec![rule],
        hook_entry: [None; 5],
        underflow: [None; 5],
    }
}

#[test]
fn get_entries_cuts_payloads_and_names_set_form_keeps_them() {
    let mut junk_name = [0u8; 29];
    junk_name[..8].copy_from_slice(b"tailish\0");
    junk_name[20] = b'J';
    let mut rule = Rule::new(Target::Ext(ExtTarget {
        desc: &SMALL_TARGET,
        value: TargetValue::Other(vec![1, 2, 3, 4, 0xEE, 0xEE, 0xEE, 0xEE]),
        raw: None,
    }));
    rule.matches.push(Match {
        desc: &PRIVATE_TAIL,
        value: MatchValue::Other(vec![0xAA; 16]),
        name_field: Some(junk_name),
        raw: None,
    });
    rule.counters = (9, 10);
    let t = one_rule_table(rule);
    t.check().unwrap();

    let set = t.to_entries();
    let m = IPT_ENTRY_SIZE;
    assert_eq!(set.len(), m + 48 + 40);
    assert_eq!(&set[88..92], &[160, 0, 200, 0]); // target_offset, next_offset
    assert_eq!(&set[m..m + 2], &[48, 0]);
    assert_eq!(&set[m + 2..m + 31], &junk_name);
    assert_eq!(set[m + 31], 3);
    // SET form: the values' own encodings (an `Other` value may or may not be verbatim).
    let rule = &t.entries[0];
    let mut menc = Vec::new();
    rule.matches[0].value.encode(&PRIVATE_TAIL, &mut menc);
    assert_eq!(&set[m + 32..m + 48], &menc[..]);
    assert_eq!(&menc[..8], &[0xAA; 8]);
    let tg = m + 48;
    let Target::Ext(x) = &rule.target else {
        unreachable!()
    };
    let mut tenc = Vec::new();
    x.value.encode(&SMALL_TARGET, &mut tenc);
    assert_eq!(&set[tg + 32..tg + 40], &tenc[..]);
    assert_eq!(&set[96..104], &9u64.to_le_bytes());

    let get = t.to_get_entries(&[0x0E], &[(100, 200)]);
    assert_eq!(get.len(), set.len());
    assert_eq!(&get[92..96], &[0x0E, 0, 0, 0]);
    assert_eq!(&get[96..104], &100u64.to_le_bytes());
    assert_eq!(&get[m + 2..m + 10], b"tailish\0");
    assert!(
        get[m + 10..m + 31].iter().all(|&b| b == 0),
        "name after NUL"
    );
    assert_eq!(&get[m + 32..m + 40], &[0xAA; 8]);
    assert_eq!(&get[m + 40..m + 48], &[0; 8], "beyond usersize");
    assert_eq!(
        &get[tg + 32..tg + 40],
        &[1, 2, 3, 4, 0, 0, 0, 0],
        "beyond size"
    );
}

#[test]
fn dangling_jumps_and_flags_go_out_as_held() {
    let mut r = Rule::new(Target::DanglingJump {
        offset: 8,
        goto: true,
    });
    r.ip.frag = true;
    let t = one_rule_table(r);
    let b = t.to_entries();
    assert_eq!(b[82], 0x03); // IPT_F_FRAG | IPT_F_GOTO
    assert_eq!(
        &b[IPT_ENTRY_SIZE + 32..IPT_ENTRY_SIZE + 36],
        &8i32.to_le_bytes()
    );
}

#[test]
fn check_finds_unemittable_tables() {
    let mut t = one_rule_table(Rule::new(Target::Jump(1)));
    assert_eq!(t.check(), Err(IrError::BadIndex { entry: 0 }));
    t.entries[0].target = Target::Jump(0);
    assert_eq!(t.check(), Ok(()));
    t.valid_hooks = 0x02;
    assert_eq!(t.check(), Err(IrError::BadIndex { entry: 1 }));
    t.hook_entry[1] = Some(0);
    t.underflow[1] = Some(0);
    assert_eq!(t.check(), Ok(()));
    // Out-of-range jumps still emit something (the blob size), without panicking.
    t.entries[0].target = Target::Goto(7);
    assert_eq!(
        &t.to_entries()[IPT_ENTRY_SIZE + 32..IPT_ENTRY_SIZE + 36],
        &152u32.to_le_bytes()
    );
}

fn filter() -> Ruleset {
    Ruleset::new(table_by_name(b"filter").unwrap())
}

fn jump(to: &str) -> Rule<ChainTarget> {
    Rule::new(ChainTarget::Jump(ChainName::new(to.as_bytes()).unwrap()))
}

#[test]
fn builder_refuses_what_iptables_cannot_write() {
    let mut rs = filter();
    rs.chains.push(Chain::user("a").unwrap());
    rs.chains.push(Chain::user("a").unwrap());
    assert_eq!(rs.build(), Err(IrError::DuplicateChain { chain: 4 }));

    let mut rs = filter();
    rs.chains.remove(1);
    assert_eq!(rs.build(), Err(IrError::MissingBuiltin { hook: 2 }));

    let mut rs = filter();
    rs.chains.push(Chain::builtin(0, Verdict::Accept).unwrap());
    assert_eq!(rs.build(), Err(IrError::BadBuiltin { chain: 3 }));

    let mut rs = filter();
    rs.chains[0].policy = Some(Verdict::Return);
    assert_eq!(rs.build(), Err(IrError::BadPolicy { chain: 0 }));

    let mut rs = filter();
    rs.chains.push(Chain::user("").unwrap());
    assert_eq!(rs.build(), Err(IrError::BadChainName { chain: 3 }));
    let mut rs = filter();
    rs.chains.push(Chain::user(&"x".repeat(30)).unwrap());
    assert_eq!(rs.build(), Err(IrError::BadChainName { chain: 3 }));

    let mut rs = filter();
    rs.chains[0].rules.push(jump("FORWARD"));
    assert_eq!(rs.build(), Err(IrError::BadJump { chain: 0, rule: 0 }));
    let mut rs = filter();
    rs.chains[2].rules.push(Rule::new(ChainTarget::Accept));
    rs.chains[2].rules.push(jump("nosuch"));
    assert_eq!(rs.build(), Err(IrError::BadJump { chain: 2, rule: 1 }));
    let mut rs = filter();
    rs.chains[0]
        .rules
        .push(Rule::new(ChainTarget::Unresolved { goto: false }));
    assert_eq!(rs.build(), Err(IrError::BadJump { chain: 0, rule: 0 }));

    // A 29-byte name fits the ERROR entry (iptables itself stops at 28).
    let mut rs = filter();
    rs.chains.push(Chain::user(&"y".repeat(29)).unwrap());
    rs.chains[0].rules.push(jump(&"y".repeat(29)));
    let t = rs.build().unwrap();
    assert_eq!(t.entries[0].target, Target::Jump(5));
}

#[test]
fn from_validated_refuses_inconsistent_input() {
    let t = filter().build().unwrap();
    let optval = t.to_replace(4, 0);
    let view = ReplaceView::new(&optval).unwrap();
    let v = Validated {
        header: view.header(),
        entries: view.entries().unwrap(),
        table: *table_by_name(b"filter").unwrap(),
        offsets: vec![0, 152, 304, 456],
        hook_mask: vec![2, 4, 8, 0],
        hook_entry: [u32::MAX, 0, 152, 304, u32::MAX],
        underflow: [u32::MAX, 0, 152, 304, u32::MAX],
        stacksize: 1,
    };
    assert_eq!(Table::from_validated(&v).as_ref(), Ok(&t));

    let mut bad = v.clone();
    bad.offsets[2] = 300;
    assert_eq!(
        Table::from_validated(&bad),
        Err(IrError::Malformed { entry: 2 })
    );
    let mut bad = v.clone();
    bad.offsets.pop();
    assert!(Table::from_validated(&bad).is_err());
    let mut bad = v.clone();
    bad.underflow[2] = 8;
    assert_eq!(
        Table::from_validated(&bad),
        Err(IrError::HookOffset { hook: 2 })
    );
}

#[test]
fn raw_payload_goes_out_in_set_form_only() {
    let mut rule = Rule::new(Target::Accept);
    rule.matches.push(Match {
        desc: &PRIVATE_TAIL,
        value: MatchValue::Other(vec![0xAA; 16]),
        name_field: None,
        raw: Some(vec![0xBB; 16]),
    });
    let t = one_rule_table(rule);
    let m = IPT_ENTRY_SIZE;
    assert_eq!(&t.to_entries()[m + 32..m + 48], &[0xBB; 16]);
    let get = t.to_get_entries(&[], &[]);
    assert_eq!(&get[m + 32..m + 40], &[0xAA; 8]);
    assert_eq!(&get[m + 40..m + 48], &[0; 8]);
}

//! The BTF reader against an independent oracle: `bpftool btf dump` of the same
//! `/sys/kernel/btf/vmlinux`, parsed here from its text form.

use bpfilter_umh::sys::btf::{Btf, BtfKind};
use std::collections::HashMap;
use std::process::Command;

/// One type as bpftool prints it: kind, name, and for structs/unions the members
/// (name, type id, bit offset, bitfield size).
struct Ty {
    kind: String,
    name: String,
    members: Vec<(String, u32, u32, u32)>,
}

fn field(line: &str, key: &str) -> Option<u32> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn bpftool_types() -> HashMap<u32, Ty> {
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .expect("run bpftool");
    assert!(out.status.success(), "bpftool failed");
    let text = String::from_utf8(out.stdout).expect("utf8");
    let mut types = HashMap::new();
    let mut current: Option<u32> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let (id, rest) = rest.split_once("] ").expect("type line");
            let id: u32 = id.parse().expect("id");
            let (kind, rest) = rest.split_once(' ').expect("kind");
            let name = rest.split('\'').nth(1).unwrap_or("").to_string();
            types.insert(
                id,
                Ty {
                    kind: kind.to_string(),
                    name,
                    members: Vec::new(),
                },
            );
            current = Some(id);
        } else if let (Some(id), Some(m)) = (current, line.strip_prefix("\t'")) {
            let ty = types.get_mut(&id).expect("current");
            if ty.kind == "STRUCT" || ty.kind == "UNION" {
                let name = m.split('\'').next().unwrap_or("").to_string();
                ty.members.push((
                    name,
                    field(m, "type_id=").expect("type_id"),
                    field(m, "bits_offset=").expect("bits_offset"),
                    field(m, "bitfield_size=").unwrap_or(0),
                ));
            }
        }
    }
    types
}

/// bpftool's view of `outer.member`, looking through anonymous members.
fn oracle_member(types: &HashMap<u32, Ty>, id: u32, name: &str) -> Option<(u32, u32)> {
    for (mname, ty, off, bits) in &types.get(&id)?.members {
        if mname == name {
            return Some((*off, *bits));
        }
        if mname == "(anon)" {
            if let Some((o, b)) = oracle_member(types, *ty, name) {
                return Some((o + off, b));
            }
        }
    }
    None
}

fn first_named(types: &HashMap<u32, Ty>, kind: &str, name: &str) -> u32 {
    let mut ids: Vec<u32> = types
        .iter()
        .filter(|(_, t)| t.kind == kind && t.name == name)
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    *ids.first()
        .unwrap_or_else(|| panic!("{kind} {name} not in bpftool dump"))
}

#[test]
fn matches_bpftool() {
    let btf = Btf::from_sys_fs().expect("read vmlinux BTF");
    let types = bpftool_types();

    let max_id = types.keys().copied().max().expect("types");
    assert_eq!(
        btf.type_count(),
        max_id,
        "type ids are counted like bpftool"
    );

    for f in [
        "bpf_dynptr_from_skb",
        "bpf_dynptr_slice",
        "bpf_skb_ct_lookup",
    ] {
        assert_eq!(
            btf.kfunc_id(f).expect(f),
            first_named(&types, "FUNC", f),
            "{f}"
        );
    }
    let k = btf.kfuncs().expect("kfuncs");
    assert_ne!(k.dynptr_from_skb, k.dynptr_slice);

    let nf = btf.nf_offsets().expect("nf offsets");
    let cases = [
        ("nf_hook_state", "hook", Some(nf.state_hook)),
        ("nf_hook_state", "pf", Some(nf.state_pf)),
        ("nf_hook_state", "in", Some(nf.state_in)),
        ("nf_hook_state", "out", Some(nf.state_out)),
        ("net_device", "ifindex", Some(nf.dev_ifindex)),
        ("net_device", "name", Some(nf.dev_name)),
        ("sk_buff", "mark", Some(nf.skb_mark)),
        ("sk_buff", "_nfct", nf.skb_nfct),
        ("sk_buff", "pkt_type", nf.skb_pkt_type),
    ];
    for (outer, member, ours) in cases {
        let id = first_named(&types, "STRUCT", outer);
        let theirs = oracle_member(&types, id, member);
        assert_eq!(
            ours.map(|m| (m.bit_offset, m.bitfield_size)),
            theirs,
            "{outer}.{member}"
        );
    }
    // The sizes the code generator relies on for its loads.
    assert_eq!(nf.state_hook.size, Some(1));
    assert_eq!(nf.state_pf.size, Some(1));
    assert_eq!(nf.state_in.size, Some(8));
    assert_eq!(nf.dev_ifindex.size, Some(4));
    assert_eq!(nf.dev_name.size, Some(16));
    assert_eq!(nf.skb_mark.size, Some(4));
    if let Some(p) = nf.skb_pkt_type {
        assert_eq!(p.bitfield_size, 3, "pkt_type is a 3-bit field");
    }

    // Helper ids used by the code generator, from the kernel's own enum.
    use bpfilter_core::codegen::helper;
    for (name, id) in [
        ("BPF_FUNC_map_lookup_elem", helper::MAP_LOOKUP_ELEM),
        ("BPF_FUNC_map_update_elem", helper::MAP_UPDATE_ELEM),
        ("BPF_FUNC_map_delete_elem", helper::MAP_DELETE_ELEM),
        ("BPF_FUNC_ktime_get_ns", helper::KTIME_GET_NS),
        ("BPF_FUNC_get_prandom_u32", helper::GET_PRANDOM_U32),
        (
            "BPF_FUNC_get_smp_processor_id",
            helper::GET_SMP_PROCESSOR_ID,
        ),
        ("BPF_FUNC_ringbuf_output", helper::RINGBUF_OUTPUT),
        ("BPF_FUNC_for_each_map_elem", helper::FOR_EACH_MAP_ELEM),
        ("BPF_FUNC_loop", helper::LOOP),
    ] {
        assert_eq!(
            btf.enum_value("bpf_func_id", name).ok(),
            Some(i64::from(id)),
            "{name}"
        );
    }
    assert_eq!(btf.find("no_such_type_xyz", BtfKind::Struct), None);
    assert!(btf.member("nf_hook_state", "no_such_member").is_err());
    assert!(btf.kfunc_id("no_such_function_xyz").is_err());
}

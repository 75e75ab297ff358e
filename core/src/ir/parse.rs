//! `Validated` -> [`Table`]: every entry, in blob order, with offsets resolved to indices.

use super::{ErrorName, ExtTarget, IpMatch, IrError, Match, Rule, Slack, Table, TableName, Target};
use crate::blob::{read_i32, EntryView, ExtView};
use crate::ext::matches::MatchValue;
use crate::ext::targets::TargetValue;
use crate::ext::{lookup, ExtDesc, Kind};
use crate::uapi::{
    IPT_ENTRY_SIZE, IPT_F_GOTO, NF_INET_NUMHOOKS, VERDICT_ACCEPT, VERDICT_DROP, VERDICT_QUEUE,
    XT_ERROR_TARGET, XT_EXTENSION_MAXNAMELEN, XT_FUNCTION_MAXNAMELEN, XT_HEADER_SIZE, XT_RETURN,
};
use crate::validate::Validated;
use alloc::vec::Vec;

/// Where the std verdict and the ERROR name sit in their targets.
const PAYLOAD: usize = XT_HEADER_SIZE;

impl Table {
    /// Convert a blob the kernel would accept. Fails only if `v` is not what
    /// [`crate::validate::validate_replace`] produces (offsets that are not entry starts, an
    /// extension missing from the registry, ...), never panics.
    pub fn from_validated(v: &Validated<'_>) -> Result<Table, IrError> {
        let offsets = &v.offsets;
        let index_of = |off: u32| offsets.binary_search(&off).ok();
        let mut entries = Vec::with_capacity(offsets.len());
        let mut walk = v.entries.iter();
        for (i, &off) in offsets.iter().enumerate() {
            let e = walk.next().ok_or(IrError::Malformed { entry: i })?;
            if u32::try_from(e.pos()).ok() != Some(off) {
                return Err(IrError::Malformed { entry: i });
            }
            entries.push(rule_from_entry(&e, i, &index_of)?);
        }
        // The walk must end exactly at `size`.
        if walk.next().is_some() || walk.stopped_early() {
            return Err(IrError::Malformed {
                entry: offsets.len(),
            });
        }

        let valid_hooks = v.table.valid_hooks;
        let mut hook_entry = [None; NF_INET_NUMHOOKS];
        let mut underflow = [None; NF_INET_NUMHOOKS];
        for h in 0..NF_INET_NUMHOOKS {
            if valid_hooks & super::hook_bit(h) == 0 {
                continue;
            }
            let find = |x: Option<&u32>| x.and_then(|&o| index_of(o));
            let (Some(he), Some(uf)) = (find(v.hook_entry.get(h)), find(v.underflow.get(h))) else {
                return Err(IrError::HookOffset { hook: h });
            };
            if let (Some(a), Some(b)) = (hook_entry.get_mut(h), underflow.get_mut(h)) {
                *a = Some(he);
                *b = Some(uf);
            }
        }

        let mut name = TableName::new();
        for c in v.table.name.chars() {
            name.try_push(c)
                .map_err(|_| IrError::Malformed { entry: 0 })?;
        }
        Ok(Table {
            name,
            valid_hooks,
            entries,
            hook_entry,
            underflow,
        })
    }
}

fn rule_from_entry(
    e: &EntryView<'_>,
    i: usize,
    index_of: &dyn Fn(u32) -> Option<usize>,
) -> Result<Rule, IrError> {
    let bad = IrError::Malformed { entry: i };
    let hdr = e.header();
    let mut ip = IpMatch::from_raw(&hdr.ip);

    let mut matches = Vec::new();
    let mut end = IPT_ENTRY_SIZE;
    for m in e.matches() {
        let desc = find(Kind::Match, &m, i)?;
        let payload = m.data();
        let value =
            MatchValue::parse(desc, payload).unwrap_or_else(|| MatchValue::Other(payload.to_vec()));
        let raw = (!encodes_to(payload, |out| {
            value.encode(desc, out);
        }))
        .then(|| payload.to_vec());
        matches.push(Match {
            desc,
            value,
            name_field: odd_name(m.name_field(), desc.name.as_bytes()),
            raw,
        });
        end = m.offset().saturating_add(usize::from(m.size()));
    }
    // The matches must tile [112, target_offset) (pass 1).
    if end != usize::from(e.target_offset()) {
        return Err(bad);
    }

    let t = e.target().ok_or(bad)?;
    let tb = t.bytes();
    let mut slack = Slack::default();
    let goto = hdr.ip.flags & IPT_F_GOTO != 0;
    let target = if t.name().is_empty() {
        slack.target_name = odd_name(t.name_field(), b"");
        copy_pad(&mut slack, tb, PAYLOAD.saturating_add(4), 4);
        let verdict = read_i32(tb, PAYLOAD).ok_or(bad)?;
        match verdict {
            VERDICT_ACCEPT => Target::Accept,
            VERDICT_DROP => Target::Drop,
            VERDICT_QUEUE => Target::Queue,
            XT_RETURN => Target::Return,
            v if v > 0 => {
                let offset = u32::try_from(v).map_err(|_| bad)?;
                // The jump's flag moves from `ipt_ip` into the target.
                ip.goto_flag = false;
                match (index_of(offset), goto) {
                    (Some(t), false) => Target::Jump(t),
                    (Some(t), true) => Target::Goto(t),
                    (None, goto) => Target::DanglingJump { offset, goto },
                }
            }
            _ => return Err(bad),
        }
    } else if t.name() == XT_ERROR_TARGET {
        slack.target_name = odd_name(t.name_field(), XT_ERROR_TARGET);
        let raw = tb
            .get(PAYLOAD..PAYLOAD.saturating_add(XT_FUNCTION_MAXNAMELEN))
            .ok_or(bad)?;
        let mut name = [0; XT_FUNCTION_MAXNAMELEN];
        for (d, s) in name.iter_mut().zip(raw) {
            *d = *s;
        }
        copy_pad(
            &mut slack,
            tb,
            PAYLOAD.saturating_add(XT_FUNCTION_MAXNAMELEN),
            2,
        );
        Target::Error(ErrorName(name))
    } else {
        let desc = find(Kind::Target, &t, i)?;
        slack.target_name = odd_name(t.name_field(), desc.name.as_bytes());
        let payload = t.data();
        let value = TargetValue::parse(desc, payload)
            .unwrap_or_else(|| TargetValue::Other(payload.to_vec()));
        let raw = (!encodes_to(payload, |out| {
            let _ = value.encode(desc, out);
        }))
        .then(|| payload.to_vec());
        Target::Ext(ExtTarget { desc, value, raw })
    };
    let target_end = usize::from(e.target_offset()).saturating_add(tb.len());
    let next = usize::from(e.next_offset());
    if target_end > next
        || (target_end < next
            && matches!(
                target,
                Target::Accept
                    | Target::Drop
                    | Target::Queue
                    | Target::Return
                    | Target::Jump(_)
                    | Target::Goto(_)
                    | Target::DanglingJump { .. }
            ))
    {
        // A std target ends the entry exactly (pass 1); anything else was not validated.
        return Err(bad);
    }
    slack.target_tail = e
        .bytes()
        .and_then(|b| b.get(target_end..next))
        .unwrap_or(&[])
        .to_vec();

    Ok(Rule {
        ip,
        nfcache: hdr.nfcache.get(),
        matches,
        target,
        counters: (hdr.counters.pcnt.get(), hdr.counters.bcnt.get()),
        slack,
    })
}

fn find(kind: Kind, x: &ExtView<'_>, entry: usize) -> Result<&'static ExtDesc, IrError> {
    if !x.name_terminated() {
        return Err(IrError::Malformed { entry });
    }
    lookup(kind, x.name(), x.revision())
        .map_err(|_| IrError::UnknownExtension { entry: Some(entry) })
}

/// True if `encode` writes exactly `payload`.
fn encodes_to(payload: &[u8], encode: impl FnOnce(&mut Vec<u8>)) -> bool {
    let mut out = Vec::with_capacity(payload.len());
    encode(&mut out);
    out == payload
}

/// The raw name field if it differs from `name` + NUL + zeros.
fn odd_name(
    field: &[u8; XT_EXTENSION_MAXNAMELEN],
    name: &[u8],
) -> Option<[u8; XT_EXTENSION_MAXNAMELEN]> {
    let mut canon = [0; XT_EXTENSION_MAXNAMELEN];
    for (d, s) in canon.iter_mut().zip(name) {
        *d = *s;
    }
    (*field != canon).then_some(*field)
}

fn copy_pad(slack: &mut Slack, target: &[u8], at: usize, len: usize) {
    if let Some(src) = target.get(at..at.saturating_add(len)) {
        for (d, s) in slack.target_pad.iter_mut().zip(src) {
            *d = *s;
        }
    }
}

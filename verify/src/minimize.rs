//! Shrink a SET_REPLACE blob on which bpfilter and the kernel disagree, keeping the
//! disagreement: drop whole entries (re-aiming jumps, hook offsets, `size` and `num_entries`)
//! and bytes past `size`, while the predicate still holds. What is left is the regression
//! fixture to keep.

const HDR: usize = 96;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    if let Some(s) = b.get_mut(at..at + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// `(offset, length)` of every entry, if the entries tile `[0, size)` by `next_offset`.
fn entries(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let size = usize::try_from(u32_at(b, 40)?).ok()?;
    let blob = b.get(HDR..HDR.checked_add(size)?)?;
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < size {
        let no = usize::from(u16::from_le_bytes(
            blob.get(pos + 90..pos + 92)?.try_into().ok()?,
        ));
        if no == 0 || pos + no > size {
            return None;
        }
        out.push((pos, no));
        pos += no;
    }
    Some(out)
}

/// The blob without entry `k`, everything that pointed past it moved back.
fn without_entry(b: &[u8], k: usize) -> Option<Vec<u8>> {
    let list = entries(b)?;
    let &(gone, len) = list.get(k)?;
    let shift = |v: u32| -> u32 {
        let v = v as usize;
        if v > gone && v < gone + len {
            gone as u32
        } else if v >= gone + len {
            (v - len) as u32
        } else {
            v as u32
        }
    };
    let mut out = b.get(..HDR)?.to_vec();
    let size = u32_at(b, 40)?;
    put_u32(&mut out, 40, size.checked_sub(len as u32)?);
    put_u32(&mut out, 36, u32_at(b, 36)?.saturating_sub(1));
    for f in 0..10 {
        let at = 44 + 4 * f;
        let v = u32_at(b, at)?;
        if v != u32::MAX {
            put_u32(&mut out, at, shift(v));
        }
    }
    for (i, &(pos, no)) in list.iter().enumerate() {
        if i == k {
            continue;
        }
        let start = out.len();
        out.extend_from_slice(b.get(HDR + pos..HDR + pos + no)?);
        // A standard target's positive verdict is a jump offset.
        let to = usize::from(u16::from_le_bytes(
            b.get(HDR + pos + 88..HDR + pos + 90)?.try_into().ok()?,
        ));
        let name0 = b.get(HDR + pos + to + 2).copied();
        if name0 == Some(0) && to + 36 <= no {
            if let Some(v) = u32_at(&out, start + to + 32) {
                if (v as i32) > 0 {
                    put_u32(&mut out, start + to + 32, shift(v));
                }
            }
        }
    }
    out.extend_from_slice(b.get(HDR + size as usize..).unwrap_or(&[]));
    Some(out)
}

/// Shrink `blob` while `still_bad` holds (it is never called on the input itself).
pub fn minimize(blob: &[u8], still_bad: &mut dyn FnMut(&[u8]) -> bool) -> Vec<u8> {
    let mut cur = blob.to_vec();
    if let Some(size) = u32_at(&cur, 40) {
        let end = HDR.saturating_add(size as usize);
        if cur.len() > end {
            let cut = cur[..end].to_vec();
            if still_bad(&cut) {
                cur = cut;
            }
        }
    }
    // Each round removes one entry; at most as many rounds as there are entries.
    for _ in 0..4096 {
        let n = entries(&cur).map_or(0, |l| l.len());
        let mut shrunk = false;
        for k in (0..n).rev() {
            if let Some(c) = without_entry(&cur, k) {
                if still_bad(&c) {
                    cur = c;
                    shrunk = true;
                    break;
                }
            }
        }
        if !shrunk {
            break;
        }
    }
    cur
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use bpfilter_core::testgen::{RawEntry, RawExt, RawTable, T, V};
    use bpfilter_core::validate::{validate_replace, FreshNamespace};

    #[test]
    fn keeps_the_entry_that_matters_and_rewires_the_rest() {
        // A user chain, jumps, and one entry with an unknown target (the "bug" to keep).
        let bad = RawEntry::new(T::Ext(RawExt::new("NOSUCH", 0, &[0; 8])));
        let mut jump = RawEntry::std(V::Label("foo".into(), 0));
        jump.ip.src = [10, 0, 0, 0];
        jump.ip.smsk = [255, 0, 0, 0];
        let t = RawTable::filter(
            vec![jump.clone(), RawEntry::src10(V::Accept)],
            vec![RawEntry::src10(V::Drop)],
            vec![],
            vec![("foo", vec![RawEntry::src10(V::Accept), bad])],
        );
        let blob = t.optval();
        let errno = |b: &[u8]| {
            validate_replace(b, &FreshNamespace::default())
                .err()
                .map(|e| e.errno().code())
        };
        assert_eq!(errno(&blob), Some(2));
        let min = minimize(&blob, &mut |b| errno(b) == Some(2));
        assert!(min.len() < blob.len(), "nothing removed");
        assert_eq!(errno(&min), Some(2));
        // Structure is still valid around the kept entry: it tiles and every hook is kept.
        assert!(entries(&min).is_some());
    }
}

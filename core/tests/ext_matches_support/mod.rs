//! Shared by the match tests whose cases are recorded as text: the payload notation.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

/// A payload of `size` zero bytes with `OFFSET:HEX[*TIMES]` runs written over it (`-`: none).
pub fn payload(size: usize, spec: &str) -> Vec<u8> {
    let mut b = vec![0u8; size];
    if spec == "-" {
        return b;
    }
    for run in spec.split(',') {
        let (off, hex) = run.split_once(':').unwrap();
        let off: usize = off.parse().unwrap();
        let (hex, times) = match hex.split_once('*') {
            Some((h, n)) => (h, n.parse().unwrap()),
            None => (hex, 1),
        };
        let bytes: Vec<u8> = hex
            .as_bytes()
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect();
        for (i, byte) in bytes.iter().cycle().take(bytes.len() * times).enumerate() {
            b[off + i] = *byte;
        }
    }
    b
}

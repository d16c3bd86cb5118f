//! The serializer: splices recorded edits into the original bytes.
//!
//! Guarantees: bytes not covered by an edit are copied verbatim, in order,
//! with one `memcpy` per untouched stretch; nothing is re-rendered. Edits
//! must be sorted by start offset (the [`super::edit::Editor`] keeps them
//! so); out-of-range edits are clamped rather than panicking.

/// Why an edit was recorded; lets the editor supersede its own automatic
/// edits (body, Content-Length, Content-Type) when called again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTag {
    /// An ordinary edit.
    Plain,
    /// The body replacement.
    Body,
    /// A Content-Length update made for a body change.
    ContentLength,
    /// A Content-Type update made for a body change.
    ContentType,
}

/// One recorded edit: replace `start..end` of the original buffer by
/// `data` (an insertion when `start == end`, a deletion when `data` is
/// empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// First replaced byte (offset into the original buffer).
    pub start: usize,
    /// One past the last replaced byte.
    pub end: usize,
    /// Replacement bytes.
    pub data: Vec<u8>,
    /// Recording order; insertions at the same offset keep it.
    pub seq: u32,
    /// Why the edit was made.
    pub tag: EditTag,
}

/// Writes `src[start..end]` with `edits` applied into `out`.
pub fn splice(src: &[u8], start: usize, end: usize, edits: &[Edit], out: &mut Vec<u8>) {
    let end = end.min(src.len());
    let mut cur = start.min(end);
    for e in edits {
        let es = e.start.min(end);
        if es > cur {
            out.extend_from_slice(src.get(cur..es).unwrap_or_default());
        }
        out.extend_from_slice(&e.data);
        cur = cur.max(e.end.min(end));
    }
    if end > cur {
        out.extend_from_slice(src.get(cur..end).unwrap_or_default());
    }
}

/// Appends `Name: value\r\n`.
pub fn write_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends the decimal digits of `n`.
pub fn write_u32(out: &mut Vec<u8>, n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// 64-bit FNV-1a, used for stable branch and tag values (not a security
/// hash: it only has to be stable and well spread).
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator so that ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Appends `n` as `digits` lower-case hex digits.
pub fn write_hex(out: &mut Vec<u8>, n: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits.min(16)).rev() {
        out.push(HEX[((n >> (i * 4)) & 0xf) as usize]);
    }
}

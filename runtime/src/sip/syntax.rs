//! Shared lexical helpers of the RFC 3261 §25 grammar: linear white space,
//! comma-separated lists, `;name=value` parameter lists, quoted strings,
//! and decimal numbers.
//!
//! Guarantees: every function here is total (no panics on any input),
//! allocation-free, and returns sub-slices of its input, so values stay
//! zero-copy borrows of the message buffer. White space includes CR and LF
//! because header values keep their folded line breaks (LWS).

/// `SP` or `HTAB`.
#[inline]
pub fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A host without the brackets of an IPv6 reference (`[::1]` → `::1`).
pub fn strip_brackets(h: &[u8]) -> &[u8] {
    match h {
        [b'[', inner @ .., b']'] => inner,
        h => h,
    }
}

/// White space including the CR/LF of a folded line.
#[inline]
pub fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Trims linear white space on both ends.
#[inline]
pub fn trim_lws(s: &[u8]) -> &[u8] {
    // Already trimmed is the common case: values are trimmed when indexed.
    if let (Some(&a), Some(&b)) = (s.first(), s.last())
        && !is_lws(a)
        && !is_lws(b)
    {
        return s;
    }
    let start = s.iter().position(|&b| !is_lws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_lws(b)).map_or(start, |p| p + 1);
    s.get(start..end).unwrap_or_default()
}

/// Index of the first byte of `s` that is a control or SP (`<= 0x20`) or
/// one of `also`. Scans eight bytes at a time: values and URIs are tens of
/// bytes, where this beats both a byte loop and a call into `memchr`.
#[inline(always)]
pub(crate) fn first_ctl_or<const N: usize>(s: &[u8], also: [u8; N]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = LO * 0x80;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let w = <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes);
        // "Has a byte less than 0x21" and, per `also` byte, "has a zero
        // byte" of `w ^ splat(a)`: a borrow only propagates upwards from a
        // byte that is itself a hit, so the lowest flagged byte is exact.
        let mut z = w.wrapping_sub(LO * 0x21) & !w & HI;
        for a in also {
            let x = w ^ (LO * u64::from(a));
            z |= x.wrapping_sub(LO) & !x & HI;
        }
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b <= b' ' || also.contains(&b))
        .map(|p| base + p)
}

/// Index of the first `a` or `b` in `s`, eight bytes at a time.
#[inline(always)]
pub(crate) fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = LO * 0x80;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let w = <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes);
        let (x, y) = (w ^ (LO * u64::from(a)), w ^ (LO * u64::from(b)));
        let z = (x.wrapping_sub(LO) & !x & HI) | (y.wrapping_sub(LO) & !y & HI);
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == a || c == b)
        .map(|p| base + p)
}

/// Parses `1*DIGIT` into a `u32`; `None` on empty input, a non-digit or
/// overflow.
#[inline]
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    u32::try_from(n).ok()
}

/// Index of the closing quote of a quoted string starting at `s[0] == '"'`,
/// honouring `\` escapes.
pub fn closing_quote(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Removes the surrounding quotes of a quoted string, if present. Escapes
/// are left as written.
pub fn unquote(s: &[u8]) -> &[u8] {
    let s = trim_lws(s);
    if s.len() >= 2 && s[0] == b'"' && s[s.len() - 1] == b'"' {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Finds `needle` in `s` outside quoted strings and `<...>` brackets.
pub fn find_top_level(s: &[u8], needle: u8) -> Option<usize> {
    let mut i = 0;
    let mut angle = false;
    while i < s.len() {
        let b = s[i];
        if b == b'"' {
            i += closing_quote(&s[i..])? + 1;
            continue;
        }
        if b == b'<' {
            angle = true;
        } else if b == b'>' {
            angle = false;
        } else if b == needle && !angle {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Iterator over the elements of a comma-separated list (outside quotes and
/// angle brackets), each trimmed; empty elements are skipped.
#[derive(Debug, Clone)]
pub struct CommaSplit<'a> {
    rest: &'a [u8],
}

impl<'a> CommaSplit<'a> {
    /// Splits `s`.
    pub fn new(s: &'a [u8]) -> Self {
        Self { rest: s }
    }
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (item, rest) = match find_top_level(self.rest, b',') {
                Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
                // An unterminated quote also ends here: the rest is one item.
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            self.rest = rest;
            let item = trim_lws(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
        None
    }
}

/// One `name[=value]` parameter. The value is as written (quotes kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Parameter name.
    pub name: &'a [u8],
    /// Value, `None` for a flag parameter such as `;lr` or `;rport`.
    pub value: Option<&'a [u8]>,
}

/// A `;`-separated parameter list, as a borrowed view that iterates lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    raw: &'a [u8],
    sep: u8,
}

impl<'a> Params<'a> {
    /// Parameters separated by `;` (a leading `;` is optional).
    pub fn new(raw: &'a [u8]) -> Self {
        Self { raw, sep: b';' }
    }

    /// The parameters' text as given.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Parameters separated by `sep` (`,` for auth-params).
    pub fn with_separator(raw: &'a [u8], sep: u8) -> Self {
        Self { raw, sep }
    }

    /// The raw text of the list.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Iterates over the parameters.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter {
            rest: self.raw,
            sep: self.sep,
        }
    }

    /// The first parameter named `name` (case-insensitive): `Some(None)` for a
    /// flag, `Some(Some(value))` with a value, `None` if absent.
    pub fn get(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// Whether any parameter is named `name`.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    /// Whether every parameter has a valid token name and a value that is a
    /// token-ish word or a closed quoted string.
    pub fn is_well_formed(&self) -> bool {
        self.iter().all(|p| p.is_well_formed())
    }
}

impl Param<'_> {
    /// Whether the name is a token and the value (if any) is a non-empty
    /// word without controls, spaces or quotes, or one closed quoted string.
    #[inline]
    pub fn is_well_formed(&self) -> bool {
        if self.name.is_empty() || !self.name.iter().all(|&b| super::header::is_token_byte(b)) {
            return false;
        }
        match self.value {
            None => true,
            Some(v) if v.first() == Some(&b'"') => closing_quote(v) == Some(v.len() - 1),
            Some(v) => !v.is_empty() && first_ctl_or(v, [0x7f, b'"']).is_none(),
        }
    }
}

/// Splits at the first `sep` outside quotes; `None` for the rest when no
/// separator is left.
fn split_param(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    let mut i = 0;
    while let Some(k) = s.get(i..).and_then(|r| find2(r, sep, b'"')) {
        i += k;
        if s[i] == b'"' {
            match closing_quote(&s[i..]) {
                Some(q) => i += q + 1,
                None => return (s, None),
            }
        } else {
            return (&s[..i], Some(&s[i + 1..]));
        }
    }
    (s, None)
}

/// Iterator over [`Params`].
#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    rest: &'a [u8],
    sep: u8,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (item, next) = split_param(self.rest, self.sep);
            self.rest = next.unwrap_or_default();
            let item = trim_lws(item);
            if item.is_empty() {
                continue;
            }
            return Some(match item.iter().position(|&b| b == b'=') {
                Some(i) => Param {
                    name: trim_lws(&item[..i]),
                    value: Some(trim_lws(&item[i + 1..])),
                },
                None => Param {
                    name: item,
                    value: None,
                },
            });
        }
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = Param<'a>;
    type IntoIter = ParamIter<'a>;

    fn into_iter(self) -> ParamIter<'a> {
        self.iter()
    }
}

/// Decodes `%HH` escapes. Borrows when there is nothing to decode; invalid
/// escapes are kept as written.
pub fn unescape(s: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !s.contains(&b'%') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|&b| hex_val(b)),
                s.get(i + 2).and_then(|&b| hex_val(b)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// Value of a hex digit.
#[inline]
pub fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether every `%` in `s` starts a valid `%HH` escape.
pub fn escapes_valid(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            match (s.get(i + 1), s.get(i + 2)) {
                (Some(&h), Some(&l)) if hex_val(h).is_some() && hex_val(l).is_some() => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// Offset and length of `part` inside `buf` (`part` borrows from `buf`):
/// how a message keeps a parsed header without borrowing itself.
pub(crate) fn span_in(buf: &[u8], part: &[u8]) -> (u32, u32) {
    let off = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    // Messages are below MAX_MESSAGE_LEN (16 MiB): offsets fit u32.
    (off as u32, part.len() as u32)
}

/// The part of `buf` [`span_in`] located (empty if out of range).
pub(crate) fn slice_at(buf: &[u8], (off, len): (u32, u32)) -> &[u8] {
    buf.get(off as usize..off as usize + len as usize)
        .unwrap_or_default()
}

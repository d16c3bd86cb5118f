//! Transformations: `$(ru{uri.user})`, `$(hdr(X){s.len})`, chains
//! `{s.tolower}{s.substr,0,3}` (Kamailio's pv module, pv_trans.c, 5.6).
//!
//! Generated code reads the PV, evaluates the parameters that are PVs, and
//! calls [`eval`] (a value in an expression) or [`push`] (a PV-format
//! string) with the chain as [`Op`]s. The two differ only on failure, as in
//! Kamailio: a failing transformation makes the value undefined in an
//! expression, and prints nothing in a format string (where a plain `$null`
//! prints `<null>`).
//!
//! A transformation fails on an undefined input, on input it cannot parse
//! (`{uri.*}` of something that is not a URI, `{s.int}` of `"12a"`), and on
//! bad parameters (`{s.substr,9,1}` past the end, a PV parameter without an
//! int value where a number is needed). Each stage sees Kamailio's value
//! shape: a string, or an int that also has its decimal string.

use std::borrow::Cow;

use cfgc_vocab::TrKind;

use crate::sip::Uri;

use super::value::Value;

/// A transformation parameter: a constant, or the value of a PV (read by
/// the generated code before the call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg<'a> {
    Int(i32),
    Str(&'a [u8]),
    Pv(Value<'a>),
}

impl Arg<'_> {
    /// A number parameter: a constant, or a PV with an int value.
    fn int(&self) -> Option<i32> {
        match self {
            Arg::Int(n) => Some(*n),
            Arg::Pv(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// A string parameter: a constant as written (even empty), or a PV
    /// with a non-empty string value (an int counts as its decimal form).
    fn str(&self) -> Option<Cow<'_, [u8]>> {
        match self {
            Arg::Str(s) => Some(Cow::Borrowed(s)),
            Arg::Int(n) => Some(Cow::Owned(n.to_string().into_bytes())),
            Arg::Pv(Value::Int(n)) => Some(Cow::Owned(n.to_string().into_bytes())),
            Arg::Pv(Value::Str(s)) if !s.is_empty() => Some(Cow::Borrowed(s)),
            Arg::Pv(_) => None,
        }
    }

    /// A one-character constant (the delimiter of `{param.*}`); a PV here
    /// fails, as in Kamailio.
    fn delim(&self) -> Option<u8> {
        match self {
            Arg::Str([c]) => Some(*c),
            _ => None,
        }
    }
}

/// One transformation, with its parameters: one variant per vocabulary
/// [`TrKind`], of the same name (generated code names them:
/// `{s.substr,1,2}` is `Op::SSubstr(Arg::Int(1), Arg::Int(2))`; [`op`]
/// builds them from data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    SLen,
    SInt,
    SMd5,
    SEncodeHexa,
    SDecodeHexa,
    SEncodeBase64,
    SDecodeBase64,
    SEscapeCommon,
    SUnescapeCommon,
    SNumeric,
    STolower,
    SToupper,
    STrim,
    SRtrim,
    SLtrim,
    SRmws,
    /// `{s.substr,offset,length}`
    SSubstr(Arg<'a>, Arg<'a>),
    /// `{s.select,index,separator}`; the separator as written (`\n` is two
    /// bytes).
    SSelect(Arg<'a>, Arg<'a>),
    SStrip(Arg<'a>),
    SStripTail(Arg<'a>),
    SStripTo(Arg<'a>),
    /// `{s.prefixes[,max]}` (`Arg::Int(0)`: no maximum).
    SPrefixes(Arg<'a>),
    SPrefixesQuoted(Arg<'a>),
    SRm(Arg<'a>),
    SReplace(Arg<'a>, Arg<'a>),
    UriUser,
    UriHost,
    UriPasswd,
    UriPort,
    UriParams,
    UriParam(Arg<'a>),
    UriHeaders,
    UriTransport,
    UriTtl,
    UriUparam,
    UriMaddr,
    UriMethod,
    UriLr,
    UriR2,
    UriScheme,
    UriTosocket,
    UriDuri,
    UriSaor,
    UriSuri,
    /// `{param.value,name[,delim]}`
    ParamValue(Arg<'a>, Arg<'a>),
    ParamIn(Arg<'a>, Arg<'a>),
    ParamValueAt(Arg<'a>, Arg<'a>),
    ParamName(Arg<'a>, Arg<'a>),
    /// `{param.count[,delim]}`
    ParamCount(Arg<'a>),
    NameaddrName,
    NameaddrUri,
    NameaddrLen,
    TobodyUri,
    TobodyDisplay,
    TobodyTag,
    TobodyUser,
    TobodyHost,
    TobodyParams,
}

/// A value between two stages: its string, and its int when it is an int
/// (`PV_TYPE_INT`): ints always carry their string too, and the string of
/// `{uri.port}` without a port is empty while its int is 0.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tv<'a> {
    s: Cow<'a, [u8]>,
    int: Option<i32>,
}

impl<'a> Tv<'a> {
    fn new(v: Value<'a>) -> Option<Self> {
        match v {
            Value::Null => None,
            Value::Int(i) => Some(Tv::int(i)),
            Value::Str(s) => Some(Tv { s, int: None }),
        }
    }

    fn int(i: i32) -> Tv<'static> {
        Tv {
            s: Cow::Owned(i.to_string().into_bytes()),
            int: Some(i),
        }
    }

    fn owned(s: Vec<u8>) -> Tv<'static> {
        Tv {
            s: Cow::Owned(s),
            int: None,
        }
    }

    fn into_value(self) -> Value<'a> {
        match self.int {
            Some(i) => Value::Int(i),
            None => Value::Str(self.s),
        }
    }
}

/// The value of `$(pv{...}...)` in an expression: undefined if a stage
/// fails.
pub fn eval<'a>(v: Value<'a>, ops: &[Op<'_>]) -> Value<'a> {
    run(v, ops).map_or(Value::Null, Tv::into_value)
}

/// `$(pv{...})` in a PV-format string: its string, nothing if a stage
/// fails.
pub fn push(buf: &mut Vec<u8>, v: Value<'_>, ops: &[Op<'_>]) {
    if let Some(t) = run(v, ops) {
        buf.extend_from_slice(&t.s);
    }
}

fn run<'a>(v: Value<'a>, ops: &[Op<'_>]) -> Option<Tv<'a>> {
    let mut t = Tv::new(v)?;
    for op in ops {
        t = apply(t, op)?;
    }
    Some(t)
}

fn sub<'a>(t: &Tv<'a>, range: std::ops::Range<usize>) -> Tv<'a> {
    let s = match &t.s {
        Cow::Borrowed(b) => Cow::Borrowed(&b[range]),
        Cow::Owned(v) => Cow::Owned(v[range].to_vec()),
    };
    Tv { s, int: None }
}

/// Kamailio's whitespace for `trim` and parameter parsing.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn apply<'a>(t: Tv<'a>, op: &Op<'_>) -> Option<Tv<'a>> {
    let s: &[u8] = &t.s;
    Some(match op {
        Op::SLen => Tv::int(i32::try_from(s.len()).unwrap_or(i32::MAX)),
        Op::SInt => match t.int {
            Some(_) => t,
            None => Tv::int(str2sint(s)?),
        },
        Op::SMd5 => Tv::owned(hex_lower(&md5(s))),
        Op::SEncodeHexa => Tv::owned(hex_lower(s)),
        Op::SDecodeHexa => {
            let mut out = Vec::with_capacity(s.len() / 2);
            for pair in s.chunks_exact(2) {
                let h = crate::sip::syntax::hex_val(pair[0])?;
                let l = crate::sip::syntax::hex_val(pair[1])?;
                out.push(h << 4 | l);
            }
            Tv::owned(out)
        }
        Op::SEncodeBase64 => Tv::owned(base64_enc(s)),
        Op::SDecodeBase64 => Tv::owned(base64_dec(s)?),
        Op::SEscapeCommon => {
            let mut out = Vec::with_capacity(s.len());
            for &c in s {
                match c {
                    b'\'' | b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
                    0 => out.extend_from_slice(b"\\0"),
                    c => out.push(c),
                }
            }
            Tv::owned(out)
        }
        Op::SUnescapeCommon => {
            let mut out = Vec::with_capacity(s.len());
            let mut i = 0;
            while i < s.len() {
                match (s[i], s.get(i + 1)) {
                    (b'\\', Some(&n @ (b'\'' | b'"' | b'\\'))) => {
                        out.push(n);
                        i += 1;
                    }
                    (b'\\', Some(b'0')) => {
                        out.push(0);
                        i += 1;
                    }
                    (c, _) => out.push(c),
                }
                i += 1;
            }
            Tv::owned(out)
        }
        Op::SNumeric => Tv::owned(s.iter().copied().filter(u8::is_ascii_digit).collect()),
        // An int passes through, still an int (it has no letters).
        Op::STolower | Op::SToupper if t.int.is_some() => t,
        Op::STolower => Tv::owned(s.to_ascii_lowercase()),
        Op::SToupper => Tv::owned(s.to_ascii_uppercase()),
        Op::STrim | Op::SRtrim | Op::SLtrim => {
            let start = if matches!(op, Op::SRtrim) {
                0
            } else {
                s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len())
            };
            let end = if matches!(op, Op::SLtrim) {
                s.len()
            } else {
                s.iter().rposition(|&b| !is_ws(b)).map_or(start, |e| e + 1)
            };
            sub(&t, start..end.max(start))
        }
        Op::SRmws => Tv::owned(s.iter().copied().filter(|&b| !is_ws(b)).collect()),
        Op::SSubstr(off, len) => {
            let i = off.int()?;
            let j = len.int()?;
            substr(&t, i, j)?
        }
        Op::SSelect(idx, sep) => {
            let i = idx.int()?;
            let c = select_char(sep)?;
            select(&t, i, c)
        }
        Op::SStrip(n) | Op::SStripTail(n) => {
            let n = n.int()?;
            if n <= 0 {
                return Some(Tv { s: t.s, int: None });
            }
            let n = n as usize;
            if n >= s.len() {
                return Some(Tv::owned(Vec::new()));
            }
            if matches!(op, Op::SStrip(_)) {
                sub(&t, n..s.len())
            } else {
                sub(&t, 0..s.len() - n)
            }
        }
        Op::SStripTo(c) => {
            let c = *c.str()?.first()?;
            match s.iter().position(|&b| b == c) {
                Some(i) => sub(&t, i..s.len()),
                None => Tv::owned(Vec::new()),
            }
        }
        Op::SPrefixes(max) | Op::SPrefixesQuoted(max) => {
            let quoted = matches!(op, Op::SPrefixesQuoted(_));
            let m = max.int()?;
            let max = if m > 0 && (m as usize) < s.len() {
                m as usize
            } else {
                s.len()
            };
            let mut out = Vec::new();
            for i in 1..=max {
                if i > 1 {
                    out.push(b',');
                }
                if quoted {
                    out.push(b'\'');
                }
                out.extend_from_slice(&s[..i]);
                if quoted {
                    out.push(b'\'');
                }
            }
            Tv::owned(out)
        }
        Op::SRm(what) => {
            let what = match what {
                Arg::Str(w) => Cow::Owned(rm_unescape(w)),
                other => other.str()?,
            };
            Tv::owned(replace(s, &what, b""))
        }
        Op::SReplace(a, b) => {
            let a = a.str()?;
            let b = b.str()?;
            Tv::owned(replace(s, &a, &b))
        }
        Op::UriUser
        | Op::UriHost
        | Op::UriPasswd
        | Op::UriPort
        | Op::UriParams
        | Op::UriParam(_)
        | Op::UriHeaders
        | Op::UriTransport
        | Op::UriTtl
        | Op::UriUparam
        | Op::UriMaddr
        | Op::UriMethod
        | Op::UriLr
        | Op::UriR2
        | Op::UriScheme
        | Op::UriTosocket
        | Op::UriDuri
        | Op::UriSaor
        | Op::UriSuri => uri(s, op)?,
        Op::ParamValue(..)
        | Op::ParamIn(..)
        | Op::ParamValueAt(..)
        | Op::ParamName(..)
        | Op::ParamCount(_) => param(s, op)?,
        Op::NameaddrName | Op::NameaddrUri | Op::NameaddrLen => nameaddr(s, op)?,
        Op::TobodyUri
        | Op::TobodyDisplay
        | Op::TobodyTag
        | Op::TobodyUser
        | Op::TobodyHost
        | Op::TobodyParams => tobody(s, op)?,
    })
}

/// `str2sint`: an optional sign and decimal digits only (an empty string
/// is 0); overflow fails.
fn str2sint(s: &[u8]) -> Option<i32> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
        if n > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    i32::try_from(if neg { -n } else { n }).ok()
}

fn substr<'a>(t: &Tv<'a>, i: i32, mut j: i32) -> Option<Tv<'a>> {
    let len = t.s.len() as i64;
    if j < 0 {
        return None;
    }
    let (start, mut j) = if i >= 0 {
        let i = i64::from(i);
        if i >= len {
            return None;
        }
        if i + i64::from(j) >= len {
            j = 0;
        }
        (i, i64::from(j))
    } else {
        let i = -i64::from(i);
        if i > len {
            return None;
        }
        if i < i64::from(j) {
            j = 0;
        }
        (len - i, i64::from(j))
    };
    if j == 0 {
        j = len - start;
    }
    Some(sub(t, start as usize..(start + j) as usize))
}

fn select_char(sep: &Arg<'_>) -> Option<u8> {
    let Arg::Str(s) = sep else { return None };
    match s {
        [c] => Some(*c),
        [b'\\', b'\\'] => Some(b'\\'),
        [b'\\', b'n'] => Some(b'\n'),
        [b'\\', b'r'] => Some(b'\r'),
        [b'\\', b't'] => Some(b'\t'),
        _ => None,
    }
}

/// `{s.select,i,c}`: the i-th field (from the end if negative); empty if
/// there are fewer fields.
fn select<'a>(t: &Tv<'a>, i: i32, c: u8) -> Tv<'a> {
    let s: &[u8] = &t.s;
    let fields: Vec<std::ops::Range<usize>> = {
        let mut v = Vec::new();
        let mut start = 0;
        for (k, &b) in s.iter().enumerate() {
            if b == c {
                v.push(start..k);
                start = k + 1;
            }
        }
        v.push(start..s.len());
        v
    };
    let pick = if i >= 0 {
        fields.get(i as usize)
    } else {
        fields
            .len()
            .checked_sub((-i64::from(i)) as usize)
            .and_then(|k| fields.get(k))
    };
    match pick {
        Some(r) => sub(t, r.clone()),
        None => Tv::owned(Vec::new()),
    }
}

/// The escapes `{s.rm}` reads in a constant argument.
fn rm_unescape(w: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(w.len());
    let mut i = 0;
    while i < w.len() {
        if w[i] == b'\\' && i + 1 < w.len() {
            out.push(match w[i + 1] {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                other => other,
            });
            i += 2;
        } else {
            out.push(w[i]);
            i += 1;
        }
    }
    out
}

/// Every non-overlapping occurrence of `from`, left to right, replaced.
fn replace(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return s.to_vec();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// Lower-case hex of `s` (also auth's digests).
pub(crate) fn hex_lower(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(s.len() * 2);
    for &b in s {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
    out
}

/// The base64 alphabet.
pub(crate) const B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (also auth's nonces).
pub(crate) fn base64_enc(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len().div_ceil(3) * 4);
    for c in s.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if c.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if c.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
    out
}

/// Kamailio's `base64_dec`: the length must be a multiple of 4 (at least
/// 4), `=` only as padding at the end; characters outside the alphabet are
/// not rejected (they decode as 0xff bits, as its lookup table gives).
fn base64_dec(s: &[u8]) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    let n = s.len();
    if n < 4 || !n.is_multiple_of(4) || (s[n - 2] == b'=' && s[n - 1] != b'=') {
        return None;
    }
    let pad = usize::from(s[n - 2] == b'=') + usize::from(s[n - 1] == b'=');
    let un = |c: u8| -> u32 { B64.iter().position(|&x| x == c).map_or(0xff, |p| p as u32) };
    let mut out = Vec::with_capacity(n / 4 * 3);
    for q in s.chunks_exact(4) {
        let (a, b, c, d) = (un(q[0]), un(q[1]), un(q[2]), un(q[3]));
        out.push(((a << 2) | (b >> 4)) as u8);
        out.push(((b << 4) | (c >> 2)) as u8);
        out.push(((c << 6) | d) as u8);
    }
    out.truncate(n / 4 * 3 - pad);
    Some(out)
}

// ---- uri ---------------------------------------------------------------

fn empty() -> Tv<'static> {
    Tv::owned(Vec::new())
}

fn bytes(b: &[u8]) -> Tv<'static> {
    Tv::owned(b.to_vec())
}

fn opt(b: Option<&[u8]>) -> Tv<'static> {
    b.map_or_else(empty, bytes)
}

fn uri(s: &[u8], op: &Op<'_>) -> Option<Tv<'static>> {
    if s.is_empty() {
        return None;
    }
    // A trailing `;` is ignored when parsing (not for scheme/`duri`).
    let parse_len = if s.len() > 4 && s.ends_with(b";") {
        s.len() - 1
    } else {
        s.len()
    };
    let u = Uri::parse(&s[..parse_len]).ok()?;
    let params = u.params.as_bytes();
    let params = params.strip_prefix(b";").unwrap_or(params);
    let known = |name: &[u8]| u.param(name).flatten();
    Some(match op {
        Op::UriUser => opt(u.user),
        Op::UriHost => bytes(u.host),
        Op::UriPasswd => opt(u.password),
        Op::UriPort => Tv {
            s: Cow::Owned(u.port_raw.unwrap_or_default().to_vec()),
            int: Some(i32::from(u.port.unwrap_or(0))),
        },
        Op::UriParams => bytes(params),
        Op::UriParam(name) => {
            if params.is_empty() {
                return Some(empty());
            }
            let name = name.str()?;
            let list = parse_params(params, b';')?;
            // Kamailio's list is in reverse order: a repeated name finds
            // the last one.
            match list
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                Some((_, v)) => bytes(v),
                None => empty(),
            }
        }
        Op::UriHeaders => bytes(u.headers),
        Op::UriTransport => opt(known(b"transport")),
        Op::UriTtl => opt(known(b"ttl")),
        Op::UriUparam => opt(known(b"user")),
        Op::UriMaddr => opt(known(b"maddr")),
        Op::UriMethod => opt(known(b"method")),
        Op::UriLr => opt(known(b"lr")),
        Op::UriR2 => opt(known(b"r2")),
        Op::UriScheme => {
            let end = s.iter().position(|&b| b == b':').unwrap_or(s.len());
            bytes(&s[..end])
        }
        Op::UriTosocket => {
            let proto = match known(b"transport").map(<[u8]>::to_ascii_lowercase) {
                Some(p) if matches!(p.as_slice(), b"udp" | b"tcp" | b"tls" | b"sctp") => p,
                Some(p) if matches!(p.as_slice(), b"ws" | b"wss") => b"ws".to_vec(),
                _ => return Some(empty()),
            };
            let mut out = proto;
            out.push(b':');
            out.extend_from_slice(u.host);
            out.push(b':');
            out.extend_from_slice(u.port.unwrap_or(5060).to_string().as_bytes());
            Tv::owned(out)
        }
        Op::UriDuri | Op::UriSaor | Op::UriSuri => {
            let Some(colon) = s.iter().position(|&b| b == b':') else {
                return Some(empty());
            };
            let mut out = s[..=colon].to_vec();
            if !matches!(op, Op::UriDuri)
                && let Some(user) = u.user.filter(|u| !u.is_empty())
            {
                out.extend_from_slice(user);
                out.push(b'@');
            }
            out.extend_from_slice(u.host);
            if !matches!(op, Op::UriSaor) {
                if let Some(p) = u.port_raw.filter(|p| !p.is_empty()) {
                    out.push(b':');
                    out.extend_from_slice(p);
                }
                if let Some(t) = known(b"transport").filter(|t| !t.is_empty()) {
                    out.extend_from_slice(b";transport=");
                    out.extend_from_slice(t);
                }
            }
            Tv::owned(out)
        }
        _ => return None,
    })
}

// ---- param ---------------------------------------------------------------

/// Kamailio's `parse_params2`: `name[=value]` separated by `sep`, blanks
/// around names and values ignored, quoted values unquoted; a `,` ends the
/// list. `None` if malformed (an empty name, an unclosed quote).
fn parse_params(s: &[u8], sep: u8) -> Option<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && is_ws(s[*i]) {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        let start = i;
        while i < s.len() && !is_ws(s[i]) && s[i] != b'=' && s[i] != sep && s[i] != b',' {
            i += 1;
        }
        let name = &s[start..i];
        if name.is_empty() {
            return None;
        }
        skip_ws(&mut i);
        let mut value: &[u8] = b"";
        if s.get(i) == Some(&b'=') {
            i += 1;
            skip_ws(&mut i);
            match s.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let close = s[i + 1..].iter().position(|&b| b == q)? + i + 1;
                    value = &s[i + 1..close];
                    i = close + 1;
                }
                _ => {
                    let vs = i;
                    while i < s.len() && !is_ws(s[i]) && s[i] != sep && s[i] != b',' {
                        i += 1;
                    }
                    value = &s[vs..i];
                }
            }
            skip_ws(&mut i);
        }
        out.push((name, value));
        match s.get(i) {
            None => break,
            Some(&c) if c == sep => {
                i += 1;
                if i >= s.len() {
                    break;
                }
            }
            Some(b',') => break,
            Some(_) => return None,
        }
    }
    Some(out)
}

fn param(s: &[u8], op: &Op<'_>) -> Option<Tv<'static>> {
    if s.is_empty() {
        return None;
    }
    let sep = match op {
        Op::ParamCount(d) => match d {
            Arg::Str(_) => d.delim()?,
            other => *other.str()?.first()?,
        },
        Op::ParamValue(_, d) | Op::ParamIn(_, d) | Op::ParamValueAt(_, d) | Op::ParamName(_, d) => {
            d.delim()?
        }
        _ => return None,
    };
    let text = if s.len() > 1 && s.ends_with(&[sep]) {
        &s[..s.len() - 1]
    } else {
        s
    };
    let list = parse_params(text, sep)?;
    // Kamailio's list is in reverse order: a repeated name finds the last.
    let by_name = |name: &[u8]| {
        list.iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let at = |n: i32| -> Option<&(&[u8], &[u8])> {
        if n < 0 {
            list.len()
                .checked_sub((-i64::from(n)) as usize)
                .and_then(|k| list.get(k))
        } else {
            list.get(n as usize)
        }
    };
    Some(match op {
        Op::ParamValue(name, _) => opt(by_name(&name.str()?)),
        Op::ParamIn(name, _) => Tv::int(i32::from(by_name(&name.str()?).is_some())),
        Op::ParamValueAt(n, _) => opt(at(n.int()?).map(|(_, v)| *v)),
        Op::ParamName(n, _) => opt(at(n.int()?).map(|(n, _)| *n)),
        Op::ParamCount(_) => Tv::int(i32::try_from(list.len()).unwrap_or(i32::MAX)),
        _ => return None,
    })
}

// ---- nameaddr / tobody ------------------------------------------------------

/// The first `c` outside double quotes.
fn find_not_quoted(s: &[u8], c: u8) -> Option<usize> {
    let mut quoted = false;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b if b == c && !quoted => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn nameaddr(s: &[u8], op: &Op<'_>) -> Option<Tv<'static>> {
    if s.is_empty() {
        return None;
    }
    // No `<`: the whole value is the URI.
    let (name, uri, len) = match find_not_quoted(s, b'<') {
        None => (&b""[..], s, s.len()),
        Some(lt) => {
            let gt = find_not_quoted(&s[lt + 1..], b'>')? + lt + 1;
            (&s[..lt], &s[lt + 1..gt], gt + 1)
        }
    };
    Some(match op {
        Op::NameaddrName => bytes(name),
        Op::NameaddrUri => bytes(uri),
        Op::NameaddrLen => Tv::int(i32::try_from(len).unwrap_or(i32::MAX)),
        _ => return None,
    })
}

fn tobody(s: &[u8], op: &Op<'_>) -> Option<Tv<'static>> {
    if s.is_empty() {
        return None;
    }
    let na = crate::sip::NameAddr::parse(s)?;
    let u = na.uri().ok()?;
    Some(match op {
        Op::TobodyUri => bytes(na.uri_raw),
        Op::TobodyDisplay => opt(na.display),
        Op::TobodyTag => opt(na.tag),
        Op::TobodyUser => opt(u.user),
        Op::TobodyHost => bytes(u.host),
        Op::TobodyParams => bytes(na.params.as_bytes()),
        _ => return None,
    })
}

// ---- md5 (RFC 1321) -------------------------------------------------------

/// MD5 of `data` (for `{s.md5}`, and auth's digests and nonces).
pub fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // floor(|sin(i + 1)| * 2^32), RFC 1321 §3.4.
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut block = |chunk: &[u8]| {
        let mut m = [0u32; 16];
        for (w, b) in m.iter_mut().zip(chunk.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(K[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    };
    let mut whole = data.chunks_exact(64);
    for chunk in &mut whole {
        block(chunk);
    }
    // The tail, 0x80, zeros, the bit length: one or two more blocks.
    let rest = whole.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let n = if rest.len() < 56 { 64 } else { 128 };
    let bit_len = (data.len() as u64).wrapping_mul(8);
    tail[n - 8..n].copy_from_slice(&bit_len.to_le_bytes());
    for chunk in tail[..n].chunks_exact(64) {
        block(chunk);
    }
    let mut out = [0u8; 16];
    for (i, w) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests;

/// The [`Op`] of a vocabulary [`TrKind`] with its parameters, for
/// evaluators that hold a chain as data (`pv::read`, the interpreter).
/// `None` if the number of parameters is not the operation's.
pub fn op(kind: TrKind, a: Vec<Arg<'_>>) -> Option<Op<'_>> {
    use TrKind as K;
    fn one(a: Vec<Arg<'_>>) -> Option<[Arg<'_>; 1]> {
        a.try_into().ok()
    }
    fn two(a: Vec<Arg<'_>>) -> Option<[Arg<'_>; 2]> {
        a.try_into().ok()
    }
    match kind {
        K::SLen => a.is_empty().then_some(Op::SLen),
        K::SInt => a.is_empty().then_some(Op::SInt),
        K::SMd5 => a.is_empty().then_some(Op::SMd5),
        K::SEncodeHexa => a.is_empty().then_some(Op::SEncodeHexa),
        K::SDecodeHexa => a.is_empty().then_some(Op::SDecodeHexa),
        K::SEncodeBase64 => a.is_empty().then_some(Op::SEncodeBase64),
        K::SDecodeBase64 => a.is_empty().then_some(Op::SDecodeBase64),
        K::SEscapeCommon => a.is_empty().then_some(Op::SEscapeCommon),
        K::SUnescapeCommon => a.is_empty().then_some(Op::SUnescapeCommon),
        K::SNumeric => a.is_empty().then_some(Op::SNumeric),
        K::STolower => a.is_empty().then_some(Op::STolower),
        K::SToupper => a.is_empty().then_some(Op::SToupper),
        K::STrim => a.is_empty().then_some(Op::STrim),
        K::SRtrim => a.is_empty().then_some(Op::SRtrim),
        K::SLtrim => a.is_empty().then_some(Op::SLtrim),
        K::SRmws => a.is_empty().then_some(Op::SRmws),
        K::SSubstr => {
            let [x, y] = two(a)?;
            Some(Op::SSubstr(x, y))
        }
        K::SSelect => {
            let [x, y] = two(a)?;
            Some(Op::SSelect(x, y))
        }
        K::SStrip => {
            let [x] = one(a)?;
            Some(Op::SStrip(x))
        }
        K::SStripTail => {
            let [x] = one(a)?;
            Some(Op::SStripTail(x))
        }
        K::SStripTo => {
            let [x] = one(a)?;
            Some(Op::SStripTo(x))
        }
        K::SPrefixes => {
            let [x] = one(a)?;
            Some(Op::SPrefixes(x))
        }
        K::SPrefixesQuoted => {
            let [x] = one(a)?;
            Some(Op::SPrefixesQuoted(x))
        }
        K::SRm => {
            let [x] = one(a)?;
            Some(Op::SRm(x))
        }
        K::SReplace => {
            let [x, y] = two(a)?;
            Some(Op::SReplace(x, y))
        }
        K::UriUser => a.is_empty().then_some(Op::UriUser),
        K::UriHost => a.is_empty().then_some(Op::UriHost),
        K::UriPasswd => a.is_empty().then_some(Op::UriPasswd),
        K::UriPort => a.is_empty().then_some(Op::UriPort),
        K::UriParams => a.is_empty().then_some(Op::UriParams),
        K::UriParam => {
            let [x] = one(a)?;
            Some(Op::UriParam(x))
        }
        K::UriHeaders => a.is_empty().then_some(Op::UriHeaders),
        K::UriTransport => a.is_empty().then_some(Op::UriTransport),
        K::UriTtl => a.is_empty().then_some(Op::UriTtl),
        K::UriUparam => a.is_empty().then_some(Op::UriUparam),
        K::UriMaddr => a.is_empty().then_some(Op::UriMaddr),
        K::UriMethod => a.is_empty().then_some(Op::UriMethod),
        K::UriLr => a.is_empty().then_some(Op::UriLr),
        K::UriR2 => a.is_empty().then_some(Op::UriR2),
        K::UriScheme => a.is_empty().then_some(Op::UriScheme),
        K::UriTosocket => a.is_empty().then_some(Op::UriTosocket),
        K::UriDuri => a.is_empty().then_some(Op::UriDuri),
        K::UriSaor => a.is_empty().then_some(Op::UriSaor),
        K::UriSuri => a.is_empty().then_some(Op::UriSuri),
        K::ParamValue => {
            let [x, y] = two(a)?;
            Some(Op::ParamValue(x, y))
        }
        K::ParamIn => {
            let [x, y] = two(a)?;
            Some(Op::ParamIn(x, y))
        }
        K::ParamValueAt => {
            let [x, y] = two(a)?;
            Some(Op::ParamValueAt(x, y))
        }
        K::ParamName => {
            let [x, y] = two(a)?;
            Some(Op::ParamName(x, y))
        }
        K::ParamCount => {
            let [x] = one(a)?;
            Some(Op::ParamCount(x))
        }
        K::NameaddrName => a.is_empty().then_some(Op::NameaddrName),
        K::NameaddrUri => a.is_empty().then_some(Op::NameaddrUri),
        K::NameaddrLen => a.is_empty().then_some(Op::NameaddrLen),
        K::TobodyUri => a.is_empty().then_some(Op::TobodyUri),
        K::TobodyDisplay => a.is_empty().then_some(Op::TobodyDisplay),
        K::TobodyTag => a.is_empty().then_some(Op::TobodyTag),
        K::TobodyUser => a.is_empty().then_some(Op::TobodyUser),
        K::TobodyHost => a.is_empty().then_some(Op::TobodyHost),
        K::TobodyParams => a.is_empty().then_some(Op::TobodyParams),
    }
}

//! BINRPC, the binary RPC encoding `kamcmd` speaks to ctl (sans-IO):
//! packet framing, request decoding, reply and fault encoding
//! (modules-state-web-ops.md §10.3).
//!
//! Packet: byte 0 `0xA1` (magic 0xA, version 1); byte 1 `type<<4 |
//! (LL-1)<<2 | (CL-1)`; the body length in LL big-endian bytes; a cookie
//! of CL bytes (a reply echoes the request's). Records: first byte
//! `S<<7 | size<<4 | type`; S=0: `size` is the value's length, S=1: `size`
//! is the length of a big-endian length field that follows.

use crate::engine::module::{RpcError, RpcValue};

/// Magic and version, byte 0 of every packet.
pub const MAGIC_VERSION: u8 = 0xA1;
/// Packet types.
pub const REQUEST: u8 = 0;
pub const REPLY: u8 = 1;
pub const FAULT: u8 = 3;

/// Record types.
const T_INT: u8 = 0;
const T_STR: u8 = 1;
const T_DOUBLE: u8 = 2;
const T_STRUCT: u8 = 3;
const T_ARRAY: u8 = 4;
const T_AVP: u8 = 5;
const T_BYTES: u8 = 6;

/// Why a packet cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinrpcError {
    /// Not enough bytes yet (a stream reader waits for more).
    Incomplete,
    /// Not BINRPC (bad magic or version): the connection is closed.
    BadMagic,
    /// The body is larger than the configured maximum.
    TooBig(usize),
    /// A malformed body (answered with a fault).
    Malformed(&'static str),
}

/// A packet header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub kind: u8,
    pub body_len: usize,
    pub cookie: Vec<u8>,
    /// Header length in bytes.
    pub len: usize,
}

/// Reads the header at the start of `buf`; `max_body` bounds the body.
///
/// # Errors
/// [`BinrpcError::Incomplete`] until the header is whole; a bad magic; a
/// body larger than `max_body`.
pub fn header(buf: &[u8], max_body: usize) -> Result<Header, BinrpcError> {
    let (&b0, &b1) = match buf {
        [b0, b1, ..] => (b0, b1),
        [b0] if *b0 != MAGIC_VERSION => return Err(BinrpcError::BadMagic),
        _ => return Err(BinrpcError::Incomplete),
    };
    if b0 != MAGIC_VERSION {
        return Err(BinrpcError::BadMagic);
    }
    let ll = usize::from((b1 >> 2) & 3) + 1;
    let cl = usize::from(b1 & 3) + 1;
    let len = 2 + ll + cl;
    let rest = buf.get(2..len).ok_or(BinrpcError::Incomplete)?;
    let body_len = rest[..ll]
        .iter()
        .fold(0usize, |n, &b| (n << 8) | usize::from(b));
    if body_len > max_body {
        return Err(BinrpcError::TooBig(body_len));
    }
    Ok(Header {
        kind: b1 >> 4,
        body_len,
        cookie: rest[ll..].to_vec(),
        len,
    })
}

/// A request parameter as sent (kamcmd sends numeric-looking arguments as
/// ints, `s:` forces a string).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i32),
    Str(String),
    Double(f64),
    /// A struct or array parameter (no command of ours reads one).
    Other,
}

impl Param {
    /// The text a command receives (ints in decimal).
    pub fn text(&self) -> String {
        match self {
            Self::Int(n) => n.to_string(),
            Self::Str(s) => s.clone(),
            Self::Double(d) => d.to_string(),
            Self::Other => String::new(),
        }
    }
}

/// A decoded request: the method and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub params: Vec<Param>,
}

/// One record's header: (type, value length, header length).
fn record(buf: &[u8]) -> Result<(u8, usize, usize, bool), BinrpcError> {
    let &b = buf
        .first()
        .ok_or(BinrpcError::Malformed("truncated record"))?;
    let (ty, size, long) = (b & 0x0f, usize::from((b >> 4) & 7), b & 0x80 != 0);
    if !long {
        return Ok((ty, size, 1, false));
    }
    if size == 0 {
        // An end mark (struct/array end).
        return Ok((ty, 0, 1, true));
    }
    let lenb = buf
        .get(1..1 + size)
        .ok_or(BinrpcError::Malformed("truncated record length"))?;
    if size > size_of::<usize>() {
        return Err(BinrpcError::Malformed("record length too long"));
    }
    let len = lenb.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
    Ok((ty, len, 1 + size, false))
}

/// Decodes one value record at `buf`; returns it and its length.
fn value(buf: &[u8], depth: usize) -> Result<(Param, usize), BinrpcError> {
    if depth > 16 {
        return Err(BinrpcError::Malformed("nesting too deep"));
    }
    let (ty, len, hlen, end) = record(buf)?;
    if end {
        return Err(BinrpcError::Malformed("unexpected end mark"));
    }
    if matches!(ty, T_STRUCT | T_ARRAY) {
        // Skip to the matching end mark.
        let mut at = hlen;
        loop {
            let rest = buf
                .get(at..)
                .ok_or(BinrpcError::Malformed("truncated struct"))?;
            let (t, l, h, e) = record(rest)?;
            if e && t == ty {
                return Ok((Param::Other, at + h));
            }
            if e {
                return Err(BinrpcError::Malformed("mismatched end mark"));
            }
            if t == T_AVP {
                at += h + l;
                continue;
            }
            let (_, n) = value(rest, depth + 1)?;
            at += n;
        }
    }
    let data = buf
        .get(hlen..hlen + len)
        .ok_or(BinrpcError::Malformed("truncated value"))?;
    let int = || {
        if len > 4 {
            return Err(BinrpcError::Malformed("integer too long"));
        }
        // Read unsigned, then as a 32-bit int (Kamailio's decoder).
        Ok(data.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) as i32)
    };
    let p = match ty {
        T_INT => Param::Int(int()?),
        T_DOUBLE => Param::Double(f64::from(int()?) / 1000.0),
        T_STR => {
            let s = data.strip_suffix(&[0]).unwrap_or(data);
            Param::Str(String::from_utf8_lossy(s).into_owned())
        }
        T_BYTES => Param::Str(String::from_utf8_lossy(data).into_owned()),
        _ => return Err(BinrpcError::Malformed("unknown record type")),
    };
    Ok((p, hlen + len))
}

/// Decodes a request body: the method name, then its parameters.
///
/// # Errors
/// A truncated or malformed body, or a method that is not a string.
pub fn decode_request(body: &[u8]) -> Result<Request, BinrpcError> {
    let (method, mut at) = value(body, 0)?;
    let Param::Str(method) = method else {
        return Err(BinrpcError::Malformed("method is not a string"));
    };
    let mut params = Vec::new();
    while at < body.len() {
        let (p, n) = value(&body[at..], 0)?;
        params.push(p);
        at += n;
    }
    Ok(Request { method, params })
}

/// Appends a record header for `ty` with a value of `len` bytes.
fn put_header(out: &mut Vec<u8>, ty: u8, len: usize) {
    if len < 8 {
        out.push(((len as u8) << 4) | ty);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let field = &bytes[skip..];
        out.push(0x80 | ((field.len() as u8) << 4) | ty);
        out.extend_from_slice(field);
    }
}

/// An int record: big-endian, minimal length (none for 0), negative
/// numbers as 4-byte two's complement; wider values as their low 32 bits
/// (BINRPC ints are 32-bit: an unsigned 0xffffffff prints as -1).
fn put_int(out: &mut Vec<u8>, n: i64) {
    let v = n as u32;
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    put_header(out, T_INT, 4 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// A string record (with its terminating NUL).
fn put_str(out: &mut Vec<u8>, ty: u8, s: &str) {
    put_header(out, ty, s.len() + 1);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// A value (a top-level one or a struct member's value).
fn put_value(out: &mut Vec<u8>, v: &RpcValue) {
    match v {
        RpcValue::Int(n) => put_int(out, *n),
        RpcValue::Double(d) => {
            // Sent as an int, value × 1000.
            let n = (d * 1000.0) as i64;
            let v = n as u32;
            let bytes = v.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            put_header(out, T_DOUBLE, 4 - skip);
            out.extend_from_slice(&bytes[skip..]);
        }
        RpcValue::Str(s) => put_str(out, T_STR, s),
        // ctl prints a NULL string as this text.
        RpcValue::NullStr => put_str(out, T_STR, "<null string>"),
        RpcValue::Struct(fields) => {
            out.push(T_STRUCT);
            put_members(out, fields);
            out.push(0x80 | T_STRUCT);
        }
        RpcValue::Array(items) => {
            out.push(T_ARRAY);
            for i in items {
                put_value(out, i);
            }
            out.push(0x80 | T_ARRAY);
        }
    }
}

/// Struct members. BINRPC has no array member: Kamailio's ctl sends one
/// as a nested struct. An array whose elements are all one-member
/// structs is Kamailio's struct of repeated members (usrloc's `Contacts:
/// { Contact: {...} Contact: {...} }`, made by repeated
/// `struct_add("{", "Contact")`, which JSON shows as an array): those
/// members go inline. Any other array is an `array_add` list (domain's
/// `domains: { {...} {...} }`, `attrs: { a b }`): its elements go
/// without names.
fn put_members(out: &mut Vec<u8>, fields: &[(String, RpcValue)]) {
    for (name, v) in fields {
        put_str(out, T_AVP, name);
        match v {
            RpcValue::Array(items) => {
                let repeated = !items.is_empty()
                    && items
                        .iter()
                        .all(|i| matches!(i, RpcValue::Struct(m) if m.len() == 1));
                out.push(T_STRUCT);
                for item in items {
                    match item {
                        RpcValue::Struct(inner) if repeated => put_members(out, inner),
                        other => put_value(out, other),
                    }
                }
                out.push(0x80 | T_STRUCT);
            }
            other => put_value(out, other),
        }
    }
}

/// Frames `body` as a packet of `kind` with `cookie`.
fn packet(kind: u8, cookie: &[u8], body: &[u8]) -> Vec<u8> {
    let len = body.len().to_be_bytes();
    let skip = len
        .iter()
        .take_while(|&&b| b == 0)
        .count()
        .min(len.len() - 1);
    let ll = (len.len() - skip).min(4);
    let cookie = if cookie.is_empty() || cookie.len() > 4 {
        &[0u8][..]
    } else {
        cookie
    };
    let mut out = Vec::with_capacity(2 + ll + cookie.len() + body.len());
    out.push(MAGIC_VERSION);
    out.push((kind << 4) | (((ll - 1) as u8) << 2) | ((cookie.len() - 1) as u8));
    out.extend_from_slice(&len[len.len() - ll..]);
    out.extend_from_slice(cookie);
    out.extend_from_slice(body);
    out
}

/// A reply packet carrying `values` in order.
pub fn encode_reply(cookie: &[u8], values: &[RpcValue]) -> Vec<u8> {
    let mut body = Vec::new();
    for v in values {
        put_value(&mut body, v);
    }
    packet(REPLY, cookie, &body)
}

/// A fault packet: code and message.
pub fn encode_fault(cookie: &[u8], e: &RpcError) -> Vec<u8> {
    let mut body = Vec::new();
    put_int(&mut body, i64::from(e.code));
    put_str(&mut body, T_STR, &e.message);
    packet(FAULT, cookie, &body)
}

/// A request packet (what kamcmd sends; for tests and clients).
pub fn encode_request(cookie: &[u8], method: &str, params: &[Param]) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, T_STR, method);
    for p in params {
        match p {
            Param::Int(n) => put_int(&mut body, i64::from(*n)),
            Param::Str(s) => put_str(&mut body, T_STR, s),
            Param::Double(d) => put_value(&mut body, &RpcValue::Double(*d)),
            Param::Other => {
                body.push(T_STRUCT);
                body.push(0x80 | T_STRUCT);
            }
        }
    }
    packet(REQUEST, cookie, &body)
}

/// One whole packet at the start of `buf`: its header and body, and how
/// many bytes it took.
///
/// # Errors
/// As [`header`], and [`BinrpcError::Incomplete`] until the body is whole.
pub fn split(buf: &[u8], max_body: usize) -> Result<(Header, &[u8], usize), BinrpcError> {
    let h = header(buf, max_body)?;
    let end = h.len + h.body_len;
    let body = buf.get(h.len..end).ok_or(BinrpcError::Incomplete)?;
    Ok((h, body, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn with_str(mut v: Vec<u8>, s: &str) -> Vec<u8> {
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        v
    }

    /// The captures of §10.3 (cookie 0x1234).
    #[test]
    fn captured_request_and_replies() {
        let req = with_str(hex("a1 01 0f 12 34 91 0d"), "core.version");
        assert_eq!(encode_request(&[0x12, 0x34], "core.version", &[]), req);
        let (h, body, n) = split(&req, 1 << 15).unwrap();
        assert_eq!(
            (h.kind, h.cookie.as_slice(), n),
            (REQUEST, &[0x12, 0x34][..], req.len())
        );
        assert_eq!(
            decode_request(body).unwrap(),
            Request {
                method: "core.version".into(),
                params: vec![]
            }
        );
        let rep = with_str(
            hex("a1 11 21 12 34 91 1f"),
            "kamailio 5.6.3 (x86_64/linux) ",
        );
        assert_eq!(
            encode_reply(
                &[0x12, 0x34],
                &[RpcValue::Str("kamailio 5.6.3 (x86_64/linux) ".into())]
            ),
            rep
        );
        let mut up = hex("a1 11 52 12 34 03");
        up = with_str([up, hex("45")].concat(), "now");
        up = with_str([up, hex("91 19")].concat(), "Sun Dec  6 03:12:52 2026");
        up = with_str([up, hex("95 09")].concat(), "up_since");
        up = with_str([up, hex("91 19")].concat(), "Sun Dec  6 03:12:47 2026");
        up = with_str([up, hex("75")].concat(), "uptime");
        up.extend(hex("10 9b 83"));
        // 0x9b = 155 would be the uptime; what matters is the encoding.
        let got = encode_reply(
            &[0x12, 0x34],
            &[RpcValue::Struct(vec![
                (
                    "now".into(),
                    RpcValue::Str("Sun Dec  6 03:12:52 2026".into()),
                ),
                (
                    "up_since".into(),
                    RpcValue::Str("Sun Dec  6 03:12:47 2026".into()),
                ),
                ("uptime".into(), RpcValue::Int(0x9b)),
            ])],
        );
        assert_eq!(got, up);
        let fault = with_str(
            hex("a1 31 1f 12 34 20 01 f4 91 1a"),
            "command no.such not found",
        );
        assert_eq!(
            encode_fault(
                &[0x12, 0x34],
                &RpcError::new(500, "command no.such not found")
            ),
            fault
        );
    }

    #[test]
    fn ints_params_and_arrays_in_structs() {
        let req = encode_request(
            &[1],
            "cfg.set_now_int",
            &[
                Param::Str("core".into()),
                Param::Str("debug".into()),
                Param::Int(3),
                Param::Int(-1),
                Param::Int(0),
            ],
        );
        let (_, body, _) = split(&req, 1 << 15).unwrap();
        let r = decode_request(body).unwrap();
        let texts: Vec<String> = r.params.iter().map(Param::text).collect();
        assert_eq!(texts, ["core", "debug", "3", "-1", "0"]);
        let mut v = Vec::new();
        put_int(&mut v, -1);
        assert_eq!(v, hex("40 ff ff ff ff"));
        let mut v = Vec::new();
        put_int(&mut v, i64::from(u32::MAX));
        assert_eq!(v, hex("40 ff ff ff ff"));
        // Contacts: [ {Contact: {Q: 0}} ] → Contacts: { Contact: { Q: 0 } }
        let mut v = Vec::new();
        put_value(
            &mut v,
            &RpcValue::Struct(vec![(
                "Contacts".into(),
                RpcValue::Array(vec![RpcValue::Struct(vec![(
                    "Contact".into(),
                    RpcValue::Struct(vec![("Q".into(), RpcValue::Int(0))]),
                )])]),
            )]),
        );
        let want = [
            hex("03"),
            with_str(hex("95 09"), "Contacts"),
            hex("03"),
            with_str(hex("95 08"), "Contact"),
            hex("03"),
            with_str(hex("25"), "Q"),
            hex("00 83 83 83"),
        ]
        .concat();
        assert_eq!(v, want);
        // A long string: S=1 with a length field.
        let long = "x".repeat(300);
        let mut v = Vec::new();
        put_str(&mut v, T_STR, &long);
        assert_eq!(&v[..3], &hex("a1 01 2d")[..]);
        let (p, n) = value(&v, 0).unwrap();
        assert_eq!((p, n), (Param::Str(long), v.len()));
    }

    /// Hostile input: every truncation and every single-byte corruption of
    /// a valid request, oversized lengths and deep nesting are errors,
    /// never a panic.
    #[test]
    fn hostile_packets_never_panic() {
        let req = encode_request(
            &[0xde, 0xad, 0xbe, 0xef],
            "ul.lookup",
            &[
                Param::Str("location".into()),
                Param::Int(123456),
                Param::Other,
            ],
        );
        for cut in 0..req.len() {
            assert!(matches!(
                split(&req[..cut], 1 << 15),
                Err(BinrpcError::Incomplete | BinrpcError::BadMagic)
            ));
        }
        for i in 0..req.len() {
            for b in [0x00, 0x7f, 0x80, 0xff, 0xf5, 0x83] {
                let mut r = req.clone();
                r[i] = b;
                if let Ok((_, body, _)) = split(&r, 1 << 15) {
                    let _ = decode_request(body);
                }
            }
        }
        assert_eq!(
            header(&hex("a1 0f ff ff ff ff 00 00 00 00"), 1 << 15),
            Err(BinrpcError::TooBig(0xffff_ffff))
        );
        assert_eq!(header(&hex("41 00"), 1 << 15), Err(BinrpcError::BadMagic));
        let deep = [vec![0x91, 0x02, b'x', 0], vec![T_STRUCT; 100]].concat();
        assert!(decode_request(&deep).is_err());
        assert!(decode_request(&hex("f1 ff ff ff ff ff ff ff")).is_err());
        assert!(decode_request(&hex("80")).is_err());
        assert!(decode_request(&[]).is_err());
        assert!(decode_request(&hex("91 02 78 00 40 01 02 03 04 05")).is_err());
    }
}

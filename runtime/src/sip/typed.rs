//! Small typed header values: [`Method`], [`CSeq`] (§20.16),
//! [`ContentType`] (§20.15) and [`Credentials`] for
//! Authorization/Proxy-Authorization (§20.7, §20.28, §25.1 `credentials`).
//!
//! Guarantees: zero-copy, allocation-free, total parsers returning `None`
//! on malformed input. Methods are case-sensitive (RFC 3261 §7.1); unknown
//! (extension) methods are kept as [`Method::Other`].

use super::header::is_token_byte;
use super::syntax::{CommaSplit, Params, is_lws, parse_u32, trim_lws, unquote};

/// A SIP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// REGISTER
    Register,
    /// OPTIONS
    Options,
    /// INFO
    Info,
    /// PRACK
    Prack,
    /// UPDATE
    Update,
    /// SUBSCRIBE
    Subscribe,
    /// NOTIFY
    Notify,
    /// REFER
    Refer,
    /// MESSAGE
    Message,
    /// PUBLISH
    Publish,
    /// An extension method.
    Other(&'a [u8]),
}

impl<'a> Method<'a> {
    /// Maps a method token (case-sensitive).
    pub fn from_bytes(b: &'a [u8]) -> Self {
        match b {
            b"INVITE" => Self::Invite,
            b"ACK" => Self::Ack,
            b"BYE" => Self::Bye,
            b"CANCEL" => Self::Cancel,
            b"REGISTER" => Self::Register,
            b"OPTIONS" => Self::Options,
            b"INFO" => Self::Info,
            b"PRACK" => Self::Prack,
            b"UPDATE" => Self::Update,
            b"SUBSCRIBE" => Self::Subscribe,
            b"NOTIFY" => Self::Notify,
            b"REFER" => Self::Refer,
            b"MESSAGE" => Self::Message,
            b"PUBLISH" => Self::Publish,
            other => Self::Other(other),
        }
    }

    /// The method token.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Self::Invite => b"INVITE",
            Self::Ack => b"ACK",
            Self::Bye => b"BYE",
            Self::Cancel => b"CANCEL",
            Self::Register => b"REGISTER",
            Self::Options => b"OPTIONS",
            Self::Info => b"INFO",
            Self::Prack => b"PRACK",
            Self::Update => b"UPDATE",
            Self::Subscribe => b"SUBSCRIBE",
            Self::Notify => b"NOTIFY",
            Self::Refer => b"REFER",
            Self::Message => b"MESSAGE",
            Self::Publish => b"PUBLISH",
            Self::Other(b) => b,
        }
    }
}

/// `CSeq: 1*DIGIT LWS Method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// Sequence number (RFC 3261: less than 2**31; we accept any `u32`).
    pub seq: u32,
    /// The method.
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    /// Parses a CSeq value.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        let s = trim_lws(s);
        let d = s.iter().position(|&b| !b.is_ascii_digit())?;
        let seq = parse_u32(&s[..d])?;
        if !is_lws(s[d]) {
            return None;
        }
        let m = trim_lws(&s[d..]);
        if m.is_empty() || !m.iter().all(|&b| is_token_byte(b)) {
            return None;
        }
        Some(Self {
            seq,
            method: Method::from_bytes(m),
        })
    }
}

/// `Content-Type: type "/" subtype *(;param)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentType<'a> {
    /// Top-level type, e.g. `application`.
    pub mtype: &'a [u8],
    /// Subtype, e.g. `sdp`.
    pub subtype: &'a [u8],
    /// Parameters.
    pub params: Params<'a>,
}

impl<'a> ContentType<'a> {
    /// Parses a media type.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        let s = trim_lws(s);
        let semi = s.iter().position(|&b| b == b';').unwrap_or(s.len());
        let mt = trim_lws(&s[..semi]);
        let slash = mt.iter().position(|&b| b == b'/')?;
        let mtype = trim_lws(&mt[..slash]);
        let subtype = trim_lws(&mt[slash + 1..]);
        let tok = |t: &[u8]| !t.is_empty() && t.iter().all(|&b| is_token_byte(b));
        if !tok(mtype) || !tok(subtype) {
            return None;
        }
        let params = Params::new(s.get(semi + 1..).unwrap_or_default());
        params.is_well_formed().then_some(Self {
            mtype,
            subtype,
            params,
        })
    }

    /// Case-insensitive match of `type/subtype`.
    pub fn is(&self, mtype: &[u8], subtype: &[u8]) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

/// `credentials = auth-scheme LWS auth-param *(COMMA auth-param)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The scheme, e.g. `Digest`.
    pub scheme: &'a [u8],
    /// The comma-separated parameter list.
    pub params: Params<'a>,
}

impl<'a> Credentials<'a> {
    /// Parses credentials; every parameter must be `name=value`.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        let s = trim_lws(s);
        let end = s.iter().position(|&b| !is_token_byte(b)).unwrap_or(s.len());
        let scheme = &s[..end];
        if scheme.is_empty() {
            return None;
        }
        let rest = &s[end..];
        if !rest.is_empty() && !is_lws(rest[0]) {
            return None;
        }
        for item in CommaSplit::new(rest) {
            let eq = item.iter().position(|&b| b == b'=')?;
            let name = trim_lws(&item[..eq]);
            if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
                return None;
            }
            let v = trim_lws(&item[eq + 1..]);
            if v.first() == Some(&b'"') && super::syntax::closing_quote(v) != Some(v.len() - 1) {
                return None;
            }
        }
        Some(Self {
            scheme,
            params: Params::with_separator(rest, b','),
        })
    }

    /// A parameter's value with quotes removed (escapes kept).
    pub fn param(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.params.get(name).flatten().map(unquote)
    }

    /// Whether the scheme is `Digest`.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case(b"Digest")
    }
}

//! Via values (RFC 3261 §20.42, `via-parm` in §25.1).
//!
//! Guarantees: [`Via::parse`] reads one `via-parm` (one element of a
//! possibly comma-separated Via header; split with
//! [`crate::sip::Message::vias`]), zero-copy and allocation-free, tolerating
//! LWS around `/`, `:`, `;` and `=`. `branch`, `received` and `rport` are
//! picked out in the same pass; other parameters stay available through
//! [`Via::params`].

use super::header::{byte_class, fold_eq, is_token_byte};
use super::syntax::{Params, is_lws, parse_u32, slice_at, span_in};

/// sent-by host name / IPv4 characters: alphanumerics and `-._`.
static HOST: [bool; 256] = byte_class(b"-._");

/// A parsed `via-parm` borrowing its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// The whole value.
    pub raw: &'a [u8],
    /// Protocol name (`SIP`).
    pub protocol: &'a [u8],
    /// Protocol version (`2.0`).
    pub version: &'a [u8],
    /// Transport (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`, ...).
    pub transport: &'a [u8],
    /// sent-by host as written (IPv6 keeps its brackets).
    pub host: &'a [u8],
    /// sent-by port.
    pub port: Option<u16>,
    /// sent-by port digits as written.
    pub port_raw: Option<&'a [u8]>,
    /// All parameters.
    pub params: Params<'a>,
    /// `branch` value.
    pub branch: Option<&'a [u8]>,
    /// `received` value.
    pub received: Option<&'a [u8]>,
    /// `rport`: `Some(None)` without value, `Some(Some(v))` with one.
    pub rport: Option<Option<&'a [u8]>>,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn skip_lws(&mut self) {
        while self.i < self.s.len() && is_lws(self.s[self.i]) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while self.i < self.s.len() && is_token_byte(self.s[self.i]) {
            self.i += 1;
        }
        (self.i > start).then(|| &self.s[start..self.i])
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_lws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            self.skip_lws();
            true
        } else {
            false
        }
    }
}

/// The part of a `via-parm` before its parameters.
struct Head<'a> {
    protocol: &'a [u8],
    version: &'a [u8],
    transport: &'a [u8],
    host: &'a [u8],
    port: Option<u16>,
    port_raw: Option<&'a [u8]>,
    params_raw: &'a [u8],
}

impl<'a> Head<'a> {
    /// Parses the sent-protocol and sent-by of one `via-parm`, not its
    /// parameters; `None` if malformed.
    fn parse(s: &'a [u8]) -> Option<Self> {
        let mut c = Cursor { s, i: 0 };
        c.skip_lws();
        let protocol = c.token()?;
        if !c.eat(b'/') {
            return None;
        }
        let version = c.token()?;
        if !c.eat(b'/') {
            return None;
        }
        let transport = c.token()?;
        // Kamailio's Via parser knows SIP/2.0 only.
        if !protocol.eq_ignore_ascii_case(b"SIP") || version != b"2.0" {
            return None;
        }
        // At least one LWS between transport and sent-by.
        if !c.s.get(c.i).copied().is_some_and(is_lws) {
            return None;
        }
        c.skip_lws();
        let host_start = c.i;
        if c.s.get(c.i) == Some(&b'[') {
            let close = c.s[c.i..].iter().position(|&b| b == b']')?;
            let inner = &c.s[c.i + 1..c.i + close];
            if inner.is_empty()
                || !inner
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return None;
            }
            c.i += close + 1;
        } else {
            while let Some(&b) = c.s.get(c.i)
                && HOST[usize::from(b)]
            {
                c.i += 1;
            }
        }
        let host = &c.s[host_start..c.i];
        if host.is_empty() {
            return None;
        }
        let (port, port_raw) = if c.eat(b':') {
            let ps = c.i;
            while c.i < c.s.len() && c.s[c.i].is_ascii_digit() {
                c.i += 1;
            }
            let raw = &c.s[ps..c.i];
            let p = parse_u32(raw)
                .filter(|_| raw.len() <= 5)
                .and_then(|p| u16::try_from(p).ok())?;
            (Some(p), Some(raw))
        } else {
            (None, None)
        };
        c.skip_lws();
        let params_raw = match c.s.get(c.i) {
            None => &c.s[c.i..],
            Some(b';') => &c.s[c.i + 1..],
            Some(_) => return None,
        };
        Some(Self {
            protocol,
            version,
            transport,
            host,
            port,
            port_raw,
            params_raw,
        })
    }
}

impl<'a> Via<'a> {
    /// Parses one `via-parm`; `None` if malformed.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        let Head {
            protocol,
            version,
            transport,
            host,
            port,
            port_raw,
            params_raw,
        } = Head::parse(s)?;
        let params = Params::new(params_raw);
        let mut branch = None;
        let mut received = None;
        let mut rport = None;
        for p in params.iter() {
            if !p.is_well_formed() {
                return None;
            }
            if fold_eq(p.name, b"branch") {
                branch = Some(p.value?);
            } else if fold_eq(p.name, b"received") {
                received = Some(p.value?);
            } else if fold_eq(p.name, b"rport") {
                rport = Some(p.value);
            }
        }
        Some(Self {
            raw: s,
            protocol,
            version,
            transport,
            host,
            port,
            port_raw,
            params,
            branch,
            received,
            rport,
        })
    }

    /// Whether the branch carries the RFC 3261 magic cookie `z9hG4bK`.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch.is_some_and(|b| b.starts_with(b"z9hG4bK"))
    }

    /// A parameter by name (`Some(None)` for a flag).
    pub fn param(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.params.get(name)
    }
}

/// A [`Via`] as offsets into the message buffer it was parsed from: what a
/// message keeps of its top Via (a `Via<'a>` inside the message would make
/// the message invariant in `'a`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaSpans {
    raw: (u32, u32),
    protocol: (u32, u32),
    version: (u32, u32),
    transport: (u32, u32),
    host: (u32, u32),
    port: Option<u16>,
    port_raw: Option<(u32, u32)>,
    params: (u32, u32),
    branch: Option<(u32, u32)>,
    received: Option<(u32, u32)>,
    rport: Option<Option<(u32, u32)>>,
}

impl ViaSpans {
    /// `via`, parsed from a slice of `buf`, as offsets.
    pub(crate) fn of(buf: &[u8], via: &Via<'_>) -> Self {
        let sp = |p: &[u8]| span_in(buf, p);
        Self {
            raw: sp(via.raw),
            protocol: sp(via.protocol),
            version: sp(via.version),
            transport: sp(via.transport),
            host: sp(via.host),
            port: via.port,
            port_raw: via.port_raw.map(sp),
            params: sp(via.params.as_bytes()),
            branch: via.branch.map(sp),
            received: via.received.map(sp),
            rport: via.rport.map(|r| r.map(sp)),
        }
    }

    /// The [`Via`] again, borrowing `buf`.
    pub(crate) fn get<'a>(&self, buf: &'a [u8]) -> Via<'a> {
        let sl = |p: (u32, u32)| slice_at(buf, p);
        Via {
            raw: sl(self.raw),
            protocol: sl(self.protocol),
            version: sl(self.version),
            transport: sl(self.transport),
            host: sl(self.host),
            port: self.port,
            port_raw: self.port_raw.map(sl),
            params: Params::new(sl(self.params)),
            branch: self.branch.map(sl),
            received: self.received.map(sl),
            rport: self.rport.map(|r| r.map(sl)),
        }
    }
}

//! Via values (RFC 3261 §20.42, `via-parm` in §25.1).
//!
//! Guarantees: [`Via::parse`] reads one `via-parm` (one element of a
//! possibly comma-separated Via header; split with
//! [`crate::sip::Message::vias`]), zero-copy and allocation-free, tolerating
//! LWS around `/`, `:`, `;` and `=`. `branch`, `received` and `rport` are
//! picked out in the same pass; other parameters stay available through
//! [`Via::params`].

use super::header::{byte_class, fold_eq, is_token_byte};
use super::syntax::{Params, is_lws, parse_u32};

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

impl<'a> Via<'a> {
    /// Parses one `via-parm`; `None` if malformed.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
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

//! `name-addr` / `addr-spec` values: From, To, Contact, Route,
//! Record-Route, Path, Refer-To (RFC 3261 §20.10, §20.20, §20.39 and the
//! `from-spec` rule of §25.1).
//!
//! Guarantees: [`NameAddr::parse`] is zero-copy, allocation-free and total.
//! The display name (quoted string or tokens), the URI between `<` `>` (or
//! the bare addr-spec, whose `;params` are then header params as RFC 3261
//! §20.10 requires) and the header parameters are located; the `tag`
//! parameter is picked out. The URI itself is parsed only on request
//! ([`NameAddr::uri`]).

use super::error::ParseError;
use super::header::{fold_eq, is_token_byte};
use super::syntax::{
    Params, closing_quote, find2, first_ctl_or, is_lws, slice_at, span_in, trim_lws, unquote,
};
use super::uri::Uri;

/// A parsed name-addr or addr-spec with header parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// The whole value.
    pub raw: &'a [u8],
    /// The display name as written (quotes kept), if any.
    pub display: Option<&'a [u8]>,
    /// The URI text (without `<` `>`).
    pub uri_raw: &'a [u8],
    /// Whether the URI was enclosed in `<` `>`.
    pub bracketed: bool,
    /// Header parameters after the URI.
    pub params: Params<'a>,
    /// The `tag` parameter.
    pub tag: Option<&'a [u8]>,
}

impl<'a> NameAddr<'a> {
    /// Parses one element; `None` if malformed.
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        let s = trim_lws(s);
        if s.is_empty() {
            return None;
        }
        let (display, uri_raw, bracketed, rest) = if s[0] == b'"' {
            let q = closing_quote(s)?;
            let after = &s[q + 1..];
            let lt = after.iter().position(|&b| !is_lws(b))?;
            if after[lt] != b'<' {
                return None;
            }
            let (uri, rest) = bracketed_uri(&after[lt..])?;
            (Some(&s[..=q]), uri, true, rest)
        } else if let Some(lt) = find2(s, b'<', b'<') {
            let disp = trim_lws(&s[..lt]);
            if !disp.iter().all(|&b| is_token_byte(b) || is_lws(b)) {
                return None;
            }
            let (uri, rest) = bracketed_uri(&s[lt..])?;
            (
                if disp.is_empty() { None } else { Some(disp) },
                uri,
                true,
                rest,
            )
        } else {
            let end = s.iter().position(|&b| b == b';').unwrap_or(s.len());
            let uri = trim_lws(&s[..end]);
            (None, uri, false, &s[end..])
        };
        if uri_raw.is_empty() || first_ctl_or(uri_raw, [b'<', b'>', b'"']).is_some() {
            return None;
        }
        let rest = trim_lws(rest);
        let params_raw = match rest.first() {
            None => rest,
            Some(b';') => &rest[1..],
            Some(_) => return None,
        };
        let params = Params::new(params_raw);
        let mut tag = None;
        for p in params.iter() {
            if !p.is_well_formed() {
                return None;
            }
            if tag.is_none() && fold_eq(p.name, b"tag") {
                // A flag `;tag` or an empty value is malformed.
                tag = Some(p.value.filter(|t| !t.is_empty())?);
            }
        }
        Some(Self {
            raw: s,
            display,
            uri_raw,
            bracketed,
            params,
            tag,
        })
    }

    /// Parses the URI.
    ///
    /// # Errors
    /// [`super::ErrorKind::BadUri`]; the offset is relative to `uri_raw`.
    pub fn uri(&self) -> Result<Uri<'a>, ParseError> {
        Uri::parse(self.uri_raw)
    }

    /// The display name without quotes (escapes kept).
    pub fn display_unquoted(&self) -> Option<&'a [u8]> {
        self.display.map(unquote)
    }

    /// A header parameter (`Some(None)` for a flag).
    pub fn param(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.params.get(name)
    }

    /// The `expires` parameter (Contact).
    pub fn expires(&self) -> Option<u32> {
        self.param(b"expires")
            .flatten()
            .and_then(super::syntax::parse_u32)
    }

    /// The `q` parameter as written (Contact).
    pub fn q(&self) -> Option<&'a [u8]> {
        self.param(b"q").flatten()
    }
}

/// `"<" uri ">"` at the start of `s`: returns the URI and what follows.
fn bracketed_uri(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let gt = find2(s, b'>', b'>')?;
    Some((trim_lws(&s[1..gt]), &s[gt + 1..]))
}

/// A [`NameAddr`] as offsets into the message buffer it was parsed from:
/// what a message keeps of its From and To.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameAddrSpans {
    raw: (u32, u32),
    display: Option<(u32, u32)>,
    uri_raw: (u32, u32),
    bracketed: bool,
    params: (u32, u32),
    tag: Option<(u32, u32)>,
}

impl NameAddrSpans {
    /// `na`, parsed from a slice of `buf`, as offsets.
    pub(crate) fn of(buf: &[u8], na: &NameAddr<'_>) -> Self {
        let sp = |p: &[u8]| span_in(buf, p);
        Self {
            raw: sp(na.raw),
            display: na.display.map(sp),
            uri_raw: sp(na.uri_raw),
            bracketed: na.bracketed,
            params: sp(na.params.as_bytes()),
            tag: na.tag.map(sp),
        }
    }

    /// The [`NameAddr`] again, borrowing `buf`.
    pub(crate) fn get<'a>(&self, buf: &'a [u8]) -> NameAddr<'a> {
        let sl = |p: (u32, u32)| slice_at(buf, p);
        NameAddr {
            raw: sl(self.raw),
            display: self.display.map(sl),
            uri_raw: sl(self.uri_raw),
            bracketed: self.bracketed,
            params: Params::new(sl(self.params)),
            tag: self.tag.map(sl),
        }
    }
}

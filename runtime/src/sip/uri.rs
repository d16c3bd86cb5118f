//! SIP, SIPS and tel URIs (RFC 3261 §19.1 / §25.1, RFC 3966).
//!
//! Guarantees: [`Uri::parse`] is zero-copy (every part is a sub-slice of the
//! input, so the editor can locate and rewrite it), allocation-free and
//! total. It validates the parts a proxy relies on: the userinfo (escapes
//! well formed, `.` and `;` allowed in the user part), the host (hostname,
//! IPv4 or bracketed IPv6 reference), the port (fits `u16`), the parameter
//! list and the `?headers` part. Escapes are kept as written; decode them
//! with [`super::syntax::unescape`].

use super::error::{ErrorKind, ParseError};
use super::header::{byte_class, fold_eq};
use super::syntax::{Params, escapes_valid, find2, hex_val};

/// URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
}

impl Scheme {
    /// The scheme as written in canonical lower case, without the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sip => "sip",
            Self::Sips => "sips",
            Self::Tel => "tel",
        }
    }
}

/// A parsed URI borrowing its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    /// The whole URI.
    pub raw: &'a [u8],
    /// The scheme.
    pub scheme: Scheme,
    /// The user part (escapes kept); for `tel:` the subscriber number.
    pub user: Option<&'a [u8]>,
    /// The password after `user:`.
    pub password: Option<&'a [u8]>,
    /// The host as written (IPv6 references keep their brackets); empty
    /// for `tel:`, positioned where a host would go.
    pub host: &'a [u8],
    /// The port number.
    pub port: Option<u16>,
    /// The port digits as written.
    pub port_raw: Option<&'a [u8]>,
    /// URI parameters (after the first `;` following the host).
    pub params: Params<'a>,
    /// The raw `?headers` part without the `?`, empty if none.
    pub headers: &'a [u8],
}

fn bad(offset: usize) -> ParseError {
    ParseError::new(ErrorKind::BadUri, offset)
}

/// Characters allowed (unescaped) in the user part and password: RFC 3261
/// `unreserved / user-unreserved / escaped` and the `:` of the password.
static USER: [bool; 256] = byte_class(b"-_.!~*'()%&=+$,;/:");
/// Characters of URI params and headers (`paramchar`, `hnv-unreserved`,
/// separators).
static PARAM: [bool; 256] = byte_class(b"-_.!~*'()%[]/:&+$=;?@,");
/// [`PARAM`] without `?` and `@`: the characters of the `;params` part.
static URI_PARAM: [bool; 256] = byte_class(b"-_.!~*'()%[]/:&+$=;,");
/// Host name / IPv4 characters (`_` tolerated).
static HOST: [bool; 256] = byte_class(b"-._");

#[inline]
fn param_byte(b: u8) -> bool {
    PARAM[usize::from(b)]
}

/// Whether every byte of `s` is in `class` (which holds `%` and every
/// alphanumeric) and every `%` starts a `%HH` escape: the class check and
/// [`escapes_valid`] in one pass.
#[inline]
fn class_and_escapes_ok(s: &[u8], class: &[bool; 256]) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if !class[usize::from(b)] {
            return false;
        }
        if b == b'%' {
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

/// The user part and password as Kamailio's URI parser takes them: the
/// [`USER`] characters plus every non-ASCII byte (UTF-8 or Latin-1 user
/// names such as `Ätester`), and `%` not necessarily starting a valid
/// escape (`sip:b%ZZb@host` is routed by Kamailio, not refused).
fn userinfo_ok(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| USER[usize::from(b)] || b >= 0x80)
}

fn hostname_ok(h: &[u8]) -> bool {
    !h.is_empty() && h.iter().all(|&b| HOST[usize::from(b)])
}

fn ipv6_ok(inner: &[u8]) -> bool {
    inner.len() >= 2
        && inner.contains(&b':')
        && inner
            .iter()
            .all(|&b| hex_val(b).is_some() || b == b':' || b == b'.')
}

impl<'a> Uri<'a> {
    /// Parses a `sip:`, `sips:` or `tel:` URI.
    ///
    /// # Errors
    /// [`ErrorKind::BadUri`] with the offset of the offending part.
    pub fn parse(s: &'a [u8]) -> Result<Self, ParseError> {
        let colon = find2(s, b':', b':').ok_or(bad(0))?;
        let scheme = &s[..colon];
        let scheme = if fold_eq(scheme, b"sip") {
            Scheme::Sip
        } else if fold_eq(scheme, b"sips") {
            Scheme::Sips
        } else if fold_eq(scheme, b"tel") {
            Scheme::Tel
        } else {
            return Err(bad(0));
        };
        let body_at = colon + 1;
        let body = &s[body_at..];
        if scheme == Scheme::Tel {
            return Self::parse_tel(s, body_at);
        }
        // Split off ?headers at the first '?'. The user part may in theory
        // hold a '?', but header values may hold an '@' far more often, so
        // only an '@' before the first '?' starts a host.
        let q = find2(body, b'?', b'?');
        let (main, headers) = match q {
            Some(q) => (&body[..q], &body[q + 1..]),
            None => (body, &body[body.len()..]),
        };
        let at = find2(main, b'@', b'@');
        if !class_and_escapes_ok(headers, &PARAM) {
            return Err(bad(body_at + q.unwrap_or(0)));
        }
        let (user, password, hostport, hp_at) = match at {
            Some(a) => {
                let userinfo = &main[..a];
                if !userinfo_ok(userinfo) {
                    return Err(bad(body_at));
                }
                let (u, p) = match userinfo.iter().position(|&b| b == b':') {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if u.is_empty() {
                    return Err(bad(body_at));
                }
                (Some(u), p, &main[a + 1..], body_at + a + 1)
            }
            _ => (None, None, main, body_at),
        };
        let (host, rest, rest_at) = if hostport.first() == Some(&b'[') {
            let close = hostport.iter().position(|&b| b == b']').ok_or(bad(hp_at))?;
            if !ipv6_ok(&hostport[1..close]) {
                return Err(bad(hp_at));
            }
            (
                &hostport[..=close],
                &hostport[close + 1..],
                hp_at + close + 1,
            )
        } else {
            let end = find2(hostport, b':', b';').unwrap_or(hostport.len());
            if !hostname_ok(&hostport[..end]) {
                return Err(bad(hp_at));
            }
            (&hostport[..end], &hostport[end..], hp_at + end)
        };
        let (port, port_raw, rest, rest_at) = if rest.first() == Some(&b':') {
            let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
            let digits = &rest[1..end];
            let p = parse_port(digits).ok_or(bad(rest_at + 1))?;
            (Some(p), Some(digits), &rest[end..], rest_at + end)
        } else {
            (None, None, rest, rest_at)
        };
        let params = match rest.first() {
            None => &rest[..0],
            Some(b';') => &rest[1..],
            Some(_) => return Err(bad(rest_at)),
        };
        if !class_and_escapes_ok(params, &URI_PARAM) {
            return Err(bad(rest_at));
        }
        Ok(Self {
            raw: s,
            scheme,
            user,
            password,
            host,
            port,
            port_raw,
            params: Params::new(params),
            headers,
        })
    }

    fn parse_tel(s: &'a [u8], body_at: usize) -> Result<Self, ParseError> {
        let body = &s[body_at..];
        let end = body.iter().position(|&b| b == b';').unwrap_or(body.len());
        let number = &body[..end];
        let number_ok = !number.is_empty()
            && number.iter().all(|&b| {
                b.is_ascii_hexdigit() || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
            });
        if !number_ok {
            return Err(bad(body_at));
        }
        let params = body.get(end + 1..).unwrap_or_default();
        if !params.iter().all(|&b| param_byte(b)) || !escapes_valid(params) {
            return Err(bad(body_at + end));
        }
        Ok(Self {
            raw: s,
            scheme: Scheme::Tel,
            user: Some(number),
            password: None,
            host: &body[end..end],
            port: None,
            port_raw: None,
            params: Params::new(params),
            headers: &body[body.len()..],
        })
    }

    /// The host without IPv6 brackets.
    pub fn host_unbracketed(&self) -> &'a [u8] {
        match self.host {
            [b'[', inner @ .., b']'] => inner,
            h => h,
        }
    }

    /// A URI parameter (`Some(None)` for a flag such as `lr`).
    pub fn param(&self, name: &[u8]) -> Option<Option<&'a [u8]>> {
        self.params.get(name)
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&'a [u8]> {
        self.param(b"transport").flatten()
    }

    /// Whether the URI carries `;lr` (loose routing).
    pub fn is_loose_route(&self) -> bool {
        self.params.contains(b"lr")
    }
}

fn parse_port(d: &[u8]) -> Option<u16> {
    if d.is_empty() || d.len() > 5 {
        return None;
    }
    super::syntax::parse_u32(d).and_then(|p| u16::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::{PARAM, URI_PARAM, USER, Uri, class_and_escapes_ok, escapes_valid};

    /// Kamailio accepts non-ASCII bytes and stray `%` in the user part
    /// (`tests/malformed`: its `$fU` is the user, ours was null).
    #[test]
    fn user_part_takes_non_ascii_and_bad_escapes() {
        for s in [
            "sip:Ätester@127.0.0.1".as_bytes(),
            b"sip:b\xe9b@example.com",
            b"sip:b%ZZb@example.com",
            b"sip:b%6Fb@example.com:5060;lr",
        ] {
            let u = Uri::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"));
            assert!(u.user.is_some_and(|u| !u.is_empty()), "{s:?}");
        }
        assert_eq!(
            Uri::parse("sip:Ätester@127.0.0.1".as_bytes())
                .expect("parses")
                .user,
            Some("Ätester".as_bytes())
        );
        assert!(Uri::parse(b"sip:b b@example.com").is_err());
        assert!(Uri::parse(b"sip:@example.com").is_err());
    }

    #[test]
    fn uri_param_class_is_param_without_query_and_at() {
        for b in 0..=255u8 {
            let want = PARAM[usize::from(b)] && b != b'?' && b != b'@';
            assert_eq!(URI_PARAM[usize::from(b)], want, "{b:#x}");
        }
    }

    #[test]
    fn fused_class_check_matches_two_passes() {
        let alphabet = [
            b'a', b'Z', b'0', b'f', b'%', b'?', b'@', b' ', b';', b'g', 0x80,
        ];
        let mut cases: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for c in &cases {
                for &b in &alphabet {
                    let mut v = c.clone();
                    v.push(b);
                    next.push(v);
                }
            }
            cases.extend(next.iter().cloned());
            cases.dedup();
            if cases.len() > 200_000 {
                break;
            }
        }
        for c in &cases {
            for class in [&PARAM, &URI_PARAM, &USER] {
                let two_pass = c.iter().all(|&b| class[usize::from(b)]) && escapes_valid(c);
                assert_eq!(class_and_escapes_ok(c, class), two_pass, "{c:?}");
            }
        }
    }
}

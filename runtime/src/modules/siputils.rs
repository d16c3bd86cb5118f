//! siputils — message tests (kamailio-modules.md §7) and value checks:
//! `is_e164`, `is_uri_user_e164`, `is_tel_number`, `is_numeric`, `is_alphanum[ex]`,
//! `is_uri`, `cmp_uri`, `cmp_aor`, `add_uri_param` (5.6.3's quirks kept: see
//! each function), and `options_reply` with its `options_*` parameters.

use crate::engine::Ctx;
use crate::sip::{HeaderName, Uri};

mod contact;
pub use contact::{
    contact_param_decode, contact_param_decode_ruri, contact_param_encode, contact_param_rm,
    decode_contact, decode_contact_header, encode_contact, is_gruu, is_gruu1, is_supported,
    is_user, tel2sip,
};

/// `has_totag()`: 1 if the To header has a non-empty `tag`, -1 otherwise
/// (also without To).
pub fn has_totag(ctx: &Ctx<'_>) -> i32 {
    match ctx.msg.to() {
        Ok(t) if t.tag.is_some_and(|t| !t.is_empty()) => 1,
        _ => -1,
    }
}

/// `is_request()`
pub fn is_request(ctx: &Ctx<'_>) -> i32 {
    if ctx.msg.is_request() { 1 } else { -1 }
}

/// `is_reply()`
pub fn is_reply(ctx: &Ctx<'_>) -> i32 {
    if ctx.msg.is_request() { -1 } else { 1 }
}

/// `is_first_hop()`: for a request, 1 when it carries a single Via entry
/// (one Via header with one value); for a reply, see
/// [`is_first_hop_mode`] with mode 0.
pub fn is_first_hop(ctx: &Ctx<'_>) -> i32 {
    is_first_hop_mode(ctx, 0)
}

/// `is_first_hop(mode)`: requests as [`is_first_hop`]; a reply is first
/// hop when it has no Record-Route, or when the top Record-Route URI is
/// this proxy and (mode 0) is an IP address other than the reply's source
/// address (a host name is -1); mode 1 skips the address checks.
pub fn is_first_hop_mode(ctx: &Ctx<'_>, mode: i32) -> i32 {
    let msg = ctx.msg;
    if msg.is_request() {
        let vias = msg
            .headers()
            .iter()
            .filter(|h| h.name == HeaderName::Via)
            .map(|h| crate::sip::syntax::CommaSplit::new(msg.slice(h.value())).count())
            .sum::<usize>();
        return if vias == 1 { 1 } else { -1 };
    }
    let Some(first) = msg.record_routes().next() else {
        return 1;
    };
    let Some(uri) = first.as_ref().ok().and_then(|na| na.uri().ok()) else {
        return -1;
    };
    if !ctx.is_myself(uri.host_unbracketed(), uri.port) {
        return -1;
    }
    if mode == 1 {
        return 1;
    }
    let Some(ip) = std::str::from_utf8(uri.host_unbracketed())
        .ok()
        .and_then(|h| h.parse::<std::net::IpAddr>().ok())
    else {
        return -1;
    };
    let port = uri.port.unwrap_or(5060);
    if ip == ctx.rcv.src.ip() && port == ctx.rcv.src.port() {
        -1
    } else {
        1
    }
}

/// `uri_param(name)`: 1 if the current R-URI has the parameter `name`
/// without a value; the first parameter of that name decides (names are
/// case-sensitive, as Kamailio compares them).
pub fn uri_param(ctx: &Ctx<'_>, name: &[u8]) -> i32 {
    uri_param_check(ctx, name, None)
}

/// `uri_param(name, value)`: 1 if the first parameter `name` of the
/// current R-URI has exactly that value.
pub fn uri_param_value(ctx: &Ctx<'_>, name: &[u8], value: &[u8]) -> i32 {
    uri_param_check(ctx, name, Some(value))
}

fn uri_param_check(ctx: &Ctx<'_>, name: &[u8], value: Option<&[u8]>) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    let Ok(uri) = Uri::parse(ctx.ruri()) else {
        return -1;
    };
    match uri.params.iter().find(|p| p.name == name) {
        Some(p) => {
            let body = p.value.unwrap_or_default();
            let ok = match value {
                Some(v) => v == body,
                None => body.is_empty(),
            };
            if ok { 1 } else { -1 }
        }
        None => -1,
    }
}

/// `uri_param_any(name)`: 1 if the current R-URI has the parameter, with
/// or without a value.
pub fn uri_param_any(ctx: &Ctx<'_>, name: &[u8]) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    match Uri::parse(ctx.ruri()) {
        Ok(u) if u.params.iter().any(|p| p.name == name) => 1,
        _ => -1,
    }
}

/// `e164_check`: `+` then 2 to 15 digits.
fn e164(s: &[u8]) -> bool {
    s.len() > 2 && s.len() < 17 && s[0] == b'+' && s[1..].iter().all(u8::is_ascii_digit)
}

/// `is_e164(pv)`: 1 when the value is `+` and 2 to 15 digits, else -1.
pub fn is_e164(_ctx: &Ctx<'_>, v: &[u8]) -> i32 {
    if e164(v) { 1 } else { -1 }
}

/// `is_uri_user_e164(pv)`: the text between the first `:` and the next
/// `@` is an E.164 number (1), else -1.
pub fn is_uri_user_e164(_ctx: &Ctx<'_>, uri: &[u8]) -> i32 {
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return -1;
    };
    let user = &uri[colon + 1..];
    match user.iter().position(|&b| b == b'@') {
        Some(at) if e164(&user[..at]) => 1,
        _ => -1,
    }
}

/// `is_numeric(s)`: 1 for one or more digits, else -2.
pub fn is_numeric(_ctx: &Ctx<'_>, v: &[u8]) -> i32 {
    if !v.is_empty() && v.iter().all(u8::is_ascii_digit) {
        1
    } else {
        -2
    }
}

/// `is_tel_number(s)`: 1 for digits, optionally after a `+` and a digit
/// 1-9; else -2.
pub fn is_tel_number(_ctx: &Ctx<'_>, v: &[u8]) -> i32 {
    let digits = match v {
        [] | [b'+'] => return -2,
        [b'+', first, rest @ ..] if (b'1'..=b'9').contains(first) => rest,
        [b'+', ..] => return -2,
        all => all,
    };
    if digits.iter().all(u8::is_ascii_digit) {
        1
    } else {
        -2
    }
}

/// `is_alphanum(s)`: 1 for ASCII letters and digits only, -2 empty, -3
/// another character.
pub fn is_alphanum(_ctx: &Ctx<'_>, v: &[u8]) -> i32 {
    is_alphanumex(_ctx, v, b"")
}

/// `is_alphanumex(s, extra)`: as [`is_alphanum`], the characters of
/// `extra` allowed too.
pub fn is_alphanumex(_ctx: &Ctx<'_>, v: &[u8], extra: &[u8]) -> i32 {
    if v.is_empty() {
        return -2;
    }
    if v.iter()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(b))
    {
        1
    } else {
        -3
    }
}

/// `is_uri(s)`: 1 when it parses as a SIP URI, else -1.
pub fn is_uri(_ctx: &Ctx<'_>, v: &[u8]) -> i32 {
    if Uri::parse(v).is_ok() { 1 } else { -1 }
}

/// A URI's parts as Kamailio's `parse_uri` gives them to its comparers:
/// the port as written; with `user=phone` (core `phone2tel`, on by
/// default) a tel URI whose user ends at its first `;` and whose
/// parameters are the user part's, not the envelope's.
struct UriParts<'a> {
    uri: Uri<'a>,
    /// 0 sip, 1 sips, 2 tel (a SIP URI with `user=phone`).
    kind: u8,
    user: &'a [u8],
    params: Vec<crate::sip::syntax::Param<'a>>,
    /// The envelope has `user`, `ttl`, `method` or `maddr`.
    special: bool,
    port: &'a [u8],
}

fn uri_parts(v: &[u8]) -> Option<UriParts<'_>> {
    use crate::sip::syntax::Params;
    let uri = Uri::parse(v).ok()?;
    let port = uri.port_raw.unwrap_or_default();
    let special = uri.params.iter().any(|p| {
        [&b"user"[..], b"ttl", b"method", b"maddr"]
            .iter()
            .any(|n| p.name.eq_ignore_ascii_case(n))
    });
    let user = uri.user.unwrap_or_default();
    let phone = uri
        .params
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(b"user") && p.value == Some(&b"phone"[..]));
    let (kind, user, params) = if phone {
        match user.iter().position(|&b| b == b';') {
            Some(i) => (2, &user[..i], Params::new(&user[i + 1..]).iter().collect()),
            None => (2, user, Vec::new()),
        }
    } else {
        let kind = u8::from(uri.scheme != crate::sip::uri::Scheme::Sip);
        (kind, user, uri.params.iter().collect())
    };
    Some(UriParts {
        uri,
        kind,
        user,
        params,
        special,
        port,
    })
}

/// `cmp_uri(a, b)`: RFC 3261 19.1.4 as Kamailio's `cmp_uri`: same kind
/// (sip, sips, or tel for `user=phone`), user, password and port as
/// written, host without case; then the parameters both have must be
/// equal (without case), and `user`, `ttl`, `method` or `maddr` on one
/// side when the other has no parameters is a difference. 1 match, -1
/// no match, -2 a URI that does not parse.
pub fn cmp_uri(_ctx: &Ctx<'_>, a: &[u8], b: &[u8]) -> i32 {
    let (Some(x), Some(y)) = (uri_parts(a), uri_parts(b)) else {
        return -2;
    };
    let same = x.kind == y.kind
        && x.user == y.user
        && x.port == y.port
        && x.uri.password.unwrap_or_default() == y.uri.password.unwrap_or_default()
        && x.uri.host.eq_ignore_ascii_case(y.uri.host);
    if !same {
        return -1;
    }
    if x.params.is_empty() && y.params.is_empty() {
        return 1;
    }
    if (x.params.is_empty() && y.special) || (y.params.is_empty() && x.special) {
        return -1;
    }
    for a in &x.params {
        for b in &y.params {
            if a.name.eq_ignore_ascii_case(b.name)
                && !a
                    .value
                    .unwrap_or_default()
                    .eq_ignore_ascii_case(b.value.unwrap_or_default())
            {
                return -1;
            }
        }
    }
    1
}

/// `cmp_aor(a, b)`: same user, host (without case) and port (a missing
/// port matches 5060). 1 match, -1 no match, -2 a URI that does not
/// parse.
pub fn cmp_aor(_ctx: &Ctx<'_>, a: &[u8], b: &[u8]) -> i32 {
    let (Some(x), Some(y)) = (uri_parts(a), uri_parts(b)) else {
        return -2;
    };
    if x.user != y.user {
        return -1;
    }
    if x.port != y.port {
        let p1 = x.uri.port.unwrap_or(0);
        let p2 = y.uri.port.unwrap_or(0);
        if (x.port.is_empty() && p2 != 5060) || (y.port.is_empty() && p1 != 5060) {
            return -1;
        }
    }
    if !x.uri.host.eq_ignore_ascii_case(y.uri.host) {
        return -1;
    }
    1
}

/// `add_uri_param(param)`: `;param` appended to the R-URI's parameters
/// (before its headers, if any); 1, or -1 when the R-URI does not parse.
pub fn add_uri_param(ctx: &mut Ctx<'_>, param: &[u8]) -> i32 {
    if param.is_empty() {
        return 1;
    }
    let ruri = ctx.ruri().to_vec();
    let Ok(uri) = Uri::parse(&ruri) else {
        return -1;
    };
    let new = if uri.headers.is_empty() {
        let mut n = ruri.clone();
        n.push(b';');
        n.extend_from_slice(param);
        n
    } else {
        // Kamailio rebuilds it: `sip:` user `@` host `:` port, then the
        // parameters without their leading `;` (so it glues them to the
        // host or port: 5.6.3's URI no longer parses, and `$ru` reads
        // `$null`), `;param`, `?` headers.
        let mut n = b"sip:".to_vec();
        if let Some(u) = uri.user.filter(|u| !u.is_empty()) {
            n.extend_from_slice(u);
            n.push(b'@');
        }
        n.extend_from_slice(uri.host);
        if let Some(p) = uri.port_raw.filter(|p| !p.is_empty()) {
            n.push(b':');
            n.extend_from_slice(p);
        }
        n.extend_from_slice(
            uri.params
                .raw()
                .strip_prefix(b";")
                .unwrap_or(uri.params.raw()),
        );
        n.push(b';');
        n.extend_from_slice(param);
        n.push(b'?');
        n.extend_from_slice(uri.headers);
        n
    };
    // Kamailio's rewrite_uri takes it as it is.
    ctx.new_uri = Some(new);
    1
}

/// siputils' parameters: the headers of `options_reply`.
#[derive(Clone, Debug)]
pub struct Config {
    accept: Vec<u8>,
    accept_encoding: Vec<u8>,
    accept_language: Vec<u8>,
    supported: Vec<u8>,
    /// `contact_flds_separator`'s first character (`*`).
    pub(crate) separator: u8,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            accept: b"*/*".to_vec(),
            accept_encoding: Vec::new(),
            accept_language: b"en".to_vec(),
            supported: Vec::new(),
            separator: b'*',
        }
    }
}

impl Config {
    /// Reads `modparam("siputils", "options_*")`.
    ///
    /// # Errors
    /// None today (strings are taken as they are).
    pub fn from_params(
        p: &crate::engine::params::ModParams,
    ) -> Result<Self, crate::engine::params::ParamError> {
        let d = Self::default();
        let s = |name: &str, default: Vec<u8>| {
            p.str("siputils", name).map_or(default, String::into_bytes)
        };
        Ok(Self {
            accept: s("options_accept", d.accept),
            accept_encoding: s("options_accept_encoding", d.accept_encoding),
            accept_language: s("options_accept_language", d.accept_language),
            supported: s("options_support", d.supported),
            // Kamailio takes the first character; an empty value keeps `*`.
            separator: p
                .str("siputils", "contact_flds_separator")
                .and_then(|v| v.bytes().next())
                .unwrap_or(d.separator),
        })
    }
}

/// `options_reply()`: to an OPTIONS whose R-URI has no user, a 200 with
/// `Accept`, `Accept-Encoding`, `Accept-Language` and `Supported` (the
/// `options_*` parameters; sent through tm when there is a transaction,
/// as sl's `send_reply`); -1 for another method or an R-URI with a user.
pub fn options_reply(ctx: &mut Ctx<'_>) -> i32 {
    use crate::sip::Method;
    if !matches!(ctx.msg.method(), Some(Method::Options)) {
        return -1;
    }
    match Uri::parse(ctx.ruri()) {
        Ok(u) if u.user.is_none_or(<[u8]>::is_empty) => {}
        _ => return -1,
    }
    let cfg = super::Modules::of(ctx).siputils.clone();
    let mut h = Vec::with_capacity(80);
    for (name, v) in [
        (&b"Accept: "[..], &cfg.accept),
        (b"Accept-Encoding: ", &cfg.accept_encoding),
        (b"Accept-Language: ", &cfg.accept_language),
        (b"Supported: ", &cfg.supported),
    ] {
        h.extend_from_slice(name);
        h.extend_from_slice(v);
        h.extend_from_slice(b"\r\n");
    }
    ctx.reply_lumps.extend_from_slice(&h);
    if super::sl::send_reply(ctx, 200, b"OK") == -1 {
        return -1;
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::{msg, run};

    fn req(ruri: &str, to: &str, vias: &[&str]) -> Vec<u8> {
        let start = format!("INVITE {ruri} SIP/2.0");
        let to = format!("To: {to}");
        let mut lines: Vec<&str> = vec![&start];
        lines.extend_from_slice(vias);
        lines.extend_from_slice(&[
            "From: <sip:alice@127.0.0.1>;tag=a",
            &to,
            "Call-ID: c@x",
            "CSeq: 1 INVITE",
            "Content-Length: 0",
        ]);
        msg(&lines)
    }

    const VIA: &str = "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1";

    #[test]
    fn totag() {
        let (rc, _) = run(&req("sip:b@x", "<sip:b@x>;tag=t1", &[VIA]), |c| {
            has_totag(c)
        });
        assert_eq!(rc, 1);
        let (rc, _) = run(&req("sip:b@x", "<sip:b@x>", &[VIA]), |c| has_totag(c));
        assert_eq!(rc, -1);
        let (rc, _) = run(&req("sip:b@x", "<sip:b@x>;tag=", &[VIA]), |c| has_totag(c));
        assert_eq!(rc, -1);
    }

    #[test]
    fn first_hop_counts_via_entries() {
        let (rc, _) = run(&req("sip:b@x", "<sip:b@x>", &[VIA]), |c| is_first_hop(c));
        assert_eq!(rc, 1);
        let two =
            "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-2, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-3";
        let (rc, _) = run(&req("sip:b@x", "<sip:b@x>", &[two]), |c| is_first_hop(c));
        assert_eq!(rc, -1);
        let (rc, _) = run(&req("sip:b@x", "<sip:b@x>", &[VIA, VIA]), |c| {
            is_first_hop(c)
        });
        assert_eq!(rc, -1);
    }

    #[test]
    fn first_hop_replies() {
        let reply = |rr: Option<&str>| {
            let mut l = vec![
                "SIP/2.0 200 OK",
                VIA,
                "From: <sip:a@x>;tag=a",
                "To: <sip:b@x>;tag=b",
                "Call-ID: c",
                "CSeq: 1 INVITE",
            ];
            if let Some(r) = rr {
                l.push(r);
            }
            l.push("Content-Length: 0");
            msg(&l)
        };
        let (rc, _) = run(&reply(None), |c| is_first_hop(c));
        assert_eq!(rc, 1);
        let (rc, _) = run(&reply(Some("Record-Route: <sip:127.0.0.1:5070;lr>")), |c| {
            is_first_hop(c)
        });
        assert_eq!(rc, 1);
        let (rc, _) = run(&reply(Some("Record-Route: <sip:10.9.9.9;lr>")), |c| {
            is_first_hop(c)
        });
        assert_eq!(rc, -1);
    }

    #[test]
    fn params() {
        let raw = req("sip:b@x;user=phone;lr;Foo=1", "<sip:b@x>", &[VIA]);
        let (rc, _) = run(&raw, |c| {
            (
                uri_param(c, b"lr"),
                uri_param(c, b"user"),
                uri_param_value(c, b"user", b"phone"),
                uri_param_value(c, b"user", b"Phone"),
                uri_param(c, b"foo"),
                uri_param_any(c, b"user"),
                uri_param_any(c, b"nope"),
            )
        });
        assert_eq!(rc, (1, -1, 1, -1, -1, 1, -1));
        // The current R-URI counts, not the received one.
        let (rc, _) = run(&raw, |c| {
            c.new_uri = Some(b"sip:b@y;transport=tcp".to_vec());
            (
                uri_param(c, b"lr"),
                uri_param_value(c, b"transport", b"tcp"),
            )
        });
        assert_eq!(rc, (-1, 1));
    }
}

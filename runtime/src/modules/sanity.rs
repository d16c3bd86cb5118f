//! sanity — request/reply sanity checks (kamailio-modules.md §6).
//!
//! Each check fails the way Kamailio 5.6.3's does: some send a stateless
//! reply through sl (never for ACK, never for replies), some fail
//! silently. The first failing check ends the run.

use crate::engine::Ctx;
use crate::engine::params::{ModParams, ParamError};
use crate::sip::{HeaderName, Method, NameAddr, StartLine, Uri};

use super::sl;

/// `msg_checks` bits.
pub mod check {
    pub const RURI_SIP_VERSION: i32 = 1;
    pub const RURI_SCHEME: i32 = 2;
    pub const REQUIRED_HEADERS: i32 = 4;
    pub const VIA_SIP_VERSION: i32 = 8;
    pub const VIA_PROTOCOL: i32 = 16;
    pub const CSEQ_METHOD: i32 = 32;
    pub const CSEQ_VALUE: i32 = 64;
    pub const CL: i32 = 128;
    pub const EXPIRES_VALUE: i32 = 256;
    pub const PROXY_REQUIRE: i32 = 512;
    pub const PARSE_URIS: i32 = 1024;
    pub const DIGEST: i32 = 2048;
    pub const DUPTAGS: i32 = 4096;
    pub const AUTHORIZATION: i32 = 8192;
    pub const VIA1_HEADER: i32 = 16384;
}

/// `uri_checks` bits.
pub mod uri_check {
    pub const RURI: i32 = 1;
    pub const FROM: i32 = 2;
    pub const TO: i32 = 4;
    pub const CONTACT: i32 = 8;
}

/// The module's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub default_checks: i32,
    pub uri_checks: i32,
    /// `proxy_require`: the extensions we support (comma-separated).
    pub proxy_require: Vec<Vec<u8>>,
    /// `autodrop`: a failed check returns 0 (stops the script).
    pub autodrop: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_checks: 3047,
            uri_checks: 7,
            proxy_require: Vec::new(),
            autodrop: true,
        }
    }
}

impl Config {
    /// Reads `modparam("sanity", ...)`.
    ///
    /// # Errors
    /// A non-numeric value (`noreply` is refused at build:
    /// `cfgc_vocab::MODULES`).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let d = Self::default();
        Ok(Self {
            default_checks: p
                .int("sanity", "default_checks")?
                .unwrap_or(d.default_checks),
            uri_checks: p.int("sanity", "uri_checks")?.unwrap_or(d.uri_checks),
            proxy_require: p
                .str("sanity", "proxy_require")
                .map(|s| {
                    s.split(',')
                        .map(|t| t.trim().as_bytes().to_vec())
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            autodrop: p.int("sanity", "autodrop")?.map_or(d.autodrop, |v| v != 0),
        })
    }
}

/// Why a check failed: the reply it sends, if any.
struct Fail {
    reply: Option<(u16, &'static str)>,
    extra: Vec<u8>,
}

fn fail(code: u16, reason: &'static str) -> Fail {
    Fail {
        reply: Some((code, reason)),
        extra: Vec::new(),
    }
}

fn silent() -> Fail {
    Fail {
        reply: None,
        extra: Vec::new(),
    }
}

type Check = Result<(), Fail>;

/// Kamailio's `str2valid_uint`: 1..10 digits, at most 4294967295 (an
/// empty string is valid and 0).
/// Kamailio's `str2valid_uint`: at most ten digits, compared digit by
/// digit with `"4294967296"`, so 2^32 itself passes (live Kamailio 5.6
/// accepts `CSeq: 4294967296` and `Expires: 4294967296`; see
/// `tests/malformed`), 2^32 + 1 does not.
fn valid_uint(s: &[u8]) -> bool {
    s.len() <= 10 && s.iter().all(u8::is_ascii_digit) && {
        let n = s.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        n <= u64::from(u32::MAX) + 1
    }
}

fn ruri_version(ctx: &Ctx<'_>) -> Check {
    let StartLine::Request { version, .. } = *ctx.msg.start_line() else {
        return Ok(());
    };
    let v = ctx.msg.slice(version);
    let Some(slash) = v.iter().position(|&b| b == b'/') else {
        return Err(silent());
    };
    if &v[slash + 1..] == b"2.0" {
        Ok(())
    } else {
        Err(fail(505, "Version Not Supported (R-URI)"))
    }
}

/// Schemes Kamailio's URI parser knows besides the ones ours parses.
fn other_known_scheme(uri: &[u8]) -> bool {
    let scheme = uri.split(|&b| b == b':').next().unwrap_or_default();
    scheme.eq_ignore_ascii_case(b"tels") || scheme.eq_ignore_ascii_case(b"urn")
}

fn ruri_parses(ctx: &Ctx<'_>) -> Check {
    let uri = ctx.ruri();
    if Uri::parse(uri).is_ok() || other_known_scheme(uri) {
        Ok(())
    } else {
        Err(fail(400, "Bad Request URI"))
    }
}

fn required_headers(ctx: &Ctx<'_>) -> Check {
    let msg = ctx.msg;
    for name in [
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ] {
        let n = msg.headers().iter().filter(|h| h.name == name).count();
        if n != 1 {
            return Err(silent());
        }
    }
    // Kamailio's parser reads To (and CSeq) as it meets them, From and
    // Call-ID only when asked: a From it cannot parse passes here and
    // fails in the URI checks (400 Invalid From Header, tests/malformed
    // 071).
    if msg.to().is_err() {
        return Err(fail(400, "Bad Headers"));
    }
    Ok(())
}

fn via1(ctx: &Ctx<'_>) -> Check {
    match ctx.msg.via_top() {
        Ok(v) if !v.host.is_empty() => Ok(()),
        _ => Err(silent()),
    }
}

/// The CSeq number and method as written.
fn cseq_parts<'a>(ctx: &Ctx<'a>) -> Option<(&'a [u8], &'a [u8])> {
    let v = ctx.msg.header(HeaderName::CSeq)?.trim_ascii();
    let split = v
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(v.len());
    Some((&v[..split], v[split..].trim_ascii()))
}

fn cseq_method(ctx: &Ctx<'_>) -> Check {
    let Some((_, method)) = cseq_parts(ctx) else {
        return Err(silent());
    };
    if method.is_empty() {
        return Err(fail(400, "Missing method in CSeq header"));
    }
    let req = ctx.msg.method().map(|m| m.as_bytes()).unwrap_or_default();
    if method == req {
        Ok(())
    } else {
        Err(fail(400, "CSeq method does not match request method"))
    }
}

fn cseq_value(ctx: &Ctx<'_>) -> Check {
    let Some((num, _)) = cseq_parts(ctx) else {
        return Err(silent());
    };
    if num.is_empty() {
        Err(fail(400, "Missing number in CSeq header"))
    } else if !valid_uint(num) {
        Err(fail(400, "CSeq number is illegal"))
    } else {
        Ok(())
    }
}

fn content_length(ctx: &Ctx<'_>) -> Check {
    let Some(v) = ctx.msg.header(HeaderName::ContentLength) else {
        return Ok(());
    };
    let v = v.trim_ascii();
    if v.is_empty() || !valid_uint(v) {
        return Err(fail(400, "Content-Length Failure"));
    }
    let declared = v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    // Kamailio compares with what was received after the headers (the
    // whole datagram's rest), not with the body cut at Content-Length: a
    // UDP request with more bytes than declared fails (tests/malformed).
    let start = ctx.msg.body_span().start as usize;
    let received = ctx.msg.buffer().len().saturating_sub(start);
    if declared == received as u64 {
        Ok(())
    } else {
        Err(fail(400, "Content-Length mis-match"))
    }
}

fn expires(ctx: &Ctx<'_>) -> Check {
    let Some(v) = ctx.msg.header(HeaderName::Expires) else {
        return Ok(());
    };
    let v = v.trim_ascii();
    if v.is_empty() {
        return Err(fail(400, "Missing number in Expires header"));
    }
    // Not a number (`abc`, `-1`, `3.5`) and too large are one failure to
    // Kamailio: its Expires parser leaves the value invalid.
    if valid_uint(v) {
        Ok(())
    } else {
        Err(fail(400, "Expires value is illegal"))
    }
}

fn proxy_require(ctx: &Ctx<'_>) -> Check {
    let supported = &super::Modules::of(ctx).sanity.proxy_require;
    for h in ctx
        .msg
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::ProxyRequire)
    {
        let v = ctx.msg.slice(h.value()).trim_ascii();
        if v.is_empty() {
            return Err(fail(400, "Bad Proxy Require Header"));
        }
        for token in v.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            if !supported.iter().any(|s| s.as_slice() == token) {
                let mut extra = b"Unsupported: ".to_vec();
                extra.extend_from_slice(token);
                extra.extend_from_slice(b"\r\n");
                return Err(Fail {
                    reply: Some((420, "Bad Proxy Require Extension")),
                    extra,
                });
            }
        }
    }
    Ok(())
}

fn parse_uris(ctx: &Ctx<'_>, uri_checks: i32) -> Check {
    let msg = ctx.msg;
    if uri_checks & uri_check::RURI != 0 && msg.is_request() {
        ruri_parses(ctx)?;
    }
    let name_addr_ok = |name: HeaderName, reason: &'static str| -> Check {
        let Some(v) = msg.header(name) else {
            return Err(silent());
        };
        match NameAddr::parse(v) {
            Some(na) if na.uri().is_ok() || other_known_scheme(na.uri_raw) => Ok(()),
            _ => Err(fail(400, reason)),
        }
    };
    if uri_checks & uri_check::FROM != 0 {
        name_addr_ok(HeaderName::From, "Invalid From Header")?;
    }
    if uri_checks & uri_check::TO != 0 {
        name_addr_ok(HeaderName::To, "Ivalid To Header")?;
    }
    if uri_checks & uri_check::CONTACT != 0
        && msg.header(HeaderName::Contact).is_some()
        && !msg.contact_is_star()
    {
        match msg.contacts().next() {
            Some(Ok(na)) => {
                if na.uri().is_err() && !other_known_scheme(na.uri_raw) {
                    return Err(fail(400, "Bad Contact URI"));
                }
            }
            _ => return Err(fail(400, "Bad Contact Header")),
        }
    }
    Ok(())
}

/// Digest credentials complete (`only_digest`: other schemes fail).
fn digest(ctx: &Ctx<'_>, only_digest: bool) -> Check {
    let msg = ctx.msg;
    for h in msg
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::Authorization || h.name == HeaderName::ProxyAuthorization)
    {
        let Some(c) = crate::sip::typed::Credentials::parse(msg.slice(h.value())) else {
            return Err(fail(400, "Bad Auth Header"));
        };
        if !c.is_digest() {
            if only_digest {
                return Err(fail(400, "Bad Auth Header"));
            }
            return Ok(());
        }
        if c.param(b"username").is_none_or(<[u8]>::is_empty) {
            return Err(fail(400, "Auth Empty User"));
        }
        if c.param(b"nonce").is_none_or(<[u8]>::is_empty) {
            return Err(fail(400, "Auth Empty Nonce"));
        }
        if c.param(b"response").is_none_or(<[u8]>::is_empty) {
            return Err(fail(400, "Auth Empty Response"));
        }
    }
    Ok(())
}

fn duptags(ctx: &Ctx<'_>) -> Check {
    let count = |name: HeaderName| {
        ctx.msg
            .header(name)
            .and_then(NameAddr::parse)
            .map_or(0, |na| {
                na.params
                    .iter()
                    .filter(|p| p.name.eq_ignore_ascii_case(b"tag"))
                    .count()
            })
    };
    if count(HeaderName::From) > 1 {
        return Err(fail(400, "Many From Tag Params"));
    }
    if count(HeaderName::To) > 1 {
        return Err(fail(400, "Many To Tag Params"));
    }
    Ok(())
}

fn run_checks(ctx: &Ctx<'_>, checks: i32, uri_checks: i32) -> Check {
    let req = ctx.msg.is_request();
    let on = |bit: i32| checks & bit != 0;
    if req && on(check::RURI_SIP_VERSION) {
        ruri_version(ctx)?;
    }
    if req && on(check::RURI_SCHEME) {
        ruri_parses(ctx)?;
    }
    if on(check::REQUIRED_HEADERS) {
        required_headers(ctx)?;
    }
    if on(check::VIA1_HEADER) {
        via1(ctx)?;
    }
    // VIA_SIP_VERSION and VIA_PROTOCOL are no-ops in Kamailio.
    if req && on(check::CSEQ_METHOD) {
        cseq_method(ctx)?;
    }
    if on(check::CSEQ_VALUE) {
        cseq_value(ctx)?;
    }
    if on(check::CL) {
        content_length(ctx)?;
    }
    if on(check::EXPIRES_VALUE) {
        expires(ctx)?;
    }
    if req && on(check::PROXY_REQUIRE) {
        proxy_require(ctx)?;
    }
    if on(check::PARSE_URIS) {
        parse_uris(ctx, uri_checks)?;
    }
    if on(check::DIGEST) {
        digest(ctx, false)?;
    }
    if on(check::AUTHORIZATION) {
        digest(ctx, true)?;
    }
    if on(check::DUPTAGS) {
        duptags(ctx)?;
    }
    Ok(())
}

/// `sanity_check()` with the module's `default_checks` and `uri_checks`.
pub fn sanity_check(ctx: &mut Ctx<'_>) -> i32 {
    let (c, u) = (
        super::Modules::of(ctx).sanity.default_checks,
        super::Modules::of(ctx).sanity.uri_checks,
    );
    sanity_check_uri(ctx, c, u)
}

/// `sanity_check(msg_checks)`.
pub fn sanity_check_msg(ctx: &mut Ctx<'_>, checks: i32) -> i32 {
    let u = super::Modules::of(ctx).sanity.uri_checks;
    sanity_check_uri(ctx, checks, u)
}

/// `sanity_check(msg_checks, uri_checks)`: 1 when every selected check
/// passes; on a failure the check's reply (if any) is sent and the result
/// is 0 with `autodrop` (the script stops) or -1 without; -1 also for
/// masks out of range (1..32767, 1..15).
pub fn sanity_check_uri(ctx: &mut Ctx<'_>, checks: i32, uri_checks: i32) -> i32 {
    if !(1..32768).contains(&checks) || !(1..16).contains(&uri_checks) {
        return -1;
    }
    match run_checks(ctx, checks, uri_checks) {
        Ok(()) => 1,
        Err(f) => {
            if let Some((code, reason)) = f.reply
                && ctx.msg.is_request()
                && !matches!(ctx.msg.method(), Some(Method::Ack))
            {
                sl::send_local_reply(ctx, code, reason.as_bytes(), &f.extra);
            }
            if super::Modules::of(ctx).sanity.autodrop {
                0
            } else {
                -1
            }
        }
    }
}

impl crate::engine::module::Module for Config {
    const NAME: &'static str = "sanity";

    fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        Config::from_params(p)
    }
}

#[cfg(test)]
mod tests;

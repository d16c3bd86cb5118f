//! Keyword conditions (`method == ...`, `uri == myself`, `src_ip == net`,
//! ...; kamailio-cfg-language.md §5.5) and run-time regex matching.

use std::net::IpAddr;

pub use cfgc_vocab::{BinOp, IntOf, IpOf, UriOf};

use crate::sip::Uri;
use crate::transport::Proto;

use super::ctx::Ctx;
use super::value::Value;

/// The method of a request, or of the CSeq of a reply.
pub fn method<'c>(ctx: &'c Ctx<'_>) -> &'c [u8] {
    match ctx.msg.method() {
        Some(m) => m.as_bytes(),
        None => ctx.msg.cseq().map_or(&b""[..], |c| c.method.as_bytes()),
    }
}

/// `method == x`: case-insensitive.
pub fn method_eq(ctx: &Ctx<'_>, m: &[u8]) -> bool {
    method(ctx).eq_ignore_ascii_case(m)
}

/// The text of a URI a condition reads (empty if absent).
pub fn uri_text<'c>(ctx: &'c Ctx<'_>, of: UriOf) -> &'c [u8] {
    match of {
        UriOf::Request => {
            if ctx.msg.is_request() {
                ctx.ruri()
            } else {
                // A reply's status code, read through the same first-line
                // slot as Kamailio's (`status`, an alias of `uri`).
                let buf = ctx.msg.buffer();
                buf.iter()
                    .position(|&b| b == b' ')
                    .and_then(|i| buf.get(i + 1..i + 4))
                    .unwrap_or(b"")
            }
        }
        UriOf::From => ctx.msg.from().map_or(&b""[..], |f| f.uri_raw),
        UriOf::To => ctx.msg.to().map_or(&b""[..], |t| t.uri_raw),
    }
}

/// `uri == x`: case-insensitive string comparison.
pub fn uri_eq(ctx: &Ctx<'_>, of: UriOf, s: &[u8]) -> bool {
    uri_text(ctx, of).eq_ignore_ascii_case(s)
}

/// `uri == myself`: host and port (default 5060, 5061 for sips) are a
/// listen address or alias. No host (tel:) is false.
pub fn uri_is_myself(ctx: &Ctx<'_>, of: UriOf) -> bool {
    let Ok(u) = Uri::parse(uri_text(ctx, of)) else {
        return false;
    };
    if u.host.is_empty() {
        return false;
    }
    let default = if u.scheme == crate::sip::Scheme::Sips {
        5061
    } else {
        5060
    };
    ctx.is_myself(u.host, Some(u.port.unwrap_or(default)))
}

fn ip_of(ctx: &Ctx<'_>, of: IpOf) -> IpAddr {
    match of {
        IpOf::Src => ctx.rcv.src.ip(),
        IpOf::Dst => ctx.rcv.local.ip(),
    }
}

/// `src_ip == 10.0.0.0/8`, `dst_ip == ...`.
pub fn ip_in_net(ctx: &Ctx<'_>, of: IpOf, net: &str, bits: u8) -> bool {
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (ip_of(ctx, of), net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = u32::from(bits.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = u32::from(bits.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `src_ip == myself`.
pub fn ip_is_myself(ctx: &Ctx<'_>, of: IpOf) -> bool {
    let ip = ip_of(ctx, of);
    ctx.core.myself.has_ip(ip) || ctx.modules.is_myself(ip.to_string().as_bytes())
}

/// `src_port`, `dst_port`, `msg:len`, `af` compared with `op` (the
/// compiler passes only comparison operators; the others compare `==`).
#[inline]
pub fn int_cmp(ctx: &Ctx<'_>, of: IntOf, op: BinOp, r: i32) -> bool {
    let l = int_of(ctx, of);
    match op {
        BinOp::IntNe | BinOp::Ne => l != r,
        BinOp::Lt => l < r,
        BinOp::Gt => l > r,
        BinOp::Le => l <= r,
        BinOp::Ge => l >= r,
        _ => l == r,
    }
}

/// The number a keyword condition reads.
pub fn int_of(ctx: &Ctx<'_>, of: IntOf) -> i32 {
    match of {
        IntOf::SrcPort => i32::from(ctx.rcv.src.port()),
        IntOf::DstPort => i32::from(ctx.rcv.local.port()),
        IntOf::MsgLen => i32::try_from(ctx.msg.as_bytes().len()).unwrap_or(i32::MAX),
        IntOf::Af => {
            if ctx.rcv.src.is_ipv4() {
                2
            } else {
                10
            }
        }
    }
}

/// `proto == udp`.
pub fn proto_is(ctx: &Ctx<'_>, p: &str) -> bool {
    Proto::from_name(p) == Some(ctx.rcv.proto)
}

/// `a =~ b` with a regex only known at run time (Kamailio compiles it on
/// every evaluation; ours are kept per worker, see [`icase_match`]); an
/// invalid regex does not match.
pub fn regex_match(subject: &Value<'_>, re: &Value<'_>) -> bool {
    icase_match(&re.to_bytes(), &subject.to_bytes()) == Some(true)
}

/// Whether the case-insensitive regex `re` (the text as the script gave
/// it) matches `subject`; `None` when `re` is no valid regex. Compiled
/// regexes are kept per worker thread (up to 256 texts, then the cache
/// starts afresh), so a constant pattern a function receives on every
/// call (`check_route_param("nat=yes")`, `t_check_status("3[0-9]+")`) is
/// compiled once, as Kamailio's fixups compile it once at start-up.
pub fn icase_match(re: &[u8], subject: &[u8]) -> Option<bool> {
    use std::collections::HashMap;
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<Vec<u8>, Option<regex::bytes::Regex>>> =
            std::cell::RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if !c.contains_key(re) {
            if c.len() >= 256 {
                c.clear();
            }
            let compiled = std::str::from_utf8(re).ok().and_then(|t| {
                regex::bytes::RegexBuilder::new(t)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .ok()
            });
            c.insert(re.to_vec(), compiled);
        }
        c.get(re)
            .and_then(Option::as_ref)
            .map(|r| r.is_match(subject))
    })
}

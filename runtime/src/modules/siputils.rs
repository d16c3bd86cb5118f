//! siputils — message tests (kamailio-modules.md §7).

use crate::engine::Ctx;
use crate::sip::{HeaderName, Uri};

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

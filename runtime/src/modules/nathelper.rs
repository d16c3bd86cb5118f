//! nathelper — NAT detection (Kamailio 5.6's nathelper, `nathelper.c`):
//! `nat_uac_test(flags)` with every test bit of 5.6, and
//! `is_rfc1918(address)`.
//!
//! Private ranges are 5.6's (`nh_nets_1918`): 10/8, 172.16/12,
//! 192.168/16, 100.64/10 (RFC 6598), 192.0.0/29 (RFC 7335), and with
//! `nat_addr_mode` 1 (the default, the only value accepted) 192.0.0/24.
//! Addresses are read as `inet_aton` reads them (`10.1` is 10.0.0.1,
//! octal and hex parts), so an IPv6 address or a host name is never
//! private.
//!
//! Not here yet (refused at build): the contact and SDP rewriting
//! functions (`fix_nated_contact`, `fix_nated_register`, `fix_nated_sdp`,
//! the alias functions, `add_rcv_param`), NAT pinging and its
//! parameters.

use std::net::IpAddr;

use crate::engine::Ctx;
use crate::sip::Uri;
use crate::sip::Via;

const NAT_UAC_TEST_C_1918: i32 = 0x01;
const NAT_UAC_TEST_RCVD: i32 = 0x02;
const NAT_UAC_TEST_V_1918: i32 = 0x04;
const NAT_UAC_TEST_S_1918: i32 = 0x08;
const NAT_UAC_TEST_RPORT: i32 = 0x10;
const NAT_UAC_TEST_O_1918: i32 = 0x20;
/// Arrived over WebSocket: the runtime has no WebSocket transport yet,
/// so this test never holds.
#[allow(dead_code)]
const NAT_UAC_TEST_WS: i32 = 0x40;
const NAT_UAC_TEST_C_PORT: i32 = 0x80;
const NAT_UAC_TEST_SDP_CLINE: i32 = 0x100;
const NAT_UAC_TEST_DEST: i32 = 0x200;

const SIP_PORT: u16 = 5060;
const SIPS_PORT: u16 = 5061;

/// `nh_nets_1918` and, with `nat_addr_mode` 1, `nh_nets_extra`: network,
/// prefix length.
const PRIVATE: &[(u32, u32)] = &[
    (0x0a00_0000, 8),
    (0xac10_0000, 12),
    (0xc0a8_0000, 16),
    (0x6440_0000, 10),
    (0xc000_0000, 29),
    (0xc000_0000, 24),
];

fn private_v4(a: u32) -> bool {
    PRIVATE
        .iter()
        .any(|&(net, len)| a & (u32::MAX << (32 - len)) == net)
}

/// glibc's `inet_aton`: one to four parts, each decimal, octal (`0`
/// prefix) or hex (`0x`), the last filling the remaining bytes.
fn inet_aton(s: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(s).ok()?;
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(4);
    for p in &parts {
        let v = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        vals.push(v);
    }
    let (last, head) = vals.split_last()?;
    let mut addr: u64 = 0;
    for (i, &v) in head.iter().enumerate() {
        if v > 0xff {
            return None;
        }
        addr |= v << (24 - 8 * i);
    }
    let room = 32 - 8 * head.len();
    if room < 64 && *last >= 1u64 << room {
        return None;
    }
    u32::try_from(addr | last).ok()
}

/// `is1918addr`: `Some(true)` private, `Some(false)` public, `None` not
/// an IPv4 address.
fn is1918(host: &[u8]) -> Option<bool> {
    inet_aton(host).map(private_v4)
}

/// `is_rfc1918(address)`: 1 when it is a private IPv4 address, else -1.
pub fn is_rfc1918(_ctx: &Ctx<'_>, address: &[u8]) -> i32 {
    if is1918(address) == Some(true) { 1 } else { -1 }
}

/// `nat_uac_test(flags)`: 1 when any test of `flags` holds, else -1
/// (Kamailio's order; a test that cannot be made does not hold).
pub fn nat_uac_test(ctx: &Ctx<'_>, flags: i32) -> i32 {
    let msg = ctx.msg;
    let via = msg.via_top().ok();
    let src = ctx.rcv.src;
    let test = |bit: i32| flags & bit != 0;
    let hit = (test(NAT_UAC_TEST_RPORT)
        && via
            .as_ref()
            .is_some_and(|v| src.port() != v.port.unwrap_or(SIP_PORT)))
        || (test(NAT_UAC_TEST_RCVD) && via.as_ref().is_some_and(|v| !same_host(v.host, src.ip())))
        || (test(NAT_UAC_TEST_C_1918)
            && contact_uri(ctx).is_some_and(|u| is1918(u.host) == Some(true)))
        || (test(NAT_UAC_TEST_S_1918) && sdp_1918(ctx))
        || (test(NAT_UAC_TEST_V_1918)
            && via.as_ref().is_some_and(|v| is1918(v.host) == Some(true)))
        || (test(NAT_UAC_TEST_O_1918) && matches!(src.ip(), IpAddr::V4(a) if private_v4(a.into())))
        || (test(NAT_UAC_TEST_C_PORT)
            && contact_uri(ctx).is_some_and(|u| src.port() != u.port.unwrap_or(SIP_PORT)))
        || (test(NAT_UAC_TEST_SDP_CLINE) && sdp_cline_differs(ctx))
        || (test(NAT_UAC_TEST_DEST) && destination_differs(ctx));
    if hit { 1 } else { -1 }
}

/// Kamailio's `check_via_address` without DNS (`received_dns` 0): the
/// sent-by host is an IP address equal to the source one.
fn same_host(host: &[u8], src: IpAddr) -> bool {
    parse_ip(host).is_some_and(|ip| ip == src)
}

fn parse_ip(host: &[u8]) -> Option<IpAddr> {
    let h = match host {
        [b'[', inner @ .., b']'] => inner,
        h => h,
    };
    std::str::from_utf8(h).ok()?.parse().ok()
}

/// The first Contact's URI, when it parses with a host
/// (`get_contact_uri`).
fn contact_uri<'m>(ctx: &Ctx<'m>) -> Option<Uri<'m>> {
    if ctx.msg.contact_is_star() {
        return None;
    }
    let c = ctx.msg.contacts().next()?.ok()?;
    Uri::parse(c.uri_raw).ok().filter(|u| !u.host.is_empty())
}

/// An SDP body's connection addresses: the session's, and each media
/// stream's own (`None` where the stream has none).
struct Sdp<'b> {
    session: Option<(&'b [u8], &'b [u8])>,
    streams: Vec<Option<(&'b [u8], &'b [u8])>>,
}

/// The body as SDP, when the message says it is `application/sdp`
/// (Kamailio's `parse_sdp`; a multipart body is not looked into here).
fn sdp<'b>(ctx: &Ctx<'b>) -> Option<Sdp<'b>> {
    let ct = ctx.msg.content_type().ok()??;
    if !ct.mtype.eq_ignore_ascii_case(b"application") || !ct.subtype.eq_ignore_ascii_case(b"sdp") {
        return None;
    }
    let mut s = Sdp {
        session: None,
        streams: Vec::new(),
    };
    for line in ctx.msg.body().split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"m=") {
            s.streams.push(None);
        } else if let Some(c) = line.strip_prefix(b"c=") {
            // `c=IN IP4 192.0.2.1[/ttl]`
            let mut f = c.split(|&b| b == b' ').filter(|f| !f.is_empty());
            let (_net, pf, addr) = (f.next(), f.next(), f.next());
            if let (Some(pf), Some(addr)) = (pf, addr) {
                let addr = addr.split(|&b| b == b'/').next().unwrap_or(addr);
                match s.streams.last_mut() {
                    Some(st) => *st = Some((pf, addr)),
                    None => s.session = Some((pf, addr)),
                }
            }
        }
    }
    Some(s)
}

/// `isnulladdr` for IPv4 (`0.0.0.0`).
fn is_null_v4(addr: &[u8]) -> bool {
    addr == b"0.0.0.0"
}

/// `sdp_1918`: each stream's address (its own, else the session's) in
/// turn until one is not IPv4 or is `0.0.0.0`: whether one is private.
fn sdp_1918(ctx: &Ctx<'_>) -> bool {
    let Some(s) = sdp(ctx) else {
        return false;
    };
    for st in &s.streams {
        let Some((pf, addr)) = st.or(s.session) else {
            break;
        };
        if !pf.eq_ignore_ascii_case(b"IP4") || is_null_v4(addr) {
            break;
        }
        if is1918(addr) == Some(true) {
            return true;
        }
    }
    false
}

/// `test_sdp_cline`: the session's connection address differs from the
/// source address (false without one, or if it does not parse).
fn sdp_cline_differs(ctx: &Ctx<'_>) -> bool {
    let Some((_, addr)) = sdp(ctx).and_then(|s| s.session) else {
        return false;
    };
    parse_ip(addr).is_some_and(|ip| ip != ctx.rcv.src.ip())
}

/// `GET_SIP_PORT`: the port, or the transport's default.
fn sip_port(port: Option<u16>, tls: bool) -> u16 {
    port.unwrap_or(if tls { SIPS_PORT } else { SIP_PORT })
}

fn is_ws(transport: Option<&[u8]>) -> bool {
    transport.is_some_and(|t| t.eq_ignore_ascii_case(b"ws") || t.eq_ignore_ascii_case(b"wss"))
}

fn uri_tls(u: &Uri<'_>) -> bool {
    u.transport()
        .is_some_and(|t| t.eq_ignore_ascii_case(b"tls"))
}

/// `nh_test_destination`: a request goes somewhere other than its
/// R-URI (`$du` with another host or port, or a WebSocket target); a
/// reply goes back to an address other than the second Via's sent-by.
fn destination_differs(ctx: &Ctx<'_>) -> bool {
    let msg = ctx.msg;
    if !msg.is_request() {
        let Some(Ok(v2)) = msg.vias().nth(1) else {
            return false;
        };
        return via2_differs(&v2);
    }
    let Ok(ruri) = Uri::parse(ctx.ruri()) else {
        return false;
    };
    let Some(du) = &ctx.dst_uri else {
        return is_ws(ruri.transport());
    };
    let Ok(du) = Uri::parse(du) else {
        return false;
    };
    if is_ws(du.transport()) {
        return true;
    }
    if sip_port(du.port, uri_tls(&du)) != sip_port(ruri.port, uri_tls(&ruri)) {
        return true;
    }
    hosts_differ(du.host, ruri.host)
}

fn via2_differs(v: &Via<'_>) -> bool {
    if is_ws(Some(v.transport)) {
        return true;
    }
    let dport = match v.rport {
        Some(Some(p)) if !p.is_empty() => match std::str::from_utf8(p)
            .ok()
            .and_then(|p| p.parse::<i64>().ok())
        {
            Some(p) => p,
            None => return false,
        },
        _ => 0,
    };
    if dport != 0 && dport != i64::from(sip_port(v.port, v.transport.eq_ignore_ascii_case(b"tls")))
    {
        return true;
    }
    match v.received {
        Some(r) if !r.is_empty() => hosts_differ(r, v.host),
        _ => false,
    }
}

/// Two hosts compared as `nh_test_destination` does: as addresses when
/// both are IPs, as bytes when neither is, different otherwise.
fn hosts_differ(d: &[u8], r: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    match (parse_ip(d), parse_ip(r)) {
        (None, None) => !r.is_empty() && d != r,
        (Some(a), Some(b)) => a != b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_as_glibc() {
        assert_eq!(inet_aton(b"10.1.2.3"), Some(0x0a01_0203));
        assert_eq!(inet_aton(b"10.1"), Some(0x0a00_0001));
        assert_eq!(inet_aton(b"0x0a.010.0.1"), Some(0x0a08_0001));
        assert_eq!(inet_aton(b"167772161"), Some(0x0a00_0001));
        assert_eq!(inet_aton(b"256.1.1.1"), None);
        assert_eq!(inet_aton(b"host.example"), None);
        assert_eq!(inet_aton(b"::1"), None);
        assert_eq!(inet_aton(b"1.2.3.4.5"), None);
    }

    #[test]
    fn private_ranges_of_5_6() {
        for a in [
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.7",
            "192.0.0.200",
        ] {
            assert_eq!(is1918(a.as_bytes()), Some(true), "{a}");
        }
        for a in [
            "172.32.0.1",
            "100.128.0.1",
            "192.0.1.1",
            "8.8.8.8",
            "127.0.0.1",
        ] {
            assert_eq!(is1918(a.as_bytes()), Some(false), "{a}");
        }
    }
}

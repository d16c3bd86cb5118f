//! nathelper — NAT traversal helpers (Kamailio 5.6's nathelper,
//! `nathelper.c`): `nat_uac_test(flags)` with every test bit of 5.6,
//! `is_rfc1918(address)`, and the Contact and R-URI rewriting that
//! carries the client's public address: `fix_nated_contact()`,
//! `set_contact_alias()`, `add_contact_alias()`, `handle_ruri_alias([mode])`.
//!
//! The Contact is edited as Kamailio's lumps edit it: the first Contact's
//! URI is replaced (or, for `add_contact_alias`, text is inserted), once
//! per message: a second rewrite of the same Contact is -1, as Kamailio
//! refuses it ("you can't update contact twice").
//!
//! Private ranges are 5.6's (`nh_nets_1918`): 10/8, 172.16/12,
//! 192.168/16, 100.64/10 (RFC 6598), 192.0.0/29 (RFC 7335), and with
//! `nat_addr_mode` 1 (the default, the only value accepted) 192.0.0/24.
//! Addresses are read as `inet_aton` reads them (`10.1` is 10.0.0.1,
//! octal and hex parts), so an IPv6 address or a host name is never
//! private.
//!
//! `fix_nated_register()` puts the source as a URI (`sip:ip:port`, with
//! `;transport=` but for UDP) into `received_avp`, where registrar's
//! `save` finds it (does nothing without `received_avp`, as Kamailio).
//!
//! Not here yet (refused at build): `fix_nated_sdp`, `add_rcv_param`, `set_contact_alias`
//! with its trim argument, the `add_contact_alias` of three arguments,
//! `set_alias_to_pv`, NAT pinging and its parameters.

use std::net::IpAddr;

use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::pv;
use crate::engine::value::Value;
use crate::sip::Uri;
use crate::sip::Via;
use crate::sip::sdp::Sdp;
use crate::transport::Proto;

/// The module's parameters, and the NAT pinger's state.
#[derive(Debug, Default)]
pub struct Config {
    /// `received_avp`: where `fix_nated_register` puts the source URI.
    received_avp: Option<cfgc_vocab::PvRef>,
    /// The pinger; `None` without `natping_interval`.
    pinger: Option<Pinger>,
}

/// NAT keepalives (`natping_interval` > 0): every second, one
/// `natping_interval`-th of usrloc's hash slots (times
/// `natping_processes`) has its contacts pinged, as Kamailio's
/// `nh_timer`: a SIP request (`sipping_method`, From `sipping_from`) to
/// the contacts with `sipping_bflag` (to every contact when
/// `ping_nated_only` is 0), four zero bytes over UDP to the others;
/// only contacts with usrloc's `nat_bflag` when `ping_nated_only`.
#[derive(Debug)]
struct Pinger {
    interval: u32,
    processes: u32,
    /// usrloc's `nat_bflag` as a mask, when `ping_nated_only`.
    nat_only: u32,
    /// `sipping_bflag` as a mask (0: none).
    sipping_flag: u32,
    ping_nated_only: bool,
    sipping_from: Vec<u8>,
    sipping_method: Vec<u8>,
    /// usrloc's hash slots (`1 << hash_size`).
    slots: u32,
    /// The fixed part of the pings' Call-IDs (random hex).
    callid: Vec<u8>,
    state: std::sync::Mutex<PingState>,
}

#[derive(Debug)]
struct PingState {
    /// When the next one-second round is due (set by the first timer).
    next: Option<std::time::Instant>,
    start: Option<std::time::Instant>,
    iteration: u32,
    fromtag: u32,
    callid_cnt: u32,
    rand: u64,
}

impl PingState {
    /// A small xorshift generator (no security need: tags and branches).
    fn rand(&mut self) -> u32 {
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rand = x;
        (x >> 16) as u32
    }
}

/// `int2reverse_hex`: hex digits, lowest first, `0` for zero.
fn reverse_hex(out: &mut Vec<u8>, mut n: u32) {
    if n == 0 {
        out.push(b'0');
        return;
    }
    while n != 0 {
        out.push(b"0123456789abcdef"[(n & 0xf) as usize]);
        n >>= 4;
    }
}

impl Config {
    /// Reads `modparam("nathelper", ...)` (and usrloc's `nat_bflag` and
    /// `hash_size`, which the pinger uses).
    ///
    /// # Errors
    /// A `received_avp` that is not an AVP; with `natping_interval`:
    /// `ping_nated_only` without usrloc's `nat_bflag`, a negative
    /// `natping_processes`, `sipping_bflag` without `sipping_from` (each
    /// refuses Kamailio's start too).
    pub fn from_params(
        p: &crate::engine::params::ModParams,
    ) -> Result<Self, crate::engine::params::ParamError> {
        use crate::engine::params::ParamError;
        let m = "nathelper";
        let received_avp = super::avp_param(p, m, "received_avp")?;
        let interval = p.int(m, "natping_interval")?.unwrap_or(0);
        // Every parameter is read (and checked for a number) whether or
        // not the pinger runs.
        let ping_nated_only = p.int(m, "ping_nated_only")?.unwrap_or(0) != 0;
        let nat_bflag = p.int("usrloc", "nat_bflag")?.unwrap_or(-1);
        let processes = p.int(m, "natping_processes")?.unwrap_or(1);
        let sipping_bflag = p.int(m, "sipping_bflag")?.unwrap_or(-1);
        let sipping_from = p.str(m, "sipping_from").unwrap_or_default().into_bytes();
        let sipping_method = p
            .str(m, "sipping_method")
            .unwrap_or_else(|| "OPTIONS".to_string())
            .into_bytes();
        let hash_size = p.int("usrloc", "hash_size")?.unwrap_or(10);
        let pinger = if interval > 0 {
            let mask = |f: i32| {
                u32::try_from(f)
                    .ok()
                    .filter(|f| *f < 32)
                    .map_or(0, |f| 1u32 << f)
            };
            if ping_nated_only && mask(nat_bflag) == 0 {
                return Err(ParamError::invalid(
                    m,
                    "ping_nated_only",
                    "ping_nated_only enabled, but no nat bflag set in usrloc module",
                ));
            }
            let processes = u32::try_from(processes).map_err(|_| {
                ParamError::invalid(m, "natping_processes", "natping_processes must be >= 0")
            })?;
            let sipping_flag = mask(sipping_bflag);
            if sipping_flag != 0 && sipping_from.is_empty() {
                return Err(ParamError::invalid(
                    m,
                    "sipping_from",
                    "SIP ping enabled, but SIP ping FROM is empty",
                ));
            }
            if sipping_flag != 0 && sipping_method.is_empty() {
                return Err(ParamError::invalid(
                    m,
                    "sipping_method",
                    "SIP ping enabled, but SIP ping method is empty",
                ));
            }
            let slots = if hash_size <= 1 {
                512
            } else {
                1u32.checked_shl(hash_size.cast_unsigned())
                    .unwrap_or(1 << 31)
            };
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id()).rotate_left(32)
                | 1;
            let mut state = PingState {
                next: None,
                start: None,
                iteration: 0,
                fromtag: 0,
                callid_cnt: 0,
                rand: seed,
            };
            let mut callid = Vec::new();
            reverse_hex(&mut callid, state.rand());
            state.fromtag = state.rand();
            state.callid_cnt = state.rand();
            Some(Pinger {
                interval: u32::try_from(interval).unwrap_or(u32::MAX),
                processes,
                nat_only: if ping_nated_only { mask(nat_bflag) } else { 0 },
                sipping_flag,
                ping_nated_only,
                sipping_from,
                sipping_method,
                slots,
                callid,
                state: std::sync::Mutex::new(state),
            })
        } else {
            None
        };
        Ok(Self {
            received_avp,
            pinger,
        })
    }

    /// The pinger's round: due every second.
    pub(crate) fn ping(
        &self,
        usrloc: &super::usrloc::Usrloc,
        now: std::time::Instant,
        out: &mut Vec<crate::transport::Transmit>,
    ) {
        let Some(p) = &self.pinger else {
            return;
        };
        let mut st = p
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let second = std::time::Duration::from_secs(1);
        let start = *st.start.get_or_insert(now);
        let mut next = *st.next.get_or_insert(now + second);
        while now >= next {
            let ticks =
                u32::try_from(next.saturating_duration_since(start).as_secs()).unwrap_or(u32::MAX);
            let part_max = p.processes.saturating_mul(p.interval);
            if part_max > 0 {
                for idx in 0..p.processes {
                    let part_idx = idx * p.interval + st.iteration;
                    p.round(usrloc, part_idx, part_max, ticks, &mut st, out);
                }
            }
            st.iteration += 1;
            if st.iteration == p.interval {
                st.iteration = 0;
            }
            next += second;
        }
        st.next = Some(next);
    }
}

impl Pinger {
    /// One timer process's round: the contacts of the hash slots in its
    /// part.
    fn round(
        &self,
        usrloc: &super::usrloc::Usrloc,
        part_idx: u32,
        part_max: u32,
        ticks: u32,
        st: &mut PingState,
        out: &mut Vec<crate::transport::Transmit>,
    ) {
        for (_, records) in usrloc.store.dump() {
            for (aor, contacts) in records {
                let hash = super::cfgutils::hash32(&aor);
                let slot = hash & (self.slots - 1);
                if slot % part_max != part_idx {
                    continue;
                }
                for c in contacts {
                    if c.uri.is_empty() || c.cflags & self.nat_only != self.nat_only {
                        continue;
                    }
                    if let Some(t) = self.ping_one(&c, hash, ticks, st) {
                        out.push(t);
                    }
                }
            }
        }
    }

    /// The ping of one contact, if it can be sent (UDP, an address).
    fn ping_one(
        &self,
        c: &super::usrloc::Contact,
        aorhash: u32,
        ticks: u32,
        st: &mut PingState,
    ) -> Option<crate::transport::Transmit> {
        let sip = (c.cflags & self.sipping_flag) != 0
            || (!self.ping_nated_only && self.sipping_flag != 0);
        // To the first Path hop for a SIP ping, else received or contact.
        let path_dst = c
            .path
            .as_deref()
            .filter(|_| c.cflags & self.sipping_flag != 0)
            .and_then(|p| {
                let first = crate::sip::syntax::CommaSplit::new(p).next()?;
                crate::sip::NameAddr::parse(first).map(|na| na.uri_raw.to_vec())
            });
        let dst_uri = path_dst
            .or_else(|| c.received.clone())
            .unwrap_or_else(|| c.uri.clone());
        let uri = Uri::parse(&dst_uri).ok()?;
        if uri
            .transport()
            .is_some_and(|t| !t.eq_ignore_ascii_case(b"udp"))
        {
            return None;
        }
        let port = uri.port.unwrap_or(SIP_PORT);
        let host = std::str::from_utf8(uri.host_unbracketed()).ok()?;
        let dst = match host.parse::<IpAddr>() {
            Ok(ip) => std::net::SocketAddr::new(ip, port),
            Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                .ok()?
                .next()?,
        };
        // The socket the contact registered through.
        let local = c.socket.as_deref().and_then(|s| {
            let s = std::str::from_utf8(s).ok()?;
            s.strip_prefix("udp:")?.parse::<std::net::SocketAddr>().ok()
        });
        let data = if sip && self.sipping_flag != 0 {
            self.sipping(c, aorhash, ticks, st, local?)
        } else {
            vec![0u8; 4]
        };
        Some(crate::transport::Transmit {
            proto: Proto::Udp,
            dst,
            local,
            conn: None,
            data,
            no_connect: false,
        })
    }

    /// Kamailio's `build_sipping`.
    fn sipping(
        &self,
        c: &super::usrloc::Contact,
        aorhash: u32,
        ticks: u32,
        st: &mut PingState,
        local: std::net::SocketAddr,
    ) -> Vec<u8> {
        let addr = match local.ip() {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        let mut m = Vec::with_capacity(400);
        m.extend_from_slice(&self.sipping_method);
        m.push(b' ');
        m.extend_from_slice(&c.uri);
        m.extend_from_slice(b" SIP/2.0\r\nVia: SIP/2.0/UDP ");
        m.extend_from_slice(addr.as_bytes());
        m.push(b':');
        m.extend_from_slice(local.port().to_string().as_bytes());
        m.extend_from_slice(b";branch=z9hG4bK");
        let branch = 1_000_000 + st.rand() % 9_000_000;
        m.extend_from_slice(branch.to_string().as_bytes());
        if let Some(p) = c.path.as_deref().filter(|p| !p.is_empty()) {
            m.extend_from_slice(b"\r\nRoute: ");
            m.extend_from_slice(p);
        }
        m.extend_from_slice(b"\r\nFrom: ");
        m.extend_from_slice(&self.sipping_from);
        m.extend_from_slice(b";tag=");
        m.extend_from_slice(&c.ruid);
        m.push(b'-');
        reverse_hex(&mut m, aorhash);
        m.push(b'-');
        reverse_hex(&mut m, st.fromtag);
        st.fromtag = st.fromtag.wrapping_add(1);
        m.extend_from_slice(b"\r\nTo: ");
        m.extend_from_slice(&c.uri);
        m.extend_from_slice(b"\r\nCall-ID: ");
        m.extend_from_slice(&self.callid);
        m.push(b'-');
        reverse_hex(&mut m, st.callid_cnt);
        st.callid_cnt = st.callid_cnt.wrapping_add(1);
        m.push(b'-');
        reverse_hex(&mut m, ticks);
        m.push(b'@');
        m.extend_from_slice(local.ip().to_string().as_bytes());
        m.extend_from_slice(b"\r\nCSeq: 1 ");
        m.extend_from_slice(&self.sipping_method);
        m.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
        m
    }

    /// `sipping_rpl_filter`: a reply to one of the pings (one Via, the
    /// ping's method in CSeq, the pings' Call-ID prefix).
    fn is_ping_reply(&self, msg: &crate::sip::Message<'_>) -> bool {
        if self.sipping_flag == 0 || msg.is_request() || msg.vias().nth(1).is_some() {
            return false;
        }
        let method_ok = msg
            .cseq()
            .is_ok_and(|c| c.method.as_bytes() == self.sipping_method.as_slice());
        let callid_ok = msg.call_id().is_ok_and(|id| {
            id.len() > self.callid.len() + 1
                && id.starts_with(&self.callid)
                && id[self.callid.len()] == b'-'
        });
        method_ok && callid_ok
    }
}

impl crate::engine::module::Module for Config {
    const NAME: &'static str = "nathelper";

    fn from_params(
        p: &crate::engine::params::ModParams,
    ) -> Result<Self, crate::engine::params::ParamError> {
        Config::from_params(p)
    }

    fn tick(&self) -> Option<std::time::Duration> {
        self.pinger
            .as_ref()
            .map(|_| std::time::Duration::from_secs(1))
    }

    /// A reply to a SIP ping goes no further (Kamailio's module response
    /// function, after the reply route).
    fn on_reply_in(&self, ctx: &mut Ctx<'_>) {
        if self
            .pinger
            .as_ref()
            .is_some_and(|p| p.is_ping_reply(ctx.msg))
        {
            ctx.reply_absorbed = true;
        }
    }
}

/// The source address as a SIP URI (Kamailio's `get_src_uri` in its
/// short form: no `transport` for UDP).
fn src_uri(ctx: &Ctx<'_>) -> Vec<u8> {
    let mut u = b"sip:".to_vec();
    u.extend_from_slice(&src_host(ctx));
    u.push(b':');
    u.extend_from_slice(ctx.rcv.src.port().to_string().as_bytes());
    if ctx.rcv.proto != Proto::Udp {
        u.extend_from_slice(b";transport=");
        u.extend_from_slice(ctx.rcv.proto.as_str().as_bytes());
    }
    u
}

/// `fix_nated_register()`: the source URI added to `received_avp`; 1
/// (also when there is no `received_avp`: nothing to do).
pub fn fix_nated_register(ctx: &mut Ctx<'_>) -> i32 {
    let Some(avp) = super::Modules::of(ctx).nathelper.received_avp.clone() else {
        return 1;
    };
    let uri = src_uri(ctx);
    pv::assign(ctx, &avp, Value::string(uri));
    1
}

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

/// `isnulladdr` for IPv4 (`0.0.0.0`).
fn is_null_v4(addr: &[u8]) -> bool {
    addr == b"0.0.0.0"
}

/// `sdp_1918`: each stream's address (its own, else the session's) in
/// turn until one is not IPv4 or is `0.0.0.0`: whether one is private.
fn sdp_1918(ctx: &Ctx<'_>) -> bool {
    let Ok(s) = Sdp::of(ctx.msg) else {
        return false;
    };
    for st in &s.streams {
        let Some((pf, addr)) = st.connection.or(s.connection) else {
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
    let Some((_, addr)) = Sdp::of(ctx.msg).ok().and_then(|s| s.connection) else {
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

/// `;alias=` as Kamailio writes it (`_ksr_contact_salias`).
const ALIAS: &[u8] = b";alias=";

/// Kamailio's protocol numbers (`PROTO_UDP` ...), as the alias carries
/// them.
fn proto_digit(p: Proto) -> u8 {
    match p {
        Proto::Udp => b'1',
        Proto::Tcp => b'2',
    }
}

/// The source address as `ip_addr2a` prints it, bracketed for IPv6 where
/// Kamailio brackets it.
fn src_host(ctx: &Ctx<'_>) -> Vec<u8> {
    match ctx.rcv.src.ip() {
        IpAddr::V4(a) => a.to_string().into_bytes(),
        IpAddr::V6(a) => format!("[{a}]").into_bytes(),
    }
}

/// The first Contact's URI with where it is in the message, when it
/// parses with a host.
fn contact_span<'m>(ctx: &Ctx<'m>) -> Option<(Uri<'m>, usize)> {
    if ctx.msg.contact_is_star() {
        return None;
    }
    let c = ctx.msg.contacts().next()?.ok()?;
    let uri = Uri::parse(c.uri_raw).ok().filter(|u| !u.host.is_empty())?;
    let at = ctx.msg.offset_of(c.uri_raw)?;
    Some((uri, at))
}

/// Whether the Contact URI at `at` was rewritten already (Kamailio's
/// check that the parsed Contact still points into the message).
fn contact_edited(ctx: &Ctx<'_>, at: usize) -> bool {
    ctx.headers
        .iter()
        .any(|op| matches!(op, HeaderOp::Note(NOTE, n) if n == &at.to_le_bytes()))
}

const NOTE: &str = "nathelper-contact";

/// Records the rewrite of the Contact URI at `at` (the edit itself, and
/// a note that it was made).
fn edit_contact(ctx: &mut Ctx<'_>, at: usize, ops: Vec<HeaderOp>) {
    ctx.headers.extend(ops);
    ctx.headers
        .push(HeaderOp::Note(NOTE, at.to_le_bytes().to_vec()));
}

/// Replaces the Contact URI of `len` bytes at `at` by `data`.
fn replace_contact_uri(ctx: &mut Ctx<'_>, at: usize, len: usize, data: Vec<u8>) {
    let op = HeaderOp::Replace {
        start: at,
        end: at + len,
        data,
    };
    edit_contact(ctx, at, vec![op]);
}

/// Where host\[:port\] ends in `uri` (an offset into `uri.raw`).
fn hostport_end(uri: &Uri<'_>) -> usize {
    let end = match uri.port_raw {
        Some(p) => p,
        None => uri.host,
    };
    end.as_ptr() as usize - uri.raw.as_ptr() as usize + end.len()
}

/// `fix_nated_contact()`: the first Contact's host:port becomes the
/// source address and port (a `maddr` parameter goes); 1, or -1 without
/// a usable Contact or when it was rewritten already.
pub fn fix_nated_contact(ctx: &mut Ctx<'_>) -> i32 {
    let Some((uri, at)) = contact_span(ctx) else {
        return -1;
    };
    if contact_edited(ctx, at) {
        return -1;
    }
    let raw = uri.raw;
    let host_start = uri.host.as_ptr() as usize - raw.as_ptr() as usize;
    let hp_end = hostport_end(&uri);
    let mut new = raw[..host_start].to_vec();
    new.extend_from_slice(&src_host(ctx));
    new.push(b':');
    new.extend_from_slice(ctx.rcv.src.port().to_string().as_bytes());
    let rest = &raw[hp_end..];
    match find_param(rest, b"maddr") {
        None => new.extend_from_slice(rest),
        Some((ps, pe)) => {
            let mut before = &rest[..ps];
            while let [head @ .., b' ' | b'\t' | b';'] = before {
                before = head;
            }
            new.extend_from_slice(before);
            new.extend_from_slice(&rest[pe..]);
        }
    }
    replace_contact_uri(ctx, at, raw.len(), new);
    1
}

/// Where the `name=value` parameter is in `params` (`;a=b;name=v;c`):
/// from `name` to the end of its value.
fn find_param(params: &[u8], name: &[u8]) -> Option<(usize, usize)> {
    let stop = params
        .iter()
        .position(|&b| b == b'?')
        .unwrap_or(params.len());
    let mut i = 0;
    while i < stop {
        if params[i] == b';' {
            let start = i + 1;
            let end = params[start..stop]
                .iter()
                .position(|&b| b == b';')
                .map_or(stop, |p| start + p);
            let p = &params[start..end];
            let pname = p.split(|&b| b == b'=').next().unwrap_or(p);
            if pname.eq_ignore_ascii_case(name) {
                return Some((start, end));
            }
            i = end;
        } else {
            i += 1;
        }
    }
    None
}

/// The alias value of the source: `ip~port~proto`.
fn alias_value(ctx: &Ctx<'_>) -> Vec<u8> {
    let mut v = src_host(ctx);
    v.push(b'~');
    v.extend_from_slice(ctx.rcv.src.port().to_string().as_bytes());
    v.push(b'~');
    v.push(proto_digit(ctx.rcv.proto));
    v
}

/// `set_contact_alias()`: `;alias=ip~port~proto` of the source appended
/// to the first Contact's URI (which gets `<>` if it had none); 1, or -1
/// without a usable Contact or when it was rewritten already.
pub fn set_contact_alias(ctx: &mut Ctx<'_>) -> i32 {
    let Some((uri, at)) = contact_span(ctx) else {
        return -1;
    };
    if contact_edited(ctx, at) {
        return -1;
    }
    let buf = ctx.msg.as_bytes();
    let bracketed = at > 0 && buf.get(at - 1) == Some(&b'<');
    let mut new = Vec::with_capacity(uri.raw.len() + 32);
    if !bracketed {
        new.push(b'<');
    }
    new.extend_from_slice(uri.raw);
    new.extend_from_slice(ALIAS);
    new.extend_from_slice(&alias_value(ctx));
    if !bracketed {
        new.push(b'>');
    }
    replace_contact_uri(ctx, at, uri.raw.len(), new);
    1
}

/// A URI's transport as Kamailio's protocol number (0 without one).
fn uri_proto(uri: &Uri<'_>) -> u8 {
    match uri.transport() {
        None => 0,
        Some(t) => [&b"udp"[..], b"tcp", b"tls", b"sctp", b"ws", b"wss"]
            .iter()
            .position(|p| t.eq_ignore_ascii_case(p))
            .map_or(0, |i| u8::try_from(i + 1).unwrap_or(0)),
    }
}

/// `add_contact_alias()`: `;alias=ip~port~proto` of the source inserted
/// after the first Contact URI's host\[:port\] (and `<`...`>` around
/// the URI when the Contact has no `<`), unless the URI's host is the
/// source address with its port and transport; 1 added, 2 nothing to
/// do (no Contact, or the same address), -1 without a usable Contact or
/// when it was rewritten already.
pub fn add_contact_alias(ctx: &mut Ctx<'_>) -> i32 {
    let Some(entry) = ctx.msg.header_entry(crate::sip::HeaderName::Contact) else {
        return 2;
    };
    let body = entry.value();
    let Some((uri, at)) = contact_span(ctx) else {
        return -1;
    };
    if let Some(ip) = parse_ip(uri.host) {
        let port_ok = uri.port == Some(ctx.rcv.src.port())
            || (uri.port_raw.is_none() && ctx.rcv.src.port() == SIP_PORT);
        if ip == ctx.rcv.src.ip() && port_ok && uri_proto(&uri) == proto_digit(ctx.rcv.proto) - b'0'
        {
            return 2;
        }
    }
    if contact_edited(ctx, at) {
        return -1;
    }
    let body_bytes = ctx.msg.slice(body);
    let bracket = body_bytes.contains(&b'<');
    let mut param = ALIAS.to_vec();
    param.extend_from_slice(&alias_value(ctx));
    let mut ops = Vec::new();
    if !bracket {
        param.push(b'>');
        let s = body.start as usize;
        ops.push(HeaderOp::Replace {
            start: s,
            end: s,
            data: b"<".to_vec(),
        });
    }
    let pos = at + hostport_end(&uri);
    ops.push(HeaderOp::Replace {
        start: pos,
        end: pos,
        data: param,
    });
    edit_contact(ctx, at, ops);
    1
}

/// `handle_ruri_alias()`: [`handle_ruri_alias_mode`] with mode 0.
pub fn handle_ruri_alias(ctx: &mut Ctx<'_>) -> i32 {
    handle_ruri_alias_mode(ctx, 0)
}

/// `handle_ruri_alias(mode)`: the R-URI's first (mode 0) or last `alias`
/// parameter becomes `$du` (`sip:ip:port`, with `;transport=` but for
/// UDP) and leaves the R-URI; 1 done, 2 no alias, -1 a malformed one.
/// 5.6.3's quirks are kept: with mode 1 the value's length comes from
/// where its parameter walk stopped (a single alias at the end of the
/// R-URI then fails), and a failure after the first `~` leaves a `:` in
/// its place in the R-URI (Kamailio writes it there before checking
/// the rest).
pub fn handle_ruri_alias_mode(ctx: &mut Ctx<'_>, mode: i32) -> i32 {
    let ruri = ctx.ruri().to_vec();
    let Ok(uri) = Uri::parse(&ruri) else {
        return -1;
    };
    // The URI's parameters: after host[:port], up to any headers.
    let hp_end = hostport_end(&uri);
    let params_end = ruri[hp_end..]
        .iter()
        .position(|&b| b == b'?')
        .map_or(ruri.len(), |p| hp_end + p);
    if params_end <= hp_end + 1 {
        return 2;
    }
    // Kamailio's `sip_params` start after the `;`; `rest`/`rest_len`
    // walk them as its loop does (for mode 1, `rest_len` is left where
    // the walk ended, not at the alias found: 5.6.3 then reads a value
    // shorter than the parameter, and usually fails).
    let alias = &ALIAS[1..];
    let mut rest = hp_end + 1;
    let mut rest_len = params_end - rest;
    let mut start = None;
    while rest_len > alias.len() + 4 {
        if ruri[rest..].starts_with(alias) {
            start = Some(rest);
            if mode == 0 {
                break;
            }
            rest += alias.len();
            rest_len -= alias.len();
        }
        match ruri[rest..rest + rest_len].iter().position(|&b| b == b';') {
            None => break,
            Some(p) => {
                rest_len -= p + 1;
                rest += p + 1;
            }
        }
    }
    let Some(start) = start else {
        return 2;
    };
    let val = start + alias.len();
    // An unsigned int in Kamailio: below zero it wraps to a huge length,
    // and the searches below then run to the end of the URI.
    let val_len = u32::try_from(rest_len)
        .unwrap_or(u32::MAX)
        .wrapping_sub(u32::try_from(alias.len()).unwrap_or(0)) as usize;
    let val_end = val.saturating_add(val_len).min(ruri.len());
    let Some(tilde1) = ruri[val..val_end].iter().position(|&b| b == b'~') else {
        return -1;
    };
    // Kamailio writes the `:` of `ip:port` over the first `~` in the
    // R-URI itself; when it fails after that, the R-URI keeps it.
    let mut marked = ruri.clone();
    marked[val + tilde1] = b':';
    let fail = |ctx: &mut Ctx<'_>| {
        pv::set_ru(ctx, &Value::str(&marked));
        -1
    };
    let port = val + tilde1 + 1;
    let Some(tilde2) = ruri[port..val_end].iter().position(|&b| b == b'~') else {
        return fail(ctx);
    };
    let trans = port + tilde2 + 1;
    let ip_port_len = trans - 1 - val;
    if ip_port_len + 2 > val_len || matches!(ruri.get(trans), Some(b';' | b'?')) {
        return fail(ctx);
    }
    let proto = ruri.get(trans).copied().unwrap_or(0).wrapping_sub(b'0');
    let mut du = b"sip:".to_vec();
    du.extend_from_slice(&ruri[val..port - 1]);
    du.push(b':');
    du.extend_from_slice(&ruri[port..trans - 1]);
    if proto != 1 {
        let name: &[u8] = match proto {
            2 => b"tcp",
            3 => b"tls",
            4 => b"sctp",
            5 => b"ws",
            6 => b"wss",
            _ => return fail(ctx),
        };
        du.extend_from_slice(b";transport=");
        du.extend_from_slice(name);
    }
    let next = trans + 1;
    if ip_port_len + 2 < val_len && !matches!(ruri.get(next), Some(b';' | b'?')) {
        return fail(ctx);
    }
    if pv::set_du(ctx, &Value::str(&du)) < 0 {
        return fail(ctx);
    }
    // The R-URI without `;alias=ip:port~n`.
    let alias_len = ALIAS.len() + ip_port_len + 2;
    let mut new = ruri[..start - 1].to_vec();
    new.extend_from_slice(&ruri[start - 1 + alias_len..]);
    pv::set_ru(ctx, &Value::str(&new))
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

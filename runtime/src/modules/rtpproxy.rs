//! rtpproxy — client of the rtpproxy media relay's text control protocol
//! (Kamailio 5.6's rtpproxy module, `rtpproxy.c`): `rtpproxy_manage`,
//! `rtpproxy_offer`, `rtpproxy_answer` (each with no argument, flags, or
//! flags and a media IP), `rtpproxy_destroy`/`unforce_rtp_proxy` (no
//! argument or flags) and `set_rtp_proxy_set(id)`.
//!
//! A command is one line after a cookie (`<pid>_<seq> `) sent over UDP
//! ([`super::media_relay`]); the reply carries the cookie. Every instance
//! is checked at start-up (as each Kamailio process does in child_init):
//! `V` must answer `20040107` and `VF 20050322` `1`; `VF 20071116`
//! (repacketization, the `z` flag's `Z`) and `VF 20081102` (payload type
//! lists, `c0,8,...`) are optional capabilities. An offer is `U`, an
//! answer (or the `l` flag) `L`, one command per `m=` line, shaped as
//! Kamailio shapes it: `U<modifiers>[Z..][c<pts>] <call-id>[;<branch>]
//! <ip> <port> <from-tag>;<n>[ <to-tag>;<n>[ <timeout_socket>]]`, tags
//! swapped for an offer in a reply and an answer in a request. The port
//! (and address) rtpproxy answers rewrite the body in place as Kamailio's
//! lumps do (`m=` port, `a=rtcp:`, the stream's or the session's `c=`,
//! the session's `o=`), then `nortpproxy_str` is appended; a body that
//! already carries it is left alone (-2) unless the `f` flag says so.
//! The new body is a [`HeaderOp::Body`], as rtpengine's. `D` deletes.
//!
//! Instances (`rtpproxy_sock`: `udp:HOST[:PORT]`, `udp6:HOST[:PORT]`,
//! several separated by blanks, each with an optional `=weight`, and
//! `N == ...` for set `N`; set 0 is the default, `set_rtp_proxy_set`
//! picks another for the message) are chosen as Kamailio chooses them:
//! a set of one is used as is, else by the Call-ID's byte sum among the
//! enabled ones. A command is sent `rtpproxy_retr` times, each waiting
//! `rtpproxy_tout` seconds; an instance that does not answer is disabled
//! for `rtpproxy_disable_tout` seconds and the next one is tried, until
//! none is left (-3 for offers and answers, -1 for deletes).
//!
//! Not here (refused at build): `unix:` instances, the database of
//! instances, `extra_id_pv` (so the `b` flag adds nothing, as in Kamailio
//! without it), `ice_candidate_priority_avp`, `rtp_inst_pvar`,
//! `start_recording`, the `rtpproxy_stream*` functions, `$rtpstat`. A
//! multipart body's SDP part is not looked into (the call is -1).
//! Differences kept on purpose: `z` repacketization is sent once per
//! stream (Kamailio 5.6.3 sends more bytes of its buffer on each stream
//! after the first, uninitialised memory); a set whose instances keep
//! failing with `rtpproxy_disable_tout` ≤ 0 gives up after
//! [`MAX_TRIES`] instead of looping for ever; `set_rtp_proxy_set` of a
//! PV converts its value to a number (Kamailio wants an integer value,
//! -1 for a string). A constant set that is not configured refuses the
//! start, as in Kamailio ([`Rtpproxy::check_set`], the compiler collects
//! the constants); one from a PV is -1.

pub mod sdp;

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::media_relay::{self, ExchangeError};
use super::{Modules, WorkerModules};
use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::log::Level;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::sip::Method;
use crate::tm::RouteKind;

const M: &str = "rtpproxy";

/// The note `rtpproxy_manage` leaves on an INVITE with SDP (Kamailio's
/// `FL_SDP_BODY`, on the transaction's request too).
const SDP_NOTE: &str = "rtpproxy:sdp";
/// The note `set_rtp_proxy_set` leaves: the set for this message.
const SET_NOTE: &str = "rtpproxy:set";

/// Kamailio's reply buffer.
const MAX_REPLY: usize = 256;
/// The protocol version rtpproxy must answer to `V`.
const SUP_CPROTOVER: i64 = 20040107;
const REQ_CPROTOVER: &str = "20050322";
const REP_CPROTOVER: &str = "20071116";
const PTL_CPROTOVER: &str = "20081102";
/// Instances tried for one command before giving up (Kamailio's loop
/// ends when no instance is left, or never with `rtpproxy_disable_tout`
/// ≤ 0).
pub const MAX_TRIES: usize = 30;

/// One rtpproxy instance.
#[derive(Debug)]
pub struct Node {
    /// As written (`udp:127.0.0.1:7722`).
    pub url: String,
    addr: SocketAddr,
    weight: u32,
    disabled: AtomicBool,
    /// Seconds since start-up when a disabled instance is tried again.
    recheck: AtomicI64,
    /// `VF 20071116` answered 1.
    rep_supported: AtomicBool,
    /// `VF 20081102` answered 1.
    ptl_supported: AtomicBool,
}

/// A set of instances (`N == ...`).
#[derive(Debug)]
struct Set {
    id: u32,
    /// Indices into [`Rtpproxy::nodes`].
    nodes: Vec<usize>,
}

/// The module: its instances and parameters, shared by the workers.
#[derive(Debug)]
pub struct Rtpproxy {
    nodes: Vec<Node>,
    sets: Vec<Set>,
    tout: Duration,
    retr: u32,
    disable_tout: i64,
    /// Without its trailing CR/LF; empty: no check, nothing appended.
    nortpproxy: Vec<u8>,
    timeout_socket: Vec<u8>,
    epoch: Instant,
}

impl Default for Rtpproxy {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            sets: Vec::new(),
            tout: Duration::from_secs(1),
            retr: 5,
            disable_tout: 60,
            nortpproxy: b"a=nortpproxy:yes".to_vec(),
            timeout_socket: Vec::new(),
            epoch: Instant::now(),
        }
    }
}

/// The per-worker state: a socket per instance.
#[derive(Debug, Default)]
pub struct Worker {
    socks: Vec<Option<UdpSocket>>,
}

/// The cookies' sequence number (Kamailio's is per process, with the pid
/// in the cookie; our workers are threads of one process, so it is
/// shared, and two commands never share a cookie).
static COOKIE_SEQ: AtomicU32 = AtomicU32::new(0);

impl Rtpproxy {
    /// The module from its parameters.
    ///
    /// # Errors
    /// A malformed set list or an instance that does not resolve
    /// (Kamailio refuses to start); a `unix:` instance (not supported).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let mut r = Self::default();
        if let Some(n) = p.int(M, "rtpproxy_tout")? {
            r.tout = Duration::from_secs(u64::try_from(n).unwrap_or(0));
        }
        if let Some(n) = p.int(M, "rtpproxy_retr")? {
            r.retr = u32::try_from(n).unwrap_or(0);
        }
        if let Some(n) = p.int(M, "rtpproxy_disable_tout")? {
            r.disable_tout = i64::from(n);
        }
        if let Some(s) = p.str(M, "nortpproxy_str") {
            let mut v = s.as_bytes().to_vec();
            while matches!(v.last(), Some(b'\r' | b'\n')) {
                v.pop();
            }
            r.nortpproxy = v;
        }
        if let Some(s) = p.str(M, "timeout_socket") {
            r.timeout_socket = s.as_bytes().to_vec();
        }
        let socks: Vec<String> = p
            .all(M, "rtpproxy_sock")
            .map(|v| match v {
                ParamValue::Str(s) => s.clone(),
                ParamValue::Int(n) => n.to_string(),
                ParamValue::PvList(_) => String::new(),
            })
            .collect();
        for s in socks {
            r.add_set(&s)?;
        }
        Ok(r)
    }

    /// `rtpproxy_add_rtpproxy_set`: `[N ==] url[=weight] ...`.
    fn add_set(&mut self, text: &str) -> Result<(), ParamError> {
        let bad = |why: &str| ParamError::invalid(M, "rtpproxy_sock", why.to_string());
        let text = text.trim_start();
        if text.is_empty() {
            return Ok(());
        }
        let (id, list) = match text.find("==") {
            Some(i) => {
                let list = &text[i + 2..];
                if list.is_empty() {
                    return Err(bad("invalid rtp proxy list"));
                }
                let name = text[..i].trim_end();
                if name.is_empty() {
                    return Err(bad("invalid set_id value"));
                }
                let id = name
                    .parse::<u32>()
                    .ok()
                    .filter(|_| name.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| bad(&format!("invalid set name '{name}' - must be integer")))?;
                (id, list)
            }
            None => (0, text),
        };
        if list.trim().is_empty() {
            return Err(bad("empty rtp_proxy list"));
        }
        let set = match self.sets.iter().position(|s| s.id == id) {
            Some(i) => i,
            None => {
                self.sets.push(Set {
                    id,
                    nodes: Vec::new(),
                });
                self.sets.len() - 1
            }
        };
        for word in list.split_ascii_whitespace() {
            let (url, weight) = match word.split_once('=') {
                Some((u, w)) => (u, media_relay::strtoul(w)),
                None => (word, 1),
            };
            let lower = url.to_ascii_lowercase();
            let (address, v6) = if lower.starts_with("udp:") {
                (&url[4..], false)
            } else if lower.starts_with("udp6:") {
                (&url[5..], true)
            } else {
                return Err(ParamError::unsupported(
                    M,
                    "rtpproxy_sock",
                    format!("the instance `{url}` (a unix socket; only udp: and udp6: are)"),
                ));
            };
            let addr = resolve(address, v6).ok_or_else(|| {
                ParamError::invalid(
                    M,
                    "rtpproxy_sock",
                    format!("the instance `{url}` does not resolve"),
                )
            })?;
            self.nodes.push(Node {
                url: url.to_string(),
                addr,
                weight,
                disabled: AtomicBool::new(false),
                recheck: AtomicI64::new(0),
                rep_supported: AtomicBool::new(false),
                ptl_supported: AtomicBool::new(false),
            });
            let idx = self.nodes.len() - 1;
            self.sets[set].nodes.push(idx);
        }
        Ok(())
    }

    /// `fixup_set_id` of a constant `set_rtp_proxy_set` argument.
    ///
    /// # Errors
    /// The set is not configured, or not a number (Kamailio refuses to
    /// start).
    pub fn check_set(&self, id: &str) -> Result<(), String> {
        match id.trim().parse::<i64>() {
            Ok(n) if self.sets.iter().any(|s| i64::from(s.id) == n) => Ok(()),
            Ok(n) => Err(format!("{M}: rtpp_proxy set {n} not configured")),
            Err(_) => Err(format!("{M}: bad number <{id}>")),
        }
    }

    /// The instances (for tests).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Seconds since start-up (Kamailio's ticks).
    fn ticks(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_secs()).unwrap_or(i64::MAX)
    }

    /// Checks every instance, as each Kamailio process does when it
    /// starts (`rtpp_test` with force).
    pub fn start(&self) {
        let mut w = self.worker();
        for i in 0..self.nodes.len() {
            let off = self.test(&mut w, i, false, true);
            self.nodes[i].disabled.store(off, Ordering::Relaxed);
        }
    }

    /// A worker's state.
    pub fn worker(&self) -> Worker {
        Worker {
            socks: (0..self.nodes.len()).map(|_| None).collect(),
        }
    }

    /// `send_rtpp_command`: the reply after the cookie, or `None` (the
    /// instance is then disabled for `rtpproxy_disable_tout`).
    fn send(&self, w: &mut Worker, i: usize, command: &[u8]) -> Option<Vec<u8>> {
        let node = &self.nodes[i];
        if w.socks.len() < self.nodes.len() {
            w.socks.resize_with(self.nodes.len(), || None);
        }
        if w.socks[i].is_none() {
            w.socks[i] = media_relay::connect(node.addr).ok();
        }
        let seq = COOKIE_SEQ.fetch_add(1, Ordering::Relaxed);
        let cookie = format!("{}_{} ", std::process::id(), seq);
        let got = match w.socks[i].as_ref() {
            Some(sock) => {
                media_relay::exchange(sock, &cookie, command, self.retr, self.tout, MAX_REPLY)
            }
            None => Err(ExchangeError::Send),
        };
        match got {
            Ok(r) => Some(r),
            Err(_) => {
                node.disabled.store(true, Ordering::Relaxed);
                node.recheck
                    .store(self.ticks() + self.disable_tout, Ordering::Relaxed);
                None
            }
        }
    }

    /// `rtpp_checkcap`: 1 supported, 0 not, -1 no answer.
    fn checkcap(&self, w: &mut Worker, i: usize, cap: &str) -> i32 {
        match self.send(w, i, format!("VF {cap}").as_bytes()) {
            None => -1,
            Some(r) if r.first() == Some(&b'E') || atoi(&r) != 1 => 0,
            Some(_) => 1,
        }
    }

    /// `rtpp_test`: whether the instance is (still) disabled.
    fn test(&self, w: &mut Worker, i: usize, disabled: bool, force: bool) -> bool {
        let node = &self.nodes[i];
        if !force {
            if !disabled {
                return false;
            }
            if node.recheck.load(Ordering::Relaxed) > self.ticks() {
                return true;
            }
        }
        let ok = match self.send(w, i, b"V") {
            Some(r) if atoi(&r) == SUP_CPROTOVER => self.checkcap(w, i, REQ_CPROTOVER) == 1,
            _ => false,
        };
        if !ok {
            if self.disable_tout >= 0 {
                node.recheck
                    .store(self.ticks() + self.disable_tout, Ordering::Relaxed);
            }
            return true;
        }
        let rep = self.checkcap(w, i, REP_CPROTOVER) == 1;
        node.rep_supported.store(rep, Ordering::Relaxed);
        let ptl = self.checkcap(w, i, PTL_CPROTOVER) == 1;
        node.ptl_supported.store(ptl, Ordering::Relaxed);
        false
    }

    /// `select_rtpp_node(callid, 1)` in set `set`.
    fn select(&self, w: &mut Worker, set: &Set, callid: &[u8]) -> Option<usize> {
        let disabled = |i: usize| self.nodes[i].disabled.load(Ordering::Relaxed);
        let set_disabled = |i: usize, v: bool| self.nodes[i].disabled.store(v, Ordering::Relaxed);
        if let [only] = set.nodes[..] {
            let n = &self.nodes[only];
            if disabled(only) && n.recheck.load(Ordering::Relaxed) <= self.ticks() {
                set_disabled(only, self.test(w, only, true, false));
            }
            return (!disabled(only)).then_some(only);
        }
        let sum = media_relay::callid_sum(callid);
        let mut forced = false;
        loop {
            let mut weight_sum = 0u32;
            for &i in &set.nodes {
                let n = &self.nodes[i];
                if disabled(i) && n.recheck.load(Ordering::Relaxed) <= self.ticks() {
                    set_disabled(i, self.test(w, i, true, false));
                }
                if !disabled(i) {
                    weight_sum = weight_sum.wrapping_add(n.weight);
                }
            }
            if weight_sum == 0 {
                if forced {
                    return None;
                }
                forced = true;
                for &i in &set.nodes {
                    set_disabled(i, self.test(w, i, true, true));
                }
                continue;
            }
            let mut cut = sum % weight_sum;
            let mut found = None;
            for &i in &set.nodes {
                if disabled(i) {
                    continue;
                }
                if cut < self.nodes[i].weight {
                    found = Some(i);
                    break;
                }
                cut -= self.nodes[i].weight;
            }
            // `rtpp_test` of an enabled instance without force keeps it.
            return found;
        }
    }

    /// The set for this message: `set_rtp_proxy_set`'s, else set 0.
    fn set_of(&self, ctx: &Ctx<'_>) -> Option<&Set> {
        let chosen = ctx.headers.iter().rev().find_map(|h| match h {
            HeaderOp::Note(SET_NOTE, id) => Some(atoi(id)),
            _ => None,
        });
        let id = chosen.unwrap_or(0);
        self.sets.iter().find(|s| i64::from(s.id) == id)
    }
}

/// `atoi`: optional blanks and sign, leading digits.
fn atoi(s: &[u8]) -> i64 {
    let s = s.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg { -n } else { n }
}

/// `HOST[:PORT]` (after the last colon; 22222 without one) to an address
/// of the family asked for (child_init's `getaddrinfo`).
fn resolve(address: &str, v6: bool) -> Option<SocketAddr> {
    let (host, port) = match address.rfind(':') {
        Some(i) if !address[i + 1..].is_empty() => (&address[..i], &address[i + 1..]),
        Some(i) => (&address[..i], "22222"),
        None => (address, "22222"),
    };
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host, port)
        .to_socket_addrs()
        .ok()?
        .find(|a| a.is_ipv6() == v6)
}

impl Module for Rtpproxy {
    const NAME: &'static str = "rtpproxy";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Rtpproxy::from_params(params)
    }
}

fn log(ctx: &Ctx<'_>, level: Level, text: &str) {
    if crate::engine::log::enabled(ctx, level) {
        let line = format!("{M}: {text}\n");
        ctx.core
            .log
            .write(level, &crate::engine::log::prefix(), line.as_bytes());
    }
}

fn worker<'w>(ctx: &'w mut Ctx<'_>) -> Option<&'w mut Worker> {
    crate::engine::module::worker_state::<WorkerModules>(ctx).map(|w| &mut w.rtpproxy)
}

/// The Call-ID (trimmed, not empty).
fn callid(ctx: &Ctx<'_>) -> Option<Vec<u8>> {
    ctx.msg
        .call_id()
        .ok()
        .map(|c| c.trim_ascii().to_vec())
        .filter(|c| !c.is_empty())
}

/// `get_via_branch(msg, n)`.
fn via_branch(ctx: &Ctx<'_>, n: usize) -> Option<Vec<u8>> {
    ctx.msg
        .vias()
        .nth(n - 1)
        .and_then(Result::ok)
        .and_then(|v| v.branch)
        .filter(|b| !b.is_empty())
        .map(<[u8]>::to_vec)
}

/// `unforce_rtp_proxy`: `D <call-id>[;<branch>] <from-tag>[ <to-tag>]`.
fn destroy(ctx: &mut Ctx<'_>, flags: Option<&[u8]>) -> i32 {
    let mut via = 0;
    let mut to = true;
    for &c in flags.unwrap_or_default() {
        match c {
            b'1' => via = 1,
            b'2' => via = 2,
            b'3' => via = if ctx.msg.is_request() { 1 } else { 2 },
            b't' | b'T' => to = false,
            // `b` needs extra_id_pv (refused); the offer/answer letters
            // rtpproxy_manage passes on are ignored.
            b'b' | b'a' | b'A' | b'i' | b'I' | b'e' | b'E' | b'l' | b'L' | b'f' | b'F' | b'r'
            | b'R' | b'c' | b'C' | b'o' | b'O' | b'x' | b'X' | b'w' | b'W' | b'z' | b'Z' => {}
            c => {
                log(ctx, Level::Err, &format!("unknown option `{}'", c as char));
                return -1;
            }
        }
    }
    let Some(callid) = callid(ctx) else {
        log(ctx, Level::Err, "can't get Call-Id field");
        return -1;
    };
    let to_tag = if to {
        match ctx.msg.to() {
            Ok(t) => t.tag.unwrap_or_default().to_vec(),
            Err(_) => {
                log(ctx, Level::Err, "can't get To tag");
                return -1;
            }
        }
    } else {
        Vec::new()
    };
    let Some(from_tag) = ctx
        .msg
        .from()
        .ok()
        .and_then(|f| f.tag)
        .filter(|t| !t.is_empty())
        .map(<[u8]>::to_vec)
    else {
        log(ctx, Level::Err, "can't get From tag");
        return -1;
    };
    let mut cmd = b"D ".to_vec();
    cmd.extend_from_slice(&callid);
    if via != 0 {
        let Some(b) = via_branch(ctx, via) else {
            log(ctx, Level::Err, "can't get Via branch");
            return -1;
        };
        cmd.push(b';');
        cmd.extend_from_slice(&b);
    }
    cmd.push(b' ');
    cmd.extend_from_slice(&from_tag);
    if !to_tag.is_empty() {
        cmd.push(b' ');
        cmd.extend_from_slice(&to_tag);
    }
    let r = &Modules::of(ctx).rtpproxy;
    let Some(set) = r.set_of(ctx) else {
        log(ctx, Level::Err, "script error -no valid set selected");
        log(ctx, Level::Err, "no available proxies");
        return -1;
    };
    let Some(w) = worker(ctx) else {
        return -1;
    };
    let Some(node) = r.select(w, set, &callid) else {
        log(ctx, Level::Err, "no available proxies");
        return -1;
    };
    // The answer is not looked at.
    let _ = r.send(w, node, &cmd);
    1
}

/// One edit of the body: replace `at` with `data`.
struct Edit {
    at: std::ops::Range<usize>,
    data: Vec<u8>,
}

/// `alter_mediaip`: the edit rewriting `old` (of family `old_v6`) to
/// `new` (of family `new_v6`), if any.
fn alter_ip(body: &[u8], old: &sdp::Addr, new: &[u8], new_v6: bool, edits: &mut Vec<Edit>) {
    let text = &body[old.at.clone()];
    if old.v6 == new_v6 && is_null_addr(text, old.v6) {
        return;
    }
    if text == new {
        return;
    }
    if old.v6 == new_v6 {
        edits.push(Edit {
            at: old.at.clone(),
            data: new.to_vec(),
        });
        return;
    }
    // The family changes: rewrite from the `4`/`6` of `IP4`/`IP6`.
    let mut from = old.at.start;
    while from > 0 {
        from -= 1;
        if matches!(body[from], b'4' | b'6') {
            break;
        }
    }
    let mut data = vec![if new_v6 { b'6' } else { b'4' }, b' '];
    data.extend_from_slice(new);
    edits.push(Edit {
        at: from..old.at.end,
        data,
    });
}

/// `isnulladdr`.
fn is_null_addr(a: &[u8], v6: bool) -> bool {
    if v6 {
        a.iter().all(|&c| c == b'0' || c == b':')
    } else {
        a == b"0.0.0.0"
    }
}

/// rtpproxy_manage's and extract_body's view of the body: the message's
/// body, `application/sdp` (or no Content-Type), without its trailing
/// CR/LF.
fn extract_body<'m>(ctx: &Ctx<'m>) -> Result<&'m [u8], &'static str> {
    let msg = ctx.msg;
    if msg.content_length().is_none() {
        return Err("failed to get the content length in message");
    }
    let body = msg.body();
    if body.is_empty() {
        return Err("message body has length zero");
    }
    match msg.content_type() {
        Ok(None) => {}
        Ok(Some(ct))
            if ct.mtype.eq_ignore_ascii_case(b"application")
                && ct.subtype.eq_ignore_ascii_case(b"sdp") => {}
        Ok(Some(ct))
            if ct.mtype.eq_ignore_ascii_case(b"multipart")
                && ct.subtype.eq_ignore_ascii_case(b"mixed") =>
        {
            return Err("a multipart body (not supported by this runtime)");
        }
        _ => return Err("content type mismatching"),
    }
    let mut end = body.len();
    while end > 0 && matches!(body[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    if end == 0 {
        return Err("empty body");
    }
    Ok(&body[..end])
}

/// `force_rtp_proxy`: `offer` (`U`) or answer (`L`); `ip` the media IP
/// argument (`forced`) or the local address the message came to.
fn force(ctx: &mut Ctx<'_>, flags: Option<&[u8]>, ip: &[u8], offer: bool, forced: bool) -> i32 {
    let mut opts: Vec<u8> = b"?".to_vec();
    let mut rep_opts: Vec<u8> = Vec::new();
    let (mut flookup, mut force, mut real, mut commip, mut bridge) =
        (false, false, false, false, false);
    let mut via = 0;
    let fl = flags.unwrap_or_default();
    let mut k = 0;
    while k < fl.len() {
        match fl[k] {
            b'1' => via = 1,
            b'2' => via = 2,
            b'3' => via = if ctx.msg.is_request() { 1 } else { 2 },
            b'a' | b'A' => {
                opts.push(b'A');
                real = true;
            }
            // Needs extra_id_pv (refused at build): nothing to add.
            b'b' => {}
            b'i' | b'I' => opts.push(b'I'),
            b'e' | b'E' => opts.push(b'E'),
            b'l' | b'L' => {
                if !offer {
                    return -1;
                }
                flookup = true;
            }
            b'f' | b'F' => force = true,
            b'r' | b'R' => real = true,
            b'c' | b'C' => commip = true,
            // o= is rewritten anyway.
            b'o' | b'O' => {}
            b'x' | b'X' => bridge = true,
            b'w' | b'W' => opts.push(b'S'),
            b'z' | b'Z' => {
                rep_opts.push(b'Z');
                while k + 1 < fl.len() && fl[k + 1].is_ascii_digit() {
                    rep_opts.push(fl[k + 1]);
                    k += 1;
                }
            }
            b't' | b'T' => {}
            c => {
                log(ctx, Level::Err, &format!("unknown option `{}'", c as char));
                return -1;
            }
        }
        k += 1;
    }
    let mut create = offer;
    let body = match extract_body(ctx) {
        Ok(b) => b,
        Err(e) => {
            log(ctx, Level::Err, e);
            log(ctx, Level::Err, "can't extract body from the message");
            return -1;
        }
    };
    let Some(callid) = callid(ctx) else {
        log(ctx, Level::Err, "can't get Call-Id field");
        return -1;
    };
    let Ok(to) = ctx.msg.to() else {
        log(ctx, Level::Err, "can't get To tag");
        return -1;
    };
    let mut to_tag = to.tag.unwrap_or_default().to_vec();
    let Some(mut from_tag) = ctx
        .msg
        .from()
        .ok()
        .and_then(|f| f.tag)
        .filter(|t| !t.is_empty())
        .map(<[u8]>::to_vec)
    else {
        log(ctx, Level::Err, "can't get From tag");
        return -1;
    };
    let mut branch = None;
    if via != 0 {
        let Some(b) = via_branch(ctx, via) else {
            log(ctx, Level::Err, "can't get Via branch");
            return -1;
        };
        branch = Some(b);
    }
    let is_request = ctx.msg.is_request();
    if flookup {
        if to_tag.is_empty() {
            return -1;
        }
        if is_request {
            std::mem::swap(&mut from_tag, &mut to_tag);
        }
        create = false;
    } else if (!is_request && offer) || (is_request && !offer) {
        if to_tag.is_empty() {
            return -1;
        }
        std::mem::swap(&mut from_tag, &mut to_tag);
    }
    let r = &Modules::of(ctx).rtpproxy;
    let proxied = !r.nortpproxy.is_empty() && {
        let pat = &r.nortpproxy[..];
        body.windows(pat.len())
            .enumerate()
            .any(|(i, w)| w == pat && i > 0 && matches!(body[i - 1], b'\n' | b'\r'))
    };
    if proxied && !force {
        return -2;
    }
    let sessions = match sdp::parse(body) {
        Ok(s) => s,
        Err(e) => {
            log(ctx, Level::Err, e);
            log(ctx, Level::Err, "Unable to parse sdp");
            return -1;
        }
    };
    if sessions.iter().all(|s| s.streams.is_empty()) {
        log(ctx, Level::Err, "sdp w/o streams");
        return -1;
    }
    opts[0] = if create { b'U' } else { b'L' };
    let src = ctx.rcv.src.ip();
    let src_text = src.to_string().into_bytes();
    let set = r.set_of(ctx);
    let mut edits: Vec<Edit> = Vec::new();
    let mut medianum = 0u32;
    let result = 'all: {
        for session in &sessions {
            let mut c1_altered = false;
            let mut origin_done = false;
            for stream in &session.streams {
                let (old_ip, pf6) = match (&stream.connection, &session.connection) {
                    (Some(c), _) | (None, Some(c)) => (c.clone(), c.v6),
                    (None, None) => break 'all -1,
                };
                let old_port = &body[stream.port.clone()];
                medianum += 1;
                let (mut new_ip, mut new_v6) = if real {
                    (body[old_ip.at.clone()].to_vec(), pf6)
                } else {
                    (src_text.clone(), src.is_ipv6())
                };
                if pf6 {
                    if bridge {
                        opts.extend_from_slice(b"EI");
                        bridge = false;
                    }
                    opts.push(b'6');
                } else if bridge {
                    opts.extend_from_slice(b"IE");
                    bridge = false;
                }
                let n = medianum.to_string();
                let mut tries = 0;
                let reply = loop {
                    tries += 1;
                    let picked = match (set, worker(ctx)) {
                        (Some(set), Some(w)) if tries <= MAX_TRIES => {
                            r.select(w, set, &callid).map(|i| (i, w))
                        }
                        _ => None,
                    };
                    let Some((node, w)) = picked else {
                        if set.is_none() {
                            log(ctx, Level::Err, "script error -no valid set selected");
                        }
                        log(ctx, Level::Err, "no available proxies");
                        break 'all -3;
                    };
                    let mut cmd = opts.clone();
                    if !rep_opts.is_empty() && r.nodes[node].rep_supported.load(Ordering::Relaxed) {
                        cmd.extend_from_slice(&rep_opts);
                    }
                    if stream.is_rtp
                        && !stream.payloads.is_empty()
                        && r.nodes[node].ptl_supported.load(Ordering::Relaxed)
                    {
                        cmd.push(b'c');
                        cmd.extend_from_slice(&payload_list(&body[stream.payloads.clone()]));
                    }
                    cmd.push(b' ');
                    cmd.extend_from_slice(&callid);
                    if let Some(b) = &branch {
                        cmd.push(b';');
                        cmd.extend_from_slice(b);
                    }
                    cmd.push(b' ');
                    cmd.extend_from_slice(&new_ip);
                    cmd.push(b' ');
                    cmd.extend_from_slice(old_port);
                    cmd.push(b' ');
                    cmd.extend_from_slice(&from_tag);
                    cmd.push(b';');
                    cmd.extend_from_slice(n.as_bytes());
                    if !to_tag.is_empty() {
                        cmd.push(b' ');
                        cmd.extend_from_slice(&to_tag);
                        cmd.push(b';');
                        cmd.extend_from_slice(n.as_bytes());
                        if cmd[0] == b'U' && !r.timeout_socket.is_empty() {
                            cmd.push(b' ');
                            cmd.extend_from_slice(&r.timeout_socket);
                        }
                    }
                    if let Some(reply) = r.send(w, node, &cmd) {
                        break reply;
                    }
                };
                let argv: Vec<&[u8]> = reply
                    .split(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                    .filter(|t| !t.is_empty())
                    .take(10)
                    .collect();
                let Some(first) = argv.first() else {
                    log(ctx, Level::Err, "no reply from rtp proxy");
                    break 'all -1;
                };
                let port = atoi(first);
                if port <= 0 || port > 65535 {
                    if port != 0 || !flookup {
                        log(
                            ctx,
                            Level::Err,
                            &format!("incorrect port {port} in reply from rtp proxy"),
                        );
                    }
                    break 'all -1;
                }
                if argv.len() == 2 {
                    new_v6 = false;
                } else if argv.len() >= 3 {
                    new_v6 = argv[2].first() == Some(&b'6');
                }
                if is_null_addr(&body[old_ip.at.clone()], pf6) {
                    new_ip = if new_v6 {
                        b"::".to_vec()
                    } else {
                        b"0.0.0.0".to_vec()
                    };
                } else if forced || argv.len() < 2 {
                    new_ip = ip.to_vec();
                } else {
                    new_ip = argv[1].to_vec();
                }
                let new_port = port.to_string().into_bytes();
                if old_port != b"0" && old_port != new_port.as_slice() {
                    edits.push(Edit {
                        at: stream.port.clone(),
                        data: new_port.clone(),
                    });
                }
                if let Some(rtcp) = &stream.rtcp
                    && !rtcp.is_empty()
                {
                    let new_rtcp = (port + 1).to_string().into_bytes();
                    if body[rtcp.clone()] != new_rtcp[..] {
                        edits.push(Edit {
                            at: rtcp.clone(),
                            data: new_rtcp,
                        });
                    }
                }
                if stream.connection.is_some() || !c1_altered {
                    alter_ip(body, &old_ip, &new_ip, new_v6, &mut edits);
                    if stream.connection.is_none() {
                        c1_altered = true;
                    }
                }
                if commip
                    && !c1_altered
                    && let Some(c1) = &session.connection
                {
                    alter_ip(body, c1, &new_ip, new_v6, &mut edits);
                    c1_altered = true;
                }
                if !origin_done {
                    alter_ip(body, &session.origin, &new_ip, new_v6, &mut edits);
                    origin_done = true;
                }
            }
        }
        1
    };
    let append = result == 1 && !proxied && !r.nortpproxy.is_empty();
    if !edits.is_empty() || append {
        let full = ctx.msg.body();
        let mut out = Vec::with_capacity(full.len() + 64);
        edits.sort_by_key(|e| e.at.start);
        let mut at = 0;
        for e in &edits {
            if e.at.start < at {
                // Two rewrites of the same bytes (Kamailio's lumps would
                // garble them); the first is kept.
                continue;
            }
            out.extend_from_slice(&full[at..e.at.start]);
            out.extend_from_slice(&e.data);
            at = e.at.end;
        }
        out.extend_from_slice(&full[at..body.len()]);
        if append {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&r.nortpproxy);
        }
        out.extend_from_slice(&full[body.len()..]);
        ctx.headers.retain(|h| !matches!(h, HeaderOp::Body(_)));
        ctx.headers.push(HeaderOp::Body(out));
    }
    result
}

/// The `m=` format list as rtpproxy's `c` modifier wants it: the digits,
/// each run of other characters one comma (none at the end).
fn payload_list(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        if p[i].is_ascii_digit() {
            out.push(p[i]);
            i += 1;
            continue;
        }
        while i < p.len() && !p[i].is_ascii_digit() {
            i += 1;
        }
        if i >= p.len() {
            break;
        }
        out.push(b',');
    }
    out
}

/// The local address the message came to (the default media IP).
fn local_ip(ctx: &Ctx<'_>) -> Vec<u8> {
    ctx.rcv.local.ip().to_string().into_bytes()
}

/// The body is SDP Kamailio's `parse_sdp` accepts.
fn has_sdp(ctx: &Ctx<'_>) -> bool {
    ctx.headers
        .iter()
        .any(|h| matches!(h, HeaderOp::Note(SDP_NOTE, _)))
        || (!ctx.msg.body().is_empty()
            && matches!(ctx.msg.content_type(), Ok(Some(ct))
                if ct.mtype.eq_ignore_ascii_case(b"application")
                    && ct.subtype.eq_ignore_ascii_case(b"sdp"))
            && sdp::parse(ctx.msg.body()).is_ok())
}

fn manage(ctx: &mut Ctx<'_>, flags: Option<&[u8]>, ip: Option<&[u8]>) -> i32 {
    let Ok(cseq) = ctx.msg.cseq() else {
        log(ctx, Level::Err, "no CSEQ header");
        return -1;
    };
    let method = cseq.method;
    if !matches!(
        method,
        Method::Invite
            | Method::Ack
            | Method::Cancel
            | Method::Bye
            | Method::Update
            | Method::Prack
    ) {
        return -1;
    }
    if matches!(method, Method::Cancel | Method::Bye) {
        return destroy(ctx, flags);
    }
    let forced = ip.is_some();
    let ip = ip.map_or_else(|| local_ip(ctx), <[u8]>::to_vec);
    let sdp = has_sdp(ctx);
    if ctx.msg.is_request() {
        if !sdp {
            return -1;
        }
        match method {
            Method::Ack => return force(ctx, flags, &ip, false, forced),
            Method::Prack | Method::Update => return force(ctx, flags, &ip, true, forced),
            Method::Invite => {
                media_relay::mark_sdp(ctx, SDP_NOTE);
                if ctx.tm.route == RouteKind::Failure {
                    return destroy(ctx, flags);
                }
                return force(ctx, flags, &ip, true, forced);
            }
            _ => {}
        }
    } else {
        if ctx.msg.status().unwrap_or(0) >= 300 {
            return destroy(ctx, flags);
        }
        if sdp {
            if matches!(method, Method::Prack | Method::Update) {
                return force(ctx, flags, &ip, false, forced);
            }
            let had_sdp = crate::tm::with_tx(ctx, |t, _| {
                t.headers
                    .iter()
                    .any(|h| matches!(h, HeaderOp::Note(SDP_NOTE, _)))
            });
            return match had_sdp {
                None | Some(true) => force(ctx, flags, &ip, false, forced),
                Some(false) => force(ctx, flags, &ip, true, forced),
            };
        }
    }
    -1
}

/// `rtpproxy_manage()`.
pub fn rtpproxy_manage(ctx: &mut Ctx<'_>) -> i32 {
    manage(ctx, None, None)
}

/// `rtpproxy_manage(flags)`.
pub fn rtpproxy_manage1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    manage(ctx, Some(flags), None)
}

/// `rtpproxy_manage(flags, ip)`.
pub fn rtpproxy_manage2(ctx: &mut Ctx<'_>, flags: &[u8], ip: &[u8]) -> i32 {
    manage(ctx, Some(flags), Some(ip))
}

/// `rtpproxy_offer()`.
pub fn rtpproxy_offer(ctx: &mut Ctx<'_>) -> i32 {
    let ip = local_ip(ctx);
    force(ctx, None, &ip, true, false)
}

/// `rtpproxy_offer(flags)`.
pub fn rtpproxy_offer1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    let ip = local_ip(ctx);
    force(ctx, Some(flags), &ip, true, false)
}

/// `rtpproxy_offer(flags, ip)`.
pub fn rtpproxy_offer2(ctx: &mut Ctx<'_>, flags: &[u8], ip: &[u8]) -> i32 {
    force(ctx, Some(flags), ip, true, true)
}

/// In a request, an answer only for an ACK.
fn answer_allowed(ctx: &Ctx<'_>) -> bool {
    !ctx.msg.is_request() || ctx.msg.method() == Some(Method::Ack)
}

/// `rtpproxy_answer()`.
pub fn rtpproxy_answer(ctx: &mut Ctx<'_>) -> i32 {
    if !answer_allowed(ctx) {
        return -1;
    }
    let ip = local_ip(ctx);
    force(ctx, None, &ip, false, false)
}

/// `rtpproxy_answer(flags)`.
pub fn rtpproxy_answer1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    if !answer_allowed(ctx) {
        return -1;
    }
    let ip = local_ip(ctx);
    force(ctx, Some(flags), &ip, false, false)
}

/// `rtpproxy_answer(flags, ip)`.
pub fn rtpproxy_answer2(ctx: &mut Ctx<'_>, flags: &[u8], ip: &[u8]) -> i32 {
    if !answer_allowed(ctx) {
        return -1;
    }
    force(ctx, Some(flags), ip, false, true)
}

/// `rtpproxy_destroy()` / `unforce_rtp_proxy()`.
pub fn rtpproxy_destroy(ctx: &mut Ctx<'_>) -> i32 {
    destroy(ctx, None)
}

/// `rtpproxy_destroy(flags)` / `unforce_rtp_proxy(flags)`.
pub fn rtpproxy_destroy1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    destroy(ctx, Some(flags))
}

/// `set_rtp_proxy_set(id)`: the set of the message's later commands; -1
/// for a set not configured.
pub fn set_rtp_proxy_set(ctx: &mut Ctx<'_>, id: i32) -> i32 {
    let r = &Modules::of(ctx).rtpproxy;
    if !r.sets.iter().any(|s| i64::from(s.id) == i64::from(id)) {
        log(
            ctx,
            Level::Err,
            &format!("could not locate rtpproxy set {id}"),
        );
        return -1;
    }
    ctx.headers
        .retain(|h| !matches!(h, HeaderOp::Note(SET_NOTE, _)));
    ctx.headers
        .push(HeaderOp::Note(SET_NOTE, id.to_string().into_bytes()));
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_lists_as_kamailio_converts_them() {
        assert_eq!(payload_list(b"0 8 101"), b"0,8,101");
        assert_eq!(payload_list(b"0  18 "), b"0,18");
        assert_eq!(payload_list(b"t38"), b",38");
        assert_eq!(payload_list(b""), b"");
    }

    #[test]
    fn sockets() {
        let mut p = ModParams::new();
        p.push(
            M,
            "rtpproxy_sock",
            ParamValue::Str("udp:127.0.0.1:7722 udp:127.0.0.1=3".into()),
        );
        p.push(
            M,
            "rtpproxy_sock",
            ParamValue::Str(" 1 == udp:127.0.0.1:7724".into()),
        );
        p.push(M, "nortpproxy_str", ParamValue::Str("a=x:y\r\n".into()));
        let r = Rtpproxy::from_params(&p).unwrap();
        assert_eq!(r.nodes.len(), 3);
        assert_eq!(r.nodes[1].weight, 3);
        assert_eq!(r.nodes[1].addr.port(), 22222);
        assert_eq!(r.sets.len(), 2);
        assert_eq!(r.sets[1].id, 1);
        assert_eq!(r.nortpproxy, b"a=x:y");
        for bad in [
            "unix:/run/x",
            "x == udp:127.0.0.1",
            "1 ==",
            "udp:127.0.0.1:x",
        ] {
            let mut p = ModParams::new();
            p.push(M, "rtpproxy_sock", ParamValue::Str(bad.into()));
            assert!(Rtpproxy::from_params(&p).is_err(), "{bad}");
        }
    }

    #[test]
    fn null_and_family() {
        assert!(is_null_addr(b"0.0.0.0", false));
        assert!(is_null_addr(b"::", true));
        assert!(!is_null_addr(b"::1", true));
        let body = b"c=IN IP4 10.0.0.1\r\n";
        let old = sdp::Addr {
            at: 9..17,
            v6: false,
        };
        let mut edits = Vec::new();
        alter_ip(body, &old, b"::1", true, &mut edits);
        assert_eq!(edits[0].at, 7..17);
        assert_eq!(edits[0].data, b"6 ::1");
    }
}

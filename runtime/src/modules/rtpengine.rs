//! rtpengine — client of the rtpengine media relay's "ng" control
//! protocol (Kamailio 5.6's rtpengine module, `rtpengine.c`):
//! `rtpengine_manage([flags])`, `rtpengine_offer([flags])`,
//! `rtpengine_answer([flags])`, `rtpengine_delete([flags])`,
//! `rtpengine_query([flags])`, `start_recording([flags])`,
//! `stop_recording([flags])`, `set_rtpengine_set(id[, id2])`.
//!
//! A command is a bencoded dictionary ([`bencode`]) sent over UDP after a
//! cookie and a space; the reply carries the same cookie. The dictionary
//! is built as Kamailio builds it (`rtpp_function_call`): the flags string
//! is parsed into ng keys as `parse_flags` does (`replace-origin` →
//! `"replace": ["origin"]`, `RTP/AVP` → `"transport-protocol"`, `key=value`
//! → a dictionary entry, any other word → `"flags"`), with `call-id`,
//! `from-tag`/`to-tag` (swapped for an answer in a request and an offer
//! in a reply), `received-from` (the source address) and the SDP. The SDP
//! rtpengine answers replaces the body ([`HeaderOp::Body`]: relayed
//! requests, stateless or through tm, and replies relayed after an
//! onreply route get it with Content-Length updated).
//!
//! Instances (`rtpengine_sock`: `udp:HOST:PORT`, `udp6:[HOST]:PORT`,
//! several separated by blanks, each with an optional `=weight`, and
//! `N == ...` for set `N`) are chosen as Kamailio chooses them: by the
//! Call-ID's byte sum among the enabled ones of the set, the instance of
//! an earlier command of the call first when it is in the set. Each
//! worker has a connected UDP socket per instance; a command is sent
//! `rtpengine_retr` times, each waiting `rtpengine_tout_ms` for the
//! reply. An instance that does not answer (or refuses, ICMP) is
//! disabled for `rtpengine_disable_tout` seconds and the next one of the
//! set is tried; when none is left every instance is pinged once more
//! (`aggressive_redetection`). Instances are pinged at start-up, as
//! Kamailio's first worker does. A failure is -1 and an error line in the
//! log, the message is processed on.
//!
//! Sets: set 0 is the default. `set_rtpengine_set(id[, id2])` chooses
//! the set(s) of the message's later commands; as in Kamailio, the choice
//! is the worker's (Kamailio's per-process `selected_rtpp_set_1`/`_2`)
//! and applies to the message that made it only (`current_msg_id`): any
//! other message (the reply to a request that chose, the BYE) uses the
//! default set unless it calls `set_rtpengine_set` too. With two
//! different sets every command is sent twice: offers, deletes, queries,
//! `rtpengine_manage` and the recording commands to the first set then
//! the second, `rtpengine_answer` to the second then the first; an
//! offer's or answer's SDP from the first goes to the second, whose SDP
//! replaces the body. Kamailio decides "twice" from the worker's last
//! choice even for a message that made none (both passes then go to the
//! default set), and so does the runtime. `rtpengine_manage` with two
//! sets sends the message's SDP to both, and the message then carries
//! both answers, one after the other (Kamailio's two body lumps). A constant set that is not configured refuses the start, as in
//! Kamailio ([`Rtpengine::check_set`], the compiler collects the
//! constants); one from a PV is -1 (the value is converted to a number:
//! Kamailio wants an integer value, -1 for a string; and it answers -2
//! for a PV's set with no enabled instance, which the runtime does not:
//! it cannot tell a PV from a constant there).
//!
//! `start_recording([flags])` and `stop_recording([flags])` send the ng
//! `start recording` / `stop recording` commands (no SDP; tags swapped
//! in a reply).
//!
//! Not here (refused at build): `unix:` and WebSocket instances, the
//! database of instances, `setid_default`, `setid_avp`,
//! `rtpengine_query_v`, the statistics PVs (`mos_*`, `media_duration`),
//! `read_sdp_pv`/`write_sdp_pv`, `extra_id_pv` (so `via-branch=extra`
//! fails, as in Kamailio without it), `rtp_inst_pvar`, other hash
//! algorithms, the other ng commands (`block_dtmf`, `play_media`, ...).
//! A multipart body's SDP part is not looked into (the call is -1).

pub mod bencode;

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bencode::Item;

use super::media_relay::{self, ExchangeError};
use super::{Modules, WorkerModules};
use crate::engine::Ctx;
use crate::engine::ctx::HeaderOp;
use crate::engine::log::Level;
use crate::engine::module::Module;
use crate::engine::params::{ModParams, ParamError, ParamValue};
use crate::sip::Method;
use crate::tm::RouteKind;

const M: &str = "rtpengine";

/// The key of the note `rtpengine_manage` leaves on an INVITE with SDP
/// (Kamailio's `FL_SDP_BODY` on the transaction's request): a reply with
/// SDP is then an answer, else an offer.
const SDP_NOTE: &str = "rtpengine:sdp";

/// The note `set_rtpengine_set` leaves on the message it ran for
/// (Kamailio's `current_msg_id`): the sets it chose apply to this
/// message only; any other uses the default set.
const SET_NOTE: &str = "rtpengine:set";

/// The default set (`setid_default`'s default).
const DEFAULT_SET: u32 = 0;

/// `MAX_RTPP_TRIED_NODES`, the default `queried_nodes_limit`.
const QUERIED_NODES_LIMIT: usize = 30;

/// Largest reply read (Kamailio's buffer: 0x40000).
const MAX_REPLY: usize = 0x40000;

/// An ng command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Offer,
    Answer,
    Delete,
    Query,
    StartRecording,
    StopRecording,
}

impl Op {
    fn command(self) -> &'static str {
        match self {
            Op::Offer => "offer",
            Op::Answer => "answer",
            Op::Delete => "delete",
            Op::Query => "query",
            Op::StartRecording => "start recording",
            Op::StopRecording => "stop recording",
        }
    }
}

/// One rtpengine instance.
#[derive(Debug)]
pub struct Node {
    /// As written (`udp:127.0.0.1:2223`).
    pub url: String,
    /// Where it listens (`None`: the name did not resolve; every command
    /// to it fails).
    addr: Option<SocketAddr>,
    weight: u32,
    disabled: AtomicBool,
    /// Seconds since start-up when a disabled instance is tried again.
    recheck: AtomicU64,
}

/// Call-ID and via-branch: a call's key in [`Rtpengine::calls`].
type CallKey = (Vec<u8>, Vec<u8>);

/// A set of instances (`N == ...`).
#[derive(Debug)]
struct Set {
    id: u32,
    /// Indices into [`Rtpengine::nodes`].
    nodes: Vec<usize>,
}

/// The module: its instances and parameters, shared by the workers.
#[derive(Debug)]
pub struct Rtpengine {
    nodes: Vec<Node>,
    sets: Vec<Set>,
    tout: Duration,
    retr: u32,
    disable_tout: u64,
    aggressive_redetection: bool,
    /// Call-ID (and via-branch) → the instance that took the call
    /// (Kamailio's hash table).
    calls: Mutex<HashMap<CallKey, usize>>,
    epoch: Instant,
}

impl Default for Rtpengine {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            sets: Vec::new(),
            tout: Duration::from_millis(1000),
            retr: 5,
            disable_tout: 60,
            aggressive_redetection: true,
            calls: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
        }
    }
}

/// The per-worker state: a socket per instance, and the sets the last
/// `set_rtpengine_set` of this worker chose (Kamailio's per-process
/// `selected_rtpp_set_1`/`_2`, which outlive the message).
#[derive(Debug, Default)]
pub struct Worker {
    socks: Vec<Option<UdpSocket>>,
    sel1: Option<u32>,
    sel2: Option<u32>,
}

/// The cookies' sequence number. Kamailio's is per process, and its
/// workers are processes (the pid is in the cookie); ours are threads of
/// one process, so the counter is shared: rtpengine answers a cookie it
/// has seen with its cached reply, so two commands must never share one.
static COOKIE_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Rtpengine {
    /// The module from its parameters.
    ///
    /// # Errors
    /// A malformed set list (Kamailio refuses to start).
    pub fn from_params(p: &ModParams) -> Result<Self, ParamError> {
        let mut r = Self::default();
        let nonneg = |name: &str, v: Option<i32>| -> Result<Option<u32>, ParamError> {
            v.map(|n| {
                u32::try_from(n)
                    .map_err(|_| ParamError::invalid(M, name, format!("{n} is negative")))
            })
            .transpose()
        };
        if let Some(ms) = nonneg("rtpengine_tout_ms", p.int(M, "rtpengine_tout_ms")?)? {
            r.tout = Duration::from_millis(u64::from(ms));
        }
        if let Some(n) = nonneg("rtpengine_retr", p.int(M, "rtpengine_retr")?)? {
            r.retr = n;
        }
        if let Some(n) = nonneg(
            "rtpengine_disable_tout",
            p.int(M, "rtpengine_disable_tout")?,
        )? {
            r.disable_tout = u64::from(n);
        }
        if let Some(n) = p.int(M, "aggressive_redetection")? {
            r.aggressive_redetection = n != 0;
        }
        let socks: Vec<String> = p
            .all(M, "rtpengine_sock")
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

    /// `rtpengine_add_rtpengine_set`: `[N ==] url[=weight] ...`.
    fn add_set(&mut self, text: &str) -> Result<(), ParamError> {
        let text = text.trim_start();
        if text.is_empty() {
            return Ok(());
        }
        let (id, list) = match text.find("==") {
            Some(i) => {
                let list = &text[i + 2..];
                if list.is_empty() {
                    return Err(ParamError::invalid(
                        M,
                        "rtpengine_sock",
                        "invalid rtpengine list",
                    ));
                }
                let id = text[..i].trim_end().parse::<u32>().map_err(|_| {
                    ParamError::invalid(M, "rtpengine_sock", "invalid set_id value")
                })?;
                (id, list)
            }
            None => (0, text),
        };
        if list.trim().is_empty() {
            return Err(ParamError::invalid(
                M,
                "rtpengine_sock",
                "empty rtp_proxy list",
            ));
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
            let (addr, v6) = if let Some(a) = lower.strip_prefix("udp:").map(|_| &url[4..]) {
                (a, false)
            } else if let Some(a) = lower.strip_prefix("udp6:").map(|_| &url[5..]) {
                (a, true)
            } else {
                // Kamailio warns and ignores it; `unix:` and WebSocket
                // instances are not supported here.
                return Err(ParamError::unsupported(
                    M,
                    "rtpengine_sock",
                    format!("the instance `{url}` (only udp: and udp6: are)"),
                ));
            };
            if self.sets[set]
                .nodes
                .iter()
                .any(|&n| self.nodes[n].url == url)
            {
                continue;
            }
            let Some(resolved) = resolve(addr, v6)? else {
                continue;
            };
            self.nodes.push(Node {
                url: url.to_string(),
                addr: resolved,
                weight,
                disabled: AtomicBool::new(false),
                recheck: AtomicU64::new(0),
            });
            let idx = self.nodes.len() - 1;
            self.sets[set].nodes.push(idx);
        }
        Ok(())
    }

    /// Seconds since start-up (Kamailio's ticks).
    fn ticks(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    /// `fixup_set_id` of a constant `set_rtpengine_set` argument.
    ///
    /// # Errors
    /// The set is not configured, or not a number (Kamailio refuses to
    /// start).
    pub fn check_set(&self, id: &str) -> Result<(), String> {
        match id.parse::<u32>() {
            Ok(n) if self.sets.iter().any(|s| s.id == n) => Ok(()),
            Ok(n) => Err(format!("{M}: rtpp_proxy set {n} not configured")),
            Err(_) => Err(format!("{M}: bad number <{id}>")),
        }
    }

    /// The instances (for tests and RPC).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Pings every instance, as Kamailio's first worker does when it
    /// starts; one that does not answer is disabled.
    pub fn start(&self) {
        let mut w = self.worker();
        for i in 0..self.nodes.len() {
            let ok = self.ping(&mut w, i);
            self.nodes[i].disabled.store(!ok, Ordering::Relaxed);
        }
    }

    /// A worker's state.
    pub fn worker(&self) -> Worker {
        Worker {
            socks: (0..self.nodes.len()).map(|_| None).collect(),
            ..Worker::default()
        }
    }

    fn disable(&self, i: usize) {
        let n = &self.nodes[i];
        n.disabled.store(true, Ordering::Relaxed);
        n.recheck
            .store(self.ticks() + self.disable_tout, Ordering::Relaxed);
    }

    /// `rtpp_test` with force: a ping; false (and disabled) when no
    /// `pong` comes back.
    fn ping(&self, w: &mut Worker, i: usize) -> bool {
        let cmd = Item::Dict(vec![(b"command".to_vec(), Item::str("ping"))]);
        match send(self, w, i, &cmd) {
            Err(_) => {
                self.disable(i);
                false
            }
            Ok(reply) => bencode::decode(&reply)
                .is_some_and(|d| d.get_str("result") == Some(b"pong".as_slice())),
        }
    }

    /// `select_rtpp_node`: the call's instance if it is in the set, else
    /// one picked by weight among the enabled, unqueried ones.
    fn select(
        &self,
        w: &mut Worker,
        callid: &[u8],
        viabranch: &[u8],
        queried: &[usize],
        op: Op,
        set: u32,
    ) -> Result<usize, String> {
        let Some(set) = self.sets.iter().find(|s| s.id == set) else {
            return Err("script error - no valid set selected".into());
        };
        let old = self.lookup(callid, viabranch, op);
        let node = match old.filter(|n| set.nodes.contains(n)) {
            Some(n) => n,
            None => self.select_new(w, set, callid, queried).ok_or_else(|| {
                format!(
                    "rtpengine failed to select new for calllen={} callid={}",
                    callid.len(),
                    String::from_utf8_lossy(callid)
                )
            })?,
        };
        if self.nodes[node].disabled.load(Ordering::Relaxed) {
            return Err("no available proxies".into());
        }
        Ok(node)
    }

    fn select_new(
        &self,
        w: &mut Worker,
        set: &Set,
        callid: &[u8],
        queried: &[usize],
    ) -> Option<usize> {
        let sum = media_relay::callid_sum(callid);
        let mut forced = false;
        loop {
            let now = self.ticks();
            let mut weight_sum = 0u32;
            for &i in &set.nodes {
                let n = &self.nodes[i];
                if n.disabled.load(Ordering::Relaxed) && n.recheck.load(Ordering::Relaxed) <= now {
                    let ok = self.ping(w, i);
                    n.disabled.store(!ok, Ordering::Relaxed);
                }
                if !n.disabled.load(Ordering::Relaxed) && !queried.contains(&i) {
                    weight_sum = weight_sum.wrapping_add(n.weight);
                }
            }
            if weight_sum == 0 {
                if !self.aggressive_redetection || forced {
                    return None;
                }
                forced = true;
                for &i in &set.nodes {
                    let ok = self.ping(w, i);
                    self.nodes[i].disabled.store(!ok, Ordering::Relaxed);
                }
                continue;
            }
            let mut cut = sum % weight_sum;
            for &i in &set.nodes {
                let n = &self.nodes[i];
                if n.disabled.load(Ordering::Relaxed) || queried.contains(&i) {
                    continue;
                }
                if cut < n.weight {
                    return Some(i);
                }
                cut -= n.weight;
            }
            return None;
        }
    }

    fn lookup(&self, callid: &[u8], viabranch: &[u8], op: Op) -> Option<usize> {
        let calls = self.calls.lock().ok()?;
        if let Some(&n) = calls.get(&(callid.to_vec(), viabranch.to_vec())) {
            return Some(n);
        }
        if viabranch.is_empty() && op == Op::Delete {
            return calls
                .iter()
                .find(|((c, _), _)| c == callid)
                .map(|(_, &n)| n);
        }
        None
    }

    fn remember(&self, callid: &[u8], viabranch: &[u8], node: usize) {
        if let Ok(mut calls) = self.calls.lock() {
            calls
                .entry((callid.to_vec(), viabranch.to_vec()))
                .or_insert(node);
        }
    }

    fn forget(&self, callid: &[u8], viabranch: &[u8], op: Op) {
        if let Ok(mut calls) = self.calls.lock() {
            if viabranch.is_empty() && op == Op::Delete {
                calls.retain(|(c, _), _| c != callid);
            } else {
                calls.remove(&(callid.to_vec(), viabranch.to_vec()));
            }
        }
    }
}

/// `atoi`: optional sign and leading digits.
fn atoi(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, d| {
            n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'))
        });
    if neg { -n } else { n }
}

/// `HOST:PORT` (`[HOST]:PORT` for udp6; the port 22222 if none) to an
/// address. `Ok(None)`: a bad port, which Kamailio skips with a warning;
/// a host that does not resolve is kept with no address.
fn resolve(addr: &str, v6: bool) -> Result<Option<Option<SocketAddr>>, ParamError> {
    let (host, port) = if v6 {
        match addr.rfind("]:") {
            Some(i) => (&addr[..=i], &addr[i + 2..]),
            None => (addr, ""),
        }
    } else {
        match addr.find(':') {
            Some(i) => (&addr[..i], &addr[i + 1..]),
            None => (addr, ""),
        }
    };
    let port = if port.is_empty() {
        22222
    } else {
        match port.parse::<u16>() {
            Ok(p) => p,
            Err(_) => return Ok(None),
        }
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let found = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.find(|a| a.is_ipv6() == v6));
    Ok(Some(found))
}

impl Module for Rtpengine {
    const NAME: &'static str = "rtpengine";

    fn from_params(params: &ModParams) -> Result<Self, ParamError> {
        Rtpengine::from_params(params)
    }
}

/// Why a command failed: logged, -1 to the script.
#[derive(Debug)]
struct Failed(String);

/// Sends `cmd` to instance `i` with a fresh cookie and returns the reply
/// after the cookie (`send_rtpp_command`, UDP).
fn send(r: &Rtpengine, w: &mut Worker, i: usize, cmd: &Item) -> Result<Vec<u8>, Failed> {
    let node = &r.nodes[i];
    let command = cmd
        .get_str("command")
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .unwrap_or_default();
    let cant_send = || {
        Failed(format!(
            "can't send command \"{command}\" to RTPEngine <{}>",
            node.url
        ))
    };
    if w.socks.len() < r.nodes.len() {
        w.socks.resize_with(r.nodes.len(), || None);
    }
    if w.socks[i].is_none() {
        let Some(addr) = node.addr else {
            return Err(cant_send());
        };
        w.socks[i] = Some(media_relay::connect(addr).map_err(|_| cant_send())?);
    }
    let seq = COOKIE_SEQ.fetch_add(1, Ordering::Relaxed);
    let Some(sock) = w.socks[i].as_ref() else {
        return Err(cant_send());
    };
    let cookie = format!("0_{}_{} ", std::process::id(), seq);
    let mut data = Vec::new();
    cmd.encode_into(&mut data);
    match media_relay::exchange(sock, &cookie, &data, r.retr, r.tout, MAX_REPLY) {
        Ok(reply) => Ok(reply),
        Err(ExchangeError::Send) => Err(cant_send()),
        Err(ExchangeError::Timeout) => Err(Failed(format!(
            "timeout waiting reply for command \"{command}\" from RTPEngine <{}>",
            node.url
        ))),
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

/// The flags string parsed (`struct ng_flags_parse`).
#[derive(Default)]
struct NgFlags {
    /// Entries `parse_flags` adds to the dictionary itself, in order.
    dict: Vec<(Vec<u8>, Item)>,
    flags: Vec<Vec<u8>>,
    direction: Vec<Vec<u8>>,
    replace: Vec<Vec<u8>>,
    rtcp_mux: Vec<Vec<u8>>,
    sdes: Vec<Vec<u8>>,
    t38: Vec<Vec<u8>>,
    /// `codec` sub-lists by name, in the order first used.
    codec: Vec<(&'static str, Vec<Vec<u8>>)>,
    transport: u32,
    to: bool,
    to_tag: Vec<u8>,
    from_tag: Vec<u8>,
    call_id: Vec<u8>,
    directional: bool,
    via: i32,
}

/// `str_key_val_prefix`: `foo-bar` or `foo=bar` → `bar`.
fn key_val_prefix<'a>(key: &'a [u8], q: &str, val: Option<&'a [u8]>) -> Option<&'a [u8]> {
    if key == q.as_bytes() {
        return val.filter(|v| !v.is_empty());
    }
    let rest = key.strip_prefix(q.as_bytes())?;
    if rest.len() < 2 || rest[0] != b'-' {
        return None;
    }
    Some(&rest[1..])
}

const CODEC_FLAGS: &[(&str, Option<&str>, &str)] = &[
    ("transcode", Some("codec-transcode"), "transcode"),
    ("codec-strip", None, "strip"),
    ("codec-offer", None, "offer"),
    ("codec-mask", None, "mask"),
    ("codec-set", None, "set"),
    ("codec-except", None, "except"),
];

const TRANSPORTS: [Option<&str>; 8] = [
    Some("RTP/AVP"),
    Some("RTP/SAVP"),
    Some("RTP/AVPF"),
    Some("RTP/SAVPF"),
    Some("UDP/TLS/RTP/SAVP"),
    None,
    Some("UDP/TLS/RTP/SAVPF"),
    None,
];

/// `parse_flags`. `sdp_op`: offer or answer (the sub-lists exist only
/// then; Kamailio drops their items otherwise).
fn parse_flags(ng: &mut NgFlags, op: &mut Op, sdp_op: bool, text: &[u8]) -> Result<(), String> {
    let mut s = text;
    loop {
        while s.first() == Some(&b' ') {
            s = &s[1..];
        }
        let kend = s
            .iter()
            .position(|&b| b == b' ' || b == b'=')
            .unwrap_or(s.len());
        let key = &s[..kend];
        let (val, end) = if s.get(kend) == Some(&b'=') {
            let v = &s[kend + 1..];
            let vend = v.iter().position(|&b| b == b' ').unwrap_or(v.len());
            (Some(&v[..vend]), kend + 1 + vend)
        } else {
            (None, kend)
        };
        if key.is_empty() {
            break;
        }
        s = &s[end..];
        let err = |what: &str| {
            let k = String::from_utf8_lossy(key);
            match val {
                Some(v) => format!(
                    "error processing flag `{k}' (value '{}'): {what}",
                    String::from_utf8_lossy(v)
                ),
                None => format!("error processing flag `{k}': {what}"),
            }
        };
        let add = |list: &mut Vec<Vec<u8>>, v: &[u8]| {
            if sdp_op {
                list.push(v.to_vec());
            }
        };
        if let Some(v) = key_val_prefix(key, "replace", val) {
            add(&mut ng.replace, v);
            continue;
        }
        if let Some(v) = key_val_prefix(key, "SDES", val) {
            add(&mut ng.sdes, v);
            continue;
        }
        if let Some(v) =
            key_val_prefix(key, "T38", val).or_else(|| key_val_prefix(key, "T.38", val))
        {
            add(&mut ng.t38, v);
            continue;
        }
        if let Some(v) = key_val_prefix(key, "rtcp-mux", val) {
            add(&mut ng.rtcp_mux, v);
            continue;
        }
        let mut codec = false;
        for &(c1, c2, name) in CODEC_FLAGS {
            if let Some(v) = key_val_prefix(key, c1, val)
                .or_else(|| c2.and_then(|c2| key_val_prefix(key, c2, val)))
            {
                if sdp_op {
                    match ng.codec.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, l)) => l.push(v.to_vec()),
                        None => ng.codec.push((name, vec![v.to_vec()])),
                    }
                }
                codec = true;
                break;
            }
        }
        if codec {
            continue;
        }
        let k = key;
        let novalue = val.is_none();
        let handled = match k {
            b"RTP" if novalue => {
                ng.transport = (ng.transport | 0x100) & !0x001;
                true
            }
            b"AVP" if novalue => {
                ng.transport = (ng.transport | 0x100) & !0x002;
                true
            }
            b"TOS" if !novalue => {
                ng.dict
                    .push((b"TOS".to_vec(), Item::Int(atoi(val.unwrap_or_default()))));
                true
            }
            b"SRTP" if novalue => {
                ng.transport |= 0x101;
                true
            }
            b"AVPF" if novalue => {
                ng.transport |= 0x102;
                true
            }
            b"DTLS" if novalue => {
                ng.transport |= 0x104;
                true
            }
            b"to-tag" => {
                if let Some(v) = val {
                    ng.to_tag = v.to_vec();
                }
                ng.to = true;
                true
            }
            b"RTP/AVP" if novalue => {
                ng.transport = 0x100;
                true
            }
            b"call-id" => {
                let Some(v) = val else {
                    return Err(err("missing value"));
                };
                ng.call_id = v.to_vec();
                true
            }
            b"internal" | b"external" => {
                add(&mut ng.direction, k);
                true
            }
            b"RTP/AVPF" if novalue => {
                ng.transport = 0x102;
                true
            }
            b"RTP/SAVP" if novalue => {
                ng.transport = 0x101;
                true
            }
            b"from-tag" => {
                let Some(v) = val else {
                    return Err(err("missing value"));
                };
                ng.from_tag = v.to_vec();
                ng.directional = true;
                true
            }
            b"RTP/SAVPF" if novalue => {
                ng.transport = 0x103;
                true
            }
            b"direction" => {
                if let Some(v) = val {
                    add(&mut ng.direction, v);
                }
                true
            }
            b"via-branch" => {
                let Some(v) = val else {
                    return Err(err("missing value"));
                };
                ng.via = match v {
                    [b'1', ..] => 1,
                    [b'2', ..] => 2,
                    b"auto" => 3,
                    b"extra" => -1,
                    b"next" => -2,
                    b"auto-next" | b"next-auto" => -3,
                    b"auto-extra" | b"extra-auto" => -4,
                    _ => return Err(err("invalid value")),
                };
                true
            }
            b"repacketize" => {
                let Some(v) = val else {
                    return Err(err("missing value"));
                };
                let n = v
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .fold(0i64, |n, d| {
                        n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'))
                    });
                if n == 0 {
                    return Err(err("invalid value"));
                }
                ng.dict.push((b"repacketize".to_vec(), Item::Int(n)));
                true
            }
            b"directional" => {
                ng.directional = true;
                true
            }
            b"force-answer" => {
                if *op != Op::Offer {
                    return Err(err("cannot force answer in non-offer command"));
                }
                *op = Op::Answer;
                true
            }
            b"delete-delay" if !novalue => {
                ng.dict.push((
                    b"delete delay".to_vec(),
                    Item::Int(atoi(val.unwrap_or_default())),
                ));
                true
            }
            b"UDP/TLS/RTP/SAVP" if novalue => {
                ng.transport = 0x104;
                true
            }
            b"UDP/TLS/RTP/SAVPF" if novalue => {
                ng.transport = 0x106;
                true
            }
            _ => false,
        };
        if handled {
            continue;
        }
        match val {
            None => ng.flags.push(k.to_vec()),
            Some(v) => ng.dict.push((k.to_vec(), Item::str(v))),
        }
    }
    Ok(())
}

/// The SDP of the message (`extract_body`): the body when Content-Type
/// is absent or `application/sdp` (3 for `trickle-ice-sdpfrag`).
fn extract_body<'m>(ctx: &Ctx<'m>) -> Result<(&'m [u8], u8), String> {
    let msg = ctx.msg;
    let body = msg.body();
    if msg.content_length().is_none() {
        return Err("failed to get the content length in message".into());
    }
    if body.is_empty() {
        return Err("message body has length zero".into());
    }
    match msg.content_type() {
        Ok(None) => Ok((body, 1)),
        Ok(Some(ct)) => {
            if !ct.mtype.eq_ignore_ascii_case(b"application") {
                return Err("content type mismatching".into());
            }
            if ct.subtype.eq_ignore_ascii_case(b"sdp") {
                Ok((body, 1))
            } else if ct.subtype.eq_ignore_ascii_case(b"trickle-ice-sdpfrag") {
                Ok((body, 3))
            } else {
                Err("content type mismatching".into())
            }
        }
        Err(_) => Err("content type mismatching".into()),
    }
}

/// `rtpp_function_call`: builds the command, sends it to an instance of
/// `set` (with failover), returns the decoded reply. `sdp`: the SDP to
/// send instead of the body's (the first set's answer, when a command
/// goes to two sets).
fn call(
    ctx: &mut Ctx<'_>,
    op: Op,
    flags: Option<&[u8]>,
    set: u32,
    sdp: Option<&[u8]>,
) -> Result<Item, String> {
    let r = &Modules::of(ctx).rtpengine;
    let msg = ctx.msg;
    let mut ng = NgFlags {
        to: op != Op::Delete,
        ..NgFlags::default()
    };
    ng.call_id = msg
        .call_id()
        .ok()
        .map(|c| c.trim_ascii().to_vec())
        .filter(|c| !c.is_empty())
        .ok_or("can't get Call-Id field")?;
    ng.to_tag = msg
        .to()
        .map_err(|_| "can't get To tag")?
        .tag
        .unwrap_or_default()
        .to_vec();
    ng.from_tag = msg
        .from()
        .ok()
        .and_then(|f| f.tag)
        .filter(|t| !t.is_empty())
        .ok_or("can't get From tag")?
        .to_vec();
    let mut dict: Vec<(Vec<u8>, Item)> = vec![(
        b"supports".to_vec(),
        Item::List(vec![Item::str("load limit")]),
    )];
    let sdp_op = matches!(op, Op::Offer | Op::Answer);
    let mut cont_type = 0;
    if sdp_op {
        let (body, ct) = extract_body(ctx).map_err(|e| {
            log(ctx, Level::Err, &e);
            "can't extract body from the message".to_string()
        })?;
        cont_type = ct;
        dict.push((b"sdp".to_vec(), Item::str(sdp.unwrap_or(body))));
    }
    let mut op = op;
    parse_flags(&mut ng, &mut op, sdp_op, flags.unwrap_or_default())?;
    if cont_type == 3 {
        ng.flags.push(b"fragment".to_vec());
    }
    dict.append(&mut ng.dict);
    let list = |l: &[Vec<u8>]| Item::List(l.iter().map(Item::str).collect());
    for (name, l) in [
        ("direction", &ng.direction),
        ("flags", &ng.flags),
        ("replace", &ng.replace),
    ] {
        if !l.is_empty() {
            dict.push((name.as_bytes().to_vec(), list(l)));
        }
    }
    if !ng.codec.is_empty() {
        let codec = ng
            .codec
            .iter()
            .map(|(n, l)| (n.as_bytes().to_vec(), list(l)))
            .collect();
        dict.push((b"codec".to_vec(), Item::Dict(codec)));
    }
    if ng.transport & 0x100 != 0
        && let Some(Some(t)) = TRANSPORTS.get((ng.transport & 7) as usize)
    {
        dict.push((b"transport-protocol".to_vec(), Item::str(t)));
    }
    for (name, l) in [
        ("rtcp-mux", &ng.rtcp_mux),
        ("SDES", &ng.sdes),
        ("T.38", &ng.t38),
    ] {
        if !l.is_empty() {
            dict.push((name.as_bytes().to_vec(), list(l)));
        }
    }
    dict.push((b"call-id".to_vec(), Item::str(&ng.call_id)));
    let is_reply = !msg.is_request();
    let mut viabranch = Vec::new();
    if ng.via != 0 {
        let via = match ng.via {
            3 => {
                if is_reply {
                    2
                } else {
                    1
                }
            }
            -3 => {
                if is_reply {
                    1
                } else {
                    -2
                }
            }
            -4 => {
                if is_reply {
                    1
                } else {
                    -1
                }
            }
            v => v,
        };
        let branch = match via {
            1 | 2 => msg
                .vias()
                .nth(via as usize - 1)
                .and_then(Result::ok)
                .and_then(|v| v.branch)
                .map(<[u8]>::to_vec),
            // `extra` needs `extra_id_pv` (refused); `next` tm's branch
            // builder (not here).
            _ => None,
        };
        viabranch = branch
            .filter(|b| !b.is_empty())
            .ok_or("can't get Via branch/extra ID")?;
        dict.push((b"via-branch".to_vec(), Item::str(&viabranch)));
    }
    let src = ctx.rcv.src.ip();
    dict.push((
        b"received-from".to_vec(),
        Item::List(vec![
            Item::str(if src.is_ipv4() { "IP4" } else { "IP6" }),
            Item::str(src.to_string()),
        ]),
    ));
    if (!is_reply && op != Op::Answer)
        || (is_reply && matches!(op, Op::Delete | Op::Answer))
        || ng.directional
    {
        dict.push((b"from-tag".to_vec(), Item::str(&ng.from_tag)));
        if ng.to && !ng.to_tag.is_empty() {
            dict.push((b"to-tag".to_vec(), Item::str(&ng.to_tag)));
        }
    } else {
        if ng.to_tag.is_empty() {
            return Err("No to-tag present".into());
        }
        dict.push((b"from-tag".to_vec(), Item::str(&ng.to_tag)));
        dict.push((b"to-tag".to_vec(), Item::str(&ng.from_tag)));
    }
    dict.push((b"command".to_vec(), Item::str(op.command())));
    let cmd = Item::Dict(dict);

    let Some(w) =
        crate::engine::module::worker_state::<WorkerModules>(ctx).map(|w| &mut w.rtpengine)
    else {
        return Err("no rtpengine sockets in this process".into());
    };
    let mut queried: Vec<usize> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let (reply, node) = 'select: loop {
        let (text, node) = loop {
            if queried.len() >= QUERIED_NODES_LIMIT {
                failures.push("queried nodes limit reached".into());
                return Err(failures.join("; "));
            }
            let node = match r.select(w, &ng.call_id, &viabranch, &queried, op, set) {
                Ok(n) => n,
                Err(e) => {
                    failures.push(e);
                    failures.push("no available proxies".into());
                    return Err(failures.join("; "));
                }
            };
            let sent = send(r, w, node, &cmd);
            queried.push(node);
            match sent {
                Ok(t) => break (t, node),
                Err(Failed(e)) => {
                    r.disable(node);
                    failures.push(e);
                }
            }
        };
        let Some(reply) = bencode::decode(&text).filter(|d| matches!(d, Item::Dict(_))) else {
            return Err(format!(
                "failed to decode bencoded reply from proxy: {}",
                String::from_utf8_lossy(&text)
            ));
        };
        let url = &r.nodes[node].url;
        let Some(result) = reply.get_str("result") else {
            return Err(format!(
                "No 'result' dictionary entry in response from proxy {url}"
            ));
        };
        match result {
            b"load limit" => continue 'select,
            b"error" => {
                let Some(reason) = reply.get_str("error-reason") else {
                    return Err(format!(
                        "proxy return error but didn't give an error reason: {}",
                        String::from_utf8_lossy(&text)
                    ));
                };
                if reason == b"Parallel session limit reached" || reason == b"Ran out of ports" {
                    continue 'select;
                }
                return Err(format!(
                    "proxy replied with error: {}",
                    String::from_utf8_lossy(reason)
                ));
            }
            _ => break (reply, node),
        }
    };
    if r.lookup(&ng.call_id, &viabranch, op).is_none() {
        r.remember(&ng.call_id, &viabranch, node);
    }
    if op == Op::Delete {
        r.forget(&ng.call_id, &viabranch, op);
    }
    if reply.get_str("result") != Some(b"ok".as_slice()) {
        return Err("proxy didn't return \"ok\" result".into());
    }
    Ok(reply)
}

/// Which set a pass of a command goes to, and whether a second pass
/// follows (`rtpengine_rtpp_set_wrap`).
#[derive(Clone, Copy, Debug)]
struct Pass {
    set: u32,
    more: bool,
}

/// `set_rtpengine_set_from_avp` (no `setid_avp`) and the default-set
/// check of `rtpp_function_call`: the sets of `direction` (1: the first
/// set first, 2: the second first) for this message. A message that did
/// not call `set_rtpengine_set` uses the default set; a second pass
/// follows whenever this worker's last `set_rtpengine_set` chose two
/// different sets, even for another message (Kamailio keeps them per
/// process and checks them before the message).
fn passes(ctx: &mut Ctx<'_>, direction: u8) -> Vec<Pass> {
    let current = ctx
        .headers
        .iter()
        .any(|h| matches!(h, HeaderOp::Note(SET_NOTE, _)));
    let (sel1, sel2) = crate::engine::module::worker_state::<WorkerModules>(ctx)
        .map_or((None, None), |w| (w.rtpengine.sel1, w.rtpengine.sel2));
    let active = |dir: u8| {
        if !current {
            return DEFAULT_SET;
        }
        let s = if dir == 1 || sel2.is_none() {
            sel1
        } else {
            sel2
        };
        s.unwrap_or(DEFAULT_SET)
    };
    let more = sel2.is_some() && sel2 != sel1;
    let mut v = vec![Pass {
        set: active(direction),
        more,
    }];
    if more {
        v.push(Pass {
            set: active(if direction == 1 { 2 } else { 1 }),
            more: false,
        });
    }
    v
}

/// `rtpp_function_call_simple` per set.
fn simple(ctx: &mut Ctx<'_>, op: Op, flags: Option<&[u8]>) -> i32 {
    let mut rc = -1;
    for p in passes(ctx, 1) {
        rc = simple_in(ctx, op, flags, p.set);
        if rc < 0 {
            return rc;
        }
    }
    rc
}

fn simple_in(ctx: &mut Ctx<'_>, op: Op, flags: Option<&[u8]>, set: u32) -> i32 {
    match call(ctx, op, flags, set, None) {
        Ok(_) => 1,
        Err(e) => {
            log(ctx, Level::Err, &e);
            -1
        }
    }
}

/// `rtpengine_offer_answer` per set: with two sets, the first set's SDP
/// goes to the second (`body_intermediate`), whose SDP replaces the body.
fn offer_answer(ctx: &mut Ctx<'_>, op: Op, flags: Option<&[u8]>, direction: u8) -> i32 {
    let mut intermediate: Option<Vec<u8>> = None;
    let mut rc = -1;
    for p in passes(ctx, direction) {
        rc = offer_answer_in(ctx, op, flags, p, &mut intermediate);
        if rc < 0 {
            return rc;
        }
    }
    rc
}

/// One pass; `more`: keep the SDP for the next pass instead of writing
/// the body. `manage` passes `more: false` each time, as Kamailio does.
fn offer_answer_in(
    ctx: &mut Ctx<'_>,
    op: Op,
    flags: Option<&[u8]>,
    p: Pass,
    intermediate: &mut Option<Vec<u8>>,
) -> i32 {
    let reply = match call(ctx, op, flags, p.set, intermediate.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            log(ctx, Level::Err, &e);
            return -1;
        }
    };
    let Some(sdp) = reply.get_str("sdp") else {
        log(
            ctx,
            Level::Err,
            "failed to extract sdp body from proxy reply",
        );
        return -1;
    };
    let sdp = sdp.to_vec();
    if p.more {
        *intermediate = Some(sdp);
        return 1;
    }
    *intermediate = None;
    ctx.headers.retain(|h| !matches!(h, HeaderOp::Body(_)));
    ctx.headers.push(HeaderOp::Body(sdp));
    1
}

/// The body is SDP for `rtpengine_manage` (the core's `parse_sdp`):
/// not empty, and Content-Type `application/sdp`.
fn has_sdp(ctx: &Ctx<'_>) -> bool {
    !ctx.msg.body().is_empty()
        && matches!(ctx.msg.content_type(), Ok(Some(ct))
            if ct.mtype.eq_ignore_ascii_case(b"application") && ct.subtype.eq_ignore_ascii_case(b"sdp"))
}

fn manage(ctx: &mut Ctx<'_>, flags: Option<&[u8]>) -> i32 {
    let mut rc = -1;
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for p in passes(ctx, 1) {
        let mut written = None;
        rc = manage_in(ctx, flags, p.set, &mut written);
        if rc < 0 {
            return rc;
        }
        bodies.extend(written);
    }
    // Each pass deletes the body and inserts its SDP after it (Kamailio's
    // lumps): with two sets, the message carries both SDPs, the first
    // set's then the second's.
    if bodies.len() > 1 {
        ctx.headers.retain(|h| !matches!(h, HeaderOp::Body(_)));
        ctx.headers.push(HeaderOp::Body(bodies.concat()));
    }
    rc
}

fn manage_in(
    ctx: &mut Ctx<'_>,
    flags: Option<&[u8]>,
    set: u32,
    written: &mut Option<Vec<u8>>,
) -> i32 {
    let once = Pass { set, more: false };
    let mut oa = |ctx: &mut Ctx<'_>, op: Op| {
        let rc = offer_answer_in(ctx, op, flags, once, &mut None);
        if rc > 0 {
            *written = ctx.headers.iter().rev().find_map(|h| match h {
                HeaderOp::Body(b) => Some(b.clone()),
                _ => None,
            });
        }
        rc
    };
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
        return simple_in(ctx, Op::Delete, flags, set);
    }
    let sdp = has_sdp(ctx);
    if ctx.msg.is_request() {
        if matches!(method, Method::Ack | Method::Prack) && sdp {
            return oa(ctx, Op::Answer);
        }
        if method == Method::Update && sdp {
            return oa(ctx, Op::Offer);
        }
        if method == Method::Invite && sdp {
            media_relay::mark_sdp(ctx, SDP_NOTE);
            if ctx.tm.route == RouteKind::Failure {
                return simple_in(ctx, Op::Delete, flags, set);
            }
            return oa(ctx, Op::Offer);
        }
    } else {
        if ctx.msg.status().unwrap_or(0) >= 300 {
            return simple_in(ctx, Op::Delete, flags, set);
        }
        if sdp {
            if method == Method::Update {
                return oa(ctx, Op::Answer);
            }
            let had_sdp = crate::tm::with_tx(ctx, |t, _| {
                t.headers
                    .iter()
                    .any(|h| matches!(h, HeaderOp::Note(SDP_NOTE, _)))
            });
            return match had_sdp {
                None | Some(true) => oa(ctx, Op::Answer),
                Some(false) => oa(ctx, Op::Offer),
            };
        }
    }
    -1
}

/// `rtpengine_manage()`.
pub fn rtpengine_manage(ctx: &mut Ctx<'_>) -> i32 {
    manage(ctx, None)
}

/// `rtpengine_manage(flags)`.
pub fn rtpengine_manage1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    manage(ctx, Some(flags))
}

/// `rtpengine_offer()`.
pub fn rtpengine_offer(ctx: &mut Ctx<'_>) -> i32 {
    offer_answer(ctx, Op::Offer, None, 1)
}

/// `rtpengine_offer(flags)`.
pub fn rtpengine_offer1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    offer_answer(ctx, Op::Offer, Some(flags), 1)
}

fn answer(ctx: &mut Ctx<'_>, flags: Option<&[u8]>) -> i32 {
    if ctx.msg.is_request() && !matches!(ctx.msg.method(), Some(Method::Ack | Method::Prack)) {
        return -1;
    }
    offer_answer(ctx, Op::Answer, flags, 2)
}

/// `rtpengine_answer()`: in a reply, or an ACK/PRACK (else -1); with two
/// sets, the second set first.
pub fn rtpengine_answer(ctx: &mut Ctx<'_>) -> i32 {
    answer(ctx, None)
}

/// `rtpengine_answer(flags)`.
pub fn rtpengine_answer1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    answer(ctx, Some(flags))
}

/// `rtpengine_delete()`.
pub fn rtpengine_delete(ctx: &mut Ctx<'_>) -> i32 {
    simple(ctx, Op::Delete, None)
}

/// `rtpengine_delete(flags)`.
pub fn rtpengine_delete1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    simple(ctx, Op::Delete, Some(flags))
}

/// `rtpengine_query()`: 1 when rtpengine knows the call (no statistics
/// PVs are supported, so nothing is stored).
pub fn rtpengine_query(ctx: &mut Ctx<'_>) -> i32 {
    simple(ctx, Op::Query, None)
}

/// `rtpengine_query(flags)`.
pub fn rtpengine_query1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    simple(ctx, Op::Query, Some(flags))
}

/// `start_recording()`: the ng `start recording` command.
pub fn start_recording(ctx: &mut Ctx<'_>) -> i32 {
    simple(ctx, Op::StartRecording, None)
}

/// `start_recording(flags)`.
pub fn start_recording1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    simple(ctx, Op::StartRecording, Some(flags))
}

/// `stop_recording()`: the ng `stop recording` command.
pub fn stop_recording(ctx: &mut Ctx<'_>) -> i32 {
    simple(ctx, Op::StopRecording, None)
}

/// `stop_recording(flags)`.
pub fn stop_recording1(ctx: &mut Ctx<'_>, flags: &[u8]) -> i32 {
    simple(ctx, Op::StopRecording, Some(flags))
}

/// `set_rtpengine_set_n` of a constant: the set `id` looked up; -1 when
/// it is not configured (only a PV's value can be: a constant is checked
/// at start-up).
fn set_n(ctx: &mut Ctx<'_>, id: i32) -> Result<u32, i32> {
    let r = &Modules::of(ctx).rtpengine;
    let found = u32::try_from(id)
        .ok()
        .and_then(|n| r.sets.iter().find(|s| s.id == n));
    match found {
        Some(set) => Ok(set.id),
        None => {
            // Kamailio prints the value as unsigned.
            log(
                ctx,
                Level::Err,
                &format!("could not locate rtpengine set {}", id.cast_unsigned()),
            );
            Err(-1)
        }
    }
}

fn set_sets(ctx: &mut Ctx<'_>, id1: i32, id2: Option<i32>) -> i32 {
    ctx.headers
        .retain(|h| !matches!(h, HeaderOp::Note(SET_NOTE, _)));
    let select = |ctx: &mut Ctx<'_>, first: bool, v: Option<u32>| {
        if let Some(w) = crate::engine::module::worker_state::<WorkerModules>(ctx) {
            if first {
                w.rtpengine.sel1 = v;
            } else {
                w.rtpengine.sel2 = v;
            }
        }
    };
    select(ctx, true, None);
    select(ctx, false, None);
    for (first, id) in [(true, Some(id1)), (false, id2)] {
        let Some(id) = id else { break };
        let set = match set_n(ctx, id) {
            Ok(s) => s,
            Err(rc) => return rc,
        };
        select(ctx, first, Some(set));
        if first {
            ctx.headers.push(HeaderOp::Note(SET_NOTE, Vec::new()));
        }
    }
    1
}

/// `set_rtpengine_set(id)`: the set of the message's later commands; -1
/// for a set not configured (a PV's value).
pub fn set_rtpengine_set(ctx: &mut Ctx<'_>, id: i32) -> i32 {
    set_sets(ctx, id, None)
}

/// `set_rtpengine_set(id1, id2)`: offers, deletes and the like go to
/// `id1` then `id2` (the first one's SDP given to the second), answers to
/// `id2` then `id1`.
pub fn set_rtpengine_set2(ctx: &mut Ctx<'_>, id1: i32, id2: i32) -> i32 {
    set_sets(ctx, id1, Some(id2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, op: Op) -> (NgFlags, Op) {
        let mut ng = NgFlags::default();
        let sdp_op = matches!(op, Op::Offer | Op::Answer);
        let mut op = op;
        parse_flags(&mut ng, &mut op, sdp_op, text.as_bytes()).unwrap();
        (ng, op)
    }

    #[test]
    fn flags_as_kamailio_parses_them() {
        let (ng, _) = parse(
            "SIP-source-address replace-origin replace-session-connection ICE=remove RTP/AVP \
             direction=internal external codec-strip-PCMA transcode=G722 TOS=184 via-branch=1 \
             delete-delay trust-address",
            Op::Offer,
        );
        assert_eq!(
            ng.flags,
            vec![
                b"SIP-source-address".to_vec(),
                b"delete-delay".to_vec(),
                b"trust-address".to_vec()
            ]
        );
        assert_eq!(
            ng.replace,
            vec![b"origin".to_vec(), b"session-connection".to_vec()]
        );
        assert_eq!(
            ng.dict,
            vec![
                (b"ICE".to_vec(), Item::str("remove")),
                (b"TOS".to_vec(), Item::Int(184))
            ]
        );
        assert_eq!(ng.transport, 0x100);
        assert_eq!(
            ng.direction,
            vec![b"internal".to_vec(), b"external".to_vec()]
        );
        assert_eq!(ng.codec.len(), 2);
        assert_eq!(ng.via, 1);
        // Sub-lists exist only for offer/answer.
        let (ng, _) = parse("replace-origin foo", Op::Delete);
        assert!(ng.replace.is_empty());
        assert_eq!(ng.flags, vec![b"foo".to_vec()]);
        let (_, op) = parse("force-answer", Op::Offer);
        assert_eq!(op, Op::Answer);
        let mut ng = NgFlags::default();
        let mut op = Op::Delete;
        assert!(parse_flags(&mut ng, &mut op, false, b"force-answer").is_err());
        assert!(parse_flags(&mut ng, &mut op, false, b"call-id").is_err());
        assert!(parse_flags(&mut ng, &mut op, false, b"via-branch=x").is_err());
    }

    #[test]
    fn sockets() {
        let mut p = ModParams::new();
        p.push(
            M,
            "rtpengine_sock",
            ParamValue::Str("udp:127.0.0.1:2223 udp:127.0.0.1:2224=3".into()),
        );
        p.push(
            M,
            "rtpengine_sock",
            ParamValue::Str("1 == udp:127.0.0.1:2225".into()),
        );
        let r = Rtpengine::from_params(&p).unwrap();
        assert_eq!(r.nodes.len(), 3);
        assert_eq!(r.nodes[1].weight, 3);
        assert_eq!(r.sets.len(), 2);
        assert_eq!(r.sets[1].id, 1);
        assert!(r.check_set("0").is_ok() && r.check_set("1").is_ok());
        assert_eq!(
            r.check_set("7").unwrap_err(),
            "rtpengine: rtpp_proxy set 7 not configured"
        );
        assert_eq!(r.check_set("x").unwrap_err(), "rtpengine: bad number <x>");
        let mut p = ModParams::new();
        p.push(M, "rtpengine_sock", ParamValue::Str("unix:/run/x".into()));
        assert!(Rtpengine::from_params(&p).is_err());
    }
}

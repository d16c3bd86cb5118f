//! Requests tm sends on its own: Kamailio's tm UAC API (`t_uac`, with the
//! request built as `build_uac_req` builds it). The dialog module's BYEs,
//! dispatcher's OPTIONS probes, uac's `uac_req_send` and tm's `t_uac_send`
//! go through here.
//!
//! A local request is a client transaction in the shared table like any
//! other (its replies find it by the label in its Via branch) with no
//! server side: retransmitted on UDP (T1 doubling to T2), given a faked 408
//! after `fr_timer`, and its final reply handed to the sender's
//! [`OnDone`] (Kamailio's `TMCB_LOCAL_COMPLETED`) instead of being relayed.
//! Provisional replies only stretch the retransmissions. INVITE is not
//! supported yet: it needs the ACK of its 2xx, which no caller here sends.
//!
//! Module timers have no tm at hand: they [`queue`] a request, and the
//! engine sends what its thread queued after the timers and after each
//! message ([`send_queued`]), as it runs the events modules raise.
//! Script functions [`send`] at once, in the order of the script's other
//! messages, as Kamailio does.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::*;
use crate::engine::module::ModuleSet;
use crate::engine::trans::md5;
use crate::sip::HeaderName;
use crate::sip::encode::write_hex;
use crate::transport::RecvInfo;

/// A final reply to a local request, received or faked (the 408 of a
/// timeout: `reply` is `None`).
#[derive(Clone, Copy, Debug)]
pub struct Completion<'a> {
    pub code: u16,
    pub reason: &'a [u8],
    /// The reply and where it came from.
    pub reply: Option<(&'a Message<'a>, &'a RecvInfo)>,
}

/// What runs when a local request completes. It runs on the worker that
/// got the final reply (or ran the timer), with no transaction locked; it
/// may [`queue`] requests and raise events.
pub type OnDone = Arc<dyn Fn(&Completion<'_>) + Send + Sync>;

/// The dialog a local request is sent in (Kamailio's `dlg_t`): who it is
/// from and to, and where it goes. Empty `call_id`/`loc_tag`: tm makes
/// them, as Kamailio's `t_uac` does for a request outside any dialog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalDialog {
    pub call_id: Vec<u8>,
    /// From: a URI or a name-addr (with `<>`, a display name).
    pub loc_uri: Vec<u8>,
    pub loc_tag: Vec<u8>,
    /// To, as `loc_uri`.
    pub rem_uri: Vec<u8>,
    pub rem_tag: Vec<u8>,
    /// The CSeq number.
    pub loc_seq: u32,
    /// The Request-URI (the remote target).
    pub rem_target: Vec<u8>,
    /// The route set: Route values in order, each a name-addr. The
    /// request goes to the first one if it is a loose router (`;lr`).
    pub route_set: Vec<Vec<u8>>,
    /// Where to send it, over everything else (Kamailio's `dst_uri`: an
    /// outbound proxy, a dialog's received address).
    pub dst_uri: Option<Vec<u8>>,
    /// The listen socket to send from (Kamailio's `send_sock`); the first
    /// of the protocol and family if `None`.
    pub send_sock: Option<std::net::SocketAddr>,
}

/// A request to send.
#[derive(Clone, Default)]
pub struct LocalRequest {
    pub method: Vec<u8>,
    pub dialog: LocalDialog,
    /// Header lines after the ones tm writes (each ending in CRLF; a
    /// missing last CRLF is added, as Kamailio does).
    pub headers: Vec<u8>,
    pub body: Vec<u8>,
    pub on_done: Option<OnDone>,
}

impl fmt::Debug for LocalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRequest")
            .field("method", &String::from_utf8_lossy(&self.method))
            .field("dialog", &self.dialog)
            .field("on_done", &self.on_done.is_some())
            .finish_non_exhaustive()
    }
}

/// The local side of a transaction tm started itself.
#[derive(Clone, Default)]
pub struct LocalUac {
    pub on_done: Option<OnDone>,
}

impl fmt::Debug for LocalUac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalUac")
            .field("on_done", &self.on_done.is_some())
            .finish()
    }
}

thread_local! {
    /// The requests queued and not yet sent, and how many were ever
    /// queued on this thread (a [`queue_mark`]).
    static QUEUED: RefCell<(Vec<LocalRequest>, u64)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Queues `req` to be sent by the engine on this thread after the current
/// timer run or message (what module timers use).
pub fn queue(req: LocalRequest) {
    QUEUED.with(|q| {
        let mut q = q.borrow_mut();
        q.0.push(req);
        q.1 += 1;
    });
}

/// How many requests this thread has queued so far: an event raised now
/// runs after those are sent ([`send_queued_until`]), so a module's
/// sends and events keep the order it made them in.
pub fn queue_mark() -> u64 {
    QUEUED.with(|q| q.borrow().1)
}

/// Sends what this thread [`queue`]d. A request that cannot be sent (an
/// unresolvable target, no socket) is logged and completes at once, as a
/// faked 408 to its `on_done` (Kamailio's callers see a failed `t_uac`
/// the same way a timeout: the destination did not answer).
/// Returns whether there was any.
pub fn send_queued(
    tm: &Tm,
    core: &CoreConfig,
    now: Instant,
    out: &mut Vec<Transmit>,
    hook: Option<&mut LocalRoute<'_>>,
) -> bool {
    send_queued_until(u64::MAX, tm, core, now, out, hook)
}

/// [`send_queued`] for the requests queued before `mark` (a
/// [`queue_mark`]) only.
pub fn send_queued_until(
    mark: u64,
    tm: &Tm,
    core: &CoreConfig,
    now: Instant,
    out: &mut Vec<Transmit>,
    mut hook: Option<&mut LocalRoute<'_>>,
) -> bool {
    let queued: Vec<LocalRequest> = QUEUED.with(|q| {
        let mut q = q.borrow_mut();
        let unsent = q.0.len() as u64;
        // The first unsent request is number `q.1 - unsent`.
        let n = mark.saturating_sub(q.1 - unsent).min(unsent);
        q.0.drain(..usize::try_from(n).unwrap_or(usize::MAX))
            .collect()
    });
    let any = !queued.is_empty();
    for req in queued {
        let on_done = req.on_done.clone();
        if let Err(e) = send_with(tm, core, req, now, out, hook.as_deref_mut()) {
            if core.debug.get() >= crate::engine::log::Level::Err as i32 {
                core.log.write(
                    crate::engine::log::Level::Err,
                    "",
                    format!("tm: local request not sent (error {e})\n").as_bytes(),
                );
            }
            if let Some(cb) = on_done {
                cb(&Completion {
                    code: 408,
                    reason: b"Request Timeout",
                    reply: None,
                });
            }
        }
    }
    any
}

/// Sends `req` as a new client transaction. Returns its Call-ID.
///
/// # Errors
/// Kamailio's internal error codes: an unresolvable or bad target
/// (`E_BAD_ADDRESS`, `E_BAD_URI`), no listen socket for it (`E_SEND`), a
/// full table (`E_OUT_OF_MEM`), an INVITE (not supported yet: `E_CFG`).
pub fn send(
    tm: &Tm,
    core: &CoreConfig,
    req: LocalRequest,
    now: Instant,
    out: &mut Vec<Transmit>,
) -> Result<Vec<u8>, i32> {
    send_with(tm, core, req, now, out, None)
}

/// What runs `event_route[tm:local-request]` on a request before it is
/// sent: the request as built (changed in place by the block's edits),
/// where it goes; false if the block dropped it.
pub type LocalRoute<'r> = dyn FnMut(&mut Vec<u8>, &LocalHop<'_>) -> bool + 'r;

/// Where a local request goes, for `event_route[tm:local-request]`.
#[derive(Clone, Copy, Debug)]
pub struct LocalHop<'a> {
    /// The next hop's URI (`$du` in the block).
    pub uri: &'a [u8],
    pub proto: Proto,
    pub local: std::net::SocketAddr,
}

/// [`send`] from a script function: `event_route[tm:local-request]`
/// runs on the request first, if the cfg has it.
///
/// # Errors
/// As [`send`] (a request the block drops is not an error: nothing is
/// sent, its callback never runs).
pub fn send_from(ctx: &mut Ctx<'_>, req: LocalRequest) -> Result<Vec<u8>, i32> {
    let (tm, core, now) = (ctx.tm.shared, ctx.core, ctx.now);
    match ctx.tm.script {
        Some(script) if script.has_event_route(LOCAL_REQUEST) => {
            let env = RouteEnv {
                script,
                core,
                tm,
                modules: ctx.modules,
            };
            let worker = &mut *ctx.worker;
            let mut extra = Vec::new();
            let mut hook = |data: &mut Vec<u8>, hop: &LocalHop<'_>| {
                run_local_request(&env, worker, data, hop, &mut extra, now)
            };
            let r = send_with(tm, core, req, now, ctx.out, Some(&mut hook));
            ctx.out.extend(extra);
            r
        }
        _ => send_with(tm, core, req, now, ctx.out, None),
    }
}

/// The event route run on every local request before it is sent.
pub const LOCAL_REQUEST: &str = "tm:local-request";

/// What [`run_local_request`] runs the block with.
pub struct RouteEnv<'e> {
    pub script: &'e dyn Script,
    pub core: &'e CoreConfig,
    pub tm: &'e Tm,
    pub modules: &'e dyn ModuleSet,
}

/// `event_route[tm:local-request]` on the request `data` (Kamailio's
/// `t_run_local_req`): the request is the message, `$du` its next hop;
/// header edits and a new R-URI are applied to it (its Via kept); false
/// if the block dropped it.
pub fn run_local_request(
    env: &RouteEnv<'_>,
    worker: &mut WorkerState,
    data: &mut Vec<u8>,
    hop: &LocalHop<'_>,
    out: &mut Vec<Transmit>,
    now: Instant,
) -> bool {
    let copy = data.clone();
    let Ok(msg) = Message::parse(&copy) else {
        return true;
    };
    let rcv = RecvInfo {
        proto: hop.proto,
        src: hop.local,
        local: hop.local,
        conn: None,
    };
    let rebuilt = crate::engine::ctx::Rebuilt::default();
    let mut ctx = Ctx::new(&msg, &rcv, env.core, worker, out);
    ctx.rebuilt = Some(&rebuilt);
    ctx.modules = env.modules;
    ctx.now = now;
    ctx.tm.shared = env.tm;
    ctx.tm.script = Some(env.script);
    ctx.dst_uri = Some(hop.uri.to_vec());
    let flow = env.script.event_route(LOCAL_REQUEST, &mut ctx);
    if matches!(flow, Some(Err(Stop::Drop))) {
        return false;
    }
    let new_uri = ctx.new_uri.take();
    let ops = std::mem::take(&mut ctx.headers);
    drop(ctx);
    if new_uri.is_none() && ops.is_empty() {
        return true;
    }
    let mut ed = Editor::new(&msg);
    if let Some(u) = new_uri
        && msg.ruri_bytes() != Some(&u[..])
        && ed.set_ruri(&u).is_err()
    {
        return true;
    }
    let sock = (hop.proto, hop.local);
    if crate::engine::forward::apply_header_ops(&mut ed, &ops, env.core, &rcv, sock).is_ok() {
        *data = ed.serialize();
    }
    true
}

fn send_with(
    tm: &Tm,
    core: &CoreConfig,
    mut req: LocalRequest,
    now: Instant,
    out: &mut Vec<Transmit>,
    hook: Option<&mut LocalRoute<'_>>,
) -> Result<Vec<u8>, i32> {
    if req.method.eq_ignore_ascii_case(b"INVITE") || req.method.eq_ignore_ascii_case(b"ACK") {
        return Err(E_CFG);
    }
    let d = &mut req.dialog;
    let hop = next_hop(d);
    let (dst, proto) = resolve_uri(&hop)?;
    let local = match d.send_sock {
        Some(s) if core.listen.contains(&(proto, s)) => s,
        Some(_) => return Err(err::SEND),
        None => core.socket_for(proto, &dst).ok_or(err::SEND)?,
    };
    if d.call_id.is_empty() {
        d.call_id = new_call_id(core);
    }
    let mut seq = Vec::with_capacity(10);
    crate::sip::encode::write_u32(&mut seq, d.loc_seq);
    let hash = (fnv1a(&[&d.call_id, &seq]) & 0xffff) as u16;
    let id = tm.table.next_id();
    let ids = id.to_le_bytes();
    let label = (u128::from(fnv1a(&[b"tm-local", &d.call_id, &ids])) << 64)
        | u128::from(fnv1a(&[&ids, &d.call_id, b"tm-local"]));
    let via = via_line(core, proto, local, &build::via_branch(hash, label, 0));
    let mut data = build_request(core, &req, &via);
    if let Some(hook) = hook {
        let h = LocalHop {
            uri: &hop,
            proto,
            local,
        };
        if !hook(&mut data, &h) {
            // Dropped by the block: nothing sent, no transaction, and, as
            // Kamailio's `t_uac` (which turns `E_DROP` into 0), not an
            // error; the sender's callback never runs.
            return Ok(req.dialog.call_id);
        }
    }
    let to = Dest {
        proto,
        dst,
        local: Some(local),
        conn: None,
        no_connect: false,
    };
    let rcv = RecvInfo {
        proto,
        src: local,
        local,
        conn: None,
    };
    let branch = UacBranch {
        uri: req.dialog.rem_target.clone(),
        dst_uri: Some(hop),
        flags: 0,
        request: data.clone(),
        to,
        retr: (proto == Proto::Udp).then(|| Retr::start(now, tm.cfg.t1)),
        fr_at: Some(now + tm.cfg.fr_timer),
        fr_inv: false,
        provisional: 0,
        reply: None,
        timed_out: false,
        leg: 0,
        cancel: Cancel::None,
        ack: None,
    };
    let tx = Transaction {
        id,
        hash,
        label,
        key: table::ReqKey::Local(id),
        method: req.method.clone(),
        is_invite: false,
        request: data.clone(),
        rcv,
        force_rport: false,
        reply_no_connect: false,
        flags: 0,
        avps: crate::engine::Avps::default(),
        headers: Vec::new(),
        armed: Armed::default(),
        branches: vec![branch],
        leg: 0,
        uas: txn::Uas::default(),
        canceled: false,
        to_tag: Vec::new(),
        delete_at: None,
        relayed: true,
        callbacks: 0,
        fr_timeout: tm.cfg.fr_timer,
        fr_inv_timeout: tm.cfg.fr_inv_timer,
        auto_inv_100: false,
        local: Some(LocalUac {
            on_done: req.on_done.clone(),
        }),
    };
    tm.table.insert(tx).map_err(|_| E_OUT_OF_MEM)?;
    out.push(to.transmit(data));
    Ok(req.dialog.call_id)
}

/// Where the request goes: `dst_uri`, else the first route if it is a
/// loose router, else the Request-URI.
fn next_hop(d: &LocalDialog) -> Vec<u8> {
    if let Some(u) = &d.dst_uri {
        return u.clone();
    }
    if let Some(first) = d.route_set.first() {
        let uri = strip_brackets(first);
        if crate::sip::Uri::parse(uri).is_ok_and(|u| u.param(b"lr").is_some()) {
            return uri.to_vec();
        }
    }
    d.rem_target.clone()
}

/// The URI inside `<...>` of a name-addr (the whole text if none).
fn strip_brackets(v: &[u8]) -> &[u8] {
    match (
        v.iter().position(|&b| b == b'<'),
        v.iter().rposition(|&b| b == b'>'),
    ) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v,
    }
}

/// Our Via of a local request, as for a relayed one.
fn via_line(
    core: &CoreConfig,
    proto: Proto,
    local: std::net::SocketAddr,
    branch: &[u8],
) -> Vec<u8> {
    let (host, port) = core.via_sent_by(local);
    let mut v = format!(
        "Via: SIP/2.0/{} {host}",
        match proto {
            Proto::Udp => "UDP",
            Proto::Tcp => "TCP",
        }
    )
    .into_bytes();
    if let Some(port) = port {
        v.extend_from_slice(format!(":{port}").as_bytes());
    }
    v.extend_from_slice(b";branch=");
    v.extend_from_slice(branch);
    v.extend_from_slice(b"\r\n");
    v
}

/// Kamailio's `build_uac_req`: Request line, Via, To, From, CSeq,
/// Call-ID, Route set, Max-Forwards (unless the headers have one),
/// Content-Length, User-Agent, the caller's headers, the body.
fn build_request(core: &CoreConfig, req: &LocalRequest, via: &[u8]) -> Vec<u8> {
    let d = &req.dialog;
    let mut w = Vec::with_capacity(512 + req.headers.len() + req.body.len());
    w.extend_from_slice(&req.method);
    w.push(b' ');
    w.extend_from_slice(&d.rem_target);
    w.extend_from_slice(b" SIP/2.0\r\n");
    w.extend_from_slice(via);
    name_addr(&mut w, b"To: ", &d.rem_uri, &d.rem_tag);
    let tag = if d.loc_tag.is_empty() {
        from_tag(core, &d.call_id, &d.rem_uri)
    } else {
        d.loc_tag.clone()
    };
    name_addr(&mut w, b"From: ", &d.loc_uri, &tag);
    w.extend_from_slice(b"CSeq: ");
    crate::sip::encode::write_u32(&mut w, d.loc_seq);
    w.push(b' ');
    w.extend_from_slice(&req.method);
    w.extend_from_slice(b"\r\nCall-ID: ");
    w.extend_from_slice(&d.call_id);
    w.extend_from_slice(b"\r\n");
    if !d.route_set.is_empty() {
        w.extend_from_slice(b"Route: ");
        for (i, r) in d.route_set.iter().enumerate() {
            if i > 0 {
                w.extend_from_slice(b", ");
            }
            w.extend_from_slice(r);
        }
        w.extend_from_slice(b"\r\n");
    }
    let has_maxfwd =
        req.headers.len() >= 15 && memchr::memmem::find(&req.headers, b"Max-Forwards:").is_some();
    if !has_maxfwd {
        w.extend_from_slice(b"Max-Forwards: 70\r\n");
    }
    w.extend_from_slice(b"Content-Length: ");
    crate::sip::encode::write_u32(&mut w, u32::try_from(req.body.len()).unwrap_or(u32::MAX));
    w.extend_from_slice(b"\r\nUser-Agent: ");
    w.extend_from_slice(reply::KAMAILIO_SERVER);
    w.extend_from_slice(b"\r\n");
    if req.headers.len() > 2 {
        w.extend_from_slice(&req.headers);
        if req.headers.last() != Some(&b'\n') {
            w.extend_from_slice(b"\r\n");
        }
    }
    w.extend_from_slice(b"\r\n");
    w.extend_from_slice(&req.body);
    w
}

/// `To: `/`From: ` with the URI in `<>` unless it is a name-addr already
/// (its last `>` ends it or precedes its parameters), and the tag.
fn name_addr(w: &mut Vec<u8>, name: &[u8], uri: &[u8], tag: &[u8]) {
    let bracketed = uri
        .iter()
        .rposition(|&b| b == b'>')
        .is_some_and(|p| p == uri.len() - 1 || uri[p + 1] == b';');
    w.extend_from_slice(name);
    if !bracketed {
        w.push(b'<');
    }
    w.extend_from_slice(uri);
    if !bracketed {
        w.push(b'>');
    }
    if !tag.is_empty() {
        w.extend_from_slice(b";tag=");
        w.extend_from_slice(tag);
    }
    w.extend_from_slice(b"\r\n");
}

/// The first listen socket's address and port as Kamailio prints them
/// (its `address_str`, `port_no_str`).
fn first_socket(core: &CoreConfig) -> (String, String) {
    core.listen.first().map_or_else(
        || ("0.0.0.0".to_string(), "5060".to_string()),
        |(_, a)| (a.ip().to_string(), a.port().to_string()),
    )
}

/// Kamailio's From tag of a local request: the MD5 of "Long live
/// kamailio server" and the first socket's address and port, `-`, the
/// CRC-CCITT of the Call-ID and of the To URI (4 reversed hex digits each).
pub fn from_tag(core: &CoreConfig, call_id: &[u8], to_uri: &[u8]) -> Vec<u8> {
    let (addr, port) = first_socket(core);
    let mut src = Vec::with_capacity(64);
    src.extend_from_slice(b"Long live kamailio server");
    src.extend_from_slice(addr.as_bytes());
    src.extend_from_slice(port.as_bytes());
    let digest = md5(&src);
    let mut t = Vec::with_capacity(41);
    for b in digest {
        write_hex(&mut t, u64::from(b), 2);
    }
    t.push(b'-');
    crcitt_reverse_hex(&mut t, call_id);
    crcitt_reverse_hex(&mut t, to_uri);
    t
}

/// Kamailio's `crcitt_string_array` of one string: CRC-16/CCITT
/// (reflected, polynomial 0x8408, initial 0xFFFF, inverted), written as
/// reversed hex padded with `0` to 4 digits.
fn crcitt_reverse_hex(out: &mut Vec<u8>, s: &[u8]) {
    let mut crc: u16 = 0xffff;
    for &b in s {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    let start = out.len();
    build::write_reverse_hex(out, u64::from(!crc));
    while out.len() - start < 4 {
        out.push(b'0');
    }
}

/// The counter part of local Call-IDs: random at start, one more per
/// Call-ID (Kamailio's `callid_prefix`, 16 hex digits).
static CALLID_NR: std::sync::LazyLock<AtomicU64> = std::sync::LazyLock::new(|| {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    AtomicU64::new(h.finish())
});

/// A new Call-ID as Kamailio's tm makes them:
/// `<16 hex digits>-<pid>@<first socket address>`.
pub fn new_call_id(core: &CoreConfig) -> Vec<u8> {
    let n = CALLID_NR.fetch_add(1, Ordering::Relaxed);
    let (addr, _) = first_socket(core);
    let mut c = Vec::with_capacity(48);
    write_hex(&mut c, n, 16);
    c.extend_from_slice(format!("-{}@{addr}", std::process::id()).as_bytes());
    c
}

/// A `[proto:]host[:port]` listen socket as the cfg writes it.
pub fn parse_socket(s: &[u8]) -> Option<std::net::SocketAddr> {
    let s = std::str::from_utf8(s).ok()?;
    let rest = s
        .split_once(':')
        .filter(|(p, _)| ["udp", "tcp"].contains(&p.to_ascii_lowercase().as_str()))
        .map_or(s, |(_, r)| r);
    rest.parse().ok().or_else(|| {
        rest.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| std::net::SocketAddr::new(ip, 5060))
    })
}

/// `t_uac_send(method, ruri, nexthop, socket, headers, body)` (tm's
/// `t_uac_send`): a request outside any dialog. `headers` must have From
/// and To (their URIs and tags are used, display names and other
/// parameters dropped, as Kamailio's); a Call-ID, a CSeq (of the same
/// method) and a From tag are used if given, else made; the other headers
/// follow tm's own, `!!` in them replaced by the send socket's
/// `address:port`. A body needs a Content-Type and no Content-Length.
/// `nexthop` or `socket` may be empty or `.`. 1 sent, -1 not (logged).
pub fn t_uac_send(
    ctx: &mut Ctx<'_>,
    method: &[u8],
    ruri: &[u8],
    nexthop: &[u8],
    socket: &[u8],
    headers: &[u8],
    body: &[u8],
) -> i32 {
    match uac_send_request(ctx, method, ruri, nexthop, socket, headers, body) {
        Ok(req) => match send_from(ctx, req) {
            Ok(_) => 1,
            Err(e) => {
                crate::engine::log::error(ctx, &format!("tm: t_uac_send(): UAC error ({e})\n"));
                -1
            }
        },
        Err(why) => {
            crate::engine::log::error(ctx, &format!("tm: t_uac_send(): {why}\n"));
            -1
        }
    }
}

/// The request [`t_uac_send`] sends, or why none.
fn uac_send_request(
    ctx: &Ctx<'_>,
    method: &[u8],
    ruri: &[u8],
    nexthop: &[u8],
    socket: &[u8],
    headers: &[u8],
    body: &[u8],
) -> Result<LocalRequest, String> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if method.is_empty() {
        return Err("Empty method".into());
    }
    if crate::sip::Uri::parse(ruri).is_err() {
        return Err(format!("Invalid request uri \"{}\"", text(ruri)));
    }
    let nexthop = if nexthop == b"." { &b""[..] } else { nexthop };
    if !nexthop.is_empty() && crate::sip::Uri::parse(nexthop).is_err() {
        return Err(format!("Invalid next-hop uri \"{}\"", text(nexthop)));
    }
    let socket = if socket == b"." { &b""[..] } else { socket };
    let send_sock = if socket.is_empty() {
        None
    } else {
        let s = parse_socket(socket)
            .ok_or_else(|| format!("Invalid send socket \"{}\"", text(socket)))?;
        if !ctx.core.listen.iter().any(|(_, a)| *a == s) {
            return Err(format!("No local socket for \"{}\"", text(socket)));
        }
        Some(s)
    };
    // The headers, parsed as a message's.
    let mut buf = b"OPTIONS sip:x SIP/2.0\r\n".to_vec();
    buf.extend_from_slice(headers);
    if !headers.is_empty() && !headers.ends_with(b"\n") {
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    let msg = Message::parse(&buf).map_err(|_| "Invalid headers".to_string())?;
    let has = |n: HeaderName| msg.header(n).is_some();
    let check = || -> Result<(), &'static str> {
        if !body.is_empty() && !has(HeaderName::ContentType) {
            return Err("Content-Type missing");
        }
        if !body.is_empty() && has(HeaderName::ContentLength) {
            return Err("Content-Length disallowed");
        }
        if !has(HeaderName::To) {
            return Err("To missing");
        }
        if !has(HeaderName::From) {
            return Err("From missing");
        }
        Ok(())
    };
    check().map_err(|e| format!("t_uac_check_msg(): {e} -- checking values failed"))?;
    let na = |n: HeaderName| {
        msg.header(n)
            .and_then(crate::sip::NameAddr::parse)
            .ok_or_else(|| format!("Error in {n:?}"))
    };
    let (from, to) = (na(HeaderName::From)?, na(HeaderName::To)?);
    let loc_seq = match msg.header(HeaderName::CSeq) {
        None => 10,
        Some(v) => {
            let mut words = v
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            let (num, m) = (
                words.next().unwrap_or_default(),
                words.next().unwrap_or_default(),
            );
            if num.is_empty() || !num.iter().all(u8::is_ascii_digit) {
                return Err(
                    "t_uac_check_msg(): Non-numerical CSeq -- checking values failed".into(),
                );
            }
            if m != method {
                return Err(
                    "t_uac_check_msg(): CSeq method mismatch -- checking values failed".into(),
                );
            }
            num.iter().fold(0u32, |n, d| {
                n.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))
            })
        }
    };
    let call_id = msg
        .header(HeaderName::CallId)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let call_id = if call_id.is_empty() {
        new_call_id(ctx.core)
    } else {
        call_id
    };
    // The other headers, in order, `!!` replaced by the send socket.
    let hop = if nexthop.is_empty() { ruri } else { nexthop };
    let mut block = Vec::new();
    for h in msg.headers() {
        if matches!(
            h.name,
            HeaderName::From | HeaderName::To | HeaderName::CallId | HeaderName::CSeq
        ) {
            continue;
        }
        let line = &buf[h.line().start as usize..h.value().end as usize];
        if memchr::memmem::find(line, b"!!").is_some() {
            let sock = match send_sock {
                Some(s) => s,
                None => {
                    let (dst, proto) =
                        resolve_uri(hop).map_err(|_| "send_sock failed".to_string())?;
                    ctx.core
                        .socket_for(proto, &dst)
                        .ok_or_else(|| "send_sock failed".to_string())?
                }
            };
            let text = String::from_utf8_lossy(line)
                .replace("!!", &format!("{}:{}", sock.ip(), sock.port()));
            block.extend_from_slice(text.as_bytes());
        } else {
            block.extend_from_slice(line);
        }
        block.extend_from_slice(b"\r\n");
    }
    let loc_tag = match from.tag {
        Some(t) if !t.is_empty() => t.to_vec(),
        _ => from_tag(ctx.core, &call_id, ruri),
    };
    Ok(LocalRequest {
        method: method.to_vec(),
        dialog: LocalDialog {
            call_id,
            loc_uri: from.uri_raw.to_vec(),
            loc_tag,
            rem_uri: to.uri_raw.to_vec(),
            rem_tag: to.tag.map(<[u8]>::to_vec).unwrap_or_default(),
            loc_seq,
            rem_target: ruri.to_vec(),
            route_set: Vec::new(),
            dst_uri: (!nexthop.is_empty()).then(|| nexthop.to_vec()),
            send_sock,
        },
        headers: block,
        body: body.to_vec(),
        on_done: None,
    })
}

/// A final reply of local transaction `tx` (branch `idx`): recorded, the
/// transaction put on its wait timer. Returns what to tell the sender
/// once the transaction is unlocked.
pub(super) fn completed(
    tx: &mut Transaction,
    idx: usize,
    code: u16,
    reason: &[u8],
    now: Instant,
    cfg: &TmConfig,
) -> Option<OnDone> {
    if let Some(b) = tx.branches.get_mut(idx) {
        b.retr = None;
        b.fr_at = None;
        if b.reply.is_none() {
            b.reply = Some(Stored {
                code,
                reason: reason.to_vec(),
                data: Vec::new(),
                faked: false,
            });
        }
    }
    let first = tx.uas.status < 200;
    tx.uas.status = tx.uas.status.max(code);
    tx.maybe_wait(now, cfg);
    if first {
        tx.local.as_ref().and_then(|l| l.on_done.clone())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crcitt_matches_kamailio() {
        // crcitt_string_array of "" is ~0xFFFF = 0: "0000".
        let mut out = Vec::new();
        crcitt_reverse_hex(&mut out, b"");
        assert_eq!(out, b"0000");
        // CRC-16/X-25 of "123456789" is 0x906E; reversed hex "e609".
        let mut out = Vec::new();
        crcitt_reverse_hex(&mut out, b"123456789");
        assert_eq!(out, b"e609");
    }

    #[test]
    fn request_is_built_in_kamailios_order() {
        let core = CoreConfig {
            listen: vec![(Proto::Udp, "127.0.0.1:5070".parse().unwrap())],
            ..CoreConfig::default()
        };
        let req = LocalRequest {
            method: b"OPTIONS".to_vec(),
            dialog: LocalDialog {
                call_id: b"c1".to_vec(),
                loc_uri: b"sip:dispatcher@localhost".to_vec(),
                rem_uri: b"\"B\" <sip:b@h>".to_vec(),
                loc_seq: 10,
                rem_target: b"sip:b@h".to_vec(),
                route_set: vec![b"<sip:p1;lr>".to_vec(), b"<sip:p2;lr>".to_vec()],
                ..LocalDialog::default()
            },
            headers: b"X-A: 1".to_vec(),
            ..LocalRequest::default()
        };
        let data = build_request(&core, &req, b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z\r\n");
        let text = String::from_utf8(data).unwrap();
        let tag = String::from_utf8(from_tag(&core, b"c1", b"\"B\" <sip:b@h>")).unwrap();
        assert_eq!(
            text,
            format!(
                "OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z\r\n\
                 To: \"B\" <sip:b@h>\r\nFrom: <sip:dispatcher@localhost>;tag={tag}\r\n\
                 CSeq: 10 OPTIONS\r\nCall-ID: c1\r\nRoute: <sip:p1;lr>, <sip:p2;lr>\r\n\
                 Max-Forwards: 70\r\nContent-Length: 0\r\n\
                 User-Agent: kamailio (5.6.3 (x86_64/linux))\r\nX-A: 1\r\n\r\n"
            )
        );
        assert_eq!(tag.len(), 41);
        assert_eq!(next_hop(&req.dialog), b"sip:p1;lr");
    }
}

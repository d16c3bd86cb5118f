//! tm — transaction management (kamailio-modules.md §2), and the tmx
//! functions the stock configuration uses (§3).
//!
//! Sans-IO: time comes from [`Ctx::now`] or the timer's `now`; what must be
//! sent goes to `out`. The transaction table ([`table`]) is shared by every
//! worker; a transaction's state machine and timers are in [`txn`], the
//! messages tm builds in [`build`], best-reply selection in [`select`].
//!
//! Routes run with their transaction locked: the script's tm functions
//! reach it through [`TmCtx::tx`] and never look it up again, so a route
//! never waits on its own transaction (and, as in Kamailio, replies of a
//! transaction whose failure route runs wait for it).

pub mod build;
pub mod config;
pub mod select;
pub mod table;
pub mod txn;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::engine::forward::{err, resolve_host, resolve_uri};
use crate::engine::{CoreConfig, Ctx, Script, Stop, WorkerState};
use crate::sip::encode::fnv1a;
use crate::sip::reply::{self, ReplyOpts};
use crate::sip::{Editor, Message, Method};
use crate::transport::{Proto, Transmit};

pub use config::TmConfig;
use table::{Insert, Table, TxHandle, hash_index, lock_tx, request_key};
use txn::{Armed, Cancel, Dest, Retr, Stored, Transaction, UacBranch, send_cancel};

use super::Modules;

/// Kamailio's E_SCRIPT: `t_newtran` when the transaction already exists.
pub const E_SCRIPT: i32 = -10;
/// E_OUT_OF_MEM: the table is full.
pub const E_OUT_OF_MEM: i32 = -2;

/// tm's shared state.
#[derive(Debug)]
pub struct Tm {
    pub cfg: TmConfig,
    pub table: Table,
    /// t_precheck_trans: requests being processed right now.
    precheck: Mutex<HashSet<u64>>,
}

impl Default for Tm {
    fn default() -> Self {
        Self::with_config(TmConfig::default())
    }
}

impl Tm {
    pub fn with_config(cfg: TmConfig) -> Self {
        Self {
            table: Table::new(cfg.max_transactions),
            cfg,
            precheck: Mutex::new(HashSet::new()),
        }
    }

    /// tm from the cfg's `modparam("tm", ...)` lines.
    ///
    /// # Errors
    /// A bad parameter value.
    pub fn new(params: &crate::engine::params::ModParams) -> Result<Self, String> {
        Ok(Self::with_config(TmConfig::from_params(params)?))
    }

    /// Timer resolution (Kamailio's is 1/16 s; retransmissions use T1).
    pub fn tick(&self) -> Duration {
        (self.cfg.t1 / 10).clamp(Duration::from_millis(5), Duration::from_millis(50))
    }
}

/// The kind of route being run (`t_is_*_route`, `t_check_trans`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouteKind {
    #[default]
    Request,
    Failure,
    Branch,
    Onreply,
}

/// The transaction of the message being processed.
#[derive(Default)]
pub enum TxRef<'a> {
    #[default]
    None,
    /// Created or found in this request route; locked per call.
    Shared(TxHandle),
    /// Locked by the engine while a failure/onreply route runs.
    Locked(&'a mut Transaction),
}

/// tm's per-message state, part of [`Ctx`].
#[derive(Default)]
pub struct TmCtx<'a> {
    /// The script, to run branch routes.
    pub script: Option<&'a dyn Script>,
    pub tx: TxRef<'a>,
    pub route: RouteKind,
    /// `$T_branch_idx`; in a failure route, the winning branch.
    pub branch_idx: i32,
    /// `$T_reply_code`/`$T_reply_reason`: the current reply (onreply), the
    /// winning one (failure); 0 when none.
    pub reply_code: u16,
    pub reply_reason: Vec<u8>,
    /// Routes armed by `t_on_*` (copied into the transaction).
    pub armed: Armed,
    /// Error of a `t_relay` that sent nothing: replied after the script.
    pub delayed_error: Option<i32>,
    precheck: Option<u64>,
}

impl<'a> TmCtx<'a> {
    /// Whether the message has a transaction (t_newtran, t_relay, or a
    /// route run by tm).
    pub fn has_tx(&self) -> bool {
        !matches!(self.tx, TxRef::None)
    }
}

/// Runs `f` on the current transaction (None if there is none).
fn with_tx<R>(ctx: &mut Ctx<'_>, f: impl FnOnce(&mut Transaction, &mut Ctx<'_>) -> R) -> Option<R> {
    match std::mem::take(&mut ctx.tm.tx) {
        TxRef::None => None,
        TxRef::Shared(h) => {
            let r = {
                let mut g = lock_tx(&h);
                f(&mut g, ctx)
            };
            ctx.tm.tx = TxRef::Shared(h);
            Some(r)
        }
        TxRef::Locked(t) => {
            let r = f(t, ctx);
            ctx.tm.tx = TxRef::Locked(t);
            Some(r)
        }
    }
}

fn tm<'a>(ctx: &Ctx<'a>) -> &'a Tm {
    &ctx.modules.tm
}

// ---- building and sending replies ------------------------------------

/// Seed of To-tags: the first listen socket.
fn tag_seed(core: &CoreConfig) -> String {
    core.listen
        .first()
        .map(|(_, a)| a.to_string())
        .unwrap_or_default()
}

/// A reply built locally from the transaction's request.
fn local_reply(tx: &Transaction, core: &CoreConfig, code: u16, reason: &[u8]) -> Option<Vec<u8>> {
    let msg = Message::parse(&tx.request).ok()?;
    let src_ip = tx.rcv.src.ip().to_string();
    let opts = ReplyOpts {
        to_tag: Some(&tx.to_tag),
        server: core.server_header.as_deref(),
        source: Some((src_ip.as_bytes(), tx.rcv.src.port())),
        force_rport: tx.force_rport,
        ..ReplyOpts::default()
    };
    reply::build(&msg, code, reason, &opts).ok()
}

/// `t_reply` on a transaction: -1 if a final reply was already sent.
fn reply_tx(tx: &mut Transaction, env: &mut Env<'_>, code: u16, reason: &[u8]) -> i32 {
    if tx.uas.status >= 200 || tx.method == b"ACK" {
        return -1;
    }
    let Some(data) = local_reply(tx, env.core, code, reason) else {
        return -1;
    };
    tx.send_uas(data, code, true, env.now, &env.modules.tm.cfg, env.out);
    if code >= 200 {
        let best = if code >= 300 { picked(tx) } else { None };
        acc_local(tx, best, code, env);
    }
    1
}

/// The branch with the best final reply (Kamailio's picked branch).
fn picked(tx: &Transaction) -> Option<usize> {
    select::pick(tx.branches.iter().map(UacBranch::final_code))
}

/// The [`Env`] of a route's context.
fn env_of<'e>(ctx: &'e mut Ctx<'_>) -> Env<'e> {
    Env {
        script: ctx.tm.script,
        core: ctx.core,
        modules: ctx.modules,
        worker: &mut *ctx.worker,
        out: &mut *ctx.out,
        now: ctx.now,
    }
}

// ---- acc's callbacks -------------------------------------------------

/// Runs `f` on a context for the transaction's request, as acc sees it:
/// the saved flags and `$avp`s, the R-URI of `branch` (the one whose reply
/// it is); the flags are saved back.
fn with_request_ctx(
    tx: &mut Transaction,
    branch: Option<usize>,
    env: &mut Env<'_>,
    f: impl FnOnce(&mut Ctx<'_>),
) {
    let request = tx.request.clone();
    let Ok(msg) = Message::parse(&request) else {
        return;
    };
    let rcv = tx.rcv;
    let mut ctx = Ctx::new(&msg, &rcv, env.core, &mut *env.worker, &mut *env.out);
    ctx.modules = env.modules;
    ctx.now = env.now;
    ctx.flags = tx.flags;
    ctx.avps = std::mem::take(&mut tx.avps);
    if let Some(b) = branch.and_then(|i| tx.branches.get(i)) {
        ctx.new_uri = Some(b.uri.clone());
        ctx.dst_uri = b.dst_uri.clone();
        ctx.bflags = b.flags;
    }
    ctx.tm.script = env.script;
    f(&mut ctx);
    let (flags, avps) = (ctx.flags, std::mem::take(&mut ctx.avps));
    drop(ctx);
    tx.flags = flags;
    tx.avps = avps;
}

/// acc on a reply tm made and sent upstream.
fn acc_local(tx: &mut Transaction, branch: Option<usize>, code: u16, env: &mut Env<'_>) {
    if !tx.acc.reply {
        return;
    }
    let Ok(req) = Message::parse(&tx.request) else {
        return;
    };
    let outcome = super::acc::Outcome::local(code, &req, &tx.to_tag);
    with_request_ctx(tx, branch, env, |ctx| {
        super::acc::on_reply_out(ctx, &outcome);
    });
}

/// acc on a received reply of branch `idx` relayed upstream.
fn acc_relayed(tx: &mut Transaction, idx: usize, msg: &Message<'_>, env: &mut Env<'_>) {
    if !tx.acc.reply {
        return;
    }
    let outcome = super::acc::Outcome::received(&env.modules.acc, msg);
    with_request_ctx(tx, Some(idx), env, |ctx| {
        super::acc::on_reply_out(ctx, &outcome);
    });
}

/// The reason of an internal error as tm gives it: `<text> (<n>/TM)`.
pub fn err2reason(e: i32) -> (u16, String) {
    let (code, text) = match e {
        err::SEND => (477, "Unfortunately error on sending to next hop occurred"),
        err::BAD_ADDRESS => (478, "Unresolvable destination"),
        err::BAD_URI => (479, "Regretfully, we were not able to process the URI"),
        err::BAD_REQ => (400, "Bad Request"),
        -487 => (487, "Transaction canceled"),
        _ => (500, "I'm terribly sorry, server error occurred"),
    };
    (code, format!("{text} ({}/TM)", e.unsigned_abs()))
}

// ---- transactions for requests ---------------------------------------

enum NewTran {
    Created(TxHandle),
    /// A retransmission: the last reply was re-sent.
    Retransmission,
    /// The ACK of a negative or local reply: absorbed.
    AckAbsorbed,
    /// An ACK with no transaction to absorb it (2xx, end to end).
    E2eAck,
}

/// Looks the request up; creates its transaction when it has none.
fn newtran(ctx: &mut Ctx<'_>) -> Result<NewTran, i32> {
    let msg = ctx.msg;
    let method = msg.method().ok_or(err::BAD_REQ)?;
    let hash = hash_index(msg).ok_or(err::BAD_REQ)?;
    let key = request_key(msg, method).ok_or(err::BAD_REQ)?;
    let t = tm(ctx);
    if let Some(h) = t.table.find_request(hash, &key) {
        let mut tx = lock_tx(&h);
        if method == Method::Ack {
            if !tx.is_invite || (200..300).contains(&tx.uas.status) && !tx.uas.local {
                return Ok(NewTran::E2eAck);
            }
            tx.acked(ctx.now, &t.cfg);
            return Ok(NewTran::AckAbsorbed);
        }
        tx.resend_last(ctx.out);
        return Ok(NewTran::Retransmission);
    }
    if method == Method::Ack {
        return Ok(NewTran::E2eAck);
    }
    let id = t.table.next_id();
    let call_id = msg.call_id().unwrap_or_default();
    let branch = msg
        .via_top()
        .ok()
        .and_then(|v| v.branch)
        .unwrap_or_default();
    let ids = id.to_le_bytes();
    let label = (u128::from(fnv1a(&[b"tm-label", call_id, branch, &ids])) << 64)
        | u128::from(fnv1a(&[&ids, branch, call_id, b"tm-label"]));
    let tx = Transaction {
        id,
        hash,
        label,
        key,
        method: method.as_bytes().to_vec(),
        is_invite: method == Method::Invite,
        request: msg.as_bytes().to_vec(),
        rcv: *ctx.rcv,
        force_rport: ctx.force_rport,
        reply_no_connect: ctx.reply_no_connect,
        flags: ctx.flags,
        avps: ctx.avps.clone(),
        headers: Vec::new(),
        armed: ctx.tm.armed,
        branches: Vec::new(),
        leg: 0,
        uas: txn::Uas::default(),
        canceled: false,
        to_tag: build::to_tag(msg, tag_seed(ctx.core).as_bytes()),
        delete_at: None,
        relayed: false,
        acc: super::acc::armed(&ctx.modules.acc, method, ctx.flags),
    };
    match t.table.insert(tx) {
        Ok(h) => Ok(NewTran::Created(h)),
        Err(Insert::Exists(h)) => {
            // Another worker created it meanwhile: we are a retransmission.
            lock_tx(&h).resend_last(ctx.out);
            Ok(NewTran::Retransmission)
        }
        Err(Insert::Full) => Err(E_OUT_OF_MEM),
    }
}

/// `t_newtran()`: 1 created; 0 (stop) a retransmission or an absorbed
/// ACK; -10 the transaction exists already (flags re-synced); other
/// negative: error.
pub fn t_newtran(ctx: &mut Ctx<'_>) -> i32 {
    if ctx.tm.route != RouteKind::Request || !ctx.msg.is_request() {
        return -1;
    }
    if ctx.tm.has_tx() {
        with_tx(ctx, |tx, ctx| tx.flags = ctx.flags);
        return E_SCRIPT;
    }
    match newtran(ctx) {
        Ok(NewTran::Created(h)) => {
            ctx.tm.tx = TxRef::Shared(h);
            1
        }
        Ok(NewTran::Retransmission | NewTran::AckAbsorbed) => 0,
        Ok(NewTran::E2eAck) => 1,
        Err(e) => e,
    }
}

// ---- t_relay -----------------------------------------------------------

/// One destination to relay to.
struct Planned {
    uri: Vec<u8>,
    dst_uri: Option<Vec<u8>>,
    path: Option<Vec<u8>>,
    flags: u32,
}

/// `t_relay()`: 1 relayed (also for a retransmission whose last reply was
/// re-sent, or an ACK forwarded statelessly); a negative internal error if
/// no branch could be sent (the error reply then goes out after the
/// script, as Kamailio's delayed reply). In a failure route: 1 or -1.
pub fn t_relay(ctx: &mut Ctx<'_>) -> i32 {
    relay(ctx, None)
}

/// `t_relay(host, port)`: every branch goes to `host:port` (UDP).
pub fn t_relay_to(ctx: &mut Ctx<'_>, host: &[u8], port: i32) -> i32 {
    let Ok(port) = u16::try_from(port) else {
        return err::BAD_ADDRESS;
    };
    let Some(ip) = std::str::from_utf8(host).ok().and_then(resolve_host) else {
        return err::BAD_ADDRESS;
    };
    relay(ctx, Some(std::net::SocketAddr::new(ip, port)))
}

fn relay(ctx: &mut Ctx<'_>, to: Option<std::net::SocketAddr>) -> i32 {
    let rc = relay_inner(ctx, to);
    ctx.last_error = if rc < 0 { rc } else { 0 };
    rc
}

fn relay_inner(ctx: &mut Ctx<'_>, to: Option<std::net::SocketAddr>) -> i32 {
    match ctx.tm.route {
        RouteKind::Failure => {
            return if add_branches(ctx, to) > 0 { 1 } else { -1 };
        }
        RouteKind::Request if ctx.msg.is_request() => {}
        _ => return -1,
    }
    let method = ctx.msg.method();
    if method == Some(Method::Cancel)
        && !ctx.tm.has_tx()
        && let Some(rc) = relay_cancel(ctx)
    {
        return rc;
    }
    if !ctx.tm.has_tx() {
        match newtran(ctx) {
            Ok(NewTran::Created(h)) => ctx.tm.tx = TxRef::Shared(h),
            Ok(NewTran::Retransmission | NewTran::AckAbsorbed) => return 1,
            Ok(NewTran::E2eAck) => return crate::engine::forward::forward(ctx, None),
            Err(e) => return e,
        }
    }
    // 100 Trying for a new INVITE.
    if method == Some(Method::Invite) && tm(ctx).cfg.auto_inv_100 {
        let (core, cfg, now) = (ctx.core, &ctx.modules.tm.cfg, ctx.now);
        with_tx(ctx, |tx, ctx| {
            if tx.uas.status == 0
                && let Some(data) = local_reply(tx, core, 100, cfg.auto_inv_100_reason.as_bytes())
            {
                tx.send_uas(data, 100, true, now, cfg, ctx.out);
            }
        });
    }
    let rc = add_branches(ctx, to);
    if rc < 0 {
        ctx.tm.delayed_error = Some(rc);
    }
    rc
}

/// Sends one branch per destination (R-URI/`$du` then the destination
/// set), each through the armed branch route. Returns 1 if at least one
/// was sent, else the last error.
fn add_branches(ctx: &mut Ctx<'_>, to: Option<std::net::SocketAddr>) -> i32 {
    let Some((hash, label, mut next_idx, failure)) = with_tx(ctx, |tx, ctx| {
        // Arm what the script armed before the transaction existed.
        let a = ctx.tm.armed;
        tx.armed.branch = a.branch.or(tx.armed.branch);
        tx.armed.onreply = a.onreply.or(tx.armed.onreply);
        if ctx.tm.route == RouteKind::Request {
            tx.armed.failure = a.failure.or(tx.armed.failure);
        } else {
            tx.armed.failure = a.failure;
        }
        (
            tx.hash,
            tx.label,
            tx.branches.len(),
            ctx.tm.route == RouteKind::Failure,
        )
    }) else {
        return -1;
    };
    let mut plan = vec![Planned {
        uri: ctx.ruri().to_vec(),
        dst_uri: ctx.dst_uri.clone(),
        path: ctx.path.clone(),
        flags: ctx.bflags,
    }];
    plan.extend(
        std::mem::take(&mut ctx.branches)
            .into_iter()
            .map(|b| Planned {
                uri: b.uri,
                dst_uri: b.dst_uri,
                path: b.path,
                flags: b.flags,
            }),
    );
    let branch_route = with_tx(ctx, |tx, _| tx.armed.branch.take()).flatten();
    ctx.tm.armed.branch = None;
    let mut sent: Vec<UacBranch> = Vec::new();
    let mut last_err = err::UNSPEC;
    for p in plan {
        match prepare_branch(ctx, p, branch_route, hash, label, next_idx, to) {
            Ok(Some(b)) => {
                next_idx += 1;
                sent.push(b);
            }
            Ok(None) => {}
            Err(e) => last_err = e,
        }
    }
    if sent.is_empty() {
        return last_err;
    }
    let (cfg, now) = (&ctx.modules.tm.cfg, ctx.now);
    with_tx(ctx, |tx, ctx| {
        if failure && tx.relayed {
            // A new serial-forking leg.
            tx.leg += 1;
        }
        if !tx.relayed {
            tx.headers = ctx.headers.clone();
            tx.relayed = true;
        }
        tx.flags = ctx.flags;
        tx.avps = ctx.avps.clone();
        tx.delete_at = None;
        for mut b in sent {
            b.leg = tx.leg;
            b.fr_at = Some(now + cfg.fr_timer);
            b.retr = (b.to.proto == Proto::Udp).then(|| Retr::start(now, cfg.t1));
            ctx.out.push(b.to.transmit(b.request.clone()));
            tx.branches.push(b);
        }
    });
    1
}

/// Runs the branch route for one destination and builds its request.
/// `Ok(None)`: the branch route dropped it.
fn prepare_branch(
    ctx: &mut Ctx<'_>,
    p: Planned,
    branch_route: Option<u32>,
    hash: u16,
    label: u128,
    idx: usize,
    to: Option<std::net::SocketAddr>,
) -> Result<Option<UacBranch>, i32> {
    // The branch route runs on a private copy of the branch's data.
    let saved = (
        ctx.new_uri.take(),
        ctx.dst_uri.take(),
        ctx.bflags,
        ctx.path.take(),
        ctx.headers.clone(),
        ctx.tm.route,
        ctx.tm.branch_idx,
    );
    ctx.new_uri = Some(p.uri);
    ctx.dst_uri = p.dst_uri;
    ctx.bflags = p.flags;
    ctx.path = p.path;
    ctx.tm.branch_idx = i32::try_from(idx).unwrap_or(i32::MAX);
    let mut dropped = false;
    if let (Some(r), Some(script)) = (branch_route, ctx.tm.script) {
        ctx.tm.route = RouteKind::Branch;
        dropped = matches!(script.branch_route(r, ctx), Err(Stop::Drop));
    }
    let result = if dropped {
        Ok(None)
    } else {
        build_branch(ctx, hash, label, idx, to).map(Some)
    };
    ctx.new_uri = saved.0;
    ctx.dst_uri = saved.1;
    ctx.bflags = saved.2;
    ctx.path = saved.3;
    ctx.headers = saved.4;
    ctx.tm.route = saved.5;
    ctx.tm.branch_idx = saved.6;
    result
}

/// The request of a branch, from the context's current R-URI, `$du`,
/// Path and header changes.
fn build_branch(
    ctx: &Ctx<'_>,
    hash: u16,
    label: u128,
    idx: usize,
    to: Option<std::net::SocketAddr>,
) -> Result<UacBranch, i32> {
    let msg = ctx.msg;
    let uri = ctx.ruri().to_vec();
    let (dst, proto) = match to {
        Some(a) => (a, Proto::Udp),
        None => resolve_uri(ctx.dst_uri.as_deref().unwrap_or(&uri))?,
    };
    let local = ctx.core.socket_for(proto, &dst).ok_or(err::SEND)?;
    let mut ed = Editor::new(msg);
    if msg.ruri_bytes() != Some(&uri[..]) {
        ed.set_ruri(&uri).map_err(|_| err::BAD_URI)?;
    }
    let src_ip = ctx.rcv.src.ip().to_string();
    ed.fix_top_via(src_ip.as_bytes(), ctx.rcv.src.port(), ctx.force_rport)
        .map_err(|_| err::BAD_REQ)?;
    let via_host = ctx
        .core
        .advertised_address
        .clone()
        .unwrap_or_else(|| match local.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        });
    let via_port = ctx.core.advertised_port.unwrap_or(local.port());
    let port = (via_port != 5060 || ctx.core.advertised_port.is_some()).then_some(via_port);
    let transport = match proto {
        Proto::Udp => "UDP",
        Proto::Tcp => "TCP",
    };
    // The script's header changes first: headers it inserts at the top
    // (Record-Route) come before our Via, as Kamailio's lumps do.
    crate::engine::forward::apply_header_ops(
        &mut ed,
        &ctx.headers,
        ctx.core,
        ctx.rcv,
        (proto, local),
    )
    .map_err(|_| err::UNSPEC)?;
    ed.push_via(
        transport,
        &via_host,
        port,
        &build::via_branch(hash, label, idx),
    )
    .map_err(|_| err::UNSPEC)?;
    if let Some(path) = &ctx.path {
        ed.insert_header_first("Route", path)
            .map_err(|_| err::UNSPEC)?;
    }
    Ok(UacBranch {
        uri,
        dst_uri: ctx.dst_uri.clone(),
        flags: ctx.bflags,
        request: ed.serialize(),
        to: Dest {
            proto,
            dst,
            local: Some(local),
            conn: None,
            no_connect: ctx.forward_no_connect,
        },
        retr: None,
        fr_at: None,
        provisional: 0,
        reply: None,
        timed_out: false,
        leg: 0,
        cancel: Cancel::None,
        ack: None,
    })
}

/// `t_relay()` of a CANCEL whose INVITE exists: 200 to the CANCEL, CANCEL
/// on every pending branch, the INVITE flagged canceled. `None` when the
/// INVITE is unknown (the CANCEL is then relayed like any request).
fn relay_cancel(ctx: &mut Ctx<'_>) -> Option<i32> {
    let msg = ctx.msg;
    let hash = hash_index(msg)?;
    let key = request_key(msg, Method::Invite)?;
    let inv = tm(ctx).table.find_request(hash, &key)?;
    let h = match newtran(ctx) {
        Ok(NewTran::Created(h)) => h,
        Ok(_) => return Some(1),
        Err(e) => return Some(e),
    };
    let (cfg, now) = (&ctx.modules.tm.cfg, ctx.now);
    let reason = if cfg.e2e_cancel_reason {
        build::reason_lines(msg)
    } else {
        Vec::new()
    };
    let pending = {
        let mut t = lock_tx(&inv);
        t.canceled = true;
        let mut n = 0;
        for i in 0..t.branches.len() {
            if t.cancel_branch(i, &reason, now, cfg, ctx.out) {
                n += 1;
            }
        }
        if t.branches.is_empty() && t.uas.status < 200 {
            reply_tx(&mut t, &mut env_of(ctx), 487, b"Request canceled");
        }
        n
    };
    let text: &[u8] = if pending > 0 {
        b"canceling"
    } else {
        b"ok -- no more pending branches"
    };
    reply_tx(&mut lock_tx(&h), &mut env_of(ctx), 200, text);
    ctx.tm.tx = TxRef::Shared(h);
    Some(1)
}

// ---- other script functions -----------------------------------------

/// `t_reply(code, reason)`: a stateful reply; -1 without a transaction.
pub fn t_reply(ctx: &mut Ctx<'_>, code: i32, reason: &[u8]) -> i32 {
    let Ok(code) = u16::try_from(code) else {
        return -1;
    };
    if !(100..=699).contains(&code) {
        return -1;
    }
    with_tx(ctx, |tx, ctx| reply_tx(tx, &mut env_of(ctx), code, reason)).unwrap_or(-1)
}

/// `t_check_trans()` (§2.9).
pub fn t_check_trans(ctx: &mut Ctx<'_>) -> i32 {
    if ctx.tm.route != RouteKind::Request || ctx.tm.has_tx() {
        return 1;
    }
    let msg = ctx.msg;
    let t = tm(ctx);
    if !msg.is_request() {
        let found = msg
            .via_top()
            .ok()
            .and_then(|v| v.branch)
            .and_then(build::parse_via_branch)
            .and_then(|(hash, label, _)| t.table.find_label(hash, label))
            .is_some();
        return if found { 1 } else { -1 };
    }
    let (Some(method), Some(hash)) = (msg.method(), hash_index(msg)) else {
        return -1;
    };
    let lookup = match method {
        Method::Cancel | Method::Ack => Method::Invite,
        m => m,
    };
    let Some(h) = request_key(msg, lookup).and_then(|k| t.table.find_request(hash, &k)) else {
        return -1;
    };
    match method {
        Method::Cancel => 1,
        Method::Ack => {
            let mut tx = lock_tx(&h);
            if (200..300).contains(&tx.uas.status) && !tx.uas.local {
                1
            } else {
                tx.acked(ctx.now, &t.cfg);
                0
            }
        }
        _ => {
            lock_tx(&h).resend_last(ctx.out);
            0
        }
    }
}

/// `t_precheck_trans()` (tmx): 1 if another worker is processing the
/// same request right now; records this one until its processing ends.
pub fn t_precheck_trans(ctx: &mut Ctx<'_>) -> i32 {
    let msg = ctx.msg;
    if !msg.is_request() || matches!(msg.method(), Some(Method::Ack | Method::Cancel) | None) {
        return -1;
    }
    let (Ok(cseq), Ok(call_id)) = (msg.cseq(), msg.call_id()) else {
        return -1;
    };
    let from_tag = msg.from().ok().and_then(|f| f.tag).unwrap_or_default();
    let branch = msg
        .via_top()
        .ok()
        .and_then(|v| v.branch)
        .unwrap_or_default();
    let key = fnv1a(&[
        call_id,
        from_tag,
        &cseq.seq.to_le_bytes(),
        cseq.method.as_bytes(),
        branch,
    ]);
    if ctx.tm.precheck == Some(key) {
        return -1;
    }
    let mut set = tm(ctx)
        .precheck
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !set.insert(key) {
        return 1;
    }
    if let Some(old) = ctx.tm.precheck.replace(key) {
        set.remove(&old);
    }
    -1
}

fn arm(ctx: &mut Ctx<'_>, set: impl Fn(&mut Armed)) -> i32 {
    set(&mut ctx.tm.armed);
    with_tx(ctx, |tx, _| set(&mut tx.armed));
    1
}

/// `t_on_failure(name)` (the name resolved to its index at compile time;
/// a negative index, from `"0"` or `""`, disarms, as for the two below).
pub fn t_on_failure(ctx: &mut Ctx<'_>, idx: i32) -> i32 {
    let idx = u32::try_from(idx).ok();
    arm(ctx, |a| a.failure = idx)
}

/// `t_on_branch(name)`.
pub fn t_on_branch(ctx: &mut Ctx<'_>, idx: i32) -> i32 {
    let idx = u32::try_from(idx).ok();
    arm(ctx, |a| a.branch = idx)
}

/// `t_on_reply(name)`.
pub fn t_on_reply(ctx: &mut Ctx<'_>, idx: i32) -> i32 {
    let idx = u32::try_from(idx).ok();
    arm(ctx, |a| a.onreply = idx)
}

/// `t_is_set("failure_route"|"branch_route"|"onreply_route")`.
pub fn t_is_set(ctx: &mut Ctx<'_>, what: &[u8]) -> i32 {
    let pick = |a: &Armed| match what {
        b"failure_route" => a.failure.is_some(),
        b"branch_route" => a.branch.is_some(),
        b"onreply_route" => a.onreply.is_some(),
        _ => false,
    };
    let set = pick(&ctx.tm.armed) || with_tx(ctx, |tx, _| pick(&tx.armed)).unwrap_or(false);
    if set { 1 } else { -1 }
}

fn truth(b: bool) -> i32 {
    if b { 1 } else { -1 }
}

/// `t_is_canceled()`.
pub fn t_is_canceled(ctx: &mut Ctx<'_>) -> i32 {
    truth(with_tx(ctx, |tx, _| tx.canceled).unwrap_or(false))
}

/// `t_check_status(re)`: the regex, unanchored and case-insensitive,
/// against the current reply (onreply), the winning one (failure), or the
/// last status the transaction sent (request route).
pub fn t_check_status(ctx: &mut Ctx<'_>, re: &[u8]) -> i32 {
    let code = match ctx.tm.route {
        RouteKind::Failure | RouteKind::Onreply => ctx.tm.reply_code,
        _ => match with_tx(ctx, |tx, _| tx.uas.status) {
            Some(c) => c,
            None => return -1,
        },
    };
    let Ok(re) = std::str::from_utf8(re) else {
        return -1;
    };
    let Ok(r) = regex::RegexBuilder::new(re)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
    else {
        return -1;
    };
    truth(r.is_match(&code.to_string()))
}

/// `$T_reply_code`: the current/winning reply in onreply/failure routes,
/// else the last status the transaction sent (0 when none).
pub fn reply_code(ctx: &Ctx<'_>) -> u16 {
    match (&ctx.tm.route, &ctx.tm.tx) {
        (RouteKind::Failure | RouteKind::Onreply, _) => ctx.tm.reply_code,
        (_, TxRef::Shared(h)) => lock_tx(h).uas.status,
        (_, TxRef::Locked(t)) => t.uas.status,
        (_, TxRef::None) => 0,
    }
}

/// `t_release()`: puts the transaction on its wait timer.
pub fn t_release(ctx: &mut Ctx<'_>) -> i32 {
    let (cfg, now) = (&ctx.modules.tm.cfg, ctx.now);
    with_tx(ctx, |tx, _| {
        tx.release(now, cfg);
        1
    })
    .unwrap_or(-1)
}

/// `t_branch_timeout()`: the winning branch (failure route) timed out.
pub fn t_branch_timeout(ctx: &mut Ctx<'_>) -> i32 {
    let i = usize::try_from(ctx.tm.branch_idx).unwrap_or(usize::MAX);
    truth(
        ctx.tm.route == RouteKind::Failure
            && with_tx(ctx, |tx, _| tx.branches.get(i).is_some_and(|b| b.timed_out))
                .unwrap_or(false),
    )
}

/// `t_branch_replied()`: the winning branch received a reply.
pub fn t_branch_replied(ctx: &mut Ctx<'_>) -> i32 {
    let i = usize::try_from(ctx.tm.branch_idx).unwrap_or(usize::MAX);
    truth(
        ctx.tm.route == RouteKind::Failure
            && with_tx(ctx, |tx, _| tx.branches.get(i).is_some_and(replied)).unwrap_or(false),
    )
}

fn replied(b: &UacBranch) -> bool {
    b.provisional > 0 || b.reply.as_ref().is_some_and(|r| !r.faked)
}

/// `t_any_timeout()`.
pub fn t_any_timeout(ctx: &mut Ctx<'_>) -> i32 {
    truth(with_tx(ctx, |tx, _| tx.branches.iter().any(|b| b.timed_out)).unwrap_or(false))
}

/// `t_any_replied()`.
pub fn t_any_replied(ctx: &mut Ctx<'_>) -> i32 {
    truth(with_tx(ctx, |tx, _| tx.branches.iter().any(replied)).unwrap_or(false))
}

/// `t_is_branch_route()` (tmx).
pub fn t_is_branch_route(ctx: &Ctx<'_>) -> i32 {
    truth(ctx.tm.route == RouteKind::Branch)
}

/// `t_is_failure_route()` (tmx).
pub fn t_is_failure_route(ctx: &Ctx<'_>) -> i32 {
    truth(ctx.tm.route == RouteKind::Failure)
}

/// `t_is_reply_route()` (tmx).
pub fn t_is_reply_route(ctx: &Ctx<'_>) -> i32 {
    truth(ctx.tm.route == RouteKind::Onreply)
}

/// `t_is_request_route()` (tmx).
pub fn t_is_request_route(ctx: &Ctx<'_>) -> i32 {
    truth(ctx.tm.route == RouteKind::Request && ctx.msg.is_request())
}

// ---- engine hooks ------------------------------------------------------

/// After the request route: the delayed error reply of a failed
/// `t_relay`, release of a transaction nobody replied to or relayed, end
/// of the `t_precheck_trans` record.
pub fn end_request(ctx: &mut Ctx<'_>) {
    if let Some(k) = ctx.tm.precheck.take() {
        tm(ctx)
            .precheck
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&k);
    }
    let delayed = ctx.tm.delayed_error.take();
    let (cfg, now) = (&ctx.modules.tm.cfg, ctx.now);
    with_tx(ctx, |tx, ctx| {
        if let Some(e) = delayed
            && tx.branches.is_empty()
        {
            let (code, reason) = err2reason(e);
            reply_tx(tx, &mut env_of(ctx), code, reason.as_bytes());
        }
        if tx.branches.is_empty() && tx.uas.status < 200 {
            tx.release(now, cfg);
        }
    });
}

/// What a route run from tm needs besides the transaction.
struct Env<'e> {
    script: Option<&'e dyn Script>,
    core: &'e CoreConfig,
    modules: &'e Modules,
    worker: &'e mut WorkerState,
    out: &'e mut Vec<Transmit>,
    now: Instant,
}

/// A reply received from the network, after the core reply route: true
/// if it belongs to a transaction (tm handled it), false to relay it
/// statelessly.
pub fn on_reply(ctx: &mut Ctx<'_>) -> bool {
    let msg = ctx.msg;
    let Some(code) = msg.status() else {
        return false;
    };
    let Some((hash, label, idx)) = msg
        .via_top()
        .ok()
        .and_then(|v| v.branch)
        .and_then(build::parse_via_branch)
    else {
        return false;
    };
    let Some(h) = tm(ctx).table.find_label(hash, label) else {
        return false;
    };
    let Ok(cseq) = msg.cseq() else {
        return false;
    };
    let mut g = lock_tx(&h);
    let tx = &mut *g;
    if idx >= tx.branches.len() {
        return false;
    }
    let cfg = &ctx.modules.tm.cfg;
    if cseq.method == Method::Cancel && tx.method != b"CANCEL" {
        // The reply to our CANCEL.
        if code >= 200 || matches!(tx.branches[idx].cancel, Cancel::Sent { .. }) {
            tx.branches[idx].cancel = Cancel::Done;
        }
        return true;
    }
    if cseq.method.as_bytes() != tx.method.as_slice() {
        return false;
    }
    let now = ctx.now;
    // Retransmission of a final reply, or a late one.
    if tx.branches[idx].is_final() {
        if tx.is_invite && (200..300).contains(&code) {
            if let Some(data) = build::relayed_reply(msg, &[]) {
                ctx.out
                    .push(Dest::reply_to(&tx.rcv, tx.reply_no_connect).transmit(data));
            }
        } else if let Some(ack) = &tx.branches[idx].ack {
            ctx.out.push(tx.branches[idx].to.transmit(ack.clone()));
        }
        return true;
    }
    {
        let b = &mut tx.branches[idx];
        if code < 200 {
            if tx.is_invite {
                b.retr = None;
                if cfg.restart_fr_on_each_reply || b.provisional == 0 || code > b.provisional {
                    b.fr_at = Some(now + cfg.fr_inv_timer);
                }
            } else if b.provisional == 0
                && let Some(r) = &mut b.retr
            {
                // Non-INVITE: retransmissions go on every T2.
                r.interval = cfg.t2;
                r.next = now + cfg.t2;
            }
            b.provisional = b.provisional.max(code);
            if let Cancel::Wanted(reason) = std::mem::take(&mut b.cancel) {
                send_cancel(b, &reason, now, cfg, ctx.out);
            }
        } else {
            b.retr = None;
            b.fr_at = None;
            if tx.is_invite && code >= 300 {
                b.ack = build::local_request(&b.request, Some(msg), b"");
                if let Some(ack) = &b.ack {
                    ctx.out.push(b.to.transmit(ack.clone()));
                }
            }
        }
    }
    // The transaction's onreply route.
    let mut ops = Vec::new();
    if let (Some(r), Some(script)) = (tx.armed.onreply, ctx.tm.script) {
        let mut rctx = Ctx::new(msg, ctx.rcv, ctx.core, &mut *ctx.worker, &mut *ctx.out);
        rctx.modules = ctx.modules;
        rctx.now = now;
        rctx.flags = tx.flags;
        rctx.avps = std::mem::take(&mut tx.avps);
        rctx.tm.script = Some(script);
        rctx.tm.route = RouteKind::Onreply;
        rctx.tm.branch_idx = i32::try_from(idx).unwrap_or(i32::MAX);
        rctx.tm.reply_code = code;
        rctx.tm.reply_reason = msg.reason().unwrap_or_default().to_vec();
        rctx.tm.armed = tx.armed;
        let branch = &tx.branches[idx];
        rctx.new_uri = Some(branch.uri.clone());
        rctx.dst_uri = branch.dst_uri.clone();
        rctx.bflags = branch.flags;
        rctx.tm.tx = TxRef::Locked(&mut *tx);
        let flow = script.onreply_route(r, &mut rctx);
        let (flags, avps, headers) = (
            rctx.flags,
            std::mem::take(&mut rctx.avps),
            std::mem::take(&mut rctx.headers),
        );
        drop(rctx);
        tx.flags = flags;
        tx.avps = avps;
        ops = headers;
        if code < 200 && matches!(flow, Err(Stop::Drop)) {
            return true;
        }
    }
    let mut env = Env {
        script: ctx.tm.script,
        core: ctx.core,
        modules: ctx.modules,
        worker: &mut *ctx.worker,
        out: &mut *ctx.out,
        now,
    };
    reply_decision(tx, idx, msg, code, &ops, &mut env);
    true
}

/// Relays or stores a reply of branch `idx` (§2.5 step 6).
fn reply_decision(
    tx: &mut Transaction,
    idx: usize,
    msg: &Message<'_>,
    code: u16,
    ops: &[crate::engine::ctx::HeaderOp],
    env: &mut Env<'_>,
) {
    let modules = env.modules;
    let cfg = &modules.tm.cfg;
    let now = env.now;
    let Some(data) = build::relayed_reply(msg, ops) else {
        return;
    };
    let reason = msg.reason().unwrap_or_default().to_vec();
    if code < 200 {
        if code != 100 && tx.uas.status < 200 {
            tx.send_uas(data, code, false, now, cfg, env.out);
            acc_relayed(tx, idx, msg, env);
        }
        return;
    }
    tx.branches[idx].reply = Some(Stored {
        code,
        reason: reason.clone(),
        data: data.clone(),
        faked: false,
    });
    if code < 300 {
        if tx.is_invite || tx.uas.status < 200 {
            tx.send_uas(data, code, false, now, cfg, env.out);
            acc_relayed(tx, idx, msg, env);
        }
        if tx.is_invite {
            let reason: &[u8] = if cfg.local_cancel_reason {
                b"Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
            } else {
                b""
            };
            for i in 0..tx.branches.len() {
                tx.cancel_branch(i, reason, now, cfg, env.out);
            }
        }
        tx.maybe_wait(now, cfg);
        return;
    }
    if code >= 600 && tx.is_invite && !cfg.disable_6xx_block {
        let mut r = Vec::new();
        if cfg.local_cancel_reason {
            r.extend_from_slice(format!("Reason: SIP;cause={code};text=\"").as_bytes());
            r.extend(reason.iter().filter(|&&b| b != b'"' && b != b'\\'));
            r.extend_from_slice(b"\"\r\n");
        }
        for i in 0..tx.branches.len() {
            tx.cancel_branch(i, &r, now, cfg, env.out);
        }
    }
    if tx.all_final() && tx.uas.status < 200 {
        complete(tx, env);
    }
    tx.maybe_wait(now, cfg);
}

/// Every branch has a final reply and none was relayed: picks the best
/// one, runs the failure route if armed, else sends the best upstream.
fn complete(tx: &mut Transaction, env: &mut Env<'_>) {
    let modules = env.modules;
    let cfg = &modules.tm.cfg;
    let leg = tx.leg;
    let all_legs = cfg.failure_reply_mode == 0;
    let Some(best) = select::pick(
        tx.branches
            .iter()
            .map(|b| (all_legs || b.leg == leg).then(|| b.final_code()).flatten()),
    ) else {
        return;
    };
    // The failure route, and acc's missed-call callback (which runs
    // before it, armed or not).
    let failure = tx.armed.failure.take();
    if (failure.is_some() || tx.acc.failure)
        && let Some(script) = env.script
        && run_failure(tx, failure, best, script, env)
    {
        return;
    }
    if tx.uas.status >= 200 {
        return;
    }
    let Some(stored) = tx.branches[best].reply.clone() else {
        return;
    };
    let now = env.now;
    let (code, data, local) = if stored.faked {
        (
            stored.code,
            local_reply(tx, env.core, stored.code, &stored.reason),
            true,
        )
    } else if stored.code == 503 && cfg.remap_503_500 {
        (500, local_reply(tx, env.core, 500, &stored.reason), true)
    } else {
        (stored.code, Some(stored.data.clone()), false)
    };
    if let Some(data) = data {
        tx.send_uas(data, code, local, now, cfg, env.out);
        if local {
            acc_local(tx, Some(best), code, env);
        } else if let Ok(msg) = Message::parse(&stored.data) {
            acc_relayed(tx, best, &msg, env);
        }
    }
}

/// Runs failure route `r` (if armed) on a copy of the original request,
/// after acc's missed-call callback if the transaction has it. True if
/// the route took over (new branches, or a final reply sent).
fn run_failure(
    tx: &mut Transaction,
    r: Option<u32>,
    best: usize,
    script: &dyn Script,
    env: &mut Env<'_>,
) -> bool {
    let request = tx.request.clone();
    let Ok(msg) = Message::parse(&request) else {
        return false;
    };
    let rcv = tx.rcv;
    let before = tx.branches.len();
    let Some(b) = tx.branches.get(best) else {
        return false;
    };
    let (uri, dst_uri, bflags) = (b.uri.clone(), b.dst_uri.clone(), b.flags);
    let (code, reason) = b
        .reply
        .as_ref()
        .map(|s| (s.code, s.reason.clone()))
        .unwrap_or_default();
    let missed = tx.acc.failure.then(|| match &b.reply {
        Some(s) if !s.faked => Message::parse(&s.data)
            .map(|m| super::acc::Outcome::received(&env.modules.acc, &m))
            .unwrap_or_default(),
        _ => super::acc::Outcome::local(code, &msg, &tx.to_tag),
    });
    let mut fctx = Ctx::new(&msg, &rcv, env.core, &mut *env.worker, &mut *env.out);
    fctx.modules = env.modules;
    fctx.now = env.now;
    fctx.flags = tx.flags;
    fctx.avps = std::mem::take(&mut tx.avps);
    fctx.headers = tx.headers.clone();
    fctx.force_rport = tx.force_rport;
    fctx.new_uri = Some(uri);
    fctx.dst_uri = dst_uri;
    fctx.bflags = bflags;
    fctx.tm.script = Some(script);
    fctx.tm.route = RouteKind::Failure;
    fctx.tm.branch_idx = i32::try_from(best).unwrap_or(i32::MAX);
    fctx.tm.reply_code = code;
    fctx.tm.reply_reason = reason;
    fctx.tm.armed = Armed {
        failure: None,
        ..tx.armed
    };
    fctx.tm.tx = TxRef::Locked(&mut *tx);
    if let Some(out) = &missed {
        super::acc::on_missed(&mut fctx, out);
    }
    if let Some(r) = r {
        let _ = script.failure_route(r, &mut fctx);
    }
    let (flags, avps) = (fctx.flags, std::mem::take(&mut fctx.avps));
    drop(fctx);
    tx.flags = flags;
    tx.avps = avps;
    r.is_some() && (tx.branches.len() > before || tx.uas.status >= 200)
}

/// tm's timers, run by the engine's tick: retransmissions, final-response
/// timeouts (which can run failure routes), deletion after the wait timer.
pub fn timer(
    script: &dyn Script,
    core: &CoreConfig,
    modules: &Modules,
    worker: &mut WorkerState,
    now: Instant,
    out: &mut Vec<Transmit>,
) {
    let t = &modules.tm;
    for h in t.table.sweep(now) {
        let mut g = lock_tx(&h);
        if g.on_timer(now, &t.cfg, out) {
            let mut env = Env {
                script: Some(script),
                core,
                modules,
                worker: &mut *worker,
                out: &mut *out,
                now,
            };
            complete(&mut g, &mut env);
        }
        g.maybe_wait(now, &t.cfg);
    }
}

//! tm — transaction management (kamailio-modules.md §2), and the tmx
//! functions the stock configuration uses (§3). Part of the engine core,
//! not a module (see ARCHITECTURE.md); generated code still calls it as
//! `modules::tm::*`, Kamailio's module name (a re-export).
//!
//! The script API is in `script.rs` and `relay.rs` (`t_relay`), what the
//! engine calls (request end, replies, timer) and the modules' callbacks
//! in `hooks.rs`; this file holds the shared state and the helpers they
//! share.
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
mod hooks;
pub mod local;
mod pv;
mod relay;
pub mod rpc;
mod script;
pub mod select;
pub mod table;
pub mod txn;

pub use rpc::RPC;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::engine::forward::{err, resolve_host, resolve_uri};
use crate::engine::module::{ModuleSet, TmReply, tmcb};
use crate::engine::{CoreConfig, Ctx, Script, Stop, WorkerState};
use crate::sip::encode::fnv1a;
use crate::sip::reply::{self, ReplyOpts};
use crate::sip::{Editor, Message, Method};
use crate::transport::{Proto, RecvInfo, Transmit};

pub use config::TmConfig;
use hooks::*;
pub use hooks::{TimerEnv, end_request, on_reply, timer};
pub use local::t_uac_send;
pub use pv::t_msg_pv;
pub use relay::{
    t_relay, t_relay_to, t_relay_to_tcp, t_relay_to_tcp0, t_relay_to_udp, t_relay_to_udp0,
    t_replicate, t_replicate_to, t_replicate_uri,
};
use script::*;
pub use script::{
    picked_reply, reply_code, t_any_replied, t_any_timeout, t_branch_replied, t_branch_timeout,
    t_check_status, t_check_trans, t_is_branch_route, t_is_canceled, t_is_failure_route,
    t_is_reply_route, t_is_request_route, t_is_set, t_newtran, t_on_branch, t_on_failure,
    t_on_reply, t_precheck_trans, t_release, t_reply, t_reset_fr, t_set_auto_inv_100, t_set_fr,
    t_set_fr_inv,
};
use table::{Insert, Table, TxHandle, hash_index, lock_tx, request_key};
use txn::{Armed, Cancel, Dest, Retr, Stored, Transaction, UacBranch, send_cancel};

/// Kamailio's E_SCRIPT: `t_newtran` when the transaction already exists.
pub const E_SCRIPT: i32 = -10;
/// E_CFG: no branch to forward to (every one dropped by the branch route).
pub const E_CFG: i32 = -6;
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
    pub fn new(
        params: &crate::engine::params::ModParams,
    ) -> Result<Self, crate::engine::params::ParamError> {
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
pub struct TmCtx<'a> {
    /// tm's shared state (the engine's).
    pub shared: &'a Tm,
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
    /// `t_set_fr` before the transaction exists: (fr_inv, fr) for the
    /// one this message creates (Kamailio's per-message
    /// `user_fr_inv_timeout`/`user_fr_timeout`).
    pub user_fr: (Option<Duration>, Option<Duration>),
    /// `t_set_auto_inv_100` before the transaction exists.
    pub user_auto_inv_100: Option<bool>,
    /// In a module's transaction callback for a received reply: where it
    /// came from (its branch's destination).
    pub reply_from: Option<RecvInfo>,
}

impl<'a> TmCtx<'a> {
    /// No transaction yet, in `tm`.
    pub fn new(shared: &'a Tm) -> Self {
        Self {
            shared,
            script: None,
            tx: TxRef::None,
            route: RouteKind::Request,
            branch_idx: 0,
            reply_code: 0,
            reply_reason: Vec::new(),
            armed: Armed::default(),
            delayed_error: None,
            precheck: None,
            user_fr: (None, None),
            user_auto_inv_100: None,
            reply_from: None,
        }
    }

    /// Whether the message has a transaction (t_newtran, t_relay, or a
    /// route run by tm).
    pub fn has_tx(&self) -> bool {
        !matches!(self.tx, TxRef::None)
    }
}

/// Runs `f` on the current transaction (None if there is none).
pub(crate) fn with_tx<R>(
    ctx: &mut Ctx<'_>,
    f: impl FnOnce(&mut Transaction, &mut Ctx<'_>) -> R,
) -> Option<R> {
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
    ctx.tm.shared
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
    local_reply_with(tx, core, code, reason, (b"", b""))
}

/// [`local_reply`] with the headers and the body the script added for
/// the reply (`append_to_reply`, registrar's Contacts, auth's challenge,
/// `set_reply_body`: Kamailio's reply lumps of the request).
fn local_reply_with(
    tx: &Transaction,
    core: &CoreConfig,
    code: u16,
    reason: &[u8],
    (lumps, body): (&[u8], &[u8]),
) -> Option<Vec<u8>> {
    let msg = Message::parse(&tx.request).ok()?;
    let src_ip = tx.rcv.src.ip().to_string();
    let opts = ReplyOpts {
        to_tag: Some(&tx.to_tag),
        server: core.server_header.as_deref(),
        source: Some((src_ip.as_bytes(), tx.rcv.src.port())),
        force_rport: tx.force_rport,
        lumps,
        body,
        ..ReplyOpts::default()
    };
    reply::build(&msg, code, reason, &opts).ok()
}

/// `t_reply` on a transaction: -1 if a final reply was already sent.
fn reply_tx(tx: &mut Transaction, env: &mut Env<'_>, code: u16, reason: &[u8]) -> i32 {
    reply_tx_with(tx, env, code, reason, (b"", b""))
}

/// [`reply_tx`] with the script's reply lumps (headers, body).
fn reply_tx_with(
    tx: &mut Transaction,
    env: &mut Env<'_>,
    code: u16,
    reason: &[u8],
    lumps: (&[u8], &[u8]),
) -> i32 {
    if tx.uas.status >= 200 || tx.method == b"ACK" {
        return -1;
    }
    let Some(data) = local_reply_with(tx, env.core, code, reason, lumps) else {
        return -1;
    };
    tx.send_uas(data, code, true, env.now, &env.tm.cfg, env.out);
    if code >= 200 {
        let best = if code >= 300 { picked(tx) } else { None };
        reply_out_local(tx, best, code, env);
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
        tm: ctx.tm.shared,
        modules: ctx.modules,
        worker: &mut *ctx.worker,
        out: &mut *ctx.out,
        now: ctx.now,
    }
}

/// What a route run from tm needs besides the transaction.
struct Env<'e> {
    script: Option<&'e dyn Script>,
    core: &'e CoreConfig,
    tm: &'e Tm,
    modules: &'e dyn ModuleSet,
    worker: &'e mut WorkerState,
    out: &'e mut Vec<Transmit>,
    now: Instant,
}

/// The reason of an internal error as tm gives it: `<text> (<n>/TM)`.
pub fn err2reason(e: i32) -> (u16, String) {
    err2reason_signed(e, "TM")
}

/// Kamailio's `err2reason_phrase`: the reply code and reason of an
/// internal error, `<text> (<n>/<signature>)` with `n` the error number
/// (`TM` for tm, `SL` for sl's `sl_reply_error`).
pub fn err2reason_signed(e: i32, signature: &str) -> (u16, String) {
    let (code, text) = match e {
        err::SEND => (477, "Unfortunately error on sending to next hop occurred"),
        err::BAD_ADDRESS => (478, "Unresolvable destination"),
        err::BAD_URI => (479, "Regretfully, we were not able to process the URI"),
        err::BAD_REQ => (400, "Bad Request"),
        -487 => (487, "Transaction canceled"),
        _ => (500, "I'm terribly sorry, server error occurred"),
    };
    (code, format!("{text} ({}/{signature})", e.unsigned_abs()))
}

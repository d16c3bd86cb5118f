//! tmx's `$T_req(pv)`, `$T_rpl(pv)` and `$T_inv(pv)`: a PV read on
//! another message of the transaction, as Kamailio's tmx reads it:
//!
//! * `$T_req`, in reply routes (the core reply route finds the
//!   transaction from the reply's Via): the request as received.
//! * `$T_rpl`, in failure routes: the winning branch's reply (`$null` if tm
//!   made it: a timeout). Ours is kept as relayed, without its top Via
//!   (the one difference: `$T_rpl($hdr(Via))` reads the next Via).
//! * `$T_inv`, in the request route of a CANCEL: the INVITE it cancels.
//!
//! Anywhere else, or with no such message, `$null`. The inner PV reads a
//! copy of the message in a context of its own: per-message state of the
//! current message (`$var`s, AVPs, flags) is not seen there.

use super::*;
use crate::engine::value::{OwnedValue, Value};
use crate::transport::RecvInfo;
use cfgc_vocab::TMsg;

/// The transaction of the message, read-only.
fn current<'c>(ctx: &'c Ctx<'_>) -> Option<TxView<'c>> {
    match &ctx.tm.tx {
        TxRef::None => None,
        TxRef::Shared(h) => Some(TxView::Guard(lock_tx(h))),
        TxRef::Locked(t) => Some(TxView::Ref(t)),
    }
}

enum TxView<'c> {
    Guard(table::TxGuard<'c>),
    Ref(&'c Transaction),
}

impl std::ops::Deref for TxView<'_> {
    type Target = Transaction;
    fn deref(&self) -> &Transaction {
        match self {
            TxView::Guard(g) => g,
            TxView::Ref(t) => t,
        }
    }
}

/// The message `which` names for `ctx`, and where it came from.
fn message(ctx: &Ctx<'_>, which: TMsg) -> Option<(Vec<u8>, RecvInfo)> {
    let msg = ctx.msg;
    match which {
        TMsg::Req => {
            if msg.is_request() {
                return None;
            }
            if let Some(tx) = current(ctx) {
                return Some((tx.request.clone(), tx.rcv));
            }
            let (hash, label, _) = msg
                .via_top()
                .ok()
                .and_then(|v| v.branch)
                .and_then(build::parse_via_branch)?;
            let h = tm(ctx).table.find_label(hash, label)?;
            let tx = lock_tx(&h);
            (tx.local.is_none()).then(|| (tx.request.clone(), tx.rcv))
        }
        TMsg::Rpl => {
            if ctx.tm.route != RouteKind::Failure {
                return None;
            }
            let tx = current(ctx)?;
            let b = tx.branches.get(usize::try_from(ctx.tm.branch_idx).ok()?)?;
            let stored = b.reply.as_ref().filter(|s| !s.faked)?;
            let rcv = RecvInfo {
                proto: b.to.proto,
                src: b.to.dst,
                local: b.to.local.unwrap_or(ctx.rcv.local),
                conn: None,
            };
            Some((stored.data.clone(), rcv))
        }
        TMsg::Inv => {
            if ctx.tm.route != RouteKind::Request || msg.method() != Some(Method::Cancel) {
                return None;
            }
            let hash = hash_index(msg)?;
            let key = request_key(msg, Method::Invite)?;
            let h = tm(ctx).table.find_request(hash, &key)?;
            let tx = lock_tx(&h);
            Some((tx.request.clone(), tx.rcv))
        }
    }
}

/// `$T_req(pv)` and its kin: `read` (the inner PV) run on the message
/// `which` names; `$null` if there is none.
pub fn t_msg_pv<'c>(
    ctx: &Ctx<'_>,
    which: TMsg,
    read: impl FnOnce(&Ctx<'_>) -> OwnedValue,
) -> Value<'c> {
    let Some((data, rcv)) = message(ctx, which) else {
        return Value::Null;
    };
    let Ok(msg) = Message::parse(&data) else {
        return Value::Null;
    };
    let mut worker = WorkerState::default();
    let mut out = Vec::new();
    let mut c = Ctx::new(&msg, &rcv, ctx.core, &mut worker, &mut out);
    c.modules = ctx.modules;
    c.tm.shared = ctx.tm.shared;
    c.now = ctx.now;
    match read(&c) {
        OwnedValue::Null => Value::Null,
        OwnedValue::Int(n) => Value::Int(n),
        OwnedValue::Str(s) => Value::Str(std::borrow::Cow::Owned(s.to_vec())),
    }
}

//! tm's script functions: `t_newtran`, `t_reply`, the `t_on_*` arms, the
//! `t_check_*`/`t_is_*` predicates, `$T_reply_code`.

use super::*;

// ---- transactions for requests ---------------------------------------

pub(super) enum NewTran {
    Created(TxHandle),
    /// A retransmission: the last reply was re-sent.
    Retransmission,
    /// The ACK of a negative or local reply: absorbed.
    AckAbsorbed,
    /// An ACK with no transaction to absorb it (2xx, end to end).
    E2eAck,
}

/// Looks the request up; creates its transaction when it has none.
pub(super) fn newtran(ctx: &mut Ctx<'_>) -> Result<NewTran, i32> {
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
    // The modules' TMCB_REQUEST_IN (dialog may add to the request).
    let modules = ctx.modules;
    let callbacks = modules.tm_request_in(ctx);
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
        callbacks,
        fr_timeout: ctx.tm.user_fr.1.unwrap_or(t.cfg.fr_timer),
        fr_inv_timeout: ctx.tm.user_fr.0.unwrap_or(t.cfg.fr_inv_timer),
        auto_inv_100: ctx.tm.user_auto_inv_100.unwrap_or(t.cfg.auto_inv_100),
        local: None,
    };
    match t.table.insert(tx) {
        Ok(h) => {
            crate::engine::counters::stats().tm.transactions.inc();
            Ok(NewTran::Created(h))
        }
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

// ---- other script functions -----------------------------------------

/// `t_reply(code, reason)`: a stateful reply; -1 without a transaction.
pub fn t_reply(ctx: &mut Ctx<'_>, code: i32, reason: &[u8]) -> i32 {
    let Ok(code) = u16::try_from(code) else {
        return -1;
    };
    if !(100..=699).contains(&code) {
        return -1;
    }
    // The headers the script added for the reply go in, as Kamailio
    // builds the reply from the request with its reply lumps.
    let lumps = std::mem::take(&mut ctx.reply_lumps);
    let body = ctx.reply_body.take();
    let rc = with_tx(ctx, |tx, ctx| {
        let parts = (&lumps[..], body.as_deref().unwrap_or_default());
        reply_tx_with(tx, &mut env_of(ctx), code, reason, parts)
    })
    .unwrap_or(-1);
    ctx.reply_lumps = lumps;
    ctx.reply_body = body;
    rc
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

pub(super) fn arm(ctx: &mut Ctx<'_>, set: impl Fn(&mut Armed)) -> i32 {
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

pub(super) fn truth(b: bool) -> i32 {
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
    match crate::engine::cond::icase_match(re, code.to_string().as_bytes()) {
        Some(m) => truth(m),
        None => -1,
    }
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

/// The picked branch of a failure route (Kamailio's
/// `t_get_picked_branch`): its reply's code and text as stored, and the
/// branch's R-URI; `None` outside a failure route, or for a reply tm made
/// itself (a timeout).
pub fn picked_reply(ctx: &mut Ctx<'_>) -> Option<(u16, Vec<u8>, Vec<u8>)> {
    if ctx.tm.route != RouteKind::Failure {
        return None;
    }
    let idx = usize::try_from(ctx.tm.branch_idx).ok()?;
    with_tx(ctx, |tx, _| {
        let b = tx.branches.get(idx)?;
        let r = b.reply.as_ref().filter(|r| !r.faked)?;
        Some((r.code, r.data.clone(), b.uri.clone()))
    })
    .flatten()
}

/// `t_release()`: puts the transaction on its wait timer.
pub fn t_release(ctx: &mut Ctx<'_>) -> i32 {
    let (cfg, now) = (&ctx.tm.shared.cfg, ctx.now);
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

pub(super) fn replied(b: &UacBranch) -> bool {
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

// ---- timers and flags of the current or next transaction ----------------

/// A time in ms as Kamailio's timers take it: `MS_TO_TICKS` (16 ticks a
/// second, rounded up, in 32-bit unsigned arithmetic: the int is taken
/// as unsigned, so -1 wraps to a tick count of 0), then back to a
/// duration of whole ticks. `Err` for a time that is not 0 but makes no
/// tick ("too small").
fn fr_ms(ms: i32) -> Result<Option<Duration>, ()> {
    let m = ms.cast_unsigned();
    if m == 0 {
        return Ok(None);
    }
    let ticks = m.wrapping_mul(16).wrapping_add(999) / 1000;
    if ticks == 0 {
        return Err(());
    }
    Ok(Some(Duration::from_micros(u64::from(ticks) * 62_500)))
}

/// Kamailio's `change_fr`: the transaction's values, and the timers of
/// its branches still waiting for a final reply (an INVITE branch with a
/// provisional takes `fr_inv`, the others `fr`); `None` leaves one as it
/// is.
fn change_fr(tx: &mut Transaction, now: Instant, fr_inv: Option<Duration>, fr: Option<Duration>) {
    if let Some(v) = fr_inv {
        tx.fr_inv_timeout = v;
    }
    if let Some(v) = fr {
        tx.fr_timeout = v;
    }
    for b in &mut tx.branches {
        if b.fr_at.is_none() {
            continue;
        }
        match (b.fr_inv, fr_inv, fr) {
            (true, Some(v), _) => b.fr_at = Some(now + v),
            (_, _, Some(v)) => b.fr_at = Some(now + v),
            _ => {}
        }
    }
}

/// `t_set_fr(fr_inv[, fr])` (milliseconds; 0 leaves one as it is): for
/// the transaction the message creates, or the current one (its running
/// branch timers restarted with the new values). 1; -1 for a time too
/// small for a timer tick.
pub fn t_set_fr(ctx: &mut Ctx<'_>, fr_inv: i32, fr: i32) -> i32 {
    let (Ok(fr_inv), Ok(fr)) = (fr_ms(fr_inv), fr_ms(fr)) else {
        crate::engine::log::error(ctx, "fr_timeout too small");
        return -1;
    };
    if ctx.tm.has_tx() {
        let now = ctx.now;
        with_tx(ctx, |tx, _| change_fr(tx, now, fr_inv, fr));
    } else {
        // Kamailio keeps both values for the message, 0 included.
        ctx.tm.user_fr = (fr_inv, fr);
    }
    1
}

/// `t_set_fr(fr_inv)`.
pub fn t_set_fr_inv(ctx: &mut Ctx<'_>, fr_inv: i32) -> i32 {
    t_set_fr(ctx, fr_inv, 0)
}

/// `t_reset_fr()`: the module's `fr_inv_timer`/`fr_timer` again, for the
/// next transaction or the current one (its running timers restarted).
pub fn t_reset_fr(ctx: &mut Ctx<'_>) -> i32 {
    if ctx.tm.has_tx() {
        let now = ctx.now;
        let (fr_inv, fr) = (tm(ctx).cfg.fr_inv_timer, tm(ctx).cfg.fr_timer);
        with_tx(ctx, |tx, _| change_fr(tx, now, Some(fr_inv), Some(fr)));
    } else {
        ctx.tm.user_fr = (None, None);
    }
    1
}

/// `t_set_auto_inv_100(0|1)`: whether `t_relay` answers the INVITE with
/// a 100 first, for the transaction the message creates or the current
/// one. 1.
pub fn t_set_auto_inv_100(ctx: &mut Ctx<'_>, on: i32) -> i32 {
    if ctx.tm.has_tx() {
        with_tx(ctx, |tx, _| tx.auto_inv_100 = on != 0);
    } else {
        ctx.tm.user_auto_inv_100 = Some(on != 0);
    }
    1
}

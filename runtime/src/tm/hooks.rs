//! What the engine calls: the end of a request route, replies received,
//! the timer; and the modules' transaction callbacks (`TMCB_*`).

use super::*;

// ---- the modules' transaction callbacks ----------------------------

/// Runs `f` on a context for the transaction's request, as tm's callbacks
/// (Kamailio's `TMCB_*`) see it:
/// the saved flags and `$avp`s, the R-URI of `branch` (the one whose reply
/// it is); the flags are saved back.
pub(super) fn with_request_ctx(
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
    ctx.tm.shared = env.tm;
    ctx.now = env.now;
    ctx.flags = tx.flags;
    ctx.avps = std::mem::take(&mut tx.avps);
    if let Some(b) = branch.and_then(|i| tx.branches.get(i)) {
        ctx.tm.reply_from = Some(RecvInfo {
            proto: b.to.proto,
            src: b.to.dst,
            local: b.to.local.unwrap_or(rcv.local),
            conn: b.to.conn,
        });
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

/// `TMCB_RESPONSE_OUT` for a reply tm made and sent upstream.
pub(super) fn reply_out_local(
    tx: &mut Transaction,
    branch: Option<usize>,
    code: u16,
    env: &mut Env<'_>,
) {
    if tx.callbacks & tmcb::RESPONSE_OUT == 0 {
        return;
    }
    let to_tag = tx.to_tag.clone();
    let modules = env.modules;
    with_request_ctx(tx, branch, env, |ctx| {
        let reply = TmReply::Local {
            code,
            to_tag: &to_tag,
        };
        modules.tm_event(tmcb::RESPONSE_OUT, ctx, &reply);
    });
}

/// `TMCB_RESPONSE_OUT` for a received reply of branch `idx` relayed
/// upstream.
pub(super) fn reply_out_relayed(
    tx: &mut Transaction,
    idx: usize,
    msg: &Message<'_>,
    env: &mut Env<'_>,
) {
    if tx.callbacks & tmcb::RESPONSE_OUT == 0 {
        return;
    }
    let modules = env.modules;
    with_request_ctx(tx, Some(idx), env, |ctx| {
        modules.tm_event(tmcb::RESPONSE_OUT, ctx, &TmReply::Received(msg));
    });
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
    let (cfg, now) = (&ctx.tm.shared.cfg, ctx.now);
    with_tx(ctx, |tx, ctx| {
        // Kamailio moves the message's AVP and XAVP lists into the
        // transaction at t_newtran and the script goes on writing there:
        // what the request route set after `t_relay` is seen by the
        // failure and reply routes too.
        tx.avps = std::mem::take(&mut ctx.avps);
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
    crate::engine::counters::stats().tm.rpl_received.inc();
    let mut g = lock_tx(&h);
    let tx = &mut *g;
    if idx >= tx.branches.len() {
        return false;
    }
    let cfg = &ctx.tm.shared.cfg;
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
                    b.fr_at = Some(now + tx.fr_inv_timeout);
                    b.fr_inv = true;
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
    // A request tm sent itself: its final reply goes to its sender.
    if tx.local.is_some() {
        if code < 200 {
            return true;
        }
        let reason = msg.reason().unwrap_or_default();
        let done = local::completed(tx, idx, code, reason, now, cfg);
        drop(g);
        if let Some(done) = done {
            done(&local::Completion {
                code,
                reason,
                reply: Some((msg, ctx.rcv)),
            });
        }
        return true;
    }
    // The transaction's onreply route. The core reply route's header
    // changes come first (Kamailio's lumps of the same reply), then the
    // modules' (`TMCB_RESPONSE_IN`: uac's From/To restoration).
    let mut ops = ctx.headers.clone();
    ctx.modules
        .tm_response_in(&tx.request, &tx.headers, msg, &mut ops);
    // The reply as textopsx rebuilt it in the route (`msg_apply_changes`,
    // `change_reply_status`): what tm then decides on and relays.
    let mut rebuilt_reply: Option<Vec<u8>> = None;
    if let (Some(r), Some(script)) = (tx.armed.onreply, ctx.tm.script) {
        let store = crate::engine::ctx::Rebuilt::default();
        let mut rctx = Ctx::new(msg, ctx.rcv, ctx.core, &mut *ctx.worker, &mut *ctx.out);
        rctx.rebuilt = Some(&store);
        rctx.headers = std::mem::take(&mut ops);
        rctx.modules = ctx.modules;
        rctx.tm.shared = ctx.tm.shared;
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
        if !std::ptr::eq(rctx.msg, msg) {
            rebuilt_reply = Some(rctx.msg.buffer().to_vec());
        }
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
    let reparsed = rebuilt_reply
        .as_deref()
        .and_then(|b| Message::parse(b).ok());
    let (msg, code) = match &reparsed {
        Some(m) => (m, m.status().unwrap_or(code)),
        None => (msg, code),
    };
    let mut env = Env {
        script: ctx.tm.script,
        core: ctx.core,
        tm: ctx.tm.shared,
        modules: ctx.modules,
        worker: &mut *ctx.worker,
        out: &mut *ctx.out,
        now,
    };
    reply_decision(tx, idx, msg, code, &ops, &mut env);
    true
}

/// Relays or stores a reply of branch `idx` (§2.5 step 6).
pub(super) fn reply_decision(
    tx: &mut Transaction,
    idx: usize,
    msg: &Message<'_>,
    code: u16,
    ops: &[crate::engine::ctx::HeaderOp],
    env: &mut Env<'_>,
) {
    let cfg = &env.tm.cfg;
    let now = env.now;
    let Some(data) = build::relayed_reply(msg, ops) else {
        return;
    };
    let reason = msg.reason().unwrap_or_default().to_vec();
    if code < 200 {
        if code != 100 && tx.uas.status < 200 {
            tx.send_uas(data, code, false, now, cfg, env.out);
            reply_out_relayed(tx, idx, msg, env);
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
            reply_out_relayed(tx, idx, msg, env);
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
pub(super) fn complete(tx: &mut Transaction, env: &mut Env<'_>) {
    let cfg = &env.tm.cfg;
    let leg = tx.leg;
    let all_legs = cfg.failure_reply_mode == 0;
    let Some(best) = select::pick(
        tx.branches
            .iter()
            .map(|b| (all_legs || b.leg == leg).then(|| b.final_code()).flatten()),
    ) else {
        return;
    };
    // The failure route, and the modules' TMCB_ON_FAILURE callbacks
    // (acc's missed calls), which run before it, armed or not.
    let failure = tx.armed.failure.take();
    if (failure.is_some() || tx.callbacks & tmcb::ON_FAILURE != 0)
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
            reply_out_local(tx, Some(best), code, env);
        } else if let Ok(msg) = Message::parse(&stored.data) {
            reply_out_relayed(tx, best, &msg, env);
        }
    }
}

/// Runs failure route `r` (if armed) on a copy of the original request,
/// after acc's missed-call callback if the transaction has it. True if
/// the route took over (new branches, or a final reply sent).
pub(super) fn run_failure(
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
    // What TMCB_ON_FAILURE is told: the winning reply, received or made
    // by tm.
    let on_failure = (tx.callbacks & tmcb::ON_FAILURE != 0).then(|| match &b.reply {
        Some(s) if !s.faked => Ok(s.data.clone()),
        _ => Err(tx.to_tag.clone()),
    });
    let modules = env.modules;
    let mut fctx = Ctx::new(&msg, &rcv, env.core, &mut *env.worker, &mut *env.out);
    fctx.modules = env.modules;
    fctx.tm.shared = env.tm;
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
    match &on_failure {
        Some(Ok(data)) => {
            // A stored reply parsed when it was received; unparsable now
            // only if it was never one (then nothing is reported).
            if let Ok(m) = Message::parse(data) {
                modules.tm_event(tmcb::ON_FAILURE, &mut fctx, &TmReply::Received(&m));
            }
        }
        Some(Err(to_tag)) => {
            let reply = TmReply::Local { code, to_tag };
            modules.tm_event(tmcb::ON_FAILURE, &mut fctx, &reply);
        }
        None => {}
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

/// What tm's timer runs with: the engine's parts.
pub struct TimerEnv<'e> {
    pub script: &'e dyn Script,
    pub core: &'e CoreConfig,
    pub tm: &'e Tm,
    pub modules: &'e dyn ModuleSet,
}

/// tm's timers, run by the engine's tick: retransmissions, final-response
/// timeouts (which can run failure routes), deletion after the wait timer.
pub fn timer(env: &TimerEnv<'_>, worker: &mut WorkerState, now: Instant, out: &mut Vec<Transmit>) {
    let t = env.tm;
    for h in t.table.sweep(now) {
        let mut g = lock_tx(&h);
        if g.on_timer(now, &t.cfg, out) {
            if g.local.is_some() {
                // A local request timed out: a faked 408 for its sender.
                let done = local::completed(&mut g, 0, 408, b"Request Timeout", now, &t.cfg);
                drop(g);
                if let Some(done) = done {
                    done(&local::Completion {
                        code: 408,
                        reason: b"Request Timeout",
                        reply: None,
                    });
                }
                continue;
            }
            let mut env = Env {
                script: Some(env.script),
                core: env.core,
                tm: t,
                modules: env.modules,
                worker: &mut *worker,
                out: &mut *out,
                now,
            };
            complete(&mut g, &mut env);
        }
        g.maybe_wait(now, &t.cfg);
    }
}

//! `t_relay`: branches built through the branch route and sent, CANCEL
//! relayed to the pending branches.

use super::*;
use crate::engine::ctx::HeaderOp;

// ---- t_relay -----------------------------------------------------------

/// One destination to relay to.
pub(super) struct Planned {
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

/// Where `t_relay(host, port)` and the `t_relay_to_*` functions send
/// every branch: the address (else the branch's `$du`/R-URI, resolved)
/// and the transport.
#[derive(Clone, Copy, Debug)]
pub(super) struct Forced {
    addr: Option<std::net::SocketAddr>,
    proto: Proto,
}

/// `host:port` as a forced destination, or Kamailio's error.
fn host_port(host: &[u8], port: i32) -> Result<std::net::SocketAddr, i32> {
    let port = u16::try_from(port).map_err(|_| err::BAD_ADDRESS)?;
    let ip = std::str::from_utf8(host)
        .ok()
        .and_then(resolve_host)
        .ok_or(err::BAD_ADDRESS)?;
    Ok(std::net::SocketAddr::new(ip, port))
}

/// `t_relay(host, port)`: every branch goes to `host:port`, over the
/// transport the request came in on (Kamailio's `w_t_relay2`).
pub fn t_relay_to(ctx: &mut Ctx<'_>, host: &[u8], port: i32) -> i32 {
    let proto = ctx.rcv.proto;
    match host_port(host, port) {
        Ok(a) => relay(
            ctx,
            Some(Forced {
                addr: Some(a),
                proto,
            }),
        ),
        Err(e) => e,
    }
}

/// `t_relay_to_udp(host, port)`: every branch to `host:port` over UDP.
pub fn t_relay_to_udp(ctx: &mut Ctx<'_>, host: &[u8], port: i32) -> i32 {
    match host_port(host, port) {
        Ok(a) => relay(
            ctx,
            Some(Forced {
                addr: Some(a),
                proto: Proto::Udp,
            }),
        ),
        Err(e) => e,
    }
}

/// `t_relay_to_tcp(host, port)`: every branch to `host:port` over TCP.
pub fn t_relay_to_tcp(ctx: &mut Ctx<'_>, host: &[u8], port: i32) -> i32 {
    match host_port(host, port) {
        Ok(a) => relay(
            ctx,
            Some(Forced {
                addr: Some(a),
                proto: Proto::Tcp,
            }),
        ),
        Err(e) => e,
    }
}

/// `t_relay_to_udp()`: as `t_relay()`, each branch over UDP whatever its
/// URI says.
pub fn t_relay_to_udp0(ctx: &mut Ctx<'_>) -> i32 {
    relay(
        ctx,
        Some(Forced {
            addr: None,
            proto: Proto::Udp,
        }),
    )
}

/// `t_relay_to_tcp()`: as `t_relay()`, each branch over TCP.
pub fn t_relay_to_tcp0(ctx: &mut Ctx<'_>) -> i32 {
    relay(
        ctx,
        Some(Forced {
            addr: None,
            proto: Proto::Tcp,
        }),
    )
}

pub(super) fn relay(ctx: &mut Ctx<'_>, to: Option<Forced>) -> i32 {
    let rc = relay_inner(ctx, to);
    ctx.last_error = if rc < 0 { rc } else { 0 };
    rc
}

pub(super) fn relay_inner(ctx: &mut Ctx<'_>, to: Option<Forced>) -> i32 {
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
    if method == Some(Method::Invite) {
        let (core, cfg, now) = (ctx.core, &ctx.tm.shared.cfg, ctx.now);
        with_tx(ctx, |tx, ctx| {
            if tx.auto_inv_100
                && tx.uas.status == 0
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
pub(super) fn add_branches(ctx: &mut Ctx<'_>, to: Option<Forced>) -> i32 {
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
    // Kamailio's `t_forward_nonack`: the lowest error of the branches, and
    // at most E_CFG when none was sent (every branch dropped by the branch
    // route included).
    let mut lowest_err = err::UNSPEC;
    for p in plan {
        match prepare_branch(ctx, p, branch_route, hash, label, next_idx, to) {
            Ok(Some(b)) => {
                next_idx += 1;
                sent.push(b);
            }
            Ok(None) => {}
            Err(e) => lowest_err = lowest_err.min(e),
        }
    }
    if sent.is_empty() {
        return lowest_err.min(E_CFG);
    }
    let (cfg, now) = (&ctx.tm.shared.cfg, ctx.now);
    with_tx(ctx, |tx, ctx| {
        if failure && tx.relayed {
            // A new serial-forking leg.
            tx.leg += 1;
        }
        if !tx.relayed {
            // Notes a module left on the transaction from a branch route
            // (rtpproxy's `FL_SDP_BODY` on `t->uas.request`) stay.
            let notes: Vec<HeaderOp> = std::mem::take(&mut tx.headers)
                .into_iter()
                .filter(|h| matches!(h, HeaderOp::Note(..)))
                .collect();
            tx.headers = ctx.headers.clone();
            for n in notes {
                if let HeaderOp::Note(key, _) = &n
                    && !tx
                        .headers
                        .iter()
                        .any(|h| matches!(h, HeaderOp::Note(k, _) if k == key))
                {
                    tx.headers.push(n);
                }
            }
            tx.relayed = true;
        }
        tx.flags = ctx.flags;
        tx.avps = ctx.avps.clone();
        tx.delete_at = None;
        for mut b in sent {
            b.leg = tx.leg;
            b.fr_at = Some(now + tx.fr_timeout);
            b.retr = (b.to.proto == Proto::Udp).then(|| Retr::start(now, cfg.t1));
            ctx.out.push(b.to.transmit(b.request.clone()));
            tx.branches.push(b);
        }
    });
    1
}

/// Runs the branch route for one destination and builds its request.
/// `Ok(None)`: the branch route dropped it.
pub(super) fn prepare_branch(
    ctx: &mut Ctx<'_>,
    p: Planned,
    branch_route: Option<u32>,
    hash: u16,
    label: u128,
    idx: usize,
    to: Option<Forced>,
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
pub(super) fn build_branch(
    ctx: &Ctx<'_>,
    hash: u16,
    label: u128,
    idx: usize,
    to: Option<Forced>,
) -> Result<UacBranch, i32> {
    let msg = ctx.msg;
    let uri = ctx.ruri().to_vec();
    let (dst, proto) = match to {
        Some(Forced {
            addr: Some(a),
            proto,
        }) => (a, proto),
        Some(Forced { addr: None, proto }) => (
            resolve_uri(ctx.dst_uri.as_deref().unwrap_or(&uri))?.0,
            proto,
        ),
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
    let (via_host, port) = ctx.core.via_sent_by(local);
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
        fr_inv: false,
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
pub(super) fn relay_cancel(ctx: &mut Ctx<'_>) -> Option<i32> {
    let msg = ctx.msg;
    let hash = hash_index(msg)?;
    let key = request_key(msg, Method::Invite)?;
    let inv = tm(ctx).table.find_request(hash, &key)?;
    let h = match newtran(ctx) {
        Ok(NewTran::Created(h)) => h,
        Ok(_) => return Some(1),
        Err(e) => return Some(e),
    };
    let (cfg, now) = (&ctx.tm.shared.cfg, ctx.now);
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

// ---- t_replicate -------------------------------------------------------

/// `t_replicate()`: a copy of the request relayed statefully to its
/// `$du`/R-URI, whose replies stop here (Kamailio marks the transaction
/// local: nothing is relayed upstream, and a failure is not answered).
/// 1 sent; a negative internal error if not.
pub fn t_replicate(ctx: &mut Ctx<'_>) -> i32 {
    replicate(ctx, None)
}

/// `t_replicate(uri)`: the copy goes to the URI's address and transport.
pub fn t_replicate_uri(ctx: &mut Ctx<'_>, uri: &[u8]) -> i32 {
    match resolve_uri(uri) {
        Ok((a, proto)) => replicate(
            ctx,
            Some(Forced {
                addr: Some(a),
                proto,
            }),
        ),
        Err(e) => e,
    }
}

/// `t_replicate(host, port)`: the copy goes to `host:port`, over the
/// transport the request came in on.
pub fn t_replicate_to(ctx: &mut Ctx<'_>, host: &[u8], port: i32) -> i32 {
    let proto = ctx.rcv.proto;
    match host_port(host, port) {
        Ok(a) => replicate(
            ctx,
            Some(Forced {
                addr: Some(a),
                proto,
            }),
        ),
        Err(e) => e,
    }
}

fn replicate(ctx: &mut Ctx<'_>, to: Option<Forced>) -> i32 {
    if ctx.tm.route != RouteKind::Request || !ctx.msg.is_request() {
        return -1;
    }
    // A CANCEL or an ACK goes as `t_relay` sends it (Kamailio's
    // `t_relay_to` handles both before it looks at replication).
    if matches!(ctx.msg.method(), Some(Method::Cancel | Method::Ack)) {
        return relay(ctx, to);
    }
    if !ctx.tm.has_tx() {
        match newtran(ctx) {
            Ok(NewTran::Created(h)) => ctx.tm.tx = TxRef::Shared(h),
            Ok(NewTran::Retransmission | NewTran::AckAbsorbed) => return 1,
            Ok(NewTran::E2eAck) => return crate::engine::forward::forward(ctx, None),
            Err(e) => return e,
        }
    }
    // Replies stop here: the transaction is local (`T_IS_LOCAL_FLAG`).
    with_tx(ctx, |tx, _| {
        tx.local.get_or_insert_with(local::LocalUac::default);
    });
    let rc = relay(ctx, to);
    if rc < 0 {
        // No error reply upstream for a copy: the transaction goes quietly.
        ctx.tm.delayed_error = None;
        let (cfg, now) = (&ctx.tm.shared.cfg, ctx.now);
        with_tx(ctx, |tx, _| tx.release(now, cfg));
    }
    rc
}

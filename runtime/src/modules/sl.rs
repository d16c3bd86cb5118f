//! sl — stateless replies (kamailio-modules.md §1).

use crate::engine::Ctx;
use crate::engine::counters::stats;
use crate::engine::forward::err;
use crate::sip::reply::{self, ReplyOpts};
use crate::sip::{HeaderName, Method};
use crate::transport::Transmit;

/// Sends a locally built reply back where the request came from (the
/// source address, on the socket or connection it arrived on).
pub fn send_local_reply(ctx: &mut Ctx<'_>, code: u16, reason: &[u8], extra_headers: &[u8]) -> i32 {
    let seed = ctx
        .core
        .listen
        .first()
        .map(|(_, a)| a.to_string())
        .unwrap_or_default();
    let src_ip = ctx.rcv.src.ip().to_string();
    let opts = ReplyOpts {
        tag_seed: seed.as_bytes(),
        server: ctx.core.server_header.as_deref(),
        lumps: &ctx.reply_lumps,
        body: ctx.reply_body.as_deref().unwrap_or_default(),
        extra_headers,
        source: Some((src_ip.as_bytes(), ctx.rcv.src.port())),
        force_rport: ctx.force_rport,
        ..ReplyOpts::default()
    };
    match reply::build(ctx.msg, code, reason, &opts) {
        Ok(data) => {
            ctx.out.push(Transmit {
                proto: ctx.rcv.proto,
                dst: ctx.rcv.src,
                local: Some(ctx.rcv.local),
                conn: ctx.rcv.conn,
                data,
                no_connect: ctx.reply_no_connect,
            });
            stats().sl.sent(code, true);
            1
        }
        Err(_) => {
            stats().sl.sent(code, false);
            -1
        }
    }
}

/// `sl_send_reply(code, reason)`: 1 on success, -1 on error; an ACK is
/// never answered (-1).
pub fn sl_send_reply(ctx: &mut Ctx<'_>, code: i32, reason: &[u8]) -> i32 {
    if !ctx.msg.is_request() || matches!(ctx.msg.method(), Some(Method::Ack)) {
        return -1;
    }
    let Ok(code) = u16::try_from(code) else {
        return -1;
    };
    if !(100..=699).contains(&code) {
        return -1;
    }
    send_local_reply(ctx, code, reason, b"")
}

/// `send_reply(code, reason)`: through tm (`t_reply`) when the message
/// has a transaction, else stateless like `sl_send_reply`; -1 in a reply
/// route without one.
pub fn send_reply(ctx: &mut Ctx<'_>, code: i32, reason: &[u8]) -> i32 {
    if ctx.tm.has_tx() {
        return crate::modules::tm::t_reply(ctx, code, reason);
    }
    sl_send_reply(ctx, code, reason)
}

/// The reply `sl_reply_error()` sends for an internal error (§0.5):
/// Kamailio's `err2reason_phrase`, the error number in the reason
/// (`(6/SL)` after a `t_relay` that sent no branch); no error yet is
/// E_UNSPEC's `(1/SL)`.
pub fn err2reason(e: i32) -> (u16, String) {
    let e = if e == 0 { err::UNSPEC } else { e };
    crate::tm::err2reason_signed(e, "SL")
}

/// `sl_reply_error()`: a reply derived from the previous action's error.
pub fn sl_reply_error(ctx: &mut Ctx<'_>) -> i32 {
    let (code, reason) = err2reason(ctx.last_error);
    sl_send_reply(ctx, i32::from(code), reason.as_bytes())
}

/// Whether the request has a To-tag (helper used by several modules).
pub fn has_totag(ctx: &Ctx<'_>) -> bool {
    ctx.msg.header(HeaderName::To).is_some() && ctx.msg.to().is_ok_and(|t| t.tag.is_some())
}

//! Pseudo-variable accessors. Generated code calls these directly (no name
//! lookup at run time); the compiler resolves `$rU` to [`r_user`], etc.
//! Reads return [`Value::Null`] when the message has no such part, as
//! Kamailio does.

use crate::sip::{HeaderName, NameAddr, Uri};
use crate::transport::Proto;

use super::ctx::Ctx;
use super::uri as rewrite;
use super::value::{OwnedValue, Value};

fn bytes_of_ip(ip: std::net::IpAddr) -> Value<'static> {
    Value::string(ip.to_string())
}

/// `$ru`: the current R-URI.
pub fn ru<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    if ctx.msg.is_request() {
        Value::str(ctx.ruri())
    } else {
        Value::Null
    }
}

fn ruri_parsed<'c>(ctx: &'c Ctx<'_>) -> Option<Uri<'c>> {
    if !ctx.msg.is_request() {
        return None;
    }
    Uri::parse(ctx.ruri()).ok()
}

/// `$rU`: user part of the current R-URI.
pub fn r_user<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ruri_parsed(ctx).and_then(|u| u.user))
}

/// `$rd`: host of the current R-URI.
pub fn r_domain<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ruri_parsed(ctx).map(|u| u.host))
}

/// `$rp`: port of the current R-URI (5060, 5061 for sips, when absent).
pub fn r_port(ctx: &Ctx<'_>) -> Value<'static> {
    match ruri_parsed(ctx) {
        Some(u) => {
            let default = if u.scheme == crate::sip::Scheme::Sips {
                5061
            } else {
                5060
            };
            Value::Int(i32::from(u.port.unwrap_or(default)))
        }
        None => Value::Null,
    }
}

/// `$ou`: the R-URI as received.
pub fn orig_ru<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ctx.msg.ruri_bytes())
}

/// `$du`: the destination URI.
pub fn du<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ctx.dst_uri.as_deref())
}

fn from<'c>(ctx: &'c Ctx<'_>) -> Option<NameAddr<'c>> {
    ctx.msg.from().ok()
}

fn to<'c>(ctx: &'c Ctx<'_>) -> Option<NameAddr<'c>> {
    ctx.msg.to().ok()
}

/// `$fu`
pub fn from_uri<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(from(ctx).map(|f| f.uri_raw))
}

/// `$fU`
pub fn from_user<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(from(ctx).and_then(|f| f.uri().ok()).and_then(|u| u.user))
}

/// `$fd`
pub fn from_domain<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(from(ctx).and_then(|f| f.uri().ok()).map(|u| u.host))
}

/// `$fn`: display name, quotes kept.
pub fn from_name<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(from(ctx).and_then(|f| f.display))
}

/// `$ft`
pub fn from_tag<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(from(ctx).and_then(|f| f.tag))
}

/// `$tu`
pub fn to_uri<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(to(ctx).map(|t| t.uri_raw))
}

/// `$tU`
pub fn to_user<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(to(ctx).and_then(|t| t.uri().ok()).and_then(|u| u.user))
}

/// `$td`
pub fn to_domain<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(to(ctx).and_then(|t| t.uri().ok()).map(|u| u.host))
}

/// `$tn`
pub fn to_name<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(to(ctx).and_then(|t| t.display))
}

/// `$tt`
pub fn to_tag<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(to(ctx).and_then(|t| t.tag))
}

/// `$ci`
pub fn call_id<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ctx.msg.call_id().ok())
}

/// `$cs`: CSeq number.
pub fn cseq_num(ctx: &Ctx<'_>) -> Value<'static> {
    ctx.msg
        .cseq()
        .map_or(Value::Null, |c| Value::Int(c.seq as i32))
}

/// `$rm`: the method (of the CSeq for replies).
pub fn method<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    if let Some(m) = ctx.msg.method() {
        return Value::str(m.as_bytes());
    }
    Value::opt(ctx.msg.cseq().ok().map(|c| c.method.as_bytes()))
}

/// `$rs`: reply status.
pub fn status(ctx: &Ctx<'_>) -> Value<'static> {
    ctx.msg
        .status()
        .map_or(Value::Null, |s| Value::Int(i32::from(s)))
}

/// `$T_branch_idx` (tmx): the branch being sent (branch route), the
/// winning one (failure route), the replying one (onreply route); 0
/// elsewhere.
pub fn t_branch_idx(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(ctx.tm.branch_idx)
}

/// `$T_reply_code` (tmx): the current reply (onreply route), the winning
/// one (failure route), else the last status the transaction sent (0:
/// none).
pub fn t_reply_code(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(i32::from(crate::modules::tm::reply_code(ctx)))
}

/// `$T_reply_reason` (tmx): the reason of the reply `$T_reply_code` gives
/// in onreply and failure routes; empty elsewhere.
pub fn t_reply_reason<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::str(&ctx.tm.reply_reason)
}

/// `$rr`: reply reason.
pub fn reason<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ctx.msg.reason())
}

/// `$ua`: User-Agent.
pub fn user_agent<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(ctx.msg.header(HeaderName::UserAgent))
}

/// `$hdr(Name)`: body of the first header with that name (compact forms
/// included).
pub fn hdr<'c>(ctx: &'c Ctx<'_>, name: &[u8]) -> Value<'c> {
    Value::opt(ctx.msg.header_by_name(name))
}

/// `$si`
pub fn src_ip(ctx: &Ctx<'_>) -> Value<'static> {
    bytes_of_ip(ctx.rcv.src.ip())
}

/// `$sp`
pub fn src_port(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(i32::from(ctx.rcv.src.port()))
}

/// `$Ri`
pub fn rcv_ip(ctx: &Ctx<'_>) -> Value<'static> {
    bytes_of_ip(ctx.rcv.local.ip())
}

/// `$Rp`
pub fn rcv_port(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(i32::from(ctx.rcv.local.port()))
}

/// `$pr`/`$proto`
pub fn proto(ctx: &Ctx<'_>) -> Value<'static> {
    Value::str(match ctx.rcv.proto {
        Proto::Udp => b"udp",
        Proto::Tcp => b"tcp",
    })
}

/// `$rb`: body.
pub fn body<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::str(ctx.msg.body())
}

/// `$ml`: message length.
pub fn msg_len(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(ctx.msg.as_bytes().len() as i32)
}

/// `$rc`
pub fn rc(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(ctx.rc)
}

/// `$mf`: message flags.
pub fn msg_flags(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(ctx.flags as i32)
}

// ---- writes -----------------------------------------------------------

/// `$ru = v`; `$ru = $null` is ignored by Kamailio (an error is logged).
pub fn set_ru(ctx: &mut Ctx<'_>, v: &Value<'_>) -> i32 {
    match v {
        Value::Null => -1,
        _ => {
            let s = v.to_bytes().into_owned();
            if Uri::parse(&s).is_err() {
                return -1;
            }
            ctx.new_uri = Some(s);
            1
        }
    }
}

fn rewrite_ruri(ctx: &mut Ctx<'_>, f: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    match f(ctx.ruri()) {
        Some(u) => {
            ctx.new_uri = Some(u);
            1
        }
        None => -1,
    }
}

/// `$rU = v` (`$null` removes the user).
pub fn set_r_user(ctx: &mut Ctx<'_>, v: &Value<'_>) -> i32 {
    let user = (!v.is_null()).then(|| v.to_bytes().into_owned());
    rewrite_ruri(ctx, |u| rewrite::set_user(u, user.as_deref()))
}

/// `$rd = v`
pub fn set_r_domain(ctx: &mut Ctx<'_>, v: &Value<'_>) -> i32 {
    if v.is_null() {
        return -1;
    }
    let host = v.to_bytes().into_owned();
    rewrite_ruri(ctx, |u| rewrite::set_host(u, &host))
}

/// `$rp = v` (`$null` removes the port).
pub fn set_r_port(ctx: &mut Ctx<'_>, v: &Value<'_>) -> i32 {
    let port = (!v.is_null()).then(|| v.to_bytes().into_owned());
    rewrite_ruri(ctx, |u| rewrite::set_port(u, port.as_deref()))
}

/// `$du = v`; `$du = $null` resets it.
pub fn set_du(ctx: &mut Ctx<'_>, v: &Value<'_>) -> i32 {
    ctx.dst_uri = match v {
        Value::Null => None,
        _ => {
            let s = v.to_bytes().into_owned();
            if Uri::parse(&s).is_err() {
                return -1;
            }
            Some(s)
        }
    };
    1
}

/// `$var(x)` read (index assigned by the compiler).
pub fn var<'c>(ctx: &'c Ctx<'_>, idx: usize) -> Value<'c> {
    match ctx.worker.vars.get(idx) {
        Some(Value::Str(s)) => Value::str(s),
        Some(Value::Int(i)) => Value::Int(*i),
        _ => Value::Int(0),
    }
}

/// `$var(x) = v`: `$null` stores int 0.
pub fn set_var(ctx: &mut Ctx<'_>, idx: usize, v: Value<'_>) {
    if ctx.worker.vars.len() <= idx {
        ctx.worker.vars.resize(idx + 1, OwnedValue::Int(0));
    }
    ctx.worker.vars[idx] = match v {
        Value::Null => Value::Int(0),
        v => v.into_owned(),
    };
}

/// `$avp(x)` read: the newest value; `$(avp(x)[i])`: the i-th newest.
pub fn avp<'c>(ctx: &'c Ctx<'_>, idx: usize, nth: usize) -> Value<'c> {
    match ctx.avps.get(idx).and_then(|s| s.iter().rev().nth(nth)) {
        Some(Value::Str(s)) => Value::str(s),
        Some(Value::Int(i)) => Value::Int(*i),
        _ => Value::Null,
    }
}

/// `$avp(x) = v` pushes a value; `= $null` pops the newest one.
pub fn set_avp(ctx: &mut Ctx<'_>, idx: usize, v: Value<'_>) {
    let stack = ctx.avp_stack(idx);
    match v {
        Value::Null => {
            stack.pop();
        }
        v => stack.push(v.into_owned()),
    }
}

/// `$(avp(x)[*]) = $null`: deletes every value.
pub fn clear_avp(ctx: &mut Ctx<'_>, idx: usize) {
    ctx.avp_stack(idx).clear();
}

//! Pseudo-variables: what each [`PvRef`] of the vocabulary means. The
//! compiler resolves `$rU` to `PvRef::Plain(PvId::RUser)`; generated code
//! calls [`get`] with that constant id (inlined, it folds into the direct
//! accessor call, [`r_user`]), or the accessor of a PV with arguments
//! ([`hdr`], [`var`]...); the interpreter calls [`read`]. Reads return
//! [`Value::Null`] when the message has no such part, as Kamailio does.

use crate::sip::{HeaderName, NameAddr, Uri};
use crate::transport::Proto;

pub use cfgc_vocab::{FmtSeg, PvId, PvRef};
use cfgc_vocab::{TrArg, TrOp};

use super::ctx::Ctx;
use super::trans;
use super::uri as rewrite;
use super::value::{OwnedValue, Value};
use super::xavp;

/// The value of a PV without arguments.
#[inline(always)]
pub fn get<'c>(ctx: &'c Ctx<'_>, id: PvId) -> Value<'c> {
    match id {
        PvId::Null => Value::Null,
        PvId::Ru => ru(ctx),
        PvId::RUser => r_user(ctx),
        PvId::RDomain => r_domain(ctx),
        PvId::RPort => r_port(ctx),
        PvId::OrigRu => orig_ru(ctx),
        PvId::Du => du(ctx),
        PvId::FromUri => from_uri(ctx),
        PvId::FromUser => from_user(ctx),
        PvId::FromDomain => from_domain(ctx),
        PvId::FromName => from_name(ctx),
        PvId::FromTag => from_tag(ctx),
        PvId::ToUri => to_uri(ctx),
        PvId::ToUser => to_user(ctx),
        PvId::ToDomain => to_domain(ctx),
        PvId::ToName => to_name(ctx),
        PvId::ToTag => to_tag(ctx),
        PvId::CallId => call_id(ctx),
        PvId::CSeq => cseq_num(ctx),
        PvId::Method => method(ctx),
        PvId::Status => status(ctx),
        PvId::Reason => reason(ctx),
        PvId::UserAgent => user_agent(ctx),
        PvId::SrcIp => src_ip(ctx),
        PvId::SrcPort => src_port(ctx),
        PvId::RcvIp => rcv_ip(ctx),
        PvId::RcvPort => rcv_port(ctx),
        PvId::Proto => proto(ctx),
        PvId::Body => body(ctx),
        PvId::MsgLen => msg_len(ctx),
        PvId::Rc => rc(ctx),
        PvId::MsgFlags => msg_flags(ctx),
        PvId::MsgType => msg_type(ctx),
        PvId::Version => version(ctx),
        PvId::RScheme => r_scheme(ctx),
        PvId::Contact => contact(ctx),
        PvId::DstDomain => dst_domain(ctx),
        PvId::DstPort => dst_port(ctx),
        PvId::DstProto => dst_proto(ctx),
        PvId::Time => time_s(ctx),
        PvId::Pid => pid(ctx),
        PvId::BFlags => bflags(ctx),
        PvId::BFlagsHex => bflags_hex(ctx),
        PvId::BranchUri => branch_uri(ctx),
        PvId::Branches => branches(ctx),
        PvId::TBranchIdx => t_branch_idx(ctx),
        PvId::TReplyCode => t_reply_code(ctx),
        PvId::TReplyReason => t_reply_reason(ctx),
    }
}

/// The value of any PV (the interpreter's and the modules' way in;
/// generated code calls [`get`] or the accessor itself).
pub fn read<'c>(ctx: &'c Ctx<'_>, pv: &'c PvRef) -> Value<'c> {
    match pv {
        PvRef::Plain(id) => get(ctx, *id),
        PvRef::Hdr(name) => hdr(ctx, name),
        PvRef::HdrCount(name) => hdr_count(ctx, name),
        PvRef::Var(slot) => var(ctx, *slot),
        PvRef::Avp(slot, nth) => avp(ctx, *slot, *nth),
        PvRef::Env(name) => env(name),
        PvRef::Cfg(name) => cfg_var(ctx, name),
        PvRef::Trans(inner, ops) => match trans_ops(ctx, ops) {
            Some(ops) => trans::eval(read(ctx, inner), &ops),
            None => Value::Null,
        },
        PvRef::Dbr(..)
        | PvRef::SqlRows(_)
        | PvRef::TextIter(..)
        | PvRef::Sht(..)
        | PvRef::ShtRecord(_)
        | PvRef::ShtIter(..)
        | PvRef::Mq(..)
        | PvRef::DlgVar(_) => ctx.modules.read_pv_ref(pv, ctx),
        PvRef::Xavp(x) => xavp::read(ctx, x),
        PvRef::Module(idx) => match cfgc_vocab::ModulePv::get(*idx) {
            Some(p) => ctx.modules.read_pv(p.name, ctx),
            None => Value::Null,
        },
        PvRef::TMsg(which, inner) => {
            crate::tm::t_msg_pv(ctx, *which, |c| read(c, inner).into_owned())
        }
    }
}

/// A transformation chain with its PV parameters read now. `None` if an
/// operation has the wrong number of parameters (the compiler passes the
/// right number; see [`trans::op`]).
fn trans_ops<'c>(ctx: &'c Ctx<'_>, ops: &'c [TrOp]) -> Option<Vec<trans::Op<'c>>> {
    ops.iter()
        .map(|o| {
            let args = o
                .args
                .iter()
                .map(|a| match a {
                    TrArg::Int(n) => trans::Arg::Int(*n),
                    TrArg::Str(s) => trans::Arg::Str(s),
                    TrArg::Pv(p) => trans::Arg::Pv(read(ctx, p)),
                })
                .collect();
            trans::op(o.kind, args)
        })
        .collect()
}

/// Assigns a writable PV without arguments (`$ru = v`...): the action's
/// code. Read-only ones are refused by the compiler; here they are -1.
#[inline(always)]
pub fn set(ctx: &mut Ctx<'_>, id: PvId, v: &Value<'_>) -> i32 {
    match id {
        PvId::Ru => set_ru(ctx, v),
        PvId::RUser => set_r_user(ctx, v),
        PvId::RDomain => set_r_domain(ctx, v),
        PvId::RPort => set_r_port(ctx, v),
        PvId::Du => set_du(ctx, v),
        _ => -1,
    }
}

/// `pv = v` for any writable PV: the action's code (1, or -1 when the
/// value is refused).
pub fn assign(ctx: &mut Ctx<'_>, pv: &PvRef, v: OwnedValue) -> i32 {
    match pv {
        PvRef::Plain(id) => set(ctx, *id, &v),
        PvRef::Var(slot) => {
            set_var(ctx, *slot, v);
            1
        }
        PvRef::Avp(slot, _) => {
            set_avp(ctx, *slot, v);
            1
        }
        PvRef::Xavp(x) => xavp::assign(ctx, x, v),
        PvRef::Module(idx) => match cfgc_vocab::ModulePv::get(*idx) {
            Some(p) => {
                let modules = ctx.modules;
                modules.write_pv(p.name, ctx, v)
            }
            None => -1,
        },
        PvRef::Sht(..) | PvRef::DlgVar(_) => {
            let modules = ctx.modules;
            modules.write_pv_ref(pv, ctx, v)
        }
        _ => -1,
    }
}

/// `$(avp(x)[*]) = v`: every value goes; a value other than `$null` is
/// then pushed.
pub fn assign_avp_all(ctx: &mut Ctx<'_>, slot: usize, v: OwnedValue) -> i32 {
    clear_avp(ctx, slot);
    if !v.is_null() {
        set_avp(ctx, slot, v);
    }
    1
}

/// Appends a value as a PV-format string prints it (`$null` is
/// `<null>`).
pub fn push_fmt(buf: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::Null => buf.extend_from_slice(b"<null>"),
        v => buf.extend_from_slice(&v.to_bytes()),
    }
}

/// Appends a PV as a PV-format string prints it: a failing transformation
/// prints nothing (where a plain `$null` prints `<null>`).
pub fn push_pv(buf: &mut Vec<u8>, ctx: &Ctx<'_>, pv: &PvRef) {
    match pv {
        PvRef::Trans(inner, ops) => {
            if let Some(ops) = trans_ops(ctx, ops) {
                trans::push(buf, read(ctx, inner), &ops);
            }
        }
        pv => push_fmt(buf, &read(ctx, pv)),
    }
}

/// A PV-format string (`"$rU@$rd"`), built.
pub fn format(ctx: &Ctx<'_>, segs: &[FmtSeg]) -> Vec<u8> {
    let mut buf = Vec::new();
    format_into(&mut buf, ctx, segs);
    buf
}

/// [`format`], appended to `buf` (no allocation when it has room).
pub fn format_into(buf: &mut Vec<u8>, ctx: &Ctx<'_>, segs: &[FmtSeg]) {
    for s in segs {
        match s {
            FmtSeg::Lit(l) => buf.extend_from_slice(l),
            FmtSeg::Pv(p) => push_pv(buf, ctx, p),
        }
    }
}

fn bytes_of_ip(ip: std::net::IpAddr) -> Value<'static> {
    Value::string(ip.to_string())
}

/// `$ru`: the current R-URI.
pub fn ru<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    if !ctx.msg.is_request() {
        return Value::Null;
    }
    // Kamailio parses the R-URI before giving it: one a function rewrote
    // into something that does not parse (siputils' `add_uri_param` can)
    // reads `$null`.
    if let Some(u) = &ctx.new_uri
        && Uri::parse(u).is_err()
    {
        return Value::Null;
    }
    Value::str(ctx.ruri())
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
    Value::Int(i32::from(crate::tm::reply_code(ctx)))
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

/// `$Ri`; `$null` on a message no socket received (an event route's
/// faked message: local port 0).
pub fn rcv_ip(ctx: &Ctx<'_>) -> Value<'static> {
    if ctx.rcv.local.port() == 0 {
        return Value::Null;
    }
    bytes_of_ip(ctx.rcv.local.ip())
}

/// `$Rp`; `$null` as `$Ri`.
pub fn rcv_port(ctx: &Ctx<'_>) -> Value<'static> {
    if ctx.rcv.local.port() == 0 {
        return Value::Null;
    }
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
    match ctx
        .avps
        .slots
        .get(idx)
        .and_then(|s| s.iter().rev().nth(nth))
    {
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

/// The slot of the AVP the cfg calls `name` (written `name` or `s:name`),
/// if the cfg uses it (an AVP it never names it cannot read).
pub fn avp_slot(ctx: &Ctx<'_>, name: &[u8]) -> Option<usize> {
    ctx.core.avp_names.iter().position(|n| {
        let n = n.as_bytes();
        n == name || n.strip_prefix(b"s:") == Some(name)
    })
}

/// `$(avp(x)[*]) = $null`: deletes every value.
pub fn clear_avp(ctx: &mut Ctx<'_>, idx: usize) {
    ctx.avp_stack(idx).clear();
}

// ---- more reads ---------------------------------------------------------

/// `$mt`: 1 for a request, 2 for a reply.
pub fn msg_type(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(if ctx.msg.is_request() { 1 } else { 2 })
}

/// `$rv`: the SIP version of the start line.
pub fn version<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    let span = match ctx.msg.start_line() {
        crate::sip::StartLine::Request { version, .. }
        | crate::sip::StartLine::Status { version, .. } => *version,
    };
    Value::str(ctx.msg.slice(span))
}

/// `$rz`: the scheme of the current R-URI.
pub fn r_scheme(ctx: &Ctx<'_>) -> Value<'static> {
    Value::opt(ruri_parsed(ctx).map(|u| u.scheme.as_str().as_bytes()))
}

/// `$ct`: the body of the first Contact header.
pub fn contact<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(
        ctx.msg
            .header(HeaderName::Contact)
            .filter(|b| !b.is_empty()),
    )
}

/// `$hdrc(Name)`: how many headers have that name (compact forms count).
pub fn hdr_count(ctx: &Ctx<'_>, name: &[u8]) -> Value<'static> {
    let want = HeaderName::from_bytes(name);
    let buf = ctx.msg.buffer();
    let n = ctx
        .msg
        .headers()
        .iter()
        .filter(|h| {
            let n = &buf[h.name_span().range()];
            HeaderName::from_bytes(n) == want
                && (want != HeaderName::Other || n.eq_ignore_ascii_case(name))
        })
        .count();
    Value::Int(i32::try_from(n).unwrap_or(i32::MAX))
}

fn dst_parsed<'c>(ctx: &'c Ctx<'_>) -> Option<Uri<'c>> {
    Uri::parse(ctx.dst_uri.as_deref()?).ok()
}

/// `$dd`: host of `$du`.
pub fn dst_domain<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    Value::opt(dst_parsed(ctx).map(|u| u.host).filter(|h| !h.is_empty()))
}

/// `$dp`: port of `$du` (5060, or 5061 with `transport=tls`, when absent).
pub fn dst_port(ctx: &Ctx<'_>) -> Value<'static> {
    match dst_parsed(ctx) {
        None => Value::Null,
        Some(u) => Value::Int(i32::from(u.port.unwrap_or_else(|| {
            if u.transport()
                .is_some_and(|t| t.eq_ignore_ascii_case(b"tls"))
            {
                5061
            } else {
                5060
            }
        }))),
    }
}

/// `$dP`: the `transport` of `$du` as written, `udp` when absent.
pub fn dst_proto<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    match dst_parsed(ctx) {
        None => Value::Null,
        Some(u) => Value::str(u.transport().unwrap_or(b"udp")),
    }
}

/// `$env(NAME)`: an environment variable of the proxy.
pub fn env(name: &str) -> Value<'static> {
    std::env::var_os(name).map_or(Value::Null, |v| Value::string(v.into_encoded_bytes()))
}

fn unix_now() -> i32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i32)
}

/// `$Ts`, `$TS`: the current Unix time.
pub fn time_s(_ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(unix_now())
}

/// `$pp`: the process id.
pub fn pid(_ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(std::process::id() as i32)
}

/// `$bf`: flags of branch 0.
pub fn bflags(ctx: &Ctx<'_>) -> Value<'static> {
    Value::Int(ctx.bflags as i32)
}

/// `$bF`: flags of branch 0 as 8 hex digits (a string).
pub fn bflags_hex(ctx: &Ctx<'_>) -> Value<'static> {
    Value::string(format!("{:08x}", ctx.bflags))
}

/// `$br`: the URI of the first branch of the destination set (not the
/// R-URI); `$null` for replies and without branches.
pub fn branch_uri<'c>(ctx: &'c Ctx<'_>) -> Value<'c> {
    if !ctx.msg.is_request() {
        return Value::Null;
    }
    Value::opt(ctx.branches.first().map(|b| b.uri.as_slice()))
}

/// Kamailio's `q2str`: thousandths as `0`, `1`, `0.5`, `0.25`, `0.123`.
pub fn q_str(q: i32) -> String {
    if q >= 1000 {
        return "1".into();
    }
    if q <= 0 {
        return "0".into();
    }
    let s = format!("0.{q:03}");
    s.trim_end_matches('0').to_string()
}

/// `$bR`: every branch of the destination set, `, `-separated, as
/// `<uri>;q=x` when a q value is set.
pub fn branches(ctx: &Ctx<'_>) -> Value<'static> {
    if !ctx.msg.is_request() || ctx.branches.is_empty() {
        return Value::Null;
    }
    let mut out = Vec::new();
    for (i, b) in ctx.branches.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        if b.q >= 0 {
            out.push(b'<');
            out.extend_from_slice(&b.uri);
            out.extend_from_slice(b">;q=");
            out.extend_from_slice(q_str(b.q).as_bytes());
        } else {
            out.extend_from_slice(&b.uri);
        }
    }
    Value::string(out)
}

/// `$sel(cfg_get.group.var)` of a custom cfg variable: its current value
/// (changed at run time by RPC), `$null` if the engine does not know it.
pub fn cfg_var<'c>(ctx: &'c Ctx<'_>, name: &str) -> Value<'c> {
    ctx.core.cfg_vars.get(name).unwrap_or(Value::Null)
}

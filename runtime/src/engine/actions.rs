//! Core actions on the R-URI (kamailio-cfg-language.md §8): `rewrite*`,
//! `prefix`, `strip`, `revert_uri`, `force_rport`. They return 1, or -1
//! when the URI cannot be rewritten.

use crate::transport::Proto;

use super::ctx::Ctx;
use super::uri;

pub use cfgc_vocab::{CoreFn, Rewrite};

/// A core action: its code. Generated code passes constants
/// (`&CoreFn::Strip(2)`), and this inlines into the action's own function;
/// the interpreter passes the compiler's value.
#[inline(always)]
pub fn run<B: AsRef<[u8]>, S: AsRef<str>>(ctx: &mut Ctx<'_>, f: &CoreFn<B, S>) -> i32 {
    match f {
        CoreFn::Forward { host, port, proto } => {
            let target = host.as_ref().map(|h| {
                let proto = proto.map(|p| match p {
                    cfgc_vocab::Proto::Tcp => Proto::Tcp,
                    _ => Proto::Udp,
                });
                (h.as_ref(), *port, proto)
            });
            super::forward::forward(ctx, target)
        }
        CoreFn::SetFlag(n) => ctx.setflag(*n),
        CoreFn::ResetFlag(n) => ctx.resetflag(*n),
        CoreFn::IsFlagSet(n) => ctx.isflagset(*n),
        CoreFn::Rewrite(what, arg) => rewrite(ctx, *what, arg.as_ref()),
        CoreFn::Strip(n) => strip(ctx, *n),
        CoreFn::StripTail(n) => strip_tail(ctx, *n),
        CoreFn::RevertUri => revert_uri(ctx),
        CoreFn::ForceRport => force_rport(ctx),
        CoreFn::SetReplyNoConnect => set_reply_no_connect(ctx),
        CoreFn::SetForwardNoConnect => set_forward_no_connect(ctx),
        CoreFn::Log(level, msg) => super::log::core_log(ctx, *level, msg.as_ref()),
    }
}

fn set(ctx: &mut Ctx<'_>, new: Option<Vec<u8>>) -> i32 {
    match new {
        Some(u) => {
            ctx.new_uri = Some(u);
            1
        }
        None => -1,
    }
}

/// `rewriteuri("...")`, `rewritehost("...")`, ..., `prefix("...")`.
pub fn rewrite(ctx: &mut Ctx<'_>, what: Rewrite, arg: &[u8]) -> i32 {
    if !ctx.msg.is_request() {
        return -1;
    }
    let cur = ctx.ruri();
    let new = match what {
        Rewrite::Uri => crate::sip::Uri::parse(arg).ok().map(|_| arg.to_vec()),
        Rewrite::Host => uri::set_host(cur, arg),
        Rewrite::HostPort => uri::set_hostport(cur, arg),
        Rewrite::User => uri::set_user(cur, Some(arg)),
        Rewrite::UserPass => uri::set_userpass(cur, arg),
        Rewrite::Port => uri::set_port(cur, Some(arg)),
        Rewrite::Prefix => uri::prefix(cur, arg),
    };
    set(ctx, new)
}

/// `strip(n)`
pub fn strip(ctx: &mut Ctx<'_>, n: usize) -> i32 {
    let new = uri::strip(ctx.ruri(), n);
    set(ctx, new)
}

/// `strip_tail(n)`
pub fn strip_tail(ctx: &mut Ctx<'_>, n: usize) -> i32 {
    let new = uri::strip_tail(ctx.ruri(), n);
    set(ctx, new)
}

/// `revert_uri()`: back to the R-URI as received.
pub fn revert_uri(ctx: &mut Ctx<'_>) -> i32 {
    ctx.new_uri = None;
    1
}

/// `force_rport()`
pub fn force_rport(ctx: &mut Ctx<'_>) -> i32 {
    ctx.force_rport = true;
    1
}

/// `set_reply_no_connect()`: replies to this message (local or relayed by
/// tm) never open a new TCP connection. Returns 1.
pub fn set_reply_no_connect(ctx: &mut Ctx<'_>) -> i32 {
    ctx.reply_no_connect = true;
    1
}

/// `set_forward_no_connect()`: requests forwarded from this message never
/// open a new TCP connection. Returns 1.
pub fn set_forward_no_connect(ctx: &mut Ctx<'_>) -> i32 {
    ctx.forward_no_connect = true;
    1
}

//! Expressions, calls and PV accesses.
//!
//! Every expression becomes Rust that evaluates to a runtime `Value`, which
//! may borrow the context. Where an operand needs the context mutably (a
//! call), operands are evaluated into owned locals first, so borrows never
//! overlap.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::Gen;
use crate::catalog::runtime::{ArgConv, CtxUse};
use crate::ir::{
    ArgVal, BinOp, Call, CoreFn, Expr, FmtSeg, IntOf, IpOf, KwCond, PvRef, Regex, RewriteKind,
    Target, TrArg, TrOp, UriOf,
};

fn bytes(b: &[u8]) -> TokenStream {
    let lit = Literal::byte_string(b);
    quote!(&#lit[..])
}

/// Whether evaluating `e` needs the context mutably (it contains a call).
pub(crate) fn needs_mut(e: &Expr) -> bool {
    match e {
        Expr::Call(..) => true,
        Expr::Int(_) | Expr::Str(_) | Expr::Pv(_) | Expr::Unsupported => false,
        Expr::Not(e)
        | Expr::BitNot(e)
        | Expr::Neg(e)
        | Expr::Defined(e)
        | Expr::Strlen(e)
        | Expr::Strempty(e)
        | Expr::CastInt(e)
        | Expr::CastStr(e) => needs_mut(e),
        Expr::Binary(_, a, b) => needs_mut(a) || needs_mut(b),
        Expr::Match(a, r) => needs_mut(a) || matches!(r, Regex::Dynamic(d) if needs_mut(d)),
        Expr::Selval(a, b, c) => needs_mut(a) || needs_mut(b) || needs_mut(c),
        Expr::Cond(k) => match k.as_ref() {
            KwCond::MethodEq(e, _) | KwCond::UriEq(_, e, _) | KwCond::IntCmp(_, _, e) => {
                needs_mut(e)
            }
            KwCond::MethodMatch(Regex::Dynamic(e)) | KwCond::UriMatch(_, Regex::Dynamic(e)) => {
                needs_mut(e)
            }
            _ => false,
        },
    }
}

pub(crate) fn truth(g: &Gen<'_>, e: &Expr) -> TokenStream {
    let v = value(g, e);
    quote!((#v).is_true())
}

pub(crate) fn nonzero(g: &Gen<'_>, e: &Expr) -> TokenStream {
    let v = value(g, e);
    quote!((#v).is_nonzero())
}

pub(crate) fn value(g: &Gen<'_>, e: &Expr) -> TokenStream {
    let rt = &g.rt;
    let val = quote!(#rt::engine::Value);
    match e {
        Expr::Int(n) => quote!(#val::Int(#n)),
        Expr::Str(s) => {
            let b = bytes(s);
            quote!(#val::str(#b))
        }
        Expr::Pv(p) => pv_read(g, p),
        Expr::Not(e) => {
            let nz = nonzero(g, e);
            quote!(#val::Int(i32::from(!#nz)))
        }
        Expr::BitNot(e) => {
            let v = value(g, e);
            quote!(#val::Int(!(#v).to_int()))
        }
        Expr::Neg(e) => {
            let v = value(g, e);
            quote!(#val::Int((#v).to_int().wrapping_neg()))
        }
        Expr::Binary(op, a, b) => binary(g, *op, a, b),
        Expr::Match(a, re) => {
            let m = regex_match(g, a, re);
            quote!(#val::Int(i32::from(#m)))
        }
        Expr::Call(c, raw) => {
            let code = call(g, c);
            if *raw {
                quote!(#val::Int(#code))
            } else {
                quote!(#val::Int(i32::from(#code > 0)))
            }
        }
        Expr::Defined(e) => match e.as_ref() {
            // `$var` is always defined.
            Expr::Pv(PvRef::Var(_)) => quote!(#val::Int(1)),
            e => {
                let v = value(g, e);
                quote!(#val::Int(i32::from(!(#v).is_null())))
            }
        },
        Expr::Strlen(e) => {
            let v = value(g, e);
            quote!(#val::Int((#v).strlen()))
        }
        Expr::Strempty(e) => {
            let v = value(g, e);
            quote!(#val::Int(i32::from((#v).is_empty_str())))
        }
        Expr::Selval(c, a, b) => {
            let c = truth(g, c);
            let a = value(g, a);
            let b = value(g, b);
            quote!(if #c { (#a).into_owned() } else { (#b).into_owned() })
        }
        Expr::CastInt(e) => {
            let v = value(g, e);
            quote!(#val::Int((#v).to_int()))
        }
        Expr::CastStr(e) => {
            let v = value(g, e);
            quote!(#val::Str(::std::borrow::Cow::Owned((#v).to_bytes().into_owned())))
        }
        Expr::Cond(k) => {
            let b = cond(g, k);
            quote!(#val::Int(i32::from(#b)))
        }
        Expr::Unsupported => quote!(::core::unreachable!("construct rejected by cfgc")),
    }
}

fn binary(g: &Gen<'_>, op: BinOp, a: &Expr, b: &Expr) -> TokenStream {
    let rt = &g.rt;
    let val = quote!(#rt::engine::Value);
    let int = quote!(#rt::engine::value::int);
    if matches!(op, BinOp::And | BinOp::Or) {
        // Short-circuit, C truth, result 0 or 1.
        let (x, y) = (nonzero(g, a), nonzero(g, b));
        return if op == BinOp::And {
            quote!(#val::Int(i32::from(#x && #y)))
        } else {
            quote!(#val::Int(i32::from(#x || #y)))
        };
    }
    let apply = |l: TokenStream, r: TokenStream| -> TokenStream {
        match op {
            BinOp::Add => quote!((#l).add(&(#r))),
            BinOp::Sub => quote!(#val::Int(#int::sub((#l).to_int(), (#r).to_int()))),
            BinOp::Mul => quote!(#val::Int(#int::mul((#l).to_int(), (#r).to_int()))),
            BinOp::Div => {
                quote!(#int::div((#l).to_int(), (#r).to_int()).map_or(#val::Null, #val::Int))
            }
            BinOp::Mod => {
                quote!(#int::rem((#l).to_int(), (#r).to_int()).map_or(#val::Null, #val::Int))
            }
            BinOp::BitAnd => quote!(#val::Int((#l).to_int() & (#r).to_int())),
            BinOp::BitOr => quote!(#val::Int((#l).to_int() | (#r).to_int())),
            BinOp::BitXor => quote!(#val::Int((#l).to_int() ^ (#r).to_int())),
            BinOp::Shl => quote!(#val::Int(#int::shl((#l).to_int(), (#r).to_int()))),
            BinOp::Shr => quote!(#val::Int(#int::shr((#l).to_int(), (#r).to_int()))),
            BinOp::Eq => quote!(#val::Int(i32::from((#l).equals(&(#r))))),
            BinOp::Ne => quote!(#val::Int(i32::from(!(#l).equals(&(#r))))),
            BinOp::StrEq => quote!(#val::Int(i32::from((#l).to_bytes() == (#r).to_bytes()))),
            BinOp::StrNe => quote!(#val::Int(i32::from((#l).to_bytes() != (#r).to_bytes()))),
            BinOp::IntEq => quote!(#val::Int(i32::from((#l).to_int() == (#r).to_int()))),
            BinOp::IntNe => quote!(#val::Int(i32::from((#l).to_int() != (#r).to_int()))),
            BinOp::Lt => quote!(#val::Int(i32::from((#l).to_int() < (#r).to_int()))),
            BinOp::Gt => quote!(#val::Int(i32::from((#l).to_int() > (#r).to_int()))),
            BinOp::Le => quote!(#val::Int(i32::from((#l).to_int() <= (#r).to_int()))),
            BinOp::Ge => quote!(#val::Int(i32::from((#l).to_int() >= (#r).to_int()))),
            BinOp::And | BinOp::Or => unreachable!("handled above"),
        }
    };
    let (l, r) = (value(g, a), value(g, b));
    if needs_mut(a) || needs_mut(b) {
        let applied = apply(quote!(kam_l), quote!(kam_r));
        quote!({
            let kam_l = (#l).into_owned();
            let kam_r = (#r).into_owned();
            #applied
        })
    } else {
        apply(l, r)
    }
}

fn regex_match(g: &Gen<'_>, a: &Expr, re: &Regex) -> TokenStream {
    let rt = &g.rt;
    let v = value(g, a);
    match re {
        Regex::Const(slot) => quote!(self.regexes[#slot].is_match(&(#v).to_bytes())),
        Regex::Dynamic(d) => {
            let d = value(g, d);
            quote!({
                let kam_l = (#v).into_owned();
                let kam_r = (#d).into_owned();
                #rt::engine::cond::regex_match(&kam_l, &kam_r)
            })
        }
    }
}

fn cond(g: &Gen<'_>, k: &KwCond) -> TokenStream {
    let rt = &g.rt;
    let c = quote!(#rt::engine::cond);
    let not = |negate: bool, t: TokenStream| if negate { quote!(!#t) } else { t };
    let uri_of = |u: UriOf| match u {
        UriOf::Request => quote!(#c::UriOf::Request),
        UriOf::From => quote!(#c::UriOf::From),
        UriOf::To => quote!(#c::UriOf::To),
    };
    // `subject` is a `&[u8]` expression.
    let re_code = |re: &Regex, subject: TokenStream| match re {
        Regex::Const(slot) => quote!(self.regexes[#slot].is_match(#subject)),
        Regex::Dynamic(d) => {
            let d = value(g, d);
            quote!(#c::regex_match(&#rt::engine::Value::str(#subject), &(#d)))
        }
    };
    match k {
        KwCond::MethodEq(e, neg) => {
            let v = value(g, e);
            not(
                *neg,
                quote!({ let kam_r = (#v).into_owned(); #c::method_eq(ctx, &kam_r.to_bytes()) }),
            )
        }
        KwCond::MethodMatch(re) => re_code(re, quote!(#c::method(ctx))),
        KwCond::Myself(u, neg) => {
            let u = uri_of(*u);
            not(*neg, quote!(#c::uri_is_myself(ctx, #u)))
        }
        KwCond::UriEq(u, e, neg) => {
            let u = uri_of(*u);
            let v = value(g, e);
            not(
                *neg,
                quote!({ let kam_r = (#v).into_owned(); #c::uri_eq(ctx, #u, &kam_r.to_bytes()) }),
            )
        }
        KwCond::UriMatch(u, re) => {
            let u = uri_of(*u);
            re_code(re, quote!(#c::uri_text(ctx, #u)))
        }
        KwCond::IpNet(of, addr, bits, neg) => {
            let src = *of == IpOf::Src;
            not(*neg, quote!(#c::ip_in_net(ctx, #src, #addr, #bits)))
        }
        KwCond::IpMyself(of, neg) => {
            let src = *of == IpOf::Src;
            not(*neg, quote!(#c::ip_is_myself(ctx, #src)))
        }
        KwCond::IntCmp(of, op, e) => {
            let of = match of {
                IntOf::SrcPort => quote!(#c::IntOf::SrcPort),
                IntOf::DstPort => quote!(#c::IntOf::DstPort),
                IntOf::MsgLen => quote!(#c::IntOf::MsgLen),
                IntOf::Af => quote!(#c::IntOf::Af),
            };
            let v = value(g, e);
            let opt = match op {
                BinOp::IntNe => quote!(!=),
                BinOp::Lt => quote!(<),
                BinOp::Gt => quote!(>),
                BinOp::Le => quote!(<=),
                BinOp::Ge => quote!(>=),
                _ => quote!(==),
            };
            quote!((#c::int_of(ctx, #of) #opt (#v).to_int()))
        }
        KwCond::ProtoEq(p, neg) => not(*neg, quote!(#c::proto_is(ctx, #p))),
    }
}

/// A PV read.
pub(crate) fn pv_read(g: &Gen<'_>, p: &PvRef) -> TokenStream {
    let rt = &g.rt;
    let pv = quote!(#rt::engine::pv);
    match p {
        PvRef::Null => quote!(#rt::engine::Value::Null),
        PvRef::Ru => quote!(#pv::ru(ctx)),
        PvRef::RUser => quote!(#pv::r_user(ctx)),
        PvRef::RDomain => quote!(#pv::r_domain(ctx)),
        PvRef::RPort => quote!(#pv::r_port(ctx)),
        PvRef::OrigRu => quote!(#pv::orig_ru(ctx)),
        PvRef::Du => quote!(#pv::du(ctx)),
        PvRef::FromUri => quote!(#pv::from_uri(ctx)),
        PvRef::FromUser => quote!(#pv::from_user(ctx)),
        PvRef::FromDomain => quote!(#pv::from_domain(ctx)),
        PvRef::FromName => quote!(#pv::from_name(ctx)),
        PvRef::FromTag => quote!(#pv::from_tag(ctx)),
        PvRef::ToUri => quote!(#pv::to_uri(ctx)),
        PvRef::ToUser => quote!(#pv::to_user(ctx)),
        PvRef::ToDomain => quote!(#pv::to_domain(ctx)),
        PvRef::ToName => quote!(#pv::to_name(ctx)),
        PvRef::ToTag => quote!(#pv::to_tag(ctx)),
        PvRef::CallId => quote!(#pv::call_id(ctx)),
        PvRef::CSeq => quote!(#pv::cseq_num(ctx)),
        PvRef::Method => quote!(#pv::method(ctx)),
        PvRef::Status => quote!(#pv::status(ctx)),
        PvRef::Reason => quote!(#pv::reason(ctx)),
        PvRef::UserAgent => quote!(#pv::user_agent(ctx)),
        PvRef::SrcIp => quote!(#pv::src_ip(ctx)),
        PvRef::SrcPort => quote!(#pv::src_port(ctx)),
        PvRef::RcvIp => quote!(#pv::rcv_ip(ctx)),
        PvRef::RcvPort => quote!(#pv::rcv_port(ctx)),
        PvRef::Proto => quote!(#pv::proto(ctx)),
        PvRef::Body => quote!(#pv::body(ctx)),
        PvRef::MsgLen => quote!(#pv::msg_len(ctx)),
        PvRef::Rc => quote!(#pv::rc(ctx)),
        PvRef::MsgFlags => quote!(#pv::msg_flags(ctx)),
        PvRef::TBranchIdx => quote!(#pv::t_branch_idx(ctx)),
        PvRef::TReplyCode => quote!(#pv::t_reply_code(ctx)),
        PvRef::TReplyReason => quote!(#pv::t_reply_reason(ctx)),
        PvRef::Hdr(name) => {
            let b = bytes(name);
            quote!(#pv::hdr(ctx, #b))
        }
        PvRef::Var(slot) => quote!(#pv::var(ctx, #slot)),
        PvRef::Avp(slot, nth) => quote!(#pv::avp(ctx, #slot, #nth)),
        PvRef::MsgType => quote!(#pv::msg_type(ctx)),
        PvRef::Version => quote!(#pv::version(ctx)),
        PvRef::RScheme => quote!(#pv::r_scheme(ctx)),
        PvRef::Contact => quote!(#pv::contact(ctx)),
        PvRef::HdrCount(name) => {
            let b = bytes(name);
            quote!(#pv::hdr_count(ctx, #b))
        }
        PvRef::DstDomain => quote!(#pv::dst_domain(ctx)),
        PvRef::DstPort => quote!(#pv::dst_port(ctx)),
        PvRef::DstProto => quote!(#pv::dst_proto(ctx)),
        PvRef::Env(name) => quote!(#pv::env(#name)),
        PvRef::Time => quote!(#pv::time_s(ctx)),
        PvRef::Pid => quote!(#pv::pid(ctx)),
        PvRef::BFlags => quote!(#pv::bflags(ctx)),
        PvRef::BFlagsHex => quote!(#pv::bflags_hex(ctx)),
        PvRef::BranchUri => quote!(#pv::branch_uri(ctx)),
        PvRef::Branches => quote!(#pv::branches(ctx)),
        PvRef::CfgInt(n) => quote!(#rt::engine::Value::Int(#n)),
        PvRef::CfgStr(v) => {
            let b = bytes(v);
            quote!(#rt::engine::Value::str(#b))
        }
        PvRef::Trans(inner, ops) => {
            let v = pv_read(g, inner);
            let ops = tr_ops(g, ops);
            quote!(#rt::engine::trans::eval(#v, &#ops))
        }
    }
}

/// The runtime `[Op]` array of a transformation chain.
fn tr_ops(g: &Gen<'_>, ops: &[TrOp]) -> TokenStream {
    let rt = &g.rt;
    let tr = quote!(#rt::engine::trans);
    let ops = ops.iter().map(|o| {
        let name = quote::format_ident!("{}", o.op);
        if o.args.is_empty() {
            return quote!(#tr::Op::#name);
        }
        let args = o.args.iter().map(|a| match a {
            TrArg::Int(n) => quote!(#tr::Arg::Int(#n)),
            TrArg::Str(s) => {
                let b = bytes(s);
                quote!(#tr::Arg::Str(#b))
            }
            TrArg::Pv(p) => {
                let v = pv_read(g, p);
                quote!(#tr::Arg::Pv(#v))
            }
        });
        quote!(#tr::Op::#name(#(#args),*))
    });
    quote!([#(#ops),*])
}

/// Builds a PV-format string into an owned buffer.
fn format(g: &Gen<'_>, segs: &[FmtSeg]) -> TokenStream {
    let rt = &g.rt;
    if let [FmtSeg::Lit(l)] = segs {
        let lit = Literal::byte_string(l);
        return quote!(#lit.to_vec());
    }
    let pushes = segs.iter().map(|s| match s {
        FmtSeg::Lit(l) => {
            let lit = Literal::byte_string(l);
            quote!(kam_buf.extend_from_slice(#lit);)
        }
        FmtSeg::Pv(PvRef::Trans(inner, ops)) => {
            // A failing transformation prints nothing (a `$null` prints
            // `<null>`).
            let v = pv_read(g, inner);
            let ops = tr_ops(g, ops);
            quote!(#rt::engine::trans::push(&mut kam_buf, #v, &#ops);)
        }
        FmtSeg::Pv(p) => {
            let v = pv_read(g, p);
            quote!(#rt::modules::xlog::push_value(&mut kam_buf, &#v);)
        }
    });
    quote!({
        let mut kam_buf: ::std::vec::Vec<u8> = ::std::vec::Vec::new();
        #(#pushes)*
        kam_buf
    })
}

/// The code of a call: an `i32` expression. Module functions and routes
/// also set `$rc` and end the script on a 0 return (`?`).
pub(crate) fn call(g: &Gen<'_>, c: &Call) -> TokenStream {
    let rt = &g.rt;
    match &c.target {
        Target::Route(id) => {
            let f = g.route_fn(*id);
            quote!({
                let kam_r = self.#f(ctx)?;
                ctx.rc = kam_r;
                #rt::engine::rc(kam_r)?
            })
        }
        Target::DynRoute => quote!(::core::unreachable!("dynamic routes are rejected by cfgc")),
        Target::Module(b) => {
            let path: TokenStream = format!("{}::{}", g_rt_text(g), b.path)
                .parse()
                .unwrap_or_else(|_| quote!(::core::unreachable!()));
            let mut lets = Vec::new();
            let mut pass = Vec::new();
            if !b.fixed.is_empty() {
                let fixed = b.fixed.replacen("::runtime", &g_rt_text(g), 1);
                let fixed: TokenStream = fixed.parse().unwrap_or_default();
                pass.push(fixed);
            }
            for (i, (a, conv)) in c.args.iter().zip(b.args).enumerate() {
                let name = quote::format_ident!("kam_a{}", i);
                let (init, use_) = if let Some(l) = literal(a) {
                    // A constant string: passed as a static slice, no copy.
                    let lit = Literal::byte_string(l);
                    (quote!(&#lit[..]), quote!(#name))
                } else {
                    match (a, conv) {
                        (ArgVal::Int(n), _) => (quote!(#n), quote!(#name)),
                        (ArgVal::Level(n), _) => {
                            (quote!(#rt::engine::log::Level::from_int(#n)), quote!(#name))
                        }
                        // `"$var(code)"` where an int is expected: the
                        // formatted string's int value.
                        (ArgVal::Fmt(segs), ArgConv::Int) => {
                            let f = format(g, segs);
                            (quote!(#rt::engine::Value::str(&#f).to_int()), quote!(#name))
                        }
                        (ArgVal::Fmt(segs), _) => (format(g, segs), quote!(&#name)),
                        (ArgVal::Bytes(_), _) => unreachable!("literal() covers constant bytes"),
                        (ArgVal::Expr(e), ArgConv::Int) => {
                            let v = value(g, e);
                            (quote!((#v).to_int()), quote!(#name))
                        }
                        (ArgVal::Expr(e), ArgConv::Level) => {
                            let v = value(g, e);
                            (
                                quote!(#rt::engine::log::Level::from_int((#v).to_int())),
                                quote!(#name),
                            )
                        }
                        (ArgVal::Expr(e), ArgConv::Fmt | ArgConv::Str) => {
                            let v = value(g, e);
                            (quote!((#v).to_bytes().into_owned()), quote!(&#name))
                        }
                        (
                            ArgVal::Expr(_),
                            ArgConv::FailureRoute | ArgConv::BranchRoute | ArgConv::OnreplyRoute,
                        ) => (
                            quote!(::core::compile_error!(
                                "cfgc: route names are resolved at compile time"
                            )),
                            quote!(#name),
                        ),
                    }
                };
                lets.push(quote!(let #name = #init;));
                pass.push(use_);
            }
            let ctx_arg = match b.ctx {
                CtxUse::Mut => quote!(ctx),
                CtxUse::Shared => quote!(&*ctx),
            };
            let call = quote!({
                #(#lets)*
                let kam_r = #path(#ctx_arg, #(#pass),*);
                ctx.rc = kam_r;
                #rt::engine::rc(kam_r)?
            });
            // xlog with a level known at compile time: test the level before
            // formatting the message (xlog returns 1 either way).
            match xlog_level(g, b, &c.args) {
                Some(level) => quote!(if #rt::modules::xlog::enabled(&*ctx, #level) {
                    #call
                } else {
                    ctx.rc = 1;
                    1
                }),
                None => call,
            }
        }
        Target::Core(f) => core(g, f),
    }
}

/// The level of an xlog call when it is a compile-time constant.
fn xlog_level(
    g: &Gen<'_>,
    b: &crate::catalog::runtime::Binding,
    args: &[ArgVal],
) -> Option<TokenStream> {
    let rt = &g.rt;
    if b.module != "xlog" {
        return None;
    }
    if !b.fixed.is_empty() {
        return b.fixed.replacen("::runtime", &g_rt_text(g), 1).parse().ok();
    }
    match (b.path, args.first()) {
        ("modules::xlog::xlog_err", _) => Some(quote!(#rt::engine::log::Level::Err)),
        ("modules::xlog::xlog", Some(ArgVal::Level(n))) => {
            Some(quote!(#rt::engine::log::Level::from_int(#n)))
        }
        _ => None,
    }
}

/// A constant byte-string argument (no PVs to expand).
fn literal(a: &ArgVal) -> Option<&[u8]> {
    match a {
        ArgVal::Bytes(b) => Some(b),
        ArgVal::Fmt(segs) => match segs.as_slice() {
            [FmtSeg::Lit(l)] => Some(l),
            [] => Some(b""),
            _ => None,
        },
        _ => None,
    }
}

fn g_rt_text(g: &Gen<'_>) -> String {
    g.rt.to_string().replace(' ', "")
}

fn core(g: &Gen<'_>, f: &CoreFn) -> TokenStream {
    let rt = &g.rt;
    let act = quote!(#rt::engine::actions);
    match f {
        CoreFn::Forward { host, port, proto } => {
            let target = match host {
                None => quote!(::core::option::Option::None),
                Some(h) => {
                    let port = match port {
                        Some(p) => quote!(::core::option::Option::Some(#p)),
                        None => quote!(::core::option::Option::None),
                    };
                    let proto = match *proto {
                        Some("tcp") => {
                            quote!(::core::option::Option::Some(#rt::transport::Proto::Tcp))
                        }
                        Some(_) => quote!(::core::option::Option::Some(#rt::transport::Proto::Udp)),
                        None => quote!(::core::option::Option::None),
                    };
                    quote!(::core::option::Option::Some((#h, #port, #proto)))
                }
            };
            quote!(#rt::engine::forward::forward(ctx, #target))
        }
        CoreFn::SetFlag(n) => quote!(ctx.setflag(#n)),
        CoreFn::ResetFlag(n) => quote!(ctx.resetflag(#n)),
        CoreFn::IsFlagSet(n) => quote!(ctx.isflagset(#n)),
        CoreFn::Rewrite(kind, arg) => {
            let k = match kind {
                RewriteKind::Uri => quote!(Uri),
                RewriteKind::Host => quote!(Host),
                RewriteKind::HostPort => quote!(HostPort),
                RewriteKind::User => quote!(User),
                RewriteKind::UserPass => quote!(UserPass),
                RewriteKind::Port => quote!(Port),
                RewriteKind::Prefix => quote!(Prefix),
            };
            let b = bytes(arg);
            quote!(#act::rewrite(ctx, #act::Rewrite::#k, #b))
        }
        CoreFn::Strip(n) => quote!(#act::strip(ctx, #n)),
        CoreFn::StripTail(n) => quote!(#act::strip_tail(ctx, #n)),
        CoreFn::RevertUri => quote!(#act::revert_uri(ctx)),
        CoreFn::ForceRport => quote!(#act::force_rport(ctx)),
        CoreFn::SetReplyNoConnect => quote!(#act::set_reply_no_connect(ctx)),
        CoreFn::SetForwardNoConnect => quote!(#act::set_forward_no_connect(ctx)),
        CoreFn::Log(level, msg) => {
            let b = bytes(msg);
            quote!(#rt::modules::xlog::core_log(ctx, #level, #b))
        }
    }
}

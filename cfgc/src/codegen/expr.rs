//! Expressions, calls and PV accesses.
//!
//! An expression becomes either a Rust `bool` (conditions, where the IR
//! knows the value is a truth value) or a runtime `Value`, which may borrow
//! the context. Where an operand needs the context mutably (a call),
//! operands are evaluated into owned locals first, so borrows never
//! overlap. Every leaf is a call of the runtime's (`rt::pv::get`,
//! `rt::value::compare`, `rt::cond::*`, `rt::actions::run`) with constant
//! arguments: the meaning of each is written once, in the runtime.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{Gen, bytes};
use crate::ir::{
    ArgConv, ArgVal, BinOp, Call, CoreFn, Expr, FmtSeg, KwCond, PvRef, Regex, Target, TrArg, TrOp,
};

/// An integer literal without a type suffix (`10`, `-1`).
pub(crate) fn num(n: impl Into<i64>) -> TokenStream {
    let n: i64 = n.into();
    let abs = Literal::u64_unsuffixed(n.unsigned_abs());
    if n < 0 { quote!(-#abs) } else { quote!(#abs) }
}

/// `v` as an operand of a method call or operator: parenthesized unless it
/// is already atomic (a call, a path, a literal, a block...).
pub(crate) fn p(v: TokenStream) -> TokenStream {
    match syn::parse2::<syn::Expr>(v.clone()) {
        Ok(
            syn::Expr::Call(_)
            | syn::Expr::MethodCall(_)
            | syn::Expr::Path(_)
            | syn::Expr::Lit(_)
            | syn::Expr::Macro(_)
            | syn::Expr::Field(_)
            | syn::Expr::Index(_)
            | syn::Expr::Try(_)
            | syn::Expr::Paren(_),
        ) => v,
        _ => quote!((#v)),
    }
}

fn usize_lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// Truth in `if` and `selval`: a truth value as is, else the value's int
/// must be > 0.
pub(crate) fn truth(g: &Gen<'_>, e: &Expr) -> TokenStream {
    if e.is_boolean() {
        boolean(g, e)
    } else {
        let v = p(value(g, e));
        quote!(#v.is_true())
    }
}

/// C truth, in `!`, `&&`, `||` and `while`: non-zero.
pub(crate) fn nonzero(g: &Gen<'_>, e: &Expr) -> TokenStream {
    if e.is_boolean() {
        boolean(g, e)
    } else {
        let v = p(value(g, e));
        quote!(#v.is_nonzero())
    }
}

/// A truth-valued expression ([`Expr::is_boolean`]) as a `bool`.
fn boolean(g: &Gen<'_>, e: &Expr) -> TokenStream {
    match e {
        Expr::Call(c, false) => {
            let code = p(call(g, c));
            quote!(#code > 0)
        }
        // `$x == $null` is `!defined $x`: the value is null.
        Expr::Not(a) if matches!(a.as_ref(), Expr::Defined(d) if !matches!(d.as_ref(), Expr::Pv(PvRef::Var(_)))) =>
        {
            let Expr::Defined(d) = a.as_ref() else {
                return unsupported();
            };
            let v = p(value(g, d));
            quote!(#v.is_null())
        }
        Expr::Not(a) => {
            let a = p(nonzero(g, a));
            quote!(!#a)
        }
        Expr::Binary(BinOp::And, a, b) => {
            let (a, b) = (p(nonzero(g, a)), p(nonzero(g, b)));
            quote!(#a && #b)
        }
        Expr::Binary(BinOp::Or, a, b) => {
            let (a, b) = (p(nonzero(g, a)), p(nonzero(g, b)));
            quote!(#a || #b)
        }
        Expr::Binary(op, a, b) => {
            let op = bin_op(*op);
            operands(g, a, b, |l, r| quote!(rt::value::compare(#op, &#l, &#r)))
        }
        Expr::Match(a, re) => regex_match(g, a, re),
        Expr::Defined(a) => match a.as_ref() {
            // `$var` is always defined.
            Expr::Pv(PvRef::Var(_)) => quote!(true),
            a => {
                let v = p(value(g, a));
                quote!(!#v.is_null())
            }
        },
        Expr::Strempty(a) => {
            let v = p(value(g, a));
            quote!(#v.is_empty_str())
        }
        Expr::Cond(k) => cond(g, k),
        other => {
            let v = p(value(g, other));
            quote!(#v.is_true())
        }
    }
}

fn bin_op(op: BinOp) -> TokenStream {
    let op = super::variant(&op);
    quote!(rt::BinOp::#op)
}

/// Two operands handed to `f` as `Value` expressions: borrowed when
/// neither has a call, else evaluated into owned locals first.
fn operands(
    g: &Gen<'_>,
    a: &Expr,
    b: &Expr,
    f: impl Fn(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    let (l, r) = (p(value(g, a)), p(value(g, b)));
    if a.has_call() || b.has_call() {
        let applied = f(quote!(l), quote!(r));
        quote!({
            let l = #l.into_owned();
            let r = #r.into_owned();
            #applied
        })
    } else {
        f(l, r)
    }
}

/// An expression as a runtime `Value`.
pub(crate) fn value(g: &Gen<'_>, e: &Expr) -> TokenStream {
    match e {
        Expr::Int(n) => {
            let n = num(*n);
            quote!(rt::Value::Int(#n))
        }
        Expr::Str(s) => {
            let b = bytes(s);
            quote!(rt::Value::str(#b))
        }
        Expr::Pv(p) => pv_read(g, p),
        e if e.is_boolean() => {
            let b = boolean(g, e);
            quote!(rt::Value::bool(#b))
        }
        Expr::BitNot(e) => {
            let v = p(value(g, e));
            quote!(rt::Value::Int(!#v.to_int()))
        }
        Expr::Neg(e) => {
            let v = p(value(g, e));
            quote!(rt::Value::Int(#v.to_int().wrapping_neg()))
        }
        Expr::Binary(op, a, b) => {
            let op = bin_op(*op);
            operands(g, a, b, |l, r| quote!(rt::value::binop(#op, &#l, &#r)))
        }
        Expr::Call(c, _) => {
            let code = call(g, c);
            quote!(rt::Value::Int(#code))
        }
        Expr::Strlen(e) => {
            let v = p(value(g, e));
            quote!(rt::Value::Int(#v.strlen()))
        }
        Expr::Selval(c, a, b) => {
            let c = truth(g, c);
            let a = p(value(g, a));
            let b = p(value(g, b));
            quote!(if #c { #a.into_owned() } else { #b.into_owned() })
        }
        Expr::CastInt(e) => {
            let v = p(value(g, e));
            quote!(rt::Value::Int(#v.to_int()))
        }
        Expr::CastStr(e) => {
            let v = p(value(g, e));
            quote!(rt::Value::string(#v.to_bytes().into_owned()))
        }
        // Lowering reports these and code generation never runs on them;
        // should one get through, the build fails here, not the proxy.
        Expr::Unsupported
        | Expr::Not(_)
        | Expr::Match(..)
        | Expr::Defined(_)
        | Expr::Strempty(_)
        | Expr::Cond(_) => unsupported(),
    }
}

/// What stands for a construct the lowering refused: a build error.
pub(crate) fn unsupported() -> TokenStream {
    quote!(::core::compile_error!(
        "cfgc: a construct it does not support reached code generation"
    ))
}

fn regex_match(g: &Gen<'_>, a: &Expr, re: &Regex) -> TokenStream {
    let v = p(value(g, a));
    match re {
        Regex::Const(slot) => {
            let slot = usize_lit(*slot);
            quote!(self.regexes[#slot].is_match(&#v.to_bytes()))
        }
        Regex::Dynamic(d) => {
            let d = p(value(g, d));
            quote!({
                let l = #v.into_owned();
                let r = #d.into_owned();
                rt::cond::regex_match(&l, &r)
            })
        }
    }
}

/// A keyword condition as a `bool`.
fn cond(g: &Gen<'_>, k: &KwCond) -> TokenStream {
    let not = |negate: bool, t: TokenStream| if negate { quote!(!#t) } else { t };
    let of = |x: &dyn std::fmt::Debug, ty: &str| {
        let ty = format_ident!("{}", ty);
        let v = format_ident!("{}", format!("{x:?}"));
        quote!(rt::#ty::#v)
    };
    // A string operand: a constant as a literal, else the value's bytes
    // (owned first when it has a call).
    let with_bytes = |e: &Expr, f: &dyn Fn(TokenStream) -> TokenStream| match e {
        Expr::Str(s) => f(bytes(s)),
        e if e.has_call() => {
            let v = p(value(g, e));
            let applied = f(quote!(&r.to_bytes()));
            quote!({ let r = #v.into_owned(); #applied })
        }
        e => {
            let v = p(value(g, e));
            f(quote!(&#v.to_bytes()))
        }
    };
    // `subject` is a `&[u8]` expression.
    let re_code = |re: &Regex, subject: TokenStream| match re {
        Regex::Const(slot) => {
            let slot = usize_lit(*slot);
            quote!(self.regexes[#slot].is_match(#subject))
        }
        Regex::Dynamic(d) => {
            let d = p(value(g, d));
            quote!({
                let r = #d.into_owned();
                rt::cond::regex_match(&rt::Value::str(#subject), &r)
            })
        }
    };
    match k {
        KwCond::MethodEq(e, neg) => not(
            *neg,
            with_bytes(e, &|b| quote!(rt::cond::method_eq(ctx, #b))),
        ),
        KwCond::MethodMatch(re) => re_code(re, quote!(rt::cond::method(ctx))),
        KwCond::Myself(u, neg) => {
            let u = of(u, "UriOf");
            not(*neg, quote!(rt::cond::uri_is_myself(ctx, #u)))
        }
        KwCond::UriEq(u, e, neg) => {
            let u = of(u, "UriOf");
            not(
                *neg,
                with_bytes(e, &|b| quote!(rt::cond::uri_eq(ctx, #u, #b))),
            )
        }
        KwCond::UriMatch(u, re) => {
            let u = of(u, "UriOf");
            re_code(re, quote!(rt::cond::uri_text(ctx, #u)))
        }
        KwCond::IpNet(ip, addr, bits, neg) => {
            let ip = of(ip, "IpOf");
            not(*neg, quote!(rt::cond::ip_in_net(ctx, #ip, #addr, #bits)))
        }
        KwCond::IpMyself(ip, neg) => {
            let ip = of(ip, "IpOf");
            not(*neg, quote!(rt::cond::ip_is_myself(ctx, #ip)))
        }
        KwCond::IntCmp(i, op, e) => {
            let i = of(i, "IntOf");
            let op = bin_op(*op);
            match e {
                Expr::Int(n) => {
                    let n = num(*n);
                    quote!(rt::cond::int_cmp(ctx, #i, #op, #n))
                }
                e => {
                    let v = p(value(g, e));
                    quote!({
                        let r = #v.to_int();
                        rt::cond::int_cmp(ctx, #i, #op, r)
                    })
                }
            }
        }
        KwCond::ProtoEq(p, neg) => not(*neg, quote!(rt::cond::proto_is(ctx, #p))),
    }
}

/// A PV read.
pub(crate) fn pv_read(g: &Gen<'_>, p: &PvRef) -> TokenStream {
    match p {
        PvRef::Plain(id) => {
            let id = super::variant(&id);
            quote!(rt::pv::get(ctx, rt::PvId::#id))
        }
        PvRef::Hdr(name) => {
            let b = bytes(name);
            quote!(rt::pv::hdr(ctx, #b))
        }
        PvRef::HdrCount(name) => {
            let b = bytes(name);
            quote!(rt::pv::hdr_count(ctx, #b))
        }
        PvRef::Var(slot) => {
            let slot = usize_lit(*slot);
            quote!(rt::pv::var(ctx, #slot))
        }
        PvRef::Avp(slot, nth) => {
            let (slot, nth) = (usize_lit(*slot), usize_lit(*nth));
            quote!(rt::pv::avp(ctx, #slot, #nth))
        }
        PvRef::Env(name) => quote!(rt::pv::env(#name)),
        PvRef::Cfg(name) => quote!(rt::pv::cfg_var(ctx, #name)),
        PvRef::Trans(inner, ops) => {
            let v = pv_read(g, inner);
            let ops = tr_ops(g, ops);
            quote!(rt::trans::eval(#v, &#ops))
        }
        PvRef::Dbr(res, key) => {
            let key = super::dbr_key(*key);
            quote!(rt::modules::sqlops::dbr(ctx, #res, #key))
        }
        PvRef::SqlRows(con) => quote!(rt::modules::sqlops::sqlrows(ctx, #con)),
        PvRef::DlgVar(name) => quote!(rt::modules::dialog::dlg_var(ctx, #name)),
        // The inner PV is read on the transaction's other message, in a
        // context of its own.
        PvRef::TMsg(which, inner) => {
            let w = super::variant(which);
            let v = pv_read(g, inner);
            quote!(rt::modules::tm::t_msg_pv(ctx, rt::TMsg::#w, |ctx: &rt::Ctx<'_>| #v.into_owned()))
        }
        PvRef::TextIter(kind, name) => {
            let k = super::variant(kind);
            quote!(rt::modules::textopsx::iter_pv(ctx, rt::IterKind::#k, #name))
        }
        PvRef::Xavp(x) => {
            let x = super::xavp_static(x);
            quote!(rt::xavp::read(ctx, #x))
        }
        PvRef::ShtRecord(value) => quote!(rt::modules::htable::shtrecord(ctx, #value)),
        PvRef::ShtIter(value, name) => quote!(rt::modules::htable::shtit(ctx, #name, #value)),
        PvRef::Mq(kind, name) => {
            let k = super::variant(kind);
            let name = format(g, name);
            quote!(rt::modules::mqueue::pv_get(ctx, rt::MqPv::#k, &#name))
        }
        PvRef::Sht(kind, name) => {
            let k = super::variant(kind);
            let table = &name.table;
            let key = format(g, &name.key);
            quote!(rt::modules::htable::pv_get(ctx, rt::ShtPv::#k, #table, &#key))
        }
        // A module's PV: its reader, called directly.
        PvRef::Module(idx) => match cfgc_vocab::ModulePv::get(*idx)
            .and_then(|m| format!("rt::{}", m.path).parse::<TokenStream>().ok())
        {
            Some(path) => quote!(#path(ctx)),
            None => unsupported(),
        },
    }
}

/// The runtime `[Op]` array of a transformation chain.
fn tr_ops(g: &Gen<'_>, ops: &[TrOp]) -> TokenStream {
    let ops = ops.iter().map(|o| {
        let name = super::variant(&o.kind);
        if o.args.is_empty() {
            return quote!(rt::trans::Op::#name);
        }
        let args = o.args.iter().map(|a| match a {
            TrArg::Int(n) => {
                let n = num(*n);
                quote!(rt::trans::Arg::Int(#n))
            }
            TrArg::Str(s) => {
                let b = bytes(s);
                quote!(rt::trans::Arg::Str(#b))
            }
            TrArg::Pv(p) => {
                let v = pv_read(g, p);
                quote!(rt::trans::Arg::Pv(#v))
            }
        });
        quote!(rt::trans::Op::#name(#(#args),*))
    });
    quote!([#(#ops),*])
}

/// Builds a PV-format string into an owned buffer.
pub(crate) fn format(g: &Gen<'_>, segs: &[FmtSeg]) -> TokenStream {
    let pushes = segs.iter().map(|s| match s {
        FmtSeg::Lit(l) => {
            let b = bytes(l);
            quote!(buf.extend_from_slice(#b);)
        }
        FmtSeg::Pv(PvRef::Trans(inner, ops)) => {
            // A failing transformation prints nothing (a `$null` prints
            // `<null>`).
            let v = pv_read(g, inner);
            let ops = tr_ops(g, ops);
            quote!(rt::trans::push(&mut buf, #v, &#ops);)
        }
        FmtSeg::Pv(p) => {
            let v = pv_read(g, p);
            quote!(rt::pv::push_fmt(&mut buf, &#v);)
        }
    });
    quote!({
        let mut buf: Vec<u8> = Vec::new();
        #(#pushes)*
        buf
    })
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

fn level(n: i32) -> TokenStream {
    let l = super::variant(&cfgc_vocab::Level::from_int(n));
    quote!(rt::Level::#l)
}

/// The code of a call: an `i32` expression. Module functions and routes
/// also set `$rc` and end the script on a 0 return (`rt::set_rc`).
pub(crate) fn call(g: &Gen<'_>, c: &Call) -> TokenStream {
    match &c.target {
        Target::Route(id) => {
            let f = g.route_fn(*id);
            quote!(rt::set_rc(self.#f(ctx)?, ctx)?)
        }
        Target::DynRoute => unsupported(),
        Target::Module(id) => {
            let b = id.binding();
            let path: TokenStream = format!("rt::{}", b.path)
                .parse()
                .unwrap_or_else(|_| unsupported());
            let mut lets = Vec::new();
            let mut pass = vec![quote!(ctx)];
            if let Some(l) = b.fixed_level {
                pass.push(level(l as i32));
            }
            for (i, (a, conv)) in c.args.iter().zip(b.args).enumerate() {
                let name = format_ident!("a{}", i);
                if let Some(l) = literal(a) {
                    // A constant string: passed as a static slice, no copy.
                    pass.push(bytes(l));
                    continue;
                }
                let (init, use_) = match (a, conv) {
                    (ArgVal::Int(n), _) => {
                        pass.push(num(*n));
                        continue;
                    }
                    (ArgVal::Level(n), _) => {
                        pass.push(level(*n));
                        continue;
                    }
                    // `"$var(code)"` where an int is expected: the
                    // formatted string's int value.
                    (ArgVal::Fmt(segs), ArgConv::Int) => {
                        let f = format(g, segs);
                        (quote!(rt::Value::str(&#f).to_int()), quote!(#name))
                    }
                    (ArgVal::Fmt(segs), _) => (format(g, segs), quote!(&#name)),
                    (ArgVal::Bytes(b), _) => {
                        pass.push(bytes(b));
                        continue;
                    }
                    // Compiled once, with the script.
                    (ArgVal::Regex(slot), _) => {
                        let slot = usize_lit(*slot);
                        pass.push(quote!(&self.regexes[#slot]));
                        continue;
                    }
                    (ArgVal::Subst(slot, text, pvs), _) => {
                        let slot = usize_lit(*slot);
                        pass.push(quote!(&self.regexes[#slot]));
                        pass.push(bytes(text));
                        if pvs.is_empty() {
                            pass.push(quote!(&[]));
                        } else {
                            // Built once, on first use.
                            let pvs = pvs.iter().map(|p| {
                                let len = usize_lit(p.len);
                                let pv = super::pv_value(&p.pv);
                                quote!(rt::SubstPv { len: #len, pv: #pv })
                            });
                            pass.push(quote!({
                                static PVS: ::std::sync::LazyLock<::std::vec::Vec<rt::SubstPv>> =
                                    ::std::sync::LazyLock::new(|| ::std::vec::Vec::from([#(#pvs),*]));
                                &PVS[..]
                            }));
                        }
                        continue;
                    }
                    // Built once, on first use.
                    (ArgVal::PvList(list), _) => {
                        let pvs = list.iter().map(super::pv_value);
                        pass.push(quote!({
                            static PVS: ::std::sync::LazyLock<::std::vec::Vec<rt::PvRef>> =
                                ::std::sync::LazyLock::new(|| ::std::vec::Vec::from([#(#pvs),*]));
                            &PVS[..]
                        }));
                        continue;
                    }
                    (ArgVal::Expr(e), ArgConv::Int) => {
                        let v = p(value(g, e));
                        (quote!(#v.to_int()), quote!(#name))
                    }
                    (ArgVal::Expr(e), ArgConv::Level) => {
                        let v = p(value(g, e));
                        (quote!(rt::Level::from_int(#v.to_int())), quote!(#name))
                    }
                    (
                        ArgVal::Expr(e),
                        ArgConv::Fmt | ArgConv::Str | ArgConv::VarOrStr | ArgConv::VarOrFmt,
                    ) => {
                        let v = p(value(g, e));
                        (quote!(#v.to_bytes().into_owned()), quote!(&#name))
                    }
                    (
                        ArgVal::Expr(_),
                        ArgConv::FailureRoute
                        | ArgConv::BranchRoute
                        | ArgConv::OnreplyRoute
                        | ArgConv::PvList
                        | ArgConv::PvOut
                        | ArgConv::AvpOut
                        | ArgConv::PvWrite
                        | ArgConv::PvAny
                        | ArgConv::Regex
                        | ArgConv::RegexNl
                        | ArgConv::Subst,
                    ) => (unsupported(), quote!(#name)),
                };
                lets.push(quote!(let #name = #init;));
                pass.push(use_);
            }
            let invoke = quote!(rt::set_rc(#path(#(#pass),*), ctx)?);
            // xlog with a level known at compile time: test the level before
            // formatting the message (xlog returns 1 either way).
            match c.log_gate() {
                Some(l) => {
                    let l = level(l as i32);
                    quote!(if rt::log::enabled(ctx, #l) {
                        #(#lets)*
                        #invoke
                    } else {
                        ctx.rc = 1;
                        1
                    })
                }
                None if lets.is_empty() => invoke,
                None => quote!({
                    #(#lets)*
                    #invoke
                }),
            }
        }
        Target::Core(f) => {
            let f = core_fn(f);
            quote!(rt::actions::run(ctx, &#f))
        }
    }
}

/// A core action as a constant `rt::CoreAction`.
fn core_fn(f: &CoreFn) -> TokenStream {
    let a = quote!(rt::CoreAction);
    match f {
        CoreFn::Forward { host, port, proto } => {
            let host = match host {
                Some(h) => quote!(Some(#h)),
                None => quote!(None),
            };
            let port = match port {
                Some(p) => {
                    let p = num(*p);
                    quote!(Some(#p))
                }
                None => quote!(None),
            };
            let proto = match proto {
                Some(p) => {
                    let p = super::variant(&p);
                    quote!(Some(rt::Proto::#p))
                }
                None => quote!(None),
            };
            quote!(#a::Forward { host: #host, port: #port, proto: #proto })
        }
        CoreFn::SetFlag(n) => {
            let n = num(*n);
            quote!(#a::SetFlag(#n))
        }
        CoreFn::ResetFlag(n) => {
            let n = num(*n);
            quote!(#a::ResetFlag(#n))
        }
        CoreFn::IsFlagSet(n) => {
            let n = num(*n);
            quote!(#a::IsFlagSet(#n))
        }
        CoreFn::Rewrite(kind, arg) => {
            let k = super::variant(&kind);
            let b = bytes(arg);
            quote!(#a::Rewrite(rt::Rewrite::#k, #b))
        }
        CoreFn::Strip(n) => {
            let n = usize_lit(*n);
            quote!(#a::Strip(#n))
        }
        CoreFn::StripTail(n) => {
            let n = usize_lit(*n);
            quote!(#a::StripTail(#n))
        }
        CoreFn::RevertUri => quote!(#a::RevertUri),
        CoreFn::ForceRport => quote!(#a::ForceRport),
        CoreFn::SetReplyNoConnect => quote!(#a::SetReplyNoConnect),
        CoreFn::SetForwardNoConnect => quote!(#a::SetForwardNoConnect),
        CoreFn::Log(level, msg) => {
            let (n, b) = (num(*level), bytes(msg));
            quote!(#a::Log(#n, #b))
        }
    }
}

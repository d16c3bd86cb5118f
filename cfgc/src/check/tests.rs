//! Tests of the check pass, on trees built by hand (see `b`).

use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::*;

use super::{CheckOptions, check};

/// Small constructors for hand-built trees. Spans are dummies unless given.
mod b {
    use super::*;

    pub(super) fn sp() -> Span {
        Span::new(FileId(0), 0, 0)
    }
    pub(super) fn name(s: &str) -> Name {
        Name {
            text: s.into(),
            span: sp(),
        }
    }
    pub(super) fn load(m: &str) -> Item {
        Item::LoadModule {
            path: name(&format!("{m}.so")),
            x: false,
            span: sp(),
        }
    }
    pub(super) fn modparam(m: &str, p: &str, v: ModParamValue) -> Item {
        Item::ModParam(ModParam {
            module: name(m),
            param: name(p),
            value: v,
            x: false,
            span: sp(),
        })
    }
    pub(super) fn route(kind: BlockKind, n: Option<&str>, body: Vec<Stmt>) -> Item {
        Item::Route(RouteBlock {
            kind,
            name: n.map(name),
            body,
            span: sp(),
        })
    }
    pub(super) fn req(body: Vec<Stmt>) -> Item {
        route(BlockKind::RequestRoute, None, body)
    }
    pub(super) fn call_of(kind: CallKind, n: &str, args: Vec<Arg>) -> Call {
        Call {
            kind,
            name: name(n),
            args,
            parens: true,
            span: sp(),
        }
    }
    pub(super) fn f(n: &str, args: Vec<Arg>) -> Stmt {
        Stmt::Call(call_of(CallKind::Module, n, args))
    }
    pub(super) fn core(n: &str, args: Vec<Arg>) -> Stmt {
        Stmt::Call(call_of(CallKind::Core, n, args))
    }
    pub(super) fn route_call(n: &str) -> Stmt {
        Stmt::Call(call_of(CallKind::Route, "route", vec![Arg::Ident(name(n))]))
    }
    pub(super) fn s(v: &str) -> Expr {
        Expr::Str(v.into(), sp())
    }
    pub(super) fn i(v: i64) -> Expr {
        Expr::Int(v, sp())
    }
    pub(super) fn pv(t: &str) -> Expr {
        Expr::Pv(pvk(t, Compat::Kamailio))
    }
    pub(super) fn pvk(t: &str, compat: Compat) -> Pv {
        Pv {
            text: t.into(),
            compat,
            span: sp(),
        }
    }
    pub(super) fn a(e: Expr) -> Arg {
        Arg::Expr(e)
    }
    pub(super) fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
            span: sp(),
        }
    }
    pub(super) fn paren(e: Expr) -> Expr {
        Expr::Paren(Box::new(e), sp())
    }
    pub(super) fn not(e: Expr) -> Expr {
        Expr::Unary {
            op: UnOp::Not,
            expr: Box::new(e),
            span: sp(),
        }
    }
    pub(super) fn if_(c: Expr, then: Stmt) -> Stmt {
        Stmt::If {
            cond: c,
            then: Box::new(then),
            else_: None,
            span: sp(),
        }
    }
    pub(super) fn set(lhs: &str, rhs: Expr) -> Stmt {
        Stmt::Assign(Assign {
            lhs: Lvalue::Pv(pvk(lhs, Compat::Kamailio)),
            rhs,
            span: sp(),
        })
    }
    pub(super) fn ret(v: Option<Expr>) -> Stmt {
        Stmt::Return {
            kind: ReturnKind::Return,
            value: v,
            span: sp(),
        }
    }
    pub(super) fn param(n: &'static str, v: ParamValue) -> Item {
        Item::Param(ParamAssign {
            name: n,
            name_span: sp(),
            value: v,
            span: sp(),
        })
    }
}

use b::*;

fn run(items: Vec<Item>) -> Vec<Diagnostic> {
    let mut sources = SourceMap::new();
    sources.add("test.cfg", String::new(), None);
    check(&sources, &File { items }, &CheckOptions::default()).diagnostics
}

/// Runs the check and asserts the set of diagnostic codes (in order).
#[track_caller]
fn expect(items: Vec<Item>, codes: &[&str]) {
    let d = run(items);
    let got: Vec<&str> = d.iter().map(|d| d.code).collect();
    assert_eq!(got, codes, "diagnostics: {d:#?}");
}

/// The standard module set of the stock cfg (a subset).
fn stock() -> Vec<Item> {
    [
        "tm",
        "tmx",
        "sl",
        "rr",
        "pv",
        "maxfwd",
        "textops",
        "siputils",
        "xlog",
        "sanity",
        "kex",
        "htable",
        "registrar",
        "usrloc",
    ]
    .iter()
    .map(|m| load(m))
    .collect()
}

fn with(mut items: Vec<Item>, more: Vec<Item>) -> Vec<Item> {
    items.extend(more);
    items
}

#[test]
fn clean_request_route() {
    expect(
        with(
            stock(),
            vec![
                req(vec![
                    if_(
                        Expr::Call(Box::new(call_of(
                            CallKind::Module,
                            "is_method",
                            vec![a(s("INVITE"))],
                        ))),
                        f("sl_send_reply", vec![a(s("200")), a(s("OK"))]),
                    ),
                    f(
                        "xlog",
                        vec![a(s("L_INFO")), a(s("$rm from $fu [$T_branch_idx]\n"))],
                    ),
                    route_call("RELAY"),
                ]),
                route(BlockKind::Route, Some("RELAY"), vec![f("t_relay", vec![])]),
            ],
        ),
        &[],
    );
}

#[test]
fn uncatalogued_module() {
    let d = run(vec![
        load("my_own_module"),
        req(vec![f("whatever", vec![])]),
    ]);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, "uncatalogued-module");
    assert_eq!(d[0].severity, Severity::Unsupported);
}

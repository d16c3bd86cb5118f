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
    // Every module call is "not supported yet" while the runtime has no
    // modules: `unsupported_function` tests that on its own.
    let got: Vec<&str> = d
        .iter()
        .map(|d| d.code)
        .filter(|c| *c != "unsupported-function")
        // Hand-built trees read `$var`s freely; only tests that expect
        // `var-not-reset` look at it.
        .filter(|c| *c != "var-not-reset" || codes.contains(&"var-not-reset"))
        .collect();
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
fn resolved_calls() {
    let mut sources = SourceMap::new();
    sources.add("test.cfg", String::new(), None);
    let file = File {
        items: with(
            stock(),
            vec![req(vec![f("t_relay", vec![]), f("xlog", vec![a(s("x"))])])],
        ),
    };
    let out = check(&sources, &file, &CheckOptions::default());
    let calls: Vec<_> = out
        .calls
        .iter()
        .map(|c| (c.module, c.function.name))
        .collect();
    assert_eq!(calls, [("tm", "t_relay"), ("xlog", "xlog")]);
    assert!(out.is_loaded("tmx"));
    assert!(out.routes.has_main());
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

#[test]
fn unsupported_function() {
    let d = run(with(
        stock(),
        vec![req(vec![
            f("t_save_lumps", vec![]),
            f("t_save_lumps", vec![]),
            f("t_reset_fr", vec![]),
            // Implemented by the runtime (catalog/runtime.rs): no diagnostic.
            f("sl_reply_error", vec![]),
        ])],
    ));
    let codes: Vec<_> = d.iter().map(|d| (d.code, d.severity)).collect();
    assert_eq!(
        codes,
        [
            ("unsupported-function", Severity::Unsupported),
            ("unsupported-function", Severity::Unsupported)
        ],
        "one per unsupported function (t_save_lumps, t_reset_fr), none for sl_reply_error"
    );
}

#[test]
fn module_arg_values() {
    let c = |st| with(stock(), vec![req(vec![st])]);
    expect(c(f("xlog", vec![a(s("L_FOO")), a(s("x"))])), &["bad-arg"]);
    expect(
        c(f("xlog", vec![a(s("LOG_NOPE")), a(s("L_INFO")), a(s("x"))])),
        &["bad-arg"],
    );
    expect(
        c(f(
            "xlog",
            vec![a(s("LOG_LOCAL0")), a(s("L_ERR")), a(s("x"))],
        )),
        &[],
    );
    expect(c(f("xlog", vec![a(s("$var(lvl)")), a(s("x"))])), &[]);
    expect(
        c(f("mf_process_maxfwd_header", vec![a(s("ten"))])),
        &["bad-arg"],
    );
    expect(c(f("mf_process_maxfwd_header", vec![a(s("10"))])), &[]);
    expect(
        c(f("sl_send_reply", vec![a(s("2OO")), a(s("OK"))])),
        &["bad-arg"],
    );
    expect(c(f("setbflag", vec![a(i(32))])), &["bad-arg"]);
    expect(c(f("setbflag", vec![a(i(6))])), &[]);
    let fail = |st| {
        with(
            stock(),
            vec![route(BlockKind::FailureRoute, Some("F"), vec![st])],
        )
    };
    expect(fail(f("t_check_status", vec![a(s("(48"))])), &["bad-regex"]);
    expect(
        fail(f("t_check_status", vec![a(s("4\\d\\d"))])),
        &["regex-escape"],
    );
    expect(fail(f("t_check_status", vec![a(s("3[0-9][0-9]"))])), &[]);
    expect(
        vec![param(
            "log_facility",
            ParamValue::Ident("LOG_LOCAL9".into(), sp()),
        )],
        &["bad-param-value"],
    );
}

fn call_e(n: &str, args: Vec<Arg>) -> Expr {
    Expr::Call(Box::new(call_of(CallKind::Module, n, args)))
}

// ---- routes -------------------------------------------------------------

#[test]
fn duplicate_route() {
    expect(
        vec![
            route(BlockKind::Route, Some("A"), vec![]),
            route(BlockKind::Route, Some("A"), vec![]),
        ],
        &["duplicate-route"],
    );
    // Unnamed request routes concatenate.
    expect(
        vec![
            req(vec![]),
            req(vec![]),
            route(BlockKind::Route, None, vec![]),
        ],
        &[],
    );
    // route[0] is the main route.
    expect(
        vec![req(vec![]), route(BlockKind::Route, Some("0"), vec![])],
        &["duplicate-route"],
    );
    // Separate tables per block kind.
    expect(
        vec![
            route(BlockKind::Route, Some("A"), vec![]),
            route(BlockKind::FailureRoute, Some("A"), vec![]),
            route(BlockKind::BranchRoute, Some("A"), vec![]),
            route(BlockKind::OnreplyRoute, Some("A"), vec![]),
        ],
        &[],
    );
    expect(
        vec![
            route(BlockKind::FailureRoute, Some("A"), vec![]),
            route(BlockKind::FailureRoute, Some("A"), vec![]),
        ],
        &["duplicate-route"],
    );
}

#[test]
fn undefined_route() {
    expect(vec![req(vec![route_call("MISSING")])], &["undefined-route"]);
    expect(
        vec![
            req(vec![route_call("X")]),
            route(BlockKind::Route, Some("X"), vec![]),
        ],
        &[],
    );
    // route(0) is the main route.
    expect(vec![req(vec![route_call("0")])], &[]);
    // A dynamic name is not checked.
    expect(
        with(
            stock(),
            vec![req(vec![Stmt::Call(call_of(
                CallKind::Route,
                "route",
                vec![a(pv("$var(r)"))],
            ))])],
        ),
        &[],
    );
}

#[test]
fn undefined_tm_routes() {
    // "0" and "" disarm.
    expect(
        with(
            stock(),
            vec![req(vec![
                f("t_on_failure", vec![a(s("0"))]),
                f("t_on_reply", vec![a(s(""))]),
            ])],
        ),
        &[],
    );
    let body = vec![
        f("t_on_failure", vec![a(s("F"))]),
        f("t_on_branch", vec![a(s("B"))]),
        f("t_on_reply", vec![a(s("R"))]),
        f("t_on_branch_failure", vec![a(s("BF"))]),
    ];
    expect(
        with(stock(), vec![req(body.clone())]),
        &[
            "undefined-route",
            "undefined-route",
            "undefined-route",
            "undefined-route",
        ],
    );
    expect(
        with(
            stock(),
            vec![
                req(body),
                route(BlockKind::FailureRoute, Some("F"), vec![]),
                route(BlockKind::BranchRoute, Some("B"), vec![]),
                route(BlockKind::OnreplyRoute, Some("R"), vec![]),
                route(BlockKind::EventRoute, Some("tm:branch-failure:BF"), vec![]),
            ],
        ),
        &[],
    );
}

// ---- modules ------------------------------------------------------------

#[test]
fn module_not_loaded() {
    let d = run(vec![load("sl"), req(vec![f("t_relay", vec![])])]);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "module-not-loaded");
    assert!(d[0].help.as_deref().unwrap().contains("tm.so"));
    // `save` is exported by several modules: point at the common one.
    let d = run(vec![
        load("sl"),
        req(vec![f("save", vec![a(s("location"))])]),
    ]);
    assert!(
        d[0].help.as_deref().unwrap().contains("\"registrar.so\""),
        "{d:#?}"
    );
}

#[test]
fn unknown_function() {
    expect(
        with(stock(), vec![req(vec![f("no_such_fn", vec![])])]),
        &["unknown-function"],
    );
    let d = run(with(stock(), vec![req(vec![f("t_relya", vec![])])]));
    assert!(d[0].help.as_deref().unwrap().contains("t_relay"), "{d:#?}");
    // With an uncatalogued module loaded, unknown names may be its own.
    expect(
        with(
            stock(),
            vec![load("thirdparty"), req(vec![f("no_such_fn", vec![])])],
        ),
        &["uncatalogued-module"],
    );
}

#[test]
fn modparams() {
    let m = |mp, p, v| modparam(mp, p, v);
    expect(
        vec![
            load("tm"),
            m("tm", "fr_timer", ModParamValue::Int(30000, sp())),
            load("auth_db"),
            load("usrloc"),
            m(
                "auth_db|usrloc",
                "db_url",
                ModParamValue::Str("mysql://x".into(), sp()),
            ),
            m("TM", "fr_inv_timer", ModParamValue::Int(1, sp())),
        ],
        &[],
    );
    expect(
        vec![
            load("tm"),
            m("tm", "fr_timerr", ModParamValue::Int(1, sp())),
        ],
        &["unknown-modparam"],
    );
    expect(
        vec![
            load("tm"),
            m("tm", "fr_timer", ModParamValue::Str("30".into(), sp())),
        ],
        &["modparam-type"],
    );
    expect(
        vec![
            load("usrloc"),
            m("usrloc", "db_url", ModParamValue::Int(1, sp())),
        ],
        &["modparam-type"],
    );
    // Matched only against modules loaded so far.
    expect(
        vec![m("tm", "fr_timer", ModParamValue::Int(1, sp())), load("tm")],
        &["modparam-no-module"],
    );
    expect(
        vec![load("tm"), m("t", "fr_timer", ModParamValue::Int(1, sp()))],
        &["modparam-no-module"],
    );
    // A regex matching two modules: each must have the parameter.
    expect(
        vec![
            load("tm"),
            load("usrloc"),
            m("tm|usrloc", "db_url", ModParamValue::Str("x".into(), sp())),
        ],
        &["unknown-modparam"],
    );
}

#[test]
fn duplicate_loadmodule() {
    expect(
        vec![load("tm"), load("sl"), load("tm")],
        &["duplicate-loadmodule"],
    );
}

#[test]
fn core_params() {
    expect(
        vec![
            param("debug", ParamValue::Int(-1, sp())),
            param("children", ParamValue::Int(8, sp())),
            param("log_facility", ParamValue::Ident("LOG_LOCAL0".into(), sp())),
            param("log_prefix", ParamValue::Str("x".into(), sp())),
        ],
        &[],
    );
    expect(
        vec![
            param("children", ParamValue::Int(-1, sp())),
            param("children", ParamValue::Str("8".into(), sp())),
            param("log_facility", ParamValue::Str("LOG_LOCAL0".into(), sp())),
            param("log_prefix", ParamValue::Int(1, sp())),
        ],
        &[
            "bad-param-value",
            "bad-param-value",
            "bad-param-value",
            "bad-param-value",
        ],
    );
}

// ---- calls --------------------------------------------------------------

#[test]
fn wrong_arity() {
    expect(
        with(
            stock(),
            vec![req(vec![f("sl_send_reply", vec![a(s("200"))])])],
        ),
        &["wrong-arity"],
    );
    expect(
        with(stock(), vec![req(vec![f("t_relay", vec![a(s("x"))])])]),
        &["wrong-arity"],
    );
    expect(
        with(stock(), vec![req(vec![core("strip", vec![])])]),
        &["wrong-arity"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![Stmt::Call(call_of(
                CallKind::Route,
                "route",
                vec![Arg::Ident(name("A")), Arg::Ident(name("B"))],
            ))])],
        ),
        &["wrong-arity"],
    );
    // Overloads by arity.
    expect(
        with(
            stock(),
            vec![req(vec![
                f("xlog", vec![a(s("x"))]),
                f("xlog", vec![a(s("L_INFO")), a(s("x"))]),
                f("xlog", vec![a(s("LOG_LOCAL0")), a(s("L_INFO")), a(s("x"))]),
            ])],
        ),
        &[],
    );
}

#[test]
fn arg_not_constant() {
    expect(
        with(
            stock(),
            vec![req(vec![f("xlog", vec![a(s("L_INFO")), a(pv("$var(m)"))])])],
        ),
        &["arg-not-constant"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![f("is_method", vec![a(pv("$var(m)"))])])],
        ),
        &["arg-not-constant"],
    );
    // Constant folding is fine.
    expect(
        with(
            stock(),
            vec![req(vec![f(
                "is_method",
                vec![a(bin(BinOp::Add, s("INVITE"), s("|BYE")))],
            )])],
        ),
        &[],
    );
    // fparam/free-able fixups take any expression.
    expect(
        with(
            stock(),
            vec![req(vec![
                f("setbflag", vec![a(pv("$var(f)"))]),
                f("starts_with", vec![a(pv("$rU")), a(s("00"))]),
            ])],
        ),
        &[],
    );
}

#[test]
fn bad_arg_core() {
    expect(
        with(stock(), vec![req(vec![core("strip", vec![a(s("x"))])])]),
        &["bad-arg"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![core("rewritehost", vec![a(pv("$var(h)"))])])],
        ),
        &["bad-arg"],
    );
    expect(
        with(stock(), vec![req(vec![core("setflag", vec![a(i(32))])])]),
        &["bad-arg"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![core("setflag", vec![Arg::Ident(name("NOPE"))])])],
        ),
        &["bad-arg"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![
                core("setflag", vec![a(i(31))]),
                core("strip", vec![a(i(2))]),
                core("prefix", vec![a(s("+"))]),
                core("log", vec![a(i(1)), a(s("x"))]),
            ])],
        ),
        &[],
    );
    // Declared flag names are fine.
    expect(
        vec![
            Item::Flags {
                flags: vec![FlagDecl {
                    name: name("F_X"),
                    number: Some(3),
                }],
                span: sp(),
            },
            req(vec![core("setflag", vec![Arg::Ident(name("F_X"))])]),
        ],
        &[],
    );
}

#[test]
fn route_type() {
    // sl_send_reply is request-route only.
    expect(
        with(
            stock(),
            vec![route(
                BlockKind::OnreplyRoute,
                Some("R"),
                vec![f("sl_send_reply", vec![a(s("200")), a(s("OK"))])],
            )],
        ),
        &["route-type"],
    );
    // route[X] bodies are checked as request routes.
    expect(
        with(
            stock(),
            vec![route(
                BlockKind::Route,
                Some("X"),
                vec![f("sl_forward_reply", vec![])],
            )],
        ),
        &["route-type"],
    );
    expect(
        with(
            stock(),
            vec![route(
                BlockKind::FailureRoute,
                Some("X"),
                vec![f("t_check_status", vec![a(s("486"))])],
            )],
        ),
        &[],
    );
    // Event routes accept request-route functions.
    expect(
        with(
            stock(),
            vec![route(
                BlockKind::EventRoute,
                Some("xhttp:request"),
                vec![f("sl_send_reply", vec![a(s("200")), a(s("OK"))])],
            )],
        ),
        &[],
    );
    // onsend_route: no route(), only whitelisted core actions.
    expect(
        vec![
            route(
                BlockKind::OnsendRoute,
                None,
                vec![
                    route_call("X"),
                    core("strip", vec![a(i(1))]),
                    core("setflag", vec![a(i(1))]),
                ],
            ),
            route(BlockKind::Route, Some("X"), vec![]),
        ],
        &["route-type", "route-type"],
    );
    // reply_route is the core reply route.
    expect(
        with(
            stock(),
            vec![route(
                BlockKind::ReplyRoute,
                None,
                vec![f("sanity_check", vec![a(s("17604")), a(s("6"))])],
            )],
        ),
        &[],
    );
}

// ---- PVs ----------------------------------------------------------------

#[test]
fn unknown_pv() {
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$nope"), f("t_relay", vec![]))])],
        ),
        &["unknown-pv"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$nope(x)"), f("t_relay", vec![]))])],
        ),
        &["unknown-pv"],
    );
    // Inner names: required by PVs with a name parser, refused by others.
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$hdr"), f("t_relay", vec![]))])],
        ),
        &["unknown-pv"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$hdr()"), f("t_relay", vec![]))])],
        ),
        &["unknown-pv"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$ru(x)"), f("t_relay", vec![]))])],
        ),
        &["unknown-pv"],
    );
    // max-compat: a bare unknown name is an AVP.
    expect(
        with(
            stock(),
            vec![req(vec![if_(
                Expr::Pv(pvk("$nope", Compat::MaxCompat)),
                f("t_relay", vec![]),
            )])],
        ),
        &[],
    );
    // A PV of a module that is not loaded.
    expect(
        vec![
            load("sl"),
            req(vec![if_(pv("$dlg_var(x)"), f("sl_reply_error", vec![]))]),
        ],
        &["unknown-pv"],
    );
    // In PV-format strings.
    expect(
        with(
            stock(),
            vec![req(vec![f("xlog", vec![a(s("$rm $nope\n"))])])],
        ),
        &["unknown-pv"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![f(
                "xlog",
                vec![a(s("$$ $rm $(ru{uri.host}) $sht(t=>$ci)\n"))],
            )])],
        ),
        &[],
    );
    // Nested PVs and transformations.
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$sht(t=>$nope)"), f("t_relay", vec![]))])],
        ),
        &["unknown-pv"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![if_(pv("$(ru{uri.hots})"), f("t_relay", vec![]))])],
        ),
        &["unknown-transformation"],
    );
}

#[test]
fn pv_not_writable() {
    expect(
        with(stock(), vec![req(vec![set("$ci", s("x"))])]),
        &["pv-not-writable"],
    );
    expect(
        with(stock(), vec![req(vec![set("$(ru{uri.host})", s("x"))])]),
        &["pv-not-writable"],
    );
    expect(
        with(
            stock(),
            vec![req(vec![
                set("$ru", s("sip:a@b")),
                set("$var(x)", i(1)),
                set("$avp(y)", i(1)),
                set("$sht(ipban=>$si)", i(1)),
                set("$du", Expr::Pv(pvk("$null", Compat::Kamailio))),
            ])],
        ),
        &[],
    );
}

// ---- expressions --------------------------------------------------------

#[test]
fn type_mismatch() {
    let c = |e| with(stock(), vec![req(vec![if_(e, f("t_relay", vec![]))])]);
    expect(c(bin(BinOp::Eq, i(1), s("1"))), &["type-mismatch"]);
    expect(c(bin(BinOp::Sub, i(10), s("3"))), &["type-mismatch"]);
    expect(c(bin(BinOp::Add, i(1), s("a"))), &["type-mismatch"]);
    expect(c(bin(BinOp::Eq, s("1"), i(1))), &[]);
    expect(c(bin(BinOp::Eq, pv("$rU"), s("1"))), &[]);
    expect(c(bin(BinOp::Lt, pv("$var(x)"), i(3))), &[]);
}

#[test]
fn bad_regex() {
    let c = |re: &str| {
        with(
            stock(),
            vec![req(vec![if_(
                bin(BinOp::Match, pv("$ua"), s(re)),
                f("t_relay", vec![]),
            )])],
        )
    };
    expect(c("(abc"), &["bad-regex"]);
    expect(c("^[0-9]{3,20}$"), &[]);
    expect(c("friendly|scanner"), &[]);
}

#[test]
fn switch_rules() {
    let case = |label: Option<Expr>, regex| Case {
        label,
        regex,
        body: vec![Stmt::Break(sp())],
        span: sp(),
    };
    let sw = |cases| {
        with(
            stock(),
            vec![req(vec![Stmt::Switch {
                expr: pv("$var(rc)"),
                cases,
                span: sp(),
            }])],
        )
    };
    expect(
        sw(vec![
            case(Some(i(-1)), false),
            case(Some(i(2)), false),
            case(None, false),
        ]),
        &[],
    );
    expect(
        sw(vec![case(Some(i(1)), false), case(Some(s("a")), false)]),
        &["switch-mixed-cases"],
    );
    expect(
        sw(vec![case(Some(i(1)), false), case(Some(s("a")), true)]),
        &["switch-mixed-cases"],
    );
    expect(
        sw(vec![case(None, false), case(None, false)]),
        &["duplicate-default"],
    );
    expect(
        sw(vec![case(Some(pv("$var(x)")), false)]),
        &["arg-not-constant"],
    );
}

#[test]
fn precedence() {
    let c = |e| with(stock(), vec![req(vec![if_(e, f("t_relay", vec![]))])]);
    expect(
        c(bin(BinOp::Shl, i(1), bin(BinOp::Eq, i(3), i(8)))),
        &["precedence"],
    );
    expect(
        c(bin(BinOp::BitAnd, i(6), bin(BinOp::Eq, i(3), i(2)))),
        &["precedence"],
    );
    expect(
        c(bin(BinOp::Eq, paren(bin(BinOp::BitAnd, i(6), i(3))), i(2))),
        &[],
    );
    expect(c(bin(BinOp::Eq, not(pv("$var(a)")), i(1))), &["precedence"]);
    expect(c(not(paren(bin(BinOp::Eq, pv("$var(a)"), s("x"))))), &[]);
}

#[test]
fn string_concat() {
    let c = |e| with(stock(), vec![req(vec![set("$var(x)", e)])]);
    expect(c(bin(BinOp::Add, s("10"), i(1))), &["string-concat"]);
    // Once per chain.
    expect(
        c(bin(BinOp::Add, bin(BinOp::Add, s("ab"), i(1)), i(2))),
        &["string-concat"],
    );
    expect(c(bin(BinOp::Add, s("sip:"), pv("$rU"))), &[]);
    expect(c(bin(BinOp::Add, i(10), i(1))), &[]);
}

#[test]
fn regex_escape() {
    let c = |re: &str| {
        with(
            stock(),
            vec![req(vec![if_(
                bin(BinOp::Match, pv("$rU"), s(re)),
                f("t_relay", vec![]),
            )])],
        )
    };
    expect(c("^\\d+$"), &["regex-escape"]);
    expect(c("^[0-9]+$"), &[]);
    // glibc knows \w and \s.
    expect(c("^\\w+\\s"), &[]);
}

#[test]
fn empty_string_compare() {
    let c = |e| with(stock(), vec![req(vec![if_(e, f("t_relay", vec![]))])]);
    expect(
        c(bin(BinOp::Eq, pv("$var(x)"), s(""))),
        &["empty-string-compare"],
    );
    expect(c(bin(BinOp::Ne, pv("$var(x)"), s(""))), &[]);
    // Message PVs are strings or null: no trap.
    expect(c(bin(BinOp::Eq, pv("$hdr(X)"), s(""))), &[]);
    expect(c(bin(BinOp::Eq, pv("$var(x)"), s("a"))), &[]);
}

#[test]
fn return_zero() {
    // An idiom in event and reply routes.
    expect(
        vec![route(
            BlockKind::EventRoute,
            Some("sipcapture:request"),
            vec![ret(Some(i(0)))],
        )],
        &[],
    );
    expect(
        vec![route(BlockKind::Route, Some("X"), vec![ret(Some(i(0)))])],
        &["return-zero"],
    );
    expect(
        with(
            stock(),
            vec![route(
                BlockKind::Route,
                Some("X"),
                vec![ret(Some(call_e("has_totag", vec![])))],
            )],
        ),
        &["return-zero"],
    );
    expect(
        vec![route(
            BlockKind::Route,
            Some("X"),
            vec![ret(Some(i(-1))), ret(None)],
        )],
        &[],
    );
}

#[test]
fn while_truth() {
    expect(
        with(
            stock(),
            vec![req(vec![Stmt::While {
                cond: call_e("has_totag", vec![]),
                body: Box::new(Stmt::Break(sp())),
                span: sp(),
            }])],
        ),
        &["while-truth"],
    );
}

#[test]
fn cfg_vars() {
    let decl = |g: &str, v: &str| {
        Item::CfgVar(CfgVar {
            group: name(g),
            instance: None,
            var: name(v),
            value: CfgVarValue::Str(String::new()),
            desc: None,
            span: sp(),
        })
    };
    let sel = |t: &str| if_(pv(&format!("$sel({t})")), f("t_relay", vec![]));
    expect(
        with(
            stock(),
            vec![
                decl("pstn", "gw_ip"),
                req(vec![
                    sel("cfg_get.pstn.gw_ip"),
                    sel("cfg_get.tm.fr_timer"),
                    if_(
                        Expr::Select("@cfg_get.pstn.gw_ip".into(), sp()),
                        f("t_relay", vec![]),
                    ),
                ]),
            ],
        ),
        &[],
    );
    expect(
        with(
            stock(),
            vec![
                decl("pstn", "gw_ip"),
                req(vec![
                    sel("cfg_get.pstn.gw_port"),
                    sel("cfg_get.voicemail.srv_ip"),
                    core("cfg_select", vec![a(s("nope")), a(i(1))]),
                ]),
            ],
        ),
        &["unknown-cfg-var", "unknown-cfg-var", "unknown-cfg-var"],
    );
}

#[test]
fn sql_connections() {
    let q = |c: &str| f("sql_query", vec![a(s(c)), a(s("select 1")), a(s("r"))]);
    expect(
        vec![
            load("sqlops"),
            modparam(
                "sqlops",
                "sqlcon",
                ModParamValue::Str("ca=>mysql://x".into(), sp()),
            ),
            req(vec![q("ca"), q("$var(c)")]),
        ],
        &[],
    );
    expect(
        vec![load("sqlops"), req(vec![q("cb")])],
        &["unknown-sql-connection"],
    );
}

#[test]
fn var_not_reset() {
    // Read before set, through a route call.
    expect(
        with(
            stock(),
            vec![
                req(vec![route_call("R"), set("$var(x)", i(1))]),
                route(
                    BlockKind::Route,
                    Some("R"),
                    vec![if_(pv("$var(x)"), f("t_relay", vec![]))],
                ),
            ],
        ),
        &["var-not-reset"],
    );
    // Set first (the route runs after the assignment).
    expect(
        with(
            stock(),
            vec![
                req(vec![set("$var(x)", i(1)), route_call("R")]),
                route(
                    BlockKind::Route,
                    Some("R"),
                    vec![if_(pv("$var(x)"), f("t_relay", vec![]))],
                ),
            ],
        ),
        &[],
    );
    // The counter idiom.
    expect(
        with(
            stock(),
            vec![req(vec![set(
                "$var(n)",
                bin(BinOp::Add, pv("$var(n)"), i(1)),
            )])],
        ),
        &[],
    );
    // Handed to a function first: it may be an output.
    expect(
        with(
            stock(),
            vec![req(vec![
                f("pv_printf", vec![a(s("$var(x)")), a(s("$rU"))]),
                if_(pv("$var(x)"), f("t_relay", vec![])),
            ])],
        ),
        &[],
    );
}

#[test]
fn error_nodes_are_skipped() {
    expect(
        vec![
            Item::Error(sp()),
            req(vec![
                Stmt::Error(sp()),
                if_(Expr::Error(sp()), Stmt::Error(sp())),
            ]),
        ],
        &[],
    );
}

// ---- real text (lexer + parser) -----------------------------------------

const STOCK_CFG: &str = "/etc/kamailio/kamailio.cfg";
const DBURL: &str = "\"mysql://kamailio:kamailiorw@localhost/kamailio\"";

/// Lexes, parses and checks a file. `None` while the lexer is not there yet
/// (no tokens at all) or the file is missing.
fn check_path(path: &str, defines: &[&str]) -> Option<(SourceMap, Vec<Diagnostic>, usize)> {
    use crate::syntax::{LexOptions, lex, parse_tokens};
    let mut sources = SourceMap::new();
    let main = sources.load(std::path::Path::new(path), None).ok()?;
    let mut opts = LexOptions::default();
    for d in defines {
        opts.defines.push((d.to_string(), None));
    }
    opts.defines.push(("DBURL".into(), Some(DBURL.into())));
    let lexed = lex(&mut sources, main, &opts);
    if lexed.tokens.is_empty() {
        return None;
    }
    let (ast, _) = parse_tokens(&lexed.tokens);
    let routes = ast
        .items
        .iter()
        .filter(|i| matches!(i, Item::Route(_)))
        .count();
    let out = check(&sources, &ast, &CheckOptions::default());
    Some((sources, out.diagnostics, routes))
}

fn check_text(text: &str) -> Option<Vec<Diagnostic>> {
    use crate::syntax::{LexOptions, lex, parse_tokens};
    let mut sources = SourceMap::new();
    let main = sources.add("test.cfg", text.to_string(), None);
    let lexed = lex(&mut sources, main, &LexOptions::default());
    if lexed.tokens.is_empty() {
        return None;
    }
    let (ast, parse) = parse_tokens(&lexed.tokens);
    assert!(parse.is_empty(), "{parse:#?}");
    Some(check(&sources, &ast, &CheckOptions::default()).diagnostics)
}

/// The `WITH_*` names the stock config tests.
fn stock_defines() -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(STOCK_CFG) else {
        return Vec::new();
    };
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("#!ifdef ")
                .or_else(|| l.strip_prefix("#!ifndef "))
                .map(|n| n.trim().to_string())
        })
        .filter(|n| n.starts_with("WITH_"))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[track_caller]
fn assert_stock_clean(defines: &[&str]) {
    let Some((sources, diags, routes)) = check_path(STOCK_CFG, defines) else {
        return;
    };
    assert!(routes >= 10, "only {routes} route blocks with {defines:?}");
    let shown: Vec<String> = diags
        .iter()
        .filter(|d| d.severity != Severity::Unsupported)
        .map(|d| crate::diag::render(&sources, d))
        .collect();
    assert!(
        shown.is_empty(),
        "{STOCK_CFG} with {defines:?}:\n{}",
        shown.join("\n")
    );
}

#[test]
fn stock_config_is_clean() {
    assert_stock_clean(&[]);
    for d in stock_defines() {
        assert_stock_clean(&[d.as_str()]);
    }
    assert_stock_clean(&["WITH_MYSQL", "WITH_AUTH", "WITH_USRLOCDB", "WITH_NAT"]);
    assert_stock_clean(&[
        "WITH_MYSQL",
        "WITH_AUTH",
        "WITH_IPAUTH",
        "WITH_USRLOCDB",
        "WITH_NAT",
        "WITH_NATSIPPING",
        "WITH_PRESENCE",
        "WITH_MSGREBUILD",
        "WITH_ANTIFLOOD",
        "WITH_ACCDB",
        "WITH_ALIASDB",
        "WITH_SPEEDDIAL",
        "WITH_MULTIDOMAIN",
        "WITH_PSTN",
        "WITH_VOICEMAIL",
        "WITH_BLOCK3XX",
        "WITH_BLOCK401407",
        "WITH_JSONRPC",
        "WITH_TLS",
        "WITH_DEBUG",
    ]);
    assert_stock_clean(&["WITH_NAT", "WITH_RTPENGINE", "WITH_AUTH", "WITH_MYSQL"]);
}

#[test]
fn real_text_diagnostics() {
    let Some(d) = check_text(
        r#"#!KAMAILIO
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
modparam("sl", "nope", 1)
modparam("tm", "fr_timer", 1)
request_route {
    route(MISSING);
    t_relay();
    xlog("L_INFO", "$rm $nope $(ru{uri.hots})\n");
    if ($var(x) == "") { drop; }
    if (1 << 3 == 8) { exit; }
    if ($rU =~ "^\d+$") { exit; }
    $ci = "x";
    return 0;
}
"#,
    ) else {
        return;
    };
    let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
    for code in [
        "unknown-modparam",
        "modparam-no-module",
        "undefined-route",
        "module-not-loaded",
        "unknown-pv",
        "unknown-transformation",
        "empty-string-compare",
        "precedence",
        "regex-escape",
        "pv-not-writable",
        "return-zero",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}

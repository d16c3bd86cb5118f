//! Unit tests of the check pass.
//!
//! The checker's diagnostics are tested from cfg text: `cfgc/tests/fixtures/check/*.cfg`,
//! driven by `check_fixtures` in `cfgc/tests/fixtures.rs` (each fixture names
//! the codes it expects; the rendered diagnostics are snapshots). What stays
//! here: the check's output beyond diagnostics (`resolved_calls`), the stock
//! configuration (read where Kamailio installs it), and two guards for trees
//! the parser never produces, which only a hand-built tree can reach.

use crate::diag::{Diagnostic, Severity};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::*;

use super::{CheckOptions, CheckOutput, check};

/// Lexes, parses (which must succeed) and checks `text`.
fn check_text(text: &str) -> CheckOutput {
    use crate::syntax::{LexOptions, lex, parse_tokens};
    let mut sources = SourceMap::new();
    let main = sources.add("test.cfg", text.to_string(), None);
    let lexed = lex(&mut sources, main, &LexOptions::default());
    let (ast, parse) = parse_tokens(&lexed.tokens);
    assert!(
        lexed.diagnostics.is_empty() && parse.is_empty(),
        "{:#?} {parse:#?}",
        lexed.diagnostics
    );
    check(&sources, &ast, &CheckOptions::default())
}

#[test]
fn resolved_calls() {
    let out = check_text(
        r#"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "xlog.so"
request_route {
    t_relay();
    xlog("x");
}
"#,
    );
    let calls: Vec<_> = out
        .calls
        .iter()
        .map(|c| (c.module, c.function.name))
        .collect();
    assert_eq!(calls, [("tm", "t_relay"), ("xlog", "xlog")]);
    assert!(out.is_loaded("tmx"));
    assert!(!out.is_loaded("sl"));
    assert!(out.routes.has_main());
}

/// `forward_udp()` and co. without a destination are errors, as in
/// Kamailio's grammar ("bad forward_udp argument"); `forward()` is not.
#[test]
fn forward_proto_needs_a_destination() {
    for f in ["forward_udp", "forward_tcp", "forward_tls", "forward_sctp"] {
        let out = check_text(&format!("request_route {{ {f}(); }}\n"));
        assert!(
            out.diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error),
            "{f}(): {:#?}",
            out.diagnostics
        );
    }
    for bad in [
        "forward(127.0.0.1:5060)",
        "forward(udp:127.0.0.1)",
        "forward_udp(udp:127.0.0.1:5060)",
        "set_advertised_address(1.2.3.4:5)",
    ] {
        let out = check_text(&format!("request_route {{ {bad}; }}\n"));
        assert!(
            out.diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error),
            "{bad}: {:#?}",
            out.diagnostics
        );
    }
    for good in ["forward(127.0.0.1)", "forward(host.example, 5060)"] {
        let out = check_text(&format!("request_route {{ {good}; }}\n"));
        assert!(
            !out.diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error),
            "{good}: {:#?}",
            out.diagnostics
        );
    }
    let out = check_text("request_route { forward(); }\n");
    assert!(
        !out.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error),
        "{:#?}",
        out.diagnostics
    );
}

// ---- trees the parser does not produce --------------------------------------

fn sp() -> Span {
    Span::new(FileId(0), 0, 0)
}

fn name(s: &str) -> Name {
    Name {
        text: s.into(),
        span: sp(),
    }
}

/// Checks a hand-built request route.
fn check_request_route(body: Vec<Stmt>) -> Vec<Diagnostic> {
    let mut sources = SourceMap::new();
    sources.add("test.cfg", String::new(), None);
    let file = File {
        items: vec![Item::Route(RouteBlock {
            kind: BlockKind::RequestRoute,
            name: None,
            body,
            span: sp(),
        })],
    };
    check(&sources, &file, &CheckOptions::default()).diagnostics
}

/// `route(A, B)`: the grammar takes one argument (as `cfg.y`), so only a
/// hand-built tree reaches the checker's own arity guard.
#[test]
fn route_call_arity_guard() {
    let d = check_request_route(vec![Stmt::Call(Call {
        kind: CallKind::Route,
        name: name("route"),
        args: vec![Arg::Ident(name("A")), Arg::Ident(name("B"))],
        parens: true,
        span: sp(),
    })]);
    let codes: Vec<_> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["wrong-arity"], "{d:#?}");
}

/// `Expr::Error` is part of the tree's vocabulary but no grammar rule makes
/// one (item and statement error nodes are tested from text, in
/// `fixtures/check/error_nodes.cfg`): the checker says nothing about it.
#[test]
fn expr_error_nodes_are_skipped() {
    let d = check_request_route(vec![Stmt::If {
        cond: Expr::Error(sp()),
        then: Box::new(Stmt::Error(sp())),
        else_: None,
        span: sp(),
    }]);
    assert!(d.is_empty(), "{d:#?}");
}

// ---- the stock configuration ---------------------------------------------------

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

/// A `$` is checked as a PV only in arguments Kamailio's fixups parse as a
/// PV format: `exec_msg` (fixup_spve_null) and `sl_send_reply`'s reason
/// (fixup_var_pve_str_12) refuse an unknown PV at start-up; `is_local` and
/// `t_reply`'s reason (fixup_var_str_*: one whole PV, an AVP, a select or
/// else the plain string) never do, nor `sl_send_reply`'s code (an int or
/// one PV, never a format). A module's own fixup calling pv_parse_format
/// counts too (rr's `record_route`, through `it_list_fixup`).
#[test]
fn pv_checks_only_in_pv_format_arguments() {
    let unknown_pv = |call: &str| {
        let out = check_text(&format!(
            "loadmodule \"exec.so\"\nloadmodule \"domain.so\"\nloadmodule \"tm.so\"\n\
             loadmodule \"sl.so\"\nloadmodule \"rr.so\"\nrequest_route {{\n    {call};\n}}\n"
        ));
        out.diagnostics
            .iter()
            .filter(|d| d.code == "unknown-pv")
            .count()
    };
    assert_eq!(unknown_pv(r#"exec_msg("echo $NOSUCH")"#), 1);
    assert_eq!(unknown_pv(r#"sl_send_reply("404", "no $NOSUCH")"#), 1);
    assert_eq!(unknown_pv(r#"record_route(";p=$NOSUCH")"#), 1);
    assert_eq!(unknown_pv(r#"is_local("a $NOSUCH b")"#), 0);
    assert_eq!(unknown_pv(r#"t_reply("404", "no $NOSUCH")"#), 0);
}

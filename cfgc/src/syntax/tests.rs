//! Grammar tests: small snippets through lex + parse, checked through one
//! helper that prints expressions as S-expressions (so precedence is visible).

use crate::source::SourceMap;
use crate::syntax::ast::*;
use crate::syntax::{LexOptions, lex, parse_tokens};

/// Lexes and parses `src`; returns the tree and the diagnostic codes.
fn parse(src: &str) -> (File, Vec<&'static str>) {
    let mut sources = SourceMap::new();
    let main = sources.add("test.cfg", src.to_string(), None);
    let lexed = lex(&mut sources, main, &LexOptions::default());
    let mut codes: Vec<&'static str> = lexed.diagnostics.iter().map(|d| d.code).collect();
    let (file, diags) = parse_tokens(&lexed.tokens);
    codes.extend(diags.iter().map(|d| d.code));
    (file, codes)
}

/// The line of the first syntax error, if any.
fn first_error_line(src: &str) -> Option<usize> {
    let mut sources = SourceMap::new();
    let main = sources.add("test.cfg", src.to_string(), None);
    let lexed = lex(&mut sources, main, &LexOptions::default());
    let (_, diags) = parse_tokens(&lexed.tokens);
    lexed
        .diagnostics
        .iter()
        .chain(&diags)
        .filter_map(|d| d.primary_span())
        .map(|s| sources.location(s).1)
        .min()
}

fn sexp(e: &Expr) -> String {
    match e {
        Expr::Int(n, _) => n.to_string(),
        Expr::Str(s, _) => format!("{s:?}"),
        Expr::Pv(p) => p.text.clone(),
        Expr::Attr(a, _) | Expr::Select(a, _) => a.clone(),
        Expr::Unary { op, expr, .. } => {
            let o = match op {
                UnOp::Not => "!",
                UnOp::BitNot => "~",
                UnOp::Neg => "neg",
            };
            format!("({o} {})", sexp(expr))
        }
        Expr::Binary { op, lhs, rhs, .. } => {
            format!("({} {} {})", op.spelling(), sexp(lhs), sexp(rhs))
        }
        Expr::Paren(e, _) => sexp(e),
        Expr::Call(c) => format!("{}()", c.name.text),
        Expr::Defined(e, _) => format!("(defined {})", sexp(e)),
        Expr::Strlen(e, _) => format!("(strlen {})", sexp(e)),
        Expr::Strempty(e, _) => format!("(strempty {})", sexp(e)),
        Expr::Selval {
            cond, then, else_, ..
        } => format!("(selval {} {} {})", sexp(cond), sexp(then), sexp(else_)),
        Expr::Cast(c, e, _) => format!("({c:?} {})", sexp(e)),
        Expr::KwCond { lhs, op, rhs, .. } => {
            let r = match rhs.as_ref() {
                KwRhs::Expr(e) => sexp(e),
                KwRhs::Myself(_) => "myself".into(),
                KwRhs::Ident(n) => n.text.clone(),
                KwRhs::Net { addr, mask, .. } => match mask {
                    None => addr.text.clone(),
                    Some(NetMask::Bits(b)) => format!("{}/{b}", addr.text),
                    Some(NetMask::Addr(m)) => format!("{}/{}", addr.text, m.text),
                },
                KwRhs::Proto(p, _) => p.clone(),
            };
            format!("({} {lhs:?} {r})", op.spelling())
        }
        Expr::MyselfCond { op, rhs, .. } => format!("({} myself {rhs:?})", op.spelling()),
        Expr::Block(..) => "{..}".into(),
        Expr::Assign(a) => format!("(= {})", sexp(&a.rhs)),
        Expr::Error(_) => "ERROR".into(),
    }
}

/// Parses `$var(x) = EXPR;` in a request_route and prints EXPR.
fn expr(src: &str) -> String {
    let text = format!("request_route {{\n$var(x) = {src};\n}}\n");
    let (file, codes) = parse(&text);
    assert!(codes.is_empty(), "{src}: {codes:?}");
    let Some(Item::Route(r)) = file.items.first() else {
        panic!("no route in {file:?}")
    };
    let Some(Stmt::Assign(a)) = r.body.first() else {
        panic!("no assignment in {r:?}")
    };
    sexp(&a.rhs)
}

/// Parses `if (COND) drop;` and prints COND.
fn cond(src: &str) -> String {
    let text = format!("request_route {{\nif {src} drop;\n}}\n");
    let (file, codes) = parse(&text);
    assert!(codes.is_empty(), "{src}: {codes:?}");
    let Some(Item::Route(r)) = file.items.first() else {
        panic!("no route")
    };
    let Some(Stmt::If { cond, .. }) = r.body.first() else {
        panic!("no if in {r:?}")
    };
    sexp(cond)
}

#[test]
fn precedence_is_kamailios_not_cs() {
    // `<<` binds looser than `==`.
    assert_eq!(expr("1 << 3 == 8"), "(<< 1 (== 3 8))");
    // `&` looser than `==`.
    assert_eq!(expr("6 & 3 == 2"), "(& 6 (== 3 2))");
    // `|` < `&` < `^`.
    assert_eq!(expr("1 | 2 & 3 ^ 4"), "(| 1 (& 2 (^ 3 4)))");
    // `>>` above `<<`.
    assert_eq!(expr("1 << 2 >> 3"), "(<< 1 (>> 2 3))");
    // `==` below `<`.
    assert_eq!(expr("1 < 2 == 3 > 4"), "(== (< 1 2) (> 3 4))");
    // arithmetic as usual, left associative.
    assert_eq!(expr("1 + 2 * 3 - 4"), "(- (+ 1 (* 2 3)) 4)");
    assert_eq!(expr("8 / 2 mod 3"), "(mod (/ 8 2) 3)");
    // unary binds tighter than `==`: `!$a == "x"` is `(!$a) == "x"`.
    assert_eq!(expr("!$a == \"x\""), "(== (! $a) \"x\")");
    assert_eq!(expr("-2 * 3"), "(* (neg 2) 3)");
    assert_eq!(expr("defined $avp(a) && 1"), "(&& (defined $avp(a)) 1)");
    assert_eq!(expr("(int)\"5\" + 1"), "(+ (Int \"5\") 1)");
    assert_eq!(expr("1 || 2 && 3"), "(|| 1 (&& 2 3))");
    assert_eq!(expr("1 or 2 and not 3"), "(|| 1 (&& 2 (! 3)))");
}

#[test]
fn operands_and_functions() {
    assert_eq!(expr("strlen($ru) + 1"), "(+ (strlen $ru) 1)");
    assert_eq!(expr("selval(1, \"a\", \"b\")"), "(selval 1 \"a\" \"b\")");
    assert_eq!(expr("is_method(\"INVITE\")"), "is_method()");
    assert_eq!(expr("\"a\" \"b\""), "\"ab\"");
    assert_eq!(
        expr("$(ru{s.len}) + @ruri.user"),
        "(+ $(ru{s.len}) @ruri.user)"
    );
    assert_eq!(expr("($y = 2) + 1"), "(+ (= 2) 1)");
    assert_eq!(expr("yes + off"), "(+ 1 0)");
}

#[test]
fn keyword_conditions() {
    assert_eq!(cond("(method == \"INVITE\")"), "(== Method \"INVITE\")");
    assert_eq!(cond("(method == INVITE)"), "(== Method INVITE)");
    // The right side takes `+` (binds like the right operand of `==`).
    assert_eq!(cond("(uri =~ \"a\" + \"b\")"), "(=~ Uri (+ \"a\" \"b\"))");
    // `!method == x` negates the whole condition, as in Kamailio.
    assert_eq!(cond("(!method == \"BYE\")"), "(! (== Method \"BYE\"))");
    assert_eq!(
        cond("(method == \"A\" || method == \"B\")"),
        "(|| (== Method \"A\") (== Method \"B\"))"
    );
    assert_eq!(cond("(uri == myself)"), "(== Uri myself)");
    assert_eq!(cond("(myself != from_uri)"), "(!= myself FromUri)");
    assert_eq!(cond("(src_ip == 10.0.0.0/8)"), "(== SrcIp 10.0.0.0/8)");
    assert_eq!(
        cond("(src_ip != 1.2.3.0/255.255.255.0)"),
        "(!= SrcIp 1.2.3.0/255.255.255.0)"
    );
    assert_eq!(cond("(src_ip == [::1])"), "(== SrcIp ::1)");
    assert_eq!(cond("(src_port >= 1024)"), "(>= SrcPort 1024)");
    assert_eq!(cond("(proto == udp)"), "(== Proto udp)");
    assert_eq!(cond("(af == INET6)"), "(== Af 10)");
    assert_eq!(cond("(msg:len < 4096)"), "(< MsgLen 4096)");
    // Parentheses are not needed around an `if` condition.
    assert_eq!(cond("$x == 1"), "(== $x 1)");
}

#[test]
fn dangling_else_binds_to_nearest_if() {
    let (file, codes) = parse("request_route {\nif (1) if (2) drop; else exit;\n}\n");
    assert!(codes.is_empty(), "{codes:?}");
    let Some(Item::Route(r)) = file.items.first() else {
        panic!()
    };
    let Some(Stmt::If { then, else_, .. }) = r.body.first() else {
        panic!()
    };
    assert!(else_.is_none(), "outer if must have no else");
    assert!(
        matches!(then.as_ref(), Stmt::If { else_: Some(_), .. }),
        "inner if owns the else"
    );
}

#[test]
fn statements_parse() {
    let src = r#"
route[R] {
    switch ($rm) {
        case "INVITE": xlog("i"); break;
        case /"^B": ;
        default: exit;
    }
    while ($var(i) < 3) { $var(i) = $var(i) + 1; }
    return;
    return 2;
    exit();
    drop;
    force_rport;
    force_rport();
    forward(10.0.0.1, 5060);
    forward(uri:host, uri:port);
    force_send_socket(udp:127.0.0.1:5060);
    route(OTHER);
    route("OTHER");
    route($var(r));
    setflag(FLAG_NAME);
    $avp(x) = 1;
    ;
}
"#;
    let (file, codes) = parse(src);
    assert!(codes.is_empty(), "{codes:?}");
    let Some(Item::Route(r)) = file.items.first() else {
        panic!()
    };
    assert_eq!(r.body.len(), 17);
    let Stmt::Call(c) = &r.body[8] else {
        panic!("{:?}", r.body[8])
    };
    assert_eq!(c.name.text, "forward");
    assert!(matches!(
        &c.args[..],
        [Arg::Sock(_), Arg::Expr(Expr::Int(5060, _))]
    ));
    let Stmt::Call(c) = &r.body[10] else { panic!() };
    let [Arg::Sock(s)] = &c.args[..] else {
        panic!("{:?}", c.args)
    };
    assert_eq!(s.proto.as_deref(), Some("udp"));
    assert_eq!(s.addrs[0].text, "127.0.0.1");
    assert_eq!(s.port, Some(PortSpec::Number(5060)));
}

#[test]
fn top_level_items() {
    let src = r#"
debug=-1
log_facility=LOG_LOCAL0
listen=udp:127.0.0.1:5060 tcp:eth0:5060 advertise 1.2.3.4:5080 name "s1" virtual
alias=a.example.com b.example.com:5070;
grp.var = 1 desc "a var"
grp[2].var = "x"
kemi.onsend_route_callback="ksr_onsend"
modparam("a|b", "p", -5)
flags FLAG_A, FLAG_B:3
loadpath "/x"
mpath="/y"
route { drop; }
"#;
    let (file, codes) = parse(src);
    assert!(codes.is_empty(), "{codes:?}");
    let kinds: Vec<&str> = file
        .items
        .iter()
        .map(|i| match i {
            Item::Param(p) => p.name,
            Item::Listen(l) if l.kind == ListenKind::Listen => "listen",
            Item::Listen(_) => "alias",
            Item::CfgVar(_) => "cfgvar",
            Item::ModParam(_) => "modparam",
            Item::Flags { .. } => "flags",
            Item::LoadPath { .. } => "loadpath",
            Item::Route(_) => "route",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "debug",
            "log_facility",
            "listen",
            "alias",
            "cfgvar",
            "cfgvar",
            "kemi.onsend_route_callback",
            "modparam",
            "flags",
            "loadpath",
            "loadpath",
            "route"
        ]
    );
    let Item::Param(p) = &file.items[0] else {
        panic!()
    };
    assert_eq!(p.value, ParamValue::Int(-1, p.value.span()));
    let Item::Listen(l) = &file.items[2] else {
        panic!()
    };
    assert_eq!(l.sockets.len(), 2);
    assert_eq!(
        l.advertise.as_ref().map(|(h, p)| (h.text.as_str(), *p)),
        Some(("1.2.3.4", Some(5080)))
    );
    assert!(l.virtual_);
}

#[test]
fn kamailio_syntax_errors_at_the_same_line() {
    // A missing `;` before `else` (the classic).
    assert_eq!(
        first_error_line("request_route {\nif (1) drop()\nelse exit;\n}\n"),
        Some(3)
    );
    // An empty block.
    assert_eq!(
        first_error_line("request_route {\nif (1) { }\n}\n"),
        Some(2)
    );
    // A bare block.
    assert_eq!(first_error_line("request_route {\n{ drop; }\n}\n"), Some(2));
    // A reserved word as a route name.
    assert_eq!(
        first_error_line("request_route {\nroute(user);\n}\n"),
        Some(2)
    );
    // No `+=`, no `%`, no `!~`.
    assert_eq!(
        first_error_line("request_route {\n$x = 1;\n$x += 1;\n}\n"),
        Some(3)
    );
    assert_eq!(
        first_error_line("request_route {\n$x = 5 % 2;\n}\n"),
        Some(2)
    );
    assert_eq!(
        first_error_line("request_route {\nif ($x !~ \"a\") drop;\n}\n"),
        Some(2)
    );
    // Function calls inside call arguments, at any depth.
    assert_eq!(first_error_line("request_route {\nf(g());\n}\n"), Some(2));
    assert_eq!(
        first_error_line("request_route {\n$x = 1;\nif (f(\"a\" + (g() + 1))) drop;\n}\n"),
        Some(3)
    );
    // A bare expression is not a statement.
    assert_eq!(first_error_line("request_route {\n$x == 1;\n}\n"), Some(2));
    // A cfg var right after an unterminated alias list: the list swallows it.
    assert_eq!(first_error_line("alias=a.com\npstn.gw = 1\n"), Some(2));
    // ... but a `;` ends the list.
    assert_eq!(first_error_line("alias=a.com;\npstn.gw = 1\n"), None);
    // Single-quoted strings are not concatenated.
    assert_eq!(
        first_error_line("request_route {\n$x = \"a\" 'b';\n}\n"),
        Some(2)
    );
}

#[test]
fn recovery_reports_several_errors() {
    let src = "request_route {\n$x = ;\nxlog(\"a\");\n$y = 1 +;\n}\nroute[A] {\nif (1) { }\n}\n";
    let (_, codes) = parse(src);
    assert_eq!(
        codes.iter().filter(|c| **c == "syntax").count(),
        3,
        "{codes:?}"
    );
}

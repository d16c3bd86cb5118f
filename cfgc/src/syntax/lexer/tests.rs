//! Lexer and preprocessor tests.

use super::*;
use crate::syntax::keywords::{CORE_ACTIONS, CORE_PARAM_SPELLINGS, CORE_PARAMS};
use std::path::Path;

fn lex_opts(src: &str, opts: &LexOptions) -> (Lexed, SourceMap) {
    let mut sm = SourceMap::new();
    let id = sm.add("test.cfg", src.to_string(), None);
    let l = lex(&mut sm, id, opts);
    (l, sm)
}

fn lex_str(src: &str) -> Lexed {
    lex_opts(src, &LexOptions::default()).0
}

fn toks(src: &str) -> Vec<Tok> {
    let l = lex_str(src);
    assert!(
        l.diagnostics.is_empty(),
        "unexpected diagnostics for {src:?}: {:?}",
        l.diagnostics
    );
    l.tokens.into_iter().map(|t| t.tok).collect()
}

fn codes(src: &str) -> Vec<&'static str> {
    lex_str(src).diagnostics.iter().map(|d| d.code).collect()
}

fn id(s: &str) -> Tok {
    Tok::Ident(s.to_string())
}

fn s(x: &str) -> Tok {
    Tok::Str(x.to_string())
}

fn pv(text: &str) -> Tok {
    Tok::Pvar(PvTok {
        text: text.to_string(),
        compat: Compat::MaxCompat,
    })
}

fn pvk(text: &str) -> Tok {
    Tok::Pvar(PvTok {
        text: text.to_string(),
        compat: Compat::Kamailio,
    })
}

// ---- comments, blanks --------------------------------------------------------

#[test]
fn comments_of_all_kinds() {
    assert_eq!(
        toks("a # x\nb // y\nc /* z */ d\n/* a /* b */ c */ e"),
        vec![id("a"), id("b"), id("c"), id("d"), id("e")]
    );
    // A final line comment without a newline is fine.
    assert_eq!(toks("a # end"), vec![id("a")]);
    assert_eq!(codes("a /* /* */"), vec!["unterminated-comment"]);
}

#[test]
fn backslash_newline_is_dropped() {
    assert_eq!(toks("a \\\n b"), vec![id("a"), id("b")]);
}

#[test]
fn unknown_character_is_skipped_with_a_warning() {
    // Kamailio echoes and skips what no scanner rule matches.
    let l = lex_str("a ? b");
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(l.diagnostics[0].code, "stray-character");
    assert!(!l.diagnostics[0].is_error());
    let t: Vec<Tok> = l.tokens.into_iter().map(|t| t.tok).collect();
    assert_eq!(t, vec![id("a"), id("b")]);
}

// ---- strings -------------------------------------------------------------------

#[test]
fn string_escapes() {
    assert_eq!(toks(r#""a\nb\r\t\a\"\\""#), vec![s("a\nb\r\t\u{7}\"\\")]);
    assert_eq!(toks(r#""\x41\x4a\x4""#), vec![s("AJ\u{4}")]);
    assert_eq!(toks(r#""\101\60""#), vec![s("A0")]);
    // A single octal digit is not an escape (regex back-references survive).
    assert_eq!(toks(r#""\1 \d \' \q""#), vec![s("\\1 \\d \\' \\q")]);
    // `\x` without hex digits stays.
    assert_eq!(toks(r#""\xz""#), vec![s("\\xz")]);
    // Backslash-newline removed, raw newlines kept.
    assert_eq!(toks("\"a\\\nb\nc\""), vec![s("ab\nc")]);
}

#[test]
fn adjacent_strings_concatenate() {
    let l = lex_str("x \"a\" \"b\"\n  \"c\" ;");
    assert_eq!(l.tokens[1].tok, s("abc"));
    assert_eq!(l.tokens[1].span.range(), 2..15);
    assert_eq!(l.tokens[2].tok, Tok::Semi);
    // A comment between them stops the concatenation.
    assert_eq!(toks("\"a\" # c\n\"b\""), vec![s("a"), s("b")]);
    // Single quotes: no escapes, no concatenation.
    assert_eq!(
        toks(r#"'a\n' "b" 'c'"#),
        vec![Tok::SqStr("a\\n".into()), s("b"), Tok::SqStr("c".into())]
    );
    assert_eq!(toks("\"a\" 'b'"), vec![s("a"), Tok::SqStr("b".into())]);
}

#[test]
fn unterminated_strings() {
    assert_eq!(codes("\"abc"), vec!["unterminated-string"]);
    assert_eq!(codes("'abc"), vec!["unterminated-string"]);
}

#[test]
fn defines_not_expanded_in_strings() {
    assert_eq!(
        toks("#!define X 1\n\"X\" 'X' X"),
        vec![s("X"), Tok::SqStr("X".into()), Tok::Int(1)]
    );
}

// ---- numbers and words ------------------------------------------------------------

#[test]
fn numbers() {
    assert_eq!(
        toks("0 5060 0x1F 010 101b 10b 08 1and1 0X1F 12b 0x"),
        vec![
            Tok::Int(0),
            Tok::Int(5060),
            Tok::Int(31),
            Tok::Int(8),
            Tok::Int(5),
            Tok::Int(2),
            Tok::NumId("08".into()),
            Tok::NumId("1and1".into()),
            Tok::NumId("0X1F".into()),
            Tok::NumId("12b".into()),
            Tok::NumId("0x".into()),
        ]
    );
}

#[test]
fn boolean_and_family_words_are_numbers() {
    assert_eq!(
        toks("yes true on enable no false off disable"),
        vec![
            Tok::Int(1),
            Tok::Int(1),
            Tok::Int(1),
            Tok::Int(1),
            Tok::Int(0),
            Tok::Int(0),
            Tok::Int(0),
            Tok::Int(0)
        ]
    );
    assert_eq!(
        toks("inet ipv4 IPV4 IPv4 INET inet6 ipv6 INET6 IPV6 IPv6"),
        [2, 2, 2, 2, 2, 10, 10, 10, 10, 10].map(Tok::Int).to_vec()
    );
    // Case-sensitive.
    assert_eq!(toks("Yes"), vec![id("Yes")]);
}

#[test]
fn keyword_mapping() {
    assert_eq!(
        toks("shm_mem_size add_rport tls_log mem_log mpath listen alias port"),
        vec![
            Tok::Param("shm"),
            Tok::Param("force_rport"),
            Tok::Param("tls_port_no"),
            Tok::Param("memlog"),
            Tok::Loadpath,
            Tok::Param("listen"),
            Tok::Param("alias"),
            Tok::Param("port"),
        ]
    );
    assert_eq!(
        toks("seturi seth sethp sethpt setu setup setp add_tcp_alias forward setflag"),
        vec![
            Tok::Action("rewriteuri"),
            Tok::Action("rewritehost"),
            Tok::Action("rewritehostport"),
            Tok::Action("rewritehostporttrans"),
            Tok::Action("rewriteuser"),
            Tok::Action("rewriteuserpass"),
            Tok::Action("rewriteport"),
            Tok::Action("force_tcp_alias"),
            Tok::Action("forward"),
            Tok::Action("setflag"),
        ]
    );
    assert_eq!(
        toks("force_rport udp_mtu_try_proto user uid statistics max_len SSLv23"),
        vec![
            Tok::Param("force_rport"),
            Tok::Param("udp_mtu_try_proto"),
            Tok::Param("user"),
            Tok::Param("user"),
            Tok::Reserved("statistics"),
            Tok::Reserved("max_len"),
            Tok::Reserved("SSLv23"),
        ]
    );
    assert_eq!(
        toks("udp UDP tcp tls sctp ws WSS Udp"),
        vec![
            Tok::Proto("udp"),
            Tok::Proto("udp"),
            Tok::Proto("tcp"),
            Tok::Proto("tls"),
            Tok::Proto("sctp"),
            Tok::Proto("ws"),
            Tok::Proto("wss"),
            id("Udp"),
        ]
    );
    assert_eq!(
        toks(
            "route request_route failure_route branch_route onreply_route reply_route onsend_route"
        ),
        vec![
            Tok::Route,
            Tok::RequestRoute,
            Tok::FailureRoute,
            Tok::BranchRoute,
            Tok::OnreplyRoute,
            Tok::ReplyRoute,
            Tok::OnsendRoute
        ]
    );
    assert_eq!(
        toks("bool flags descr NAME ADVERTISE status to_proto to_af snd_af"),
        vec![
            Tok::Flags,
            Tok::Flags,
            Tok::Desc,
            Tok::Name,
            Tok::Advertise,
            Tok::Uri,
            Tok::SndProto,
            Tok::SndAf,
            Tok::SndAf
        ]
    );
    assert_eq!(
        toks("kemi.onsend_route_callback"),
        vec![
            Tok::Reserved("kemi"),
            Tok::Dot,
            Tok::Param("kemi.onsend_route_callback")
        ]
    );
    assert_eq!(CORE_PARAM_SPELLINGS.len(), 228);
    assert_eq!(CORE_PARAMS.len(), 197);
    for (sp, canon) in CORE_PARAM_SPELLINGS {
        assert!(CORE_PARAMS.contains(canon));
        assert_eq!(keyword(sp), Some(Tok::Param(canon)), "{sp}");
    }
    for a in CORE_ACTIONS {
        assert!(
            matches!(keyword(a), Some(Tok::Action(x) | Tok::Param(x)) if x == *a),
            "{a}"
        );
    }
}

#[test]
fn operators_longest_match() {
    assert_eq!(
        toks("== != =~ >= <= << >> && || += ! = > < & | ^ ~ + - * / ; , : . ( ) { } [ ]"),
        vec![
            Tok::EqEq,
            Tok::NotEq,
            Tok::Match,
            Tok::Ge,
            Tok::Le,
            Tok::Shl,
            Tok::Shr,
            Tok::AndAnd,
            Tok::OrOr,
            Tok::PlusEq,
            Tok::Not,
            Tok::Assign,
            Tok::Gt,
            Tok::Lt,
            Tok::BitAnd,
            Tok::BitOr,
            Tok::BitXor,
            Tok::BitNot,
            Tok::Plus,
            Tok::Minus,
            Tok::Star,
            Tok::Slash,
            Tok::Semi,
            Tok::Comma,
            Tok::Colon,
            Tok::Dot,
            Tok::LParen,
            Tok::RParen,
            Tok::LBrace,
            Tok::RBrace,
            Tok::LBracket,
            Tok::RBracket,
        ]
    );
    assert_eq!(
        toks("and or not mod eq ne ieq ine (int)(str)( int)"),
        vec![
            Tok::AndAnd,
            Tok::OrOr,
            Tok::Not,
            Tok::Mod,
            Tok::StrEq,
            Tok::StrNe,
            Tok::IntEq,
            Tok::IntNe,
            Tok::CastInt,
            Tok::CastStr,
            Tok::LParen,
            id("int"),
            Tok::RParen
        ]
    );
    assert_eq!(
        toks("uri:host uri:port msg:len uri : host"),
        vec![
            Tok::UriHost,
            Tok::UriPort,
            Tok::MsgLen,
            Tok::Uri,
            Tok::Colon,
            id("host")
        ]
    );
}

// ---- IPv6 ---------------------------------------------------------------------------

#[test]
fn ipv6_addresses() {
    let v6 = |x: &str| Tok::Ipv6(x.to_string());
    assert_eq!(toks("::1"), vec![v6("::1")]);
    assert_eq!(toks("fe80::1"), vec![v6("fe80::1")]);
    assert_eq!(toks("::"), vec![v6("::")]);
    assert_eq!(toks("2001:db8::"), vec![v6("2001:db8::")]);
    assert_eq!(toks("1:2:3:4:5:6:7:8"), vec![v6("1:2:3:4:5:6:7:8")]);
    // 5.6.3 has no IPv4-tail form: `::ffff:10.0.0.1` is not one address.
    assert_ne!(toks("::ffff:10.0.0.1"), vec![v6("::ffff:10.0.0.1")]);
    assert_eq!(
        toks("[::1]:5060"),
        vec![
            Tok::LBracket,
            v6("::1"),
            Tok::RBracket,
            Tok::Colon,
            Tok::Int(5060)
        ]
    );
}

#[test]
fn host_port_is_not_ipv6() {
    assert_eq!(
        toks("udp:10.0.0.1:5060"),
        vec![
            Tok::Proto("udp"),
            Tok::Colon,
            Tok::Int(10),
            Tok::Dot,
            Tok::Int(0),
            Tok::Dot,
            Tok::Int(0),
            Tok::Dot,
            Tok::Int(1),
            Tok::Colon,
            Tok::Int(5060)
        ]
    );
    assert_eq!(
        toks("abc:5060 dead:beef"),
        vec![
            id("abc"),
            Tok::Colon,
            Tok::Int(5060),
            id("dead"),
            Tok::Colon,
            id("beef")
        ]
    );
    assert_eq!(
        toks("tcp:eth0:5060"),
        vec![
            Tok::Proto("tcp"),
            Tok::Colon,
            id("eth0"),
            Tok::Colon,
            Tok::Int(5060)
        ]
    );
}

// ---- PVs, attributes, selects -------------------------------------------------------------

#[test]
fn pvars() {
    assert_eq!(
        toks("$rU $var(x) $(ru{uri.host}{s.toupper}) $sht(t=>$ci) $hdr(From)"),
        vec![
            pv("$rU"),
            pv("$var(x)"),
            pv("$(ru{uri.host}{s.toupper})"),
            pv("$sht(t=>$ci)"),
            pv("$hdr(From)")
        ]
    );
    assert_eq!(
        toks("$avp(a(b)c) $(avp(x)[1])"),
        vec![pv("$avp(a(b)c)"), pv("$(avp(x)[1])")]
    );
    // Bare dotted names stop at the dot.
    assert_eq!(toks("$from.host"), vec![pv("$from"), Tok::Dot, id("host")]);
}

#[test]
fn retcode_quirk() {
    // `$rcv(...)` is `$rc` then `v(...)`.
    assert_eq!(
        toks("$rcv(x) $? $retcode $rc $retc"),
        vec![
            pv("$rc"),
            id("v"),
            Tok::LParen,
            id("x"),
            Tok::RParen,
            pv("$?"),
            pv("$retcode"),
            pv("$rc"),
            pv("$retc"),
        ]
    );
}

#[test]
fn compat_modes() {
    let t = toks("$a #!KAMAILIO\n$b\n#!SER\n$c\n//!MAXCOMPAT\n$d #!KAMAILIO x\n$e");
    assert_eq!(
        t,
        vec![
            pv("$a"),
            pvk("$b"),
            Tok::Attr("$c".into()),
            pv("$d"),
            pv("$e"),
        ]
    );
    // `#!KAMAILIO` with trailing blanks is a comment.
    assert_eq!(toks("#!KAMAILIO \n$x"), vec![pv("$x")]);
}

#[test]
fn ser_attributes() {
    assert_eq!(
        toks("%foo $f.x $fu.name %tr.y $g.z $gx.y $foo[1]"),
        vec![
            Tok::Attr("%foo".into()),
            Tok::Attr("$f.x".into()),
            Tok::Attr("$fu.name".into()),
            Tok::Attr("%tr.y".into()),
            Tok::Attr("$g.z".into()),
            pv("$gx"),
            Tok::Dot,
            id("y"),
            Tok::Attr("$foo".into()),
            Tok::LBracket,
            Tok::Int(1),
            Tok::RBracket,
        ]
    );
    // In Kamailio mode `$f.x` is the PV `$f` and `.x`.
    assert_eq!(toks("#!KAMAILIO\n$f.x"), vec![pvk("$f"), Tok::Dot, id("x")]);
    // `%` is not modulo.
    assert_eq!(codes("5 % 2"), vec!["syntax"]);
}

#[test]
fn selects() {
    assert_eq!(
        toks(r#"@ruri.user @via[1].branch @hf_value["X-Foo"] @cfg_get.pstn.gw_ip;"#),
        vec![
            Tok::Select("@ruri.user".into()),
            Tok::Select("@via[1].branch".into()),
            Tok::Select(r#"@hf_value["X-Foo"]"#.into()),
            Tok::Select("@cfg_get.pstn.gw_ip".into()),
            Tok::Semi,
        ]
    );
    // Keywords and defines are plain names inside a select.
    assert_eq!(
        toks("#!define user X\n@from.user"),
        vec![Tok::Select("@from.user".into())]
    );
}

#[test]
fn event_route_names() {
    assert_eq!(
        toks("event_route[core:worker-one-init] {"),
        vec![
            Tok::EventRoute,
            Tok::LBracket,
            Tok::EventName("core:worker-one-init".into()),
            Tok::RBracket,
            Tok::LBrace
        ]
    );
    // Characters that do not fit are dropped: `a_b:c` registers `b:c`.
    assert_eq!(
        toks("event_route [ a_b:c ]"),
        vec![
            Tok::EventRoute,
            Tok::LBracket,
            Tok::EventName("b:c".into()),
            Tok::RBracket
        ]
    );
    assert_eq!(
        toks("event_route[tm:branch-failure:my_route]"),
        vec![
            Tok::EventRoute,
            Tok::LBracket,
            Tok::EventName("tm:branch-failure:my_route".into()),
            Tok::RBracket
        ]
    );
    // No define expansion in the name.
    assert_eq!(
        toks("#!define core X\nevent_route[core:x]")[2],
        Tok::EventName("core:x".into())
    );
}

// ---- defines ------------------------------------------------------------------------

#[test]
fn define_expands_and_rescans() {
    assert_eq!(
        toks("#!define ADDR 10.0.0.1\nADDR"),
        vec![
            Tok::Int(10),
            Tok::Dot,
            Tok::Int(0),
            Tok::Dot,
            Tok::Int(0),
            Tok::Dot,
            Tok::Int(1)
        ]
    );
    // Recursive: values are re-scanned.
    assert_eq!(
        toks("#!define MYNUM 42\n#!define CHAIN MYNUM + 1\nCHAIN"),
        vec![Tok::Int(42), Tok::Plus, Tok::Int(1)]
    );
    // Quotes are part of the raw value.
    assert_eq!(
        toks("#!define DBURL \"mysql://k:pw@localhost/k\"\nDBURL"),
        vec![s("mysql://k:pw@localhost/k")]
    );
    // No function-like macros.
    assert_eq!(
        toks("#!define F(x) x\nF"),
        vec![Tok::LParen, id("x"), Tok::RParen, id("x")]
    );
    // `!!define` and `#!def` are the same directive; directives may be indented.
    assert_eq!(
        toks("  !!define A 1\n#!def B 2\nA B"),
        vec![Tok::Int(1), Tok::Int(2)]
    );
}

#[test]
fn expanded_tokens_carry_the_use_site_span() {
    let l = lex_str("#!define X 1 + 2\nfoo X");
    let x = 21..22;
    assert_eq!(l.tokens[1].span.range(), x);
    assert_eq!(l.tokens[2].span.range(), x);
    assert_eq!(l.tokens[3].span.range(), x);
}

#[test]
fn empty_define_deletes_the_token() {
    assert_eq!(
        toks("#!define FOO\nFOO xlog(\"y\");"),
        vec![id("xlog"), Tok::LParen, s("y"), Tok::RParen, Tok::Semi]
    );
}

#[test]
fn trailing_comment_in_define_value_eats_the_line() {
    assert_eq!(
        toks("#!define X 1 # note\n$v = X;\nnext"),
        vec![pv("$v"), Tok::Assign, Tok::Int(1), id("next")]
    );
}

#[test]
fn define_continuation_lines() {
    assert_eq!(
        toks("#!define X 1 +\\\n 2\nX"),
        vec![Tok::Int(1), Tok::Plus, Tok::Int(2)]
    );
}

#[test]
fn reserved_define_never_expands_but_is_defined() {
    assert_eq!(
        toks("#!define user 5\nuser\n#!ifdef user\nyes_defined\n#!endif\n"),
        vec![Tok::Param("user"), id("yes_defined")]
    );
}

#[test]
fn redefine_try_and_errors() {
    assert_eq!(
        codes("#!define A 1\n#!define A 2\n"),
        vec!["define-redefined"]
    );
    assert_eq!(
        toks("#!define A 1\n#!trydef A 2\n#!trydefine B 3\nA B"),
        vec![Tok::Int(1), Tok::Int(3)]
    );
    assert_eq!(toks("#!define A 1\n#!redefine A 2\nA"), vec![Tok::Int(2)]);
    assert_eq!(toks("#!define A 1\n#!redef A\nA x"), vec![id("x")]);
}

#[test]
fn recursive_define_is_capped() {
    let l = lex_str("#!define X X\nX y");
    assert_eq!(
        l.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec!["define-recursion"]
    );
    assert_eq!(l.tokens.last().map(|t| t.tok.clone()), Some(id("y")));
    // Exponential expansion terminates too.
    let l = lex_str("#!define X X X\nX y");
    assert_eq!(l.diagnostics[0].code, "define-recursion");
}

#[test]
fn builtin_and_command_line_defines() {
    let opts = LexOptions {
        defines: vec![
            ("WITH_NAT".into(), None),
            ("DBURL".into(), Some("\"mysql://x\"".into())),
        ],
        substs: vec![],
    };
    let (l, _) = lex_opts(
        "#!ifdef KAMAILIO_5_6_3\na\n#!endif\n#!ifdef WITH_NAT\nb\n#!endif\nDBURL",
        &opts,
    );
    assert!(l.diagnostics.is_empty());
    let t: Vec<Tok> = l.tokens.into_iter().map(|t| t.tok).collect();
    assert_eq!(t, vec![id("a"), id("b"), s("mysql://x")]);
    assert!(l.defines.contains_key("KAMAILIO_5"));
    assert!(l.defines.contains_key("KAMAILIO_5_6"));
    assert_eq!(l.defines.get("DBURL"), Some(&Some("\"mysql://x\"".into())));
}

#[test]
fn mod_defines_after_loadmodule() {
    let src = "#!ifdef MOD_tm\nbefore\n#!endif\nloadmodule \"tm.so\"\nloadmodule \"/usr/lib/kamailio/modules/sl.so\"\nloadmodule \"xlog\"\n#!ifdef MOD_tm\na\n#!endif\n#!ifdef MOD_sl\nb\n#!endif\n#!ifdef MOD_xlog\nc\n#!endif\n";
    let t = toks(src);
    assert_eq!(
        t,
        vec![
            Tok::Loadmodule,
            s("tm.so"),
            Tok::Loadmodule,
            s("/usr/lib/kamailio/modules/sl.so"),
            Tok::Loadmodule,
            s("xlog"),
            id("a"),
            id("b"),
            id("c")
        ]
    );
}

// ---- conditionals -----------------------------------------------------------------------

#[test]
fn ifdef_else_nesting() {
    let src = "#!define A\n#!ifdef A\na\n#!ifndef B\nnb\n#!else\nb\n#!endif\n#!else\nnota\n#!ifdef A\ninner\n#!endif\n#!endif\nend";
    assert_eq!(toks(src), vec![id("a"), id("nb"), id("end")]);
    let src = "#!ifdef A\n#!ifdef B\nx\n#!else\ny\n#!endif\n#!else\nz\n#!endif\n";
    assert_eq!(toks(src), vec![id("z")]);
}

#[test]
fn skipped_regions_are_not_tokenised() {
    // Raw SQL, unbalanced quotes and comment starts inside a skipped region.
    let src = "#!ifdef ACCDB_COMMENT\n  INSERT 'x \" /* ; $(\n#!endif\nok";
    assert_eq!(toks(src), vec![id("ok")]);
    // Directives in comments are ignored.
    assert_eq!(toks("/* #!ifdef X */ a"), vec![id("a")]);
    assert_eq!(toks("# #!ifdef X\na"), vec![id("a")]);
}

#[test]
fn endif_with_trailing_comment_is_not_a_directive() {
    // Inside a skipped region the rest of the file is skipped, then the
    // count is unbalanced.
    let l = lex_str("#!ifdef NOPE\nx\n#!endif # done\ny\n");
    assert!(l.tokens.is_empty());
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(l.diagnostics[0].code, "unbalanced-ifdef");
    // Trailing blanks are fine.
    assert_eq!(toks("#!ifdef NOPE\nx\n#!endif  \t\ny"), vec![id("y")]);
    // `#!else # c` is a comment too (so `y` stays skipped).
    assert_eq!(
        toks("#!ifdef NOPE\n#!else # c\ny\n#!endif\nz"),
        vec![id("z")]
    );
    // `#!endif` must end with a newline: at the end of the file it is a comment.
    assert_eq!(codes("#!ifdef X\n#!endif"), vec!["unbalanced-ifdef"]);
}

#[test]
fn ifdef_text_after_name_is_ignored() {
    assert_eq!(toks("#!ifndef X junk here\na\n#!endif\n"), vec![id("a")]);
}

#[test]
fn unbalanced_ifdefs() {
    assert_eq!(codes("#!ifdef X\na\n"), vec!["unbalanced-ifdef"]);
    assert_eq!(codes("#!endif\n"), vec!["unbalanced-ifdef"]);
}

#[test]
fn ifdef_depth_limit() {
    let mut src = String::new();
    for _ in 0..600 {
        src.push_str("#!ifdef KAMAILIO_5\n");
    }
    let l = lex_str(&src);
    assert!(l.diagnostics.iter().any(|d| d.code == "unbalanced-ifdef"));
}

#[test]
fn six_x_directives_are_comments() {
    assert_eq!(
        toks("#!ifexp A\n#!defexp B 1\n#!undef C\n#!foo\na"),
        vec![id("a")]
    );
}

// ---- subst --------------------------------------------------------------------------

#[test]
fn subst_on_strings_and_pvs() {
    let src = "#!subst \"/DOMAIN/example.org/g\"\n;\"sip:u@DOMAIN\" 'DOMAIN' $var(DOMAIN) DOMAIN";
    assert_eq!(
        toks(src),
        vec![
            Tok::Semi,
            s("sip:u@example.org"),
            Tok::SqStr("example.org".into()),
            pv("$var(example.org)"),
            id("DOMAIN")
        ]
    );
    // Only strings after the rule; flags i and back-references.
    let src = "'abc'\n#!subst \"/(a)(B)/\\2\\1/i\";\n\"abcab\"";
    assert_eq!(
        toks(src),
        vec![Tok::SqStr("abc".into()), Tok::Semi, s("bacab")]
    );
    // Adjacent literals concatenate across lines, even after `#!subst`.
    assert_eq!(codes("#!subst \"/a/b/\"\n\"x\""), vec!["bad-subst"]);
    // Without `g` only the first match is replaced.
    assert_eq!(toks("#!subst \"|a|x|\";\"aaa\""), vec![Tok::Semi, s("xaa")]);
    assert_eq!(codes("#!subst \"/a/b/q\""), vec!["bad-subst"]);
    assert_eq!(codes("#!subst foo"), vec!["bad-subst"]);
}

#[test]
fn substdef_defines_raw_and_quoted() {
    let src = "#!substdef \"/GWIP/10.0.0.1/\"\n$x = GWIP; \"GWIP\"";
    assert_eq!(
        toks(src),
        vec![
            pv("$x"),
            Tok::Assign,
            Tok::Int(10),
            Tok::Dot,
            Tok::Int(0),
            Tok::Dot,
            Tok::Int(0),
            Tok::Dot,
            Tok::Int(1),
            Tok::Semi,
            s("10.0.0.1")
        ]
    );
    let src = "#!substdefs \"/GW/gw.example.org/\"\nGW";
    assert_eq!(toks(src), vec![s("gw.example.org")]);
}

#[test]
fn subst_from_options() {
    let opts = LexOptions {
        defines: vec![],
        substs: vec![("substdef".into(), "/HOST/h.example/".into())],
    };
    let (l, _) = lex_opts("\"HOST\" HOST", &opts);
    let t: Vec<Tok> = l.tokens.into_iter().map(|t| t.tok).collect();
    assert_eq!(t, vec![s("h.example"), id("h"), Tok::Dot, id("example")]);
}

// ---- defenv ------------------------------------------------------------------------------

#[test]
fn defenv_variants() {
    // PATH is set in any test environment.
    let path = std::env::var("PATH").unwrap_or_default();
    let l = lex_str("#!defenvs P=PATH\nP\n#!trydefenv NOPE_CFGC_UNSET_VAR\n");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(l.tokens[0].tok, s(&path));
    assert_eq!(
        codes("#!defenv NOPE_CFGC_UNSET_VAR\n"),
        vec!["defenv-unset"]
    );
}

// ---- includes ---------------------------------------------------------------------------

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfgc-lex-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    dir
}

#[test]
fn include_relative_to_including_file() {
    let dir = temp_dir("inc");
    std::fs::write(
        dir.join("main.cfg"),
        "route {\n include_file \"sub/a.cfg\"\n b; }\n#!import_file \"missing.cfg\"\nend",
    )
    .unwrap();
    std::fs::write(
        dir.join("sub/a.cfg"),
        "#!define FROM_A 1\n#!include_file \"b.cfg\"\na;",
    )
    .unwrap();
    std::fs::write(dir.join("sub/b.cfg"), "inner FROM_A").unwrap();
    let mut sm = SourceMap::new();
    let main = sm.load(&dir.join("main.cfg"), None).unwrap();
    let l = lex(&mut sm, main, &LexOptions::default());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    let t: Vec<Tok> = l.tokens.iter().map(|t| t.tok.clone()).collect();
    assert_eq!(
        t,
        vec![
            Tok::Route,
            Tok::LBrace,
            id("inner"),
            Tok::Int(1),
            id("a"),
            Tok::Semi,
            id("b"),
            Tok::Semi,
            Tok::RBrace,
            id("end")
        ]
    );
    assert_eq!(l.files_read.len(), 3);
    assert!(l.files_read[1].ends_with("sub/a.cfg"));
    // Tokens point into the file they came from.
    assert_eq!(sm.snippet(l.tokens[2].span), "inner");
    assert!(sm.file(l.tokens[2].span.file).included_from.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn include_errors() {
    assert_eq!(
        codes("include_file \"/nonexistent/cfgc/x.cfg\""),
        vec!["include-not-found"]
    );
    assert!(codes("import_file \"/nonexistent/cfgc/x.cfg\"").is_empty());
    assert_eq!(codes("include_file nonquoted.cfg"), vec!["syntax"]);
    let dir = temp_dir("deep");
    std::fs::write(dir.join("self.cfg"), "x include_file \"self.cfg\"").unwrap();
    let mut sm = SourceMap::new();
    let main = sm.load(&dir.join("self.cfg"), None).unwrap();
    let l = lex(&mut sm, main, &LexOptions::default());
    let c: Vec<_> = l.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(c, vec!["include-depth"]);
    assert_eq!(l.tokens.len(), 11);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- robustness ------------------------------------------------------------------------------

#[test]
fn no_panic_on_odd_input() {
    for src in [
        "",
        "$",
        "$(",
        "$(a",
        "$a(",
        "@",
        "@a[",
        "@a[\"",
        "%",
        "%f",
        "%f.",
        "\"\\",
        "'",
        "/*",
        "#!",
        "#!define",
        "#!define ",
        "#!define X",
        "#!define X\\",
        "#!ifdef",
        "#!ifdef ",
        "#!subst",
        "include_file",
        "include_file \"",
        "event_route",
        "event_route[",
        "event_route[a:",
        "::::::::",
        "1:2:3:4:5:6:7:8:9",
        "\u{e9}\u{1F600}",
        "\"\\x\u{e9}\"",
        "uri:",
        "0x",
        "0b",
        "(int",
        "$\u{e9}",
        "a\\",
        "!!",
        "//!",
        "#!KAMAILIO",
    ] {
        let _ = lex_str(src);
    }
}

// ---- real configurations ---------------------------------------------------------------------

const STOCK: &str = "/etc/kamailio/kamailio.cfg";
const EXAMPLES: &str = "/usr/share/doc/kamailio/examples";

/// Lexes a file from disk; returns the lexer's diagnostics rendered.
fn lex_file(path: &Path, opts: &LexOptions) -> (Lexed, Vec<String>) {
    let mut sm = SourceMap::new();
    let main = sm
        .load(path, None)
        .unwrap_or_else(|e| panic!("{} must exist: {e}", path.display()));
    let l = lex(&mut sm, main, opts);
    let rendered = l
        .diagnostics
        .iter()
        .map(|d| crate::diag::render(&sm, d))
        .collect();
    (l, rendered)
}

#[test]
fn stock_config_lexes_cleanly() {
    let combos: &[&[&str]] = &[
        &[],
        &["WITH_NAT"],
        &["WITH_AUTH"],
        &["WITH_MYSQL", "WITH_AUTH", "WITH_USRLOCDB"],
        &[
            "WITH_NAT",
            "WITH_AUTH",
            "WITH_MYSQL",
            "WITH_USRLOCDB",
            "WITH_PRESENCE",
        ],
        &[
            "WITH_TLS",
            "WITH_ANTIFLOOD",
            "WITH_BLOCK3XX",
            "WITH_BLOCK401407",
        ],
        &[
            "WITH_DEBUG",
            "WITH_ACCDB",
            "WITH_MULTIDOMAIN",
            "WITH_IPAUTH",
            "WITH_ALIASDB",
        ],
        &[
            "WITH_SPEEDDIAL",
            "WITH_PSTN",
            "WITH_VOICEMAIL",
            "WITH_XMLRPC",
            "WITH_JSONRPC",
        ],
        &[
            "WITH_NATSIPPING",
            "WITH_RTPENGINE",
            "WITH_WEBSOCKETS",
            "WITH_HOMER",
            "WITH_SIPDUMP",
        ],
    ];
    for combo in combos {
        let mut defines: Vec<(String, Option<String>)> =
            combo.iter().map(|n| ((*n).to_string(), None)).collect();
        defines.push(("DBURL".into(), Some("\"mysql://k:pw@localhost/k\"".into())));
        let opts = LexOptions {
            defines,
            substs: vec![],
        };
        let (l, diags) = lex_file(Path::new(STOCK), &opts);
        assert!(diags.is_empty(), "{combo:?}:\n{}", diags.join("\n"));
        assert!(l.tokens.len() > 500, "{combo:?}: {} tokens", l.tokens.len());
        assert!(!l.tokens.iter().any(|t| t.tok == Tok::Error));
        // The stock config switches to Kamailio mode.
        assert!(l.tokens.iter().any(|t| matches!(
            &t.tok,
            Tok::Pvar(PvTok {
                compat: Compat::Kamailio,
                ..
            })
        )));
        assert!(l.defines.contains_key("MOD_tm"));
    }
}

fn example_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} must exist: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            example_files(&p, out);
        } else {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".cfg") || name.ends_with(".cfg.sample") {
                out.push(p);
            }
        }
    }
}

/// Example files with lexer diagnostics that Kamailio 5.6.3 also rejects.
/// (Each one is fatal in Kamailio too: a missing `include_file` or a
/// mismatched `#!ifdef`/`#!endif` count.)
const EXPECTED_EXAMPLE_DIAGNOSTICS: &[(&str, &str)] = &[
    // The included file ships as `icscf.cfg.sample`.
    ("ims/icscf/kamailio.cfg", "include-not-found"),
    // The included file ships as `scscf.cfg.sample`.
    ("ims/scscf/kamailio.cfg", "include-not-found"),
    // Includes an absolute path under /usr/local that does not exist.
    ("kemi/kamailio-basic-kemi.cfg", "include-not-found"),
    // A stray `#!endif` at line 121.
    ("pkg/sip-router-basic.cfg", "unbalanced-ifdef"),
    // `#!ifdef WITH_XMLRPC` at line 1718 is never closed.
    ("pkg/sip-router-oob.cfg", "unbalanced-ifdef"),
];

#[test]
fn example_configs_lex_cleanly() {
    let mut files = Vec::new();
    example_files(Path::new(EXAMPLES), &mut files);
    assert!(files.len() >= 60, "only {} example files", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let (l, diags) = lex_file(f, &LexOptions::default());
        let rel = f.strip_prefix(EXAMPLES).unwrap_or(f).display().to_string();
        let expected = EXPECTED_EXAMPLE_DIAGNOSTICS
            .iter()
            .find(|(name, _)| *name == rel)
            .map(|&(_, code)| code);
        let got: Vec<&str> = l.diagnostics.iter().map(|d| d.code).collect();
        let ok = match expected {
            None => got.is_empty(),
            Some(code) => got == [code],
        };
        if !ok {
            failures.push(format!("{rel}:\n{}", diags.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pseudo_random_inputs_terminate_without_panic() {
    const PIECES: &[&str] = &[
        "#!define X ",
        "#!ifdef X\n",
        "#!else\n",
        "#!endif\n",
        "#!subst \"/a/b/g\"",
        "X",
        "$",
        "$(",
        ")",
        "(",
        "\"",
        "'",
        "\\",
        "\n",
        " ",
        "/*",
        "*/",
        "//",
        "#",
        "@a",
        "[",
        "]",
        ".",
        ":",
        "::",
        "1",
        "0x",
        "b",
        "%f",
        "event_route",
        "include_file \"x\"",
        "uri:host",
        "$rc",
        "\u{e9}",
        "!!",
        "!",
        "=",
        "{",
        "}",
        "a:b:c",
        "fe80",
        "#!KAMAILIO\n",
        "#!SER\n",
        "\\\n",
        "#!define Y X X\n",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..800 {
        let mut src = String::new();
        for _ in 0..40 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            src.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
        }
        let l = lex_str(&src);
        for t in &l.tokens {
            assert!(t.span.start <= t.span.end);
        }
    }
}

#[test]
fn ifdef_tests_existence_only() {
    assert_eq!(
        toks(
            "#!define ZERO 0\n#!define EMPTY\n#!ifdef ZERO\na\n#!endif\n#!ifdef EMPTY\nb\n#!endif\n"
        ),
        vec![id("a"), id("b")]
    );
}

#[test]
fn define_name_with_dash_is_an_error() {
    assert_eq!(codes("#!define A-B 1\n"), vec!["syntax"]);
    assert_eq!(codes("#!define \n"), vec!["syntax"]);
    // Without a blank after the word it is not a directive but a comment.
    assert_eq!(toks("#!define\na"), vec![id("a")]);
}

#[test]
fn reserved_words_are_never_identifiers() {
    // `route(user)` is a syntax error in Kamailio: `user` is a keyword token.
    assert_eq!(
        toks("route(user); $var(user)"),
        vec![
            Tok::Route,
            Tok::LParen,
            Tok::Param("user"),
            Tok::RParen,
            Tok::Semi,
            pv("$var(user)")
        ]
    );
    // `route[no]` is `route[0]`.
    assert_eq!(
        toks("route[no]"),
        vec![Tok::Route, Tok::LBracket, Tok::Int(0), Tok::RBracket]
    );
}

#[test]
fn pv_errors() {
    assert_eq!(codes("$var(x\n)"), vec!["syntax"]);
    assert_eq!(codes("$(var(x)"), vec!["syntax"]);
    assert_eq!(codes("$ x"), vec!["syntax"]);
    // Define values are text: a define can complete a PV.
    assert_eq!(toks("#!define V $var\nV(x)"), vec![pv("$var(x)")]);
}

#[test]
fn subst_applies_to_include_paths() {
    let dir = temp_dir("subst-inc");
    std::fs::write(dir.join("sub/real.cfg"), "included").unwrap();
    let main = dir.join("main.cfg");
    std::fs::write(
        &main,
        "#!subst \"/NAME/real/\"\ninclude_file \"sub/NAME.cfg\"\n",
    )
    .unwrap();
    let (l, diags) = lex_file(&main, &LexOptions::default());
    assert!(diags.is_empty(), "{}", diags.join("\n"));
    assert_eq!(l.tokens.len(), 1);
    assert_eq!(l.tokens[0].tok, id("included"));
    let _ = std::fs::remove_dir_all(&dir);
}

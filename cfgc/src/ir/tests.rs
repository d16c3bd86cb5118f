//! Lowering: named flags, disarming tm routes, core parameters.

use super::*;
use crate::{Config, Severity};

/// Lowers `src` (a cfg text) and returns the program and the diagnostics.
fn lower_src(src: &str) -> (Option<Program>, Vec<crate::Diagnostic>) {
    let g = Config::new().generate_source("t.cfg", src);
    (g.program, g.report.diagnostics)
}

fn main_body(p: &Program) -> &[Stmt] {
    &p.routes[p.main.expect("a request route")].body
}

/// The core actions of the request route's top-level calls, in order.
fn core_calls(p: &Program) -> Vec<CoreFn> {
    main_body(p)
        .iter()
        .filter_map(|s| match s {
            Stmt::Call(Call {
                target: Target::Core(c),
                ..
            }) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn codes(diags: &[crate::Diagnostic], sev: Severity) -> Vec<&'static str> {
    diags
        .iter()
        .filter(|d| d.severity == sev)
        .map(|d| d.code)
        .collect()
}

#[test]
fn named_flags_take_the_lowest_free_number_in_declaration_order() {
    // A:auto → 0; B:0 shares 0 (Kamailio only warns); C:auto → 1;
    // D:5; E:auto → 2; F:1 shares 1; G:auto → 3.
    let (p, diags) = lower_src(
        "flags A, B:0, C;\nbool D:5, E;\nflags F:1, \"G\";\n\
         request_route {\n setflag(A); setflag(B); setflag(C); setflag(D);\n \
         resetflag(E); isflagset(F); setflag(\"G\"); setflag(7);\n}\n",
    );
    assert!(
        codes(&diags, Severity::Error).is_empty()
            && codes(&diags, Severity::Unsupported).is_empty(),
        "{diags:?}"
    );
    let p = p.expect("program");
    assert_eq!(
        core_calls(&p),
        vec![
            CoreFn::SetFlag(0),
            CoreFn::SetFlag(0),
            CoreFn::SetFlag(1),
            CoreFn::SetFlag(5),
            CoreFn::ResetFlag(2),
            CoreFn::IsFlagSet(1),
            CoreFn::SetFlag(3),
            CoreFn::SetFlag(7),
        ]
    );
}

#[test]
fn a_flag_declared_twice_is_an_error() {
    let (_, diags) = lower_src("flags A, A:3;\nrequest_route { setflag(A); }\n");
    assert!(
        codes(&diags, Severity::Error).contains(&"flag-redeclared"),
        "{diags:?}"
    );
}

#[test]
fn an_undeclared_flag_name_is_an_error() {
    let (_, diags) = lower_src("flags A;\nrequest_route { setflag(B); }\n");
    assert!(!codes(&diags, Severity::Error).is_empty(), "{diags:?}");
}

#[test]
fn a_flag_name_must_be_declared_above_its_use() {
    // Kamailio: "flag not declared" (its parser resolves the name on the spot).
    let (_, diags) = lower_src(
        "request_route { setflag(A); }
flags A;
",
    );
    assert!(!codes(&diags, Severity::Error).is_empty(), "{diags:?}");
    let (p, diags) = lower_src(
        "flags A;
request_route { setflag(A); }
",
    );
    assert!(codes(&diags, Severity::Error).is_empty(), "{diags:?}");
    assert_eq!(core_calls(&p.expect("program")), vec![CoreFn::SetFlag(0)]);
}

/// The index each tm route-arming call passes, in order.
fn arm_indexes(p: &Program) -> Vec<(String, ArgVal)> {
    main_body(p)
        .iter()
        .filter_map(|s| match s {
            Stmt::Call(Call {
                target: Target::Module(id),
                args,
                ..
            }) => Some((id.binding().name.to_string(), args[0].clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn zero_and_empty_route_names_disarm() {
    let (p, diags) = lower_src(
        "loadmodule \"tm.so\"\n\
         request_route {\n t_on_failure(\"F\"); t_on_failure(\"0\"); t_on_branch(\"\");\n \
         t_on_reply(\"0\"); t_on_branch(\"B\"); t_on_reply(\"R\");\n}\n\
         failure_route[F] { exit; }\nbranch_route[B] { exit; }\nonreply_route[R] { exit; }\n",
    );
    assert!(
        !diags
            .iter()
            .any(|d| matches!(d.severity, Severity::Error | Severity::Unsupported)),
        "{diags:?}"
    );
    let got: Vec<(String, i32)> = arm_indexes(&p.expect("program"))
        .into_iter()
        .map(|(n, a)| match a {
            ArgVal::Int(i) => (n, i),
            other => panic!("{n}: {other:?}"),
        })
        .collect();
    let want: Vec<(String, i32)> = [
        ("t_on_failure", 0),
        ("t_on_failure", -1),
        ("t_on_branch", -1),
        ("t_on_reply", -1),
        ("t_on_branch", 0),
        ("t_on_reply", 0),
    ]
    .iter()
    .map(|(n, i)| (n.to_string(), *i))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn core_parameters_pass_through_are_no_ops_or_are_refused() {
    let (p, diags) = lower_src(
        "children=4\ntcp_max_connections=10\nshm_mem=64\nmemlog=5\nenable_sctp=no\n\
         fork=yes\nmhomed=1\nenable_tls=yes\nrequest_route { exit; }\n",
    );
    let p = p.expect("program");
    assert_eq!(p.settings.int("children"), Some(4));
    assert_eq!(p.settings.int("tcp_max_connections"), Some(10));
    assert_eq!(p.settings.param("shm"), None, "no-ops are not passed on");
    let refused: Vec<&str> = diags
        .iter()
        .filter(|d| d.severity == Severity::Unsupported)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("`mhomed`"), "{refused:?}");
    assert!(
        refused[1].contains("`enable_tls` other than"),
        "{refused:?}"
    );
}

#[test]
fn listen_sockets_without_protocol_are_udp_and_tcp_and_other_forms_are_refused() {
    let (p, diags) = lower_src("listen=127.0.0.1:5070\nrequest_route { exit; }\n");
    assert!(diags.is_empty(), "{diags:?}");
    let got: Vec<(String, String, Option<u16>)> = p
        .expect("program")
        .settings
        .listen
        .into_iter()
        .map(|l| (l.proto, l.host, l.port))
        .collect();
    assert_eq!(
        got,
        vec![
            ("udp".into(), "127.0.0.1".into(), Some(5070)),
            ("tcp".into(), "127.0.0.1".into(), Some(5070)),
        ]
    );
    for (cfg, what) in [
        ("listen=tls:127.0.0.1:5061\n", "a `tls` listen socket"),
        (
            "listen=udp:127.0.0.1:5060 advertise 192.0.2.1:5060\n",
            "`advertise` on a listen socket",
        ),
        ("cfgengine \"lua\"\n", "the `lua` script engine"),
    ] {
        let (_, diags) = lower_src(&format!("{cfg}request_route {{ exit; }}\n"));
        assert!(
            diags
                .iter()
                .any(|d| d.severity == Severity::Unsupported && d.message.contains(what)),
            "{cfg}: {diags:?}"
        );
    }
    let (_, diags) = lower_src("cfgengine \"native\"\nrequest_route { exit; }\n");
    assert!(diags.is_empty(), "{diags:?}");
}

/// `t_reply`'s reason is Kamailio's `fixup_var_str`: one whole PV is read,
/// any other text is sent as written (no PV expanded).
#[test]
fn t_reply_reason_is_one_whole_pv_or_literal_text() {
    let (p, diags) = lower_src(
        "loadmodule \"tm.so\"\nloadmodule \"pv.so\"\nrequest_route {\n \
         t_reply(\"404\", \"Not $rU\");\n t_reply(\"404\", \"$var(r)\");\n}\n",
    );
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    let reasons: Vec<&ArgVal> = main_body(&p)
        .iter()
        .filter_map(|s| match s {
            Stmt::Call(c) => c.args.get(1),
            _ => None,
        })
        .collect();
    assert!(
        matches!(reasons[0], ArgVal::Bytes(b) if b == b"Not $rU"),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[1], ArgVal::Fmt(segs) if matches!(segs.as_slice(), [FmtSeg::Pv(PvRef::Var(_))])),
        "{reasons:?}"
    );
}

#[test]
fn alias_db_find_writes_only_to_an_avp_or_a_var() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"db_sqlite.so\"\nloadmodule \"alias_db.so\"\n\
                modparam(\"alias_db\", \"db_url\", \"sqlite:///tmp/k.db\")\n";
    for (out, ok) in [
        ("$avp(a)", true),
        ("$var(a)", true),
        ("$ru", false),
        ("$du", false),
        ("$avp(a) $var(b)", false),
        ("text", false),
    ] {
        let (p, diags) = lower_src(&format!(
            "{head}request_route {{\n alias_db_find(\"dbaliases\", \"$fu\", \"{out}\", \"r\");\n}}\n"
        ));
        if ok {
            let p = p.unwrap_or_else(|| panic!("{out}: {diags:?}"));
            assert!(
                main_body(&p).iter().any(|s| matches!(
                    s,
                    Stmt::Call(c) if matches!(c.args.get(2), Some(ArgVal::PvList(l)) if l.len() == 1)
                )),
                "{out}"
            );
        } else {
            assert_eq!(
                codes(&diags, Severity::Error),
                ["pv-out"],
                "{out}: {diags:?}"
            );
        }
    }
}

#[test]
fn sql_pvquery_takes_a_list_of_writable_pvs() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"db_sqlite.so\"\nloadmodule \"sqlops.so\"\n\
                modparam(\"sqlops\", \"sqlcon\", \"ca=>sqlite:///tmp/k.db\")\n";
    // Blanks, `,` and `;` separate the PVs, as Kamailio's parse_pvname_list.
    let (p, diags) = lower_src(&format!(
        "{head}request_route {{\n sql_pvquery(\"ca\", \"select 1, 2, 3\", \" $var(a), $avp(b);$ru \");\n}}\n"
    ));
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    let lists: Vec<&ArgVal> = main_body(&p)
        .iter()
        .filter_map(|s| match s {
            Stmt::Call(c) => c.args.get(2),
            _ => None,
        })
        .collect();
    assert!(
        matches!(lists[0], ArgVal::PvList(l) if matches!(
            l.as_slice(),
            [PvRef::Var(_), PvRef::Avp(..), PvRef::Plain(PvId::Ru)]
        )),
        "{lists:?}"
    );
    // A PV the script cannot assign: Kamailio refuses to start.
    let (_, diags) = lower_src(&format!(
        "{head}request_route {{\n sql_pvquery(\"ca\", \"select 1, 2\", \"$var(a) $si\");\n}}\n"
    ));
    assert_eq!(codes(&diags, Severity::Error), ["pv-list"], "{diags:?}");
    // Not a PV at all, and an empty list.
    for list in ["$var(a) junk", " ; "] {
        let (_, diags) = lower_src(&format!(
            "{head}request_route {{\n sql_pvquery(\"ca\", \"select 1\", \"{list}\");\n}}\n"
        ));
        assert_eq!(
            codes(&diags, Severity::Error),
            ["pv-list"],
            "{list}: {diags:?}"
        );
    }
    // `$xavp` is writable too.
    let (p, diags) = lower_src(&format!(
        "{head}request_route {{\n sql_pvquery(\"ca\", \"select 1\", \"$xavp(x=>y)\");\n}}\n"
    ));
    let p = p.unwrap_or_else(|| panic!("{diags:?}"));
    assert!(
        main_body(&p).iter().any(|s| matches!(
            s,
            Stmt::Call(c) if matches!(c.args.get(2), Some(ArgVal::PvList(l)) if matches!(l.as_slice(), [PvRef::Xavp(_)]))
        )),
        "{diags:?}"
    );
}

#[test]
fn peer_tag_avp_is_an_avp_or_nothing() {
    let cfg = |v: &str| {
        format!(
            "loadmodule \"sl.so\"\nloadmodule \"permissions.so\"\n\
             modparam(\"permissions\", \"peer_tag_avp\", \"{v}\")\n\
             request_route {{ sl_send_reply(\"200\", \"ok\"); }}\n"
        )
    };
    let value = |p: &Program| {
        p.settings
            .modparams
            .iter()
            .find(|m| m.name == "peer_tag_avp")
            .map(|m| m.value.clone())
    };
    let (p, d) = lower_src(&cfg("$avp(peer)"));
    assert!(codes(&d, Severity::Error).is_empty(), "{d:?}");
    assert!(matches!(
        value(&p.expect("lowered")),
        Some(ModParamValue::PvList(l)) if matches!(l.as_slice(), [(_, PvRef::Avp(..))])
    ));
    let (p, _) = lower_src(&cfg(""));
    assert_eq!(
        value(&p.expect("lowered")),
        Some(ModParamValue::Str(String::new()))
    );
    // Kamailio refuses to start: "malformed or non AVP peer_tag_avp".
    let (_, d) = lower_src(&cfg("$var(peer)"));
    assert_eq!(codes(&d, Severity::Error), ["peer-tag-avp"]);
}

#[test]
fn uac_auth_avps_are_any_pv() {
    let cfg = |v: &str| {
        format!(
            "loadmodule \"tm.so\"\nloadmodule \"rr.so\"\nloadmodule \"pv.so\"\n\
             loadmodule \"uac.so\"\n\
             modparam(\"uac\", \"auth_username_avp\", \"{v}\")\n\
             request_route {{ t_relay(); }}\n"
        )
    };
    let value = |p: &Program| {
        p.settings
            .modparams
            .iter()
            .find(|m| m.name == "auth_username_avp")
            .map(|m| m.value.clone())
    };
    for (v, avp) in [("$avp(u)", true), ("$var(u)", false)] {
        let (p, d) = lower_src(&cfg(v));
        assert!(codes(&d, Severity::Error).is_empty(), "{d:?}");
        assert!(matches!(
            value(&p.expect("lowered")),
            Some(ModParamValue::PvList(l))
                if matches!(l.as_slice(), [(_, PvRef::Avp(..))]) == avp && l.len() == 1
        ));
    }
    // Kamailio's pv_parse_spec fails: it refuses to start.
    let (_, d) = lower_src(&cfg(""));
    assert_eq!(codes(&d, Severity::Error), ["uac-auth-avp"]);
}

#[test]
fn tel2sip_writes_to_any_writable_pv() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"siputils.so\"\n";
    for (out, ok) in [
        ("$ru", true),
        ("$var(a)", true),
        ("$avp(a)", true),
        ("$ci", false),
        ("$var(a) $var(b)", false),
        ("text", false),
    ] {
        let (p, diags) = lower_src(&format!(
            "{head}request_route {{\n tel2sip(\"$ru\", \"example.com\", \"{out}\");\n}}\n"
        ));
        if ok {
            let p = p.unwrap_or_else(|| panic!("{out}: {diags:?}"));
            assert!(
                main_body(&p).iter().any(|s| matches!(
                    s,
                    Stmt::Call(c) if matches!(c.args.get(2), Some(ArgVal::PvList(l)) if l.len() == 1)
                )),
                "{out}"
            );
        } else {
            assert_eq!(
                codes(&diags, Severity::Error),
                ["pv-out"],
                "{out}: {diags:?}"
            );
        }
    }
}

#[test]
fn is_supported_knows_kamailios_option_tags_only() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"siputils.so\"\n";
    for (tag, ok) in [
        ("path", true),
        ("100REL", true),
        ("Outbound", true),
        ("foo", false),
        ("", false),
    ] {
        let (p, diags) = lower_src(&format!(
            "{head}request_route {{\n is_supported(\"{tag}\");\n}}\n"
        ));
        if ok {
            assert!(p.is_some(), "{tag}: {diags:?}");
        } else {
            assert_eq!(
                codes(&diags, Severity::Error),
                ["bad-word"],
                "{tag}: {diags:?}"
            );
        }
    }
}

#[test]
fn sdp_getters_add_to_an_avp_only() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"sdpops.so\"\n";
    for (out, ok) in [("$avp(a)", true), ("$var(a)", false), ("$ru", false)] {
        let (p, diags) = lower_src(&format!(
            "{head}request_route {{\n sdp_get(\"{out}\");\n}}\n"
        ));
        if ok {
            assert!(p.is_some(), "{out}: {diags:?}");
        } else {
            assert_eq!(
                codes(&diags, Severity::Error),
                ["pv-out"],
                "{out}: {diags:?}"
            );
        }
    }
}

#[test]
fn rtpproxy_instances_on_unix_sockets_are_refused() {
    let cfg = |v: &str| {
        format!(
            "loadmodule \"rtpproxy.so\"\n\
             modparam(\"rtpproxy\", \"rtpproxy_sock\", \"{v}\")\n\
             request_route {{ set_rtp_proxy_set(\"1\"); rtpproxy_manage(\"co\"); }}\n"
        )
    };
    let (p, d) = lower_src(&cfg("1 == udp:127.0.0.1:7722 udp6:[::1]:7723=2"));
    assert!(codes(&d, Severity::Unsupported).is_empty(), "{d:?}");
    // The constant set is checked at start-up, as Kamailio's fixup does.
    assert!(
        p.expect("lowered")
            .settings
            .static_tables
            .contains(&("rtpproxy".to_string(), "1".to_string()))
    );
    for bad in [
        "unix:/run/rtpproxy.sock",
        "1 == udp:127.0.0.1 /run/r.sock=2",
    ] {
        let (_, d) = lower_src(&cfg(bad));
        assert_eq!(
            codes(&d, Severity::Unsupported),
            ["unsupported-modparam"],
            "{bad}"
        );
    }
}

#[test]
fn htable_custom_columns_and_replication_are_refused() {
    let cfg = |v: &str| {
        format!(
            "loadmodule \"htable.so\"\n\
             modparam(\"htable\", \"htable\", \"{v}\")\n\
             request_route {{ exit; }}\n"
        )
    };
    for ok in [
        "a=>size=4;dbtable=htable;dbmode=1",
        "a=>size=4;dmqreplicate=0",
    ] {
        let (_, d) = lower_src(&cfg(ok));
        assert!(codes(&d, Severity::Unsupported).is_empty(), "{ok}: {d:?}");
    }
    for bad in ["a=>dbtable=htable;cols='k,v'", "a=>size=2;dmqreplicate=1"] {
        let (_, d) = lower_src(&cfg(bad));
        assert_eq!(
            codes(&d, Severity::Unsupported),
            ["unsupported-modparam"],
            "{bad}"
        );
    }
}

#[test]
fn header_value_names_are_checked_per_function() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"textopsx.so\"\n";
    for (call, ok) in [
        ("remove_hf_value(\"X-L[*].p\")", true),
        ("assign_hf_value(\" X-L [ -10 ] . p\", \"$rU\")", true),
        ("include_hf_value(\"Supported\", \"timer\")", true),
        ("remove_hf_value(\"X-L[-11]\")", false),
        ("append_hf_value(\"X-L[*]\", \"a\")", false),
        ("hf_value_exists(\"X-L[1]\", \"a\")", false),
        ("remove_hf_value2(\"X-L.p \")", false),
        ("insert_hf_value(\"[1]\", \"a\")", false),
    ] {
        let (p, diags) = lower_src(&format!("{head}request_route {{\n {call};\n}}\n"));
        if ok {
            assert!(p.is_some(), "{call}: {diags:?}");
        } else {
            assert_eq!(
                codes(&diags, Severity::Error),
                ["bad-hf-name"],
                "{call}: {diags:?}"
            );
        }
    }
}

#[test]
fn dispatcher_algorithms_the_runtime_lacks_are_refused_when_constant() {
    let head = "loadmodule \"pv.so\"\nloadmodule \"dispatcher.so\"\n";
    for (call, ok) in [
        ("ds_select_dst(\"1\", \"4\")", true),
        ("ds_select_dst(\"1\", \"13\", \"2\")", true),
        ("ds_select_domain(\"1\", \"10\")", false),
        ("ds_select(\"1\", \"12\")", false),
        ("ds_select_dst(\"1\", \"7\")", false),
        ("ds_select_dst(\"1\", \"$var(a)\")", true),
    ] {
        let (p, diags) = lower_src(&format!("{head}request_route {{\n {call};\n}}\n"));
        let refused = format!("{diags:?}").contains("is not supported by cfgc's runtime yet");
        assert!(p.is_some(), "{call}: {diags:?}");
        assert_eq!(refused, !ok, "{call}: {diags:?}");
    }
}

#[test]
fn rtimer_routes_must_exist_and_event_routes_must_be_known() {
    let base = "loadmodule \"sl.so\"\nloadmodule \"pv.so\"\nloadmodule \"rtimer.so\"\n\
        modparam(\"rtimer\", \"timer\", \"name=t;interval=5;\")\n";
    let (p, d) = lower_src(&format!(
        "{base}modparam(\"rtimer\", \"exec\", \"timer=t;route=T\")\n\
         route[T] {{ $var(t) = 1; }}\nrequest_route {{ exit; }}\n\
         event_route[core:worker-one-init] {{ exit; }}\n"
    ));
    assert!(codes(&d, Severity::Error).is_empty(), "{d:?}");
    let p = p.expect("a program");
    assert_eq!(p.event_routes.len(), 1);
    assert_eq!(p.routes[p.event_routes[0].1].name, "core:worker-one-init");

    let (_, d) = lower_src(&format!(
        "{base}modparam(\"rtimer\", \"exec\", \"timer=t;route=NONE;\")\nrequest_route {{ exit; }}\n"
    ));
    assert_eq!(codes(&d, Severity::Error), ["undefined-route"]);

    let (_, d) = lower_src("request_route { exit; }\nevent_route[tm:local-response] { exit; }\n");
    assert_eq!(codes(&d, Severity::Unsupported), ["unsupported"]);
}

#[test]
fn xlogl_prints_the_line_where_the_call_ends() {
    let (p, d) = lower_src(
        "loadmodule \"xlog.so\"\nrequest_route {\n  xlogl(\"L_ERR\",\n    \"two\\n\");\n  xdbgl(\"d\");\n}\n",
    );
    assert!(codes(&d, Severity::Error).is_empty(), "{d:?}");
    let p = p.expect("a program");
    let firsts: Vec<Vec<u8>> = main_body(&p)
        .iter()
        .filter_map(|s| match s {
            Stmt::Call(Call { args, .. }) => match args.last() {
                Some(ArgVal::Fmt(segs)) => Some(
                    segs.iter()
                        .flat_map(|s| match s {
                            FmtSeg::Lit(l) => l.clone(),
                            FmtSeg::Pv(_) => Vec::new(),
                        })
                        .collect(),
                ),
                Some(ArgVal::Bytes(b)) => Some(b.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(firsts, [b"4:two\n".to_vec(), b"5:d".to_vec()]);
}

//! Code generation snapshots: the Rust cfgc emits for fixture configs and
//! for the example stateless proxy (formatted with prettyplease).

use std::path::Path;

fn emit(path: &Path) -> String {
    let generated = cfgc::Config::new()
        .generate_file(path)
        .expect("fixture readable");
    match generated.code {
        Some(code) => code.replace(&path.display().to_string(), "CFG"),
        None => {
            let r = &generated.report;
            panic!(
                "{}: no code:\n{}",
                path.display(),
                r.diagnostics
                    .iter()
                    .map(|d| r.render(d))
                    .collect::<String>()
            )
        }
    }
}

#[test]
fn codegen_fixtures() {
    insta::glob!("codegen/*.cfg", |path| {
        insta::assert_snapshot!("codegen", emit(path));
    });
}

#[test]
fn codegen_example_stateless_proxy() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/stateless-proxy/kamailio.cfg");
    insta::assert_snapshot!(emit(&path));
}

#[test]
fn unsupported_constructs_block_code_generation() {
    let g = cfgc::Config::new().generate_source(
        "t.cfg",
        "loadmodule \"tm.so\"\nrequest_route {\n    t_save_lumps();\n}\n",
    );
    assert!(g.code.is_none());
    assert!(
        g.report
            .diagnostics
            .iter()
            .any(|d| d.severity == cfgc::Severity::Unsupported),
        "{:?}",
        g.report.diagnostics
    );
}

#[test]
fn xlog_levels_read_like_kamailio_in_check_and_codegen() {
    // Kamailio reads only the third character of a level name: the checker
    // accepts `L_INFOX`, so code generation must give it level INFO too.
    let g = cfgc::Config::new().generate_source(
        "t.cfg",
        "loadmodule \"xlog.so\"\nrequest_route {\n    xlog(\"L_INFOX\", \"hello\\n\");\n}\n",
    );
    let code = g.code.expect("generated");
    assert!(code.contains("Level::from_int(2i32)"), "{code}");
    let bad = cfgc::Config::new().generate_source(
        "t.cfg",
        "loadmodule \"xlog.so\"\nrequest_route {\n    xlog(\"INFO\", \"hello\\n\");\n}\n",
    );
    assert!(bad.code.is_none());
    assert!(bad.report.diagnostics.iter().any(|d| d.code == "bad-arg"));
}

#[test]
fn named_tm_routes_and_modparams_reach_the_generated_script() {
    let g = cfgc::Config::new().generate_source(
        "t.cfg",
        "loadmodule \"tm.so\"\nloadmodule \"sl.so\"\nloadmodule \"xlog.so\"\n\
modparam(\"tm\", \"fr_timer\", 2000)\nmodparam(\"tm\", \"failure_reply_mode\", 3)\n\
request_route {\n    sl_send_reply(\"200\", \"OK\");\n}\n\
failure_route[A] {\n    xlog(\"A\");\n}\n\
failure_route[B] {\n    xlog(\"B\");\n}\n\
branch_route[BR] {\n    drop;\n}\n\
onreply_route[R] {\n    drop;\n}\n",
    );
    let program = g
        .program
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", g.report.diagnostics));
    assert_eq!(program.failure_routes.len(), 2);
    assert_eq!(program.branch_routes.len(), 1);
    assert_eq!(program.onreply_routes.len(), 1);
    assert_eq!(program.modparams.len(), 2);
    let code = g.code.expect("generated");
    assert!(code.contains("fn failure_route("), "{code}");
    assert!(code.contains("1u32 => self.route_"), "{code}");
    assert!(code.contains("fn branch_route("), "{code}");
    assert!(code.contains("fn onreply_route("), "{code}");
    assert!(
        code.contains("(\"tm\", \"fr_timer\", ::cfgc_runtime::proxy::ModParamValue::Int(2000i32))"),
        "{code}"
    );
}

fn diags(src: &str) -> (Option<String>, Vec<(cfgc::Severity, String)>) {
    let g = cfgc::Config::new().generate_source("t.cfg", src);
    let d = g
        .report
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.message.clone()))
        .collect();
    (g.code, d)
}

#[test]
fn transformations_lower_to_runtime_ops_with_pv_parameters() {
    let (code, d) = diags(
        "loadmodule \"pv.so\"\nrequest_route {\n    $var(n) = 1;\n    \
         $var(x) = $(ru{uri.user}{s.substr,$var(n),2}{s.len});\n}\n",
    );
    let code = code.unwrap_or_else(|| panic!("{d:?}"));
    let compact: String = code
        .split_whitespace()
        .collect::<String>()
        .replace(",)", ")");
    assert!(compact.contains("trans::Op::UriUser"), "{code}");
    assert!(
        compact.contains("trans::Op::SSubstr(::cfgc_runtime::engine::trans::Arg::Pv(::cfgc_runtime::engine::pv::var(ctx,0usize)),::cfgc_runtime::engine::trans::Arg::Int(2i32))"),
        "{code}"
    );
    assert!(compact.contains("trans::Op::SLen"), "{code}");
}

#[test]
fn transformations_the_runtime_lacks_are_not_supported_yet() {
    let (code, d) = diags(
        "loadmodule \"pv.so\"\nrequest_route {\n    \
         $var(x) = $(ru{s.sha256}) + $(ru{line.count});\n}\n",
    );
    assert!(code.is_none());
    for name in ["{s.sha256}", "{line.count}"] {
        assert!(
            d.iter()
                .any(|(s, m)| *s == cfgc::Severity::Unsupported && m.contains(name)),
            "{name}: {d:?}"
        );
    }
}

#[test]
fn malformed_transformation_parameters_are_errors() {
    for bad in [
        "{s.substr,1}",
        "{s.substr,a,1}",
        "{s.rm,,}",
        "{s.len,1}",
        "{param.value,a,xy}",
    ] {
        let (code, d) = diags(&format!(
            "loadmodule \"pv.so\"\nrequest_route {{\n    $var(x) = $(ru{bad});\n}}\n"
        ));
        assert!(code.is_none(), "{bad}");
        assert!(
            d.iter()
                .any(|(s, m)| *s == cfgc::Severity::Error && m.contains("invalid parameters")),
            "{bad}: {d:?}"
        );
    }
}

/// The diagnostics of a cfg loading acc with `log_extra` set to `extra`.
fn acc_extra_diags(extra: &str) -> Vec<(cfgc::Severity, String)> {
    let src = format!(
        "loadmodule \"tm.so\"\nloadmodule \"pv.so\"\nloadmodule \"acc.so\"\n\
modparam(\"acc\", \"log_extra\", \"{extra}\")\nrequest_route {{\n    t_relay();\n}}\n"
    );
    let g = cfgc::Config::new().generate_source("t.cfg", &src);
    let d: Vec<_> = g
        .report
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.message.clone()))
        .collect();
    assert_eq!(g.code.is_some(), d.is_empty(), "{d:?}");
    d
}

#[test]
fn acc_log_extra_is_lowered_or_refused() {
    assert_eq!(acc_extra_diags("a=$fU; b = $(rU{s.len}) ;c=$avp(x)"), []);
    for bad in [
        "a=$fU;",
        "a=$fU; ",
        "a",
        "a $fU",
        "a=fU",
        "a=$fU b=$tU",
        "a=$(fU",
    ] {
        let d = acc_extra_diags(bad);
        assert!(
            d.iter().any(
                |(s, m)| *s == cfgc::Severity::Error && m.contains("malformed acc `log_extra`")
            ),
            "{bad}: {d:?}"
        );
    }
    let d = acc_extra_diags("a=$nosuchpv");
    assert!(
        d.iter()
            .any(|(s, m)| *s == cfgc::Severity::Error && m.contains("unknown PV `$nosuchpv`")),
        "{d:?}"
    );
    // Known to Kamailio, not to our runtime.
    let d = acc_extra_diags("a=$hdr($rU)");
    assert!(
        d.iter().any(|(s, _)| *s == cfgc::Severity::Unsupported),
        "{d:?}"
    );
}

//! Issue 11, item 3: every `loadmodule` is accounted for. A module the
//! runtime does not implement refuses the build ("not supported yet"),
//! naming the module, even if none of its functions is called; without it
//! the same cfg builds and answers. Checked on the issue's own example
//! (compiled and interpreted), and on the stock config with each `WITH_*`
//! define: which modules each define set brings that are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc::Severity;
use cfgc::catalog::module_support;
use cfgc_test_support::{GroupGuard, udp_exchange};
use tests::{STOCK_CFG, cfgc_check, stock_with_defines};

/// The issue's example, with or without `loadmodule "tls.so"`.
fn issue_cfg(with_tls: bool) -> String {
    let tls = if with_tls {
        "loadmodule \"tls.so\"\n"
    } else {
        ""
    };
    format!(
        "flags FLAG_X:3;\n\
loadmodule \"sl.so\"\n\
loadmodule \"tm.so\"\n\
{tls}loadmodule \"jsonrpcs.so\"\n\
request_route {{\n\
  setflag(FLAG_X);\n\
  if (isflagset(FLAG_X)) {{ sl_send_reply(\"200\",\"x\"); }}\n\
  t_on_failure(\"0\");\n\
  exit;\n\
}}\n"
    )
}

/// A fresh directory for this test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The "not supported yet" diagnostics of `cfgc build`, rendered; `None`
/// if it generates code.
fn build_refusal(cfg: &Path) -> Option<String> {
    let g = cfgc::Config::new()
        .generate_file(cfg)
        .expect("cfg readable");
    if g.code.is_some() {
        return None;
    }
    let r = &g.report;
    assert!(
        !r.has_errors(),
        "{}: errors, not only unsupported:\n{}",
        cfg.display(),
        tests::rendered_errors(r)
    );
    Some(
        r.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Unsupported)
            .map(|d| r.render(d))
            .collect(),
    )
}

/// Starts `bin` (the compiled proxy, or the interpreter given `cfg`) on a
/// free port; the guard and the port.
fn start(bin: &Path, cfg: Option<&Path>) -> (GroupGuard, u16) {
    tests::start_ours(bin, cfg, &[], Duration::from_secs(10))
}

/// The status line answered to an OPTIONS (or "timeout").
fn options(port: u16) -> String {
    udp_exchange(port, |local| {
        format!(
            "OPTIONS sip:ping@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-modules-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@127.0.0.1>;tag=t1\r\n\
To: <sip:ping@127.0.0.1>\r\n\
Call-ID: modules-1@test\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        )
    })
    .map_or_else(
        || "timeout".into(),
        |a| a.lines().next().unwrap_or("").to_string(),
    )
}

#[test]
fn the_issue_example_is_refused_for_tls_and_answers_without_it() {
    let dir = temp_dir("modules-issue");
    let with_tls = dir.join("with-tls.cfg");
    let without = dir.join("kamailio.cfg");
    std::fs::write(&with_tls, issue_cfg(true)).expect("write cfg");
    std::fs::write(&without, issue_cfg(false)).expect("write cfg");

    // `cfgc build` refuses it, naming tls (once, at its loadmodule line),
    // and nothing about jsonrpcs, which is implemented.
    let refusal = build_refusal(&with_tls).expect("cfgc build refuses the cfg loading tls");
    assert!(
        refusal.contains("module `tls` is not supported by cfgc's runtime yet"),
        "{refusal}"
    );
    assert_eq!(
        refusal.matches("unsupported-module").count(),
        1,
        "{refusal}"
    );
    assert!(refusal.contains(":4:1"), "the loadmodule line: {refusal}");
    assert!(!refusal.contains("jsonrpcs"), "{refusal}");
    assert!(refusal.contains("not supported yet"), "{refusal}");

    // The interpreter refuses the same cfg (it shares the check).
    let out = Command::new(env!("CARGO_BIN_EXE_interp-proxy"))
        .arg(&with_tls)
        .args(["--", "-l", "udp:127.0.0.1:1", "-E"])
        .stdin(Stdio::null())
        .output()
        .expect("interp-proxy runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the interpreter runs it: {stderr}");
    assert!(stderr.contains("module `tls`"), "{stderr}");

    // Without tls: it builds, and answers an OPTIONS with 200, compiled
    // and interpreted.
    assert_eq!(build_refusal(&without), None);
    let bin = tests::build_proxy(&without, &[], "modules-issue-proxy");
    let (proxy, port) = start(&bin, None);
    assert_eq!(options(port), "SIP/2.0 200 x", "compiled");
    proxy.stop().expect("compiled proxy stops");
    let interp = Path::new(env!("CARGO_BIN_EXE_interp-proxy"));
    let (proxy, port) = start(interp, Some(&without));
    assert_eq!(options(port), "SIP/2.0 200 x", "interpreted");
    proxy.stop().expect("interpreter stops");
}

/// The modules `cfgc check` refuses ("not supported yet") in the stock
/// config with `defines`, sorted.
fn refused_modules(defines: &[&str]) -> Vec<String> {
    let report = cfgc_check(Path::new(STOCK_CFG), defines, false);
    let mut v: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "unsupported-module")
        .filter_map(|d| {
            let rest = d.message.strip_prefix("module `")?;
            Some(rest.split('`').next()?.to_string())
        })
        .collect();
    v.sort();
    v
}

/// The stock config loads jsonrpcs, ctl, cfg_rpc and counters always: with
/// no define nothing is refused. Each `WITH_*` define that loads a module
/// the runtime lacks refuses exactly those modules, each once.
#[test]
fn stock_define_sets_refuse_the_modules_the_runtime_lacks() {
    let report = cfgc_check(Path::new(STOCK_CFG), &[], false);
    let unsupported: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Unsupported)
        .map(|d| report.render(d))
        .collect();
    assert!(
        unsupported.is_empty(),
        "the stock config has unsupported items:\n{}",
        unsupported.concat()
    );
    for m in ["jsonrpcs", "ctl", "cfg_rpc", "counters"] {
        assert!(report_loads(&report, m), "the stock config loads {m}");
        assert!(module_support::is_supported(m), "{m}");
    }

    // The modules a define brings, by what it loads (`#!ifdef NAME` blocks
    // holding `loadmodule`), to compare with what cfgc refuses.
    const DBURL: &str = "DBURL=\"mysql://kamailio:kamailiorw@localhost/kamailio\"";
    let expected: &[(&str, &[&str])] = &[
        ("WITH_DEBUG", &["debugger"]),
        ("WITH_TLS", &["tls"]),
        // db_mysql is supported (runtime/src/db/): nothing refused.
        ("WITH_MYSQL", &[]),
        // nathelper and rtpproxy are supported (rtpengine too, with
        // WITH_RTPENGINE): nothing refused.
        ("WITH_NAT", &[]),
        // htable and pike are supported (tests/tests/htable.rs runs the
        // stock config with WITH_ANTIFLOOD): nothing refused.
        ("WITH_ANTIFLOOD", &[]),
        // auth and auth_db are supported: nothing refused.
        ("WITH_AUTH", &[]),
        ("WITH_JSONRPC", &["xhttp"]),
    ];
    let mut lines = Vec::new();
    for name in stock_with_defines() {
        let refused = refused_modules(&[name.as_str(), DBURL]);
        lines.push(format!("{name}: {}", refused.join(", ")));
        let mut dedup = refused.clone();
        dedup.dedup();
        assert_eq!(dedup, refused, "{name}: a module refused twice");
        for m in &refused {
            assert!(!module_support::is_supported(m), "{name}: {m} is supported");
        }
        if let Some((_, want)) = expected.iter().find(|(n, _)| *n == name) {
            for m in *want {
                assert!(
                    refused.iter().any(|r| r == m),
                    "{name} loads {m}, which cfgc does not refuse: {refused:?}"
                );
            }
        }
    }
    eprintln!("modules refused per define:\n{}", lines.join("\n"));
    for (name, _) in expected {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{name}:"))),
            "the stock config no longer tests {name}"
        );
    }
}

/// With a database, the accounting and location settings the stock
/// config then gives (acc's `db_*`, usrloc's `db_url` and `db_mode` 2)
/// are all implemented: nothing refused.
#[test]
fn stock_database_settings_are_implemented() {
    const DBURL: &str = "DBURL=\"mysql://kamailio:kamailiorw@localhost/kamailio\"";
    let report = cfgc_check(
        Path::new(STOCK_CFG),
        &["WITH_MYSQL", "WITH_ACCDB", "WITH_USRLOCDB", DBURL],
        false,
    );
    assert!(
        report
            .diagnostics
            .iter()
            .all(|d| d.code != "unsupported-modparam"),
        "{:#?}",
        report.diagnostics
    );
}

/// One `modparam` line through both ends: whether `cfgc check` refuses it
/// ("not supported yet") and whether the runtime refuses it at start-up.
fn verdicts(module: &str, param: &str, value: &cfgc_vocab::ModParamValue) -> (bool, bool) {
    use runtime::engine::params::ModParams;
    let written = match value {
        cfgc_vocab::ModParamValue::Int(n) => n.to_string(),
        cfgc_vocab::ModParamValue::Str(s) => format!("\"{s}\""),
        cfgc_vocab::ModParamValue::PvList(_) => unreachable!("not a cfg value"),
    };
    let cfg = format!(
        "loadmodule \"{module}.so\"\nmodparam(\"{module}\", \"{param}\", {written})\nrequest_route {{ exit; }}\n"
    );
    let report = cfgc::Config::new().check_source("t.cfg", cfg);
    assert!(
        !report.has_errors(),
        "{module}.{param} = {written}: {}",
        tests::rendered_errors(&report)
    );
    let build = report
        .diagnostics
        .iter()
        .any(|d| d.code == "unsupported-modparam");
    let mut p = ModParams::new();
    p.push(module, param, value.clone());
    (build, p.check_supported().is_err())
}

/// What the runtime refused at start-up before the table existed
/// (registrar's outbound and received_avp, acc's delayed inserts and
/// CDRs, rr's custom_user_avp, sanity's noreply, usrloc's matching mode
/// and column names, cfgutils' hash_file), and every other parameter and
/// no-op value of the table: the compiler refuses at build exactly what
/// the runtime refuses at start-up.
#[test]
fn build_time_and_start_up_refusals_agree() {
    use cfgc_vocab::{ModParamValue as V, ParamSupport};
    let old_refusals: &[(&str, &str, V)] = &[
        ("registrar", "xavp_cfg", V::Str("reg".into())),
        ("registrar", "outbound_mode", V::Int(1)),
        ("registrar", "sock_flag", V::Int(3)),
        ("acc", "db_insert_mode", V::Int(1)),
        ("acc", "cdr_enable", V::Int(1)),
        ("acc", "report_ack", V::Int(1)),
        ("acc", "detect_direction", V::Int(1)),
        ("acc", "time_mode", V::Int(1)),
        ("acc", "multi_leg_info", V::Str("caller=$avp(s)".into())),
        ("rr", "custom_user_avp", V::Str("$avp(u)".into())),
        ("rr", "sockname_mode", V::Int(1)),
        ("sanity", "noreply", V::Int(1)),
        ("usrloc", "matching_mode", V::Int(1)),
        ("usrloc", "user_column", V::Str("user".into())),
        (
            "cfgutils",
            "hash_file",
            V::Str("/etc/kamailio/kamailio.cfg".into()),
        ),
        // tm accepted and ignored what it does not implement.
        ("tm", "ruri_matching", V::Int(0)),
    ];
    for (m, p, v) in old_refusals {
        assert_eq!(verdicts(m, p, v), (true, true), "{m}.{p} = {v:?}");
    }
    let mut checked = 0;
    for m in cfgc_vocab::MODULES {
        let catalog = cfgc::catalog::module(m.name).expect("catalogued");
        for p in catalog.params {
            let support = m.param(p.name);
            let mut values = vec![match p.kind {
                cfgc::catalog::ParamKind::Str => V::Str("x-unlikely-value".into()),
                _ => V::Int(12_345),
            }];
            if let ParamSupport::NoOpIf(ok, _) = support {
                values.extend(ok.iter().map(|v| match v {
                    cfgc_vocab::NoOpValue::Int(n) => V::Int(*n),
                    cfgc_vocab::NoOpValue::Empty => V::Str(String::new()),
                    cfgc_vocab::NoOpValue::Text(t) => V::Str((*t).to_string()),
                }));
            }
            for v in values {
                let refused = !support.accepts(&v);
                assert_eq!(
                    verdicts(m.name, p.name, &v),
                    (refused, refused),
                    "{}.{} = {v:?} ({support:?}): (build, start-up) refusals",
                    m.name,
                    p.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 250, "only {checked} cases");
}

fn report_loads(report: &cfgc::Report, module: &str) -> bool {
    report.ast.items.iter().any(|i| {
        matches!(i, cfgc::syntax::ast::Item::LoadModule { path, .. }
            if cfgc::catalog::module_name_from_path(&path.text) == module)
    })
}

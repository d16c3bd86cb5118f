//! The invariant of issue 11 ("nothing silent"): lowering never leaves an
//! unsupported node (`Stmt::Unsupported`, `Expr::Unsupported`,
//! `Target::DynRoute`; a call that cannot run becomes `Stmt::Unsupported`)
//! without a diagnostic of severity "not supported yet" or error, and the
//! code generated for a program that lowers cleanly holds no
//! `compile_error!` (emitted only for unsupported nodes) nor `unreachable!`.
//!
//! Run over every cfg fixture of this crate (`tests/lowering/*.cfg` are
//! this test's own: each says on its first line whether it must generate
//! code or be refused as not supported yet), the stock
//! `/etc/kamailio/kamailio.cfg` with no define and with each `WITH_*` define
//! alone, and every Debian example config (read where Debian installs them).

use std::path::{Path, PathBuf};

use cfgc::Severity;
use cfgc::ir::{ArgVal, Call, Expr, KwCond, Program, Regex, Stmt, Target};

const STOCK_CFG: &str = "/etc/kamailio/kamailio.cfg";
const EXAMPLES_DIR: &str = "/usr/share/doc/kamailio/examples";

#[derive(Default)]
struct Count {
    nodes: usize,
}

fn walk_stmts(v: &[Stmt], c: &mut Count) {
    for s in v {
        match s {
            Stmt::Call(call) => walk_call(call, c),
            Stmt::If { cond, then, else_ } => {
                walk_expr(cond, c);
                walk_stmts(then, c);
                walk_stmts(else_, c);
            }
            Stmt::While { cond, body } => {
                walk_expr(cond, c);
                walk_stmts(body, c);
            }
            Stmt::Switch { expr, body, .. } => {
                walk_expr(expr, c);
                walk_stmts(body, c);
            }
            Stmt::Assign { rhs, .. } => walk_expr(rhs, c),
            Stmt::Return(e) | Stmt::Exit(e) => {
                if let Some(e) = e {
                    walk_expr(e, c);
                }
            }
            Stmt::Drop | Stmt::Break => {}
            Stmt::Unsupported(_) => c.nodes += 1,
        }
    }
}

fn walk_call(call: &Call, c: &mut Count) {
    if matches!(call.target, Target::DynRoute) {
        c.nodes += 1;
    }
    for a in &call.args {
        if let ArgVal::Expr(e) = a {
            walk_expr(e, c);
        }
    }
}

fn walk_regex(r: &Regex, c: &mut Count) {
    if let Regex::Dynamic(e) = r {
        walk_expr(e, c);
    }
}

fn walk_expr(e: &Expr, c: &mut Count) {
    match e {
        Expr::Unsupported => c.nodes += 1,
        Expr::Int(_) | Expr::Str(_) | Expr::Pv(_) => {}
        Expr::Not(x)
        | Expr::BitNot(x)
        | Expr::Neg(x)
        | Expr::Defined(x)
        | Expr::Strlen(x)
        | Expr::Strempty(x)
        | Expr::CastInt(x)
        | Expr::CastStr(x) => walk_expr(x, c),
        Expr::Binary(_, a, b) => {
            walk_expr(a, c);
            walk_expr(b, c);
        }
        Expr::Match(a, r) => {
            walk_expr(a, c);
            walk_regex(r, c);
        }
        Expr::Call(call, _) => walk_call(call, c),
        Expr::Selval(a, b, x) => {
            walk_expr(a, c);
            walk_expr(b, c);
            walk_expr(x, c);
        }
        Expr::Cond(k) => match k.as_ref() {
            KwCond::MethodEq(e, _) | KwCond::UriEq(_, e, _) | KwCond::IntCmp(_, _, e) => {
                walk_expr(e, c)
            }
            KwCond::MethodMatch(r) | KwCond::UriMatch(_, r) => walk_regex(r, c),
            KwCond::Myself(..) | KwCond::IpNet(..) | KwCond::IpMyself(..) | KwCond::ProtoEq(..) => {
            }
        },
    }
}

fn unsupported_nodes(p: &Program) -> usize {
    let mut c = Count::default();
    for r in &p.routes {
        walk_stmts(&r.body, &mut c);
    }
    c.nodes
}

/// What one run saw, for the totals asserted at the end.
#[derive(Default, Debug)]
struct Totals {
    runs: usize,
    lowered: usize,
    with_unsupported_nodes: usize,
    generated: usize,
}

/// Runs one cfg through lowering and codegen and checks the invariant;
/// failures are collected.
fn run(path: &Path, defines: &[&str], t: &mut Totals, failures: &mut Vec<String>) {
    let mut config = cfgc::Config::new();
    for d in defines {
        config.define_arg(d);
    }
    let g = config
        .generate_file(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    t.runs += 1;
    let what = format!("{} {defines:?}", path.display());
    // `tests/lowering/*.cfg` state their outcome.
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match text.lines().next() {
        Some("# expect: code") if g.code.is_none() => {
            failures.push(format!(
                "{what}: expected code, got {:?}",
                g.report.diagnostics
            ));
        }
        Some("# expect: unsupported")
            if g.code.is_some()
                || !g
                    .report
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == Severity::Unsupported) =>
        {
            failures.push(format!("{what}: expected a \"not supported yet\" refusal"));
        }
        _ => {}
    }
    let Some(program) = &g.program else {
        // Errors stop before lowering: nothing lowered, nothing to check.
        assert!(g.report.has_errors(), "{what}: no program and no error");
        return;
    };
    t.lowered += 1;
    let nodes = unsupported_nodes(program);
    let reported = g
        .report
        .diagnostics
        .iter()
        .filter(|d| matches!(d.severity, Severity::Unsupported | Severity::Error))
        .count();
    if nodes > 0 {
        t.with_unsupported_nodes += 1;
        if reported == 0 {
            failures.push(format!(
                "{what}: {nodes} unsupported node(s) in the IR and no \"not supported yet\" or error diagnostic"
            ));
        }
    }
    if let Some(code) = &g.code {
        t.generated += 1;
        if nodes > 0 {
            failures.push(format!(
                "{what}: code generated for a program with unsupported nodes"
            ));
        }
        for bad in ["compile_error!", "unreachable!("] {
            if code.contains(bad) {
                failures.push(format!("{what}: generated code holds `{bad}`"));
            }
        }
    }
}

fn cfgs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    out.extend(cfgc_test_support::files_ending(
        dir,
        &[".cfg", ".cfg.sample"],
    ));
}

#[test]
fn fixtures_never_lower_to_unreported_unsupported_nodes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = Vec::new();
    cfgs_under(&root.join("fixtures"), &mut files);
    cfgs_under(&root.join("codegen"), &mut files);
    cfgs_under(&root.join("lowering"), &mut files);
    files.sort();
    assert!(files.len() >= 60, "only {} fixtures found", files.len());
    let (mut t, mut failures) = (Totals::default(), Vec::new());
    for f in &files {
        run(f, &[], &mut t, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(t.generated >= 10, "{t:?}: too few fixtures reach codegen");
}

#[test]
fn stock_config_with_each_define_never_lowers_silently() {
    let text = std::fs::read_to_string(STOCK_CFG)
        .expect("/etc/kamailio/kamailio.cfg is missing: apt-get install kamailio");
    let mut defines: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("#!ifdef ")
                .or_else(|| l.strip_prefix("#!ifndef "))?;
            rest.split_whitespace()
                .next()
                .filter(|n| n.starts_with("WITH_"))
        })
        .collect();
    defines.sort();
    defines.dedup();
    assert!(defines.len() >= 15, "only {} WITH_* defines", defines.len());
    let (mut t, mut failures) = (Totals::default(), Vec::new());
    run(Path::new(STOCK_CFG), &[], &mut t, &mut failures);
    assert_eq!(t.generated, 1, "the stock config must build: {failures:?}");
    for d in &defines {
        run(Path::new(STOCK_CFG), &[d], &mut t, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(t.lowered > defines.len() / 2, "{t:?}");
}

#[test]
fn debian_examples_never_lower_silently() {
    let mut files = Vec::new();
    cfgs_under(Path::new(EXAMPLES_DIR), &mut files);
    files.sort();
    assert!(
        files.len() >= 60,
        "only {} example configs under {EXAMPLES_DIR}: apt-get install kamailio",
        files.len()
    );
    let (mut t, mut failures) = (Totals::default(), Vec::new());
    for f in &files {
        run(f, &[], &mut t, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(t.lowered >= 10, "{t:?}: too few examples lower");
    assert!(t.with_unsupported_nodes >= 1, "{t:?}: the walk never fires");
}

//! Data-driven front-end tests: every `fixtures/ok/*.cfg` must check with no
//! error, every `fixtures/err/*.cfg` must give at least one; the syntax tree
//! (ok) and the rendered diagnostics (both) are insta snapshots.
//!
//! Each fixture may start with `# defines: A B=1` to pass `-A` defines.
//!
//! `fixtures/check/*.cfg` are the checker's tests (see [`check_fixtures`]):
//! each states the diagnostic codes it must produce in a header.

use std::path::Path;

fn run(path: &Path) -> (cfgc::Report, String) {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let mut config = cfgc::Config::new();
    if let Some(line) = text.lines().next()
        && let Some(defs) = line.strip_prefix("# defines:")
    {
        for d in defs.split_whitespace() {
            config.define_arg(d);
        }
    }
    // A stable, relative name in the snapshots.
    let name = Path::new("fixtures")
        .join(
            path.parent()
                .and_then(|p| p.file_name())
                .unwrap_or_default(),
        )
        .join(path.file_name().unwrap_or_default());
    let report = config.check_source(name, text);
    let rendered: String = report
        .diagnostics
        .iter()
        .map(|d| report.render(d))
        .collect::<Vec<_>>()
        .join("\n");
    (report, rendered)
}

/// Spans must lie inside their file and be well-ordered.
fn assert_spans_in_bounds(report: &cfgc::Report) {
    for d in &report.diagnostics {
        for l in &d.labels {
            let f = report.sources.file(l.span.file);
            assert!(
                l.span.start <= l.span.end && (l.span.end as usize) <= f.text.len(),
                "label span {:?} out of bounds in {}",
                l.span,
                f.path.display()
            );
        }
    }
}

#[test]
fn ok_fixtures() {
    insta::glob!("fixtures/ok/*.cfg", |path| {
        let (report, rendered) = run(path);
        assert_spans_in_bounds(&report);
        assert!(
            !report.has_errors(),
            "{} has errors:\n{rendered}",
            path.display()
        );
        insta::assert_snapshot!("diagnostics", rendered);
        insta::assert_debug_snapshot!("ast", report.ast);
    });
}

#[test]
fn err_fixtures() {
    insta::glob!("fixtures/err/*.cfg", |path| {
        let (report, rendered) = run(path);
        assert_spans_in_bounds(&report);
        assert!(
            report.has_errors(),
            "{} has no errors:\n{rendered}",
            path.display()
        );
        insta::assert_snapshot!("diagnostics", rendered);
    });
}

/// The header of a `fixtures/check` file: its leading `# key: value` lines.
#[derive(Default)]
struct CheckHeader {
    /// `# expect: a, b`: the diagnostic codes, in source order (required;
    /// `# expect:` alone means none).
    expect: Option<Vec<String>>,
    /// `# expect-text: ...` (repeatable): text the rendered diagnostics
    /// must contain (a help, a severity).
    texts: Vec<String>,
    /// `# all-codes`: count `unsupported-function` too.
    all_codes: bool,
}

fn check_header(text: &str) -> CheckHeader {
    let mut h = CheckHeader::default();
    for line in text.lines() {
        let Some(line) = line.strip_prefix("# ") else {
            break;
        };
        if let Some(codes) = line.strip_prefix("expect:") {
            h.expect = Some(
                codes
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
        } else if let Some(t) = line.strip_prefix("expect-text:") {
            h.texts.push(t.trim().to_string());
        } else if line.trim() == "all-codes" {
            h.all_codes = true;
        }
    }
    h
}

/// The checker's tests: each `fixtures/check/*.cfg` goes through the whole
/// front end (preprocess, parse, check: what `cfgc check` does). The codes of
/// its diagnostics, in source order, must be the header's `# expect:` list,
/// and the rendered diagnostics must contain every `# expect-text:`; the
/// rendering is an insta snapshot, so a changed message or span shows too.
///
/// `unsupported-function`, `unsupported-module` and `unsupported-modparam`
/// say what cfgc's runtime implements today (`cfgc_vocab::BINDINGS`,
/// `cfgc_vocab::MODULES`), not what the checker found: they are left out of
/// the codes and the snapshot unless the fixture says `# all-codes` or
/// expects one of them.
#[test]
fn check_fixtures() {
    insta::glob!("fixtures/check/*.cfg", |path| {
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let header = check_header(&text);
        let Some(expect) = header.expect else {
            panic!("{}: no `# expect:` header", path.display());
        };
        const RUNTIME_CODES: [&str; 3] = [
            "unsupported-function",
            "unsupported-module",
            "unsupported-modparam",
        ];
        let keep_unsupported =
            header.all_codes || expect.iter().any(|c| RUNTIME_CODES.contains(&c.as_str()));
        let (report, _) = run(path);
        assert_spans_in_bounds(&report);
        let shown: Vec<&cfgc::Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| keep_unsupported || !RUNTIME_CODES.contains(&d.code))
            .collect();
        let rendered: String = shown
            .iter()
            .map(|d| report.render(d))
            .collect::<Vec<_>>()
            .join("\n");
        let codes: Vec<&str> = shown.iter().map(|d| d.code).collect();
        assert_eq!(codes, expect, "{}:\n{rendered}", path.display());
        for t in &header.texts {
            assert!(
                rendered.contains(t.as_str()),
                "{}: `{t}` not in:\n{rendered}",
                path.display()
            );
        }
        insta::assert_snapshot!("check", rendered);
    });
}

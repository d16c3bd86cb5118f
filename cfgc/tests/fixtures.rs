//! Data-driven front-end tests: every `fixtures/ok/*.cfg` must check with no
//! error, every `fixtures/err/*.cfg` must give at least one; the syntax tree
//! (ok) and the rendered diagnostics (both) are insta snapshots.
//!
//! Each fixture may start with `# defines: A B=1` to pass `-A` defines.

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

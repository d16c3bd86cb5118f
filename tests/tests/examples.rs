//! The example configs of the Debian package, compared with `kamailio -c`:
//! every file Kamailio accepts parses with cfgc; every file Kamailio rejects
//! with a syntax error, cfgc rejects too, at the same line.

use tests::{cfgc_check, example_configs, kamailio_check, rendered_errors};

#[test]
fn examples_agree_with_kamailio() {
    let files = example_configs();
    assert!(
        files.len() >= 60,
        "only {} example configs found",
        files.len()
    );
    let mut failures = Vec::new();
    let (mut accepted, mut syntax_rejected) = (0, 0);
    for f in &files {
        let kam = kamailio_check(f, &[]);
        if kam.accepted {
            accepted += 1;
            let report = cfgc_check(f, &[], true);
            if report.has_errors() {
                failures.push(format!(
                    "{}: kamailio accepts it, cfgc reports:\n{}",
                    f.display(),
                    rendered_errors(&report)
                ));
            }
        } else if let Some(line) = kam.syntax_error_line {
            syntax_rejected += 1;
            let report = cfgc_check(f, &[], false);
            let lines: Vec<usize> = report
                .errors()
                .filter_map(|d| report.location(d))
                .filter(|(p, _, _)| *p == f.as_path())
                .map(|(_, l, _)| l)
                .collect();
            if !lines.contains(&line) {
                failures.push(format!(
                    "{}: kamailio reports a syntax error at line {line}, cfgc errors at lines {lines:?}:\n{}",
                    f.display(),
                    rendered_errors(&report)
                ));
            }
        }
    }
    assert!(accepted >= 10, "kamailio accepted only {accepted} examples");
    assert!(
        syntax_rejected >= 5,
        "only {syntax_rejected} syntax rejections"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

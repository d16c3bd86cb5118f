//! The example configs of the Debian package, compared with Kamailio:
//! - every file `kamailio -c` accepts passes cfgc's FULL check (all passes,
//!   not only parsing), except where Kamailio itself refuses to start it:
//!   `kamailio -c` stops before the fixups, so a PV-format argument naming an
//!   unknown PV (`exec_msg("... $EMAIL ...")`) passes `-c` yet fails
//!   `kamailio -f` with "bad PVE format". cfgc reports that at check time;
//!   each such error must then be matched by Kamailio's own start-up failure
//!   (a "fixing failed ... at cfg:FILE:LINE" for the same action, and for an
//!   unknown PV, Kamailio's "error searching pvar" naming the same PV);
//! - every file Kamailio rejects with a syntax error, cfgc rejects too, at
//!   the same line;
//! - "not supported yet" is not an error: an accepted example may load
//!   modules cfgc's runtime lacks. Each such module (and only such a
//!   module) is refused once, where it is loaded; the report counts the
//!   accepted examples that load only supported modules, and which
//!   modules refuse the others.
//!
//! Some examples need module packages beyond `kamailio` (mysql, tls,
//! websocket); `.ci/run` installs them.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cfgc::catalog::module_support;
use cfgc_test_support::{Kamailio, free_port};
use tests::{cfgc_check, example_configs, kamailio_check, rendered_errors};

/// `kamailio -f FILE` up to its fixups: `Some(output)` if it refused to
/// start, `None` if it was still running (started) after the time limit.
fn kamailio_startup_failure(file: &Path) -> Option<String> {
    let port = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-examples-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&rundir).expect("run directory");
    let log = rundir.join("stderr.log");
    let err = std::fs::File::create(&log).expect("log file");
    let mut guard = Kamailio::new(file, format!("udp:127.0.0.1:{port}"), &rundir)
        .start(Stdio::null(), Stdio::from(err))
        .expect("start kamailio");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut exited = false;
    while Instant::now() < deadline {
        if guard.try_wait().is_some() {
            exited = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    guard.stop().expect("kamailio's processes stop");
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&rundir);
    exited.then_some(output)
}

/// The lines Kamailio names in "fix_actions(): fixing failed ... at cfg:FILE:LINE".
fn fixup_failure_lines(output: &str, file: &Path) -> Vec<usize> {
    let tag = format!("at cfg:{}:", file.display());
    output
        .lines()
        .filter(|l| l.contains("fixing failed"))
        .filter_map(|l| l.split_once(&tag)?.1.trim().parse().ok())
        .collect()
}

/// Whether Kamailio's start-up failure covers cfgc's error `d`: a fixup of
/// an action ending at, or at most ten lines after, cfgc's line (Kamailio
/// names the action's last line; a multi-line string argument ends later),
/// and for an unknown PV, Kamailio's "error searching pvar" for that name.
fn kamailio_reports_too(
    report: &cfgc::Report,
    d: &cfgc::Diagnostic,
    file: &Path,
    kam_lines: &[usize],
    output: &str,
) -> bool {
    let Some((p, line, _)) = report.location(d) else {
        return false;
    };
    if p != file || !kam_lines.iter().any(|&k| k >= line && k <= line + 10) {
        return false;
    }
    match d.message.strip_prefix("unknown PV `$") {
        Some(rest) => {
            let name = rest.trim_end_matches('`');
            output.contains(&format!("error searching pvar \"{name}\""))
        }
        None => true,
    }
}

#[test]
fn examples_agree_with_kamailio() {
    let files = example_configs();
    assert!(
        files.len() >= 60,
        "only {} example configs found",
        files.len()
    );
    let mut failures = Vec::new();
    let (mut accepted, mut clean, mut startup_refused, mut syntax_rejected) = (0, 0, 0, 0);
    let mut all_modules_supported = 0;
    let mut refused_modules: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &files {
        let kam = kamailio_check(f, &[]);
        if kam.accepted {
            accepted += 1;
            let report = cfgc_check(f, &[], false);
            let refused = module_refusals(&report, f, &mut failures);
            if refused.is_empty() {
                all_modules_supported += 1;
            }
            for m in refused {
                *refused_modules.entry(m).or_default() += 1;
            }
            if !report.has_errors() {
                clean += 1;
                continue;
            }
            let Some(output) = kamailio_startup_failure(f) else {
                failures.push(format!(
                    "{}: kamailio accepts and starts it, cfgc reports:\n{}",
                    f.display(),
                    rendered_errors(&report)
                ));
                continue;
            };
            let kam_lines = fixup_failure_lines(&output, f);
            let unmatched: Vec<String> = report
                .errors()
                .filter(|d| !kamailio_reports_too(&report, d, f, &kam_lines, &output))
                .map(|d| report.render(d))
                .collect();
            if unmatched.is_empty() {
                startup_refused += 1;
            } else {
                failures.push(format!(
                    "{}: kamailio -c accepts it; at start-up kamailio fails its fixups at lines \
                     {kam_lines:?}, but not for these cfgc errors:\n{}",
                    f.display(),
                    unmatched.concat()
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
    eprintln!(
        "examples: kamailio -c accepts {accepted}; cfgc full check clean on {clean}; \
         {startup_refused} refused by both (kamailio at start-up); {syntax_rejected} syntax rejections agree; \
         {all_modules_supported} load only modules cfgc's runtime supports; the others are \
         \"not supported yet\" for (module: examples) {refused_modules:?}"
    );
    assert!(
        all_modules_supported >= 1 && !refused_modules.is_empty(),
        "{all_modules_supported} accepted examples load only supported modules, refusing {refused_modules:?}"
    );
    assert!(
        accepted >= 16,
        "kamailio accepted only {accepted} examples: are the module packages of .ci/run installed?"
    );
    assert!(
        syntax_rejected >= 5,
        "only {syntax_rejected} syntax rejections"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(clean + startup_refused, accepted);
}

/// The modules `report` refuses as "not supported yet", checked against
/// what the file loads: each catalogued module the runtime lacks is refused
/// exactly once, and no supported module is (mismatches go to `failures`).
fn module_refusals(report: &cfgc::Report, f: &Path, failures: &mut Vec<String>) -> Vec<String> {
    let refused: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "unsupported-module")
        .filter_map(|d| {
            let rest = d.message.strip_prefix("module `")?;
            Some(rest.split('`').next()?.to_string())
        })
        .collect();
    let mut loaded: Vec<String> = report
        .ast
        .items
        .iter()
        .filter_map(|i| match i {
            cfgc::syntax::ast::Item::LoadModule { path, .. } => {
                Some(cfgc::catalog::module_name_from_path(&path.text).to_string())
            }
            _ => None,
        })
        .filter(|m| cfgc::catalog::module(m).is_some())
        .collect();
    loaded.sort();
    loaded.dedup();
    for m in &loaded {
        let n = refused.iter().filter(|r| *r == m).count();
        let want = usize::from(!module_support::is_supported(m));
        if n != want {
            failures.push(format!(
                "{}: module `{m}` refused {n} time(s), expected {want}",
                f.display()
            ));
        }
    }
    refused
}

//! The `cfgc` binary: exit codes, `-A` defines, `--format json`.

use std::process::Command;

fn cfgc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cfgc"))
        .args(args)
        .output()
        .expect("cfgc runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(p: &str) -> String {
    format!("{}/tests/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn clean_config_exits_zero() {
    let (code, _, err) = cfgc(&["check", &fixture("ok/routes.cfg")]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn errors_exit_one_and_render_like_rustc() {
    let (code, _, err) = cfgc(&["check", &fixture("err/missing_semicolon.cfg")]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error[syntax]: syntax error: unexpected `}`"),
        "{err}"
    );
    assert!(err.contains("missing_semicolon.cfg:6:5"), "{err}");
    assert!(err.contains("^ unexpected here"), "{err}");
}

#[test]
fn defines_reach_the_preprocessor() {
    // Without its defines the fixture refers to undefined names.
    let path = fixture("ok/preprocessor.cfg");
    let (code, _, _) = cfgc(&["check", &path]);
    assert_eq!(code, 1);
    let (code, _, err) = cfgc(&["check", "-A", "WITH_FEATURE", "-ALIMIT=70", &path]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn json_format_is_one_object_per_line() {
    let (code, out, _) = cfgc(&["check", "--format", "json", &fixture("err/many_errors.cfg")]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect();
    assert!(lines.len() >= 3, "{out}");
    assert_eq!(lines[0]["severity"], "error");
    assert_eq!(lines[0]["code"], "syntax");
    assert_eq!(lines[0]["labels"][0]["line"], 2);
    assert_eq!(lines[0]["labels"][0]["column"], 9);
}

#[test]
fn syntax_only_skips_checks_and_usage_errors_exit_two() {
    let (code, _, _) = cfgc(&["check", "--syntax-only", &fixture("ok/toplevel.cfg")]);
    assert_eq!(code, 0);
    assert_eq!(cfgc(&["check"]).0, 2);
    assert_eq!(cfgc(&["check", "--bogus", "x.cfg"]).0, 2);
    assert_eq!(cfgc(&["check", "/nonexistent/kamailio.cfg"]).0, 2);
    assert_eq!(cfgc(&["frobnicate"]).0, 2);
}

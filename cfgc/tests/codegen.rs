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
        "loadmodule \"tm.so\"\nrequest_route {\n    t_relay();\n}\n",
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

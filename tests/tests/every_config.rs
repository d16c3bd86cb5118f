//! Issue 11, "nothing silent": a configuration that `cfgc check` passes
//! (no error, nothing "not supported yet") must never fail in rustc.
//!
//! Every cfg cfgc's own tests hold (`cfgc/tests/{codegen,lowering,
//! fixtures}`), the stock `/etc/kamailio/kamailio.cfg` with no define and
//! with each of its `WITH_*` defines alone, and every Debian example config
//! go through the whole compiler; the code of each one that passes is a
//! module of ONE generated crate (`target/every-config/`), type-checked by
//! a single `cargo check` against the real runtime (2 cores: one build,
//! not one per cfg). A rustc error is reported with the cfg that produced
//! it. Generated code must also hold no `unreachable!`, `panic!`, `todo!`
//! or `compile_error!`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cfgc::Severity;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One configuration run: a file and its defines (`-A` form).
struct Run {
    file: PathBuf,
    defines: Vec<String>,
}

impl Run {
    fn name(&self) -> String {
        if self.defines.is_empty() {
            self.file.display().to_string()
        } else {
            format!("{} -A {}", self.file.display(), self.defines.join(" -A "))
        }
    }
}

fn runs() -> Vec<Run> {
    let mut files = Vec::new();
    for dir in ["codegen", "lowering", "fixtures"] {
        files.extend(cfgc_test_support::files_ending(
            &workspace().join("cfgc/tests").join(dir),
            &[".cfg"],
        ));
    }
    files.push(workspace().join("examples/stateless-proxy/kamailio.cfg"));
    files.extend(tests::example_configs());
    let mut v: Vec<Run> = files
        .into_iter()
        .map(|file| Run {
            file,
            defines: Vec::new(),
        })
        .collect();
    v.push(Run {
        file: PathBuf::from(tests::STOCK_CFG),
        defines: Vec::new(),
    });
    for d in tests::stock_with_defines() {
        v.push(Run {
            file: PathBuf::from(tests::STOCK_CFG),
            defines: vec![d],
        });
    }
    v
}

#[test]
fn every_config_cfgc_passes_compiles_in_rustc() {
    let started = Instant::now();
    let runs = runs();
    assert!(
        runs.len() >= 150,
        "only {} configurations found",
        runs.len()
    );
    let (mut generated, mut refused, mut errors) = (Vec::new(), 0usize, 0usize);
    let mut failures = Vec::new();
    for run in &runs {
        let mut config = cfgc::Config::new();
        for d in &run.defines {
            config.define_arg(d);
        }
        let g = config
            .generate_file(&run.file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", run.name()));
        if g.report.has_errors() {
            errors += 1;
            continue;
        }
        if g.report
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Unsupported)
        {
            refused += 1;
            if g.code.is_some() {
                failures.push(format!(
                    "{}: code generated although not supported yet",
                    run.name()
                ));
            }
            continue;
        }
        let Some(code) = g.code else {
            failures.push(format!(
                "{}: `cfgc check` passes but no code is generated",
                run.name()
            ));
            continue;
        };
        for bad in ["unreachable!", "panic!", "todo!", "compile_error!"] {
            if code.contains(bad) {
                failures.push(format!("{}: generated code holds `{bad}`", run.name()));
            }
        }
        generated.push((run.name(), code));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        generated.len() >= 25,
        "only {} configurations reach code generation",
        generated.len()
    );

    // One crate, one module per configuration.
    let dir = workspace().join("target").join("every-config");
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).expect("crate directory");
    let runtime = std::fs::canonicalize(workspace().join("runtime")).expect("runtime sources");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"every-config\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
[dependencies]\ncfgc-runtime = {{ path = {runtime:?}, default-features = false }}\n\n[workspace]\n"
        ),
    )
    .expect("Cargo.toml");
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    }
    let mut main = String::from(
        "//! Every configuration cfgc passes, one module each (tests/tests/every_config.rs).\n\n",
    );
    let mut arms = String::new();
    for (i, (name, code)) in generated.iter().enumerate() {
        std::fs::write(src.join(format!("cfg_{i:04}.rs")), code).expect("module");
        writeln!(
            main,
            "/// {name}\n#[path = \"cfg_{i:04}.rs\"]\nmod cfg_{i:04};"
        )
        .unwrap();
        writeln!(
            arms,
            "        \"{i}\" => ::cfgc_runtime::proxy::main(cfg_{i:04}::Script::new(), &cfg_{i:04}::settings()),"
        )
        .unwrap();
    }
    write!(
        main,
        "\nfn main() -> std::process::ExitCode {{\n    match std::env::var(\"CFG\").unwrap_or_default().as_str() {{\n{arms}        _ => std::process::ExitCode::FAILURE,\n    }}\n}}\n"
    )
    .unwrap();
    std::fs::write(src.join("main.rs"), main).expect("main.rs");

    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["check", "--message-format=short", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target").join("cfgc-cache").join("target"),
        )
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .output()
        .expect("cargo check runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // `src/cfg_0012.rs:3:5: error[E0308]: ...` → the configuration.
        let mut msg = String::new();
        for line in stderr.lines().filter(|l| l.contains("error")) {
            let cfg = line
                .split_once("src/cfg_")
                .and_then(|(_, rest)| rest.get(..4)?.parse::<usize>().ok())
                .and_then(|i| generated.get(i))
                .map_or("?", |(name, _)| name.as_str());
            writeln!(msg, "{cfg}: {line}").unwrap();
        }
        panic!("generated code fails in rustc:\n{msg}\n--- cargo:\n{stderr}");
    }
    eprintln!(
        "every_config: {} runs, {} generated and type-checked, {refused} refused as not supported yet, {errors} with errors ({:.1} s)",
        runs.len(),
        generated.len(),
        started.elapsed().as_secs_f64()
    );
}

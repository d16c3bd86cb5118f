//! The Rust cfgc generates compiles against the real runtime and is
//! clippy-clean (`-D warnings`): every codegen fixture, the examples and
//! the stock kamailio.cfg (read where Debian installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn configs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(workspace().join("cfgc/tests/codegen"))
        .expect("codegen fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cfg"))
        .collect();
    v.push(workspace().join("examples/stateless-proxy/kamailio.cfg"));
    v.sort();
    v.push(PathBuf::from(tests::STOCK_CFG));
    v
}

#[test]
fn generated_code_compiles_and_is_clippy_clean() {
    let cache = workspace().join("target").join("cfgc-cache");
    let cfgs = configs();
    assert!(cfgs.len() >= 2, "{cfgs:?}");
    for cfg in cfgs {
        let g = cfgc::Config::new().generate_file(&cfg).expect("readable");
        let code = g
            .code
            .unwrap_or_else(|| panic!("{}: no code generated", cfg.display()));
        let dir = cfgc::package::write_package(&cache, &cfg, &code).expect("package");
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["clippy", "--release", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .args(["--", "-D", "warnings"])
            .env("CARGO_TARGET_DIR", cache.join("target"))
            .env_remove("CARGO_MAKEFLAGS")
            .output()
            .expect("cargo clippy runs");
        assert!(
            out.status.success(),
            "{}: generated code does not pass clippy:\n{}",
            cfg.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

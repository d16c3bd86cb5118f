//! `cfgc build`: a generated cargo package in a cache directory, built with a
//! shared target directory so that a rebuild after editing the cfg compiles
//! only the generated code.
//!
//! Layout: `<cache>/proxies/<name>/{Cargo.toml, src/main.rs, src/script.rs}`
//! and `<cache>/target`. The cache is `$CFGC_CACHE`, else
//! `$XDG_CACHE_HOME/cfgc`, else `~/.cache/cfgc`. The runtime crate is found at
//! `$CFGC_RUNTIME`, else next to the cfgc sources it was built from.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where generated packages and their shared target directory live.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CFGC_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("cfgc");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache").join("cfgc")
}

/// The runtime crate's directory.
pub fn runtime_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CFGC_RUNTIME") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("runtime")
}

/// A name for the package: the cfg file's stem, as a crate name.
fn package_name(cfg: &Path) -> String {
    let stem = cfg
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("kamailio");
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    // Different cfgs with one stem must not share a package directory.
    let abs = std::fs::canonicalize(cfg).unwrap_or_else(|_| cfg.to_path_buf());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in abs.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    name.push_str(&format!("_{:08x}", h as u32));
    format!("cfgc_{name}")
}

/// Writes `path` only if its content changed (no needless rebuilds).
fn write_if_changed(path: &Path, content: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, content)
}

/// Writes the package for generated code and returns its directory.
///
/// # Errors
/// I/O errors writing the package.
pub fn write_package(cache: &Path, cfg: &Path, code: &str) -> std::io::Result<PathBuf> {
    let dir = cache.join("proxies").join(package_name(cfg));
    let runtime = std::fs::canonicalize(runtime_dir()).unwrap_or_else(|_| runtime_dir());
    let name = package_name(cfg);
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
[[bin]]\nname = \"{name}\"\npath = \"src/main.rs\"\n\n\
[dependencies]\ncfgc-runtime = {{ path = {runtime:?}, default-features = false }}\n\n\
[profile.release]\ncodegen-units = 16\nincremental = true\n\n\
[workspace]\n"
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    // Start from the runtime workspace's lock file: the same dependency
    // versions as the tested runtime, and no registry access when they are
    // already downloaded. Cargo adds the package's own entry.
    let lock = dir.join("Cargo.lock");
    if !lock.exists()
        && let Ok(workspace_lock) = std::fs::read_to_string(runtime.join("..").join("Cargo.lock"))
    {
        write_if_changed(&lock, &workspace_lock)?;
    }
    write_if_changed(&dir.join("src").join("script.rs"), code)?;
    write_if_changed(
        &dir.join("src").join("main.rs"),
        "//! A SIP proxy compiled from a kamailio.cfg by cfgc.\n\n\
mod script {\n    include!(\"script.rs\");\n}\n\n\
fn main() -> std::process::ExitCode {\n    ::cfgc_runtime::proxy::main(script::Script::new(), &script::SETTINGS)\n}\n",
    )?;
    Ok(dir)
}

/// Builds the package with cargo (release) and copies the binary to `out`.
///
/// # Errors
/// A message if cargo fails or the binary cannot be copied.
pub fn build(
    cache: &Path,
    dir: &Path,
    cfg: &Path,
    out: &Path,
    offline: bool,
) -> Result<(), String> {
    let target = cache.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target);
    if offline {
        cmd.arg("--offline");
    }
    // Build scripts and tests run cargo from cargo: do not inherit the
    // outer build's target directory or jobserver.
    cmd.env_remove("CARGO_MAKEFLAGS").env_remove("MAKEFLAGS");
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build failed ({status})"));
    }
    let bin = target.join("release").join(package_name(cfg));
    std::fs::copy(&bin, out)
        .map_err(|e| format!("cannot copy {} to {}: {e}", bin.display(), out.display()))?;
    Ok(())
}

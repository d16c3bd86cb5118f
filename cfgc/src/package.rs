//! `cfgc build`: a generated cargo package in a cache directory, built with a
//! shared target directory so that a rebuild after editing the cfg compiles
//! only the generated code.
//!
//! Layout: `<cache>/proxies/<name>/{Cargo.toml, src/main.rs, src/script.rs}`
//! and `<cache>/target`. The cache is `$CFGC_CACHE`, else
//! `$XDG_CACHE_HOME/cfgc`, else `~/.cache/cfgc`. The runtime crate is found at
//! `$CFGC_RUNTIME`, else next to the cfgc sources it was built from.
//!
//! `cfgc run --interpret` gets its interpreter the same way
//! ([`interpreter`]): `<cache>/interp/` is a package whose binary calls the
//! `cfgc-interp` crate (`$CFGC_INTERP`, else next to the cfgc sources),
//! built in the same target directory, so it is compiled once and
//! afterwards only when its sources change (cargo decides).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fsutil::write_if_changed;

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

/// The interpreter crate's directory (`cfgc-interp`).
pub fn interp_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CFGC_INTERP") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("interp")
}

/// A name for the package: the cfg file's stem, as a crate name.
fn package_name(cfg: &Path) -> String {
    let stem = cfg
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("kamailio");
    let mut name = crate::codegen::ident_part(stem);
    // Different cfgs with one stem must not share a package directory.
    let abs = std::fs::canonicalize(cfg).unwrap_or_else(|_| cfg.to_path_buf());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in abs.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    name.push_str(&format!("_{:08x}", h as u32));
    format!("cfgc_{name}")
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
    seed_lock(&dir, &runtime)?;
    write_if_changed(&dir.join("src").join("script.rs"), code)?;
    write_if_changed(
        &dir.join("src").join("main.rs"),
        "//! A SIP proxy compiled from a kamailio.cfg by cfgc.\n\n\
mod script {\n    include!(\"script.rs\");\n}\n\n\
fn main() -> std::process::ExitCode {\n    ::cfgc_runtime::proxy::main(script::Script::new(), &script::settings())\n}\n",
    )?;
    Ok(dir)
}

/// Starts a package's lock file from the workspace's of `krate` (a crate
/// of the cfgc checkout): the same dependency versions as the tested
/// runtime, and no registry access when they are already downloaded.
/// Cargo adds the package's own entry.
fn seed_lock(dir: &Path, krate: &Path) -> std::io::Result<()> {
    let lock = dir.join("Cargo.lock");
    if !lock.exists()
        && let Ok(workspace_lock) = std::fs::read_to_string(krate.join("..").join("Cargo.lock"))
    {
        write_if_changed(&lock, &workspace_lock)?;
    }
    Ok(())
}

/// The interpreter for `cfgc run --interpret`: writes the package
/// `<cache>/interp/` (a binary calling `cfgc_interp::cli::main`), builds it
/// with cargo (release, the shared target directory; a no-op when nothing
/// changed) and returns the binary's path.
///
/// # Errors
/// A message if the package cannot be written or cargo fails.
pub fn interpreter(cache: &Path, offline: bool) -> Result<PathBuf, String> {
    let dir = cache.join("interp");
    let interp = std::fs::canonicalize(interp_dir()).unwrap_or_else(|_| interp_dir());
    if !interp.join("Cargo.toml").exists() {
        return Err(format!(
            "the cfgc-interp sources are not at {} (set CFGC_INTERP)",
            interp.display()
        ));
    }
    let manifest = format!(
        "[package]\nname = \"cfgc-interp-runner\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
[[bin]]\nname = \"{INTERP_BIN}\"\npath = \"src/main.rs\"\n\n\
[dependencies]\ncfgc-interp = {{ path = {interp:?} }}\n\n\
[profile.release]\ncodegen-units = 16\nincremental = true\n\n\
# cfgc's build script runs lalrpop: slow unoptimised.\n\
[profile.release.build-override]\nopt-level = 3\n\n\
[workspace]\n"
    );
    let written = (|| {
        write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
        seed_lock(&dir, &interp)?;
        write_if_changed(
            &dir.join("src").join("main.rs"),
            "//! cfgc's interpreter (`cfgc run --interpret`), built on demand by cfgc.\n\n\
fn main() -> std::process::ExitCode {\n    cfgc_interp::cli::main(std::env::args().skip(1))\n}\n",
        )
    })();
    written.map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    cargo_build(cache, &dir, offline)?;
    Ok(cache.join("target").join("release").join(INTERP_BIN))
}

/// The binary name of the interpreter package.
const INTERP_BIN: &str = "cfgc-interp";

/// `cargo build --release` of the package in `dir`, in the shared target
/// directory.
fn cargo_build(cache: &Path, dir: &Path, offline: bool) -> Result<(), String> {
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
    Ok(())
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
    cargo_build(cache, dir, offline)?;
    let target = cache.join("target");
    let bin = target.join("release").join(package_name(cfg));
    // Copied beside `out`, then renamed over it: a proxy still running
    // from `out` keeps its file (copying onto it fails with "Text file
    // busy").
    let mut tmp_name = out.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = out.with_file_name(tmp_name);
    std::fs::copy(&bin, &tmp)
        .and_then(|_| std::fs::rename(&tmp, out))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot copy {} to {}: {e}", bin.display(), out.display())
        })?;
    Ok(())
}

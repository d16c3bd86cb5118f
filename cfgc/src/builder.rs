//! Compiling a `kamailio.cfg` from a build script, as `prost-build` and
//! lalrpop's `Configuration` do for their inputs.
//!
//! In `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! cfgc-runtime = { path = "../runtime", default-features = false }
//!
//! [build-dependencies]
//! cfgc = { path = "../cfgc" }
//! ```
//!
//! In `build.rs`:
//!
//! ```no_run
//! fn main() -> Result<(), cfgc::BuildError> {
//!     cfgc::Builder::new().define("WITH_DEBUG").compile("kamailio.cfg")?;
//!     Ok(())
//! }
//! ```
//!
//! In `src/main.rs`, the generated `Script` and `settings()` (compiled for
//! real in `examples/build-rs`):
//!
//! ```text
//! include!(concat!(env!("OUT_DIR"), "/kamailio_cfg.rs"));
//!
//! fn main() -> std::process::ExitCode {
//!     cfgc_runtime::proxy::main(Script::new(), &settings())
//! }
//! ```
//!
//! Cargo reruns the build script when the cfg or a file it includes
//! changes, and only then; the output file is rewritten only when its text
//! changes, so an unchanged cfg does not recompile the crate.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fsutil::write_if_changed;
use crate::{Config, Severity};

/// Compiles a configuration into a Rust file in `OUT_DIR`, for build
/// scripts. Setters take and return `&mut Self`.
#[derive(Clone, Debug)]
pub struct Builder {
    config: Config,
    out_dir: Option<PathBuf>,
    file_name: String,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            config: Config::new(),
            out_dir: None,
            file_name: "kamailio_cfg.rs".into(),
        }
    }
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Kamailio's `-A NAME`: defines `NAME` with no value.
    pub fn define(&mut self, name: impl Into<String>) -> &mut Self {
        self.config.define(name);
        self
    }

    /// Kamailio's `-A NAME=VALUE`, with a raw value (quote it yourself for a
    /// string: `define_value("DBURL", "\"mysql://...\"")`).
    pub fn define_value(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.config.define_value(name, value);
        self
    }

    /// Kamailio's `-A` argument as written: `NAME` or `NAME=VALUE`.
    pub fn define_arg(&mut self, arg: &str) -> &mut Self {
        self.config.define_arg(arg);
        self
    }

    /// `--subst=EXP`, `--substdef=EXP` or `--substdefs=EXP` (`kind` is the
    /// directive name without dashes).
    pub fn subst(&mut self, kind: &str, expr: impl Into<String>) -> &mut Self {
        self.config.subst(kind, expr);
        self
    }

    /// The path generated code uses for the runtime crate (default
    /// `::cfgc_runtime`), for a crate that renames its dependency.
    pub fn runtime_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.config.runtime_path(path);
        self
    }

    /// Where to write the generated file (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The generated file's name in the output directory (default
    /// `kamailio_cfg.rs`).
    pub fn file_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.file_name = name.into();
        self
    }

    /// Compiles `cfg` (relative to `$CARGO_MANIFEST_DIR` unless absolute)
    /// and writes the generated Rust to the output directory, unless the
    /// file there already has that text. Returns the file's path.
    ///
    /// Prints `cargo:rerun-if-changed=` for the cfg and every file it
    /// includes, and each warning as `cargo:warning=` lines.
    ///
    /// # Errors
    /// The rendered diagnostics if the cfg has errors or uses what the
    /// runtime does not support yet; an I/O error if the cfg cannot be read
    /// or the output written; [`BuildError::NoOutDir`] outside a build
    /// script without [`Builder::out_dir`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // build.rs
    /// fn main() -> Result<(), cfgc::BuildError> {
    ///     cfgc::Builder::new()
    ///         .define("WITH_NAT")
    ///         .define_value("NEXT_PORT", "5070")
    ///         .compile("kamailio.cfg")?;
    ///     Ok(())
    /// }
    /// ```
    pub fn compile(&self, cfg: impl AsRef<Path>) -> Result<PathBuf, BuildError> {
        self.compile_to(cfg.as_ref(), &mut std::io::stdout().lock())
    }

    /// [`Builder::compile`], with the cargo directives written to `cargo`.
    fn compile_to(&self, cfg: &Path, cargo: &mut dyn Write) -> Result<PathBuf, BuildError> {
        let cfg = resolve(cfg);
        let out_dir = match (&self.out_dir, std::env::var_os("OUT_DIR")) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => PathBuf::from(dir),
            (None, None) => return Err(BuildError::NoOutDir),
        };
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BuildError::Io { path, source }
        };
        // Before anything can fail: a fixed cfg must rerun the script.
        let mut directives = format!("cargo:rerun-if-changed={}\n", cfg.display());
        let generated = self.config.generate_file(&cfg);
        if let Ok(g) = &generated {
            for f in g.report.files_read.iter().filter(|f| **f != cfg) {
                directives += &format!("cargo:rerun-if-changed={}\n", f.display());
            }
            for d in &g.report.diagnostics {
                if d.severity == Severity::Warning {
                    for line in g.report.render(d).lines() {
                        directives += &format!("cargo:warning={line}\n");
                    }
                }
            }
        }
        cargo
            .write_all(directives.as_bytes())
            .map_err(io(Path::new("<stdout>")))?;
        let g = generated.map_err(io(&cfg))?;
        let Some(code) = g.code else {
            let rendered = g
                .report
                .diagnostics
                .iter()
                .filter(|d| d.severity != Severity::Warning)
                .map(|d| g.report.render(d))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(BuildError::Diagnostics(rendered));
        };
        let out = out_dir.join(&self.file_name);
        write_if_changed(&out, &code).map_err(io(&out))?;
        Ok(out)
    }

    /// The Rust text `kamailio_cfg!` expands to (the macro only parses its
    /// arguments into a `Builder` and calls this): the generated code, and
    /// `const _: &[u8] = include_bytes!(..)` for every file read so that
    /// cargo recompiles when one changes.
    ///
    /// If the cfg has errors or uses what the runtime does not support yet:
    /// one `compile_error!` per such diagnostic, `path:line:col: ` then the
    /// diagnostic rendered like rustc's (with the source line), plus a stub
    /// `Script` whose `request_route` returns `Ok(1)` and a default
    /// `settings()`: a deliberate fallback (askama's `build_skeleton`) so that the code
    /// using them still type-checks and the cfg's errors are the only ones.
    /// A macro cannot emit warnings on stable Rust; use [`Builder::compile`]
    /// or `cfgc check` to see them.
    pub fn expand(&self, cfg: impl AsRef<Path>) -> String {
        let cfg = resolve(cfg.as_ref());
        let g = match self.config.generate_file(&cfg) {
            Ok(g) => g,
            Err(e) => return self.stub([format!("{}: {e}", cfg.display())]),
        };
        let mut out = String::new();
        for f in &g.report.files_read {
            out += &format!(
                "const _: &[u8] = ::core::include_bytes!({:?});\n",
                f.display().to_string()
            );
        }
        match g.code {
            Some(code) => out += &code,
            None => {
                out += &self.stub(
                    g.report
                        .diagnostics
                        .iter()
                        .filter(|d| d.severity != Severity::Warning)
                        .map(|d| {
                            // The location on the first line as well, for
                            // tools that keep only that line (trybuild
                            // erases line numbers from `-->` lines).
                            let rendered = g.report.render(d);
                            match g.report.location(d) {
                                Some((p, l, c)) => format!("{}:{l}:{c}: {rendered}", p.display()),
                                None => rendered,
                            }
                        }),
                );
            }
        }
        out
    }

    /// `compile_error!`s and the stub script of [`Builder::expand`].
    fn stub(&self, errors: impl IntoIterator<Item = String>) -> String {
        let mut out = String::new();
        for e in errors {
            out += &format!("::core::compile_error!({e:?});\n");
        }
        let rt = &self.config.codegen.runtime_path;
        out += &format!(
            "/// A stub: the cfg did not compile.
pub struct Script;
impl Script {{
    pub fn new() -> Self {{
        Self
    }}
}}
impl {rt}::engine::Script for Script {{
    fn request_route(&self, _: &mut {rt}::engine::Ctx<'_>) -> {rt}::engine::Flow {{
        ::core::result::Result::Ok(1)
    }}
}}
/// A stub: the cfg did not compile.
pub fn settings() -> {rt}::proxy::Settings {{
    ::core::default::Default::default()
}}
"
        );
        out
    }
}

/// `cfg` relative to `$CARGO_MANIFEST_DIR` unless absolute, canonical when
/// it exists (messages then name the real file).
fn resolve(cfg: &Path) -> PathBuf {
    let cfg = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(dir) if cfg.is_relative() => Path::new(&dir).join(cfg),
        _ => cfg.to_path_buf(),
    };
    std::fs::canonicalize(&cfg).unwrap_or(cfg)
}

/// Why [`Builder::compile`] failed.
///
/// `Debug` prints the same text as `Display`, so that `fn main() ->
/// Result<(), BuildError>` in a build script shows readable diagnostics.
#[non_exhaustive]
pub enum BuildError {
    /// The configuration has errors, or uses what the runtime does not
    /// support yet: the diagnostics, rendered like rustc's.
    Diagnostics(String),
    /// Reading the configuration or writing the output failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Neither [`Builder::out_dir`] nor `$OUT_DIR` is set.
    NoOutDir,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Diagnostics(rendered) => f.write_str(rendered),
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::NoOutDir => f.write_str("no output directory: OUT_DIR is not set (not a build script?) and Builder::out_dir was not called"),
        }
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the target directory's tmp.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("tmp")
            .join(format!("builder-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::canonicalize(dir).expect("canonical")
    }

    fn compile(b: &Builder, cfg: &Path) -> (Result<PathBuf, BuildError>, String) {
        let mut cargo = Vec::new();
        let r = b.compile_to(cfg, &mut cargo);
        (r, String::from_utf8(cargo).expect("utf-8"))
    }

    const MAIN: &str = "loadmodule \"sl.so\"\nloadmodule \"pv.so\"\n\
include_file \"routes.cfg\"\n\
request_route {\n    if ($var(n) == 1) {\n        exit;\n    }\n    route(REPLY);\n}\n";
    const ROUTES: &str = "route[REPLY] {\n    sl_send_reply(\"200\", \"OK\");\n}\n";

    #[test]
    fn writes_once_and_lists_included_files() {
        let dir = temp_dir("once");
        let cfg = dir.join("main.cfg");
        std::fs::write(&cfg, MAIN).expect("write");
        std::fs::write(dir.join("routes.cfg"), ROUTES).expect("write");
        let out = dir.join("out");
        let mut b = Builder::new();
        b.out_dir(&out).file_name("script.rs");

        let (path, cargo) = compile(&b, &cfg);
        let path = path.expect("compiles");
        assert_eq!(path, out.join("script.rs"));
        let code = std::fs::read_to_string(&path).expect("written");
        assert!(code.starts_with("// @generated by cfgc"), "{code}");
        assert!(code.contains("pub struct Script"), "{code}");
        let lines: Vec<&str> = cargo.lines().collect();
        assert_eq!(
            lines[..2],
            [
                format!("cargo:rerun-if-changed={}", cfg.display()),
                format!(
                    "cargo:rerun-if-changed={}",
                    dir.join("routes.cfg").display()
                ),
            ],
        );
        // The warning, rendered, one `cargo:warning=` per line.
        assert!(
            lines[2].starts_with("cargo:warning=warning[var-not-reset]: "),
            "{cargo}"
        );
        assert!(
            lines[3..].iter().all(|l| l.starts_with("cargo:warning=")),
            "{cargo}"
        );
        assert!(
            lines.contains(&"cargo:warning=5 |     if ($var(n) == 1) {"),
            "{cargo}"
        );

        // Unchanged input: the file is not rewritten.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(old))
            .expect("set mtime");
        compile(&b, &cfg).0.expect("compiles again");
        let mtime = std::fs::metadata(&path).and_then(|m| m.modified());
        assert_eq!(mtime.expect("mtime"), old);

        // Changed input: it is.
        std::fs::write(dir.join("routes.cfg"), ROUTES.replace("OK", "Fine")).expect("write");
        compile(&b, &cfg).0.expect("compiles");
        assert!(
            std::fs::read_to_string(&path)
                .expect("read")
                .contains("Fine")
        );
        assert_ne!(
            std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .expect("mtime"),
            old
        );
    }

    #[test]
    fn errors_are_rendered_and_nothing_is_written() {
        let dir = temp_dir("errors");
        let cfg = dir.join("bad.cfg");
        std::fs::write(&cfg, "request_route {\n    route(NOWHERE);\n}\n").expect("write");
        let (r, cargo) = compile(Builder::new().out_dir(dir.join("out")), &cfg);
        let err = r.expect_err("undefined route").to_string();
        assert!(
            err.contains(&format!("--> {}:2:11", cfg.display())),
            "{err}"
        );
        assert!(err.contains("route(NOWHERE);"), "{err}");
        assert_eq!(format!("{:?}", BuildError::Diagnostics(err.clone())), err);
        // Rerun when the broken file is fixed.
        assert!(cargo.starts_with(&format!("cargo:rerun-if-changed={}\n", cfg.display())));
        assert!(!dir.join("out").join("kamailio_cfg.rs").exists());
    }

    #[test]
    fn missing_out_dir_and_missing_file() {
        let dir = temp_dir("missing");
        let err = compile(Builder::new().out_dir(&dir), &dir.join("nope.cfg"))
            .0
            .expect_err("no such file");
        assert!(matches!(err, BuildError::Io { .. }), "{err}");
        if std::env::var_os("OUT_DIR").is_none() {
            let err = compile(&Builder::new(), &dir.join("nope.cfg")).0;
            assert!(matches!(err, Err(BuildError::NoOutDir)));
        }
    }

    #[test]
    fn expand_adds_include_bytes_for_every_file_read() {
        let dir = temp_dir("expand");
        std::fs::write(dir.join("main.cfg"), MAIN).expect("write");
        std::fs::write(dir.join("routes.cfg"), ROUTES).expect("write");
        let text = Builder::new().expand(dir.join("main.cfg"));
        for f in ["main.cfg", "routes.cfg"] {
            let include = format!(
                "const _: &[u8] = ::core::include_bytes!({:?});",
                dir.join(f).display().to_string()
            );
            assert!(text.contains(&include), "{text}");
        }
        assert!(text.contains("use ::cfgc_runtime::script as rt;"), "{text}");
        assert!(text.contains("impl rt::Script for Script"), "{text}");
        assert!(!text.contains("compile_error!"), "{text}");
        syn::parse_file(&text).expect("valid Rust");
    }

    #[test]
    fn expand_turns_errors_into_compile_errors_and_a_stub() {
        let dir = temp_dir("expand-err");
        let cfg = dir.join("bad.cfg");
        std::fs::write(&cfg, "request_route {\n    route(NOWHERE);\n}\n").expect("write");
        let text = Builder::new().runtime_path("::rt").expand(&cfg);
        let file = syn::parse_file(&text).expect("valid Rust");
        let errors: Vec<String> = file
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Macro(m) if m.mac.path.segments.last()?.ident == "compile_error" => {
                    Some(m.mac.parse_body::<syn::LitStr>().ok()?.value())
                }
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{text}");
        assert!(
            errors[0].contains(&format!("--> {}:2:11", cfg.display())),
            "{text}"
        );
        assert!(errors[0].contains("route(NOWHERE);"), "{text}");
        assert!(
            text.contains("impl ::rt::engine::Script for Script"),
            "{text}"
        );
        assert!(
            text.contains("pub fn settings() -> ::rt::proxy::Settings"),
            "{text}"
        );
        assert!(text.contains(&format!("include_bytes!({:?})", cfg.display().to_string())));

        // An unreadable file: its error, and still the stub.
        let text = Builder::new().expand(dir.join("nope.cfg"));
        assert!(text.starts_with("::core::compile_error!("), "{text}");
        assert!(text.contains("pub struct Script;"), "{text}");
    }
}

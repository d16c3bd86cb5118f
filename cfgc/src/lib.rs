//! cfgc: compiles a Kamailio `kamailio.cfg` into Rust.
//!
//! Passes, in order (see `ARCHITECTURE.md` at the repository root):
//! 1. preprocess + lex ([`syntax::lex`]): `#!` directives, defines, includes;
//! 2. parse ([`syntax::parse_tokens`]): the LALRPOP grammar, with recovery;
//! 3. check ([`check::check`]): names, modules, calls, PVs, lints;
//! 4. lower ([`ir::lower`]): the checked tree becomes an [`ir::Program`],
//!    which the interpreter (`interp/`) runs directly;
//! 5. generate ([`codegen::generate`], [`codegen::format_file`]): Rust source
//!    for the program, which [`builder`] and [`package`] compile against
//!    the runtime crate.
//!
//! [`Config::check_file`] runs passes 1–3 (and lowering too with
//! [`Config::lower`], as `cfgc check` does, so its report lists what
//! lowering refuses), [`Config::generate_file`] all five (lowering only if
//! the check found no error; code generation only if nothing is
//! unsupported either). Every pass collects [`Diagnostic`]s and goes on; a
//! [`Report`] holds them all, with the [`SourceMap`] needed to render them.
//!
//! ```no_run
//! let report = cfgc::Config::new()
//!     .define("WITH_NAT")
//!     .check_file("/etc/kamailio/kamailio.cfg")
//!     .expect("readable file");
//! for d in &report.diagnostics {
//!     eprint!("{}", report.render(d));
//! }
//! ```

pub mod builder;
pub mod catalog;
pub mod check;
pub mod codegen;
pub mod diag;
mod fsutil;
pub mod ir;
pub mod package;
pub mod source;
pub mod syntax;

use std::path::{Path, PathBuf};

pub use builder::{BuildError, Builder};
pub use diag::{Diagnostic, Severity};
pub use source::{FileId, SourceMap, Span};

/// How to compile: defines (`-A`), substitutions, which passes to run.
/// One builder shared by the CLI, build scripts and the macro.
#[derive(Clone, Debug, Default)]
pub struct Config {
    lex: syntax::LexOptions,
    syntax_only: bool,
    lower: bool,
    codegen: codegen::Options,
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// `-A NAME`: defines `NAME` with no value.
    pub fn define(&mut self, name: impl Into<String>) -> &mut Self {
        self.lex.defines.push((name.into(), None));
        self
    }

    /// `-A NAME=VALUE`: defines `NAME` with a raw value (quote it yourself
    /// for a string: `define_value("DBURL", "\"mysql://...\"")`).
    pub fn define_value(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.lex.defines.push((name.into(), Some(value.into())));
        self
    }

    /// Kamailio's `-A` argument as written: `NAME` or `NAME=VALUE`.
    pub fn define_arg(&mut self, arg: &str) -> &mut Self {
        match arg.split_once('=') {
            Some((n, v)) => self.define_value(n, v),
            None => self.define(arg),
        }
    }

    /// `--subst=EXP`, `--substdef=EXP` or `--substdefs=EXP` (`kind` is the
    /// directive name without dashes).
    pub fn subst(&mut self, kind: &str, expr: impl Into<String>) -> &mut Self {
        self.lex.substs.push((kind.to_string(), expr.into()));
        self
    }

    /// Stop after parsing (no semantic checks).
    pub fn syntax_only(&mut self, yes: bool) -> &mut Self {
        self.syntax_only = yes;
        self
    }

    /// Also lower when checking ([`Config::check_file`]) if the checks
    /// found no error, so the report holds lowering's diagnostics too
    /// (what the runtime cannot run, core parameters included), as
    /// `cfgc check` shows them.
    pub fn lower(&mut self, yes: bool) -> &mut Self {
        self.lower = yes;
        self
    }

    /// The path generated code uses for the runtime crate (default
    /// `::cfgc_runtime`).
    pub fn runtime_path(&mut self, path: impl Into<String>) -> &mut Self {
        self.codegen.runtime_path = path.into();
        self
    }

    /// Reads a configuration, checks it, and generates Rust for it.
    ///
    /// # Errors
    /// Only if the main file cannot be read. Errors in the configuration and
    /// constructs the runtime does not support are diagnostics in
    /// [`Generated::report`]; then `code` is `None`.
    pub fn generate_file(&self, path: impl AsRef<Path>) -> std::io::Result<Generated> {
        let mut sources = SourceMap::new();
        let main = sources.load(path.as_ref(), None)?;
        Ok(self.generate(sources, main))
    }

    /// As [`Config::generate_file`], for text in memory.
    pub fn generate_source(&self, name: impl Into<PathBuf>, text: impl Into<String>) -> Generated {
        let mut sources = SourceMap::new();
        let main = sources.add(name, text.into(), None);
        self.generate(sources, main)
    }

    fn generate(&self, sources: SourceMap, main: FileId) -> Generated {
        let name = sources.file(main).path.display().to_string();
        let (mut report, checked) = self.run_passes(sources, main, true);
        let blocked = |r: &Report| {
            r.diagnostics
                .iter()
                .any(|d| d.is_error() || d.severity == Severity::Unsupported)
        };
        // Lowering runs after "not supported yet" too, so one run lists
        // everything; only errors stop it.
        let Some(checked) = checked.filter(|_| !report.has_errors()) else {
            return Generated {
                report,
                program: None,
                code: None,
            };
        };
        let (program, diags) = ir::lower(&report.ast, &checked, &report.sources);
        report.diagnostics.extend(diags);
        if blocked(&report) {
            return Generated {
                report,
                program: Some(program),
                code: None,
            };
        }
        let tokens = codegen::generate(&program, &self.codegen);
        let code = match codegen::format_file(tokens, &name) {
            Ok(c) => Some(c),
            Err(e) => {
                report.diagnostics.push(Diagnostic::error(
                    "codegen",
                    format!("internal error: generated code does not parse: {e}"),
                ));
                None
            }
        };
        Generated {
            report,
            program: Some(program),
            code,
        }
    }

    /// Reads and checks a configuration file and everything it includes.
    ///
    /// # Errors
    /// Only if the main file cannot be read; everything else is a diagnostic.
    pub fn check_file(&self, path: impl AsRef<Path>) -> std::io::Result<Report> {
        let mut sources = SourceMap::new();
        let main = sources.load(path.as_ref(), None)?;
        Ok(self.run(sources, main))
    }

    /// Checks configuration text held in memory (`name` is used in messages
    /// and to resolve relative includes).
    pub fn check_source(&self, name: impl Into<PathBuf>, text: impl Into<String>) -> Report {
        let mut sources = SourceMap::new();
        let main = sources.add(name, text.into(), None);
        self.run(sources, main)
    }

    fn run(&self, sources: SourceMap, main: FileId) -> Report {
        let (mut report, checked) = self.run_passes(sources, main, !self.syntax_only);
        if self.lower
            && let Some(checked) = checked
            && !report.has_errors()
        {
            let (_, diags) = ir::lower(&report.ast, &checked, &report.sources);
            report.diagnostics.extend(diags);
            report
                .diagnostics
                .sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start)));
        }
        report
    }

    fn run_passes(
        &self,
        mut sources: SourceMap,
        main: FileId,
        checks: bool,
    ) -> (Report, Option<check::CheckOutput>) {
        let lexed = syntax::lex(&mut sources, main, &self.lex);
        let mut diagnostics = lexed.diagnostics;
        let (ast, parse_diags) = syntax::parse_tokens(&lexed.tokens);
        diagnostics.extend(parse_diags);
        let mut checked = None;
        if checks {
            let mut out = check::check(&sources, &ast, &check::CheckOptions::default());
            diagnostics.append(&mut out.diagnostics);
            checked = Some(out);
        }
        // In source order, as a reader goes through the file; the sort is
        // stable, so diagnostics at one place keep their pass order.
        diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start)));
        let mut files_read = lexed.files_read;
        if files_read.is_empty() {
            files_read.push(sources.file(main).path.clone());
        }
        (
            Report {
                sources,
                diagnostics,
                ast,
                files_read,
            },
            checked,
        )
    }
}

/// The outcome of [`Config::generate_file`].
#[derive(Debug, Clone)]
pub struct Generated {
    pub report: Report,
    /// The lowered program, when the configuration had no errors.
    pub program: Option<ir::Program>,
    /// The generated Rust file, when nothing blocked code generation.
    pub code: Option<String>,
}

/// The outcome of checking one configuration.
#[derive(Debug, Clone)]
pub struct Report {
    pub sources: SourceMap,
    /// In pass order: lexer, parser, checks.
    pub diagnostics: Vec<Diagnostic>,
    pub ast: syntax::ast::File,
    /// The main file and every file it included.
    pub files_read: Vec<PathBuf>,
}

impl Report {
    /// Whether any diagnostic is an error (warnings and "not supported yet"
    /// do not count).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Renders one diagnostic like rustc.
    pub fn render(&self, d: &Diagnostic) -> String {
        diag::render(&self.sources, d)
    }

    /// Renders one diagnostic as one line of JSON.
    pub fn render_json(&self, d: &Diagnostic) -> String {
        diag::render_json(&self.sources, d)
    }

    /// `(path, line, column)` of a diagnostic's primary label.
    pub fn location(&self, d: &Diagnostic) -> Option<(&Path, usize, usize)> {
        d.primary_span().map(|s| self.sources.location(s))
    }
}

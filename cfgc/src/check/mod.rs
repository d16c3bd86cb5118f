//! Semantic checks over the syntax tree, driven by the module catalog.

use crate::diag::Diagnostic;
use crate::source::SourceMap;
use crate::syntax::ast;

/// Options of the check pass.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {}

/// What the check pass found.
#[derive(Clone, Debug, Default)]
pub struct CheckOutput {
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a parsed configuration.
pub fn check(sources: &SourceMap, file: &ast::File, opts: &CheckOptions) -> CheckOutput {
    let _ = (sources, file, opts);
    CheckOutput::default()
}

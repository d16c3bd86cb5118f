//! Semantic checks over the syntax tree, driven by the module catalog.
//!
//! Pass order (each step reads what the previous ones established):
//! 1. [`modules`] — walks the top-level items in order: `loadmodule` builds
//!    the list of loaded modules (each marked catalogued or not); `modparam`
//!    is matched, as Kamailio does, against the modules loaded *so far*
//!    (anchored, case-insensitive POSIX ERE) and checked against each
//!    matched module's parameters; core parameters are checked against their
//!    value kinds. After it: [`CheckOutput::modules`] is final.
//! 2. [`resolve`] — builds the route tables (one per block kind, §3.7),
//!    reporting duplicates. Unnamed request routes concatenate; `route[0]`
//!    is the main route. After it: [`CheckOutput::routes`] is final and every
//!    route name can be resolved.
//! 3. [`body`] — walks every routing block with its route-type mask and
//!    checks statements and expressions: calls ([`calls`]: resolution, arity,
//!    constancy, masks, route-name arguments), PVs ([`pvar`]: names,
//!    writability, transformations, PV-format strings), static typing and
//!    the lints ([`lints`]).
//! 4. [`vars`] — follows execution order from each entry block (inlining
//!    `route(NAME)`) to find `$var`s read before they are set
//!    (`var-not-reset`).
//!
//! Every check collects diagnostics and goes on; `Error` nodes of the tree
//! (already reported by the parser) are skipped silently.

use crate::diag::Diagnostic;
use crate::source::{SourceMap, Span};
use crate::syntax::ast;

mod body;
mod calls;
mod lints;
mod modules;
pub mod pvar;
mod regex;
mod resolve;
mod vars;

#[cfg(test)]
mod tests;

pub use resolve::{RouteTable, Routes};

pub(crate) use self::regex::translate_ere;

/// Options of the check pass.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {}

/// A module named by a `loadmodule` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedModule {
    /// The module name (`"tm"` for `loadmodule "tm.so"`).
    pub name: String,
    pub span: Span,
    /// Whether the catalog describes it.
    pub catalogued: bool,
}

/// What the check pass produced.
#[derive(Clone, Debug, Default)]
pub struct CheckOutput {
    pub diagnostics: Vec<Diagnostic>,
    /// Loaded modules, in load order, without repetitions.
    pub modules: Vec<LoadedModule>,
    /// The route tables.
    pub routes: Routes,
}

impl CheckOutput {
    pub fn is_loaded(&self, module: &str) -> bool {
        self.modules.iter().any(|m| m.name == module)
    }
}

/// Runs every check over a parsed file.
pub fn check(sources: &SourceMap, file: &ast::File, opts: &CheckOptions) -> CheckOutput {
    let _ = opts;
    let mut out = CheckOutput::default();
    modules::check_top_level(sources, file, &mut out);
    out.routes = resolve::build_routes(file, &mut out.diagnostics);
    body::check_bodies(sources, file, &mut out);
    vars::check(file, &mut out.diagnostics);
    out
}

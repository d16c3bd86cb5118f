//! Semantic checks over the syntax tree, driven by the module catalog.
//!
//! Pass order (each step reads what the previous ones established):
//! 1. `modules` — walks the top-level items in order: `loadmodule` builds
//!    the list of loaded modules (each marked catalogued or not); `modparam`
//!    is matched, as Kamailio does, against the modules loaded *so far*
//!    (anchored, case-insensitive POSIX ERE) and checked against each
//!    matched module's parameters; core parameters are checked against their
//!    value kinds. After it: [`CheckOutput::modules`] is final.
//! 2. `resolve` — builds the route tables (one per block kind, §3.7),
//!    reporting duplicates. Unnamed request routes concatenate; `route[0]`
//!    is the main route. After it: [`CheckOutput::routes`] is final and every
//!    route name can be resolved.
//! 3. `body` — walks every routing block with its route-type mask and
//!    checks statements and expressions: calls (`calls`: resolution, arity,
//!    constancy, masks, route-name arguments), PVs ([`pvar`]: names,
//!    writability, transformations, PV-format strings), static typing and
//!    the lints (`lints`).
//! 4. `vars` — follows execution order from each entry block (inlining
//!    `route(NAME)`) to find `$var`s read before they are set
//!    (`var-not-reset`).
//!
//! Every check collects diagnostics and goes on; `Error` nodes of the tree
//! (already reported by the parser) are skipped silently.
//!
//! Diagnostic codes:
//!
//! | code | severity | what |
//! |---|---|---|
//! | `duplicate-route` | error | a name defined twice in one route table (`route[0]` is the main route) |
//! | `undefined-route` | error | `route(X)`, `t_on_failure("X")`, ... naming a missing block |
//! | `module-not-loaded` | error | a catalogued function whose module is not loaded |
//! | `unknown-function` | error | a name no core action nor catalogued module has |
//! | `uncatalogued-module` | unsupported | a loaded module cfgc knows nothing about (once per module) |
//! | `unsupported-module` | unsupported | a catalogued module the runtime does not implement (`cfgc_vocab::MODULES`), once per `loadmodule` |
//! | `unsupported-modparam` | unsupported | a parameter of a supported module the runtime does not read, or a value other than its no-op ones |
//! | `unsupported-function` | unsupported | a function cfgc's runtime does not implement (once per function) |
//! | `duplicate-loadmodule` | error | the same module loaded twice |
//! | `modparam-no-module` | error | a `modparam` pattern matching no module loaded so far |
//! | `unknown-modparam` | error | a parameter the matched module lacks |
//! | `modparam-type` | error | an int given for a string parameter or the reverse |
//! | `bad-param-value` | error | a core parameter value of the wrong kind |
//! | `wrong-arity` | error | no overload with that many arguments |
//! | `arg-not-constant` | error | a non-constant argument where the fixup needs a constant (§7.3); non-constant case labels |
//! | `bad-arg` | error | literal kinds of core actions, flag numbers, values the fixups parse (ints, log levels) |
//! | `route-type` | error | a function not allowed in this kind of block; onsend_route's whitelist |
//! | `unknown-pv` | error | an unknown PV name, in code or in a PV-format string |
//! | `unknown-transformation` | error | an unknown `{class.name}` |
//! | `pv-not-writable` | error | assignment to a read-only PV or one with transformations |
//! | `unknown-cfg-var` | error | `@cfg_get.group.var` / `$sel(cfg_get...)` / `cfg_select("group")` naming an undeclared group or variable |
//! | `unknown-sql-connection` | error | `sql_query("c", ...)` without `modparam("sqlops", "sqlcon", "c=>...")` |
//! | `undeclared-counter` | error | `cnt_inc("x")` & co. naming a script counter `script_counter` does not declare |
//! | `unsupported-counter` | unsupported | `cnt_inc("grp.x")` & co. naming another group's counter |
//! | `type-mismatch` | error | the static typing errors of §5.4 (`1 == "1"`, `10 - "3"`) |
//! | `bad-regex` | error | a constant regex that does not compile as a POSIX ERE |
//! | `switch-mixed-cases` | error | int and string labels in one `switch` |
//! | `duplicate-default` | error | two `default:` in one `switch` |
//! | `precedence` | warning | bitwise/shift operators or `!` mixed unparenthesised with comparisons |
//! | `string-concat` | warning | `"10" + 1` is `"101"` |
//! | `regex-escape` | warning | `\d` in a POSIX regex |
//! | `empty-string-compare` | warning | `$var(x) == ""` is `strempty($var(x))` |
//! | `return-zero` | warning | `return 0` / `return f()` end the whole script |
//! | `while-truth` | warning | `while (f())`: a call as a value is 0 or 1 |
//! | `var-not-reset` | warning | a `$var` read before it is set for this message |

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

pub(crate) use self::modules::module_matcher;
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

/// A module function call resolved to its catalog entry.
#[derive(Clone, Copy, Debug)]
pub struct ResolvedCall {
    /// The span of the function name at the call.
    pub span: Span,
    pub module: &'static str,
    pub function: &'static crate::catalog::Function,
}

/// What the check pass produced.
#[derive(Clone, Debug, Default)]
pub struct CheckOutput {
    pub diagnostics: Vec<Diagnostic>,
    /// Loaded modules, in load order, without repetitions.
    pub modules: Vec<LoadedModule>,
    /// The route tables.
    pub routes: Routes,
    /// Every module function call that resolved (name, arity and route type
    /// all matched), in walk order.
    pub calls: Vec<ResolvedCall>,
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
    modules::check_top_level(file, &mut out);
    out.routes = resolve::build_routes(file, &mut out.diagnostics);
    body::check_bodies(sources, file, &mut out);
    vars::check(file, &mut out.diagnostics);
    out
}

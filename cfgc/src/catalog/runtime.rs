//! What cfgc's runtime implements: the binding table of the vocabulary
//! crate (`cfgc_vocab::BINDINGS`), shared with the runtime and the
//! interpreter, seen from the catalog. The checker reads it (unsupported
//! functions are their own diagnostic class), the IR lowering resolves
//! calls through it, and code generation emits the runtime path.
//!
//! cfgc does not depend on the runtime crate; the paths are checked by
//! compiling generated code that calls every binding (tests in `tests/`).

pub use cfgc_vocab::{ArgConv, BINDINGS, Binding, BindingId, CtxUse, LogGate};

/// The binding of `module.name` with `arity` arguments, if supported.
pub fn binding(module: &str, name: &str, arity: usize) -> Option<BindingId> {
    BindingId::find(module, name, arity)
}

/// Whether any arity of `module.name` is supported.
pub fn is_supported(module: &str, name: &str) -> bool {
    Binding::is_supported(module, name)
}

/// Core actions the runtime implements.
pub static CORE_ACTIONS: &[&str] = &[
    "forward",
    "setflag",
    "resetflag",
    "isflagset",
    "rewriteuri",
    "rewritehost",
    "rewritehostport",
    "rewriteuser",
    "rewriteuserpass",
    "rewriteport",
    "prefix",
    "strip",
    "strip_tail",
    "revert_uri",
    "force_rport",
    "log",
    "drop",
    "exit",
];

//! The boundary vocabulary of cfgc: the words the compiler (`cfgc`) and the
//! runtime (`cfgc-runtime`) share, defined once. The compiler lowers a
//! configuration into these words; the runtime gives each one its meaning
//! (`engine::pv::read`, `engine::cond`, `engine::value`, `engine::actions`,
//! the module functions); code generation names them in generated code and
//! the interpreter hands them to the same runtime leaves.
//!
//! This crate has no dependencies and no behaviour beyond naming: tables of
//! names (which cfg spelling is which word), flags (is a PV writable), and
//! plain data (settings, module parameters), the syntax of textops'
//! substitutions (`subst`, split once for compiler and runtime), the
//! header-value expressions of textopsx (`hf_value`), and which modules and module
//! parameters the runtime supports.

mod bindings;
mod core;
mod events;
pub mod hf_value;
mod modules;
mod pv;
mod settings;
pub mod subst;
mod trans;

pub use bindings::{
    ArgConv, BINDINGS, Binding, BindingId, CtxUse, FLAG_LETTER_ARGS, LINE_PREFIX_ARGS, LogGate,
    ONE_BYTE_ARGS, STATIC_TABLE_ARGS, UNSUPPORTED_INT_ARGS, WORD_ARGS,
};
pub use core::{BinOp, CoreFn, IntOf, IpOf, Level, Proto, Rewrite, UriOf};
pub use events::{EVENT_ROUTES, EventRouteSupport, event_route_support};
pub use modules::{
    MODULES, ModuleSupport, NoOpValue, ParamSupport, ValueKind, modparam_support, module_support,
};
pub use pv::{
    DbrKey, FmtSeg, IterKind, MODULE_PVS, ModulePv, MqPv, PVS, PvId, PvInfo, PvRef, ShtName, ShtPv,
    TMsg, XavpIndex, XavpName,
};
pub use settings::{
    CORE_PARAMS, CoreValue, FORMAT_PARAMS, Listen, ModParam, ModParamValue, SYSLOG_FACILITIES,
    Settings,
};
pub use trans::{TRANSFORMATIONS, TrArg, TrInfo, TrKind, TrOp, TrParam};

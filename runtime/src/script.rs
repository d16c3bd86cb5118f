//! What generated code names, under one short path: a generated file
//! starts with `use ::cfgc_runtime::script as rt;` and writes `rt::Ctx`,
//! `rt::pv::get(ctx, rt::PvId::RUser)`, `rt::call!(ctx, ...)`.
//!
//! Nothing here has behaviour of its own: it re-exports the engine's
//! leaves and the vocabulary, so generated code reads like hand-written
//! code against the runtime.

pub use cfgc_vocab::{
    BinOp, CoreFn, CoreValue, FmtSeg, IntOf, IpOf, Level, Listen, ModParam, ModParamValue, Proto,
    PvId, PvRef, Rewrite, Settings, TrArg, TrKind, TrOp, UriOf,
};
pub use regex::bytes::Regex;

/// A core action with constant arguments, as generated code writes it
/// (`rt::actions::run(ctx, &rt::CoreAction::Strip(2))`).
pub type CoreAction = CoreFn<&'static [u8], &'static str>;

pub use crate::call;
pub use crate::engine::value::{self, OwnedValue};
pub use crate::engine::{Ctx, Flow, Script, Stop, Value, actions, cond, log, pv, rc, trans};
pub use crate::modules;

/// A module function's or route's code as an action: sets `$rc`, ends
/// the script on 0 (`?` in the route function), and is the code
/// otherwise. `rt::call!(ctx, rt::modules::sl::sl_send_reply(ctx, 404,
/// b"Not Found"))`.
#[macro_export]
macro_rules! call {
    ($ctx:ident, $code:expr) => {{
        let code: i32 = $code;
        $ctx.rc = code;
        $crate::engine::rc(code)?
    }};
}

//! What generated code names, under one short path: a generated file
//! starts with `use ::cfgc_runtime::script as rt;` and writes `rt::Ctx`,
//! `rt::pv::get(ctx, rt::PvId::RUser)`, `rt::set_rc(code, ctx)?`.
//!
//! Nothing here has behaviour of its own: it re-exports the engine's
//! leaves and the vocabulary (and [`set_rc`]), so generated code reads
//! like hand-written code against the runtime.

pub use cfgc_vocab::subst::SubstPv;
pub use cfgc_vocab::{
    BinOp, CoreFn, CoreValue, DbrKey, FmtSeg, IntOf, IpOf, IterKind, Level, Listen, ModParam,
    ModParamValue, MqPv, Proto, PvId, PvRef, Rewrite, Settings, ShtName, ShtPv, TMsg, TrArg,
    TrKind, TrOp, UriOf, XavpIndex, XavpName,
};
pub use regex::bytes::Regex;

/// A core action with constant arguments, as generated code writes it
/// (`rt::actions::run(ctx, &rt::CoreAction::Strip(2))`).
pub type CoreAction = CoreFn<&'static [u8], &'static str>;

pub use crate::engine::value::{self, OwnedValue};
pub use crate::engine::{Ctx, Flow, Script, Stop, Value, actions, cond, log, pv, rc, trans, xavp};
pub use crate::modules;

/// A module function's or route's code as an action: sets `$rc` to it, and
/// ends the script on 0 (`Err`, for the route function's `?`); the code
/// otherwise. The code comes first so that computing it may borrow the
/// context: `rt::set_rc(rt::modules::sl::sl_send_reply(ctx, 404,
/// b"Not Found"), ctx)?`.
#[inline(always)]
pub fn set_rc(code: i32, ctx: &mut Ctx<'_>) -> Flow {
    ctx.rc = code;
    rc(code)
}

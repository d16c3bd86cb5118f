//! xlog — formatted logging (kamailio-modules.md §13). The format string is
//! compiled by cfgc into code that fills a buffer; these functions only
//! decide whether to print and print.

use crate::engine::Ctx;
use crate::engine::log::Level;
use crate::engine::value::Value;

pub use crate::engine::log::{core_log, enabled};

/// `xlog(level, fmt)` with the message already formatted. Always 1.
pub fn xlog(ctx: &Ctx<'_>, level: Level, message: &[u8]) -> i32 {
    if enabled(ctx, level) {
        let prefix = format!("{}<script>: ", crate::engine::log::prefix());
        ctx.core.log.write(level, &prefix, message);
    }
    1
}

/// `xlog(fmt)`: one argument means level `L_ERR`.
pub fn xlog_err(ctx: &Ctx<'_>, message: &[u8]) -> i32 {
    xlog(ctx, Level::Err, message)
}

/// Appends a value the way xlog prints it: `<null>` for undefined.
pub fn push_value(buf: &mut Vec<u8>, v: &Value<'_>) {
    crate::engine::pv::push_fmt(buf, v);
}

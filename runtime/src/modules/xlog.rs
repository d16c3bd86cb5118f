//! xlog — formatted logging (kamailio-modules.md §13). The format string is
//! compiled by cfgc into code that fills a buffer; these functions only
//! decide whether to print and print.

use crate::engine::Ctx;
use crate::engine::log::Level;
use crate::engine::value::Value;

/// Whether a message at `level` is printed (level <= core `debug`).
pub fn enabled(ctx: &Ctx<'_>, level: Level) -> bool {
    (level as i32) <= ctx.core.debug
}

/// `xlog(level, fmt)` with the message already formatted. Always 1.
pub fn xlog(ctx: &Ctx<'_>, level: Level, message: &[u8]) -> i32 {
    if enabled(ctx, level) {
        let prefix = format!("{}<script>: ", ctx.core.log_prefix);
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
    match v {
        Value::Null => buf.extend_from_slice(b"<null>"),
        v => buf.extend_from_slice(&v.to_bytes()),
    }
}

/// Core `log([level,] "text")`: a fixed string (level 4 = L_DBG+1 by
/// default in Kamailio, i.e. printed only with debug >= 4).
pub fn core_log(ctx: &Ctx<'_>, level: i32, message: &[u8]) -> i32 {
    if level <= ctx.core.debug {
        ctx.core.log.write(Level::from_int(level), "", message);
    }
    1
}

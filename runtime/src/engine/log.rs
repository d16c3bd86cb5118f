//! Log output with Kamailio's levels and line shape (xlog, `log()`).

use std::io::Write as _;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

pub use cfgc_vocab::Level;

use super::Ctx;

thread_local! {
    /// The core's `log_prefix` evaluated on the message this thread is
    /// processing (Kamailio's `log_prefix_set` at receipt, reset after);
    /// empty outside a message (timers), as in Kamailio.
    /// The buffer is kept: setting it per message allocates nothing once
    /// it has grown to the prefix's size.
    static PREFIX: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sets the log prefix of the message being processed ([`prefix`]): `fill`
/// writes it into the (emptied) buffer.
pub fn set_prefix_with(fill: impl FnOnce(&mut Vec<u8>)) {
    PREFIX.with(|x| {
        let mut x = x.borrow_mut();
        x.clear();
        fill(&mut x);
    });
}

/// No message is processed any more: no prefix.
pub fn clear_prefix() {
    PREFIX.with(|x| x.borrow_mut().clear());
}

/// The log prefix of the message being processed, empty if none.
pub fn prefix() -> String {
    PREFIX.with(|x| String::from_utf8_lossy(&x.borrow()).into_owned())
}

/// The syslog priority Kamailio logs this level at.
pub fn syslog_priority(level: Level) -> i32 {
    match level {
        Level::Alert => libc::LOG_ALERT,
        Level::Bug | Level::Crit => libc::LOG_CRIT,
        Level::Err => libc::LOG_ERR,
        Level::Warn => libc::LOG_WARNING,
        Level::Notice => libc::LOG_NOTICE,
        Level::Info => libc::LOG_INFO,
        Level::Dbg => libc::LOG_DEBUG,
    }
}

/// Whether a message at `level` is printed (level <= core `debug`).
#[inline]
pub fn enabled(ctx: &Ctx<'_>, level: Level) -> bool {
    (level as i32) <= ctx.core.debug.get()
}

/// A module's error line (Kamailio's `LM_ERR`): written with the
/// process prefix when the core `debug` level lets errors through.
pub fn error(ctx: &Ctx<'_>, message: &str) {
    if enabled(ctx, Level::Err) {
        ctx.core
            .log
            .write(Level::Err, &prefix(), message.as_bytes());
    }
}

/// Core `log([level,] "text")`: a fixed string (level 4 = L_DBG+1 by
/// default in Kamailio, i.e. printed only with debug >= 4).
pub fn core_log(ctx: &Ctx<'_>, level: i32, message: &[u8]) -> i32 {
    if level <= ctx.core.debug.get() {
        ctx.core.log.write(Level::from_int(level), "", message);
    }
    1
}

/// The core `debug` level: set at start-up, changed at run time by RPC
/// (`cfg.set_now_int core debug N`); clones share the value, and the next
/// message any worker logs sees the new one.
#[derive(Debug, Clone, Default)]
pub struct DebugLevel(Arc<AtomicI32>);

impl DebugLevel {
    pub fn new(level: i32) -> Self {
        Self(Arc::new(AtomicI32::new(level)))
    }

    /// The current level.
    #[inline]
    pub fn get(&self) -> i32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets it for every holder.
    pub fn set(&self, level: i32) {
        self.0.store(level, Ordering::Relaxed);
    }
}

impl From<i32> for DebugLevel {
    fn from(level: i32) -> Self {
        Self::new(level)
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Default)]
pub enum LogSink {
    /// `log_stderror=yes` (or `-E`).
    #[default]
    Stderr,
    /// Lines kept in memory (tests).
    Memory(Arc<Mutex<Vec<String>>>),
    /// syslog (`log_stderror=no`, Kamailio's default), on a facility
    /// (`log_facility`, a `libc::LOG_*` value); see [`open_syslog`].
    Syslog(i32),
    /// Nothing (benchmarks).
    Null,
}

impl LogSink {
    /// Writes one line: ` <worker>(<pid>) LEVEL: <prefix><message>`.
    pub fn write(&self, level: Level, prefix: &str, message: &[u8]) {
        self.write_on(None, level, prefix, message);
    }

    /// [`LogSink::write`] on a module's own syslog facility (acc's
    /// `log_facility`), when the sink is syslog.
    pub fn write_on(&self, facility: Option<i32>, level: Level, prefix: &str, message: &[u8]) {
        let msg = String::from_utf8_lossy(message);
        let msg = msg.strip_suffix('\n').unwrap_or(&msg);
        match self {
            LogSink::Stderr => {
                let pid = std::process::id();
                let _ = writeln!(
                    std::io::stderr().lock(),
                    " 0({pid}) {}: {prefix}{msg}",
                    level.word()
                );
            }
            LogSink::Memory(lines) => {
                if let Ok(mut v) = lines.lock() {
                    v.push(format!("{}: {prefix}{msg}", level.word()));
                }
            }
            LogSink::Syslog(core_facility) => {
                let facility = facility.unwrap_or(*core_facility);
                let line = format!("{}: {prefix}{msg}", level.word());
                // Interior NULs cannot cross into C: cut there.
                let line = line.split('\0').next().unwrap_or_default();
                if let Ok(c) = std::ffi::CString::new(line) {
                    // SAFETY: both pointers are valid NUL-terminated
                    // strings for the duration of the call; "%s" consumes
                    // exactly one string argument.
                    unsafe {
                        libc::syslog(
                            facility | syslog_priority(level),
                            c"%s".as_ptr(),
                            c.as_ptr(),
                        );
                    }
                }
            }
            LogSink::Null => {}
        }
    }
}

/// A syslog facility by Kamailio's name (`LOG_LOCAL0`, `LOG_DAEMON`...).
pub fn facility(name: &str) -> Option<i32> {
    Some(match name.trim().to_ascii_uppercase().as_str() {
        "LOG_AUTH" => libc::LOG_AUTH,
        "LOG_AUTHPRIV" => libc::LOG_AUTHPRIV,
        "LOG_CRON" => libc::LOG_CRON,
        "LOG_DAEMON" => libc::LOG_DAEMON,
        "LOG_FTP" => libc::LOG_FTP,
        "LOG_KERN" => libc::LOG_KERN,
        "LOG_LOCAL0" => libc::LOG_LOCAL0,
        "LOG_LOCAL1" => libc::LOG_LOCAL1,
        "LOG_LOCAL2" => libc::LOG_LOCAL2,
        "LOG_LOCAL3" => libc::LOG_LOCAL3,
        "LOG_LOCAL4" => libc::LOG_LOCAL4,
        "LOG_LOCAL5" => libc::LOG_LOCAL5,
        "LOG_LOCAL6" => libc::LOG_LOCAL6,
        "LOG_LOCAL7" => libc::LOG_LOCAL7,
        "LOG_LPR" => libc::LOG_LPR,
        "LOG_MAIL" => libc::LOG_MAIL,
        "LOG_NEWS" => libc::LOG_NEWS,
        "LOG_SYSLOG" => libc::LOG_SYSLOG,
        "LOG_USER" => libc::LOG_USER,
        "LOG_UUCP" => libc::LOG_UUCP,
        _ => return None,
    })
}

/// Opens the process's syslog connection with `ident` (Kamailio uses its
/// `log_name`, else the program name) and the pid in every line. Call
/// once, before logging to [`LogSink::Syslog`].
pub fn open_syslog(ident: &str, facility: i32) {
    // openlog keeps the pointer: the ident must live for the process.
    let ident: &'static std::ffi::CStr = Box::leak(
        std::ffi::CString::new(ident.replace('\0', ""))
            .unwrap_or_default()
            .into_boxed_c_str(),
    );
    // SAFETY: `ident` is a NUL-terminated string that is never freed.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, facility) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_and_priorities_are_kamailios() {
        assert_eq!(facility("LOG_LOCAL0"), Some(libc::LOG_LOCAL0));
        assert_eq!(facility("log_daemon"), Some(libc::LOG_DAEMON));
        assert_eq!(facility("LOG_FOO"), None);
        assert_eq!(syslog_priority(Level::Bug), libc::LOG_CRIT);
        // Every facility name of the vocabulary has its value, and no other.
        for name in cfgc_vocab::SYSLOG_FACILITIES {
            assert!(facility(name).is_some(), "{name}");
            assert!(facility(&name.to_ascii_lowercase()).is_some(), "{name}");
        }
        assert!(facility("LOG_NOPE").is_none());
        assert_eq!(syslog_priority(Level::Notice), libc::LOG_NOTICE);
        assert_eq!(syslog_priority(Level::Dbg), libc::LOG_DEBUG);
        // Writing to syslog never fails the caller, NULs included.
        LogSink::Syslog(libc::LOG_LOCAL7).write(Level::Dbg, "<t>: ", b"a\0b\n");
    }
}

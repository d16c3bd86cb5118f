//! Log output with Kamailio's levels and line shape (xlog, `log()`).

use std::io::Write as _;
use std::sync::{Arc, Mutex};

/// Kamailio's log levels (`L_ALERT` = -5 ... `L_DBG` = 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Alert = -5,
    Bug = -4,
    Crit = -3,
    Err = -1,
    Warn = 0,
    Notice = 1,
    Info = 2,
    Dbg = 3,
}

impl Level {
    /// `L_INFO`, `INFO`, `info`...: only the letters after `L_` matter.
    pub fn from_name(name: &str) -> Option<Level> {
        let n = name.strip_prefix("L_").unwrap_or(name);
        Some(match n.to_ascii_uppercase().as_str() {
            "ALERT" | "ALERT_" => Level::Alert,
            "BUG" => Level::Bug,
            "CRIT" | "CRITICAL" => Level::Crit,
            "ERR" | "ERROR" => Level::Err,
            "WARN" | "WARNING" => Level::Warn,
            "NOTICE" => Level::Notice,
            "INFO" => Level::Info,
            "DBG" | "DEBUG" => Level::Dbg,
            _ => return None,
        })
    }

    pub fn from_int(i: i32) -> Level {
        match i {
            i32::MIN..=-5 => Level::Alert,
            -4 => Level::Bug,
            -3 | -2 => Level::Crit,
            -1 => Level::Err,
            0 => Level::Warn,
            1 => Level::Notice,
            2 => Level::Info,
            _ => Level::Dbg,
        }
    }

    /// The word Kamailio prints.
    pub fn word(self) -> &'static str {
        match self {
            Level::Alert => "ALERT",
            Level::Bug => "BUG",
            Level::Crit => "CRITICAL",
            Level::Err => "ERROR",
            Level::Warn => "WARNING",
            Level::Notice => "NOTICE",
            Level::Info => "INFO",
            Level::Dbg => "DEBUG",
        }
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
    /// Nothing (benchmarks).
    Null,
}

impl LogSink {
    /// Writes one line: ` <worker>(<pid>) LEVEL: <prefix><message>`.
    pub fn write(&self, level: Level, prefix: &str, message: &[u8]) {
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
            LogSink::Null => {}
        }
    }
}

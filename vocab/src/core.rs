//! Operators, selectors of keyword conditions, log levels and core actions.

/// A binary operator of the cfg language, with Kamailio's typing rules
/// named (the runtime's `engine::value::binop`/`compare` give the meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+` typed at run time by the left operand.
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    /// `==`/`!=`: typed by the left operand.
    Eq,
    Ne,
    /// `eq`/`ne`: as strings.
    StrEq,
    StrNe,
    /// `ieq`/`ine`, `<`...: as ints.
    IntEq,
    IntNe,
    Lt,
    Gt,
    Le,
    Ge,
    /// `&&`, `||`: short-circuit, C truth.
    And,
    Or,
}

impl BinOp {
    /// Whether the result is a truth value (0 or 1): comparisons and the
    /// logical operators.
    pub fn is_boolean(self) -> bool {
        !matches!(
            self,
            BinOp::Add
                | BinOp::Sub
                | BinOp::Mul
                | BinOp::Div
                | BinOp::Mod
                | BinOp::BitAnd
                | BinOp::BitOr
                | BinOp::BitXor
                | BinOp::Shl
                | BinOp::Shr
        )
    }
}

/// Which URI a keyword condition reads (`uri`, `from_uri`, `to_uri`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriOf {
    /// The current R-URI.
    Request,
    From,
    To,
}

/// Which number a keyword condition reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOf {
    SrcPort,
    DstPort,
    MsgLen,
    /// 2 for IPv4, 10 for IPv6 (`INET`, `INET6`).
    Af,
}

/// Which address a keyword condition reads (`src_ip`, `dst_ip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpOf {
    Src,
    Dst,
}

/// Which part of the R-URI a `rewrite*`/`prefix` action replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    Uri,
    Host,
    HostPort,
    User,
    UserPass,
    Port,
    Prefix,
}

/// A transport named by the cfg (`forward_tcp`, `proto == udp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
    Tls,
    Sctp,
    Ws,
    Wss,
}

impl Proto {
    /// `udp`, `TCP`...: case-insensitive.
    pub fn from_name(name: &str) -> Option<Proto> {
        Some(match name.to_ascii_lowercase().as_str() {
            "udp" => Proto::Udp,
            "tcp" => Proto::Tcp,
            "tls" => Proto::Tls,
            "sctp" => Proto::Sctp,
            "ws" => Proto::Ws,
            "wss" => Proto::Wss,
            _ => return None,
        })
    }
}

/// Kamailio's log levels (`L_ALERT` = -5 ... `L_DBG` = 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// The level of a number (`debug=`, `xlog(2, ...)`): out-of-range
    /// numbers clamp.
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

/// A core action with its arguments resolved at build time. The runtime's
/// `engine::actions::run` gives each its meaning. Generic over how bytes
/// and strings are held, so generated code can pass constants
/// (`CoreFn<&[u8], &str>`) where the compiler and the interpreter hold
/// owned values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreFn<B = Vec<u8>, S = String> {
    /// `forward()` / `forward(host[, port])`, with a transport if the
    /// `forward_<proto>` spelling was used.
    Forward {
        host: Option<S>,
        port: Option<u16>,
        proto: Option<Proto>,
    },
    SetFlag(u32),
    ResetFlag(u32),
    IsFlagSet(u32),
    /// R-URI rewrites (`rewriteuri` ... `prefix`), with their constant
    /// argument.
    Rewrite(Rewrite, B),
    Strip(usize),
    StripTail(usize),
    RevertUri,
    ForceRport,
    /// `set_reply_no_connect()`: replies never open a TCP connection.
    SetReplyNoConnect,
    /// `set_forward_no_connect()`: forwarded requests never open one.
    SetForwardNoConnect,
    /// `log([level,] message)`.
    Log(i32, B),
}

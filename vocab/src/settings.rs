//! The configuration's settings as the runtime receives them: listen
//! sockets, aliases, the core parameters it reads, and every `modparam`.
//! One definition: the compiler fills it, generated code rebuilds it
//! (`settings()`), the interpreter passes the compiler's value as is.

use crate::PvRef;

/// Core parameters (`name = value` lines) the runtime reads. Adding one:
/// a row here and its use in the runtime (`proxy`); the compiler passes
/// every listed parameter through. Every other core parameter is a
/// documented no-op or "not supported yet" (the compiler's
/// `catalog::core_support`).
pub static CORE_PARAMS: &[&str] = &[
    "port",
    "children",
    "debug",
    "log_stderror",
    "log_prefix",
    "log_facility",
    "log_name",
    "advertised_address",
    "advertised_port",
    "server_header",
    "tcp_connection_lifetime",
    "tcp_max_connections",
    "rundir",
];

/// Syslog facility names, as Kamailio's `str2facility` knows them
/// (`log_facility`, acc's `log_facility`, xlog's facility argument);
/// matched case-insensitively. The runtime maps each to its value
/// (`engine::log::facility`).
pub static SYSLOG_FACILITIES: &[&str] = &[
    "LOG_AUTH",
    "LOG_AUTHPRIV",
    "LOG_CRON",
    "LOG_DAEMON",
    "LOG_FTP",
    "LOG_KERN",
    "LOG_LOCAL0",
    "LOG_LOCAL1",
    "LOG_LOCAL2",
    "LOG_LOCAL3",
    "LOG_LOCAL4",
    "LOG_LOCAL5",
    "LOG_LOCAL6",
    "LOG_LOCAL7",
    "LOG_LPR",
    "LOG_MAIL",
    "LOG_NEWS",
    "LOG_SYSLOG",
    "LOG_USER",
    "LOG_UUCP",
];

/// Core parameters whose text Kamailio reads as a PV format (evaluated per
/// message): the compiler resolves them to [`CoreValue::Fmt`].
pub static FORMAT_PARAMS: &[&str] = &["log_prefix"];

/// A core parameter's value: numbers (and `yes`/`no`, as 1/0), text, or a
/// PV format the compiler resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreValue {
    Int(i64),
    Str(String),
    Fmt(Vec<crate::FmtSeg>),
}

/// One `listen=` socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// `udp` or `tcp` (a socket the cfg gives no protocol comes as one of
    /// each, as Kamailio listens with every enabled protocol).
    pub proto: String,
    pub host: String,
    pub port: Option<u16>,
}

/// One `modparam("module", "name", value)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModParam {
    pub module: String,
    pub name: String,
    pub value: ModParamValue,
}

/// A `modparam` value: an int or a string as written; or, for parameters
/// whose text the compiler resolves (acc's `log_extra`: `name=$pv;...`),
/// the resolved list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModParamValue {
    Int(i32),
    Str(String),
    /// `name=$pv;...`, each PV resolved.
    PvList(Vec<(String, PvRef)>),
}

/// Everything the runtime needs from the cfg besides the routes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `listen=` sockets, in cfg order.
    pub listen: Vec<Listen>,
    /// `alias=` names: (host, port).
    pub aliases: Vec<(String, Option<u16>)>,
    /// The core parameters of [`CORE_PARAMS`] the cfg sets, in cfg order.
    pub params: Vec<(String, CoreValue)>,
    /// Every `modparam` line, in cfg order (a parameter may repeat).
    pub modparams: Vec<ModParam>,
    /// The modules the cfg loads (`loadmodule "ctl.so"` → `ctl`), in load
    /// order: a module with effects of its own (ctl's RPC socket) runs
    /// them only when loaded.
    pub modules: Vec<String>,
    /// Custom cfg variables (`group.var = value`), `group.var` and the
    /// declared value, in declaration order (the first declaration wins).
    pub cfg_vars: Vec<(String, CoreValue)>,
    /// The database tables named by constant arguments of the calls in
    /// [`crate::STATIC_TABLE_ARGS`], as (module, table), each
    /// once: the module checks them at start-up, as Kamailio's fixups do
    /// when it loads the cfg.
    pub static_tables: Vec<(String, String)>,
    /// The `$avp` names the cfg uses, by slot: a module that names AVPs
    /// at run time (domain's `lookup_domain`) finds their slots here. An
    /// AVP the cfg never names cannot be read by it, so is not kept.
    pub avp_names: Vec<String>,
}

impl Settings {
    /// The last value of core parameter `name` (a later line overrides).
    pub fn param(&self, name: &str) -> Option<&CoreValue> {
        self.params
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// An int core parameter (a string holding a number counts).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.param(name)? {
            CoreValue::Int(n) => Some(*n),
            CoreValue::Str(s) => s.trim().parse().ok(),
            CoreValue::Fmt(_) => None,
        }
    }

    /// A text core parameter (an int is rendered in decimal; a format is
    /// not text: see [`Settings::fmt`]).
    pub fn str(&self, name: &str) -> Option<String> {
        self.param(name).and_then(|v| match v {
            CoreValue::Int(n) => Some(n.to_string()),
            CoreValue::Str(s) => Some(s.clone()),
            CoreValue::Fmt(_) => None,
        })
    }

    /// A PV-format core parameter ([`FORMAT_PARAMS`]); plain text counts as
    /// one literal piece.
    pub fn fmt(&self, name: &str) -> Option<Vec<crate::FmtSeg>> {
        self.param(name).map(|v| match v {
            CoreValue::Fmt(f) => f.clone(),
            CoreValue::Int(n) => vec![crate::FmtSeg::Lit(n.to_string().into_bytes())],
            CoreValue::Str(s) => vec![crate::FmtSeg::Lit(s.clone().into_bytes())],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_lines_override_and_numbers_convert() {
        let s = Settings {
            params: vec![
                ("children".into(), CoreValue::Int(4)),
                ("children".into(), CoreValue::Str(" 8".into())),
                ("log_name".into(), CoreValue::Str("kam".into())),
            ],
            ..Settings::default()
        };
        assert_eq!(s.int("children"), Some(8));
        assert_eq!(s.str("log_name").as_deref(), Some("kam"));
        assert_eq!(s.int("debug"), None);
    }
}

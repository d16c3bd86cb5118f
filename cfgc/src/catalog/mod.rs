//! Static descriptions of Kamailio's core parameters, core actions, modules,
//! module functions, module parameters, PVs and transformations.
//!
//! Everything here is data plus lookup functions; the check pass (`check`)
//! interprets it. Sources of truth, in order:
//! * `generated.rs`: every module of Kamailio 5.6.3 with its exported
//!   functions (name, arity, route-type mask, whether the fixup forces
//!   constant arguments, which arguments are PV formats), its parameters
//!   (int or string) and its PVs (writable or not, with or without an inner
//!   name). Tabulated by `gen/extract.py` from the 5.6.3 export tables.
//! * `core.rs`: core parameters and core actions, from the language
//!   reference (`cfg.y` facts).
//! * `pv.rs`: core PVs and transformation classes.
//! * `modules.rs`: hand-written facts on top of the generated tables (which
//!   functions take route names, return codes of the common functions).
//! * `module_support.rs`: which modules and module parameters the runtime
//!   supports (`cfgc_vocab::MODULES`), checked against the catalog and
//!   rendered as `docs/modules.md`.
//! * `runtime.rs`: what cfgc's runtime implements — `BINDINGS`, the one
//!   table that makes a module function supported.

pub mod core;
pub mod core_support;
#[rustfmt::skip]
mod generated;
pub mod module_support;
pub mod modules;
pub mod pv;
pub mod runtime;

pub use self::core::{CoreAction, CoreArg, CoreParam, ParamType, core_action, core_param};
pub use self::modules::{RouteArg, return_codes, route_arg};
pub use self::pv::{Transform, any_pv, core_pv, transform_class};

/// Route-type bits, as in Kamailio's `route.h` (facts: the mask values).
pub mod route_type {
    pub const REQUEST: u32 = 1;
    pub const FAILURE: u32 = 1 << 1;
    pub const TM_ONREPLY: u32 = 1 << 2;
    pub const BRANCH: u32 = 1 << 3;
    pub const ONSEND: u32 = 1 << 4;
    pub const ERROR: u32 = 1 << 5;
    pub const LOCAL: u32 = 1 << 6;
    pub const CORE_ONREPLY: u32 = 1 << 7;
    pub const BRANCH_FAILURE: u32 = 1 << 8;
    pub const ONEVENT: u32 = 1 << 9;
    pub const ONREPLY: u32 = TM_ONREPLY | CORE_ONREPLY;
    pub const EVENT: u32 = REQUEST | ONEVENT;
    pub const ANY: u32 = u32::MAX;

    /// Whether a function with mask `allowed` may be called in a block of
    /// type `block` (Kamailio's rule: all bits of the block, or, for event
    /// routes, any of REQUEST/ONEVENT).
    pub fn allows(allowed: u32, block: u32) -> bool {
        allowed & block == block || (block == EVENT && allowed & EVENT != 0)
    }

    /// Human names of the bits set in `mask`, for messages.
    pub fn names(mask: u32) -> Vec<&'static str> {
        if mask == ANY {
            return vec!["any route"];
        }
        const NAMES: [(u32, &str); 10] = [
            (REQUEST, "request_route"),
            (FAILURE, "failure_route"),
            (TM_ONREPLY, "onreply_route[...]"),
            (BRANCH, "branch_route"),
            (ONSEND, "onsend_route"),
            (ERROR, "error_route"),
            (LOCAL, "local_route"),
            (CORE_ONREPLY, "reply_route"),
            (BRANCH_FAILURE, "event_route[tm:branch-failure]"),
            (ONEVENT, "event_route"),
        ];
        NAMES
            .iter()
            .filter(|(bit, _)| mask & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

/// How many arguments a module function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Fixed(u8),
    /// Any number (Kamailio's `VAR_PARAM_NO`).
    Var,
}

impl Arity {
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Fixed(k) => usize::from(k) == n,
            Arity::Var => true,
        }
    }
}

/// One exported module function (one entry per arity: Kamailio overloads by
/// argument count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    pub arity: Arity,
    /// Route types it may be used in (`route_type` bits).
    pub mask: u32,
    /// The fixup needs every argument to be a constant expression (§7.3:
    /// a fixup that is neither an fparam one nor paired with a free-fixup).
    pub const_args: bool,
    /// Bit i set: argument i+1 is parsed as a PV format string.
    pub fmt_args: u8,
    /// Bit i set: argument i+1 is a POSIX regular expression (unless a PV).
    pub regex_args: u8,
    /// Bit i set: argument i+1 is an integer (unless a PV).
    pub int_args: u8,
}

impl Function {
    /// Whether cfgc's runtime implements this function of `module` (some
    /// arity of it has a binding in [`runtime::BINDINGS`]).
    pub fn is_supported(&self, module: &str) -> bool {
        runtime::is_supported(module, self.name)
    }
}

/// The value type a module parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Int,
    Str,
    /// Declared with both types, or as a function parameter taking either.
    Any,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModParam {
    pub name: &'static str,
    pub kind: ParamKind,
}

/// Whether a PV takes an inner name (`$var(x)`) or not (`$ru`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvInner {
    None,
    Name,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PvDef {
    pub name: &'static str,
    pub writable: bool,
    pub inner: PvInner,
}

#[derive(Clone, Copy, Debug)]
pub struct Module {
    pub name: &'static str,
    pub functions: &'static [Function],
    pub params: &'static [ModParam],
    pub pvs: &'static [PvDef],
}

impl Module {
    pub fn param(&self, name: &str) -> Option<&'static ModParam> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn functions_named(&self, name: &str) -> impl Iterator<Item = &'static Function> {
        let all: &'static [Function] = self.functions;
        let name = name.to_string();
        all.iter().filter(move |f| f.name == name)
    }
}

/// Every catalogued module.
pub fn modules() -> &'static [Module] {
    generated::MODULES
}

/// Modules that configurations commonly load (the stock cfg's and the
/// examples'): when several modules export a name, the checker suggests
/// one of these.
pub const COMMON_MODULES: &[&str] = &[
    "tm",
    "tmx",
    "sl",
    "rr",
    "pv",
    "maxfwd",
    "usrloc",
    "registrar",
    "textops",
    "textopsx",
    "siputils",
    "xlog",
    "sanity",
    "kex",
    "corex",
    "acc",
    "auth",
    "auth_db",
    "permissions",
    "alias_db",
    "speeddial",
    "domain",
    "presence",
    "nathelper",
    "rtpproxy",
    "rtpengine",
    "htable",
    "pike",
    "dispatcher",
    "dialog",
    "uac",
    "avpops",
    "sqlops",
    "exec",
    "cfgutils",
    "xhttp",
    "jsonrpcs",
    "group",
    "path",
    "dialplan",
    "lcr",
    "drouting",
    "topoh",
    "topos",
];

/// A module by its exported name (`"tm"`, `"auth_db"`).
pub fn module(name: &str) -> Option<&'static Module> {
    generated::MODULES.iter().find(|m| m.name == name)
}

/// The module name a `loadmodule` path names: `"tm.so"`, `"tm"`,
/// `"/usr/lib/kamailio/modules/tm.so"` all give `"tm"`.
pub fn module_name_from_path(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.strip_suffix(".so").unwrap_or(base)
}

/// Every (module, function) pair with this name, in any module.
pub fn functions_named(name: &str) -> Vec<(&'static Module, &'static Function)> {
    generated::MODULES
        .iter()
        .flat_map(|m| m.functions.iter().map(move |f| (m, f)))
        .filter(|(_, f)| f.name == name)
        .collect()
}

/// A module PV by name, in any module.
pub fn module_pv(name: &str) -> Option<(&'static Module, &'static PvDef)> {
    generated::MODULES
        .iter()
        .flat_map(|m| m.pvs.iter().map(move |p| (m, p)))
        .find(|(_, p)| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_modules_are_catalogued() {
        // The common modules, and the other modules the stock cfg loads.
        let others = [
            "db_mysql",
            "ctl",
            "cfg_rpc",
            "counters",
            "presence_xml",
            "tls",
            "debugger",
            "db_sqlite",
        ];
        for m in COMMON_MODULES.iter().chain(&others) {
            assert!(module(m).is_some(), "{m} missing");
        }
    }

    /// Every function of the stock cfg (table a, all `#!ifdef` branches) and
    /// the most used ones of the examples (table b), with their module.
    #[test]
    fn tables_a_and_b_catalogued() {
        let table = [
            ("textops", "is_method"),
            ("sl", "sl_send_reply"),
            ("xlog", "xlog"),
            ("tm", "t_check_trans"),
            ("siputils", "has_totag"),
            ("tm", "t_is_set"),
            ("sl", "sl_reply_error"),
            ("xlog", "xdbg"),
            ("kex", "setbflag"),
            ("kex", "isbflagset"),
            ("nathelper", "nat_uac_test"),
            ("siputils", "is_request"),
            ("tm", "t_check_status"),
            ("rr", "record_route"),
            ("sanity", "sanity_check"),
            ("tm", "t_newtran"),
            ("sl", "send_reply"),
            ("tm", "t_release"),
            ("siputils", "is_first_hop"),
            ("nathelper", "set_contact_alias"),
            ("rtpengine", "rtpengine_manage"),
            ("rtpproxy", "rtpproxy_manage"),
            ("xhttp", "xhttp_reply"),
            ("tm", "t_reply"),
            ("tmx", "t_precheck_trans"),
            ("textops", "remove_hf"),
            ("tm", "t_on_branch"),
            ("tm", "t_on_reply"),
            ("tm", "t_on_failure"),
            ("tm", "t_relay"),
            ("pike", "pike_check_req"),
            ("maxfwd", "mf_process_maxfwd_header"),
            ("rr", "loose_route"),
            ("registrar", "save"),
            ("registrar", "lookup"),
            ("speeddial", "sd_lookup"),
            ("alias_db", "alias_db_lookup"),
            ("textopsx", "msg_apply_changes"),
            ("presence", "handle_publish"),
            ("presence", "handle_subscribe"),
            ("permissions", "allow_source_address"),
            ("auth_db", "auth_check"),
            ("auth", "auth_challenge"),
            ("auth", "consume_credentials"),
            ("nathelper", "fix_nated_register"),
            ("rr", "check_route_param"),
            ("rr", "add_rr_param"),
            ("tmx", "t_is_branch_route"),
            ("siputils", "is_reply"),
            ("kex", "isdsturiset"),
            ("nathelper", "handle_ruri_alias"),
            ("textops", "append_hf"),
            ("textops", "starts_with"),
            ("jsonrpcs", "jsonrpc_dispatch"),
            ("tm", "t_is_canceled"),
            // table (b)
            ("sqlops", "sql_query"),
            ("sl", "sl_reply"),
            ("textops", "is_present_hf"),
            ("exec", "exec_msg"),
            ("corex", "append_branch"),
            ("group", "is_user_in"),
            ("xmlrpc", "dispatch_rpc"),
            ("tm", "t_branch_timeout"),
            ("nathelper", "add_contact_alias"),
            ("textops", "search"),
            ("nathelper", "fix_nated_contact"),
            ("textops", "append_to_reply"),
            ("siputils", "options_reply"),
            ("auth_db", "www_authorize"),
            ("auth_db", "proxy_authorize"),
            ("uac", "uac_req_send"),
            ("dialog", "dlg_bye"),
            ("ims_dialog", "dlg_terminate"),
            ("msilo", "m_store"),
            ("domain", "lookup_domain"),
            ("dispatcher", "ds_select_dst"),
            ("avpops", "avp_db_load"),
            ("cfgutils", "rand_event"),
        ];
        for (m, f) in table {
            let module = module(m).unwrap_or_else(|| panic!("module {m}"));
            assert!(module.functions_named(f).next().is_some(), "{m}.{f}");
        }
        // db_mysql and db_sqlite: parameters only.
        assert!(module("db_mysql").unwrap().param("ping_interval").is_some());
        assert!(module("db_sqlite").unwrap().functions.is_empty());
    }

    #[test]
    fn module_names_unique() {
        let mut names: Vec<_> = modules().iter().map(|m| m.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn some_facts() {
        let sl = module("sl").unwrap();
        let f = sl.functions_named("sl_send_reply").next().unwrap();
        assert_eq!(f.arity, Arity::Fixed(2));
        assert_eq!(f.mask, route_type::REQUEST);
        assert!(f.const_args);
        let tm = module("tm").unwrap();
        assert_eq!(tm.param("fr_timer").unwrap().kind, ParamKind::Int);
        assert!(route_type::allows(route_type::EVENT, route_type::EVENT));
        assert!(route_type::allows(route_type::REQUEST, route_type::EVENT));
        assert!(!route_type::allows(
            route_type::REQUEST,
            route_type::FAILURE
        ));
        assert_eq!(module_name_from_path("/x/tm.so"), "tm");
    }
}

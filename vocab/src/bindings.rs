//! Module functions the runtime implements, and how a call passes its
//! arguments: the one table that makes a catalogued function "supported".
//! The checker reads it (unsupported functions are their own diagnostic
//! class), the lowering resolves calls to a [`BindingId`], code generation
//! emits a direct call to `path` under the runtime root, and the
//! interpreter calls the same function through a table generated from
//! this one, indexed by the id.
//!
//! Adding a module function: a row here and the function in the runtime
//! (`runtime/src/modules/<module>.rs`).

use crate::Level as Lvl;

/// How a script argument is passed to the runtime function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgConv {
    /// An `i32` (a constant, or any expression converted to int).
    Int,
    /// Bytes from a PV-format string (`"$rU@$rd"`), built per call.
    Fmt,
    /// Bytes from a constant string.
    Str,
    /// A text that starts with a PV (after blanks) is that one PV, the
    /// rest ignored; any other text is taken as written, with no PV
    /// expanded (Kamailio's `fixup_var_str_*`: `t_reply`'s reason).
    VarOrStr,
    /// A text that starts with a PV (after blanks) is that one PV, the
    /// rest ignored; any other text is a PV format (Kamailio's
    /// `fixup_var_pve_*`: `sl_send_reply`'s reason).
    VarOrFmt,
    /// An xlog level name (`"L_INFO"`) resolved at compile time, or an
    /// int expression.
    Level,
    /// The name of a `failure_route` block, passed as its index
    /// (`Script::failure_route`); resolved at compile time.
    FailureRoute,
    /// The name of a `branch_route` block, as an index.
    BranchRoute,
    /// The name of a named `onreply_route` block, as an index.
    OnreplyRoute,
    /// A constant list of writable PVs (`"$var(a); $avp(b)"`, separated
    /// by blanks, `,` or `;`, as Kamailio's `parse_pvname_list`), resolved
    /// at compile time; passed as `&[PvRef]` (sqlops' `sql_pvquery`).
    PvList,
    /// One `$avp` or `$var` to write a result to, resolved at compile
    /// time (Kamailio's fixups that refuse any other PV: alias_db's
    /// `alias_db_find`); passed as a `&[PvRef]` of one.
    PvOut,
    /// One `$avp` to add a result to, resolved at compile time; passed as
    /// a `&[PvRef]` of one. Kamailio checks it on every call (sdpops'
    /// `sdp_get`) and fails each time with another PV, so any other PV is
    /// refused at build.
    AvpOut,
    /// Any one writable PV to set a result in, resolved at compile time
    /// (Kamailio's `fixup_pvar` with a check that the PV has a setter:
    /// siputils' `tel2sip`); passed as a `&[PvRef]` of one.
    PvWrite,
    /// Any one PV, resolved at compile time (Kamailio's `fixup_pvar_null`:
    /// the pv module's `pv_isset`/`pv_unset`); passed as a `&[PvRef]` of
    /// one.
    PvAny,
    /// A constant POSIX extended regex, compiled at start-up as textops'
    /// fixups compile theirs (`REG_EXTENDED|REG_ICASE|REG_NEWLINE`):
    /// translated and checked at build time, passed as `&Regex` (one of
    /// the script's compiled regexes).
    Regex,
    /// As [`ArgConv::Regex`] without `REG_NEWLINE` (`replace_body_atonce`'s
    /// fixup): `.` matches line ends, `^`/`$` only the text's ends.
    RegexNl,
    /// A constant sed-style substitution (`/re/repl/flags`, textops'
    /// `subst*`, [`crate::subst`]), split and checked at build time: its
    /// regex compiled at start-up (`&Regex`), then the text as written
    /// (`&[u8]`, whose replacement the runtime reads), then the PVs of the
    /// replacement resolved (`&[SubstPv]`, built once): three parameters
    /// of the runtime function for one argument of the script.
    Subst,
}

/// Whether the runtime function needs the context mutably.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxUse {
    Shared,
    Mut,
}

/// Whether a call logs at a level known before its message is formatted
/// (xlog and its `xinfo`-style aliases): both back ends test the level
/// first and skip the formatting, as Kamailio's xlog does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogGate {
    /// Not a logging call.
    None,
    /// Always this level.
    Fixed(Lvl),
    /// The level is the first argument.
    FirstArg,
}

/// One supported module function (one arity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub module: &'static str,
    pub name: &'static str,
    /// Path under the runtime root (`modules::sl::sl_send_reply`).
    pub path: &'static str,
    pub args: &'static [ArgConv],
    pub ctx: CtxUse,
    /// A level the runtime function takes before the script's arguments
    /// (the fixed level of `xinfo`).
    pub fixed_level: Option<Lvl>,
    /// See [`LogGate`].
    pub gate: LogGate,
}

/// Module functions whose argument names a database table the module
/// checks when the cfg is loaded (Kamailio's fixup: auth_db's `version`
/// check of `www_authenticate`'s table; registrar's table, which usrloc
/// checks and loads with a database mode): (module, function, argument
/// index); and rtpproxy's `set_rtp_proxy_set` and rtpengine's
/// `set_rtpengine_set`, whose fixups look their constant sets up
/// (refusing to start on one not configured), and dialog's profile
/// functions, whose fixups look their profile up. The compiler collects the constant arguments of these calls into
/// `Settings::static_tables`; the runtime checks them at start-up.
pub static STATIC_TABLE_ARGS: &[(&str, &str, usize)] = &[
    ("auth_db", "www_authenticate", 1),
    ("auth_db", "www_authorize", 1),
    ("auth_db", "proxy_authenticate", 1),
    ("auth_db", "proxy_authorize", 1),
    ("registrar", "save", 0),
    ("registrar", "lookup", 0),
    ("registrar", "registered", 0),
    ("registrar", "unregister", 0),
    ("rtpproxy", "set_rtp_proxy_set", 0),
    ("rtpengine", "set_rtpengine_set", 0),
    ("rtpengine", "set_rtpengine_set", 1),
    ("dialog", "set_dlg_profile", 0),
    ("dialog", "unset_dlg_profile", 0),
    ("dialog", "is_in_profile", 0),
    ("dialog", "get_profile_size", 0),
];

/// Module functions whose constant argument is a set of flag letters
/// Kamailio checks when it loads the cfg (refusing to start on another
/// letter): (module, function, argument index, the letters accepted).
pub static FLAG_LETTER_ARGS: &[(&str, &str, usize, &str)] = &[
    ("alias_db", "alias_db_lookup", 1, "dDrRuU"),
    ("alias_db", "alias_db_find", 3, "dDrRuU"),
];

/// Module functions whose constant argument must be one of a few words
/// (ASCII case ignored), as Kamailio's fixups check when it loads the
/// cfg, refusing to start on another: (module, function, argument index,
/// the words).
pub static WORD_ARGS: &[(&str, &str, usize, &[&str])] = &[
    (
        "siputils",
        "is_supported",
        0,
        &["path", "gruu", "timer", "100rel", "outbound", "eventlist"],
    ),
    (
        "textops",
        "is_privacy",
        0,
        &[
            "header", "session", "user", "none", "critical", "id", "history",
        ],
    ),
];

/// Module functions that print the cfg line of the call, then `:`, before
/// their format argument (xlog's `xlogl`, `xdbgl`: the line where the call
/// ends, as Kamailio's action line): (module, function, argument index).
/// The compiler puts the line into the format; the runtime function is the
/// plain one. (module, function, arity, argument index).
pub static LINE_PREFIX_ARGS: &[(&str, &str, usize, usize)] = &[
    ("xlog", "xlogl", 1, 0),
    ("xlog", "xlogl", 2, 1),
    ("xlog", "xdbgl", 1, 0),
];

/// Module functions whose constant argument must be exactly one byte, or
/// Kamailio refuses to start (textops' list separators): (module,
/// function, argument index).
pub static ONE_BYTE_ARGS: &[(&str, &str, usize)] =
    &[("textops", "in_list", 2), ("textops", "in_list_prefix", 2)];

/// Module functions whose constant integer argument the runtime supports
/// only for some values (the others are refused at build as not
/// supported yet; a value computed at run time outside them fails the
/// call with an error logged): (module, function, argument index, the
/// values supported, what the others need).
pub static UNSUPPORTED_INT_ARGS: &[(&str, &str, usize, &[i32], &str)] = &[
    ("dispatcher", "ds_select_dst", 1, DS_ALGS, DS_ALGS_WHY),
    ("dispatcher", "ds_select_domain", 1, DS_ALGS, DS_ALGS_WHY),
    ("dispatcher", "ds_select", 1, DS_ALGS, DS_ALGS_WHY),
];

/// dispatcher's algorithms the runtime implements.
const DS_ALGS: &[i32] = &[0, 1, 2, 3, 4, 6, 8, 9, 11, 13];
const DS_ALGS_WHY: &str = "dispatcher algorithms 5 (auth username), 7 (hash_pvar), \
10 (call load, needs dialog) and 12 (parallel) are not supported yet; 0-4, 6, 8, 9, 11 and 13 are";

/// A binding's position in [`BINDINGS`]: stable for one build of the
/// compiler and runtime, which share this table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BindingId(pub u16);

impl BindingId {
    /// The binding of `module.name` with `arity` arguments, if supported.
    pub fn find(module: &str, name: &str, arity: usize) -> Option<BindingId> {
        BINDINGS
            .iter()
            .position(|b| b.module == module && b.name == name && b.args.len() == arity)
            .and_then(|i| u16::try_from(i).ok())
            .map(BindingId)
    }

    /// Its row.
    pub fn binding(self) -> &'static Binding {
        // Ids come from `find`; the first row stands in for a forged one.
        BINDINGS.get(usize::from(self.0)).unwrap_or(&BINDINGS[0])
    }
}

impl Binding {
    /// Whether any arity of `module.name` is supported.
    pub fn is_supported(module: &str, name: &str) -> bool {
        BINDINGS
            .iter()
            .any(|b| b.module == module && b.name == name)
    }
}

const fn b(
    module: &'static str,
    name: &'static str,
    path: &'static str,
    args: &'static [ArgConv],
    ctx: CtxUse,
) -> Binding {
    Binding {
        module,
        name,
        path,
        args,
        ctx,
        fixed_level: None,
        gate: LogGate::None,
    }
}

/// `xinfo(fmt)` and the other fixed-level xlog functions.
const fn level(name: &'static str, level: Lvl) -> Binding {
    Binding {
        module: "xlog",
        name,
        path: "modules::xlog::xlog",
        args: &[Fmt],
        ctx: Shared,
        fixed_level: Some(level),
        gate: LogGate::Fixed(level),
    }
}

/// `xlog(fmt)` (and `xlogl(fmt)`): at `L_ERR`.
const fn xlog_err(name: &'static str) -> Binding {
    Binding {
        module: "xlog",
        name,
        path: "modules::xlog::xlog_err",
        args: &[Fmt],
        ctx: Shared,
        fixed_level: None,
        gate: LogGate::Fixed(Lvl::Err),
    }
}

/// `xlog(level, fmt)` (and `xlogl(level, fmt)`).
const fn xlog_level_arg(name: &'static str) -> Binding {
    Binding {
        module: "xlog",
        name,
        path: "modules::xlog::xlog",
        args: &[Level, Fmt],
        ctx: Shared,
        fixed_level: None,
        gate: LogGate::FirstArg,
    }
}

/// A tm function (context mutable).
const fn tm(name: &'static str, path: &'static str, args: &'static [ArgConv]) -> Binding {
    b("tm", name, path, args, Mut)
}

/// A tmx route-type test (`t_is_branch_route`...): reads the context.
const fn tmx_route(name: &'static str, path: &'static str) -> Binding {
    b("tmx", name, path, &[], Shared)
}

use ArgConv::{
    AvpOut, BranchRoute, FailureRoute, Fmt, Int, Level, OnreplyRoute, PvAny, PvList, PvOut,
    PvWrite, Regex, RegexNl, Str, Subst, VarOrFmt, VarOrStr,
};
use CtxUse::{Mut, Shared};

/// Every module function the runtime implements.
pub static BINDINGS: &[Binding] = &[
    b(
        "sl",
        "sl_send_reply",
        "modules::sl::sl_send_reply",
        &[Int, VarOrFmt],
        Mut,
    ),
    b(
        "sl",
        "sl_reply",
        "modules::sl::sl_send_reply",
        &[Int, VarOrFmt],
        Mut,
    ),
    b(
        "sl",
        "sl_reply_error",
        "modules::sl::sl_reply_error",
        &[],
        Mut,
    ),
    b(
        "sl",
        "send_reply",
        "modules::sl::send_reply",
        &[Int, VarOrFmt],
        Mut,
    ),
    tm("t_relay", "modules::tm::t_relay", &[]),
    tm("t_relay", "modules::tm::t_relay_to", &[Str, Int]),
    tm("t_relay_to_udp", "modules::tm::t_relay_to_udp", &[Str, Int]),
    tm("t_relay_to_udp", "modules::tm::t_relay_to_udp0", &[]),
    tm("t_relay_to_tcp", "modules::tm::t_relay_to_tcp", &[Str, Int]),
    tm("t_relay_to_tcp", "modules::tm::t_relay_to_tcp0", &[]),
    tm("t_newtran", "modules::tm::t_newtran", &[]),
    tm("t_replicate", "modules::tm::t_replicate", &[]),
    tm("t_replicate", "modules::tm::t_replicate_uri", &[Fmt]),
    tm("t_replicate", "modules::tm::t_replicate_to", &[Str, Int]),
    tm(
        "t_uac_send",
        "modules::tm::t_uac_send",
        &[Fmt, Fmt, Fmt, Fmt, Fmt, Fmt],
    ),
    tm("t_reply", "modules::tm::t_reply", &[Int, VarOrStr]),
    tm("t_check_trans", "modules::tm::t_check_trans", &[]),
    tm("t_on_failure", "modules::tm::t_on_failure", &[FailureRoute]),
    tm("t_on_branch", "modules::tm::t_on_branch", &[BranchRoute]),
    tm("t_on_reply", "modules::tm::t_on_reply", &[OnreplyRoute]),
    tm("t_is_set", "modules::tm::t_is_set", &[Str]),
    tm("t_is_canceled", "modules::tm::t_is_canceled", &[]),
    tm("t_check_status", "modules::tm::t_check_status", &[Fmt]),
    tm("t_release", "modules::tm::t_release", &[]),
    tm("t_branch_timeout", "modules::tm::t_branch_timeout", &[]),
    tm("t_branch_replied", "modules::tm::t_branch_replied", &[]),
    tm("t_any_timeout", "modules::tm::t_any_timeout", &[]),
    tm("t_any_replied", "modules::tm::t_any_replied", &[]),
    tm("t_set_fr", "modules::tm::t_set_fr_inv", &[Int]),
    tm("t_set_fr", "modules::tm::t_set_fr", &[Int, Int]),
    tm("t_reset_fr", "modules::tm::t_reset_fr", &[]),
    b("pv", "pv_isset", "modules::pv::pv_isset", &[PvAny], Shared),
    b("pv", "pv_unset", "modules::pv::pv_unset", &[PvAny], Mut),
    b("pv", "is_int", "modules::pv::is_int", &[PvAny], Shared),
    b(
        "pv",
        "typeof",
        "modules::pv::pv_typeof",
        &[PvAny, Str],
        Shared,
    ),
    b(
        "pv",
        "not_empty",
        "modules::pv::not_empty",
        &[PvAny],
        Shared,
    ),
    b("pv", "xavp_rm", "modules::pv::xavp_rm", &[Fmt], Mut),
    b(
        "pv",
        "xavp_child_rm",
        "modules::pv::xavp_child_rm",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "pv",
        "xavp_child_seti",
        "modules::pv::xavp_child_seti",
        &[Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "pv",
        "xavp_child_sets",
        "modules::pv::xavp_child_sets",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "pv",
        "xavp_params_explode",
        "modules::pv::xavp_params_explode",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "pv",
        "xavp_params_implode",
        "modules::pv::xavp_params_implode",
        &[Fmt, PvWrite],
        Mut,
    ),
    tm(
        "t_set_auto_inv_100",
        "modules::tm::t_set_auto_inv_100",
        &[Int],
    ),
    b(
        "tmx",
        "t_precheck_trans",
        "modules::tm::t_precheck_trans",
        &[],
        Mut,
    ),
    tmx_route("t_is_branch_route", "modules::tm::t_is_branch_route"),
    tmx_route("t_is_failure_route", "modules::tm::t_is_failure_route"),
    tmx_route("t_is_reply_route", "modules::tm::t_is_reply_route"),
    tmx_route("t_is_request_route", "modules::tm::t_is_request_route"),
    b(
        "cfgutils",
        "set_gflag",
        "modules::cfgutils::set_gflag",
        &[Int],
        Mut,
    ),
    b(
        "cfgutils",
        "reset_gflag",
        "modules::cfgutils::reset_gflag",
        &[Int],
        Mut,
    ),
    b(
        "cfgutils",
        "is_gflag",
        "modules::cfgutils::is_gflag",
        &[Int],
        Shared,
    ),
    b(
        "cfgutils",
        "rand_event",
        "modules::cfgutils::rand_event",
        &[],
        Mut,
    ),
    b(
        "cfgutils",
        "rand_set_prob",
        "modules::cfgutils::rand_set_prob",
        &[Int],
        Mut,
    ),
    b(
        "cfgutils",
        "rand_reset_prob",
        "modules::cfgutils::rand_reset_prob",
        &[],
        Mut,
    ),
    b(
        "cfgutils",
        "rand_get_prob",
        "modules::cfgutils::rand_get_prob",
        &[],
        Mut,
    ),
    b("cfgutils", "sleep", "modules::cfgutils::sleep", &[Int], Mut),
    b(
        "counters",
        "cnt_inc",
        "modules::counters::cnt_inc",
        &[Str],
        Mut,
    ),
    b(
        "counters",
        "cnt_add",
        "modules::counters::cnt_add",
        &[Str, Int],
        Mut,
    ),
    b(
        "counters",
        "cnt_reset",
        "modules::counters::cnt_reset",
        &[Str],
        Mut,
    ),
    b(
        "cfgutils",
        "usleep",
        "modules::cfgutils::usleep",
        &[Int],
        Mut,
    ),
    b("cfgutils", "lock", "modules::cfgutils::lock", &[Fmt], Mut),
    b(
        "cfgutils",
        "check_route_exists",
        "modules::cfgutils::check_route_exists",
        &[Fmt],
        Mut,
    ),
    b(
        "cfgutils",
        "route_if_exists",
        "modules::cfgutils::route_if_exists",
        &[Fmt],
        Mut,
    ),
    // A documented no-op: Kamailio dumps its allocators at the `memlog`
    // level (debug by default); there is no such allocator here.
    b(
        "cfgutils",
        "pkg_status",
        "modules::cfgutils::mem_status",
        &[],
        Mut,
    ),
    b(
        "cfgutils",
        "shm_status",
        "modules::cfgutils::mem_status",
        &[],
        Mut,
    ),
    b(
        "cfgutils",
        "pkg_summary",
        "modules::cfgutils::mem_status",
        &[],
        Mut,
    ),
    b(
        "cfgutils",
        "shm_summary",
        "modules::cfgutils::mem_status",
        &[],
        Mut,
    ),
    b(
        "cfgutils",
        "unlock",
        "modules::cfgutils::unlock",
        &[Fmt],
        Mut,
    ),
    b(
        "cfgutils",
        "trylock",
        "modules::cfgutils::trylock",
        &[Fmt],
        Mut,
    ),
    b(
        "cfgutils",
        "core_hash",
        "modules::cfgutils::core_hash",
        &[Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "www_challenge",
        "modules::auth::www_challenge",
        &[Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "proxy_challenge",
        "modules::auth::proxy_challenge",
        &[Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "auth_challenge",
        "modules::auth::auth_challenge",
        &[Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "has_credentials",
        "modules::auth::has_credentials",
        &[Fmt],
        Mut,
    ),
    b(
        "auth",
        "consume_credentials",
        "modules::auth::consume_credentials",
        &[],
        Mut,
    ),
    b(
        "auth",
        "pv_www_authenticate",
        "modules::auth::pv_www_authenticate",
        &[Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "pv_www_authenticate",
        "modules::auth::pv_www_authenticate_method",
        &[Fmt, Fmt, Int, Fmt],
        Mut,
    ),
    b(
        "auth",
        "pv_www_authorize",
        "modules::auth::pv_www_authenticate",
        &[Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "pv_proxy_authenticate",
        "modules::auth::pv_proxy_authenticate",
        &[Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "auth",
        "pv_proxy_authorize",
        "modules::auth::pv_proxy_authenticate",
        &[Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "alias_db",
        "alias_db_lookup",
        "modules::alias_db::alias_db_lookup",
        &[Fmt],
        Mut,
    ),
    b(
        "alias_db",
        "alias_db_lookup",
        "modules::alias_db::alias_db_lookup_flags",
        &[Fmt, Str],
        Mut,
    ),
    b(
        "alias_db",
        "alias_db_find",
        "modules::alias_db::alias_db_find",
        &[Fmt, Fmt, PvOut],
        Mut,
    ),
    b(
        "alias_db",
        "alias_db_find",
        "modules::alias_db::alias_db_find_flags",
        &[Fmt, Fmt, PvOut, Str],
        Mut,
    ),
    b(
        "domain",
        "is_from_local",
        "modules::domain::is_from_local",
        &[],
        Mut,
    ),
    b(
        "domain",
        "is_uri_host_local",
        "modules::domain::is_uri_host_local",
        &[],
        Mut,
    ),
    b(
        "domain",
        "is_domain_local",
        "modules::domain::is_domain_local",
        &[Fmt],
        Mut,
    ),
    b(
        "domain",
        "lookup_domain",
        "modules::domain::lookup_domain",
        &[Fmt],
        Mut,
    ),
    b(
        "domain",
        "lookup_domain",
        "modules::domain::lookup_domain_prefix",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "permissions",
        "allow_source_address",
        "modules::permissions::allow_source_address",
        &[],
        Mut,
    ),
    b(
        "permissions",
        "allow_source_address",
        "modules::permissions::allow_source_address_grp",
        &[Int],
        Mut,
    ),
    b(
        "permissions",
        "allow_source_address_group",
        "modules::permissions::allow_source_address_group",
        &[],
        Mut,
    ),
    b(
        "permissions",
        "allow_address",
        "modules::permissions::allow_address",
        &[Int, Fmt, Int],
        Mut,
    ),
    b(
        "permissions",
        "allow_address_group",
        "modules::permissions::allow_address_group",
        &[Fmt, Int],
        Mut,
    ),
    b(
        "permissions",
        "allow_trusted",
        "modules::permissions::allow_trusted",
        &[],
        Mut,
    ),
    b(
        "permissions",
        "allow_trusted",
        "modules::permissions::allow_trusted_proto",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "permissions",
        "allow_trusted",
        "modules::permissions::allow_trusted_furi",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "speeddial",
        "sd_lookup",
        "modules::speeddial::sd_lookup",
        &[Fmt],
        Mut,
    ),
    b(
        "speeddial",
        "sd_lookup",
        "modules::speeddial::sd_lookup_owner",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "auth_db",
        "www_authenticate",
        "modules::auth_db::www_authenticate",
        &[VarOrStr, Str],
        Mut,
    ),
    b(
        "auth_db",
        "www_authenticate",
        "modules::auth_db::www_authenticate_method",
        &[VarOrStr, Str, VarOrStr],
        Mut,
    ),
    b(
        "auth_db",
        "www_authorize",
        "modules::auth_db::www_authenticate",
        &[VarOrStr, Str],
        Mut,
    ),
    b(
        "auth_db",
        "proxy_authenticate",
        "modules::auth_db::proxy_authenticate",
        &[VarOrStr, Str],
        Mut,
    ),
    b(
        "auth_db",
        "proxy_authorize",
        "modules::auth_db::proxy_authenticate",
        &[VarOrStr, Str],
        Mut,
    ),
    b(
        "auth_db",
        "auth_check",
        "modules::auth_db::auth_check",
        &[VarOrStr, VarOrStr, Int],
        Mut,
    ),
    b(
        "auth_db",
        "is_subscriber",
        "modules::auth_db::is_subscriber",
        &[VarOrStr, VarOrStr, Int],
        Mut,
    ),
    b(
        "acc",
        "acc_log_request",
        "modules::acc::acc_log_request",
        &[Fmt],
        Mut,
    ),
    b(
        "acc",
        "acc_db_request",
        "modules::acc::acc_db_request",
        &[Fmt, Str],
        Mut,
    ),
    xlog_err("xlog"),
    xlog_level_arg("xlog"),
    xlog_err("xlogl"),
    xlog_level_arg("xlogl"),
    level("xdbgl", Lvl::Dbg),
    level("xdbg", Lvl::Dbg),
    level("xinfo", Lvl::Info),
    level("xnotice", Lvl::Notice),
    level("xwarn", Lvl::Warn),
    level("xerr", Lvl::Err),
    level("xbug", Lvl::Bug),
    level("xcrit", Lvl::Crit),
    level("xalert", Lvl::Alert),
    b(
        "sqlops",
        "sql_query",
        "modules::sqlops::sql_query",
        &[Str, Fmt, Str],
        Mut,
    ),
    b(
        "sqlops",
        "sql_query",
        "modules::sqlops::sql_query2",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "sqlops",
        "sql_pvquery",
        "modules::sqlops::sql_pvquery",
        &[Str, Fmt, PvList],
        Mut,
    ),
    b(
        "sqlops",
        "sql_xquery",
        "modules::sqlops::sql_xquery",
        &[Str, Fmt, Fmt],
        Mut,
    ),
    b(
        "sqlops",
        "sql_result_free",
        "modules::sqlops::sql_result_free",
        &[Str],
        Mut,
    ),
    b(
        "textops",
        "is_method",
        "modules::textops::is_method",
        &[Str],
        Shared,
    ),
    b(
        "textops",
        "has_body",
        "modules::textops::has_body",
        &[],
        Shared,
    ),
    b(
        "textops",
        "is_present_hf",
        "modules::textops::is_present_hf",
        &[Fmt],
        Shared,
    ),
    b(
        "textops",
        "append_hf",
        "modules::textops::append_hf",
        &[Fmt],
        Mut,
    ),
    b(
        "textops",
        "append_hf",
        "modules::textops::append_hf_after",
        &[Fmt, Str],
        Mut,
    ),
    b(
        "textops",
        "insert_hf",
        "modules::textops::insert_hf",
        &[Fmt],
        Mut,
    ),
    b(
        "textops",
        "insert_hf",
        "modules::textops::insert_hf_before",
        &[Fmt, Str],
        Mut,
    ),
    b(
        "textops",
        "remove_hf",
        "modules::textops::remove_hf",
        &[Fmt],
        Mut,
    ),
    b(
        "textops",
        "remove_hf_re",
        "modules::textops::remove_hf_re",
        &[Regex],
        Mut,
    ),
    b(
        "textops",
        "remove_hf_exp",
        "modules::textops::remove_hf_exp",
        &[Regex, Regex],
        Mut,
    ),
    b(
        "textops",
        "is_present_hf_re",
        "modules::textops::is_present_hf_re",
        &[Regex],
        Shared,
    ),
    b(
        "textops",
        "search",
        "modules::textops::search",
        &[Regex],
        Shared,
    ),
    b(
        "textops",
        "search_body",
        "modules::textops::search_body",
        &[Regex],
        Shared,
    ),
    b(
        "textops",
        "replace",
        "modules::textops::replace",
        &[Regex, Str],
        Mut,
    ),
    b(
        "textops",
        "replace_all",
        "modules::textops::replace_all",
        &[Regex, Str],
        Mut,
    ),
    b(
        "textops",
        "replace_body",
        "modules::textops::replace_body",
        &[Regex, Str],
        Mut,
    ),
    b(
        "textops",
        "replace_body_all",
        "modules::textops::replace_body_all",
        &[Regex, Str],
        Mut,
    ),
    b(
        "textops",
        "replace_body_atonce",
        "modules::textops::replace_body_atonce",
        &[RegexNl, Str],
        Mut,
    ),
    b(
        "textops",
        "cmp_str",
        "modules::textops::cmp_str",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "textops",
        "cmp_istr",
        "modules::textops::cmp_istr",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "textops",
        "starts_with",
        "modules::textops::starts_with",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "textops",
        "append_to_reply",
        "modules::textops::append_to_reply",
        &[Fmt],
        Mut,
    ),
    b("textops", "subst", "modules::textops::subst", &[Subst], Mut),
    b(
        "textops",
        "subst_uri",
        "modules::textops::subst_uri",
        &[Subst],
        Mut,
    ),
    b(
        "textops",
        "subst_user",
        "modules::textops::subst_user",
        &[Subst],
        Mut,
    ),
    b(
        "textops",
        "subst_body",
        "modules::textops::subst_body",
        &[Subst],
        Mut,
    ),
    b(
        "textops",
        "subst_hf",
        "modules::textops::subst_hf",
        &[Str, Subst, Str],
        Mut,
    ),
    b(
        "textops",
        "search_hf",
        "modules::textops::search_hf",
        &[Str, Regex, Str],
        Shared,
    ),
    b(
        "textops",
        "search_append",
        "modules::textops::search_append",
        &[Regex, Str],
        Mut,
    ),
    b(
        "textops",
        "search_append_body",
        "modules::textops::search_append_body",
        &[Regex, Str],
        Mut,
    ),
    b(
        "textops",
        "in_list",
        "modules::textops::in_list",
        &[Fmt, Fmt, Str],
        Shared,
    ),
    b(
        "textops",
        "in_list_prefix",
        "modules::textops::in_list_prefix",
        &[Fmt, Fmt, Str],
        Shared,
    ),
    b(
        "textops",
        "str_find",
        "modules::textops::str_find",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "textops",
        "str_ifind",
        "modules::textops::str_ifind",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "textops",
        "is_audio_on_hold",
        "modules::textops::is_audio_on_hold",
        &[],
        Shared,
    ),
    b(
        "textops",
        "filter_body",
        "modules::textops::filter_body",
        &[Str],
        Mut,
    ),
    b(
        "textops",
        "is_privacy",
        "modules::textops::is_privacy",
        &[Str],
        Shared,
    ),
    b(
        "textops",
        "append_time",
        "modules::textops::append_time",
        &[],
        Mut,
    ),
    b(
        "textops",
        "set_body",
        "modules::textops::set_body",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "set_reply_body",
        "modules::textops::set_reply_body",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "append_body_part",
        "modules::textops::append_body_part",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "append_body_part",
        "modules::textops::append_body_part_cd",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "append_body_part_hex",
        "modules::textops::append_body_part_hex",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "append_body_part_hex",
        "modules::textops::append_body_part_hex_cd",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "set_body_multipart",
        "modules::textops::set_body_multipart",
        &[],
        Mut,
    ),
    b(
        "textops",
        "set_body_multipart",
        "modules::textops::set_body_multipart_1",
        &[Fmt],
        Mut,
    ),
    b(
        "textops",
        "set_body_multipart",
        "modules::textops::set_body_multipart_2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "set_body_multipart",
        "modules::textops::set_body_multipart_3",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "textops",
        "remove_body_part",
        "modules::textops::remove_body_part",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "msg_apply_changes",
        "modules::textopsx::msg_apply_changes",
        &[],
        Mut,
    ),
    b(
        "textopsx",
        "change_reply_status",
        "modules::textopsx::change_reply_status",
        &[Int, VarOrFmt],
        Mut,
    ),
    b(
        "textopsx",
        "change_reply_status_code",
        "modules::textopsx::change_reply_status_code",
        &[Int],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_start",
        "modules::textopsx::hf_iterator_start",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_next",
        "modules::textopsx::hf_iterator_next",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_prev",
        "modules::textopsx::hf_iterator_prev",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_end",
        "modules::textopsx::hf_iterator_end",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_rm",
        "modules::textopsx::hf_iterator_rm",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_append",
        "modules::textopsx::hf_iterator_append",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_iterator_insert",
        "modules::textopsx::hf_iterator_insert",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "bl_iterator_start",
        "modules::textopsx::bl_iterator_start",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "bl_iterator_next",
        "modules::textopsx::bl_iterator_next",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "bl_iterator_end",
        "modules::textopsx::bl_iterator_end",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "bl_iterator_rm",
        "modules::textopsx::bl_iterator_rm",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "bl_iterator_append",
        "modules::textopsx::bl_iterator_append",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "bl_iterator_insert",
        "modules::textopsx::bl_iterator_insert",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "remove_body",
        "modules::textopsx::remove_body",
        &[],
        Mut,
    ),
    b(
        "textopsx",
        "keep_hf",
        "modules::textopsx::keep_hf_re",
        &[Regex],
        Mut,
    ),
    b(
        "textopsx",
        "fnmatch",
        "modules::textopsx::fnmatch",
        &[VarOrFmt, VarOrFmt],
        Shared,
    ),
    b(
        "textopsx",
        "fnmatch",
        "modules::textopsx::fnmatch_flags",
        &[VarOrFmt, VarOrFmt, VarOrFmt],
        Shared,
    ),
    b(
        "textopsx",
        "msg_set_buffer",
        "modules::textopsx::msg_set_buffer",
        &[Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "append_hf_value",
        "modules::textopsx::append_hf_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "insert_hf_value",
        "modules::textopsx::insert_hf_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "remove_hf_value",
        "modules::textopsx::remove_hf_value",
        &[Str],
        Mut,
    ),
    b(
        "textopsx",
        "assign_hf_value",
        "modules::textopsx::assign_hf_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "remove_hf_value2",
        "modules::textopsx::remove_hf_value2",
        &[Str],
        Mut,
    ),
    b(
        "textopsx",
        "assign_hf_value2",
        "modules::textopsx::assign_hf_value2",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "include_hf_value",
        "modules::textopsx::include_hf_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "exclude_hf_value",
        "modules::textopsx::exclude_hf_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "textopsx",
        "hf_value_exists",
        "modules::textopsx::hf_value_exists",
        &[Str, Fmt],
        Mut,
    ),
    b("kex", "setdsturi", "modules::kex::setdsturi", &[Fmt], Mut),
    b("kex", "resetdsturi", "modules::kex::resetdsturi", &[], Mut),
    b(
        "kex",
        "isdsturiset",
        "modules::kex::isdsturiset",
        &[],
        Shared,
    ),
    b("kex", "setbflag", "modules::kex::setbflag", &[Int], Mut),
    b(
        "kex",
        "setbflag",
        "modules::kex::setbflag_at",
        &[Int, Int],
        Mut,
    ),
    b("kex", "resetbflag", "modules::kex::resetbflag", &[Int], Mut),
    b(
        "kex",
        "resetbflag",
        "modules::kex::resetbflag_at",
        &[Int, Int],
        Mut,
    ),
    b("kex", "isbflagset", "modules::kex::isbflagset", &[Int], Mut),
    b(
        "kex",
        "isbflagset",
        "modules::kex::isbflagset_at",
        &[Int, Int],
        Mut,
    ),
    b(
        "corex",
        "append_branch",
        "modules::corex::append_branch",
        &[],
        Mut,
    ),
    b(
        "corex",
        "is_faked_msg",
        "modules::corex::is_faked_msg",
        &[],
        Shared,
    ),
    b(
        "corex",
        "append_branch",
        "modules::corex::append_branch_uri",
        &[Fmt],
        Mut,
    ),
    b(
        "corex",
        "append_branch",
        "modules::corex::append_branch_uri_q",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "maxfwd",
        "mf_process_maxfwd_header",
        "modules::maxfwd::mf_process_maxfwd_header",
        &[Int],
        Mut,
    ),
    b(
        "maxfwd",
        "maxfwd_process",
        "modules::maxfwd::mf_process_maxfwd_header",
        &[Int],
        Mut,
    ),
    b(
        "maxfwd",
        "process_maxfwd",
        "modules::maxfwd::mf_process_maxfwd_header",
        &[Int],
        Mut,
    ),
    b(
        "maxfwd",
        "is_maxfwd_lt",
        "modules::maxfwd::is_maxfwd_lt",
        &[Int],
        Shared,
    ),
    b(
        "maxfwd",
        "maxfwd_at_least",
        "modules::maxfwd::is_maxfwd_lt",
        &[Int],
        Shared,
    ),
    b(
        "maxfwd",
        "mf_lowlimit",
        "modules::maxfwd::is_maxfwd_lt",
        &[Int],
        Shared,
    ),
    b(
        "siputils",
        "has_totag",
        "modules::siputils::has_totag",
        &[],
        Shared,
    ),
    b(
        "siputils",
        "is_request",
        "modules::siputils::is_request",
        &[],
        Shared,
    ),
    b(
        "siputils",
        "is_reply",
        "modules::siputils::is_reply",
        &[],
        Shared,
    ),
    b(
        "nathelper",
        "nat_uac_test",
        "modules::nathelper::nat_uac_test",
        &[Int],
        Shared,
    ),
    b("path", "add_path", "modules::path::add_path", &[], Mut),
    b(
        "path",
        "add_path",
        "modules::path::add_path_user",
        &[Fmt],
        Mut,
    ),
    b(
        "path",
        "add_path",
        "modules::path::add_path_user_params",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "path",
        "add_path_received",
        "modules::path::add_path_received",
        &[],
        Mut,
    ),
    b(
        "path",
        "add_path_received",
        "modules::path::add_path_received_user",
        &[Fmt],
        Mut,
    ),
    b(
        "path",
        "add_path_received",
        "modules::path::add_path_received_user_params",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "nathelper",
        "fix_nated_register",
        "modules::nathelper::fix_nated_register",
        &[],
        Mut,
    ),
    b(
        "nathelper",
        "fix_nated_contact",
        "modules::nathelper::fix_nated_contact",
        &[],
        Mut,
    ),
    b(
        "nathelper",
        "set_contact_alias",
        "modules::nathelper::set_contact_alias",
        &[],
        Mut,
    ),
    b(
        "nathelper",
        "add_contact_alias",
        "modules::nathelper::add_contact_alias",
        &[],
        Mut,
    ),
    b(
        "nathelper",
        "handle_ruri_alias",
        "modules::nathelper::handle_ruri_alias",
        &[],
        Mut,
    ),
    b(
        "nathelper",
        "handle_ruri_alias",
        "modules::nathelper::handle_ruri_alias_mode",
        &[Int],
        Mut,
    ),
    b(
        "nathelper",
        "is_rfc1918",
        "modules::nathelper::is_rfc1918",
        &[Fmt],
        Shared,
    ),
    b(
        "rtpengine",
        "rtpengine_manage",
        "modules::rtpengine::rtpengine_manage",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_manage",
        "modules::rtpengine::rtpengine_manage1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_offer",
        "modules::rtpengine::rtpengine_offer",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_offer",
        "modules::rtpengine::rtpengine_offer1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_answer",
        "modules::rtpengine::rtpengine_answer",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_answer",
        "modules::rtpengine::rtpengine_answer1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_delete",
        "modules::rtpengine::rtpengine_delete",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_delete",
        "modules::rtpengine::rtpengine_delete1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_query",
        "modules::rtpengine::rtpengine_query",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "rtpengine_query",
        "modules::rtpengine::rtpengine_query1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "start_recording",
        "modules::rtpengine::start_recording",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "start_recording",
        "modules::rtpengine::start_recording1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "stop_recording",
        "modules::rtpengine::stop_recording",
        &[],
        Mut,
    ),
    b(
        "rtpengine",
        "stop_recording",
        "modules::rtpengine::stop_recording1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpengine",
        "set_rtpengine_set",
        "modules::rtpengine::set_rtpengine_set",
        &[Int],
        Mut,
    ),
    b(
        "rtpengine",
        "set_rtpengine_set",
        "modules::rtpengine::set_rtpengine_set2",
        &[Int, Int],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_manage",
        "modules::rtpproxy::rtpproxy_manage",
        &[],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_manage",
        "modules::rtpproxy::rtpproxy_manage1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_manage",
        "modules::rtpproxy::rtpproxy_manage2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_offer",
        "modules::rtpproxy::rtpproxy_offer",
        &[],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_offer",
        "modules::rtpproxy::rtpproxy_offer1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_offer",
        "modules::rtpproxy::rtpproxy_offer2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_answer",
        "modules::rtpproxy::rtpproxy_answer",
        &[],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_answer",
        "modules::rtpproxy::rtpproxy_answer1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_answer",
        "modules::rtpproxy::rtpproxy_answer2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_destroy",
        "modules::rtpproxy::rtpproxy_destroy",
        &[],
        Mut,
    ),
    b(
        "rtpproxy",
        "rtpproxy_destroy",
        "modules::rtpproxy::rtpproxy_destroy1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "unforce_rtp_proxy",
        "modules::rtpproxy::rtpproxy_destroy",
        &[],
        Mut,
    ),
    b(
        "rtpproxy",
        "unforce_rtp_proxy",
        "modules::rtpproxy::rtpproxy_destroy1",
        &[Fmt],
        Mut,
    ),
    b(
        "rtpproxy",
        "set_rtp_proxy_set",
        "modules::rtpproxy::set_rtp_proxy_set",
        &[Int],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_content",
        "modules::sdpops::sdp_content",
        &[],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_with_media",
        "modules::sdpops::sdp_with_media",
        &[Fmt],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_with_active_media",
        "modules::sdpops::sdp_with_active_media",
        &[Fmt],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_with_transport",
        "modules::sdpops::sdp_with_transport",
        &[Fmt],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_with_transport_like",
        "modules::sdpops::sdp_with_transport_like",
        &[Fmt],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_with_codecs_by_id",
        "modules::sdpops::sdp_with_codecs_by_id",
        &[Fmt],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_with_ice",
        "modules::sdpops::sdp_with_ice",
        &[],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_get_address_family",
        "modules::sdpops::sdp_get_address_family",
        &[],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_content",
        "modules::sdpops::sdp_content1",
        &[Str],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_remove_codecs_by_id",
        "modules::sdpops::sdp_remove_codecs_by_id",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_codecs_by_id",
        "modules::sdpops::sdp_remove_codecs_by_id2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_codecs_by_name",
        "modules::sdpops::sdp_remove_codecs_by_name",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_codecs_by_name",
        "modules::sdpops::sdp_remove_codecs_by_name2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_keep_codecs_by_id",
        "modules::sdpops::sdp_keep_codecs_by_id",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_keep_codecs_by_id",
        "modules::sdpops::sdp_keep_codecs_by_id2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_keep_codecs_by_name",
        "modules::sdpops::sdp_keep_codecs_by_name",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_keep_codecs_by_name",
        "modules::sdpops::sdp_keep_codecs_by_name2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_line_by_prefix",
        "modules::sdpops::sdp_remove_line_by_prefix",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_line_by_prefix",
        "modules::sdpops::sdp_remove_line_by_prefix2",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_media",
        "modules::sdpops::sdp_remove_media",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_remove_transport",
        "modules::sdpops::sdp_remove_transport",
        &[Fmt],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_with_codecs_by_name",
        "modules::sdpops::sdp_with_codecs_by_name",
        &[Fmt],
        Shared,
    ),
    b(
        "sdpops",
        "sdp_transport",
        "modules::sdpops::sdp_transport",
        &[AvpOut],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_get",
        "modules::sdpops::sdp_get",
        &[AvpOut],
        Mut,
    ),
    b(
        "sdpops",
        "sdp_get_line_startswith",
        "modules::sdpops::sdp_get_line_startswith",
        &[AvpOut, Fmt],
        Mut,
    ),
    b(
        "siputils",
        "options_reply",
        "modules::siputils::options_reply",
        &[],
        Mut,
    ),
    b(
        "siputils",
        "tel2sip",
        "modules::siputils::tel2sip",
        &[VarOrStr, VarOrStr, PvWrite],
        Mut,
    ),
    b(
        "siputils",
        "is_user",
        "modules::siputils::is_user",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_gruu",
        "modules::siputils::is_gruu",
        &[],
        Shared,
    ),
    b(
        "siputils",
        "is_gruu",
        "modules::siputils::is_gruu1",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_supported",
        "modules::siputils::is_supported",
        &[Str],
        Shared,
    ),
    b(
        "siputils",
        "contact_param_encode",
        "modules::siputils::contact_param_encode",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "siputils",
        "contact_param_decode",
        "modules::siputils::contact_param_decode",
        &[Fmt],
        Mut,
    ),
    b(
        "siputils",
        "contact_param_decode_ruri",
        "modules::siputils::contact_param_decode_ruri",
        &[Fmt],
        Mut,
    ),
    b(
        "siputils",
        "contact_param_rm",
        "modules::siputils::contact_param_rm",
        &[Fmt],
        Mut,
    ),
    b(
        "siputils",
        "encode_contact",
        "modules::siputils::encode_contact",
        &[Str, Str],
        Mut,
    ),
    b(
        "siputils",
        "decode_contact",
        "modules::siputils::decode_contact",
        &[],
        Mut,
    ),
    b(
        "siputils",
        "decode_contact_header",
        "modules::siputils::decode_contact_header",
        &[],
        Mut,
    ),
    b(
        "siputils",
        "is_e164",
        "modules::siputils::is_e164",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_uri_user_e164",
        "modules::siputils::is_uri_user_e164",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_tel_number",
        "modules::siputils::is_tel_number",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_numeric",
        "modules::siputils::is_numeric",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_alphanum",
        "modules::siputils::is_alphanum",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_alphanumex",
        "modules::siputils::is_alphanumex",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "siputils",
        "is_uri",
        "modules::siputils::is_uri",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "cmp_uri",
        "modules::siputils::cmp_uri",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "siputils",
        "cmp_aor",
        "modules::siputils::cmp_aor",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "siputils",
        "add_uri_param",
        "modules::siputils::add_uri_param",
        &[Str],
        Mut,
    ),
    b(
        "siputils",
        "is_first_hop",
        "modules::siputils::is_first_hop",
        &[],
        Shared,
    ),
    b(
        "siputils",
        "is_first_hop",
        "modules::siputils::is_first_hop_mode",
        &[Int],
        Shared,
    ),
    b(
        "siputils",
        "uri_param",
        "modules::siputils::uri_param",
        &[Fmt],
        Shared,
    ),
    b(
        "siputils",
        "uri_param",
        "modules::siputils::uri_param_value",
        &[Fmt, Fmt],
        Shared,
    ),
    b(
        "siputils",
        "uri_param_any",
        "modules::siputils::uri_param_any",
        &[Fmt],
        Shared,
    ),
    b(
        "uac",
        "uac_replace_from",
        "modules::uac::uac_replace_from",
        &[Fmt],
        Mut,
    ),
    b(
        "uac",
        "uac_replace_from",
        "modules::uac::uac_replace_from_dsp",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "uac",
        "uac_replace_to",
        "modules::uac::uac_replace_to",
        &[Fmt],
        Mut,
    ),
    b(
        "uac",
        "uac_replace_to",
        "modules::uac::uac_replace_to_dsp",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "uac",
        "uac_req_send",
        "modules::uac::send::uac_req_send",
        &[],
        Mut,
    ),
    b(
        "uac",
        "uac_restore_from",
        "modules::uac::uac_restore_from",
        &[],
        Mut,
    ),
    b(
        "uac",
        "uac_restore_to",
        "modules::uac::uac_restore_to",
        &[],
        Mut,
    ),
    b("uac", "uac_auth", "modules::uac::uac_auth", &[], Mut),
    b(
        "uac",
        "uac_auth",
        "modules::uac::uac_auth_mode",
        &[Int],
        Mut,
    ),
    b(
        "uac",
        "uac_auth_mode",
        "modules::uac::uac_auth_mode",
        &[Int],
        Mut,
    ),
    b("rr", "record_route", "modules::rr::record_route", &[], Mut),
    b(
        "rr",
        "record_route",
        "modules::rr::record_route_params",
        &[Fmt],
        Mut,
    ),
    b(
        "rr",
        "add_rr_param",
        "modules::rr::add_rr_param",
        &[Fmt],
        Mut,
    ),
    b(
        "rr",
        "remove_record_route",
        "modules::rr::remove_record_route",
        &[],
        Mut,
    ),
    b("rr", "loose_route", "modules::rr::loose_route", &[], Mut),
    b(
        "rr",
        "loose_route_preloaded",
        "modules::rr::loose_route_preloaded",
        &[],
        Mut,
    ),
    b(
        "rr",
        "loose_route_mode",
        "modules::rr::loose_route_mode",
        &[Int],
        Mut,
    ),
    b(
        "rr",
        "check_route_param",
        "modules::rr::check_route_param",
        &[Str],
        Shared,
    ),
    b(
        "rr",
        "is_direction",
        "modules::rr::is_direction",
        &[Str],
        Shared,
    ),
    b(
        "sanity",
        "sanity_check",
        "modules::sanity::sanity_check",
        &[],
        Mut,
    ),
    b(
        "sanity",
        "sanity_check",
        "modules::sanity::sanity_check_msg",
        &[Int],
        Mut,
    ),
    b(
        "sanity",
        "sanity_check",
        "modules::sanity::sanity_check_uri",
        &[Int, Int],
        Mut,
    ),
    b("registrar", "save", "modules::registrar::save", &[Str], Mut),
    b(
        "registrar",
        "save",
        "modules::registrar::save_flags",
        &[Str, Str],
        Mut,
    ),
    b(
        "registrar",
        "save",
        "modules::registrar::save_uri",
        &[Str, Str, Fmt],
        Mut,
    ),
    b(
        "registrar",
        "lookup",
        "modules::registrar::lookup",
        &[Str],
        Mut,
    ),
    b(
        "registrar",
        "lookup",
        "modules::registrar::lookup_uri",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "registrar",
        "registered",
        "modules::registrar::registered",
        &[Str],
        Shared,
    ),
    b(
        "registrar",
        "registered",
        "modules::registrar::registered_uri",
        &[Str, Fmt],
        Shared,
    ),
    b(
        "registrar",
        "unregister",
        "modules::registrar::unregister",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_select_dst",
        "modules::dispatcher::ds_select_dst",
        &[Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_select_dst",
        "modules::dispatcher::ds_select_dst_limit",
        &[Int, Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_select_domain",
        "modules::dispatcher::ds_select_domain",
        &[Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_select_domain",
        "modules::dispatcher::ds_select_domain_limit",
        &[Int, Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_select",
        "modules::dispatcher::ds_select",
        &[Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_select",
        "modules::dispatcher::ds_select_limit",
        &[Int, Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_next_dst",
        "modules::dispatcher::ds_next_dst",
        &[],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_next_domain",
        "modules::dispatcher::ds_next_domain",
        &[],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_mark_dst",
        "modules::dispatcher::ds_mark_dst",
        &[],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_mark_dst",
        "modules::dispatcher::ds_mark_dst_state",
        &[Str],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_is_from_list",
        "modules::dispatcher::ds_is_from_list",
        &[],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_is_from_list",
        "modules::dispatcher::ds_is_from_list_group",
        &[Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_is_from_list",
        "modules::dispatcher::ds_is_from_list_mode",
        &[Int, Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_is_from_list",
        "modules::dispatcher::ds_is_from_list_uri",
        &[Int, Int, Fmt],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_list_exists",
        "modules::dispatcher::ds_list_exists",
        &[Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_is_active",
        "modules::dispatcher::ds_is_active",
        &[Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_is_active",
        "modules::dispatcher::ds_is_active_uri",
        &[Int, Fmt],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_list_exist",
        "modules::dispatcher::ds_list_exists",
        &[Int],
        Mut,
    ),
    b(
        "dispatcher",
        "ds_reload",
        "modules::dispatcher::ds_reload",
        &[],
        Mut,
    ),
    b(
        "htable",
        "sht_rm",
        "modules::htable::sht_rm",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_rm_name_re",
        "modules::htable::sht_rm_name_re",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_rm_value_re",
        "modules::htable::sht_rm_value_re",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_rm_name",
        "modules::htable::sht_rm_name",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_rm_value",
        "modules::htable::sht_rm_value",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_match_name",
        "modules::htable::sht_match_name",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_has_name",
        "modules::htable::sht_match_name",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_match_str_value",
        "modules::htable::sht_match_str_value",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_has_str_value",
        "modules::htable::sht_match_str_value",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_reset",
        "modules::htable::sht_reset",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_setxs",
        "modules::htable::sht_setxs",
        &[Fmt, Fmt, Fmt, Int],
        Mut,
    ),
    b(
        "htable",
        "sht_setxi",
        "modules::htable::sht_setxi",
        &[Fmt, Fmt, Int, Int],
        Mut,
    ),
    b(
        "pike",
        "pike_check_req",
        "modules::pike::pike_check_req",
        &[],
        Mut,
    ),
    b(
        "htable",
        "sht_lock",
        "modules::htable::sht_lock",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_unlock",
        "modules::htable::sht_unlock",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_start",
        "modules::htable::sht_iterator_start",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_next",
        "modules::htable::sht_iterator_next",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_end",
        "modules::htable::sht_iterator_end",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_rm",
        "modules::htable::sht_iterator_rm",
        &[Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_sets",
        "modules::htable::sht_iterator_sets",
        &[Fmt, Fmt],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_seti",
        "modules::htable::sht_iterator_seti",
        &[Fmt, Int],
        Mut,
    ),
    b(
        "htable",
        "sht_iterator_setex",
        "modules::htable::sht_iterator_setex",
        &[Fmt, Int],
        Mut,
    ),
    b(
        "mqueue",
        "mq_add",
        "modules::mqueue::mq_add",
        &[Fmt, Fmt, Fmt],
        Mut,
    ),
    b(
        "mqueue",
        "mq_fetch",
        "modules::mqueue::mq_fetch",
        &[Fmt],
        Mut,
    ),
    b(
        "mqueue",
        "mq_pv_free",
        "modules::mqueue::mq_pv_free",
        &[Fmt],
        Mut,
    ),
    b("mqueue", "mq_size", "modules::mqueue::mq_size", &[Fmt], Mut),
    b(
        "pike",
        "pike_check_ip",
        "modules::pike::pike_check_ip",
        &[Fmt],
        Mut,
    ),
    b(
        "dialog",
        "dlg_manage",
        "modules::dialog::dlg_manage",
        &[],
        Mut,
    ),
    b(
        "dialog",
        "is_known_dlg",
        "modules::dialog::is_known_dlg",
        &[],
        Mut,
    ),
    b(
        "dialog",
        "set_dlg_profile",
        "modules::dialog::set_dlg_profile",
        &[Str],
        Mut,
    ),
    b(
        "dialog",
        "set_dlg_profile",
        "modules::dialog::set_dlg_profile_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "dialog",
        "unset_dlg_profile",
        "modules::dialog::unset_dlg_profile",
        &[Str],
        Mut,
    ),
    b(
        "dialog",
        "unset_dlg_profile",
        "modules::dialog::unset_dlg_profile_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "dialog",
        "is_in_profile",
        "modules::dialog::is_in_profile",
        &[Str],
        Mut,
    ),
    b(
        "dialog",
        "is_in_profile",
        "modules::dialog::is_in_profile_value",
        &[Str, Fmt],
        Mut,
    ),
    b(
        "dialog",
        "get_profile_size",
        "modules::dialog::get_profile_size",
        &[Str, PvOut],
        Mut,
    ),
    b(
        "dialog",
        "get_profile_size",
        "modules::dialog::get_profile_size_value",
        &[Str, Fmt, PvOut],
        Mut,
    ),
    b(
        "dialog",
        "dlg_set_timeout",
        "modules::dialog::dlg_set_timeout",
        &[Int],
        Mut,
    ),
    b("dialog", "dlg_bye", "modules::dialog::dlg_bye", &[Str], Mut),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_find_their_rows() {
        for (i, b) in BINDINGS.iter().enumerate() {
            let id = BindingId::find(b.module, b.name, b.args.len()).map(BindingId::binding);
            // The first row of a (module, name, arity) is the one found.
            let first = BINDINGS.iter().position(|c| {
                c.module == b.module && c.name == b.name && c.args.len() == b.args.len()
            });
            assert_eq!(first, Some(i), "{}.{} listed twice", b.module, b.name);
            assert_eq!(id, Some(b));
        }
        assert!(u16::try_from(BINDINGS.len()).is_ok());
        assert!(Binding::is_supported("sl", "sl_send_reply"));
        assert!(!Binding::is_supported("sl", "nope"));
    }
}

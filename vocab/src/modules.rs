//! The modules the runtime supports and, for each, what it does with every
//! `modparam`: the one table that makes `loadmodule` and `modparam`
//! accounted for. The compiler refuses (as "not supported yet") a loaded
//! module that is not here and a parameter that is neither implemented nor
//! a no-op for the value given; the runtime refuses the same at start-up
//! (a backstop for callers that build `ModParams` themselves); the
//! generated page `docs/modules.md` shows it.
//!
//! A parameter of a listed module is
//! * [`ParamSupport::Implemented`]: the runtime reads it (a test records
//!   every parameter the runtime reads and compares with this table);
//! * [`ParamSupport::NoOp`]: Kamailio's meaning has no effect in this
//!   runtime (a size of its shared memory, a database column of a module
//!   that runs in memory only), with the reason;
//! * [`ParamSupport::NoOpIf`]: a no-op for these values only (Kamailio's
//!   default, or "off"); any other value is not supported yet;
//! * not listed: not supported yet ([`ParamSupport::Unsupported`]).
//!
//! Adding a module: one [`MODULES`] row, with its implemented parameters
//! and its no-ops (ARCHITECTURE.md, "Add a module").

use crate::ModParamValue;

/// The value kind the runtime reads an implemented parameter as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A number (a string holding one counts, as Kamailio converts).
    Int,
    /// Text.
    Str,
    /// `name=$pv;...`, resolved by the compiler (acc's `log_extra`).
    PvList,
    /// One PV, resolved by the compiler (permissions' `peer_tag_avp`,
    /// passed as a one-item list).
    Pv,
}

/// A value for which a [`ParamSupport::NoOpIf`] parameter has no effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoOpValue {
    /// This number (or a string holding it).
    Int(i32),
    /// An empty (or blank) string, or an empty list.
    Empty,
    /// This string (a column's default name).
    Text(&'static str),
}

impl NoOpValue {
    /// Whether `v` is this value.
    pub fn matches(self, v: &ModParamValue) -> bool {
        match (self, v) {
            (Self::Int(n), ModParamValue::Int(m)) => n == *m,
            (Self::Int(n), ModParamValue::Str(s)) => s.trim().parse::<i32>() == Ok(n),
            (Self::Empty, ModParamValue::Str(s)) => s.trim().is_empty(),
            (Self::Empty, ModParamValue::PvList(l)) => l.is_empty(),
            (Self::Text(t), ModParamValue::Str(s)) => s == t,
            _ => false,
        }
    }

    /// As a cfg writes it (`0`, `""`).
    pub fn written(self) -> String {
        match self {
            Self::Int(n) => n.to_string(),
            Self::Empty => "\"\"".into(),
            Self::Text(t) => format!("\"{t}\""),
        }
    }
}

/// What the runtime does with one module parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamSupport {
    /// Read by the runtime, as this kind.
    Implemented(ValueKind),
    /// No effect here, for any value; the reason.
    NoOp(&'static str),
    /// No effect here for these values; any other is not supported yet.
    NoOpIf(&'static [NoOpValue], &'static str),
    /// Setting it is "not supported yet".
    Unsupported,
}

impl ParamSupport {
    /// Whether the runtime runs a cfg that gives this parameter `v`: it
    /// reads it, or it has no effect; `false`: "not supported yet".
    pub fn accepts(self, v: &ModParamValue) -> bool {
        match self {
            Self::Implemented(_) | Self::NoOp(_) => true,
            Self::NoOpIf(values, _) => values.iter().any(|x| x.matches(v)),
            Self::Unsupported => false,
        }
    }
}

/// One supported module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleSupport {
    /// Kamailio's name (`loadmodule "NAME.so"`).
    pub name: &'static str,
    /// Where the runtime implements it, for the docs.
    pub runtime: &'static str,
    /// Its implemented and no-op parameters (Kamailio's spelling); every
    /// other parameter is not supported yet.
    pub params: &'static [(&'static str, ParamSupport)],
}

impl ModuleSupport {
    /// What the runtime does with parameter `name` (spelt as Kamailio
    /// exports it).
    pub fn param(&self, name: &str) -> ParamSupport {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(ParamSupport::Unsupported, |(_, s)| *s)
    }
}

/// The supported module called `name`.
pub fn module_support(name: &str) -> Option<&'static ModuleSupport> {
    MODULES.iter().find(|m| m.name == name)
}

/// What the runtime does with `modparam(module, name, ...)`; `None` when
/// the module itself is not supported.
pub fn modparam_support(module: &str, name: &str) -> Option<ParamSupport> {
    module_support(module).map(|m| m.param(name))
}

use NoOpValue::{Empty, Int as V, Text};
use ParamSupport::{Implemented as Impl, NoOp, NoOpIf};
use ValueKind::{Int, Pv, PvList, Str};

const DEFAULT_COLUMN: &str = "Kamailio's default column name, the one the runtime uses";
/// ctl's buffer sizes.
const CTL_BUFFERS: &str = "sizes of Kamailio's fixed BINRPC print and reply buffers; \
     this runtime sizes each reply to what it holds";
/// auth's extra nonce checks.
const AUTH_CHECKS: &str =
    "`0` is Kamailio's default: no message values hashed into the nonce, as in the runtime";
/// auth's nonce_count / one_time_nonce.
const NONCE_TRACKING: &str =
    "`0` is Kamailio's default: no nonce-count or one-time-nonce tracking, as in the runtime";
/// Sizes of auth's nonce tracking.
const NONCE_SIZES: &str = "sizes of the shared-memory tables of `nonce_count`/`one_time_nonce`, which are not supported yet (refused unless `0`)";
/// db_mysql's parameters of the srdb2 API.
const SRDB2: &str =
    "used by Kamailio's srdb2 database API only, which no module of this runtime uses";
/// sqlops' `{sql.*}` transformations.
const SQL_TR: &str = "the size of the `{sql.*}` transformations' buffer; those transformations are not supported yet";

/// permissions' allow/deny files.
const PERM_FILES: &str = "read only by `allow_routing`, `allow_register` and `allow_uri`, which are not supported yet (refused at build)";

/// Every module the runtime supports, alphabetically.
pub static MODULES: &[ModuleSupport] = &[
    ModuleSupport {
        name: "acc",
        runtime: "runtime/src/modules/acc.rs",
        params: &[
            ("log_flag", Impl(Int)),
            ("log_missed_flag", Impl(Int)),
            ("failed_transaction_flag", Impl(Int)),
            ("failed_filter", Impl(Str)),
            ("acc_prepare_flag", Impl(Int)),
            ("acc_prepare_always", Impl(Int)),
            ("early_media", Impl(Int)),
            ("report_cancels", Impl(Int)),
            ("reason_from_hf", Impl(Int)),
            ("log_level", Impl(Int)),
            ("log_facility", Impl(Str)),
            ("log_extra", Impl(PvList)),
            (
                "report_ack",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: end-to-end ACKs are not accounted, as in the runtime",
                ),
            ),
            (
                "detect_direction",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: From/To are never swapped, as in the runtime",
                ),
            ),
            (
                "time_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: a record carries only the Unix `timestamp=`, as in the runtime",
                ),
            ),
            (
                "multi_leg_info",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no per-leg accounting, as in the runtime",
                ),
            ),
            ("db_flag", Impl(Int)),
            ("db_missed_flag", Impl(Int)),
            ("db_url", Impl(Str)),
            ("db_extra", Impl(PvList)),
            ("acc_extra_nullable", Impl(Int)),
            (
                "db_insert_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: a plain insert per record, as in the runtime",
                ),
            ),
            ("db_table_acc", Impl(Str)),
            ("db_table_missed_calls", Impl(Str)),
            ("acc_method_column", Impl(Str)),
            ("acc_from_tag_column", Impl(Str)),
            ("acc_to_tag_column", Impl(Str)),
            ("acc_callid_column", Impl(Str)),
            ("acc_sip_code_column", Impl(Str)),
            ("acc_sip_reason_column", Impl(Str)),
            ("acc_time_column", Impl(Str)),
            (
                "cdr_enable",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no dialog CDRs, as in the runtime",
                ),
            ),
            (
                "cdr_extra",
                NoOpIf(&[Empty], "empty: no dialog CDRs, as in the runtime"),
            ),
            (
                "cdr_start_on_confirmed",
                NoOpIf(
                    &[V(0)],
                    "a setting of dialog CDRs, which the runtime does not write (`cdr_enable` is refused)",
                ),
            ),
            (
                "cdr_expired_dlg_enable",
                NoOpIf(
                    &[V(0)],
                    "a setting of dialog CDRs, which the runtime does not write (`cdr_enable` is refused)",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "alias_db",
        runtime: "runtime/src/modules/alias_db.rs",
        params: &[
            ("db_url", Impl(Str)),
            ("user_column", Impl(Str)),
            ("domain_column", Impl(Str)),
            ("alias_user_column", Impl(Str)),
            ("alias_domain_column", Impl(Str)),
            ("use_domain", Impl(Int)),
            ("domain_prefix", Impl(Str)),
            (
                "append_branches",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: only the first row is used, as in the runtime (rows as extra branches are not supported yet)",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "auth",
        runtime: "runtime/src/modules/auth.rs",
        params: &[
            ("secret", Impl(Str)),
            ("nonce_expire", Impl(Int)),
            ("nonce_auth_max_drift", Impl(Int)),
            ("realm_prefix", Impl(Str)),
            ("algorithm", Impl(Str)),
            ("qop", Impl(Str)),
            ("add_authinfo_hdr", Impl(Int)),
            ("force_stateless_reply", Impl(Int)),
            ("www_challenge_header", Impl(Str)),
            ("proxy_challenge_header", Impl(Str)),
            (
                "protect_contacts",
                NoOp("accepted but read by nothing in Kamailio 5.6.3"),
            ),
            (
                "use_domain",
                NoOp("read only by `pv_auth_check`, which the runtime does not implement yet"),
            ),
            (
                "challenge_attr",
                NoOp(
                    "the AVP the `pv_*` functions' flags 2, 4 and 8 fill, which are not supported yet: the runtime logs an error and builds no challenge AVP",
                ),
            ),
            ("auth_checks_register", NoOpIf(&[V(0)], AUTH_CHECKS)),
            ("auth_checks_no_dlg", NoOpIf(&[V(0)], AUTH_CHECKS)),
            ("auth_checks_in_dlg", NoOpIf(&[V(0)], AUTH_CHECKS)),
            ("nonce_count", NoOpIf(&[V(0)], NONCE_TRACKING)),
            ("one_time_nonce", NoOpIf(&[V(0)], NONCE_TRACKING)),
            ("nc_array_size", NoOp(NONCE_SIZES)),
            ("nc_array_order", NoOp(NONCE_SIZES)),
            ("otn_in_flight_no", NoOp(NONCE_SIZES)),
            ("otn_in_flight_order", NoOp(NONCE_SIZES)),
            ("nid_pool_no", NoOp(NONCE_SIZES)),
        ],
    },
    ModuleSupport {
        name: "auth_db",
        runtime: "runtime/src/modules/auth_db.rs",
        params: &[
            ("db_url", Impl(Str)),
            ("user_column", Impl(Str)),
            ("domain_column", Impl(Str)),
            ("password_column", Impl(Str)),
            ("password_column_2", Impl(Str)),
            ("calculate_ha1", Impl(Int)),
            ("use_domain", Impl(Int)),
            ("load_credentials", Impl(PvList)),
            ("version_table", Impl(Int)),
            ("force_generate_avps", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "cfg_rpc",
        runtime: "runtime/src/modules (RPC commands cfg.*)",
        params: &[],
    },
    ModuleSupport {
        name: "cfgutils",
        runtime: "runtime/src/modules/cfgutils.rs",
        params: &[
            ("initial_probability", Impl(Int)),
            ("initial_gflags", Impl(Int)),
            ("lock_set_size", Impl(Int)),
            (
                "hash_file",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no config-file hash to check",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "corex",
        runtime: "runtime/src/modules/corex.rs",
        params: &[],
    },
    ModuleSupport {
        name: "counters",
        runtime: "runtime/src/modules/counters.rs",
        params: &[
            ("script_counter", Impl(Str)),
            ("script_cnt_grp_name", Impl(Str)),
        ],
    },
    ModuleSupport {
        name: "ctl",
        runtime: "runtime/src/modules (ctl's BINRPC transport)",
        params: &[
            ("binrpc", Impl(Str)),
            ("mode", Impl(Int)),
            ("user", Impl(Str)),
            ("group", Impl(Str)),
            ("binrpc_buffer_size", NoOp(CTL_BUFFERS)),
            ("binrpc_max_body_size", NoOp(CTL_BUFFERS)),
            ("binrpc_struct_max_body_size", NoOp(CTL_BUFFERS)),
        ],
    },
    ModuleSupport {
        name: "db_mysql",
        runtime: "runtime/src/db/mysql.rs",
        params: &[
            ("auto_reconnect", Impl(Int)),
            ("ping_interval", Impl(Int)),
            ("timeout_interval", Impl(Int)),
            ("connect_timeout", NoOp(SRDB2)),
            ("send_timeout", NoOp(SRDB2)),
            ("receive_timeout", NoOp(SRDB2)),
            ("retries", NoOp(SRDB2)),
            (
                "server_timezone",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: DATETIME values as local-time strings, as in the runtime",
                ),
            ),
            (
                "insert_delayed",
                NoOpIf(&[V(0)], "`0` is Kamailio's default: plain inserts"),
            ),
            (
                "update_affected_found",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: affected rows are the changed rows, as the server counts them",
                ),
            ),
            (
                "unsigned_type",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: unsigned columns read as signed ints",
                ),
            ),
            (
                "opt_ssl_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no TLS to the server, as in the runtime",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "db_postgres",
        runtime: "runtime/src/db/postgres.rs",
        params: &[
            ("retries", Impl(Int)),
            (
                "timeout",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: wait for the server's answer without a limit",
                ),
            ),
            (
                "tcp_keepalive",
                NoOpIf(&[V(0)], "`0` is Kamailio's default: no TCP keepalive"),
            ),
            (
                "lockset",
                NoOp("locks of db_postgres' asynchronous queries; the runtime has none"),
            ),
            (
                "bytea_output_escape",
                NoOp(
                    "the runtime reads bytea values as raw bytes whatever the server's output format",
                ),
            ),
            (
                "con_param",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no extra libpq keywords",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "db_sqlite",
        runtime: "runtime/src/db/sqlite.rs",
        params: &[
            ("db_set_readonly", Impl(Str)),
            ("db_set_journal_mode", Impl(Str)),
        ],
    },
    ModuleSupport {
        name: "dialog",
        runtime: "runtime/src/modules/dialog.rs",
        params: &[
            ("dlg_flag", Impl(Int)),
            ("default_timeout", Impl(Int)),
            ("dlg_match_mode", Impl(Int)),
            ("rr_param", Impl(Str)),
            ("hash_size", Impl(Int)),
            ("detect_spirals", Impl(Int)),
            ("timeout_avp", Impl(Pv)),
            ("profiles_no_value", Impl(Str)),
            ("profiles_with_value", Impl(Str)),
            (
                "db_mode",
                NoOpIf(
                    &[V(0)],
                    "0 is Kamailio's default: dialogs are kept in memory only, as here",
                ),
            ),
            ("send_bye", Impl(Int)),
            (
                "track_cseq_updates",
                NoOpIf(&[V(0)], "0 is Kamailio's default: CSeqs are not rewritten"),
            ),
            (
                "enable_stats",
                NoOp(
                    "the `dialog` statistics group is not exposed by the runtime yet (no RPC or `$stat` reads it)",
                ),
            ),
            (
                "enable_dmq",
                NoOpIf(&[V(0)], "0 is Kamailio's default: no DMQ replication"),
            ),
        ],
    },
    ModuleSupport {
        name: "dispatcher",
        runtime: "runtime/src/modules/dispatcher.rs",
        params: &[
            ("list_file", Impl(Str)),
            ("flags", Impl(Int)),
            ("use_default", Impl(Int)),
            ("force_dst", Impl(Int)),
            ("xavp_dst", Impl(Str)),
            ("xavp_dst_mode", Impl(Int)),
            ("xavp_ctx", Impl(Str)),
            ("xavp_ctx_mode", Impl(Int)),
            ("ds_probing_mode", Impl(Int)),
            ("ds_probing_threshold", Impl(Int)),
            ("ds_inactive_threshold", Impl(Int)),
            ("ds_attrs_none", Impl(Int)),
            ("reload_delta", Impl(Int)),
            ("ds_ping_interval", Impl(Int)),
            ("ds_ping_method", Impl(Str)),
            ("ds_ping_from", Impl(Str)),
            ("ds_ping_reply_codes", Impl(Str)),
            (
                "ds_ping_latency_stats",
                NoOpIf(
                    &[V(0)],
                    "0 is Kamailio's default: no latency statistics of the probes (not supported yet)",
                ),
            ),
            ("ds_load_mode", Impl(Int)),
            (
                "ds_dns_mode",
                NoOpIf(
                    &[V(1)],
                    "1 is Kamailio's default (resolve at load): IP addresses need no lookup; a host name in the list is not supported yet (refused at start)",
                ),
            ),
            (
                "ds_hash_size",
                NoOpIf(
                    &[V(0)],
                    "0 is Kamailio's default: no call-load table (algorithm 10 is not supported yet)",
                ),
            ),
            ("db_url", Impl(Str)),
            ("table_name", Impl(Str)),
            ("setid_col", Impl(Str)),
            ("destination_col", Impl(Str)),
            ("flags_col", Impl(Str)),
            ("priority_col", Impl(Str)),
            ("attrs_col", Impl(Str)),
        ],
    },
    ModuleSupport {
        name: "domain",
        runtime: "runtime/src/modules/domain.rs",
        params: &[
            ("db_url", Impl(Str)),
            ("domain_table", Impl(Str)),
            ("domain_attrs_table", Impl(Str)),
            ("did_col", Impl(Str)),
            ("domain_col", Impl(Str)),
            ("name_col", Impl(Str)),
            ("type_col", Impl(Str)),
            ("value_col", Impl(Str)),
            ("register_myself", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "htable",
        runtime: "runtime/src/modules/htable.rs",
        params: &[
            ("htable", Impl(Str)),
            ("timer_interval", Impl(Int)),
            ("db_url", Impl(Str)),
            ("key_name_column", Impl(Str)),
            ("key_type_column", Impl(Str)),
            ("value_type_column", Impl(Str)),
            ("key_value_column", Impl(Str)),
            ("expires_column", Impl(Str)),
            ("array_size_suffix", Impl(Str)),
            ("fetch_rows", Impl(Int)),
            ("db_expires", Impl(Int)),
            (
                "timer_procs",
                NoOpIf(
                    &[V(0)],
                    "0 is Kamailio's default: the expiry sweep runs on the core timer, as here",
                ),
            ),
            (
                "enable_dmq",
                NoOpIf(&[V(0)], "0 is Kamailio's default: no DMQ replication"),
            ),
            (
                "dmq_init_sync",
                NoOpIf(&[V(0)], "0 is Kamailio's default: no DMQ replication"),
            ),
            (
                "event_callback",
                NoOpIf(&[Empty], "empty is Kamailio's default: no KEMI callback"),
            ),
            (
                "event_callback_mode",
                NoOpIf(&[V(0)], "0 is Kamailio's default: no KEMI callback"),
            ),
        ],
    },
    ModuleSupport {
        name: "jsonrpcs",
        runtime: "runtime/src/modules/jsonrpcs",
        params: &[
            ("pretty_format", Impl(Int)),
            ("transport", Impl(Int)),
            ("fifo_name", Impl(Str)),
            ("fifo_mode", Impl(Int)),
            ("fifo_reply_dir", Impl(Str)),
            ("dgram_socket", Impl(Str)),
            ("dgram_mode", Impl(Int)),
            ("dgram_workers", Impl(Int)),
            ("dgram_timeout", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "kex",
        runtime: "runtime/src/modules/kex.rs",
        params: &[],
    },
    ModuleSupport {
        name: "maxfwd",
        runtime: "runtime/src/modules/maxfwd.rs",
        params: &[("max_limit", Impl(Int))],
    },
    ModuleSupport {
        name: "mqueue",
        runtime: "runtime/src/modules/mqueue.rs",
        params: &[
            ("mqueue", Impl(Str)),
            ("mqueue_name", Impl(Str)),
            ("mqueue_size", Impl(Int)),
            ("mqueue_addmode", Impl(Int)),
            (
                "db_url",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no queue is kept in a database",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "nathelper",
        runtime: "runtime/src/modules/nathelper.rs",
        params: &[
            (
                "nat_addr_mode",
                NoOpIf(
                    &[V(1)],
                    "`1` is Kamailio's default: 192.0.0.0/24 counts as private, as in the runtime",
                ),
            ),
            ("received_avp", Impl(Pv)),
            ("natping_interval", Impl(Int)),
            ("natping_processes", Impl(Int)),
            ("ping_nated_only", Impl(Int)),
            ("sipping_bflag", Impl(Int)),
            ("sipping_from", Impl(Str)),
            ("sipping_method", Impl(Str)),
            (
                "natping_disable_bflag",
                NoOpIf(
                    &[V(-1)],
                    "`-1` is Kamailio's default: no flag disables a contact's pings, as in the runtime",
                ),
            ),
            (
                "keepalive_timeout",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: unanswered pings do not expire contacts, as in the runtime",
                ),
            ),
            (
                "udpping_from_path",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: UDP pings leave from the proxy's own socket, as in the runtime",
                ),
            ),
            (
                "natping_socket",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no raw socket, pings leave from the contact's socket, as in the runtime",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "path",
        runtime: "runtime/src/modules/path.rs",
        params: &[
            (
                "use_received",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: a Route's received parameter does not set the destination, as in the runtime",
                ),
            ),
            (
                "received_format",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: the received address written as a SIP URI, as in the runtime",
                ),
            ),
            (
                "enable_r2",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: one Path header, as in the runtime",
                ),
            ),
            (
                "sockname_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: the socket's address, not its name, as in the runtime",
                ),
            ),
            (
                "received_name",
                NoOpIf(
                    &[Text("received")],
                    "`received` is Kamailio's default, as in the runtime",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "permissions",
        runtime: "runtime/src/modules/permissions.rs, runtime/src/modules/permissions/trusted.rs",
        params: &[
            ("db_url", Impl(Str)),
            ("load_backends", Impl(Int)),
            ("address_table", Impl(Str)),
            ("grp_col", Impl(Str)),
            ("ip_addr_col", Impl(Str)),
            ("mask_col", Impl(Str)),
            ("port_col", Impl(Str)),
            ("tag_col", Impl(Str)),
            ("trusted_table", Impl(Str)),
            ("max_subnets", Impl(Int)),
            ("db_mode", Impl(Int)),
            ("source_col", Impl(Str)),
            ("proto_col", Impl(Str)),
            ("from_col", Impl(Str)),
            ("ruri_col", Impl(Str)),
            ("priority_col", Impl(Str)),
            ("peer_tag_avp", Impl(Pv)),
            ("peer_tag_mode", Impl(Int)),
            ("reload_delta", Impl(Int)),
            (
                "trusted_cleanup_interval",
                NoOp(
                    "the period of Kamailio's timer that frees the trusted table a reload replaced; \
                     here the replaced table is freed when the last message using it is done",
                ),
            ),
            ("default_allow_file", NoOp(PERM_FILES)),
            ("default_deny_file", NoOp(PERM_FILES)),
            ("allow_suffix", NoOp(PERM_FILES)),
            ("deny_suffix", NoOp(PERM_FILES)),
            ("check_all_branches", NoOp(PERM_FILES)),
        ],
    },
    ModuleSupport {
        name: "pike",
        runtime: "runtime/src/modules/pike.rs",
        params: &[
            ("sampling_time_unit", Impl(Int)),
            ("reqs_density_per_unit", Impl(Int)),
            ("remove_latency", Impl(Int)),
            ("pike_log_level", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "pv",
        runtime: "runtime/src/engine/pv.rs, runtime/src/engine/trans.rs, runtime/src/modules/pv.rs",
        params: &[],
    },
    ModuleSupport {
        name: "registrar",
        runtime: "runtime/src/modules/registrar.rs",
        params: &[
            ("default_expires", Impl(Int)),
            ("min_expires", Impl(Int)),
            ("min_expires_mode", Impl(Int)),
            ("max_expires", Impl(Int)),
            ("default_q", Impl(Int)),
            ("append_branches", Impl(Int)),
            ("case_sensitive", Impl(Int)),
            ("max_contacts", Impl(Int)),
            ("method_filtering", Impl(Int)),
            ("use_path", Impl(Int)),
            ("path_mode", Impl(Int)),
            ("realm_prefix", Impl(Str)),
            ("retry_after", Impl(Int)),
            (
                "default_expires_range",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no randomised expiry, as in the runtime",
                ),
            ),
            (
                "expires_range",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no randomised expiry, as in the runtime",
                ),
            ),
            ("received_param", Impl(Str)),
            ("received_avp", Impl(Pv)),
            (
                "xavp_cfg",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no per-call settings, as in the runtime",
                ),
            ),
            (
                "xavp_rcd",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no contact record xavp, as in the runtime",
                ),
            ),
            (
                "outbound_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no SIP outbound (RFC 5626), as in the runtime",
                ),
            ),
            (
                "regid_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: reg-id only with outbound, which the runtime lacks",
                ),
            ),
            (
                "sock_flag",
                NoOpIf(
                    &[V(-1)],
                    "`-1` is Kamailio's default: no flag forces the send socket, as in the runtime",
                ),
            ),
            (
                "sock_hdr_name",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: no header names the socket, as in the runtime",
                ),
            ),
            ("gruu_enabled", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "rr",
        runtime: "runtime/src/modules/rr.rs",
        params: &[
            ("enable_full_lr", Impl(Int)),
            ("append_fromtag", Impl(Int)),
            ("enable_double_rr", Impl(Int)),
            ("add_username", Impl(Int)),
            ("ignore_sips", Impl(Int)),
            (
                "sockname_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no socket name in Record-Route, as in the runtime",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "rtimer",
        runtime: "runtime/src/modules/rtimer.rs",
        params: &[
            ("default_interval", Impl(Int)),
            ("timer", Impl(Str)),
            ("exec", Impl(Str)),
        ],
    },
    ModuleSupport {
        name: "rtpengine",
        runtime: "runtime/src/modules/rtpengine.rs, runtime/src/modules/rtpengine/bencode.rs, runtime/src/modules/media_relay.rs",
        params: &[
            ("rtpengine_sock", Impl(Str)),
            ("rtpengine_tout_ms", Impl(Int)),
            ("rtpengine_retr", Impl(Int)),
            ("rtpengine_disable_tout", Impl(Int)),
            ("aggressive_redetection", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "rtpproxy",
        runtime: "runtime/src/modules/rtpproxy.rs, runtime/src/modules/rtpproxy/sdp.rs, runtime/src/modules/media_relay.rs",
        params: &[
            ("rtpproxy_sock", Impl(Str)),
            ("rtpproxy_tout", Impl(Int)),
            ("rtpproxy_retr", Impl(Int)),
            ("rtpproxy_disable_tout", Impl(Int)),
            ("nortpproxy_str", Impl(Str)),
            ("timeout_socket", Impl(Str)),
            (
                "db_url",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: the instances come from `rtpproxy_sock`, as in the runtime",
                ),
            ),
            (
                "table_name",
                NoOp(
                    "read only with a `db_url`, which is not supported: the instances come from `rtpproxy_sock`",
                ),
            ),
            (
                "extra_id_pv",
                NoOpIf(
                    &[Empty],
                    "empty is Kamailio's default: the `b` flag adds nothing to the Call-ID, as in the runtime",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "sanity",
        runtime: "runtime/src/modules/sanity.rs",
        params: &[
            ("default_checks", Impl(Int)),
            ("uri_checks", Impl(Int)),
            ("proxy_require", Impl(Str)),
            ("autodrop", Impl(Int)),
            (
                "noreply",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: a failed check is answered, as in the runtime",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "sdpops",
        runtime: "runtime/src/modules/sdpops.rs",
        params: &[],
    },
    ModuleSupport {
        name: "siputils",
        runtime: "runtime/src/modules/siputils.rs",
        params: &[
            ("options_accept", Impl(Str)),
            ("options_accept_encoding", Impl(Str)),
            ("options_accept_language", Impl(Str)),
            ("options_support", Impl(Str)),
            ("contact_flds_separator", Impl(Str)),
        ],
    },
    ModuleSupport {
        name: "sl",
        runtime: "runtime/src/modules/sl.rs",
        params: &[(
            "bind_tm",
            NoOpIf(
                &[V(1)],
                "`1` is Kamailio's default: `send_reply` answers through tm when a transaction exists, as in the runtime",
            ),
        )],
    },
    ModuleSupport {
        name: "speeddial",
        runtime: "runtime/src/modules/speeddial.rs",
        params: &[
            ("db_url", Impl(Str)),
            ("user_column", Impl(Str)),
            ("domain_column", Impl(Str)),
            ("sd_user_column", Impl(Str)),
            ("sd_domain_column", Impl(Str)),
            ("new_uri_column", Impl(Str)),
            ("use_domain", Impl(Int)),
            ("domain_prefix", Impl(Str)),
        ],
    },
    ModuleSupport {
        name: "sqlops",
        runtime: "runtime/src/modules/sqlops.rs",
        params: &[
            ("sqlcon", Impl(Str)),
            ("results_maxsize", Impl(Int)),
            ("connect_mode", Impl(Int)),
            (
                "sqlres",
                NoOp("result containers are made on first use; declaring them changes nothing"),
            ),
            ("tr_buf_size", NoOp(SQL_TR)),
        ],
    },
    ModuleSupport {
        name: "textops",
        runtime: "runtime/src/modules/textops.rs",
        params: &[],
    },
    ModuleSupport {
        name: "textopsx",
        runtime: "runtime/src/modules/textopsx.rs",
        params: &[],
    },
    ModuleSupport {
        name: "tm",
        runtime: "runtime/src/tm",
        params: &[
            ("fr_timer", Impl(Int)),
            ("fr_inv_timer", Impl(Int)),
            ("wt_timer", Impl(Int)),
            ("retr_timer1", Impl(Int)),
            ("retr_timer2", Impl(Int)),
            ("restart_fr_on_each_reply", Impl(Int)),
            ("auto_inv_100", Impl(Int)),
            ("auto_inv_100_reason", Impl(Str)),
            ("failure_reply_mode", Impl(Int)),
            ("remap_503_500", Impl(Int)),
            ("disable_6xx_block", Impl(Int)),
            ("local_cancel_reason", Impl(Int)),
            ("e2e_cancel_reason", Impl(Int)),
        ],
    },
    ModuleSupport {
        name: "tmx",
        runtime: "runtime/src/tm (tmx's functions)",
        params: &[(
            "precheck_trans",
            NoOpIf(
                &[V(1)],
                "`1` is Kamailio's default: `t_precheck_trans` checks, as in the runtime",
            ),
        )],
    },
    ModuleSupport {
        name: "uac",
        runtime: "runtime/src/modules/uac.rs",
        params: &[
            ("restore_mode", Impl(Str)),
            ("restore_passwd", Impl(Str)),
            ("rr_from_store_param", Impl(Str)),
            ("rr_to_store_param", Impl(Str)),
            ("credential", Impl(Str)),
            ("auth_realm_avp", Impl(Pv)),
            ("auth_username_avp", Impl(Pv)),
            ("auth_password_avp", Impl(Pv)),
            (
                "restore_dlg",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: the URIs are kept in the Record-Route, not in a dialog (the dialog module is not supported)",
                ),
            ),
        ],
    },
    ModuleSupport {
        name: "usrloc",
        runtime: "runtime/src/modules/usrloc.rs",
        params: &[
            ("timer_interval", Impl(Int)),
            ("use_domain", Impl(Int)),
            ("desc_time_order", Impl(Int)),
            ("cseq_delay", Impl(Int)),
            ("db_mode", Impl(Int)),
            ("db_url", Impl(Str)),
            ("db_load", Impl(Int)),
            ("version_table", Impl(Int)),
            ("preload", Impl(Str)),
            (
                "db_ops_ruid",
                NoOpIf(
                    &[V(1)],
                    "`1` is Kamailio's default: rows are updated and deleted by their ruid, as in the runtime",
                ),
            ),
            (
                "db_update_as_insert",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: changed contacts are updated, as in the runtime",
                ),
            ),
            (
                "db_insert_update",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: new contacts are inserted, as in the runtime",
                ),
            ),
            (
                "db_check_update",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: an update is not checked for a changed row, as in the runtime",
                ),
            ),
            (
                "db_insert_null",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: empty optional columns are left out of an insert, as in the runtime",
                ),
            ),
            (
                "db_timer_clean",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: no extra database sweep of expired rows, as in the runtime",
                ),
            ),
            (
                "db_clean_tcp",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default: TCP contacts are kept at start-up, as in the runtime",
                ),
            ),
            (
                "fetch_rows",
                NoOp(
                    "how many rows Kamailio fetches at a time while loading; the runtime reads the table in one query",
                ),
            ),
            (
                "db_raw_fetch_type",
                NoOp("how Kamailio fetches raw query results; the runtime has one way"),
            ),
            (
                "matching_mode",
                NoOpIf(
                    &[V(0)],
                    "`0` is Kamailio's default (CONTACT_ONLY): contacts matched by their Contact URI, as in the runtime",
                ),
            ),
            (
                "timer_procs",
                NoOp(
                    "how many of Kamailio's processes run usrloc's expiry timer; the runtime runs it on its own timer task",
                ),
            ),
            ("hash_size", Impl(Int)),
            ("nat_bflag", Impl(Int)),
            ("ruid_column", NoOpIf(&[Text("ruid")], DEFAULT_COLUMN)),
            ("user_column", NoOpIf(&[Text("username")], DEFAULT_COLUMN)),
            ("domain_column", NoOpIf(&[Text("domain")], DEFAULT_COLUMN)),
            ("contact_column", NoOpIf(&[Text("contact")], DEFAULT_COLUMN)),
            ("expires_column", NoOpIf(&[Text("expires")], DEFAULT_COLUMN)),
            ("q_column", NoOpIf(&[Text("q")], DEFAULT_COLUMN)),
            ("callid_column", NoOpIf(&[Text("callid")], DEFAULT_COLUMN)),
            ("cseq_column", NoOpIf(&[Text("cseq")], DEFAULT_COLUMN)),
            ("flags_column", NoOpIf(&[Text("flags")], DEFAULT_COLUMN)),
            ("cflags_column", NoOpIf(&[Text("cflags")], DEFAULT_COLUMN)),
            (
                "user_agent_column",
                NoOpIf(&[Text("user_agent")], DEFAULT_COLUMN),
            ),
            (
                "received_column",
                NoOpIf(&[Text("received")], DEFAULT_COLUMN),
            ),
            ("path_column", NoOpIf(&[Text("path")], DEFAULT_COLUMN)),
            ("socket_column", NoOpIf(&[Text("socket")], DEFAULT_COLUMN)),
            ("methods_column", NoOpIf(&[Text("methods")], DEFAULT_COLUMN)),
            (
                "instance_column",
                NoOpIf(&[Text("instance")], DEFAULT_COLUMN),
            ),
            ("reg_id_column", NoOpIf(&[Text("reg_id")], DEFAULT_COLUMN)),
            (
                "server_id_column",
                NoOpIf(&[Text("server_id")], DEFAULT_COLUMN),
            ),
            (
                "connection_id_column",
                NoOpIf(&[Text("connection_id")], DEFAULT_COLUMN),
            ),
            (
                "keepalive_column",
                NoOpIf(&[Text("keepalive")], DEFAULT_COLUMN),
            ),
            (
                "partition_column",
                NoOpIf(&[Text("partition")], DEFAULT_COLUMN),
            ),
        ],
    },
    ModuleSupport {
        name: "xlog",
        runtime: "runtime/src/modules/xlog.rs",
        params: &[],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_values_judged() {
        let names: Vec<_> = MODULES.iter().map(|m| m.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "MODULES is sorted, each module once");
        for m in MODULES {
            let mut params: Vec<_> = m.params.iter().map(|(n, _)| n).collect();
            params.sort_unstable();
            let n = params.len();
            params.dedup();
            assert_eq!(n, params.len(), "{}: a parameter listed twice", m.name);
        }
        let matching = modparam_support("usrloc", "matching_mode").unwrap();
        assert!(matching.accepts(&ModParamValue::Int(0)));
        assert!(matching.accepts(&ModParamValue::Str(" 0".into())));
        assert!(!matching.accepts(&ModParamValue::Int(2)));
        let col = modparam_support("usrloc", "user_column").unwrap();
        assert!(col.accepts(&ModParamValue::Str("username".into())));
        assert!(!col.accepts(&ModParamValue::Str("user".into())));
        let insert_mode = modparam_support("acc", "db_insert_mode").unwrap();
        assert!(insert_mode.accepts(&ModParamValue::Int(0)));
        assert!(!insert_mode.accepts(&ModParamValue::Int(1)));
        let extra = modparam_support("acc", "multi_leg_info").unwrap();
        assert!(extra.accepts(&ModParamValue::Str(String::new())));
        assert!(!extra.accepts(&ModParamValue::Str("caller=$avp(s)".into())));
        assert_eq!(
            modparam_support("tm", "fr_timer"),
            Some(ParamSupport::Implemented(Int))
        );
        assert_eq!(
            modparam_support("tm", "ruri_matching"),
            Some(ParamSupport::Unsupported)
        );
        assert_eq!(modparam_support("tls", "config"), None);
    }
}

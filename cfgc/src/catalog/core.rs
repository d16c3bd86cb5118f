//! Core parameters and core actions of Kamailio 5.6.3 (facts from the
//! grammar: which value kinds each parameter and each core action accepts).

/// The value kinds a core parameter accepts (§3.2 of the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A non-negative number literal (yes/no/on/off are numbers).
    Int,
    /// A number, possibly negative.
    Sint,
    /// A string literal.
    Str,
    /// A string literal or a bare identifier.
    StrOrId,
    /// A bare identifier only (`log_facility = LOG_LOCAL0`).
    Id,
    /// A number or an identifier (`tos`).
    IntOrId,
    /// An IP, a string or a host name (`advertised_address`).
    Host,
    /// A transport word or `*`.
    Proto,
    /// An IP address literal.
    Ip,
    /// `SSLv23`, `TLSv1`, ... (a keyword token).
    TlsMethod,
}

impl ParamType {
    pub fn describe(self) -> &'static str {
        match self {
            ParamType::Int => "a non-negative number",
            ParamType::Sint => "a number",
            ParamType::Str => "a string",
            ParamType::StrOrId => "a string or an identifier",
            ParamType::Id => "an identifier",
            ParamType::IntOrId => "a number or an identifier",
            ParamType::Host => "an address, a host name or a string",
            ParamType::Proto => "a transport (`udp`, `tcp`, `tls`, `sctp` or `*`)",
            ParamType::Ip => "an IP address",
            ParamType::TlsMethod => "a TLS method name",
        }
    }
}

/// Syslog facility names (`log_facility`, xlog's facility argument); matched
/// case-insensitively. The vocabulary's list, which the runtime maps.
pub use cfgc_vocab::SYSLOG_FACILITIES;

/// A core parameter (`name = value` at the top level).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreParam {
    /// The canonical spelling.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: ParamType,
}

/// A core parameter by any of its spellings. `listen`, `alias`, `mpath`/
/// `loadpath` and `cfgengine` have grammar rules of their own and are not here.
pub fn core_param(name: &str) -> Option<&'static CoreParam> {
    CORE_PARAMS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// All core parameters.
pub fn core_params() -> &'static [CoreParam] {
    CORE_PARAMS
}

static CORE_PARAMS: &[CoreParam] = &[
    CoreParam {
        name: "advertised_address",
        aliases: &[],
        kind: ParamType::Host,
    },
    CoreParam {
        name: "advertised_port",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "async_nonblock",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "async_usleep",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "async_workers",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "async_workers_group",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "auto_aliases",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "auto_bind_ipv6",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "bind_ipv6_link_local",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "check_via",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "children",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "chroot",
        aliases: &[],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "corelog",
        aliases: &["core_log"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "debug",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "disable_core_dump",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "disable_sctp",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "disable_tcp",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "disable_tls",
        aliases: &["tls_disable"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_del_nonexp",
        aliases: &["dns_cache_delete_nonexpired"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_flags",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_gc_interval",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_init",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_max_ttl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_mem",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_min_ttl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_negative_ttl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_cache_rec_pref",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_naptr_ignore_rfc",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_retr_no",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_retr_time",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_sctp_pref",
        aliases: &["dns_sctp_preference"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "dns_search_full_match",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_servers_no",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_slow_query_ms",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_srv_lb",
        aliases: &["dns_srv_loadbalancing"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_tcp_pref",
        aliases: &["dns_tcp_preference"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "dns_tls_pref",
        aliases: &["dns_tls_preference"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "dns_try_ipv6",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_try_naptr",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dns_udp_pref",
        aliases: &["dns_udp_preference"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "dns_use_search_list",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_expire",
        aliases: &["dst_blocklist_ttl"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_gc_interval",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_init",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_mem",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_sctp_imask",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_tcp_imask",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_tls_imask",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "dst_blocklist_udp_imask",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "enable_sctp",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "enable_tls",
        aliases: &["tls_enable"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "exit_timeout",
        aliases: &["ser_kill_timeout"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "force_rport",
        aliases: &["add_rport"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "fork",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "fork_delay",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "group",
        aliases: &["gid"],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "hdr_name_extra_chars",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "http_reply_hack",
        aliases: &["http_reply_parse"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "ip_free_bind",
        aliases: &["ipfreebind", "ip_nonlocal_bind"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "ipv6_hex_style",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "kemi.event_route_callback",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "kemi.onsend_route_callback",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "kemi.pre_routing_callback",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "kemi.received_route_callback",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "kemi.reply_route_callback",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "latency_cfg_log",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "latency_limit_action",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "latency_limit_cfg",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "latency_limit_db",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "latency_log",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "local_rport",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "log_color",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "log_engine_data",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "log_engine_type",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "log_facility",
        aliases: &[],
        kind: ParamType::Id,
    },
    CoreParam {
        name: "log_name",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "log_prefix",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "log_prefix_mode",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "log_stderror",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "max_branches",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "max_recursive_level",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "max_while_loops",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "maxbuffer",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "mcast",
        aliases: &[],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "mcast_loopback",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "mcast_ttl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "mem_join",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "mem_safety",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "mem_status_mode",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "mem_summary",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "memdbg",
        aliases: &["mem_dbg"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "memlog",
        aliases: &["mem_log"],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "mhomed",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "mlock_pages",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "modinit_delay",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "msg_time",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "onsend_route_reply",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "open_files_limit",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "phone2tel",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "pmtu_discovery",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "port",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "pv_buffer_size",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "pv_buffer_slots",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "pv_cache_action",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "pv_cache_limit",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "real_time",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "received_route_mode",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "reply_to_via",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rev_dns",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "route_locks_size",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rt_policy",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rt_prio",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rt_timer1_policy",
        aliases: &["rt_ftimer_policy"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rt_timer1_prio",
        aliases: &["rt_fast_timer_prio", "rt_ftimer_prio"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rt_timer2_policy",
        aliases: &["rt_stimer_policy"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rt_timer2_prio",
        aliases: &["rt_stimer_prio"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "rundir",
        aliases: &["run_dir"],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "sctp_children",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "server_header",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "server_id",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "server_signature",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "shm",
        aliases: &["shm_mem", "shm_mem_size"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "shm_force_alloc",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "sip_parser_log",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "sip_parser_log_oneline",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "sip_parser_mode",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "sip_warning",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "socket_workers",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "sql_buffer_size",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "stats_name_separator",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "tcp_accept_aliases",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_accept_haproxy",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_accept_hep3",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_accept_no_cl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_accept_unique",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_buf_write",
        aliases: &["tcp_async"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_children",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_clone_rcvbuf",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_conn_wq_max",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_connect_timeout",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "tcp_connection_lifetime",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "tcp_connection_match",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_crlf_ping",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_defer_accept",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_delayed_ack",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_fd_cache",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_keepalive",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_keepcnt",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_keepidle",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_keepintvl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_linger2",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_max_connections",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_no_connect",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_poll_method",
        aliases: &[],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "tcp_rd_buf_size",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_reuse_port",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_script_mode",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "tcp_send_timeout",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "tcp_source_ipv4",
        aliases: &[],
        kind: ParamType::Ip,
    },
    CoreParam {
        name: "tcp_source_ipv6",
        aliases: &[],
        kind: ParamType::Ip,
    },
    CoreParam {
        name: "tcp_syncnt",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_wait_data",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "tcp_wq_blk_size",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tcp_wq_max",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tls_ca_list",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "tls_certificate",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "tls_handshake_timeout",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tls_max_connections",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tls_method",
        aliases: &[],
        kind: ParamType::TlsMethod,
    },
    CoreParam {
        name: "tls_private_key",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "tls_require_certificate",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tls_send_timeout",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tls_verify",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tlslog",
        aliases: &["tls_log", "tls_port_no"],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "tos",
        aliases: &[],
        kind: ParamType::IntOrId,
    },
    CoreParam {
        name: "udp4_raw",
        aliases: &[],
        kind: ParamType::Sint,
    },
    CoreParam {
        name: "udp4_raw_mtu",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "udp4_raw_ttl",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "udp_mtu",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "udp_mtu_try_proto",
        aliases: &[],
        kind: ParamType::Proto,
    },
    CoreParam {
        name: "uri_host_extra_chars",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "use_dns_cache",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "use_dns_failover",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "use_dst_blocklist",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "user",
        aliases: &["uid"],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "user_agent_header",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "verbose_startup",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "version_table",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "wait_worker1_mode",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "wait_worker1_time",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "wait_worker1_usleep",
        aliases: &[],
        kind: ParamType::Int,
    },
    CoreParam {
        name: "workdir",
        aliases: &["wdir"],
        kind: ParamType::StrOrId,
    },
    CoreParam {
        name: "xavp_via_fields",
        aliases: &[],
        kind: ParamType::Str,
    },
    CoreParam {
        name: "xavp_via_params",
        aliases: &[],
        kind: ParamType::Str,
    },
];

/// The kind of one argument of a core action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreArg {
    /// A string literal.
    Str,
    /// A non-negative number literal.
    Int,
    /// A number literal, possibly negative.
    Sint,
    /// A flag: a number 0..31 or a declared flag name.
    Flag,
    /// A transport word.
    Proto,
    /// A destination host, address, socket or `uri:host` (forward and co.).
    Dest,
    /// A port: number, `uri:port` or expression.
    Port,
    /// A `[proto:]host[:port]` socket (`force_send_socket`).
    Sock,
    /// Anything the grammar accepts here (an expression).
    Any,
}

impl CoreArg {
    pub fn describe(self) -> &'static str {
        match self {
            CoreArg::Str => "a string literal",
            CoreArg::Int => "a non-negative number literal",
            CoreArg::Sint => "a number literal",
            CoreArg::Flag => "a flag number (0..31) or a declared flag name",
            CoreArg::Proto => "a transport word",
            CoreArg::Dest => "a destination host or address",
            CoreArg::Port => "a port",
            CoreArg::Sock => "a socket `[proto:]host[:port]`",
            CoreArg::Any => "an expression",
        }
    }
}

/// A core action (§8): its spellings, the argument lists it accepts, and
/// whether it may appear in `onsend_route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreAction {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Each accepted argument list (overloads).
    pub forms: &'static [&'static [CoreArg]],
    /// Allowed in onsend_route (the core whitelist).
    pub onsend: bool,
    /// Usable without parentheses (`force_rport;`).
    pub bare: bool,
}

/// A core action by any of its spellings.
pub fn core_action(name: &str) -> Option<&'static CoreAction> {
    CORE_ACTIONS
        .iter()
        .find(|a| a.name == name || a.aliases.contains(&name))
}

pub fn core_actions() -> &'static [CoreAction] {
    CORE_ACTIONS
}

use CoreArg as A;

const fn act(
    name: &'static str,
    aliases: &'static [&'static str],
    forms: &'static [&'static [CoreArg]],
) -> CoreAction {
    CoreAction {
        name,
        aliases,
        forms,
        onsend: false,
        bare: false,
    }
}

const FWD: &[&[CoreArg]] = &[&[], &[A::Dest], &[A::Dest, A::Port]];
/// `forward_udp` and co. need a destination: Kamailio's grammar rejects
/// them empty ("bad forward_udp argument").
const FWD_PROTO: &[&[CoreArg]] = &[&[A::Dest], &[A::Dest, A::Port]];
const ONE_STR: &[&[CoreArg]] = &[&[A::Str]];
const ONE_INT: &[&[CoreArg]] = &[&[A::Int]];
const FLAG: &[&[CoreArg]] = &[&[A::Flag]];
const AVPFLAG: &[&[CoreArg]] = &[&[A::Any, A::Any]];
const NONE: &[&[CoreArg]] = &[&[]];

static CORE_ACTIONS: &[CoreAction] = &[
    act("forward", &[], FWD),
    act("forward_udp", &[], FWD_PROTO),
    act("forward_tcp", &[], FWD_PROTO),
    act("forward_tls", &[], FWD_PROTO),
    act("forward_sctp", &[], FWD_PROTO),
    CoreAction {
        onsend: true,
        ..act("setflag", &[], FLAG)
    },
    CoreAction {
        onsend: true,
        ..act("resetflag", &[], FLAG)
    },
    CoreAction {
        onsend: true,
        ..act("isflagset", &[], FLAG)
    },
    act("setavpflag", &[], AVPFLAG),
    act("resetavpflag", &[], AVPFLAG),
    act("isavpflagset", &[], AVPFLAG),
    act("rewriteuri", &["seturi"], ONE_STR),
    act("rewritehost", &["sethost", "seth"], ONE_STR),
    act("rewritehostport", &["sethostport", "sethp"], ONE_STR),
    act(
        "rewritehostporttrans",
        &["sethostporttrans", "sethpt"],
        ONE_STR,
    ),
    act("rewriteuser", &["setuser", "setu"], ONE_STR),
    act("rewriteuserpass", &["setuserpass", "setup"], ONE_STR),
    act("rewriteport", &["setport", "setp"], ONE_STR),
    act("prefix", &[], ONE_STR),
    act("strip", &[], ONE_INT),
    act("strip_tail", &[], ONE_INT),
    act("userphone", &[], NONE),
    CoreAction {
        bare: true,
        ..act("revert_uri", &[], NONE)
    },
    act("remove_branch", &[], &[&[], &[A::Sint]]),
    act("clear_branches", &[], NONE),
    CoreAction {
        bare: true,
        ..act("force_rport", &["add_rport"], NONE)
    },
    CoreAction {
        bare: true,
        ..act("add_local_rport", &[], NONE)
    },
    CoreAction {
        bare: true,
        ..act("force_tcp_alias", &["add_tcp_alias"], &[&[], &[A::Int]])
    },
    act("force_send_socket", &[], &[&[A::Sock]]),
    act("set_advertised_address", &[], &[&[A::Dest]]),
    act("set_advertised_port", &[], ONE_INT),
    act("udp_mtu_try_proto", &[], &[&[A::Proto]]),
    CoreAction {
        onsend: true,
        bare: true,
        ..act("set_forward_no_connect", &[], NONE)
    },
    CoreAction {
        onsend: true,
        bare: true,
        ..act("set_reply_no_connect", &[], NONE)
    },
    CoreAction {
        onsend: true,
        bare: true,
        ..act("set_forward_close", &[], NONE)
    },
    CoreAction {
        onsend: true,
        bare: true,
        ..act("set_reply_close", &[], NONE)
    },
    CoreAction {
        onsend: true,
        ..act("log", &[], &[&[A::Str], &[A::Int, A::Str]])
    },
    act("error", &[], &[&[A::Str, A::Str]]),
    act("exec", &[], ONE_STR),
    act("cfg_select", &[], &[&[A::Str, A::Any]]),
    act("cfg_reset", &[], ONE_STR),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(core_param("debug").unwrap().kind, ParamType::Sint);
        assert_eq!(core_param("children").unwrap().kind, ParamType::Int);
        assert_eq!(core_param("log_facility").unwrap().kind, ParamType::Id);
        assert_eq!(core_param("mem_log").unwrap().name, "memlog");
        assert_eq!(core_action("seth").unwrap().name, "rewritehost");
        assert!(core_action("log").unwrap().onsend);
        assert!(core_action("xlog").is_none());
    }
}

//! Hand-written module facts on top of the generated export tables.

/// The route table a function's first argument names (a route-name fixup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteArg {
    /// `t_on_failure("X")` → `failure_route[X]`.
    Failure,
    /// `t_on_branch("X")` → `branch_route[X]`.
    Branch,
    /// `t_on_reply("X")` → `onreply_route[X]`.
    Reply,
    /// `t_on_branch_failure("X")` → `event_route[tm:branch-failure:X]`.
    BranchFailure,
}

impl RouteArg {
    /// How the target block is written, for messages.
    pub fn block(self, name: &str) -> String {
        match self {
            RouteArg::Failure => format!("failure_route[{name}]"),
            RouteArg::Branch => format!("branch_route[{name}]"),
            RouteArg::Reply => format!("onreply_route[{name}]"),
            RouteArg::BranchFailure => format!("event_route[tm:branch-failure:{name}]"),
        }
    }
}

/// Which route table the (first) argument of a function names, if any.
pub fn route_arg(module: &str, function: &str) -> Option<RouteArg> {
    match (module, function) {
        ("tm", "t_on_failure") => Some(RouteArg::Failure),
        ("tm", "t_on_branch") => Some(RouteArg::Branch),
        ("tm", "t_on_reply") => Some(RouteArg::Reply),
        ("tm", "t_on_branch_failure") => Some(RouteArg::BranchFailure),
        _ => None,
    }
}

/// Documented return codes of the most used functions (for help texts and
/// the code generator): `(code, meaning)` pairs.
pub fn return_codes(module: &str, function: &str) -> &'static [(i32, &'static str)] {
    match (module, function) {
        ("registrar", "lookup") | ("registrar", "lookup_branches") => &[
            (1, "contacts found"),
            (-1, "no contact found"),
            (-2, "contacts found, but the method is not supported"),
            (-3, "internal error"),
        ],
        ("registrar", "save") => &[(1, "saved"), (-1, "error (reply already sent)")],
        ("rr", "loose_route") => &[
            (1, "routed by Route header"),
            (2, "the next hop is the R-URI (strict router or local)"),
            (-1, "no Route header or processing failed"),
        ],
        ("tm", "t_check_trans") => &[
            (1, "the transaction exists (or CANCEL/ACK matched)"),
            (-1, "no transaction"),
            (0, "retransmission absorbed: the script stops"),
        ],
        ("tm", "t_relay") => &[
            (1, "relayed"),
            (-1, "relay failed (reply with sl_reply_error)"),
        ],
        ("tm", "t_newtran") => &[
            (1, "created"),
            (0, "retransmission: the script stops"),
            (-1, "error"),
        ],
        ("sanity", "sanity_check") => &[(1, "passed"), (-1, "failed (a reply may have been sent)")],
        ("maxfwd", "mf_process_maxfwd_header") => &[
            (2, "header added"),
            (1, "header decremented"),
            (-1, "limit reached"),
            (-2, "error"),
        ],
        ("auth_db", "auth_check")
        | ("auth_db", "www_authorize")
        | ("auth_db", "proxy_authorize") => &[
            (1, "authenticated"),
            (-1, "generic error"),
            (-2, "invalid password"),
            (-3, "stale nonce"),
            (-4, "no credentials"),
            (-5, "no credentials for this realm"),
            (-6, "invalid user"),
            (-7, "invalid username"),
            (-8, "authorization header with no nonce"),
        ],
        ("pike", "pike_check_req") => {
            &[(1, "not flooding"), (-1, "flooding"), (-2, "still blocked")]
        }
        _ => &[],
    }
}

/// The xlog level a level name gives. Kamailio reads only the third
/// character (`L_ALERT` ... `L_DBG`; `L_INFOX` is `L_INFO`), so this does too.
pub fn xlog_level(name: &str) -> Option<i32> {
    Some(match name.as_bytes().get(2)? {
        b'A' => -5,
        b'B' => -4,
        b'C' => -3,
        b'E' => -1,
        b'W' => 0,
        b'N' => 1,
        b'I' => 2,
        b'D' => 3,
        _ => return None,
    })
}

//! The `event_route[NAME]` blocks the runtime runs: which names, raised by
//! which module, and when. The compiler refuses (as "not supported yet")
//! an event route not listed here; code generation and the interpreter
//! give the runtime each listed block by its name (`Script::event_route`),
//! and the module that raises the event runs it through the engine
//! (`engine::events::raise`). Every block runs as Kamailio runs it: as a
//! request route, on Kamailio's faked message (`OPTIONS
//! sip:you@kamailio.org`, from and to 127.0.0.1:5060 over UDP) unless the
//! row says otherwise.

/// One supported event route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRouteSupport {
    /// The name, or its fixed first part when [`EventRouteSupport::prefix`]
    /// (`htable:expired:` then a table name).
    pub name: &'static str,
    /// Whether any name starting with [`EventRouteSupport::name`] counts.
    pub prefix: bool,
    /// The module that raises it; `None`: the core.
    pub module: Option<&'static str>,
    /// When it runs, for the generated documentation.
    pub when: &'static str,
}

const fn ev(
    name: &'static str,
    prefix: bool,
    module: Option<&'static str>,
    when: &'static str,
) -> EventRouteSupport {
    EventRouteSupport {
        name,
        prefix,
        module,
        when,
    }
}

/// Every event route the runtime runs.
pub const EVENT_ROUTES: &[EventRouteSupport] = &[
    ev(
        "core:worker-one-init",
        false,
        None,
        "once at start-up, after `htable:mod-init` and before the first message is read \
         (Kamailio: in the first SIP worker, as it starts)",
    ),
    ev(
        "dialog:end",
        false,
        Some("dialog"),
        "when a confirmed dialog ends: on the BYE that ends it, at `loose_route()` or \
         `dlg_manage()` (what the block changes goes with the relayed BYE); on the faked \
         message when its lifetime runs out (after its BYEs with `send_bye`), at each \
         `dlg_bye()` and at `dlg.end_dlg`/`dlg.terminate_dlg` over RPC; `$dlg(...)` and \
         `$dlg_var(...)` read the dialog (Kamailio skips it after its timer or RPC BYEs \
         when another process handled a reply to one of them first, a race it loses at \
         times on loopback; this runtime always runs it)",
    ),
    ev(
        "dialog:failed",
        false,
        Some("dialog"),
        "when a dialog not yet confirmed gets a final reply >= 300 that goes upstream (after \
         the failure route, none if it forwards again): on that reply, or on the faked message \
         for a reply tm made (a timeout's 408, `t_reply`), and on the faked message at \
         `dlg_bye()` or the RPC BYEs on such a dialog (no BYE is sent); `$dlg(...)` reads \
         the dialog",
    ),
    ev(
        "dialog:start",
        false,
        Some("dialog"),
        "when a dialog's 2xx goes upstream, on the reply (the faked message for a 2xx the \
         script sent), before the callee's tag is stored; `$dlg(...)` reads the dialog; what \
         the block changes in the reply is not relayed",
    ),
    ev(
        "dispatcher:dst-down",
        false,
        Some("dispatcher"),
        "when `ds_mark_dst` takes a destination out of use, at once, on the script's message; \
         when OPTIONS probing does (`ds_ping_interval`), after the probe's final reply or \
         timeout, on the faked message with the destination as `$ru` (a change by \
         `dispatcher.set_state` over RPC runs no event route here)",
    ),
    ev(
        "dispatcher:dst-up",
        false,
        Some("dispatcher"),
        "when `ds_mark_dst` or OPTIONS probing puts a destination back in use, as \
         `dispatcher:dst-down`",
    ),
    ev(
        "htable:mod-init",
        false,
        Some("htable"),
        "once at start-up, before any other event route and any message",
    ),
    ev(
        "htable:expired:",
        true,
        Some("htable"),
        "for each item of the table named after the colon that the expiry sweep removes, \
         with `$shtrecord(key)` and `$shtrecord(value)` naming it",
    ),
    ev(
        "tm:local-request",
        false,
        Some("tm"),
        "before each request tm sends on its own (dialog's BYEs, dispatcher's probes, \
         `uac_req_send`, `t_uac_send`), on that request, with its next hop as `$du`; header \
         changes and a new R-URI apply to it (its Via kept), `drop` stops it",
    ),
    ev(
        "uac:reply",
        false,
        Some("uac"),
        "when a request `uac_req_send()` sent with `$uac_req(evroute)` 1 gets its final reply \
         (on the reply, `evtype` 1) or times out (on the faked message, `evcode` 408, \
         `evtype` 2), with `$uac_req(...)` as it was at the send; again for the final reply \
         of the authenticated retry",
    ),
];

/// The row of the event route `name`, if the runtime runs it.
pub fn event_route_support(name: &str) -> Option<&'static EventRouteSupport> {
    EVENT_ROUTES.iter().find(|e| {
        if e.prefix {
            name.len() > e.name.len() && name.starts_with(e.name)
        } else {
            name == e.name
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_prefixes() {
        assert!(event_route_support("core:worker-one-init").is_some());
        assert!(event_route_support("htable:expired:ipban").is_some());
        assert!(event_route_support("htable:expired:").is_none());
        assert!(event_route_support("tm:local-request").is_some());
        assert!(event_route_support("tm:local-response").is_none());
    }
}

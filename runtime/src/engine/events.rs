//! Event routes (`event_route[NAME]`): a module raises an event, the engine
//! runs the cfg's block of that name, if any, as Kamailio does: as a
//! request route on Kamailio's faked message. Which names exist, and who
//! raises them, is `cfgc_vocab::EVENT_ROUTES`.
//!
//! Modules raise events from their timers with [`raise`]; the engine runs
//! what was raised on the same thread when the hook returns (after the
//! modules' timers, after a message), each after the requests queued for
//! tm before it was raised (the order the module made them in), with the
//! transmits going out with the rest. A module
//! that runs with a message's context runs the block at once, nested, as
//! Kamailio does ([`run_nested`]). The start-up events (`htable:mod-init`, then
//! `core:worker-one-init`) run once before the first message
//! ([`crate::engine::Engine::start`]).

use std::cell::RefCell;
use std::net::SocketAddr;

use crate::engine::Ctx;
use crate::transport::{Proto, RecvInfo};

/// Kamailio's faked message, on which event routes run (its `$ru`, `$fu`,
/// `$ci` are what a script sees there).
pub const FAKED_MSG: &[u8] = b"OPTIONS sip:you@kamailio.org SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1\r\n\
From: <sip:you@kamailio.org>;tag=123\r\n\
To: <sip:you@kamailio.org>\r\n\
Call-ID: 123\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

/// Where the faked message comes from, as Kamailio's reads: UDP from
/// 1.0.0.127:5060 (Kamailio stores 127.0.0.1 as a host-order number, so
/// its bytes read backwards on x86), received on no socket (`$Ri` and
/// `$Rp` are `$null`: local port 0 says so).
pub fn faked_rcv() -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: SocketAddr::from(([1, 0, 0, 127], 5060)),
        local: SocketAddr::from(([0, 0, 0, 0], 0)),
        conn: None,
    }
}

/// What a module sets in the context before the block runs (the expired
/// item `$shtrecord` reads, the destination of a dispatcher event...).
pub type Setup = Box<dyn FnOnce(&mut Ctx<'_>) + Send>;

/// An event raised and not yet run.
pub struct Event {
    /// The event route's name (`htable:expired:ipban`), or the name of a
    /// `route[NAME]` block when [`Event::block`].
    pub route: String,
    /// Run `route[NAME]` (rtimer's routes) rather than an event route.
    pub block: bool,
    /// Run on the context before the block.
    pub setup: Option<Setup>,
    /// Run after the block (or instead, when the cfg has none).
    pub teardown: Option<Box<dyn FnOnce() + Send>>,
    /// The message the block runs on, and where it came from, when not
    /// the faked one (uac's `uac:reply` runs on the reply).
    pub msg: Option<(Vec<u8>, RecvInfo)>,
    /// The requests queued for tm before it was raised
    /// (`tm::local::queue_mark`), which the engine sends before it runs
    /// the block: a module's sends and events keep their order (dialog's
    /// BYEs before `dialog:end`, uac's `uac:reply` before its
    /// authenticated retry).
    pub after_sends: u64,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("route", &self.route)
            .field("setup", &self.setup.is_some())
            .finish()
    }
}

thread_local! {
    static PENDING: RefCell<Vec<Event>> = const { RefCell::new(Vec::new()) };
}

/// Raises the event `route`: the engine runs the block of that name, if the
/// cfg has one, when the current hook returns.
pub fn raise(route: impl Into<String>, setup: Option<Setup>) {
    PENDING.with(|p| {
        p.borrow_mut().push(Event {
            route: route.into(),
            block: false,
            setup,
            teardown: None,
            msg: None,
            after_sends: crate::tm::local::queue_mark(),
        });
    });
}

/// [`raise`] with state for the block: `setup` puts it where the block's
/// PVs read it, `teardown` takes it away after the block (Kamailio's
/// modules set and clear a global around the run, as htable's expired
/// item).
pub fn raise_with(route: impl Into<String>, setup: Setup, teardown: Box<dyn FnOnce() + Send>) {
    PENDING.with(|p| {
        p.borrow_mut().push(Event {
            route: route.into(),
            block: false,
            setup: Some(setup),
            teardown: Some(teardown),
            msg: None,
            after_sends: crate::tm::local::queue_mark(),
        });
    });
}

/// [`raise`] on a message other than the faked one (`msg` as received,
/// from `rcv`), after `setup`; the faked message if `msg` is `None`.
pub fn raise_on(route: impl Into<String>, msg: Option<(Vec<u8>, RecvInfo)>, setup: Setup) {
    PENDING.with(|p| {
        p.borrow_mut().push(Event {
            route: route.into(),
            block: false,
            setup: Some(setup),
            teardown: None,
            msg,
            after_sends: crate::tm::local::queue_mark(),
        });
    });
}

/// Runs `route[name]` on the faked message, as [`raise_with`] runs an
/// event route (rtimer's timers). A name the cfg does not define runs
/// nothing, as in Kamailio.
pub fn raise_route(name: impl Into<String>, setup: Setup, teardown: Box<dyn FnOnce() + Send>) {
    PENDING.with(|p| {
        p.borrow_mut().push(Event {
            route: name.into(),
            block: true,
            setup: Some(setup),
            teardown: Some(teardown),
            msg: None,
            after_sends: crate::tm::local::queue_mark(),
        });
    });
}

/// The events raised on this thread so far, in order.
pub(crate) fn take() -> Vec<Event> {
    PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// Runs `event_route[route]` at once, nested in the script that `ctx`
/// runs (Kamailio runs a module's event route inline, from the callback
/// that raises it): on `msg` (a message and where it came from) or, if
/// `None`, on the faked message, after `setup`. The block shares the
/// worker (its `$var`s, module state) and the transmits of `ctx`; what it
/// changes in its own message goes nowhere. Nothing runs if the cfg has
/// no such block; false then.
pub fn run_nested(
    ctx: &mut Ctx<'_>,
    route: &str,
    msg: Option<(&crate::sip::Message<'_>, &RecvInfo)>,
    setup: impl FnOnce(&mut Ctx<'_>),
) -> bool {
    let Some(script) = ctx.tm.script.filter(|s| s.has_event_route(route)) else {
        return false;
    };
    let faked;
    let faked_rcv = faked_rcv();
    let (m, rcv) = match msg {
        Some(x) => x,
        None => {
            let Ok(m) = crate::sip::Message::parse(FAKED_MSG) else {
                return false;
            };
            faked = m;
            (&faked, &faked_rcv)
        }
    };
    let rebuilt = crate::engine::ctx::Rebuilt::default();
    let mut inner = Ctx::new(m, rcv, ctx.core, &mut *ctx.worker, &mut *ctx.out);
    inner.rebuilt = Some(&rebuilt);
    inner.modules = ctx.modules;
    inner.now = ctx.now;
    inner.tm.shared = ctx.tm.shared;
    inner.tm.script = Some(script);
    setup(&mut inner);
    let _ = script.event_route(route, &mut inner);
    true
}

//! The per-message context every generated route function receives, the
//! per-worker state that outlives messages, and the core configuration.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Instant;

use std::any::Any;
use std::fmt;

use crate::sip::Message;
use crate::tm::{Tm, TmCtx};
use crate::transport::myself::Myself;
use crate::transport::{Proto, RecvInfo, Transmit};

use super::log::LogSink;
use super::module::{ModuleSet, NoModules};
use super::value::OwnedValue;

/// Core parameters that matter at run time (from the cfg's `name = value`
/// lines and the command line).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Listen sockets, in cfg order; the first one of a protocol sends.
    pub listen: Vec<(Proto, SocketAddr)>,
    /// Listen addresses and aliases: Kamailio's `myself`.
    pub myself: Myself,
    /// `advertised_address`, `advertised_port`.
    pub advertised_address: Option<String>,
    pub advertised_port: Option<u16>,
    /// `Server:` header of local replies (`None`: omitted).
    pub server_header: Option<Vec<u8>>,
    /// `debug`: xlog prints levels <= this (changed at run time by RPC).
    pub debug: super::log::DebugLevel,
    /// Where logs go.
    pub log: LogSink,
    /// `log_prefix`, a PV format (resolved by cfgc) evaluated on each
    /// received message (`log::prefix`).
    pub log_prefix: Vec<cfgc_vocab::FmtSeg>,
    /// Custom cfg variables (`group.var = value`), changed at run time by
    /// RPC.
    pub cfg_vars: CfgVars,
    /// The cfg's `$avp` names by slot ([`cfgc_vocab::Settings::avp_names`]).
    pub avp_names: Vec<String>,
}

/// The custom cfg variables, shared by every worker: `$sel(cfg_get...)`
/// reads the current value, RPC's `cfg.set_now_*` replaces it (the next
/// read in any worker sees it).
#[derive(Debug, Clone, Default)]
pub struct CfgVars(std::sync::Arc<std::sync::RwLock<Vec<(String, OwnedValue)>>>);

impl CfgVars {
    /// The declared variables (`group.var`, value).
    pub fn new(vars: &[(String, cfgc_vocab::CoreValue)]) -> Self {
        let v = vars
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    cfgc_vocab::CoreValue::Int(n) => OwnedValue::Int(*n as i32),
                    cfgc_vocab::CoreValue::Str(s) => OwnedValue::Str(s.clone().into_bytes().into()),
                    cfgc_vocab::CoreValue::Fmt(_) => OwnedValue::Null,
                };
                (name.clone(), value)
            })
            .collect();
        Self(std::sync::Arc::new(std::sync::RwLock::new(v)))
    }

    /// The value of `group.var`.
    pub fn get(&self, name: &str) -> Option<OwnedValue> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Replaces the value of a declared `group.var`; `false` if unknown.
    pub fn set(&self, name: &str, value: OwnedValue) -> bool {
        let mut g = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match g.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => {
                *v = value;
                true
            }
            None => false,
        }
    }
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            myself: Myself::new(),
            advertised_address: None,
            advertised_port: None,
            server_header: Some(crate::sip::reply::KAMAILIO_SERVER.to_vec()),
            debug: 2.into(),
            log: LogSink::Stderr,
            log_prefix: Vec::new(),
            cfg_vars: CfgVars::default(),
            avp_names: Vec::new(),
        }
    }
}

impl CoreConfig {
    /// The sent-by of our Via for a message sent from `local`:
    /// `advertised_address` or the socket's address (IPv6 in brackets),
    /// and the port (`advertised_port` or the socket's), `None` when it is
    /// the socket's 5060 (left out, as Kamailio does).
    pub fn via_sent_by(&self, local: SocketAddr) -> (String, Option<u16>) {
        let host = self
            .advertised_address
            .clone()
            .unwrap_or_else(|| match local.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                std::net::IpAddr::V4(ip) => ip.to_string(),
            });
        let port = self.advertised_port.unwrap_or(local.port());
        (
            host,
            (port != 5060 || self.advertised_port.is_some()).then_some(port),
        )
    }

    /// The socket to send from for a protocol and address family.
    pub fn socket_for(&self, proto: Proto, dst: &SocketAddr) -> Option<SocketAddr> {
        self.listen
            .iter()
            .find(|(p, a)| *p == proto && a.is_ipv4() == dst.is_ipv4())
            .map(|(_, a)| *a)
    }

    /// Whether `host[:port]` is this server (Kamailio's `myself`): a listen
    /// address or an alias; a missing port means 5060.
    pub fn is_myself(&self, host: &[u8], port: Option<u16>) -> bool {
        std::str::from_utf8(host).is_ok_and(|h| self.myself.matches(h, port, None))
    }
}

/// tm's table for contexts built without an engine (unit tests).
pub(crate) static NO_TM: LazyLock<Tm> = LazyLock::new(Tm::default);

/// State of one worker that persists across messages: `$var` values
/// (Kamailio keeps them per process and never resets them), and the
/// modules' per-worker state ([`ModuleSet::worker_state`]).
#[derive(Default)]
pub struct WorkerState {
    pub vars: Vec<OwnedValue>,
    /// What [`ModuleSet::worker_state`] made for this worker.
    pub modules: Option<Box<dyn Any + Send>>,
    /// [`WorkerState::modules`] was made.
    pub(crate) modules_made: bool,
}

impl fmt::Debug for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerState")
            .field("vars", &self.vars)
            .field("modules", &self.modules.is_some())
            .finish()
    }
}

impl WorkerState {
    pub fn with_vars(n: usize) -> Self {
        Self {
            vars: vec![OwnedValue::Int(0); n],
            ..Self::default()
        }
    }
}

/// Where a request is about to leave from: what a [`DeferredHeader`] is
/// built from.
#[derive(Clone, Copy, Debug)]
pub struct SendInfo<'s> {
    pub core: &'s CoreConfig,
    /// Where the request was received.
    pub rcv: &'s RecvInfo,
    /// Protocol and local socket it leaves on.
    pub out: (Proto, SocketAddr),
}

/// A header a module adds whose value depends on the socket the request
/// leaves on (rr's Record-Route): built by
/// [`crate::engine::forward::apply_header_ops`] when that is known.
pub trait DeferredHeader: Any + fmt::Debug + Send + Sync {
    /// The header lines (name, value) to insert before the first header,
    /// in order.
    fn build(&self, at: &SendInfo<'_>) -> Vec<(&'static str, Vec<u8>)>;
    /// Where in `msg` the lines go: `None` before the first header (rr's
    /// Record-Route), else an offset (path's Path: before the first Path
    /// header, or after the last header).
    fn anchor(&self, _msg: &Message<'_>) -> Option<usize> {
        None
    }
    /// A copy (tm keeps the header changes with the transaction).
    fn clone_box(&self) -> Box<dyn DeferredHeader>;
    /// Equal to `other` (of the same type and value).
    fn eq_dyn(&self, other: &dyn DeferredHeader) -> bool;
}

impl Clone for Box<dyn DeferredHeader> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl PartialEq for dyn DeferredHeader {
    fn eq(&self, other: &Self) -> bool {
        self.eq_dyn(other)
    }
}

impl Eq for dyn DeferredHeader {}

/// A pending header change (Kamailio's lumps), applied when the message is
/// sent on ([`crate::engine::forward::apply_header_ops`], shared by the
/// stateless forward and tm). Offsets and indexes refer to the received
/// message; edits that overlap an earlier one are skipped, as Kamailio
/// skips overlapping deletions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderOp {
    /// Append a header line (name, value) after the last header.
    Append(Vec<u8>, Vec<u8>),
    /// Remove the header at this index of the received message.
    Remove(usize),
    /// Insert a header line before the first header, after the ones
    /// inserted there before it and before the Via we add (Kamailio's
    /// lumps anchored at the start of the header block: Max-Forwards,
    /// `insert_hf`).
    InsertFirst(Vec<u8>, Vec<u8>),
    /// Replace bytes `start..end` of the received buffer (an in-place
    /// edit: the Max-Forwards decrement, one entry of a Route list).
    Replace {
        start: usize,
        end: usize,
        data: Vec<u8>,
    },
    /// Headers inserted before the first header like
    /// [`HeaderOp::InsertFirst`], built when the outgoing socket is known
    /// (rr's `record_route()`: one header, or two with `;r2=on` when it
    /// differs from the receiving one).
    Deferred(Box<dyn DeferredHeader>),
    /// A module's pending value, tagged with the module's key, that is no
    /// header: ignored when sending (rr's `add_rr_param()` before any
    /// `record_route()`, which the next `record_route()` takes).
    Note(&'static str, Vec<u8>),
    /// Replace the body (Content-Length updated; the last one wins): the
    /// SDP rtpengine answered, as Kamailio's body lumps.
    Body(Vec<u8>),
}

/// One additional branch of the request (`append_branch()`, `lookup()`
/// with parallel forking): Kamailio's destination set. Branch 0 is the
/// R-URI itself (`Ctx::new_uri`, `Ctx::dst_uri`, `Ctx::bflags`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branch {
    /// The request URI of the branch.
    pub uri: Vec<u8>,
    /// Where to send it (`$du` of the branch), if not the URI itself.
    pub dst_uri: Option<Vec<u8>>,
    /// The Path vector (Route headers to add), as registered.
    pub path: Option<Vec<u8>>,
    /// `q` value in thousandths (`-1`: none), as Kamailio's `qvalue_t`.
    pub q: i32,
    /// Branch flags (`setbflag` while the branch is current).
    pub flags: u32,
    /// The local socket to send from (`force_send_socket`, received socket
    /// of a registration), as `proto:ip:port`.
    pub socket: Option<Vec<u8>>,
}

/// Everything a route function can see and change while one message is
/// processed. Sans-IO: what must be sent is pushed to `out`.
pub struct Ctx<'a> {
    pub msg: &'a Message<'a>,
    pub rcv: &'a RecvInfo,
    pub core: &'a CoreConfig,
    pub worker: &'a mut WorkerState,
    pub out: &'a mut Vec<Transmit>,
    /// The modules the engine runs (their parameters and state).
    pub modules: &'a dyn ModuleSet,
    /// When the message is processed (time is passed in: sans-IO).
    pub now: Instant,
    /// Message flags (`setflag`), 0..31.
    pub flags: u32,
    /// `force_rport()` was executed.
    pub force_rport: bool,
    /// `set_reply_no_connect()`: replies to this message never open a TCP
    /// connection.
    pub reply_no_connect: bool,
    /// `set_forward_no_connect()`: requests forwarded from this message
    /// never open a TCP connection.
    pub forward_no_connect: bool,
    /// The rewritten R-URI (`$ru` after `rewriteuri`, `strip`, ...).
    pub new_uri: Option<Vec<u8>>,
    /// `$du`, the destination URI.
    pub dst_uri: Option<Vec<u8>>,
    /// Flags of branch 0 (`setbflag(n)` / `setbflag(n, 0)`).
    pub bflags: u32,
    /// The Path vector of branch 0 (`$path`, set by `lookup`).
    pub path: Option<Vec<u8>>,
    /// Additional branches (the destination set), in order.
    pub branches: Vec<Branch>,
    /// `$rc`/`$?`: the last function's or route's return code.
    pub rc: i32,
    /// The internal error of the last action (for `sl_reply_error`).
    pub last_error: i32,
    /// The message's `$avp`s and `$xavp`s (tm keeps them with the
    /// transaction).
    pub avps: Avps,
    /// Pending header changes.
    pub headers: Vec<HeaderOp>,
    /// Header lines every reply built locally for this request carries,
    /// after the copied headers (Kamailio's reply lumps, `add_lump_rpl`:
    /// registrar's `P-Registrar-Error` and Contact list), each ending in
    /// CRLF.
    pub reply_lumps: Vec<u8>,
    /// The body every reply built locally for this request carries
    /// (textops' `set_reply_body`: Kamailio's `LUMP_RPL_BODY`).
    pub reply_body: Option<Vec<u8>>,
    /// Parameters of our own Route URI removed by `loose_route()` (for
    /// `check_route_param`, `is_direction`), `None` before.
    pub route_params: Option<Vec<u8>>,
    /// The script ended with `drop`.
    pub dropped: bool,
    /// A module's response filter took this reply (Kamailio's module
    /// `response_f` returning 0: nathelper's ping replies): it is not
    /// relayed.
    pub reply_absorbed: bool,
    /// tm's state for this message (its transaction, the route kind).
    pub tm: TmCtx<'a>,
    /// Where textopsx's `msg_apply_changes()` keeps the messages it
    /// rebuilds (Kamailio's new buffer for the same `sip_msg`): `None`
    /// where it cannot run.
    pub rebuilt: Option<&'a Rebuilt<'a>>,
}

/// The messages `msg_apply_changes()` rebuilt while one received message
/// is processed, each kept (buffer and parse) until the processing ends,
/// so that `Ctx::msg` can point at the latest: a chain of cells, filled
/// once each, made by whoever makes the context.
#[derive(Default)]
pub struct Rebuilt<'a> {
    buf: std::cell::OnceCell<Vec<u8>>,
    msg: std::cell::OnceCell<Message<'a>>,
    next: std::cell::OnceCell<Box<Rebuilt<'a>>>,
}

impl<'a> Rebuilt<'a> {
    /// Keeps `data` and its parse; `None` if it does not parse.
    pub fn keep(&'a self, data: Vec<u8>) -> Option<&'a Message<'a>> {
        let mut node = self;
        while node.buf.get().is_some() {
            node = node.next.get_or_init(Box::default);
        }
        let buf = node.buf.get_or_init(|| data);
        let msg = Message::parse(buf).ok()?;
        Some(node.msg.get_or_init(|| msg))
    }
}

impl<'a> Ctx<'a> {
    /// Kamailio's `check_self`: `host[:port]` is a listen address or an
    /// alias ([`CoreConfig::is_myself`]), or a module claims the host
    /// ([`ModuleSet::is_myself`]).
    pub fn is_myself(&self, host: &[u8], port: Option<u16>) -> bool {
        self.core.is_myself(host, port) || self.modules.is_myself(host)
    }

    pub fn new(
        msg: &'a Message<'a>,
        rcv: &'a RecvInfo,
        core: &'a CoreConfig,
        worker: &'a mut WorkerState,
        out: &'a mut Vec<Transmit>,
    ) -> Self {
        Self {
            msg,
            rcv,
            core,
            worker,
            out,
            modules: &NoModules,
            now: Instant::now(),
            flags: 0,
            force_rport: false,
            reply_no_connect: false,
            forward_no_connect: false,
            new_uri: None,
            dst_uri: None,
            bflags: 0,
            path: None,
            branches: Vec::new(),
            rc: 1,
            last_error: 0,
            avps: Avps::default(),
            headers: Vec::new(),
            reply_lumps: Vec::new(),
            reply_body: None,
            route_params: None,
            dropped: false,
            reply_absorbed: false,
            tm: TmCtx::new(&NO_TM),
            rebuilt: None,
        }
    }

    /// The current R-URI: the rewritten one if any, else the received one.
    pub fn ruri(&self) -> &[u8] {
        match &self.new_uri {
            Some(u) => u,
            None => self.msg.ruri_bytes().unwrap_or_default(),
        }
    }

    /// `setflag(n)`; flags are 0..31 (checked at compile time).
    pub fn setflag(&mut self, n: u32) -> i32 {
        self.flags |= 1u32.wrapping_shl(n);
        1
    }

    pub fn resetflag(&mut self, n: u32) -> i32 {
        self.flags &= !1u32.wrapping_shl(n);
        1
    }

    pub fn isflagset(&self, n: u32) -> i32 {
        if self.flags & 1u32.wrapping_shl(n) != 0 {
            1
        } else {
            -1
        }
    }

    /// The `$avp` stack with this index, created on demand.
    pub fn avp_stack(&mut self, idx: usize) -> &mut Vec<OwnedValue> {
        let slots = &mut self.avps.slots;
        if slots.len() <= idx {
            slots.resize_with(idx + 1, Vec::new);
        }
        &mut slots[idx]
    }
}

/// A message's attribute lists, which tm saves with its transaction and
/// gives back to the failure, branch and reply routes (Kamailio moves
/// its AVP and XAVP lists into the transaction the same way).
#[derive(Clone, Debug, Default)]
pub struct Avps {
    /// `$avp(...)` stacks, by the slot the compiler numbered.
    pub slots: Vec<Vec<OwnedValue>>,
    /// The root XAVP list (`$xavp(...)`).
    pub xavps: crate::engine::xavp::List,
}

//! The module interface: the one way a module meets the engine.
//!
//! A module is a type implementing [`Module`]: it is built once at start-up
//! from its `modparam` lines ([`Module::from_params`], typed
//! [`ParamError`]s), may keep per-worker state ([`Module::worker_state`]),
//! has hooks the engine calls (request in, reply in, after the script, the
//! timer, shutdown, and tm's transaction events, Kamailio's `TMCB_*`), and
//! exports PVs ([`PvExport`]) and RPC commands ([`RpcCommand`]).
//!
//! The engine does not know the modules: it holds one [`ModuleSet`] trait
//! object (`crate::modules::Modules`, the standard set, is one), so every
//! hook costs at most one indirect call per message; the set calls each
//! module's hooks statically (an unused hook is an empty inlined default).
//! Module functions the script calls reach their module's state through
//! [`Ctx::modules`] ([`ModuleSet::as_any`], one type-id comparison).
//!
//! tm is not a module: transactions are the SIP engine's job (`crate::tm`);
//! modules see them through [`ModuleSet::tm_request_in`] and
//! [`ModuleSet::tm_event`].

use std::any::Any;
use std::fmt;
use std::time::{Duration, Instant};

use super::ctx::{Ctx, HeaderOp};
use super::params::{ModParams, ParamError};
use super::value::{OwnedValue, Value};
use crate::sip::Message;
use crate::transport::Transmit;
use cfgc_vocab::PvRef;

/// tm's transaction events a module can ask for (Kamailio's `TMCB_*`), as
/// bits of the mask [`ModuleSet::tm_request_in`] returns.
pub mod tmcb {
    /// A final (or, for acc's early media, provisional) reply the
    /// transaction sends upstream, relayed or built by tm
    /// (`TMCB_RESPONSE_OUT`).
    pub const RESPONSE_OUT: u32 = 1;
    /// The transaction failed (best reply >= 300) and its failure route is
    /// about to run, or would if armed (`TMCB_ON_FAILURE`).
    pub const ON_FAILURE: u32 = 2;
}

/// The reply a tm event is about.
#[derive(Clone, Copy, Debug)]
pub enum TmReply<'m> {
    /// A reply tm built itself (a local or timeout reply; Kamailio's
    /// `FAKED_REPLY`): its code and the transaction's To tag.
    Local { code: u16, to_tag: &'m [u8] },
    /// A reply received from downstream.
    Received(&'m Message<'m>),
}

/// A PV a module exports: its name (without `$`, with its constant
/// argument if it has one: `sdp(body)`), its reader, and its writer if
/// the script may assign to it.
#[derive(Clone, Copy)]
pub struct PvExport {
    pub name: &'static str,
    pub read: for<'c> fn(&'c Ctx<'_>) -> Value<'c>,
    pub write: Option<fn(&mut Ctx<'_>, OwnedValue) -> i32>,
}

impl fmt::Debug for PvExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PvExport")
            .field("name", &self.name)
            .finish()
    }
}

/// A value an RPC command answers (Kamailio's RPC values: ints, doubles,
/// strings, arrays and structs).
#[derive(Clone, Debug, PartialEq)]
pub enum RpcValue {
    Int(i64),
    Double(f64),
    Str(String),
    /// A string with no text at all (Kamailio's `STR_NULL` given to an
    /// `S` field: ctl sends `<null string>`, jsonrpcs `null`).
    NullStr,
    Array(Vec<RpcValue>),
    Struct(Vec<(String, RpcValue)>),
}

/// Why an RPC command failed (Kamailio's `rpc->fault(code, text)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// An RPC command's handler: the module set (the handler finds its module
/// in it through [`ModuleSet::as_any`]) and the command's parameters; it
/// answers the values it adds, in order (Kamailio's `rpc->add` calls: most
/// commands add one, some none or several).
pub type RpcHandler = fn(&dyn ModuleSet, &[&str]) -> Result<Vec<RpcValue>, RpcError>;

/// An RPC command a module exports (`ul.dump`, ...).
#[derive(Clone, Copy)]
pub struct RpcCommand {
    pub name: &'static str,
    /// One line of help (Kamailio's `rpc_export_t` doc).
    pub help: &'static str,
    pub handler: RpcHandler,
}

impl fmt::Debug for RpcCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcCommand")
            .field("name", &self.name)
            .finish()
    }
}

/// The RPC commands of a module set, by name: what an RPC transport
/// dispatches on. Built once at start-up.
#[derive(Debug, Default, Clone)]
pub struct RpcRegistry {
    commands: Vec<RpcCommand>,
}

impl RpcRegistry {
    /// The commands `set` exports, sorted by name.
    ///
    /// # Errors
    /// Two commands with the same name.
    pub fn new(set: &dyn ModuleSet) -> Result<Self, ParamError> {
        Self::with_static(set, &[])
    }

    /// The commands `set` exports plus static lists of commands that are
    /// not a module's (tm's, counters': see `crate::rpc::STATIC`), sorted
    /// by name.
    ///
    /// # Errors
    /// Two commands with the same name.
    pub fn with_static(
        set: &dyn ModuleSet,
        lists: &[&'static [RpcCommand]],
    ) -> Result<Self, ParamError> {
        Self::from_commands(set.rpc_commands(), lists)
    }

    /// `commands` (a module set's, possibly filtered) plus static lists,
    /// sorted by name.
    ///
    /// # Errors
    /// Two commands with the same name.
    pub fn from_commands(
        mut commands: Vec<RpcCommand>,
        lists: &[&'static [RpcCommand]],
    ) -> Result<Self, ParamError> {
        for l in lists {
            commands.extend_from_slice(l);
        }
        commands.sort_by(|a, b| a.name.cmp(b.name));
        if let Some(w) = commands.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(ParamError::Duplicate {
                what: "RPC command",
                name: w[0].name.to_string(),
            });
        }
        Ok(Self { commands })
    }

    /// Every command name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.commands.iter().map(|c| c.name)
    }

    /// The command called `name`.
    pub fn get(&self, name: &str) -> Option<&RpcCommand> {
        self.commands
            .binary_search_by(|c| c.name.cmp(name))
            .ok()
            .and_then(|i| self.commands.get(i))
    }

    /// Runs command `name` on `set`.
    ///
    /// # Errors
    /// Kamailio's "500 command NAME not found" for an unknown name, else
    /// what the command answers.
    pub fn dispatch(
        &self,
        set: &dyn ModuleSet,
        name: &str,
        args: &[&str],
    ) -> Result<Vec<RpcValue>, RpcError> {
        let cmd = self
            .get(name)
            .ok_or_else(|| RpcError::new(500, format!("command {name} not found")))?;
        (cmd.handler)(set, args)
    }
}

/// One module: its configuration, state and hooks. Every hook has an
/// empty default; a module implements those it needs.
pub trait Module: Sized + Send + Sync + 'static {
    /// The module's Kamailio name (`loadmodule "NAME.so"`).
    const NAME: &'static str;
    /// PVs it exports.
    const PVS: &'static [PvExport] = &[];
    /// RPC commands it exports.
    const RPC: &'static [RpcCommand] = &[];

    /// Builds the module from its `modparam` lines, at start-up.
    ///
    /// # Errors
    /// A value the module rejects (Kamailio then refuses to start).
    fn from_params(params: &ModParams) -> Result<Self, ParamError>;

    /// A request arrived, before the request route.
    fn on_request_in(&self, _ctx: &mut Ctx<'_>) {}
    /// A reply arrived, before the reply route.
    fn on_reply_in(&self, _ctx: &mut Ctx<'_>) {}
    /// The script finished with this message (after tm's own end).
    fn after_script(&self, _ctx: &mut Ctx<'_>) {}
    /// How often it needs [`Module::on_timer`]; `None`: never.
    fn tick(&self) -> Option<Duration> {
        None
    }
    /// The timer (at least every [`Module::tick`]).
    fn on_timer(&self, _now: Instant, _out: &mut Vec<Transmit>) {}
    /// The server stops.
    fn shutdown(&self) {}
    /// tm created a transaction for `ctx`'s request: the [`tmcb`] events
    /// the module wants for it.
    /// It may change the request (dialog's `dlg_flag` dialogs add their
    /// Record-Route parameter here).
    fn tm_request_in(&self, _ctx: &mut Ctx<'_>) -> u32 {
        0
    }
    /// A [`tmcb`] event of a transaction it asked for; `ctx` is the
    /// transaction's request (flags and `$avp`s as saved, the R-URI of the
    /// branch concerned); flags it changes are saved back.
    fn tm_event(&self, _event: u32, _ctx: &mut Ctx<'_>, _reply: &TmReply<'_>) {}
    /// A reply received for a transaction, before its onreply route
    /// (Kamailio's `TMCB_RESPONSE_IN`): `request` is the transaction's
    /// request as received, `req_ops` the request route's changes kept
    /// with it; edits of the reply go to `ops` (relayed with it).
    fn tm_response_in(
        &self,
        _request: &[u8],
        _req_ops: &[HeaderOp],
        _reply: &Message<'_>,
        _ops: &mut Vec<HeaderOp>,
    ) {
    }
}

/// The modules an engine runs with, as one object: what the engine and tm
/// call. Implemented by `crate::modules::Modules` by calling each module's
/// [`Module`] hooks in turn (static dispatch).
pub trait ModuleSet: Any + Send + Sync + fmt::Debug {
    /// `self`, to find the concrete set (module functions reach their
    /// state this way).
    fn as_any(&self) -> &dyn Any;
    /// A fresh per-worker state, made once per worker thread.
    fn worker_state(&self) -> Option<Box<dyn Any + Send>> {
        None
    }
    fn on_request_in(&self, _ctx: &mut Ctx<'_>) {}
    fn on_reply_in(&self, _ctx: &mut Ctx<'_>) {}
    fn after_script(&self, _ctx: &mut Ctx<'_>) {}
    /// The finest timer any module needs.
    fn tick(&self) -> Option<Duration> {
        None
    }
    fn on_timer(&self, _now: Instant, _out: &mut Vec<Transmit>) {}
    fn shutdown(&self) {}
    /// The union of every module's [`Module::tm_request_in`].
    fn tm_request_in(&self, _ctx: &mut Ctx<'_>) -> u32 {
        0
    }
    /// [`Module::tm_event`] of every module.
    fn tm_event(&self, _event: u32, _ctx: &mut Ctx<'_>, _reply: &TmReply<'_>) {}
    /// Whether the cfg loads `module` (event routes of a module not loaded
    /// never run, as in Kamailio).
    fn is_loaded(&self, _module: &str) -> bool {
        true
    }
    /// [`Module::tm_response_in`] of every module.
    fn tm_response_in(
        &self,
        _request: &[u8],
        _req_ops: &[HeaderOp],
        _reply: &Message<'_>,
        _ops: &mut Vec<HeaderOp>,
    ) {
    }
    /// Every module's PVs.
    fn pvs(&self) -> Vec<PvExport> {
        Vec::new()
    }
    /// Reads the module PV exported under `name` (`$RANDOM`): how
    /// `pv::read` reaches a vocabulary `PvRef::Module` (generated code
    /// calls the reader directly). `$null` if no module exports it.
    fn read_pv<'c>(&self, _name: &str, _ctx: &'c Ctx<'_>) -> Value<'c> {
        Value::Null
    }
    /// Assigns to the module PV exported under `name`
    /// (`$sdp(sess_version) = 5`): how `pv::assign` reaches it. -1 if no
    /// module exports it writable.
    fn write_pv(&self, _name: &str, _ctx: &mut Ctx<'_>, _v: OwnedValue) -> i32 {
        -1
    }
    /// Every module's RPC commands.
    fn rpc_commands(&self) -> Vec<RpcCommand> {
        Vec::new()
    }
    /// Whether a module claims `host` as this server's (Kamailio's
    /// `register_check_self_func` callbacks, consulted by `myself`
    /// after the listen addresses and aliases: domain's
    /// `register_myself`). Any port.
    fn is_myself(&self, _host: &[u8]) -> bool {
        false
    }
    /// Reads a module PV with arguments (sqlops' `$dbr(res=>rows)`):
    /// how `pv::read` reaches one (generated code calls the module's
    /// reader directly). `$null` if no module of the set has it.
    fn read_pv_ref<'c>(&self, _pv: &'c PvRef, _ctx: &'c Ctx<'_>) -> Value<'c> {
        Value::Null
    }

    /// `pv = v` for a writable module PV with arguments (htable's
    /// `$sht(t=>k)`): how `pv::assign` reaches one (generated code calls
    /// the module's writer directly). -1 if no module of the set has it.
    fn write_pv_ref(&self, _pv: &PvRef, _ctx: &mut Ctx<'_>, _v: OwnedValue) -> i32 {
        -1
    }
}

/// No modules: contexts built outside an engine, engines without modules.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoModules;

impl ModuleSet for NoModules {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The PV `name` (without `$`) that a module of `set` exports.
pub fn find_pv(set: &dyn ModuleSet, name: &str) -> Option<PvExport> {
    set.pvs().into_iter().find(|p| p.name == name)
}

/// The module state `M` that `ctx`'s worker keeps for it (made by
/// [`ModuleSet::worker_state`]), if any.
pub fn worker_state<'c, M: Any>(ctx: &'c mut Ctx<'_>) -> Option<&'c mut M> {
    ctx.worker.modules.as_mut()?.downcast_mut::<M>()
}

/// [`worker_state`], read-only (PV readers, which get `&Ctx`).
pub fn worker_state_ref<'c, M: Any>(ctx: &'c Ctx<'_>) -> Option<&'c M> {
    ctx.worker.modules.as_ref()?.downcast_ref::<M>()
}

//! Native versions of Kamailio modules. Functions keep Kamailio's names,
//! parameters and return codes (kamailio-modules.md); each takes the
//! per-message [`Ctx`](crate::engine::Ctx) first.
//!
//! Each module meets the engine only through
//! [`Module`](crate::engine::module::Module); [`Modules`] is the standard
//! set, the [`ModuleSet`] an engine runs with. tm is part of the core
//! ([`crate::tm`]), re-exported here under its module name for the paths
//! generated code uses (`modules::tm::t_relay`).

pub mod acc;
pub mod alias_db;
pub mod auth;
pub mod auth_db;
pub mod cfgutils;
pub mod corex;
pub mod counters;
pub mod ctl;
pub mod dialog;
pub mod dispatcher;
pub mod domain;
pub mod htable;
pub mod jsonrpcs;
pub mod kex;
pub mod maxfwd;
pub mod media_relay;
pub mod mqueue;
pub mod nathelper;
pub mod path;
pub mod permissions;
pub mod pike;
pub mod pv;
pub mod registrar;
pub mod rr;
pub mod rtimer;
pub mod rtpengine;
pub mod rtpproxy;
pub mod sanity;
pub mod sdpops;
pub mod siputils;
pub mod sl;
pub mod speeddial;
pub mod sqlops;
pub mod textops;
pub mod textopsx;
pub mod uac;
pub mod usrloc;
pub mod xlog;

pub use crate::tm;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use std::any::Any;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use crate::engine::ctx::HeaderOp;
use crate::engine::module::{Module, ModuleSet, PvExport, RpcCommand, TmReply};
use crate::engine::params::{ModParams, ParamError};
use crate::engine::value::OwnedValue;
use crate::engine::{CoreConfig, Ctx, Engine, Script, Value};
use crate::transport::Transmit;
use cfgc_vocab::PvRef;

/// The state of the modules that keep state beyond one message
/// (usrloc's location table...) and the parameters of the others, shared
/// by every worker; built once at start-up from the cfg's `modparam`
/// lines.
#[derive(Debug, Default)]
pub struct Modules {
    /// The `modparam` lines, for modules that read them lazily.
    pub params: ModParams,
    /// Parameters of the stateless modules, read once.
    pub maxfwd: maxfwd::Config,
    pub nathelper: nathelper::Config,
    pub siputils: siputils::Config,
    pub rr: rr::Config,
    pub sanity: sanity::Config,
    pub registrar: registrar::Config,
    /// acc's parameters (log accounting).
    pub acc: acc::Config,
    /// usrloc's location table.
    pub usrloc: usrloc::Usrloc,
    /// auth: the digest engine (secret, nonce lifetime, algorithm).
    pub auth: auth::Auth,
    /// auth_db: credentials from a table (per worker: its connection).
    pub auth_db: auth_db::AuthDb,
    /// alias_db: user aliases from a table (per worker: its connection).
    pub alias_db: alias_db::AliasDb,
    /// speeddial: speed-dial numbers from a table (per worker: its
    /// connection).
    pub speeddial: speeddial::Speeddial,
    /// permissions: the address table (and the trusted table with
    /// `db_mode` 1), loaded at start-up.
    pub permissions: permissions::Permissions,
    /// domain: the local domains, loaded at start-up.
    pub domain: domain::Domain,
    /// cfgutils: global flags, probability, script locks.
    pub cfgutils: cfgutils::Cfgutils,
    /// counters: the script counters.
    pub counters: counters::Counters,
    /// ctl's parameters (its servers are started by `crate::rpc::start`).
    pub ctl: ctl::Ctl,
    /// The modules the cfg loads (`Settings::modules`); empty when the set
    /// was built without a cfg, which counts as every module loaded.
    pub loaded: Vec<String>,
    /// sqlops: its connections (per worker: [`WorkerModules`]).
    pub sqlops: sqlops::Sqlops,
    /// rtpengine: its instances (per worker: their sockets).
    pub rtpengine: rtpengine::Rtpengine,
    /// rtpproxy: its instances (per worker: their sockets).
    pub rtpproxy: rtpproxy::Rtpproxy,
    /// sdpops: no state; its `$sdp(...)` PVs.
    pub sdpops: sdpops::Sdpops,
    /// htable: the shared hash tables.
    pub htable: htable::Htable,
    /// pike: the per-address request counters.
    pub pike: pike::Pike,
    /// dispatcher: the destination sets.
    pub dispatcher: dispatcher::Dispatcher,
    /// rtimer: routes run on timers.
    pub rtimer: rtimer::Rtimer,
    /// mqueue: the named queues.
    pub mqueue: mqueue::Mqueue,
    /// uac: From/To replacement, credentials.
    pub uac: uac::Uac,
    /// dialog: the dialogs and their profiles.
    pub dialog: dialog::Dialog,
}

/// The modules' per-worker state ([`ModuleSet::worker_state`]): what
/// Kamailio keeps in each process's own memory.
#[derive(Debug, Default)]
pub struct WorkerModules {
    /// sqlops' connections and result containers.
    pub sqlops: sqlops::Worker,
    /// auth_db's connection (`None` in a set built without modules).
    pub auth_db: Option<crate::db::Connection>,
    /// alias_db's connection.
    pub alias_db: Option<crate::db::Connection>,
    /// speeddial's connection.
    pub speeddial: Option<crate::db::Connection>,
    /// permissions' connection (`allow_trusted` with `db_mode` 0).
    pub permissions: Option<crate::db::Connection>,
    /// rtpengine's sockets.
    pub rtpengine: rtpengine::Worker,
    /// rtpproxy's sockets.
    pub rtpproxy: rtpproxy::Worker,
    /// uac: the credentials `uac_auth(1)` marked as holding an HA1 (in
    /// Kamailio a flag on the process's copy of the credential, kept for
    /// the later calls).
    pub uac_ha1: Vec<usize>,
    /// uac: the `$uac_req(...)` fields (Kamailio's per-process `_uac_req`).
    pub uac_req: uac::send::UacReq,
}

/// Runs `sql` on the worker's connection `pick` chooses (a module's own,
/// in [`WorkerModules`]); `None`, logged as Kamailio's modules log it,
/// when the worker has none or the query fails (the caller answers the
/// script its error code).
pub(crate) fn db_query(
    ctx: &mut Ctx<'_>,
    module: &str,
    pick: fn(&mut WorkerModules) -> Option<&mut crate::db::Connection>,
    sql: &str,
) -> Option<crate::db::QueryResult> {
    let log = |ctx: &Ctx<'_>, m: String| {
        use crate::engine::log::{self, Level};
        if log::enabled(ctx, Level::Err) {
            ctx.core.log.write(Level::Err, &log::prefix(), m.as_bytes());
        }
    };
    let Some(con) = crate::engine::module::worker_state::<WorkerModules>(ctx).and_then(pick) else {
        log(
            ctx,
            format!("{module}: no database connection in this process\n"),
        );
        return None;
    };
    match con.raw_query(sql) {
        Ok(r) => Some(r),
        Err(e) => {
            log(ctx, format!("{module}: failed to query database: {e}\n"));
            None
        }
    }
}

/// The set of contexts whose engine runs another set (or none): every
/// module with its defaults.
static DEFAULTS: LazyLock<Modules> = LazyLock::new(Modules::default);

impl Modules {
    /// Builds the module state from the configuration's parameters.
    ///
    /// # Errors
    /// A parameter value a module rejects (as Kamailio refuses to start),
    /// or one the runtime does not support ([`ModParams::check_supported`]).
    pub fn new(params: ModParams) -> Result<Self, ParamError> {
        params.check_supported()?;
        Ok(Self {
            maxfwd: maxfwd::Config::from_params(&params)?,
            nathelper: nathelper::Config::from_params(&params)?,
            siputils: siputils::Config::from_params(&params)?,
            rr: rr::Config::from_params(&params)?,
            sanity: sanity::Config::from_params(&params)?,
            registrar: registrar::Config::from_params(&params)?,
            acc: acc::Config::from_params(&params)?,
            usrloc: usrloc::Usrloc::from_params(&params)?,
            auth: auth::Auth::from_params(&params)?,
            auth_db: auth_db::AuthDb::from_params(&params)?,
            alias_db: alias_db::AliasDb::from_params(&params)?,
            speeddial: speeddial::Speeddial::from_params(&params)?,
            permissions: permissions::Permissions::from_params(&params)?,
            domain: domain::Domain::from_params(&params)?,
            cfgutils: cfgutils::Cfgutils::from_params(&params)?,
            counters: counters::Counters::from_params(&params)?,
            ctl: <ctl::Ctl as Module>::from_params(&params)?,
            sqlops: sqlops::Sqlops::from_params(&params)?,
            rtpengine: rtpengine::Rtpengine::from_params(&params)?,
            rtpproxy: rtpproxy::Rtpproxy::from_params(&params)?,
            sdpops: sdpops::Sdpops,
            htable: htable::Htable::from_params(&params)?,
            pike: pike::Pike::from_params(&params)?,
            dispatcher: dispatcher::Dispatcher::from_params(&params)?,
            rtimer: rtimer::Rtimer::from_params(&params)?,
            mqueue: mqueue::Mqueue::from_params(&params)?,
            uac: uac::Uac::from_params(&params)?,
            dialog: dialog::Dialog::from_params(&params)?,
            params,
            loaded: Vec::new(),
        })
    }

    /// What the loaded modules check when Kamailio loads the cfg (their
    /// fixups, mod_init and child_init): alias_db and speeddial connect,
    /// htable with a `db_url` connects and loads its database tables,
    /// permissions and domain load their tables; auth_db
    /// binds to auth, connects, and checks the `version` of the tables
    /// named in `static_tables` (`Settings::static_tables`); usrloc with
    /// a database mode checks and loads the registrar calls' tables; acc
    /// with a `db_url` connects.
    ///
    /// # Errors
    /// Kamailio's reason to refuse to start.
    pub fn start(&self, static_tables: &[(String, String)]) -> Result<(), String> {
        let loaded = |m: &str| self.loaded.iter().any(|l| l == m);
        if loaded("alias_db") {
            self.alias_db.start()?;
        }
        if loaded("speeddial") {
            self.speeddial.start()?;
        }
        if loaded("permissions") {
            self.permissions.start()?;
        }
        if loaded("domain") {
            self.domain.start()?;
        }
        if loaded("htable") {
            self.htable.start()?;
        }
        if loaded("dispatcher") {
            if self.dispatcher.probes() && !loaded("tm") {
                return Err("dispatcher: could not load the TM-functions - disable DS ping".into());
            }
            self.dispatcher.start()?;
        }
        if loaded("acc") {
            self.acc.start()?;
        }
        if loaded("uac") {
            if !loaded("tm") {
                return Err("uac: can't load TM API".into());
            }
            self.uac.start(loaded("rr"), self.rr.append_fromtag)?;
        }
        if loaded("rtpengine") {
            for (_, id) in static_tables.iter().filter(|(m, _)| m == "rtpengine") {
                self.rtpengine.check_set(id)?;
            }
            self.rtpengine.start();
        }
        if loaded("rtpproxy") {
            for (_, id) in static_tables.iter().filter(|(m, _)| m == "rtpproxy") {
                self.rtpproxy.check_set(id)?;
            }
            self.rtpproxy.start();
        }
        if loaded("dialog") {
            for (_, name) in static_tables.iter().filter(|(m, _)| m == "dialog") {
                if self.dialog.profile(name.as_bytes()).is_none() {
                    return Err(format!("dialog: profile <{name}> not defined"));
                }
            }
        }
        if loaded("usrloc") {
            let tables: Vec<&str> = static_tables
                .iter()
                .filter(|(m, _)| m == "registrar")
                .map(|(_, t)| t.as_str())
                .collect();
            self.usrloc.start(&tables)?;
        }
        if !loaded("auth_db") {
            return Ok(());
        }
        if !self.loaded.iter().any(|l| l == "auth") {
            return Err("auth_db: unable to find bind_auth function. \
                 Check if you load the auth module."
                .into());
        }
        let tables: Vec<&str> = static_tables
            .iter()
            .filter(|(m, _)| m == "auth_db")
            .map(|(_, t)| t.as_str())
            .collect();
        self.auth_db.start(&tables)
    }

    /// Whether the cfg loads `module` (true for a set built without a cfg).
    pub fn is_loaded(&self, module: &str) -> bool {
        self.loaded.is_empty() || self.loaded.iter().any(|l| l == module)
    }

    /// The modules of `ctx`'s engine (the defaults if it runs another
    /// set): how module functions reach their parameters and state.
    pub fn of<'a>(ctx: &Ctx<'a>) -> &'a Modules {
        let set: &'a dyn ModuleSet = ctx.modules;
        set.as_any().downcast_ref::<Modules>().unwrap_or(&DEFAULTS)
    }
}

/// Calls `$hook` on every module of the set, in load order.
macro_rules! each {
    ($self:ident, |$m:ident| $body:expr) => {{
        {
            let $m = &$self.maxfwd;
            $body;
        }
        {
            let $m = &$self.nathelper;
            $body;
        }
        {
            let $m = &$self.rr;
            $body;
        }
        {
            let $m = &$self.sanity;
            $body;
        }
        {
            let $m = &$self.registrar;
            $body;
        }
        {
            let $m = &$self.acc;
            $body;
        }
        {
            let $m = &$self.usrloc;
            $body;
        }
        {
            let $m = &$self.auth;
            $body;
        }
        {
            let $m = &$self.auth_db;
            $body;
        }
        {
            let $m = &$self.alias_db;
            $body;
        }
        {
            let $m = &$self.speeddial;
            $body;
        }
        {
            let $m = &$self.permissions;
            $body;
        }
        {
            let $m = &$self.domain;
            $body;
        }
        {
            let $m = &$self.cfgutils;
            $body;
        }
        {
            let $m = &$self.counters;
            $body;
        }
        {
            let $m = &$self.ctl;
            $body;
        }
        {
            let $m = &$self.sqlops;
            $body;
        }
        {
            let $m = &$self.rtpengine;
            $body;
        }
        {
            let $m = &$self.rtpproxy;
            $body;
        }
        {
            let $m = &$self.sdpops;
            $body;
        }
        {
            let $m = &$self.htable;
            $body;
        }
        {
            let $m = &$self.pike;
            $body;
        }
        {
            let $m = &$self.dispatcher;
            $body;
        }
        {
            let $m = &$self.rtimer;
            $body;
        }
        {
            let $m = &$self.mqueue;
            $body;
        }
        {
            let $m = &$self.uac;
            $body;
        }
        {
            let $m = &$self.dialog;
            $body;
        }
    }};
}

impl Modules {
    /// Each module's RPC commands with the module's name (an RPC
    /// transport lists only the loaded modules' commands).
    pub fn rpc_by_module(&self) -> Vec<(&'static str, RpcCommand)> {
        fn named<M: Module>(_: &M, out: &mut Vec<(&'static str, RpcCommand)>) {
            out.extend(M::RPC.iter().map(|c| (M::NAME, *c)));
        }
        let mut out = Vec::new();
        each!(self, |m| named(m, &mut out));
        out
    }
}

/// A module parameter naming an AVP (`"$avp(name)"`, resolved by the
/// compiler: `ValueKind::Pv`): `None` when unset or empty.
///
/// # Errors
/// Anything but one `$avp` (Kamailio refuses to start).
pub(crate) fn avp_param(p: &ModParams, m: &str, name: &str) -> Result<Option<PvRef>, ParamError> {
    use crate::engine::params::ParamValue;
    match p.get(m, name) {
        None => Ok(None),
        Some(ParamValue::Str(v)) if v.is_empty() => Ok(None),
        Some(ParamValue::PvList(l)) => match l.as_slice() {
            [(_, pv @ PvRef::Avp(..))] => Ok(Some(pv.clone())),
            _ => Err(ParamError::invalid(
                m,
                name,
                format!("malformed or non AVP {name} definition"),
            )),
        },
        Some(_) => Err(ParamError::invalid(
            m,
            name,
            "not resolved to an AVP by the compiler",
        )),
    }
}

fn finer(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `M`'s PV called `name`.
fn module_pv<M: Module>(_: &M, name: &str) -> Option<PvExport> {
    M::PVS.iter().find(|p| p.name == name).copied()
}

fn exports<M: Module>(_: &M, pvs: &mut Vec<PvExport>, rpc: &mut Vec<RpcCommand>) {
    pvs.extend_from_slice(M::PVS);
    rpc.extend_from_slice(M::RPC);
}

impl ModuleSet for Modules {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn worker_state(&self) -> Option<Box<dyn Any + Send>> {
        Some(Box::new(WorkerModules {
            sqlops: self.sqlops.worker(),
            auth_db: Some(self.auth_db.worker()),
            alias_db: Some(self.alias_db.worker()),
            speeddial: Some(self.speeddial.worker()),
            permissions: self.permissions.worker(),
            rtpengine: self.rtpengine.worker(),
            rtpproxy: self.rtpproxy.worker(),
            uac_ha1: Vec::new(),
            uac_req: uac::send::UacReq::default(),
        }))
    }

    fn is_loaded(&self, module: &str) -> bool {
        self.loaded.is_empty() || self.loaded.iter().any(|l| l == module)
    }

    fn read_pv_ref<'c>(&self, pv: &'c PvRef, ctx: &'c Ctx<'_>) -> Value<'c> {
        match pv {
            PvRef::TextIter(kind, name) => textopsx::iter_pv(ctx, *kind, name),
            PvRef::Sht(..) => htable::read_pv_ref(pv, ctx).unwrap_or(Value::Null),
            PvRef::ShtRecord(value) => htable::shtrecord(ctx, *value),
            PvRef::ShtIter(value, name) => htable::shtit(ctx, name, *value),
            PvRef::Mq(kind, name) => {
                let name = crate::engine::pv::format(ctx, name);
                mqueue::pv_get(ctx, *kind, &name)
            }
            PvRef::DlgVar(name) => dialog::dlg_var(ctx, name),
            _ => sqlops::read_pv_ref(pv, ctx),
        }
    }

    fn write_pv_ref(&self, pv: &PvRef, ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
        match pv {
            PvRef::DlgVar(name) => dialog::set_dlg_var(ctx, name, v),
            _ => htable::write_pv_ref(pv, ctx, v),
        }
    }

    fn is_myself(&self, host: &[u8]) -> bool {
        self.domain.claims(host)
    }

    fn on_request_in(&self, ctx: &mut Ctx<'_>) {
        each!(self, |m| Module::on_request_in(m, ctx));
    }

    fn on_reply_in(&self, ctx: &mut Ctx<'_>) {
        each!(self, |m| Module::on_reply_in(m, ctx));
    }

    fn after_script(&self, ctx: &mut Ctx<'_>) {
        each!(self, |m| Module::after_script(m, ctx));
    }

    fn tick(&self) -> Option<Duration> {
        let mut t = None;
        each!(self, |m| t = finer(t, Module::tick(m)));
        t
    }

    fn on_timer(&self, now: Instant, out: &mut Vec<Transmit>) {
        each!(self, |m| Module::on_timer(m, now, out));
        // nathelper's pinger walks usrloc's contacts.
        self.nathelper.ping(&self.usrloc, now, out);
    }

    fn shutdown(&self) {
        each!(self, |m| Module::shutdown(m));
    }

    fn tm_request_in(&self, ctx: &mut Ctx<'_>) -> u32 {
        let mut mask = 0;
        each!(self, |m| mask |= Module::tm_request_in(m, ctx));
        mask
    }

    fn tm_event(&self, event: u32, ctx: &mut Ctx<'_>, reply: &TmReply<'_>) {
        each!(self, |m| Module::tm_event(m, event, ctx, reply));
    }

    fn tm_response_in(
        &self,
        request: &[u8],
        req_ops: &[HeaderOp],
        reply: &crate::sip::Message<'_>,
        ops: &mut Vec<HeaderOp>,
    ) {
        each!(self, |m| Module::tm_response_in(
            m, request, req_ops, reply, ops
        ));
    }

    fn pvs(&self) -> Vec<PvExport> {
        let (mut pvs, mut rpc) = (Vec::new(), Vec::new());
        each!(self, |m| exports(m, &mut pvs, &mut rpc));
        pvs
    }

    fn read_pv<'c>(&self, name: &str, ctx: &'c Ctx<'_>) -> Value<'c> {
        let mut found = None;
        each!(self, |m| found = found.or_else(|| module_pv(m, name)));
        found.map_or(Value::Null, |p| (p.read)(ctx))
    }

    fn write_pv(&self, name: &str, ctx: &mut Ctx<'_>, v: OwnedValue) -> i32 {
        let mut found = None;
        each!(self, |m| found = found.or_else(|| module_pv(m, name)));
        match found.and_then(|p| p.write) {
            Some(write) => write(ctx, v),
            None => -1,
        }
    }

    fn rpc_commands(&self) -> Vec<RpcCommand> {
        let (mut pvs, mut rpc) = (Vec::new(), Vec::new());
        each!(self, |m| exports(m, &mut pvs, &mut rpc));
        rpc
    }
}

impl<S: Script> Engine<S> {
    /// An engine running the standard modules with their defaults.
    pub fn new(script: S, core: CoreConfig) -> Self {
        Self::with_parts(
            script,
            core,
            tm::Tm::default(),
            Box::new(Modules::default()),
        )
    }

    /// An engine running tm and the standard modules built from the cfg's
    /// `modparam` lines.
    ///
    /// # Errors
    /// A parameter value tm or a module rejects.
    pub fn with_params(script: S, core: CoreConfig, params: ModParams) -> Result<Self, ParamError> {
        params.check_supported()?;
        let tm = tm::Tm::new(&params)?;
        Ok(Self::with_parts(
            script,
            core,
            tm,
            Box::new(Modules::new(params)?),
        ))
    }
}

//! RPC: everything callable by name (Kamailio's RPC interface) and the
//! state the core's own commands read.
//!
//! What is callable ([`Rpc`]) is:
//! * the modules' commands (`Module::RPC`, collected by
//!   [`RpcRegistry`]): handlers take the module set;
//! * the core's commands ([`core::COMMANDS`]: `core.*`, `system.*`) and
//!   cfg_rpc's ([`cfg::COMMANDS`], when the cfg loads `cfg_rpc`): handlers
//!   take an [`Env`] (module set, tm, core configuration, start time);
//! * static lists of module-shaped commands that belong to the core
//!   (tm's, counters'): **adding one is one line in [`STATIC`]**, e.g.
//!   `&crate::tm::RPC`.
//!
//! Transports (ctl's BINRPC in `modules::ctl`, jsonrpcs) decode a request
//! into a method name and `&[&str]` parameters (ints as their decimal
//! text), call [`Rpc::dispatch`] with an [`Env`] from their [`Target`], and
//! encode the values (or the fault) it answers.

pub mod cfg;
pub mod core;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::engine::module::{ModuleSet, RpcCommand, RpcError, RpcRegistry, RpcValue};
use crate::engine::params::ParamError;
use crate::engine::{CoreConfig, Engine, Script};
use crate::tm::Tm;

/// Module-shaped command lists (`fn(&dyn ModuleSet, &[&str])` handlers)
/// kept outside a module's `Module::RPC`, with the module that must be
/// loaded for them to be callable (tm's `tm.stats`, kex's `stats.*`,
/// counters' `cnt.*`): one line per list.
pub static STATIC: &[(&str, &[RpcCommand])] = &[
    ("tm", crate::tm::RPC),
    ("kex", crate::modules::kex::stats::RPC),
    ("counters", crate::modules::counters::RPC),
];

/// What a core command sees.
pub struct Env<'a> {
    pub modules: &'a dyn ModuleSet,
    pub tm: &'a Tm,
    pub core: &'a CoreConfig,
    pub state: &'a State,
    /// The registry itself (`system.listMethods`).
    pub rpc: &'a Rpc,
}

/// A core command's handler: the values it adds, in order.
pub type CoreHandler = fn(&Env<'_>, &[&str]) -> Result<Vec<RpcValue>, RpcError>;

/// A command of the core (or of a core-like module: cfg_rpc).
#[derive(Clone, Copy)]
pub struct CoreCommand {
    pub name: &'static str,
    pub help: &'static str,
    pub handler: CoreHandler,
}

impl std::fmt::Debug for CoreCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// One process of Kamailio's `core.psx` (a thread here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub desc: String,
}

/// The core's RPC state: set at start-up.
#[derive(Debug, Clone)]
pub struct State {
    /// When the server started (`core.uptime`).
    pub started: SystemTime,
    /// Our threads, Kamailio-style (`core.psx`).
    pub processes: Vec<Process>,
    /// The runtime directory (`-Y`, `rundir`).
    pub runtime_dir: PathBuf,
}

impl Default for State {
    fn default() -> Self {
        Self {
            started: SystemTime::now(),
            processes: Vec::new(),
            runtime_dir: PathBuf::from(DEFAULT_RUNTIME_DIR),
        }
    }
}

/// Kamailio's default runtime directory (Debian's `/var/run/kamailio`).
pub const DEFAULT_RUNTIME_DIR: &str = "/run/kamailio";

/// Everything callable, by name.
#[derive(Debug, Clone, Default)]
pub struct Rpc {
    modules: RpcRegistry,
    core: Vec<CoreCommand>,
}

impl Rpc {
    /// The commands of `set`'s modules that `loaded` names, of
    /// [`STATIC`], of the core, and cfg_rpc's if `loaded` names it.
    ///
    /// # Errors
    /// Two commands with the same name.
    pub fn new(set: &dyn ModuleSet, loaded: &[String]) -> Result<Self, ParamError> {
        // Only the loaded modules' commands (all when `loaded` is empty:
        // a set built without a cfg).
        let commands = match set.as_any().downcast_ref::<crate::modules::Modules>() {
            Some(m) if !loaded.is_empty() => m
                .rpc_by_module()
                .into_iter()
                .filter(|(module, _)| loaded.iter().any(|l| l == module))
                .map(|(_, c)| c)
                .collect(),
            _ => set.rpc_commands(),
        };
        let lists: Vec<&'static [RpcCommand]> = STATIC
            .iter()
            .filter(|(module, _)| loaded.is_empty() || loaded.iter().any(|l| l == module))
            .map(|(_, l)| *l)
            .collect();
        let modules = RpcRegistry::from_commands(commands, &lists)?;
        let mut core: Vec<CoreCommand> = core::COMMANDS.to_vec();
        if loaded.iter().any(|m| m == "cfg_rpc") {
            core.extend_from_slice(cfg::COMMANDS);
        }
        core.sort_by(|a, b| a.name.cmp(b.name));
        let dup = core
            .windows(2)
            .find(|w| w[0].name == w[1].name)
            .map(|w| w[0].name)
            .or_else(|| {
                core.iter()
                    .map(|c| c.name)
                    .find(|n| modules.get(n).is_some())
            });
        if let Some(name) = dup {
            return Err(ParamError::Duplicate {
                what: "RPC command",
                name: name.to_string(),
            });
        }
        Ok(Self { modules, core })
    }

    fn core(&self, name: &str) -> Option<&CoreCommand> {
        self.core
            .binary_search_by(|c| c.name.cmp(name))
            .ok()
            .and_then(|i| self.core.get(i))
    }

    /// Every command name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .modules
            .names()
            .chain(self.core.iter().map(|c| c.name))
            .collect();
        v.sort_unstable();
        v
    }

    /// A command's help line.
    pub fn help(&self, name: &str) -> Option<&'static str> {
        self.core(name)
            .map(|c| c.help)
            .or_else(|| self.modules.get(name).map(|c| c.help))
    }

    /// Runs `name`.
    ///
    /// # Errors
    /// Kamailio's `500 command NAME not found`, or the command's fault.
    pub fn dispatch(
        &self,
        env: &Env<'_>,
        name: &str,
        args: &[&str],
    ) -> Result<Vec<RpcValue>, RpcError> {
        if let Some(c) = self.core(name) {
            return (c.handler)(env, args);
        }
        match self.modules.get(name) {
            Some(c) => (c.handler)(env.modules, args),
            None => Err(RpcError::new(500, format!("command {name} not found"))),
        }
    }
}

/// The engine parts a transport needs, borrowed from a running server.
pub struct Parts<'a> {
    pub modules: &'a dyn ModuleSet,
    pub tm: &'a Tm,
    pub core: &'a CoreConfig,
}

impl<'a> Parts<'a> {
    pub fn of<S: Script>(e: &'a Engine<S>) -> Self {
        Self {
            modules: &*e.modules,
            tm: &e.tm,
            core: &e.core,
        }
    }
}

/// What an RPC transport serves: the engine, once it exists.
pub trait Target: Send + Sync + 'static {
    fn parts(&self) -> Option<Parts<'_>>;
}

impl<S: Script> Target for Engine<S> {
    fn parts(&self) -> Option<Parts<'_>> {
        Some(Parts::of(self))
    }
}

/// The registry, the state and the target: what a transport thread holds.
#[derive(Clone)]
pub struct Server {
    pub rpc: Arc<Rpc>,
    pub state: Arc<State>,
    pub target: Arc<dyn Target>,
}

impl Server {
    /// Runs `method` with text parameters.
    ///
    /// # Errors
    /// The command's fault; 500 while the engine is not up yet.
    pub fn call(&self, method: &str, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
        let Some(p) = self.target.parts() else {
            return Err(RpcError::new(500, "server not ready"));
        };
        let env = Env {
            modules: p.modules,
            tm: p.tm,
            core: p.core,
            state: &self.state,
            rpc: &self.rpc,
        };
        self.rpc.dispatch(&env, method, args)
    }
}

/// The runtime directory: `-Y` first, then the cfg's `rundir`, else
/// Kamailio's default.
pub fn runtime_dir(arg: Option<&str>, settings: &crate::proxy::Settings) -> PathBuf {
    arg.map(PathBuf::from)
        .or_else(|| settings.str("rundir").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUNTIME_DIR))
}

/// Creates the runtime directory if missing, as Kamailio does: one level
/// (the parent must exist), mode 0700.
///
/// # Errors
/// Kamailio's message when it cannot be created.
pub fn ensure_runtime_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| {
        format!(
            "failed to create runtime dir {}, check directory permissions ({e})",
            dir.display()
        )
    })
}

/// Kamailio's modules whose files live in the runtime directory.
const USES_RUNTIME_DIR: &[&str] = &["ctl", "jsonrpcs"];

/// The RPC transports running: their threads stop and their socket and
/// FIFO files go when this is dropped (at shutdown).
#[derive(Debug, Default)]
pub struct Transports {
    _ctl: crate::modules::ctl::Servers,
    _jsonrpcs: Option<crate::modules::jsonrpcs::JsonRpcs>,
}

/// Starts the RPC transports the cfg loads (ctl's BINRPC servers,
/// jsonrpcs' FIFO and datagram socket): the one call the proxy makes.
///
/// # Errors
/// A runtime directory that cannot be created, a ctl address that cannot
/// be parsed or bound, a jsonrpcs file that cannot be created, two
/// commands with the same name.
pub fn start(
    target: Arc<dyn Target>,
    settings: &crate::proxy::Settings,
    runtime_dir_arg: Option<&str>,
    listen: &[(crate::transport::Proto, std::net::SocketAddr)],
    workers: usize,
) -> Result<Transports, String> {
    let dir = runtime_dir(runtime_dir_arg, settings);
    let loaded = |m: &str| settings.modules.iter().any(|l| l == m);
    if !USES_RUNTIME_DIR.iter().any(|m| loaded(m)) {
        return Ok(Transports::default());
    }
    ensure_runtime_dir(&dir)?;
    let params = crate::proxy::mod_params(settings);
    let ctl = if loaded("ctl") {
        Some(
            <crate::modules::ctl::Ctl as crate::engine::module::Module>::from_params(&params)
                .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    let json = if loaded("jsonrpcs") {
        Some(
            crate::modules::jsonrpcs::Config::from_params(&params, &dir)
                .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    let Some(parts) = target.parts() else {
        return Err("RPC started before the engine".into());
    };
    let rpc = Rpc::new(parts.modules, &settings.modules).map_err(|e| e.to_string())?;
    let mut processes = core::processes(listen, workers);
    if let Some(c) = &ctl {
        processes.extend(c.processes());
    }
    if let Some(j) = &json {
        processes.extend(j.processes());
    }
    let state = State {
        started: SystemTime::now(),
        processes,
        runtime_dir: dir.clone(),
    };
    let server = Server {
        rpc: Arc::new(rpc),
        state: Arc::new(state),
        target: target.clone(),
    };
    let jsonrpcs = match json {
        Some(cfg) => {
            let s = server.clone();
            let dispatch: crate::modules::jsonrpcs::Dispatcher =
                Arc::new(move |name: &str, args: &[&str]| s.call(name, args));
            Some(crate::modules::jsonrpcs::start(&cfg, &dir, dispatch)?)
        }
        None => None,
    };
    let ctl = match ctl {
        Some(c) => c.start(server, &dir)?,
        None => crate::modules::ctl::Servers::default(),
    };
    Ok(Transports {
        _ctl: ctl,
        _jsonrpcs: jsonrpcs,
    })
}

#[cfg(test)]
mod tests;

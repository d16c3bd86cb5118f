//! The shell of a generated proxy binary: Kamailio's command-line flags that
//! still make sense, core settings from the cfg, the engine, the server.
//!
//! Generated code calls [`main`] with its script and its [`Settings`].

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::engine::ModuleSet;
use crate::engine::log::LogSink;
use crate::engine::params::ModParams;
use crate::engine::{CoreConfig, Engine, Script};
use crate::modules::Modules;
use crate::server::{ListenSpec, Server, ServerConfig, TcpLimits};
use crate::tm::Tm;
use crate::transport::myself::Myself;
use crate::transport::{Handler, Proto, RecvInfo, Transmit};

pub use cfgc_vocab::Settings;

/// The `modparam` lines of `settings`, in the runtime's form.
pub fn mod_params(settings: &Settings) -> ModParams {
    let mut p = ModParams::new();
    for m in &settings.modparams {
        p.push(&m.module, &m.name, m.value.clone());
    }
    p
}

/// An int core parameter that fits `T` (`None`: unset or out of range).
/// `tcp_max_connections` and `tcp_connection_lifetime` (seconds) over
/// Kamailio's defaults.
fn tcp_limits(settings: &Settings) -> TcpLimits {
    let d = TcpLimits::default();
    TcpLimits {
        max_connections: int_param(settings, "tcp_max_connections").unwrap_or(d.max_connections),
        idle_timeout: int_param::<u64>(settings, "tcp_connection_lifetime")
            .map_or(d.idle_timeout, Duration::from_secs),
        ..d
    }
}

fn int_param<T: TryFrom<i64>>(settings: &Settings, name: &str) -> Option<T> {
    settings.int(name).and_then(|n| T::try_from(n).ok())
}

const USAGE: &str = "\
usage: PROXY [options]

A SIP proxy compiled from a kamailio.cfg by cfgc. Options (Kamailio's):
  -l ADDR      listen on [proto:]addr[:port] (repeatable; added to the cfg's listen=)
  -n N         number of worker threads (the cfg's children)
  -E           log to standard error (the cfg's log_stderror; else syslog,
               on the cfg's log_facility, as Kamailio)
  -d           raise the debug level by one (repeatable)
  -D, -DD      stay in the foreground (always the case)
  -V           print the version
  -h, --help   this text
  -Y DIR       runtime directory (ctl's socket; the cfg's runtime_dir,
               default /run/kamailio, created if missing)
Options of Kamailio that do not apply (-m, -M, -L, -P, -f, -u, -g) are
accepted with their argument and ignored, with a note.
";

/// What the command line asked for.
#[derive(Debug, Default, Clone)]
pub struct Args {
    pub listen: Vec<String>,
    pub children: Option<usize>,
    pub stderr: bool,
    pub debug_up: i32,
    /// `-Y`: the runtime directory.
    pub runtime_dir: Option<String>,
}

/// Parses Kamailio-style flags.
///
/// # Errors
/// A message for an unknown flag or a missing argument.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-l" => a.listen.push(it.next().ok_or("-l needs an address")?),
            "-n" => {
                let n = it.next().ok_or("-n needs a number")?;
                a.children = Some(n.parse().map_err(|_| format!("-n: bad number `{n}`"))?);
            }
            "-E" => a.stderr = true,
            "-Y" => a.runtime_dir = Some(it.next().ok_or("-Y needs a directory")?),
            "-D" | "-DD" | "-DDD" => {}
            "-V" | "--version" => {
                println!("cfgc proxy (runtime {})", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            s if s.starts_with("-d") && s[1..].chars().all(|c| c == 'd') => {
                a.debug_up += (s.len() - 1) as i32
            }
            "-m" | "-M" | "-L" | "-P" | "-f" | "-u" | "-g" => {
                let v = it.next().ok_or(format!("{arg} needs an argument"))?;
                eprintln!("note: {arg} {v} does not apply to a compiled proxy; ignored");
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(Some(a))
}

/// Parses `[proto:]addr[:port]` (IPv6 in brackets).
pub fn parse_listen(s: &str, default_port: u16) -> Result<Vec<(Proto, SocketAddr)>, String> {
    let (protos, rest) = match s.split_once(':') {
        Some((p, rest)) if Proto::from_name(p).is_some() => {
            (vec![Proto::from_name(p).unwrap_or(Proto::Udp)], rest)
        }
        _ => (vec![Proto::Udp, Proto::Tcp], s),
    };
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or(format!("bad address `{s}`"))?;
        (h, after.strip_prefix(':'))
    } else if rest.matches(':').count() > 1 {
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port in `{s}`"))?,
        None => default_port,
    };
    let ip: IpAddr = match host {
        "" | "*" => IpAddr::from([0, 0, 0, 0]),
        h => match h.parse() {
            Ok(ip) => ip,
            Err(_) => {
                crate::engine::forward::resolve_host(h).ok_or(format!("cannot resolve `{h}`"))?
            }
        },
    };
    Ok(protos
        .into_iter()
        .map(|p| (p, SocketAddr::new(ip, port)))
        .collect())
}

/// Lets the server be bound (port 0 allowed) before the engine, which
/// needs the bound addresses, exists.
struct Deferred<S: Script> {
    engine: OnceLock<Engine<S>>,
    /// The modules' timer period, known before the engine exists.
    tick: Option<Duration>,
}

impl<S: Script> Handler for Deferred<S> {
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) {
        if let Some(e) = self.engine.get() {
            e.on_message(data, rcv, out);
        }
    }

    fn on_stream_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) -> bool {
        self.engine
            .get()
            .is_none_or(|e| e.on_stream_message(data, rcv, out))
    }

    fn on_tick(&self, now: Instant, out: &mut Vec<Transmit>) {
        if let Some(e) = self.engine.get() {
            e.on_tick(now, out);
        }
    }

    fn tick(&self) -> Option<Duration> {
        self.tick
    }

    fn on_start(&self, out: &mut Vec<Transmit>) -> Result<(), String> {
        self.engine.get().map_or(Ok(()), |e| e.on_start(out))
    }

    fn on_shutdown(&self) {
        if let Some(e) = self.engine.get() {
            e.on_shutdown();
        }
    }
}

impl<S: Script> crate::rpc::Target for Deferred<S> {
    fn parts(&self) -> Option<crate::rpc::Parts<'_>> {
        self.engine.get().map(crate::rpc::Parts::of)
    }
}

/// Runs a proxy until SIGTERM/SIGINT. Returns the process exit status.
pub fn main<S: Script>(script: S, settings: &Settings) -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(script, settings, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, prints where it listens, and serves until a signal.
///
/// # Errors
/// A listen address that cannot be parsed or bound.
pub fn run<S: Script>(script: S, settings: &Settings, args: &Args) -> Result<(), String> {
    run_until(script, settings, args, None)
}

/// [`run`], stopping when `stop` completes instead of on a signal (tests
/// and benchmarks run proxies in-process).
///
/// # Errors
/// A listen address that cannot be parsed or bound.
pub fn run_until<S: Script>(
    script: S,
    settings: &Settings,
    args: &Args,
    stop: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
) -> Result<(), String> {
    let default_port = int_param::<u16>(settings, "port").unwrap_or(5060);
    // The cfg's `listen=` and the `-l` addresses together, as Kamailio
    // adds both to its socket list; all interfaces when there is none.
    let mut listen = Vec::new();
    for l in &settings.listen {
        let port = l.port.unwrap_or(default_port);
        listen.extend(parse_listen(
            &format!("{}:{}:{port}", l.proto, l.host),
            default_port,
        )?);
    }
    for l in &args.listen {
        listen.extend(parse_listen(l, default_port)?);
    }
    if listen.is_empty() {
        listen.extend(parse_listen("*", default_port)?);
    }
    let workers = args
        .children
        .or(int_param::<usize>(settings, "children"))
        .unwrap_or(8)
        .max(1);
    let params = mod_params(settings);
    let tm = Tm::new(&params).map_err(|e| e.to_string())?;
    let mut modules = Modules::new(params).map_err(|e| e.to_string())?;
    modules.loaded.clone_from(&settings.modules);
    modules.start(&settings.static_tables)?;
    // The finer of tm's retransmission timer and the modules' timers.
    let tick = Some(modules.tick().map_or(tm.tick(), |m| m.min(tm.tick())));
    // Kamailio logs to syslog unless log_stderror=yes or -E.
    let log = if args.stderr || settings.int("log_stderror").is_some_and(|v| v != 0) {
        LogSink::Stderr
    } else {
        let name = settings
            .str("log_facility")
            .unwrap_or_else(|| "LOG_DAEMON".into());
        let facility = crate::engine::log::facility(&name)
            .ok_or_else(|| format!("log_facility: unknown facility `{name}`"))?;
        let ident = settings.str("log_name").unwrap_or_else(|| {
            std::env::args()
                .next()
                .and_then(|a| {
                    std::path::Path::new(&a)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "kamailio".into())
        });
        crate::engine::log::open_syslog(&ident, facility);
        LogSink::Syslog(facility)
    };
    let deferred = Arc::new(Deferred {
        engine: OnceLock::new(),
        tick,
    });
    let cfg = ServerConfig {
        listen: listen
            .iter()
            .map(|&(proto, addr)| ListenSpec { proto, addr })
            .collect(),
        workers,
        tcp: tcp_limits(settings),
    };
    let server = Server::new(cfg, deferred.clone()).map_err(|e| format!("cannot listen: {e}"))?;
    let bound: Vec<(Proto, SocketAddr)> = server
        .local_addrs()
        .iter()
        .map(|l| (l.proto, l.addr))
        .collect();
    let mut myself = Myself::from_listen(bound.clone());
    for (host, port) in &settings.aliases {
        myself.add_alias(host, *port, None);
    }
    let core = CoreConfig {
        listen: bound.clone(),
        myself,
        advertised_address: settings.str("advertised_address"),
        advertised_port: int_param::<u16>(settings, "advertised_port"),
        server_header: match settings.str("server_header") {
            Some(h) => Some(
                h.strip_prefix("Server:")
                    .unwrap_or(&h)
                    .trim()
                    .as_bytes()
                    .to_vec(),
            ),
            None => CoreConfig::default().server_header,
        },
        debug: (int_param::<i32>(settings, "debug").unwrap_or(2) + args.debug_up).into(),
        log,
        log_prefix: settings.fmt("log_prefix").unwrap_or_default(),
        cfg_vars: crate::engine::ctx::CfgVars::new(&settings.cfg_vars),
        avp_names: settings.avp_names.clone(),
    };
    let _ = deferred
        .engine
        .set(Engine::with_parts(script, core, tm, Box::new(modules)));
    for (proto, addr) in &bound {
        eprintln!("listening on {}:{addr}", proto.as_str());
    }
    // RPC transports (ctl, jsonrpcs); their files go when `_rpc` drops.
    let _rpc = crate::rpc::start(
        deferred.clone(),
        settings,
        args.runtime_dir.as_deref(),
        &bound,
        workers,
    )?;
    match stop {
        Some(stop) => server.run_until(stop),
        None => server.run(),
    }
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tcp_limits_tests {
    use super::*;

    #[test]
    fn tcp_limits_come_from_core_parameters() {
        let mut s = Settings::default();
        assert_eq!(tcp_limits(&s), TcpLimits::default());
        s.params
            .push(("tcp_max_connections".into(), cfgc_vocab::CoreValue::Int(10)));
        s.params.push((
            "tcp_connection_lifetime".into(),
            cfgc_vocab::CoreValue::Int(3605),
        ));
        let t = tcp_limits(&s);
        assert_eq!(t.max_connections, 10);
        assert_eq!(t.idle_timeout, Duration::from_secs(3605));
        assert_eq!(t.connect_timeout, TcpLimits::default().connect_timeout);
    }
}

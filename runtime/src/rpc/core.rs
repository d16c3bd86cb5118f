//! The core's RPC commands: `core.version`, `core.uptime`, `core.psx`,
//! `system.listMethods`, `system.methodHelp`.

use std::net::SocketAddr;
use std::time::SystemTime;

use super::{CoreCommand, Env, Process};
use crate::engine::module::{RpcError, RpcValue};
use crate::transport::Proto;

pub static COMMANDS: &[CoreCommand] = &[
    CoreCommand {
        name: "core.version",
        help: "Returns the version string of the server.",
        handler: version,
    },
    CoreCommand {
        name: "core.uptime",
        help: "Returns uptime of SIP server.",
        handler: uptime,
    },
    CoreCommand {
        name: "core.psx",
        help: "Returns the description of running processes.",
        handler: psx,
    },
    CoreCommand {
        name: "system.listMethods",
        help: "Lists all RPC methods supported by the server.",
        handler: list_methods,
    },
    CoreCommand {
        name: "system.methodHelp",
        help: "Print the help string for given method.",
        handler: method_help,
    },
];

/// Kamailio's version text, from the Server header the runtime sends
/// (`kamailio (5.6.3 (x86_64/linux))` → `kamailio 5.6.3 (x86_64/linux) `,
/// trailing space included, as Kamailio's).
pub fn version_text() -> String {
    let server = String::from_utf8_lossy(crate::sip::reply::KAMAILIO_SERVER);
    let inner = server
        .strip_prefix("kamailio (")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(&server);
    format!("kamailio {inner} ")
}

fn version(_: &Env<'_>, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    Ok(vec![RpcValue::Str(version_text())])
}

/// `ctime`-style local time without the newline: `Sun Dec  6 03:07:54 2026`.
pub fn ctime(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: `tm` is plain data written by localtime_r, which only reads
    // `secs` and writes `tm`; both live for the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return String::new();
        }
        tm
    };
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day = usize::try_from(tm.tm_wday).ok().and_then(|i| DAYS.get(i));
    let month = usize::try_from(tm.tm_mon).ok().and_then(|i| MONTHS.get(i));
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        day.unwrap_or(&"???"),
        month.unwrap_or(&"???"),
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
}

fn uptime(env: &Env<'_>, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let now = SystemTime::now();
    let up = now
        .duration_since(env.state.started)
        .map_or(0, |d| d.as_secs());
    Ok(vec![RpcValue::Struct(vec![
        ("now".into(), RpcValue::Str(ctime(now))),
        ("up_since".into(), RpcValue::Str(ctime(env.state.started))),
        (
            "uptime".into(),
            RpcValue::Int(i64::try_from(up).unwrap_or(i64::MAX)),
        ),
    ])])
}

fn psx(env: &Env<'_>, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    Ok(env
        .state
        .processes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            RpcValue::Struct(vec![
                (
                    "IDX".into(),
                    RpcValue::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                ),
                ("PID".into(), RpcValue::Int(i64::from(p.pid))),
                ("DSC".into(), RpcValue::Str(p.desc.clone())),
            ])
        })
        .collect())
}

/// The threads of a proxy, described as Kamailio describes its processes.
/// We run threads in one process: every PID is the process id.
pub fn processes(listen: &[(Proto, SocketAddr)], workers: usize) -> Vec<Process> {
    let pid = std::process::id();
    let p = |desc: String| Process { pid, desc };
    let mut v = vec![p("main process - attendant".into())];
    for (proto, addr) in listen.iter().filter(|(p, _)| *p == Proto::Udp) {
        let _ = proto;
        for child in 0..workers {
            v.push(p(format!("udp receiver child={child} sock={addr}")));
        }
    }
    v.push(p("timer".into()));
    if listen.iter().any(|(p, _)| *p == Proto::Tcp) {
        for child in 0..workers {
            v.push(p(format!("tcp receiver (generic) child={child}")));
        }
        v.push(p("tcp main process".into()));
    }
    v
}

/// Each command name as its own value (kamcmd prints one per line).
fn list_methods(env: &Env<'_>, _: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    Ok(env
        .rpc
        .names()
        .into_iter()
        .map(|n| RpcValue::Str(n.into()))
        .collect())
}

fn method_help(env: &Env<'_>, args: &[&str]) -> Result<Vec<RpcValue>, RpcError> {
    let Some(name) = args.first() else {
        return Err(RpcError::new(400, "Method Name Expected"));
    };
    env.rpc
        .help(name)
        .map(|h| vec![RpcValue::Str(h.into())])
        .ok_or_else(|| RpcError::new(400, "command not found"))
}

//! The proxy shell's [`Settings`] from a lowered program's core parameters
//! (compiled code has them as a generated constant; the interpreter builds
//! them once at start-up).

use cfgc::ir::{ModParamValue, Program};
use runtime::proxy::{self, Settings};

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// The settings of `program`, leaked once for the life of the process
/// (the proxy shell takes `'static` settings, as generated code has).
pub fn leak_settings(program: &Program) -> Settings {
    let c = &program.core;
    let listen: Vec<_> = c
        .listen
        .iter()
        .map(|(proto, host, port)| (leak(proto), leak(host), port.map(i32::from)))
        .collect();
    let aliases: Vec<_> = c
        .aliases
        .iter()
        .map(|(host, port)| (leak(host), port.map(i32::from)))
        .collect();
    let modparams: Vec<_> = program
        .modparams
        .iter()
        .map(|m| {
            let v = match &m.value {
                ModParamValue::Int(n) => proxy::ModParamValue::Int(*n),
                ModParamValue::Str(s) => proxy::ModParamValue::Str(leak(s)),
            };
            (leak(&m.module), leak(&m.name), v)
        })
        .collect();
    Settings {
        listen: Vec::leak(listen),
        aliases: Vec::leak(aliases),
        port: c.port.map(i32::from),
        children: c.children,
        debug: c.debug,
        log_stderror: c.log_stderror,
        log_prefix: c.log_prefix.as_deref().map(leak),
        log_facility: c.log_facility.as_deref().map(leak),
        log_name: c.log_name.as_deref().map(leak),
        advertised_address: c.advertised_address.as_deref().map(leak),
        advertised_port: c.advertised_port.map(i32::from),
        server_header: c.server_header.as_deref().map(leak),
        modparams: Vec::leak(modparams),
    }
}

//! The engine set-up the in-process benchmarks share (criterion and the
//! callgrind loop): a proxy on 127.0.0.1:5060 receiving from
//! 127.0.0.1:5080, and the interpreted counterpart of a compiled cfg.

use runtime::engine::{CoreConfig, Engine, Script};
use runtime::transport::myself::Myself;
use runtime::transport::{Proto, RecvInfo};

/// The example stateless proxy, as build.rs compiles it.
pub const STATELESS_CFG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/stateless-proxy/kamailio.cfg"
);

/// The defines build.rs compiles the stateless example with.
pub const STATELESS_DEFINES: &[&str] = &["NEXT_PORT=5070"];

/// An engine for `script`, listening on 127.0.0.1:5060 (UDP).
pub fn engine<S: Script>(script: S) -> Engine<S> {
    let listen = vec![(Proto::Udp, "127.0.0.1:5060".parse().expect("addr"))];
    let core = CoreConfig {
        myself: Myself::from_listen(listen.clone()),
        listen,
        ..CoreConfig::default()
    };
    Engine::new(script, core)
}

/// Where the workload comes from.
pub fn rcv() -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: "127.0.0.1:5080".parse().expect("addr"),
        local: "127.0.0.1:5060".parse().expect("addr"),
        conn: None,
    }
}

/// `path` with `defines`, interpreted; `None` if it does not load.
pub fn interpreted(path: &str, defines: &[&str]) -> Option<interp::Interp> {
    let mut c = cfgc::Config::new();
    for d in defines {
        c.define_arg(d);
    }
    let program = c.generate_file(path).ok()?.program?;
    interp::Interp::load(&program).ok()
}

//! Route execution in-process, compiled vs interpreted, on a fixed set of
//! messages: the engine's `process` (parse, run the script, build what is
//! sent) for each message, no sockets. `cargo bench -p bench --bench route`.
//!
//! The same programs: the compiled script comes from build.rs
//! (`cfgc::Builder`), the interpreted one from lowering the same file with
//! the same defines.

use criterion::{Criterion, criterion_group, criterion_main};
use runtime::engine::{CoreConfig, Engine, Script, WorkerState};
use runtime::transport::myself::Myself;
use runtime::transport::{Proto, RecvInfo};

#[allow(unreachable_pub, dead_code, reason = "generated for a proxy binary")]
mod stateless {
    include!(concat!(env!("OUT_DIR"), "/stateless_cfg.rs"));
}

#[cfg(stock_cfg)]
#[allow(unreachable_pub, dead_code, reason = "generated for a proxy binary")]
mod stock {
    include!(concat!(env!("OUT_DIR"), "/stock_cfg.rs"));
}

fn core() -> CoreConfig {
    let listen = vec![(Proto::Udp, "127.0.0.1:5060".parse().expect("addr"))];
    CoreConfig {
        myself: Myself::from_listen(listen.clone()),
        listen,
        ..CoreConfig::default()
    }
}

fn rcv() -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: "127.0.0.1:5080".parse().expect("addr"),
        local: "127.0.0.1:5060".parse().expect("addr"),
        conn: None,
    }
}

/// The fixed message set: what a call and a registration send a proxy.
fn messages() -> Vec<Vec<u8>> {
    bench::workload::messages()
}

fn interpreted(path: &str, defines: &[&str]) -> interp::Interp {
    let mut c = cfgc::Config::new();
    for d in defines {
        c.define_arg(d);
    }
    let g = c.generate_file(path).expect("readable");
    interp::Interp::load(&g.program.expect("lowered")).expect("loads")
}

fn run<S: Script>(c: &mut Criterion, name: &str, e: &Engine<S>) {
    let msgs = messages();
    let mut w = WorkerState::default();
    let mut out = Vec::new();
    let rcv = rcv();
    c.bench_function(name, |b| {
        b.iter(|| {
            for m in &msgs {
                e.process(m, &rcv, &mut w, &mut out);
                out.clear();
            }
        });
    });
}

fn routes(c: &mut Criterion) {
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/stateless-proxy/kamailio.cfg"
    );
    run(
        c,
        "stateless/compiled",
        &Engine::new(stateless::Script::new(), core()),
    );
    run(
        c,
        "stateless/interpreted",
        &Engine::new(interpreted(cfg, &["NEXT_PORT=5070"]), core()),
    );
    #[cfg(stock_cfg)]
    {
        run(
            c,
            "stock/compiled",
            &Engine::new(stock::Script::new(), core()),
        );
        run(
            c,
            "stock/interpreted",
            &Engine::new(interpreted("/etc/kamailio/kamailio.cfg", &[]), core()),
        );
    }
    #[cfg(not(stock_cfg))]
    eprintln!("note: the stock kamailio.cfg does not compile yet; stateless example only");
}

criterion_group!(benches, routes);
criterion_main!(benches);

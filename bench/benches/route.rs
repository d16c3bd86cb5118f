//! Route execution in-process, compiled vs interpreted, on a fixed set of
//! messages: the engine's `process` (parse, run the script, build what is
//! sent) for each message, no sockets. `cargo bench -p bench --bench route`.
//!
//! The same programs: the compiled script comes from build.rs
//! (`cfgc::Builder`), the interpreted one from lowering the same file with
//! the same defines.

use bench::setup::{STATELESS_CFG, STATELESS_DEFINES, engine, interpreted, rcv};
use criterion::{Criterion, criterion_group, criterion_main};
use runtime::engine::{Engine, Script, WorkerState};

#[allow(unreachable_pub, dead_code, reason = "generated for a proxy binary")]
mod stateless {
    include!(concat!(env!("OUT_DIR"), "/stateless_cfg.rs"));
}

#[cfg(stock_cfg)]
#[allow(unreachable_pub, dead_code, reason = "generated for a proxy binary")]
mod stock {
    include!(concat!(env!("OUT_DIR"), "/stock_cfg.rs"));
}

fn run<S: Script>(c: &mut Criterion, name: &str, e: &Engine<S>) {
    let msgs = bench::workload::messages();
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
    run(c, "stateless/compiled", &engine(stateless::Script::new()));
    let interp = interpreted(STATELESS_CFG, STATELESS_DEFINES).expect("the example loads");
    run(c, "stateless/interpreted", &engine(interp));
    #[cfg(stock_cfg)]
    {
        run(c, "stock/compiled", &engine(stock::Script::new()));
        let interp = interpreted("/etc/kamailio/kamailio.cfg", &[]).expect("the stock cfg loads");
        run(c, "stock/interpreted", &engine(interp));
    }
    #[cfg(not(stock_cfg))]
    eprintln!("note: the stock kamailio.cfg does not compile yet; stateless example only");
}

criterion_group!(benches, routes);
criterion_main!(benches);

//! `route-loop compiled|interpreted ROUNDS [stateless|stock] [--dry]`:
//! routes ROUNDS rounds of the benchmark workload in-process, for
//! instruction counting under `valgrind --tool=callgrind`
//! (`bench/callgrind.sh`). With `--dry` the messages are generated and the
//! script set up but nothing is routed: the script subtracts that run.

use std::process::ExitCode;

use bench::setup::{STATELESS_CFG, STATELESS_DEFINES, engine, interpreted, rcv};
use runtime::engine::{Script, WorkerState};

#[allow(unreachable_pub, dead_code, reason = "generated for a proxy binary")]
mod stateless {
    include!(concat!(env!("OUT_DIR"), "/stateless_cfg.rs"));
}

#[cfg(stock_cfg)]
#[allow(unreachable_pub, dead_code, reason = "generated for a proxy binary")]
mod stock {
    include!(concat!(env!("OUT_DIR"), "/stock_cfg.rs"));
}

fn run<S: Script>(script: S, rounds: u32, dry: bool) {
    let e = engine(script);
    let rcv = rcv();
    let msgs = bench::workload::rounds(rounds);
    let mut w = WorkerState::default();
    let mut out = Vec::new();
    let mut sent = 0usize;
    if !dry {
        for m in &msgs {
            e.process(m, &rcv, &mut w, &mut out);
            sent += out.len();
            out.clear();
        }
    }
    println!("messages={} sent={sent}", msgs.len());
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(rounds)) = (
        args.first(),
        args.get(1).and_then(|r| r.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: route-loop compiled|interpreted ROUNDS [stateless|stock]");
        return ExitCode::from(2);
    };
    let cfg = args.get(2).map_or("stateless", String::as_str);
    let dry = args.iter().any(|a| a == "--dry");
    match (mode.as_str(), cfg) {
        ("compiled", "stateless") => run(stateless::Script::new(), rounds, dry),
        ("interpreted", "stateless") => match interpreted(STATELESS_CFG, STATELESS_DEFINES) {
            Some(i) => run(i, rounds, dry),
            None => return ExitCode::FAILURE,
        },
        #[cfg(stock_cfg)]
        ("compiled", "stock") => run(stock::Script::new(), rounds, dry),
        #[cfg(stock_cfg)]
        ("interpreted", "stock") => match interpreted("/etc/kamailio/kamailio.cfg", &[]) {
            Some(i) => run(i, rounds, dry),
            None => return ExitCode::FAILURE,
        },
        _ => {
            eprintln!("route-loop: `{mode} {cfg}` is not available in this build");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

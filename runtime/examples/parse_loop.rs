//! Runs one parse workload N times, for load-independent measurements with
//! `perf stat -e task-clock,instructions` (the shared benchmark VM is often
//! overloaded, which inflates Criterion's wall-clock figures):
//!
//! `cargo build --release -p cfgc-runtime --example parse_loop`
//! `perf stat -e task-clock,instructions target/release/examples/parse_loop ours-fields 1000000`
//!
//! Modes: `ours-index`, `ours-fields`, `rsip-parse`, `rsip-fields`, `none`
//! (baseline: loop overhead and process start-up).

// The package is `cfgc-runtime`; this crate calls it `runtime`, as the
// workspace's other crates do (a Cargo rename).
extern crate cfgc_runtime as runtime;

use std::convert::TryFrom;
use std::hint::black_box;

use rsip::prelude::*;
use runtime::sip::Message;

const INVITE: &[u8] = include_bytes!("../tests/data/invite.sip");

fn ours_index() -> usize {
    Message::parse(black_box(INVITE)).map_or(0, |m| m.headers().len())
}

fn ours_fields() -> usize {
    let Ok(m) = Message::parse(black_box(INVITE)) else {
        return 0;
    };
    let (Ok(ruri), Ok(via), Ok(from), Ok(to), Ok(call_id), Ok(cseq), Ok(mf)) = (
        m.ruri(),
        m.via_top(),
        m.from(),
        m.to(),
        m.call_id(),
        m.cseq(),
        m.max_forwards(),
    ) else {
        return 0;
    };
    black_box((
        ruri.user, ruri.host, via.branch, from.tag, to.tag, call_id, cseq.seq, mf,
    ));
    1
}

fn rsip_parse() -> usize {
    rsip::SipMessage::try_from(black_box(INVITE)).map_or(0, |m| m.body().len())
}

fn rsip_fields() -> usize {
    let Ok(rsip::SipMessage::Request(req)) = rsip::SipMessage::try_from(black_box(INVITE)) else {
        return 0;
    };
    let via = req.via_header().ok().and_then(|v| v.typed().ok());
    let from = req.from_header().ok().and_then(|f| f.tag().ok());
    let to = req.to_header().ok().and_then(|t| t.tag().ok());
    let call_id = req.call_id_header().map(|c| c.value().to_string()).ok();
    let cseq = req.cseq_header().ok().and_then(|c| c.typed().ok());
    let mf = req.max_forwards_header().ok().and_then(|m| m.num().ok());
    black_box((
        req.uri.user().map(str::len),
        req.uri.host_with_port.host.to_string(),
        via.map(|v| v.branch().cloned()),
        from,
        to,
        call_id,
        cseq.map(|c| c.seq),
        mf,
    ));
    1
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "ours-fields".into());
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let f: fn() -> usize = match mode.as_str() {
        "ours-index" => ours_index,
        "ours-fields" => ours_fields,
        "rsip-parse" => rsip_parse,
        "rsip-fields" => rsip_fields,
        _ => || 0,
    };
    let mut acc = 0usize;
    for _ in 0..n {
        acc = acc.wrapping_add(f());
    }
    println!("{mode}: {n} iterations, checksum {acc}");
}

//! Parse benchmark of the ~950 B INVITE (2 Via, Route, Record-Route,
//! Contact, SDP): our lazy index, the same plus the fields a proxy reads,
//! rsip's parse and rsip's parse plus the same fields, all in one run.

// The package is `cfgc-runtime`; this crate calls it `runtime`, as the
// workspace's other crates do (a Cargo rename).
extern crate cfgc_runtime as runtime;

use std::convert::TryFrom;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rsip::prelude::*;
use runtime::sip::Message;

const INVITE: &[u8] = include_bytes!("../tests/data/invite.sip");

fn ours_index(c: &mut Criterion) {
    c.bench_function("ours/parse_index", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE)).unwrap();
            black_box(m.headers().len())
        });
    });
}

fn ours_fields(c: &mut Criterion) {
    c.bench_function("ours/parse_plus_proxy_fields", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(INVITE)).unwrap();
            let ruri = m.ruri().unwrap();
            let via = m.via_top().unwrap();
            let from = m.from().unwrap();
            let to = m.to().unwrap();
            let cseq = m.cseq().unwrap();
            black_box((
                ruri.user,
                ruri.host,
                ruri.port,
                via.branch,
                from.tag,
                to.tag,
                m.call_id().unwrap(),
                cseq.seq,
                cseq.method,
                m.max_forwards().unwrap(),
            ))
        });
    });
}

fn rsip_parse(c: &mut Criterion) {
    c.bench_function("rsip/parse", |b| {
        b.iter(|| black_box(rsip::SipMessage::try_from(black_box(INVITE)).unwrap()));
    });
}

fn rsip_fields(c: &mut Criterion) {
    c.bench_function("rsip/parse_plus_proxy_fields", |b| {
        b.iter(|| {
            let m = rsip::SipMessage::try_from(black_box(INVITE)).unwrap();
            let rsip::SipMessage::Request(req) = m else {
                unreachable!("fixture is a request")
            };
            let via = req.via_header().unwrap().typed().unwrap();
            let from = req.from_header().unwrap().tag().unwrap();
            let to = req.to_header().unwrap().tag().unwrap();
            let call_id = req.call_id_header().unwrap().value().to_string();
            let cseq = req.cseq_header().unwrap().typed().unwrap();
            let mf = req.max_forwards_header().unwrap().num().unwrap();
            black_box((
                req.uri.user().map(str::len),
                req.uri.host_with_port.host.to_string(),
                via.branch().cloned(),
                from,
                to,
                call_id,
                cseq.seq,
                mf,
            ))
        });
    });
}

criterion_group!(benches, ours_index, ours_fields, rsip_parse, rsip_fields);
criterion_main!(benches);

//! rsip 0.4 as a test oracle: on well-formed messages that rsip parses, our
//! typed values agree with rsip's (method, R-URI user/host/port, top Via
//! branch and host, From/To tags, Call-ID, CSeq). Generated users contain no
//! `.`, which rsip 0.4 misparses (its issue #50; see rust-ecosystem.md §1.5).

// The package is `cfgc-runtime`; this crate calls it `runtime`, as the
// workspace's other crates do (a Cargo rename).
extern crate cfgc_runtime as runtime;

mod common;

use std::convert::TryFrom;

use proptest::prelude::*;
use rsip::prelude::*;
use runtime::sip::Message;

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Compares every field; returns how many fields were compared.
fn agree(bytes: &[u8]) -> usize {
    let ours = Message::parse(bytes).expect("our parser rejects a well-formed message");
    let Ok(rsip::SipMessage::Request(req)) = rsip::SipMessage::try_from(bytes) else {
        return 0;
    };
    assert_eq!(s(ours.method().unwrap().as_bytes()), req.method.to_string());
    let ruri = ours.ruri().unwrap();
    assert_eq!(ruri.user.map(s), req.uri.user().map(str::to_string));
    assert_eq!(s(ruri.host), req.uri.host_with_port.host.to_string());
    assert_eq!(
        ruri.port.map(|p| p.to_string()),
        req.uri.host_with_port.port.map(|p| p.to_string())
    );

    let via = ours.via_top().unwrap();
    let rvia = req.via_header().unwrap().typed().unwrap();
    assert_eq!(via.branch.map(s), rvia.branch().map(|b| b.to_string()));
    assert_eq!(s(via.host), rvia.uri.host_with_port.host.to_string());
    assert_eq!(
        via.port.map(|p| p.to_string()),
        rvia.uri.host_with_port.port.map(|p| p.to_string())
    );

    let from_tag = req
        .from_header()
        .unwrap()
        .tag()
        .unwrap()
        .map(|t| t.to_string());
    assert_eq!(ours.from().unwrap().tag.map(s), from_tag);
    let to_tag = req
        .to_header()
        .unwrap()
        .tag()
        .unwrap()
        .map(|t| t.to_string());
    assert_eq!(ours.to().unwrap().tag.map(s), to_tag);

    assert_eq!(
        s(ours.call_id().unwrap()),
        req.call_id_header().unwrap().value()
    );
    let cseq = req.cseq_header().unwrap().typed().unwrap();
    let our_cseq = ours.cseq().unwrap();
    assert_eq!(our_cseq.seq, cseq.seq);
    assert_eq!(s(our_cseq.method.as_bytes()), cseq.method.to_string());
    assert_eq!(ours.body(), &req.body[..]);
    13
}

#[test]
fn fixtures_agree_with_rsip() {
    assert_eq!(agree(common::INVITE), 13);
    assert_eq!(agree(common::REGISTER), 13);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn generated_requests_agree_with_rsip(f in common::fields()) {
        let bytes = f.render(true);
        agree(&bytes);
    }
}

/// rsip must have accepted most generated messages, or the comparison
/// above compared nothing.
#[test]
fn rsip_accepts_most_generated_requests() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strat = common::fields();
    let mut compared = 0;
    for _ in 0..300 {
        let f = strat.new_tree(&mut runner).unwrap().current();
        if agree(&f.render(true)) > 0 {
            compared += 1;
        }
    }
    assert!(compared >= 200, "rsip accepted only {compared}/300");
}

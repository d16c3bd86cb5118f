//! Property tests: parse → serialize → parse is stable; edits → serialize
//! → parse reflect the edit; and the `sip_roundtrip` fuzz body
//! (`runtime::sip::roundtrip::check`) on arbitrary bytes, mutated valid
//! messages and the fuzz corpus, on stable Rust.

// The package is `cfgc-runtime`; this crate calls it `runtime`, as the
// workspace's other crates do (a Cargo rename).
extern crate cfgc_runtime as runtime;

mod common;

use proptest::prelude::*;
use runtime::sip::edit::stateless_branch;
use runtime::sip::roundtrip::check;
use runtime::sip::{Editor, HeaderName, Message};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_serialize_parse_is_stable(f in common::fields()) {
        let bytes = f.render(false);
        let m = Message::parse(&bytes).unwrap();
        let out = Editor::new(&m).serialize();
        prop_assert_eq!(&out[..], &bytes[..]);
        let m2 = Message::parse(&out).unwrap();
        prop_assert_eq!(m2.headers().len(), m.headers().len());
        prop_assert_eq!(m2.ruri_bytes(), m.ruri_bytes());
        prop_assert_eq!(m2.via_top().unwrap(), m.via_top().unwrap());
        prop_assert_eq!(m2.body(), f.body.as_bytes());
        // Typed values match the generated fields.
        let ruri = m.ruri().unwrap();
        prop_assert_eq!(ruri.user, f.user.as_deref().map(str::as_bytes));
        prop_assert_eq!(ruri.host, f.host.as_bytes());
        prop_assert_eq!(ruri.port, f.port);
        prop_assert_eq!(m.via_top().unwrap().branch, Some(f.branch.as_bytes()));
        prop_assert_eq!(m.from().unwrap().tag, Some(f.from_tag.as_bytes()));
        prop_assert_eq!(m.to().unwrap().tag, f.to_tag.as_deref().map(str::as_bytes));
        prop_assert_eq!(m.call_id().unwrap(), f.call_id.as_bytes());
        prop_assert_eq!(m.cseq().unwrap().seq, f.cseq);
        prop_assert_eq!(m.max_forwards().unwrap(), Some(u32::from(f.max_forwards)));
        prop_assert_eq!(m.vias().count(), 1 + f.extra_vias);
        prop_assert_eq!(m.routes().count(), if f.route { 2 } else { 0 });
    }

    #[test]
    fn edits_are_reflected(
        f in common::fields(),
        user in proptest::option::of("[a-z0-9]{1,8}"),
        port in proptest::option::of(1u16..),
        mf in 0u32..100,
        body in "[ -~]{0,30}",
        remove_route in any::<bool>(),
    ) {
        let bytes = f.render(false);
        let m = Message::parse(&bytes).unwrap();
        let mut ed = Editor::new(&m);
        ed.set_ruri_user(user.as_deref().map(str::as_bytes)).unwrap();
        ed.set_ruri_port(port).unwrap();
        let branch = stateless_branch(&m).unwrap();
        ed.push_via("TCP", "proxy.example.net", None, &branch).unwrap();
        ed.set_max_forwards(mf).unwrap();
        ed.add_header("X-Edit", b"1").unwrap();
        if remove_route {
            ed.remove_headers(HeaderName::Route).unwrap();
        }
        ed.set_body(body.as_bytes(), Some(b"text/plain")).unwrap();
        let out = ed.serialize();
        let e = Message::parse(&out).unwrap();
        let ruri = e.ruri().unwrap();
        prop_assert_eq!(ruri.user, user.as_deref().map(str::as_bytes));
        prop_assert_eq!(ruri.host, f.host.as_bytes());
        prop_assert_eq!(ruri.port, port);
        let top = e.via_top().unwrap();
        prop_assert_eq!(top.host, &b"proxy.example.net"[..]);
        prop_assert_eq!(top.transport, &b"TCP"[..]);
        prop_assert_eq!(top.branch, Some(&branch[..]));
        prop_assert_eq!(e.vias().count(), 2 + f.extra_vias);
        prop_assert_eq!(e.max_forwards().unwrap(), Some(mf));
        prop_assert_eq!(e.header_by_name(b"x-edit"), Some(&b"1"[..]));
        prop_assert_eq!(e.routes().count(), if f.route && !remove_route { 2 } else { 0 });
        prop_assert_eq!(e.body(), body.as_bytes());
        prop_assert_eq!(e.content_length(), Some(body.len() as u32));
        prop_assert!(e.content_type().unwrap().unwrap().is(b"text", b"plain"));
        // Untouched values survive.
        prop_assert_eq!(e.call_id().unwrap(), f.call_id.as_bytes());
        prop_assert_eq!(e.from().unwrap().tag, Some(f.from_tag.as_bytes()));
        prop_assert_eq!(e.cseq().unwrap().seq, f.cseq);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// A TCP byte stream of messages with CRLF keep-alives in between is cut
    /// back into the same messages, also when it arrives in pieces.
    #[test]
    fn stream_framing_recovers_messages(
        msgs in proptest::collection::vec(common::fields(), 1..4),
        keepalives in proptest::collection::vec(0usize..3, 4),
        cut in any::<prop::sample::Index>(),
    ) {
        use runtime::sip::framing::{Frame, Limits, frame_stream};
        let rendered: Vec<Vec<u8>> = msgs.iter().map(|f| f.render(false)).collect();
        let mut stream = Vec::new();
        for (i, m) in rendered.iter().enumerate() {
            stream.extend(std::iter::repeat_n(b"\r\n".to_vec(), keepalives[i]).flatten());
            stream.extend_from_slice(m);
        }
        // A prefix never yields a frame beyond its end.
        let prefix = &stream[..cut.index(stream.len())];
        if let Frame::Complete { end, .. } = frame_stream(prefix, &Limits::default()) {
            prop_assert!(end <= prefix.len());
        }
        let mut rest = &stream[..];
        for m in &rendered {
            match frame_stream(rest, &Limits::default()) {
                Frame::Complete { start, end } => {
                    prop_assert_eq!(&rest[start..end], &m[..]);
                    rest = &rest[end..];
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert!(rest.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_body_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(check(&data), Ok(()));
    }

    #[test]
    fn fuzz_body_on_mutated_messages(data in common::mutated()) {
        prop_assert_eq!(check(&data), Ok(()));
    }

    #[test]
    fn fuzz_body_on_generated_messages(f in common::fields()) {
        prop_assert_eq!(check(&f.render(false)), Ok(()));
    }
}

/// Replays the committed fuzz corpus (seeds and minimized crashes).
#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sip_roundtrip");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        assert_eq!(check(&data), Ok(()), "{}", path.display());
        n += 1;
    }
    assert!(n >= 2, "corpus has only {n} files");
    assert_eq!(check(common::INVITE), Ok(()));
    assert_eq!(check(common::REGISTER), Ok(()));
}

/// Inputs found by review of the fuzz body's own assumptions.
#[test]
fn fuzz_body_edge_cases() {
    // 60 header lines: the edit round must not overflow the index.
    let mut s = String::from(
        "INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n",
    );
    for i in 0..55 {
        s.push_str(&format!("X-{i}: {i}\r\n"));
    }
    s.push_str("\r\n");
    assert_eq!(check(s.as_bytes()), Ok(()));
    // The request already carries the header the edit round adds.
    let b = b"OPTIONS sip:h SIP/2.0\r\nX-Fuzz: no\r\nCall-ID: c\r\n\r\n";
    assert_eq!(check(b), Ok(()));
    // 70 comma-separated Vias: the reply has one line per Via.
    let vias: Vec<String> = (0..70)
        .map(|i| format!("SIP/2.0/UDP h{i};branch=z9hG4bK{i}"))
        .collect();
    let b = format!(
        "INVITE sip:b@h SIP/2.0\r\nVia: {}\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n",
        vias.join(", ")
    );
    assert_eq!(check(b.as_bytes()), Ok(()));
    let m = Message::parse(b.as_bytes()).unwrap();
    assert_eq!(m.vias().count(), 70);
}

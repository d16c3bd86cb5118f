//! Locally generated replies (RFC 3261 §8.2.6, §16.7 To-tag, Kamailio
//! shape of `kamailio-modules.md` §0.1–0.2).

use super::{INVITE, crlf};
use crate::sip::reply::{KAMAILIO_SERVER, ReplyOpts, build, stateless_to_tag};
use crate::sip::{ErrorKind, HeaderName, Message};

const OPTIONS: &str = "OPTIONS sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-opt1;rport
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=ft1
To: <sip:127.0.0.1:5070>
Call-ID: opt1@x
CSeq: 1 OPTIONS
Contact: <sip:alice@127.0.0.1:5080>
Content-Length: 0

";

#[test]
fn keepalive_reply_matches_kamailio_byte_for_byte() {
    // The reference's observation: a Via without `rport`, `force_rport()`
    // executed (the stock REQINIT), host = source: only `rport` is added.
    let req = crlf(&OPTIONS.replace(";rport\n", "\n"));
    let m = Message::parse(&req).unwrap();
    let opts = ReplyOpts {
        to_tag: Some(b"df673b98c9e0bd9172cfc0d849035098.8577ac03"),
        source: Some((b"127.0.0.1", 5080)),
        force_rport: true,
        ..ReplyOpts::default()
    };
    let r = build(&m, 200, b"Keepalive", &opts).unwrap();
    let expected = crlf(
        "SIP/2.0 200 Keepalive
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-opt1;rport=5080
From: <sip:alice@127.0.0.1>;tag=ft1
To: <sip:127.0.0.1:5070>;tag=df673b98c9e0bd9172cfc0d849035098.8577ac03
Call-ID: opt1@x
CSeq: 1 OPTIONS
Server: kamailio (5.6.3 (x86_64/linux))
Content-Length: 0

",
    );
    assert_eq!(
        String::from_utf8_lossy(&r),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn received_and_rport_for_nat() {
    let req = crlf(&OPTIONS.replace("127.0.0.1:5080;branch", "192.168.1.20:5060;branch"));
    let m = Message::parse(&req).unwrap();
    let opts = ReplyOpts {
        source: Some((b"127.0.0.1", 5080)),
        ..ReplyOpts::default()
    };
    let r = build(&m, 100, b"Trying", &opts).unwrap();
    let rm = Message::parse(&r).unwrap();
    assert_eq!(
        rm.header(HeaderName::Via),
        Some(
            &b"SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-opt1;rport=5080;received=127.0.0.1"[..]
        )
    );
    // 100 never gets a To-tag.
    assert_eq!(rm.to().unwrap().tag, None);
}

#[test]
fn force_rport_appends_and_existing_values_are_rewritten() {
    let req = crlf(&OPTIONS.replace(";rport\n", "\n"));
    let m = Message::parse(&req).unwrap();
    let opts = ReplyOpts {
        source: Some((b"127.0.0.1", 5081)),
        force_rport: true,
        ..ReplyOpts::default()
    };
    let rm_buf = build(&m, 200, b"OK", &opts).unwrap();
    let rm = Message::parse(&rm_buf).unwrap();
    assert_eq!(
        rm.header(HeaderName::Via),
        Some(&b"SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-opt1;rport=5081"[..])
    );

    let req = crlf(&OPTIONS.replace(";rport\n", ";rport=1;received=10.0.0.1\n"));
    let m = Message::parse(&req).unwrap();
    let opts = ReplyOpts {
        source: Some((b"192.0.2.9", 7000)),
        ..ReplyOpts::default()
    };
    let rm_buf = build(&m, 200, b"OK", &opts).unwrap();
    let rm = Message::parse(&rm_buf).unwrap();
    assert_eq!(
        rm.header(HeaderName::Via),
        Some(&b"SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-opt1;rport=7000;received=192.0.2.9"[..])
    );
}

#[test]
fn invite_reply_copies_only_the_right_headers() {
    let m = Message::parse(INVITE).unwrap();
    let r = build(
        &m,
        180,
        b"Ringing",
        &ReplyOpts {
            server: None,
            ..ReplyOpts::default()
        },
    )
    .unwrap();
    let rm = Message::parse(&r).unwrap();
    let names: Vec<HeaderName> = rm.headers().iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        [
            HeaderName::Via,
            HeaderName::Via,
            HeaderName::RecordRoute,
            HeaderName::To,
            HeaderName::From,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::ContentLength
        ]
    );
    let tag = rm.to().unwrap().tag.unwrap();
    assert_eq!(tag, stateless_to_tag(&m, b"").as_bytes());
    assert_eq!(tag.len(), 41);
    assert_eq!(tag[32], b'.');
    // Same request, same tag (retransmissions match).
    let again = build(&m, 180, b"Ringing", &ReplyOpts::default()).unwrap();
    assert_eq!(Message::parse(&again).unwrap().to().unwrap().tag, Some(tag));
    // Record-Route only for 18x/2xx.
    for (code, rr) in [
        (100u16, false),
        (183, true),
        (200, true),
        (302, false),
        (486, false),
    ] {
        let r = build(&m, code, b"X", &ReplyOpts::default()).unwrap();
        let rm = Message::parse(&r).unwrap();
        assert_eq!(rm.header(HeaderName::RecordRoute).is_some(), rr, "{code}");
        assert_eq!(rm.header(HeaderName::Server), Some(KAMAILIO_SERVER));
    }
}

#[test]
fn existing_to_tag_is_kept() {
    let req = crlf(&OPTIONS.replace(
        "To: <sip:127.0.0.1:5070>",
        "To: <sip:127.0.0.1:5070>;tag=keep",
    ));
    let m = Message::parse(&req).unwrap();
    let r = build(&m, 481, b"Call Does Not Exist", &ReplyOpts::default()).unwrap();
    let rm = Message::parse(&r).unwrap();
    assert_eq!(rm.to().unwrap().tag, Some(&b"keep"[..]));
    assert_eq!(rm.header_values(HeaderName::To).count(), 1);
}

#[test]
fn multi_via_line_is_split_and_body_and_extras_added() {
    let req = crlf(
        "MESSAGE sip:b@h SIP/2.0\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\nf: <sip:a@h>;tag=1\nt: <sip:b@h>\ni: c\nCSeq: 5 MESSAGE\n\n",
    );
    let m = Message::parse(&req).unwrap();
    let opts = ReplyOpts {
        to_tag: Some(b"T"),
        extra_headers: b"Retry-After: 10",
        content_type: Some(b"text/plain"),
        body: b"later",
        ..ReplyOpts::default()
    };
    let r = build(&m, 503, b"Busy", &opts).unwrap();
    let text = String::from_utf8_lossy(&r);
    assert!(text.starts_with("SIP/2.0 503 Busy\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\nv: SIP/2.0/UDP b;branch=z9hG4bK2\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>;tag=T\r\ni: c\r\nCSeq: 5 MESSAGE\r\nRetry-After: 10\r\nContent-Type: text/plain\r\nServer: "), "{text}");
    assert!(text.ends_with("Content-Length: 5\r\n\r\nlater"), "{text}");
}

#[test]
fn reply_errors() {
    let m = Message::parse(INVITE).unwrap();
    assert_eq!(
        build(&m, 99, b"x", &ReplyOpts::default()).unwrap_err().kind,
        ErrorKind::BadStatusCode
    );
    assert_eq!(
        build(&m, 200, b"a\r\nb", &ReplyOpts::default())
            .unwrap_err()
            .kind,
        ErrorKind::BadStartLine
    );
    let resp = Message::parse(b"SIP/2.0 200 OK\r\n\r\n").unwrap();
    assert_eq!(
        build(&resp, 200, b"OK", &ReplyOpts::default())
            .unwrap_err()
            .kind,
        ErrorKind::WrongMessageKind
    );
    let no_cseq = crlf(
        "OPTIONS sip:h SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: x\n\n",
    );
    let m = Message::parse(&no_cseq).unwrap();
    assert_eq!(
        build(&m, 200, b"OK", &ReplyOpts::default())
            .unwrap_err()
            .kind,
        ErrorKind::MissingHeader(HeaderName::CSeq)
    );
}

/// Checked against kamailio 5.6.3 (`sl_send_reply`, host = source IP):
/// a Via with `;rport` gets `received` too, with or without
/// `force_rport()`; without `;rport`, `force_rport()` adds only `rport`
/// and nothing at all is added otherwise.
#[test]
fn rport_param_brings_received_like_kamailio() {
    let cases = [
        (";rport", false, ";rport=5080;received=127.0.0.1"),
        (";rport", true, ";rport=5080;received=127.0.0.1"),
        ("", true, ";rport=5080"),
        ("", false, ""),
    ];
    for (param, force, want) in cases {
        let req = crlf(&OPTIONS.replace(";rport\n", &format!("{param}\n")));
        let m = Message::parse(&req).unwrap();
        let opts = ReplyOpts {
            source: Some((b"127.0.0.1", 5080)),
            force_rport: force,
            ..ReplyOpts::default()
        };
        let r = String::from_utf8(build(&m, 200, b"OK", &opts).unwrap()).unwrap();
        let via = format!("Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-opt1{want}\r\n");
        assert!(r.contains(&via), "{param:?} force={force}: {r}");
    }
}

//! RFC 3261 §25.1 `Request-Line` / `Status-Line`, §7.1 methods.

use super::{INVITE, crlf};
use crate::sip::{ErrorKind, Message, Method, StartLine};

#[test]
fn request_line_of_invite() {
    let m = Message::parse(INVITE).unwrap();
    assert!(m.is_request());
    assert_eq!(m.method(), Some(Method::Invite));
    assert_eq!(
        m.ruri_bytes(),
        Some(&b"sip:bob@biloxi.example.com:5060;transport=udp"[..])
    );
    let StartLine::Request { version, .. } = *m.start_line() else {
        panic!("not a request")
    };
    assert_eq!(m.slice(version), b"SIP/2.0");
    assert_eq!(m.status(), None);
}

#[test]
fn status_line() {
    let b = crlf("SIP/2.0 180 Ringing Now\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n\n");
    let m = Message::parse(&b).unwrap();
    assert!(!m.is_request());
    assert_eq!(m.status(), Some(180));
    assert_eq!(m.reason(), Some(&b"Ringing Now"[..]));
    assert_eq!(m.method(), None);
    assert!(m.ruri().is_err());
}

#[test]
fn status_line_with_empty_reason() {
    let m = Message::parse(b"SIP/2.0 200 \r\n\r\n").unwrap();
    assert_eq!(m.status(), Some(200));
    assert_eq!(m.reason(), Some(&b""[..]));
}

#[test]
fn extension_method_is_kept() {
    let b = crlf("FOO sip:x@y SIP/2.0\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.method(), Some(Method::Other(b"FOO")));
    assert_eq!(Method::Other(b"FOO").as_bytes(), b"FOO");
}

#[test]
fn methods_are_case_sensitive() {
    assert_eq!(Method::from_bytes(b"invite"), Method::Other(b"invite"));
    for m in [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "INFO",
        "PRACK",
        "UPDATE",
        "SUBSCRIBE",
        "NOTIFY",
        "REFER",
        "MESSAGE",
        "PUBLISH",
    ] {
        let parsed = Method::from_bytes(m.as_bytes());
        assert!(!matches!(parsed, Method::Other(_)), "{m}");
        assert_eq!(parsed.as_bytes(), m.as_bytes());
    }
}

#[test]
fn leading_crlf_is_skipped() {
    let mut b = b"\r\n\r\n".to_vec();
    b.extend_from_slice(&crlf("OPTIONS sip:a@b SIP/2.0\nCall-ID: x\n\n"));
    let m = Message::parse(&b).unwrap();
    assert_eq!(m.start_offset(), 4);
    assert!(m.as_bytes().starts_with(b"OPTIONS"));
}

#[test]
fn bad_start_lines() {
    let cases: &[(&[u8], ErrorKind)] = &[
        (b"", ErrorKind::Empty),
        (b"\r\n\r\n", ErrorKind::Empty),
        (b"INVITE sip:a@b SIP/3.0\r\n\r\n", ErrorKind::BadVersion),
        (b"INVITE sip:a@b\r\n\r\n", ErrorKind::BadStartLine),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", ErrorKind::BadStartLine),
        (b"IN<VITE sip:a@b SIP/2.0\r\n\r\n", ErrorKind::BadStartLine),
        (b"SIP/2.0 2000 OK\r\n\r\n", ErrorKind::BadStatusCode),
        (b"SIP/2.0 099 Low\r\n\r\n", ErrorKind::BadStatusCode),
        (b"SIP/2.0 700 High\r\n\r\n", ErrorKind::BadStatusCode),
        (b"SIP/2.1 200 OK\r\n\r\n", ErrorKind::BadVersion),
        (b"no line end at all", ErrorKind::BadStartLine),
    ];
    for (input, kind) in cases {
        let e = Message::parse(input).unwrap_err();
        assert_eq!(e.kind, *kind, "{:?}", String::from_utf8_lossy(input));
        assert!(!e.can_reply_400);
        assert!(e.offset <= input.len());
    }
}

#[test]
fn lf_only_line_ends() {
    let m = Message::parse(b"BYE sip:a@b SIP/2.0\nCall-ID: c1\nCSeq: 2 BYE\n\nbody").unwrap();
    assert_eq!(m.method(), Some(Method::Bye));
    assert_eq!(m.call_id().unwrap(), b"c1");
    assert_eq!(m.body(), b"body");
}

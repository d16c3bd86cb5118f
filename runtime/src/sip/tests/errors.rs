//! Malformed input: structured errors, and whether a 400 can be sent.

use super::{INVITE, crlf};
use crate::sip::reply::{ReplyOpts, build};
use crate::sip::{ErrorKind, HeaderName, Message};

#[test]
fn bad_header_line_in_readable_request_is_replyable() {
    let b = crlf(
        "INVITE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: x\nCSeq: 1 INVITE\nthis line has no colon\n\n",
    );
    let e = Message::parse(&b).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadHeaderLine);
    assert!(e.can_reply_400);
    assert_eq!(&b[e.offset..e.offset + 4], b"this");
    assert!(e.to_string().contains("400 can be sent"));
    let m = Message::parse_for_reply(&b).unwrap();
    let r = build(&m, 400, b"Bad Request", &ReplyOpts::default()).unwrap();
    let rm = Message::parse(&r).unwrap();
    assert_eq!(rm.status(), Some(400));
    assert_eq!(rm.call_id().unwrap(), b"x");
}

#[test]
fn truncated_body_is_the_body_that_arrived() {
    let mut b = INVITE.to_vec();
    b.truncate(INVITE.len() - 10);
    let m = Message::parse(&b).unwrap();
    let full = Message::parse(INVITE).unwrap();
    assert_eq!(m.body(), &full.body()[..full.body().len() - 10]);
}

#[test]
fn unreadable_essentials_are_not_replyable() {
    // Missing CSeq.
    let b = crlf(
        "INVITE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>\nCall-ID: x\nbroken\n\n",
    );
    let e = Message::parse(&b).unwrap_err();
    assert!(!e.can_reply_400);
    assert!(Message::parse_for_reply(&b).is_none());
    // A response is never answered.
    let b = crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP h\nbroken\n\n");
    assert!(!Message::parse(&b).unwrap_err().can_reply_400);
    // A bad start line cannot be answered.
    assert!(
        !Message::parse(b"GARBAGE\r\n\r\n")
            .unwrap_err()
            .can_reply_400
    );
}

#[test]
fn missing_header_end() {
    let b = crlf("OPTIONS sip:h SIP/2.0\nCall-ID: x\n");
    assert_eq!(
        Message::parse(&b).unwrap_err().kind,
        ErrorKind::MissingHeaderEnd
    );
    let b = b"OPTIONS sip:h SIP/2.0\r\nCall-ID: x";
    assert_eq!(
        Message::parse(b).unwrap_err().kind,
        ErrorKind::MissingHeaderEnd
    );
}

#[test]
fn parsed_request_knows_if_replyable() {
    assert!(Message::parse(INVITE).unwrap().can_reply_400());
    let b = crlf("INVITE sip:b@h SIP/2.0\nVia: SIP/2.0/UDP h\nCSeq: 1 INVITE\n\n");
    let m = Message::parse(&b).unwrap();
    assert!(!m.can_reply_400());
    assert_eq!(
        m.from().unwrap_err().kind,
        ErrorKind::MissingHeader(HeaderName::From)
    );
}

#[test]
fn errors_never_point_past_the_input() {
    let inputs: [&[u8]; 6] = [
        b"\xff\xfe",
        b"INVITE",
        b"INVITE sip:a SIP/2.0\r\n:\r\n\r\n",
        b"SIP/2.0",
        b"\n\n\nX Y SIP/2.0\n \n\n",
        b"A b SIP/2.0\r\nX: \r\n \r\n",
    ];
    for i in inputs {
        if let Err(e) = Message::parse(i) {
            assert!(e.offset <= i.len());
        }
    }
}

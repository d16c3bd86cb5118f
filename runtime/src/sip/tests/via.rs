//! RFC 3261 §20.42 / §25.1 `Via`, `via-parm`, `sent-by`, `via-params`.

use super::{INVITE, crlf};
use crate::sip::{ErrorKind, HeaderName, Message, Via};

#[test]
fn invite_vias() {
    let m = Message::parse(INVITE).unwrap();
    let top = m.via_top().unwrap();
    assert_eq!(top.protocol, b"SIP");
    assert_eq!(top.version, b"2.0");
    assert_eq!(top.transport, b"UDP");
    assert_eq!(top.host, b"pc33.atlanta.example.com");
    assert_eq!(top.port, Some(5060));
    assert_eq!(top.branch, Some(&b"z9hG4bK776asdhds"[..]));
    assert_eq!(top.rport, Some(None));
    assert!(top.has_rfc3261_branch());
    let all: Vec<Via<'_>> = m.vias().map(Result::unwrap).collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].received, Some(&b"192.0.2.10"[..]));
    assert_eq!(all[1].rport, None);
}

#[test]
fn params_and_ipv6() {
    let v = Via::parse(b"SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKx;rport=5062;received=2001:db8::7;ttl=16;maddr=224.2.0.1").unwrap();
    assert_eq!(v.transport, b"TLS");
    assert_eq!(v.host, b"[2001:db8::9]");
    assert_eq!(v.port, Some(5061));
    assert_eq!(v.rport, Some(Some(&b"5062"[..])));
    assert_eq!(v.received, Some(&b"2001:db8::7"[..]));
    assert_eq!(v.param(b"TTL"), Some(Some(&b"16"[..])));
    assert_eq!(v.param(b"maddr"), Some(Some(&b"224.2.0.1"[..])));
}

#[test]
fn rfc2543_branch_and_no_params() {
    let v = Via::parse(b"SIP/2.0/UDP host").unwrap();
    assert_eq!(v.branch, None);
    assert!(!v.has_rfc3261_branch());
    let v = Via::parse(b"SIP/2.0/UDP host;branch=1234").unwrap();
    assert!(!v.has_rfc3261_branch());
}

#[test]
fn malformed_vias() {
    for bad in [
        &b""[..],
        b"SIP/2.0 host",
        b"SIP/2.0/UDPhost",
        b"SIP/2.0/UDP ",
        b"SIP/2.0/UDP host:99999",
        b"SIP/2.0/UDP host:",
        b"SIP/2.0/UDP host junk",
        b"SIP/2.0/UDP host;branch",
        b"SIP/2.0/UDP host;received",
        b"SIP/2.0/UDP [::1",
    ] {
        assert!(
            Via::parse(bad).is_none(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn missing_and_bad_via_in_message() {
    let b = crlf("OPTIONS sip:h SIP/2.0\nCall-ID: x\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(
        m.via_top().unwrap_err().kind,
        ErrorKind::MissingHeader(HeaderName::Via)
    );
    let b = crlf("OPTIONS sip:h SIP/2.0\nVia: garbage\n\n");
    let m = Message::parse(&b).unwrap();
    let e = m.via_top().unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadHeaderValue(HeaderName::Via));
    assert_eq!(&b[e.offset..e.offset + 7], b"garbage");
}

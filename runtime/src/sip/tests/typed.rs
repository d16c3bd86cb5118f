//! RFC 3261 §20.16 `CSeq`, §20.8 `Call-ID`, §20.15 `Content-Type`,
//! §20.7/§20.28 `Authorization`/`Proxy-Authorization` (`credentials`,
//! `digest-response`).

use super::{INVITE, REGISTER, crlf};
use crate::sip::{CSeq, ContentType, Credentials, ErrorKind, HeaderName, Message, Method};

#[test]
fn cseq() {
    let c = CSeq::parse(b"314159 INVITE").unwrap();
    assert_eq!(c.seq, 314159);
    assert_eq!(c.method, Method::Invite);
    let c = CSeq::parse(b" 1\t  FOO ").unwrap();
    assert_eq!(c.method, Method::Other(b"FOO"));
    for bad in [
        &b""[..],
        b"INVITE",
        b"1",
        b"1INVITE",
        b"x INVITE",
        b"99999999999 INVITE",
        b"1 IN VITE",
    ] {
        assert!(
            CSeq::parse(bad).is_none(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let m = Message::parse(INVITE).unwrap();
    assert_eq!(m.cseq().unwrap().seq, 314159);
}

#[test]
fn call_id() {
    let m = Message::parse(INVITE).unwrap();
    assert_eq!(
        m.call_id().unwrap(),
        b"a84b4c76e66710@pc33.atlanta.example.com"
    );
    let b = crlf("OPTIONS sip:h SIP/2.0\nCall-ID: two words\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(
        m.call_id().unwrap_err().kind,
        ErrorKind::BadHeaderValue(HeaderName::CallId)
    );
    let b = crlf("OPTIONS sip:h SIP/2.0\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(
        m.call_id().unwrap_err().kind,
        ErrorKind::MissingHeader(HeaderName::CallId)
    );
}

#[test]
fn content_type() {
    let c = ContentType::parse(b"multipart/mixed ; boundary=\"b; 1\"").unwrap();
    assert!(c.is(b"multipart", b"MIXED"));
    assert_eq!(c.params.get(b"boundary"), Some(Some(&b"\"b; 1\""[..])));
    assert!(ContentType::parse(b"application").is_none());
    assert!(ContentType::parse(b"application/").is_none());
    let m = Message::parse(INVITE).unwrap();
    assert!(
        m.content_type()
            .unwrap()
            .unwrap()
            .is(b"application", b"sdp")
    );
}

#[test]
fn digest_credentials() {
    let m = Message::parse(REGISTER).unwrap();
    let c = m.authorization().unwrap().unwrap();
    assert!(c.is_digest());
    assert_eq!(c.param(b"username"), Some(&b"bob"[..]));
    assert_eq!(c.param(b"REALM"), Some(&b"biloxi.example.com"[..]));
    assert_eq!(c.param(b"uri"), Some(&b"sip:biloxi.example.com"[..]));
    assert_eq!(c.param(b"algorithm"), Some(&b"MD5"[..]));
    assert_eq!(c.param(b"qop"), None);
    assert_eq!(m.proxy_authorization().unwrap(), None);
}

#[test]
fn credentials_with_commas_in_quotes() {
    let c = Credentials::parse(
        br#"Digest username="a,b", realm="r", nonce="n", uri="sip:x;a=1,b", response="r""#,
    )
    .unwrap();
    assert_eq!(c.param(b"username"), Some(&b"a,b"[..]));
    assert_eq!(c.param(b"uri"), Some(&b"sip:x;a=1,b"[..]));
    assert!(Credentials::parse(b"").is_none());
    assert!(Credentials::parse(b"Digest username").is_none());
    assert!(Credentials::parse(br#"Digest username="open"#).is_none());
}

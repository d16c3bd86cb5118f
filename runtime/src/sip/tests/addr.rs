//! RFC 3261 §20.10 / §25.1 `name-addr`, `addr-spec`, `from-spec`,
//! `to-param`, `contact-param` (incl. `*`), `rec-route`, `route`, Path
//! (RFC 3327).

use super::{INVITE, REGISTER, crlf};
use crate::sip::{HeaderName, Message, NameAddr, Scheme};

#[test]
fn invite_from_to_contact() {
    let m = Message::parse(INVITE).unwrap();
    let f = m.from().unwrap();
    assert_eq!(f.display, Some(&b"\"Alice\""[..]));
    assert_eq!(f.display_unquoted(), Some(&b"Alice"[..]));
    assert_eq!(f.uri_raw, b"sip:alice@atlanta.example.com");
    assert_eq!(f.tag, Some(&b"1928301774"[..]));
    assert!(f.bracketed);
    let t = m.to().unwrap();
    assert_eq!(t.display, Some(&b"Bob"[..]));
    assert_eq!(t.tag, None);
    assert_eq!(t.uri().unwrap().user, Some(&b"bob"[..]));
    let c: Vec<NameAddr<'_>> = m.contacts().map(Result::unwrap).collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].uri().unwrap().port, Some(5060));
    assert!(!m.contact_is_star());
    let rr: Vec<NameAddr<'_>> = m.record_routes().map(Result::unwrap).collect();
    assert!(rr[0].uri().unwrap().is_loose_route());
    let r = m.routes().next().unwrap().unwrap();
    assert_eq!(r.uri().unwrap().host, b"proxy.biloxi.example.com");
}

#[test]
fn addr_spec_params_are_header_params() {
    let a = NameAddr::parse(b"sip:alice@atlanta.com;tag=88sja8x").unwrap();
    assert!(!a.bracketed);
    assert_eq!(a.uri_raw, b"sip:alice@atlanta.com");
    assert_eq!(a.tag, Some(&b"88sja8x"[..]));
}

#[test]
fn quoted_display_with_specials() {
    let a = NameAddr::parse(
        br#""Mr. \"Watson\" <x>, Jr" <sips:watson@bell.com;transport=tls> ;tag = abc ;foo"#,
    )
    .unwrap();
    assert_eq!(
        a.display_unquoted(),
        Some(&br#"Mr. \"Watson\" <x>, Jr"#[..])
    );
    assert_eq!(a.uri().unwrap().scheme, Scheme::Sips);
    assert_eq!(a.tag, Some(&b"abc"[..]));
    assert_eq!(a.param(b"foo"), Some(None));
}

#[test]
fn contact_params_and_star() {
    let m = Message::parse(REGISTER).unwrap();
    let c = m.contacts().next().unwrap().unwrap();
    assert_eq!(c.expires(), Some(7200));
    let b = crlf("REGISTER sip:h SIP/2.0\nContact: *\nExpires: 0\n\n");
    let m = Message::parse(&b).unwrap();
    assert!(m.contact_is_star());
    let b = crlf(
        "REGISTER sip:h SIP/2.0\nm: <sip:a@1.2.3.4>;q=0.7;expires=60, sip:b@5.6.7.8;q=0.1\n\n",
    );
    let m = Message::parse(&b).unwrap();
    let cs: Vec<NameAddr<'_>> = m.contacts().map(Result::unwrap).collect();
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0].q(), Some(&b"0.7"[..]));
    assert_eq!(cs[0].expires(), Some(60));
    assert_eq!(cs[1].uri_raw, b"sip:b@5.6.7.8");
    assert_eq!(cs[1].q(), Some(&b"0.1"[..]));
}

#[test]
fn path_list() {
    let b = crlf(
        "REGISTER sip:h SIP/2.0\nPath: <sip:P3.EXAMPLEHOME.COM;lr>,<sip:P1.EXAMPLEVISITED.COM;lr>\n\n",
    );
    let m = Message::parse(&b).unwrap();
    let hosts: Vec<Vec<u8>> = m
        .paths()
        .map(|p| p.unwrap().uri().unwrap().host.to_vec())
        .collect();
    assert_eq!(
        hosts,
        vec![
            b"P3.EXAMPLEHOME.COM".to_vec(),
            b"P1.EXAMPLEVISITED.COM".to_vec()
        ]
    );
}

#[test]
fn malformed_name_addrs() {
    for bad in [
        &b""[..],
        b"<sip:a@b",
        b"\"unterminated <sip:a@b>",
        b"\"x\" sip:a@b",
        b"<sip:a@b> junk",
        b"<sip:a@b>;tag",
        b"<sip:a@b>;tag=",
        b"Bad<Name <sip:a@b>",
        b"<>",
    ] {
        assert!(
            NameAddr::parse(bad).is_none(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let b = crlf("OPTIONS sip:h SIP/2.0\nFrom: <sip:a@b\n\n");
    let m = Message::parse(&b).unwrap();
    assert_eq!(
        m.from().unwrap_err().kind,
        crate::sip::ErrorKind::BadHeaderValue(HeaderName::From)
    );
}

//! RFC 3261 §19.1 / §25.1 `SIP-URI`, `SIPS-URI`; RFC 3966 `tel` URIs.

use crate::sip::syntax::unescape;
use crate::sip::{ErrorKind, Scheme, Uri};

fn p(s: &str) -> Uri<'_> {
    Uri::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn full_sip_uri() {
    let u =
        p("sip:alice:secretword@atlanta.com;transport=tcp;lr?subject=project%20x&priority=urgent");
    assert_eq!(u.scheme, Scheme::Sip);
    assert_eq!(u.user, Some(&b"alice"[..]));
    assert_eq!(u.password, Some(&b"secretword"[..]));
    assert_eq!(u.host, b"atlanta.com");
    assert_eq!(u.port, None);
    assert_eq!(u.transport(), Some(&b"tcp"[..]));
    assert!(u.is_loose_route());
    assert_eq!(u.headers, b"subject=project%20x&priority=urgent");
}

#[test]
fn host_only_and_port() {
    let u = p("sips:biloxi.example.com:5061");
    assert_eq!(u.scheme, Scheme::Sips);
    assert_eq!(u.user, None);
    assert_eq!(u.host, b"biloxi.example.com");
    assert_eq!(u.port, Some(5061));
    assert_eq!(u.port_raw, Some(&b"5061"[..]));
}

#[test]
fn dotted_user_is_not_a_host() {
    // rsip 0.4 gets this wrong (issue #50).
    let u = p("sip:first.last@example.com");
    assert_eq!(u.user, Some(&b"first.last"[..]));
    assert_eq!(u.host, b"example.com");
}

#[test]
fn ipv6_reference() {
    let u = p("sip:alice@[2001:db8::1]:5070;maddr=[2001:db8::2]");
    assert_eq!(u.host, b"[2001:db8::1]");
    assert_eq!(u.host_unbracketed(), b"2001:db8::1");
    assert_eq!(u.port, Some(5070));
    assert_eq!(u.param(b"maddr"), Some(Some(&b"[2001:db8::2]"[..])));
    assert!(Uri::parse(b"sip:[2001:db8::1").is_err());
    assert!(Uri::parse(b"sip:[zz::1]").is_err());
}

#[test]
fn ipv4_and_telephone_user() {
    let u = p("sip:+1-212-555-1212:1234@gateway.com;user=phone");
    assert_eq!(u.user, Some(&b"+1-212-555-1212"[..]));
    assert_eq!(u.password, Some(&b"1234"[..]));
    assert_eq!(u.param(b"user"), Some(Some(&b"phone"[..])));
    let u = p("sip:alice@192.0.2.4");
    assert_eq!(u.host, b"192.0.2.4");
    let u = p("sip:+358-555-1234567;postd=pp22@foo.com;user=phone");
    assert_eq!(u.user, Some(&b"+358-555-1234567;postd=pp22"[..]));
    assert_eq!(u.host, b"foo.com");
}

#[test]
fn escapes() {
    let u = p("sip:sips%3Auser%40example.com@example.net");
    assert_eq!(u.user, Some(&b"sips%3Auser%40example.com"[..]));
    assert_eq!(&*unescape(u.user.unwrap()), b"sips:user@example.com");
    assert_eq!(&*unescape(b"plain"), b"plain");
    // Kamailio routes a user part with a broken escape (tests/malformed,
    // `sip:b%ZZb@...` answered 404 like any unknown user); so do we.
    assert_eq!(p("sip:bad%4@example.net").user, Some(&b"bad%4"[..]));
    assert_eq!(p("sip:bad%zz@example.net").user, Some(&b"bad%zz"[..]));
    // Headers still need valid escapes.
    assert!(Uri::parse(b"sip:example.net?h=%zz").is_err());
}

#[test]
fn headers_may_hold_at_sign() {
    let u = p("sip:host.com?to=alice@x");
    assert_eq!(u.user, None);
    assert_eq!(u.host, b"host.com");
    assert_eq!(u.headers, b"to=alice@x");
}

#[test]
fn tel_uri() {
    let u = p("tel:+1-201-555-0123;phone-context=example.com");
    assert_eq!(u.scheme, Scheme::Tel);
    assert_eq!(u.user, Some(&b"+1-201-555-0123"[..]));
    assert_eq!(u.host, b"");
    assert_eq!(u.param(b"phone-context"), Some(Some(&b"example.com"[..])));
    assert!(Uri::parse(b"tel:").is_err());
    assert!(Uri::parse(b"tel:abc xyz").is_err());
}

#[test]
fn case_insensitive_scheme() {
    assert_eq!(p("SIP:a@b").scheme, Scheme::Sip);
    assert_eq!(p("Sips:a@b").scheme, Scheme::Sips);
}

#[test]
fn malformed_uris() {
    for bad in [
        "",
        "sip",
        "http://x",
        "sip:",
        "sip:@host",
        "sip:a@",
        "sip:host:",
        "sip:host:99999",
        "sip:host:12x",
        "sip:ho st",
        "sip:a@b;par am",
        "sip:host;x=1?h=a b",
    ] {
        let e = Uri::parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadUri, "{bad}");
        assert!(e.offset <= bad.len(), "{bad}");
    }
}

#[test]
fn params_iterate_in_order() {
    let u = p("sip:h;a=1;B;c=x:y");
    let got: Vec<(&[u8], Option<&[u8]>)> = u.params.iter().map(|p| (p.name, p.value)).collect();
    assert_eq!(
        got,
        vec![
            (&b"a"[..], Some(&b"1"[..])),
            (b"B", None),
            (b"c", Some(b"x:y"))
        ]
    );
    assert_eq!(u.param(b"b"), Some(None));
}

use super::*;

/// Captured from Kamailio 5.6.3 (`restore_passwd` "s3cr3t",
/// `uac_replace_from("sip:someone.else@example.net")` on a From of
/// `sip:alice@example.com`): the Record-Route's `vsf` value.
const KAMAILIO_VSF: &[u8] = b"czNjciF3dzVpXDMidzJgexY/aD1jAl8RXV0GBg--";

#[test]
fn the_parameter_is_kamailios() {
    let v = rr_value(
        b"sip:alice@example.com",
        b"sip:someone.else@example.net",
        b"s3cr3t",
    );
    assert_eq!(v.as_deref(), Some(KAMAILIO_VSF));
}

#[test]
fn the_parameter_gives_either_uri_from_the_other() {
    // Downstream the From holds the original: the new one comes back.
    assert_eq!(
        restored_uri(KAMAILIO_VSF, b"sip:alice@example.com", b"s3cr3t").as_deref(),
        Some(&b"sip:someone.else@example.net"[..])
    );
    // Upstream the To holds the new one: the original comes back.
    assert_eq!(
        restored_uri(KAMAILIO_VSF, b"sip:someone.else@example.net", b"s3cr3t").as_deref(),
        Some(&b"sip:alice@example.com"[..])
    );
    // A wrong password makes unprintable bytes: nothing restored.
    assert_eq!(
        restored_uri(KAMAILIO_VSF, b"sip:alice@example.com", b"x"),
        None
    );
    // A URI longer than the decoded value: nothing restored.
    assert_eq!(restored_uri(KAMAILIO_VSF, &[b'a'; 40], b"s3cr3t"), None);
}

#[test]
fn encoding_pads_with_dashes_and_decodes_back() {
    for s in [&b"a"[..], b"ab", b"abc", b"abcd", b"sip:x@y"] {
        let e = encode(s);
        assert_eq!(e.len(), s.len().div_ceil(3) * 4);
        assert_eq!(
            decode(&e).as_deref(),
            Some(s),
            "{}",
            String::from_utf8_lossy(&e)
        );
    }
    assert_eq!(encode(b"a"), b"YQ--");
    assert_eq!(decode(b""), None);
    assert_eq!(decode(b"Y*--"), None);
}

#[test]
fn route_param_follows_rr() {
    let p = b"lr;ftag=a1;vsf=abc--;vst='q;x'";
    assert_eq!(route_param(p, b"vsf"), Some(&b"abc--"[..]));
    assert_eq!(route_param(p, b"vst"), Some(&b"q;x"[..]));
    assert_eq!(route_param(p, b"ftag"), Some(&b"a1"[..]));
    assert_eq!(route_param(p, b"VSF"), None);
    assert_eq!(route_param(b"lr;vsfx=1", b"vsf"), None);
    assert_eq!(route_param(b"lr;vsf;x=1", b"vsf"), Some(&b""[..]));
}

#[test]
fn credentials_parse_as_kamailio() {
    let c = parse_credential(b" alice : example.com :secret ").expect("parsed");
    assert_eq!(
        (c.user.as_slice(), c.realm.as_slice(), c.passwd.as_slice()),
        (&b"alice"[..], &b"example.com"[..], &b"secret"[..])
    );
    assert_eq!(parse_credential(b"alice:example.com"), None);
    assert_eq!(parse_credential(b"alice:example.com:pw extra"), None);
    assert_eq!(parse_credential(b":example.com:pw"), None);
}

#[test]
fn parameters() {
    let mut p = ModParams::new();
    p.push(
        M,
        "restore_mode",
        crate::engine::params::ParamValue::Str("Manual".into()),
    );
    p.push(
        M,
        "credential",
        crate::engine::params::ParamValue::Str("a:r:1".into()),
    );
    p.push(
        M,
        "credential",
        crate::engine::params::ParamValue::Str("b:r:2".into()),
    );
    let u = Uac::from_params(&p).expect("valid");
    assert_eq!(u.restore_mode, RestoreMode::Manual);
    // The last credential is found first, as in Kamailio's list.
    assert_eq!(u.credentials[0].user, b"b");
    let mut p = ModParams::new();
    p.push(
        M,
        "restore_mode",
        crate::engine::params::ParamValue::Str("sometimes".into()),
    );
    assert!(Uac::from_params(&p).is_err());
    let mut p = ModParams::new();
    p.push(
        M,
        "rr_to_store_param",
        crate::engine::params::ParamValue::Str(String::new()),
    );
    assert!(Uac::from_params(&p).is_err());
    let mut p = ModParams::new();
    p.push(
        M,
        "credential",
        crate::engine::params::ParamValue::Str("bad".into()),
    );
    assert!(Uac::from_params(&p).is_err());
    assert!(Uac::default().start(true, false).is_err());
    assert!(Uac::default().start(false, true).is_err());
    assert!(Uac::default().start(true, true).is_ok());
}

#[test]
fn challenges_parse_as_kamailio() {
    let c = parse_challenge(
        b"Digest realm=\"example.com\", nonce=\"abc\", qop=\"auth,auth-int\", opaque=\"o1\", algorithm=MD5",
    )
    .expect("parsed");
    assert_eq!(c.realm, b"example.com");
    assert_eq!(c.nonce, b"abc");
    assert_eq!(c.opaque, b"o1");
    assert!(c.qop_auth);
    assert!(parse_challenge(b"Digest realm=\"r\"").is_none());
    assert!(parse_challenge(b"Basic realm=\"r\", nonce=\"n\"").is_none());
    assert!(parse_challenge(b"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256").is_none());
}

#[test]
fn the_authorization_is_rfc2617s() {
    // RFC 2617's example credentials and challenge, with Kamailio's
    // fixed nc and its cnonce (the core hash of the nonce).
    let crd = Credential {
        user: b"Mufasa".to_vec(),
        realm: b"testrealm@host.com".to_vec(),
        passwd: b"Circle Of Life".to_vec(),
    };
    let ch = Challenge {
        realm: b"testrealm@host.com",
        nonce: b"dcd98b7102dd2f0e8b11d0f600bfb0c093",
        opaque: b"5ccc069c403ebaf9f0171e9517f40e41",
        qop: b"",
        qop_auth: false,
    };
    let (name, v) = authorization(407, b"GET", b"/dir/index.html", &crd, false, &ch);
    assert_eq!(name, "Proxy-Authorization");
    let v = String::from_utf8(v).expect("text");
    // Without qop: MD5(HA1:nonce:HA2).
    let ha1 = md5_hex(&[b"Mufasa:testrealm@host.com:Circle Of Life"]);
    let ha2 = md5_hex(&[b"GET:/dir/index.html"]);
    let want = md5_hex(&[&ha1, b":dcd98b7102dd2f0e8b11d0f600bfb0c093:", &ha2]);
    assert_eq!(
        v,
        format!(
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", response=\"{}\", algorithm=MD5",
            String::from_utf8_lossy(&want)
        )
    );
}

#[test]
fn an_ha1_password_gives_the_same_answer() {
    let crd = Credential {
        user: b"u".to_vec(),
        realm: b"r".to_vec(),
        passwd: b"pw".to_vec(),
    };
    let ha1 = Credential {
        passwd: md5_hex(&[b"u:r:pw"]),
        ..crd.clone()
    };
    let ch = Challenge {
        realm: b"r",
        nonce: b"n",
        qop: b"auth",
        qop_auth: true,
        ..Challenge::default()
    };
    let a = authorization(401, b"INVITE", b"sip:x@y", &crd, false, &ch);
    let b = authorization(401, b"INVITE", b"sip:x@y", &ha1, true, &ch);
    assert_eq!(a, b);
    assert_eq!(a.0, "Authorization");
    // The plain password taken as an HA1 is another answer.
    assert_ne!(
        a,
        authorization(401, b"INVITE", b"sip:x@y", &crd, true, &ch)
    );
}

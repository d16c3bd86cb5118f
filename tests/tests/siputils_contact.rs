//! siputils' URI and Contact rewriting, differential: the requests of
//! `tests/siputils/contact.cfg` (which runs what `X-Op` names, writes the
//! return codes to `X-Rc`, what it found to `X-Got`, and sends the edited
//! request back to the client) to `kamailio -f`, to the compiled proxy and
//! to the interpreter; ours compared with Kamailio's byte for byte but for
//! the proxy's own Via (its branch is each proxy's hash) and the client's
//! port, and Kamailio's checked for what the cfg means.

use std::path::{Path, PathBuf};

use cfgc_test_support::udp_exchange;
use runtime::modules::auth::digest::Algorithm;
use tests::digest::{Answer, param};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("siputils/contact.cfg")
}

/// base64url (unpadded) of `sip:alice@192.0.2.1:5070;transport=tcp`.
const ENC_ALICE: &str = "c2lwOmFsaWNlQDE5Mi4wLjIuMTo1MDcwO3RyYW5zcG9ydD10Y3A";
/// base64url (unpadded) of `sip:bob@192.0.2.2`.
const ENC_BOB: &str = "c2lwOmJvYkAxOTIuMC4yLjI";

/// (case, X-Op, R-URI, extra headers)
fn cases() -> Vec<(&'static str, &'static str, String, String)> {
    let plain = "sip:bob@127.0.0.1".to_string();
    vec![
        ("tel2sip", "tel2sip", plain.clone(), String::new()),
        (
            "gruu",
            "gruu",
            "sip:bob@127.0.0.1;gr=urn:uuid:f81d4fae".into(),
            String::new(),
        ),
        ("gruu-none", "gruu", plain.clone(), String::new()),
        (
            "supported",
            "supported",
            plain.clone(),
            "Supported: timer, 100rel\r\nk: path,pathx\r\nSupported: eventlist2\r\n".into(),
        ),
        ("supported-none", "supported", plain.clone(), String::new()),
        ("is-user-none", "is-user", plain.clone(), String::new()),
        ("is-user-auth", "is-user", plain.clone(), String::new()),
        (
            "param-encode",
            "param-encode",
            plain.clone(),
            "Contact: <sip:alice@192.0.2.1:5070;transport=tcp>;expires=60, sip:bob@192.0.2.2;q=0.5\r\n\
Contact: \"Carol\" <sip:carol@192.0.2.3>\r\n"
                .into(),
        ),
        (
            "param-decode",
            "param-decode",
            format!("sip:proxy.example.com;kcp={ENC_BOB};lr"),
            format!(
                "Contact: <sip:proxy.example.com;kcp={ENC_ALICE}>;expires=60\r\n\
Contact: <sip:proxy.example.com;x=1;KCP={ENC_BOB}>, <sip:plain@192.0.2.9>\r\n"
            ),
        ),
        (
            "param-decode-bad",
            "param-decode",
            "sip:proxy.example.com;kcp=a+b/".into(),
            "Contact: <sip:proxy.example.com;kcp=%%%>\r\n".into(),
        ),
        (
            "param-rm",
            "param-rm",
            plain.clone(),
            "Contact: <sip:alice@192.0.2.1;kcp=abc;ob>, <sip:x@192.0.2.4;KCP>\r\n\
Contact: <sip:z@192.0.2.5;a=1;kcp=q;b>;expires=5\r\n"
                .into(),
        ),
        (
            "encode-contact",
            "encode-contact",
            plain.clone(),
            "Contact: <sip:alice:pw@192.0.2.1:5070;transport=tcp;ob>;expires=60, <sip:192.0.2.7>\r\n\
Contact: <sip:second@192.0.2.8>\r\n"
                .into(),
        ),
        (
            "decode-contact",
            "decode-contact",
            "sip:enc#alice#pw#192.0.2.1#5070#tcp@203.0.113.9;lr".into(),
            "Contact: <sip:enc#bob##192.0.2.2##@203.0.113.9;ob>;expires=60\r\n".into(),
        ),
        (
            "decode-contact-bad",
            "decode-contact",
            "sip:enc#alice@203.0.113.9".into(),
            "Contact: <sip:enc#a#b#c#d#e#f@203.0.113.9>\r\n".into(),
        ),
        ("no-contact", "no-contact", plain.clone(), String::new()),
    ]
}

fn request(
    case: &str,
    op: &str,
    ruri: &str,
    extra: &str,
    step: &str,
    local: std::net::SocketAddr,
) -> String {
    format!(
        "INVITE {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-sc-{case}-{step};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=sc1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: siputils-contact-{case}@test\r\n\
CSeq: 1 INVITE\r\n\
X-Op: {op}\r\n\
{extra}Content-Length: 0\r\n\r\n"
    )
}

/// What each case's request comes back as, the proxy's Via line dropped
/// and client ports written `PORT`.
fn exchanged(port: u16) -> Vec<String> {
    let ports = regex::Regex::new(r"(127\.0\.0\.1:|rport=)\d+").expect("regex");
    cases()
        .iter()
        .map(|(case, op, ruri, extra)| {
            let mut extra = extra.clone();
            if *case == "is-user-auth" {
                // A challenge first, then alice's credentials for its nonce.
                let r = udp_exchange(port, |local| {
                    request(case, op, ruri, "X-Challenge: 1\r\n", "1", local)
                })
                .unwrap_or_default();
                let nonce = r
                    .lines()
                    .find(|l| l.starts_with("WWW-Authenticate:"))
                    .and_then(|h| param(h, "nonce"))
                    .unwrap_or_default();
                let a = Answer {
                    alg: Algorithm::Md5,
                    header: "Authorization",
                    user: "alice",
                    realm: "test.example",
                    password: "secret",
                    nonce: &nonce,
                    uri: ruri.clone(),
                    method: "INVITE",
                    qop: None,
                };
                extra = format!("{}\r\n", a.header());
            }
            let a = udp_exchange(port, |local| request(case, op, ruri, &extra, "2", local))
                .unwrap_or_else(|| "timeout".into());
            let mut out = String::new();
            let mut first_via = true;
            for l in a.split_inclusive("\r\n") {
                if l.starts_with("Via: ") && first_via {
                    first_via = false;
                    continue;
                }
                // The nonce and response are each proxy's.
                if l.starts_with("Authorization: ") {
                    out.push_str("Authorization: <alice's>\r\n");
                    continue;
                }
                out.push_str(l);
            }
            format!("{case}:\n{}", ports.replace_all(&out, "${1}PORT"))
        })
        .collect()
}

#[test]
fn uri_and_contact_rewriting_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "siputils-contact", &interp);
        let got = exchanged(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for l in theirs {
        eprintln!("{l:?}");
    }
    for (who, got) in &all[1..] {
        assert_eq!(got.len(), theirs.len());
        for (t, o) in theirs.iter().zip(got) {
            assert_eq!(o, t, "{who} answers differently");
        }
    }
    // What the cfg means, in Kamailio's answers.
    let find = |case: &str| {
        theirs
            .iter()
            .find(|l| l.starts_with(&format!("{case}:\n")))
            .expect("case")
    };
    assert!(find("tel2sip").contains(
        // `$var(b)`: tel2sip leaves it alone for a sip: URI, so it reads 0.
        "X-Got: sip:+12125551234;phone-context=x-y.example.com@Example.COM;user=phone | 0\r\n"
    ));
    assert!(find("supported").contains("X-Rc: 1 1 1 -1 -1 -1\r\n"));
    assert!(find("is-user-none").contains("X-Rc: -1 -1 -1\r\n"));
    assert!(find("is-user-auth").contains("X-Rc: auth 1 1 -1 -1\r\n"));
    assert!(
        find("param-decode")
            .contains("Contact: <sip:alice@192.0.2.1:5070;transport=tcp>;expires=60\r\n")
    );
    assert!(find("tel2sip").starts_with("tel2sip:\nINVITE sip:+49301234@127.0.0.1;user=phone "));
    assert!(find("param-rm").contains("Contact: <sip:z@192.0.2.5;a=1;b>;expires=5\r\n"));
    assert!(find("decode-contact-bad").contains("X-Rc: -26 -24\r\n"));
}

//! siputils' `options_reply`, differential: the same requests to
//! `kamailio -f`, the compiled proxy and the interpreter
//! (`tests/siputils/kamailio.cfg`), every line of the replies compared.

use std::path::{Path, PathBuf};

use cfgc_test_support::udp_exchange;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("siputils/kamailio.cfg")
}

/// (name, request line): an OPTIONS to the server, one to a user, an
/// INFO to the server.
const REQUESTS: &[(&str, &str, &str)] = &[
    ("server", "OPTIONS", "sip:127.0.0.1"),
    ("user", "OPTIONS", "sip:alice@127.0.0.1"),
    ("info", "INFO", "sip:127.0.0.1"),
];

fn answers(port: u16) -> Vec<String> {
    REQUESTS
        .iter()
        .map(|(name, method, ruri)| {
            let a = udp_exchange(port, |local| {
                format!(
                    "{method} {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-su-{name}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=su1\r\n\
To: <{ruri}>\r\n\
Call-ID: siputils-{name}@test\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
                )
            });
            let a = a.unwrap_or_else(|| "timeout".into());
            // The client's port is new on every run, and sl's To-tag
            // depends on the proxy's port.
            let a = regex::Regex::new(r"127\.0\.0\.1:\d+")
                .expect("regex")
                .replace_all(&a, "127.0.0.1:PORT")
                .into_owned();
            let a = regex::Regex::new(r";tag=[0-9a-f]{32}\.[0-9a-f]{8}")
                .expect("regex")
                .replace_all(&a, ";tag=SL-TAG")
                .into_owned();
            format!("{name}:\n{a}")
        })
        .collect()
}

#[test]
fn options_reply_answers_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "siputils-options", &interp);
        let got = answers(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for a in theirs {
        eprintln!("{a}");
    }
    assert!(theirs[0].contains("SIP/2.0 200 OK\r\n"), "{}", theirs[0]);
    assert!(
        theirs[0].contains("Accept: application/sdp, text/plain\r\n"),
        "{}",
        theirs[0]
    );
    assert!(
        theirs[1].contains("SIP/2.0 403 refused -1\r\n"),
        "{}",
        theirs[1]
    );
    assert!(
        theirs[2].contains("SIP/2.0 405 not options -1\r\n"),
        "{}",
        theirs[2]
    );
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} answers differently");
    }
}

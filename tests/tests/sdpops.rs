//! sdpops' SDP tests, differential: requests with different bodies to
//! `kamailio -f`, the compiled proxy and the interpreter
//! (`tests/sdpops/kamailio.cfg` answers every result in the reason).

use std::path::{Path, PathBuf};

use cfgc_test_support::udp_exchange;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sdpops/kamailio.cfg")
}

/// (name, Content-Type, body).
const BODIES: &[(&str, Option<&str>, &str)] = &[
    ("none", None, ""),
    (
        "audio",
        Some("application/sdp"),
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
    ),
    (
        "video-inactive",
        Some("application/SDP"),
        "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n\
m=audio 0 RTP/SAVP 18\r\nm=video 5000 RTP/SAVPF 96 97\r\na=inactive\r\n\
a=candidate:1 1 UDP 2130706431 192.0.2.1 5000 typ host\r\n",
    ),
    (
        "media-c-only",
        Some("application/sdp"),
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\na=sendonly\r\n",
    ),
    ("text", Some("text/plain"), "hello\r\n"),
    (
        "no-content-type",
        None,
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
    ),
];

fn answers(port: u16) -> Vec<String> {
    BODIES
        .iter()
        .map(|(name, ct, body)| {
            let ct = ct.map_or(String::new(), |c| format!("Content-Type: {c}\r\n"));
            let a = udp_exchange(port, |local| {
                format!(
                    "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-sdp-{name}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=s1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: sdpops-{name}@test\r\n\
CSeq: 1 INVITE\r\n\
{ct}Content-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            });
            // The INVITE gets sl's 200; the reason is what counts.
            let line = a.map_or_else(
                || "timeout".into(),
                |a| a.lines().next().unwrap_or("").to_string(),
            );
            format!("{name}: {line}")
        })
        .collect()
}

#[test]
fn sdp_tests_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "sdpops", &interp);
        let got = answers(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for l in theirs {
        eprintln!("{l}");
    }
    assert!(theirs.iter().all(|l| l.contains(" 200 sdp ")), "{theirs:?}");
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} answers differently");
    }
}

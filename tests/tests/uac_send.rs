//! uac's `uac_req_send()`, differential: `tests/uac_send/kamailio.cfg`
//! under `kamailio -f`, compiled and interpreted. Each MESSAGE of the
//! test asks the proxy to send a request built from `$uac_req(...)` to the
//! test's UAS socket, which answers 200, 404, a 401 challenge (answered by
//! the proxy with the credentials of `$uac_req(auser/apasswd)`) or
//! nothing (tm's 408 after the cfg's 2 s `fr_timer`). What the UAS
//! receives is compared byte for byte after naming the proxy's port and
//! hiding what is random or per-instance (Via branches, the From tag's
//! MD5 part of the proxy's address, generated Call-IDs); the proxy's
//! answers and the records of `event_route[uac:reply]` are compared as
//! they are; `event_route[tm:local-request]` marks and records each
//! request and drops one. Then tm's `t_uac_send()`, with given and missing From/To,
//! tags, Call-ID, CSeq, body, next hop and socket, the same way.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("uac_send/kamailio.cfg")
}

/// `text` with the proxy's and the UAS's ports named and the per-run
/// parts hidden: the From tag's MD5 (of the proxy's address) and its CRC
/// of the R-URI (which has the UAS's port), the digest response (of the
/// same URI), generated Call-IDs. The tag's CRC of a set Call-ID stays.
fn normalise(text: &str, pport: u16, uport: u16) -> String {
    let re = |p: &str| regex::Regex::new(p).expect("regex");
    let t = text
        .replace(&format!(":{pport}"), ":PPORT")
        .replace(&format!(":{uport}"), ":UPORT");
    let t = re(r#"response="[0-9a-f]{32}""#).replace_all(&t, "response=\"RESPONSE\"");
    let t = re(r"branch=z9hG4bK[^;\r\n]*").replace_all(&t, "branch=BRANCH");
    let generated = re(r"[0-9a-f]{16}-\d+@127\.0\.0\.1");
    let t = if generated.is_match(&t) {
        // A generated Call-ID: the tag's CRC of it differs too.
        let t = generated.replace_all(&t, "CALLID");
        re(r"tag=[0-9a-f]{32}-[0-9a-f]{8}")
            .replace_all(&t, "tag=MD5-CRC")
            .into_owned()
    } else {
        t.into_owned()
    };
    re(r"tag=[0-9a-f]{32}-([0-9a-f]{4})[0-9a-f]{4}")
        .replace_all(&t, "tag=MD5-${1}CRC")
        .into_owned()
}

/// One case: the MESSAGE's extra headers and body, and how the UAS
/// answers (`None`: it does not).
struct Case {
    name: &'static str,
    headers: &'static str,
    answer: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "ok",
            headers: "X-Clear: 1\r\nX-Method: OPTIONS\r\nX-Callid: uacsend-1@test\r\n",
            answer: Some("200 OK"),
        },
        Case {
            name: "nf",
            headers: "X-Method: MESSAGE\r\nX-Callid: uacsend-2@test\r\n",
            answer: Some("404 Not Found"),
        },
        Case {
            name: "auth",
            headers: "X-Method: MESSAGE\r\nX-Callid: uacsend-3@test\r\nX-Auth: 1\r\n",
            answer: Some("401 Unauthorized"),
        },
        Case {
            // The Call-ID of the last request is still set: kept.
            name: "kept",
            headers: "X-Method: NOTIFY\r\n",
            answer: Some("200 OK"),
        },
        Case {
            name: "gen",
            headers: "X-Clear: 1\r\nX-Method: OPTIONS\r\n",
            answer: Some("200 OK"),
        },
        Case {
            name: "long",
            headers: "X-Method: INFO\r\nX-Long: 1\r\n",
            answer: Some("200 OK"),
        },
        Case {
            name: "silent",
            headers: "X-Method: OPTIONS\r\nX-Callid: uacsend-4@test\r\n",
            answer: None,
        },
        Case {
            name: "empty",
            headers: "X-Method: OPTIONS\r\nX-Empty: 1\r\n",
            answer: None,
        },
    ]
}

fn session(pport: u16) -> Vec<String> {
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    let uas = UdpSocket::bind("127.0.0.1:0").expect("uas");
    let cport = client.local_addr().expect("addr").port();
    let uport = uas.local_addr().expect("addr").port();
    let mut lines = Vec::new();
    for (i, c) in cases().into_iter().enumerate() {
        let name = c.name;
        let msg = format!(
            "MESSAGE sip:proxy@127.0.0.1:{pport} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-us-{i}\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@127.0.0.1>;tag=t{i}\r\n\
To: <sip:proxy@127.0.0.1>\r\n\
Call-ID: case-{name}@test\r\n\
CSeq: 1 MESSAGE\r\n\
X-Target: sip:{name}@127.0.0.1:{uport}\r\n\
{}Content-Type: text/plain\r\n\
Content-Length: 5\r\n\r\nhello",
            c.headers
        );
        client
            .send_to(msg.as_bytes(), ("127.0.0.1", pport))
            .expect("send");
        let answer = tests::recv_text(&client, Duration::from_secs(3)).map(|(m, _)| m);
        lines.push(format!(
            "{name}: proxy answers {}",
            answer
                .as_deref()
                .and_then(|m| m.lines().next())
                .unwrap_or("nothing")
        ));
        // What reaches the UAS, and its answers; for the silent case,
        // every retransmission until tm gives up (2 s).
        let until = Instant::now() + Duration::from_millis(2600);
        let mut copies = 0;
        while let Some((req, from)) =
            tests::recv_text(&uas, until.saturating_duration_since(Instant::now()))
        {
            copies += 1;
            if copies == 1 || req.contains("Authorization:") {
                lines.push(format!("{name}: uas <<\n{}", normalise(&req, pport, uport)));
            }
            let Some(status) = c.answer else { continue };
            let status = if req.contains("Authorization:") {
                "200 OK"
            } else {
                status
            };
            let extra = if status.starts_with("401") {
                "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n0nce\"\r\n"
            } else {
                ""
            };
            uas.send_to(
                tests::uas_reply(&req, status, "uas1", extra).as_bytes(),
                from,
            )
            .expect("answer");
            if !status.starts_with("401") {
                break;
            }
        }
        if c.answer.is_none() {
            lines.push(format!("{name}: uas got {copies} copies"));
            // tm's 408 and its event after 2 s.
            std::thread::sleep(Duration::from_millis(600));
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    lines.extend(tus_session(&client, &uas, pport));
    let read = tests::options_status(pport, "read", "tester", "uacsend-read@test");
    lines.push(normalise(&read, pport, uport));
    lines
}

/// tm's `t_uac_send(method, ruri, nexthop, socket, headers, body)`: each
/// case's headers (the MESSAGE's body) and extra MESSAGE headers; the
/// UAS answers 200 to what it receives.
fn tus_session(client: &UdpSocket, uas: &UdpSocket, pport: u16) -> Vec<String> {
    let cport = client.local_addr().expect("addr").port();
    let uport = uas.local_addr().expect("addr").port();
    let cases: [(&str, &str, String); 10] = [
        (
            "bare",
            "From: <sip:k@x>\r\nTo: <sip:a@y>",
            "X-Method: OPTIONS\r\n".into(),
        ),
        (
            "tags",
            "From: \"K\" <sip:k@x>;tag=ft;x=1\r\nTo: B <sip:a@y>;tag=tt\r\nX-Via: !!\r\n",
            "X-Method: OPTIONS\r\n".into(),
        ),
        (
            "notype",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\n",
            "X-Method: MESSAGE\r\nX-Body: hi\r\n".into(),
        ),
        (
            "typed",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\nContent-Type: text/plain\r\n",
            "X-Method: MESSAGE\r\nX-Body: hi\r\n".into(),
        ),
        (
            "mismatch",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\nCSeq: 5 OPTIONS\r\n",
            "X-Method: MESSAGE\r\nX-Sock: .\r\n".into(),
        ),
        (
            "given",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\nCSeq: 5 MESSAGE\r\nCall-ID: tus-1@test\r\nMax-Forwards: 3\r\n",
            format!(
                "X-Method: MESSAGE\r\nX-Next: sip:127.0.0.1:{uport}\r\nX-Sock: udp:127.0.0.1:{pport}\r\n"
            ),
        ),
        (
            "dropped",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\nX-Drop-Me: 1\r\n",
            "X-Method: OPTIONS\r\n".into(),
        ),
        (
            "nofrom",
            "To: <sip:a@y>\r\n",
            "X-Method: OPTIONS\r\n".into(),
        ),
        (
            "badsock",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\n",
            "X-Method: OPTIONS\r\nX-Sock: udp:127.0.0.2:9\r\n".into(),
        ),
        (
            "baduri",
            "From: <sip:k@x>\r\nTo: <sip:a@y>\r\n",
            "X-Method: OPTIONS\r\nX-Target: nonsense\r\n".into(),
        ),
    ];
    let mut lines = Vec::new();
    for (i, (name, hdrs, extra)) in cases.iter().enumerate() {
        let target = if extra.contains("X-Target") {
            String::new()
        } else {
            format!("X-Target: sip:{name}@127.0.0.1:{uport}\r\n")
        };
        let msg = format!(
            "MESSAGE sip:proxy@127.0.0.1:{pport} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-tus-{i}\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@127.0.0.1>;tag=t{i}\r\n\
To: <sip:proxy@127.0.0.1>\r\n\
Call-ID: tus-{name}@test\r\n\
CSeq: 1 MESSAGE\r\n\
X-Tus: 1\r\n\
{target}{extra}Content-Length: {}\r\n\r\n{hdrs}",
            hdrs.len()
        );
        client
            .send_to(msg.as_bytes(), ("127.0.0.1", pport))
            .expect("send");
        let answer = tests::recv_text(client, Duration::from_secs(3)).map(|(m, _)| m);
        lines.push(format!(
            "tus {name}: proxy answers {}",
            answer
                .as_deref()
                .and_then(|m| m.lines().next())
                .unwrap_or("nothing")
        ));
        let got = tests::recv_text(uas, Duration::from_millis(400));
        match got {
            Some((req, from)) => {
                lines.push(format!(
                    "tus {name}: uas <<\n{}",
                    normalise(&req, pport, uport)
                ));
                uas.send_to(
                    tests::uas_reply(&req, "200 OK", "uas1", "").as_bytes(),
                    from,
                )
                .expect("answer");
            }
            None => lines.push(format!("tus {name}: uas got nothing")),
        }
    }
    lines
}

#[test]
fn uac_req_send_like_kamailio_compiled_and_interpreted() {
    let theirs = tests::kamailio_session(&cfg(), "uac_send", |port, _| session(port));
    // Kamailio's session is what the cfg means: every case but `empty`
    // sent; the challenge answered once; the silent target retransmitted
    // at 0, 0.5 and 1.5 s then given a 408 (event type 2).
    let all = theirs.join("\n");
    assert!(
        all.contains("empty: proxy answers SIP/2.0 500 not sent"),
        "{all}"
    );
    assert!(all.contains("silent: uas got 3 copies"), "{all}");
    assert!(
        all.contains("Authorization: Digest username=\"alice\""),
        "{all}"
    );
    assert!(all.contains("[408/2 p=case-silent@test"), "{all}");
    assert!(all.contains("[401/1 p=case-auth@test"), "{all}");
    for refused in ["notype", "mismatch", "nofrom", "badsock", "baduri"] {
        assert!(
            all.contains(&format!(
                "tus {refused}: proxy answers SIP/2.0 500 t_uac_send failed"
            )),
            "{refused}: {all}"
        );
    }
    for sent in ["bare", "tags", "typed", "given"] {
        assert!(
            all.contains(&format!("tus {sent}: proxy answers SIP/2.0 202 t_uac_send")),
            "{sent}: {all}"
        );
    }
    assert!(all.contains("X-Via: 127.0.0.1:PPORT"), "{all}");
    // event_route[tm:local-request] ran on each request sent, before it
    // was sent (its header is in it), and once for the dropped one, which
    // is not sent and yet not an error (Kamailio's t_uac turns E_DROP
    // into 0).
    assert!(all.contains("X-Local: OPTIONS\r\n"), "{all}");
    assert!(
        all.contains("[local OPTIONS du=sip:dropped@127.0.0.1:UPORT"),
        "{all}"
    );
    assert!(all.contains("tus dropped: uas got nothing"), "{all}");
    assert!(
        all.contains("tus dropped: proxy answers SIP/2.0 202 t_uac_send"),
        "{all}"
    );
    assert!(all.contains("From: <sip:k@x>;tag=ft\r\n"), "{all}");
    tests::ours_match(
        &cfg(),
        "uac_send",
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        &theirs,
        |port, _| session(port),
    );
}

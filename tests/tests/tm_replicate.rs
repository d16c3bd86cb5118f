//! tm's `t_replicate()`, differential: `tests/tm_replicate/kamailio.cfg`
//! under `kamailio -f`, compiled and interpreted. Each MESSAGE is answered
//! 202 statelessly and replicated to the test's backup socket, which
//! answers 200, 486, or nothing (tm retransmits until the cfg's 1.5 s
//! final-response timer). What the backup receives is compared byte for
//! byte (the ports named, the Via branches hidden), and the client
//! must get the 202 only: the backup's replies stop at the proxy.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tm_replicate/kamailio.cfg")
}

fn session(pport: u16) -> Vec<String> {
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    let backup = UdpSocket::bind("127.0.0.1:0").expect("backup");
    let cport = client.local_addr().expect("addr").port();
    let bport = backup.local_addr().expect("addr").port();
    let branch = regex::Regex::new(r"branch=z9hG4bK[^;\r\n]*").expect("regex");
    let mut lines = Vec::new();
    for (user, answer) in [
        ("ok", Some("200 OK")),
        ("busy", Some("486 Busy Here")),
        ("ruri", Some("200 OK")),
        ("silent", None),
    ] {
        let msg = format!(
            "MESSAGE sip:{user}@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-rep-{user}\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@example.com>;tag=t-{user}\r\n\
To: <sip:{user}@example.com>\r\n\
Call-ID: rep-{user}@test\r\n\
CSeq: 1 MESSAGE\r\n\
X-Dst: sip:127.0.0.1:{bport}\r\n\
Content-Type: text/plain\r\n\
Content-Length: 2\r\n\r\nhi"
        );
        client
            .send_to(msg.as_bytes(), ("127.0.0.1", pport))
            .expect("send");
        let until = Instant::now() + Duration::from_millis(2300);
        let mut copies = 0;
        while let Some((req, from)) =
            tests::recv_text(&backup, until.saturating_duration_since(Instant::now()))
        {
            copies += 1;
            if copies == 1 {
                let text = req
                    .replace(&format!(":{pport}"), ":PPORT")
                    .replace(&format!(":{cport}"), ":CPORT")
                    .replace(&format!(":{bport}"), ":BPORT");
                lines.push(format!(
                    "{user}: backup <<\n{}",
                    branch.replace_all(&text, "branch=X")
                ));
            }
            if let Some(status) = answer {
                backup
                    .send_to(tests::uas_reply(&req, status, "b1", "").as_bytes(), from)
                    .expect("answer");
                break;
            }
        }
        lines.push(format!("{user}: backup got {copies} copies"));
        // Everything the client gets: the 202 only.
        while let Some((m, _)) = tests::recv_text(&client, Duration::from_millis(400)) {
            lines.push(format!(
                "{user}: client << {}",
                m.lines().next().unwrap_or("")
            ));
        }
    }
    lines
}

#[test]
fn t_replicate_like_kamailio_compiled_and_interpreted() {
    let theirs = tests::kamailio_session(&cfg(), "tm_replicate", |port, _| session(port));
    let all = theirs.join("\n");
    // Kamailio's session is what the cfg means: a copy each time, with the
    // header the script added, the client answered 202 only, and the
    // silent backup's copy retransmitted (0, 0.5 s) until 1.5 s.
    for want in [
        "ok: client << SIP/2.0 202 Accepted\n",
        "busy: backup got 1 copies\nbusy: client << SIP/2.0 202 Accepted\nruri",
        "silent: backup got 2 copies\n",
        "X-Replica: 1\r\n",
    ] {
        assert!(all.contains(want), "{want}: {all}");
    }
    assert!(!all.contains("client << SIP/2.0 200"), "{all}");
    assert!(!all.contains("client << SIP/2.0 486"), "{all}");
    tests::ours_match(
        &cfg(),
        "tm_replicate",
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        &theirs,
        |port, _| session(port),
    );
}

//! tmx's `$T_req(pv)`, `$T_rpl(pv)` and `$T_inv(pv)`, differential:
//! `tests/tmx_pv/kamailio.cfg` under `kamailio -f`, compiled and
//! interpreted. Three INVITEs go through the proxy to the test's UAS: one
//! answered 180 then 486 (the reply routes read the request, the failure
//! route the 486), one CANCELled after its 180 (the CANCEL's request route
//! reads the INVITE), one never answered (the failure route's winning
//! reply is tm's 408: `$T_rpl` is `$null`). What the cfg recorded is
//! compared as Kamailio's and ours answer it.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tmx_pv/kamailio.cfg")
}

/// Waits for a request of `method` at the UAS (answering nothing else).
fn wait_for(uas: &UdpSocket, method: &str) -> Option<(String, std::net::SocketAddr)> {
    for _ in 0..10 {
        let (m, a) = tests::recv_text(uas, Duration::from_secs(3))?;
        if m.starts_with(&format!("{method} ")) {
            return Some((m, a));
        }
    }
    None
}

fn session(pport: u16) -> Vec<String> {
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    let uas = UdpSocket::bind("127.0.0.1:0").expect("uas");
    let cport = client.local_addr().expect("addr").port();
    let uport = uas.local_addr().expect("addr").port();
    let invite = |user: &str, method: &str| {
        format!(
            "{method} sip:{user}@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-tmx-{user}\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@example.com>;tag=t-{user}\r\n\
To: <sip:{user}@example.com>\r\n\
Call-ID: tmx-{user}@test\r\n\
CSeq: 1 {method}\r\n\
X-Req: req-{user}\r\n\
X-Dst: sip:127.0.0.1:{uport}\r\n\
Content-Length: 0\r\n\r\n"
        )
    };
    let proxy = ("127.0.0.1", pport);
    // busy: 180 then 486.
    client
        .send_to(invite("busy", "INVITE").as_bytes(), proxy)
        .expect("send");
    let (req, from) = wait_for(&uas, "INVITE").expect("INVITE relayed");
    uas.send_to(
        tests::uas_reply(&req, "180 Ringing", "uas1", "").as_bytes(),
        from,
    )
    .expect("180");
    std::thread::sleep(Duration::from_millis(200));
    uas.send_to(
        tests::uas_reply(&req, "486 Busy Here", "uas1", "X-Why: busy-now\r\n").as_bytes(),
        from,
    )
    .expect("486");
    wait_for(&uas, "ACK").expect("ACK of the 486");
    // cancel: 180, then the client's CANCEL.
    client
        .send_to(invite("cancel", "INVITE").as_bytes(), proxy)
        .expect("send");
    let (req, from) = wait_for(&uas, "INVITE").expect("INVITE relayed");
    uas.send_to(
        tests::uas_reply(&req, "180 Ringing", "uas1", "").as_bytes(),
        from,
    )
    .expect("180");
    std::thread::sleep(Duration::from_millis(200));
    client
        .send_to(invite("cancel", "CANCEL").as_bytes(), proxy)
        .expect("send");
    let (c, cfrom) = wait_for(&uas, "CANCEL").expect("CANCEL relayed");
    uas.send_to(tests::uas_reply(&c, "200 OK", "uas1", "").as_bytes(), cfrom)
        .expect("200 to CANCEL");
    uas.send_to(
        tests::uas_reply(&req, "487 Request Terminated", "uas1", "").as_bytes(),
        from,
    )
    .expect("487");
    wait_for(&uas, "ACK").expect("ACK of the 487");
    // silent: tm's 408 after 1 s.
    client
        .send_to(invite("silent", "INVITE").as_bytes(), proxy)
        .expect("send");
    wait_for(&uas, "INVITE").expect("INVITE relayed");
    std::thread::sleep(Duration::from_millis(1800));
    let read = tests::options_status(pport, "read", "tester", "tmx-read@test");
    let read = read.replace(&format!(":{uport}"), ":UPORT");
    read.split('[')
        .map(|s| s.trim_end().trim_end_matches(']').to_string())
        .collect()
}

#[test]
fn t_req_t_rpl_t_inv_like_kamailio_compiled_and_interpreted() {
    let theirs = tests::kamailio_session(&cfg(), "tmx_pv", |port, _| session(port));
    // Kamailio's record is what the cfg means: the request seen from the
    // reply routes, the 486 from the failure route, the INVITE from the
    // CANCEL's route, nothing where tmx reads nothing.
    let all = theirs.join("\n");
    for want in [
        "core 180 req=req-busy/INVITE/busy/127.0.0.1\n",
        "onreply 180 req=req-busy rpl=\n",
        "failure 486 rpl=486/Busy Here/busy-now/tmx-busy@test req=\n",
        "cancel inv=req-cancel/INVITE/tmx-cancel@test/127.0.0.1 req=\n",
        "core 487 req=req-cancel/INVITE/cancel/127.0.0.1\n",
        "failure 408 rpl=/// req=",
        "request busy req= rpl= inv=\n",
    ] {
        // (`+` with `$null` adds nothing.)
        assert!(all.contains(want), "{want}: {all}");
    }
    tests::ours_match(
        &cfg(),
        "tmx_pv",
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        &theirs,
        |port, _| session(port),
    );
}

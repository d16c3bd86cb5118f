//! tm's per-transaction timers and flags, differential: the requests of
//! `tests/tm_timers/kamailio.cfg` to `kamailio -f`, to the compiled proxy
//! and to the interpreter, each relayed to a socket of the test that
//! answers nothing (an INVITE gets a 180 first). What is compared: the
//! messages the client receives (status lines) and when the final 408
//! comes, within Kamailio's timer resolution (a tick is 1/16 s; both
//! proxies' timers run on a coarser wheel, so a margin of 450 ms).

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tm_timers/kamailio.cfg")
}

/// What the client saw: the status lines in order, and the time from the
/// request to the final reply (or to the 180 for `from_180`).
#[derive(Debug)]
struct Seen {
    statuses: Vec<String>,
    final_after: Option<Duration>,
    /// What the downstream side received first: the transport and the
    /// top Via's protocol.
    relayed: Option<String>,
}

/// The downstream socket: answers an INVITE with a 180 (as a UAS would,
/// To-tagged), nothing else; ACKs to the 408 are taken and ignored.
fn downstream(
    sock: &UdpSocket,
    tcp: &TcpListener,
    done: &AtomicBool,
    until: Instant,
    relayed: &Mutex<Option<String>>,
) {
    let mut buf = [0u8; 65536];
    let mut conns: Vec<TcpStream> = Vec::new();
    while Instant::now() < until && !done.load(Ordering::Relaxed) {
        // A TCP connection from the proxy: its first request is noted,
        // nothing is answered.
        if let Ok((c, _)) = tcp.accept() {
            c.set_read_timeout(Some(Duration::from_millis(300)))
                .expect("timeout");
            conns.push(c);
        }
        for c in &mut conns {
            if let Ok(n) = c.read(&mut buf)
                && n > 0
            {
                note(relayed, "tcp", &String::from_utf8_lossy(&buf[..n]));
            }
        }
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let req = String::from_utf8_lossy(&buf[..n]).into_owned();
        note(relayed, "udp", &req);
        if !req.starts_with("INVITE ") {
            continue;
        }
        let mut reply = String::from("SIP/2.0 180 Ringing\r\n");
        for l in req.lines() {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("via:")
                || lower.starts_with("from:")
                || lower.starts_with("call-id:")
                || lower.starts_with("cseq:")
            {
                reply.push_str(l);
                reply.push_str("\r\n");
            } else if lower.starts_with("to:") {
                reply.push_str(l);
                reply.push_str(";tag=uas1\r\n");
            }
        }
        reply.push_str("Content-Length: 0\r\n\r\n");
        sock.send_to(reply.as_bytes(), from).expect("send 180");
    }
}

/// Notes the first request relayed: `udp SIP/2.0/UDP` (transport, then
/// the top Via's protocol).
fn note(relayed: &Mutex<Option<String>>, transport: &str, req: &str) {
    let mut r = relayed.lock().expect("lock");
    if r.is_none() && !req.starts_with("SIP/2.0") && !req.starts_with("ACK ") {
        let via = req
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("via:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("")
            .to_string();
        *r = Some(format!("{transport} {via}"));
    }
}

fn ask(port: u16, down: &UdpSocket, tcp: &TcpListener, user: &str, method: &str) -> Seen {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("client");
    let local = sock.local_addr().expect("local");
    let msg = format!(
        "{method} sip:{user}@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-tm-{user}-{method};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@127.0.0.1>;tag=t1\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: tm-timers-{user}-{method}-{port}@test\r\n\
CSeq: 1 {method}\r\n\
Contact: <sip:tester@{local}>\r\n\
Content-Length: 0\r\n\r\n"
    );
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(6);
    let mut statuses = Vec::new();
    let mut final_after = None;
    let done = AtomicBool::new(false);
    let relayed = Mutex::new(None);
    std::thread::scope(|s| {
        s.spawn(|| downstream(down, tcp, &done, deadline, &relayed));
        sock.send_to(msg.as_bytes(), ("127.0.0.1", port))
            .expect("send");
        let mut buf = [0u8; 65536];
        while Instant::now() < deadline && final_after.is_none() {
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("timeout");
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            let line = text.lines().next().unwrap_or("").to_string();
            let code: u16 = line
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            if code >= 200 {
                final_after = Some(t0.elapsed());
            }
            statuses.push(line);
        }
        done.store(true, Ordering::Relaxed);
    });
    Seen {
        statuses,
        final_after,
        relayed: relayed.into_inner().expect("lock"),
    }
}

/// (user, method, how long until the final reply: the timer the cfg
/// chose).
const CASES: &[(&str, &str, Option<u64>)] = &[
    ("tiny", "OPTIONS", None),
    ("short", "OPTIONS", Some(700)),
    ("reset", "OPTIONS", Some(2000)),
    ("after", "OPTIONS", Some(700)),
    ("plain", "OPTIONS", Some(2000)),
    ("inv", "INVITE", Some(900)),
    ("inv100", "INVITE", Some(3000)),
    ("onreply", "INVITE", Some(600)),
    ("tcp", "OPTIONS", Some(2000)),
    ("udp0", "OPTIONS", Some(2000)),
    ("udp2", "OPTIONS", Some(2000)),
];

fn session(port: u16, down: &UdpSocket, tcp: &TcpListener) -> Vec<(String, Seen)> {
    CASES
        .iter()
        .map(|(user, method, _)| {
            (
                format!("{user} {method}"),
                ask(port, down, tcp, user, method),
            )
        })
        .collect()
}

#[test]
fn per_transaction_timers_and_flags_like_kamailio() {
    let down = UdpSocket::bind("127.0.0.1:0").expect("downstream");
    let dport = down.local_addr().expect("addr").port();
    // The same port over TCP, for t_relay_to_tcp.
    let tcp = TcpListener::bind(("127.0.0.1", dport)).expect("tcp downstream");
    tcp.set_nonblocking(true).expect("nonblocking");
    let defines = vec![
        ("DSTPORT".to_string(), dport.to_string()),
        (
            "TCPLISTEN".to_string(),
            format!("tcp:127.0.0.1:{}", cfgc_test_support::free_port()),
        ),
    ];
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &defines, "tm-timers-proxy", &interp);
        let seen = session(port, &down, &tcp);
        g.stop().expect("stopped");
        all.push((who, seen));
    }
    let margin = Duration::from_millis(450);
    for (who, seen) in &all {
        for ((name, s), (_, _, timer)) in seen.iter().zip(CASES) {
            match timer {
                None => assert!(s.final_after.is_some(), "{who} {name}: no answer"),
                Some(ms) => {
                    let want = Duration::from_millis(*ms);
                    let got = s.final_after.unwrap_or_else(|| {
                        panic!("{who} {name}: no final reply: {:?}", s.statuses)
                    });
                    assert!(
                        got + Duration::from_millis(100) >= want && got <= want + margin,
                        "{who} {name}: the final reply came after {got:?}, the timer is {want:?}"
                    );
                }
            }
        }
    }
    // The messages themselves are Kamailio's.
    let theirs: Vec<(&String, &Vec<String>)> =
        all[0].1.iter().map(|(n, s)| (n, &s.statuses)).collect();
    for (want, line) in [
        ("tiny OPTIONS", "SIP/2.0 200 tiny 1 -1"),
        ("short OPTIONS", "SIP/2.0 408 Request Timeout"),
        ("inv INVITE", "SIP/2.0 180 Ringing"),
        (
            "inv100 INVITE",
            "SIP/2.0 100 trying -- your call is important to us",
        ),
    ] {
        assert!(
            theirs
                .iter()
                .any(|(n, s)| *n == want && s.iter().any(|l| l == line)),
            "kamailio: {want} without `{line}`: {theirs:?}"
        );
    }
    assert!(
        theirs
            .iter()
            .any(|(n, s)| *n == "inv INVITE" && !s.iter().any(|l| l.contains(" 100 "))),
        "kamailio sent a 100 despite t_set_auto_inv_100(0): {theirs:?}"
    );
    // Where each request went, and over what.
    let relayed: Vec<(&String, &Option<String>)> =
        all[0].1.iter().map(|(n, s)| (n, &s.relayed)).collect();
    for (want, how) in [
        ("tcp OPTIONS", "tcp SIP/2.0/TCP"),
        ("udp0 OPTIONS", "udp SIP/2.0/UDP"),
        ("udp2 OPTIONS", "udp SIP/2.0/UDP"),
        ("plain OPTIONS", "udp SIP/2.0/UDP"),
    ] {
        assert!(
            relayed
                .iter()
                .any(|(n, r)| *n == want && r.as_deref() == Some(how)),
            "kamailio: {want} not relayed as `{how}`: {relayed:?}"
        );
    }
    for (who, seen) in &all[1..] {
        let ours: Vec<(&String, &Vec<String>)> =
            seen.iter().map(|(n, s)| (n, &s.statuses)).collect();
        assert_eq!(ours, theirs, "{who}: other messages than kamailio's");
        let ours: Vec<(&String, &Option<String>)> =
            seen.iter().map(|(n, s)| (n, &s.relayed)).collect();
        assert_eq!(ours, relayed, "{who}: relayed otherwise than kamailio");
    }
}

//! The stock config with `WITH_NAT WITH_RTPENGINE`, and with `WITH_NAT
//! WITH_NATSIPPING` (its rtpproxy path), on the wire, differential:
//! `/etc/kamailio/kamailio.cfg` copied under the test's temporary
//! directory with one line edit (the rtpengine or rtpproxy socket, to a
//! daemon the test starts on a free port), run by `kamailio -f`, compiled
//! and interpreted, each with its own rtpengine daemon or rtpproxy
//! stand-in (`tests::rtpproxy`). With rtpproxy the commands the stand-in
//! received are compared too (the start-up handshake, sent once per
//! Kamailio process, as a set; Call-IDs carry a port picked per run).
//!
//! Two clients on 127.0.0.1 write what clients behind NAT write (private
//! Via and Contact addresses with `rport`, private SDP addresses): bob
//! and alice register, alice calls bob (INVITE with SDP, 100, the INVITE
//! at bob, 200 with SDP back, ACK, a re-INVITE with new media and its
//! ACK, BYE, all in-dialog requests along the Record-Route, routed to
//! bob by the alias the proxy put in his Contact). Every message each
//! client receives is compared, whole, with the proxy's and clients'
//! ports, rtpengine's media ports, the proxy's branches (hashes, as the
//! stock_wire tests hide them) and sl tags written as names.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cfgc_test_support::free_port;

fn tmp() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stock-nat");
    std::fs::create_dir_all(&d).expect("temporary directory");
    d
}

/// The stock config with its rtpengine (`rtpproxy` false) or rtpproxy
/// socket moved to `port`.
fn cfg(port: u16, who: &str, rtpproxy: bool) -> PathBuf {
    let text = std::fs::read_to_string(tests::STOCK_CFG)
        .expect("/etc/kamailio/kamailio.cfg (apt-get install kamailio)");
    let (module, param, old) = if rtpproxy {
        ("rtpproxy", "rtpproxy_sock", 7722)
    } else {
        ("rtpengine", "rtpengine_sock", 2223)
    };
    let line = |p: u16| format!("modparam(\"{module}\", \"{param}\", \"udp:127.0.0.1:{p}\")");
    let from = line(old);
    assert!(text.contains(&from), "the stock config's {param} line");
    let text = text.replace(&from, &line(port));
    let p = tmp().join(format!("kamailio-{module}-{who}.cfg"));
    std::fs::write(&p, text).expect("cfg written");
    p
}

/// The next message on `s` (5 s at most), skipping what `skip` says
/// (provisional replies the flow does not wait for).
fn recv(s: &UdpSocket, skip: impl Fn(&str) -> bool) -> String {
    let mut buf = vec![0u8; 65536];
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !skip(&m) {
                return m;
            }
        }
    }
    "timeout".to_string()
}

fn header<'a>(m: &'a str, name: &str) -> Vec<&'a str> {
    m.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        })
        .collect()
}

fn sdp(ip: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1000 1000 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    )
}

fn register(s: &UdpSocket, proxy: u16, user: &str, ip: &str) -> String {
    let local = s.local_addr().expect("address");
    let d = format!("127.0.0.1:{proxy}");
    let m = format!(
        "REGISTER sip:{d} SIP/2.0\r\n\
Via: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK-reg-{user};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@{d}>;tag=reg-{user}\r\n\
To: <sip:{user}@{d}>\r\n\
Call-ID: stock-nat-reg-{user}-{port}@test\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:{user}@{ip}:5060>\r\n\
Expires: 600\r\n\
User-Agent: natted-phone\r\n\
Content-Length: 0\r\n\r\n",
        port = local.port()
    );
    s.send_to(m.as_bytes(), ("127.0.0.1", proxy)).expect("sent");
    recv(s, |m| m.starts_with("SIP/2.0 1"))
}

/// The call, as each client sees it: every message received, in order.
fn flow(proxy: u16) -> Vec<String> {
    let alice = UdpSocket::bind("127.0.0.1:0").expect("alice");
    let bob = UdpSocket::bind("127.0.0.1:0").expect("bob");
    for s in [&alice, &bob] {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
    }
    let mut seen = Vec::new();
    seen.push(format!(
        "bob registered: {}",
        register(&bob, proxy, "bob", "192.168.2.20")
    ));
    seen.push(format!(
        "alice registered: {}",
        register(&alice, proxy, "alice", "192.168.1.10")
    ));
    let call_id = format!(
        "stock-nat-call-{}@test",
        alice.local_addr().expect("a").port()
    );
    let d = format!("127.0.0.1:{proxy}");
    let offer = sdp("192.168.1.10", 4000);
    let invite = format!(
        "INVITE sip:bob@{d} SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-inv-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@{d}>;tag=alice-1\r\n\
To: <sip:bob@{d}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@192.168.1.10:5060>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{offer}",
        offer.len()
    );
    alice
        .send_to(invite.as_bytes(), ("127.0.0.1", proxy))
        .expect("sent");
    let trying = recv(&alice, |_| false);
    seen.push(format!("alice got: {trying}"));
    let at_bob = recv(&bob, |_| false);
    seen.push(format!("bob got: {at_bob}"));
    if at_bob == "timeout" {
        return seen;
    }
    // bob answers 200 with his SDP, as a phone copies the request.
    let answer = sdp("192.168.2.20", 5000);
    let mut ok = String::from("SIP/2.0 200 OK\r\n");
    for name in ["Via", "Record-Route"] {
        for v in header(&at_bob, name) {
            ok.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    for name in ["From", "Call-ID", "CSeq"] {
        for v in header(&at_bob, name) {
            ok.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    let to = header(&at_bob, "To")
        .first()
        .copied()
        .unwrap_or("")
        .to_string();
    ok.push_str(&format!(
        "To: {to};tag=bob-1\r\nContact: <sip:bob@192.168.2.20:5060>\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{answer}",
        answer.len()
    ));
    bob.send_to(ok.as_bytes(), ("127.0.0.1", proxy))
        .expect("sent");
    let ok_at_alice = recv(&alice, |m| m.starts_with("SIP/2.0 1"));
    seen.push(format!("alice got: {ok_at_alice}"));
    // ACK and BYE along the route set, to bob's Contact.
    let target = header(&ok_at_alice, "Contact")
        .first()
        .map(|c| {
            c.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let mut routes: Vec<&str> = header(&ok_at_alice, "Record-Route");
    routes.reverse();
    let route_lines: String = routes.iter().map(|r| format!("Route: {r}\r\n")).collect();
    let to_tagged = header(&ok_at_alice, "To")
        .first()
        .copied()
        .unwrap_or("")
        .to_string();
    // ACK, a re-INVITE with new media (answered by bob, ACKed), BYE.
    let reoffer = sdp("192.168.1.10", 4002);
    let steps: [(&str, u32, &str, Option<&str>); 4] = [
        ("ACK", 1, "ack-1", None),
        ("INVITE", 2, "reinv-2", Some(&reoffer)),
        ("ACK", 2, "ack-2", None),
        ("BYE", 3, "bye-3", None),
    ];
    for (method, cseq, branch, body) in steps {
        let body_part = body.map_or("Content-Length: 0\r\n\r\n".to_string(), |b| {
            format!(
                "Contact: <sip:alice@192.168.1.10:5060>\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{b}",
                b.len()
            )
        });
        let m = format!(
            "{method} {target} SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-{branch};rport\r\n\
{route_lines}Max-Forwards: 70\r\n\
From: <sip:alice@{d}>;tag=alice-1\r\n\
To: {to_tagged}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
{body_part}"
        );
        alice
            .send_to(m.as_bytes(), ("127.0.0.1", proxy))
            .expect("sent");
        let got = recv(&bob, |_| false);
        seen.push(format!("bob got: {got}"));
        if method == "ACK" || got == "timeout" {
            continue;
        }
        // bob answers: 200 to the BYE, 200 with new media to the re-INVITE.
        let mut r = String::from("SIP/2.0 200 OK\r\n");
        for name in ["Via", "Record-Route", "From", "To", "Call-ID", "CSeq"] {
            for v in header(&got, name) {
                r.push_str(&format!("{name}: {v}\r\n"));
            }
        }
        if method == "INVITE" {
            let answer = sdp("192.168.2.20", 5002);
            r.push_str(&format!(
                "Contact: <sip:bob@192.168.2.20:5060>\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{answer}",
                answer.len()
            ));
        } else {
            r.push_str("Content-Length: 0\r\n\r\n");
        }
        bob.send_to(r.as_bytes(), ("127.0.0.1", proxy))
            .expect("sent");
        seen.push(format!(
            "alice got: {}",
            recv(&alice, |m| m.starts_with("SIP/2.0 1"))
        ));
    }
    let ports = [
        (proxy, "PROXY"),
        (alice.local_addr().expect("a").port(), "ALICE"),
        (bob.local_addr().expect("b").port(), "BOB"),
    ];
    seen.iter().map(|s| normalise(s, &ports)).collect()
}

/// Ports, rtpengine's media ports, the proxy's branches and tags as
/// names.
fn normalise(s: &str, ports: &[(u16, &str)]) -> String {
    let mut s = s.to_string();
    for (p, name) in ports {
        s = s.replace(&format!(":{p}"), &format!(":{name}"));
        s = s.replace(&format!("~{p}~"), &format!("~{name}~"));
        s = s.replace(&format!("rport={p}"), &format!("rport={name}"));
    }
    for (re, to) in [
        (r"(m=\w+ |a=rtcp:)\d+", "${1}MEDIA"),
        (r"branch=z9hG4bK[0-9a-f][0-9a-f.]*", "branch=z9hG4bKPROXY"),
        (r";tag=[0-9a-f]{32}\.[0-9a-f]+", ";tag=SL"),
        (
            r"Call-ID: stock-nat-(reg-\w+|call)-\d+@test",
            "Call-ID: stock-nat-$1-N@test",
        ),
    ] {
        s = regex::Regex::new(re)
            .expect("regex")
            .replace_all(&s, to)
            .into_owned();
    }
    s
}

fn run(who: &str, interp: &Path) -> Vec<String> {
    let ng = free_port();
    let rtp = 40000 + (free_port() % 200) * 100;
    let log = tmp().join(format!("rtpengine-{who}.log"));
    let mut daemon = tests::rtpengine_daemon_logged(ng, rtp, Some(&log));
    let (g, proxy) = tests::start_contender(
        who,
        &cfg(ng, who, false),
        &[
            ("WITH_NAT".to_string(), "1".to_string()),
            ("WITH_RTPENGINE".to_string(), "1".to_string()),
        ],
        "stock-nat",
        interp,
    );
    let mut seen = flow(proxy);
    g.stop().expect("proxy stopped");
    let _ = daemon.halt();
    // The commands rtpengine received, in order (an offer for the 200
    // where Kamailio sends an answer shows here, not on the wire).
    seen.push(format!(
        "rtpengine got: {}",
        tests::rtpengine_commands(&log).join(" ")
    ));
    seen
}

#[test]
fn stock_config_with_nat_and_rtpengine_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let theirs = run("kamailio", &interp);
    for l in &theirs {
        eprintln!("{l}\n----");
    }
    assert!(
        theirs.iter().all(|l| !l.contains("timeout")),
        "kamailio: a message missing"
    );
    let invite = theirs
        .iter()
        .find(|l| l.starts_with("bob got: INVITE"))
        .expect("INVITE at bob");
    assert!(
        invite.contains("c=IN IP4 127.0.0.1"),
        "rtpengine's SDP: {invite}"
    );
    assert!(
        invite.contains(";nat=yes"),
        "Record-Route with nat=yes: {invite}"
    );
    let invites: Vec<&String> = theirs
        .iter()
        .filter(|l| l.starts_with("bob got: INVITE"))
        .collect();
    assert_eq!(invites.len(), 2, "the INVITE and the re-INVITE at bob");
    assert!(
        invites[1].contains("c=IN IP4 127.0.0.1") && !invites[1].contains("c=IN IP4 192.168"),
        "the re-INVITE's SDP through rtpengine: {}",
        invites[1]
    );
    for who in ["compiled", "interpreted"] {
        let ours = run(who, &interp);
        tests::assert_same_lines(who, &theirs, &ours);
    }
}

/// The rtpproxy path: the flow, then every command the stand-in received.
fn run_rtpproxy(who: &str, interp: &Path) -> Vec<String> {
    let rtpp = tests::rtpproxy::StandIn::start();
    let (g, proxy) = tests::start_contender(
        who,
        &cfg(rtpp.port, who, true),
        &[
            ("WITH_NAT".to_string(), "1".to_string()),
            ("WITH_NATSIPPING".to_string(), "1".to_string()),
        ],
        "stock-nat-rtpproxy",
        interp,
    );
    // The start-up handshake (once per Kamailio process): as a set.
    let t0 = std::time::Instant::now();
    while rtpp.pending() < 4 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let mut hello = rtpp.take();
    hello.sort();
    hello.dedup();
    let mut seen: Vec<String> = hello
        .iter()
        .map(|c| format!("rtpproxy hello: {c}"))
        .collect();
    seen.extend(flow(proxy));
    g.stop().expect("proxy stopped");
    let call = regex::Regex::new(r"stock-nat-call-\d+@test").expect("regex");
    seen.extend(rtpp.take().iter().map(|c| {
        format!(
            "rtpproxy got: {}",
            call.replace_all(c, "stock-nat-call-N@test")
        )
    }));
    seen
}

#[test]
fn stock_config_with_nat_and_rtpproxy_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let theirs = run_rtpproxy("kamailio", &interp);
    let text = theirs.join("\n----\n");
    assert!(
        theirs.iter().all(|l| !l.contains("timeout")),
        "kamailio: a message missing:\n{text}"
    );
    let invites: Vec<&String> = theirs
        .iter()
        .filter(|l| l.starts_with("bob got: INVITE"))
        .collect();
    assert_eq!(
        invites.len(),
        2,
        "the INVITE and the re-INVITE at bob:\n{text}"
    );
    for inv in &invites {
        assert!(
            inv.contains("c=IN IP4 127.0.0.1") && inv.contains("a=nortpproxy:yes"),
            "rtpproxy's SDP: {inv}"
        );
    }
    let commands: Vec<&str> = theirs
        .iter()
        .filter_map(|l| l.strip_prefix("rtpproxy got: "))
        .map(|c| c.split(' ').next().unwrap_or(""))
        .collect();
    // Offer and answer of the call and of the re-INVITE, then the BYE's
    // delete (the ACKs carry no SDP).
    assert_eq!(
        commands,
        ["Uc0,8", "Lc0,8", "Uc0,8", "Lc0,8", "D"],
        "the commands:\n{text}"
    );
    for who in ["compiled", "interpreted"] {
        let ours = run_rtpproxy(who, &interp);
        tests::assert_same_lines(who, &theirs, &ours);
    }
}

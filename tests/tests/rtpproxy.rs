//! rtpproxy, differential: `tests/rtpproxy/kamailio.cfg` under
//! `kamailio -f`, compiled and interpreted, each with its own two
//! rtpproxy stand-ins (`tests::rtpproxy`, Debian has no rtpproxy): set 0
//! on one, set 1 on the other. Calls go from a client socket through the
//! proxy (tm) to a UAS socket of the test: INVITE (offer), 200 (answer,
//! in the onreply route), BYE (destroy), with `rtpproxy_manage`,
//! `rtpproxy_offer`/`rtpproxy_answer` with flags (via branches, `i`,
//! `e`, `w`, `z20`, `c`, `r`, `a`, `x`, `f`, `l`, an unknown one) and a
//! media IP, `rtpproxy_destroy`/`unforce_rtp_proxy`, `set_rtp_proxy_set`,
//! over SDPs with several streams, a disabled stream, stream-level and
//! null `c=` lines, `a=rtcp:`, IPv6, a body already proxied and none
//! (late offer); then with the stand-in silent (timeouts: -3, the
//! messages relayed untouched), back after `rtpproxy_disable_tout` (the
//! handshake again), and closed (ICMP).
//!
//! Compared, line for line: what the UAS and the client receive (first
//! line, `X-Rc`, Content-Length, the body) and every command each
//! stand-in received, byte for byte after the cookie. Normalised, because
//! they must differ: the UAS's port (picked per run), and the start-up
//! handshake (`V`, `VF ...`), which each Kamailio process sends once in
//! its child_init (so as many times as it has processes) and cfgc's proxy
//! once: compared as a set. Kamailio's own lines are checked against what
//! the cfg means first.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tests::rtpproxy::{CLOSED, SILENT, StandIn};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rtpproxy/kamailio.cfg")
}

const OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:49171\r\na=sendrecv\r\n";
const PROXIED: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\na=nortpproxy:yes\r\n";
const MULTI: &str = "v=0\r\no=alice 1 1 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\nc=IN IP4 192.168.1.11\r\na=rtcp:49171 IN IP4 192.168.1.11\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=image 49180 udptl t38\r\nc=IN IP4 0.0.0.0\r\n";
const IPV6: &str = "v=0\r\no=alice 1 1 IN IP6 2001:db8::10\r\ns=-\r\nc=IN IP6 2001:db8::10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\nm=audio 49172 RTP/AVP 8\r\nc=IN IP4 192.168.1.12\r\n";
const ANSWER: &str = "v=0\r\no=bob 2808844564 2808844564 IN IP4 10.0.0.20\r\ns=-\r\nc=IN IP4 10.0.0.20\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
const MULTI_ANSWER: &str = "v=0\r\no=bob 1 1 IN IP4 10.0.0.20\r\ns=-\r\nc=IN IP4 10.0.0.20\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\nm=image 3460 udptl t38\r\n";

/// One call: what the INVITE, the 200 and the BYE ask of the cfg.
struct Call {
    name: &'static str,
    invite: (&'static str, &'static str, Option<&'static str>),
    set: Option<&'static str>,
    offer: Option<&'static str>,
    reply: (&'static str, &'static str, Option<&'static str>),
    answer: &'static str,
    /// An ACK with SDP: what it asks of the cfg, and its body.
    ack: Option<(&'static str, &'static str, &'static str)>,
    bye: (&'static str, &'static str),
}

const fn call(
    name: &'static str,
    invite: (&'static str, &'static str, Option<&'static str>),
    offer: Option<&'static str>,
    reply: (&'static str, &'static str, Option<&'static str>),
    answer: &'static str,
    bye: (&'static str, &'static str),
) -> Call {
    Call {
        name,
        invite,
        set: None,
        offer,
        reply,
        answer,
        ack: None,
        bye,
    }
}

const CALLS: &[Call] = &[
    call(
        "manage",
        ("manage", "", None),
        Some(OFFER),
        ("manage", "co", None),
        ANSWER,
        ("manage", ""),
    ),
    call(
        "flags",
        ("offer", "iewz20c3", None),
        Some(OFFER),
        ("answer", "3a", None),
        ANSWER,
        ("destroy", "3"),
    ),
    call(
        "forced",
        ("offer-ip", "f", Some("203.0.113.7")),
        Some(PROXIED),
        ("answer-ip", "o", Some("198.51.100.9")),
        ANSWER,
        ("unforce", ""),
    ),
    call(
        "proxied",
        ("offer", "", None),
        Some(PROXIED),
        ("manage", "", None),
        ANSWER,
        ("destroy", "t"),
    ),
    call(
        "multi",
        ("manage", "", None),
        Some(MULTI),
        ("manage", "co", None),
        MULTI_ANSWER,
        ("manage", ""),
    ),
    call(
        "ipv6",
        ("offer", "x", None),
        Some(IPV6),
        ("answer", "r", None),
        ANSWER,
        ("manage", ""),
    ),
    Call {
        set: Some("1"),
        ..call(
            "set1",
            ("manage", "", None),
            Some(OFFER),
            ("manage", "", None),
            ANSWER,
            ("manage", ""),
        )
    },
    call(
        "late",
        ("manage", "", None),
        None,
        ("manage", "co", None),
        ANSWER,
        ("manage", ""),
    ),
    call(
        "misuse",
        ("answer", "", None),
        Some(OFFER),
        ("offer", "", None),
        ANSWER,
        ("destroy", "q"),
    ),
    call(
        "badflag",
        ("offer", "q", None),
        Some(OFFER),
        ("manage", "l", None),
        ANSWER,
        ("manage", ""),
    ),
    call(
        "bare",
        ("bare", "", None),
        Some(OFFER),
        ("bare", "", None),
        ANSWER,
        ("manage", ""),
    ),
    Call {
        ack: Some(("manage", "", OFFER)),
        ..call(
            "late-ack",
            ("manage", "", None),
            None,
            ("manage", "co", None),
            ANSWER,
            ("manage", ""),
        )
    },
    Call {
        ack: Some(("answer", "c", MULTI)),
        ..call(
            "ack-answer",
            ("manage", "", None),
            Some(MULTI),
            ("manage", "co", None),
            MULTI_ANSWER,
            ("manage", ""),
        )
    },
    call(
        "manage-ip",
        ("manage-ip", "co", Some("203.0.113.8")),
        Some(OFFER),
        ("manage", "co", None),
        ANSWER,
        ("manage", ""),
    ),
];

fn plain(name: &'static str) -> Call {
    call(
        name,
        ("manage", "", None),
        Some(OFFER),
        ("manage", "co", None),
        ANSWER,
        ("manage", ""),
    )
}

fn set_header(k: &Call) -> String {
    k.set.map_or(String::new(), |s| format!("X-Set: {s}\r\n"))
}

/// A call through set 2.
fn in_set2(name: &'static str) -> Call {
    Call {
        set: Some("2"),
        ..plain(name)
    }
}

fn header<'a>(m: &'a str, name: &str) -> &'a str {
    m.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        })
        .unwrap_or("-")
}

fn summary(who: &str, m: &str) -> String {
    let first = m.lines().next().unwrap_or("");
    let body = m.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    format!(
        "{who}: {first} | X-Rc {} | CL {} | {}",
        header(m, "X-Rc"),
        header(m, "Content-Length"),
        body.replace("\r\n", "\\n")
    )
}

fn recv(s: &UdpSocket, want: impl Fn(&str) -> bool) -> Option<String> {
    let mut buf = vec![0u8; 65536];
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(6) {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            if want(&m) {
                return Some(m);
            }
        }
    }
    None
}

fn ops(op: &str, flags: &str, ip: Option<&str>) -> String {
    let mut h = format!("X-Op: {op}\r\nX-Flags: {flags}\r\n");
    if let Some(ip) = ip {
        h.push_str(&format!("X-Ip: {ip}\r\n"));
    }
    h
}

/// One call: what the UAS and the client received, in order.
fn run_call(proxy: u16, cli: &UdpSocket, uas: &UdpSocket, k: &Call) -> Vec<String> {
    let name = k.name;
    let mut out = Vec::new();
    let c = cli.local_addr().unwrap();
    let u = uas.local_addr().unwrap();
    let callid = format!("rtpp-{name}@test");
    let (inv_op, inv_flags, inv_ip) = k.invite;
    let body = k.offer.unwrap_or("");
    let ctype = if k.offer.is_some() {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    let invite = format!(
        "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {c};branch=z9hG4bK-{name}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=a-{name}\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: {callid}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@{c}>\r\n\
X-Uas: sip:{u}\r\n\
{}{}{ctype}Content-Length: {}\r\n\r\n{body}",
        ops(inv_op, inv_flags, inv_ip),
        set_header(k),
        body.len()
    );
    cli.send_to(invite.as_bytes(), ("127.0.0.1", proxy))
        .unwrap();
    let Some(at_uas) = recv(uas, |m| m.starts_with("INVITE")) else {
        out.push("uas: no INVITE".into());
        return out;
    };
    out.push(summary("uas", &at_uas));
    let (rep_op, rep_flags, rep_ip) = k.reply;
    let mut reply = String::from("SIP/2.0 200 OK\r\n");
    for l in at_uas.lines().skip(1) {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("via:")
            || lower.starts_with("from:")
            || lower.starts_with("call-id:")
            || lower.starts_with("cseq:")
        {
            reply.push_str(l);
            reply.push_str("\r\n");
        } else if lower.starts_with("to:") {
            reply.push_str(&format!("{l};tag=b-{name}\r\n"));
        }
    }
    // Set 2's 200 selects its set too (set 1's goes to set 0).
    let reply_set = if k.set == Some("2") {
        set_header(k)
    } else {
        String::new()
    };
    reply.push_str(&format!(
        "Contact: <sip:bob@{u}>\r\n{reply_set}{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{}",
        ops(rep_op, rep_flags, rep_ip),
        k.answer.len(),
        k.answer
    ));
    uas.send_to(reply.as_bytes(), ("127.0.0.1", proxy)).unwrap();
    match recv(cli, |m| m.starts_with("SIP/2.0 200")) {
        Some(m) => out.push(summary("client", &m)),
        None => out.push("client: no 200".into()),
    }
    if let Some((op, flags, sdp)) = k.ack {
        let ack = format!(
            "ACK sip:bob@{u} SIP/2.0\r\n\
Via: SIP/2.0/UDP {c};branch=z9hG4bK-{name}-ack;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=a-{name}\r\n\
To: <sip:bob@127.0.0.1>;tag=b-{name}\r\n\
Call-ID: {callid}\r\n\
CSeq: 1 ACK\r\n\
X-Uas: sip:{u}\r\n\
{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            ops(op, flags, None),
            sdp.len()
        );
        cli.send_to(ack.as_bytes(), ("127.0.0.1", proxy)).unwrap();
        match recv(uas, |m| m.starts_with("ACK")) {
            Some(m) => out.push(summary("uas", &m)),
            None => out.push("uas: no ACK".into()),
        }
    }
    let (bye_op, bye_flags) = k.bye;
    let bye = format!(
        "BYE sip:bob@{u} SIP/2.0\r\n\
Via: SIP/2.0/UDP {c};branch=z9hG4bK-{name}-2;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=a-{name}\r\n\
To: <sip:bob@127.0.0.1>;tag=b-{name}\r\n\
Call-ID: {callid}\r\n\
CSeq: 2 BYE\r\n\
X-Uas: sip:{u}\r\n\
{}{}Content-Length: 0\r\n\r\n",
        ops(bye_op, bye_flags, None),
        set_header(k)
    );
    cli.send_to(bye.as_bytes(), ("127.0.0.1", proxy)).unwrap();
    match recv(uas, |m| m.starts_with("BYE")) {
        Some(m) => {
            out.push(summary("uas", &m));
            let mut ok = String::from("SIP/2.0 200 OK\r\n");
            for l in m.lines().skip(1) {
                let lower = l.to_ascii_lowercase();
                if ["via:", "from:", "to:", "call-id:", "cseq:"]
                    .iter()
                    .any(|p| lower.starts_with(p))
                {
                    ok.push_str(l);
                    ok.push_str("\r\n");
                }
            }
            ok.push_str("Content-Length: 0\r\n\r\n");
            uas.send_to(ok.as_bytes(), ("127.0.0.1", proxy)).unwrap();
            match recv(cli, |m| m.starts_with("SIP/2.0 200") && m.contains("BYE")) {
                Some(m) => out.push(summary("client", &m)),
                None => out.push("client: no 200 to BYE".into()),
            }
        }
        None => out.push("uas: no BYE".into()),
    }
    out.iter()
        .map(|l| l.replace(&u.to_string(), "UAS"))
        .collect()
}

fn run(who: &str, interp: &Path) -> Vec<String> {
    let a = StandIn::start();
    let b = StandIn::start();
    let (c, d) = (StandIn::start(), StandIn::start());
    let defines = vec![
        (
            "RTPP_SOCK".to_string(),
            format!("\"udp:127.0.0.1:{}\"", a.port),
        ),
        (
            "RTPP_SOCK1".to_string(),
            format!("\"1 == udp:127.0.0.1:{}\"", b.port),
        ),
        (
            "RTPP_SOCK2".to_string(),
            format!(
                "\"2 == udp:127.0.0.1:{} udp:127.0.0.1:{}=2\"",
                c.port, d.port
            ),
        ),
    ];
    let (g, proxy) = tests::start_contender(who, &cfg(), &defines, "rtpproxy", interp);
    let cli = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uas = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&cli, &uas] {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    let mut lines = Vec::new();
    let take = |lines: &mut Vec<String>, step: &str, got: Vec<String>| {
        lines.push(format!("== {step}"));
        lines.extend(got);
        lines.extend(a.take().into_iter().map(|c| format!("A: {c}")));
        lines.extend(b.take().into_iter().map(|c| format!("B: {c}")));
        lines.extend(c.take().into_iter().map(|x| format!("C: {x}")));
        lines.extend(d.take().into_iter().map(|x| format!("D: {x}")));
    };
    // The start-up handshake, once per Kamailio process (child_init),
    // once for ours: wait for it, then compare it as a set.
    let t0 = std::time::Instant::now();
    while [&a, &b, &c, &d].iter().any(|s| s.pending() < 4) && t0.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let mut hello: Vec<String> = a
        .take()
        .into_iter()
        .map(|c| format!("A: {c}"))
        .chain(b.take().into_iter().map(|c| format!("B: {c}")))
        .chain(c.take().into_iter().map(|x| format!("C: {x}")))
        .chain(d.take().into_iter().map(|x| format!("D: {x}")))
        .collect();
    hello.sort();
    hello.dedup();
    lines.push("== start-up handshake (as a set)".into());
    lines.extend(hello);
    for k in CALLS {
        let got = run_call(proxy, &cli, &uas, k);
        take(&mut lines, k.name, got);
    }
    // Set 2: the Call-ID's byte sum picks C or D by weight; with C
    // silent, its calls fail over to D.
    for name in ["set2-a", "set2-b", "set2-c"] {
        let got = run_call(proxy, &cli, &uas, &in_set2(name));
        take(&mut lines, name, got);
    }
    c.set(SILENT);
    for name in ["set2-d", "set2-e", "set2-f"] {
        let got = run_call(proxy, &cli, &uas, &in_set2(name));
        take(&mut lines, &format!("{name}, C silent"), got);
    }
    c.set(tests::rtpproxy::ANSWER);
    a.set(SILENT);
    let got = run_call(proxy, &cli, &uas, &plain("silent"));
    take(&mut lines, "rtpproxy silent", got);
    a.set(tests::rtpproxy::ANSWER);
    // rtpproxy_disable_tout is 2 s: the instance is tried again after.
    std::thread::sleep(Duration::from_millis(3100));
    let got = run_call(proxy, &cli, &uas, &plain("back"));
    take(&mut lines, "rtpproxy back", got);
    a.set(CLOSED);
    let got = run_call(proxy, &cli, &uas, &plain("closed"));
    take(&mut lines, "rtpproxy closed", got);
    g.stop().expect("proxy stopped");
    lines
}

fn rc_of(line: &str) -> &str {
    line.split("| X-Rc ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or("?")
}

#[test]
fn rtpproxy_calls_as_kamailio_makes_them() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let theirs = run("kamailio", &interp);
    let text = theirs.join("\n");
    // What the cfg means, on Kamailio's side: the return codes of the
    // INVITE, the 200 and the BYE of each call.
    let rcs: Vec<&str> = theirs
        .iter()
        .filter(|l| l.starts_with("uas:") || l.starts_with("client:"))
        .map(|l| rc_of(l))
        .filter(|rc| *rc != "-")
        .collect();
    assert_eq!(
        rcs,
        [
            "1", "1", "1", // manage
            "1", "1", "1", // flags
            "1", "1", "1", // forced
            "-2", "1", "1", // proxied: the 200 is an offer (no manage on the INVITE)
            "1", "1", "1", // multi
            "1", "1", "1", // ipv6
            "1", "-1", "1", // set1: the 200 goes to set 0, which has no session
            "-1", "1", "1", // late: the 200 is the offer
            "-1", "1", "-1", // misuse
            "-1", "-1", "1", // badflag
            "1", "1", "1", // bare
            "-1", "1", "1", "1", // late-ack: the 200 is the offer, the ACK the answer
            "1", "1", "1", "1", // ack-answer
            "1", "1", "1", // manage-ip
            "1", "1", "1", // set2-a
            "1", "1", "1", // set2-b
            "1", "1", "1", // set2-c
            "1", "1", "1", // set2-d, C silent
            "1", "1", "1", // set2-e
            "1", "1", "1", // set2-f
            "-3", "-3", "-1", // silent
            "1", "1", "1", // back
            "-3", "-3", "-1", // closed
        ],
        "kamailio's return codes:\n{text}"
    );
    for want in [
        "A: V",
        "A: VF 20050322",
        "B: VF 20081102",
        "A: Uc0,8,101 rtpp-manage@test 127.0.0.1 49170 a-manage;1",
        "A: Lc0,101 rtpp-manage@test 127.0.0.1 3456 a-manage;1 b-manage;1",
        "A: D rtpp-manage@test a-manage b-manage",
        "B: Uc0,8,101 rtpp-set1@test 127.0.0.1 49170 a-set1;1",
        // set2-e hashes to C, silent: two tries, then D.
        "C: Uc0,8,101 rtpp-set2-e@test 127.0.0.1 49170 a-set2-e;1\nC: Uc0,8,101 rtpp-set2-e@test 127.0.0.1 49170 a-set2-e;1\nD: Uc0,8,101 rtpp-set2-e@test 127.0.0.1 49170 a-set2-e;1",
        "m=audio 35000 RTP/AVP 0 8 101",
        "c=IN IP4 127.0.0.1",
        "a=nortpproxy:yes",
        "203.0.113.7",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    for who in ["interpreted", "compiled"] {
        let ours = run(who, &interp);
        tests::assert_same_lines(who, &theirs, &ours);
    }
}

/// `set_rtp_proxy_set` of a constant set that is not configured:
/// Kamailio refuses to start (its fixup), and so do ours.
#[test]
fn an_unknown_constant_set_refuses_the_start() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtpproxy/unknown_set.cfg");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rtpproxy");
    std::fs::create_dir_all(&tmp).expect("temporary directory");
    let port = cfgc_test_support::free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let k = cfgc_test_support::Kamailio::new(&cfg, listen.clone(), tmp.join("rundir"))
        .module_dir(Some(cfgc_test_support::module_dir()));
    let (refused, log) = tests::refuses(k.command(), &tmp.join("kamailio-unknown-set.log"));
    assert!(
        refused && log.contains("set 7 not configured"),
        "kamailio starts with set 7 unknown:\n{log}"
    );
    let bin = tests::build_proxy(&cfg, &[], "rtpproxy-unknown-set");
    let mut compiled = std::process::Command::new(bin);
    compiled.args(["-l", &listen, "-n", "1", "-E"]);
    let mut interp = std::process::Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
    interp
        .arg(&cfg)
        .args(["--", "-l", &listen, "-n", "1", "-E"]);
    for (who, c) in [("compiled", compiled), ("interpreted", interp)] {
        let (refused, log) = tests::refuses(c, &tmp.join(format!("{who}-unknown-set.log")));
        assert!(
            refused && log.contains("rtpp_proxy set 7 not configured"),
            "{who} starts with set 7 unknown:\n{log}"
        );
    }
}

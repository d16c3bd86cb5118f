//! rtpengine, differential: `tests/rtpengine/kamailio.cfg` under
//! `kamailio -f`, compiled and interpreted, each with its own rtpengine
//! daemon (`/usr/bin/rtpengine` in user space, on free loopback ports)
//! behind a UDP relay of the test's that records every ng command (and
//! can drop them, or close its port, to make rtpengine silent or
//! unreachable). Calls go from a client socket through the proxy (tm) to
//! a UAS socket of the test: INVITE with SDP (offer), 200 with SDP
//! (answer, in the onreply route), BYE (delete); then the same with
//! rtpengine silent (timeouts: -1, the messages relayed with their SDP
//! untouched), back (the instance found again by the redetection ping)
//! with `rtpengine_offer`'s flags, and unreachable (ICMP refused).
//! Compared: what the UAS and the client receive (status/request line,
//! `X-Rc`, the SDP with rtpengine's ports normalised) and the commands
//! the relay saw (bencoded dictionaries decoded, keys sorted, cookies
//! dropped). Kamailio's own lines are checked against what the cfg
//! means first.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cfgc_test_support::free_port;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rtpengine/kamailio.cfg")
}

const FORWARD: u8 = 0;
const DROP: u8 = 1;
const CLOSED: u8 = 2;

/// A UDP relay between the proxy and rtpengine that records what the
/// proxy sends.
struct Relay {
    mode: Arc<AtomicU8>,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicU8>,
}

impl Relay {
    fn start(port: u16, ng: u16) -> Self {
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicU8::new(0));
        let (m, s, st) = (mode.clone(), seen.clone(), stop.clone());
        let up = UdpSocket::bind("127.0.0.1:0").expect("relay upstream socket");
        up.connect(("127.0.0.1", ng)).expect("connect");
        up.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        std::thread::spawn(move || {
            let bind = || {
                let d = UdpSocket::bind(("127.0.0.1", port)).expect("relay port");
                d.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                d
            };
            let mut down = Some(bind());
            let mut peer: Option<SocketAddr> = None;
            let mut buf = vec![0u8; 65536];
            while st.load(Ordering::Relaxed) == 0 {
                let mode = m.load(Ordering::Relaxed);
                if mode == CLOSED {
                    down = None;
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                let d = down.get_or_insert_with(bind);
                if let Ok((n, from)) = d.recv_from(&mut buf) {
                    s.lock().unwrap().push(buf[..n].to_vec());
                    if mode == FORWARD {
                        peer = Some(from);
                        let _ = up.send(&buf[..n]);
                    }
                }
                if let Ok(n) = up.recv(&mut buf)
                    && let Some(p) = peer
                {
                    let _ = d.send_to(&buf[..n], p);
                }
            }
        });
        Relay { mode, seen, stop }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(1, Ordering::Relaxed);
    }
}

/// Decoded bencode, rendered with sorted keys.
fn render(b: &[u8]) -> Option<(String, &[u8])> {
    match *b.first()? {
        b'i' => {
            let e = b.iter().position(|&c| c == b'e')?;
            Some((String::from_utf8_lossy(&b[1..e]).into_owned(), &b[e + 1..]))
        }
        b'l' => {
            let mut rest = &b[1..];
            let mut items = Vec::new();
            while rest.first() != Some(&b'e') {
                let (i, r) = render(rest)?;
                items.push(i);
                rest = r;
            }
            Some((format!("[{}]", items.join(", ")), &rest[1..]))
        }
        b'd' => {
            let mut rest = &b[1..];
            let mut items = BTreeMap::new();
            while rest.first() != Some(&b'e') {
                let (k, r) = render(rest)?;
                let (v, r) = render(r)?;
                items.insert(k, v);
                rest = r;
            }
            let body: Vec<String> = items.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            Some((format!("{{{}}}", body.join(", ")), &rest[1..]))
        }
        _ => {
            let c = b.iter().position(|&c| c == b':')?;
            let n: usize = std::str::from_utf8(&b[..c]).ok()?.parse().ok()?;
            let s = String::from_utf8_lossy(b.get(c + 1..c + 1 + n)?);
            Some((format!("{s:?}"), &b[c + 1 + n..]))
        }
    }
}

/// rtpengine's ports in an SDP (or in a rendered command) replaced.
fn norm(s: &str) -> String {
    let re = regex::Regex::new(r"(m=\w+ |a=rtcp:)\d+").unwrap();
    re.replace_all(s, "${1}PORT").into_owned()
}

fn command(d: &[u8]) -> String {
    let sp = d.iter().position(|&c| c == b' ').unwrap_or(0);
    let text = render(&d[sp + 1..]).map_or_else(|| "undecodable".into(), |(t, _)| t);
    format!("ng {}", norm(&text))
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
        norm(body).replace("\r\n", "\\n")
    )
}

fn recv(s: &UdpSocket, want: impl Fn(&str) -> bool) -> Option<String> {
    let mut buf = vec![0u8; 65536];
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            if want(&m) {
                return Some(m);
            }
        }
    }
    None
}

const OFFER: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";
const ANSWER: &str = "v=0\r\no=bob 2808844564 2808844564 IN IP4 10.0.0.20\r\ns=-\r\nc=IN IP4 10.0.0.20\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// One call: INVITE (offer), 200 (answer), BYE (delete); what the UAS and
/// the client received, in order.
fn call(proxy: u16, cli: &UdpSocket, uas: &UdpSocket, name: &str, op: &str) -> Vec<String> {
    let mut out = Vec::new();
    let c = cli.local_addr().unwrap();
    let u = uas.local_addr().unwrap();
    let callid = format!("rtpe-{name}@test");
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
X-Op: {op}\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{OFFER}",
        OFFER.len()
    );
    cli.send_to(invite.as_bytes(), ("127.0.0.1", proxy))
        .unwrap();
    let Some(at_uas) = recv(uas, |m| m.starts_with("INVITE")) else {
        out.push("uas: no INVITE".into());
        return out;
    };
    out.push(summary("uas", &at_uas));
    // The UAS answers 200 with SDP, to the top Via (the proxy).
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
    reply.push_str(&format!(
        "Contact: <sip:bob@{u}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{ANSWER}",
        ANSWER.len()
    ));
    uas.send_to(reply.as_bytes(), ("127.0.0.1", proxy)).unwrap();
    match recv(cli, |m| m.starts_with("SIP/2.0 200")) {
        Some(m) => out.push(summary("client", &m)),
        None => out.push("client: no 200".into()),
    }
    let bye = format!(
        "BYE sip:bob@{u} SIP/2.0\r\n\
Via: SIP/2.0/UDP {c};branch=z9hG4bK-{name}-2;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=a-{name}\r\n\
To: <sip:bob@127.0.0.1>;tag=b-{name}\r\n\
Call-ID: {callid}\r\n\
CSeq: 2 BYE\r\n\
X-Uas: sip:{u}\r\n\
Content-Length: 0\r\n\r\n"
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
    // The UAS's port differs per run.
    out.iter()
        .map(|l| l.replace(&u.to_string(), "UAS"))
        .collect()
}

fn run(who: &str, interp: &Path) -> Vec<String> {
    let ng = free_port();
    let rtp = 30000 + (free_port() % 300) * 100;
    let relay_port = free_port();
    let mut daemon = tests::rtpengine_daemon(ng, rtp);
    let relay = Relay::start(relay_port, ng);
    let defines = vec![(
        "RTPE_SOCK".to_string(),
        format!("\"udp:127.0.0.1:{relay_port}\""),
    )];
    let (g, proxy) = tests::start_contender(who, &cfg(), &defines, "rtpengine", interp);
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
        let seen: Vec<Vec<u8>> = std::mem::take(&mut *relay.seen.lock().unwrap());
        lines.extend(seen.iter().map(|d| command(d)));
    };
    // The start-up ping may come a little after the proxy listens (a
    // worker's child_init in Kamailio): wait for it, so that it is never
    // counted with the first call.
    let t0 = std::time::Instant::now();
    while relay.seen.lock().unwrap().is_empty() && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    take(&mut lines, "start-up", Vec::new());
    let got = call(proxy, &cli, &uas, "one", "manage");
    take(&mut lines, "call through rtpengine", got);
    relay.set(DROP);
    let got = call(proxy, &cli, &uas, "silent", "manage");
    take(&mut lines, "rtpengine silent", got);
    relay.set(FORWARD);
    let got = call(proxy, &cli, &uas, "back", "offer");
    take(&mut lines, "rtpengine back, rtpengine_offer", got);
    relay.set(CLOSED);
    let got = call(proxy, &cli, &uas, "unreachable", "manage");
    take(&mut lines, "rtpengine unreachable", got);
    g.stop().expect("proxy stopped");
    drop(relay);
    daemon.halt();
    lines
}

#[test]
fn rtpengine_calls_as_kamailio_makes_them() {
    assert!(
        Path::new("/usr/bin/rtpengine").exists(),
        "rtpengine is missing (apt-get install rtpengine-daemon)"
    );
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let theirs = run("kamailio", &interp);
    let text = theirs.join("\n");
    // What the cfg means, on Kamailio's side.
    let rcs: Vec<&str> = theirs
        .iter()
        .filter(|l| !l.starts_with("ng") && !l.starts_with("=="))
        .map(|l| header_rc(l))
        .collect();
    assert_eq!(
        rcs,
        [
            "1", "1", "1", "-", // call: INVITE, 200, BYE at the UAS, 200 to BYE
            "-1", "-1", "-1", "-", // silent
            "1", "1", "1", "-", // back
            "-1", "-1", "-1", "-", // unreachable
        ],
        "kamailio's return codes:\n{text}"
    );
    assert!(text.contains("\"command\": \"offer\""), "{text}");
    assert!(
        theirs.iter().any(|l| l.starts_with("uas: INVITE")
            && l.contains("X-Rc 1")
            && l.contains("c=IN IP4 127.0.0.1")),
        "rtpengine's SDP relayed:\n{text}"
    );
    assert!(
        theirs.iter().any(|l| l.contains("uas: INVITE")
            && l.contains("c=IN IP4 192.168.1.10")
            && l.contains("X-Rc -1")),
        "the silent call's SDP untouched:\n{text}"
    );
    for who in ["interpreted", "compiled"] {
        let ours = run(who, &interp);
        tests::assert_same_lines(who, &theirs, &ours);
    }
}

fn header_rc(line: &str) -> &str {
    line.split("| X-Rc ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or("?")
}

// ---- Sets: `tests/rtpengine/sets.cfg` ----

fn sets_cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rtpengine/sets.cfg")
}

fn summary_sets(who: &str, m: &str) -> String {
    format!(
        "{} | X-Set-Rc {} | X-Rec {}",
        summary(who, m),
        header(m, "X-Set-Rc"),
        header(m, "X-Rec")
    )
}

/// What each message of a call carries: X-Set on the INVITE, the 200 and
/// the BYE, and X-Op on each.
struct Plan<'a> {
    name: &'a str,
    sets: [&'a str; 3],
    ops: [&'a str; 3],
}

/// One call as [`call`] makes it, with the plan's headers; the UAS copies
/// nothing but what the 200 needs, and adds the plan's.
fn call_sets(proxy: u16, cli: &UdpSocket, uas: &UdpSocket, p: &Plan<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let c = cli.local_addr().unwrap();
    let u = uas.local_addr().unwrap();
    let name = p.name;
    let callid = format!("rtpe-{name}@test");
    let extra = |i: usize| {
        let mut h = String::new();
        if !p.sets[i].is_empty() {
            h.push_str(&format!("X-Set: {}\r\n", p.sets[i]));
        }
        if !p.ops[i].is_empty() {
            h.push_str(&format!("X-Op: {}\r\n", p.ops[i]));
        }
        h
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
{}\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{OFFER}",
        extra(0),
        OFFER.len()
    );
    cli.send_to(invite.as_bytes(), ("127.0.0.1", proxy))
        .unwrap();
    let Some(at_uas) = recv(uas, |m| m.starts_with("INVITE")) else {
        out.push("uas: no INVITE".into());
        return out;
    };
    out.push(summary_sets("uas", &at_uas));
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
    reply.push_str(&format!(
        "Contact: <sip:bob@{u}>\r\n{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{ANSWER}",
        extra(1),
        ANSWER.len()
    ));
    uas.send_to(reply.as_bytes(), ("127.0.0.1", proxy)).unwrap();
    match recv(cli, |m| m.starts_with("SIP/2.0 200")) {
        Some(m) => out.push(summary_sets("client", &m)),
        None => out.push("client: no 200".into()),
    }
    let bye = format!(
        "BYE sip:bob@{u} SIP/2.0\r\n\
Via: SIP/2.0/UDP {c};branch=z9hG4bK-{name}-2;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=a-{name}\r\n\
To: <sip:bob@127.0.0.1>;tag=b-{name}\r\n\
Call-ID: {callid}\r\n\
CSeq: 2 BYE\r\n\
X-Uas: sip:{u}\r\n\
{}\
Content-Length: 0\r\n\r\n",
        extra(2)
    );
    cli.send_to(bye.as_bytes(), ("127.0.0.1", proxy)).unwrap();
    match recv(uas, |m| m.starts_with("BYE")) {
        Some(m) => {
            out.push(summary_sets("uas", &m));
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
            if recv(cli, |m| m.starts_with("SIP/2.0 200") && m.contains("BYE")).is_none() {
                out.push("client: no 200 to BYE".into());
            }
        }
        None => out.push("uas: no BYE".into()),
    }
    out.iter()
        .map(|l| l.replace(&u.to_string(), "UAS"))
        .collect()
}

/// A call name whose Call-ID (`rtpe-NAME@test`) picks, in set 1 (weights
/// 1 and 2), the first instance (`first`) or the second.
fn name_picking(prefix: &str, first: bool) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|n| {
            let sum = format!("rtpe-{n}@test")
                .bytes()
                .fold(0u32, |s, b| s.wrapping_add(u32::from(b)))
                & 0xff;
            (sum % 3 == 0) == first
        })
        .unwrap()
}

fn run_sets(who: &str, interp: &Path) -> Vec<String> {
    let rtp = 30000 + (free_port() % 150) * 200;
    let (ng1, ng2) = (free_port(), free_port());
    let mut d1 = tests::rtpengine_daemon(ng1, rtp);
    let mut d2 = tests::rtpengine_daemon(ng2, rtp + 100);
    // Relays: R0 (set 0) and R1a, R1b (set 1) in front of the first
    // daemon, R2 (set 2) in front of the second.
    let names = ["R0", "R1a", "R1b", "R2"];
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let relays: Vec<Relay> = ports
        .iter()
        .zip([ng1, ng1, ng1, ng2])
        .map(|(&p, ng)| Relay::start(p, ng))
        .collect();
    let defines = vec![
        (
            "SOCK0".to_string(),
            format!("\"udp:127.0.0.1:{}\"", ports[0]),
        ),
        (
            "SOCK1".to_string(),
            format!(
                "\"1 == udp:127.0.0.1:{}=1 udp:127.0.0.1:{}=2\"",
                ports[1], ports[2]
            ),
        ),
        (
            "SOCK2".to_string(),
            format!("\"2 == udp:127.0.0.1:{}\"", ports[3]),
        ),
    ];
    let (g, proxy) = tests::start_contender(who, &sets_cfg(), &defines, "rtpengine-sets", interp);
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
        for (n, r) in names.iter().zip(&relays) {
            let seen: Vec<Vec<u8>> = std::mem::take(&mut *r.seen.lock().unwrap());
            lines.extend(seen.iter().map(|d| format!("{n}: {}", command(d))));
        }
    };
    let t0 = std::time::Instant::now();
    while relays.iter().any(|r| r.seen.lock().unwrap().is_empty())
        && t0.elapsed() < Duration::from_secs(3)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    take(&mut lines, "start-up", Vec::new());
    let one_a = name_picking("one", true);
    let one_b = name_picking("one", false);
    let fo = name_picking("fo", true);
    let plans = [
        (
            "the default set",
            Plan {
                name: "zero",
                sets: ["", "", ""],
                ops: ["", "", ""],
            },
        ),
        (
            "set 1, first instance",
            Plan {
                name: &one_a,
                sets: ["1", "1", "1"],
                ops: ["", "", ""],
            },
        ),
        (
            "set 1, second instance",
            Plan {
                name: &one_b,
                sets: ["1", "1", "1"],
                ops: ["", "", "rec"],
            },
        ),
        (
            "set 1 for the INVITE only",
            Plan {
                name: "only",
                sets: ["1", "", ""],
                ops: ["", "", ""],
            },
        ),
        (
            "sets 1 and 2",
            Plan {
                name: "two",
                sets: ["1,2", "1,2", "1,2"],
                ops: ["offer", "answer", ""],
            },
        ),
        (
            "sets 1 and 2, rtpengine_manage",
            Plan {
                name: "two-manage",
                sets: ["1,2", "1,2", "1,2"],
                ops: ["", "", ""],
            },
        ),
        (
            "sets 1 and 2 for the INVITE only",
            Plan {
                name: "stale",
                sets: ["1,2", "", ""],
                ops: ["offer", "answer", ""],
            },
        ),
        (
            "set 2 from a PV",
            Plan {
                name: "pv",
                sets: ["pv2", "pv2", "pv2"],
                ops: ["", "", "rec"],
            },
        ),
        (
            "set 9 from a PV",
            Plan {
                name: "pv9",
                sets: ["pv9", "", ""],
                ops: ["", "", ""],
            },
        ),
    ];
    for (step, p) in &plans {
        let got = call_sets(proxy, &cli, &uas, p);
        take(&mut lines, step, got);
    }
    // Failover within set 1: its first instance silent.
    relays[1].set(DROP);
    let p = Plan {
        name: &fo,
        sets: ["1", "1", "1"],
        ops: ["", "", ""],
    };
    let got = call_sets(proxy, &cli, &uas, &p);
    take(&mut lines, "set 1, first instance silent", got);
    relays[1].set(FORWARD);
    g.stop().expect("proxy stopped");
    drop(relays);
    d1.halt();
    d2.halt();
    lines
}

#[test]
fn rtpengine_sets_as_kamailio_chooses_them() {
    assert!(
        Path::new("/usr/bin/rtpengine").exists(),
        "rtpengine is missing (apt-get install rtpengine-daemon)"
    );
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let theirs = run_sets("kamailio", &interp);
    let text = theirs.join("\n");
    // What the cfg means, on Kamailio's side.
    for want in [
        // Two sets: the offer to both, the first one's SDP to the second.
        "R2: ng {\"call-id\": \"rtpe-two@test\", \"command\": \"offer\"",
        "R1a: ng {\"call-id\": \"rtpe-two@test\", \"command\": \"answer\"",
        // A PV's set.
        "R2: ng {\"call-id\": \"rtpe-pv@test\", \"command\": \"start recording\"",
        // The INVITE's choice is not the reply's.
        "R0: ng {\"call-id\": \"rtpe-only@test\", \"command\": \"answer\"",
        // Failover within set 1.
        "R1b: ng {\"call-id\": \"rtpe-fo0@test\", \"command\": \"offer\"",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    for who in ["interpreted", "compiled"] {
        let ours = run_sets(who, &interp);
        tests::assert_same_lines(who, &theirs, &ours);
    }
}

/// `set_rtpengine_set` of a constant set that is not configured:
/// Kamailio refuses to start (its fixup), and so do ours.
#[test]
fn an_unknown_constant_rtpengine_set_refuses_the_start() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtpengine/unknown_set.cfg");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rtpengine");
    std::fs::create_dir_all(&tmp).expect("temporary directory");
    let port = free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let k = cfgc_test_support::Kamailio::new(&cfg, listen.clone(), tmp.join("rundir"))
        .module_dir(Some(cfgc_test_support::module_dir()));
    let (refused, log) = tests::refuses(k.command(), &tmp.join("kamailio-unknown-set.log"));
    assert!(
        refused && log.contains("rtpp_proxy set 7 not configured"),
        "kamailio starts with set 7 unknown:\n{log}"
    );
    let bin = tests::build_proxy(&cfg, &[], "rtpengine-unknown-set");
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

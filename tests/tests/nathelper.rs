//! nathelper's NAT detection, differential: `nat_uac_test` (each bit of
//! 5.6 alone, and 19 as the stock config's NATDETECT) and `is_rfc1918`
//! over requests whose Via, Contact, SDP, `$du` and R-URI say what a
//! client behind NAT says; the same requests to `kamailio -f`, to the
//! compiled proxy and to the interpreter (`tests/nathelper/kamailio.cfg`
//! answers every result in the reason), Kamailio's answers checked
//! against what the cfg means, ours against Kamailio's.
//!
//! Everything is sent from 127.0.0.1, a public source address for
//! nathelper: bit 32 (a private source) is only seen false here (the
//! private ranges themselves are unit tests of the runtime's module).

use std::path::{Path, PathBuf};

use cfgc_test_support::udp_exchange;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("nathelper/kamailio.cfg")
}

/// One request: its name, then how its parts are written (`PORT` is
/// the client's port, `SRC` its address 127.0.0.1).
struct Case {
    name: &'static str,
    ruri: &'static str,
    via: &'static str,
    contact: Option<&'static str>,
    extra: &'static str,
    sdp: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "direct",
        ruri: "sip:bob@127.0.0.1",
        via: "SRC:PORT",
        contact: Some("<sip:alice@SRC:PORT>"),
        extra: "X-Addr: 172.20.1.1\r\n",
        sdp: Some("c=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"),
    },
    Case {
        name: "behind-nat",
        ruri: "sip:bob@127.0.0.1",
        via: "192.168.1.10:5060",
        contact: Some("<sip:alice@192.168.1.10:5060;transport=udp>"),
        extra: "X-Addr: 172.32.1.1\r\n",
        sdp: Some("c=IN IP4 192.168.1.10\r\nm=audio 4000 RTP/AVP 0\r\n"),
    },
    Case {
        name: "hostnames",
        ruri: "sip:bob@127.0.0.1",
        via: "client.example:PORT",
        contact: Some("\"A\" <sip:alice@client.example>;expires=60"),
        extra: "X-Addr: 100.64.7.7\r\n",
        sdp: None,
    },
    Case {
        name: "media-c-line",
        ruri: "sip:bob@127.0.0.1",
        via: "SRC:PORT",
        contact: Some("<sip:alice@SRC:PORT>"),
        extra: "X-Addr: 192.0.0.200\r\n",
        sdp: Some("c=IN IP4 203.0.113.5\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\n"),
    },
    Case {
        name: "null-media-first",
        ruri: "sip:bob@127.0.0.1",
        via: "SRC:PORT",
        contact: Some("<sip:alice@SRC:PORT>"),
        extra: "X-Addr: ::1\r\n",
        sdp: Some(
            "c=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\nm=video 4002 RTP/AVP 31\r\nc=IN IP4 10.0.0.2\r\n",
        ),
    },
    Case {
        name: "inet-aton-forms",
        ruri: "sip:bob@127.0.0.1",
        via: "SRC:PORT",
        contact: Some("<sip:alice@10.1:PORT>"),
        extra: "X-Addr: 0xc0.0250.1.1\r\n",
        sdp: None,
    },
    Case {
        name: "du-other-port",
        ruri: "sip:bob@127.0.0.1:5060",
        via: "SRC:PORT",
        contact: Some("<sip:alice@SRC:PORT>"),
        extra: "X-Du: sip:127.0.0.1:5070\r\nX-Addr: example.com\r\n",
        sdp: None,
    },
    Case {
        name: "du-same",
        ruri: "sip:bob@127.0.0.1",
        via: "SRC:PORT",
        contact: Some("<sip:alice@SRC:PORT>"),
        extra: "X-Du: sip:127.0.0.1:5060;transport=udp\r\n",
        sdp: None,
    },
    Case {
        name: "du-hostname",
        ruri: "sip:bob@127.0.0.1",
        via: "SRC:PORT",
        contact: None,
        extra: "X-Du: sip:proxy.example\r\n",
        sdp: None,
    },
    Case {
        name: "ruri-ws",
        ruri: "sip:bob@127.0.0.1;transport=ws",
        via: "SRC:PORT",
        contact: Some("*"),
        extra: "",
        sdp: None,
    },
];

fn request(c: &Case, local: std::net::SocketAddr) -> String {
    let fill = |s: &str| {
        s.replace("PORT", &local.port().to_string())
            .replace("SRC", &local.ip().to_string())
    };
    let body = c
        .sdp
        .map(|s| format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n{s}"));
    let mut m = format!(
        "OPTIONS {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {via};branch=z9hG4bK-nh-{name};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=nh1\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: nathelper-{name}@test\r\n\
CSeq: 1 OPTIONS\r\n",
        ruri = c.ruri,
        via = fill(c.via),
        name = c.name,
    );
    if let Some(ct) = c.contact {
        m.push_str(&format!("Contact: {}\r\n", fill(ct)));
    }
    m.push_str(c.extra);
    match body {
        Some(b) => m.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m
}

fn answers(port: u16) -> Vec<String> {
    CASES
        .iter()
        .map(|c| {
            let a = udp_exchange(port, |local| request(c, local));
            let line = a.map_or_else(
                || "timeout".into(),
                |a| a.lines().next().unwrap_or("").to_string(),
            );
            format!("{}: {line}", c.name)
        })
        .collect()
}

#[test]
fn nat_detection_answers_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "nathelper-detect", &interp);
        let got = answers(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    let expected: Vec<String> = EXPECTED.iter().map(|s| (*s).to_string()).collect();
    assert_eq!(theirs, &expected, "kamailio answers otherwise");
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} answers differently");
    }
}

/// Bits in order 1, 2, 4, 8, 16, 32, 64, 128, 256, 512.
const EXPECTED: &[&str] = &[
    "direct: SIP/2.0 200 nat 0000000000 any 0 addr private",
    "behind-nat: SIP/2.0 200 nat 1111100110 any 1 addr public",
    "hostnames: SIP/2.0 200 nat 0100000100 any 1 addr private",
    "media-c-line: SIP/2.0 200 nat 0001000010 any 0 addr private",
    "null-media-first: SIP/2.0 200 nat 0000000000 any 0 addr public",
    "inet-aton-forms: SIP/2.0 200 nat 1000000000 any 1 addr private",
    "du-other-port: SIP/2.0 200 nat 0000000001 any 0 addr public",
    "du-same: SIP/2.0 200 nat 0000000000 any 0 addr -",
    "du-hostname: SIP/2.0 200 nat 0000000001 any 0 addr -",
    "ruri-ws: SIP/2.0 200 nat 0000000001 any 0 addr -",
];

/// A request whose Contact or R-URI the cfg rewrites (`X-Op`), sent back
/// to the client: its name, the operation, the R-URI and the Contact
/// header (`None`: no Contact).
const EDITS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "fix",
        "fix",
        "sip:bob@127.0.0.1",
        Some("<sip:alice@192.168.1.10:5060;transport=udp>;expires=60"),
    ),
    (
        "fix-maddr",
        "fix",
        "sip:bob@127.0.0.1",
        Some("<sip:alice@192.168.1.10;maddr=10.0.0.1;lr>"),
    ),
    (
        "fix-bare",
        "fix",
        "sip:bob@127.0.0.1",
        Some("sip:alice@192.168.1.10:5062;expires=60"),
    ),
    (
        "set",
        "set",
        "sip:bob@127.0.0.1",
        Some("\"Alice\" <sip:alice@192.168.1.10:5060;transport=udp>;+sip.instance=\"<urn:x>\""),
    ),
    (
        "set-bare",
        "set",
        "sip:bob@127.0.0.1",
        Some("sip:alice@192.168.1.10:5060;transport=tcp;expires=3"),
    ),
    (
        "add",
        "add",
        "sip:bob@127.0.0.1",
        Some("<sip:alice@192.168.1.10:5060;transport=udp>"),
    ),
    (
        "add-bare",
        "add",
        "sip:bob@127.0.0.1",
        Some("sip:alice@192.168.1.10;expires=60"),
    ),
    (
        "add-same",
        "add",
        "sip:bob@127.0.0.1",
        Some("<sip:alice@SRC:PORT;transport=udp>"),
    ),
    (
        "add-same-no-transport",
        "add",
        "sip:bob@127.0.0.1",
        Some("<sip:alice@SRC:PORT>"),
    ),
    ("add-none", "add", "sip:bob@127.0.0.1", None),
    (
        "twice",
        "twice",
        "sip:bob@127.0.0.1",
        Some("<sip:alice@192.168.1.10:5060>"),
    ),
    (
        "ruri",
        "ruri",
        "sip:alice@10.0.0.5:5060;alias=192.168.1.10~5062~1;lr",
        None,
    ),
    (
        "ruri-tcp",
        "ruri",
        "sip:alice@10.0.0.5;alias=192.168.1.10~5062~2",
        None,
    ),
    (
        "ruri-two",
        "ruri",
        "sip:alice@10.0.0.5;alias=192.0.2.1~5060~1;alias=192.0.2.2~5070~1;x=y",
        None,
    ),
    (
        "ruri-last",
        "ruri-last",
        "sip:alice@10.0.0.5;alias=192.0.2.1~5060~1;alias=192.0.2.2~5070~1;x=y",
        None,
    ),
    (
        "ruri-last-end",
        "ruri-last",
        "sip:alice@10.0.0.5;x=y;alias=192.0.2.1~5060~1;alias=192.0.2.2~5070~2",
        None,
    ),
    (
        "ruri-last-one",
        "ruri-last",
        "sip:alice@10.0.0.5;alias=192.0.2.2~5070~1",
        None,
    ),
    ("ruri-none", "ruri", "sip:alice@10.0.0.5;lr", None),
    (
        "ruri-bad",
        "ruri",
        "sip:alice@10.0.0.5;alias=192.168.1.10:5062;lr",
        None,
    ),
];

fn edited(port: u16) -> Vec<String> {
    EDITS
        .iter()
        .map(|(name, op, ruri, contact)| {
            let a = udp_exchange(port, |local| {
                let fill = |s: &str| {
                    s.replace("PORT", &local.port().to_string())
                        .replace("SRC", &local.ip().to_string())
                };
                let contact =
                    contact.map_or(String::new(), |c| format!("Contact: {}\r\n", fill(c)));
                format!(
                    "OPTIONS {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-nhe-{name};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=nh2\r\n\
To: <sip:bob@127.0.0.1>\r\n\
Call-ID: nathelper-edit-{name}@test\r\n\
CSeq: 1 OPTIONS\r\n\
{contact}X-Op: {op}\r\n\
Content-Length: 0\r\n\r\n"
                )
            });
            let Some(a) = a else {
                return format!("{name}: timeout");
            };
            // What the rewrite shows: the request line, the Contact and
            // the cfg's report.
            let lines: Vec<&str> = a
                .lines()
                .enumerate()
                .filter(|(i, l)| {
                    *i == 0
                        || l.starts_with("Contact:")
                        || l.starts_with("X-Rc:")
                        || l.starts_with("X-Du-Set:")
                })
                .map(|(_, l)| l)
                .collect();
            format!("{name}: {}", lines.join(" | "))
        })
        .collect()
}

#[test]
fn contact_and_ruri_rewrites_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "nathelper-edit", &interp);
        // The client's port differs per run: written as PORT.
        let got: Vec<String> = edited(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for l in theirs {
        eprintln!("{l}");
    }
    for (who, got) in &all[1..] {
        assert_eq!(
            normalise(got),
            normalise(theirs),
            "{who} rewrites differently"
        );
    }
    assert!(!theirs.is_empty() && theirs.iter().all(|l| !l.contains("timeout")));
}

/// The answers with client ports (different on every run) as `PORT`.
fn normalise(v: &[String]) -> Vec<String> {
    let re = regex::Regex::new(r"127\.0\.0\.1([:~])\d+").expect("regex");
    v.iter()
        .map(|l| re.replace_all(l, "127.0.0.1${1}PORT").into_owned())
        .collect()
}

/// REGISTERs (user, `X-Reg`, Contact), then a lookup of each user.
const REGISTERS: &[(&str, &str, &str)] = &[
    // fix_nated_register: the source goes to received_avp, registrar
    // saves it as the binding's received address.
    ("natted", "fix", "<sip:natted@192.168.1.10:5060>"),
    // A Contact's own `received` parameter wins over the AVP.
    (
        "param",
        "fix",
        "<sip:param@192.168.1.11:5060>;received=\"sip:198.51.100.7:5099\"",
    ),
    // Without fix_nated_register nothing is received.
    ("plain", "none", "<sip:plain@192.168.1.12:5060>"),
];

fn registered(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (user, reg, contact)) in REGISTERS.iter().enumerate() {
        let a = udp_exchange(port, |local| {
            format!(
                "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-nhr-{i};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@127.0.0.1>;tag=nhr{i}\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: nathelper-reg-{i}@test\r\n\
CSeq: 1 REGISTER\r\n\
Contact: {contact}\r\n\
X-Reg: {reg}\r\n\
Expires: 600\r\n\
Content-Length: 0\r\n\r\n"
            )
        });
        let a = a.unwrap_or_else(|| "timeout".into());
        let lines: Vec<&str> = a
            .lines()
            .filter(|l| l.starts_with("SIP/2.0") || l.starts_with("Contact:"))
            .collect();
        out.push(format!("register {user}: {}", lines.join(" | ")));
    }
    for (user, _, _) in REGISTERS {
        let a = udp_exchange(port, |local| {
            format!(
                "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-nhl-{user};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:caller@127.0.0.1>;tag=nhl\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: nathelper-lookup-{user}@test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Lookup: {user}\r\n\
Content-Length: 0\r\n\r\n"
            )
        });
        let line = a.map_or_else(
            || "timeout".into(),
            |a| a.lines().next().unwrap_or("").to_string(),
        );
        out.push(format!("lookup {user}: {line}"));
    }
    out
}

#[test]
fn nated_registrations_keep_the_source_like_kamailio() {
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &[], "nathelper-register", &interp);
        let got = normalise(&registered(port));
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    let expected: Vec<String> = REGISTERED.iter().map(|s| (*s).to_string()).collect();
    assert_eq!(theirs, &expected, "kamailio answers otherwise");
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} registers differently");
    }
}

const REGISTERED: &[&str] = &[
    "register natted: SIP/2.0 200 OK | Contact: <sip:natted@192.168.1.10:5060>;expires=600;received=\"sip:127.0.0.1:PORT\"",
    "register param: SIP/2.0 200 OK | Contact: <sip:param@192.168.1.11:5060>;expires=600;received=\"sip:198.51.100.7:5099\"",
    "register plain: SIP/2.0 200 OK | Contact: <sip:plain@192.168.1.12:5060>;expires=600",
    "lookup natted: SIP/2.0 200 lookup 1 du=sip:127.0.0.1:PORT ru=sip:natted@192.168.1.10:5060",
    "lookup param: SIP/2.0 200 lookup 1 du=sip:198.51.100.7:5099 ru=sip:param@192.168.1.11:5060",
    "lookup plain: SIP/2.0 200 lookup 1 du=<null> ru=sip:plain@192.168.1.12:5060",
];

/// What a contact socket received within `window`: each datagram as
/// text (a SIP ping, answered 200 like a phone) or `<4 zero bytes>`.
fn collect(sock: &std::net::UdpSocket, window: std::time::Duration) -> Vec<String> {
    let until = std::time::Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left)).expect("timeout");
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            break;
        };
        let data = &buf[..n];
        if data == [0, 0, 0, 0] {
            got.push("<4 zero bytes>".to_string());
            continue;
        }
        let text = String::from_utf8_lossy(data).into_owned();
        // Answer the ping as a phone would: the proxy must take the reply
        // (relaying it nowhere).
        let mut reply = String::from("SIP/2.0 200 OK\r\n");
        for l in text.lines() {
            if ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                .iter()
                .any(|h| l.starts_with(h))
            {
                reply.push_str(l);
                reply.push_str("\r\n");
            }
        }
        reply.push_str("Content-Length: 0\r\n\r\n");
        let _ = sock.send_to(reply.as_bytes(), from);
        got.push(text);
    }
    got
}

/// A SIP ping with what is random per run written as letters: the
/// branch, the From tag's ruid and counter (its AoR hash stays), the
/// Call-ID's parts, the proxy's port.
fn normalise_ping(ping: &str, proxy: u16) -> String {
    let subs = [
        (r"z9hG4bK\d{7}", "z9hG4bKBRANCH"),
        (
            r"(?m);tag=\S*-([0-9a-f]+)-[0-9a-f]+(\r?)$",
            ";tag=RUID-$1-COUNTER$2",
        ),
        (
            r"Call-ID: [0-9a-f]+-[0-9a-f]+-[0-9a-f]+@",
            "Call-ID: FIXED-COUNTER-TICKS@",
        ),
    ];
    let mut s = ping.replace(&format!("127.0.0.1:{proxy}"), "127.0.0.1:PROXY");
    for (re, to) in subs {
        s = regex::Regex::new(re)
            .expect("regex")
            .replace_all(&s, to)
            .into_owned();
    }
    s
}

#[test]
fn nat_pings_like_kamailio() {
    use std::net::UdpSocket;
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("nathelper/natping.cfg");
    let window = std::time::Duration::from_millis(3500);
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg, &[], "nathelper-natping", &interp);
        let socks: Vec<(&str, UdpSocket)> = ["sip", "udp", "none"]
            .into_iter()
            .map(|k| (k, UdpSocket::bind("127.0.0.1:0").expect("contact socket")))
            .collect();
        for (i, (kind, s)) in socks.iter().enumerate() {
            let contact = s.local_addr().expect("address");
            let a = udp_exchange(port, |local| {
                format!(
                    "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-nhp-{i};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{kind}@127.0.0.1>;tag=nhp{i}\r\n\
To: <sip:{kind}@127.0.0.1>\r\n\
Call-ID: nathelper-ping-{i}@test\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:{kind}@{contact}>\r\n\
X-Nat: {kind}\r\n\
Expires: 600\r\n\
Content-Length: 0\r\n\r\n"
                )
            });
            assert!(
                a.as_deref().is_some_and(|a| a.starts_with("SIP/2.0 200")),
                "{who}: REGISTER {kind}: {a:?}"
            );
        }
        // The three sockets listen at once.
        let got: Vec<(String, Vec<String>)> = std::thread::scope(|sc| {
            let hs: Vec<_> = socks
                .iter()
                .map(|(kind, s)| {
                    let contact = s.local_addr().expect("address").port();
                    sc.spawn(move || {
                        let pings = collect(s, window)
                            .into_iter()
                            .map(|p| {
                                normalise_ping(&p, port)
                                    .replace(&format!("127.0.0.1:{contact}"), "127.0.0.1:CONTACT")
                            })
                            .collect();
                        ((*kind).to_string(), pings)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("collector"))
                .collect()
        });
        g.stop().expect("stopped");
        all.push((who, got));
    }
    for (who, got) in &all {
        for (kind, pings) in got {
            // One ping a second: 3 or 4 in the window, depending on where
            // the proxy's second falls; none for a contact without the
            // NAT flag.
            match kind.as_str() {
                "none" => assert!(pings.is_empty(), "{who} pinged {kind}: {pings:?}"),
                _ => assert!(
                    (3..=4).contains(&pings.len()),
                    "{who} pinged {kind} {} times: {pings:?}",
                    pings.len()
                ),
            }
            if kind == "udp" {
                assert!(
                    pings.iter().all(|p| p == "<4 zero bytes>"),
                    "{who}: {pings:?}"
                );
            }
        }
    }
    // The SIP pings themselves, every header, as Kamailio writes them.
    let sip = |got: &Vec<(String, Vec<String>)>| -> String {
        got.iter()
            .find(|(k, _)| k == "sip")
            .and_then(|(_, p)| p.first().cloned())
            .unwrap_or_default()
    };
    let theirs = sip(&all[0].1);
    eprintln!("kamailio's SIP ping:\n{theirs}");
    assert!(
        theirs.starts_with("OPTIONS sip:sip@127.0.0.1:CONTACT SIP/2.0\r\n"),
        "{theirs}"
    );
    for (who, got) in &all[1..] {
        assert_eq!(sip(got), theirs, "{who}'s SIP ping differs");
    }
}

//! uac, differential: the calls of `tests/uac/kamailio.cfg` through
//! `kamailio -f`, the compiled proxy and the interpreter. Each call is an
//! INVITE whose R-URI user says what the cfg replaces (From, To, display
//! names) or that the UAS challenges it (401/407, answered by
//! `uac_auth()` in the failure route); the UAS (a socket of the test)
//! answers 200, then the client ACKs and hangs up along the Record-Route
//! (downstream: the proxy puts the new URIs back), and the UAS sends a
//! request the other way (upstream: the proxy restores the original
//! URIs). Every message the UAS and the client receive is compared byte
//! for byte, after naming the proxy's port and hiding the proxy's Via
//! branches and the `Server` header's text.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("uac/kamailio.cfg")
}

const WAIT: Duration = Duration::from_secs(3);

fn recv(sock: &UdpSocket) -> Option<String> {
    let mut buf = [0u8; 65536];
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n").find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.split("\r\n")
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
        .collect()
}

/// A reply to `req`: its Vias, Record-Routes, From, To (tagged if it has
/// no tag), Call-ID and CSeq, then `extra` lines.
fn reply(req: &str, status: &str, to_tag: &str, extra: &str) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for l in req.split("\r\n").skip(1) {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("via:")
            || lower.starts_with("record-route:")
            || lower.starts_with("from:")
            || lower.starts_with("call-id:")
            || lower.starts_with("cseq:")
        {
            r.push_str(l);
            r.push_str("\r\n");
        } else if lower.starts_with("to:") {
            r.push_str(l);
            if !lower.contains(";tag=") {
                r.push_str(";tag=");
                r.push_str(to_tag);
            }
            r.push_str("\r\n");
        }
    }
    r.push_str(extra);
    r.push_str("Content-Length: 0\r\n\r\n");
    r
}

/// Drops what is left on `sock` (late retransmissions of a case).
fn drain(sock: &UdpSocket) {
    let mut buf = [0u8; 65536];
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    while sock.recv_from(&mut buf).is_ok() {}
}

/// What one call through the proxy looked like.
fn call(pport: u16, client: &UdpSocket, uas: &UdpSocket, case: &Case) -> Vec<String> {
    let cport = client.local_addr().expect("addr").port();
    let uport = uas.local_addr().expect("addr").port();
    let proxy = ("127.0.0.1", pport);
    let user = case.user;
    let call_id = format!("uac-{user}@test");
    let mut seen = Vec::new();
    let mut note = |who: &str, m: &str| seen.push(format!("{who} <<\n{m}"));
    drain(client);
    drain(uas);
    let invite = format!(
        "INVITE sip:{user}@uas.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-t-{user}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: {}\r\n\
To: {}\r\n\
Call-ID: {call_id}\r\n\
CSeq: 10 INVITE\r\n\
Contact: <sip:tester@127.0.0.1:{cport}>\r\n\
Content-Length: 0\r\n\r\n",
        case.from, case.to
    );
    client.send_to(invite.as_bytes(), proxy).expect("send");
    // The UAS: a challenge first for the auth cases, then 200.
    let mut received_invite = None;
    let mut to_proxy = None;
    while let Some(m) = {
        uas.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut buf = [0u8; 65536];
        uas.recv_from(&mut buf).ok().map(|(n, a)| {
            to_proxy = Some(a);
            String::from_utf8_lossy(&buf[..n]).into_owned()
        })
    } {
        note("uas", &m);
        if m.starts_with("ACK ") {
            continue;
        }
        let authed =
            header(&m, "Authorization").is_some() || header(&m, "Proxy-Authorization").is_some();
        let a = to_proxy.expect("from");
        if let Some(challenge) = case.challenge.filter(|_| !authed) {
            uas.send_to(reply(&m, challenge.0, "c1", challenge.1).as_bytes(), a)
                .expect("send");
            continue;
        }
        let contact = format!("Contact: <sip:callee@127.0.0.1:{uport}>\r\n");
        uas.send_to(reply(&m, "200 OK", "b2", &contact).as_bytes(), a)
            .expect("send");
        received_invite = Some(m);
        break;
    }
    // The client: provisional replies, then the final one.
    let mut ok = None;
    while let Some(m) = recv(client) {
        note("client", &m);
        let code: u16 = m
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if code >= 200 {
            if code < 300 {
                ok = Some(m);
            }
            break;
        }
    }
    let (Some(ok), Some(inv)) = (ok, received_invite) else {
        return seen;
    };
    // In the dialog, downstream: ACK, then BYE along the Record-Route.
    let route = headers(&ok, "Record-Route").join(", ");
    let (from, to) = (
        header(&ok, "From").unwrap_or_default().to_string(),
        header(&ok, "To").unwrap_or_default().to_string(),
    );
    for (method, cseq) in [("ACK", 10), ("BYE", 11)] {
        let req = format!(
            "{method} sip:callee@127.0.0.1:{uport} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-t-{user}-{method};rport\r\n\
Max-Forwards: 70\r\n\
Route: {route}\r\n\
From: {from}\r\n\
To: {to}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
Content-Length: 0\r\n\r\n"
        );
        client.send_to(req.as_bytes(), proxy).expect("send");
        let Some(m) = recv(uas) else {
            note("uas", "(nothing)");
            return seen;
        };
        note("uas", &m);
        if method == "BYE" {
            uas.send_to(reply(&m, "200 OK", "b2", "").as_bytes(), proxy)
                .expect("send");
            match recv(client) {
                Some(r) => note("client", &r),
                None => note("client", "(nothing)"),
            }
        }
    }
    // Upstream: the UAS sends a request to the caller, its From and To as
    // the UAS knows them.
    let req = format!(
        "INFO sip:tester@127.0.0.1:{cport} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{uport};branch=z9hG4bK-t-{user}-up;rport\r\n\
Max-Forwards: 70\r\n\
Route: {route}\r\n\
From: {};tag=b2\r\n\
To: {}\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INFO\r\n\
Content-Length: 0\r\n\r\n",
        header(&inv, "To").unwrap_or_default(),
        header(&inv, "From").unwrap_or_default(),
    );
    uas.send_to(req.as_bytes(), proxy).expect("send");
    let Some(m) = recv(client) else {
        note("client", "(nothing)");
        return seen;
    };
    note("client", &m);
    client
        .send_to(reply(&m, "200 OK", "a1", "").as_bytes(), proxy)
        .expect("send");
    match recv(uas) {
        Some(r) => note("uas", &r),
        None => note("uas", "(nothing)"),
    }
    seen
}

/// The proxy's port named, its Via branches hidden (the test's own start
/// with `z9hG4bK-t-`), the To-tags of its own replies hidden, the
/// `Server` text dropped.
fn normalise(s: &str, pport: u16) -> String {
    let s = s.replace(&format!("127.0.0.1:{pport}"), "PROXY");
    let mut out = String::new();
    for line in s.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("server:") {
            out.push_str("Server: ...\r\n");
            continue;
        }
        let mut l = line.to_string();
        // A To-tag tm made (`md5-hash`, which hashes the proxy's socket).
        if let Some(i) = l.find(";tag=") {
            let tag = &l[i + 5..];
            let end = tag.find(';').unwrap_or(tag.len());
            let t = &tag[..end];
            if t.len() > 33 && t.as_bytes()[32] == b'-' {
                l.replace_range(i + 5..i + 5 + end, "LOCAL");
            }
        }
        if l.to_ascii_lowercase().starts_with("via:")
            && let Some(i) = l.find("branch=")
            && !l[i..].starts_with("branch=z9hG4bK-t-")
        {
            let end = l[i..].find(';').map_or(l.len(), |e| i + e);
            l.replace_range(i..end, "branch=BRANCH");
        }
        out.push_str(&l);
        out.push_str("\r\n");
    }
    out
}

struct Case {
    user: &'static str,
    from: &'static str,
    to: &'static str,
    /// The UAS's challenge (status, header line) before it answers 200.
    challenge: Option<(&'static str, &'static str)>,
}

const ALICE: &str = "\"Alice\" <sip:alice@example.com>;tag=a1";

fn cases() -> Vec<Case> {
    let c = |user, from, to| Case {
        user,
        from,
        to,
        challenge: None,
    };
    vec![
        c("from1", ALICE, "sip:from1@example.com"),
        c(
            "from2",
            "<sip:alice@example.com>;tag=a1",
            "<sip:from2@example.com>",
        ),
        c("from3", ALICE, "sip:from3@example.com"),
        c(
            "fromdsp",
            "sip:alice@example.com;tag=a1",
            "sip:fromdsp@example.com",
        ),
        c("to1", ALICE, "sip:to1@example.com"),
        c("to2", ALICE, "sip:to2@example.com"),
        c("both", ALICE, "\"Bob\" <sip:both@example.com>"),
        c("twice", ALICE, "sip:twice@example.com"),
        c("plain", ALICE, "sip:plain@example.com"),
        c("branch", ALICE, "<sip:branch@example.com>"),
        Case {
            user: "auth407",
            from: ALICE,
            to: "sip:auth407@example.com",
            challenge: Some((
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Digest realm=\"proxy.example.org\", nonce=\"5f2a9c1e0b\", qop=\"auth\", opaque=\"op4que\", algorithm=MD5\r\n",
            )),
        },
        Case {
            user: "auth401",
            from: ALICE,
            to: "sip:auth401@example.com",
            challenge: Some((
                "401 Unauthorized",
                "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"abcdef0123\"\r\n",
            )),
        },
        Case {
            user: "authha1",
            from: ALICE,
            to: "sip:authha1@example.com",
            challenge: Some((
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Digest realm=\"ha1.example.net\", nonce=\"0a1b2c3d\", qop=\"auth,auth-int\"\r\n",
            )),
        },
        Case {
            user: "authavp",
            from: ALICE,
            to: "sip:authavp@example.com",
            challenge: Some((
                "401 Unauthorized",
                "WWW-Authenticate: Digest realm=\"avp.example.com\", nonce=\"fe dc\"\r\n",
            )),
        },
        Case {
            user: "authany",
            from: ALICE,
            to: "sip:authany@example.com",
            challenge: Some((
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Digest realm=\"example.com\", nonce=\"n0nc3\", stale=false\r\n",
            )),
        },
        Case {
            user: "authunknown",
            from: ALICE,
            to: "sip:authunknown@example.com",
            challenge: Some((
                "401 Unauthorized",
                "WWW-Authenticate: Digest realm=\"elsewhere.net\", nonce=\"abcdef0123\"\r\n",
            )),
        },
    ]
}

type Seen = Vec<(String, Vec<String>)>;

/// Every case through `kamailio -f`, the compiled proxy and the
/// interpreter, with `extra` defines.
fn run_all(extra: &[(&str, &str)], build_name: &str) -> Vec<(&'static str, Seen)> {
    let uas = UdpSocket::bind("127.0.0.1:0").expect("uas");
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    let dport = uas.local_addr().expect("addr").port();
    let mut defines = vec![("DSTPORT".to_string(), dport.to_string())];
    defines.extend(extra.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = tests::start_contender(who, &cfg(), &defines, build_name, &interp);
        let seen: Seen = cases()
            .iter()
            .map(|c| {
                let s = call(port, &client, &uas, c);
                (
                    c.user.to_string(),
                    s.iter().map(|m| normalise(m, port)).collect(),
                )
            })
            .collect();
        g.stop().expect("stopped");
        if let Some(dir) = std::env::var_os("UAC_DUMP") {
            let text: Vec<String> = seen
                .iter()
                .map(|(u, s)| format!("==== {u}\n{}", s.join("\n")))
                .collect();
            std::fs::write(
                Path::new(&dir).join(format!("{build_name}-{who}.txt")),
                text.join("\n"),
            )
            .expect("dump");
        }
        all.push((who, seen));
    }
    all
}

/// Ours, compiled and interpreted, against Kamailio's, message by
/// message.
fn assert_like_kamailio(all: &[(&str, Seen)]) {
    let theirs = &all[0].1;
    for (who, seen) in &all[1..] {
        for ((user, want), (_, got)) in theirs.iter().zip(seen) {
            assert_eq!(
                got.len(),
                want.len(),
                "{who} {user}: other messages than kamailio's:\n{}\n---- kamailio:\n{}",
                got.join("\n"),
                want.join("\n")
            );
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g, w, "{who} {user}");
            }
        }
    }
}

fn text_of(seen: &Seen, user: &str) -> String {
    seen.iter()
        .find(|(u, _)| u == user)
        .map(|(_, s)| s.join("\n"))
        .unwrap_or_default()
}

#[test]
fn manual_restoration_like_kamailio() {
    let all = run_all(&[("MANUAL", "1")], "uac-manual-proxy");
    // The script restores: the BYE downstream carries the new From again.
    let from1 = text_of(&all[0].1, "from1");
    assert!(
        from1.contains("BYE sip:callee@")
            && from1.contains("X-Restore: ")
            && from1.contains(";vsf=czNjciF3dzVpXDMidzJgexY/aD1jAl8RXV0GBg--"),
        "{from1}"
    );
    assert_like_kamailio(&all);
}

#[test]
fn from_to_replacement_and_uac_auth_like_kamailio() {
    let all = run_all(&[], "uac-proxy");
    let text = |user: &str| text_of(&all[0].1, user);
    // What each case means, in Kamailio's messages.
    let from1 = text("from1");
    assert!(
        from1.contains("From: \"Alice\" <sip:someone.else@example.net>;tag=a1\r\n"),
        "{from1}"
    );
    assert!(
        from1.contains(";vsf=czNjciF3dzVpXDMidzJgexY/aD1jAl8RXV0GBg--"),
        "{from1}"
    );
    assert!(
        from1.contains("From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"),
        "the reply's From is restored: {from1}"
    );
    let branch = text("branch");
    assert!(
        branch.contains("To: \"Branch\" <sip:branch-to@example.org>\r\n")
            && branch.contains("To: <sip:branch@example.com>;tag=b2\r\n"),
        "replaced in the branch route, restored in the reply: {branch}"
    );
    let auth = text("auth407");
    assert!(
        auth.contains("Proxy-Authorization: Digest username=\"bob\""),
        "{auth}"
    );
    let auth = text("auth401");
    assert!(
        auth.contains("Authorization: Digest username=\"alice\""),
        "{auth}"
    );
    assert!(
        text("authunknown").contains("500 uac_auth failed"),
        "{}",
        text("authunknown")
    );
    assert!(
        text("twice").contains("From: \"Alice\" <sip:a@b>;tag=a1"),
        "the second replacement fails: {}",
        text("twice")
    );
    assert_like_kamailio(&all);
}

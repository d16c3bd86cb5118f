//! dialog, differential: calls through `tests/dialog/kamailio.cfg` to
//! `kamailio -f`, to the compiled proxy and to the interpreter. A UAC and
//! a UAS of the test set calls up (INVITE, 180, 200, ACK with the Route the
//! Record-Route gave) and tear them down (BYE); the cfg reports what the
//! dialog module says in headers it adds (`$dlg(...)`, `$dlg_var(...)`,
//! `is_known_dlg`, `is_in_profile`) and, for an OPTIONS, the profile sizes in its reply's
//! reason. Compared: every message the UAC and the UAS receive (Via
//! branches, the proxy's port and the random `h_id` half of the `did`
//! Record-Route parameter normalised), and when a dialog whose lifetime
//! `dlg_set_timeout(2)` shortened leaves its profile; and the operator's
//! `kamcmd dlg.profile_get_size` while two calls are up. Then the BYEs
//! the module sends (`tests/dialog/bye.cfg`: `send_bye` when a lifetime
//! runs out, `dlg_bye()` from the script): what each side receives, when,
//! and the retransmissions to a side that does not answer; and the
//! operator's `kamcmd dlg.end_dlg`/`dlg.terminate_dlg`.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dialog/kamailio.cfg")
}

/// The value of header `name` (first one) in `msg`.
fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .collect()
}

/// The UAS: answers an INVITE with 180 and 200 (its Record-Routes copied,
/// a Contact of its own), or 486 for user `busy`; a BYE with 200. Every
/// message received is kept.
fn uas(sock: &UdpSocket, stop: &AtomicBool, seen: &Mutex<Vec<String>>) {
    let mut buf = [0u8; 65536];
    let local = sock.local_addr().expect("addr");
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let req = String::from_utf8_lossy(&buf[..n]).into_owned();
        seen.lock().expect("lock").push(req.clone());
        let method = req.split(' ').next().unwrap_or("");
        let reply = |code: &str, extra: &str| {
            let mut r = format!("SIP/2.0 {code}\r\n");
            for l in req.lines() {
                let lower = l.to_ascii_lowercase();
                if lower.starts_with("via:")
                    || lower.starts_with("from:")
                    || lower.starts_with("call-id:")
                    || lower.starts_with("cseq:")
                    || lower.starts_with("record-route:")
                {
                    r.push_str(l);
                    r.push_str("\r\n");
                } else if lower.starts_with("to:") {
                    r.push_str(l);
                    if !l.contains("tag=") {
                        r.push_str(";tag=uas1");
                    }
                    r.push_str("\r\n");
                }
            }
            r.push_str(extra);
            r.push_str("Content-Length: 0\r\n\r\n");
            r
        };
        let contact = format!("Contact: <sip:uas@{local}>\r\n");
        match method {
            "INVITE" if req.starts_with("INVITE sip:busy@") => {
                sock.send_to(reply("486 Busy Here", "").as_bytes(), from)
                    .expect("send");
            }
            "INVITE" => {
                sock.send_to(reply("180 Ringing", &contact).as_bytes(), from)
                    .expect("send");
                sock.send_to(reply("200 OK", &contact).as_bytes(), from)
                    .expect("send");
            }
            "BYE" => {
                sock.send_to(reply("200 OK", "").as_bytes(), from)
                    .expect("send");
            }
            _ => {}
        }
    }
}

/// A call of the UAC: its Call-ID, From tag, and once answered the To
/// tag, the Route set and the remote target.
struct Call {
    call_id: String,
    from_user: String,
    ftag: String,
    ttag: String,
    routes: Vec<String>,
    target: String,
}

struct Uac {
    sock: UdpSocket,
    proxy: u16,
    /// Everything received, in order.
    seen: Vec<String>,
}

impl Uac {
    fn new(proxy: u16) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("uac");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        Self {
            sock,
            proxy,
            seen: Vec::new(),
        }
    }

    fn local(&self) -> SocketAddr {
        self.sock.local_addr().expect("addr")
    }

    fn send(&self, msg: &str) {
        self.sock
            .send_to(msg.as_bytes(), ("127.0.0.1", self.proxy))
            .expect("send");
    }

    /// Replies until a final one (or 3 s): the final one.
    fn final_reply(&mut self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut buf = [0u8; 65536];
        while Instant::now() < deadline {
            let Ok((n, _)) = self.sock.recv_from(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            self.seen.push(text.clone());
            let code: u16 = text
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            if code >= 200 {
                return Some(text);
            }
        }
        self.seen.push("timeout".into());
        None
    }

    /// An INVITE to `user` from `from_user`; the 2xx ACKed (with the
    /// Route set), a negative reply ACKed hop by hop.
    fn invite(&mut self, tag: &str, user: &str, from_user: &str) -> Call {
        let local = self.local();
        let port = self.proxy;
        let call_id = format!("dlg-{tag}-7c1e@test");
        let ftag = format!("ft-{tag}");
        let branch = format!("z9hG4bK-{tag}-inv");
        let invite = format!(
            "INVITE sip:{user}@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:{from_user}@127.0.0.1>;tag={ftag}\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 10 INVITE\r\n\
Contact: <sip:{from_user}@{local}>\r\n\
Content-Length: 0\r\n\r\n"
        );
        self.send(&invite);
        let reply = self.final_reply().unwrap_or_default();
        let code = reply.split(' ').nth(1).unwrap_or("").to_string();
        let to = header(&reply, "To").unwrap_or("").to_string();
        let ttag = to.split("tag=").nth(1).unwrap_or("").to_string();
        let mut call = Call {
            call_id,
            from_user: from_user.into(),
            ftag,
            ttag,
            routes: Vec::new(),
            target: String::new(),
        };
        if code.starts_with('2') {
            let mut routes: Vec<String> = headers(&reply, "Record-Route")
                .into_iter()
                .map(String::from)
                .collect();
            routes.reverse();
            call.routes = routes;
            call.target = header(&reply, "Contact")
                .unwrap_or("")
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            self.in_dialog(&call, "ACK", 10, &format!("z9hG4bK-{tag}-ack"));
        } else if !code.is_empty() {
            let ack = format!(
                "ACK sip:{user}@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:{from_user}@127.0.0.1>;tag={ft}\r\n\
To: {to}\r\n\
Call-ID: {cid}\r\n\
CSeq: 10 ACK\r\n\
Content-Length: 0\r\n\r\n",
                ft = call.ftag,
                cid = call.call_id,
            );
            self.send(&ack);
        }
        call
    }

    fn in_dialog(&self, call: &Call, method: &str, cseq: u32, branch: &str) {
        let local = self.local();
        let mut msg = format!("{method} {} SIP/2.0\r\n", call.target);
        msg.push_str(&format!("Via: SIP/2.0/UDP {local};branch={branch}\r\n"));
        msg.push_str("Max-Forwards: 70\r\n");
        for r in &call.routes {
            msg.push_str(&format!("Route: {r}\r\n"));
        }
        msg.push_str(&format!(
            "From: <sip:{}@127.0.0.1>;tag={}\r\n\
To: <sip:x@127.0.0.1>;tag={}\r\n\
Call-ID: {}\r\n\
CSeq: {cseq} {method}\r\n\
Content-Length: 0\r\n\r\n",
            call.from_user, call.ftag, call.ttag, call.call_id
        ));
        self.send(&msg);
    }

    fn bye(&mut self, call: &Call, tag: &str) -> Option<String> {
        self.in_dialog(call, "BYE", 11, &format!("z9hG4bK-{tag}-bye"));
        self.final_reply()
    }

    /// The reason of the reply to an OPTIONS from `from_user`.
    fn sizes(&mut self, from_user: &str, n: u32) -> String {
        let local = self.local();
        let port = self.proxy;
        let msg = format!(
            "OPTIONS sip:q@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-opt-{from_user}-{n}\r\n\
Max-Forwards: 70\r\n\
From: <sip:{from_user}@127.0.0.1>;tag=opt{n}\r\n\
To: <sip:q@127.0.0.1>\r\n\
Call-ID: dlg-opt-{n}-7c1e@test\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        );
        self.send(&msg);
        let r = self.final_reply().unwrap_or_else(|| "timeout".into());
        self.seen.pop();
        r.lines().next().unwrap_or("").to_string()
    }
}

/// Replaces what differs between runs: Via branches, ports of the proxy
/// and of the test's sockets, the random `h_id` in `did=`, the To tag of
/// the proxy's own replies.
fn normalise(msg: &str, ports: &[(u16, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for l in msg.lines() {
        let mut l = l.to_string();
        if let Some(i) = l.find("branch=") {
            let end = l[i..].find([';', ' ']).map_or(l.len(), |e| i + e);
            l.replace_range(i..end, "branch=X");
        }
        if let Some(i) = l.find("did=")
            && let Some(dot) = l[i..].find('.')
        {
            let start = i + dot + 1;
            let end = l[start..]
                .find(|c: char| !c.is_ascii_hexdigit())
                .map_or(l.len(), |e| start + e);
            l.replace_range(start..end, "X");
        }
        // A local reply's To tag: an MD5 of the listening socket (port
        // included) and a CRC of the request.
        if l.starts_with("To:")
            && let Some(i) = l.find("tag=")
            && l.len() - (i + 4) > 32
            && l.as_bytes()[i + 4 + 32] == b'.'
        {
            l.replace_range(i + 4.., "LOCAL");
        }
        for (p, name) in ports {
            l = l.replace(&p.to_string(), name);
        }
        out.push(l);
    }
    out
}

struct Session {
    /// What the UAC received and the OPTIONS answers, in order.
    uac: Vec<String>,
    /// What the UAS received.
    uas: Vec<String>,
    /// When (after the short call's ACK) its dialog left the `short`
    /// profile.
    expired_after: Option<Duration>,
}

/// The operator's commands while two calls are up.
const RPC: &[&str] = &[
    "dlg.profile_get_size calls",
    "dlg.profile_get_size caller alice",
    "dlg.profile_get_size caller bob",
    "dlg.profile_get_size caller",
    "dlg.profile_get_size nope",
    "dlg.profile_get_size",
];

fn session(port: u16, uas_sock: &UdpSocket, rundir: &Path) -> Session {
    let stop = AtomicBool::new(false);
    let uas_seen = Mutex::new(Vec::new());
    let mut uac = Uac::new(port);
    let mut log: Vec<String> = Vec::new();
    let mut expired_after = None;
    std::thread::scope(|s| {
        s.spawn(|| uas(uas_sock, &stop, &uas_seen));
        let a = uac.invite("a", "alice-call", "alice");
        log.push(format!("opt1: {}", uac.sizes("alice", 1)));
        let b = uac.invite("b", "flag", "bob");
        log.push(format!("opt2: {}", uac.sizes("alice", 2)));
        for cmd in RPC {
            log.push(format!("> {cmd}"));
            log.extend(tests::kamcmd(rundir, cmd).lines().map(str::to_string));
        }
        let _c = uac.invite("c", "third", "carol");
        log.push(format!("bye a: {:?}", uac.bye(&a, "a").map(|r| first(&r))));
        log.push(format!("opt3: {}", uac.sizes("alice", 3)));
        log.push(format!("bye b: {:?}", uac.bye(&b, "b").map(|r| first(&r))));
        let _d = uac.invite("d", "busy", "dave");
        log.push(format!("opt4: {}", uac.sizes("dave", 4)));
        let _e = uac.invite("e", "short", "eve");
        let acked = Instant::now();
        log.push(format!("opt5: {}", uac.sizes("eve", 5)));
        let mut n = 6;
        while acked.elapsed() < Duration::from_secs(5) {
            let r = uac.sizes("eve", n);
            n += 1;
            // `sizes calls caller(eve) caller short known`: short is 4th.
            if r.split(' ').nth(6) == Some("0") {
                expired_after = Some(acked.elapsed());
                log.push(format!("expired: {r}"));
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    let dport = uas_sock.local_addr().expect("addr").port();
    let uport = uac.local().port();
    let ports = [(port, "PROXY"), (dport, "UAS"), (uport, "UAC")];
    let mut uac_lines = log;
    for m in &uac.seen {
        uac_lines.push("----".into());
        uac_lines.extend(normalise(m, &ports));
    }
    let mut uas_lines = Vec::new();
    for m in uas_seen.into_inner().expect("lock") {
        uas_lines.push("----".into());
        uas_lines.extend(normalise(&m, &ports));
    }
    Session {
        uac: uac_lines,
        uas: uas_lines,
        expired_after,
    }
}

fn first(msg: &str) -> String {
    msg.lines().next().unwrap_or("").to_string()
}

/// Starts one contender with its ctl socket in a runtime directory of its
/// own: the guard, its port and that directory.
fn start(who: &str, dport: u16) -> (cfgc_test_support::GroupGuard, u16, PathBuf) {
    start_cfg(who, &cfg(), "dialog-proxy", dport)
}

fn start_cfg(
    who: &str,
    cfg: &Path,
    bin_name: &str,
    dport: u16,
) -> (cfgc_test_support::GroupGuard, u16, PathBuf) {
    let wait = Duration::from_secs(20);
    let port = cfgc_test_support::free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-dialog-{who}-{port}"));
    std::fs::create_dir_all(&rundir).expect("rundir");
    let define = format!("DSTPORT={dport}");
    match who {
        "kamailio" => {
            let mut g = cfgc_test_support::Kamailio::new(
                cfg.to_path_buf(),
                format!("udp:127.0.0.1:{port}"),
                rundir.clone(),
            )
            .module_dir(Some(cfgc_test_support::module_dir()))
            .define(define)
            .start(std::process::Stdio::null(), std::process::Stdio::null())
            .expect("kamailio runs (apt-get install kamailio)");
            g.wait_bound(port, "kamailio", wait)
                .expect("kamailio listens");
            (g, port, rundir)
        }
        "compiled" => {
            let d = dport.to_string();
            let bin = tests::build_proxy(cfg, &[("DSTPORT", d.as_str())], bin_name);
            let (g, port) =
                tests::start_ours(&bin, None, &["-Y".as_ref(), rundir.as_os_str()], wait);
            (g, port, rundir)
        }
        _ => {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
            c.arg("-A").arg(define).arg(cfg).arg("--");
            let (g, port) = tests::start_command(c, &["-Y".as_ref(), rundir.as_os_str()], wait);
            (g, port, rundir)
        }
    }
}

#[test]
fn dialogs_profiles_and_lifetime_like_kamailio() {
    let uas_sock = UdpSocket::bind("127.0.0.1:0").expect("uas");
    let dport = uas_sock.local_addr().expect("addr").port();
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port, rundir) = start(who, dport);
        let s = session(port, &uas_sock, &rundir);
        g.stop().expect("stopped");
        all.push((who, s));
    }
    let theirs = &all[0].1;
    // What Kamailio did is what the test expects to compare.
    let joined = theirs.uac.join("\n");
    for want in [
        "opt1: SIP/2.0 200 sizes 1 1 0 0 unknown",
        "opt2: SIP/2.0 200 sizes 2 1 0 0 unknown",
        "SIP/2.0 486 Too many 2",
        "opt3: SIP/2.0 200 sizes 1 0 0 0 unknown",
        "opt4: SIP/2.0 200 sizes 0 0 0 0 unknown",
        "> dlg.profile_get_size caller alice\n1",
    ] {
        assert!(joined.contains(want), "kamailio: no `{want}` in\n{joined}");
    }
    let uas_joined = theirs.uas.join("\n");
    for want in [
        "did=",
        "X-Dlg: known 5",
        "X-Before: out",
        "X-In: alice",
        "X-Vars: manage-alice alice <null> <null>",
        // timeout_avp set for alice only.
        " 300 ft-a <null>",
        " 600 ft-e <null>",
        "X-Vars: flag-bob <null> <null> <null>",
    ] {
        assert!(
            uas_joined.contains(want),
            "kamailio: the UAS saw no `{want}`:\n{uas_joined}"
        );
    }
    let expired = theirs
        .expired_after
        .expect("kamailio: the short dialog never expired");
    for (who, s) in &all[1..] {
        tests::assert_same_lines(&format!("{who} (UAC)"), &theirs.uac, &s.uac);
        tests::assert_same_lines(&format!("{who} (UAS)"), &theirs.uas, &s.uas);
        let got = s
            .expired_after
            .unwrap_or_else(|| panic!("{who}: the short dialog never expired"));
        // Both count the lifetime in ticks of a one-second clock from
        // start-up (Kamailio: `get_ticks() + lifetime`, checked once a
        // tick): a 2 s lifetime ends 1 to 2 s after the ACK, where in that
        // second depending on the clock's phase, which differs between
        // the servers; polled every 100 ms.
        assert!(
            got >= Duration::from_millis(900) && got <= Duration::from_millis(2400),
            "{who}: expired after {got:?} (kamailio: {expired:?})"
        );
    }
}

// ---- BYEs sent by the module ---------------------------------------------
//
// `tests/dialog/bye.cfg`: `send_bye` with a 3 s lifetime, and `dlg_bye()`
// asked for by an in-dialog MESSAGE. A caller and a callee of the test
// (each a socket that answers a BYE with 200 unless told not to for that
// call) keep everything they receive; compared with what `kamailio -f`
// sent them: the texts (per call, in order), when the BYE comes after the
// 200 OK, and the retransmissions to a caller that does not answer.

/// One side of the calls.
struct Side {
    sock: UdpSocket,
    /// Received: when and what.
    seen: Mutex<Vec<(Instant, String)>>,
    /// Call-IDs whose BYE this side does not answer.
    silent: Mutex<Vec<String>>,
    /// This side's own Record-Route, on top of a 2xx to an INVITE (the
    /// callee only).
    rr: Option<String>,
}

impl Side {
    fn new(callee: bool) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("side");
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        Self {
            sock,
            seen: Mutex::new(Vec::new()),
            silent: Mutex::new(Vec::new()),
            rr: callee.then(|| format!("<sip:127.0.0.1:{port};lr;hop=c>")),
        }
    }

    fn port(&self) -> u16 {
        self.sock.local_addr().expect("addr").port()
    }

    fn serve(&self, stop: &AtomicBool) {
        let mut buf = [0u8; 65536];
        let local = self.sock.local_addr().expect("addr");
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = self.sock.recv_from(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            self.seen
                .lock()
                .expect("lock")
                .push((Instant::now(), text.clone()));
            let call_id = header(&text, "Call-ID").unwrap_or("").to_string();
            let reply = match text.split(' ').next().unwrap_or("") {
                "INVITE" => Some(echo_reply(
                    &text,
                    "200 OK",
                    self.rr.as_deref(),
                    &format!("Contact: <sip:side@{local}>\r\n"),
                )),
                "BYE" if !self.silent.lock().expect("lock").contains(&call_id) => {
                    Some(echo_reply(&text, "200 OK", None, ""))
                }
                _ => None,
            };
            if let Some(r) = reply {
                self.sock.send_to(r.as_bytes(), from).expect("send");
            }
        }
    }

    /// The first message after `since` whose first line starts with
    /// `start` and whose Call-ID is `call_id`, waiting up to `wait`.
    fn wait_for(
        &self,
        call_id: &str,
        start: &str,
        since: Instant,
        wait: Duration,
    ) -> Option<(Instant, String)> {
        let deadline = Instant::now() + wait;
        loop {
            let hit = self
                .seen
                .lock()
                .expect("lock")
                .iter()
                .find(|(t, m)| {
                    *t >= since && m.starts_with(start) && header(m, "Call-ID") == Some(call_id)
                })
                .cloned();
            if hit.is_some() || Instant::now() > deadline {
                return hit;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A reply to `req`: its Via, From, Call-ID, CSeq and Record-Routes
/// (`own_rr` on top), its To with a tag.
fn echo_reply(req: &str, status: &str, own_rr: Option<&str>, extra: &str) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    if let Some(rr) = own_rr {
        r.push_str(&format!("Record-Route: {rr}\r\n"));
    }
    for l in req.lines() {
        let lower = l.to_ascii_lowercase();
        if ["via:", "from:", "call-id:", "cseq:", "record-route:"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            r.push_str(l);
            r.push_str("\r\n");
        } else if lower.starts_with("to:") {
            r.push_str(l);
            if !l.contains("tag=") {
                r.push_str(";tag=callee-tag");
            }
            r.push_str("\r\n");
        }
    }
    r.push_str(extra);
    r.push_str("Content-Length: 0\r\n\r\n");
    r
}

struct ByeCall {
    call_id: String,
    to: String,
    target: String,
    routes: Vec<String>,
    /// When the 200 OK reached the caller.
    answered: Instant,
    /// `h_entry`, `h_id` from the `did` of our Record-Route.
    did: Option<(u32, u32)>,
}

/// A `did` value (`<h_entry>.<h_id>`, each hex digits lowest first).
fn parse_did(rr: &str) -> Option<(u32, u32)> {
    let v = rr.split("did=").nth(1)?;
    let v: String = v
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '.')
        .collect();
    let (e, i) = v.split_once('.')?;
    let rev = |s: &str| u32::from_str_radix(&s.chars().rev().collect::<String>(), 16).ok();
    Some((rev(e)?, rev(i)?))
}

/// An INVITE from `caller` (with two Record-Routes of its own, which the
/// BYE to it must carry back) answered by `callee`, then ACKed.
fn bye_call(caller: &Side, proxy: u16, name: &str, callee_port: u16) -> ByeCall {
    let local = caller.sock.local_addr().expect("addr");
    let call_id = format!("bye-{name}-51d2@test");
    let sent = Instant::now();
    let invite = format!(
        "INVITE sip:callee@127.0.0.1:{callee_port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{name}-inv\r\n\
Record-Route: <sip:{local};lr;hop=a>, <sip:{local};lr;hop=b>\r\n\
Max-Forwards: 70\r\n\
From: \"Caller\" <sip:caller@127.0.0.1>;tag=ft-{name}\r\n\
To: <sip:callee@127.0.0.1:{callee_port}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 10 INVITE\r\n\
Contact: <sip:caller@{local}>\r\n\
Content-Length: 0\r\n\r\n"
    );
    caller
        .sock
        .send_to(invite.as_bytes(), ("127.0.0.1", proxy))
        .expect("send");
    let (answered, ok) = caller
        .wait_for(&call_id, "SIP/2.0 200", sent, Duration::from_secs(3))
        .unwrap_or_else(|| panic!("{name}: no 200 OK"));
    let mut routes: Vec<String> = headers(&ok, "Record-Route")
        .into_iter()
        .flat_map(|h| h.split(", "))
        .filter(|r| !r.contains("hop=a") && !r.contains("hop=b"))
        .map(String::from)
        .collect();
    routes.reverse();
    let call = ByeCall {
        call_id,
        to: header(&ok, "To").unwrap_or("").to_string(),
        target: header(&ok, "Contact")
            .unwrap_or("")
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string(),
        routes,
        answered,
        did: headers(&ok, "Record-Route").into_iter().find_map(parse_did),
    };
    in_dialog_request(caller, proxy, &call, "ACK", 10, "");
    call
}

fn in_dialog_request(
    caller: &Side,
    proxy: u16,
    call: &ByeCall,
    method: &str,
    cseq: u32,
    body: &str,
) {
    let local = caller.sock.local_addr().expect("addr");
    let mut msg = format!("{method} {} SIP/2.0\r\n", call.target);
    msg.push_str(&format!(
        "Via: SIP/2.0/UDP {local};branch=z9hG4bK-{}-{cseq}-{method}\r\n",
        call.call_id
    ));
    msg.push_str("Max-Forwards: 70\r\n");
    for r in &call.routes {
        msg.push_str(&format!("Route: {r}\r\n"));
    }
    let ftag = call.call_id.split('-').nth(1).unwrap_or("");
    msg.push_str(&format!(
        "From: \"Caller\" <sip:caller@127.0.0.1>;tag=ft-{ftag}\r\n\
To: {}\r\n\
Call-ID: {}\r\n\
CSeq: {cseq} {method}\r\n\
Content-Length: {}\r\n\r\n{body}",
        call.to,
        call.call_id,
        body.len()
    ));
    caller
        .sock
        .send_to(msg.as_bytes(), ("127.0.0.1", proxy))
        .expect("send");
}

/// An OPTIONS outside any dialog: the reason of its reply.
fn sizes(caller: &Side, proxy: u16, n: u32) -> String {
    let local = caller.sock.local_addr().expect("addr");
    let call_id = format!("bye-opt{n}-51d2@test");
    let sent = Instant::now();
    let msg = format!(
        "OPTIONS sip:q@127.0.0.1:{proxy} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-opt-{n}\r\n\
Max-Forwards: 70\r\n\
From: <sip:caller@127.0.0.1>;tag=opt{n}\r\n\
To: <sip:q@127.0.0.1>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
    );
    caller
        .sock
        .send_to(msg.as_bytes(), ("127.0.0.1", proxy))
        .expect("send");
    caller
        .wait_for(&call_id, "SIP/2.0", sent, Duration::from_secs(3))
        .map_or_else(|| "timeout".into(), |(_, r)| first(&r))
}

struct ByeSession {
    /// The script's answers, then per side and call what was received.
    lines: Vec<String>,
    /// What the cfg recorded: each BYE the module sent
    /// (`tm:local-request`) and each `dialog:end`, in order.
    events: Vec<String>,
    /// After the 200 OK, the BYE of the call whose lifetime ran out
    /// (caller side) and of the one set up half a tick later (callee).
    timeout_bye: Duration,
    aligned_bye: Duration,
    /// From the first BYE to the caller that does not answer to its last
    /// retransmission.
    retransmitted_over: Duration,
}

const BYE_CALLS: &[&str] = &["tmo", "all", "clr", "cle", "rpe", "rpt", "tm2"];

/// The operator's commands that find no dialog or miss parameters.
const BYE_RPC_ERRORS: &[&str] = &[
    "dlg.end_dlg",
    "dlg.end_dlg 7",
    "dlg.end_dlg abc 2",
    "dlg.end_dlg 4095 4095",
    "dlg.terminate_dlg",
    "dlg.terminate_dlg a b",
    "dlg.terminate_dlg a b c",
];

/// What dlg_bye() from the script records: the BYEs, then `dialog:end` on
/// the faked message with the dialog still in state 4; once per dlg_bye()
/// to one side (the second returns -1 before it sends).
const SCRIPT_BYE_EVENTS: [&str; 2] = [
    "BYE bye-all-51d2@test caller\nBYE bye-all-51d2@test side\nend bye-all-51d2@test 4 OPTIONS\n",
    "BYE bye-clr-51d2@test caller\nend bye-clr-51d2@test 4 OPTIONS\nBYE bye-cle-51d2@test side\nend bye-cle-51d2@test 4 OPTIONS\n",
];

/// Sets its flag when dropped (a panic included).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn bye_session(proxy: u16, caller: &Side, callee: &Side, rundir: &Path) -> ByeSession {
    let stop = AtomicBool::new(false);
    let mut lines = Vec::new();
    let mut timeout_bye = Duration::ZERO;
    let mut aligned_bye = Duration::ZERO;
    let mut last_retr = None;
    let mut first_bye = None;
    let mut events = Vec::new();
    let cport = callee.port();
    std::thread::scope(|s| {
        s.spawn(|| caller.serve(&stop));
        s.spawn(|| callee.serve(&stop));
        // The serving threads end even if an expectation below fails.
        let _stop = StopOnDrop(&stop);
        // The caller leaves the BYEs of `tmo` unanswered.
        caller
            .silent
            .lock()
            .expect("lock")
            .push("bye-tmo-51d2@test".into());
        let tmo = bye_call(caller, proxy, "tmo", cport);
        // dlg_bye() from the script, while `tmo` runs.
        for (name, side) in [("all", "all"), ("clr", "caller"), ("cle", "callee")] {
            let call = bye_call(caller, proxy, name, cport);
            let sent = Instant::now();
            in_dialog_request(caller, proxy, &call, "MESSAGE", 11, side);
            let r = caller
                .wait_for(
                    &call.call_id,
                    "SIP/2.0 200 bye",
                    sent,
                    Duration::from_secs(3),
                )
                .map_or_else(|| "timeout".into(), |(_, r)| first(&r));
            lines.push(format!("{name}: {r}"));
        }
        // The operator ends a call by its ids, another by its Call-ID and
        // tags (the headers given after Max-Forwards).
        let rpe = bye_call(caller, proxy, "rpe", cport);
        let (he, hi) = rpe.did.expect("did in the Record-Route");
        let cmd = format!("dlg.end_dlg {he} {hi} X-Rpc:end");
        lines.push("> dlg.end_dlg".into());
        lines.extend(tests::kamcmd(rundir, &cmd).lines().map(str::to_string));
        let got = callee.wait_for(&rpe.call_id, "BYE", rpe.answered, Duration::from_secs(2));
        lines.push(format!("rpe bye: {}", got.is_some()));
        let rpt = bye_call(caller, proxy, "rpt", cport);
        let cmd = format!("dlg.terminate_dlg {} ft-rpt callee-tag", rpt.call_id);
        lines.push("> dlg.terminate_dlg".into());
        lines.extend(tests::kamcmd(rundir, &cmd).lines().map(str::to_string));
        let got = callee.wait_for(&rpt.call_id, "BYE", rpt.answered, Duration::from_secs(2));
        lines.push(format!("rpt bye: {}", got.is_some()));
        for cmd in BYE_RPC_ERRORS {
            lines.push(format!("> {cmd}"));
            lines.extend(tests::kamcmd(rundir, cmd).lines().map(str::to_string));
        }
        std::thread::sleep(Duration::from_millis(200));
        lines.push(format!("sizes before: {}", sizes(caller, proxy, 1)));
        // The lifetime of `tmo` runs out: a BYE to each side.
        let (b1, _) = caller
            .wait_for(&tmo.call_id, "BYE", tmo.answered, Duration::from_secs(5))
            .expect("no BYE to the caller of the call whose lifetime ran out");
        timeout_bye = b1 - tmo.answered;
        first_bye = Some(b1);
        std::thread::sleep(Duration::from_millis(150));
        // The callee answered its BYE: the dialog is over.
        lines.push(format!("sizes after: {}", sizes(caller, proxy, 2)));
        // A BYE comes on a tick of the dialog clock: a call answered half
        // a tick after one has a known time to its BYE (see the test).
        let at = b1 + Duration::from_millis(500);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        let tm2 = bye_call(caller, proxy, "tm2", cport);
        lines.push(format!("sizes tm2: {}", sizes(caller, proxy, 3)));
        let (b2, _) = callee
            .wait_for(&tm2.call_id, "BYE", tm2.answered, Duration::from_secs(5))
            .expect("no BYE to the callee of the second call");
        aligned_bye = b2 - tm2.answered;
        // Retransmissions to the silent caller: T1, 2*T1, 4*T1 after.
        let until = b1 + Duration::from_millis(4000);
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        last_retr = caller
            .seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, m)| m.starts_with("BYE") && m.contains("bye-tmo-"))
            .map(|(t, _)| *t)
            .next_back();
        lines.push(format!("sizes end: {}", sizes(caller, proxy, 4)));
        // The BYEs and the `dialog:end` events, in the order they ran.
        let read = tests::options_status(proxy, "read", "caller", "bye-read-51d2@test");
        events.extend(
            read.split('[')
                .skip(1)
                .map(|s| s.trim_end().trim_end_matches(']').to_string()),
        );
        stop.store(true, Ordering::Relaxed);
    });
    let ports = [
        (proxy, "PROXY"),
        (callee.port(), "CALLEE"),
        (caller.port(), "CALLER"),
    ];
    for (who, side) in [("caller", caller), ("callee", callee)] {
        let seen = side.seen.lock().expect("lock");
        for name in BYE_CALLS {
            let tag = format!("bye-{name}-");
            for (_, m) in seen.iter().filter(|(_, m)| m.contains(&tag)) {
                lines.push(format!("---- {who} {name}"));
                lines.extend(normalise(m, &ports));
            }
        }
    }
    ByeSession {
        lines,
        events,
        timeout_bye,
        aligned_bye,
        retransmitted_over: last_retr
            .zip(first_bye)
            .map_or(Duration::ZERO, |(l, f)| l - f),
    }
}

#[test]
fn byes_on_timeout_and_dlg_bye_like_kamailio() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialog/bye.cfg");
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let caller = Side::new(false);
        let callee = Side::new(true);
        let (g, port, rundir) = start_cfg(who, &cfg, "dialog-bye-proxy", callee.port());
        let s = bye_session(port, &caller, &callee, &rundir);
        g.stop().expect("stopped");
        all.push((who, s));
    }
    let theirs = &all[0].1;
    let joined = theirs.lines.join("\n");
    // Kamailio's BYEs come on whole-second ticks.
    let half = (theirs.aligned_bye.as_secs_f64() - 0.5).fract();
    assert!(
        !(0.1..=0.9).contains(&half),
        "kamailio: BYE {:?} after a 200 OK half a tick after a BYE",
        theirs.aligned_bye
    );
    // What Kamailio did is what the test compares against.
    for want in [
        "all: SIP/2.0 200 bye 1 0",
        "sizes before: SIP/2.0 200 sizes 1 -1",
        "sizes after: SIP/2.0 200 sizes 0 -1",
        "---- caller tmo\nBYE sip:caller@127.0.0.1:CALLER SIP/2.0",
        "Route: <sip:127.0.0.1:CALLER;lr;hop=a>, <sip:127.0.0.1:CALLER;lr;hop=b>",
        "Route: <sip:127.0.0.1:CALLEE;lr;hop=c>",
        "CSeq: 12 BYE",
        "rpe bye: true",
        "rpt bye: true",
        "X-Rpc:end",
    ] {
        assert!(joined.contains(want), "kamailio: no `{want}` in\n{joined}");
    }
    let events = theirs.events.join("\n");
    for want in SCRIPT_BYE_EVENTS {
        assert!(events.contains(want), "kamailio: no `{want}` in\n{events}");
    }
    if std::env::var_os("DIALOG_BYE_DUMP").is_some() {
        eprintln!("{joined}\n{events}");
    }
    eprintln!(
        "kamailio: BYE {:?} / {:?} after the 200 OK, retransmitted over {:?}",
        theirs.timeout_bye, theirs.aligned_bye, theirs.retransmitted_over
    );
    for (who, s) in &all[1..] {
        eprintln!(
            "{who}: BYE {:?} / {:?} after the 200 OK, retransmitted over {:?}",
            s.timeout_bye, s.aligned_bye, s.retransmitted_over
        );
        tests::assert_same_lines(who, &theirs.lines, &s.lines);
        // Ours runs `dialog:end` once after the BYEs of every dialog the
        // module ends. Kamailio runs it only if no reply to those BYEs
        // was handled (by another process) before it got there — a race
        // its timer and RPC BYEs lose on loopback at times (accepted
        // difference): where it has none, ours is not compared.
        let theirs_ended: Vec<&str> = theirs
            .events
            .iter()
            .filter_map(|e| e.strip_prefix("end "))
            .filter_map(|e| e.split(' ').next())
            .collect();
        let mut kept = Vec::new();
        for (i, e) in s.events.iter().enumerate() {
            if let Some(cid) = e.strip_prefix("BYE ").and_then(|e| e.split(' ').next()) {
                let last_bye = !s.events[i + 1..]
                    .iter()
                    .any(|n| n.starts_with(&format!("BYE {cid} ")));
                if last_bye {
                    assert_eq!(
                        s.events.get(i + 1).map(String::as_str),
                        Some(format!("end {cid} 4 OPTIONS").as_str()),
                        "{who}: dialog:end after the BYEs of {cid}: {:?}",
                        s.events
                    );
                }
            }
            let cid = e.strip_prefix("end ").and_then(|e| e.split(' ').next());
            if cid.is_none_or(|c| theirs_ended.contains(&c)) {
                kept.push(e.clone());
            }
        }
        // The state its block reads races the same way (4, or 5 when
        // the reply was handled meanwhile): compared without it, but ours
        // has 4 where dlg_bye() from the script ran it.
        let events = s.events.join("\n");
        for want in SCRIPT_BYE_EVENTS {
            assert!(events.contains(want), "{who}: no `{want}` in\n{events}");
        }
        let stateless = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|e| {
                    match e
                        .strip_prefix("end ")
                        .map(|r| r.split(' ').collect::<Vec<_>>())
                    {
                        Some(w) if w.len() == 3 => format!("end {} {}", w[0], w[2]),
                        _ => e.clone(),
                    }
                })
                .collect()
        };
        tests::assert_same_lines(who, &stateless(&theirs.events), &stateless(&kept));
        // Both count the lifetime in whole seconds and check it once a
        // second. Ours checks as its seconds turn: a call answered half a
        // second after a BYE gets its own 2.5 s later. Kamailio's check
        // runs at a phase of its own against the seconds of its tick
        // counter, set by its start-up: 2.5 s or 3.5 s from one run to
        // the next with this same test (both seen).
        let secs = |d: Duration| d.as_secs_f64();
        assert!(
            (secs(s.aligned_bye) - 2.5).abs() <= 0.25,
            "{who}: BYE {:?} after the 200 OK, half a second after a tick \
             (kamailio: {:?})",
            s.aligned_bye,
            theirs.aligned_bye
        );
        assert!(
            (secs(s.aligned_bye) - secs(theirs.aligned_bye)).abs() <= 1.1,
            "{who}: BYE {:?} after the 200 OK (kamailio: {:?})",
            s.aligned_bye,
            theirs.aligned_bye
        );
        let tolerance = |k: Duration| k.as_secs_f64() * 0.1;
        assert!(
            s.timeout_bye > Duration::from_millis(1900)
                && s.timeout_bye < Duration::from_millis(3200),
            "{who}: BYE {:?} after the 200 OK (kamailio: {:?})",
            s.timeout_bye,
            theirs.timeout_bye
        );
        assert!(
            (s.retransmitted_over.as_secs_f64() - theirs.retransmitted_over.as_secs_f64()).abs()
                <= tolerance(theirs.retransmitted_over),
            "{who}: retransmissions over {:?} (kamailio: {:?})",
            s.retransmitted_over,
            theirs.retransmitted_over
        );
    }
}

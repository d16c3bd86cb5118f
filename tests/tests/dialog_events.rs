//! dialog's event routes, differential: `tests/dialog_events/kamailio.cfg`
//! under `kamailio -f`, compiled and interpreted. Calls through the proxy to
//! the test's UAS: one answered and ended by the caller's BYE
//! (`dialog:start` on the 200, `dialog:end` on the BYE, whose relayed copy
//! carries what the event route appended), one busy (`dialog:failed` on the
//! 486, after the failure route), one that fails over after a 503 and is
//! then ended by `dlg_bye("all")` (`dialog:end` on the faked message), one
//! never answered (tm's 408: `dialog:failed` on the faked message), one
//! CANCELled, one the script answers 404 after `dlg_manage()` (the dialog
//! no transaction took is gone after the script: no event, not known to
//! a later request), and one whose lifetime runs out (`dialog:end` on the
//! faked message). What the cfg recorded, and what the UAS and the caller
//! received that the events changed, is compared as Kamailio's and ours
//! answer it.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dialog_events/kamailio.cfg")
}

/// Waits for a message of the call of `user` starting with `start` on
/// `sock` (skipping the rest: retransmissions, provisional replies).
fn wait_for(sock: &UdpSocket, start: &str, user: &str) -> Option<(String, SocketAddr)> {
    let callid = format!("dev-{user}@test");
    for _ in 0..20 {
        let (m, a) = tests::recv_text(sock, Duration::from_secs(3))?;
        if m.starts_with(start) && header(&m, "Call-ID") == Some(callid.as_str()) {
            return Some((m, a));
        }
    }
    None
}

/// The value of header `name` in `msg`.
fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n").find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

struct Parties {
    client: UdpSocket,
    uas: UdpSocket,
    cport: u16,
    uport: u16,
    proxy: (&'static str, u16),
}

impl Parties {
    fn invite(&self, user: &str, method: &str) -> String {
        let Parties { cport, uport, .. } = self;
        format!(
            "{method} sip:{user}@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-dev-{user}\r\n\
Max-Forwards: 70\r\n\
From: <sip:caller@example.com>;tag=c-{user}\r\n\
To: <sip:{user}@example.com>\r\n\
Call-ID: dev-{user}@test\r\n\
CSeq: 1 {method}\r\n\
Contact: <sip:caller@127.0.0.1:{cport}>\r\n\
X-Dst: sip:127.0.0.1:{uport}\r\n\
Content-Length: 0\r\n\r\n"
        )
    }

    /// A request of the caller in the dialog of `user`, routed by `rr`
    /// (the Record-Route the 200 brought).
    fn in_dialog(&self, user: &str, method: &str, cseq: u32, rr: &str) -> String {
        let Parties { cport, uport, .. } = self;
        format!(
            "{method} sip:uas@127.0.0.1:{uport} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{cport};branch=z9hG4bK-dev-{user}-{cseq}\r\n\
Max-Forwards: 70\r\n\
Route: {rr}\r\n\
From: <sip:caller@example.com>;tag=c-{user}\r\n\
To: <sip:{user}@example.com>;tag=uas1\r\n\
Call-ID: dev-{user}@test\r\n\
CSeq: {cseq} {method}\r\n\
Content-Length: 0\r\n\r\n"
        )
    }

    /// The caller's ACK of a negative final reply to the INVITE of
    /// `user` (its To tag from `reply`), which stops its retransmissions.
    fn ack_negative(&self, user: &str, reply: &str) {
        let to = header(reply, "To").expect("To");
        let ack = self.invite(user, "ACK").replace(
            &format!("To: <sip:{user}@example.com>\r\n"),
            &format!("To: {to}\r\n"),
        );
        self.send(&ack);
    }

    fn send(&self, msg: &str) {
        self.client
            .send_to(msg.as_bytes(), self.proxy)
            .expect("send");
    }

    /// The UAS answers `req` (from `from`): 200 with its Contact and the
    /// Record-Route copied.
    fn answer_200(&self, req: &str, from: SocketAddr) {
        let rr = header(req, "Record-Route").unwrap_or_default();
        let extra = format!(
            "Record-Route: {rr}\r\nContact: <sip:uas@127.0.0.1:{}>\r\n",
            self.uport
        );
        self.uas
            .send_to(
                tests::uas_reply(req, "200 OK", "uas1", &extra).as_bytes(),
                from,
            )
            .expect("200");
    }

    fn reply(&self, req: &str, from: SocketAddr, status: &str) {
        self.uas
            .send_to(tests::uas_reply(req, status, "uas1", "").as_bytes(), from)
            .expect("reply");
    }

    /// An INVITE for `user` answered 200 by the UAS (after a 503 when
    /// `fail_first`), ACKed by the caller: the route set for the caller's
    /// requests.
    fn call(&self, user: &str, fail_first: bool) -> String {
        self.send(&self.invite(user, "INVITE"));
        let (mut req, mut from) = wait_for(&self.uas, "INVITE", user).expect("INVITE relayed");
        if fail_first {
            self.reply(&req, from, "503 Service Unavailable");
            wait_for(&self.uas, "ACK", user).expect("ACK of the 503");
            (req, from) = wait_for(&self.uas, "INVITE", user).expect("INVITE relayed again");
        }
        self.reply(&req, from, "180 Ringing");
        std::thread::sleep(Duration::from_millis(100));
        self.answer_200(&req, from);
        let (ok, _) = wait_for(&self.client, "SIP/2.0 200", user).expect("200 relayed");
        let rr = header(&ok, "Record-Route")
            .expect("Record-Route")
            .to_string();
        self.send(&self.in_dialog(user, "ACK", 1, &rr));
        wait_for(&self.uas, "ACK", user).expect("ACK relayed");
        rr
    }
}

fn session(pport: u16) -> Vec<String> {
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    let uas = UdpSocket::bind("127.0.0.1:0").expect("uas");
    let p = Parties {
        cport: client.local_addr().expect("addr").port(),
        uport: uas.local_addr().expect("addr").port(),
        client,
        uas,
        proxy: ("127.0.0.1", pport),
    };
    let mut seen = Vec::new();
    // ok: up, then the caller's BYE.
    let rr = p.call("ok", false);
    p.send(&p.in_dialog("ok", "BYE", 2, &rr));
    let (bye, from) = wait_for(&p.uas, "BYE", "ok").expect("BYE relayed");
    seen.push(format!("uas BYE X-End: {:?}", header(&bye, "X-End")));
    p.reply(&bye, from, "200 OK");
    wait_for(&p.client, "SIP/2.0 200", "ok").expect("200 to the BYE");
    // busy: 180, 486.
    p.send(&p.invite("busy", "INVITE"));
    let (req, from) = wait_for(&p.uas, "INVITE", "busy").expect("INVITE relayed");
    p.reply(&req, from, "180 Ringing");
    std::thread::sleep(Duration::from_millis(100));
    p.reply(&req, from, "486 Busy Here");
    wait_for(&p.uas, "ACK", "busy").expect("ACK of the 486");
    let (r, _) = wait_for(&p.client, "SIP/2.0 486", "busy").expect("486 relayed");
    p.ack_negative("busy", &r);
    // fo: a 503 fails over; then dlg_bye("all") from an in-dialog INFO.
    let rr = p.call("fo", true);
    p.send(&p.in_dialog("fo", "INFO", 2, &rr));
    let (bye, from) = wait_for(&p.uas, "BYE", "fo").expect("BYE to the callee");
    seen.push(format!("uas BYE X-End: {:?}", header(&bye, "X-End")));
    p.reply(&bye, from, "200 OK");
    let (bye, from) = wait_for(&p.client, "BYE", "fo").expect("BYE to the caller");
    seen.push(format!("caller BYE X-End: {:?}", header(&bye, "X-End")));
    p.client
        .send_to(tests::uas_reply(&bye, "200 OK", "", "").as_bytes(), from)
        .expect("200");
    // silent: tm's 408 after 1 s.
    p.send(&p.invite("silent", "INVITE"));
    wait_for(&p.uas, "INVITE", "silent").expect("INVITE relayed");
    let (r, _) = wait_for(&p.client, "SIP/2.0 408", "silent").expect("408");
    p.ack_negative("silent", &r);
    // cancel: 180, then the caller's CANCEL.
    p.send(&p.invite("cancel", "INVITE"));
    let (req, from) = wait_for(&p.uas, "INVITE", "cancel").expect("INVITE relayed");
    p.reply(&req, from, "180 Ringing");
    std::thread::sleep(Duration::from_millis(100));
    p.send(&p.invite("cancel", "CANCEL"));
    let (c, cfrom) = wait_for(&p.uas, "CANCEL", "cancel").expect("CANCEL relayed");
    p.reply(&c, cfrom, "200 OK");
    p.reply(&req, from, "487 Request Terminated");
    wait_for(&p.uas, "ACK", "cancel").expect("ACK of the 487");
    let (r, _) = wait_for(&p.client, "SIP/2.0 487", "cancel").expect("487 relayed");
    p.ack_negative("cancel", &r);
    // local: the script answers 404 after dlg_manage(); the dialog no
    // transaction took is gone (an INFO with its ids finds none).
    p.send(&p.invite("local", "INVITE"));
    wait_for(&p.client, "SIP/2.0 404", "local").expect("404");
    let info = p
        .in_dialog("local", "INFO", 2, "<sip:nowhere.invalid;lr>")
        .replace("Route: <sip:nowhere.invalid;lr>\r\n", "");
    p.send(&info);
    wait_for(&p.client, "SIP/2.0 200", "local").expect("INFO answered");
    // short: a lifetime of 1 s runs out (no BYE: send_bye is off).
    p.call("short", false);
    std::thread::sleep(Duration::from_millis(2500));
    let read = tests::options_status(pport, "read", "tester", "dev-read@test");
    let ports = [(p.cport, "CPORT"), (p.uport, "UPORT"), (pport, "PPORT")];
    let mut read = read;
    for (n, name) in ports {
        read = read.replace(&format!(":{n}"), &format!(":{name}"));
    }
    seen.extend(
        read.split('[')
            .map(|s| s.trim_end().trim_end_matches(']').to_string()),
    );
    seen
}

#[test]
fn dialog_event_routes_like_kamailio_compiled_and_interpreted() {
    let theirs = tests::kamailio_session(&cfg(), "dialog_events", |port, _| session(port));
    // Kamailio's record is what the cfg means: `dialog:start` on the 200
    // before the callee's tag is kept; `dialog:end` inline on the BYE (its
    // header goes with the relayed BYE), on the faked message for
    // `dlg_bye` (state still 4) and for a lifetime run out; `dialog:failed`
    // after the failure route, on the 486 and 487 and on the faked message
    // for tm's 408; no event for the 503 the failure route forwarded past.
    let all = theirs.join("\n");
    for want in [
        "uas BYE X-End: Some(\"v-ok\")\n",
        "start rm=INVITE rs=200 ru= ci=dev-ok@test st=3 dci=dev-ok@test tt= ft=c-ok v=v-ok\n",
        "end rm=BYE rs= ru=sip:uas@127.0.0.1:UPORT ci=dev-ok@test st=5 dci=dev-ok@test tt=uas1 v=v-ok\nin BYE st=5\n",
        "failure 486 st=2\nfailed rm=INVITE rs=486 ru= ci=dev-busy@test st=5",
        "failure 503 st=1\nstart rm=INVITE rs=200",
        "in INFO st=4\nend rm=OPTIONS rs= ru=sip:you@kamailio.org ci=123 st=4 dci=dev-fo@test tt=uas1 v=v-fo\nbyed st=4\n",
        "failure 408 st=1\nfailed rm=OPTIONS rs= ru=sip:you@kamailio.org ci=123 st=5 dci=dev-silent@test",
        "failure 487 st=2\nfailed rm=INVITE rs=487",
        "end rm=OPTIONS rs= ru=sip:you@kamailio.org ci=123 st=5 dci=dev-short@test tt=uas1 v=v-short",
        "info dev-local@test unknown\n",
    ] {
        assert!(all.contains(want), "{want}: {all}");
    }
    assert_eq!(
        all.matches("[failed").count() + all.matches("\nfailed ").count(),
        3,
        "{all}"
    );
    tests::ours_match(
        &cfg(),
        "dialog_events",
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        &theirs,
        |port, _| session(port),
    );
}

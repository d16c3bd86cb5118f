//! tm driven through the engine with a virtual clock and a hand-written
//! script shaped like the stock configuration's RELAY/failure routes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::ctx::HeaderOp;
use crate::engine::params::{ModParams, ParamValue};
use crate::engine::{Branch, Engine, Flow, Value, pv, rc};
use crate::modules::{sl, textops};
use crate::transport::RecvInfo;

const UA: &str = "127.0.0.1:5080";
const UAS: &str = "127.0.0.1:5090";
const UAS2: &str = "127.0.0.1:5092";
const VM: &str = "127.0.0.1:5093";

/// request_route {
///   if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
///   if (!is_method("ACK")) { if (t_precheck_trans()) { t_check_trans(); exit; } t_check_trans(); }
///   else { if (t_check_trans()) t_relay(); exit; }
///   if ($rU == "local") { t_newtran(); send_reply("404", "Not Found"); exit; }
///   t_on_branch("B"); t_on_reply("R"); if (is_method("INVITE")) t_on_failure("F");
///   if ($rU == "two") append_branch("sip:two@127.0.0.1:5092");
///   rewritehostport("127.0.0.1:5090");
///   if (!t_relay()) sl_reply_error();
///   exit;
/// }
/// branch_route[B] { append_hf("X-Branch: $T_branch_idx\r\n"); if ($rU == "nobranch") drop; }
/// onreply_route[R] { if (status == "183") drop; }
/// failure_route[F] { if (t_is_canceled()) exit;
///   if (t_check_status("486|408") && $rU != "vm") { $ru = "sip:vm@127.0.0.1:5093"; t_relay(); } }
struct Stock;

impl Script for Stock {
    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        if textops::is_method(ctx, b"CANCEL") > 0 {
            if t_check_trans(ctx) > 0 {
                ctx.rc = t_relay(ctx);
            }
            return Err(Stop::Exit);
        }
        if textops::is_method(ctx, b"ACK") < 0 {
            if t_precheck_trans(ctx) > 0 {
                rc(t_check_trans(ctx))?;
                return Err(Stop::Exit);
            }
            rc(t_check_trans(ctx))?;
        } else {
            if rc(t_check_trans(ctx))? > 0 {
                ctx.rc = t_relay(ctx);
            }
            return Err(Stop::Exit);
        }
        let user = pv::r_user(ctx).to_bytes().into_owned();
        if user == b"local" {
            rc(t_newtran(ctx))?;
            sl::send_reply(ctx, 404, b"Not Found");
            return Err(Stop::Exit);
        }
        t_on_branch(ctx, 0);
        t_on_reply(ctx, 0);
        if textops::is_method(ctx, b"INVITE") > 0 {
            t_on_failure(ctx, 0);
        }
        if user == b"two" {
            ctx.branches.push(Branch {
                uri: b"sip:two@127.0.0.1:5092".to_vec(),
                q: -1,
                ..Branch::default()
            });
        }
        let uri =
            crate::engine::uri::set_hostport(ctx.ruri(), b"127.0.0.1:5090").expect("rewritable");
        ctx.new_uri = Some(uri);
        if rc(t_relay(ctx))? < 0 {
            sl::sl_reply_error(ctx);
        }
        Err(Stop::Exit)
    }

    fn branch_route(&self, _idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        let idx = ctx.tm.branch_idx.to_string().into_bytes();
        ctx.headers
            .push(HeaderOp::Append(b"X-Branch".to_vec(), idx));
        if pv::r_user(ctx).equals(&Value::str(b"nobranch")) {
            return Err(Stop::Drop);
        }
        Ok(1)
    }

    fn onreply_route(&self, _idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        if ctx.tm.reply_code == 183 {
            return Err(Stop::Drop);
        }
        Ok(1)
    }

    fn failure_route(&self, _idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        if t_is_canceled(ctx) > 0 {
            return Err(Stop::Exit);
        }
        if t_check_status(ctx, b"486|408") > 0 && !pv::r_user(ctx).equals(&Value::str(b"vm")) {
            ctx.new_uri = Some(b"sip:vm@127.0.0.1:5093".to_vec());
            ctx.rc = t_relay(ctx);
        }
        Ok(1)
    }
}

struct Harness {
    e: Engine<Stock>,
    w: WorkerState,
    t0: Instant,
}

fn harness(params: &[(&str, i32)]) -> Harness {
    let listen = vec![(Proto::Udp, "127.0.0.1:5060".parse().expect("addr"))];
    let core = CoreConfig {
        myself: crate::transport::myself::Myself::from_listen(listen.clone()),
        listen,
        ..CoreConfig::default()
    };
    let mut p = ModParams::new();
    for (n, v) in params {
        p.push("tm", n, ParamValue::Int(*v));
    }
    Harness {
        e: Engine::with_params(Stock, core, p).expect("params"),
        w: WorkerState::default(),
        t0: Instant::now(),
    }
}

fn rcv(src: &str) -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: src.parse().expect("addr"),
        local: "127.0.0.1:5060".parse().expect("addr"),
        conn: None,
    }
}

impl Harness {
    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn send(&mut self, from: &str, data: &[u8], ms: u64) -> Vec<Transmit> {
        let mut out = Vec::new();
        let now = self.at(ms);
        self.e
            .process_at(data, &rcv(from), &mut self.w, &mut out, now);
        out
    }

    fn tick(&mut self, ms: u64) -> Vec<Transmit> {
        let mut out = Vec::new();
        let now = self.at(ms);
        self.e.on_tick_with(&mut self.w, now, &mut out);
        out
    }

    fn txs(&self) -> usize {
        self.e.tm.table.len()
    }
}

fn request(method: &str, user: &str) -> Vec<u8> {
    format!(
        "{method} sip:{user}@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-{user}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:{user}@example.com>\r\n\
Call-ID: {user}@x\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// The UAC's ACK (same branch) for a negative reply with To-tag `b1`.
fn ack(user: &str) -> Vec<u8> {
    format!(
        "ACK sip:{user}@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-{user}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:{user}@example.com>;tag=b1\r\n\
Call-ID: {user}@x\r\n\
CSeq: 1 ACK\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// A reply of the UAS to a request it received.
fn answer(req: &Transmit, code: u16, reason: &str) -> Vec<u8> {
    let m = Message::parse(&req.data).expect("request");
    let opts = ReplyOpts {
        to_tag: Some(b"b1"),
        server: None,
        ..ReplyOpts::default()
    };
    reply::build(&m, code, reason.as_bytes(), &opts).expect("reply")
}

fn text(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.data).into_owned()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

fn to(out: &[Transmit], dst: &str) -> Vec<String> {
    out.iter()
        .filter(|t| t.dst == addr(dst))
        .map(text)
        .collect()
}

/// Sends an INVITE for `user`; returns what went to the UAS.
fn invite(h: &mut Harness, user: &str) -> Transmit {
    let out = h.send(UA, &request("INVITE", user), 0);
    let up = to(&out, UA);
    assert_eq!(up.len(), 1, "{out:?}");
    assert!(
        up[0].starts_with("SIP/2.0 100 trying -- your call is important to us\r\n"),
        "{}",
        up[0]
    );
    assert!(
        up[0].contains(&format!("\r\nTo: <sip:{user}@example.com>\r\n")),
        "100 has no To-tag: {}",
        up[0]
    );
    out.into_iter()
        .find(|t| t.dst == addr(UAS))
        .expect("INVITE sent to the UAS")
}

#[test]
fn invite_is_relayed_with_a_stable_branch_and_retransmissions_absorbed() {
    let mut h = harness(&[]);
    let fwd = invite(&mut h, "bob");
    let s = text(&fwd);
    assert!(
        s.starts_with("INVITE sip:bob@127.0.0.1:5090 SIP/2.0\r\n"),
        "{s}"
    );
    let via = s.lines().nth(1).expect("via");
    assert!(
        via.starts_with("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK"),
        "{via}"
    );
    assert!(via.ends_with(".0"), "{via}");
    // `;rport` in the Via brings `received`, inserted after host:port.
    assert!(
        s.contains(
            "Via: SIP/2.0/UDP 127.0.0.1:5080;received=127.0.0.1;branch=z9hG4bK-bob-1;rport=5080\r\n"
        ),
        "{s}"
    );
    assert!(
        s.contains("Max-Forwards: 70\r\n"),
        "tm leaves Max-Forwards: {s}"
    );
    assert!(s.contains("X-Branch: 0\r\n"), "branch_route ran: {s}");
    assert_eq!(h.txs(), 1);
    // A retransmission gets the last reply (the 100) again, nothing else.
    let out = h.send(UA, &request("INVITE", "bob"), 200);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(text(&out[0]).starts_with("SIP/2.0 100 trying"));
    assert_eq!(out[0].dst, addr(UA));
    assert_eq!(h.txs(), 1);
    // The UAS's 180 is relayed without our Via; 100s are not.
    assert!(h.send(UAS, &answer(&fwd, 100, "Trying"), 300).is_empty());
    let out = h.send(UAS, &answer(&fwd, 180, "Ringing"), 400);
    let up = to(&out, UA);
    assert_eq!(up.len(), 1);
    assert!(
        up[0].starts_with("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;"),
        "{}",
        up[0]
    );
    assert!(!up[0].contains("z9hG4bK") || up[0].matches("Via:").count() == 1);
    // Now a retransmitted INVITE gets the 180.
    let out = h.send(UA, &request("INVITE", "bob"), 500);
    assert_eq!(out.len(), 1);
    assert!(text(&out[0]).starts_with("SIP/2.0 180 Ringing"));
    // A 183 dropped by the onreply route is not relayed.
    assert!(to(&h.send(UAS, &answer(&fwd, 183, "Progress"), 600), UA).is_empty());
}

#[test]
fn invite_retransmitted_t1_doubling_up_to_t2_then_408_and_failure_route() {
    let mut h = harness(&[]);
    let fwd = invite(&mut h, "bob");
    let mut sent_at = Vec::new();
    for ms in (50..30_000).step_by(50) {
        for t in h.tick(ms) {
            assert_eq!(t.dst, addr(UAS));
            assert_eq!(t.data, fwd.data, "retransmission is the same bytes");
            sent_at.push(ms);
        }
    }
    assert_eq!(
        sent_at,
        [
            500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500
        ]
    );
    // fr_timer (30 s, no provisional): the branch times out with a 408,
    // and the failure route forks serially to voicemail as branch .1.
    let out = h.tick(30_000);
    assert!(to(&out, UA).is_empty(), "failure route took over: {out:?}");
    let vm = to(&out, VM);
    assert_eq!(vm.len(), 1, "{out:?}");
    assert!(
        vm[0].starts_with("INVITE sip:vm@127.0.0.1:5093 SIP/2.0\r\n"),
        "{}",
        vm[0]
    );
    let via = vm[0].lines().nth(1).expect("via");
    assert!(via.ends_with(".1"), "{via}");
    // branch_route was consumed by the first t_relay: not re-armed.
    assert!(!vm[0].contains("X-Branch"), "{}", vm[0]);
    // Voicemail times out too: its failure route is disarmed, the 408 goes
    // upstream, locally built with tm's To-tag.
    let mut last = Vec::new();
    for ms in (30_050..=60_000).step_by(50) {
        last.extend(h.tick(ms));
    }
    let up = to(&last, UA);
    assert_eq!(up.len(), 1, "{up:?}");
    assert!(
        up[0].starts_with("SIP/2.0 408 Request Timeout\r\n"),
        "{}",
        up[0]
    );
    let tag = up[0]
        .split("To: <sip:bob@example.com>;tag=")
        .nth(1)
        .expect("tag");
    assert_eq!(tag.find('-'), Some(32), "tm tag shape: {tag}");
    assert!(up[0].contains("Server: kamailio"), "{}", up[0]);
}

#[test]
fn local_negative_reply_retransmitted_until_ack_then_deleted_after_wait() {
    let mut h = harness(&[]);
    let out = h.send(UA, &request("INVITE", "local"), 0);
    assert_eq!(out.len(), 1);
    let s = text(&out[0]);
    assert!(s.starts_with("SIP/2.0 404 Not Found\r\n"), "{s}");
    assert!(s.contains(";tag=") && !s.contains(".0000"), "{s}");
    // Retransmitted at +0.5, +1.5 (T1 doubling) until the ACK.
    let mut at = Vec::new();
    for ms in (50..=2000).step_by(50) {
        if !h.tick(ms).is_empty() {
            at.push(ms);
        }
    }
    assert_eq!(at, [500, 1500]);
    // The ACK (same branch) is absorbed: nothing sent, nothing relayed.
    assert!(h.send(UA, &ack("local"), 2100).is_empty());
    let mut more = Vec::new();
    for ms in (2150..=7000).step_by(50) {
        more.extend(h.tick(ms));
    }
    assert!(more.is_empty(), "no retransmission after the ACK: {more:?}");
    assert_eq!(h.txs(), 1, "still on the wait timer");
    h.tick(7200);
    assert_eq!(h.txs(), 0, "deleted wt_timer after the ACK");
}

#[test]
fn non_invite_timeout_is_a_408_and_retransmits_at_t2_after_provisional() {
    let mut h = harness(&[("fr_timer", 6000)]);
    let out = h.send(UA, &request("MESSAGE", "bob"), 0);
    assert_eq!(out.len(), 1, "no 100 for non-INVITE: {out:?}");
    let fwd = out[0].clone();
    let mut at = Vec::new();
    for ms in (50..=500).step_by(50) {
        if !h.tick(ms).is_empty() {
            at.push(ms);
        }
    }
    assert!(h.send(UAS, &answer(&fwd, 100, "Trying"), 600).is_empty());
    for ms in (650..6000).step_by(50) {
        if !h.tick(ms).is_empty() {
            at.push(ms);
        }
    }
    assert_eq!(at, [500, 4600]);
    let up = to(&h.tick(6000), UA);
    assert_eq!(up.len(), 1);
    assert!(
        up[0].starts_with("SIP/2.0 408 Request Timeout\r\n"),
        "{}",
        up[0]
    );
    // Non-INVITE final: no retransmission, deleted after wt_timer.
    assert!(h.tick(8000).is_empty());
    h.tick(11_000);
    assert_eq!(h.txs(), 0);
}

#[test]
fn best_reply_of_two_branches_and_hop_by_hop_acks() {
    let mut h = harness(&[]);
    let out = h.send(UA, &request("INVITE", "two"), 0);
    let b0 = out
        .iter()
        .find(|t| t.dst == addr(UAS))
        .expect("branch 0")
        .clone();
    let b1 = out
        .iter()
        .find(|t| t.dst == addr(UAS2))
        .expect("branch 1")
        .clone();
    assert!(text(&b0).contains("X-Branch: 0\r\n") && text(&b1).contains("X-Branch: 1\r\n"));
    // Branch 1 busy: ACKed by tm, nothing relayed yet; the failure route
    // would fork on 486, so make branch 0 decline: 603 wins over 486.
    let out = h.send(UAS2, &answer(&b1, 486, "Busy Here"), 100);
    let acks = to(&out, UAS2);
    assert_eq!(acks.len(), 1);
    assert!(
        acks[0].starts_with("ACK sip:two@127.0.0.1:5092 SIP/2.0\r\n"),
        "{}",
        acks[0]
    );
    assert!(acks[0].contains("To: <sip:two@example.com>;tag=b1\r\n"));
    assert!(acks[0].contains("CSeq: 1 ACK\r\n"));
    assert!(to(&out, UA).is_empty());
    // A retransmitted 486 gets the same ACK again.
    let again = h.send(UAS2, &answer(&b1, 486, "Busy Here"), 150);
    assert_eq!(to(&again, UAS2), acks);
    let out = h.send(UAS, &answer(&b0, 603, "Decline"), 200);
    assert_eq!(to(&out, UAS).len(), 1, "ACK for the 603");
    let up = to(&out, UA);
    assert_eq!(up.len(), 1, "{out:?}");
    assert!(up[0].starts_with("SIP/2.0 603 Decline\r\n"), "{}", up[0]);
    // The relayed negative reply is retransmitted until the ACK...
    assert_eq!(to(&h.tick(700), UA).len(), 1);
    assert!(h.send(UA, &ack("two"), 800).is_empty());
    assert!(h.tick(1700).is_empty());
}

#[test]
fn a_2xx_is_relayed_and_cancels_the_other_branches() {
    let mut h = harness(&[]);
    let out = h.send(UA, &request("INVITE", "two"), 0);
    let b0 = out.iter().find(|t| t.dst == addr(UAS)).expect("b0").clone();
    let b1 = out
        .iter()
        .find(|t| t.dst == addr(UAS2))
        .expect("b1")
        .clone();
    h.send(UAS2, &answer(&b1, 180, "Ringing"), 100);
    let out = h.send(UAS, &answer(&b0, 200, "OK"), 200);
    let up = to(&out, UA);
    assert_eq!(up.len(), 1);
    assert!(up[0].starts_with("SIP/2.0 200 OK\r\n"));
    let cancel = to(&out, UAS2);
    assert_eq!(cancel.len(), 1, "{out:?}");
    assert!(
        cancel[0].starts_with("CANCEL sip:two@127.0.0.1:5092 SIP/2.0\r\n"),
        "{}",
        cancel[0]
    );
    // Max-Forwards kept where the request had it; Reason last.
    assert!(
        cancel[0].contains("\r\nMax-Forwards: 70\r\nFrom: "),
        "{}",
        cancel[0]
    );
    assert!(cancel[0].ends_with(
        "CSeq: 1 CANCEL\r\nContent-Length: 0\r\nReason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n\r\n"
    ), "{}", cancel[0]);
    // No ACK from tm for a 2xx; a retransmitted 2xx is relayed again.
    assert!(to(&out, UAS).is_empty());
    let again = h.send(UAS, &answer(&b0, 200, "OK"), 300);
    assert_eq!(to(&again, UA).len(), 1);
    // The CANCEL is retransmitted until answered; its 200 is absorbed.
    assert_eq!(to(&h.tick(700), UAS2).len(), 1);
    let c = Transmit {
        data: cancel[0].clone().into_bytes(),
        ..b1.clone()
    };
    assert!(h.send(UAS2, &answer(&c, 200, "OK"), 800).is_empty());
    // The 487 is ACKed and not relayed (a 2xx went upstream already).
    let out = h.send(UAS2, &answer(&b1, 487, "Request Terminated"), 900);
    assert_eq!(to(&out, UAS2).len(), 1);
    assert!(to(&out, UA).is_empty());
    assert!(h.tick(1700).is_empty(), "CANCEL retransmission stopped");
    // Deleted wt_timer after the last branch completed (0.9 s).
    h.tick(5800);
    assert_eq!(h.txs(), 1);
    h.tick(5900);
    assert_eq!(h.txs(), 0);
}

#[test]
fn cancel_flow() {
    let mut h = harness(&[]);
    let fwd = invite(&mut h, "bob");
    h.send(UAS, &answer(&fwd, 180, "Ringing"), 100);
    let mut cancel = request("CANCEL", "bob");
    let reason = b"Reason: SIP;cause=487\r\n";
    let at = cancel.len() - 2;
    cancel.splice(at..at, reason.iter().copied());
    let out = h.send(UA, &cancel, 200);
    let up = to(&out, UA);
    assert_eq!(up.len(), 1, "{out:?}");
    assert!(up[0].starts_with("SIP/2.0 200 canceling\r\n"), "{}", up[0]);
    let down = to(&out, UAS);
    assert_eq!(down.len(), 1);
    assert!(down[0].starts_with("CANCEL sip:bob@127.0.0.1:5090 SIP/2.0\r\n"));
    assert!(
        down[0].ends_with("Content-Length: 0\r\nReason: SIP;cause=487\r\n\r\n"),
        "{}",
        down[0]
    );
    // A retransmitted CANCEL gets the 200 again.
    let out = h.send(UA, &cancel, 250);
    assert_eq!(out.len(), 1);
    assert!(text(&out[0]).starts_with("SIP/2.0 200 canceling"));
    // 487 from the UAS: ACKed, the failure route sees t_is_canceled and
    // exits, the 487 goes upstream.
    let out = h.send(UAS, &answer(&fwd, 487, "Request Terminated"), 300);
    assert_eq!(to(&out, UAS).len(), 1, "ACK");
    let up = to(&out, UA);
    assert_eq!(up.len(), 1, "{out:?}");
    assert!(up[0].starts_with("SIP/2.0 487 Request Terminated\r\n"));
    assert!(to(&out, VM).is_empty());
    // A CANCEL for an unknown INVITE: the stock cfg's t_check_trans fails.
    assert!(h.send(UA, &request("CANCEL", "nobody"), 400).is_empty());
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let mut h = harness(&[]);
    let fwd = invite(&mut h, "bob");
    let out = h.send(UA, &request("CANCEL", "bob"), 100);
    assert!(text(&out[0]).starts_with("SIP/2.0 200 canceling"));
    assert!(to(&out, UAS).is_empty(), "no CANCEL before a provisional");
    let out = h.send(UAS, &answer(&fwd, 100, "Trying"), 200);
    let down = to(&out, UAS);
    assert_eq!(down.len(), 1);
    assert!(down[0].starts_with("CANCEL "));
}

#[test]
fn final_503_goes_upstream_as_500() {
    let mut h = harness(&[]);
    let out = h.send(UA, &request("MESSAGE", "bob"), 0);
    let out = h.send(UAS, &answer(&out[0], 503, "Service Unavailable"), 10);
    let up = to(&out, UA);
    assert_eq!(up.len(), 1);
    assert!(
        up[0].starts_with("SIP/2.0 500 Service Unavailable\r\n"),
        "{}",
        up[0]
    );
    assert!(up[0].contains("Server: kamailio"));
}

#[test]
fn unresolvable_destination_gets_the_sl_and_the_delayed_tm_error() {
    let mut h = harness(&[]);
    // Branch route drops the only branch: nothing could be sent, t_relay
    // returns E_CFG (-6), the delayed error reply says so (as Kamailio's;
    // `tests/constructs/route_branch_drop_reply.cfg` compares them).
    let out = h.send(UA, &request("MESSAGE", "nobranch"), 0);
    let up = to(&out, UA);
    assert_eq!(up.len(), 2, "{up:?}");
    assert!(
        up[0].starts_with("SIP/2.0 500 I'm terribly sorry, server error occurred (6/SL)\r\n"),
        "{}",
        up[0]
    );
    assert!(
        up[1].starts_with("SIP/2.0 500 I'm terribly sorry, server error occurred (6/TM)\r\n"),
        "{}",
        up[1]
    );
}

#[test]
fn hostile_replies_never_panic_nor_match() {
    let mut h = harness(&[]);
    let fwd = invite(&mut h, "bob");
    let s = text(&fwd);
    let ours = s.lines().nth(1).expect("via").to_string();
    // Branch index beyond the branches: relayed statelessly (dropped here,
    // the next Via is not ours... it is relayed to it).
    let bad_idx = answer(&fwd, 180, "Ringing");
    let bad = String::from_utf8_lossy(&bad_idx).replace(
        &ours["Via: ".len()..],
        &format!("{}9", &ours["Via: ".len()..ours.len() - 1]),
    );
    let _ = h.send(UAS, bad.as_bytes(), 10);
    for junk in [
        &b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKzz.qq.0\r\n\r\n"[..],
        b"SIP/2.0 200 OK\r\n\r\n",
        b"garbage",
    ] {
        let _ = h.send(UAS, junk, 20);
    }
    // The transaction is intact: the real 180 still works.
    let out = h.send(UAS, &answer(&fwd, 180, "Ringing"), 30);
    assert_eq!(to(&out, UA).len(), 1);
}

#[test]
fn table_stays_bounded() {
    let mut h = harness(&[]);
    let tm = Tm::with_config(TmConfig {
        max_transactions: 64,
        ..TmConfig::default()
    });
    h.e.tm = tm;
    let mut refused = 0;
    for i in 0..200 {
        let out = h.send(UA, &request("MESSAGE", &format!("u{i}")), 0);
        if to(&out, UA).iter().any(|r| r.starts_with("SIP/2.0 500")) {
            refused += 1;
        }
    }
    assert!(h.txs() <= 64, "{}", h.txs());
    assert!(refused > 0);
}

#[test]
fn check_status_and_route_predicates() {
    let mut h = harness(&[]);
    let _ = h.send(UA, &request("OPTIONS", "x"), 0);
    let msg_bytes = request("OPTIONS", "y");
    let msg = Message::parse(&msg_bytes).expect("msg");
    let r = rcv(UA);
    let core = CoreConfig::default();
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    let mut ctx = Ctx::new(&msg, &r, &core, &mut w, &mut out);
    ctx.tm.route = RouteKind::Failure;
    ctx.tm.reply_code = 404;
    assert_eq!(t_check_status(&mut ctx, b"40"), 1, "unanchored");
    assert_eq!(t_check_status(&mut ctx, b"^3"), -1);
    assert_eq!(t_check_status(&mut ctx, b"(("), -1, "bad regex is false");
    assert_eq!(t_check_trans(&mut ctx), 1, "always 1 in a failure route");
    assert_eq!(t_is_failure_route(&ctx), 1);
    assert_eq!(t_is_branch_route(&ctx), -1);
    ctx.tm.route = RouteKind::Request;
    assert_eq!(t_check_status(&mut ctx, b"."), -1, "no transaction");
    assert_eq!(t_reply(&mut ctx, 404, b"x"), -1, "no transaction");
    assert_eq!(t_is_set(&mut ctx, b"failure_route"), -1);
    t_on_failure(&mut ctx, 0);
    assert_eq!(t_is_set(&mut ctx, b"failure_route"), 1);
    assert_eq!(t_is_set(&mut ctx, b"branch_route"), -1);
    // A negative index (`t_on_failure("0")`) disarms.
    t_on_branch(&mut ctx, 0);
    t_on_reply(&mut ctx, 0);
    assert_eq!(t_is_set(&mut ctx, b"branch_route"), 1);
    assert_eq!(t_is_set(&mut ctx, b"onreply_route"), 1);
    t_on_failure(&mut ctx, -1);
    t_on_branch(&mut ctx, -1);
    t_on_reply(&mut ctx, -1);
    assert_eq!(t_is_set(&mut ctx, b"failure_route"), -1);
    assert_eq!(t_is_set(&mut ctx, b"branch_route"), -1);
    assert_eq!(t_is_set(&mut ctx, b"onreply_route"), -1);
}

#[test]
fn precheck_sees_concurrent_processing_only() {
    let h = harness(&[]);
    let bytes = request("INVITE", "p");
    let msg = Message::parse(&bytes).expect("msg");
    let r = rcv(UA);
    let (mut w1, mut o1, mut w2, mut o2) = (
        WorkerState::default(),
        Vec::new(),
        WorkerState::default(),
        Vec::new(),
    );
    let mut a = Ctx::new(&msg, &r, &h.e.core, &mut w1, &mut o1);
    a.tm.shared = &h.e.tm;
    let mut b = Ctx::new(&msg, &r, &h.e.core, &mut w2, &mut o2);
    b.tm.shared = &h.e.tm;
    assert_eq!(t_precheck_trans(&mut a), -1);
    assert_eq!(t_precheck_trans(&mut a), -1, "same worker again");
    assert_eq!(t_precheck_trans(&mut b), 1, "another worker meanwhile");
    end_request(&mut a);
    assert_eq!(t_precheck_trans(&mut b), -1, "done: no longer tracked");
}

// ---- acc, driven by tm ---------------------------------------------------

/// The stock configuration's accounting, reduced:
/// request_route {
///   if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
///   if (is_method("INVITE|BYE")) setflag(FLT_ACC);        # 1
///   if (is_method("BYE")) setflag(FLT_ACCFAILED);         # 3
///   if ($rU =~ "^missed") setflag(FLT_ACCMISSED);         # 2
///   if ($rU =~ "fail$") t_on_failure("F");
///   rewritehostport("127.0.0.1:5090"); t_relay(); exit;
/// }
/// failure_route[F] { if ($rU == "refail") { setflag(FLT_ACCMISSED); $ru = "sip:vm@127.0.0.1:5093"; t_relay(); } }
/// with log_extra "src_user=$fU;dst_user=$rU;dst_ouser=$tU;nothing=$null".
struct Acc;

impl Script for Acc {
    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        if textops::is_method(ctx, b"ACK") > 0 {
            if rc(t_check_trans(ctx))? > 0 {
                ctx.rc = t_relay(ctx);
            }
            return Err(Stop::Exit);
        }
        if textops::is_method(ctx, b"INVITE|BYE") > 0 {
            ctx.setflag(1);
        }
        if textops::is_method(ctx, b"BYE") > 0 {
            ctx.setflag(3);
        }
        let user = pv::r_user(ctx).to_bytes().into_owned();
        if user.starts_with(b"missed") {
            ctx.setflag(2);
        }
        if user.ends_with(b"fail") {
            t_on_failure(ctx, 0);
        }
        let uri =
            crate::engine::uri::set_hostport(ctx.ruri(), b"127.0.0.1:5090").expect("rewritable");
        ctx.new_uri = Some(uri);
        ctx.rc = t_relay(ctx);
        Err(Stop::Exit)
    }

    fn failure_route(&self, _idx: u32, ctx: &mut Ctx<'_>) -> Flow {
        if pv::r_user(ctx).equals(&Value::str(b"missed-refail")) {
            ctx.setflag(2);
            ctx.new_uri = Some(b"sip:vm@127.0.0.1:5093".to_vec());
            ctx.rc = t_relay(ctx);
        }
        Ok(1)
    }
}

struct AccHarness {
    e: Engine<Acc>,
    w: WorkerState,
    t0: Instant,
    log: std::sync::Arc<Mutex<Vec<String>>>,
}

fn acc_harness() -> AccHarness {
    let listen = vec![(Proto::Udp, "127.0.0.1:5060".parse().expect("addr"))];
    let log = std::sync::Arc::new(Mutex::new(Vec::new()));
    let core = CoreConfig {
        myself: crate::transport::myself::Myself::from_listen(listen.clone()),
        listen,
        log: crate::engine::log::LogSink::Memory(log.clone()),
        ..CoreConfig::default()
    };
    let mut p = ModParams::new();
    for (n, v) in [
        ("log_flag", 1),
        ("log_missed_flag", 2),
        ("failed_transaction_flag", 3),
    ] {
        p.push("acc", n, ParamValue::Int(v));
    }
    let extra = |n: &str, id| (n.to_string(), pv::PvRef::Plain(id));
    p.push(
        "acc",
        "log_extra",
        ParamValue::PvList(vec![
            extra("src_user", pv::PvId::FromUser),
            extra("dst_user", pv::PvId::RUser),
            extra("dst_ouser", pv::PvId::ToUser),
            extra("nothing", pv::PvId::Null),
        ]),
    );
    AccHarness {
        e: Engine::with_params(Acc, core, p).expect("params"),
        w: WorkerState::default(),
        t0: Instant::now(),
        log,
    }
}

impl AccHarness {
    fn send(&mut self, from: &str, data: &[u8], ms: u64) -> Vec<Transmit> {
        let mut out = Vec::new();
        let now = self.t0 + Duration::from_millis(ms);
        self.e
            .process_at(data, &rcv(from), &mut self.w, &mut out, now);
        out
    }

    fn tick(&mut self, ms: u64) -> Vec<Transmit> {
        let mut out = Vec::new();
        let now = self.t0 + Duration::from_millis(ms);
        self.e.on_tick_with(&mut self.w, now, &mut out);
        out
    }

    /// The records logged so far, timestamps hidden, taken.
    fn records(&self) -> Vec<String> {
        let mut log = self.log.lock().expect("log");
        std::mem::take(&mut *log)
            .into_iter()
            .map(|l| {
                let (head, rest) = l.split_once("timestamp=").expect("a record");
                let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                format!("{head}timestamp=T{rest}")
            })
            .collect()
    }

    /// Sends `method` for `user`; returns what was relayed to `dst`.
    fn relay(&mut self, method: &str, user: &str, dst: &str, ms: u64) -> Transmit {
        self.send(UA, &request(method, user), ms)
            .into_iter()
            .find(|t| t.dst == addr(dst))
            .expect("relayed")
    }
}

const ACC_PREFIX: &str = "NOTICE: acc [acc.c:287]: acc_log_request(): ";

#[test]
fn acc_answered_call_is_one_transaction_answered_record() {
    let mut h = acc_harness();
    let fwd = h.relay("INVITE", "bob", UAS, 0);
    h.send(UAS, &answer(&fwd, 180, "Ringing"), 10);
    assert_eq!(h.records(), Vec::<String>::new(), "no early_media");
    let up = to(&h.send(UAS, &answer(&fwd, 200, "OK"), 20), UA);
    assert_eq!(up.len(), 1);
    assert_eq!(
        h.records(),
        [format!(
            "{ACC_PREFIX}ACC: transaction answered: timestamp=T;method=INVITE;from_tag=a1;\
to_tag=b1;call_id=bob@x;code=200;reason=OK;src_user=alice;dst_user=bob;dst_ouser=bob;nothing="
        )]
    );
}

#[test]
fn acc_unanswered_invite_with_missed_flag_is_one_call_missed_record() {
    let mut h = acc_harness();
    let fwd = h.relay("INVITE", "missed", UAS, 0);
    let up = to(&h.send(UAS, &answer(&fwd, 486, "Busy Here"), 20), UA);
    assert_eq!(up.len(), 1);
    // No failed_transaction_flag on an INVITE: no "answered" record.
    assert_eq!(
        h.records(),
        [format!(
            "{ACC_PREFIX}ACC: call missed: timestamp=T;method=INVITE;from_tag=a1;\
to_tag=b1;call_id=missed@x;code=486;reason=Busy Here;src_user=alice;dst_user=missed;\
dst_ouser=missed;nothing="
        )]
    );
}

#[test]
fn acc_missed_when_failure_route_entered_and_flag_cleared_unless_set_again() {
    // Armed failure route that does nothing: one record, when it is
    // entered, none when the 486 then goes upstream (the flag is cleared).
    let mut h = acc_harness();
    let fwd = h.relay("INVITE", "missed-fail", UAS, 0);
    let up = to(&h.send(UAS, &answer(&fwd, 486, "Busy Here"), 20), UA);
    assert_eq!(up.len(), 1);
    let r = h.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].contains("ACC: call missed: "), "{r:?}");

    // The failure route sets the flag again and forks to voicemail, which
    // times out: a second record, with tm's 408 (its own To-tag) and the
    // voicemail branch's R-URI.
    let fwd = h.relay("INVITE", "missed-refail", UAS, 1000);
    let out = h.send(UAS, &answer(&fwd, 486, "Busy Here"), 1020);
    assert!(to(&out, UA).is_empty(), "failure route took over");
    let r = h.records();
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].contains("code=486;reason=Busy Here;src_user=alice;dst_user=missed-refail;"),
        "{r:?}"
    );
    // (The UA sends no ACKs: negative replies are retransmitted.)
    let mut up = Vec::new();
    for ms in (1050..=40_000).step_by(50) {
        up.extend(to(&h.tick(ms), UA));
    }
    up.retain(|r| r.starts_with("SIP/2.0 408 Request Timeout\r\n"));
    assert!(!up.is_empty());
    let tag = up[0]
        .split("To: <sip:missed-refail@example.com>;tag=")
        .nth(1)
        .and_then(|t| t.split("\r\n").next())
        .expect("tm's tag");
    assert_eq!(
        h.records(),
        [format!(
            "{ACC_PREFIX}ACC: call missed: timestamp=T;method=INVITE;from_tag=a1;\
to_tag={tag};call_id=missed-refail@x;code=408;reason=Request Timeout;src_user=alice;\
dst_user=vm;dst_ouser=missed-refail;nothing="
        )]
    );
}

#[test]
fn acc_failed_transaction_flag_accounts_negative_replies() {
    let mut h = acc_harness();
    let fwd = h.relay("BYE", "bob", UAS, 0);
    let up = to(&h.send(UAS, &answer(&fwd, 481, "No Such Call"), 20), UA);
    assert_eq!(up.len(), 1);
    assert_eq!(
        h.records(),
        [format!(
            "{ACC_PREFIX}ACC: transaction answered: timestamp=T;method=BYE;from_tag=a1;\
to_tag=b1;call_id=bob@x;code=481;reason=No Such Call;src_user=alice;dst_user=bob;\
dst_ouser=bob;nothing="
        )]
    );
    // An INVITE refused without the missed flag: nothing.
    let fwd = h.relay("INVITE", "carol", UAS, 100);
    h.send(UAS, &answer(&fwd, 486, "Busy Here"), 120);
    assert_eq!(h.records(), Vec::<String>::new());
}

#[test]
fn acc_nothing_without_flags_at_creation() {
    let mut h = acc_harness();
    let fwd = h.relay("MESSAGE", "missedx", UAS, 0);
    // The missed flag alone arms acc, but a MESSAGE is no missed call and
    // has no log_flag.
    h.send(UAS, &answer(&fwd, 404, "Not Found"), 20);
    let fwd = h.relay("OPTIONS", "bob", UAS, 100);
    h.send(UAS, &answer(&fwd, 200, "OK"), 120);
    assert_eq!(h.records(), Vec::<String>::new());
}

// ---- local requests (tm::local) ----------------------------------------

type Done = std::sync::Arc<Mutex<Vec<(u16, bool)>>>;

fn options_to(uri: &str, done: &Done) -> local::LocalRequest {
    let done = done.clone();
    local::LocalRequest {
        method: b"OPTIONS".to_vec(),
        dialog: local::LocalDialog {
            loc_uri: b"sip:dispatcher@localhost".to_vec(),
            rem_uri: uri.as_bytes().to_vec(),
            loc_seq: 10,
            rem_target: uri.as_bytes().to_vec(),
            ..local::LocalDialog::default()
        },
        on_done: Some(std::sync::Arc::new(move |c: &local::Completion<'_>| {
            done.lock().expect("lock").push((c.code, c.reply.is_some()));
        })),
        ..local::LocalRequest::default()
    }
}

#[test]
fn local_request_gets_its_final_reply_and_no_relay() {
    let mut h = harness(&[]);
    let done = Done::default();
    local::queue(options_to("sip:127.0.0.1:5090", &done));
    let out = h.tick(0);
    let sent = to(&out, UAS);
    assert_eq!(sent.len(), 1, "{out:?}");
    assert!(
        sent[0].starts_with(
            "OPTIONS sip:127.0.0.1:5090 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK"
        ),
        "{}",
        sent[0]
    );
    assert!(sent[0].contains("\r\nCSeq: 10 OPTIONS\r\n"));
    let req = out[0].clone();
    // A provisional changes nothing; the final goes to the sender only.
    let out = h.send(UAS, &answer(&req, 100, "Trying"), 10);
    assert!(out.is_empty(), "{out:?}");
    assert!(done.lock().expect("lock").is_empty());
    let out = h.send(UAS, &answer(&req, 200, "OK"), 20);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(*done.lock().expect("lock"), vec![(200, true)]);
    // A retransmitted final reply is absorbed and not reported again.
    let out = h.send(UAS, &answer(&req, 200, "OK"), 30);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(done.lock().expect("lock").len(), 1);
    // No retransmission after the final reply.
    assert!(to(&h.tick(5_000), UAS).is_empty());
    // Deleted after the wait timer.
    h.tick(10_000);
    assert_eq!(h.txs(), 0);
}

#[test]
fn local_request_retransmitted_then_faked_408() {
    let mut h = harness(&[]);
    let done = Done::default();
    local::queue(options_to("sip:127.0.0.1:5090", &done));
    let mut times = Vec::new();
    for ms in (0..=33_000).step_by(50) {
        if !to(&h.tick(ms), UAS).is_empty() {
            times.push(ms);
        }
    }
    // T1 = 500 ms doubling to T2 = 4 s, until fr_timer (30 s).
    assert_eq!(
        times,
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500]
    );
    assert_eq!(*done.lock().expect("lock"), vec![(408, false)]);
}

#[test]
fn local_request_to_a_bad_target_completes_at_once() {
    let mut h = harness(&[]);
    let done = Done::default();
    local::queue(options_to("sip:a@[bad", &done));
    let out = h.tick(0);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(*done.lock().expect("lock"), vec![(408, false)]);
    assert_eq!(h.txs(), 0);
}

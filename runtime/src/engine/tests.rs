//! The engine driven by a hand-written script shaped like cfgc's output.

use std::net::SocketAddr;

use super::*;
use crate::engine::pv;
use crate::modules::{sl, textops};
use crate::transport::Proto;

/// request_route {
///     if (is_method("OPTIONS")) { sl_send_reply("200", "Keepalive"); exit; }
///     if ($rU == "drop") drop;
///     $var(n) = $var(n) + 1;
///     rewritehostport("127.0.0.1:5070");
///     forward();
/// }
struct Proxy;

impl Script for Proxy {
    fn var_count(&self) -> usize {
        1
    }

    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        ctx.rc = textops::is_method(ctx, b"OPTIONS");
        if ctx.rc > 0 {
            ctx.rc = sl::sl_send_reply(ctx, 200, b"Keepalive");
            rc(ctx.rc)?;
            return Err(Stop::Exit);
        }
        if pv::r_user(ctx).equals(&Value::str(b"drop")) {
            return Err(Stop::Drop);
        }
        let n = pv::var(ctx, 0).add(&Value::Int(1));
        pv::set_var(ctx, 0, n);
        let Some(u) = uri::set_hostport(ctx.ruri(), b"127.0.0.1:5070") else {
            return Ok(-1);
        };
        ctx.new_uri = Some(u);
        ctx.rc = forward::forward(ctx, None);
        rc(ctx.rc)
    }
}

fn engine() -> Engine<Proxy> {
    let listen = vec![(Proto::Udp, "127.0.0.1:5060".parse().expect("addr"))];
    let core = CoreConfig {
        myself: crate::transport::myself::Myself::from_listen(listen.clone()),
        listen,
        ..CoreConfig::default()
    };
    Engine::new(Proxy, core)
}

fn rcv(src: &str) -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: src.parse().expect("addr"),
        local: "127.0.0.1:5060".parse().expect("addr"),
        conn: None,
    }
}

fn request(method: &str, user: &str) -> Vec<u8> {
    format!(
        "{method} sip:{user}@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5080;branch=z9hG4bK-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:{user}@example.com>\r\n\
Call-ID: c1@x\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn text(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.data).into_owned()
}

#[test]
fn options_answered_statelessly() {
    let e = engine();
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    e.process(
        &request("OPTIONS", "bob"),
        &rcv("127.0.0.1:5080"),
        &mut w,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    let t = text(&out[0]);
    assert!(t.starts_with("SIP/2.0 200 Keepalive\r\n"), "{t}");
    assert!(
        t.contains(
            "Via: SIP/2.0/UDP 10.0.0.5:5080;branch=z9hG4bK-1;rport=5080;received=127.0.0.1\r\n"
        ),
        "{t}"
    );
    assert!(t.contains("\r\nTo: <sip:bob@example.com>;tag="), "{t}");
    assert_eq!(
        out[0].dst,
        "127.0.0.1:5080".parse::<SocketAddr>().expect("addr")
    );
    // $var was not touched: the script exited first.
    assert_eq!(w.vars[0], Value::Int(0));
}

#[test]
fn invite_forwarded_with_our_via_on_top() {
    let e = engine();
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    e.process(
        &request("INVITE", "bob"),
        &rcv("127.0.0.1:5080"),
        &mut w,
        &mut out,
    );
    assert_eq!(out.len(), 1, "forwarded once");
    let t = text(&out[0]);
    assert_eq!(
        out[0].dst,
        "127.0.0.1:5070".parse::<SocketAddr>().expect("addr")
    );
    assert!(
        t.starts_with("INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n"),
        "{t}"
    );
    let vias: Vec<&str> = t.lines().filter(|l| l.starts_with("Via:")).collect();
    assert_eq!(vias.len(), 2, "{t}");
    assert!(
        vias[0].starts_with("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK"),
        "{t}"
    );
    assert_eq!(
        vias[1],
        "Via: SIP/2.0/UDP 10.0.0.5:5080;received=127.0.0.1;branch=z9hG4bK-1;rport=5080"
    );
    // $var persists across messages of one worker.
    e.process(
        &request("INVITE", "bob"),
        &rcv("127.0.0.1:5080"),
        &mut w,
        &mut out,
    );
    assert_eq!(w.vars[0], Value::Int(2));
}

#[test]
fn drop_sends_nothing() {
    let e = engine();
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    e.process(
        &request("INVITE", "drop"),
        &rcv("127.0.0.1:5080"),
        &mut w,
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn garbage_is_dropped_without_panic() {
    let e = engine();
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    for junk in [
        &b""[..],
        b"\r\n",
        b"INVITE",
        b"SIP/2.0 200\r\n\r\n",
        &[0xff; 300],
    ] {
        e.process(junk, &rcv("127.0.0.1:5080"), &mut w, &mut out);
    }
    assert!(out.is_empty());
}

#[test]
fn replies_relayed_to_the_next_via() {
    let e = engine();
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    let reply = b"SIP/2.0 180 Ringing\r\n\
Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKabc\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5080;received=127.0.0.1;branch=z9hG4bK-1;rport=5081\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:bob@example.com>;tag=b1\r\n\
Call-ID: c1@x\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";
    e.process(reply, &rcv("127.0.0.1:5070"), &mut w, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].dst,
        "127.0.0.1:5081".parse::<SocketAddr>().expect("addr")
    );
    let t = text(&out[0]);
    assert!(!t.contains("z9hG4bKabc"), "our Via removed: {t}");
    assert!(t.contains(
        "Via: SIP/2.0/UDP 10.0.0.5:5080;received=127.0.0.1;branch=z9hG4bK-1;rport=5081\r\n"
    ));
    // A reply whose top Via is not ours is dropped.
    out.clear();
    let foreign = String::from_utf8_lossy(reply)
        .replace("127.0.0.1;branch=z9hG4bKabc", "192.0.2.9;branch=z9hG4bKabc");
    e.process(foreign.as_bytes(), &rcv("127.0.0.1:5070"), &mut w, &mut out);
    assert!(out.is_empty());
}

#[test]
fn rewrites_and_pvs() {
    let e = engine();
    let data = request("INVITE", "0049301234");
    let msg = Message::parse(&data).expect("parses");
    let r = rcv("127.0.0.1:5080");
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    let mut ctx = Ctx::new(&msg, &r, &e.core, &mut w, &mut out);
    assert_eq!(pv::r_user(&ctx), Value::str(b"0049301234"));
    assert_eq!(pv::set_r_user(&mut ctx, &Value::str(b"49301234")), 1);
    assert_eq!(pv::ru(&ctx), Value::str(b"sip:49301234@example.com"));
    assert_eq!(pv::r_port(&ctx), Value::Int(5060));
    assert_eq!(pv::set_r_port(&mut ctx, &Value::Int(5070)), 1);
    assert_eq!(pv::ru(&ctx), Value::str(b"sip:49301234@example.com:5070"));
    assert_eq!(pv::from_tag(&ctx), Value::str(b"a1"));
    assert_eq!(pv::to_tag(&ctx), Value::Null);
    assert_eq!(pv::src_ip(&ctx), Value::str(b"127.0.0.1"));
    assert_eq!(pv::hdr(&ctx, b"max-forwards"), Value::str(b"70"));
    assert_eq!(pv::hdr(&ctx, b"X-None"), Value::Null);
    assert_eq!(pv::cseq_num(&ctx), Value::Int(1));
    assert_eq!(pv::method(&ctx), Value::str(b"INVITE"));
    pv::set_avp(&mut ctx, 0, Value::Int(1));
    pv::set_avp(&mut ctx, 0, Value::str(b"two"));
    assert_eq!(pv::avp(&ctx, 0, 0), Value::str(b"two"));
    assert_eq!(pv::avp(&ctx, 0, 1), Value::Int(1));
    pv::set_avp(&mut ctx, 0, Value::Null);
    assert_eq!(pv::avp(&ctx, 0, 0), Value::Int(1));
    assert_eq!(ctx.setflag(3), 1);
    assert_eq!(ctx.isflagset(3), 1);
    ctx.resetflag(3);
    assert_eq!(ctx.isflagset(3), -1);
    assert_eq!(sl::sl_reply_error(&mut ctx), 1);
    assert!(text(&ctx.out[0]).starts_with("SIP/2.0 500 I'm terribly sorry"));
}

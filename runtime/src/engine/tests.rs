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

#[test]
fn message_and_destination_pvs() {
    let e = engine();
    let data = String::from_utf8(request("INVITE", "bob"))
        .unwrap()
        .replace(
            "Max-Forwards: 70\r\n",
            "Max-Forwards: 70\r\nContact: <sip:alice@10.0.0.5>;expires=60\r\nv: SIP/2.0/UDP 1.2.3.4\r\n",
        )
        .into_bytes();
    let msg = Message::parse(&data).expect("parses");
    let r = rcv("127.0.0.1:5080");
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    let mut ctx = Ctx::new(&msg, &r, &e.core, &mut w, &mut out);
    assert_eq!(pv::msg_type(&ctx), Value::Int(1));
    assert_eq!(pv::version(&ctx), Value::str(b"SIP/2.0"));
    assert_eq!(pv::r_scheme(&ctx), Value::str(b"sip"));
    assert_eq!(
        pv::contact(&ctx),
        Value::str(b"<sip:alice@10.0.0.5>;expires=60")
    );
    assert_eq!(
        pv::hdr_count(&ctx, b"Via"),
        Value::Int(2),
        "compact `v` counts"
    );
    assert_eq!(pv::hdr_count(&ctx, b"X-None"), Value::Int(0));
    assert_eq!(pv::dst_domain(&ctx), Value::Null, "no $du");
    assert_eq!(pv::dst_port(&ctx), Value::Null);
    ctx.dst_uri = Some(b"sip:gw.example;transport=TLS".to_vec());
    assert_eq!(pv::dst_domain(&ctx), Value::str(b"gw.example"));
    assert_eq!(pv::dst_port(&ctx), Value::Int(5061));
    assert_eq!(pv::dst_proto(&ctx), Value::str(b"TLS"));
    ctx.dst_uri = Some(b"sip:gw.example:5080".to_vec());
    assert_eq!(pv::dst_port(&ctx), Value::Int(5080));
    assert_eq!(pv::dst_proto(&ctx), Value::str(b"udp"));
    assert_eq!(pv::env("CFGC_SURELY_UNSET_VARIABLE"), Value::Null);
    assert_eq!(pv::pid(&ctx), Value::Int(std::process::id() as i32));
    assert!(pv::time_s(&ctx).to_int() > 1_600_000_000);
}

#[test]
fn kex_dst_uri_and_branch_flags() {
    use crate::modules::{corex, kex};
    let e = engine();
    let data = request("INVITE", "bob");
    let msg = Message::parse(&data).expect("parses");
    let r = rcv("127.0.0.1:5080");
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    let mut ctx = Ctx::new(&msg, &r, &e.core, &mut w, &mut out);
    assert_eq!(kex::isdsturiset(&ctx), -1);
    assert_eq!(kex::setdsturi(&mut ctx, b"sip:10.0.0.1:5070"), 1);
    assert_eq!(kex::isdsturiset(&ctx), 1);
    assert_eq!(pv::du(&ctx), Value::str(b"sip:10.0.0.1:5070"));

    assert_eq!(kex::setbflag(&mut ctx, 3), 1);
    assert_eq!(kex::isbflagset(&mut ctx, 3), 1);
    assert_eq!(pv::bflags(&ctx), Value::Int(8));
    assert_eq!(pv::bflags_hex(&ctx), Value::str(b"00000008"));
    assert_eq!(kex::setbflag(&mut ctx, 32), -1, "flags are 0..31");
    assert_eq!(kex::setbflag_at(&mut ctx, 1, 1), -1, "no branch 1 yet");
    assert_eq!(pv::branch_uri(&ctx), Value::Null);
    assert_eq!(pv::branches(&ctx), Value::Null);

    // append_branch(): the R-URI with its $du and flags becomes a branch,
    // and branch 0 loses them.
    assert_eq!(corex::append_branch(&mut ctx), 1);
    assert_eq!(ctx.branches[0].uri, b"sip:bob@example.com");
    assert_eq!(
        ctx.branches[0].dst_uri.as_deref(),
        Some(&b"sip:10.0.0.1:5070"[..])
    );
    assert_eq!(ctx.branches[0].flags, 8);
    assert_eq!(ctx.dst_uri, None);
    assert_eq!(ctx.bflags, 0);
    // Branch i > 0 is branches[i - 1].
    assert_eq!(kex::isbflagset_at(&mut ctx, 3, 1), 1);
    assert_eq!(kex::resetbflag_at(&mut ctx, 3, 1), 1);
    assert_eq!(kex::isbflagset_at(&mut ctx, 3, 1), -1);
    assert_eq!(kex::isbflagset_at(&mut ctx, 3, -1), -1);

    kex::setbflag(&mut ctx, 0);
    assert_eq!(
        corex::append_branch_uri_q(&mut ctx, b"sip:c@example.com", b"0.5"),
        1
    );
    assert_eq!(ctx.branches[1].q, 500);
    assert_eq!(
        ctx.branches[1].flags, 1,
        "a given URI takes the current flags"
    );
    assert_eq!(ctx.bflags, 1, "and branch 0 keeps them");
    assert_eq!(
        corex::append_branch_uri_q(&mut ctx, b"sip:d@example.com", b"2"),
        -1
    );
    assert_eq!(pv::branch_uri(&ctx), Value::str(b"sip:bob@example.com"));
    assert_eq!(
        pv::branches(&ctx),
        Value::str(b"sip:bob@example.com, <sip:c@example.com>;q=0.5")
    );
    while corex::append_branch_uri(&mut ctx, b"sip:x@example.com") > 0 {}
    assert_eq!(ctx.branches.len(), corex::MAX_BRANCHES - 1);
    assert_eq!(kex::resetdsturi(&mut ctx), 1);
    assert_eq!(kex::isdsturiset(&ctx), -1);
}

#[test]
fn q_values() {
    use crate::modules::corex::str2q;
    assert_eq!(str2q(b"0.5"), Some(500));
    assert_eq!(str2q(b"1"), Some(1000));
    assert_eq!(str2q(b"1.0"), Some(1000));
    assert_eq!(str2q(b"0.123"), Some(123));
    assert_eq!(str2q(b"0"), Some(0));
    assert_eq!(str2q(b"1.5"), None);
    assert_eq!(str2q(b"0.1234"), None);
    assert_eq!(str2q(b"x"), None);
    assert_eq!(pv::q_str(500), "0.5");
    assert_eq!(pv::q_str(1000), "1");
    assert_eq!(pv::q_str(0), "0");
    assert_eq!(pv::q_str(120), "0.12");
    assert_eq!(pv::q_str(7), "0.007");
}

/// request_route { set_reply_no_connect(); sl_send_reply("404", "x"); }
struct NoConnect;

impl Script for NoConnect {
    fn request_route(&self, ctx: &mut Ctx<'_>) -> Flow {
        ctx.rc = actions::set_reply_no_connect(ctx);
        ctx.rc = sl::sl_send_reply(ctx, 404, b"x");
        rc(ctx.rc)
    }
}

#[test]
fn set_reply_no_connect_marks_the_reply() {
    let e = Engine::new(NoConnect, engine().core);
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    e.process(
        &request("INVITE", "bob"),
        &rcv("127.0.0.1:5080"),
        &mut w,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert!(out[0].no_connect, "the reply must not open a connection");
    // Without the call, replies may connect.
    let e = engine();
    out.clear();
    e.process(
        &request("OPTIONS", "bob"),
        &rcv("127.0.0.1:5080"),
        &mut w,
        &mut out,
    );
    assert!(!out[0].no_connect);
}

thread_local! {
    static SEEN_PREFIX: RefCell<String> = const { RefCell::new(String::new()) };
}

/// request_route { (remembers the log prefix it runs under) }
struct PeekPrefix;

impl Script for PeekPrefix {
    fn request_route(&self, _ctx: &mut Ctx<'_>) -> Flow {
        SEEN_PREFIX.with(|s| *s.borrow_mut() = log::prefix());
        Ok(1)
    }
}

#[test]
fn log_prefix_is_evaluated_on_each_message_and_cleared_after() {
    use super::pv::{FmtSeg, PvId, PvRef};
    let core = CoreConfig {
        // `{$mt $hdr(CSeq) $ci} `, as cfgc resolves it.
        log_prefix: vec![
            FmtSeg::Lit(b"{".to_vec()),
            FmtSeg::Pv(PvRef::Plain(PvId::MsgType)),
            FmtSeg::Lit(b" ".to_vec()),
            FmtSeg::Pv(PvRef::Hdr(b"CSeq".to_vec())),
            FmtSeg::Lit(b" ".to_vec()),
            FmtSeg::Pv(PvRef::Plain(PvId::CallId)),
            FmtSeg::Lit(b"} ".to_vec()),
        ],
        ..CoreConfig::default()
    };
    let e = Engine::new(PeekPrefix, core);
    let (mut w, mut out) = (WorkerState::default(), Vec::new());
    e.process(
        &request("OPTIONS", "bob"),
        &rcv("10.0.0.5:5080"),
        &mut w,
        &mut out,
    );
    assert_eq!(
        SEEN_PREFIX.with(|s| s.borrow().clone()),
        "{1 1 OPTIONS c1@x} "
    );
    // Outside a message (timers), no prefix.
    assert_eq!(log::prefix(), "");
}

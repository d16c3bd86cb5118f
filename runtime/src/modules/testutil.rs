//! Helpers for the modules' unit tests: a context over real message bytes.

use std::time::Instant;

use crate::engine::ctx::{CoreConfig, Ctx, WorkerState};
use crate::engine::forward;
use crate::modules::Modules;
use crate::sip::Message;
use crate::transport::myself::Myself;
use crate::transport::{Proto, RecvInfo, Transmit};

/// Lines joined with CRLF, plus the empty line ending the headers.
pub(crate) fn msg(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n\r\n");
    s.into_bytes()
}

/// A proxy listening on udp:127.0.0.1:5070 (and tcp on the same address).
pub(crate) fn core() -> CoreConfig {
    let listen = vec![
        (Proto::Udp, "127.0.0.1:5070".parse().expect("addr")),
        (Proto::Tcp, "127.0.0.1:5070".parse().expect("addr")),
    ];
    CoreConfig {
        myself: Myself::from_listen(listen.clone()),
        listen,
        ..CoreConfig::default()
    }
}

/// Received over UDP from 127.0.0.1:5080 on 127.0.0.1:5070.
pub(crate) fn rcv() -> RecvInfo {
    RecvInfo {
        proto: Proto::Udp,
        src: "127.0.0.1:5080".parse().expect("addr"),
        local: "127.0.0.1:5070".parse().expect("addr"),
        conn: None,
    }
}

/// Runs `f` on a context for `raw` with default modules; returns its
/// result and what was sent.
pub(crate) fn run<R>(raw: &[u8], f: impl FnOnce(&mut Ctx<'_>) -> R) -> (R, Vec<Transmit>) {
    let modules = Modules::default();
    run_with(raw, &modules, Instant::now(), f)
}

/// As [`run`] with given modules and time.
pub(crate) fn run_with<R>(
    raw: &[u8],
    modules: &Modules,
    now: Instant,
    f: impl FnOnce(&mut Ctx<'_>) -> R,
) -> (R, Vec<Transmit>) {
    let m = Message::parse(raw).expect("test message parses");
    let core = core();
    let rcv = rcv();
    let mut worker = WorkerState::default();
    let mut out = Vec::new();
    let r = {
        let mut ctx = Ctx::new(&m, &rcv, &core, &mut worker, &mut out);
        ctx.modules = modules;
        ctx.now = now;
        f(&mut ctx)
    };
    (r, out)
}

/// Forwards statelessly and returns the bytes sent (panics if nothing was).
pub(crate) fn forwarded(ctx: &mut Ctx<'_>) -> Vec<u8> {
    let n = ctx.out.len();
    let rc = forward::forward(ctx, None);
    assert_eq!(rc, 1, "forward failed");
    ctx.out.get(n).expect("a transmit").data.clone()
}

/// The single reply sent, as text.
pub(crate) fn reply_text(out: &[Transmit]) -> String {
    assert_eq!(out.len(), 1, "exactly one message sent");
    String::from_utf8(out[0].data.clone()).expect("utf8")
}

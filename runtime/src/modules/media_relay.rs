//! What the clients of the media relays (rtpengine's ng protocol,
//! rtpproxy's text protocol) share, as Kamailio's two modules do the same
//! things the same way: a connected UDP socket per instance and worker,
//! a command sent after a cookie and retried until a reply carrying the
//! cookie comes back (`send_rtpp_command`), and the pick of an instance
//! by the Call-ID's byte sum.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Why an exchange failed (the instance is then disabled by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExchangeError {
    /// The socket could not be made, or sending failed, or a receive
    /// failed for another reason than a timeout (an ICMP refusal).
    Send,
    /// No reply with the cookie after every try.
    Timeout,
}

/// A UDP socket connected to `addr`, bound to any address of its family.
pub(crate) fn connect(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let bind: SocketAddr = if addr.is_ipv6() {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(bind)?;
    s.connect(addr)?;
    Ok(s)
}

/// Sends `cookie` (ending in a space) then `payload` on `sock`, `retr`
/// times, each waiting `timeout` for a datagram that starts with the
/// cookie; returns what follows the cookie and its space, at most
/// `max_reply` - 1 bytes read. What an earlier, timed-out command left
/// is drained first (as Kamailio's zero-timeout poll does); datagrams
/// with another cookie are skipped.
///
/// Four system calls a command when the relay answers (drain, send,
/// timeout, receive), as Kamailio's poll, writev, poll, recv; the reply
/// buffer is the worker thread's, reused.
pub(crate) fn exchange(
    sock: &UdpSocket,
    cookie: &str,
    payload: &[u8],
    retr: u32,
    timeout: Duration,
    max_reply: usize,
) -> Result<Vec<u8>, ExchangeError> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        let size = max_reply.max(2);
        if buf.len() < size {
            buf.resize(size, 0);
        }
        exchange_in(sock, cookie, payload, retr, timeout, &mut buf[..size])
    })
}

fn exchange_in(
    sock: &UdpSocket,
    cookie: &str,
    payload: &[u8],
    retr: u32,
    timeout: Duration,
    buf: &mut [u8],
) -> Result<Vec<u8>, ExchangeError> {
    let cap = buf.len() - 1;
    drain(sock);
    let mut data = Vec::with_capacity(cookie.len() + payload.len());
    data.extend_from_slice(cookie.as_bytes());
    data.extend_from_slice(payload);
    let tag = cookie.strip_suffix(' ').unwrap_or(cookie).as_bytes();
    let timeout = timeout.max(Duration::from_millis(1));
    for _ in 0..retr {
        if sock.send(&data).is_err() {
            return Err(ExchangeError::Send);
        }
        let deadline = Instant::now() + timeout;
        let mut left = timeout;
        loop {
            if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match sock.recv(&mut buf[..cap]) {
                Ok(n) => {
                    if let Some(rest) = buf[..n].strip_prefix(tag) {
                        let rest = if rest.is_empty() { rest } else { &rest[1..] };
                        return Ok(rest.to_vec());
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // ICMP unreachable: Kamailio's next send or receive fails.
                Err(_) => return Err(ExchangeError::Send),
            }
            left = deadline.saturating_duration_since(Instant::now());
        }
    }
    Err(ExchangeError::Timeout)
}

/// Reads and drops what is queued on `sock` without waiting
/// (`MSG_DONTWAIT`: one system call when nothing is).
fn drain(sock: &UdpSocket) {
    let s = socket2::SockRef::from(sock);
    let mut scrap = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
    while s.recv_with_flags(&mut scrap, libc::MSG_DONTWAIT).is_ok() {}
}

/// Marks the request as having had SDP under `key` (Kamailio's
/// `FL_SDP_BODY`): on this message's pending edits and, when a
/// transaction exists already (a branch route: `t_gett()->uas.request`),
/// on the transaction's request, so that a reply with SDP is taken as the
/// answer.
pub(crate) fn mark_sdp(ctx: &mut crate::engine::Ctx<'_>, key: &'static str) {
    use crate::engine::ctx::HeaderOp;
    fn mark(ops: &mut Vec<HeaderOp>, key: &'static str) {
        if !ops
            .iter()
            .any(|h| matches!(h, HeaderOp::Note(k, _) if *k == key))
        {
            ops.push(HeaderOp::Note(key, Vec::new()));
        }
    }
    mark(&mut ctx.headers, key);
    crate::tm::with_tx(ctx, |t, _| mark(&mut t.headers, key));
}

/// The Call-ID's byte sum (as signed chars), kept to its low byte: the
/// "quick-and-dirty hashing" both modules pick an instance with.
pub(crate) fn callid_sum(callid: &[u8]) -> u32 {
    callid
        .iter()
        .fold(0u32, |s, &b| s.wrapping_add(i32::from(b as i8) as u32))
        & 0xff
}

/// `strtoul(s, NULL, 10)`: leading digits, 0 if none.
pub(crate) fn strtoul(s: &str) -> u32 {
    s.bytes().take_while(u8::is_ascii_digit).fold(0u32, |n, d| {
        n.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_of_signed_bytes() {
        assert_eq!(callid_sum(b"ab"), (97 + 98) & 0xff);
        // 0xff is -1 as a signed char.
        assert_eq!(callid_sum(&[0xff, 2]), 1);
        assert_eq!(strtoul("12x"), 12);
        assert_eq!(strtoul("x"), 0);
    }

    #[test]
    fn exchange_matches_the_cookie_and_times_out() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = connect(server.local_addr().unwrap()).unwrap();
        let t = std::thread::spawn(move || {
            let mut b = [0u8; 64];
            let (n, from) = server.recv_from(&mut b).unwrap();
            assert_eq!(&b[..n], b"7_1 V");
            server.send_to(b"6_0 stale", from).unwrap();
            server.send_to(b"7_1 20040107\n", from).unwrap();
            server
        });
        let got = exchange(&sock, "7_1 ", b"V", 2, Duration::from_secs(2), 256).unwrap();
        assert_eq!(got, b"20040107\n");
        let _server = t.join().unwrap();
        let got = exchange(&sock, "7_2 ", b"V", 2, Duration::from_millis(20), 256);
        assert_eq!(got, Err(ExchangeError::Timeout));
    }
}

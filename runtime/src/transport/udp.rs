//! UDP: one blocking receive thread per worker on each listen socket
//! (one `recvfrom` per message), the socket shared by the workers as
//! Kamailio's UDP workers share theirs; sends from the listen socket.

use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Protocol, Type};

use crate::transport::{Proto, RecvInfo, Transmit};

use super::server::*;

/// UDP receive buffer: larger than any UDP payload (65,527 bytes), so a
/// datagram that fills it would have been truncated.
pub(super) const UDP_BUF: usize = 64 * 1024;

/// How long a UDP send may wait for buffer space.
pub(super) const UDP_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// How often an idle UDP receive thread looks at the shutdown flag.
pub(super) const UDP_POLL_STOP: Duration = Duration::from_millis(200);

/// One UDP socket bound to `addr`, shared by `count` workers (each gets
/// a handle to the same socket): every worker's receive thread waits on
/// it and the kernel hands each datagram to one free waiter, as
/// Kamailio's UDP workers share their listen socket. A worker busy with
/// one message (a slow database query) holds only that message; the
/// next goes to another worker, whoever sent it. (An `SO_REUSEPORT`
/// group would pin each source address to one worker's socket, so one
/// client's messages would wait behind another's slow query.)
pub(super) fn bind_udp_shared(addr: SocketAddr, count: usize) -> io::Result<Vec<StdUdpSocket>> {
    let first = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    first.bind(&addr.into())?;
    let first: StdUdpSocket = first.into();
    let mut out = Vec::with_capacity(count);
    for _ in 1..count {
        out.push(first.try_clone()?);
    }
    out.insert(0, first);
    Ok(out)
}

impl Worker {
    /// One blocking receive loop per UDP socket, on its own thread (one
    /// `recvfrom` per message, as Kamailio's UDP workers; no reactor
    /// round trip). Ends within [`UDP_POLL_STOP`] of shutdown.
    pub(super) fn udp_loop(self: Arc<Self>, sock: &StdUdpSocket, local: SocketAddr) {
        // TCP transmits caused by UDP messages run on the worker's runtime.
        let _rt = self.rt.enter();
        let mut buf = vec![0u8; UDP_BUF];
        let mut out = Vec::new();
        loop {
            if *self.shared.shutdown.borrow() {
                return;
            }
            let (n, src) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => {
                    // E.g. ICMP errors on some systems; do not spin.
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            };
            let Some(data) = buf.get(..n) else { continue };
            if n >= UDP_BUF || is_keepalive(data) {
                continue;
            }
            let rcv = RecvInfo {
                proto: Proto::Udp,
                src,
                local,
                conn: None,
            };
            inc(&self.shared.stats.udp_received);
            self.shared.handle(data, &rcv, &mut out);
            self.dispatch(&mut out);
        }
    }

    pub(super) fn send_udp(&self, t: &Transmit) {
        let stats = &self.shared.stats;
        let Some(sock) = self.udp_for(t.local, t.dst) else {
            inc(&stats.udp_send_failed);
            return;
        };
        match sock.send_to(&t.data, t.dst) {
            Ok(_) => inc(&stats.udp_sent),
            Err(_) => inc(&stats.udp_send_failed),
        }
    }

    /// This worker's UDP socket bound to `local` (exactly, or a wildcard
    /// socket on its port), else its first of `dst`'s family.
    pub(super) fn udp_for(
        &self,
        local: Option<SocketAddr>,
        dst: SocketAddr,
    ) -> Option<&Arc<StdUdpSocket>> {
        let same_family = |a: &SocketAddr| a.is_ipv4() == dst.is_ipv4();
        let find = |pred: &dyn Fn(&SocketAddr) -> bool| {
            self.udp
                .iter()
                .find(|(a, _)| same_family(a) && pred(a))
                .map(|(_, s)| s)
        };
        if let Some(l) = local {
            let exact = find(&|a| *a == l);
            if exact.is_some() {
                return exact;
            }
            let wildcard = find(&|a| a.ip().is_unspecified() && a.port() == l.port());
            if wildcard.is_some() {
                return wildcard;
            }
        }
        find(&|_| true)
    }
}

/// A datagram of only CR, LF, NUL and whitespace: a NAT keep-alive.
pub(super) fn is_keepalive(d: &[u8]) -> bool {
    d.iter()
        .all(|&b| matches!(b, b'\r' | b'\n' | 0 | b' ' | b'\t'))
}

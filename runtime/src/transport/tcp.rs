//! TCP: the accept loop, one task per connection (framing, keep-alive
//! pings, bounded reads and writes), outgoing connections.

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Protocol, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use crate::transport::stream::{Item, StreamFramer};
use crate::transport::{Proto, RecvInfo, Transmit};

use super::conn::*;
use super::server::*;

/// Bytes read from a TCP stream at a time.
pub(super) const READ_CHUNK: usize = 16 * 1024;

/// TCP listen backlog.
pub(super) const BACKLOG: i32 = 1024;

pub(super) fn bind_tcp(addr: SocketAddr) -> io::Result<StdTcpListener> {
    let s = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    Ok(s.into())
}

impl Worker {
    pub(super) async fn accept_loop(
        self: Arc<Self>,
        listener: TcpListener,
        handoff: Arc<[mpsc::Sender<std::net::TcpStream>]>,
    ) {
        let mut next = 0usize;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // EMFILE and friends: back off instead of spinning.
                sleep(Duration::from_millis(10)).await;
                continue;
            };
            if self.shared.conn_count() >= self.shared.limits.max_connections {
                inc(&self.shared.stats.tcp_rejected);
                tcp_stat(TcpStat::LocalReject);
                continue; // dropping the stream closes it
            }
            let _ = stream.set_nodelay(true);
            let target = next % handoff.len().max(1);
            next = next.wrapping_add(1);
            if target == self.index || handoff.len() <= 1 {
                self.start_inbound(stream);
            } else if let Ok(s) = stream.into_std() {
                // A full queue drops (closes) the connection.
                if handoff[target].try_send(s).is_err() {
                    inc(&self.shared.stats.tcp_rejected);
                    tcp_stat(TcpStat::LocalReject);
                }
            }
        }
    }

    pub(super) fn start_inbound(self: &Arc<Self>, stream: TcpStream) {
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            return;
        };
        let Some(reg) = self.shared.register(peer) else {
            inc(&self.shared.stats.tcp_rejected);
            tcp_stat(TcpStat::LocalReject);
            return;
        };
        inc(&self.shared.stats.tcp_accepted);
        tcp_stat(TcpStat::Established);
        tcp_stat(TcpStat::PassiveOpen);
        tokio::spawn(self.clone().run_conn(stream, peer, local, reg, None));
    }

    pub(super) fn send_tcp(self: &Arc<Self>, t: Transmit) {
        let tx = {
            let table = self.shared.table();
            t.conn
                .and_then(|id| table.by_id.get(&id))
                .or_else(|| table.by_peer.get(&t.dst).and_then(|id| table.by_id.get(id)))
                .map(|e| e.tx.clone())
        };
        let mut data = t.data;
        if let Some(tx) = tx {
            match tx.try_send(data) {
                Ok(()) => return,
                Err(TrySendError::Full(_)) => {
                    inc(&self.shared.stats.tcp_dropped);
                    return;
                }
                // The connection is closing: make a new one.
                Err(TrySendError::Closed(d)) => data = d,
            }
        }
        if t.no_connect {
            // `set_reply_no_connect` / `set_forward_no_connect`.
            inc(&self.shared.stats.tcp_dropped);
            return;
        }
        self.connect(t.dst, t.local, data);
    }

    /// Opens a connection to `dst` in the background and sends `first` on
    /// it; later transmits to `dst` queue up behind it meanwhile.
    pub(super) fn connect(
        self: &Arc<Self>,
        dst: SocketAddr,
        local: Option<SocketAddr>,
        first: Vec<u8>,
    ) {
        let Some(reg) = self.shared.register(dst) else {
            inc(&self.shared.stats.tcp_dropped);
            return;
        };
        let w = self.clone();
        let limit = self.shared.limits.connect_timeout;
        tokio::spawn(async move {
            let Ok(Ok(stream)) = timeout(limit, connect_from(dst, local)).await else {
                inc(&w.shared.stats.tcp_connect_failed);
                tcp_stat(TcpStat::ConnectFailed);
                return; // dropping `reg` unregisters
            };
            inc(&w.shared.stats.tcp_connected);
            tcp_stat(TcpStat::Established);
            tcp_stat(TcpStat::ConnectSuccess);
            let _ = stream.set_nodelay(true);
            let Ok(local) = stream.local_addr() else {
                return;
            };
            w.run_conn(stream, dst, local, reg, Some(first)).await;
        });
    }

    /// Reads, frames and handles messages of one connection and writes what
    /// is queued for it, until EOF, error, timeout or shutdown.
    pub(super) async fn run_conn(
        self: Arc<Self>,
        stream: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        reg: Registered,
        first: Option<Vec<u8>>,
    ) {
        let Registered {
            id,
            mut rx,
            guard: _guard,
        } = reg;
        let lim = self.shared.limits;
        let (mut rd, mut wr) = stream.into_split();
        let mut stop = self.shared.shutdown.clone();
        if let Some(d) = first
            && !write_timed(&mut wr, &d, lim.send_timeout).await
        {
            return;
        }
        let rcv = RecvInfo {
            proto: Proto::Tcp,
            src: peer,
            local,
            conn: Some(id),
        };
        let mut framer = StreamFramer::new(lim.max_message_size);
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut out = Vec::new();
        let mut idle_deadline = Instant::now() + lim.idle_timeout;
        let mut partial_since: Option<Instant> = None;
        loop {
            let deadline = match partial_since {
                Some(t) => idle_deadline.min(t + lim.read_timeout),
                None => idle_deadline,
            };
            let room = framer.room().min(READ_CHUNK);
            if room == 0 {
                break; // cannot happen: a failed framer closed already
            }
            tokio::select! {
                r = rd.read(&mut chunk[..room]) => {
                    let n = match r {
                        // The peer closed (or half-closed) its side: send
                        // the replies already queued, then close.
                        Ok(0) => {
                            flush_queued(&mut rx, &mut wr, lim.send_timeout).await;
                            break;
                        }
                        Err(_) => break,
                        Ok(n) => n,
                    };
                    framer.push(&chunk[..n]);
                    let now = Instant::now();
                    idle_deadline = now + lim.idle_timeout;
                    let mut pongs = 0usize;
                    let res = self.process(&mut framer, &rcv, &mut out, &mut pongs);
                    if pongs > 0 {
                        let pong = b"\r\n".repeat(pongs);
                        if !write_timed(&mut wr, &pong, lim.send_timeout).await {
                            break;
                        }
                    }
                    self.dispatch(&mut out);
                    let Ok(completed) = res else {
                        inc(&self.shared.stats.tcp_framing_errors);
                        // Send what was already answered, then close.
                        flush_queued(&mut rx, &mut wr, lim.send_timeout).await;
                        break;
                    };
                    partial_since = match (framer.has_partial(), completed, partial_since) {
                        (false, _, _) => None,
                        (true, false, Some(t)) => Some(t),
                        (true, _, _) => Some(now),
                    };
                }
                m = rx.recv() => {
                    let Some(d) = m else { break };
                    if !write_timed(&mut wr, &d, lim.send_timeout).await {
                        break;
                    }
                    idle_deadline = Instant::now() + lim.idle_timeout;
                }
                _ = sleep_until(deadline) => {
                    inc(&self.shared.stats.tcp_timeouts);
                    tcp_stat(TcpStat::ConTimeout);
                    break;
                }
                _ = stop.changed() => break,
            }
        }
    }

    /// Hands every complete message in `framer` to the handler and counts
    /// pings. `Ok(true)` if a message was complete; `Err` if the stream
    /// cannot go on.
    pub(super) fn process(
        &self,
        framer: &mut StreamFramer,
        rcv: &RecvInfo,
        out: &mut Vec<Transmit>,
        pongs: &mut usize,
    ) -> Result<bool, ()> {
        let mut completed = false;
        while let Some(item) = framer.next_item() {
            match item {
                Ok(Item::Ping) => *pongs += 1,
                Ok(Item::Message(m)) => {
                    inc(&self.shared.stats.tcp_received);
                    if !self.shared.handle_stream(m, rcv, out) {
                        return Err(());
                    }
                    completed = true;
                }
                Err(_) => return Err(()),
            }
        }
        Ok(completed)
    }
}

pub(super) async fn connect_from(
    dst: SocketAddr,
    local: Option<SocketAddr>,
) -> io::Result<TcpStream> {
    let sock = if dst.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(l) = local.filter(|l| !l.ip().is_unspecified() && l.is_ipv4() == dst.is_ipv4()) {
        sock.bind(SocketAddr::new(l.ip(), 0))?;
    }
    sock.connect(dst).await
}

/// Writes what is queued for a closing connection, without waiting for
/// more.
pub(super) async fn flush_queued(
    rx: &mut mpsc::Receiver<Vec<u8>>,
    wr: &mut OwnedWriteHalf,
    limit: Duration,
) {
    while let Ok(d) = rx.try_recv() {
        if !write_timed(wr, &d, limit).await {
            break;
        }
    }
}

pub(super) async fn write_timed(wr: &mut OwnedWriteHalf, data: &[u8], limit: Duration) -> bool {
    matches!(timeout(limit, wr.write_all(data)).await, Ok(Ok(())))
}

/// Kamailio's `tcp` statistics this transport moves (indices of
/// `engine::counters::TCP_NAMES`).
#[derive(Clone, Copy)]
enum TcpStat {
    Established = 0,
    PassiveOpen = 1,
    ConnectSuccess = 2,
    ConnectFailed = 3,
    LocalReject = 4,
    ConTimeout = 5,
}

fn tcp_stat(s: TcpStat) {
    if let Some(c) = crate::engine::counters::stats().tcp.get(s as usize) {
        c.inc();
    }
}

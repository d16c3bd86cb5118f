//! The server shell: sockets, worker threads and TCP connections around a
//! sans-IO [`Handler`].
//!
//! Thread-per-core, like Kamailio's `children`: [`ServerConfig::workers`]
//! OS threads, each running its own current-thread tokio runtime (TCP,
//! timers), plus one blocking receive thread per UDP socket.
//!
//! * UDP: every worker has its own socket per UDP listen address, all bound
//!   to the same address with `SO_REUSEPORT`, so the kernel spreads
//!   datagrams over the workers. Each socket is read by its own thread with
//!   blocking `recvfrom` — one system call per message and no reactor
//!   round trip, as Kamailio's UDP worker processes — which calls the
//!   handler and sends what it returns. A worker sends UDP from its own
//!   socket bound to [`Transmit::local`], or else its first UDP socket of
//!   the destination's address family; sends block at most
//!   `UDP_SEND_TIMEOUT` when the socket buffer is full.
//! * TCP: worker 0 runs the accept loop of every TCP listen address and
//!   hands accepted connections to the workers round-robin. Every
//!   connection is registered in a shared table (`ConnId` → send queue),
//!   so any worker can send on any connection. A TCP transmit goes on
//!   [`Transmit::conn`] if it is still open, else on an open connection
//!   to the destination, else on a new connection (with
//!   [`TcpLimits::connect_timeout`]) — unless it is
//!   [`Transmit::no_connect`], which is then dropped. Streams are cut into
//!   messages with [`crate::sip::framing::frame_stream`] (through
//!   [`crate::transport::stream::StreamFramer`]); a framing error closes the
//!   connection. CRLF keep-alive pings (`\r\n\r\n`) are answered with
//!   `\r\n` here (RFC 5626 §3.5.1) and never reach the handler.
//! * Bounds: a connection's receive buffer holds at most one message of
//!   [`TcpLimits::max_message_size`]; a message must arrive completely
//!   within [`TcpLimits::read_timeout`] once it has started; a connection
//!   without traffic closes after [`TcpLimits::idle_timeout`]; at most
//!   [`TcpLimits::max_connections`] connections exist; each has a bounded
//!   send queue (a transmit to a full queue is dropped) and writes time
//!   out after [`TcpLimits::send_timeout`].
//!
//! [`Server::new`] binds every socket (so [`Server::local_addrs`] knows the
//! ports chosen for port 0); [`Server::run_until`] runs the workers on
//! threads until a future completes, then closes every socket and returns.
//! [`Server::run`] runs until SIGTERM or SIGINT.
//!
//! Nothing is logged; [`Stats`] counts what is received, sent and dropped.
//! Dropped: UDP datagrams that are empty or only CR/LF/NUL/whitespace
//! (keep-alives, not counted), UDP sends without a socket of the
//! destination's family, TCP transmits to full queues, over the connection
//! limit or to failed connects.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener, UdpSocket as StdUdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout};

use crate::transport::stream::{Item, StreamFramer};
use crate::transport::{ConnId, Handler, Myself, Proto, RecvInfo, Transmit};

/// Messages queued for one TCP connection before transmits are dropped.
const CONN_QUEUE: usize = 64;
/// Accepted connections waiting to be handed to a worker.
const HANDOFF_QUEUE: usize = 256;
/// Bytes read from a TCP stream at a time.
const READ_CHUNK: usize = 16 * 1024;
/// UDP receive buffer: larger than any UDP payload (65,527 bytes), so a
/// datagram that fills it would have been truncated.
const UDP_BUF: usize = 64 * 1024;
/// How long a UDP send may wait for buffer space.
const UDP_SEND_TIMEOUT: Duration = Duration::from_secs(1);
/// How often an idle UDP receive thread looks at the shutdown flag.
const UDP_POLL_STOP: Duration = Duration::from_millis(200);
/// TCP listen backlog.
const BACKLOG: i32 = 1024;

/// One listen socket (Kamailio `listen=proto:addr:port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenSpec {
    /// Transport.
    pub proto: Proto,
    /// Address; port 0 binds a free port (see [`Server::local_addrs`]).
    pub addr: SocketAddr,
}

/// TCP limits; defaults are Kamailio's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// Most open connections, inbound and outbound (`tcp_max_connections`,
    /// 2048). Further connections are closed at once or not made.
    pub max_connections: usize,
    /// A connection without traffic either way closes after this
    /// (`tcp_connection_lifetime`, 120 s).
    pub idle_timeout: Duration,
    /// Largest message, headers and body (65,535 bytes). Larger messages
    /// close the connection.
    pub max_message_size: usize,
    /// Timeout of outbound connects (`tcp_connect_timeout`, 10 s).
    pub connect_timeout: Duration,
    /// Timeout of one write (`tcp_send_timeout`, 10 s); on expiry the
    /// connection closes.
    pub send_timeout: Duration,
    /// Once a message has started, it must be complete within this
    /// (`tcp_msg_read_timeout`, 20 s); against slowloris peers.
    pub read_timeout: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        Self {
            max_connections: 2048,
            idle_timeout: Duration::from_secs(120),
            max_message_size: 65_535,
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(20),
        }
    }
}

/// What the server listens on and how it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Listen sockets, in config order.
    pub listen: Vec<ListenSpec>,
    /// Worker threads (Kamailio `children`); 0 counts as 1.
    pub workers: usize,
    /// TCP limits.
    pub tcp: TcpLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            workers: 1,
            tcp: TcpLimits::default(),
        }
    }
}

/// Counters, readable while the server runs ([`Server::stats`]); the
/// transport logs nothing, so these are what shows its drops.
#[derive(Debug, Default)]
pub struct Stats {
    /// UDP datagrams handed to the handler.
    pub udp_received: AtomicU64,
    /// UDP datagrams sent.
    pub udp_sent: AtomicU64,
    /// UDP transmits not sent: no socket of the family, error or timeout.
    pub udp_send_failed: AtomicU64,
    /// Inbound TCP connections taken.
    pub tcp_accepted: AtomicU64,
    /// Inbound TCP connections closed at once: over `max_connections`.
    pub tcp_rejected: AtomicU64,
    /// Outbound TCP connections made.
    pub tcp_connected: AtomicU64,
    /// Outbound TCP connects that failed or timed out.
    pub tcp_connect_failed: AtomicU64,
    /// TCP messages handed to the handler.
    pub tcp_received: AtomicU64,
    /// TCP transmits dropped: full send queue or connection limit.
    pub tcp_dropped: AtomicU64,
    /// TCP connections closed because the stream could not be framed, a
    /// message was too large, or the handler panicked on a message.
    pub tcp_framing_errors: AtomicU64,
    /// TCP connections closed by the idle or message-read timeout.
    pub tcp_timeouts: AtomicU64,
    /// Handler calls that panicked.
    pub handler_panics: AtomicU64,
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A bound, not yet running server.
pub struct Server {
    local: Vec<ListenSpec>,
    /// Per worker: its UDP sockets with their bound addresses.
    udp: Vec<Vec<(SocketAddr, StdUdpSocket)>>,
    tcp: Vec<StdTcpListener>,
    limits: TcpLimits,
    handler: Arc<dyn Handler>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local", &self.local)
            .field("workers", &self.udp.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds every listen socket: one UDP socket per worker per UDP
    /// address (`SO_REUSEPORT` when there are several workers) and one TCP
    /// listener per TCP address. IPv6 sockets are IPv6-only.
    pub fn new(cfg: ServerConfig, handler: Arc<dyn Handler>) -> io::Result<Self> {
        let workers = cfg.workers.max(1);
        let mut local = Vec::with_capacity(cfg.listen.len());
        let mut udp: Vec<Vec<(SocketAddr, StdUdpSocket)>> =
            (0..workers).map(|_| Vec::new()).collect();
        let mut tcp = Vec::new();
        for spec in &cfg.listen {
            let bound = match spec.proto {
                Proto::Udp => {
                    let sockets = bind_udp_group(spec.addr, workers)?;
                    let addr = sockets[0].local_addr()?;
                    for (w, s) in udp.iter_mut().zip(sockets) {
                        w.push((addr, s));
                    }
                    addr
                }
                Proto::Tcp => {
                    let l = bind_tcp(spec.addr)?;
                    let addr = l.local_addr()?;
                    tcp.push(l);
                    addr
                }
            };
            local.push(ListenSpec {
                proto: spec.proto,
                addr: bound,
            });
        }
        Ok(Self {
            local,
            udp,
            tcp,
            limits: cfg.tcp,
            handler,
            stats: Arc::default(),
        })
    }

    /// The bound listen addresses, in config order (ports chosen for port
    /// 0 filled in).
    pub fn local_addrs(&self) -> &[ListenSpec] {
        &self.local
    }

    /// The server's counters; the handle stays valid after the server
    /// has been started.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Kamailio's `myself` for the bound listen addresses (add aliases to
    /// it).
    pub fn myself(&self) -> Myself {
        Myself::from_listen(self.local.iter().map(|l| (l.proto, l.addr)))
    }

    /// Runs until SIGTERM or SIGINT, then closes every socket and returns.
    pub fn run(self) -> io::Result<()> {
        self.run_until(shutdown_signal())
    }

    /// Runs the workers until `shutdown` completes, then closes every
    /// socket and connection and returns once all worker threads have
    /// ended. Blocks the calling thread, which must not be inside a tokio
    /// runtime; `shutdown` is polled on it.
    pub fn run_until<F: Future<Output = ()>>(self, shutdown: F) -> io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            handler: self.handler,
            limits: self.limits,
            stats: self.stats,
            conns: Mutex::new(ConnTable::default()),
            next_id: AtomicU64::new(1),
            shutdown: stop_rx,
        });
        let n = self.udp.len();
        let mut handoff_tx = Vec::with_capacity(n);
        let mut handoff_rx = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = mpsc::channel(HANDOFF_QUEUE);
            handoff_tx.push(tx);
            handoff_rx.push(rx);
        }
        let handoff_tx: Arc<[mpsc::Sender<std::net::TcpStream>]> = handoff_tx.into();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let mut tcp = Some(self.tcp);
        let mut threads: Vec<JoinHandle<()>> = Vec::with_capacity(n);
        let mut first_err = None;
        for (index, (udp, handoff)) in self.udp.into_iter().zip(handoff_rx).enumerate() {
            let setup = WorkerSetup {
                index,
                shared: shared.clone(),
                udp,
                tcp: if index == 0 {
                    tcp.take().unwrap_or_default()
                } else {
                    Vec::new()
                },
                handoff,
                handoff_tx: handoff_tx.clone(),
            };
            let ready = ready_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sip-worker-{index}"))
                .spawn(move || worker_main(setup, ready));
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    first_err = Some(e);
                    break;
                }
            }
        }
        drop(ready_tx);
        drop(handoff_tx);
        for _ in 0..threads.len() {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(io::Error::other("worker thread died"));
                }
            }
        }
        if first_err.is_none() {
            rt.block_on(shutdown);
        }
        stop_tx.send_replace(true);
        for t in threads {
            if t.join().is_err() {
                first_err.get_or_insert(io::Error::other("worker thread panicked"));
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C elsewhere).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn new_socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Binds `count` UDP sockets to one address. The first is bound without
/// `SO_REUSEPORT` (so it never joins another process's group, and port 0
/// gets a port nobody holds); the option is then set on it and the others
/// join it on the same port.
fn bind_udp_group(addr: SocketAddr, count: usize) -> io::Result<Vec<StdUdpSocket>> {
    let first = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    first.bind(&addr.into())?;
    let bound = first
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("UDP socket has no IP address"))?;
    let mut out = Vec::with_capacity(count);
    if count > 1 {
        set_reuse_port(&first)?;
    }
    out.push(first.into());
    for _ in 1..count {
        let s = new_socket(bound, Type::DGRAM, Protocol::UDP)?;
        set_reuse_port(&s)?;
        s.bind(&bound.into())?;
        out.push(s.into());
    }
    Ok(out)
}

#[cfg(unix)]
fn set_reuse_port(s: &Socket) -> io::Result<()> {
    s.set_reuse_port(true)
}

#[cfg(not(unix))]
fn set_reuse_port(_: &Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "several workers need SO_REUSEPORT",
    ))
}

fn bind_tcp(addr: SocketAddr) -> io::Result<StdTcpListener> {
    let s = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    Ok(s.into())
}

/// State shared by all workers.
struct Shared {
    handler: Arc<dyn Handler>,
    limits: TcpLimits,
    stats: Arc<Stats>,
    conns: Mutex<ConnTable>,
    next_id: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

#[derive(Default)]
struct ConnTable {
    by_id: HashMap<ConnId, ConnEntry>,
    by_peer: HashMap<SocketAddr, ConnId>,
}

struct ConnEntry {
    tx: mpsc::Sender<Vec<u8>>,
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, ConnTable> {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn conn_count(&self) -> usize {
        self.table().by_id.len()
    }

    /// Registers a connection to or from `peer`, if under the limit.
    fn register(self: &Arc<Self>, peer: SocketAddr) -> Option<Registered> {
        let mut t = self.table();
        if t.by_id.len() >= self.limits.max_connections {
            return None;
        }
        let id = ConnId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(CONN_QUEUE);
        t.by_id.insert(id, ConnEntry { tx });
        t.by_peer.insert(peer, id);
        Some(Registered {
            id,
            rx,
            guard: ConnGuard {
                shared: self.clone(),
                id,
                peer,
            },
        })
    }

    /// Calls the handler; a panicking handler loses its transmits but not
    /// the worker.
    fn handle(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) -> bool {
        let ok = catch_unwind(AssertUnwindSafe(|| {
            self.handler.on_message(data, rcv, out);
        }))
        .is_ok();
        if !ok {
            inc(&self.stats.handler_panics);
            out.clear();
        }
        ok
    }
}

struct Registered {
    id: ConnId,
    rx: mpsc::Receiver<Vec<u8>>,
    guard: ConnGuard,
}

/// Removes a connection from the table when its task ends (or is dropped
/// with its runtime).
struct ConnGuard {
    shared: Arc<Shared>,
    id: ConnId,
    peer: SocketAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut t = self.shared.table();
        t.by_id.remove(&self.id);
        if t.by_peer.get(&self.peer) == Some(&self.id) {
            t.by_peer.remove(&self.peer);
        }
    }
}

struct WorkerSetup {
    index: usize,
    shared: Arc<Shared>,
    udp: Vec<(SocketAddr, StdUdpSocket)>,
    tcp: Vec<StdTcpListener>,
    handoff: mpsc::Receiver<std::net::TcpStream>,
    handoff_tx: Arc<[mpsc::Sender<std::net::TcpStream>]>,
}

/// One worker: its sockets and a handle on the shared state.
struct Worker {
    index: usize,
    shared: Arc<Shared>,
    /// Blocking sockets (with a send timeout), as Kamailio's UDP workers.
    udp: Vec<(SocketAddr, Arc<StdUdpSocket>)>,
    /// The worker's runtime, for TCP work started from UDP receive threads.
    rt: tokio::runtime::Handle,
}

fn worker_main(setup: WorkerSetup, ready: std::sync::mpsc::Sender<io::Result<()>>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    rt.block_on(async move {
        let WorkerSetup {
            index,
            shared,
            udp,
            tcp,
            mut handoff,
            handoff_tx,
        } = setup;
        let mut stop = shared.shutdown.clone();
        let started = (|| -> io::Result<_> {
            let udp = udp
                .into_iter()
                .map(|(a, s)| {
                    s.set_nonblocking(false)?;
                    s.set_write_timeout(Some(UDP_SEND_TIMEOUT))?;
                    s.set_read_timeout(Some(UDP_POLL_STOP))?;
                    Ok((a, Arc::new(s)))
                })
                .collect::<io::Result<Vec<_>>>()?;
            let tcp = tcp
                .into_iter()
                .map(TcpListener::from_std)
                .collect::<io::Result<Vec<_>>>()?;
            Ok((udp, tcp))
        })();
        let (udp, tcp) = match started {
            Ok(x) => x,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let worker = Arc::new(Worker {
            index,
            shared: shared.clone(),
            udp,
            rt: tokio::runtime::Handle::current(),
        });
        let mut udp_threads = Vec::with_capacity(worker.udp.len());
        for (i, (local, sock)) in worker.udp.iter().enumerate() {
            let (w, sock, local) = (worker.clone(), sock.clone(), *local);
            let spawned = std::thread::Builder::new()
                .name(format!("sip-udp-{index}-{i}"))
                .spawn(move || w.udp_loop(&sock, local));
            match spawned {
                Ok(h) => udp_threads.push(h),
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            }
        }
        for l in tcp {
            tokio::spawn(worker.clone().accept_loop(l, handoff_tx.clone()));
        }
        drop(handoff_tx);
        if index == 0
            && let Some(period) = shared.handler.tick()
        {
            tokio::spawn(worker.clone().tick_loop(period));
        }
        let w = worker.clone();
        tokio::spawn(async move {
            while let Some(s) = handoff.recv().await {
                if let Ok(s) = TcpStream::from_std(s) {
                    w.start_inbound(s);
                }
            }
        });
        let _ = ready.send(Ok(()));
        // Err means the server is gone: stop as well.
        let _ = stop.changed().await;
        // UDP threads see the flag within `UDP_POLL_STOP`.
        for t in udp_threads {
            let _ = t.join();
        }
    });
    // Dropping the runtime drops every task, closing their sockets.
    drop(rt);
}

impl Worker {
    /// One blocking receive loop per UDP socket, on its own thread (one
    /// `recvfrom` per message, as Kamailio's UDP workers; no reactor
    /// round trip). Ends within [`UDP_POLL_STOP`] of shutdown.
    fn udp_loop(self: Arc<Self>, sock: &StdUdpSocket, local: SocketAddr) {
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

    async fn tick_loop(self: Arc<Self>, period: Duration) {
        let period = period.max(Duration::from_millis(1));
        let mut iv = tokio::time::interval(period);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut out = Vec::new();
        loop {
            iv.tick().await;
            let handler = &self.shared.handler;
            let now = std::time::Instant::now();
            if catch_unwind(AssertUnwindSafe(|| handler.on_tick(now, &mut out))).is_err() {
                inc(&self.shared.stats.handler_panics);
                out.clear();
            }
            self.dispatch(&mut out);
        }
    }

    async fn accept_loop(
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
                }
            }
        }
    }

    fn start_inbound(self: &Arc<Self>, stream: TcpStream) {
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            return;
        };
        let Some(reg) = self.shared.register(peer) else {
            inc(&self.shared.stats.tcp_rejected);
            return;
        };
        inc(&self.shared.stats.tcp_accepted);
        tokio::spawn(self.clone().run_conn(stream, peer, local, reg, None));
    }

    /// Sends every transmit in `out`, emptying it. UDP sends block (at
    /// most [`UDP_SEND_TIMEOUT`], when the socket buffer is full), as
    /// Kamailio's; TCP transmits are queued to their connection's task.
    fn dispatch(self: &Arc<Self>, out: &mut Vec<Transmit>) {
        for t in out.drain(..) {
            match t.proto {
                Proto::Udp => self.send_udp(&t),
                Proto::Tcp => self.send_tcp(t),
            }
        }
    }

    fn send_udp(&self, t: &Transmit) {
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
    fn udp_for(&self, local: Option<SocketAddr>, dst: SocketAddr) -> Option<&Arc<StdUdpSocket>> {
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

    fn send_tcp(self: &Arc<Self>, t: Transmit) {
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
    fn connect(self: &Arc<Self>, dst: SocketAddr, local: Option<SocketAddr>, first: Vec<u8>) {
        let Some(reg) = self.shared.register(dst) else {
            inc(&self.shared.stats.tcp_dropped);
            return;
        };
        let w = self.clone();
        let limit = self.shared.limits.connect_timeout;
        tokio::spawn(async move {
            let Ok(Ok(stream)) = timeout(limit, connect_from(dst, local)).await else {
                inc(&w.shared.stats.tcp_connect_failed);
                return; // dropping `reg` unregisters
            };
            inc(&w.shared.stats.tcp_connected);
            let _ = stream.set_nodelay(true);
            let Ok(local) = stream.local_addr() else {
                return;
            };
            w.run_conn(stream, dst, local, reg, Some(first)).await;
        });
    }

    /// Reads, frames and handles messages of one connection and writes what
    /// is queued for it, until EOF, error, timeout or shutdown.
    async fn run_conn(
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
                    break;
                }
                _ = stop.changed() => break,
            }
        }
    }

    /// Hands every complete message in `framer` to the handler and counts
    /// pings. `Ok(true)` if a message was complete; `Err` if the stream
    /// cannot go on.
    fn process(
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
                    if !self.shared.handle(m, rcv, out) {
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

async fn connect_from(dst: SocketAddr, local: Option<SocketAddr>) -> io::Result<TcpStream> {
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
async fn flush_queued(rx: &mut mpsc::Receiver<Vec<u8>>, wr: &mut OwnedWriteHalf, limit: Duration) {
    while let Ok(d) = rx.try_recv() {
        if !write_timed(wr, &d, limit).await {
            break;
        }
    }
}

async fn write_timed(wr: &mut OwnedWriteHalf, data: &[u8], limit: Duration) -> bool {
    matches!(timeout(limit, wr.write_all(data)).await, Ok(Ok(())))
}

/// A datagram of only CR, LF, NUL and whitespace: a NAT keep-alive.
fn is_keepalive(d: &[u8]) -> bool {
    d.iter()
        .all(|&b| matches!(b, b'\r' | b'\n' | 0 | b' ' | b'\t'))
}

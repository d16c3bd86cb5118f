//! The server shell: sockets, worker threads and TCP connections around a
//! sans-IO [`Handler`].
//!
//! Thread-per-core, like Kamailio's `children`: [`ServerConfig::workers`]
//! OS threads, each running its own current-thread tokio runtime (TCP,
//! timers), plus one blocking receive thread per UDP listen socket.
//!
//! * UDP: one socket per UDP listen address, shared by the workers (each
//!   holds a handle to it, as Kamailio's UDP worker processes share
//!   theirs): every worker's receive thread waits on it with blocking
//!   `recvfrom` — one system call per message and no reactor round trip —
//!   and the kernel gives each datagram to one waiting thread, so a worker
//!   held by a slow message (a database query) holds only that message.
//!   The thread calls the handler and sends what it returns. A worker
//!   sends UDP from the socket bound to [`Transmit::local`], or else the
//!   first UDP socket of the destination's address family; sends block at
//!   most `UDP_SEND_TIMEOUT` when the socket buffer is full.
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

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener, UdpSocket as StdUdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::transport::{Handler, Myself, Proto, RecvInfo, Transmit};

use super::conn::*;
use super::tcp::*;
use super::udp::*;

/// Accepted connections waiting to be handed to a worker.
pub(super) const HANDOFF_QUEUE: usize = 256;

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

pub(super) fn inc(c: &AtomicU64) {
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
    /// Binds every listen socket: one UDP socket per UDP address, read by
    /// every worker (each holds a handle), and one TCP listener per TCP
    /// address. IPv6 sockets are IPv6-only.
    pub fn new(cfg: ServerConfig, handler: Arc<dyn Handler>) -> io::Result<Self> {
        let workers = cfg.workers.max(1);
        let mut local = Vec::with_capacity(cfg.listen.len());
        let mut udp: Vec<Vec<(SocketAddr, StdUdpSocket)>> =
            (0..workers).map(|_| Vec::new()).collect();
        let mut tcp = Vec::new();
        for spec in &cfg.listen {
            let bound = match spec.proto {
                Proto::Udp => {
                    let sockets = bind_udp_shared(spec.addr, workers)?;
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
        let mut start = Vec::new();
        shared
            .handler
            .on_start(&mut start)
            .map_err(io::Error::other)?;
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
                start: if index == 0 {
                    std::mem::take(&mut start)
                } else {
                    Vec::new()
                },
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
        shared.handler.on_shutdown();
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

pub(super) fn new_socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}
/// State shared by all workers.
pub(super) struct Shared {
    pub(super) handler: Arc<dyn Handler>,
    pub(super) limits: TcpLimits,
    pub(super) stats: Arc<Stats>,
    pub(super) conns: Mutex<ConnTable>,
    pub(super) next_id: AtomicU64,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl Shared {
    /// Calls the handler; a panicking handler loses its transmits but not
    /// the worker.
    pub(super) fn handle(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) -> bool {
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

    /// [`Shared::handle`] for a message of a stream connection: `false`
    /// also when the handler gives up on the connection (a message it
    /// cannot parse).
    pub(super) fn handle_stream(
        &self,
        data: &[u8],
        rcv: &RecvInfo,
        out: &mut Vec<Transmit>,
    ) -> bool {
        let r = catch_unwind(AssertUnwindSafe(|| {
            self.handler.on_stream_message(data, rcv, out)
        }));
        match r {
            Ok(go_on) => go_on,
            Err(_) => {
                inc(&self.stats.handler_panics);
                out.clear();
                false
            }
        }
    }
}

pub(super) struct WorkerSetup {
    pub(super) index: usize,
    pub(super) shared: Arc<Shared>,
    pub(super) udp: Vec<(SocketAddr, StdUdpSocket)>,
    pub(super) tcp: Vec<StdTcpListener>,
    pub(super) handoff: mpsc::Receiver<std::net::TcpStream>,
    pub(super) handoff_tx: Arc<[mpsc::Sender<std::net::TcpStream>]>,
    /// What the handler's start sends ([`Handler::on_start`]), sent by the
    /// first worker once its sockets are ready.
    pub(super) start: Vec<Transmit>,
}

/// One worker: its sockets and a handle on the shared state.
pub(super) struct Worker {
    pub(super) index: usize,
    pub(super) shared: Arc<Shared>,
    /// Blocking sockets (with a send timeout), as Kamailio's UDP workers.
    pub(super) udp: Vec<(SocketAddr, Arc<StdUdpSocket>)>,
    /// The worker's runtime, for TCP work started from UDP receive threads.
    pub(super) rt: tokio::runtime::Handle,
}

pub(super) fn worker_main(setup: WorkerSetup, ready: std::sync::mpsc::Sender<io::Result<()>>) {
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
            mut start,
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
        worker.dispatch(&mut start);
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
    pub(super) async fn tick_loop(self: Arc<Self>, period: Duration) {
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

    /// Sends every transmit in `out`, emptying it. UDP sends block (at
    /// most [`UDP_SEND_TIMEOUT`], when the socket buffer is full), as
    /// Kamailio's; TCP transmits are queued to their connection's task.
    pub(super) fn dispatch(self: &Arc<Self>, out: &mut Vec<Transmit>) {
        for t in out.drain(..) {
            match t.proto {
                Proto::Udp => self.send_udp(&t),
                Proto::Tcp => self.send_tcp(t),
            }
        }
    }
}

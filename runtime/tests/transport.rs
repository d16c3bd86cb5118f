//! Transport and server shell over real loopback sockets. Every port is
//! chosen by the kernel (port 0) and every blocking call has a timeout.

// The package is `cfgc-runtime`; this crate calls it `runtime`, as the
// workspace's other crates do (a Cargo rename).
extern crate cfgc_runtime as runtime;

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use runtime::server::{ListenSpec, Server, ServerConfig, Stats, TcpLimits};
use runtime::transport::{Handler, Proto, RecvInfo, Transmit};

const T: Duration = Duration::from_secs(5);

fn lo4() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn msg(tag: &str, body: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK{tag}\r\nCall-ID: {tag}\r\nCSeq: 1 OPTIONS\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Replies with the message itself, the way it came; records what it saw.
#[derive(Default)]
struct Echo {
    seen: Mutex<Vec<RecvInfo>>,
    threads: Mutex<HashSet<String>>,
}

impl Handler for Echo {
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) {
        self.seen.lock().unwrap().push(*rcv);
        let name = thread::current().name().unwrap_or("?").to_owned();
        self.threads.lock().unwrap().insert(name);
        out.push(Transmit::reply_to(rcv, data.to_vec()));
    }
}

/// A server running on its own thread; stopped (and joined) on drop.
struct Running {
    local: Vec<ListenSpec>,
    stats: Arc<Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: mpsc::Receiver<io::Result<()>>,
}

impl Running {
    fn start(cfg: ServerConfig, handler: Arc<dyn Handler>) -> Self {
        let server = Server::new(cfg, handler).expect("bind");
        let local = server.local_addrs().to_vec();
        let stats = server.stats();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = mpsc::channel();
        thread::spawn(move || {
            let r = server.run_until(async {
                let _ = rx.await;
            });
            let _ = done_tx.send(r);
        });
        Self {
            local,
            stats,
            stop: Some(stop),
            done,
        }
    }

    fn count(&self, counter: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        counter(&self.stats).load(Ordering::Relaxed)
    }

    /// Waits (bounded) until a counter reaches `n`; returns its value.
    fn wait_count(&self, n: u64, counter: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        let t = Instant::now();
        while self.count(&counter) < n && t.elapsed() < T {
            thread::sleep(Duration::from_millis(5));
        }
        self.count(&counter)
    }

    fn addr(&self, proto: Proto) -> SocketAddr {
        self.local.iter().find(|l| l.proto == proto).unwrap().addr
    }

    /// Stops the server; returns how long `run_until` took to return.
    fn stop(mut self) -> Duration {
        let t = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        self.done
            .recv_timeout(T)
            .expect("run_until returns")
            .expect("run_until ok");
        t.elapsed()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
            let _ = self.done.recv_timeout(T);
        }
    }
}

fn config(listen: &[(Proto, SocketAddr)], workers: usize) -> ServerConfig {
    ServerConfig {
        listen: listen
            .iter()
            .map(|&(proto, addr)| ListenSpec { proto, addr })
            .collect(),
        workers,
        tcp: TcpLimits::default(),
    }
}

fn udp_client(bind: SocketAddr) -> UdpSocket {
    let s = UdpSocket::bind(bind).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s
}

fn tcp_client(to: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&to, T).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    s
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).expect("read reply");
    buf
}

/// Whether the server closed `s` (EOF or reset) within the read timeout.
fn closed_by_peer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false, // timeout
        }
    }
}

#[test]
fn udp_echo_two_workers() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 2), echo.clone());
    let to = srv.addr(Proto::Udp);
    let clients: Vec<UdpSocket> = (0..32).map(|_| udp_client(lo4())).collect();
    for (i, c) in clients.iter().enumerate() {
        for j in 0..4 {
            c.send_to(format!("ping {i} {j}").as_bytes(), to).unwrap();
        }
    }
    let mut buf = [0u8; 256];
    for (i, c) in clients.iter().enumerate() {
        let mut got = HashSet::new();
        for _ in 0..4 {
            let (n, from) = c.recv_from(&mut buf).expect("reply");
            assert_eq!(from, to);
            got.insert(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let want: HashSet<String> = (0..4).map(|j| format!("ping {i} {j}")).collect();
        assert_eq!(got, want);
    }
    let seen = echo.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 128);
    assert!(
        seen.iter()
            .all(|r| r.proto == Proto::Udp && r.conn.is_none() && r.local == to)
    );
    assert_eq!(srv.count(|s| &s.udp_received), 128);
    assert_eq!(srv.wait_count(128, |s| &s.udp_sent), 128);
    assert!(srv.stop() < T);
}

/// Holds a message whose text is `hold` until `release` is sent (at most
/// [`T`]); echoes every message.
#[derive(Default)]
struct Holding {
    released: Mutex<bool>,
    cond: std::sync::Condvar,
}

impl Handler for Holding {
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) {
        match data {
            b"hold" => {
                let r = self.released.lock().unwrap();
                let _r = self.cond.wait_timeout_while(r, T, |r| !*r).unwrap();
            }
            b"release" => {
                *self.released.lock().unwrap() = true;
                self.cond.notify_all();
            }
            _ => {}
        }
        out.push(Transmit::reply_to(rcv, data.to_vec()));
    }
}

/// The workers share the UDP socket (as Kamailio's UDP workers do): while
/// one worker is held by a message (a slow database query), the next
/// message, even from the same client, is handled by another worker.
#[test]
fn udp_a_held_worker_holds_only_its_message() {
    let h = Arc::new(Holding::default());
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 2), h);
    let to = srv.addr(Proto::Udp);
    let c = udp_client(lo4());
    let mut buf = [0u8; 256];
    c.send_to(b"hold", to).unwrap();
    // The hold is taken (by one worker) before the next message.
    thread::sleep(Duration::from_millis(100));
    c.send_to(b"ping", to).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let (n, _) = c
        .recv_from(&mut buf)
        .expect("ping answered while hold waits");
    assert_eq!(&buf[..n], b"ping");
    c.send_to(b"release", to).unwrap();
    let mut got = HashSet::new();
    for _ in 0..2 {
        let (n, _) = c.recv_from(&mut buf).expect("reply");
        got.insert(buf[..n].to_vec());
    }
    assert_eq!(got, HashSet::from([b"hold".to_vec(), b"release".to_vec()]));
    assert!(srv.stop() < T);
}

#[test]
fn udp_keepalives_are_dropped() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 1), echo.clone());
    let to = srv.addr(Proto::Udp);
    let c = udp_client(lo4());
    c.send_to(b"\r\n\r\n", to).unwrap();
    c.send_to(b"", to).unwrap();
    c.send_to(b"real", to).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"real");
    assert_eq!(echo.seen.lock().unwrap().len(), 1);
}

#[test]
fn udp_ipv6_loopback() {
    let v6: SocketAddr = "[::1]:0".parse().unwrap();
    let echo = Arc::new(Echo::default());
    let server = match Server::new(config(&[(Proto::Udp, v6)], 1), echo.clone()) {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(
                e.raw_os_error(),
                Some(libc::EADDRNOTAVAIL),
                "unexpected bind error on ::1: {e}"
            );
            eprintln!("::1 is not available here; skipping");
            return;
        }
    };
    drop(server);
    let srv = Running::start(config(&[(Proto::Udp, v6)], 1), echo.clone());
    let to = srv.addr(Proto::Udp);
    assert!(to.is_ipv6() && to.port() != 0);
    let c = udp_client(v6);
    c.send_to(b"hello v6", to).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello v6");
    assert_eq!(from, to);
    assert!(echo.seen.lock().unwrap()[0].src.is_ipv6());
}

#[test]
fn tcp_framing_and_same_connection_replies() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Tcp, lo4())], 2), echo.clone());
    let to = srv.addr(Proto::Tcp);
    // Two connections so that the hand-off to the second worker is used.
    for round in 0..2 {
        let mut c = tcp_client(to);
        let m1 = msg(&format!("a{round}"), "one");
        let m2 = msg(&format!("b{round}"), "");
        let mut both = m1.clone();
        both.extend_from_slice(&m2);
        c.write_all(&both).unwrap();
        assert_eq!(read_n(&mut c, both.len()), both);

        let m3 = msg(&format!("c{round}"), "split body");
        c.write_all(&m3[..10]).unwrap();
        c.flush().unwrap();
        thread::sleep(Duration::from_millis(30));
        c.write_all(&m3[10..m3.len() - 3]).unwrap();
        c.flush().unwrap();
        thread::sleep(Duration::from_millis(30));
        c.write_all(&m3[m3.len() - 3..]).unwrap();
        assert_eq!(read_n(&mut c, m3.len()), m3);
    }
    let seen = echo.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6);
    let conns: HashSet<_> = seen.iter().map(|r| r.conn.expect("conn id")).collect();
    assert_eq!(conns.len(), 2);
    assert!(seen.iter().all(|r| r.proto == Proto::Tcp && r.local == to));
}

#[test]
fn tcp_crlf_ping_gets_pong() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Tcp, lo4())], 1), echo.clone());
    let mut c = tcp_client(srv.addr(Proto::Tcp));
    c.write_all(b"\r\n\r\n").unwrap();
    assert_eq!(read_n(&mut c, 2), b"\r\n");
    // A ping split in two, then one followed by a message.
    c.write_all(b"\r\n").unwrap();
    c.flush().unwrap();
    thread::sleep(Duration::from_millis(30));
    let m = msg("p", "x");
    let mut rest = b"\r\n\r\n\r\n".to_vec();
    rest.extend_from_slice(&m);
    c.write_all(&rest).unwrap();
    let mut want = b"\r\n\r\n".to_vec();
    want.extend_from_slice(&m);
    assert_eq!(read_n(&mut c, want.len()), want);
    assert_eq!(echo.seen.lock().unwrap().len(), 1);
}

#[test]
fn tcp_garbage_closes_only_that_connection() {
    let echo = Arc::new(Echo::default());
    let mut cfg = config(&[(Proto::Tcp, lo4())], 2);
    cfg.tcp.max_message_size = 4096;
    let srv = Running::start(cfg, echo.clone());
    let to = srv.addr(Proto::Tcp);
    let mut good = tcp_client(to);
    let m = msg("good", "");
    good.write_all(&m).unwrap();
    assert_eq!(read_n(&mut good, m.len()), m);

    // No Content-Length.
    let mut bad = tcp_client(to);
    bad.write_all(b"INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n")
        .unwrap();
    assert!(closed_by_peer(&mut bad), "missing Content-Length");

    // Body over the limit.
    let mut big = tcp_client(to);
    big.write_all(b"INVITE sip:x@y SIP/2.0\r\nContent-Length: 100000\r\n\r\n")
        .unwrap();
    assert!(closed_by_peer(&mut big), "body too large");

    // Headers that never end.
    let mut endless = tcp_client(to);
    let junk = vec![b'a'; 8192];
    let _ = endless.write_all(&junk); // may fail once the server closes
    assert!(closed_by_peer(&mut endless), "headers too large");

    // Binary garbage.
    let mut bin = tcp_client(to);
    let _ = bin.write_all(&[0u8, 1, 2, 255, 254, b'\n', b'\n', 7, 8]);
    assert!(closed_by_peer(&mut bin), "binary garbage");

    // The first connection still works.
    let m2 = msg("still", "ok");
    good.write_all(&m2).unwrap();
    assert_eq!(read_n(&mut good, m2.len()), m2);
    assert_eq!(srv.count(|s| &s.tcp_framing_errors), 4);
    assert_eq!(srv.count(|s| &s.tcp_received), 2);
}

#[test]
fn tcp_slow_partial_message_and_idle_connection_time_out() {
    let echo = Arc::new(Echo::default());
    let mut cfg = config(&[(Proto::Tcp, lo4())], 1);
    cfg.tcp.read_timeout = Duration::from_millis(300);
    cfg.tcp.idle_timeout = Duration::from_millis(600);
    let srv = Running::start(cfg, echo.clone());
    let to = srv.addr(Proto::Tcp);

    // Slowloris: one byte every 100 ms never completes a message.
    let mut slow = tcp_client(to);
    let m = msg("slow", "");
    let t = Instant::now();
    let mut closed = false;
    for b in &m {
        if slow.write_all(std::slice::from_ref(b)).is_err() {
            closed = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
        if t.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    assert!(closed || closed_by_peer(&mut slow));
    assert!(t.elapsed() < Duration::from_secs(3));

    // Idle: nothing sent at all.
    let mut idle = tcp_client(to);
    let t = Instant::now();
    assert!(closed_by_peer(&mut idle));
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(400) && e < Duration::from_secs(3),
        "{e:?}"
    );
    assert!(echo.seen.lock().unwrap().is_empty());
    assert_eq!(srv.wait_count(2, |s| &s.tcp_timeouts), 2);
}

#[test]
fn tcp_connection_limit() {
    let echo = Arc::new(Echo::default());
    let mut cfg = config(&[(Proto::Tcp, lo4())], 1);
    cfg.tcp.max_connections = 1;
    let srv = Running::start(cfg, echo);
    let to = srv.addr(Proto::Tcp);
    let mut first = tcp_client(to);
    let m = msg("first", "");
    first.write_all(&m).unwrap();
    assert_eq!(read_n(&mut first, m.len()), m);
    let mut second = tcp_client(to);
    let _ = second.write_all(&msg("second", ""));
    assert!(closed_by_peer(&mut second));
    assert_eq!(srv.count(|s| &s.tcp_rejected), 1);
    assert_eq!(srv.count(|s| &s.tcp_accepted), 1);
    // Kamailio's `tcp` statistics (process-wide: other tests move them
    // too, never down).
    let tcp = &cfgc_runtime::engine::counters::stats().tcp;
    assert!(tcp[4].get() >= 1, "local_reject");
    assert!(
        tcp[1].get() >= 1 && tcp[0].get() >= 1,
        "passive_open, established"
    );
}

/// Forwards every UDP message over TCP to `dst`; records TCP arrivals.
struct Forward {
    dst: SocketAddr,
    tcp_seen: Mutex<Vec<(RecvInfo, Vec<u8>)>>,
    /// Mark the transmits `no_connect` (`set_forward_no_connect`).
    no_connect: bool,
}

impl Handler for Forward {
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) {
        match rcv.proto {
            Proto::Udp => out.push(Transmit {
                proto: Proto::Tcp,
                dst: self.dst,
                local: None,
                conn: None,
                data: data.to_vec(),
                no_connect: self.no_connect,
            }),
            Proto::Tcp => self.tcp_seen.lock().unwrap().push((*rcv, data.to_vec())),
        }
    }
}

fn accept_timeout(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let t = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(T)).unwrap();
                s.set_write_timeout(Some(T)).unwrap();
                return s;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && t.elapsed() < T => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("no connection: {e}"),
        }
    }
}

#[test]
fn outbound_tcp_connects_delivers_and_reuses() {
    let peer = TcpListener::bind(lo4()).unwrap();
    let fwd = Arc::new(Forward {
        dst: peer.local_addr().unwrap(),
        tcp_seen: Mutex::new(Vec::new()),
        no_connect: false,
    });
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 2), fwd.clone());
    let c = udp_client(lo4());
    let m1 = msg("out1", "first");
    c.send_to(&m1, srv.addr(Proto::Udp)).unwrap();
    let mut conn = accept_timeout(&peer);
    assert_eq!(read_n(&mut conn, m1.len()), m1);

    // The open connection is reused.
    let m2 = msg("out2", "second");
    c.send_to(&m2, srv.addr(Proto::Udp)).unwrap();
    assert_eq!(read_n(&mut conn, m2.len()), m2);
    peer.set_nonblocking(true).unwrap();
    assert!(peer.accept().is_err(), "no second connection");

    // What the peer sends back reaches the handler on that connection.
    let back = msg("back", "");
    conn.write_all(&back).unwrap();
    let t = Instant::now();
    while fwd.tcp_seen.lock().unwrap().is_empty() && t.elapsed() < T {
        thread::sleep(Duration::from_millis(5));
    }
    let seen = fwd.tcp_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, back);
    assert_eq!(seen[0].0.src, peer.local_addr().unwrap());
    assert!(seen[0].0.conn.is_some());
}

#[test]
fn no_connect_transmits_never_open_a_connection() {
    let peer = TcpListener::bind(lo4()).unwrap();
    let fwd = Arc::new(Forward {
        dst: peer.local_addr().unwrap(),
        tcp_seen: Mutex::new(Vec::new()),
        no_connect: true,
    });
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 1), fwd);
    let c = udp_client(lo4());
    c.send_to(&msg("nc", ""), srv.addr(Proto::Udp)).unwrap();
    assert_eq!(
        srv.wait_count(1, |s| &s.tcp_dropped),
        1,
        "dropped, not sent"
    );
    peer.set_nonblocking(true).unwrap();
    thread::sleep(Duration::from_millis(100));
    assert!(peer.accept().is_err(), "no connection was opened");
    assert_eq!(srv.count(|s| &s.tcp_connected), 0);
}

#[test]
fn outbound_tcp_connect_failure_is_harmless() {
    // A port with nobody listening: bind, note the port, close.
    let dead = TcpListener::bind(lo4()).unwrap().local_addr().unwrap();
    let fwd = Arc::new(Forward {
        dst: dead,
        tcp_seen: Mutex::new(Vec::new()),
        no_connect: false,
    });
    let echo_side = Running::start(config(&[(Proto::Udp, lo4())], 1), fwd);
    let c = udp_client(lo4());
    c.send_to(&msg("x", ""), echo_side.addr(Proto::Udp))
        .unwrap();
    assert_eq!(echo_side.wait_count(1, |s| &s.tcp_connect_failed), 1);
    assert!(echo_side.stop() < T);
}

#[test]
fn shutdown_returns_promptly_and_frees_ports() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Udp, lo4()), (Proto::Tcp, lo4())], 2), echo);
    let udp = srv.addr(Proto::Udp);
    let tcp = srv.addr(Proto::Tcp);
    let mut c = tcp_client(tcp);
    let m = msg("s", "");
    c.write_all(&m).unwrap();
    assert_eq!(read_n(&mut c, m.len()), m);
    let took = srv.stop();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(closed_by_peer(&mut c));
    UdpSocket::bind(udp).expect("UDP port free again");
    TcpListener::bind(tcp).expect("TCP port free again");
}

#[derive(Default)]
struct Ticker {
    ticks: AtomicUsize,
}

impl Handler for Ticker {
    fn on_message(&self, _: &[u8], _: &RecvInfo, _: &mut Vec<Transmit>) {}
    fn on_tick(&self, _now: Instant, _out: &mut Vec<Transmit>) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }
    fn tick(&self) -> Option<Duration> {
        Some(Duration::from_millis(20))
    }
}

#[test]
fn ticks_are_delivered_once_per_period() {
    let t = Arc::new(Ticker::default());
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 2), t.clone());
    thread::sleep(Duration::from_millis(300));
    srv.stop();
    let n = t.ticks.load(Ordering::Relaxed);
    // One ticking thread: about 15, never twice that.
    assert!((3..=25).contains(&n), "{n} ticks");
}

#[test]
fn myself_from_server() {
    let echo = Arc::new(Echo::default());
    let server = Server::new(config(&[(Proto::Udp, lo4())], 1), echo).unwrap();
    let port = server.local_addrs()[0].addr.port();
    let me = server.myself();
    assert!(me.matches("127.0.0.1", Some(port), Some(Proto::Udp)));
    assert!(!me.matches("127.0.0.1", Some(port), Some(Proto::Tcp)));
}

#[test]
fn tcp_reply_survives_peer_half_close() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Tcp, lo4())], 1), echo);
    for i in 0..5 {
        let mut c = tcp_client(srv.addr(Proto::Tcp));
        let m = msg(&format!("half{i}"), "bye");
        c.write_all(&m).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(read_n(&mut c, m.len()), m);
        assert!(closed_by_peer(&mut c));
    }
}

/// Replies from the socket named in the message ("via <addr>"), else the
/// receiving one.
struct ReplyFrom;

impl Handler for ReplyFrom {
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) {
        let text = String::from_utf8_lossy(data);
        let local = text
            .strip_prefix("via ")
            .and_then(|a| a.parse().ok())
            .or(Some(rcv.local));
        out.push(Transmit {
            local,
            ..Transmit::reply_to(rcv, data.to_vec())
        });
    }
}

#[test]
fn udp_send_uses_the_requested_local_socket() {
    let srv = Running::start(
        config(&[(Proto::Udp, lo4()), (Proto::Udp, lo4())], 2),
        Arc::new(ReplyFrom),
    );
    let a = srv.local[0].addr;
    let b = srv.local[1].addr;
    assert_ne!(a, b);
    let c = udp_client(lo4());
    let mut buf = [0u8; 128];
    c.send_to(format!("via {b}").as_bytes(), a).unwrap();
    let (_, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(from, b);
    c.send_to(b"plain", b).unwrap();
    let (_, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(from, b);
    c.send_to(b"plain", a).unwrap();
    let (_, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(from, a);
}

#[test]
fn udp_large_datagram_is_not_truncated() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 1), echo);
    let c = udp_client(lo4());
    // The largest UDP/IPv4 payload.
    let big: Vec<u8> = (0..65_507u32).map(|i| (i % 251) as u8 + 1).collect();
    c.send_to(&big, srv.addr(Proto::Udp)).unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, _) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &big[..]);
}

#[test]
fn outbound_tcp_reconnects_after_peer_closed() {
    let peer = TcpListener::bind(lo4()).unwrap();
    let fwd = Arc::new(Forward {
        dst: peer.local_addr().unwrap(),
        tcp_seen: Mutex::new(Vec::new()),
        no_connect: false,
    });
    let srv = Running::start(config(&[(Proto::Udp, lo4())], 1), fwd);
    let c = udp_client(lo4());
    let m1 = msg("r1", "");
    c.send_to(&m1, srv.addr(Proto::Udp)).unwrap();
    let mut conn = accept_timeout(&peer);
    assert_eq!(read_n(&mut conn, m1.len()), m1);
    drop(conn);
    // Let the server see the close.
    thread::sleep(Duration::from_millis(100));
    let m2 = msg("r2", "");
    c.send_to(&m2, srv.addr(Proto::Udp)).unwrap();
    let mut conn = accept_timeout(&peer);
    assert_eq!(read_n(&mut conn, m2.len()), m2);
}

/// `Server::run` stops on SIGTERM: the test re-runs itself as a child
/// process that runs a server, and signals it.
#[cfg(unix)]
#[test]
fn sigterm_stops_run() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    const CHILD: &str = "RUNTIME_TRANSPORT_SIGTERM_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let server =
            Server::new(config(&[(Proto::Udp, lo4())], 2), Arc::new(Echo::default())).unwrap();
        println!("LISTEN {}", server.local_addrs()[0].addr);
        io::stdout().flush().unwrap();
        server.run().unwrap();
        println!("STOPPED");
        io::stdout().flush().unwrap();
        return;
    }

    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Kill(
        Command::new(exe)
            .args([
                "--exact",
                "sigterm_stops_run",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr: SocketAddr = loop {
        let line = lines.recv_timeout(T).expect("child prints its address");
        // libtest may print "test name ... " before it on the same line.
        if let Some(i) = line.find("LISTEN ") {
            break line[i + 7..].trim().parse().unwrap();
        }
    };
    // An answer shows the workers run; then give the main thread a moment
    // to install its signal handlers.
    let c = udp_client(lo4());
    c.send_to(b"up?", addr).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(c.recv_from(&mut buf).unwrap().0, 3);
    thread::sleep(Duration::from_millis(200));

    let pid = i32::try_from(child.0.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < T, "child did not stop on SIGTERM");
        thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
    let mut stopped = false;
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) {
        stopped |= line.contains("STOPPED");
    }
    assert!(stopped, "run() returned");
    UdpSocket::bind(addr).expect("port free after SIGTERM");
}

#[test]
fn tcp_many_connections_in_parallel() {
    let echo = Arc::new(Echo::default());
    let srv = Running::start(config(&[(Proto::Tcp, lo4())], 2), echo.clone());
    let to = srv.addr(Proto::Tcp);
    let clients: Vec<_> = (0..40)
        .map(|i| {
            thread::spawn(move || {
                let mut c = tcp_client(to);
                let mut all = Vec::new();
                for j in 0..10 {
                    all.extend_from_slice(&msg(&format!("{i}-{j}"), &"b".repeat(j * 100)));
                }
                // Written in uneven pieces.
                for piece in all.chunks(997) {
                    c.write_all(piece).unwrap();
                }
                assert_eq!(read_n(&mut c, all.len()), all);
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let seen = echo.seen.lock().unwrap();
    assert_eq!(seen.len(), 400);
    let conns: HashSet<_> = seen.iter().map(|r| r.conn).collect();
    assert_eq!(conns.len(), 40);
    assert_eq!(echo.threads.lock().unwrap().len(), 2);
}

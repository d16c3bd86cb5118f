//! The sans-IO boundary between sockets and the message engine.
//!
//! The transport owns every socket: [`server`] (workers, start-up and
//! shutdown), `udp.rs` (receive threads, sends), `tcp.rs` (accept loop,
//! connection tasks) and `conn.rs` (the shared connection table); no
//! other code of the runtime opens one. It hands the
//! engine ([`Handler`]) one complete SIP message at a time together with
//! where it came from ([`RecvInfo`]); the engine answers with
//! [`Transmit`]s, which the transport sends. The engine never sees a socket
//! and the transport never looks inside a message beyond framing it.
//!
//! [`myself`] holds Kamailio's `myself` set (listen addresses and aliases);
//! [`stream`] frames one stream connection, sans-IO.

mod conn;
pub mod myself;
pub mod server;
pub mod stream;
mod tcp;
mod udp;

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use myself::Myself;

/// Transport protocol of a listen socket, a received message or a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// UDP: one datagram is one message.
    Udp,
    /// TCP: a byte stream framed by Content-Length.
    Tcp,
}

impl Proto {
    /// Lower-case name as used in Kamailio (`udp`, `tcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        }
    }

    /// Parses a Kamailio protocol name, case-insensitively.
    pub fn from_name(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("udp") {
            Some(Self::Udp)
        } else if s.eq_ignore_ascii_case("tcp") {
            Some(Self::Tcp)
        } else {
            None
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one TCP connection for as long as it lives; never reused
/// within a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a message came from (Kamailio's `receive_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvInfo {
    /// Transport it arrived on.
    pub proto: Proto,
    /// The peer's address (`$si:$sp`).
    pub src: SocketAddr,
    /// The local address it arrived on (`$Ri:$Rp`). For UDP this is the
    /// listen socket's bound address, so a socket bound to a wildcard
    /// address gives the wildcard address; for TCP it is the connection's
    /// actual local address.
    pub local: SocketAddr,
    /// The TCP connection it arrived on; `None` for UDP.
    pub conn: Option<ConnId>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Transport to send on.
    pub proto: Proto,
    /// Destination address.
    pub dst: SocketAddr,
    /// Send from this listen socket if set (`$fs`, or the socket a request
    /// arrived on). For UDP it picks the socket; for a new TCP connection
    /// it picks the source IP.
    pub local: Option<SocketAddr>,
    /// Reuse this TCP connection if it is still open. Otherwise an open
    /// connection to `dst` is used, or a new one is made.
    pub conn: Option<ConnId>,
    /// The bytes: one whole SIP message (or a keep-alive).
    pub data: Vec<u8>,
    /// Never open a new TCP connection for it (`set_reply_no_connect`,
    /// `set_forward_no_connect`): without an open connection it is
    /// dropped.
    pub no_connect: bool,
}

impl Transmit {
    /// A reply sent back the way `rcv` came in: same protocol, to the
    /// source address, from the receiving socket, on the same connection.
    pub fn reply_to(rcv: &RecvInfo, data: Vec<u8>) -> Self {
        Self {
            proto: rcv.proto,
            dst: rcv.src,
            local: Some(rcv.local),
            conn: rcv.conn,
            data,
            no_connect: false,
        }
    }
}

/// The message engine, as seen by the transport.
///
/// Called concurrently from every worker thread, so it must be `Sync`;
/// calls never overlap for the same TCP connection. Each worker is one
/// thread running its sockets: a call that blocks stalls that worker's
/// sockets and connections. A panic in a call loses that call's transmits
/// (and closes the TCP connection it came on) but not the worker.
pub trait Handler: Send + Sync + 'static {
    /// One complete SIP message (a UDP datagram, or a framed TCP message).
    /// Keep-alives (CRLF) never reach the handler.
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>);

    /// A framed message of a stream connection (TCP): as
    /// [`Handler::on_message`], and whether the connection may go on.
    /// `false` when the message could not be parsed: Kamailio then gives
    /// up on the connection (its `tcp_read_req`), and so does the
    /// transport.
    fn on_stream_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>) -> bool {
        self.on_message(data, rcv, out);
        true
    }

    /// Called about every [`Handler::tick`] with the current time, for
    /// timers (transactions, expiries). Called from one thread only.
    fn on_tick(&self, _now: Instant, _out: &mut Vec<Transmit>) {}

    /// The server starts: called once, before any message is read; what it
    /// puts in `out` is sent as soon as the sockets serve.
    ///
    /// # Errors
    /// The server must not start (the message says why).
    fn on_start(&self, _out: &mut Vec<Transmit>) -> Result<(), String> {
        Ok(())
    }

    /// The server stopped: every worker has ended, nothing more arrives.
    fn on_shutdown(&self) {}

    /// How often to call [`Handler::on_tick`]; `None` never calls it.
    /// Read once, when the server starts.
    fn tick(&self) -> Option<Duration> {
        None
    }
}

//! Transport-facing types (placeholder until the transport layer lands:
//! the same definitions it exports).

use std::net::SocketAddr;

/// Transport protocol of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Udp,
    Tcp,
}

/// A TCP connection, as known to the transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId(pub u64);

/// Where and how a message arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvInfo {
    pub proto: Proto,
    pub src: SocketAddr,
    pub local: SocketAddr,
    pub conn: Option<ConnId>,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    pub proto: Proto,
    pub dst: SocketAddr,
    pub local: Option<SocketAddr>,
    pub conn: Option<ConnId>,
    pub data: Vec<u8>,
}

/// What the transport layer calls with each message.
pub trait Handler: Send + Sync + 'static {
    fn on_message(&self, data: &[u8], rcv: &RecvInfo, out: &mut Vec<Transmit>);
}

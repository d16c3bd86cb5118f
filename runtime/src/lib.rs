//! The SIP runtime that cfgc-generated proxies link against.
//!
//! `sip` is sans-IO: pure functions and data over bytes, no sockets, no clock.
//! `transport` is the boundary between the engine and the sockets, and
//! `server` owns the sockets and threads.

pub mod server;
pub mod sip;
pub mod transport;

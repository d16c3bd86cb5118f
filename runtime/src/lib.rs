//! The SIP runtime that cfgc-generated proxies link against.
//!
//! `sip` is sans-IO: pure functions and data over bytes, no sockets, no clock.

pub mod sip;

pub mod server;
pub mod transport;

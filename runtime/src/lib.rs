#![doc = include_str!("../README.md")]

pub mod engine;
pub mod modules;
pub mod proxy;
pub mod server;
pub mod sip;
pub mod tm;
pub mod transport;

#[cfg(feature = "macros")]
pub use macros::kamailio_cfg;

/// Re-exported for generated code (compiled `=~` regexes).
pub use regex;

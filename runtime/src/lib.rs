#![doc = include_str!("../README.md")]
// Library code returns errors or handles the missing case (as Kamailio
// does); unit tests may unwrap. Every unsafe block says why it is sound.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod engine;
pub mod modules;
pub mod proxy;
pub mod script;
pub mod sip;
pub mod tm;
pub mod transport;

/// The server shell (sockets, workers), under its historical path.
pub use transport::server;

#[cfg(feature = "macros")]
pub use macros::kamailio_cfg;

/// Re-exported for generated code (compiled `=~` regexes).
pub use regex;

/// The vocabulary this runtime shares with the compiler.
pub use cfgc_vocab as vocab;

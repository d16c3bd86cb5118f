#![doc = include_str!("../README.md")]
// Library code returns errors or handles the missing case (as Kamailio
// does); unit tests may unwrap. Every unsafe block says why it is sound.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod db;
pub mod engine;
pub mod modules;
pub mod proxy;
pub mod rpc;
pub mod script;
pub mod sip;
pub mod tm;
pub mod transport;

/// The server shell (sockets, workers), under its historical path.
pub use transport::server;

#[cfg(feature = "macros")]
#[doc(hidden)]
pub use macros::kamailio_cfg as __kamailio_cfg;

/// Compiles a `kamailio.cfg` into a `Script` type and a `settings()` function
/// at the call site: `kamailio_cfg!("kamailio.cfg")` or
/// `kamailio_cfg!("kamailio.cfg", defines = ["WITH_NAT", "PORT=5070"])`
/// (Kamailio's `-A`). The path is relative to `CARGO_MANIFEST_DIR`. Each
/// error in the cfg is a `compile_error!` naming its `file:line:col`.
///
/// A wrapper of the `cfgc-macros` proc-macro that hands it `$crate`, so
/// the generated code finds this crate under whatever name the user's
/// Cargo.toml gives it.
///
/// ```text
/// cfgc_runtime::kamailio_cfg!("kamailio.cfg");
///
/// fn main() -> std::process::ExitCode {
///     cfgc_runtime::proxy::main(Script::new(), &settings())
/// }
/// ```
#[cfg(feature = "macros")]
#[macro_export]
macro_rules! kamailio_cfg {
    ($($args:tt)*) => {
        $crate::__kamailio_cfg! { [$crate] $($args)* }
    };
}

/// Re-exported for generated code (compiled `=~` regexes).
pub use regex;

/// The vocabulary this runtime shares with the compiler.
pub use cfgc_vocab as vocab;

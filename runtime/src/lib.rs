#![doc = include_str!("../README.md")]

pub mod engine;
pub mod modules;
pub mod proxy;
pub mod server;
pub mod sip;
pub mod transport;

#[cfg(feature = "macros")]
#[doc(hidden)]
pub use macros::kamailio_cfg as __kamailio_cfg;

/// Compiles a `kamailio.cfg` into a `Script` type and a `SETTINGS` constant
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
///     cfgc_runtime::proxy::main(Script::new(), &SETTINGS)
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

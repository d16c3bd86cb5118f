//! A SIP proxy compiled from `kamailio.cfg` by `cfgc_runtime::kamailio_cfg!`:
//! it answers OPTIONS, refuses requests for one user, tags and relays the
//! rest to 127.0.0.1:5070.
//!
//! ```text
//! cargo run -p example-macro -- -l udp:127.0.0.1:5060
//! ```

// `Script` and `settings()`; cargo recompiles this crate when the cfg changes.
cfgc_runtime::kamailio_cfg!(
    "kamailio.cfg",
    defines = ["WITH_TAG", r#"NEXT_HOP="sip:127.0.0.1:5070""#]
);

fn main() -> std::process::ExitCode {
    cfgc_runtime::proxy::main(Script::new(), &settings())
}

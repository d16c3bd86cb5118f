//! `cfgc-interp [-A NAME[=VALUE]]... FILE [-- PROXY-FLAGS]`: runs a
//! kamailio.cfg as a SIP proxy with its routing interpreted (the
//! benchmarks' baseline). See `cfgc_interp::cli`.

fn main() -> std::process::ExitCode {
    cfgc_interp::cli::main(std::env::args().skip(1))
}

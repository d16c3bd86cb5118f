//! The interpreted proxy (`cfgc-interp`) as a binary of this package, so
//! the end-to-end tests can start it (`CARGO_BIN_EXE_interp-proxy`) like
//! the compiled one.

fn main() -> std::process::ExitCode {
    interp::cli::main(std::env::args().skip(1))
}

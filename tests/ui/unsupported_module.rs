// A module the runtime does not implement is a `compile_error!` naming the
// `loadmodule` line ("not supported yet"), even if none of its functions
// is called.
runtime::kamailio_cfg!("ui/unsupported_module.cfg");

fn main() -> std::process::ExitCode {
    runtime::proxy::main(Script::new(), &settings())
}

// Each error in the cfg is a `compile_error!` naming `file:line:col`; the
// stub `Script` and `settings()` keep `main` free of follow-on errors.
runtime::kamailio_cfg!("ui/bad_cfg.cfg");

fn main() -> std::process::ExitCode {
    runtime::proxy::main(Script::new(), &settings())
}

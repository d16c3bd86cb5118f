//! Compiles the configurations the in-process benchmarks run
//! (`benches/route.rs`) with `cfgc::Builder`, as a user's build.rs would:
//! the example stateless proxy always; the stock config when cfgc can
//! compile it (`cfg(stock_cfg)`; the benchmark says when it cannot).

fn main() -> Result<(), cfgc::BuildError> {
    println!("cargo::rustc-check-cfg=cfg(stock_cfg)");
    // This crate calls the runtime `runtime` (a Cargo rename).
    cfgc::Builder::new()
        .runtime_path("::runtime")
        .define_value("NEXT_PORT", "5070")
        .file_name("stateless_cfg.rs")
        .compile("../examples/stateless-proxy/kamailio.cfg")?;
    let stock = std::path::Path::new("/etc/kamailio/kamailio.cfg");
    println!("cargo::rerun-if-changed={}", stock.display());
    if stock.exists() {
        match cfgc::Builder::new()
            .runtime_path("::runtime")
            .file_name("stock_cfg.rs")
            .compile(stock)
        {
            Ok(_) => println!("cargo::rustc-cfg=stock_cfg"),
            Err(_) => println!(
                "cargo::warning=the stock kamailio.cfg does not compile yet: the route benchmark runs the stateless example only"
            ),
        }
    }
    Ok(())
}

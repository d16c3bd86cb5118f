//! Compiles `kamailio.cfg` into `$OUT_DIR/kamailio_cfg.rs`. Cargo reruns
//! this when the cfg changes; diagnostics are printed like rustc's.

fn main() -> Result<(), cfgc::BuildError> {
    cfgc::Builder::new()
        .define("WITH_DEBUG")
        // A string value keeps its quotes, as with `kamailio -A`.
        .define_value("NEXT_HOP", "\"sip:127.0.0.1:5070\"")
        .compile("kamailio.cfg")?;
    Ok(())
}

//! Preprocess + lex + parse + check arbitrary text: must never panic.
//! Run: `cargo fuzz run cfgc_frontend` (seed corpus: `cfgc/tests/fixtures`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let report = cfgc::Config::new()
        .define("WITH_FUZZ")
        .check_source("fuzz.cfg", text);
    // Rendering must not panic either (spans in bounds, line lookups).
    for d in &report.diagnostics {
        let _ = report.render(d);
    }
});

//! parse → typed access → serialize → parse, edits, replies and the stream
//! framer on arbitrary bytes. The body lives in the runtime
//! (`runtime::sip::roundtrip::check`) so stable tests run it too
//! (`runtime/tests/roundtrip.rs`); a broken invariant is a crash here.
//!
//! Run: `cargo +nightly fuzz run sip_roundtrip -- -max_total_time=60`
//! (from the repository root). Minimized crashes go to
//! `fuzz/corpus/sip_roundtrip/`, which `fuzz_corpus_replays` replays.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = runtime::sip::roundtrip::check(data) {
        panic!("invariant broken: {e}");
    }
});

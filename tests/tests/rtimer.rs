//! rtimer and mqueue, differential: `tests/rtimer/kamailio.cfg` under
//! `kamailio -f`, compiled and interpreted. `mq` runs mqueue's functions
//! (add modes, sizes, fetch, `$mqk`/`$mqv` with constant and PV names,
//! unknown and empty queues) and answers their results; `add` queues two
//! jobs, which `route[DRAIN]`, run each second by an rtimer timer after
//! `route[TICK]` (the reverse of the `exec` lines), fetches on Kamailio's
//! faked message; `read` answers what the timer routes recorded.

use std::path::{Path, PathBuf};
use std::time::Duration;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rtimer/kamailio.cfg")
}

fn ask(port: u16, user: &str) -> String {
    tests::options_status(port, user, "tester", &format!("c-{user}"))
}

fn session(port: u16) -> Vec<String> {
    let mut lines = vec![ask(port, "mq"), ask(port, "add")];
    // Two ticks at least (the first comes one interval after start-up).
    std::thread::sleep(Duration::from_millis(2500));
    lines.push(ask(port, "read"));
    lines
}

#[test]
fn rtimer_and_mqueue_run_like_kamailio_compiled_and_interpreted() {
    let theirs = tests::kamailio_session(&cfg(), "rtimer", |port, _| session(port));
    // Kamailio's answers are what the cfg means.
    let want = [
        "SIP/2.0 200 mq 1 1 1 -1 2 -1 -2 sizes=2/2/2/0 k=1 j=3 -2 after= -1 newest=j=2,k=3 1 \
freed= small=b nope=<> blank=/",
        "SIP/2.0 200 added",
        "SIP/2.0 200 read order=TDTD drained=[a=c-add][b=2] ctx=<w=0 ru=sip:you@kamailio.org \
si=1.0.0.127> jobs=0",
    ];
    assert_eq!(theirs, want, "kamailio's answers");

    tests::ours_match(
        &cfg(),
        "rtimer",
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        &theirs,
        |port, _| session(port),
    );
}

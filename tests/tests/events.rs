//! Event routes, differential: `tests/events/kamailio.cfg` under
//! `kamailio -f`, compiled and interpreted. The start-up events
//! (`htable:mod-init`, then `core:worker-one-init`) record what they see
//! of Kamailio's faked message; htable's expiry runs
//! `event_route[htable:expired:a]` for each item it removes, in the table's
//! order, with `$shtrecord(key)`/`$shtrecord(value)` naming it, and an item
//! the event route stores expires in turn. A `read` request answers what
//! was recorded, before and after the expiries.

use std::path::{Path, PathBuf};
use std::time::Duration;

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events/kamailio.cfg")
}

fn ask(port: u16, user: &str, n: usize) -> String {
    tests::options_status(port, user, "tester", &format!("events-{user}-{n}@test"))
}

/// `read`, `set`, then `read` after the first expiries (autoexpire 2 s,
/// sweep every second) and after the item stored by the event route
/// expired too.
fn session(port: u16) -> Vec<String> {
    let mut lines = vec![ask(port, "read", 1), ask(port, "set", 2)];
    std::thread::sleep(Duration::from_millis(4500));
    lines.push(ask(port, "read", 3));
    std::thread::sleep(Duration::from_millis(3500));
    lines.push(ask(port, "read", 4));
    lines
}

#[test]
fn event_routes_run_like_kamailio_compiled_and_interpreted() {
    let theirs = tests::kamailio_session(&cfg(), "events", |port, _| session(port));
    // Kamailio's answers are what the cfg means: mod-init before
    // worker-one-init, the faked message, three expiries in the table's
    // order, then the item the event route stored.
    let init = "order=mw init=<ru=sip:you@kamailio.org si=1.0.0.127:5060 ci=123 \
fu=sip:you@kamailio.org ft=123 tu=sip:you@kamailio.org rm=OPTIONS pr=udp Ri=: cs=1> \
w1=<ru=sip:you@kamailio.org rU=you mf=0>";
    let want = [
        format!("SIP/2.0 200 read {init} exp= again=<null> rec= x=5"),
        "SIP/2.0 200 set".to_string(),
        format!("SIP/2.0 200 read {init} exp=[k2=7][k3=v3][k1=v1] again=from-event rec= x=5"),
        format!(
            "SIP/2.0 200 read {init} exp=[k2=7][k3=v3][k1=v1][again=from-event] again=<null> rec= x=5"
        ),
    ];
    assert_eq!(theirs, want, "kamailio's answers");

    tests::ours_match(
        &cfg(),
        "events",
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        &theirs,
        |port, _| session(port),
    );
}

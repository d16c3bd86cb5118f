//! Issue 5 acceptance on the wire: Kamailio's stock config
//! (`/etc/kamailio/kamailio.cfg`, read in place, unmodified, no defines)
//! driven by SIPp clients on 127.0.0.1 — REGISTER cycle, calls (answered,
//! cancelled, busy, unanswered), unknown user, keepalive, Max-Forwards 0,
//! scanner, foreign domain, in-dialog request without dialog.
//!
//! Each scenario runs against its own proxy on its own free ports, all
//! scenarios concurrently (the longest waits for the stock 30 s fr_timer).
//! Both sides run the same number of workers (`harness::WORKERS`) and log
//! to stderr (`-E`). What every client received is normalised into an
//! observation (see `stock_wire/harness.rs`): every message's start line,
//! every header in order (tags, branches, ports, SIPp's pid and media port
//! hidden, Server/User-Agent text `*`), its body, how many copies came
//! (retransmissions), and the proxy's acc records from its log
//! (timestamp and process hidden). Every message that first comes 1 s or
//! more after its client began is timer-driven: its time is compared with
//! Kamailio's within 10 % (the 408 after fr_timer), without exceptions.
//!
//! * `stock_wire_kamailio`: every scenario against `kamailio -f`, twice,
//!   with the outcome the stock config is known to give asserted (our
//!   understanding of Kamailio, and the harness, tested), and the two runs'
//!   observations compared exactly (nothing run-dependent leaks through).
//! * `stock_wire_ours_like_kamailio`: the stock config compiled by cfgc
//!   and kamailio, same scenarios, observations compared; allowed
//!   differences are the explained entries of
//!   `tests/stock-wire/differences.toml` (none today).
//! * `stock_wire_interpreted_like_kamailio`: the same with the stock config
//!   interpreted (`interp`) on the same runtime.
//!
//! The three comparisons take turns (each already runs every scenario at
//! once).

#[path = "stock_wire/harness.rs"]
mod harness;
#[path = "stock_wire/scenarios.rs"]
mod scenarios;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::{
    ClientRun, Contender, Diff, Differences, Observation, Run, diff, received_messages,
    timing_mismatches,
};
use scenarios::{SCENARIOS, Scenario};
use tests::STOCK_CFG;

/// Runs one scenario against one contender (the `i`th): a fresh proxy,
/// the clients, the proxy stopped (an error if any of its processes
/// survive).
fn run_scenario(s: &Scenario, who: &Contender, i: usize) -> Result<Observation, String> {
    let dir = std::env::temp_dir().join(format!(
        "cfgc-stock-wire-{}-{}{i}-{}",
        std::process::id(),
        who.name(),
        s.name
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let server = who.start(&dir)?;
    let mut run = Run::new(s.name, dir.clone(), server.port);
    let driven = (s.drive)(&mut run);
    let log = server.log_tail();
    let stopped = server.stop();
    driven.map_err(|e| format!("{e}\n--- {} log:\n{log}", who.name()))?;
    stopped?;
    // Read once every process is gone: all its acc records are written.
    run.record_log(&server_log(&dir, who));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(run.observation())
}

/// The whole log of a stopped server (`Contender::start` writes it to
/// `DIR/NAME.log`).
fn server_log(dir: &std::path::Path, who: &Contender) -> String {
    std::fs::read(dir.join(format!("{}.log", who.name())))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Both observations of one scenario, or what went wrong.
type PairResult = Result<(Observation, Observation), String>;

/// Every scenario against both contenders, all concurrently; for each
/// scenario the two observations, the first one checked against what
/// Kamailio is known to answer.
fn run_pairs(a: &Contender, b: &Contender) -> Vec<(&'static Scenario, PairResult)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = SCENARIOS
            .iter()
            .map(|s| {
                let ha = scope.spawn(move || run_scenario(s, a, 0));
                let hb = scope.spawn(move || run_scenario(s, b, 1));
                (s, ha, hb)
            })
            .collect();
        handles
            .into_iter()
            .map(|(s, ha, hb)| {
                let join = |h: std::thread::ScopedJoinHandle<'_, _>, who: &Contender| {
                    h.join()
                        .unwrap_or_else(|_| Err("scenario panicked".to_string()))
                        .map_err(|e| format!("({}) {e}", who.name()))
                };
                let (oa, ob) = (join(ha, a), join(hb, b));
                let checked = oa.and_then(|o| {
                    (s.expect)(&o)
                        .map(|()| o.clone())
                        .map_err(|e| format!("({}) {e}\nobservation:\n{}", a.name(), o.render()))
                });
                (s, checked.and_then(|oa| ob.map(|ob| (oa, ob))))
            })
            .collect()
    })
}

/// Runs every scenario against `a` (kamailio) and `b`, compares, and
/// panics with every failure: an unexpected Kamailio outcome, a run that
/// failed, or a difference `allowed` does not explain.
/// One comparison at a time: each runs every scenario at once (two
/// proxies and their SIPp clients per scenario), which is load enough for
/// two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn compare_all(a: &Contender, b: &Contender, allowed: &Differences) {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let start = Instant::now();
    let mut failures = Vec::new();
    let mut used = vec![false; allowed.difference.len()];
    for (s, result) in run_pairs(a, b) {
        let (oa, ob) = match result {
            Ok(pair) => pair,
            Err(e) => {
                failures.push(format!("=== {}: {e}", s.name));
                continue;
            }
        };
        let late = timing_mismatches(&oa, &ob);
        if !late.is_empty() {
            failures.push(format!(
                "=== {}: timer-driven messages not within 10 % of {}'s times ({} here):\n{}",
                s.name,
                a.name(),
                b.name(),
                late.join("\n")
            ));
        }
        let diffs = diff(&oa.lines(), &ob.lines());
        let (left, hits) = allowed.unexplained(s.name, &diffs);
        for i in hits {
            used[i] = true;
        }
        if !left.is_empty() {
            let text: Vec<String> = left
                .iter()
                .map(|d| match d {
                    Diff::OnlyKamailio(l) => format!("- {l}"),
                    Diff::OnlyOurs(l) => format!("+ {l}"),
                })
                .collect();
            failures.push(format!(
                "=== {}: differences (- {} only, + {} only) not in differences.toml:\n{}\n{}:\n{}{}:\n{}",
                s.name,
                a.name(),
                b.name(),
                text.join("\n"),
                a.name(),
                oa.render(),
                b.name(),
                ob.render()
            ));
        }
    }
    // An entry no run needs any more is stale: remove it.
    if failures.is_empty() {
        for (i, entry) in allowed.difference.iter().enumerate() {
            if !used[i] {
                failures.push(format!("stale entry in differences.toml: {entry:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // All scenarios run side by side: the whole is bounded by the longest
    // (the 30 s fr_timer), not by their sum.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

/// Every scenario against kamailio, twice: each run gives the outcome the
/// stock config is known to give (asserted per scenario), and the two
/// observations are identical (the normalisation hides everything
/// run-dependent, so a comparison with our proxy can be exact).
#[test]
fn stock_wire_kamailio() {
    let none = Differences::parse("").expect("empty list");
    compare_all(&Contender::Kamailio, &Contender::Kamailio, &none);
}

/// Our proxy for the stock config, built with cfgc's library as
/// `cfgc build` does.
fn build_ours() -> PathBuf {
    tests::build_proxy(std::path::Path::new(STOCK_CFG), &[], "stock-proxy")
}

/// Our proxy against kamailio, same scenarios, observations compared;
/// the allowed differences are the explained entries of
/// `tests/stock-wire/differences.toml`.
#[test]
fn stock_wire_ours_like_kamailio() {
    let allowed = Differences::load().unwrap_or_else(|e| panic!("{e}"));
    let ours = Contender::Ours(build_ours());
    compare_all(&Contender::Kamailio, &ours, &allowed);
}

/// The same, with the stock config interpreted on the same runtime: every
/// wire test of the compiled proxy also runs interpreted.
#[test]
fn stock_wire_interpreted_like_kamailio() {
    let allowed = Differences::load().unwrap_or_else(|e| panic!("{e}"));
    let interpreted = Contender::Interpreted(PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy")));
    compare_all(&Contender::Kamailio, &interpreted, &allowed);
}

// --- the harness's own parts, without proxies ------------------------------------

#[test]
fn differences_file_is_valid() {
    let d = Differences::load().unwrap_or_else(|e| panic!("{e}"));
    for a in &d.difference {
        assert!(
            a.scenario == "*" || SCENARIOS.iter().any(|s| s.name == a.scenario),
            "unknown scenario {:?} in differences.toml",
            a.scenario
        );
    }
    assert!(
        Differences::parse("[[difference]]\nscenario = \"*\"\nwhy = \"\"\nours = \"x\"\n").is_err()
    );
    assert!(Differences::parse("[[difference]]\nscenario = \"*\"\nwhy = \"y\"\n").is_err());
}

#[test]
fn every_scenario_file_is_used() {
    let sources = [
        include_str!("stock_wire/scenarios.rs"),
        include_str!("stock_wire/harness.rs"),
    ]
    .concat();
    let dir = harness::sipp_dir();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("tests/sipp/stock") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if name.ends_with(".xml") {
            n += 1;
            assert!(
                sources.contains(&format!("\"{name}\"")),
                "{name} is used by no scenario"
            );
        }
    }
    assert!(n >= 5, "scenarios missing in {}", dir.display());
}

/// A SIPp trace as `-trace_msg` writes it: normalised (ports named,
/// branches and tags hidden, compact and comma-joined headers split, every
/// header kept, Server text hidden, the body kept), retransmissions counted
/// with their times, sent messages ignored.
#[test]
fn trace_parsing_and_normalisation() {
    let reply = "SIP/2.0 200 OK\r\n\
v: SIP/2.0/UDP 127.0.0.1:5555;branch=z9hG4bKabc.0, SIP/2.0/UDP 127.0.0.1:4444;received=127.0.0.1;branch=z9hG4bK-1-1-0;rport=4444\r\n\
Record-Route: <sip:127.0.0.1:5555;lr>\r\n\
t: <sip:bob@127.0.0.1:5555>;tag=xyz\r\n\
i: 1-4242@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Server: x\r\n\
X-Other: y\r\n\
c: application/sdp\r\n\
Content-Length:   17\r\n\r\n\
v=0\r\nm=audio 6004 RTP/AVP 0\r\n";
    let trace = format!(
        "----------------------------------------------- 2026-01-01 23:59:59.5\n\
UDP message sent (10 bytes):\n\nINVITE sip:bob@127.0.0.1:5555 SIP/2.0\r\n\r\n\n\
----------------------------------------------- 2026-01-01 23:59:59.6\n\
UDP message received [100] bytes :\n\n{reply}\n\
----------------------------------------------- 2026-01-02 00:00:01.5\n\
UDP message received [100] bytes :\n\n{reply}\n"
    );
    let got = received_messages(&trace);
    assert_eq!(got.len(), 1, "{got:?}");
    let at: Vec<i64> = got[0]
        .at
        .iter()
        .map(|t| (t * 10.0).round() as i64)
        .collect();
    assert_eq!(at, vec![1, 20], "times since the INVITE, across midnight");
    let mut run = Run::new("t", std::env::temp_dir(), 5555);
    run.name_port(4444, "CALLER");
    run.record(ClientRun {
        name: "caller".into(),
        exit: Some(0),
        received: got,
        elapsed: Duration::ZERO,
        stderr: String::new(),
    });
    run.record_log(
        "noise\n 2(777) NOTICE: {2 1 INVITE 1-4242@127.0.0.1} acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=1796531737;method=INVITE;from_tag=4242SIPpTag001;to_tag=xyz;call_id=1-4242@127.0.0.1;code=200\n",
    );
    let p = "caller <- SIP/2.0 200 OK [1 INVITE]";
    let o = run.observation();
    assert_eq!(
        o.lines(),
        vec![
            "caller: exit 0".to_string(),
            p.to_string(),
            format!("{p} | Via: SIP/2.0/UDP 127.0.0.1:PROXY;branch=z9hG4bK*"),
            format!(
                "{p} | Via: SIP/2.0/UDP 127.0.0.1:CALLER;received=127.0.0.1;branch=z9hG4bK*;rport=CALLER"
            ),
            format!("{p} | Record-Route: <sip:127.0.0.1:PROXY;lr>"),
            format!("{p} | To: <sip:bob@127.0.0.1:PROXY>;tag=*"),
            format!("{p} | Call-ID: 1-*@127.0.0.1"),
            format!("{p} | CSeq: 1 INVITE"),
            format!("{p} | Server: *"),
            format!("{p} | X-Other: y"),
            format!("{p} | Content-Type: application/sdp"),
            format!("{p} | Content-Length: 17"),
            format!("{p} | body: v=0"),
            format!("{p} | body: m=audio MEDIA RTP/AVP 0"),
            format!("{p} | copies: 2"),
            "acc: NOTICE: {2 1 INVITE 1-*@127.0.0.1} acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=*;method=INVITE;from_tag=*;to_tag=*;call_id=1-*@127.0.0.1;code=200".to_string(),
        ]
    );
    // Timer-driven replies: an early one, a late one, a missing one fail;
    // within 10 % passes; immediate answers are not timed.
    let at = |first: f64| {
        let mut o = o.clone();
        o.clients[0].received[0].at[0] = first;
        o
    };
    assert!(timing_mismatches(&at(30.0), &at(31.5)).is_empty());
    assert!(timing_mismatches(&at(0.1), &at(0.3)).is_empty());
    assert_eq!(timing_mismatches(&at(30.0), &at(0.2)).len(), 1);
    assert_eq!(timing_mismatches(&at(30.0), &at(33.5)).len(), 1);
    assert_eq!(timing_mismatches(&at(0.2), &at(30.0)).len(), 1);
    let mut none = o.clone();
    none.clients[0].received.clear();
    assert_eq!(timing_mismatches(&at(30.0), &none).len(), 1);
    assert_eq!(timing_mismatches(&none, &at(30.0)).len(), 1);
}

#[test]
fn diff_and_allowances() {
    let a: Vec<String> = [
        "x: exit 0",
        "x <- A [1 INVITE]",
        "x <- A [1 INVITE] | Via: v",
    ]
    .map(String::from)
    .to_vec();
    let mut b = a.clone();
    b[2] = "x <- A [1 INVITE] | Via: w".into();
    b.push("x <- B [2 BYE]".into());
    let d = diff(&a, &b);
    assert_eq!(
        d,
        vec![
            Diff::OnlyKamailio("x <- A [1 INVITE] | Via: v".into()),
            Diff::OnlyOurs("x <- A [1 INVITE] | Via: w".into()),
            Diff::OnlyOurs("x <- B [2 BYE]".into()),
        ]
    );
    assert!(diff(&a, &a).is_empty());
    let allowed = Differences::parse(
        "[[difference]]\nscenario = \"s\"\nkamailio = \"x <- A [1 INVITE] | Via: v\"\nours = \"x <- A [1 INVITE] | Via: w\"\nwhy = \"test\"\n",
    )
    .expect("parses");
    let (left, used) = allowed.unexplained("s", &d);
    assert_eq!(left, vec![Diff::OnlyOurs("x <- B [2 BYE]".into())]);
    assert_eq!(used, vec![0, 0]);
    // Entries are per scenario.
    let (left, _) = allowed.unexplained("other", &d);
    assert_eq!(left.len(), 3);
}

//! The cfgutils module end to end, the first module added by the module
//! recipe (ARCHITECTURE.md): the same cfg (`tests/cfgutils/kamailio.cfg`)
//! run by `kamailio -f`, by cfgc's compiled proxy and by the interpreter,
//! the same requests to each, the replies compared. Global flags, the
//! probability, script locks, `core_hash` (Kamailio's exact hash, C `char`
//! signedness included) and `$RANDOM` answer in the reply's reason.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cfgutils/kamailio.cfg")
}

fn build_proxy() -> PathBuf {
    tests::build_proxy(&cfg(), &[], "cfgutils-proxy")
}

/// The status line of the reply to an OPTIONS for `user` (or "timeout").
fn ask(port: u16, user: &str) -> String {
    tests::options_status(
        port,
        user,
        "tester",
        &format!("cfgutils-{user}-7f3a9c@test"),
    )
}

const USERS: &[&str] = &[
    "gflag", "prob", "hash", "lock", "event", "random", "zero", "other",
];

fn answers(port: u16) -> Vec<String> {
    USERS
        .iter()
        .map(|u| format!("{u}: {}", ask(port, u)))
        .collect()
}

fn ours(bin: &Path, interpreted: bool) -> (GroupGuard, u16) {
    let cfg = cfg();
    tests::start_ours(
        bin,
        interpreted.then_some(cfg.as_path()),
        &[],
        Duration::from_secs(10),
    )
}

#[test]
fn cfgutils_answers_like_kamailio_compiled_and_interpreted() {
    let kport = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-cfgutils-{kport}"));
    let mut kam = Kamailio::new(cfg(), format!("udp:127.0.0.1:{kport}"), rundir)
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    let theirs = answers(kport);
    kam.stop().expect("kamailio stopped");
    // What Kamailio answers is what the cfg says it should: the test is
    // about the cfg, not only about agreeing.
    for (line, want) in theirs.iter().zip([
        "gflag: SIP/2.0 200 gflags ok",
        "prob: SIP/2.0 200 prob 15 40 15",
        "hash: SIP/2.0 200 hash ",
        "lock: SIP/2.0 200 locks ok",
        "event: SIP/2.0 200 events ok",
        "random: SIP/2.0 200 random ok",
        "zero: timeout",
        "other: SIP/2.0 404 Not here",
    ]) {
        assert!(line.starts_with(want), "kamailio: {line} (expected {want})");
    }

    let (compiled, port) = ours(&build_proxy(), false);
    let got = answers(port);
    compiled.stop().expect("proxy stopped");
    assert_eq!(got, theirs, "the compiled proxy answers differently");

    let (interp, port) = ours(Path::new(env!("CARGO_BIN_EXE_interp-proxy")), true);
    let got = answers(port);
    interp.stop().expect("interpreter stopped");
    assert_eq!(got, theirs, "the interpreted proxy answers differently");
}

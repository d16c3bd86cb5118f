//! dispatcher, differential: the requests of `tests/dispatcher/kamailio.cfg`
//! (each runs what its R-URI user names and answers the results in the
//! reply's reason; the sets come from `tests/dispatcher/dispatcher.list`)
//! to `kamailio -f`, to the compiled proxy and to the interpreter: each
//! algorithm's choice over a range of Call-IDs, From, To and R-URIs, the
//! failover list through `ds_next_dst`/`ds_next_domain`, the states
//! `ds_mark_dst` sets, `ds_is_from_list` and `ds_list_exists`; then the
//! operator's `kamcmd dispatcher.*` commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dispatcher")
}

fn cfg() -> PathBuf {
    dir().join("kamailio.cfg")
}

fn dslist() -> String {
    format!("\"{}\"", dir().join("dispatcher.list").display())
}

/// The status line of the reply to an OPTIONS (or "timeout").
fn ask(port: u16, ruri: &str, from: &str, to: &str, callid: &str) -> String {
    let answer = udp_exchange(port, |local| {
        format!(
            "OPTIONS {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-ds-{callid}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <{from}>;tag=t1\r\n\
To: <{to}>\r\n\
Call-ID: {callid}\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        )
    });
    answer.map_or_else(
        || "timeout".into(),
        |a| a.lines().next().unwrap_or("").to_string(),
    )
}

fn simple(port: u16, user: &str) -> String {
    ask(
        port,
        &format!("sip:{user}@127.0.0.1"),
        "sip:tester@127.0.0.1",
        &format!("sip:{user}@127.0.0.1"),
        &format!("ds-{user}-7f3a9c@test"),
    )
}

/// The operator's commands after the requests.
const RPC: &[&str] = &[
    "dispatcher.list",
    "dispatcher.set_state ip 2 sip:127.0.0.2:5090",
    "dispatcher.set_state dx 1 sip:127.0.0.1:5081",
    "dispatcher.set_state i 7 sip:127.0.0.1:5081",
    "dispatcher.set_state a 3 all",
    "dispatcher.list",
    "dispatcher.reload",
    "dispatcher.reload",
    "dispatcher.list",
];

fn session(port: u16, rundir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..12 {
        let cid = format!("{i:x}{}-call@host{i}", i * 7919);
        lines.push(format!(
            "h0 {cid}: {}",
            ask(port, "sip:h0@127.0.0.1", "sip:a@b", "sip:c@d", &cid)
        ));
    }
    let uris = [
        "sip:alice@example.com",
        "sip:bob@example.com:5060",
        "sip:bob@example.com:5070",
        "sip:example.com",
        "sips:carol@example.org:5061",
        "sip:dave@10.1.2.3;transport=tcp",
        "sip:%41lice@example.com",
        "sip:erin@[2001:db8::1]:5080",
        "sip:frank:secret@example.net",
        "sip:1234567890@voip.example.com",
    ];
    for u in uris {
        lines.push(format!(
            "h1 {u}: {}",
            ask(port, "sip:h1@127.0.0.1", u, "sip:x@y", "ds-h1@test")
        ));
        lines.push(format!(
            "h2 {u}: {}",
            ask(port, "sip:h2@127.0.0.1", "sip:x@y", u, "ds-h2@test")
        ));
    }
    for h in [
        "example.com",
        "example.com:5060",
        "example.com:5099",
        "10.0.0.7",
        "gw1.example.org",
        "gw2.example.org;user=phone",
    ] {
        lines.push(format!(
            "h3 {h}: {}",
            ask(
                port,
                &format!("sip:h3@{h}"),
                "sip:x@y",
                "sip:z@w",
                "ds-h3@test"
            )
        ));
        lines.push(format!(
            "d3 {h}: {}",
            ask(
                port,
                &format!("sip:d3@{h}"),
                "sip:x@y",
                "sip:z@w",
                "ds-d3@test"
            )
        ));
    }
    for u in [
        "rr", "rr", "first", "w9", "w9", "w11", "lat", "fo", "limit", "mark", "none", "unmark",
        "from", "exists", "bad",
    ] {
        lines.push(format!("{u}: {}", simple(port, u)));
    }
    for cmd in RPC {
        lines.push(format!("> {cmd}"));
        lines.extend(tests::kamcmd(rundir, cmd).lines().map(str::to_string));
    }
    lines
}

fn rundir(tag: &str, port: u16) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfgc-dispatcher-{tag}-{port}"));
    std::fs::create_dir_all(&d).expect("rundir");
    d
}

#[test]
fn dispatcher_selects_and_fails_over_like_kamailio_compiled_and_interpreted() {
    let kport = free_port();
    let krun = rundir("kamailio", kport);
    let mut kam = Kamailio::new(cfg(), format!("udp:127.0.0.1:{kport}"), krun.clone())
        .module_dir(Some(module_dir()))
        .define(format!("DSLIST={}", dslist()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    let theirs = session(kport, &krun);
    kam.stop().expect("kamailio stopped");
    // Sanity: Kamailio answered every request.
    assert!(
        theirs.iter().all(|l| !l.ends_with("timeout")),
        "kamailio did not answer:\n{}",
        theirs.join("\n")
    );
    // `ds_mark_dst` ran `event_route[dispatcher:dst-down]` (and `dst-up`
    // when a destination came back) on the script's message.
    // `ds_is_active`: set 1 has 5081 back in use only (URIs compared as
    // written), set 3 its second destination, set 9 does not exist.
    assert!(
        theirs
            .iter()
            .any(|l| l.starts_with("exists: ") && l.ends_with(" active 1 -1 1 -1 -1 -1 1")),
        "kamailio's ds_is_active:\n{}",
        theirs.join("\n")
    );
    for (case, event) in [("mark: ", " down:sip:"), ("mark: ", " up:sip:")] {
        assert!(
            theirs
                .iter()
                .any(|l| l.starts_with(case) && l.contains(event)),
            "kamailio ran no `{event}` event:\n{}",
            theirs.join("\n")
        );
    }

    let list = dslist();
    let bin = tests::build_proxy(&cfg(), &[("DSLIST", list.as_str())], "dispatcher-proxy");
    for who in ["compiled", "interpreted"] {
        let port = free_port();
        let run = rundir(who, port);
        let extra = ["-Y".as_ref(), run.as_os_str()];
        let (g, port): (GroupGuard, u16) = if who == "compiled" {
            tests::start_ours(&bin, None, &extra, Duration::from_secs(20))
        } else {
            let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
            c.arg("-A").arg(format!("DSLIST={list}"));
            c.arg(cfg()).arg("--");
            tests::start_command(c, &extra, Duration::from_secs(20))
        };
        let got = session(port, &run);
        g.stop().expect("proxy stopped");
        tests::assert_same_lines(who, &theirs, &got);
    }
    eprintln!("{}", theirs.join("\n"));
}

/// A list file with a set id and no URI: Kamailio refuses to start, and so
/// do ours; a missing file too.
#[test]
fn a_bad_or_missing_list_file_refuses_to_start_like_kamailio() {
    let tmp = std::env::temp_dir().join(format!("cfgc-dispatcher-bad-{}", free_port()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let bad = tmp.join("bad.list");
    std::fs::write(&bad, "1 sip:127.0.0.1:5081\n2\n").expect("write");
    for (tag, file) in [("bad", bad.clone()), ("missing", tmp.join("nope.list"))] {
        let list = format!("\"{}\"", file.display());
        let port = free_port();
        let listen = format!("udp:127.0.0.1:{port}");
        let k = Kamailio::new(cfg(), listen.clone(), tmp.join(format!("run-{tag}")))
            .module_dir(Some(module_dir()))
            .define(format!("DSLIST={list}"));
        std::fs::create_dir_all(tmp.join(format!("run-{tag}"))).expect("rundir");
        let (refused, log) = tests::refuses(k.command(), &tmp.join(format!("kamailio-{tag}.log")));
        assert!(refused, "kamailio starts with the {tag} list:\n{log}");
        let bin = tests::build_proxy(
            &cfg(),
            &[("DSLIST", list.as_str())],
            &format!("dispatcher-{tag}"),
        );
        let mut compiled = Command::new(bin);
        compiled.args(["-l", &listen, "-n", "1", "-E"]);
        let mut interp = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
        interp.arg("-A").arg(format!("DSLIST={list}"));
        interp
            .arg(cfg())
            .args(["--", "-l", &listen, "-n", "1", "-E"]);
        for (who, c) in [("compiled", compiled), ("interpreted", interp)] {
            let (refused, log) = tests::refuses(c, &tmp.join(format!("{who}-{tag}.log")));
            assert!(
                refused && log.contains("dispatcher"),
                "{who} starts with the {tag} list:\n{log}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

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

// ---- probing -------------------------------------------------------------------

/// The destinations `tests/dispatcher/probing.cfg` probes: UDP UAS threads
/// on ports picked at run time. A answers 200, B nothing until released
/// (then 200), C 404 (accepted by `ds_ping_reply_codes`), D 500.
struct Uas {
    ports: [u16; 4],
    /// Every request received: when, by which (0..4), its text.
    log: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, usize, String)>>>,
    b_silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

const NAMES: [&str; 4] = ["A", "B", "C", "D"];

impl Uas {
    fn start() -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let log = Arc::new(Mutex::new(Vec::new()));
        let b_silent = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let mut ports = [0; 4];
        let mut threads = Vec::new();
        for (i, port) in ports.iter_mut().enumerate() {
            let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("uas socket");
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("timeout");
            *port = sock.local_addr().expect("addr").port();
            let (log, b_silent, stop) = (log.clone(), b_silent.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = sock.recv_from(&mut buf) else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    log.lock()
                        .expect("log")
                        .push((std::time::Instant::now(), i, text.clone()));
                    let code = match i {
                        0 => "200 OK",
                        1 if b_silent.load(Ordering::Relaxed) => continue,
                        1 => "200 OK",
                        2 => "404 Not Here",
                        _ => "500 Broken",
                    };
                    let mut reply = format!("SIP/2.0 {code}\r\n");
                    for l in text.split("\r\n") {
                        let name = l.split(':').next().unwrap_or("");
                        if ["Via", "From", "To", "Call-ID", "CSeq"].contains(&name) {
                            reply.push_str(l);
                            if name == "To" {
                                reply.push_str(";tag=uas");
                            }
                            reply.push_str("\r\n");
                        }
                    }
                    reply.push_str("Content-Length: 0\r\n\r\n");
                    let _ = sock.send_to(reply.as_bytes(), from);
                }
            }));
        }
        Self {
            ports,
            log,
            b_silent,
            stop,
            threads,
        }
    }

    fn reset(&self) {
        self.log.lock().expect("log").clear();
        self.b_silent
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn uri(&self, i: usize) -> String {
        format!("sip:127.0.0.1:{}", self.ports[i])
    }

    /// `text` with the destinations' ports as their names.
    fn names(&self, text: &str) -> String {
        let mut t = text.to_string();
        for (i, p) in self.ports.iter().enumerate() {
            t = t.replace(&format!(":{p}"), &format!(":<{}>", NAMES[i]));
        }
        t
    }

    fn list_file(&self, dir: &Path) -> PathBuf {
        let f = dir.join("probing.list");
        std::fs::write(
            &f,
            format!(
                "1 {}\n1 {}\n2 {}\n2 {}\n",
                self.uri(0),
                self.uri(1),
                self.uri(2),
                self.uri(3)
            ),
        )
        .expect("list file");
        f
    }
}

impl Drop for Uas {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// What one proxy did with the probes: lines compared exactly, and the
/// timings compared within a tolerance.
#[derive(Debug)]
struct Probing {
    lines: Vec<String>,
    /// A's mean interval between probes (s).
    period_a: f64,
    /// From the start (listening) to the first probe of A (s).
    first_a: f64,
    /// From B's first probe to its `dst-down` event (s).
    down_b: f64,
    /// The retransmissions of B's first probe, from its first sending (s).
    retr_b: Vec<f64>,
}

fn ev_status(port: u16, n: &mut u32) -> String {
    *n += 1;
    tests::options_status(port, "ev", "t", &format!("ev-{n}@test"))
}

/// The OPTIONS text with its varying parts (branch, tags, Call-ID, the
/// proxy's port) as names.
fn normalise(text: &str, proxy_port: u16) -> String {
    text.split("\r\n")
        .map(|l| {
            let l = l.replace(&format!(":{proxy_port}"), ":<proxy>");
            let cut = |l: &str, key: &str| match l.find(key) {
                Some(p) => format!("{}{key}<x>", &l[..p]),
                None => l.to_string(),
            };
            let l = cut(&l, ";branch=");
            let l = cut(&l, ";tag=");
            if l.starts_with("Call-ID: ") {
                "Call-ID: <x>".to_string()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn probing_session(port: u16, rundir: &Path, uas: &Uas) -> Probing {
    let t0 = std::time::Instant::now();
    let mut n = 0;
    let b = uas.uri(1);
    let wait_for = |what: &str, n: &mut u32, limit: Duration| -> std::time::Instant {
        let start = std::time::Instant::now();
        loop {
            let s = ev_status(port, n);
            if s.contains(what) {
                return std::time::Instant::now();
            }
            assert!(
                start.elapsed() < limit,
                "no `{what}` within {limit:?}: {}",
                uas.names(&s)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let down_seen = wait_for(&format!(" down:{b}:"), &mut n, Duration::from_secs(12));
    let list_down = tests::kamcmd(rundir, "dispatcher.list");
    uas.b_silent
        .store(false, std::sync::atomic::Ordering::Relaxed);
    wait_for(&format!(" up:{b}:"), &mut n, Duration::from_secs(8));
    let list_up = tests::kamcmd(rundir, "dispatcher.list");
    // A few more rounds for A's rate.
    while t0.elapsed() < Duration::from_secs(8) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let events = ev_status(port, &mut n);
    // Probing off: no round in the next 2 s (every destination answers
    // at once now, so nothing is retransmitted either).
    let mut rpc = Vec::new();
    for cmd in ["dispatcher.ping_active", "dispatcher.ping_active 0"] {
        rpc.push(format!("> {cmd}"));
        rpc.push(tests::kamcmd(rundir, cmd));
    }
    let off = std::time::Instant::now() + Duration::from_millis(300);
    std::thread::sleep(Duration::from_millis(2300));
    let while_off = uas
        .log
        .lock()
        .expect("log")
        .iter()
        .filter(|(t, _, _)| *t > off)
        .count();
    rpc.push(format!("probes while off: {while_off}"));
    for cmd in ["dispatcher.ping_active 1", "dispatcher.ping_active"] {
        rpc.push(format!("> {cmd}"));
        rpc.push(tests::kamcmd(rundir, cmd));
    }
    let log: Vec<_> = uas
        .log
        .lock()
        .expect("log")
        .iter()
        .filter(|(t, _, _)| *t < off)
        .cloned()
        .collect();
    let of = |i: usize| log.iter().filter(move |(_, w, _)| *w == i);
    let a: Vec<std::time::Instant> = of(0).map(|(t, _, _)| *t).collect();
    assert!(a.len() >= 5, "A got {} probes", a.len());
    let period_a =
        (a[a.len() - 1] - a[0]).as_secs_f64() / f64::from(u32::try_from(a.len() - 1).unwrap());
    let first_text = &of(0).next().expect("a probe of A").2;
    let (tb0, _, b_text) = of(1).next().expect("a probe of B");
    let call_id = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Call-ID:"))
            .unwrap_or("")
            .to_string()
    };
    let b_cid = call_id(b_text);
    let retr_b: Vec<f64> = of(1)
        .filter(|(_, _, t)| call_id(t) == b_cid)
        .map(|(t, _, _)| (*t - *tb0).as_secs_f64())
        .collect();
    let mut lines = vec![format!(
        "probe of A:\n{}",
        uas.names(&normalise(first_text, port))
    )];
    lines.push(format!(
        "probe of B:\n{}",
        uas.names(&normalise(b_text, port))
    ));
    // The order of the first round: the counter part of the Call-IDs
    // (the arrival order between the UAS threads is not the sending one).
    let mut firsts: Vec<(u64, &str)> = (0..4)
        .filter_map(|i| {
            let (_, _, t) = of(i).next()?;
            let c = call_id(t);
            let hex = c.trim_start_matches("Call-ID: ").get(..16)?;
            Some((u64::from_str_radix(hex, 16).ok()?, NAMES[i]))
        })
        .collect();
    firsts.sort_unstable();
    let order: Vec<&str> = firsts.iter().map(|(_, n)| *n).collect();
    lines.push(format!("first round: {}", order.join(" ")));
    lines.push(format!("events: {}", uas.names(&events)));
    lines.push(format!(
        "> dispatcher.list (B down)\n{}",
        uas.names(&list_down)
    ));
    lines.push(format!("> dispatcher.list (B up)\n{}", uas.names(&list_up)));
    lines.extend(rpc);
    let lines = lines
        .iter()
        .flat_map(|l| l.lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    Probing {
        lines,
        period_a,
        first_a: (a[0] - t0).as_secs_f64(),
        down_b: (down_seen - *tb0).as_secs_f64(),
        retr_b,
    }
}

/// `ds_ping_interval` 1, `ds_probing_mode` 1: every destination is sent
/// OPTIONS each second; B never answers until it went down (then it
/// answers and comes back up), D answers 500, C 404 (a reply code the cfg
/// accepts). Kamailio's probes, states, events and timings against the
/// compiled proxy's and the interpreter's; then `dispatcher.ping_active`
/// stops the rounds.
#[test]
fn dispatcher_probes_destinations_like_kamailio() {
    let uas = Uas::start();
    let tmp = std::env::temp_dir().join(format!("cfgc-dispatcher-probing-{}", free_port()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let list = format!("\"{}\"", uas.list_file(&tmp).display());
    let pcfg = dir().join("probing.cfg");

    let kport = free_port();
    let krun = rundir("probing-kamailio", kport);
    let mut kam = Kamailio::new(pcfg.clone(), format!("udp:127.0.0.1:{kport}"), krun.clone())
        .module_dir(Some(module_dir()))
        .define(format!("DSLIST={list}"))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    let theirs = probing_session(kport, &krun, &uas);
    kam.stop().expect("kamailio stopped");
    eprintln!("kamailio: {theirs:#?}");

    let bin = tests::build_proxy(&pcfg, &[("DSLIST", list.as_str())], "dispatcher-probing");
    for who in ["compiled", "interpreted"] {
        uas.reset();
        let port = free_port();
        let run = rundir(&format!("probing-{who}"), port);
        let extra = ["-Y".as_ref(), run.as_os_str()];
        let (g, port): (GroupGuard, u16) = if who == "compiled" {
            tests::start_ours(&bin, None, &extra, Duration::from_secs(20))
        } else {
            let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
            c.arg("-A").arg(format!("DSLIST={list}"));
            c.arg(&pcfg).arg("--");
            tests::start_command(c, &extra, Duration::from_secs(20))
        };
        let ours = probing_session(port, &run, &uas);
        g.stop().expect("proxy stopped");
        eprintln!("{who}: {ours:#?}");
        tests::assert_same_lines(who, &theirs.lines, &ours.lines);
        let near = |what: &str, k: f64, o: f64, tol: f64| {
            assert!(
                (k - o).abs() <= tol,
                "{who}: {what}: kamailio {k:.3} s, ours {o:.3} s (tolerance {tol:.3})"
            );
        };
        near(
            "A's probe period",
            theirs.period_a,
            ours.period_a,
            theirs.period_a * 0.1,
        );
        near("first probe of A", theirs.first_a, ours.first_a, 0.3);
        near(
            "B down after its first probe",
            theirs.down_b,
            ours.down_b,
            0.25,
        );
        assert_eq!(
            theirs.retr_b.len(),
            ours.retr_b.len(),
            "{who}: retransmissions of B's first probe: kamailio {:?}, ours {:?}",
            theirs.retr_b,
            ours.retr_b
        );
        // tm's timer ticks every 50 ms here: each retransmission may come
        // one tick late (the next is still timed from when it was due, so
        // the lateness does not add up); 0.1 s leaves room for a loaded
        // machine.
        for (k, o) in theirs.retr_b.iter().zip(&ours.retr_b) {
            near("a retransmission of B's first probe", *k, *o, 0.1);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `ds_load_mode`: a list line whose URI does not parse is skipped with 0
/// (the start goes on, without it) and refuses the start with 1, in
/// `kamailio -f` and the interpreter (a cfg written by the test).
#[test]
fn ds_load_mode_decides_whether_a_bad_uri_refuses_the_start_like_kamailio() {
    let tmp = std::env::temp_dir().join(format!("cfgc-dispatcher-mode-{}", free_port()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let list = tmp.join("bad-uri.list");
    std::fs::write(
        &list,
        "1 sip:127.0.0.1:5081\n1 sip:\n2 sip:127.0.0.1:5082\n",
    )
    .expect("write");
    for mode in [0, 1] {
        let cfg = tmp.join(format!("mode{mode}.cfg"));
        std::fs::write(
            &cfg,
            format!(
                "#!KAMAILIO\ndebug=2\nlog_stderror=yes\nloadmodule \"sl.so\"\n\
                 loadmodule \"dispatcher.so\"\n\
                 modparam(\"dispatcher\", \"list_file\", \"{}\")\n\
                 modparam(\"dispatcher\", \"ds_load_mode\", {mode})\n\
                 request_route {{\n\tif (ds_list_exists(\"2\")) {{ sl_send_reply(\"200\", \"ok\"); }}\n\
                 \tsl_send_reply(\"500\", \"no set\");\n}}\n",
                list.display()
            ),
        )
        .expect("cfg");
        let port = free_port();
        let listen = format!("udp:127.0.0.1:{port}");
        let run = tmp.join(format!("run-{mode}"));
        std::fs::create_dir_all(&run).expect("rundir");
        let k = Kamailio::new(&cfg, listen.clone(), run).module_dir(Some(module_dir()));
        let (refused, log) = tests::refuses(k.command(), &tmp.join(format!("kamailio-{mode}.log")));
        let mut interp = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
        interp
            .arg(&cfg)
            .args(["--", "-l", &listen, "-n", "1", "-E"]);
        let (ours, our_log) = tests::refuses(interp, &tmp.join(format!("interpreted-{mode}.log")));
        assert_eq!(
            (refused, ours),
            (mode == 1, mode == 1),
            "ds_load_mode {mode}:\nkamailio:\n{log}\ninterpreted:\n{our_log}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

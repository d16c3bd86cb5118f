//! The example stateless proxy, compiled by cfgc into a binary, on the wire
//! (127.0.0.1 only): OPTIONS answered by `sl_send_reply`, Max-Forwards and
//! `$rU` conditions routed as written, malformed datagrams survived, and a
//! whole SIPp call (INVITE…BYE) relayed by `forward()` to a SIPp UAS. The
//! same requests sent to `kamailio -f` with the same config get the same
//! status codes (a first differential test). The same program interpreted
//! (`interp`, same runtime, in-process) must pass the same checks.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cfgc_test_support::{Kamailio, free_port, module_dir, udp_exchange};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example_cfg() -> PathBuf {
    workspace().join("examples/stateless-proxy/kamailio.cfg")
}

/// Kills a child process when dropped (tests must not leak servers).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn build_proxy(next_port: u16) -> PathBuf {
    tests::build_proxy(
        &example_cfg(),
        &[("NEXT_PORT", &next_port.to_string())],
        &format!("stateless-proxy-{next_port}"),
    )
}

/// One request, one reply: the status line of the reply (or "timeout").
fn transact(port: u16, request: &str) -> String {
    // UDP: retransmitted (the server may still be starting).
    udp_exchange(port, |local| {
        request
            .replace("LOCAL", &local.to_string())
            .replace("PORT", &port.to_string())
    })
    .map_or_else(
        || "timeout".into(),
        |a| a.lines().next().unwrap_or("").to_string(),
    )
}

fn request(method: &str, user: &str, max_forwards: u32) -> String {
    format!(
        "{method} sip:{user}@127.0.0.1:PORT SIP/2.0\r\n\
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-{method}-{user}-{max_forwards};rport\r\n\
Max-Forwards: {max_forwards}\r\n\
From: <sip:tester@127.0.0.1>;tag=t1\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: {method}-{user}-{max_forwards}@test\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    )
}

/// The status lines a server gives to the scripted requests.
fn probe(port: u16) -> Vec<String> {
    vec![
        transact(port, &request("OPTIONS", "ping", 70)),
        transact(port, &request("MESSAGE", "alice", 0)),
        transact(port, &request("MESSAGE", "blocked", 70)),
    ]
}

/// Runs a SIPp UAC call through `proxy_port` to a SIPp UAS; true if the
/// call completed (INVITE, 200, ACK, BYE, 200).
fn sipp_call(proxy_port: u16, uas_port: u16) -> bool {
    let uas = Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            &uas_port.to_string(),
            "-m",
            "1",
            "-nostdin",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)");
    let _uas = Guard(uas);
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("timeout")
        .args([
            "30",
            "sipp",
            "-sn",
            "uac",
            &format!("127.0.0.1:{proxy_port}"),
        ])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &free_port().to_string(),
            "-m",
            "1",
            "-nostdin",
        ])
        .args(["-timeout", "20s", "-timeout_error", "-recv_timeout", "5000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("sipp runs");
    status.success()
}

/// The example interpreted (`interp`) on the same runtime, in-process.
struct Interpreted {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Interpreted {
    fn start(uas_port: u16, port: u16) -> Self {
        let mut config = cfgc::Config::new();
        config.define_value("NEXT_PORT", uas_port.to_string());
        let generated = config.generate_file(example_cfg()).expect("readable");
        let program = generated.program.expect("lowered");
        let script = interp::Interp::load(&program).expect("loads");
        let settings = program.settings.clone();
        let args = runtime::proxy::parse_args([
            "-l".to_string(),
            format!("udp:127.0.0.1:{port}"),
            "-n".to_string(),
            "2".to_string(),
        ])
        .expect("flags")
        .expect("not --help");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let stop = Box::pin(async move {
                let _ = rx.await;
            });
            runtime::proxy::run_until(script, &settings, &args, Some(stop))
        });
        // Bound before the first request: UDP requests are retransmitted
        // by `transact` anyway.
        std::thread::sleep(Duration::from_millis(200));
        Self {
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops the proxy and asserts it ran without error.
    fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let r = t.join().expect("interpreted proxy thread");
            r.expect("interpreted proxy ran");
        }
    }
}

impl Drop for Interpreted {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn wait_listening(child: &mut Child) {
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("listening on") => break,
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    // Keep draining stderr so the proxy never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
}

#[test]
fn stateless_proxy_on_the_wire_and_like_kamailio() {
    let uas_port = free_port();
    let bin = build_proxy(uas_port);

    // --- ours ---------------------------------------------------------------
    let port = free_port();
    let mut child = Command::new(&bin)
        .args(["-l", &format!("udp:127.0.0.1:{port}"), "-n", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("proxy starts");
    wait_listening(&mut child);
    let mut proxy = Guard(child);
    let ours = probe(port);
    assert_eq!(
        ours[0], "SIP/2.0 200 Keepalive",
        "OPTIONS answered by sl_send_reply"
    );
    assert_eq!(
        ours[1], "SIP/2.0 483 Too Many Hops",
        "Max-Forwards 0 routed as written"
    );
    assert_eq!(
        ours[2], "SIP/2.0 403 Forbidden",
        "$rU condition routed as written"
    );
    // Malformed datagrams must not crash the proxy.
    let junk = UdpSocket::bind("127.0.0.1:0").expect("socket");
    for d in [
        &b"\x00\x01garbage"[..],
        b"INVITE\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n",
        &[0xffu8; 2000][..],
    ] {
        junk.send_to(d, ("127.0.0.1", port)).expect("send");
    }
    assert_eq!(
        transact(port, &request("OPTIONS", "ping2", 70)),
        "SIP/2.0 200 Keepalive"
    );
    assert!(
        proxy.0.try_wait().expect("status").is_none(),
        "proxy still running"
    );
    assert!(
        sipp_call(port, uas_port),
        "SIPp call through the compiled proxy failed"
    );
    drop(proxy);

    // --- the same program interpreted, same runtime ------------------------
    let iport = free_port();
    let interpreted = Interpreted::start(uas_port, iport);
    assert_eq!(
        probe(iport),
        ours,
        "the interpreter answers differently from compiled code"
    );
    assert!(
        sipp_call(iport, uas_port),
        "SIPp call through the interpreted proxy failed"
    );
    interpreted.stop();

    // --- kamailio, same config, same requests ------------------------------
    let kport = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-kam-{kport}"));
    let kam = Kamailio::new(example_cfg(), format!("udp:127.0.0.1:{kport}"), rundir)
        .module_dir(Some(module_dir()))
        .define(format!("NEXT_PORT={uas_port}"))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    let theirs = probe(kport);
    assert_eq!(ours, theirs, "status codes differ from kamailio's");
    assert!(
        sipp_call(kport, uas_port),
        "SIPp call through kamailio failed"
    );
    // No kamailio process of this test may survive it.
    kam.stop().expect("kamailio stopped, workers included");
}

//! A real NAT (issue 13): network namespaces the test makes itself,
//! joined by veth pairs — `home` (alice, 10.77.1.2) behind `router`, which
//! masquerades (nftables) onto `public` (198.51.100.0/24), where the proxy
//! (the stock `/etc/kamailio/kamailio.cfg` with `WITH_NAT WITH_RTPENGINE`,
//! on 198.51.100.2:5060), a real rtpengine (198.51.100.2, ng on
//! 127.0.0.1:2223 as the stock config says) and bob (198.51.100.2:5080)
//! run. Nothing leaves the namespaces.
//!
//! Two real baresip clients (audio from `ausine`, 20 ms PCMU frames)
//! register; bob calls alice, whom the proxy reaches only through her
//! NAT's mapping (the received address it stored), and the call carries
//! media through rtpengine. nftables counters count the RTP packets on
//! each side: alice → relay and relay → alice at the router, bob → relay
//! and relay → bob in `public`. The same runs with `kamailio -f`, cfgc's
//! compiled proxy and the interpreter; each must register alice with her
//! NAT's address, set up and tear down the call, and relay media both
//! ways on both sides.
//!
//! Needs root (or CAP_NET_ADMIN), `ip`, `nft`, baresip and rtpengine: a
//! machine without them fails this test, loudly.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, Kamailio, tail};

const BARESIP_MODULES: &str = "/usr/lib/baresip/modules";
const PROXY: &str = "198.51.100.2";
const NAT_PUBLIC: &str = "198.51.100.1";
const ALICE: &str = "10.77.1.2";

fn tmp() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("nat-netns");
    std::fs::create_dir_all(&d).expect("temporary directory");
    d
}

/// Runs `ip`/`nft`/`sysctl` (`args`), in `ns` when given; panics with
/// what it said when it fails.
fn run(ns: Option<&str>, args: &[&str]) -> String {
    let mut c = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).args(args);
            c
        }
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    };
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{args:?} cannot run ({e}): apt-get install iproute2 nftables"));
    assert!(
        out.status.success(),
        "{args:?} in {ns:?} failed ({}): {}{}\n\
         (this test makes network namespaces: it needs root or CAP_NET_ADMIN)",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The three namespaces and their links; deleted when dropped.
struct Net {
    home: String,
    router: String,
    public: String,
}

impl Net {
    fn new(tag: &str) -> Self {
        let id = format!("{}{tag}", std::process::id() % 100_000);
        let net = Self {
            home: format!("cfgc-home-{id}"),
            router: format!("cfgc-router-{id}"),
            public: format!("cfgc-public-{id}"),
        };
        for ns in [&net.home, &net.router, &net.public] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
            run(None, &["ip", "netns", "add", ns]);
            run(Some(ns), &["ip", "link", "set", "lo", "up"]);
        }
        // home:h0 <-> router:r0, router:r1 <-> public:p0 (veth names are
        // per namespace once moved; made with unique names first).
        let (h, r0, r1, p) = (
            format!("h{id}"),
            format!("ra{id}"),
            format!("rb{id}"),
            format!("p{id}"),
        );
        run(
            None,
            &["ip", "link", "add", &h, "type", "veth", "peer", "name", &r0],
        );
        run(
            None,
            &["ip", "link", "add", &r1, "type", "veth", "peer", "name", &p],
        );
        for (dev, ns, new) in [
            (&h, &net.home, "h0"),
            (&r0, &net.router, "r0"),
            (&r1, &net.router, "r1"),
            (&p, &net.public, "p0"),
        ] {
            run(None, &["ip", "link", "set", dev, "netns", ns]);
            run(Some(ns), &["ip", "link", "set", dev, "name", new]);
            run(Some(ns), &["ip", "link", "set", new, "up"]);
        }
        run(
            Some(&net.home),
            &["ip", "addr", "add", &format!("{ALICE}/24"), "dev", "h0"],
        );
        run(
            Some(&net.home),
            &["ip", "route", "add", "default", "via", "10.77.1.1"],
        );
        run(
            Some(&net.router),
            &["ip", "addr", "add", "10.77.1.1/24", "dev", "r0"],
        );
        run(
            Some(&net.router),
            &[
                "ip",
                "addr",
                "add",
                &format!("{NAT_PUBLIC}/24"),
                "dev",
                "r1",
            ],
        );
        run(
            Some(&net.public),
            &["ip", "addr", "add", &format!("{PROXY}/24"), "dev", "p0"],
        );
        run(
            Some(&net.router),
            &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
        );
        // The NAT, and the counters of RTP through it: to and from
        // rtpengine's media ports (30000-30099), so that media that went
        // around the relay would not count.
        let rules = "table ip nat {\n\
             chain post { type nat hook postrouting priority 100; oifname \"r1\" masquerade; }\n\
             }\n\
             table ip cnt {\n\
             chain relayed { type filter hook forward priority 0;\n\
               iifname \"r0\" udp dport 30000-30099 counter comment \"alice-to-relay\";\n\
               oifname \"r0\" udp sport 30000-30099 counter comment \"relay-to-alice\"; }\n\
             }\n";
        nft(&net.router, rules);
        // In public, bob and rtpengine talk over lo: rtpengine's media
        // ports are 30000-30099.
        let rules = "table ip cnt {\n\
             chain sent { type filter hook output priority 0;\n\
               oifname \"lo\" udp dport 30000-30099 counter comment \"bob-to-relay\";\n\
               oifname \"lo\" udp sport 30000-30099 udp dport != 2223 counter comment \"relay-to-bob\"; }\n\
             }\n";
        nft(&net.public, rules);
        net
    }

    /// The counters, by comment.
    fn counters(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for ns in [&self.router, &self.public] {
            let text = run(Some(ns), &["nft", "list", "table", "ip", "cnt"]);
            for l in text.lines() {
                let Some(c) = l
                    .split("comment \"")
                    .nth(1)
                    .and_then(|c| c.split('"').next())
                else {
                    continue;
                };
                let n = l
                    .split("packets ")
                    .nth(1)
                    .and_then(|p| p.split(' ').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                out.push((c.to_string(), n));
            }
        }
        out
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.home, &self.router, &self.public] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn nft(ns: &str, rules: &str) {
    let f = tmp().join(format!("{ns}.nft"));
    std::fs::write(&f, rules).expect("nft rules");
    run(Some(ns), &["nft", "-f", &f.to_string_lossy()]);
}

/// A command run in `ns` as a process group of its own.
fn in_ns(ns: &str, program: &std::ffi::OsStr, args: Vec<&std::ffi::OsStr>) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns]).arg(program).args(args);
    c.stdin(Stdio::null()).process_group(0);
    c
}

/// Waits until `what` is bound to UDP `port` in `ns`.
fn wait_udp(ns: &str, port: u16, what: &str, g: &mut GroupGuard) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        let out = run(Some(ns), &["ss", "-Huln"]);
        if out.lines().any(|l| l.contains(&format!(":{port} "))) {
            return;
        }
        if let Some(s) = g.try_wait() {
            panic!("{what} exited ({s}) before binding {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not bind {port} in {ns} within 30 s");
}

/// A baresip in `ns`, SIP on `ip:port`, one account that registers with
/// the proxy and answers by itself, `commands` run at start, quitting
/// after `secs`.
fn baresip(
    ns: &str,
    name: &str,
    ip: &str,
    port: u16,
    commands: &[String],
    secs: u32,
) -> (GroupGuard, PathBuf) {
    assert!(
        Path::new(BARESIP_MODULES).join("ausine.so").exists(),
        "{BARESIP_MODULES}/ausine.so is missing: apt-get install baresip"
    );
    let dir = tmp().join(format!("{ns}-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("baresip dir");
    let config = format!(
        "poll_method epoll\n\
         sip_listen {ip}:{port}\n\
         net_interface {ip}\n\
         dns_server 127.0.0.1:53\n\
         audio_player aubridge,nil\n\
         audio_alert aubridge,nil\n\
         audio_source ausine,440\n\
         ausrc_srate 48000\n\
         auplay_srate 48000\n\
         ausrc_channels 2\n\
         statmode_default off\n\
         module_path {BARESIP_MODULES}\n\
         module g711.so\n\
         module ausine.so\n\
         module aubridge.so\n\
         module_tmp account.so\n\
         module_app menu.so\n"
    );
    std::fs::write(dir.join("config"), config).expect("config");
    std::fs::write(
        dir.join("accounts"),
        format!(
            "<sip:{name}@{PROXY};transport=udp>;regint=600;answermode=auto;audio_codecs=PCMU\n"
        ),
    )
    .expect("accounts");
    let log = dir.join("log");
    let out = std::fs::File::create(&log).expect("log");
    let err = out.try_clone().expect("log");
    let secs = secs.to_string();
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-f".as_ref(),
        dir.as_os_str(),
        "-s".as_ref(),
        "-t".as_ref(),
        secs.as_ref(),
    ];
    for c in commands {
        args.push("-e".as_ref());
        args.push(c.as_ref());
    }
    let child = in_ns(ns, "baresip".as_ref(), args)
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run baresip ({e}): apt-get install baresip"));
    (
        GroupGuard::new(child).grace(Duration::from_millis(500)),
        log,
    )
}

/// Waits until `log` (a baresip's) holds `text`.
fn wait_log(log: &Path, text: &str, what: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if std::fs::read_to_string(log).is_ok_and(|l| l.contains(text)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: no `{text}` within 20 s:\n{}", tail(log, 40));
}

/// What one proxy did: alice's location as the operator's `ul.dump`
/// shows it, and the RTP counters.
struct Outcome {
    received: bool,
    counters: Vec<(String, u64)>,
    alice_log: String,
    bob_log: String,
}

fn scenario(who: &str, tag: &str) -> Outcome {
    let net = Net::new(tag);
    let rundir = tmp().join(format!("run-{who}"));
    let _ = std::fs::remove_dir_all(&rundir);
    std::fs::create_dir_all(&rundir).expect("rundir");
    let defines = [("WITH_NAT", "1"), ("WITH_RTPENGINE", "1")];
    // rtpengine as the stock config expects it, in public.
    let rtp = in_ns(
        &net.public,
        "/usr/bin/rtpengine".as_ref(),
        [
            "--foreground",
            "--table=-1",
            &format!("--interface={PROXY}"),
            "--listen-ng=127.0.0.1:2223",
            "--port-min=30000",
            "--port-max=30099",
            "--log-stderr",
            "--no-redis-required",
            "--delete-delay=0",
        ]
        .iter()
        .map(std::ffi::OsStr::new)
        .collect(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("rtpengine runs (apt-get install rtpengine-daemon)");
    let mut rtp = GroupGuard::new(rtp);
    wait_udp(&net.public, 2223, "rtpengine", &mut rtp);

    let listen = format!("udp:{PROXY}:5060");
    let stock = Path::new(tests::STOCK_CFG);
    let log = std::fs::File::create(rundir.join("proxy.log")).expect("log");
    let proxy_cmd = match who {
        "kamailio" => {
            let mut k = Kamailio::new(stock, listen.clone(), rundir.clone())
                .module_dir(Some(cfgc_test_support::module_dir()));
            for (n, v) in defines {
                k = k.define(format!("{n}={v}"));
            }
            let c = k.command();
            in_ns(&net.public, c.get_program(), c.get_args().collect())
        }
        "compiled" => {
            let bin = tests::build_proxy(stock, &defines, "nat-netns");
            let args: Vec<&std::ffi::OsStr> = vec![
                "-l".as_ref(),
                listen.as_ref(),
                "-n".as_ref(),
                "1".as_ref(),
                "-E".as_ref(),
                "-Y".as_ref(),
                rundir.as_os_str(),
            ];
            in_ns(&net.public, bin.as_os_str(), args)
        }
        _ => {
            let interp = PathBuf::from(env!("CARGO_BIN_EXE_interp-proxy"));
            let mut args: Vec<std::ffi::OsString> = Vec::new();
            for (n, v) in defines {
                args.push("-A".into());
                args.push(format!("{n}={v}").into());
            }
            args.push(stock.into());
            for a in ["--", "-l", &listen, "-n", "1", "-E", "-Y"] {
                args.push(a.into());
            }
            args.push(rundir.clone().into());
            in_ns(
                &net.public,
                interp.as_os_str(),
                args.iter().map(|a| a.as_os_str()).collect(),
            )
        }
    };
    let mut proxy_cmd = proxy_cmd;
    let mut proxy = GroupGuard::new(
        proxy_cmd
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("proxy starts"),
    );
    wait_udp(&net.public, 5060, who, &mut proxy);

    // alice, behind the NAT, registers and waits.
    let (mut alice, alice_log) = baresip(&net.home, "alice", ALICE, 5060, &[], 30);
    wait_log(&alice_log, "[1 binding]", "alice registers");
    // The proxy stored her NAT's address as the received one.
    let dump = tests::kamcmd(&rundir, "ul.dump");
    let received = dump.contains(&format!("sip:{NAT_PUBLIC}:5060"));
    // bob, in public, calls her; the call lasts until bob quits.
    let (mut bob, bob_log) = baresip(
        &net.public,
        "bob",
        PROXY,
        5080,
        &[format!("/dial sip:alice@{PROXY}")],
        8,
    );
    wait_log(&bob_log, "Call established", "bob's call");
    // bob quits after 8 s: his BYE ends the call at alice.
    let t0 = Instant::now();
    while bob.try_wait().is_none() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_log(&alice_log, "BYE", "alice sees the BYE");
    let counters = net.counters();
    let outcome = Outcome {
        received,
        counters,
        alice_log: std::fs::read_to_string(&alice_log).unwrap_or_default(),
        bob_log: std::fs::read_to_string(&bob_log).unwrap_or_default(),
    };
    let _ = bob.halt();
    let _ = alice.halt();
    let _ = proxy.halt();
    let _ = rtp.halt();
    eprintln!(
        "{who}: received={} counters={:?}",
        outcome.received, outcome.counters
    );
    if !outcome.received {
        eprintln!("{who}: ul.dump:\n{dump}");
    }
    outcome
}

#[test]
fn call_through_a_real_nat_with_media_both_ways() {
    for (who, tag) in [("kamailio", "k"), ("compiled", "c"), ("interpreted", "i")] {
        let o = scenario(who, tag);
        assert!(
            o.received,
            "{who}: alice's location has no received address {NAT_PUBLIC}:5060"
        );
        for dir in [
            "alice-to-relay",
            "relay-to-alice",
            "bob-to-relay",
            "relay-to-bob",
        ] {
            let n = o
                .counters
                .iter()
                .find(|(c, _)| c == dir)
                .map_or(0, |(_, n)| *n);
            // 20 ms frames for several seconds of call: hundreds.
            assert!(
                n >= 100,
                "{who}: only {n} RTP packets {dir}: {:?}\nalice:\n{}\nbob:\n{}",
                o.counters,
                o.alice_log
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .join("\n"),
                o.bob_log
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
    }
}

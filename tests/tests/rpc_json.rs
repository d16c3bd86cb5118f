//! jsonrpcs and the counters on the stock config, differential: Kamailio
//! 5.6.3 (`kamailio -f /etc/kamailio/kamailio.cfg`, unmodified, its
//! runtime dir `-Y` in a temp dir) and our compiled proxy (a temp copy of
//! the same cfg with jsonrpcs' `fifo_name`/`dgram_socket` set to absolute
//! paths in a temp dir) get the same SIP messages (a keepalive OPTIONS, a
//! REGISTER, an unknown method), then the same JSON-RPC requests over the
//! datagram socket and one over the FIFO. Replies are compared byte for
//! byte after the normalisations, and line by line with the explained
//! exceptions, of `tests/rpc-json/differences.toml`.

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, line_diff, module_dir};
use serde::Deserialize;
use tests::STOCK_CFG;

#[derive(Debug, Deserialize)]
struct Normalise {
    test: String,
    pattern: String,
    replace: String,
    #[allow(dead_code)]
    why: String,
}

#[derive(Debug, Deserialize)]
struct Difference {
    test: String,
    request: String,
    kamailio: Option<String>,
    ours: Option<String>,
    #[allow(dead_code)]
    why: String,
}

#[derive(Debug, Deserialize)]
struct Differences {
    #[serde(default)]
    normalise: Vec<Normalise>,
    #[serde(default)]
    difference: Vec<Difference>,
}

fn differences() -> Differences {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("rpc-json/differences.toml");
    let text = std::fs::read_to_string(&p).expect("differences.toml");
    let d: Differences = toml::from_str(&text).expect("differences.toml parses");
    for e in &d.difference {
        assert!(
            e.kamailio.is_some() || e.ours.is_some(),
            "difference without a side: {e:?}"
        );
    }
    d
}

/// Compares replies with the normalisations and differences of one test
/// (`test = ...` in differences.toml).
struct Checker {
    test: &'static str,
    d: Differences,
    norms: Vec<(regex::Regex, String)>,
    norm_used: Vec<bool>,
    used: Vec<bool>,
    failures: Vec<String>,
}

impl Checker {
    fn new(test: &'static str) -> Self {
        let d = differences();
        let norms: Vec<(regex::Regex, String)> = d
            .normalise
            .iter()
            .filter(|n| n.test == test)
            .map(|n| (regex::Regex::new(&n.pattern).unwrap(), n.replace.clone()))
            .collect();
        Self {
            test,
            norm_used: vec![false; norms.len()],
            used: vec![false; d.difference.len()],
            d,
            norms,
            failures: Vec::new(),
        }
    }

    fn normalise(&mut self, s: &str) -> String {
        let mut s = s.to_string();
        for (i, (re, rep)) in self.norms.iter().enumerate() {
            if re.is_match(&s) {
                self.norm_used[i] = true;
                s = re.replace_all(&s, rep.as_str()).into_owned();
            }
        }
        s
    }

    /// Kamailio's reply `k` and ours `o` (`None`: no reply) to request
    /// `name`.
    fn compare(&mut self, name: &str, k: Option<&str>, o: Option<&str>) {
        let k = k.map_or_else(|| "(no reply)".into(), |s| self.normalise(s));
        let o = o.map_or_else(|| "(no reply)".into(), |s| self.normalise(s));
        if let Ok(dump) = std::env::var("RPC_JSON_DUMP") {
            // Both sides' normalised replies, for a look.
            let f = format!("{}-{}", self.test, name.replace(' ', "_"));
            let _ = std::fs::write(Path::new(&dump).join(format!("{f}.kamailio")), &k);
            let _ = std::fs::write(Path::new(&dump).join(format!("{f}.ours")), &o);
        }
        if k == o {
            return;
        }
        for (only_kamailio, line) in line_diff(&lines(&k), &lines(&o)) {
            let hit = self.d.difference.iter().position(|e| {
                e.test == self.test
                    && e.request == name
                    && if only_kamailio {
                        e.kamailio.as_deref() == Some(line.as_str())
                    } else {
                        e.ours.as_deref() == Some(line.as_str())
                    }
            });
            match hit {
                Some(i) => self.used[i] = true,
                None => self.failures.push(format!(
                    "{name}: only {} has: {line}",
                    if only_kamailio { "Kamailio" } else { "ours" }
                )),
            }
        }
    }

    /// The failures, unused entries of this test included.
    fn finish(mut self) -> Vec<String> {
        for (i, e) in self.d.difference.iter().enumerate() {
            if e.test == self.test && !self.used[i] {
                self.failures
                    .push(format!("unused difference entry: {e:?}"));
            }
        }
        let mine = self.d.normalise.iter().filter(|n| n.test == self.test);
        for (n, u) in mine.zip(&self.norm_used) {
            if !u {
                self.failures.push(format!("unused normalisation: {n:?}"));
            }
        }
        self.failures
    }
}

/// The JSON-RPC requests, by name, sent in this order over the datagram
/// socket.
const REQUESTS: &[(&str, &str)] = &[
    (
        "stats all",
        r#"{"jsonrpc":"2.0","method":"stats.get_statistics","params":["all"],"id":1}"#,
    ),
    (
        "tm.stats",
        r#"{"jsonrpc":"2.0","method":"tm.stats","id":"abc"}"#,
    ),
    (
        "stats.fetch",
        r#"{"jsonrpc":"2.0","method":"stats.fetch","params":["tmx:","rcv_requests","usrloc.registered_users"],"id":2}"#,
    ),
    (
        "stats names",
        r#"{"jsonrpc":"2.0","method":"stats.get_statistics","params":["rcv_requests","sl:","unsupported_methods","core:rcv_requests"],"id":3}"#,
    ),
    (
        "stats none",
        r#"{"jsonrpc":"2.0","method":"stats.get_statistics","id":4}"#,
    ),
    (
        "unknown method",
        r#"{"jsonrpc":"2.0","method":"no.such.method","id":5}"#,
    ),
    ("no id", r#"{"jsonrpc":"2.0","method":"tm.stats"}"#),
    (
        "bad version",
        r#"{"jsonrpc":"1.0","method":"tm.stats","id":6}"#,
    ),
    ("no method", r#"{"jsonrpc":"2.0","id":7}"#),
    (
        "params object",
        r#"{"jsonrpc":"2.0","method":"cnt.get","params":{"g":"sl","n":"200_replies"},"id":8}"#,
    ),
    (
        "cnt.grps_list",
        r#"{"jsonrpc":"2.0","method":"cnt.grps_list","id":9}"#,
    ),
    (
        "cnt.get_vars",
        r#"{"jsonrpc":"2.0","method":"cnt.get_vars","params":["core"],"id":10}"#,
    ),
    (
        "cnt.get group",
        r#"{"jsonrpc":"2.0","method":"cnt.get","params":["registrar"],"id":11}"#,
    ),
    (
        "cnt.get unknown",
        r#"{"jsonrpc":"2.0","method":"cnt.get","params":["sl","nosuch"],"id":12}"#,
    ),
    ("not json", "this is not json {"),
    (
        "stats.clear",
        r#"{"jsonrpc":"2.0","method":"stats.clear_statistics","params":["rcv_requests_options"],"id":13}"#,
    ),
    (
        "stats.reset",
        r#"{"jsonrpc":"2.0","method":"stats.reset_statistics","params":["core:"],"id":14}"#,
    ),
    (
        "after reset",
        r#"{"jsonrpc":"2.0","method":"stats.fetch","params":["core:rcv_requests","sl.200_replies"],"id":15}"#,
    ),
];

/// The SIP messages: a keepalive OPTIONS (stock cfg: 200 Keepalive), a
/// REGISTER (200 OK), an unknown method (404 through tm). Each contender's
/// answers (status lines) are returned.
fn sip(port: u16) -> Vec<String> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let lp = s.local_addr().unwrap().port();
    let msgs = [
        format!(
            "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-rj-o1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: rj-opt@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ),
        format!(
            "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-rj-r1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=t2\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: rj-reg@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.0.1:{lp}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
        ),
        format!(
            "FOO sip:bob@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-rj-f1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=t3\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: rj-foo@test\r\nCSeq: 1 FOO\r\nContent-Length: 0\r\n\r\n"
        ),
    ];
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    for m in &msgs {
        s.send_to(m.as_bytes(), ("127.0.0.1", port)).unwrap();
        match s.recv(&mut buf) {
            Ok(n) => got.push(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            ),
            Err(_) => got.push("timeout".into()),
        }
    }
    got
}

/// Sends each request over the datagram socket at `server`: the replies
/// (`None`: no reply within 1.5 s).
fn rpc_dgram(server: &Path, dir: &Path, tag: &str) -> Vec<Option<String>> {
    let me = dir.join(format!("client-{tag}.sock"));
    let _ = std::fs::remove_file(&me);
    let c = UnixDatagram::bind(&me).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    REQUESTS
        .iter()
        .map(|(_, r)| {
            c.send_to(r.as_bytes(), server).unwrap();
            c.recv(&mut buf)
                .ok()
                .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
        })
        .collect()
}

/// One request over the FIFO at `fifo`, the reply read from a FIFO made
/// in `reply_dir`.
fn rpc_fifo(fifo: &Path, reply_dir: &Path, name: &str) -> String {
    let reply = reply_dir.join(name);
    let _ = std::fs::remove_file(&reply);
    assert!(
        Command::new("mkfifo")
            .arg(&reply)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    let r = reply.clone();
    let reader = std::thread::spawn(move || std::fs::read_to_string(&r).unwrap());
    let req = format!(
        r#"{{"jsonrpc":"2.0","method":"stats.get_statistics","params":["registrar:"],"reply_name":"{name}","id":21}}"#
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(fifo)
        .unwrap()
        .write_all_bytes(req.as_bytes());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !reader.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "no FIFO reply from {}",
            fifo.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    reader.join().unwrap()
}

trait WriteAll {
    fn write_all_bytes(self, b: &[u8]);
}

impl WriteAll for std::fs::File {
    fn write_all_bytes(mut self, b: &[u8]) {
        use std::io::Write;
        self.write_all(b).unwrap();
    }
}

/// The reply as lines for the line diff: array items one per line.
fn lines(s: &str) -> Vec<String> {
    s.replace("[\"", "[\n\"")
        .replace("\"]", "\"\n]")
        .replace("\", \"", "\"\n\"")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The stock cfg with our RPC files in `dir`, written to `out`.
fn ours_cfg(dir: &Path, out: &Path) {
    let stock = std::fs::read_to_string(STOCK_CFG).expect("stock cfg installed");
    let anchor = "modparam(\"jsonrpcs\", \"pretty_format\", 1)";
    assert!(stock.contains(anchor), "stock cfg without {anchor}");
    let extra = format!(
        "{anchor}\nmodparam(\"jsonrpcs\", \"fifo_name\", \"{d}/kamailio_rpc.fifo\")\nmodparam(\"jsonrpcs\", \"dgram_socket\", \"{d}/kamailio_rpc.sock\")\n",
        d = dir.display()
    );
    let text = stock.replacen(anchor, &extra, 1);
    // Written only when changed: the proxy's package is then reused.
    if std::fs::read_to_string(out).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(out, text).unwrap();
    }
}

#[test]
fn jsonrpcs_and_counters_answer_like_kamailio() {
    let base = std::env::temp_dir().join(format!("cfgc-rpc-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let kdir = base.join("kamailio");
    std::fs::create_dir_all(&kdir).unwrap();
    // Ours: a copy of the stock cfg whose RPC files live in `odir`; both
    // at stable paths, so the proxy's package is reused between runs.
    let odir = std::env::temp_dir().join("cfgc-rpc-json-ours");
    std::fs::create_dir_all(&odir).unwrap();
    let cfg_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("rpc-json-cfg");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let stable = cfg_dir.join("kamailio.cfg");
    ours_cfg(&odir, &stable);
    let bin = tests::build_proxy(&stable, &[], "rpc-json-proxy");

    let kport = free_port();
    let mut kam = Kamailio::new(STOCK_CFG, format!("udp:127.0.0.1:{kport}"), kdir.clone())
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio starts");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");

    let oport = free_port();
    let child = Command::new(&bin)
        .args(["-l", &format!("udp:127.0.0.1:{oport}"), "-n", "1", "-E"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("proxy starts");
    let mut ours = GroupGuard::new(child);
    ours.wait_bound(oport, "proxy", Duration::from_secs(10))
        .expect("proxy listens");
    for d in [&kdir, &odir] {
        let sock = d.join("kamailio_rpc.sock");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !sock.exists() {
            assert!(std::time::Instant::now() < deadline, "{}", sock.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    let k_sip = sip(kport);
    let o_sip = sip(oport);
    assert_eq!(
        k_sip,
        [
            "SIP/2.0 200 Keepalive",
            "SIP/2.0 200 OK",
            "SIP/2.0 404 Not Found"
        ],
        "Kamailio's answers to the SIP messages"
    );
    assert_eq!(o_sip, k_sip, "our answers to the SIP messages");

    // Kamailio's tm counts its transaction as waiting a moment after the
    // 404 left (seen as `waiting 0` when asked at once on a loaded
    // machine); both are asked well within the 5 s wait timer.
    std::thread::sleep(Duration::from_millis(500));
    let k_rpc = rpc_dgram(&kdir.join("kamailio_rpc.sock"), &base, "k");
    let o_rpc = rpc_dgram(&odir.join("kamailio_rpc.sock"), &base, "o");
    let k_fifo = rpc_fifo(
        &kdir.join("kamailio_rpc.fifo"),
        Path::new("/tmp"),
        &format!("cfgc_rj_k_{}", std::process::id()),
    );
    // Our reply dir is Kamailio's default too (/tmp/).
    let o_fifo = rpc_fifo(
        &odir.join("kamailio_rpc.fifo"),
        Path::new("/tmp"),
        &format!("cfgc_rj_o_{}", std::process::id()),
    );
    drop(ours);
    drop(kam);

    // What Kamailio answers is known: the comparison below cannot pass
    // on two empty sides.
    let k_of = |name: &str| {
        REQUESTS
            .iter()
            .position(|(n, _)| *n == name)
            .and_then(|i| k_rpc[i].clone())
    };
    let all = k_of("stats all").expect("Kamailio answers stats all");
    for s in [
        "\"core:rcv_requests = 3\"",
        "\"core:unsupported_methods = 1\"",
        "\"sl:200_replies = 2\"",
        "\"tmx:UAS_transactions = 1\"",
        "\"registrar:accepted_regs = 1\"",
        "\"usrloc:location_contacts = 1\"",
    ] {
        assert!(all.contains(s), "Kamailio's stats all without {s}: {all}");
    }
    assert!(k_of("not json").is_none(), "Kamailio answers non-JSON");
    assert!(
        k_of("unknown method").is_some_and(|r| r.contains("Method Not Found")),
        "Kamailio's unknown method"
    );
    assert!(k_fifo.contains("registrar:accepted_regs = 1"), "{k_fifo}");

    let mut check = Checker::new("stock");
    let named = REQUESTS
        .iter()
        .map(|(n, _)| *n)
        .chain(std::iter::once("fifo"));
    let ks = k_rpc.into_iter().chain(std::iter::once(Some(k_fifo)));
    let os = o_rpc.into_iter().chain(std::iter::once(Some(o_fifo)));
    for ((name, k), o) in named.zip(ks).zip(os) {
        check.compare(name, k.as_deref(), o.as_deref());
    }
    let failures = check.finish();
    let _ = std::fs::remove_dir_all(&base);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `tests/rpc-json/counters.cfg.in` with its RPC files in `dir`, written
/// to `out` (only when changed).
fn counters_cfg(dir: &Path, out: &Path) {
    let t = Path::new(env!("CARGO_MANIFEST_DIR")).join("rpc-json/counters.cfg.in");
    let text = std::fs::read_to_string(&t)
        .unwrap()
        .replace("@RPCDIR@", &dir.display().to_string());
    if std::fs::read_to_string(out).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(out, text).unwrap();
    }
}

/// Requests with the given methods, each answered (`200 counted`).
fn requests(port: u16, methods: &[&str]) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let lp = s.local_addr().unwrap().port();
    let mut buf = [0u8; 65536];
    for (i, m) in methods.iter().enumerate() {
        let msg = format!(
            "{m} sip:x@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-cnt-{i};rport\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=c{i}\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: cnt-{i}@test\r\nCSeq: 1 {m}\r\nContent-Length: 0\r\n\r\n"
        );
        s.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
        let n = s.recv(&mut buf).expect("an answer");
        assert!(
            buf[..n].starts_with(b"SIP/2.0 200 counted"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
}

const CNT_REQUESTS: &[(&str, &str)] = &[
    (
        "cnt.get",
        r#"{"jsonrpc":"2.0","method":"cnt.get","params":["cfgc","hits"],"id":1}"#,
    ),
    (
        "cnt.get_vars",
        r#"{"jsonrpc":"2.0","method":"cnt.get_vars","params":["calls"],"id":2}"#,
    ),
    (
        "cnt.grps_list",
        r#"{"jsonrpc":"2.0","method":"cnt.grps_list","id":3}"#,
    ),
    (
        "stats",
        r#"{"jsonrpc":"2.0","method":"stats.get_statistics","params":["calls:","hits"],"id":4}"#,
    ),
    (
        "stats.fetch",
        r#"{"jsonrpc":"2.0","method":"stats.fetch","params":["cfgc:"],"id":5}"#,
    ),
    (
        "cnt.get unknown",
        r#"{"jsonrpc":"2.0","method":"cnt.get","params":["calls","nosuch"],"id":6}"#,
    ),
];

/// What a proxy running the counters cfg answers: the JSON-RPC replies
/// after FOO, FOO, OPTIONS, BAR, OPTIONS.
fn counters_run(mut proxy: GroupGuard, port: u16, dir: &Path, tag: &str) -> Vec<String> {
    proxy
        .wait_bound(port, tag, Duration::from_secs(10))
        .expect("listens");
    let sock = dir.join("kamailio_rpc.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(std::time::Instant::now() < deadline, "{}", sock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    requests(port, &["FOO", "FOO", "OPTIONS", "BAR", "OPTIONS"]);
    let me = dir.join("client.sock");
    let _ = std::fs::remove_file(&me);
    let c = UnixDatagram::bind(&me).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let out = CNT_REQUESTS
        .iter()
        .map(|(_, r)| {
            c.send_to(r.as_bytes(), &sock).unwrap();
            c.recv(&mut buf)
                .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
                .unwrap_or_else(|_| "(no reply)".into())
        })
        .collect();
    proxy.stop().expect("stopped");
    out
}

fn spawn(cmd: &mut Command) -> GroupGuard {
    GroupGuard::new(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starts"),
    )
}

/// The counters module on a cfg of our own: `script_counter` (with a
/// group, a description, `script_cnt_grp_name`), `cnt_inc`, `cnt_add`
/// (negative too), `cnt_reset`, read back with `cnt.*` and `stats.*`;
/// Kamailio, compiled, interpreted, replies compared byte for byte.
#[test]
fn script_counters_like_kamailio() {
    let base = std::env::temp_dir().join(format!("cfgc-rpc-cnt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (kdir, idir) = (base.join("kamailio"), base.join("interp"));
    let odir = std::env::temp_dir().join("cfgc-rpc-cnt-ours");
    let cfg_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("rpc-cnt-cfg");
    for d in [&kdir, &idir, &odir, &cfg_dir] {
        std::fs::create_dir_all(d).unwrap();
    }
    let (kcfg, icfg, ocfg) = (
        base.join("kamailio.cfg"),
        base.join("interp.cfg"),
        cfg_dir.join("kamailio.cfg"),
    );
    counters_cfg(&kdir, &kcfg);
    counters_cfg(&idir, &icfg);
    counters_cfg(&odir, &ocfg);
    let bin = tests::build_proxy(&ocfg, &[], "rpc-cnt-proxy");

    let kport = free_port();
    let kam = Kamailio::new(&kcfg, format!("udp:127.0.0.1:{kport}"), kdir.clone())
        .module_dir(Some(module_dir()))
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio starts");
    let theirs = counters_run(kam, kport, &kdir, "kamailio");
    // Known answers: hits reset by BAR then one OPTIONS; bytes 200 - 1.
    assert!(theirs[0].contains("\"result\":\t1,"), "{}", theirs[0]);
    assert!(theirs[1].contains("\"bytes\":\t199"), "{}", theirs[1]);
    assert!(theirs[2].contains("\"calls\", \"cfgc\""), "{}", theirs[2]);

    let oport = free_port();
    let ours =
        spawn(Command::new(&bin).args(["-l", &format!("udp:127.0.0.1:{oport}"), "-n", "1", "-E"]));
    let got = counters_run(ours, oport, &odir, "proxy");
    let mut check = Checker::new("counters");
    for ((name, k), o) in CNT_REQUESTS.iter().map(|(n, _)| *n).zip(&theirs).zip(&got) {
        check.compare(name, Some(k), Some(o));
    }
    let failures = check.finish();
    assert!(failures.is_empty(), "compiled:\n{}", failures.join("\n"));

    let iport = free_port();
    let interp = spawn(
        Command::new(env!("CARGO_BIN_EXE_interp-proxy"))
            .arg(&icfg)
            .arg("--")
            .args(["-l", &format!("udp:127.0.0.1:{iport}"), "-n", "1", "-E"]),
    );
    let got = counters_run(interp, iport, &idir, "interpreter");
    let mut check = Checker::new("counters");
    for ((name, k), o) in CNT_REQUESTS.iter().map(|(n, _)| *n).zip(&theirs).zip(&got) {
        check.compare(name, Some(k), Some(o));
    }
    let failures = check.finish();
    assert!(failures.is_empty(), "interpreted:\n{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&base);
}

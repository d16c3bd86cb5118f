//! Issue 11 item 5: malformed and unusual SIP, answered as Kamailio answers
//! it. The corpus is data: every `tests/malformed/NNN-name.sip` is one raw
//! message (placeholders below), sent once over UDP and once over TCP to
//! `kamailio -f /etc/kamailio/kamailio.cfg` (stock, no defines) and to our
//! proxy for the same file (compiled by cfgc, and interpreted). What came
//! back is normalised into lines (tags, branches and ports hidden, Server
//! and User-Agent dropped) and compared; silence is observed as silence
//! (a bounded wait). Expected outputs are never written down: they come
//! from the live Kamailio of the same run.
//!
//! Every difference must be an entry of `tests/malformed/differences.toml`
//! (with its reason); an entry that no longer occurs fails the test too.
//!
//! Placeholders in a corpus file (the file's `\n` are sent as `\r\n`):
//! `$PROXY` the proxy's port, `$CLIENT` the client's port, `$TRANSPORT`
//! `UDP` or `TCP`, `$RUN` a token unique to the transport (for Call-IDs
//! and branches), `$CL` the byte length of the body (after the first empty
//! line), `$NUL` a NUL byte, `$LF` a bare line feed, `$HEX[hh]` one byte,
//! `$REP[N:text]` `text` N times.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, line_diff, module_dir, tail};
use regex::Regex;
use serde::Deserialize;
use tests::STOCK_CFG;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus_dir() -> PathBuf {
    workspace().join("tests/malformed")
}

// --- the corpus ---------------------------------------------------------------

/// One corpus entry: its name (the file name without `.sip`) and text.
struct Entry {
    name: String,
    text: String,
}

fn corpus() -> Vec<Entry> {
    let mut out: Vec<Entry> = std::fs::read_dir(corpus_dir())
        .expect("tests/malformed")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sip"))
        .map(|p| Entry {
            name: p.file_stem().expect("stem").to_string_lossy().into_owned(),
            text: std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The bytes to send: placeholders replaced, `\n` as `\r\n`.
fn render(text: &str, proxy: u16, client: u16, transport: &str) -> Vec<u8> {
    let run = transport.to_ascii_lowercase();
    let text = text
        .replace('\n', "\r\n")
        .replace("$PROXY", &proxy.to_string())
        .replace("$CLIENT", &client.to_string())
        .replace("$TRANSPORT", transport)
        .replace("$RUN", &run);
    let mut bytes = expand(&text);
    let body_len = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |i| bytes.len() - i - 4);
    if let Some(i) = bytes.windows(3).position(|w| w == b"$CL") {
        bytes.splice(i..i + 3, body_len.to_string().into_bytes());
    }
    bytes
}

/// `$NUL`, `$LF`, `$HEX[hh]`, `$REP[N:text]` to bytes.
fn expand(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let r = &rest[i..];
        if let Some(after) = r.strip_prefix("$NUL") {
            out.push(0);
            rest = after;
        } else if let Some(after) = r.strip_prefix("$LF") {
            out.push(b'\n');
            rest = after;
        } else if let Some(after) = r.strip_prefix("$HEX[") {
            let (hex, after) = after.split_once(']').expect("$HEX[..]");
            out.push(u8::from_str_radix(hex, 16).expect("$HEX[hh]"));
            rest = after;
        } else if let Some(after) = r.strip_prefix("$REP[") {
            let (n, after) = after.split_once(':').expect("$REP[N:text]");
            let (t, after) = after.split_once(']').expect("$REP[N:text]");
            let n: usize = n.parse().expect("$REP count");
            out.extend(expand(t).repeat(n));
            rest = after;
        } else {
            out.push(b'$');
            rest = &r[1..];
        }
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

// --- contenders -----------------------------------------------------------------

#[derive(Debug, Clone)]
enum Contender {
    Kamailio,
    Ours(PathBuf),
    Interpreted(PathBuf),
}

impl Contender {
    fn name(&self) -> &'static str {
        match self {
            Contender::Kamailio => "kamailio",
            Contender::Ours(_) => "ours",
            Contender::Interpreted(_) => "interpreted",
        }
    }

    /// Starts the proxy on UDP and TCP of one free loopback port.
    fn start(&self, dir: &Path) -> Result<(GroupGuard, u16, PathBuf), String> {
        let port = free_port();
        let log = dir.join(format!("{}.log", self.name()));
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let udp = format!("udp:127.0.0.1:{port}");
        let tcp = format!("tcp:127.0.0.1:{port}");
        let mut c = match self {
            Contender::Kamailio => {
                let rundir = dir.join("run");
                std::fs::create_dir_all(&rundir).map_err(|e| e.to_string())?;
                let mut c = Kamailio::new(STOCK_CFG, &udp, rundir)
                    .module_dir(Some(module_dir()))
                    .command();
                c.args(["-l", &tcp]);
                c
            }
            Contender::Ours(bin) | Contender::Interpreted(bin) => {
                let mut c = Command::new(bin);
                if matches!(self, Contender::Interpreted(_)) {
                    c.arg(STOCK_CFG).arg("--");
                }
                c.args(["-l", &udp, "-l", &tcp, "-n", "2"])
                    .stdin(Stdio::null())
                    .process_group(0);
                c
            }
        };
        let child = c
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.name()))?;
        let mut group = GroupGuard::new(child);
        group
            .wait_bound(port, self.name(), Duration::from_secs(10))
            .map_err(|e| format!("{e}\n{}", tail(&log, 30)))?;
        // TCP too.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("{} does not accept TCP on {port}", self.name()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok((group, port, log))
    }
}

// --- sending and observing -----------------------------------------------------------

/// How long silence is waited for.
const SILENCE: Duration = Duration::from_millis(1200);
/// After a final response, how long more messages are waited for.
const AFTER_FINAL: Duration = Duration::from_millis(300);
/// After a provisional response, how long a final one is waited for.
const AFTER_PROVISIONAL: Duration = Duration::from_secs(4);

fn status(msg: &[u8]) -> Option<u16> {
    let s = msg.strip_prefix(b"SIP/2.0 ")?;
    std::str::from_utf8(s.get(..3)?).ok()?.parse().ok()
}

/// The next deadline after receiving `msg`.
fn next_deadline(msg: &[u8], deadline: Instant) -> Instant {
    match status(msg) {
        Some(s) if s >= 200 => deadline.min(Instant::now() + AFTER_FINAL),
        Some(_) => Instant::now() + AFTER_PROVISIONAL,
        None => deadline,
    }
}

/// What came back for one message: the messages, and whether the proxy
/// closed the (TCP) connection.
struct Received {
    client: u16,
    messages: Vec<Vec<u8>>,
    closed: bool,
}

fn send_udp(proxy: u16, text: &str) -> Result<Received, String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let client = sock.local_addr().map_err(|e| e.to_string())?.port();
    let bytes = render(text, proxy, client, "UDP");
    sock.send_to(&bytes, ("127.0.0.1", proxy))
        .map_err(|e| e.to_string())?;
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut deadline = Instant::now() + SILENCE;
    let mut buf = vec![0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match sock.recv(&mut buf) {
            Ok(n) => {
                let m = buf[..n].to_vec();
                deadline = next_deadline(&m, deadline);
                if !messages.contains(&m) {
                    messages.push(m);
                }
            }
            Err(_) => break,
        }
    }
    // The socket stays open until the test ends: a reply retransmitted
    // later (tm's 4xx to an INVITE never ACKed) must not reach another
    // entry's socket that the kernel gave the same port.
    KEPT_OPEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(sock);
    Ok(Received {
        client,
        messages,
        closed: false,
    })
}

/// Client sockets of finished UDP entries (see `send_udp`).
static KEPT_OPEN: std::sync::Mutex<Vec<UdpSocket>> = std::sync::Mutex::new(Vec::new());

/// Splits complete messages off the front of a TCP stream buffer.
fn frame(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let cl = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| {
            let n = n.trim();
            n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("l")
        })
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    if buf.len() < end + cl {
        return None;
    }
    let rest = buf.split_off(end + cl);
    Some(std::mem::replace(buf, rest))
}

fn send_tcp(proxy: u16, text: &str) -> Result<Received, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", proxy)).map_err(|e| e.to_string())?;
    let client = stream.local_addr().map_err(|e| e.to_string())?.port();
    let bytes = render(text, proxy, client, "TCP");
    stream.write_all(&bytes).map_err(|e| e.to_string())?;
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut deadline = Instant::now() + SILENCE;
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut closed = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                while let Some(m) = frame(&mut pending) {
                    deadline = next_deadline(&m, deadline);
                    if !messages.contains(&m) {
                        messages.push(m);
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    if !pending.is_empty() {
        messages.push(pending);
    }
    Ok(Received {
        client,
        messages,
        closed,
    })
}

struct Normaliser {
    ports: Vec<(Regex, &'static str)>,
    branch: Regex,
    tag: Regex,
}

impl Normaliser {
    fn new(proxy: u16, client: u16) -> Self {
        let port = |p: u16| Regex::new(&format!(r"([:=]){p}\b")).expect("port regex");
        Normaliser {
            ports: vec![(port(proxy), "${1}PROXY"), (port(client), "${1}CLIENT")],
            branch: Regex::new(r"(?i)branch=(z9hG4bK)?[^;,>\s]*").expect("regex"),
            tag: Regex::new(r"(?i)\btag=[^;,>\s]*").expect("regex"),
        }
    }

    fn text(&self, s: &str) -> String {
        let mut s = s.trim_end().to_string();
        for (re, name) in &self.ports {
            s = re.replace_all(&s, *name).into_owned();
        }
        s = self
            .branch
            .replace_all(&s, |c: &regex::Captures<'_>| {
                format!("branch={}*", c.get(1).map_or("", |m| m.as_str()))
            })
            .into_owned();
        self.tag.replace_all(&s, "tag=*").into_owned()
    }

    /// A message as lines: `<- START` and `<- START | Header: value`
    /// (every header but Server and User-Agent, as received).
    fn lines(&self, raw: &[u8], out: &mut Vec<String>) {
        // Kamailio copies a request's headers as they came, bare line
        // feeds included: lines end at `\n`, a `\r` before it dropped.
        let raw = String::from_utf8_lossy(raw);
        let head = raw.split("\r\n\r\n").next().unwrap_or(&raw);
        let head = head.split("\n\n").next().unwrap_or(head);
        let mut it = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start = format!("<- {}", self.text(it.next().unwrap_or("")));
        out.push(start.clone());
        for l in it {
            let name = l.split(':').next().unwrap_or("").trim();
            if name.eq_ignore_ascii_case("server") || name.eq_ignore_ascii_case("user-agent") {
                continue;
            }
            out.push(format!("{start} | {}", self.text(l)));
        }
    }
}

/// The observation of one message over one transport, as lines.
fn observe(r: &Received, proxy: u16) -> Vec<String> {
    let norm = Normaliser::new(proxy, r.client);
    let mut out = Vec::new();
    for m in &r.messages {
        norm.lines(m, &mut out);
    }
    if out.is_empty() {
        out.push("silence".into());
    }
    if r.closed {
        out.push("connection closed".into());
    }
    out
}

/// Every corpus entry over UDP and TCP against one contender: per
/// `(entry, transport)`, the observation lines. Entries run a few at a
/// time (each has its own socket).
fn run_corpus(who: &Contender, entries: &[Entry]) -> Vec<(String, &'static str, Vec<String>)> {
    let dir = std::env::temp_dir().join(format!(
        "cfgc-malformed-{}-{}",
        std::process::id(),
        who.name()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("run dir");
    let (group, proxy, log) = who.start(&dir).unwrap_or_else(|e| panic!("{e}"));
    let jobs: Vec<(usize, &'static str)> = (0..entries.len())
        .flat_map(|i| [(i, "udp"), (i, "tcp")])
        .collect();
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let mut got = Vec::new();
                    loop {
                        let j = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(i, t)) = jobs.get(j) else { break };
                        let text = &entries[i].text;
                        let r = if t == "udp" {
                            send_udp(proxy, text)
                        } else {
                            send_tcp(proxy, text)
                        };
                        let lines = match r {
                            Ok(r) => observe(&r, proxy),
                            Err(e) => vec![format!("client error: {e}")],
                        };
                        got.push((j, lines));
                    }
                    got
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let log_tail = tail(&log, 30);
    group
        .stop()
        .unwrap_or_else(|e| panic!("{}: {e}\n{log_tail}", who.name()));
    let _ = std::fs::remove_dir_all(&dir);
    results.sort_by_key(|(j, _)| *j);
    results
        .into_iter()
        .map(|(j, lines)| {
            let (i, t) = jobs[j];
            (entries[i].name.clone(), t, lines)
        })
        .collect()
}

// --- differences ---------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Allowed {
    /// A corpus entry's name.
    message: String,
    /// `udp`, `tcp` or `*`.
    transport: String,
    /// A line only Kamailio's observation has.
    #[serde(default)]
    kamailio: Option<String>,
    /// A line only ours has.
    #[serde(default)]
    ours: Option<String>,
    why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Differences {
    #[serde(default)]
    difference: Vec<Allowed>,
}

fn load_differences() -> Differences {
    let path = corpus_dir().join("differences.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let d: Differences = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    for a in &d.difference {
        assert!(!a.why.trim().is_empty(), "{a:?}: `why` is empty");
        assert!(
            a.kamailio.is_some() || a.ours.is_some(),
            "{a:?}: needs `kamailio` or `ours`"
        );
        assert!(
            ["udp", "tcp", "*"].contains(&a.transport.as_str()),
            "{a:?}: transport"
        );
    }
    d
}

/// Whether an entry's line covers an observation line: the same line, or
/// the line is a header of the message whose start line the entry names
/// (`<- SIP/2.0 404 Not Found` covers `<- SIP/2.0 404 Not Found | To: ...`).
fn covers(entry: Option<&str>, line: &str) -> bool {
    entry.is_some_and(|e| {
        line == e
            || line
                .strip_prefix(e)
                .is_some_and(|rest| rest.starts_with(" | "))
    })
}

/// Only one comparison at a time (each already sends 8 messages at once).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn compare(ours: &Contender) {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entries = corpus();
    assert!(entries.len() >= 60, "only {} corpus entries", entries.len());
    let allowed = load_differences();
    let start = Instant::now();
    let kam = run_corpus(&Contender::Kamailio, &entries);
    let our = run_corpus(ours, &entries);
    let mut used = vec![false; allowed.difference.len()];
    let mut failures = Vec::new();
    let (mut same_udp, mut same_tcp) = (0, 0);
    for ((name, t, a), (_, _, b)) in kam.iter().zip(&our) {
        let d = line_diff(a, b);
        if d.is_empty() {
            if *t == "udp" {
                same_udp += 1;
            } else {
                same_tcp += 1;
            }
        }
        let mut left = String::new();
        for (only_kam, line) in &d {
            let hit = allowed.difference.iter().position(|e| {
                &e.message == name
                    && (e.transport == "*" || e.transport == *t)
                    && covers(
                        if *only_kam {
                            e.kamailio.as_deref()
                        } else {
                            e.ours.as_deref()
                        },
                        line,
                    )
            });
            match hit {
                Some(i) => used[i] = true,
                None => {
                    let _ = writeln!(left, "{} {line}", if *only_kam { "-" } else { "+" });
                }
            }
        }
        if !left.is_empty() {
            failures.push(format!(
                "=== {name} ({t}): differences (- kamailio only, + {} only):\n{left}kamailio:\n  {}\n{}:\n  {}",
                ours.name(),
                a.join("\n  "),
                ours.name(),
                b.join("\n  ")
            ));
        }
    }
    if failures.is_empty() {
        for (i, e) in allowed.difference.iter().enumerate() {
            if !used[i] {
                failures.push(format!("stale entry in differences.toml: {e:?}"));
            }
        }
    }
    eprintln!(
        "{}: answered like kamailio: UDP {same_udp}/{n}, TCP {same_tcp}/{n} ({:?})",
        ours.name(),
        start.elapsed(),
        n = entries.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Our proxy for the stock config, built with cfgc's library as
/// `cfgc build` does (shared with `stock_wire.rs` through the cache).
fn build_ours() -> PathBuf {
    tests::build_proxy(Path::new(STOCK_CFG), &[], "malformed-stock-proxy")
}

#[test]
fn malformed_ours_like_kamailio() {
    compare(&Contender::Ours(build_ours()));
}

#[test]
fn malformed_interpreted_like_kamailio() {
    compare(&Contender::Interpreted(PathBuf::from(env!(
        "CARGO_BIN_EXE_interp-proxy"
    ))));
}

// --- the harness's own parts ----------------------------------------------------------

#[test]
fn corpus_rendering() {
    let b = render(
        "A $PROXY $CLIENT $TRANSPORT $RUN\nContent-Length: $CL\n\nx$NUL$HEX[c3]$REP[3:ab]\n",
        5060,
        4000,
        "TCP",
    );
    assert_eq!(
        b,
        b"A 5060 4000 TCP tcp\r\nContent-Length: 11\r\n\r\nx\0\xc3ababab\r\n".to_vec()
    );
    let mut buf = b"SIP/2.0 200 OK\r\nl: 2\r\n\r\nabSIP/2.0 100 x\r\n\r\n".to_vec();
    assert_eq!(
        frame(&mut buf).expect("one"),
        b"SIP/2.0 200 OK\r\nl: 2\r\n\r\nab"
    );
    assert_eq!(frame(&mut buf).expect("two"), b"SIP/2.0 100 x\r\n\r\n");
    assert!(frame(&mut buf).is_none());
    let n = Normaliser::new(5060, 4000);
    let mut lines = Vec::new();
    n.lines(
        b"SIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP 127.0.0.1:4000;branch=z9hG4bKx;rport=4000\r\nTo: <sip:a@127.0.0.1:5060>;tag=abc\r\nServer: k\r\n\r\n",
        &mut lines,
    );
    assert_eq!(
        lines,
        [
            "<- SIP/2.0 404 Not Found",
            "<- SIP/2.0 404 Not Found | Via: SIP/2.0/UDP 127.0.0.1:CLIENT;branch=z9hG4bK*;rport=CLIENT",
            "<- SIP/2.0 404 Not Found | To: <sip:a@127.0.0.1:PROXY>;tag=*",
        ]
    );
    assert!(covers(Some("<- A"), "<- A | To: x"));
    assert!(covers(Some("<- A"), "<- A"));
    assert!(!covers(Some("<- A"), "<- AB"));
    assert!(!covers(None, "<- A"));
    assert_eq!(
        line_diff(&["a".into(), "b".into()], &["a".into(), "c".into()]),
        [(true, "b".to_string()), (false, "c".to_string())]
    );
}

#[test]
fn differences_name_corpus_entries() {
    let names: Vec<String> = corpus().into_iter().map(|e| e.name).collect();
    for a in load_differences().difference {
        assert!(names.contains(&a.message), "unknown entry {:?}", a.message);
    }
}

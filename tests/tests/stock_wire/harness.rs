//! The machinery of the stock-config wire test: contenders (the real
//! `kamailio -f` and our compiled proxy) started on free loopback ports in
//! their own process groups, SIPp clients run with a bounded wait and their
//! message traces read back, what each client received normalised into an
//! [`Observation`], and two observations compared line by line with the
//! allowed differences of `tests/stock-wire/differences.toml`.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cfgc_test_support::{self as support, GroupGuard, Kamailio, free_port, module_dir, tail};
use regex::Regex;
use serde::Deserialize;
use tests::STOCK_CFG;

pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the SIPp scenarios of this test live.
pub(crate) fn sipp_dir() -> PathBuf {
    workspace().join("tests/sipp/stock")
}

/// The checked-in list of allowed differences.
pub(crate) fn differences_file() -> PathBuf {
    workspace().join("tests/stock-wire/differences.toml")
}

// --- ports and processes ----------------------------------------------------

/// Waits (at most 10 s) until `child` has bound UDP `port`.
fn wait_bound(child: &mut Child, port: u16, what: &str) -> Result<(), String> {
    support::wait_bound(child, port, what, Duration::from_secs(10))
}

/// Waits for `child` at most `limit`; kills it after that. `None` if killed.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A proxy started in its own process group, with its log. Dropping it
/// stops the whole group ([`GroupGuard`]); [`Server::stop`] also checks
/// nothing is left.
pub(crate) struct Server {
    pub(crate) port: u16,
    group: GroupGuard,
    log: PathBuf,
}

impl Server {
    /// Stops the server; an error if any process of its group survives.
    pub(crate) fn stop(self) -> Result<(), String> {
        self.group.stop()
    }

    /// The last lines of the server's log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log, 30)
    }
}

/// UDP workers, the same on both sides (`-n`). One: with two, Kamailio
/// itself answers run-dependently (a UAS's 180 and 200 sent back to back
/// reach two workers, and the 200 relayed first drops the 180: seen), so
/// its runs could not be compared exactly; and the stock `children=8`
/// would be 8 processes per proxy, with 24 proxies at once.
pub(crate) const WORKERS: usize = 1;

/// A proxy that runs the stock configuration.
#[derive(Debug, Clone)]
pub(crate) enum Contender {
    /// `kamailio -f /etc/kamailio/kamailio.cfg`, unmodified, no defines.
    Kamailio,
    /// Our binary compiled from the same file.
    Ours(PathBuf),
    /// The same file interpreted (`interp-proxy FILE`), same runtime.
    Interpreted(PathBuf),
}

impl Contender {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Contender::Kamailio => "kamailio",
            Contender::Ours(_) => "ours",
            Contender::Interpreted(_) => "interpreted",
        }
    }

    /// Starts the proxy on a free port of 127.0.0.1 (logs and run files in
    /// `dir`) and waits until it has bound that port.
    pub(crate) fn start(&self, dir: &Path) -> Result<Server, String> {
        let port = free_port();
        let log = dir.join(format!("{}.log", self.name()));
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let listen = format!("udp:127.0.0.1:{port}");
        let mut group = match self {
            Contender::Kamailio => Kamailio::new(STOCK_CFG, &listen, dir.join("run"))
                .module_dir(Some(module_dir()))
                .workers(WORKERS)
                .start(out.into(), err.into())?,
            Contender::Ours(bin) | Contender::Interpreted(bin) => {
                let mut c = Command::new(bin);
                if matches!(self, Contender::Interpreted(_)) {
                    c.arg(STOCK_CFG).arg("--");
                }
                // -E: log to stderr, as Kamailio is run (acc records).
                c.args(["-l", &listen, "-E", "-n", &WORKERS.to_string()]);
                // Its own runtime directory (ctl's socket), as Kamailio's.
                c.arg("-Y").arg(dir.join(format!("run-{}", self.name())));
                let child = c
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .process_group(0)
                    .spawn()
                    .map_err(|e| format!("cannot start {}: {e}", self.name()))?;
                GroupGuard::new(child)
            }
        };
        let bound = group.wait_bound(port, self.name(), Duration::from_secs(10));
        let server = Server { port, group, log };
        match bound {
            Ok(()) => Ok(server),
            Err(e) => Err(format!("{e}\n{}", server.log_tail())),
        }
    }
}

// --- SIPp clients -------------------------------------------------------------

/// What one SIP client (one SIPp run) got.
#[derive(Debug, Clone)]
pub(crate) struct ClientRun {
    pub(crate) name: String,
    /// SIPp's exit status (0: scenario completed), `None` if it had to be
    /// killed at the time limit.
    pub(crate) exit: Option<i32>,
    /// Every distinct message received, in order, with the times of its
    /// copies (retransmissions are byte-identical).
    pub(crate) received: Vec<Received>,
    pub(crate) elapsed: Duration,
    /// The end of SIPp's stderr, for failure messages.
    pub(crate) stderr: String,
}

/// One SIPp client to run.
pub(crate) struct Sipp {
    name: String,
    scenario: String,
    port: u16,
    proxy: Option<u16>,
    args: Vec<String>,
}

/// A SIPp client running in the background (a UAS waiting for calls).
pub(crate) struct RunningSipp {
    name: String,
    child: Child,
    trace: PathBuf,
    stderr: PathBuf,
    started: Instant,
}

impl Drop for RunningSipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// No SIPp run may take longer than this (the longest scenario waits 30 s
/// for the proxy's fr_timer).
const SIPP_LIMIT: Duration = Duration::from_secs(50);

impl Sipp {
    /// Sets `[service]`, the user part SIPp puts in its URIs.
    pub(crate) fn service(mut self, user: &str) -> Self {
        self.args.extend(["-s".into(), user.into()]);
        self
    }

    /// Sets a scenario keyword (`-key NAME VALUE`).
    pub(crate) fn key(mut self, name: &str, value: &str) -> Self {
        self.args
            .extend(["-key".into(), name.into(), value.to_string()]);
        self
    }

    /// Starts SIPp in `dir` and waits until it has bound its port.
    pub(crate) fn spawn(self, dir: &Path) -> Result<RunningSipp, String> {
        let trace = dir.join(format!("{}.trace", self.name));
        let stderr = dir.join(format!("{}.stderr", self.name));
        let mut cmd = Command::new("sipp");
        if let Some(p) = self.proxy {
            cmd.arg(format!("127.0.0.1:{p}"));
        }
        cmd.arg("-sf")
            .arg(sipp_dir().join(&self.scenario))
            .args(["-i", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-m", "1", "-nostdin", "-trace_msg", "-message_file"])
            .arg(&trace)
            .args(["-timeout", "45s", "-timeout_error"])
            .args(&self.args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).map_err(|e| e.to_string())?);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run sipp (apt-get install sip-tester): {e}"))?;
        let started = Instant::now();
        let bound = wait_bound(&mut child, self.port, &format!("sipp {}", self.name));
        let running = RunningSipp {
            name: self.name,
            child,
            trace,
            stderr,
            started,
        };
        bound.map(|()| running)
    }

    /// Runs SIPp to its end (bounded).
    pub(crate) fn run(self, dir: &Path) -> Result<ClientRun, String> {
        self.spawn(dir)?.finish()
    }
}

impl RunningSipp {
    /// Waits for the end (bounded) and reads what it received.
    pub(crate) fn finish(mut self) -> Result<ClientRun, String> {
        let exit = wait_bounded(&mut self.child, SIPP_LIMIT);
        let elapsed = self.started.elapsed();
        let trace = std::fs::read_to_string(&self.trace).unwrap_or_default();
        Ok(ClientRun {
            name: self.name.clone(),
            exit,
            received: received_messages(&trace),
            elapsed,
            stderr: tail(&self.stderr, 5),
        })
    }
}

/// One distinct message a client received, with when each copy came
/// (retransmissions are byte-identical copies).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Received {
    pub(crate) text: String,
    /// Seconds since the client's first traced message (sent or received),
    /// one entry per copy.
    pub(crate) at: Vec<f64>,
}

/// `HH:MM:SS.ffffff` at the end of a trace separator line, in seconds.
fn stamp_seconds(stamp: &str) -> Option<f64> {
    let time = stamp.trim().rsplit(' ').next()?;
    let mut it = time.split(':');
    let (h, m, s) = (it.next()?, it.next()?, it.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// The messages SIPp's `-trace_msg` log says it received, each distinct
/// one once with the times of all its copies.
pub(crate) fn received_messages(trace: &str) -> Vec<Received> {
    const SEP: &str = "-----------------------------------------------";
    let mut out: Vec<Received> = Vec::new();
    let mut first: Option<f64> = None;
    for block in trace.split(SEP).skip(1) {
        // "<timestamp>\n<direction line>\n\n<message>"
        let mut parts = block.splitn(3, '\n');
        let stamp = parts.next().and_then(stamp_seconds);
        let Some(direction) = parts.next() else {
            continue;
        };
        let origin = *first.get_or_insert(stamp.unwrap_or(0.0));
        // A trace across midnight: the clock starts again at 0.
        let at = stamp.map_or(0.0, |t| {
            if t < origin {
                t + 86_400.0 - origin
            } else {
                t - origin
            }
        });
        if !direction.contains("message received") {
            continue;
        }
        let msg = parts
            .next()
            .unwrap_or("")
            .trim_start_matches(['\r', '\n'])
            .trim_end()
            .to_string();
        if msg.is_empty() {
            continue;
        }
        match out.iter_mut().find(|r| r.text == msg) {
            Some(r) => r.at.push(at),
            None => out.push(Received {
                text: msg,
                at: vec![at],
            }),
        }
    }
    out
}

/// One scenario's run against one proxy: its directory, its ports (each
/// named, so that observations do not depend on them) and its clients.
pub(crate) struct Run {
    pub(crate) scenario: &'static str,
    pub(crate) dir: PathBuf,
    pub(crate) proxy: u16,
    ports: Vec<(u16, String)>,
    clients: Vec<ClientRun>,
    /// The acc records the proxy logged (raw lines).
    acc: Vec<String>,
}

impl Run {
    pub(crate) fn new(scenario: &'static str, dir: PathBuf, proxy: u16) -> Self {
        Run {
            scenario,
            dir,
            proxy,
            ports: vec![(proxy, "PROXY".into())],
            clients: Vec::new(),
            acc: Vec::new(),
        }
    }

    /// A fresh port for a client, named `name` in observations.
    pub(crate) fn port(&mut self, name: &str) -> u16 {
        let p = free_port();
        self.ports.push((p, name.to_string()));
        p
    }

    /// Names a port chosen elsewhere.
    pub(crate) fn name_port(&mut self, port: u16, name: &str) {
        self.ports.push((port, name.to_string()));
    }

    /// `sip:USER@127.0.0.1:PROXYPORT` (the proxy's own domain).
    pub(crate) fn uri(&self, user: &str) -> String {
        format!("sip:{user}@127.0.0.1:{}", self.proxy)
    }

    /// A SIPp client sending to the proxy (a UAC; a UAS too: SIPp needs no
    /// remote address to answer).
    pub(crate) fn sipp(&self, name: &str, scenario: &str, port: u16) -> Sipp {
        Sipp {
            name: name.to_string(),
            scenario: scenario.to_string(),
            port,
            proxy: Some(self.proxy),
            args: Vec::new(),
        }
    }

    /// Keeps the acc records (`ACC: ` lines) of the proxy's log.
    pub(crate) fn record_log(&mut self, log: &str) {
        self.acc = log
            .lines()
            .filter(|l| l.contains("ACC: "))
            .map(String::from)
            .collect();
    }

    pub(crate) fn record(&mut self, c: ClientRun) {
        self.clients.push(c);
    }

    /// Runs `s` to its end and records it.
    pub(crate) fn run(&mut self, s: Sipp) -> Result<(), String> {
        let c = s.run(&self.dir)?;
        self.record(c);
        Ok(())
    }

    pub(crate) fn observation(&self) -> Observation {
        let norm = Normaliser::new(&self.ports);
        Observation {
            scenario: self.scenario,
            clients: self
                .clients
                .iter()
                .map(|c| ClientObs {
                    name: c.name.clone(),
                    exit: c.exit,
                    elapsed: c.elapsed,
                    stderr: c.stderr.clone(),
                    received: c.received.iter().map(|m| norm.message(m)).collect(),
                })
                .collect(),
            acc: self.acc.iter().map(|l| norm.acc_line(l)).collect(),
        }
    }
}

// --- observations -------------------------------------------------------------

/// Header names compared case-insensitively and written canonically
/// (compact forms are expanded first); any other name is kept as sent.
const KNOWN: &[&str] = &[
    "Via",
    "Route",
    "Record-Route",
    "Contact",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Expires",
    "Content-Type",
    "Content-Length",
    "Server",
    "User-Agent",
    "Allow",
    "Supported",
];

/// Headers whose comma-separated values are separate entries.
const LISTS: &[&str] = &["Via", "Route", "Record-Route", "Contact"];

/// Headers whose text is free and product-specific: their value is not
/// compared (their presence and place are).
const PRODUCT: &[&str] = &["Server", "User-Agent"];

fn full_name(name: &str) -> String {
    let canonical = match name.to_ascii_lowercase().as_str() {
        "v" => "Via",
        "m" => "Contact",
        "f" => "From",
        "t" => "To",
        "l" => "Content-Length",
        "i" => "Call-ID",
        "c" => "Content-Type",
        "k" => "Supported",
        other => {
            return KNOWN
                .iter()
                .find(|s| s.eq_ignore_ascii_case(other))
                .map_or_else(|| name.to_string(), |s| (*s).to_string());
        }
    };
    canonical.to_string()
}

/// Splits a header value at commas outside `<...>` and quotes.
fn split_list(value: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut angle, mut quote) = (false, false);
    for ch in value.chars() {
        match ch {
            '"' => quote = !quote,
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            ',' if !angle && !quote => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur.trim().to_string());
    out
}

/// A received message, normalised: ports named, branches and tags
/// replaced by `*` (keeping the RFC 3261 magic cookie), SIPp's process id
/// in Call-IDs and its media port hidden, Server and User-Agent text `*`;
/// every header in its order, the body line by line, and when each copy
/// came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Msg {
    pub(crate) start: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<String>,
    /// Seconds since the client began, per copy (retransmissions).
    pub(crate) at: Vec<f64>,
}

impl Msg {
    /// The values of header `name`, in order (list headers split).
    pub(crate) fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The status code of a response.
    pub(crate) fn status(&self) -> Option<u16> {
        self.start
            .strip_prefix("SIP/2.0 ")?
            .split(' ')
            .next()?
            .parse()
            .ok()
    }

    /// The method of a request.
    pub(crate) fn method(&self) -> Option<&str> {
        (!self.start.starts_with("SIP/")).then(|| self.start.split(' ').next().unwrap_or(""))
    }

    /// The method of the CSeq header.
    pub(crate) fn cseq_method(&self) -> &str {
        self.header("CSeq")
            .first()
            .and_then(|c| c.split_whitespace().nth(1))
            .unwrap_or("")
    }
}

pub(crate) struct Normaliser {
    ports: Vec<(Regex, String)>,
    branch: Regex,
    tag: Regex,
    /// SIPp's Call-IDs, `[call_number]-[pid]@[local_ip]`.
    call_id: Regex,
    /// SIPp's media port in its SDP (the next free one from 6000).
    media: Regex,
    /// A log line's `rank(pid) ` (Kamailio's stderr log format).
    log_head: Regex,
    /// acc's `timestamp=` (seconds of the record).
    timestamp: Regex,
}

impl Normaliser {
    pub(crate) fn new(ports: &[(u16, String)]) -> Self {
        Normaliser {
            ports: ports
                .iter()
                .map(|(p, n)| {
                    let re = Regex::new(&format!(r"([:=]){p}\b")).expect("port regex");
                    (re, format!("${{1}}{n}"))
                })
                .collect(),
            branch: Regex::new(r"(?i)branch=(z9hG4bK)?[^;,>\s]*").expect("regex"),
            tag: Regex::new(r"(?i)(\b|from_|to_)tag=[^;,>\s]*").expect("regex"),
            call_id: Regex::new(r"\b(\d+)-\d+@").expect("regex"),
            media: Regex::new(r"^m=(\w+) \d+ ").expect("regex"),
            log_head: Regex::new(r"^\s*\d+\(\d+\) ").expect("regex"),
            timestamp: Regex::new(r"\btimestamp=\d+").expect("regex"),
        }
    }

    fn text(&self, s: &str) -> String {
        let mut s = s.trim().to_string();
        for (re, name) in &self.ports {
            s = re.replace_all(&s, name.as_str()).into_owned();
        }
        s = self
            .branch
            .replace_all(&s, |c: &regex::Captures<'_>| {
                format!("branch={}*", c.get(1).map_or("", |m| m.as_str()))
            })
            .into_owned();
        s = self.tag.replace_all(&s, "${1}tag=*").into_owned();
        self.call_id.replace_all(&s, "${1}-*@").into_owned()
    }

    /// An acc record as logged (`rank(pid) LEVEL: {prefix} acc [...]: ...
    /// ACC: ...`), normalised like messages, its timestamp hidden.
    pub(crate) fn acc_line(&self, line: &str) -> String {
        let l = self.log_head.replace(line.trim(), "");
        let l = self.timestamp.replace_all(&l, "timestamp=*");
        self.text(&l)
    }

    fn message(&self, raw: &Received) -> Msg {
        let text = raw.text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let mut lines: Vec<String> = Vec::new();
        for l in head.lines() {
            match lines.last_mut() {
                Some(prev) if l.starts_with([' ', '\t']) => {
                    prev.push(' ');
                    prev.push_str(l.trim());
                }
                _ => lines.push(l.to_string()),
            }
        }
        let mut it = lines.into_iter();
        let start = self.text(&it.next().unwrap_or_default());
        let mut headers = Vec::new();
        for l in it {
            let Some((name, value)) = l.split_once(':') else {
                headers.push((String::new(), self.text(&l)));
                continue;
            };
            let name = full_name(name.trim());
            if PRODUCT.contains(&name.as_str()) {
                headers.push((name, "*".into()));
            } else if LISTS.contains(&name.as_str()) {
                for v in split_list(value) {
                    headers.push((name.clone(), self.text(&v)));
                }
            } else {
                headers.push((name, self.text(value)));
            }
        }
        let body = body
            .lines()
            .map(|l| {
                let l = self.text(l);
                self.media.replace(&l, "m=${1} MEDIA ").into_owned()
            })
            .collect();
        Msg {
            start,
            headers,
            body,
            at: raw.at.clone(),
        }
    }
}

/// What one client received, normalised.
#[derive(Debug, Clone)]
pub(crate) struct ClientObs {
    pub(crate) name: String,
    pub(crate) exit: Option<i32>,
    pub(crate) elapsed: Duration,
    pub(crate) stderr: String,
    pub(crate) received: Vec<Msg>,
}

impl ClientObs {
    pub(crate) fn statuses(&self) -> Vec<u16> {
        self.received.iter().filter_map(Msg::status).collect()
    }

    pub(crate) fn methods(&self) -> Vec<&str> {
        self.received.iter().filter_map(Msg::method).collect()
    }

    /// The `n`th received response with status `code`.
    pub(crate) fn response(&self, code: u16, cseq_method: &str) -> Result<&Msg, String> {
        self.received
            .iter()
            .find(|m| m.status() == Some(code) && m.cseq_method() == cseq_method)
            .ok_or_else(|| format!("{}: no {code} for {cseq_method}", self.name))
    }

    pub(crate) fn request(&self, method: &str) -> Result<&Msg, String> {
        self.received
            .iter()
            .find(|m| m.method() == Some(method))
            .ok_or_else(|| format!("{}: no {method} received", self.name))
    }
}

/// What every client of one scenario received from one proxy.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) scenario: &'static str,
    pub(crate) clients: Vec<ClientObs>,
    /// The proxy's acc records, normalised, in order.
    pub(crate) acc: Vec<String>,
}

impl Observation {
    pub(crate) fn client(&self, name: &str) -> Result<&ClientObs, String> {
        self.clients
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("no client {name} in the observation"))
    }

    /// The observation as lines, each one self-describing:
    /// `client: exit N`, `client <- START [CSeq]`,
    /// `client <- START [CSeq] | Header: value`,
    /// `client <- START [CSeq] | body: line`,
    /// `client <- START [CSeq] | copies: N` (retransmissions, when N > 1),
    /// and `acc: RECORD` for each acc record the proxy logged.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.clients {
            let exit = c
                .exit
                .map_or("killed at the time limit".into(), |e| e.to_string());
            out.push(format!("{}: exit {exit}", c.name));
            for m in &c.received {
                let prefix = message_prefix(&c.name, m);
                out.push(prefix.clone());
                for (n, v) in &m.headers {
                    out.push(format!("{prefix} | {n}: {v}"));
                }
                for l in &m.body {
                    out.push(format!("{prefix} | body: {l}"));
                }
                if m.at.len() > 1 {
                    out.push(format!("{prefix} | copies: {}", m.at.len()));
                }
            }
        }
        for a in &self.acc {
            out.push(format!("acc: {a}"));
        }
        out
    }

    /// When each received message first came, keyed
    /// `client <- START [CSeq]` (its retransmissions are counted in
    /// [`Observation::lines`]).
    pub(crate) fn times(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for c in &self.clients {
            for m in &c.received {
                if let Some(t) = m.at.first() {
                    out.push((message_prefix(&c.name, m), *t));
                }
            }
        }
        out
    }

    pub(crate) fn render(&self) -> String {
        let mut s = format!("# {}\n", self.scenario);
        for l in self.lines() {
            let _ = writeln!(s, "{l}");
        }
        s
    }
}

fn message_prefix(client: &str, m: &Msg) -> String {
    let cseq = m.header("CSeq").first().copied().unwrap_or("").to_string();
    format!("{client} <- {} [{cseq}]", m.start)
}

// --- comparison ------------------------------------------------------------------

/// What a timer sends comes at least this long after the client began
/// (everything else is an immediate answer on loopback).
pub(crate) const TIMER_DRIVEN: f64 = 1.0;

/// The messages that `a` (Kamailio) or `b` received timer-driven (first
/// at [`TIMER_DRIVEN`] or later on either side) whose first arrivals
/// differ by more than 10 % of Kamailio's time, or that only one side
/// received: one text per mismatch. (A message only one side has is also
/// a line difference.) A 408 that came early fails here.
pub(crate) fn timing_mismatches(a: &Observation, b: &Observation) -> Vec<String> {
    let (ta, tb) = (a.times(), b.times());
    let find = |v: &[(String, f64)], k: &str| v.iter().find(|(key, _)| key == k).map(|&(_, t)| t);
    let mut out = Vec::new();
    for (k, t) in &ta {
        match find(&tb, k) {
            Some(u) if (*t >= TIMER_DRIVEN || u >= TIMER_DRIVEN) && (u - t).abs() > 0.1 * t => {
                out.push(format!(
                    "{k}: at {t:.2} s, here at {u:.2} s (over 10 % apart)"
                ));
            }
            None if *t >= TIMER_DRIVEN => out.push(format!("{k}: at {t:.2} s, never here")),
            _ => {}
        }
    }
    for (k, u) in &tb {
        if *u >= TIMER_DRIVEN && find(&ta, k).is_none() {
            out.push(format!("{k}: only here, at {u:.2} s"));
        }
    }
    out
}

/// A line only one side has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Diff {
    OnlyKamailio(String),
    OnlyOurs(String),
}

/// The lines of `a` (Kamailio) and `b` (ours) outside their longest
/// common subsequence.
pub(crate) fn diff(a: &[String], b: &[String]) -> Vec<Diff> {
    cfgc_test_support::line_diff(a, b)
        .into_iter()
        .map(|(kamailio, l)| {
            if kamailio {
                Diff::OnlyKamailio(l)
            } else {
                Diff::OnlyOurs(l)
            }
        })
        .collect()
}

/// One allowed difference (an entry of `differences.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Allowed {
    /// A scenario name, or `*` for every scenario.
    pub(crate) scenario: String,
    /// An observation line only Kamailio's run has.
    #[serde(default)]
    pub(crate) kamailio: Option<String>,
    /// An observation line only our run has.
    #[serde(default)]
    pub(crate) ours: Option<String>,
    /// Why the difference is fine (required, non-empty).
    pub(crate) why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Differences {
    #[serde(default)]
    pub(crate) difference: Vec<Allowed>,
}

impl Differences {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let d: Differences = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, a) in d.difference.iter().enumerate() {
            if a.why.trim().is_empty() {
                return Err(format!("difference #{}: `why` is empty", i + 1));
            }
            if a.kamailio.is_none() && a.ours.is_none() {
                return Err(format!(
                    "difference #{}: needs `kamailio` or `ours` (the line)",
                    i + 1
                ));
            }
        }
        Ok(d)
    }

    pub(crate) fn load() -> Result<Self, String> {
        let path = differences_file();
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The differences of one scenario that no entry allows, and the
    /// indices of the entries used.
    pub(crate) fn unexplained(&self, scenario: &str, diffs: &[Diff]) -> (Vec<Diff>, Vec<usize>) {
        let mut used = Vec::new();
        let mut left = Vec::new();
        for d in diffs {
            let hit = self.difference.iter().position(|a| {
                (a.scenario == "*" || a.scenario == scenario)
                    && match d {
                        Diff::OnlyKamailio(l) => a.kamailio.as_deref() == Some(l.as_str()),
                        Diff::OnlyOurs(l) => a.ours.as_deref() == Some(l.as_str()),
                    }
            });
            match hit {
                Some(i) => used.push(i),
                None => left.push(d.clone()),
            }
        }
        (left, used)
    }
}

//! A real client (issue 12): two headless baresip 1.0.0 (Debian's
//! `baresip` package) register with a username and password through the
//! stock `/etc/kamailio/kamailio.cfg` with `WITH_MYSQL WITH_AUTH
//! WITH_USRLOCDB` on MariaDB (subscribers added by `kamctl add`), and alice
//! calls bob through the proxy: bob answers by himself (`answermode=auto`),
//! alice hangs up, bob sees the BYE.
//!
//! The same scenario runs on `kamailio -f`, cfgc's compiled proxy and the
//! interpreter, each on a fresh database of its own, and what each
//! baresip saw (its SIP trace, `baresip -s`) and what usrloc wrote to the
//! `location` table are compared with Kamailio's.
//!
//! baresip is driven through its `ctrl_tcp` module (netstring JSON
//! commands and events on a TCP socket of its own): the accounts are
//! created with `uanew` once the test listens to the events, so that no
//! `REGISTER_OK` can come before the test is there to see it. No sound
//! card: the audio comes from `ausine` and goes to `aubridge`.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, free_port, tail};
use tests::db::{Backend, DbUser, FreshDb};
use tests::digest::{nonce_shape, param};

const USER: DbUser = DbUser {
    name: "cfgc_baresip",
    password: "cfgc-baresip-pw",
};

/// The bound of every wait.
const WAIT: Duration = Duration::from_secs(15);

/// Where Debian's baresip-core installs its modules.
const MODULES: &str = "/usr/lib/baresip/modules";

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("baresip")
}

/// A fresh MariaDB database with what `kamdbctl create` makes for the
/// defines (the standard, subscriber and location tables), alice and bob
/// added by the operator's `kamctl add`.
fn fresh(name: &str) -> FreshDb {
    let db = FreshDb::new(
        Backend::Mysql,
        name,
        &[
            "standard-create.sql",
            "auth_db-create.sql",
            "usrloc-create.sql",
        ],
        USER,
        &tmp(),
    );
    for (u, pw) in [("alice", "alice-pw"), ("bob", "bob-pw")] {
        db.kamctl(&["add", &format!("{u}@127.0.0.1"), pw]);
    }
    db
}

/// The value of `"key":"..."` in one of ctrl_tcp's JSON objects (its
/// values hold no escaped quotes).
fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let at = json.find(&pat)? + pat.len();
    let len = json[at..].find('"')?;
    Some(&json[at..at + len])
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One headless baresip with its own config directory, its output (the
/// SIP trace included) in `DIR/log`, and a connection to its ctrl_tcp
/// socket. Dropping it kills its process group.
struct Baresip {
    name: &'static str,
    log: PathBuf,
    ctrl: TcpStream,
    rx: Receiver<String>,
    /// Every message ctrl_tcp sent so far (events and responses).
    seen: Vec<String>,
    token: u32,
    _guard: GroupGuard,
}

impl Baresip {
    /// Starts it in `dir` (made afresh), SIP on 127.0.0.1 (UDP, TCP and
    /// TLS on ports the kernel picks), no account yet.
    ///
    /// # Panics
    /// baresip is not installed, exits, or opens no ctrl_tcp socket
    /// within [`WAIT`].
    fn start(name: &'static str, dir: &Path) -> Self {
        assert!(
            Path::new(MODULES).join("ctrl_tcp.so").exists(),
            "{MODULES}/ctrl_tcp.so is missing: apt-get install baresip"
        );
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("baresip dir");
        let ctrl_port = free_port();
        // `sip_listen` with port 0: baresip binds UDP, TCP and TLS (on
        // the next port when one is given) where the kernel says.
        // `net_interface`: the SDP's address is 127.0.0.1 too;
        // `dns_server`: not the host's resolver (every address is an IP
        // address, nothing is looked up). ausine
        // only runs at 48 kHz in stereo (resampled for PCMU).
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:0\n\
             net_interface 127.0.0.1\n\
             dns_server 127.0.0.1:53\n\
             call_local_timeout 120\n\
             audio_player aubridge,nil\n\
             audio_alert aubridge,nil\n\
             audio_source ausine,440\n\
             ausrc_srate 48000\n\
             auplay_srate 48000\n\
             ausrc_channels 2\n\
             statmode_default off\n\
             module_path {MODULES}\n\
             module g711.so\n\
             module ausine.so\n\
             module aubridge.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n"
        );
        std::fs::write(dir.join("config"), config).expect("config");
        std::fs::write(dir.join("accounts"), "").expect("accounts");
        let log = dir.join("log");
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .arg("-s")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run baresip ({e}): apt-get install baresip"));
        let mut guard = GroupGuard::new(child).grace(Duration::from_millis(500));
        let deadline = Instant::now() + WAIT;
        let ctrl = loop {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", ctrl_port)) {
                break s;
            }
            if let Some(status) = guard.try_wait() {
                panic!("baresip {name} exited ({status}):\n{}", tail(&log, 30));
            }
            assert!(
                Instant::now() < deadline,
                "baresip {name}: no ctrl_tcp socket on {ctrl_port} within {WAIT:?}:\n{}",
                tail(&log, 30)
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let (tx, rx) = channel();
        let mut reader = ctrl.try_clone().expect("ctrl");
        std::thread::spawn(move || {
            // Netstrings: `LEN:PAYLOAD,`.
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(colon) = buf.iter().position(|&b| b == b':') {
                    let Some(len) = std::str::from_utf8(&buf[..colon])
                        .ok()
                        .and_then(|l| l.trim().parse::<usize>().ok())
                    else {
                        return;
                    };
                    if buf.len() < colon + 1 + len + 1 {
                        break;
                    }
                    let payload = String::from_utf8_lossy(&buf[colon + 1..colon + 1 + len]);
                    if tx.send(payload.into_owned()).is_err() {
                        return;
                    }
                    buf.drain(..colon + 1 + len + 1);
                }
            }
        });
        Self {
            name,
            log,
            ctrl,
            rx,
            seen: Vec::new(),
            token: 0,
            _guard: guard,
        }
    }

    /// What went wrong, with what baresip said.
    fn context(&self) -> String {
        format!(
            "baresip {}: ctrl_tcp messages: {:#?}\nits log ({}):\n{}",
            self.name,
            self.seen,
            self.log.display(),
            tail(&self.log, 80)
        )
    }

    /// The first message (seen already or coming within [`WAIT`]) that
    /// `want` accepts; a panic at once if one that `fail` accepts comes
    /// first.
    fn until(
        &mut self,
        what: &str,
        want: impl Fn(&str) -> bool,
        fail: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + WAIT;
        let mut i = 0;
        loop {
            while i < self.seen.len() {
                let m = &self.seen[i];
                if want(m) {
                    return m.clone();
                }
                assert!(!fail(m), "{what}: came instead {m}\n{}", self.context());
                i += 1;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => self.seen.push(m),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{what}: nothing within {WAIT:?}\n{}", self.context())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{what}: ctrl_tcp closed\n{}", self.context())
                }
            }
        }
    }

    /// Runs a command (`uanew`, `dial`, `hangup`); its response, which
    /// must be `ok`.
    fn command(&mut self, command: &str, params: &str) -> String {
        self.token += 1;
        let token = format!("t{}", self.token);
        let json = format!(
            "{{\"command\":{},\"params\":{},\"token\":{}}}",
            json_string(command),
            json_string(params),
            json_string(&token)
        );
        self.ctrl
            .write_all(format!("{}:{json},", json.len()).as_bytes())
            .expect("ctrl_tcp write");
        let what = format!("baresip {}: `{command} {params}`", self.name);
        let r = self.until(
            &what,
            |m| m.contains("\"response\":true") && field(m, "token") == Some(&token),
            |_| false,
        );
        assert!(
            r.contains("\"ok\":true"),
            "{what} failed: {r}\n{}",
            self.context()
        );
        r
    }

    /// The first event of `kind` (within [`WAIT`]); a panic if an event
    /// of a kind in `fail` comes first.
    fn event(&mut self, kind: &str, fail: &[&str]) -> String {
        let is = |m: &str, k: &str| m.contains("\"event\":true") && field(m, "type") == Some(k);
        let what = format!("baresip {}: event {kind}", self.name);
        self.until(&what, |m| is(m, kind), |m| fail.iter().any(|f| is(m, f)))
    }

    /// The SIP messages of its trace so far.
    fn trace(&self, proxy_port: u16) -> Vec<TraceMsg> {
        trace(
            &std::fs::read_to_string(&self.log).unwrap_or_default(),
            proxy_port,
        )
    }

    /// Its trace once it holds `entry` (within [`WAIT`]).
    fn trace_until(&self, proxy_port: u16, entry: &str) -> Vec<TraceMsg> {
        let deadline = Instant::now() + WAIT;
        loop {
            let t = self.trace(proxy_port);
            if t.iter().any(|m| m.entry == entry) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "baresip {}: `{entry}` not in its SIP trace within {WAIT:?}: {:#?}\n{}",
                self.name,
                t.iter().map(|m| &m.entry).collect::<Vec<_>>(),
                self.context()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One message of a `baresip -s` trace.
#[derive(Debug, Clone)]
struct TraceMsg {
    /// `sent INVITE`, `recv 407 INVITE` (the status code and the CSeq's
    /// method), `sent 200 BYE`...
    entry: String,
    /// The entry with what the proxy chose: the reason phrase, the
    /// number of Vias, Max-Forwards, the Record-Route, Route, Server and
    /// challenge headers (the proxy's address as `<proxy>`, nonces by
    /// shape).
    detail: String,
    /// The client's own address (`127.0.0.1:PORT`).
    local: String,
}

/// The messages of a trace (`UDP FROM -> TO` then the message), seen
/// from the client: `sent` when it went to the proxy on `proxy_port`.
fn trace(text: &str, proxy_port: u16) -> Vec<TraceMsg> {
    let proxy = format!("127.0.0.1:{proxy_port}");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((from, to)) = l.strip_prefix("UDP ").and_then(|r| r.split_once(" -> ")) else {
            continue;
        };
        let (dir, local) = if to == proxy {
            ("sent", from)
        } else if from == proxy {
            ("recv", to)
        } else {
            ("elsewhere", from)
        };
        let Some(start) = lines.get(i + 1) else {
            continue;
        };
        let headers: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| !l.is_empty())
            .copied()
            .collect();
        if i + 1 + headers.len() >= lines.len() {
            // Not all written yet (no empty line after the headers).
            continue;
        }
        let cseq = headers
            .iter()
            .find_map(|h| h.strip_prefix("CSeq:"))
            .and_then(|v| v.split_whitespace().nth(1))
            .unwrap_or("?");
        let entry = match start.strip_prefix("SIP/2.0 ") {
            Some(status) => format!(
                "{dir} {} {cseq}",
                status.split_whitespace().next().unwrap_or("?")
            ),
            None => format!("{dir} {}", start.split_whitespace().next().unwrap_or("?")),
        };
        let mut detail = entry.clone();
        if let Some(status) = start.strip_prefix("SIP/2.0 ") {
            detail.push_str(&format!(" | {status}"));
        }
        let vias = headers
            .iter()
            .filter(|h| h.to_ascii_lowercase().starts_with("via:"))
            .count();
        detail.push_str(&format!(" | via={vias}"));
        for h in &headers[1..] {
            let name = h.split(':').next().unwrap_or("").to_ascii_lowercase();
            if matches!(
                name.as_str(),
                "max-forwards"
                    | "record-route"
                    | "route"
                    | "server"
                    | "www-authenticate"
                    | "proxy-authenticate"
            ) {
                let h = match param(h, "nonce") {
                    Some(n) => h.replace(&n, &nonce_shape(&n)),
                    None => (*h).to_string(),
                };
                detail.push_str(&format!(" | {}", h.replace(&proxy, "<proxy>")));
            }
        }
        out.push(TraceMsg {
            entry,
            detail,
            local: local.to_string(),
        });
    }
    out
}

/// Asserts that `want` is a subsequence of `trace`'s entries.
fn assert_in_order(who: &str, name: &str, trace: &[TraceMsg], want: &[&str]) {
    let mut it = trace.iter().map(|m| m.entry.as_str());
    for w in want {
        assert!(
            it.any(|e| e == *w),
            "{who}: {name}'s SIP trace lacks `{w}` (in order {want:#?}): {:#?}",
            trace.iter().map(|m| &m.entry).collect::<Vec<_>>()
        );
    }
}

/// What one run showed: each baresip's SIP trace (the messages'
/// [`TraceMsg::detail`], as a set: retransmissions are timing) and the
/// location rows (normalised).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    alice: BTreeSet<String>,
    bob: BTreeSet<String>,
    location: Vec<String>,
}

/// `who` (`kamailio`, `compiled`, `interpreted`) on the stock config with
/// its database defines, on a fresh database: both register, alice calls
/// bob, bob answers, alice hangs up.
fn scenario(who: &str) -> Outcome {
    let t0 = Instant::now();
    let db = fresh(&format!("cfgc_baresip_{who}"));
    let stock = Path::new(tests::STOCK_CFG);
    let defines = [
        ("WITH_MYSQL".to_string(), "1".to_string()),
        ("WITH_AUTH".to_string(), "1".to_string()),
        ("WITH_USRLOCDB".to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{}\"", db.url())),
    ];
    let interp = Path::new(env!("CARGO_BIN_EXE_interp-proxy"));
    let (proxy, port) = if who == "kamailio" {
        tests::start_contender(who, stock, &defines, "baresip-stock", interp)
    } else {
        // Its own run directory (the ctl and jsonrpcs sockets), as in
        // auth_db's stock test.
        let rundir = tmp().join(format!("run-{who}"));
        std::fs::create_dir_all(&rundir).expect("rundir");
        let extra = ["-Y".as_ref(), rundir.as_os_str()];
        if who == "compiled" {
            let refs: Vec<(&str, &str)> = defines
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let bin = tests::build_proxy(stock, &refs, "baresip-stock");
            tests::start_ours(&bin, None, &extra, Duration::from_secs(20))
        } else {
            let mut c = Command::new(interp);
            for (n, v) in &defines {
                c.arg("-A").arg(format!("{n}={v}"));
            }
            c.arg(stock).arg("--");
            tests::start_command(c, &extra, Duration::from_secs(20))
        }
    };
    let t_proxy = t0.elapsed();
    let dir = tmp().join(who);
    let mut alice = Baresip::start("alice", &dir.join("alice"));
    let mut bob = Baresip::start("bob", &dir.join("bob"));
    let domain = format!("127.0.0.1:{port}");

    // Both register, challenged (401) then with their password.
    alice.command(
        "uanew",
        &format!(
            "<sip:alice@{domain};transport=udp>;auth_user=alice;auth_pass=alice-pw;regint=600"
        ),
    );
    bob.command(
        "uanew",
        &format!(
            "<sip:bob@{domain};transport=udp>;auth_user=bob;auth_pass=bob-pw;regint=600;\
             answermode=auto"
        ),
    );
    for b in [&mut alice, &mut bob] {
        let ok = b.event("REGISTER_OK", &["REGISTER_FAIL"]);
        assert_eq!(field(&ok, "param"), Some("200 OK"), "{who}: {ok}");
    }

    // alice calls bob through the proxy; bob answers by himself.
    alice.command("dial", &format!("sip:bob@{domain}"));
    let b_est = bob.event("CALL_ESTABLISHED", &["CALL_CLOSED"]);
    assert_eq!(
        field(&b_est, "direction"),
        Some("incoming"),
        "{who}: {b_est}"
    );
    assert_eq!(
        field(&b_est, "peeruri"),
        Some(format!("sip:alice@{domain}").as_str()),
        "{who}: bob's call is from alice: {b_est}"
    );
    let a_est = alice.event("CALL_ESTABLISHED", &["CALL_CLOSED"]);
    assert_eq!(
        field(&a_est, "direction"),
        Some("outgoing"),
        "{who}: {a_est}"
    );
    assert_eq!(
        field(&a_est, "id"),
        field(&b_est, "id"),
        "{who}: one call (its Call-ID) on both sides"
    );

    // The SDP crossed the proxy intact: each receives the other's RTP.
    for b in [&mut alice, &mut bob] {
        b.event("CALL_RTPESTAB", &["CALL_CLOSED"]);
    }

    // alice hangs up; bob's call is closed by her BYE ("reset by peer").
    alice.command("hangup", "");
    let a_closed = alice.event("CALL_CLOSED", &[]);
    assert_eq!(field(&a_closed, "id"), field(&a_est, "id"), "{who}");
    let b_closed = bob.event("CALL_CLOSED", &[]);
    assert_eq!(
        field(&b_closed, "param"),
        Some("Connection reset by peer"),
        "{who}: bob's call ends with alice's BYE: {b_closed}\n{}",
        bob.context()
    );

    // The SIP each saw: digest challenges answered, the call set up
    // through the proxy (with the ACK), the BYE answered.
    let a_trace = alice.trace_until(port, "recv 200 BYE");
    let b_trace = bob.trace_until(port, "sent 200 BYE");
    assert_in_order(
        who,
        "alice",
        &a_trace,
        &[
            "sent REGISTER",
            "recv 401 REGISTER",
            "sent REGISTER",
            "recv 200 REGISTER",
            "sent INVITE",
            "recv 407 INVITE",
            "sent ACK",
            "sent INVITE",
            "recv 180 INVITE",
            "recv 200 INVITE",
            "sent ACK",
            "sent BYE",
            "recv 200 BYE",
        ],
    );
    assert_in_order(
        who,
        "bob",
        &b_trace,
        &[
            "sent REGISTER",
            "recv 401 REGISTER",
            "sent REGISTER",
            "recv 200 REGISTER",
            "recv INVITE",
            "sent 180 INVITE",
            "sent 200 INVITE",
            "recv ACK",
            "recv BYE",
            "sent 200 BYE",
        ],
    );
    let t_call = t0.elapsed();

    // usrloc db_mode 2 writes the bindings at the latest when the proxy
    // stops; stopped before the clients, which unregister when they stop.
    proxy.stop().expect("proxy stopped");
    let rows = db.rows(
        "select username, contact, received, path, q, flags, cflags, user_agent, socket, \
         methods, instance, reg_id from location order by username;",
    );
    let mut location = Vec::new();
    for (name, t) in [("alice", &a_trace), ("bob", &b_trace)] {
        let local = &t.first().expect("a trace").local;
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{who}: no location row of {name}: {rows:#?}"));
        // baresip's Contact: `sip:alice-0x<its UA's address>@127.0.0.1:PORT`.
        let contact = row.split('\t').nth(1).unwrap_or("");
        assert!(
            contact.starts_with(&format!("sip:{name}-0x"))
                && contact.ends_with(&format!("@{local}")),
            "{who}: {name}'s binding is baresip's contact on {local}: {row}"
        );
        let hex = &contact[format!("sip:{name}-0x").len()..contact.len() - local.len() - 1];
        location.push(
            row.replace(hex, "<ua>")
                .replace(local.as_str(), "<client>")
                .replace(&domain, "<proxy>"),
        );
    }
    assert_eq!(rows.len(), 2, "{who}: two bindings: {rows:#?}");
    drop((alice, bob));
    eprintln!(
        "{who}: proxy up after {:.1} s, registered and called by {:.1} s, done in {:.1} s",
        t_proxy.as_secs_f64(),
        t_call.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    Outcome {
        alice: a_trace.into_iter().map(|m| m.detail).collect(),
        bob: b_trace.into_iter().map(|m| m.detail).collect(),
        location,
    }
}

/// baresip registers with its password through the stock config, calls a
/// second baresip, the call is answered and torn down: through
/// `kamailio -f`, the compiled proxy and the interpreter alike.
#[test]
fn baresip_registers_and_calls_through_the_stock_config_like_kamailio() {
    let theirs = scenario("kamailio");
    for who in ["compiled", "interpreted"] {
        let ours = scenario(who);
        assert_eq!(
            ours, theirs,
            "{who} vs kamailio (SIP traces, location rows)"
        );
    }
    eprintln!("{theirs:#?}");
}

#[test]
fn a_baresip_trace_is_read() {
    let text = "\x1b[36;1m#\nUDP 127.0.0.1:4000 -> 127.0.0.1:5060\n\
                INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\nCSeq: 7 INVITE\r\n\r\nv=0\r\n\
                \x1b[;m\n\x1b[36;1m#\nUDP 127.0.0.1:5060 -> 127.0.0.1:4000\n\
                SIP/2.0 407 Proxy Authentication Required\r\nCSeq: 7 INVITE\r\n\r\n\x1b[;m\n";
    let t = trace(text, 5060);
    let entries: Vec<&str> = t.iter().map(|m| m.entry.as_str()).collect();
    assert_eq!(entries, ["sent INVITE", "recv 407 INVITE"]);
    assert!(t.iter().all(|m| m.local == "127.0.0.1:4000"));
    assert_eq!(
        field(r#"{"event":true,"type":"CALL_CLOSED","param":"x"}"#, "type"),
        Some("CALL_CLOSED")
    );
}

//! Scale-out (issue 12): two proxies share one PostgreSQL database, the
//! stock config's subscriber table and its location table in usrloc
//! `db_mode` 3 (DB-only). A phone registers through one proxy, and a call
//! sent to the other reaches it; both authenticate (REGISTER on one,
//! INVITE on the other, and the other way round); the call's ACK and BYE
//! follow the Record-Route back through the proxy that relayed it; an
//! unregistration through one proxy is seen by the other at once.
//!
//! The pairs: two of cfgc's compiled proxies, then a mixed cluster of
//! `kamailio -f` and ours each way round (an operator moving a cluster
//! over one box at a time runs exactly that). The config is the stock
//! `kamailio.cfg` read from where Debian installs it, with
//! `WITH_MYSQL WITH_AUTH WITH_USRLOCDB`, made to use PostgreSQL and
//! `db_mode` 3 by two line edits in a copy under the test's temporary
//! directory (its `loadmodule "db_mysql.so"` and its `db_mode` 2).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir};
use runtime::modules::auth::digest::Algorithm;
use tests::db::{Backend, DbUser, FreshDb};
use tests::digest::{Answer, param};

const USER: DbUser = DbUser {
    name: "cfgc_scaleout",
    password: "cfgc-scaleout-pw",
};

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("scale_out")
}

/// The stock config on PostgreSQL in `db_mode` 3, written under `tmp()`.
fn cfg() -> PathBuf {
    let text = std::fs::read_to_string(tests::STOCK_CFG).expect("the stock config");
    let edits = [
        (
            "loadmodule \"db_mysql.so\"",
            "loadmodule \"db_postgres.so\"",
        ),
        (
            "modparam(\"usrloc\", \"db_mode\", 2)",
            "modparam(\"usrloc\", \"db_mode\", 3)",
        ),
    ];
    let mut out = text.clone();
    for (from, to) in edits {
        assert_eq!(
            out.matches(from).count(),
            1,
            "the stock config has one `{from}`"
        );
        out = out.replace(from, to);
    }
    std::fs::create_dir_all(tmp()).expect("tmp");
    let p = tmp().join("kamailio-pg-dbmode3.cfg");
    std::fs::write(&p, out).expect("cfg written");
    p
}

/// A phone: one UDP socket it sends from and is reached at.
struct Phone {
    user: &'static str,
    password: &'static str,
    sock: UdpSocket,
    port: u16,
}

impl Phone {
    fn new(user: &'static str, password: &'static str) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("phone socket");
        let port = sock.local_addr().expect("addr").port();
        Self {
            user,
            password,
            sock,
            port,
        }
    }

    fn send(&self, to: u16, msg: &str) {
        self.sock
            .send_to(msg.as_bytes(), ("127.0.0.1", to))
            .expect("sent");
    }

    /// The next message for which `want` holds (others skipped), within
    /// 5 s.
    fn recv(&self, want: impl Fn(&str) -> bool) -> Option<String> {
        let t0 = Instant::now();
        let mut buf = [0u8; 65536];
        while t0.elapsed() < Duration::from_secs(5) {
            self.sock
                .set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
            if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                if want(&m) {
                    return Some(m);
                }
            }
        }
        None
    }

    /// The final reply to the request of `call_id` and `cseq` (1xx
    /// skipped), as its status line and the message.
    fn final_reply(&self, call_id: &str, cseq: &str) -> (String, String) {
        let m = self
            .recv(|m| {
                m.starts_with("SIP/2.0 ")
                    && !m.starts_with("SIP/2.0 1")
                    && header(m, "Call-ID").as_deref() == Some(call_id)
                    && header(m, "CSeq").as_deref() == Some(cseq)
            })
            .unwrap_or_default();
        (m.lines().next().unwrap_or("no reply").to_string(), m)
    }

    /// Sends a request (retransmitted every 500 ms, up to 5 times, until
    /// a final reply) and gives that reply.
    fn transact(&self, to: u16, msg: &str) -> (String, String) {
        let call_id = header(msg, "Call-ID").expect("Call-ID");
        let cseq = header(msg, "CSeq").expect("CSeq");
        for _ in 0..5 {
            self.send(to, msg);
            let t0 = Instant::now();
            let mut buf = [0u8; 65536];
            while t0.elapsed() < Duration::from_millis(500) {
                self.sock
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .expect("timeout");
                if let Ok((n, _)) = self.sock.recv_from(&mut buf) {
                    let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if m.starts_with("SIP/2.0 ")
                        && !m.starts_with("SIP/2.0 1")
                        && header(&m, "Call-ID").as_deref() == Some(call_id.as_str())
                        && header(&m, "CSeq").as_deref() == Some(cseq.as_str())
                    {
                        return (m.lines().next().unwrap_or("").to_string(), m);
                    }
                }
            }
        }
        ("no reply".to_string(), String::new())
    }

    /// A request from this phone through the proxy on `proxy`.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        proxy: u16,
        method: &str,
        ruri: &str,
        to_user: &str,
        call_id: &str,
        cseq: u32,
        extra: &[String],
    ) -> String {
        let p = self.port;
        let u = self.user;
        let extra: String = extra.iter().map(|h| format!("{h}\r\n")).collect();
        format!(
            "{method} {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK-{call_id}-{cseq}-{method};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{u}@127.0.0.1:{proxy}>;tag=tag-{u}-{call_id}\r\n\
To: <sip:{to_user}@127.0.0.1:{proxy}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:{u}@127.0.0.1:{p}>\r\n\
{extra}Content-Length: 0\r\n\r\n"
        )
    }

    /// A request sent, challenged (401/407), and sent again with the
    /// phone's credentials for that challenge: both replies' status
    /// lines, and the last reply.
    fn authenticated(
        &self,
        proxy: u16,
        method: &str,
        ruri: &str,
        to_user: &str,
        call_id: &str,
        extra: &[String],
    ) -> (String, String, String) {
        let (first, challenge) = self.transact(
            proxy,
            &self.request(proxy, method, ruri, to_user, call_id, 1, extra),
        );
        let (name, header_name) = if first.starts_with("SIP/2.0 407") {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let h = header(&challenge, name).unwrap_or_default();
        let nonce = param(&h, "nonce").unwrap_or_default();
        let realm = param(&h, "realm").unwrap_or_default();
        let creds = Answer {
            alg: Algorithm::Md5,
            header: header_name,
            user: self.user,
            realm: &realm,
            password: self.password,
            nonce: &nonce,
            uri: ruri.to_string(),
            method,
            qop: None,
        }
        .header();
        let mut extra = extra.to_vec();
        extra.push(creds);
        let req = self.request(proxy, method, ruri, to_user, call_id, 2, &extra);
        if method == "INVITE" {
            // The callee is the test's: the INVITE is not retransmitted
            // here (the proxy's transaction does that toward it).
            self.send(proxy, &req);
            return (first, String::new(), req);
        }
        let (second, reply) = self.transact(proxy, &req);
        (first, second, reply)
    }

    /// Answers `req` (a request this phone received) with `status`,
    /// a To tag of its own and its Contact.
    fn answer(&self, req: &str, status: &str) {
        let mut reply = format!("SIP/2.0 {status}\r\n");
        for l in req.lines() {
            let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
            match name.as_str() {
                "via" | "from" | "call-id" | "cseq" | "record-route" => {
                    reply.push_str(l);
                    reply.push_str("\r\n");
                }
                "to" if !l.contains("tag=") => {
                    reply.push_str(l);
                    reply.push_str(&format!(";tag=tag-{}\r\n", self.user));
                }
                "to" => {
                    reply.push_str(l);
                    reply.push_str("\r\n");
                }
                _ => {}
            }
        }
        reply.push_str(&format!(
            "Contact: <sip:{}@127.0.0.1:{}>\r\nContent-Length: 0\r\n\r\n",
            self.user, self.port
        ));
        // To the top Via's address (the proxy's).
        let via = header(req, "Via").unwrap_or_default();
        let hostport = via
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.split(';').next())
            .unwrap_or("");
        let port: u16 = hostport
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(5060);
        self.send(port, &reply);
    }
}

/// The first value of header `name` (case-insensitive) of `m`.
fn header(m: &str, name: &str) -> Option<String> {
    m.lines()
        .take_while(|l| !l.is_empty())
        .skip(1)
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
}

/// One proxy of the pair: `kamailio` or `compiled`.
fn start(who: &str, cfg: &Path, defines: &[(String, String)], bin: &Path) -> (GroupGuard, u16) {
    let port = free_port();
    let rundir = tmp().join(format!("{who}-{port}"));
    std::fs::create_dir_all(&rundir).expect("rundir");
    if who == "kamailio" {
        let mut k = Kamailio::new(cfg, format!("udp:127.0.0.1:{port}"), &rundir)
            .module_dir(Some(module_dir()));
        for (n, v) in defines {
            k = k.define(format!("{n}={v}"));
        }
        let mut g = k
            .start(Stdio::null(), Stdio::null())
            .expect("kamailio runs (apt-get install kamailio)");
        g.wait_bound(port, "kamailio", Duration::from_secs(20))
            .expect("kamailio listens");
        (g, port)
    } else {
        tests::start_ours(
            bin,
            None,
            &["-Y".as_ref(), rundir.as_os_str()],
            Duration::from_secs(20),
        )
    }
}

/// A call from `caller` through the proxy on `via` to `callee`: the
/// lines of what happened (statuses, what reached the callee).
fn call(caller: &Phone, callee: &Phone, via: u16, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let call_id = format!("call-{tag}");
    let ruri = format!("sip:{}@127.0.0.1:{via}", callee.user);
    let (challenge, _, _) = caller.authenticated(via, "INVITE", &ruri, callee.user, &call_id, &[]);
    out.push(format!("INVITE: {challenge}"));
    // The authenticated INVITE reaches the callee, located in the shared
    // table.
    let Some(got) = callee.recv(|m| m.starts_with("INVITE ")) else {
        out.push("callee: no INVITE".to_string());
        return out;
    };
    out.push(format!("callee got: {}", got.lines().next().unwrap_or("")));
    callee.answer(&got, "200 OK");
    let (status, ok) = caller.final_reply(&call_id, "2 INVITE");
    out.push(format!("caller got: {status}"));
    // ACK and BYE along the Record-Route, to the callee's Contact.
    let route = header(&ok, "Record-Route").unwrap_or_default();
    out.push(format!(
        "record-routed by the proxy called: {}",
        route.contains(&format!("127.0.0.1:{via}"))
    ));
    let contact = header(&ok, "Contact").unwrap_or_default();
    let target = contact
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or("");
    let to = header(&ok, "To").unwrap_or_default();
    let in_dialog = |method: &str, cseq: u32| {
        let r = caller.request(
            via,
            method,
            target,
            callee.user,
            &call_id,
            cseq,
            &[format!("Route: {route}")],
        );
        // The To header with the callee's tag.
        r.replace(
            &format!("To: <sip:{}@127.0.0.1:{via}>", callee.user),
            &format!("To: {to}"),
        )
    };
    caller.send(via, &in_dialog("ACK", 2));
    let ack = callee.recv(|m| m.starts_with("ACK "));
    out.push(format!(
        "callee got: {}",
        ack.as_deref()
            .and_then(|a| a.lines().next())
            .unwrap_or("no ACK")
    ));
    caller.send(via, &in_dialog("BYE", 3));
    match callee.recv(|m| m.starts_with("BYE ")) {
        Some(bye) => {
            out.push(format!("callee got: {}", bye.lines().next().unwrap_or("")));
            callee.answer(&bye, "200 OK");
            out.push(format!(
                "caller got: {}",
                caller.final_reply(&call_id, "3 BYE").0
            ));
        }
        None => out.push("callee: no BYE".to_string()),
    }
    out
}

/// Everything between the pair (`a`, `b` on their ports) and the
/// database.
fn scenario(db: &FreshDb, a: u16, b: u16, run: &str) -> Vec<String> {
    let alice = Phone::new("alice", "alice-pw");
    let bob = Phone::new("bob", "bob-pw");
    let mut out = Vec::new();
    let expires = ["Expires: 600".to_string()];
    // alice registers through A, bob through B: each challenged, then 200.
    for (phone, proxy, name) in [(&alice, a, "A"), (&bob, b, "B")] {
        let (first, second, _) = phone.authenticated(
            proxy,
            "REGISTER",
            &format!("sip:127.0.0.1:{proxy}"),
            phone.user,
            &format!("reg-{}-{run}", phone.user),
            &expires,
        );
        out.push(format!(
            "{} REGISTER via {name}: {first} / {second}",
            phone.user
        ));
    }
    // One table holds both, each at its phone's address.
    let rows = db.rows("select username, contact from location order by username;");
    out.push(format!(
        "location: {}",
        rows.iter()
            .map(|r| r
                .replace(&alice.port.to_string(), "<alice>")
                .replace(&bob.port.to_string(), "<bob>"))
            .collect::<Vec<_>>()
            .join(" ; ")
    ));
    // bob calls alice through B (she registered through A), alice calls
    // bob through A.
    for l in call(&bob, &alice, b, &format!("b2a-{run}")) {
        out.push(format!("bob->alice via B: {l}"));
    }
    for l in call(&alice, &bob, a, &format!("a2b-{run}")) {
        out.push(format!("alice->bob via A: {l}"));
    }
    // alice unregisters through B; a call through A no longer finds her.
    let (first, second, _) = alice.authenticated(
        b,
        "REGISTER",
        &format!("sip:127.0.0.1:{b}"),
        "alice",
        &format!("unreg-alice-{run}"),
        &["Expires: 0".to_string()],
    );
    out.push(format!("alice unREGISTER via B: {first} / {second}"));
    let (challenge, _, _) = bob.authenticated(
        a,
        "INVITE",
        &format!("sip:alice@127.0.0.1:{a}"),
        "alice",
        &format!("gone-{run}"),
        &[],
    );
    let (status, _) = bob.final_reply(&format!("gone-{run}"), "2 INVITE");
    out.push(format!(
        "bob->alice via A after unregister: {challenge} / {status}"
    ));
    out.push(format!(
        "location after: {}",
        db.rows("select username from location order by username;")
            .join(" ; ")
    ));
    db.sql("delete from location;");
    out
}

#[test]
fn two_proxies_on_one_postgresql_share_bindings_and_subscribers() {
    let db = FreshDb::new(
        Backend::Postgres,
        "cfgc_scaleout",
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
    let cfg = cfg();
    let defines: Vec<(String, String)> = [
        ("WITH_MYSQL", "1".to_string()),
        ("WITH_AUTH", "1".to_string()),
        ("WITH_USRLOCDB", "1".to_string()),
        ("DBURL", format!("\"{}\"", db.url())),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v))
    .collect();
    let refs: Vec<(&str, &str)> = defines
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let bin = tests::build_proxy(&cfg, &refs, "scale-out-pg");
    let want: Vec<String> = [
        "alice REGISTER via A: SIP/2.0 401 Unauthorized / SIP/2.0 200 OK",
        "bob REGISTER via B: SIP/2.0 401 Unauthorized / SIP/2.0 200 OK",
        "location: alice|sip:alice@127.0.0.1:<alice> ; bob|sip:bob@127.0.0.1:<bob>",
    ]
    .into_iter()
    .map(String::from)
    .chain(
        ["bob->alice via B", "alice->bob via A"]
            .into_iter()
            .flat_map(|c| {
                [
                    "INVITE: SIP/2.0 407 Proxy Authentication Required".to_string(),
                    format!(
                        "callee got: INVITE sip:{}@127.0.0.1:<callee> SIP/2.0",
                        if c.starts_with("bob") { "alice" } else { "bob" }
                    ),
                    "caller got: SIP/2.0 200 OK".to_string(),
                    "record-routed by the proxy called: true".to_string(),
                    "callee got: ACK sip:<callee contact> SIP/2.0".to_string(),
                    "callee got: BYE sip:<callee contact> SIP/2.0".to_string(),
                    "caller got: SIP/2.0 200 OK".to_string(),
                ]
                .into_iter()
                .map(move |l| format!("{c}: {l}"))
            }),
    )
    .chain([
        "alice unREGISTER via B: SIP/2.0 401 Unauthorized / SIP/2.0 200 OK".to_string(),
        "bob->alice via A after unregister: SIP/2.0 407 Proxy Authentication Required / \
             SIP/2.0 404 Not Found"
            .to_string(),
        "location after: bob".to_string(),
    ])
    .collect();
    for (n, (wa, wb)) in [
        ("compiled", "compiled"),
        ("kamailio", "compiled"),
        ("compiled", "kamailio"),
    ]
    .into_iter()
    .enumerate()
    {
        let (ga, a) = start(wa, &cfg, &defines, &bin);
        let (gb, b) = start(wb, &cfg, &defines, &bin);
        let got = scenario(&db, a, b, &format!("{n}"));
        ga.stop().expect("A stopped");
        gb.stop().expect("B stopped");
        let got: Vec<String> = got.into_iter().map(|l| normalise(&l)).collect();
        assert_eq!(
            got, want,
            "A {wa}, B {wb}: ours against what the pair should do:\n{got:#?}"
        );
    }
}

/// Ports in request lines made comparable.
fn normalise(l: &str) -> String {
    for (what, m) in [
        ("INVITE", "INVITE sip:"),
        ("ACK", "ACK sip:"),
        ("BYE", "BYE sip:"),
    ] {
        if let Some(i) = l.find(m) {
            let rest = &l[i + m.len()..];
            let uri = rest.split(' ').next().unwrap_or("");
            let shown = if what == "INVITE" {
                format!("{}@127.0.0.1:<callee>", uri.split('@').next().unwrap_or(""))
            } else {
                "<callee contact>".to_string()
            };
            return format!("{}{m}{shown}{}", &l[..i], &rest[uri.len()..]);
        }
    }
    l.to_string()
}

//! The auth module end to end (issue 12): the same cfg
//! (`tests/auth/kamailio.cfg`) run by `kamailio -f`, by cfgc's compiled
//! proxy and by the interpreter, with MD5 and (`WITH_SHA256`) SHA-256;
//! the same requests to each, the replies compared. Challenges (401/407,
//! the `*-Authenticate` header's realm, qop, stale and algorithm; the
//! nonce's shape), answers computed here from each side's own nonce with
//! the right and wrong passwords, forged, malformed, incomplete and
//! mismatched credentials, `Authentication-Info` (its `rspauth` checked
//! here), and nonces gone stale (expired after `nonce_expire` 3 s, from
//! before the start, from the future).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};
use runtime::modules::auth::digest::Algorithm;
use tests::digest::{Answer, forged_nonce, nonce_shape, param, unix_now};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("auth/kamailio.cfg")
}

/// One request: method, From/To user, and its credentials header.
struct Req<'a> {
    step: &'a str,
    method: &'a str,
    user: &'a str,
    auth: Option<String>,
}

/// The reply's status line and its auth headers, in order.
struct Reply {
    status: String,
    headers: Vec<String>,
}

fn send(port: u16, r: &Req<'_>) -> Reply {
    let Req {
        step,
        method,
        user,
        auth,
    } = r;
    let auth = auth
        .as_ref()
        .map(|a| format!("{a}\r\n"))
        .unwrap_or_default();
    let answer = udp_exchange(port, |local| {
        format!(
            "{method} sip:127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{step}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@127.0.0.1>;tag=t-{step}\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: auth-{step}-5e1d@test\r\n\
CSeq: 1 {method}\r\n\
Contact: <sip:{user}@{local}>\r\n\
{auth}Content-Length: 0\r\n\r\n"
        )
    });
    let Some(a) = answer else {
        return Reply {
            status: "timeout".into(),
            headers: Vec::new(),
        };
    };
    let mut lines = a.split("\r\n");
    let status = lines.next().unwrap_or("").to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter(|l| {
            let n = l.split(':').next().unwrap_or("").to_ascii_lowercase();
            matches!(
                n.as_str(),
                "www-authenticate" | "proxy-authenticate" | "authentication-info"
            )
        })
        .map(str::to_string)
        .collect();
    Reply { status, headers }
}

/// Every step against the proxy on `port`, as comparable lines.
fn observe(port: u16, alg: Algorithm) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |step: &str, r: &Reply, answer: Option<&Answer<'_>>| {
        let mut line = format!("{step}: {}", r.status);
        for h in &r.headers {
            let mut h = h.clone();
            if let Some(n) = param(&h, "nextnonce") {
                let same = answer.is_some_and(|a| a.nonce == n);
                h = h.replace(
                    &n,
                    if same {
                        "<the nonce answered>"
                    } else {
                        "<another nonce>"
                    },
                );
            } else if let Some(n) = param(&h, "nonce") {
                h = h.replace(&n, &nonce_shape(&n));
            }
            if let Some(r) = param(&h, "rspauth") {
                let ok = answer.is_some_and(|a| a.rspauth() == r);
                h = h.replace(
                    &r,
                    if ok {
                        "<rspauth ok>"
                    } else {
                        "<rspauth WRONG>"
                    },
                );
            }
            line.push_str(" | ");
            line.push_str(&h);
        }
        out.push(line);
    };
    let uri = format!("sip:127.0.0.1:{port}");
    let req = |step, method, user, auth: Option<String>| Req {
        step,
        method,
        user,
        auth,
    };
    let nonce_of = |r: &Reply| {
        r.headers
            .iter()
            .find_map(|h| param(h, "nonce"))
            .unwrap_or_default()
    };

    // REGISTER: www, qop=auth, a plain password from a PV.
    let r = send(port, &req("reg-none", "REGISTER", "alice", None));
    let issued = Instant::now();
    note("reg-none", &r, None);
    let n1 = nonce_of(&r);
    let a = |password, nonce| Answer {
        alg,
        header: "Authorization",
        user: "alice",
        realm: "127.0.0.1",
        password,
        nonce,
        uri: uri.clone(),
        method: "REGISTER",
        qop: Some("auth"),
    };
    let good = a("pw-alice", &n1);
    let r = send(
        port,
        &req("reg-good", "REGISTER", "alice", Some(good.header())),
    );
    note("reg-good", &r, Some(&good));
    let wrong = a("pw-bob", &n1);
    let r = send(
        port,
        &req("reg-wrong", "REGISTER", "alice", Some(wrong.header())),
    );
    note("reg-wrong", &r, Some(&wrong));
    // One character of the nonce's hash changed: forged.
    let mut forged = n1.clone().into_bytes();
    if let Some(b) = forged.get_mut(20) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let forged = String::from_utf8(forged).expect("ascii");
    let f = a("pw-alice", &forged);
    let r = send(
        port,
        &req("reg-forged", "REGISTER", "alice", Some(f.header())),
    );
    note("reg-forged", &r, None);
    let other_realm = good
        .header()
        .replace("realm=\"127.0.0.1\"", "realm=\"elsewhere\"");
    let r = send(
        port,
        &req("reg-realm", "REGISTER", "alice", Some(other_realm)),
    );
    note("reg-realm", &r, None);
    let upper = good.header().replace(
        &good.response("REGISTER"),
        &good.response("REGISTER").to_ascii_uppercase(),
    );
    let r = send(port, &req("reg-upper", "REGISTER", "alice", Some(upper)));
    note("reg-upper", &r, None);
    let incomplete = format!(
        "Authorization: Digest username=\"alice\", realm=\"127.0.0.1\", nonce=\"{n1}\", uri=\"{uri}\""
    );
    let r = send(
        port,
        &req("reg-incomplete", "REGISTER", "alice", Some(incomplete)),
    );
    note("reg-incomplete", &r, None);
    let short = good
        .header()
        .replace(&good.response("REGISTER"), "0123456789abcdef");
    let r = send(port, &req("reg-short", "REGISTER", "alice", Some(short)));
    note("reg-short", &r, None);
    let malformed = "Authorization: Digest username=\"alice\", realm".to_string();
    let r = send(
        port,
        &req("reg-malformed", "REGISTER", "alice", Some(malformed)),
    );
    note("reg-malformed", &r, None);
    let basic = "Authorization: Basic YWxpY2U6cHc=".to_string();
    let r = send(port, &req("reg-basic", "REGISTER", "alice", Some(basic)));
    note("reg-basic", &r, None);
    let old = a("pw-alice", "");
    let old_nonce = forged_nonce(1000);
    let old = Answer {
        nonce: &old_nonce,
        ..old
    };
    let r = send(
        port,
        &req("reg-before-start", "REGISTER", "alice", Some(old.header())),
    );
    note("reg-before-start", &r, None);
    let future_nonce = forged_nonce(unix_now() + 100);
    let future = a("pw-alice", &future_nonce);
    let r = send(
        port,
        &req("reg-future", "REGISTER", "alice", Some(future.header())),
    );
    note("reg-future", &r, None);

    // MESSAGE: proxy, no qop, HA1 from a PV.
    let r = send(port, &req("msg-none", "MESSAGE", "bob", None));
    note("msg-none", &r, None);
    let n2 = nonce_of(&r);
    let p = |password, header| Answer {
        alg,
        header,
        user: "bob",
        realm: "127.0.0.1",
        password,
        nonce: &n2,
        uri: uri.clone(),
        method: "MESSAGE",
        qop: None,
    };
    let good_p = p("pw-bob", "Proxy-Authorization");
    let r = send(
        port,
        &req("msg-good", "MESSAGE", "bob", Some(good_p.header())),
    );
    note("msg-good", &r, Some(&good_p));
    let wrong_p = p("pw-alice", "Proxy-Authorization");
    let r = send(
        port,
        &req("msg-wrong", "MESSAGE", "bob", Some(wrong_p.header())),
    );
    note("msg-wrong", &r, None);
    let www = p("pw-bob", "Authorization");
    let r = send(
        port,
        &req("msg-www-header", "MESSAGE", "bob", Some(www.header())),
    );
    note("msg-www-header", &r, None);

    // OPTIONS: www_challenge with qop=auth-int; auth-int never verifies
    // in Kamailio 5.6.3.
    let r = send(port, &req("opt-none", "OPTIONS", "carol", None));
    note("opt-none", &r, None);
    let n3 = nonce_of(&r);
    let int = Answer {
        alg,
        header: "Authorization",
        user: "carol",
        realm: "127.0.0.1",
        password: "pw-carol",
        nonce: &n3,
        uri: uri.clone(),
        method: "OPTIONS",
        qop: Some("auth-int"),
    };
    let r = send(
        port,
        &req("opt-auth-int", "OPTIONS", "carol", Some(int.header())),
    );
    note("opt-auth-int", &r, None);

    // Expired: nonce_expire is 3 s; a nonce is stale once its expiry
    // second has passed.
    let wait = Duration::from_millis(5200).saturating_sub(issued.elapsed());
    std::thread::sleep(wait);
    let r = send(
        port,
        &req("reg-expired", "REGISTER", "alice", Some(good.header())),
    );
    note("reg-expired", &r, None);
    let r = send(
        port,
        &req(
            "reg-expired-wrong",
            "REGISTER",
            "alice",
            Some(wrong.header()),
        ),
    );
    note("reg-expired-wrong", &r, None);
    let r = send(
        port,
        &req("msg-expired", "MESSAGE", "bob", Some(good_p.header())),
    );
    note("msg-expired", &r, None);
    out
}

fn ours(bin: &Path, interpreted: bool, sha: bool) -> (GroupGuard, u16) {
    let port = free_port();
    let mut c = Command::new(bin);
    if interpreted {
        if sha {
            c.args(["-A", "WITH_SHA256"]);
        }
        c.arg(cfg()).arg("--");
    }
    let child = c
        .args(["-l", &format!("udp:127.0.0.1:{port}"), "-n", "1", "-E"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("proxy starts");
    let mut g = GroupGuard::new(child);
    g.wait_bound(port, "proxy", Duration::from_secs(10))
        .expect("proxy listens");
    (g, port)
}

fn differential(sha: bool) {
    let alg = if sha {
        Algorithm::Sha256
    } else {
        Algorithm::Md5
    };
    let kport = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-auth-{kport}"));
    let mut k = Kamailio::new(cfg(), format!("udp:127.0.0.1:{kport}"), rundir)
        .module_dir(Some(module_dir()));
    if sha {
        k = k.define("WITH_SHA256");
    }
    let mut kam = k
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(kport, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    let theirs = observe(kport, alg);
    kam.stop().expect("kamailio stopped");
    // The outcomes the cfg is written for, as Kamailio gives them.
    for (line, want) in theirs.iter().zip([
        "reg-none: SIP/2.0 401 Unauthorized | WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"<nonce 32 chars>\", qop=\"auth\"",
        "reg-good: SIP/2.0 200 ok has=1 consumed=1 | Authentication-Info: nextnonce=\"<the nonce answered>\"",
        "reg-wrong: SIP/2.0 403 rc=-2 has=1 consumed=1",
    ]) {
        assert!(line.starts_with(want), "kamailio: {line}\n(expected {want})\nall:\n{}", theirs.join("\n"));
    }
    let name = if sha {
        "auth-sha256-proxy"
    } else {
        "auth-proxy"
    };
    let defines: &[(&str, &str)] = if sha { &[("WITH_SHA256", "")] } else { &[] };
    let bin = tests::build_proxy(&cfg(), defines, name);
    let (compiled, port) = ours(&bin, false, sha);
    let got = observe(port, alg);
    compiled.stop().expect("proxy stopped");
    assert_eq!(
        got,
        theirs,
        "the compiled proxy answers differently:\nours:\n{}\nkamailio:\n{}",
        got.join("\n"),
        theirs.join("\n")
    );

    let (interp, port) = ours(Path::new(env!("CARGO_BIN_EXE_interp-proxy")), true, sha);
    let got = observe(port, alg);
    interp.stop().expect("interpreter stopped");
    assert_eq!(got, theirs, "the interpreted proxy answers differently");
    eprintln!("{}", theirs.join("\n"));
}

/// Both variants in one test: they build the same cfg with different
/// defines into cfgc's one package directory for that file, so they must
/// not build at the same time.
#[test]
fn auth_answers_like_kamailio_compiled_and_interpreted_md5_and_sha256() {
    differential(false);
    differential(true);
}

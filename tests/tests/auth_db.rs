//! auth_db over real databases, differential (issue 12): the same cfg
//! (`tests/auth_db/kamailio.cfg`) run by `kamailio -f` (its db_* and
//! auth_db modules), by cfgc's compiled proxy and by the interpreter,
//! all three reading one database per backend that the operator's tools
//! made: `kamdbctl create` for SQLite (Debian's schema files loaded as
//! kamdbctl does for MariaDB and PostgreSQL) and `kamctl add` for the
//! subscribers. The same requests to each, the replies compared:
//! challenges (nonce by shape), `auth_check` with its identity checks,
//! `proxy_authenticate`, `www_authenticate` with a method,
//! `is_subscriber` with each flag, `load_credentials` PVs, unknown users,
//! a username trying SQL injection, stale nonces of unknown users.
//!
//! Variants: plain passwords with `calculate_ha1` (the stock config's
//! choice) on SQLite, MariaDB and PostgreSQL; stored HA1s (`ha1`/`ha1b`)
//! with `use_domain` on SQLite. Then start-up: a wrong `subscriber`
//! version and an unreachable database refuse to start, as Kamailio.
//! Last, the stock config with its database defines on MariaDB.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc_test_support::{
    GroupGuard, Kamailio, free_port, module_dir, udp_exchange, udp_exchange_from,
};
use runtime::modules::auth::digest::Algorithm;
use tests::db::{Backend, DbUser, FreshDb};
use tests::digest::{Answer, forged_nonce, nonce_shape, param};

const USER: DbUser = DbUser {
    name: "cfgc_authdb",
    password: "cfgc-authdb-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("auth_db/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("auth_db")
}

/// One request.
#[derive(Default)]
struct Req<'a> {
    step: &'a str,
    method: &'a str,
    ruser: &'a str,
    from: &'a str,
    to: &'a str,
    /// Whole header lines (credentials, X-*), without CRLF.
    headers: Vec<String>,
    /// From's host (and port), `127.0.0.1` when empty.
    from_host: String,
    /// The address it is sent from, `127.0.0.1` when empty.
    src: &'a str,
    /// The R-URI's host and port, the proxy's when empty.
    rhost: String,
}

/// The reply's status line and its auth headers (nonces by shape).
fn send(port: u16, r: &Req<'_>) -> String {
    let extra: String = r.headers.iter().map(|h| format!("{h}\r\n")).collect();
    let Req {
        step,
        method,
        ruser,
        from,
        to,
        ..
    } = r;
    let fhost = if r.from_host.is_empty() {
        "127.0.0.1"
    } else {
        &r.from_host
    };
    let src = if r.src.is_empty() { "127.0.0.1" } else { r.src };
    let rhost = if r.rhost.is_empty() {
        format!("127.0.0.1:{port}")
    } else {
        r.rhost.clone()
    };
    let answer = udp_exchange_from(src, port, |local| {
        format!(
            "{method} sip:{ruser}@{rhost} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{step}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{from}@{fhost}>;tag=t-{step}\r\n\
To: <sip:{to}@127.0.0.1>\r\n\
Call-ID: authdb-{step}-5e1d@test\r\n\
CSeq: 1 {method}\r\n\
Contact: <sip:{from}@{local}>\r\n\
{extra}Content-Length: 0\r\n\r\n"
        )
    });
    let Some(a) = answer else {
        return format!("{step}: timeout");
    };
    let mut lines = a.split("\r\n");
    let mut out = format!("{step}: {}", lines.next().unwrap_or(""));
    for l in lines.take_while(|l| !l.is_empty()) {
        let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "www-authenticate" | "proxy-authenticate" | "contact"
        ) {
            out.push_str(" | ");
            match param(l, "nonce") {
                Some(n) => out.push_str(&l.replace(&n, &nonce_shape(&n))),
                None => out.push_str(l),
            }
        }
    }
    out
}

/// A challenge's nonce, asked raw.
fn challenge_nonce(port: u16, method: &str, user: &str) -> String {
    let a = udp_exchange(port, |local| {
        format!(
            "{method} sip:{user}@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-n{user}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@127.0.0.1>;tag=t-n\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: authdb-nonce-{user}@test\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
        )
    })
    .unwrap_or_default();
    param(&a, "nonce").unwrap_or_default()
}

/// Every step against the proxy on `port`, as comparable lines.
fn observe(port: u16) -> Vec<String> {
    let mut out = Vec::new();
    let n = challenge_nonce(port, "REGISTER", "alice");
    let np = challenge_nonce(port, "MESSAGE", "bob");
    // Credentials for a request to `sip:<ruser>@127.0.0.1:<port>`.
    let creds = |ruser: &str, header, user, password, method, nonce: &str, qop| {
        Answer {
            alg: Algorithm::Md5,
            header,
            user,
            realm: "127.0.0.1",
            password,
            nonce,
            uri: format!("sip:{ruser}@127.0.0.1:{port}"),
            method,
            qop,
        }
        .header()
    };
    let reg = |step, from, to, auth: Option<String>| Req {
        step,
        method: "REGISTER",
        ruser: "alice",
        from,
        to,
        headers: auth.into_iter().collect(),
        from_host: String::new(),
        src: "",
        rhost: String::new(),
    };
    let www = |user, password| {
        Some(creds(
            "alice",
            "Authorization",
            user,
            password,
            "REGISTER",
            &n,
            Some("auth"),
        ))
    };
    for r in [
        reg("reg-none", "alice", "alice", None),
        reg("reg-good", "alice", "alice", www("alice", "alice-pw")),
        reg("reg-wrong", "alice", "alice", www("alice", "bob-pw")),
        reg("reg-unknown", "mallory", "mallory", www("mallory", "x")),
        reg(
            "reg-inject",
            "alice",
            "alice",
            www("alice' OR '1'='1", "alice-pw"),
        ),
        reg(
            "reg-backslash",
            "alice",
            "alice",
            www("alice\\\\", "alice-pw"),
        ),
        reg("reg-other-user", "alice", "alice", www("bob", "bob-pw")),
        reg("reg-from-to", "bob", "alice", www("alice", "alice-pw")),
        reg(
            "reg-at-domain",
            "alice",
            "alice",
            www("alice@127.0.0.1", "alice-pw"),
        ),
        Req {
            headers: vec![creds(
                "alice",
                "Authorization",
                "mallory",
                "x",
                "REGISTER",
                &forged_nonce(1000),
                Some("auth"),
            )],
            ..reg("reg-stale-unknown", "mallory", "mallory", None)
        },
        Req {
            step: "inv-none",
            method: "INVITE",
            ruser: "carol",
            from: "alice",
            to: "carol",
            ..Req::default()
        },
        Req {
            step: "inv-skip-check",
            method: "INVITE",
            ruser: "carol",
            from: "dave",
            to: "carol",
            headers: vec![creds(
                "carol",
                "Proxy-Authorization",
                "alice",
                "alice-pw",
                "INVITE",
                &np,
                None,
            )],
            ..Req::default()
        },
        Req {
            step: "pub-ruri-mismatch",
            method: "PUBLISH",
            ruser: "bob",
            from: "alice",
            to: "alice",
            headers: vec![creds(
                "bob",
                "Proxy-Authorization",
                "alice",
                "alice-pw",
                "PUBLISH",
                &np,
                None,
            )],
            ..Req::default()
        },
        Req {
            step: "msg-good",
            method: "MESSAGE",
            ruser: "alice",
            from: "bob",
            to: "alice",
            headers: vec![creds(
                "alice",
                "Proxy-Authorization",
                "bob",
                "bob-pw",
                "MESSAGE",
                &np,
                None,
            )],
            ..Req::default()
        },
        Req {
            step: "msg-wrong",
            method: "MESSAGE",
            ruser: "alice",
            from: "bob",
            to: "alice",
            headers: vec![creds(
                "alice",
                "Proxy-Authorization",
                "bob",
                "alice-pw",
                "MESSAGE",
                &np,
                None,
            )],
            ..Req::default()
        },
        Req {
            step: "msg-www-header",
            method: "MESSAGE",
            ruser: "alice",
            from: "bob",
            to: "alice",
            headers: vec![creds(
                "alice",
                "Authorization",
                "bob",
                "bob-pw",
                "MESSAGE",
                &np,
                None,
            )],
            ..Req::default()
        },
        Req {
            step: "msg-proxy-authorize",
            method: "MESSAGE",
            ruser: "authz",
            from: "bob",
            to: "authz",
            headers: vec![creds(
                "authz",
                "Proxy-Authorization",
                "bob",
                "bob-pw",
                "MESSAGE",
                &np,
                None,
            )],
            ..Req::default()
        },
        Req {
            step: "www-two-args",
            method: "OPTIONS",
            ruser: "www2",
            from: "alice",
            to: "www2",
            headers: vec![creds(
                "www2",
                "Authorization",
                "alice",
                "alice-pw",
                "OPTIONS",
                &n,
                Some("auth"),
            )],
            ..Req::default()
        },
        Req {
            step: "www-authorize-wrong",
            method: "OPTIONS",
            ruser: "wwwz",
            from: "alice",
            to: "wwwz",
            headers: vec![creds(
                "wwwz",
                "Authorization",
                "alice",
                "bob-pw",
                "OPTIONS",
                &n,
                Some("auth"),
            )],
            ..Req::default()
        },
        Req {
            step: "www-method",
            method: "OPTIONS",
            ruser: "www",
            from: "alice",
            to: "www",
            headers: vec![
                creds(
                    "www",
                    "Authorization",
                    "alice",
                    "alice-pw",
                    "REGISTER",
                    &n,
                    Some("auth"),
                ),
                "X-Method: REGISTER".into(),
            ],
            ..Req::default()
        },
        Req {
            step: "www-method-other",
            method: "OPTIONS",
            ruser: "www",
            from: "alice",
            to: "www",
            headers: vec![
                creds(
                    "www",
                    "Authorization",
                    "alice",
                    "alice-pw",
                    "OPTIONS",
                    &n,
                    Some("auth"),
                ),
                "X-Method: REGISTER".into(),
            ],
            ..Req::default()
        },
        Req {
            step: "www-none",
            method: "OPTIONS",
            ruser: "www",
            from: "alice",
            to: "www",
            headers: vec!["X-Method: OPTIONS".into()],
            ..Req::default()
        },
    ] {
        out.push(send(port, &r));
    }
    for (step, uri, flags) in [
        ("sub-3", "sip:alice@127.0.0.1", "3"),
        ("sub-1", "sip:alice@127.0.0.1", "1"),
        ("sub-0", "sip:bob@elsewhere", "0"),
        ("sub-2", "sip:bob@127.0.0.1", "2"),
        ("sub-1-elsewhere", "sip:bob@elsewhere", "1"),
        ("sub-unknown", "sip:nobody@127.0.0.1", "3"),
        ("sub-inject", "sip:x'or'1'='1@127.0.0.1", "3"),
        ("sub-bad-uri", "not a uri", "3"),
    ] {
        out.push(send(
            port,
            &Req {
                step,
                method: "OPTIONS",
                ruser: "sub",
                from: "alice",
                to: "sub",
                headers: vec![format!("X-Uri: {uri}"), format!("X-Flags: {flags}")],
                ..Req::default()
            },
        ));
    }
    out
}

/// Which way the cfg stores passwords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// Plain passwords, `calculate_ha1` (the stock config).
    Plain,
    /// `ha1`/`ha1b`, `use_domain`.
    Ha1,
}

fn defines(b: Backend, v: Variant, url: &str) -> Vec<(String, String)> {
    let mut d = vec![
        (b.define().to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ];
    if v == Variant::Ha1 {
        d.push(("WITH_HA1".into(), "1".into()));
    }
    d
}

/// `who` (`kamailio`, `compiled`, `interpreted`) on the cfg with `v`'s
/// defines and `url`.
fn start(who: &str, b: Backend, v: Variant, url: &str) -> (GroupGuard, u16) {
    tests::start_contender(
        who,
        &cfg(),
        &defines(b, v, url),
        &format!("authdb-{}-{v:?}", b.name()),
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
    )
}

/// The subscribers, added with the operator's `kamctl add`.
fn add_users(db: &FreshDb) {
    for (u, pw) in [("alice", "alice-pw"), ("bob", "bob-pw")] {
        db.kamctl(&["add", &format!("{u}@127.0.0.1"), pw]);
    }
}

fn fresh(b: Backend, name: &str) -> FreshDb {
    let db = if b == Backend::Sqlite {
        FreshDb::kamdbctl_sqlite(name, &tmp())
    } else {
        // What `kamdbctl create` runs: Debian's schema files.
        FreshDb::new(
            b,
            name,
            &["standard-create.sql", "auth_db-create.sql"],
            USER,
            &tmp(),
        )
    };
    add_users(&db);
    db
}

/// What Kamailio answers (the test is about the cfg too).
fn check_kamailio(lines: &[String]) {
    let want: &[(&str, &str)] = &[
        (
            "reg-none",
            "401 Unauthorized | WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"<nonce 32 chars>\", qop=\"auth\"",
        ),
        ("reg-good", "200 ok c=1 pw=alice-pw "),
        ("reg-wrong", "403 rc=-2 pw=<null>"),
        ("reg-unknown", "403 rc=-3"),
        ("reg-inject", "403 rc=-3"),
        ("reg-other-user", "403 rc=-8"),
        ("reg-from-to", "403 rc=-8"),
        ("reg-at-domain", "200 ok c=1"),
        ("reg-stale-unknown", "401 Unauthorized"),
        ("inv-none", "407 Proxy Authentication Required"),
        ("inv-skip-check", "403 rc=1"),
        ("pub-ruri-mismatch", "403 rc=-8"),
        ("msg-good", "403 rc=1 pw=bob-pw"),
        ("msg-wrong", "403 rc=-2"),
        ("msg-www-header", "407 Proxy Authentication Required"),
        ("www-method", "403 rc=1"),
        ("www-method-other", "403 rc=-2"),
        ("www-none", "401 Unauthorized"),
        ("sub-3", "200 sub rc=1 pw=<null>"),
        ("sub-1", "200 sub rc=1 pw=alice-pw "),
        ("sub-unknown", "200 sub rc=-2"),
        ("sub-inject", "200 sub rc=-2"),
        ("sub-bad-uri", "200 sub rc=-1"),
    ];
    for (step, w) in want {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{step}: ")))
            .unwrap_or_else(|| panic!("no {step}"));
        assert!(
            line.starts_with(&format!("{step}: SIP/2.0 {w}")),
            "kamailio: {line}\n(expected {w})\nall:\n{}",
            lines.join("\n")
        );
    }
}

fn differential(b: Backend, v: Variant) {
    let t0 = std::time::Instant::now();
    let db = fresh(b, &format!("cfgc_authdb_{}_{v:?}", b.name()).to_lowercase());
    let url = db.url();
    let (k, port) = start("kamailio", b, v, &url);
    let theirs = observe(port);
    k.stop().expect("kamailio stopped");
    check_kamailio(&theirs);
    for compiled in [true, false] {
        let (g, port) = start(
            if compiled { "compiled" } else { "interpreted" },
            b,
            v,
            &url,
        );
        let got = observe(port);
        g.stop().expect("stopped");
        assert_eq!(
            got,
            theirs,
            "{} proxy on {} ({v:?}) answers differently:\nours:\n{}\nkamailio:\n{}",
            if compiled {
                "the compiled"
            } else {
                "the interpreted"
            },
            b.name(),
            got.join("\n"),
            theirs.join("\n")
        );
    }
    eprintln!(
        "auth_db {} {v:?}: {:.1} s\n{}",
        b.name(),
        t0.elapsed().as_secs_f64(),
        theirs.join("\n")
    );
}

#[test]
fn auth_db_on_sqlite_answers_like_kamailio() {
    differential(Backend::Sqlite, Variant::Plain);
    differential(Backend::Sqlite, Variant::Ha1);
}

#[test]
fn auth_db_on_mariadb_answers_like_kamailio() {
    differential(Backend::Mysql, Variant::Plain);
}

#[test]
fn auth_db_on_postgresql_answers_like_kamailio() {
    differential(Backend::Postgres, Variant::Plain);
}

/// Kamailio checks the `subscriber` table's version when it loads the
/// cfg (auth_db's fixup of `www_authenticate`'s table) and connects in
/// every worker: a wrong version or an unreachable database refuses to
/// start, and so do ours, compiled and interpreted.
#[test]
fn a_wrong_table_version_or_no_database_refuses_to_start_as_kamailio() {
    let db = FreshDb::kamdbctl_sqlite("cfgc_authdb_startup", &tmp());
    tests::db::run(
        {
            let mut c = Command::new("sqlite3");
            c.arg(&db.path);
            c
        },
        "update version set table_version=6 where table_name='subscriber';",
        "downgrading the subscriber table's version",
    );
    let unreachable = format!("mysql://u:p@127.0.0.1:{}/none", free_port());
    for (case, b, url, want) in [
        (
            "version",
            Backend::Sqlite,
            db.url(),
            "invalid version 6 for table subscriber found, expected 7",
        ),
        ("unreachable", Backend::Mysql, unreachable, "connect"),
    ] {
        let port = free_port();
        let listen = format!("udp:127.0.0.1:{port}");
        let rundir = std::env::temp_dir().join(format!("cfgc-authdb-startup-{port}"));
        std::fs::create_dir_all(&rundir).expect("rundir");
        let mut k = Kamailio::new(cfg(), listen.clone(), rundir).module_dir(Some(module_dir()));
        for (n, val) in defines(b, Variant::Plain, &url) {
            k = k.define(format!("{n}={val}"));
        }
        let (refused, log) =
            tests::refuses(k.command(), &tmp().join(format!("kamailio-{case}.log")));
        assert!(refused, "kamailio starts with {case}:\n{log}");
        let d = defines(b, Variant::Plain, &url);
        let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let bin = tests::build_proxy(&cfg(), &refs, &format!("authdb-startup-{case}"));
        let mut compiled = Command::new(bin);
        compiled.args(["-l", &listen, "-n", "1", "-E"]);
        let mut interp = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
        for (n, val) in &d {
            interp.arg("-A").arg(format!("{n}={val}"));
        }
        interp
            .arg(cfg())
            .args(["--", "-l", &listen, "-n", "1", "-E"]);
        for (who, c) in [("compiled", compiled), ("interpreted", interp)] {
            let (refused, log) = tests::refuses(c, &tmp().join(format!("{who}-{case}.log")));
            assert!(
                refused && log.contains(want),
                "{who} with {case}: refused {refused}, log:\n{log}\n(expected it to say {want})"
            );
        }
    }
}

/// The stock config with `WITH_MYSQL WITH_AUTH WITH_IPAUTH WITH_ALIASDB
/// WITH_SPEEDDIAL WITH_MULTIDOMAIN WITH_USRLOCDB WITH_ACCDB` on MariaDB
/// (the acc tables with the extra columns the stock config's comment
/// adds): the REGISTER
/// challenged then saved with
/// the right password, challenged again with a wrong one; an INVITE from
/// a local user challenged (407), then with credentials looked up (the
/// callee is not registered: 404); from an address of the `address`
/// table no challenge, an alias of a registered user relayed, a speed
/// dial relayed to its `new_uri` (the test's socket reads the R-URI and
/// answers 200), a
/// call to a domain that is not local relayed; the location row written
/// (usrloc db_mode 2) and the acc and missed_calls rows;
/// identical from `kamailio -f`, the compiled and the interpreted proxy.
#[test]
fn stock_config_with_its_database_defines_answers_like_kamailio() {
    let b = Backend::Mysql;
    let db = FreshDb::new(
        b,
        "cfgc_authdb_stock",
        &[
            "standard-create.sql",
            "auth_db-create.sql",
            "permissions-create.sql",
            "alias_db-create.sql",
            "speeddial-create.sql",
            "domain-create.sql",
            "usrloc-create.sql",
            "acc-create.sql",
        ],
        USER,
        &tmp(),
    );
    add_users(&db);
    // WITH_ACCDB: the extra columns, as the stock config's own comment
    // says to add them (its ALTER TABLE lines, read from the file).
    let stock_text = std::fs::read_to_string(tests::STOCK_CFG).expect("stock config");
    let alters: String = stock_text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("ALTER TABLE"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        alters.lines().count() >= 12,
        "the stock ALTER TABLEs: {alters}"
    );
    db.sql(&alters);
    // WITH_MULTIDOMAIN: 127.0.0.1 is the local domain (and, by
    // register_myself, `myself` on any port).
    db.kamctl(&["domain", "add", "127.0.0.1"]);
    // 127.0.0.2 is trusted by address (WITH_IPAUTH); 100 is an alias of
    // alice; alice's speed dial 11 calls a socket of the test.
    db.kamctl(&["address", "add", "1", "127.0.0.2", "32", "0", "trusted"]);
    db.kamctl(&["alias_db", "add", "100@127.0.0.1", "alice@127.0.0.1"]);
    // Not a local domain: 127.0.0.3.
    let sink = std::net::UdpSocket::bind("127.0.0.3:0").expect("sink");
    let sink_port = sink.local_addr().expect("addr").port();
    db.kamctl(&[
        "speeddial",
        "add",
        "alice@127.0.0.1",
        "11@127.0.0.1",
        &format!("sip:bob@127.0.0.3:{sink_port}"),
    ]);
    let url = db.url();
    let stock = Path::new(tests::STOCK_CFG);
    let defines = [
        ("WITH_MYSQL".to_string(), "1".to_string()),
        ("WITH_AUTH".to_string(), "1".to_string()),
        ("WITH_IPAUTH".to_string(), "1".to_string()),
        ("WITH_ALIASDB".to_string(), "1".to_string()),
        ("WITH_SPEEDDIAL".to_string(), "1".to_string()),
        ("WITH_MULTIDOMAIN".to_string(), "1".to_string()),
        ("WITH_USRLOCDB".to_string(), "1".to_string()),
        ("WITH_ACCDB".to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ];
    // What a contender left in the location table (usrloc db_mode 2
    // writes it at the latest when the proxy stops), which is then
    // emptied for the next one.
    let location = || -> Vec<String> {
        let rows = db.rows(
            "select username, callid, cseq, q, user_agent, methods, flags, cflags \
             from location order by username, contact;",
        );
        db.sql("delete from location;");
        let mut out: Vec<String> = rows.iter().map(|r| format!("location: {r}")).collect();
        // WITH_ACCDB's records (the To tags are each proxy's own).
        for t in ["acc", "missed_calls"] {
            let rows = db.rows(&format!(
                "select method, from_tag, case when to_tag = '' then 'untagged' else 'tagged' end, \
                 callid, sip_code, sip_reason, src_user, src_domain, src_ip, dst_ouser, dst_user, \
                 dst_domain from {t} order by callid, method;"
            ));
            db.sql(&format!("delete from {t};"));
            out.extend(rows.iter().map(|r| format!("{t}: {r}")));
        }
        out
    };
    let observe = |port: u16| -> Vec<String> {
        // What an earlier proxy sent the sink (retransmissions until it
        // stopped) is not this run's.
        let mut buf = [0u8; 65536];
        sink.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        while sink.recv_from(&mut buf).is_ok() {}
        let n = challenge_nonce(port, "REGISTER", "alice");
        let creds = |ruser: &str, header, password, method, nonce: &str| {
            Answer {
                alg: Algorithm::Md5,
                header,
                user: "alice",
                realm: "127.0.0.1",
                password,
                nonce,
                uri: format!("sip:{ruser}@127.0.0.1:{port}"),
                method,
                qop: None,
            }
            .header()
        };
        let mut out = Vec::new();
        let reg = |step, auth: Option<String>| Req {
            step,
            method: "REGISTER",
            ruser: "alice",
            from: "alice",
            to: "alice",
            headers: auth
                .into_iter()
                .chain(["Expires: 600".to_string()])
                .collect(),
            from_host: String::new(),
            src: "",
            rhost: String::new(),
        };
        out.push(send(port, &reg("reg-none", None)));
        out.push(send(
            port,
            &reg(
                "reg-good",
                Some(creds("alice", "Authorization", "alice-pw", "REGISTER", &n)),
            ),
        ));
        out.push(send(
            port,
            &reg(
                "reg-wrong",
                Some(creds("alice", "Authorization", "bob-pw", "REGISTER", &n)),
            ),
        ));
        let inv = |step, auth: Option<String>| Req {
            step,
            method: "INVITE",
            ruser: "carol",
            from: "alice",
            to: "carol",
            headers: auth.into_iter().collect(),
            // `from_uri==myself` (the port too) makes the stock config
            // authenticate the INVITE.
            from_host: format!("127.0.0.1:{port}"),
            src: "",
            rhost: String::new(),
        };
        let r = send(port, &inv("inv-none", None));
        out.push(r);
        // Any fresh nonce of the proxy's will do (Kamailio's carry no
        // method).
        let np = n.clone();
        out.push(send(
            port,
            &inv(
                "inv-good",
                Some(creds(
                    "carol",
                    "Proxy-Authorization",
                    "alice-pw",
                    "INVITE",
                    &np,
                )),
            ),
        ));
        // From 127.0.0.2 (the address table's group 1): no challenge.
        let ip = |step, ruser| Req {
            step,
            method: "INVITE",
            ruser,
            from: "alice",
            to: ruser,
            headers: Vec::new(),
            from_host: format!("127.0.0.1:{port}"),
            src: "127.0.0.2",
            rhost: String::new(),
        };
        out.push(send(port, &ip("ipauth-unknown", "carol")));
        // The alias of alice, who registered above: relayed (100 Trying).
        out.push(send(port, &ip("ipauth-alias", "100")));
        // alice's speed dial 11: relayed to the test's socket, which
        // reads the R-URI and answers 200 (WITH_ACCDB: an acc row).
        out.push(send(port, &ip("ipauth-speeddial", "11")));
        // The request line of the first datagram of `step`'s call at the
        // sink (retransmissions of earlier calls, even of an earlier
        // proxy, skipped).
        // With `answer`, the sink answers it (a final reply with a To
        // tag of its own), which acc then accounts.
        let forwarded = |step: &str, answer: Option<&str>| {
            let mut buf = [0u8; 65536];
            sink.set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            let call_id = format!("Call-ID: authdb-{step}-");
            while let Ok((n, from)) = sink.recv_from(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]);
                if text.contains(&call_id) {
                    if let Some(status) = answer {
                        let mut reply = format!("SIP/2.0 {status}\r\n");
                        for l in text.lines() {
                            let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
                            match name.as_str() {
                                "via" | "from" | "call-id" | "cseq" => {
                                    reply.push_str(l);
                                    reply.push_str("\r\n");
                                }
                                "to" => {
                                    reply.push_str(l);
                                    reply.push_str(";tag=sink-tag\r\n");
                                }
                                _ => {}
                            }
                        }
                        reply.push_str("Content-Length: 0\r\n\r\n");
                        sink.send_to(reply.as_bytes(), from).expect("reply sent");
                    }
                    return text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .replace(&format!(":{sink_port}"), ":<sink>");
                }
            }
            "nothing".to_string()
        };
        out.push(format!(
            "speeddial forwarded: {}",
            forwarded("ipauth-speeddial", Some("200 OK"))
        ));
        // A domain that is not local (WITH_MULTIDOMAIN): relayed.
        out.push(send(
            port,
            &Req {
                rhost: format!("127.0.0.3:{sink_port}"),
                ..ip("ipauth-not-local", "carol")
            },
        ));
        out.push(format!(
            "not-local forwarded: {}",
            forwarded("ipauth-not-local", Some("486 Busy Here"))
        ));
        out
    };
    let port = free_port();
    let krun = tmp().join(format!("stock-kamailio-{port}"));
    let mut k =
        Kamailio::new(stock, format!("udp:127.0.0.1:{port}"), &krun).module_dir(Some(module_dir()));
    for (n, v) in &defines {
        k = k.define(format!("{n}={v}"));
    }
    let mut kam = k
        .start(Stdio::null(), Stdio::null())
        .expect("kamailio runs (apt-get install kamailio)");
    kam.wait_bound(port, "kamailio", Duration::from_secs(10))
        .expect("kamailio listens");
    let mut theirs = observe(port);
    kam.stop().expect("kamailio stopped");
    theirs.extend(location());
    for (step, want) in [
        ("reg-none", "401 Unauthorized"),
        ("reg-good", "200 OK"),
        ("reg-wrong", "401 Unauthorized"),
        ("inv-none", "407 Proxy Authentication Required"),
        ("inv-good", "404 Not Found"),
        ("ipauth-unknown", "404 Not Found"),
        ("ipauth-alias", "100 trying -- your call is important to us"),
        (
            "ipauth-speeddial",
            "100 trying -- your call is important to us",
        ),
        (
            "speeddial forwarded",
            "INVITE sip:bob@127.0.0.3:<sink> SIP/2.0",
        ),
        (
            "ipauth-not-local",
            "100 trying -- your call is important to us",
        ),
        (
            "not-local forwarded",
            "INVITE sip:carol@127.0.0.3:<sink> SIP/2.0",
        ),
    ] {
        assert!(
            theirs
                .iter()
                .any(|l| l.starts_with(&format!("{step}: SIP/2.0 {want}"))
                    || l == &format!("{step}: {want}")),
            "kamailio {step}: {theirs:#?}"
        );
    }
    assert!(
        theirs.iter().any(|l| l.starts_with("location: alice\t")),
        "kamailio saved alice's binding in the location table: {theirs:#?}"
    );
    // Ours on the same database, the location table emptied.
    let refs: Vec<(&str, &str)> = defines
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let bin = tests::build_proxy(stock, &refs, "authdb-stock");
    for compiled in [true, false] {
        let rundir = tmp().join(format!("stock-ours-{compiled}"));
        std::fs::create_dir_all(&rundir).expect("rundir");
        let extra = ["-Y".as_ref(), rundir.as_os_str()];
        let wait = Duration::from_secs(20);
        let (g, port) = if compiled {
            tests::start_ours(&bin, None, &extra, wait)
        } else {
            let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
            for (n, v) in &defines {
                c.arg("-A").arg(format!("{n}={v}"));
            }
            c.arg(stock).arg("--");
            tests::start_command(c, &extra, wait)
        };
        let mut got = observe(port);
        g.stop().expect("stopped");
        got.extend(location());
        assert_eq!(
            client_ports(&got),
            client_ports(&theirs),
            "{} proxy on the stock config:\nours: {got:#?}\nkamailio: {theirs:#?}",
            if compiled {
                "the compiled"
            } else {
                "the interpreted"
            },
        );
    }
    eprintln!(
        "stock WITH_MYSQL WITH_AUTH WITH_IPAUTH WITH_ALIASDB WITH_SPEEDDIAL WITH_MULTIDOMAIN \
         WITH_USRLOCDB WITH_ACCDB:\n{}",
        theirs.join("\n")
    );
}

/// The lines with the client's port in `Contact` (a new socket per
/// request) replaced by `<port>`.
fn client_ports(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.find("Contact: <sip:alice@127.0.0.1:") {
            Some(i) => {
                let at = i + "Contact: <sip:alice@127.0.0.1:".len();
                let digits = l[at..].bytes().take_while(u8::is_ascii_digit).count();
                format!("{}<port>{}", &l[..at], &l[at + digits..])
            }
            None => l.clone(),
        })
        .collect()
}

/// The database lost under load (MariaDB through a relay the test cuts):
/// `auth_check` answers -1 (the cfg's 403 rc=-1) while requests that do
/// not need the database are answered as ever, and the next check after
/// the database is back reconnects; the same from `kamailio -f`, the
/// compiled and the interpreted proxy.
#[test]
fn a_lost_database_fails_the_check_then_reconnects_like_kamailio() {
    let b = Backend::Mysql;
    let db = fresh(b, "cfgc_authdb_outage");
    let relay = tests::db::Relay::new(b.server());
    let url = db.url_via(&("127.0.0.1".to_string(), relay.port));
    let observe = |port: u16| -> Vec<String> {
        let n = challenge_nonce(port, "REGISTER", "alice");
        let good = Answer {
            alg: Algorithm::Md5,
            header: "Authorization",
            user: "alice",
            realm: "127.0.0.1",
            password: "alice-pw",
            nonce: &n,
            uri: format!("sip:alice@127.0.0.1:{port}"),
            method: "REGISTER",
            qop: Some("auth"),
        }
        .header();
        let reg = |step| Req {
            step,
            method: "REGISTER",
            ruser: "alice",
            from: "alice",
            to: "alice",
            headers: vec![good.clone()],
            ..Req::default()
        };
        let other = Req {
            step: "no-db",
            method: "NOTIFY",
            ruser: "alice",
            from: "alice",
            to: "alice",
            ..Req::default()
        };
        let mut out = vec![send(port, &reg("before"))];
        relay.cut();
        out.push(send(port, &reg("cut")));
        out.push(send(port, &other));
        out.push(send(port, &reg("cut-again")));
        relay.restore();
        out.push(send(port, &reg("restored")));
        out.push(send(port, &reg("restored-again")));
        out
    };
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        // Its own build: the MariaDB differential test builds (copies
        // over) the same cfg and defines at the same time.
        let (g, port) = tests::start_contender(
            who,
            &cfg(),
            &defines(b, Variant::Plain, &url),
            "authdb-mysql-outage",
            Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
        );
        let got = observe(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for (i, want) in [
        "before: SIP/2.0 200 ok c=1 pw=alice-pw",
        "cut: SIP/2.0 403 rc=-1",
        "no-db: SIP/2.0 404 Not here",
        "cut-again: SIP/2.0 403 rc=-1",
        "restored: SIP/2.0 200 ok c=1 pw=alice-pw",
        "restored-again: SIP/2.0 200 ok c=1 pw=alice-pw",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            theirs.get(i).is_some_and(|l| l.starts_with(want)),
            "kamailio through the outage: {theirs:#?} (expected {want})"
        );
    }
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who} through the outage");
    }
}

/// One authenticated REGISTER of alice through the stock config on
/// `port` from `sock`: challenged, then answered; the status of the
/// answer to the credentials (or `timeout`, or the first reply when it
/// is no challenge).
fn auth_register(sock: &std::net::UdpSocket, port: u16, n: u32) -> String {
    let local = sock.local_addr().expect("addr");
    let msg = |cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-load-{n}-{cseq};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=load-{n}\r\n\
To: <sip:alice@127.0.0.1>\r\n\
Call-ID: load-{n}-{}@test\r\n\
CSeq: {cseq} REGISTER\r\n\
Contact: <sip:alice@{local}>\r\n\
Expires: 600\r\n\
{auth}Content-Length: 0\r\n\r\n",
            local.port()
        )
    };
    let exchange = |m: &str, cseq: u32| -> Option<String> {
        let mut buf = [0u8; 65536];
        sock.send_to(m.as_bytes(), ("127.0.0.1", port)).ok()?;
        let until = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < until {
            let Ok((len, _)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let r = String::from_utf8_lossy(&buf[..len]).into_owned();
            // A late reply to an earlier request is not this one's.
            if r.contains(&format!("branch=z9hG4bK-load-{n}-{cseq};"))
                && !r.starts_with("SIP/2.0 1")
            {
                return Some(r);
            }
        }
        None
    };
    let Some(challenge) = exchange(&msg(1, ""), 1) else {
        return "timeout".into();
    };
    let status = |r: &str| r.lines().next().unwrap_or("").to_string();
    let Some(nonce) = param(&challenge, "nonce") else {
        return status(&challenge);
    };
    let creds = Answer {
        alg: Algorithm::Md5,
        header: "Authorization",
        user: "alice",
        realm: "127.0.0.1",
        password: "alice-pw",
        nonce: &nonce,
        uri: format!("sip:127.0.0.1:{port}"),
        method: "REGISTER",
        qop: None,
    }
    .header();
    exchange(&msg(2, &format!("{creds}\r\n")), 2).map_or_else(|| "timeout".into(), |r| status(&r))
}

/// The stock config (WITH_MYSQL WITH_AUTH) under a steady authenticated
/// REGISTER load from four clients while its database goes away (a
/// relay cut) and comes back: each proxy stays up, answers what Kamailio
/// answers while the database is gone, and authorises again once it is
/// back. Compared per phase: the set of statuses the clients saw.
#[test]
fn the_stock_config_under_load_rides_out_a_database_outage_like_kamailio() {
    let b = Backend::Mysql;
    let db = fresh(b, "cfgc_authdb_load_outage");
    let relay = tests::db::Relay::new(b.server());
    let url = db.url_via(&("127.0.0.1".to_string(), relay.port));
    let stock = Path::new(tests::STOCK_CFG);
    let defines = [
        ("WITH_MYSQL".to_string(), "1".to_string()),
        ("WITH_AUTH".to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ];
    let run = |who: &str| -> (Vec<String>, bool) {
        let rundir = tmp().join(format!("load-outage-{who}"));
        std::fs::create_dir_all(&rundir).expect("rundir");
        let extra = ["-Y".as_ref(), rundir.as_os_str()];
        let wait = Duration::from_secs(20);
        let (mut g, port) = match who {
            "kamailio" => {
                tests::start_contender(who, stock, &defines, "authdb-load-outage", Path::new(""))
            }
            "compiled" => {
                let refs: Vec<(&str, &str)> = defines
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect();
                let bin = tests::build_proxy(stock, &refs, "authdb-load-outage");
                tests::start_ours(&bin, None, &extra, wait)
            }
            _ => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
                for (n, v) in &defines {
                    c.arg("-A").arg(format!("{n}={v}"));
                }
                c.arg(stock).arg("--");
                tests::start_command(c, &extra, wait)
            }
        };
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>> =
            std::sync::Arc::default();
        let clients: Vec<_> = (0..4u32)
            .map(|c| {
                let (stop, seen) = (stop.clone(), seen.clone());
                std::thread::spawn(move || {
                    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("client");
                    sock.set_read_timeout(Some(Duration::from_millis(100)))
                        .expect("timeout");
                    let mut n = c * 1_000_000;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        n += 1;
                        let s = auth_register(&sock, port, n);
                        seen.lock()
                            .expect("lock")
                            .push((std::time::Instant::now(), s));
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(2));
        // (cut waits for the proxy's connections to settle first.)
        relay.cut();
        let cut_at = std::time::Instant::now();
        std::thread::sleep(Duration::from_secs(4));
        relay.restore();
        let restored_at = std::time::Instant::now();
        std::thread::sleep(Duration::from_secs(4));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for c in clients {
            c.join().expect("client");
        }
        let alive = g.try_wait().is_none();
        g.stop().expect("stopped");
        let seen = seen.lock().expect("lock");
        let phase = |name: &str, from: std::time::Instant, to: std::time::Instant| {
            let set: std::collections::BTreeSet<&str> = seen
                .iter()
                .filter(|(t, _)| *t > from && *t < to)
                .map(|(_, s)| s.as_str())
                .collect();
            format!(
                "{name}: {}",
                set.into_iter().collect::<Vec<_>>().join(" | ")
            )
        };
        let start = seen.first().map_or(cut_at, |(t, _)| *t);
        let end = seen.last().map_or(restored_at, |(t, _)| *t);
        let second = Duration::from_secs(1);
        let lines = vec![
            phase("before", start, cut_at),
            phase("database gone", cut_at + second, restored_at),
            phase("database back", restored_at + 2 * second, end + second),
        ];
        (lines, alive)
    };
    let (theirs, k_alive) = run("kamailio");
    assert!(k_alive, "kamailio stayed up");
    assert_eq!(
        theirs.first().map(String::as_str),
        Some("before: SIP/2.0 200 OK"),
        "kamailio: {theirs:#?}"
    );
    assert_eq!(
        theirs.last().map(String::as_str),
        Some("database back: SIP/2.0 200 OK"),
        "kamailio: {theirs:#?}"
    );
    for who in ["compiled", "interpreted"] {
        let (ours, alive) = run(who);
        assert!(alive, "{who} stayed up");
        assert_eq!(ours, theirs, "{who} through the outage under load");
    }
    eprintln!("under load through an outage:\n{}", theirs.join("\n"));
}

//! domain over real databases, differential (issue 12): the same cfg
//! (`tests/domain/kamailio.cfg`) run by `kamailio -f`, by cfgc's compiled
//! proxy and by the interpreter, all three loading one database per
//! backend (SQLite made by `kamdbctl create`, MariaDB and PostgreSQL from
//! Debian's schema files; domains by `kamctl domain add`, an attribute by
//! SQL). The same requests to each, the return codes compared:
//! `is_from_local`, `is_uri_host_local`, `is_domain_local` (case-
//! insensitive), and `uri == myself` / `from_uri == myself` for a local
//! domain (`register_myself`: any port). Then an attribute of an unknown
//! type fails the load: Kamailio refuses to start, and so do ours. Last,
//! the operator's `kamcmd domain.dump` and `domain.reload` (a domain
//! added to the table becomes local; a bad row fails the reload and keeps
//! the old tables).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};
use tests::db::{Backend, DbUser, FreshDb};

const USER: DbUser = DbUser {
    name: "cfgc_domain",
    password: "cfgc-domain-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("domain/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("domain")
}

/// (step, X-Op, R-URI, From host, X-Dom).
const STEPS: &[(&str, &str, &str, &str, &str)] = &[
    ("from-local", "from", "sip:x@127.0.0.1", "example.com", ""),
    (
        "from-local-case",
        "from",
        "sip:x@127.0.0.1",
        "EXAMPLE.com",
        "",
    ),
    ("from-remote", "from", "sip:x@127.0.0.1", "other.org", ""),
    ("ruri-local", "ruri", "sip:x@Example.Com", "a.org", ""),
    ("ruri-remote", "ruri", "sip:x@other.org", "a.org", ""),
    ("ruri-ip", "ruri", "sip:x@127.0.0.2", "a.org", ""),
    (
        "dom-local",
        "dom",
        "sip:x@127.0.0.1",
        "a.org",
        "example.com",
    ),
    (
        "dom-sub",
        "dom",
        "sip:x@127.0.0.1",
        "a.org",
        "sub.example.com",
    ),
    ("dom-empty", "dom", "sip:x@127.0.0.1", "a.org", ""),
    ("myself-domain", "myself", "sip:x@example.com", "a.org", ""),
    (
        "myself-domain-port",
        "myself",
        "sip:x@example.com:5999",
        "a.org",
        "",
    ),
    ("myself-remote", "myself", "sip:x@other.org", "a.org", ""),
    (
        "from-myself",
        "from-myself",
        "sip:x@127.0.0.1",
        "example.com",
        "",
    ),
    (
        "from-myself-remote",
        "from-myself",
        "sip:x@127.0.0.1",
        "other.org",
        "",
    ),
    // lookup_domain: the did (kamctl's, or the row's own) and the did's
    // attributes as AVPs (a repeated name stacks), with and without a
    // prefix; a domain that is not local.
    (
        "lookup-kamctl",
        "lookup",
        "sip:x@127.0.0.1",
        "a.org",
        "example.com",
    ),
    (
        "lookup-did",
        "lookup",
        "sip:x@127.0.0.1",
        "a.org",
        "VOIP.test",
    ),
    (
        "lookup-prefix",
        "lookup-prefix",
        "sip:x@127.0.0.1",
        "a.org",
        "voip.test",
    ),
    (
        "lookup-remote",
        "lookup",
        "sip:x@127.0.0.1",
        "a.org",
        "other.org",
    ),
];

fn observe(port: u16) -> Vec<String> {
    STEPS
        .iter()
        .map(|(step, op, ruri, fhost, dom)| {
            let a = udp_exchange(port, |local| {
                format!(
                    "OPTIONS {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{step}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@{fhost}>;tag=t-{step}\r\n\
To: <sip:x@127.0.0.1>\r\n\
Call-ID: domain-{step}@test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Op: {op}\r\nX-Dom: {dom}\r\n\
Content-Length: 0\r\n\r\n"
                )
            });
            format!(
                "{step}: {}",
                a.as_deref()
                    .and_then(|a| a.split("\r\n").next())
                    .unwrap_or("timeout")
            )
        })
        .collect()
}

fn defines(b: Backend, url: &str) -> Vec<(String, String)> {
    vec![
        (b.define().to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ]
}

fn fresh(b: Backend, name: &str) -> FreshDb {
    let db = if b == Backend::Sqlite {
        FreshDb::kamdbctl_sqlite(name, &tmp())
    } else {
        FreshDb::new(
            b,
            name,
            &["standard-create.sql", "domain-create.sql"],
            USER,
            &tmp(),
        )
    };
    for d in ["Example.COM", "127.0.0.2"] {
        db.kamctl(&["domain", "add", d]);
    }
    db.sql(
        "insert into domain_attrs (did, name, type, value) \
         values ('example.com', 'max_calls', 0, '10');",
    );
    // A domain with a did of its own; that did's attributes (one name
    // twice, one row naming the did in other case).
    db.sql(
        "insert into domain (domain, did) values ('voip.test', 'grp1');\n\
         insert into domain_attrs (did, name, type, value) values ('grp1', 'tier', 2, 'gold');\n\
         insert into domain_attrs (did, name, type, value) values ('grp1', 'tier', 2, 'silver');\n\
         insert into domain_attrs (did, name, type, value) values ('grp1', 'limit', 0, '42');\n\
         insert into domain_attrs (did, name, type, value) values ('GRP1', 'extra', 2, 'x');",
    );
    db
}

fn start(who: &str, b: Backend, url: &str) -> (GroupGuard, u16) {
    tests::start_contender(
        who,
        &cfg(),
        &defines(b, url),
        &format!("domain-{}", b.name()),
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
    )
}

fn differential(b: Backend) {
    let t0 = std::time::Instant::now();
    let db = fresh(b, &format!("cfgc_domain_{}", b.name()));
    let url = db.url();
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let (g, port) = start(who, b, &url);
        let got = observe(port);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for (step, w) in [
        ("from-local", "op=from rc=1"),
        ("from-remote", "op=from rc=-1"),
        ("ruri-local", "op=ruri rc=1"),
        ("myself-domain-port", "op=myself rc=1"),
        ("myself-remote", "op=myself rc=-1"),
        (
            "lookup-did",
            "op=lookup rc=1 did=grp1 max_calls=<null> tier=gold/silver limit=42 extra=x",
        ),
    ] {
        assert!(
            theirs
                .iter()
                .any(|l| l == &format!("{step}: SIP/2.0 200 {w}")),
            "kamailio ({}): {step} is not {w}:\n{}",
            b.name(),
            theirs.join("\n")
        );
    }
    for (who, got) in &all[1..] {
        assert_eq!(
            got,
            theirs,
            "{who} on {}:\nours:\n{}\nkamailio:\n{}",
            b.name(),
            got.join("\n"),
            theirs.join("\n")
        );
    }
    eprintln!(
        "domain {}: {:.1} s\n{}",
        b.name(),
        t0.elapsed().as_secs_f64(),
        theirs.join("\n")
    );
}

#[test]
fn domain_on_sqlite_answers_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn domain_on_mariadb_answers_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn domain_on_postgresql_answers_like_kamailio() {
    differential(Backend::Postgres);
}

/// An attribute of type 7 fails the load: Kamailio refuses to start, and
/// so do ours, compiled and interpreted.
#[test]
fn an_invalid_attribute_refuses_to_start_like_kamailio() {
    let b = Backend::Sqlite;
    let db = fresh(b, "cfgc_domain_bad");
    db.sql(
        "insert into domain_attrs (did, name, type, value) values ('example.com', 'x', 7, 'y');",
    );
    let d = defines(b, &db.url());
    let port = free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let rundir = std::env::temp_dir().join(format!("cfgc-domain-bad-{port}"));
    std::fs::create_dir_all(&rundir).expect("rundir");
    let mut k = Kamailio::new(cfg(), listen.clone(), rundir).module_dir(Some(module_dir()));
    for (n, v) in &d {
        k = k.define(format!("{n}={v}"));
    }
    let (refused, log) = tests::refuses(k.command(), &tmp().join("kamailio-bad-attr.log"));
    assert!(refused, "kamailio starts with a type 7 attribute:\n{log}");
    let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let bin = tests::build_proxy(&cfg(), &refs, "domain-bad-attr");
    let mut compiled = Command::new(bin);
    compiled.args(["-l", &listen, "-n", "1", "-E"]);
    let mut interp = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
    for (n, v) in &d {
        interp.arg("-A").arg(format!("{n}={v}"));
    }
    interp
        .arg(cfg())
        .args(["--", "-l", &listen, "-n", "1", "-E"]);
    for (who, c) in [("compiled", compiled), ("interpreted", interp)] {
        let (refused, log) = tests::refuses(c, &tmp().join(format!("{who}-bad-attr.log")));
        assert!(
            refused && log.contains("domain tables"),
            "{who} starts with a type 7 attribute:\n{log}"
        );
    }
}

/// The operator's RPC: `domain.dump`, a domain added to the table that
/// `domain.reload` makes local, a bad attribute row that fails the reload
/// (400) and keeps the loaded tables. On MariaDB, each contender with
/// its own run directory (ctl's socket), the rows put back after each.
#[test]
fn domain_rpc_dump_and_reload_like_kamailio() {
    let b = Backend::Mysql;
    let db = fresh(b, "cfgc_domain_rpc");
    let mut d = defines(b, &db.url());
    d.push(("WITH_CTL".into(), "1".into()));
    let is_local = |port: u16, dom: &str| {
        let a = udp_exchange(port, |local| {
            format!(
                "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-rpc-{dom}\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@a.org>;tag=t-rpc\r\n\
To: <sip:x@127.0.0.1>\r\n\
Call-ID: domain-rpc-{dom}@test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Op: dom\r\nX-Dom: {dom}\r\n\
Content-Length: 0\r\n\r\n"
            )
        });
        format!(
            "{dom}: {}",
            a.as_deref()
                .and_then(|a| a.split("\r\n").next())
                .unwrap_or("timeout")
        )
    };
    let session = |port: u16, rundir: &Path| -> Vec<String> {
        let mut out = vec!["> domain.dump".to_string()];
        out.extend(
            tests::kamcmd(rundir, "domain.dump")
                .lines()
                .map(str::to_string),
        );
        db.sql(
            "insert into domain (domain, did) values ('Added.test', 'grp2');\n\
             insert into domain_attrs (did, name, type, value) values ('grp2', 'a1', 0, '1');\n\
             insert into domain_attrs (did, name, type, value) values ('grp2', 'a2', 2, 'x');",
        );
        out.push(is_local(port, "added.test"));
        out.push("> domain.reload".to_string());
        out.extend(
            tests::kamcmd(rundir, "domain.reload")
                .lines()
                .map(str::to_string),
        );
        out.push(is_local(port, "added.test"));
        out.push("> domain.dump".to_string());
        out.extend(
            tests::kamcmd(rundir, "domain.dump")
                .lines()
                .map(str::to_string),
        );
        db.sql("insert into domain_attrs (did, name, type, value) values ('grp2', 'bad', 7, 'y');");
        out.push("> domain.reload (bad row)".to_string());
        out.extend(
            tests::kamcmd(rundir, "domain.reload")
                .lines()
                .map(str::to_string),
        );
        out.push(is_local(port, "added.test"));
        db.sql(
            "delete from domain where did = 'grp2';\n\
             delete from domain_attrs where did = 'grp2';",
        );
        out
    };
    let mut all = Vec::new();
    let bin = {
        let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        tests::build_proxy(&cfg(), &refs, "domain-rpc")
    };
    for who in ["kamailio", "compiled", "interpreted"] {
        let port = free_port();
        let rundir = tmp().join(format!("rpc-{who}-{port}"));
        std::fs::create_dir_all(&rundir).expect("rundir");
        let (g, port) = match who {
            "kamailio" => {
                let mut k = Kamailio::new(cfg(), format!("udp:127.0.0.1:{port}"), &rundir)
                    .module_dir(Some(module_dir()));
                for (n, v) in &d {
                    k = k.define(format!("{n}={v}"));
                }
                let mut g = k
                    .start(Stdio::null(), Stdio::null())
                    .expect("kamailio runs (apt-get install kamailio)");
                g.wait_bound(port, "kamailio", std::time::Duration::from_secs(20))
                    .expect("kamailio listens");
                (g, port)
            }
            "compiled" => tests::start_ours(
                &bin,
                None,
                &["-Y".as_ref(), rundir.as_os_str()],
                std::time::Duration::from_secs(20),
            ),
            _ => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
                for (n, v) in &d {
                    c.arg("-A").arg(format!("{n}={v}"));
                }
                c.arg(cfg()).arg("--");
                tests::start_command(
                    c,
                    &["-Y".as_ref(), rundir.as_os_str()],
                    std::time::Duration::from_secs(20),
                )
            }
        };
        let got = session(port, &rundir);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    for w in [
        "added.test: SIP/2.0 200 op=dom rc=-1",
        "added.test: SIP/2.0 200 op=dom rc=1",
        "error: 400 - Reload of domain tables failed",
    ] {
        assert!(
            theirs.iter().any(|l| l == w),
            "kamailio: no `{w}`:\n{}",
            theirs.join("\n")
        );
    }
    for (who, got) in &all[1..] {
        assert_eq!(
            got,
            theirs,
            "{who}:\nours:\n{}\nkamailio:\n{}",
            got.join("\n"),
            theirs.join("\n")
        );
    }
    eprintln!("domain RPC:\n{}", theirs.join("\n"));
}

//! permissions' address table over real databases, differential (issue
//! 12): the same cfg (`tests/permissions/kamailio.cfg`) run by
//! `kamailio -f`, by cfgc's compiled proxy and by the interpreter, all
//! three loading one database per backend (SQLite made by
//! `kamdbctl create`, MariaDB and PostgreSQL from Debian's schema files;
//! rows by `kamctl address add`, a domain-name row by SQL). The same
//! requests to each, the return codes and the tag a match adds to
//! `peer_tag_avp` compared: the source address by group, exact and
//! subnet rows, ports, IPv6, domain names, the group a match gives (the
//! last loaded exact row first; no tag for a domain name's group, as
//! Kamailio's matcher adds none). Then a row with group 0
//! fails the load: Kamailio refuses to start, and so do ours.

use std::path::{Path, PathBuf};
use std::process::Command;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};
use tests::db::{Backend, DbUser, FreshDb};

const USER: DbUser = DbUser {
    name: "cfgc_perms",
    password: "cfgc-perms-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("permissions/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("permissions")
}

/// (step, X-Op, X-Grp, X-Addr, X-Port).
const STEPS: &[(&str, &str, &str, &str, &str)] = &[
    ("src", "src", "", "", ""),
    ("src-1", "src-grp", "1", "", ""),
    ("src-2", "src-grp", "2", "", ""),
    ("src-3-port", "src-grp", "3", "", ""),
    ("src-5-subnet", "src-grp", "5", "", ""),
    ("src-group", "src-group", "", "", ""),
    ("addr-subnet", "addr", "2", "10.1.2.3", "5060"),
    ("addr-outside", "addr", "2", "11.1.2.3", "5060"),
    ("addr-port", "addr", "3", "127.0.0.1", "5060"),
    ("addr-other-port", "addr", "3", "127.0.0.1", "5061"),
    ("addr-name", "addr", "4", "gw.example.com", "0"),
    ("addr-name-case", "addr", "4", "GW.example.com", "0"),
    ("addr-v6", "addr", "6", "2001:db8::1", "1"),
    ("addr-v6-outside", "addr", "6", "2001:db9::1", "1"),
    ("group-subnet", "addr-group", "", "10.9.9.9", "1"),
    ("group-last-loaded", "addr-group", "", "127.0.0.1", "5060"),
    ("group-port-0", "addr-group", "", "127.0.0.1", "7"),
    ("group-name", "addr-group", "", "gw.example.com", "7"),
    ("group-none", "addr-group", "", "192.168.1.1", "7"),
];

fn observe(port: u16) -> Vec<String> {
    STEPS
        .iter()
        .map(|(step, op, grp, addr, p)| {
            let a = udp_exchange(port, |local| {
                format!(
                    "OPTIONS sip:x@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{step}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=t-{step}\r\n\
To: <sip:x@127.0.0.1>\r\n\
Call-ID: perms-{step}@test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Op: {op}\r\nX-Grp: {grp}\r\nX-Addr: {addr}\r\nX-Port: {p}\r\n\
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
            &["standard-create.sql", "permissions-create.sql"],
            USER,
            &tmp(),
        )
    };
    for row in [
        ["1", "127.0.0.1", "32", "0", "local"],
        ["2", "10.0.0.0", "8", "0", "ten"],
        ["3", "127.0.0.1", "32", "5060", "sip"],
        ["5", "127.0.0.0", "24", "0", "loopnet"],
        ["6", "2001:db8::", "32", "0", "v6"],
    ] {
        let mut args = vec!["address", "add"];
        args.extend(row);
        db.kamctl(&args);
    }
    db.sql(
        "insert into address (grp, ip_addr, mask, port, tag) \
         values (4, 'gw.example.com', 32, 0, 'gw');",
    );
    db
}

fn start(who: &str, b: Backend, url: &str) -> (GroupGuard, u16) {
    tests::start_contender(
        who,
        &cfg(),
        &defines(b, url),
        &format!("perms-{}", b.name()),
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
    )
}

fn differential(b: Backend) {
    let t0 = std::time::Instant::now();
    let db = fresh(b, &format!("cfgc_perms_{}", b.name()));
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
        ("src", "op=src rc=1 tag=local"),
        ("src-2", "op=src-grp rc=-1 tag=<null>"),
        ("src-5-subnet", "op=src-grp rc=1 tag=loopnet"),
        ("addr-subnet", "op=addr rc=1 tag=ten"),
        ("addr-name", "op=addr rc=1 tag=gw"),
        ("group-subnet", "op=addr-group rc=2 tag=ten"),
        ("group-name", "op=addr-group rc=4 tag=<null>"),
        ("group-none", "op=addr-group rc=-1 tag=<null>"),
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
        "permissions {}: {:.1} s\n{}",
        b.name(),
        t0.elapsed().as_secs_f64(),
        theirs.join("\n")
    );
}

#[test]
fn permissions_on_sqlite_answer_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn permissions_on_mariadb_answer_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn permissions_on_postgresql_answer_like_kamailio() {
    differential(Backend::Postgres);
}

/// A row with group 0 fails the whole load: Kamailio refuses to start,
/// and so do ours, compiled and interpreted.
#[test]
fn an_invalid_address_row_refuses_to_start_like_kamailio() {
    let b = Backend::Sqlite;
    let db = fresh(b, "cfgc_perms_bad");
    db.sql("insert into address (grp, ip_addr, mask, port) values (0, '10.1.1.1', 32, 0);");
    let url = db.url();
    let d = defines(b, &url);
    let port = free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let rundir = std::env::temp_dir().join(format!("cfgc-perms-bad-{port}"));
    std::fs::create_dir_all(&rundir).expect("rundir");
    let mut k = Kamailio::new(cfg(), listen.clone(), rundir).module_dir(Some(module_dir()));
    for (n, v) in &d {
        k = k.define(format!("{n}={v}"));
    }
    let (refused, log) = tests::refuses(k.command(), &tmp().join("kamailio-bad-row.log"));
    assert!(refused, "kamailio starts with a group 0 row:\n{log}");
    let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let bin = tests::build_proxy(&cfg(), &refs, "perms-bad-row");
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
        let (refused, log) = tests::refuses(c, &tmp().join(format!("{who}-bad-row.log")));
        assert!(
            refused && log.contains("address table"),
            "{who} starts with a group 0 row:\n{log}"
        );
    }
}

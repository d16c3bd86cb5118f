//! permissions' trusted table over real databases, differential (issue
//! 12): the same cfg (`tests/trusted/kamailio.cfg`) run by `kamailio -f`,
//! by cfgc's compiled proxy and by the interpreter, all three on one
//! database per backend (SQLite made by `kamdbctl create`, MariaDB and
//! PostgreSQL from Debian's schema files; rows by `kamctl trusted add`
//! and by SQL, for the columns kamctl does not fill), with `db_mode` 0
//! and 1 and `peer_tag_mode` 0 and 1. The same requests to each, from
//! 127.0.0.1 and 127.0.0.2, calling `allow_trusted()`,
//! `allow_trusted(ip, proto)` and `allow_trusted(ip, proto, furi)`; the
//! return codes and the values of `peer_tag_avp` compared: priorities
//! (ascending when queried, descending when cached), NULL patterns, a
//! protocol that does not fit, `none` rows, the R-URI as received, BRE
//! syntax, invalid patterns, NULL and empty tags, IPv6 and the text
//! comparison of the address. Then `permissions.trustedReload` through
//! kamcmd, and a row with an unknown protocol refusing the start with
//! `db_mode` 1.
//!
//! Left out on purpose: an invalid `from_pattern` in `db_mode` 1, or with
//! a `ruri_pattern` in `db_mode` 0 — Kamailio 5.6.3's worker dies of a
//! SIGSEGV there (and the server with it); cfgc skips the row.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange_from};
use tests::db::{Backend, DbUser, FreshDb};

const USER: DbUser = DbUser {
    name: "cfgc_trusted",
    password: "cfgc-trusted-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("trusted/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("trusted")
}

/// One request: its name, source address, `X-Op`, the arguments
/// (`X-Ip`, `X-Proto`, `X-Furi`), R-URI, From, the `$ru` the script sets
/// first (`X-Ru`), and whether it runs with `db_mode` 1 too.
struct Step {
    name: &'static str,
    src: &'static str,
    op: &'static str,
    args: [&'static str; 3],
    ruri: &'static str,
    from: &'static str,
    set_ru: &'static str,
    cached_too: bool,
}

const fn st(
    name: &'static str,
    src: &'static str,
    op: &'static str,
    args: [&'static str; 3],
    ruri: &'static str,
    from: &'static str,
) -> Step {
    Step {
        name,
        src,
        op,
        args,
        ruri,
        from,
        set_ru: "",
        cached_too: true,
    }
}

const ONE: &str = "127.0.0.1";
const TWO: &str = "127.0.0.2";
const NO: [&str; 3] = ["", "", ""];
const R: &str = "sip:x@127.0.0.1";

const STEPS: &[Step] = &[
    st("alice", ONE, "t0", NO, R, "<sip:alice@127.0.0.1>"),
    st("bob", ONE, "t0", NO, R, "<sip:bob@example.org>"),
    st(
        "bob-display",
        ONE,
        "t0",
        NO,
        R,
        "\"Bob\" <sip:bob@example.org;transport=udp>",
    ),
    st(
        "gw",
        ONE,
        "t0",
        NO,
        "sip:gw@127.0.0.1",
        "<sip:bob@example.org>",
    ),
    Step {
        set_ru: "sip:gw@127.0.0.1",
        ..st("gw-rewritten", ONE, "t0", NO, R, "<sip:zed@example.org>")
    },
    st("zed", ONE, "t0", NO, R, "<sip:zed@example.org>"),
    st("zed-from-two", TWO, "t0", NO, R, "<sip:zed@example.org>"),
    st(
        "t2-tcp",
        ONE,
        "t2",
        [ONE, "TCP", ""],
        R,
        "<sip:zed@example.org>",
    ),
    st(
        "t2-any",
        ONE,
        "t2",
        [ONE, "any", ""],
        R,
        "<sip:zed@example.org>",
    ),
    st("t2-udp", ONE, "t2", [ONE, "Udp", ""], R, "<sip:alice@x>"),
    st(
        "t2-bad-proto",
        ONE,
        "t2",
        [ONE, "xyz", ""],
        R,
        "<sip:alice@x>",
    ),
    st(
        "t2-two",
        ONE,
        "t2",
        [TWO, "udp", ""],
        R,
        "<sip:zed@example.org>",
    ),
    st(
        "t2-null-ip",
        ONE,
        "t2",
        ["$null", "any", ""],
        R,
        "<sip:zed@example.org>",
    ),
    st(
        "dave",
        ONE,
        "t3",
        ["10.0.0.1", "udp", "sip:dave@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "dave-tcp",
        ONE,
        "t3",
        ["10.0.0.1", "tcp", "sip:dave@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "dave-sctp",
        ONE,
        "t3",
        ["10.0.0.1", "SCTP", "sip:dave@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "bre-alt",
        ONE,
        "t3",
        ["10.0.0.2", "any", "sip:eve@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "bre-alt-2",
        ONE,
        "t3",
        ["10.0.0.2", "any", "sip:frank@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "ere-alt",
        ONE,
        "t3",
        ["10.0.0.2", "any", "sip:(eve|frank)@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "plus",
        ONE,
        "t3",
        ["10.0.0.2", "any", "sip:a+b@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "plus-ere",
        ONE,
        "t3",
        ["10.0.0.2", "any", "sip:aab@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "interval",
        ONE,
        "t3",
        ["10.0.0.6", "any", "sip:123@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "interval-short",
        ONE,
        "t3",
        ["10.0.0.6", "any", "sip:12@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "case",
        ONE,
        "t3",
        ["10.0.0.6", "any", "SIP:123@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "bad-ruri",
        ONE,
        "t3",
        ["10.0.0.5", "any", "sip:a@x"],
        R,
        "<sip:zed@x>",
    ),
    Step {
        cached_too: false,
        ..st(
            "bad-from",
            ONE,
            "t3",
            ["10.0.0.3", "any", "sip:a@x"],
            R,
            "<sip:zed@x>",
        )
    },
    st(
        "empty-tag",
        ONE,
        "t3",
        ["10.0.0.7", "any", "sip:a@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "empty-furi",
        ONE,
        "t3",
        [ONE, "udp", ""],
        R,
        "<sip:alice@x>",
    ),
    st(
        "ip-case",
        ONE,
        "t3",
        ["gw.example", "any", "sip:a@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "ip-exact",
        ONE,
        "t3",
        ["GW.Example", "any", "sip:a@x"],
        R,
        "<sip:zed@x>",
    ),
    st(
        "ip-padded",
        ONE,
        "t3",
        ["127.000.000.001", "any", "sip:bob@x"],
        R,
        "<sip:zed@x>",
    ),
    st("v6", ONE, "t3", ["::1", "any", "sip:a@x"], R, "<sip:zed@x>"),
    st(
        "unknown-ip",
        ONE,
        "t3",
        ["192.0.2.1", "any", "sip:a@x"],
        R,
        "<sip:zed@x>",
    ),
];

/// An SQL string literal of `s` for `b` (MariaDB reads backslashes as
/// escapes; PostgreSQL and SQLite do not).
fn lit(b: Backend, s: Option<&str>) -> String {
    match s {
        None => "NULL".into(),
        Some(s) => {
            let mut s = s.replace('\'', "''");
            if b == Backend::Mysql {
                s = s.replace('\\', "\\\\");
            }
            format!("'{s}'")
        }
    }
}

/// (src_ip, proto, from_pattern, ruri_pattern, tag, priority).
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    i32,
);

const ROWS: &[Row] = &[
    (ONE, "udp", Some("^sip:alice@"), None, Some("alice-udp"), 10),
    (ONE, "any", None, Some("^sip:gw@"), Some("gw-any"), 20),
    (ONE, "tcp", None, None, Some("tcp-only"), 30),
    (ONE, "ANY", Some("^sip:bob@"), None, Some("bob-low"), 5),
    (ONE, "any", Some("^sip:bob@"), None, Some("bob-high"), 15),
    (ONE, "none", None, None, Some("none-row"), 50),
    (
        "10.0.0.2",
        "any",
        Some("^sip:\\(eve\\|frank\\)@"),
        None,
        Some("bre-alt"),
        3,
    ),
    ("10.0.0.2", "any", Some("^sip:a+b@"), None, None, 2),
    (
        "10.0.0.3",
        "any",
        Some("[invalid"),
        None,
        Some("bad-from"),
        0,
    ),
    ("10.0.0.5", "any", None, Some("[bad"), Some("bad-ruri"), 0),
    (
        "10.0.0.6",
        "any",
        Some("^sip:[0-9]\\{3\\}@"),
        None,
        Some("three"),
        0,
    ),
    ("10.0.0.7", "any", None, None, Some(""), 0),
    ("GW.Example", "any", None, None, Some("named"), 0),
    ("::1", "any", None, None, Some("v6"), 0),
];

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
    // What an operator adds with kamctl (from_pattern '' and tag given,
    // ruri_pattern NULL, priority 0).
    db.kamctl(&["trusted", "add", TWO, "any", "", "two"]);
    db.kamctl(&["trusted", "add", "10.0.0.1", "udp", "^sip:dave@", "dave"]);
    for (ip, proto, from, ruri, tag, prio) in ROWS {
        db.sql(&format!(
            "insert into trusted (src_ip, proto, from_pattern, ruri_pattern, tag, priority) \
             values ({}, {}, {}, {}, {}, {prio});",
            lit(b, Some(ip)),
            lit(b, Some(proto)),
            lit(b, *from),
            lit(b, *ruri),
            lit(b, *tag),
        ));
    }
    db
}

fn defines(b: Backend, url: &str, db_mode: u8, tag_mode: u8) -> Vec<(String, String)> {
    vec![
        (b.define().to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
        ("DBMODE".to_string(), db_mode.to_string()),
        ("TAGMODE".to_string(), tag_mode.to_string()),
    ]
}

/// Starts `who` on a free port with its own run directory (its ctl
/// socket there); its guard, port and run directory.
fn start(who: &str, d: &[(String, String)], build: &str) -> (GroupGuard, u16, PathBuf) {
    let wait = Duration::from_secs(20);
    let port = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-trusted-{who}-{port}"));
    let _ = std::fs::remove_dir_all(&rundir);
    std::fs::create_dir_all(&rundir).expect("run directory");
    let y: [&std::ffi::OsStr; 2] = ["-Y".as_ref(), rundir.as_os_str()];
    let (g, port) = match who {
        "kamailio" => {
            let mut k = Kamailio::new(cfg(), format!("udp:127.0.0.1:{port}"), &rundir)
                .module_dir(Some(module_dir()));
            for (n, v) in d {
                k = k.define(format!("{n}={v}"));
            }
            let mut g = k
                .start(Stdio::null(), Stdio::null())
                .expect("kamailio runs (apt-get install kamailio)");
            g.wait_bound(port, "kamailio", wait)
                .expect("kamailio listens");
            (g, port)
        }
        "compiled" => {
            let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let bin = tests::build_proxy(&cfg(), &refs, build);
            tests::start_ours(&bin, None, &y, wait)
        }
        _ => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
            for (n, v) in d {
                c.arg("-A").arg(format!("{n}={v}"));
            }
            c.arg(cfg()).arg("--");
            tests::start_command(c, &y, wait)
        }
    };
    (g, port, rundir)
}

/// One step's answer: its status line.
fn send(port: u16, s: &Step) -> String {
    let a = udp_exchange_from(s.src, port, |local| {
        let mut h = format!("X-Op: {}\r\n", s.op);
        for (name, v) in ["X-Ip", "X-Proto", "X-Furi"].iter().zip(s.args) {
            if s.op == "t3" || (s.op == "t2" && *name != "X-Furi") {
                if v == "$null" {
                    continue;
                }
                h.push_str(&format!("{name}: {v}\r\n"));
            }
        }
        if !s.set_ru.is_empty() {
            h.push_str(&format!("X-Ru: {}\r\n", s.set_ru));
        }
        format!(
            "OPTIONS {} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: {};tag=t-{}\r\n\
To: <sip:x@127.0.0.1>\r\n\
Call-ID: trusted-{}@test\r\n\
CSeq: 1 OPTIONS\r\n\
{h}Content-Length: 0\r\n\r\n",
            s.ruri, s.name, s.from, s.name, s.name
        )
    });
    format!(
        "{}: {}",
        s.name,
        a.as_deref()
            .and_then(|a| a.split("\r\n").next())
            .unwrap_or("timeout")
    )
}

fn observe(port: u16, db_mode: u8) -> Vec<String> {
    STEPS
        .iter()
        .filter(|s| db_mode == 0 || s.cached_too)
        .map(|s| send(port, s))
        .collect()
}

/// Kamailio's answers this test is about (checked so that a change in
/// the rows cannot quietly make the comparison trivial): (db_mode,
/// peer_tag_mode, step, status line after "200 op=...").
const KAMAILIO_KNOWN: &[(u8, u8, &str, &str)] = &[
    (0, 0, "bob", "rc=1 tags=bob-low,<null>,<null>,<null>"),
    (1, 0, "bob", "rc=1 tags=bob-high,<null>,<null>,<null>"),
    (0, 1, "gw", "rc=3 tags=gw-any,bob-high,bob-low,<null>"),
    (1, 1, "gw", "rc=3 tags=bob-low,bob-high,gw-any,<null>"),
    (0, 1, "t2-any", "rc=2 tags=none-row,tcp-only,<null>,<null>"),
    (1, 1, "t2-any", "rc=1 tags=tcp-only,<null>,<null>,<null>"),
    (
        0,
        0,
        "gw-rewritten",
        "rc=-1 tags=<null>,<null>,<null>,<null>",
    ),
    (1, 0, "bre-alt", "rc=1 tags=bre-alt,<null>,<null>,<null>"),
    (1, 0, "plus", "rc=1 tags=<null>,<null>,<null>,<null>"),
];

fn differential(b: Backend) {
    let t0 = std::time::Instant::now();
    let db = fresh(b, &format!("cfgc_trusted_{}", b.name()));
    let url = db.url();
    let mut report = Vec::new();
    for (db_mode, tag_mode) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let d = defines(b, &url, db_mode, tag_mode);
        let build = format!("trusted-{}-m{db_mode}-t{tag_mode}", b.name());
        let mut all = Vec::new();
        for who in ["kamailio", "compiled", "interpreted"] {
            let (g, port, rundir) = start(who, &d, &build);
            let got = observe(port, db_mode);
            g.stop().expect("stopped");
            let _ = std::fs::remove_dir_all(rundir);
            all.push((who, got));
        }
        let theirs = &all[0].1;
        for (m, t, step, w) in KAMAILIO_KNOWN {
            if (*m, *t) != (db_mode, tag_mode) {
                continue;
            }
            assert!(
                theirs
                    .iter()
                    .any(|l| l.starts_with(&format!("{step}: SIP/2.0 200 op=")) && l.ends_with(w)),
                "kamailio ({}, db_mode {db_mode}, peer_tag_mode {tag_mode}): {step} is not {w}:\n{}",
                b.name(),
                theirs.join("\n")
            );
        }
        for (who, got) in &all[1..] {
            assert_eq!(
                got,
                theirs,
                "{who} on {}, db_mode {db_mode}, peer_tag_mode {tag_mode}:\nours:\n{}\nkamailio:\n{}",
                b.name(),
                got.join("\n"),
                theirs.join("\n")
            );
        }
        report.push(format!(
            "db_mode {db_mode}, peer_tag_mode {tag_mode}:\n{}",
            theirs.join("\n")
        ));
    }
    eprintln!(
        "trusted {}: {:.1} s\n{}",
        b.name(),
        t0.elapsed().as_secs_f64(),
        report.join("\n")
    );
}

#[test]
fn trusted_on_sqlite_answers_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn trusted_on_mariadb_answers_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn trusted_on_postgresql_answers_like_kamailio() {
    differential(Backend::Postgres);
}

/// One kamcmd run: what it printed (stdout, then stderr).
fn kamcmd(rundir: &Path, cmd: &str) -> String {
    tests::kamcmd(rundir, cmd).trim_end().to_string()
}

/// `permissions.trustedReload` through kamcmd with `db_mode` 1: a row
/// added after the start is seen only after the reload; a second reload
/// within `reload_delta` is refused. With `db_mode` 0 (no cache) the
/// reload fails. Kamailio, compiled and interpreted alike.
#[test]
fn trusted_reload_over_rpc_like_kamailio() {
    let b = Backend::Sqlite;
    let db = fresh(b, "cfgc_trusted_reload");
    let url = db.url();
    let probe = st("zoe", ONE, "t0", NO, R, "<sip:zoe@example.org>");
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        let mut lines = Vec::new();
        for db_mode in [1, 0] {
            let d = defines(b, &url, db_mode, 0);
            let (g, port, rundir) = start(who, &d, &format!("trusted-reload-m{db_mode}"));
            lines.push(send(port, &probe));
            db.sql(
                "insert into trusted (src_ip, proto, from_pattern, ruri_pattern, tag, priority) \
                 values ('127.0.0.1', 'any', '^sip:zoe@', NULL, 'zoe', 99);",
            );
            lines.push(send(port, &probe));
            for _ in 0..2 {
                lines.push(format!(
                    "> reload: {}",
                    kamcmd(&rundir, "permissions.trustedReload")
                ));
            }
            lines.push(send(port, &probe));
            db.sql("delete from trusted where tag = 'zoe';");
            g.stop().expect("stopped");
            let _ = std::fs::remove_dir_all(rundir);
        }
        all.push((who, lines));
    }
    let theirs = &all[0].1;
    assert!(
        theirs.iter().any(|l| l == "> reload: Reload OK")
            && theirs.iter().any(|l| l.contains("ongoing reload"))
            && theirs.iter().any(|l| l.contains("Reload failed.")),
        "kamailio:\n{}",
        theirs.join("\n")
    );
    for (who, got) in &all[1..] {
        assert_eq!(
            got,
            theirs,
            "{who}:\nours:\n{}\nkamailio:\n{}",
            got.join("\n"),
            theirs.join("\n")
        );
    }
    eprintln!("trusted reload:\n{}", theirs.join("\n"));
}

/// A row with a protocol Kamailio does not know fails the load of the
/// cached table: Kamailio refuses to start with `db_mode` 1, and so do
/// ours, compiled and interpreted.
#[test]
fn an_unknown_protocol_refuses_to_start_like_kamailio() {
    let b = Backend::Sqlite;
    let db = fresh(b, "cfgc_trusted_bad");
    db.sql("insert into trusted (src_ip, proto, tag) values ('10.9.9.9', 'xyz', 'bad');");
    let url = db.url();
    let d = defines(b, &url, 1, 0);
    let port = free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let rundir = std::env::temp_dir().join(format!("cfgc-trusted-bad-{port}"));
    std::fs::create_dir_all(&rundir).expect("rundir");
    let y = ["-Y".to_string(), rundir.display().to_string()];
    let mut k = Kamailio::new(cfg(), listen.clone(), &rundir).module_dir(Some(module_dir()));
    for (n, v) in &d {
        k = k.define(format!("{n}={v}"));
    }
    let (refused, log) = tests::refuses(k.command(), &tmp().join("kamailio-bad-proto.log"));
    assert!(
        refused && log.contains("unknown protocol"),
        "kamailio starts with an unknown protocol:\n{log}"
    );
    let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let bin = tests::build_proxy(&cfg(), &refs, "trusted-bad-proto");
    let mut compiled = Command::new(bin);
    compiled.args(["-l", &listen, "-n", "1", "-E"]).args(&y);
    let mut interp = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
    for (n, v) in &d {
        interp.arg("-A").arg(format!("{n}={v}"));
    }
    interp
        .arg(cfg())
        .args(["--", "-l", &listen, "-n", "1", "-E"])
        .args(&y);
    for (who, c) in [("compiled", compiled), ("interpreted", interp)] {
        let (refused, log) = tests::refuses(c, &tmp().join(format!("{who}-bad-proto.log")));
        assert!(
            refused && log.contains("unknown protocol"),
            "{who} starts with an unknown protocol:\n{log}"
        );
    }
    let _ = std::fs::remove_dir_all(rundir);
}

//! dispatcher with its sets in a database table, differential on SQLite
//! (made by `kamdbctl create`), MariaDB and PostgreSQL (Debian's schema
//! files): the same cfg (`tests/dispatcher_db/kamailio.cfg`) run by
//! `kamailio -f`, by cfgc's compiled proxy and by the interpreter, each on
//! the same rows (added by `kamctl dispatcher add`, and by SQL where kamctl
//! cannot: an empty destination) pointing at three UAS threads of the test.
//! Compared: `kamcmd dispatcher.list`, which UAS each dispatched request
//! reaches (round robin, priority order, a set with an inactive and a
//! skipped row), `dispatcher.reload` and `ds_reload()` after rows change,
//! a reload that skips a row, and a reload with the database gone (a TCP
//! relay cut for MariaDB/PostgreSQL, the SQLite file moved away) and back.
//! Then a table of its own (`table_name`, the `*_col` names) at versions 3
//! and 2 (fewer columns read), and the start-ups Kamailio refuses: a
//! version it does not know or no version row, no table, an unreachable
//! database, a skipped row with `ds_load_mode` 1 (refused by `kamailio -f`
//! and by the interpreter, which starts through the same
//! `Modules::start` as a compiled proxy).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};
use tests::db::{Backend, DbUser, FreshDb, Relay};

const USER: DbUser = DbUser {
    name: "cfgc_dsdb",
    password: "cfgc-dsdb-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dispatcher_db/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dispatcher_db")
}

/// Three UASes (A, B, C) answering every request `200 uasX`.
struct Uases {
    ports: [u16; 3],
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Uases {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut ports = [0; 3];
        let mut threads = Vec::new();
        for (i, port) in ports.iter_mut().enumerate() {
            let sock = UdpSocket::bind("127.0.0.1:0").expect("uas socket");
            *port = sock.local_addr().expect("addr").port();
            let stop = stop.clone();
            let name = ["A", "B", "C"][i];
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some((req, from)) = tests::recv_text(&sock, Duration::from_millis(50))
                    else {
                        continue;
                    };
                    if req.starts_with("SIP/2.0") {
                        continue;
                    }
                    let reply = tests::uas_reply(&req, &format!("200 uas{name}"), "uas", "");
                    let _ = sock.send_to(reply.as_bytes(), from);
                }
            }));
        }
        Self {
            ports,
            stop,
            threads,
        }
    }

    fn uri(&self, i: usize) -> String {
        format!("sip:127.0.0.1:{}", self.ports[i])
    }
}

impl Drop for Uases {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The status line of the reply to a request for `user` (or "timeout").
fn ask(port: u16, user: &str, n: usize) -> String {
    let a = udp_exchange(port, |local| {
        format!(
            "OPTIONS sip:{user}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-dsdb-{user}-{n};rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:tester@127.0.0.1>;tag=t-{n}\r\n\
To: <sip:{user}@127.0.0.1>\r\n\
Call-ID: dsdb-{user}-{n}@test\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\r\n"
        )
    });
    a.as_deref()
        .and_then(|a| a.split("\r\n").next())
        .unwrap_or("timeout")
        .to_string()
}

/// The rows every contender starts from (the table emptied first).
fn reset(db: &FreshDb, u: &Uases) {
    db.sql(match db.backend {
        Backend::Sqlite => "delete from dispatcher;",
        _ => "truncate table dispatcher;",
    });
    let (a, b, c) = (u.uri(0), u.uri(1), u.uri(2));
    let a_udp = format!("{a};transport=udp");
    for row in [
        vec!["1", a.as_str(), "0", "0", "", "uas a"],
        vec!["1", b.as_str(), "0", "0", "weight=50;duid=b"],
        vec!["1", c.as_str(), "0", "10", "duid=c;obproxy=sip:127.0.0.1:9"],
        vec!["2", a_udp.as_str(), "0", "5"],
        vec!["2", b.as_str(), "1", "9"],
        vec!["2", c.as_str()],
    ] {
        let mut args = vec!["dispatcher", "add"];
        args.extend(row);
        db.kamctl(&args);
    }
    // kamctl refuses no destination, an operator's SQL may not.
    db.sql("insert into dispatcher (setid, destination) values (2, '');");
}

/// What a contender does and answers; `cut(true)` takes the database
/// away, `cut(false)` brings it back.
fn session(port: u16, run: &Path, db: &FreshDb, u: &Uases, cut: &dyn Fn(bool)) -> Vec<String> {
    let mut lines = Vec::new();
    let mut n = 0;
    let mut req = |lines: &mut Vec<String>, user: &str| {
        n += 1;
        lines.push(format!("{user}: {}", ask(port, user, n)));
    };
    let rpc = |lines: &mut Vec<String>, cmd: &str| {
        lines.push(format!("> {cmd}"));
        lines.extend(tests::kamcmd(run, cmd).lines().map(str::to_string));
    };
    rpc(&mut lines, "dispatcher.list");
    for user in ["rr", "rr", "rr", "rr", "prio", "two", "three"] {
        req(&mut lines, user);
    }
    // Rows change: A leaves set 1, set 3 appears, the row skipped at
    // start goes (a skipped row fails a reload); the RPC reloads.
    db.sql(&format!(
        "delete from dispatcher where setid = 1 and destination = '{}';\n\
         delete from dispatcher where destination = '';",
        u.uri(0)
    ));
    db.kamctl(&["dispatcher", "add", "3", &u.uri(2), "0", "0"]);
    rpc(&mut lines, "dispatcher.reload");
    rpc(&mut lines, "dispatcher.list");
    for user in ["rr", "rr", "rr", "prio", "three", "three"] {
        req(&mut lines, user);
    }
    // Another row, reloaded by the script's ds_reload().
    db.kamctl(&["dispatcher", "add", "3", &u.uri(1), "0", "7", "duid=b3"]);
    req(&mut lines, "reload");
    rpc(&mut lines, "dispatcher.list");
    for user in ["three", "three", "three"] {
        req(&mut lines, user);
    }
    // A reload that skips a row (an empty destination in a new set 4):
    // the sets are replaced, and the reload answers a failure.
    db.sql("insert into dispatcher (setid, destination) values (4, '');");
    db.kamctl(&["dispatcher", "add", "4", &u.uri(0)]);
    rpc(&mut lines, "dispatcher.reload");
    rpc(&mut lines, "dispatcher.list short");
    req(&mut lines, "reload");
    rpc(&mut lines, "dispatcher.list short");
    db.sql("delete from dispatcher where setid = 4;");
    // The database gone: reloads fail, the sets stay and still route.
    cut(true);
    rpc(&mut lines, "dispatcher.reload");
    req(&mut lines, "reload");
    rpc(&mut lines, "dispatcher.list short");
    for user in ["rr", "rr", "three"] {
        req(&mut lines, user);
    }
    // Back: the next reload reads the table again.
    cut(false);
    rpc(&mut lines, "dispatcher.reload");
    rpc(&mut lines, "dispatcher.list short");
    for user in ["rr", "three"] {
        req(&mut lines, user);
    }
    lines
}

fn fresh(b: Backend) -> FreshDb {
    let name = format!("cfgc_dsdb_{}", b.name());
    if b == Backend::Sqlite {
        FreshDb::kamdbctl_sqlite(&name, &tmp())
    } else {
        FreshDb::new(
            b,
            &name,
            &["standard-create.sql", "dispatcher-create.sql"],
            USER,
            &tmp(),
        )
    }
}

fn defines(b: Backend, url: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut d = vec![
        (b.define().to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ];
    d.extend(extra.iter().map(|e| ((*e).to_string(), "1".to_string())));
    d
}

/// `who` started on `defines` with a runtime directory for kamcmd: its
/// guard, port and directory.
fn start(who: &str, defines: &[(String, String)], build: &str) -> (GroupGuard, u16, PathBuf) {
    let wait = Duration::from_secs(20);
    let port = free_port();
    let run = tests::rundir("dispatcher_db", who, port);
    let extra = ["-Y".as_ref(), run.as_os_str()];
    let (g, port) = match who {
        "kamailio" => {
            let mut k = Kamailio::new(cfg(), format!("udp:127.0.0.1:{port}"), run.clone())
                .module_dir(Some(module_dir()));
            for (n, v) in defines {
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
            let refs: Vec<(&str, &str)> = defines
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let bin = tests::build_proxy(&cfg(), &refs, build);
            tests::start_ours(&bin, None, &extra, wait)
        }
        _ => tests::start_command(interp(defines), &extra, wait),
    };
    (g, port, run)
}

/// The interpreter on `defines`, before its own flags.
fn interp(defines: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
    for (n, v) in defines {
        c.arg("-A").arg(format!("{n}={v}"));
    }
    c.arg(cfg()).arg("--");
    c
}

/// Whether `kamailio -f` and the interpreter both refuse to start on
/// `defines`; Kamailio's log must hold `why`.
fn both_refuse(b: Backend, tag: &str, defines: &[(String, String)], why: &str) {
    let dir = tmp();
    let port = free_port();
    let listen = format!("udp:127.0.0.1:{port}");
    let run = tests::rundir("dispatcher_db", tag, port);
    let mut k = Kamailio::new(cfg(), listen.clone(), run).module_dir(Some(module_dir()));
    for (n, v) in defines {
        k = k.define(format!("{n}={v}"));
    }
    let name = format!("{}-{tag}", b.name());
    let (refused, log) = tests::refuses(k.command(), &dir.join(format!("kamailio-{name}.log")));
    assert!(
        refused && log.contains(why),
        "kamailio ({name}) does not refuse with `{why}`:\n{log}"
    );
    let mut c = interp(defines);
    c.args(["-l", &listen, "-n", "1", "-E"]);
    let (refused, log) = tests::refuses(c, &dir.join(format!("interpreted-{name}.log")));
    assert!(
        refused && log.contains("dispatcher"),
        "the interpreter ({name}) does not refuse:\n{log}"
    );
    eprintln!("{name}: refused by both");
}

fn differential(b: Backend) {
    let t0 = std::time::Instant::now();
    std::fs::create_dir_all(tmp()).expect("tmp");
    let db = fresh(b);
    let uas = Uases::start();
    // MariaDB and PostgreSQL through a relay the test can cut; SQLite's
    // file moved away and back.
    let relay = (b != Backend::Sqlite).then(|| Relay::new(b.server()));
    let url = relay
        .as_ref()
        .map_or_else(|| db.url(), |r| db.url_via(&("127.0.0.1".into(), r.port)));
    let cut = |away: bool| match &relay {
        Some(r) if away => r.cut(),
        Some(r) => r.restore(),
        None => {
            let (from, to) = (db.path.clone(), format!("{}.away", db.path));
            let (from, to) = if away { (from, to) } else { (to, from) };
            std::fs::rename(&from, &to).expect("sqlite file moved");
        }
    };
    let defs = defines(b, &url, &[]);
    let mut all = Vec::new();
    for who in ["kamailio", "compiled", "interpreted"] {
        reset(&db, &uas);
        let (g, port, run) = start(who, &defs, &format!("dispatcher_db-{}", b.name()));
        let got = session(port, &run, &db, &uas, &cut);
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    // Sanity: Kamailio dispatched to the UASes and answered everything.
    assert!(
        theirs.iter().any(|l| l == "rr: SIP/2.0 200 uasA")
            && theirs.iter().any(|l| l == "prio: SIP/2.0 200 uasC")
            && !theirs.iter().any(|l| l.ends_with("timeout")),
        "kamailio ({}):\n{}",
        b.name(),
        theirs.join("\n")
    );
    // Kamailio's reloads: after rows change, Ok; a skipped row and a lost
    // database fail (the script's `ds_reload()` -1); back, Ok.
    let reloads: Vec<&str> = theirs
        .iter()
        .filter(|l| l.starts_with("error: 500") || l.starts_with("Ok.") || l.starts_with("reload:"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        reloads,
        [
            "Ok. Dispatcher successfully reloaded.",
            "reload: SIP/2.0 200 reload 1",
            "error: 500 - Reload Failed",
            "reload: SIP/2.0 200 reload -1",
            "error: 500 - Reload Failed",
            "reload: SIP/2.0 200 reload -1",
            "Ok. Dispatcher successfully reloaded.",
        ],
        "kamailio's reloads ({}):\n{}",
        b.name(),
        theirs.join("\n")
    );
    for (who, got) in &all[1..] {
        tests::assert_same_lines(&format!("{who} on {}", b.name()), theirs, got);
    }
    eprintln!("dispatcher_db {}:\n{}", b.name(), theirs.join("\n"));

    // A table of its own, without an attrs column: version 3 reads four
    // columns, version 2 three (every priority 0).
    db.sql(
        "create table gw (grp integer not null default 0, \
         uri varchar(192) not null default '', fl integer not null default 0, \
         pri integer not null default 0);",
    );
    db.sql(&format!(
        "insert into gw (grp, uri, fl, pri) values (7, '{}', 0, 1), (7, '{}', 0, 3), (8, '{}', 0, 0);",
        uas.uri(0),
        uas.uri(1),
        uas.uri(2)
    ));
    let gw = defines(b, &db.url(), &["WITH_GW"]);
    for version in [3, 2] {
        db.sql(&format!(
            "delete from version where table_name = 'gw';\n\
             insert into version (table_name, table_version) values ('gw', {version});"
        ));
        let mut lists = Vec::new();
        for who in ["kamailio", "interpreted"] {
            let (g, _, run) = start(who, &gw, "");
            lists.push(tests::kamcmd(&run, "dispatcher.list"));
            g.stop().expect("stopped");
        }
        assert!(
            lists[0].contains("ID: 7") && lists[0].contains(&uas.uri(1)),
            "kamailio (gw, version {version}):\n{}",
            lists[0]
        );
        assert_eq!(
            lists[1],
            lists[0],
            "gw version {version} on {}:\nours:\n{}\nkamailio:\n{}",
            b.name(),
            lists[1],
            lists[0]
        );
    }

    // Start-ups Kamailio refuses.
    let plain = defines(b, &db.url(), &[]);
    db.sql("update version set table_version = 9 where table_name = 'dispatcher';");
    both_refuse(b, "version-9", &plain, "invalid table version");
    db.sql("delete from version where table_name = 'dispatcher';");
    both_refuse(b, "no-version", &plain, "invalid table version");
    db.sql("insert into version (table_name, table_version) values ('dispatcher', 4);");
    let mode1 = defines(b, &db.url(), &["WITH_LOAD_MODE"]);
    reset(&db, &uas);
    both_refuse(b, "load-mode-1", &mode1, "unable to add destination");
    db.sql("drop table dispatcher;");
    both_refuse(b, "no-table", &plain, "error while querying database");
    let gone = match &relay {
        Some(r) => {
            r.cut();
            db.url_via(&("127.0.0.1".into(), r.port))
        }
        None => format!("sqlite://{}/no/such/dir/x.db", tmp().display()),
    };
    both_refuse(
        b,
        "unreachable",
        &defines(b, &gone, &[]),
        "unable to connect to the database",
    );
    eprintln!(
        "dispatcher_db {}: {:.1} s",
        b.name(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn dispatcher_sets_from_sqlite_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn dispatcher_sets_from_mariadb_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn dispatcher_sets_from_postgresql_like_kamailio() {
    differential(Backend::Postgres);
}

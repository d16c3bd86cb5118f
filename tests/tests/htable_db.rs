//! htable's database backend, differential on SQLite (made by
//! `kamdbctl create`, with its extra tables), MariaDB and PostgreSQL:
//! the same cfg (`tests/htable_db/kamailio.cfg`) run by `kamailio -f`, by
//! cfgc's compiled proxy and by the interpreter, each on the same
//! database reset to the same rows (added by SQL) before its run. Per
//! run: what the script reads of the loaded tables (plain keys, arrays
//! with their count, integers, expiries), the script's changes, the
//! operator's `kamcmd htable.*` (`get`, `dump`, `listTables`, `reload`
//! after the rows change, `store`, and their faults), then the rows of
//! every database table after a clean shutdown (dbmode 1 writes back).
//! On MariaDB and PostgreSQL, through a relay the test cuts: a database
//! lost while running (`reload` and `store` fail, the shutdown writes
//! nothing) and unreachable at start (every contender refuses to start);
//! on SQLite, the file gone at start (an empty one is made, the load
//! fails, every contender refuses to start).
//! Everything compared is Kamailio's output of the same run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir};
use tests::db::{Backend, DbUser, FreshDb, Relay};

const USER: DbUser = DbUser {
    name: "cfgc_htable",
    password: "cfgc-htable-pw",
};

/// The database tables the cfg names, and the schema file each is made
/// from (the installed `htable` schema, renamed).
const TABLES: &[&str] = &["htable", "htro", "htexp", "htempty"];

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("htable_db/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("htable_db")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A fresh database holding the `htable` table and three more made from
/// its installed schema (renamed).
fn fresh(b: Backend) -> FreshDb {
    let name = format!("cfgc_htable_{}", b.name());
    let db = if b == Backend::Sqlite {
        FreshDb::kamdbctl_sqlite_answering(&name, &tmp(), "n\ny\n")
    } else {
        FreshDb::new(
            b,
            &name,
            &["standard-create.sql", "htable-create.sql"],
            USER,
            &tmp(),
        )
    };
    let schema = b.schema(&["htable-create.sql"]);
    let create = schema
        .split(';')
        .find(|s| s.contains("CREATE TABLE"))
        .expect("the htable schema creates its table")
        .to_string();
    for t in &TABLES[1..] {
        db.sql(&format!("{};\n", create.replace("htable", t)));
    }
    db
}

/// The rows every run starts from.
fn reset(db: &FreshDb) {
    let mut sql = String::new();
    for t in TABLES {
        sql.push_str(&format!("delete from {t};\n"));
    }
    let cols = "(key_name, key_type, value_type, key_value, expires)";
    for (t, k, kt, vt, v, e) in [
        ("htable", "alpha", 0, 0, "first", 0),
        ("htable", "num", 0, 1, "41", 0),
        ("htable", "neg", 0, 1, "-7", 0),
        ("htable", "junk", 0, 1, "12ab", 0),
        ("htable", "arr", 1, 0, "x", 0),
        ("htable", "arr", 1, 1, "5", 0),
        ("htable", "arr", 1, 0, "z", 0),
        ("htable", "brr", 1, 0, "only", 0),
        ("htable", "quote", 0, 0, "it''s \"q\"", 0),
        ("htable", "Mixed", 0, 0, "upper", 0),
        ("htable", "mixed", 0, 0, "lower", 0),
        ("htable", "empty", 0, 0, "", 0),
        ("htro", "ro", 0, 0, "db", 0),
        ("htro", "n", 0, 1, "3", 0),
        ("htexp", "future", 0, 0, "f", 2_000_000_000),
        ("htexp", "past", 0, 0, "p", 1000),
        ("htexp", "zero", 0, 1, "9", 0),
    ] {
        sql.push_str(&format!(
            "insert into {t} {cols} values ('{k}', {kt}, {vt}, '{v}', {e});\n"
        ));
    }
    db.sql(&sql);
}

/// Every table's rows, in one order, columns `|`-separated; an expiry
/// an hour from `t0` (an item the script wrote then) shown as such.
fn rows(db: &FreshDb, t0: i64) -> Vec<String> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(format!("[{t}]"));
        for r in db.rows(&format!(
            "select key_name, key_type, value_type, key_value, expires from {t} \
             order by key_name, key_value, key_type;\n"
        )) {
            let mut cols: Vec<String> = r.split(['|', '\t']).map(str::to_string).collect();
            if let Some(e) = cols.last_mut()
                && let Ok(n) = e.trim().parse::<i64>()
                && (3595..3610).contains(&(n - t0))
            {
                *e = "in-an-hour".into();
            }
            out.push(cols.join("|"));
        }
    }
    out
}

fn defines(b: Backend, url: &str) -> Vec<(String, String)> {
    vec![
        (b.define().to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ]
}

/// The command that runs `who` (without its listen flags).
fn command(who: &str, b: Backend, url: &str, rundir: &Path, port: u16) -> Command {
    let d = defines(b, url);
    match who {
        "kamailio" => {
            let mut k = Kamailio::new(cfg(), format!("udp:127.0.0.1:{port}"), rundir)
                .module_dir(Some(module_dir()));
            for (n, v) in &d {
                k = k.define(format!("{n}={v}"));
            }
            k.command()
        }
        "compiled" => {
            let refs: Vec<(&str, &str)> = d.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let bin = tests::build_proxy(&cfg(), &refs, &format!("htable-db-{}", b.name()));
            let mut c = Command::new(bin);
            c.args([
                "-l",
                &format!("udp:127.0.0.1:{port}"),
                "-n",
                "1",
                "-E",
                "-Y",
            ])
            .arg(rundir);
            c
        }
        _ => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
            for (n, v) in &d {
                c.arg("-A").arg(format!("{n}={v}"));
            }
            c.arg(cfg()).arg("--");
            c.args([
                "-l",
                &format!("udp:127.0.0.1:{port}"),
                "-n",
                "1",
                "-E",
                "-Y",
            ])
            .arg(rundir);
            c
        }
    }
}

/// Starts `who`, its standard error kept in the test's directory; once
/// it listens: its guard (a clean shutdown gets 10 s), port and runtime
/// directory.
fn start(who: &str, b: Backend, url: &str, tag: &str) -> (GroupGuard, u16, PathBuf) {
    use std::os::unix::process::CommandExt as _;
    let port = free_port();
    let rundir = tests::rundir(&format!("htable-db-{}", b.name()), who, port);
    let log = std::fs::File::create(tmp().join(format!("{}-{who}-{tag}.log", b.name())))
        .expect("log file");
    let child = command(who, b, url, &rundir, port)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("starts (apt-get install kamailio)");
    let mut g = GroupGuard::new(child).grace(Duration::from_secs(10));
    g.wait_bound(port, who, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{who} on {}: {e}", b.name()));
    (g, port, rundir)
}

fn ask(port: u16, user: &str, n: usize) -> String {
    format!(
        "{user}: {}",
        tests::options_status(port, user, "tester", &format!("htable-db-{user}-{n}@test"))
    )
}

fn rpc(out: &mut Vec<String>, rundir: &Path, cmd: &str) {
    out.push(format!("> {cmd}"));
    out.extend(tests::kamcmd(rundir, cmd).lines().map(str::to_string));
}

/// One contender's run on the rows of [`reset`]: what it answered, then
/// the rows after its shutdown.
fn session(who: &str, b: Backend, db: &FreshDb, url: &str) -> Vec<String> {
    reset(db);
    let (g, port, run) = start(who, b, url, "main");
    let mut out = vec![ask(port, "read", 1)];
    let t0 = unix_now();
    out.push(ask(port, "write", 1));
    for cmd in [
        "htable.get d alpha",
        "htable.get d arr[1]",
        "htable.get d arr#n",
        "htable.get e future",
        "htable.get e past",
        "htable.dump r",
        "htable.listTables",
        "htable.reload m",
        "htable.reload nope",
        "htable.reload",
        "htable.store m",
    ] {
        rpc(&mut out, &run, cmd);
    }
    // The rows change; r is reloaded (the script's write is gone), then
    // changed and stored although its dbmode is 0.
    db.sql(
        "update htro set key_value='db2' where key_name='ro';\n\
         insert into htro (key_name, key_type, value_type, key_value, expires) \
         values ('added', 1, 0, 'a0', 0);\n",
    );
    for cmd in ["htable.reload r", "htable.dump r"] {
        rpc(&mut out, &run, cmd);
    }
    out.push(ask(port, "read", 2));
    for cmd in ["htable.sets r s stored", "htable.store r"] {
        rpc(&mut out, &run, cmd);
    }
    g.stop().expect("stopped");
    out.push("rows after shutdown:".into());
    out.extend(rows(db, t0));
    out
}

/// The database lost while running (`relay` cut): what `reload` and
/// `store` answer, that the script still reads the tables, and the rows
/// after a shutdown that could not write.
fn lost_session(who: &str, b: Backend, db: &FreshDb, relay: &Relay) -> Vec<String> {
    reset(db);
    let url = db.url_via(&("127.0.0.1".to_string(), relay.port));
    let (g, port, run) = start(who, b, &url, "lost");
    let t0 = unix_now();
    let mut out = vec![ask(port, "write", 3)];
    relay.cut();
    for cmd in ["htable.reload d", "htable.store d", "htable.reload m"] {
        rpc(&mut out, &run, cmd);
    }
    out.push(ask(port, "read", 3));
    g.stop().expect("stopped");
    relay.restore();
    out.push("rows after shutdown:".into());
    out.extend(rows(db, t0));
    out
}

/// Started with the database unreachable: whether it refused, and its
/// log.
fn refused_at_start(who: &str, b: Backend, url: &str) -> (bool, String) {
    let port = free_port();
    let rundir = tests::rundir(&format!("htable-db-{}", b.name()), who, port);
    let mut c = command(who, b, url, &rundir, port);
    c.stdin(Stdio::null());
    tests::refuses(c, &tmp().join(format!("{}-{who}-refused.log", b.name())))
}

const WHO: [&str; 3] = ["kamailio", "compiled", "interpreted"];

fn differential(b: Backend) {
    let t0 = std::time::Instant::now();
    std::fs::create_dir_all(tmp()).expect("tmp");
    let db = fresh(b);
    let relay = (b != Backend::Sqlite).then(|| Relay::new(b.server()));
    let url = relay.as_ref().map_or_else(
        || db.url(),
        |r| db.url_via(&("127.0.0.1".to_string(), r.port)),
    );
    let all: Vec<(&str, Vec<String>)> = WHO
        .iter()
        .map(|who| (*who, session(who, b, &db, &url)))
        .collect();
    let theirs = &all[0].1;
    eprintln!("htable_db {} (kamailio):\n{}", b.name(), theirs.join("\n"));
    // Kamailio's answers are what the rows mean (the items of an array
    // numbered in the order the database returns rows of one key name).
    let read = theirs.first().expect("read");
    let arr = [
        "[x] [5] [z]",
        "[x] [z] [5]",
        "[5] [x] [z]",
        "[5] [z] [x]",
        "[z] [x] [5]",
        "[z] [5] [x]",
    ];
    assert!(
        read.starts_with("read: SIP/2.0 200 read [first] [41] [-7] [12] [3] ")
            && arr
                .iter()
                .any(|a| read.contains(&format!("[3] {a} [1] [only]")))
            && read.ends_with(
                " [1] [only] [it's \"q\"] [upper] [lower] [] 14 | [db] [3] 2 \
                 | [f] long [<null>] [9] autoexpire 2 | 0"
            ),
        "kamailio ({}) read {read}",
        b.name()
    );
    for want in [
        "write: SIP/2.0 200 write [changed] [42] [it's \\ new] 14 3",
        "Ok. Htable reloaded.",
    ] {
        assert!(
            theirs.iter().any(|l| l.contains(want)),
            "kamailio ({}) did not answer `{want}`:\n{}",
            b.name(),
            theirs.join("\n")
        );
    }
    for (who, got) in &all[1..] {
        tests::assert_same_lines(&format!("{who} on {}", b.name()), theirs, got);
    }
    if let Some(relay) = &relay {
        let all: Vec<(&str, Vec<String>)> = WHO
            .iter()
            .map(|who| (*who, lost_session(who, b, &db, relay)))
            .collect();
        let theirs = &all[0].1;
        eprintln!(
            "htable_db {} lost (kamailio):\n{}",
            b.name(),
            theirs.join("\n")
        );
        assert!(
            theirs
                .iter()
                .any(|l| l.contains("Failed to open htable db connection")),
            "kamailio ({}) reloaded without its database:\n{}",
            b.name(),
            theirs.join("\n")
        );
        for (who, got) in &all[1..] {
            tests::assert_same_lines(&format!("{who} on {} (lost)", b.name()), theirs, got);
        }
        relay.cut();
        for who in WHO {
            let (refused, log) = refused_at_start(who, b, &url);
            let why = if who == "kamailio" {
                "ht_db_open_con(): failed to connect to the database"
            } else {
                "htable: unable to connect to the database"
            };
            assert!(
                refused && log.contains(why),
                "{who} on {} started without its database:\n{log}",
                b.name()
            );
        }
        relay.restore();
    } else {
        // The file gone: db_sqlite makes an empty one, whose missing
        // tables fail the load, which refuses the start.
        let moved = format!("{}.away", db.path);
        std::fs::rename(&db.path, &moved).expect("move the database away");
        for who in WHO {
            let (refused, log) = refused_at_start(who, b, &url);
            let why = if who == "kamailio" {
                "no such table: htempty"
            } else {
                "htable: Error while querying db"
            };
            let _ = std::fs::remove_file(&db.path);
            assert!(
                refused && log.contains(why),
                "{who} on {} started without its tables:\n{log}",
                b.name()
            );
        }
        std::fs::rename(&moved, &db.path).expect("move the database back");
    }
    eprintln!(
        "htable_db {}: {:.1} s",
        b.name(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn htable_on_sqlite_loads_and_stores_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn htable_on_mariadb_loads_and_stores_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn htable_on_postgresql_loads_and_stores_like_kamailio() {
    differential(Backend::Postgres);
}

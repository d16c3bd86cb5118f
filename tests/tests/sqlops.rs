//! sqlops over real databases, differential: the same cfg
//! (`tests/sqlops/kamailio.cfg`) run by `kamailio -f` (its db_sqlite,
//! db_mysql, db_postgres and sqlops modules), by cfgc's compiled proxy and
//! by the interpreter, each against its own database holding Kamailio's
//! standard schema (Debian's `standard-create.sql` and
//! `auth_db-create.sql`, read where the packages install them); the same
//! requests to each, the replies (query results in the reason) compared.
//!
//! SQLite needs nothing; MariaDB and PostgreSQL need their servers
//! running (`.ci/run` starts them): the test makes its own databases and
//! user, as root through the local clients (`mysql -u root`,
//! `runuser -u postgres -- psql`), and the proxies reach the servers on
//! `CFGC_TEST_MYSQL_HOST`:`CFGC_TEST_MYSQL_PORT` (127.0.0.1:3306) and
//! `CFGC_TEST_PG_HOST`:`CFGC_TEST_PG_PORT` (127.0.0.1:5432). A missing
//! server or package fails the test, never skips it.
//!
//! Connection loss: the proxies reach MariaDB and PostgreSQL through a
//! TCP relay the test cuts (every connection closed, new ones refused):
//! the script sees -1, the proxy keeps answering, and once the relay is
//! back the next query reconnects. For SQLite, the database is locked by
//! another connection: -1 at once (no busy timeout), then fine again.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir};
use tests::db::{Backend, DbUser, FreshDb, Relay};

/// The database user the proxies log in as (MariaDB, PostgreSQL).
const USER: DbUser = DbUser {
    name: "cfgc_sqlops",
    password: "cfgc-sqlops-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sqlops/kamailio.cfg")
}

/// A fresh database named after `role` with Kamailio's schema (dropped
/// with what is returned); its `db_url` as the proxies reach it through
/// `server` (host, port).
fn fresh_db(b: Backend, role: &str, server: &(String, u16)) -> (FreshDb, String) {
    let db = FreshDb::new(
        b,
        &format!("cfgc_sqlops_{}_{role}", b.name()),
        &["standard-create.sql", "auth_db-create.sql"],
        USER,
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("sqlops"),
    );
    let url = db.url_via(server);
    (db, url)
}

/// The status line of the reply to an OPTIONS for `user` (or "timeout").
fn ask(port: u16, user: &str) -> String {
    tests::options_status(port, user, "alice", &format!("sqlops-{user}-5d1e@test"))
}

const USERS: &[&str] = &[
    "version", "insert", "select", "types", "pvquery", "xquery", "update", "delete", "codes",
    "free", "ping", "other",
];

fn answers(port: u16) -> Vec<String> {
    USERS
        .iter()
        .map(|u| format!("{u}: {}", ask(port, u)))
        .collect()
}

/// Where a proxy's log goes: `$CFGC_SQLOPS_LOGS/<name>.log` when that
/// is set (for debugging), else nowhere.
fn log_file(name: &str) -> Stdio {
    match std::env::var_os("CFGC_SQLOPS_LOGS") {
        Some(dir) => std::fs::File::create(Path::new(&dir).join(format!("{name}.log")))
            .map_or_else(|_| Stdio::null(), Stdio::from),
        None => Stdio::null(),
    }
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Kamailio,
    Compiled,
    Interpreted,
}

/// A running proxy of kind `who` for `b` with `sqlcon` `ca=>url`; `role`
/// names the compiled proxy's build (the URL is compiled in).
fn start(who: Who, b: Backend, url: &str, role: &str) -> (GroupGuard, u16) {
    let port = free_port();
    let sqlcon = format!("\"ca=>{url}\"");
    let mut g = match who {
        Who::Kamailio => {
            let rundir = std::env::temp_dir().join(format!("cfgc-sqlops-{}-{port}", b.name()));
            Kamailio::new(cfg(), format!("udp:127.0.0.1:{port}"), rundir)
                .module_dir(Some(module_dir()))
                .define(b.define())
                .define(format!("SQLCON={sqlcon}"))
                .start(Stdio::null(), log_file(&format!("kamailio-{}", b.name())))
                .expect("kamailio runs (apt-get install kamailio)")
        }
        Who::Compiled | Who::Interpreted => {
            let mut c = if matches!(who, Who::Compiled) {
                let bin = tests::build_proxy(
                    &cfg(),
                    &[(b.define(), "1"), ("SQLCON", &sqlcon)],
                    &format!("sqlops-{}-{role}", b.name()),
                );
                Command::new(bin)
            } else {
                let mut c = Command::new(env!("CARGO_BIN_EXE_interp-proxy"));
                c.arg("-A")
                    .arg(b.define())
                    .arg("-A")
                    .arg(format!("SQLCON={sqlcon}"))
                    .arg(cfg())
                    .arg("--");
                c
            };
            let child = c
                .args(["-l", &format!("udp:127.0.0.1:{port}"), "-n", "1", "-E"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file(&format!("{who:?}-{}", b.name())))
                .process_group(0)
                .spawn()
                .expect("proxy starts");
            GroupGuard::new(child)
        }
    };
    g.wait_bound(port, &format!("{who:?}"), Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{who:?} on {}: {e}", b.name()));
    (g, port)
}

/// What Kamailio answers on each backend (the test is about the cfg too,
/// not only about agreeing).
fn expected(b: Backend) -> Vec<String> {
    // `pv_types`: sql_pvquery's conversion of the same row into `$var`s,
    // where NULL (and a DOUBLE, NULL to Kamailio) assigns 0.
    // `$sqlrows` after a SELECT (sql_query, sql_xquery, sql_pvquery) is
    // the number of rows it returned; db_sqlite cannot tell: the failed
    // read assigns `$null` to the `$var`, which prints 0.
    let (sqlrows_sel, sqlrows_x) = match b {
        Backend::Sqlite => ("0", "0 0"),
        Backend::Mysql | Backend::Postgres => ("1", "2 2"),
    };
    let (sqlrows_ins, sqlrows_upd, sqlrows_del, types, pv_types) = match b {
        // db_sqlite has no affected-rows capability: `$sqlrows` is an
        // error, printed as nothing. INTEGER columns are C ints.
        Backend::Sqlite => (
            "",
            "",
            "",
            "7 x <null> <null> 410065408",
            "7 x 0 0 410065408",
        ),
        // DECIMAL reads as a string, BIGINT too.
        Backend::Mysql => (
            "1",
            "1",
            "0",
            "7 x <null> 1.5 9000000000",
            "7 x 0 1.5 9000000000",
        ),
        Backend::Postgres => (
            "1",
            "1",
            "0",
            "7 x <null> <null> 9000000000",
            "7 x 0 0 9000000000",
        ),
    };
    [
        "version: SIP/2.0 200 version 1 1 1 table_version 7".to_string(),
        format!("insert: SIP/2.0 200 insert 2 {sqlrows_ins}"),
        format!("select: SIP/2.0 200 select 1 {sqlrows_sel} 1x4 password alice <null> <null> <null>"),
        format!("types: SIP/2.0 200 types 1 {types}"),
        // Rows last to first: `$var(a)` ends with the first row's value,
        // `$avp(k)` stacks both; a NULL leaves an AVP alone; no rows 2; a
        // column without a PV -1 (after the first went to `$var(m)`).
        format!(
            "pvquery: SIP/2.0 200 pvquery 1 r1 1 2 p1 | 1 {pv_types} | 1 <null> 5 | 2 0 | -1 1 \
             | -1 0 | 1 sip:changed@example.com"
        ),
        // Rows as XAVPs, the first row at index 0, an older item of the
        // same name after them; cells typed as `$dbr`'s (a BIGINT reads as
        // its text either way).
        format!(
            "xquery: SIP/2.0 200 xquery 1 3 r1:1;r2:2;old:; | 1 {types} {big} | 2 <null> | -1 <null> | 1 a b <null> | {sqlrows_x}",
            big = types.rsplit(' ').next().unwrap_or_default()
        ),
        format!("update: SIP/2.0 200 update 2 {sqlrows_upd}"),
        format!("delete: SIP/2.0 200 delete 2 {sqlrows_del}"),
        "codes: SIP/2.0 200 codes 2 0 3 -1 0".to_string(),
        "free: SIP/2.0 200 free 1 1 0 <null>".to_string(),
        "ping: SIP/2.0 200 ping ok".to_string(),
        "other: SIP/2.0 404 Not here".to_string(),
    ]
    .into_iter()
    .map(|l| l.trim_end().to_string())
    .collect()
}

fn trimmed(v: Vec<String>) -> Vec<String> {
    v.into_iter().map(|l| l.trim_end().to_string()).collect()
}

fn differential(b: Backend) {
    let t0 = Instant::now();
    let server = b.server();
    let mut all = Vec::new();
    for who in [Who::Kamailio, Who::Compiled, Who::Interpreted] {
        let role = format!("{who:?}").to_lowercase();
        let (_db, url) = fresh_db(b, &role, &server);
        let (g, port) = start(who, b, &url, &role);
        let got = trimmed(answers(port));
        g.stop().expect("stopped");
        all.push((who, got));
    }
    let theirs = &all[0].1;
    assert_eq!(
        theirs,
        &expected(b),
        "kamailio on {} answers otherwise",
        b.name()
    );
    for (who, got) in &all[1..] {
        assert_eq!(got, theirs, "{who:?} on {} answers differently", b.name());
    }
    eprintln!("sqlops {}: {:.1} s", b.name(), t0.elapsed().as_secs_f64());
}

#[test]
fn sqlops_on_sqlite_answers_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn sqlops_on_mariadb_answers_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn sqlops_on_postgresql_answers_like_kamailio() {
    differential(Backend::Postgres);
}

/// What each proxy answers to `ping` before, during and after the
/// outage `cut`/`restore` make, plus whether it still answers other
/// requests during it.
fn through_outage(
    who: Who,
    b: Backend,
    url: &str,
    cut: &dyn Fn(),
    restore: &dyn Fn(),
) -> Vec<String> {
    let (g, port) = start(who, b, url, "outage");
    let mut seen = vec![format!("before: {}", ask(port, "ping"))];
    cut();
    seen.push(format!("cut: {}", ask(port, "ping")));
    seen.push(format!("cut, no db: {}", ask(port, "other")));
    seen.push(format!("cut again: {}", ask(port, "ping")));
    restore();
    seen.push(format!("restored: {}", ask(port, "ping")));
    seen.push(format!("restored again: {}", ask(port, "ping")));
    g.stop().expect("stopped");
    seen
}

const OUTAGE: &[&str] = &[
    "before: SIP/2.0 200 ping ok",
    "cut: SIP/2.0 500 ping failed -1",
    "cut, no db: SIP/2.0 404 Not here",
    "cut again: SIP/2.0 500 ping failed -1",
    "restored: SIP/2.0 200 ping ok",
    "restored again: SIP/2.0 200 ping ok",
];

fn server_outage(b: Backend) {
    let t0 = Instant::now();
    // Kamailio's db_postgres (`timeout` 0: wait for ever) often hangs its
    // worker when the connection is cut under it (no answer at all, for
    // minutes), so on PostgreSQL only ours are held to the outcome.
    let whos: &[Who] = match b {
        Backend::Postgres => &[Who::Compiled, Who::Interpreted],
        _ => &[Who::Kamailio, Who::Compiled, Who::Interpreted],
    };
    for &who in whos {
        let relay = Relay::new(b.server());
        let server = ("127.0.0.1".to_string(), relay.port);
        let (_db, url) = fresh_db(b, &format!("outage_{who:?}").to_lowercase(), &server);
        let got = through_outage(who, b, &url, &|| relay.cut(), &|| relay.restore());
        assert_eq!(
            got,
            OUTAGE,
            "{who:?} on {} through a lost connection",
            b.name()
        );
    }
    eprintln!(
        "sqlops outage {}: {:.1} s",
        b.name(),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn a_lost_mariadb_connection_is_a_negative_return_then_reconnects() {
    server_outage(Backend::Mysql);
}

#[test]
fn a_lost_postgresql_connection_is_a_negative_return_then_reconnects() {
    server_outage(Backend::Postgres);
}

#[test]
fn a_locked_sqlite_database_is_a_negative_return_then_recovers() {
    let b = Backend::Sqlite;
    for who in [Who::Kamailio, Who::Compiled, Who::Interpreted] {
        let (_db, url) = fresh_db(
            b,
            &format!("outage_{who:?}").to_lowercase(),
            &(String::new(), 0),
        );
        let path = url.trim_start_matches("sqlite://").to_string();
        let locker: Mutex<Option<rusqlite::Connection>> = Mutex::new(None);
        let got = through_outage(
            who,
            b,
            &url,
            &|| {
                let c = rusqlite::Connection::open(&path).expect("open");
                c.execute_batch("BEGIN EXCLUSIVE").expect("lock");
                *locker.lock().expect("lock") = Some(c);
            },
            &|| {
                if let Some(c) = locker.lock().expect("lock").take() {
                    c.execute_batch("COMMIT").expect("unlock");
                }
            },
        );
        assert_eq!(got, OUTAGE, "{who:?} on a locked sqlite database");
    }
}

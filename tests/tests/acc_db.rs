//! acc's database accounting over real databases, differential (issue
//! 12): the same cfg (`tests/acc_db/kamailio.cfg`) run by `kamailio -f`,
//! by cfgc's compiled proxy and by the interpreter, each on its own fresh
//! database (SQLite by `kamdbctl create`, MariaDB and PostgreSQL from
//! Debian's schema files) with the stock config's extra columns added as
//! its comment says. The same requests to each; compared: the replies and
//! the rows of `acc` and `missed_calls` (tm's own To tags, random, and
//! the time, read as present or not).
//!
//! One accepted difference, on SQLite only: Kamailio's db_sqlite binds an
//! empty value (a missing To tag, no code in `acc_db_request`'s comment,
//! a `$null` extra) as NULL, so such an insert fails on the NOT NULL
//! columns (-1, no row: the record is lost) and an empty extra is NULL;
//! ours writes `''`, as Kamailio's db_mysql and db_postgres do.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cfgc_test_support::{GroupGuard, udp_exchange};
use tests::db::{Backend, DbUser, FreshDb};

const USER: DbUser = DbUser {
    name: "cfgc_acc",
    password: "cfgc-acc-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("acc_db/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("acc_db")
}

/// (step, method, R-URI user, To tag).
///
/// Only the first request and `busy` come without a To tag: Kamailio's
/// acc keeps the To tag of its last record in a per-process buffer and
/// writes it for a later request that has none (a leak between
/// unrelated transactions, not reproduced: ours writes the request's
/// own, empty, tag).
const STEPS: &[(&str, &str, &str, &str)] = &[
    ("request-untagged", "OPTIONS", "request", ""),
    ("answered", "MESSAGE", "answered", "answered-tag"),
    ("busy", "INVITE", "busy", ""),
    ("failed", "INVITE", "failed", "failed-tag"),
    ("quiet", "MESSAGE", "quiet", "quiet-tag"),
    ("request-tagged", "OPTIONS", "request", "callee-tag"),
    ("comment", "NOTIFY", "comment", "other-tag"),
];

fn send(port: u16, step: &str, method: &str, ruser: &str, to_tag: &str) -> String {
    let to_tag = if to_tag.is_empty() {
        String::new()
    } else {
        format!(";tag={to_tag}")
    };
    // SQL injection through the Call-ID (a quote, a backslash: an escape
    // character to MySQL, a statement terminator; all valid in a
    // Call-ID): written as sent, by Kamailio and by ours.
    let inject = if step == "answered" {
        "');DROP\\TABLE--"
    } else {
        ""
    };
    let a = udp_exchange(port, |local| {
        format!(
            "{method} sip:{ruser}@127.0.0.1 SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{step}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=from-{step}\r\n\
To: <sip:{ruser}@example.net>{to_tag}\r\n\
Call-ID: acc-{step}{inject}@test\r\n\
CSeq: 7 {method}\r\n\
Content-Length: 0\r\n\r\n"
        )
    });
    format!(
        "{step}: {}",
        a.as_deref()
            .and_then(|a| a.split("\r\n").next())
            .unwrap_or("timeout")
    )
}

const EXTRA: &[(&str, &str)] = &[
    ("src_user", "VARCHAR(64) NOT NULL DEFAULT ''"),
    ("src_domain", "VARCHAR(128) NOT NULL DEFAULT ''"),
    ("src_ip", "varchar(64) NOT NULL default ''"),
    ("dst_ouser", "VARCHAR(64) NOT NULL DEFAULT ''"),
    ("dst_user", "VARCHAR(64) NOT NULL DEFAULT ''"),
    ("dst_domain", "VARCHAR(128) NOT NULL DEFAULT ''"),
    ("x_null", "VARCHAR(64)"),
];

fn fresh(b: Backend, name: &str) -> FreshDb {
    let db = if b == Backend::Sqlite {
        FreshDb::kamdbctl_sqlite(name, &tmp())
    } else {
        FreshDb::new(
            b,
            name,
            &["standard-create.sql", "acc-create.sql"],
            USER,
            &tmp(),
        )
    };
    // The stock config's ALTER TABLEs (its WITH_ACCDB comment).
    let mut sql = String::new();
    for t in ["acc", "missed_calls"] {
        for (c, ty) in EXTRA {
            sql.push_str(&format!("ALTER TABLE {t} ADD COLUMN {c} {ty};\n"));
        }
    }
    db.sql(&sql);
    db
}

/// The rows of `table`, ordered by Call-ID.
fn rows(db: &FreshDb, table: &str) -> Vec<String> {
    db.rows(&format!(
        "select method, from_tag, \
         case when to_tag = '' then 'untagged' else 'tagged' end, callid, sip_code, sip_reason, \
         case when time is null then 'no time' else 'time' end, \
         src_user, src_domain, src_ip, dst_ouser, dst_user, dst_domain, \
         coalesce(x_null, '<NULL>') from {table} order by callid;"
    ))
    .into_iter()
    .map(|l| format!("{table}: {l}"))
    .collect()
}

fn start(who: &str, b: Backend, url: &str) -> (GroupGuard, u16) {
    tests::start_contender(
        who,
        &cfg(),
        &[
            (b.define().to_string(), "1".to_string()),
            ("DBURL".to_string(), format!("\"{url}\"")),
        ],
        &format!("acc-db-{}-{who}", b.name()),
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
    )
}

fn observe(who: &str, b: Backend) -> Vec<String> {
    let db = fresh(b, &format!("cfgc_acc_{}_{who}", b.name()));
    let (g, port) = start(who, b, &db.url());
    let mut seen: Vec<String> = STEPS
        .iter()
        .map(|(step, method, ruser, tag)| send(port, step, method, ruser, tag))
        .collect();
    g.stop().expect("stopped");
    seen.extend(rows(&db, "acc"));
    seen.extend(rows(&db, "missed_calls"));
    seen
}

/// The steps Kamailio's db_sqlite fails (see the module doc).
const SQLITE_NULLS: &[&str] = &["request-untagged", "comment"];

/// Without what differs on SQLite by the accepted difference: the steps
/// it fails, their rows, and NULL for an empty extra.
fn sqlite_normalised(b: Backend, v: &[String]) -> Vec<String> {
    if b != Backend::Sqlite {
        return v.to_vec();
    }
    v.iter()
        .filter(|l| {
            !SQLITE_NULLS
                .iter()
                .any(|s| l.starts_with(&format!("{s}: ")) || l.contains(&format!("acc-{s}@")))
        })
        .map(|l| {
            l.strip_suffix("|<NULL>")
                .map_or(l.clone(), |r| format!("{r}|"))
        })
        .collect()
}

fn differential(b: Backend) {
    let t0 = Instant::now();
    let theirs = observe("kamailio", b);
    for (step, want) in [
        ("answered", "SIP/2.0 200 Answered"),
        ("busy", "SIP/2.0 486 Busy Here"),
        ("request-tagged", "SIP/2.0 200 acc_db_request 1"),
    ] {
        assert!(
            theirs.iter().any(|l| l == &format!("{step}: {want}")),
            "kamailio ({}): {step} is not {want}:\n{}",
            b.name(),
            theirs.join("\n")
        );
    }
    assert!(
        theirs
            .iter()
            .any(|l| l.starts_with("acc: ") && l.contains("acc-answered');DROP\\")),
        "kamailio ({}) writes the answered Call-ID as sent:\n{}",
        b.name(),
        theirs.join("\n")
    );
    let count = |v: &[String], p: &str| v.iter().filter(|l| l.starts_with(p)).count();
    // answered (200), failed (503) and request-tagged (and request-
    // untagged but on SQLite); busy and comment in missed_calls.
    let expected_rows = if b == Backend::Sqlite { (3, 1) } else { (4, 2) };
    assert_eq!(
        (count(&theirs, "acc: "), count(&theirs, "missed_calls: ")),
        expected_rows,
        "kamailio ({}) rows:\n{}",
        b.name(),
        theirs.join("\n")
    );
    if b == Backend::Sqlite {
        for s in SQLITE_NULLS {
            assert!(
                theirs
                    .iter()
                    .any(|l| l == &format!("{s}: SIP/2.0 200 acc_db_request -1")),
                "Kamailio's db_sqlite no longer fails {s}:\n{}",
                theirs.join("\n")
            );
        }
    }
    for who in ["compiled", "interpreted"] {
        let ours = observe(who, b);
        if b == Backend::Sqlite {
            for s in SQLITE_NULLS {
                assert!(
                    ours.iter()
                        .any(|l| l == &format!("{s}: SIP/2.0 200 acc_db_request 1")),
                    "{who}: {s} is written, empty values as '':\n{}",
                    ours.join("\n")
                );
            }
        }
        assert_eq!(
            sqlite_normalised(b, &ours),
            sqlite_normalised(b, &theirs),
            "{who} on {}:\nours:\n{}\nkamailio:\n{}",
            b.name(),
            ours.join("\n"),
            theirs.join("\n")
        );
    }
    eprintln!(
        "acc db {}: {:.1} s\n{}",
        b.name(),
        t0.elapsed().as_secs_f64(),
        theirs.join("\n")
    );
}

#[test]
fn acc_db_on_sqlite_writes_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn acc_db_on_mariadb_writes_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn acc_db_on_postgresql_writes_like_kamailio() {
    differential(Backend::Postgres);
}

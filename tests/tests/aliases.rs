//! alias_db and speeddial over real databases, differential (issue 12):
//! the same cfg (`tests/aliases/kamailio.cfg`) run by `kamailio -f`, by
//! cfgc's compiled proxy and by the interpreter, all three reading one
//! database per backend: Kamailio's schema (`kamdbctl create` for
//! SQLite, Debian's schema files for MariaDB and PostgreSQL), rows added
//! by `kamctl alias_db add` and `kamctl speeddial add` (one row by SQL:
//! a `new_uri` without a scheme, which kamctl refuses). The same requests
//! to each; the reply carries the return code and the R-URI after the
//! lookup. Variants: no domain matching (the stock config's), and domain
//! matching with a `domain_prefix`. Then a flag letter alias_db does not
//! know: refused by the build as by `kamailio -c`.

use std::path::{Path, PathBuf};

use cfgc_test_support::{GroupGuard, Kamailio, free_port, module_dir, udp_exchange};
use tests::db::{Backend, DbUser, FreshDb};

const USER: DbUser = DbUser {
    name: "cfgc_aliases",
    password: "cfgc-aliases-pw",
};

fn cfg() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("aliases/kamailio.cfg")
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("aliases")
}

/// The requests: (step, R-URI, X-Op, more headers).
const STEPS: &[(&str, &str, &str, &str)] = &[
    ("alias", "sip:100@127.0.0.1", "alias", ""),
    ("alias-prefixed-host", "sip:100@sip.127.0.0.1", "alias", ""),
    ("alias-other-host", "sip:100@example.net", "alias", ""),
    ("alias-unknown", "sip:999@127.0.0.1", "alias", ""),
    (
        "alias-with-params",
        "sip:100@127.0.0.1:5999;transport=udp",
        "alias",
        "",
    ),
    ("alias-d", "sip:100@example.net", "alias-d", ""),
    ("alias-u", "sip:100@example.net", "alias-u", ""),
    ("alias-u-host", "sip:200@example.com", "alias-u", ""),
    ("alias-r", "sip:alice@127.0.0.1", "alias-r", ""),
    ("alias-inject", "sip:100'or'1'='1@127.0.0.1", "alias", ""),
    (
        "alias-no-table",
        "sip:100@127.0.0.1",
        "alias-table",
        "X-Table: nosuchtable",
    ),
    (
        "alias-pv-table",
        "sip:100@127.0.0.1",
        "alias-table",
        "X-Table: dbaliases",
    ),
    // alias_db_find: the URI of a header, the R-URI left alone; the
    // From URI's alias (reverse) into a `$var`.
    ("find", "sip:x@127.0.0.1", "find", "X-In: sip:100@127.0.0.1"),
    (
        "find-unknown",
        "sip:x@127.0.0.1",
        "find",
        "X-In: sip:999@127.0.0.1",
    ),
    ("find-no-uri", "sip:x@127.0.0.1", "find", "X-In: nonsense"),
    ("find-r", "sip:x@127.0.0.1", "find-r", ""),
    ("sd", "sip:11@127.0.0.1", "sd", ""),
    ("sd-no-scheme", "sip:12@127.0.0.1", "sd", ""),
    ("sd-sips", "sip:13@127.0.0.1", "sd", ""),
    ("sd-unknown", "sip:14@127.0.0.1", "sd", ""),
    ("sd-prefixed-host", "sip:11@sip.127.0.0.1", "sd", ""),
    (
        "sd-owner",
        "sip:11@127.0.0.1",
        "sd-owner",
        "X-Owner: sip:bob@127.0.0.1",
    ),
    (
        "sd-owner-alice",
        "sip:11@127.0.0.1",
        "sd-owner",
        "X-Owner: sip:alice@127.0.0.1",
    ),
    (
        "sd-bad-owner",
        "sip:11@127.0.0.1",
        "sd-owner",
        "X-Owner: nonsense",
    ),
];

fn observe(port: u16) -> Vec<String> {
    STEPS
        .iter()
        .map(|(step, ruri, op, extra)| {
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!("{extra}\r\n")
            };
            let a = udp_exchange(port, |local| {
                format!(
                    "OPTIONS {ruri} SIP/2.0\r\n\
Via: SIP/2.0/UDP {local};branch=z9hG4bK-{step}-1;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@127.0.0.1>;tag=t-{step}\r\n\
To: <sip:x@127.0.0.1>\r\n\
Call-ID: aliases-{step}@test\r\n\
CSeq: 1 OPTIONS\r\n\
X-Op: {op}\r\n\
{extra}Content-Length: 0\r\n\r\n"
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

fn defines(b: Backend, domain: bool, url: &str) -> Vec<(String, String)> {
    let mut d = vec![
        (b.define().to_string(), "1".to_string()),
        ("DBURL".to_string(), format!("\"{url}\"")),
    ];
    if domain {
        d.push(("WITH_DOMAIN".into(), "1".into()));
    }
    d
}

fn fresh(b: Backend) -> FreshDb {
    let name = format!("cfgc_aliases_{}", b.name());
    let db = if b == Backend::Sqlite {
        FreshDb::kamdbctl_sqlite(&name, &tmp())
    } else {
        FreshDb::new(
            b,
            &name,
            &[
                "standard-create.sql",
                "alias_db-create.sql",
                "speeddial-create.sql",
            ],
            USER,
            &tmp(),
        )
    };
    db.kamctl(&["alias_db", "add", "100@127.0.0.1", "alice@127.0.0.1"]);
    db.kamctl(&["alias_db", "add", "200@example.com", "bob@example.com"]);
    for (sd, uri) in [
        ("11@127.0.0.1", "sip:bob@127.0.0.1:5262"),
        ("13@127.0.0.1", "sips:dave@127.0.0.1"),
    ] {
        db.kamctl(&["speeddial", "add", "alice@127.0.0.1", sd, uri]);
    }
    db.sql(
        "insert into speed_dial (username, domain, sd_username, sd_domain, new_uri) \
         values ('alice', '127.0.0.1', '12', '127.0.0.1', 'carol@127.0.0.1');",
    );
    db
}

fn start(who: &str, b: Backend, domain: bool, url: &str) -> (GroupGuard, u16) {
    tests::start_contender(
        who,
        &cfg(),
        &defines(b, domain, url),
        &format!("aliases-{}-{domain}", b.name()),
        Path::new(env!("CARGO_BIN_EXE_interp-proxy")),
    )
}

fn differential(b: Backend) {
    let t0 = std::time::Instant::now();
    let db = fresh(b);
    let url = db.url();
    for domain in [false, true] {
        let mut all = Vec::new();
        for who in ["kamailio", "compiled", "interpreted"] {
            let (g, port) = start(who, b, domain, &url);
            let got = observe(port);
            g.stop().expect("stopped");
            all.push((who, got));
        }
        let theirs = &all[0].1;
        let want: &[(&str, &str)] = if domain {
            &[
                ("alias", "200 op=alias rc=1 ru=sip:alice@127.0.0.1"),
                (
                    "alias-prefixed-host",
                    "200 op=alias rc=1 ru=sip:alice@127.0.0.1",
                ),
                ("alias-d", "200 op=alias-d rc=1 ru=sip:alice@127.0.0.1"),
                ("alias-u-host", "200 op=alias-u rc=1 ru=sip:bob@example.com"),
                (
                    "sd-prefixed-host",
                    "200 op=sd rc=1 ru=sip:bob@127.0.0.1:5262",
                ),
            ]
        } else {
            &[
                ("alias", "200 op=alias rc=1 ru=sip:alice@127.0.0.1"),
                ("alias-unknown", "200 op=alias rc=-1 ru=sip:999@127.0.0.1"),
                ("alias-r", "200 op=alias-r rc=1 ru=sip:100@127.0.0.1"),
                ("sd", "200 op=sd rc=1 ru=sip:bob@127.0.0.1:5262"),
                ("sd-no-scheme", "200 op=sd rc=1 ru=sip:carol@127.0.0.1"),
                (
                    "find",
                    "200 op=find rc=1 ru=sip:x@127.0.0.1 found=sip:alice@127.0.0.1",
                ),
                (
                    "find-r",
                    "200 op=find-r rc=1 ru=sip:x@127.0.0.1 found=sip:100@127.0.0.1",
                ),
            ]
        };
        for (step, w) in want {
            assert!(
                theirs.iter().any(|l| l == &format!("{step}: SIP/2.0 {w}")),
                "kamailio ({}, domain {domain}): {step} is not {w}:\n{}",
                b.name(),
                theirs.join("\n")
            );
        }
        for (who, got) in &all[1..] {
            assert_eq!(
                got,
                theirs,
                "{who} on {} (domain {domain}):\nours:\n{}\nkamailio:\n{}",
                b.name(),
                got.join("\n"),
                theirs.join("\n")
            );
        }
        eprintln!(
            "aliases {} domain {domain}:\n{}",
            b.name(),
            theirs.join("\n")
        );
    }
    eprintln!("aliases {}: {:.1} s", b.name(), t0.elapsed().as_secs_f64());
}

#[test]
fn alias_db_and_speeddial_on_sqlite_answer_like_kamailio() {
    differential(Backend::Sqlite);
}

#[test]
fn alias_db_and_speeddial_on_mariadb_answer_like_kamailio() {
    differential(Backend::Mysql);
}

#[test]
fn alias_db_and_speeddial_on_postgresql_answer_like_kamailio() {
    differential(Backend::Postgres);
}

/// alias_db's flags are checked when the cfg is loaded: a letter it does
/// not know is a build error, as Kamailio refuses to start (`kamailio -c`
/// does not run that check: it accepts the file).
#[test]
fn an_unknown_alias_db_flag_is_refused_like_kamailio() {
    let dir = tmp();
    std::fs::create_dir_all(&dir).expect("mkdir");
    let text = std::fs::read_to_string(cfg()).expect("cfg").replace(
        "alias_db_lookup(\"dbaliases\", \"d\")",
        "alias_db_lookup(\"dbaliases\", \"x\")",
    );
    let bad = dir.join("bad-flag.cfg");
    std::fs::write(&bad, text).expect("write");
    let db = FreshDb::kamdbctl_sqlite("cfgc_aliases_flag", &dir);
    let url = format!("DBURL=\"{}\"", db.url());
    let port = free_port();
    let rundir = std::env::temp_dir().join(format!("cfgc-aliases-flag-{port}"));
    std::fs::create_dir_all(&rundir).expect("rundir");
    let k = Kamailio::new(&bad, format!("udp:127.0.0.1:{port}"), rundir)
        .module_dir(Some(module_dir()))
        .define("WITH_SQLITE")
        .define(url.clone());
    let (refused, log) = tests::refuses(k.command(), &dir.join("kamailio-bad-flag.log"));
    assert!(
        refused && log.contains("unsupported flag 'x'"),
        "kamailio starts with a bad flag:\n{log}"
    );
    // As `cfgc check` runs it: with lowering, where calls are resolved.
    let mut config = cfgc::Config::new();
    config
        .define_arg("WITH_SQLITE")
        .define_arg(&url)
        .lower(true);
    let ours = config.check_file(&bad).expect("readable");
    assert!(
        ours.diagnostics.iter().any(|d| d.code == "bad-flag"),
        "cfgc does not refuse it:\n{}",
        tests::rendered_errors(&ours)
    );
}

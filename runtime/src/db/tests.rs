use super::*;

#[test]
fn urls_parse_as_kamailio_reads_them() {
    let u = DbUrl::parse("mysql://kamailio:kamailiorw@localhost/kamailio").expect("valid");
    assert_eq!(
        (
            u.scheme.as_str(),
            u.user.as_deref(),
            u.password.as_deref(),
            u.host.as_str(),
            u.port,
            u.database.as_str()
        ),
        (
            "mysql",
            Some("kamailio"),
            Some("kamailiorw"),
            "localhost",
            None,
            "kamailio"
        )
    );
    let u = DbUrl::parse("postgres://u:p@w@d@10.0.0.1:5433/db?x=1").expect("valid");
    assert_eq!(u.password.as_deref(), Some("p@w@d"));
    assert_eq!(
        (u.host.as_str(), u.port, u.database.as_str()),
        ("10.0.0.1", Some(5433), "db")
    );
    let u = DbUrl::parse("mysql://u@[::1]:3307/db").expect("valid");
    assert_eq!(
        (u.host.as_str(), u.port, u.password),
        ("::1", Some(3307), None)
    );
    let u = DbUrl::parse("mysql://u:p@[group]/db").expect("valid");
    assert_eq!(u.host, "[group]");
    // Both SQLite forms are the same absolute file (Kamailio works in /).
    assert_eq!(
        DbUrl::parse("sqlite:///var/k.db").expect("valid").database,
        "/var/k.db"
    );
    assert_eq!(
        DbUrl::parse("sqlite:////var/k.db").expect("valid").database,
        "/var/k.db"
    );
    assert!(DbUrl::parse("s://a").is_err());
    assert!(DbUrl::parse("mysql:/x/y/z").is_err());
    assert!(DbUrl::parse("mysql://host").is_err());
    // The password is never printed.
    let u = DbUrl::parse("mysql://u:secret@h/db").expect("valid");
    assert!(!format!("{u:?}{u}").contains("secret"));
}

fn temp_db(name: &str) -> (std::path::PathBuf, DbUrl) {
    let path = std::env::temp_dir().join(format!("cfgc-db-{name}-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = DbUrl::parse(&format!("sqlite://{}", path.display())).expect("valid");
    (path, url)
}

#[test]
fn sqlite_queries_types_and_errors() {
    let (path, url) = temp_db("types");
    let mut c = Connection::open(url, Arc::new(Params::default())).expect("opens");
    let r = c
        .raw_query(
            "create table t (id integer, name varchar(64), big bigint, d double, ts datetime)",
        )
        .expect("create");
    assert!(r.columns.is_empty());
    let r = c
        .raw_query("insert into t values (1, 'alice', 5000000000, 1.5, 2440588.5), (2, NULL, 1, 2.5, NULL)")
        .expect("insert");
    assert_eq!(r.affected, 2);
    let r = c
        .raw_query("select id, name, big, d, ts from t order by id")
        .expect("select");
    assert_eq!(r.columns, ["id", "name", "big", "d", "ts"]);
    assert_eq!(
        r.rows[0],
        [
            DbValue::Int(1),
            DbValue::Str(b"alice".to_vec()),
            DbValue::BigInt(5_000_000_000),
            DbValue::Double(1.5),
            DbValue::DateTime(86_400)
        ]
    );
    assert_eq!(r.rows[1][1], DbValue::Null);
    // Expressions have no declared type: the first row's value decides.
    let r = c.raw_query("select 1 + 1, 'x'").expect("select");
    assert_eq!(r.rows, [[DbValue::Int(2), DbValue::Str(b"x".to_vec())]]);
    let e = c.raw_query("select * from missing").expect_err("no table");
    assert_eq!(e.kind, ErrorKind::Query);
    // The version check (§1.3).
    c.raw_query("create table version (table_name varchar(32), table_version int)")
        .expect("create");
    c.raw_query("insert into version values ('subscriber', 7)")
        .expect("insert");
    assert!(c.check_version("subscriber", 7).is_ok());
    assert_eq!(
        c.check_version("subscriber", 6)
            .expect_err("mismatch")
            .message,
        "invalid version 7 for table subscriber found, expected 6"
    );
    assert_eq!(
        c.check_version("location", 9).expect_err("no row").message,
        "invalid version 0 for table location found, expected 9"
    );
    drop(c);
    let _ = std::fs::remove_file(path);
}

#[test]
fn an_unknown_scheme_or_an_unreachable_server_is_an_error_not_a_panic() {
    let p = Arc::new(Params::default());
    let e = Connection::open(DbUrl::parse("text:///tmp/x").expect("valid"), p.clone())
        .expect_err("no driver");
    assert_eq!(e.message, "Module db_text not found");
    let mut lazy = Connection::lazy(
        DbUrl::parse("sqlite:///nonexistent-dir-cfgc/x.db").expect("valid"),
        p,
    );
    assert_eq!(
        lazy.raw_query("select 1").expect_err("cannot open").kind,
        ErrorKind::Connect
    );
    assert!(!lazy.is_connected());
}

#[test]
fn db_params() {
    let mut p = ModParams::new();
    p.push("db_mysql", "auto_reconnect", ParamValue::Int(0));
    p.push("db_mysql", "ping_interval", ParamValue::Int(10));
    p.push("db_postgres", "retries", ParamValue::Int(5));
    p.push(
        "db_sqlite",
        "db_set_readonly",
        ParamValue::Str("/a.db".into()),
    );
    p.push(
        "db_sqlite",
        "db_set_journal_mode",
        ParamValue::Str("/b.db=wal;".into()),
    );
    p.push(
        "db_sqlite",
        "db_set_journal_mode",
        ParamValue::Str("/c.db=TRUNCATE".into()),
    );
    let d = Params::from_params(&p).expect("valid");
    assert!(!d.mysql_auto_reconnect);
    assert_eq!(d.mysql_ping_interval, Duration::from_secs(10));
    assert_eq!(d.pg_retries, 5);
    assert_eq!(d.sqlite_readonly, ["/a.db"]);
    // TRUNCATE is ignored, as Kamailio's inverted check does.
    assert_eq!(d.sqlite_journal, [("/b.db".to_string(), "WAL".to_string())]);
}

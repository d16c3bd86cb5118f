//! The trusted table on a SQLite database: both `db_mode`s, both
//! `peer_tag_mode`s, the RPC reload. (Kamailio's own answers for the
//! same rows are compared on the wire by `tests/tests/trusted.rs`.)

use cfgc_vocab::PvRef;

use super::*;
use crate::engine::ctx::WorkerState;
use crate::engine::module::{ModuleSet, RpcError, RpcRegistry, RpcValue};
use crate::engine::params::{ModParams, ParamValue};
use crate::engine::pv;
use crate::engine::value::Value;
use crate::modules::testutil::{core, msg, rcv};
use crate::sip::Message;

/// A fresh database holding `rows` (src_ip, proto, from_pattern,
/// ruri_pattern, tag, priority; `None` is NULL).
type R<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    i32,
);

fn database(name: &str, rows: &[R<'_>]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("cfgc-trusted-{name}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let c = rusqlite::Connection::open(&p).expect("sqlite");
    c.execute_batch(
        "create table version (table_name varchar(32) not null, table_version integer not null);
         insert into version values ('trusted', 6);
         create table trusted (id integer primary key, src_ip varchar(50) not null,
           proto varchar(4) not null, from_pattern varchar(64), ruri_pattern varchar(64),
           tag varchar(64), priority integer not null default 0);",
    )
    .expect("schema");
    for r in rows {
        insert(&p, r);
    }
    p
}

fn insert(p: &std::path::Path, r: &R<'_>) {
    let c = rusqlite::Connection::open(p).expect("sqlite");
    c.execute(
        "insert into trusted (src_ip, proto, from_pattern, ruri_pattern, tag, priority) \
         values (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5],
    )
    .expect("insert");
}

fn modules(path: &std::path::Path, db_mode: i32, tag_mode: i32) -> Modules {
    let mut p = ModParams::new();
    let m = "permissions";
    p.push(
        m,
        "db_url",
        ParamValue::Str(format!("sqlite://{}", path.display())),
    );
    p.push(m, "load_backends", ParamValue::Int(2));
    p.push(m, "db_mode", ParamValue::Int(db_mode));
    p.push(m, "peer_tag_mode", ParamValue::Int(tag_mode));
    p.push(
        m,
        "peer_tag_avp",
        ParamValue::PvList(vec![("peer_tag_avp".into(), PvRef::Avp(0, 0))]),
    );
    let mods = Modules::new(p).expect("valid");
    mods.permissions.start().expect("starts");
    mods
}

/// Runs `f` on a request (`ruri`, From `from`) from 127.0.0.1 over UDP,
/// the worker holding `m`'s per-worker state; `f`'s answer and the tags
/// added, newest first.
fn on_request(m: &Modules, raw: &[u8], f: impl FnOnce(&mut Ctx<'_>) -> i32) -> (i32, Vec<String>) {
    let msg = Message::parse(raw).expect("parses");
    let (core, rcv) = (core(), rcv());
    let mut worker = WorkerState {
        modules: m.worker_state(),
        ..WorkerState::default()
    };
    let mut out = Vec::new();
    let mut ctx = Ctx::new(&msg, &rcv, &core, &mut worker, &mut out);
    ctx.modules = m;
    let rc = f(&mut ctx);
    let tags = (0..)
        .map_while(|i| match pv::avp(&ctx, 0, i) {
            Value::Null => None,
            v => Some(String::from_utf8_lossy(&v.to_bytes()).into_owned()),
        })
        .collect();
    (rc, tags)
}

fn request(ruri: &str, from: &str) -> Vec<u8> {
    msg(&[
        &format!("OPTIONS {ruri} SIP/2.0"),
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1",
        &format!("From: <{from}>;tag=1"),
        "To: <sip:a@127.0.0.1>",
        "Call-ID: trusted-test",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    ])
}

const ROWS: &[R<'_>] = &[
    (
        "127.0.0.1",
        "udp",
        Some("^sip:alice@"),
        None,
        Some("alice-udp"),
        10,
    ),
    (
        "127.0.0.1",
        "any",
        None,
        Some("^sip:gw"),
        Some("gw-any"),
        20,
    ),
    ("127.0.0.1", "tcp", None, None, Some("tcp-only"), 30),
    (
        "127.0.0.1",
        "any",
        Some("^sip:bob@"),
        None,
        Some("bob-low"),
        5,
    ),
    (
        "127.0.0.1",
        "any",
        Some("^sip:bob@"),
        None,
        Some("bob-high"),
        15,
    ),
    ("127.0.0.1", "none", None, None, Some("none-row"), 50),
    (
        "10.0.0.2",
        "ANY",
        Some("^sip:\\(eve\\|frank\\)@"),
        None,
        Some("bre-alt"),
        0,
    ),
    ("10.0.0.2", "any", Some("^sip:a+b@"), None, None, 0),
    (
        "10.0.0.3",
        "any",
        Some("[invalid"),
        None,
        Some("bad-from"),
        0,
    ),
    (
        "10.0.0.4",
        "any",
        Some("[invalid"),
        Some("^sip:"),
        Some("bad-both"),
        0,
    ),
    ("10.0.0.5", "any", None, Some("[bad"), Some("bad-ruri"), 0),
];

fn t0(m: &Modules, ruri: &str, from: &str) -> (i32, Vec<String>) {
    on_request(m, &request(ruri, from), allow_trusted)
}

fn t3(m: &Modules, ip: &str, proto: &str, furi: &str) -> (i32, Vec<String>) {
    on_request(m, &request("sip:x@127.0.0.1", "sip:z@x"), |ctx| {
        allow_trusted_furi(ctx, ip.as_bytes(), proto.as_bytes(), furi.as_bytes())
    })
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_string()).collect()
}

#[test]
fn cached_table_highest_priority_first() {
    let path = database("cached", ROWS);
    let m = modules(&path, 1, 0);
    let t = m.permissions.trusted_table().expect("loaded");
    // The `none` row is left out.
    assert_eq!(t.len(), 10);
    assert_eq!(t0(&m, "sip:x@h", "sip:alice@h"), (1, s(&["alice-udp"])));
    assert_eq!(t0(&m, "sip:x@h", "sip:bob@h"), (1, s(&["bob-high"])));
    assert_eq!(t0(&m, "sip:gw@h", "sip:bob@h"), (1, s(&["gw-any"])));
    assert_eq!(t0(&m, "sip:x@h", "sip:zed@h"), (-1, s(&[])));
    assert_eq!(
        t3(&m, "127.0.0.1", "any", "sip:zed@h"),
        (1, s(&["tcp-only"]))
    );
    assert_eq!(t3(&m, "127.0.0.1", "xyz", "sip:zed@h"), (-1, s(&[])));
    assert_eq!(t3(&m, "10.0.0.2", "udp", "sip:eve@x"), (1, s(&["bre-alt"])));
    assert_eq!(t3(&m, "10.0.0.2", "any", "sip:(eve|frank)@x"), (-1, s(&[])));
    // A match whose tag is NULL adds none.
    assert_eq!(t3(&m, "10.0.0.2", "any", "sip:a+b@x"), (1, s(&[])));
    // Kamailio's worker crashes on the first two; here they are skipped.
    assert_eq!(t3(&m, "10.0.0.3", "any", "sip:a@x").0, -1);
    assert_eq!(t3(&m, "10.0.0.4", "any", "sip:a@x").0, -1);
    assert_eq!(t3(&m, "10.0.0.5", "any", "sip:a@x").0, -1);
    // The address is compared as text.
    assert_eq!(t3(&m, "127.000.0.1", "any", "sip:bob@h").0, -1);
}

#[test]
fn every_match_with_peer_tag_mode_1() {
    let path = database("all", ROWS);
    let m = modules(&path, 1, 1);
    // Added highest priority first: the newest value is the lowest.
    assert_eq!(
        t0(&m, "sip:gw@h", "sip:bob@h"),
        (3, s(&["bob-low", "bob-high", "gw-any"]))
    );
    let m = modules(&path, 0, 1);
    // Queried lowest priority first.
    assert_eq!(
        t0(&m, "sip:gw@h", "sip:bob@h"),
        (3, s(&["gw-any", "bob-high", "bob-low"]))
    );
    // In db_mode 0 a `none` row matches when the protocol asked is `any`.
    assert_eq!(
        t3(&m, "127.0.0.1", "ANY", "sip:zed@h"),
        (2, s(&["none-row", "tcp-only"]))
    );
}

#[test]
fn queried_table_lowest_priority_first() {
    let path = database("queried", ROWS);
    let m = modules(&path, 0, 0);
    assert!(m.permissions.trusted_table().is_none());
    assert_eq!(t0(&m, "sip:x@h", "sip:bob@h"), (1, s(&["bob-low"])));
    assert_eq!(t0(&m, "sip:gw@h", "sip:bob@h"), (1, s(&["bob-low"])));
    assert_eq!(
        t3(&m, "127.0.0.1", "tcp", "sip:zed@h"),
        (1, s(&["tcp-only"]))
    );
    assert_eq!(t3(&m, "10.0.0.3", "any", "sip:a@x").0, -1);
    assert_eq!(t3(&m, "10.0.0.4", "any", "sip:a@x").0, -1);
    // A lost database: -1, no panic.
    std::fs::remove_file(&path).expect("removed");
    assert_eq!(t0(&m, "sip:x@h", "sip:bob@h").0, -1);
}

#[test]
fn the_received_ruri_and_replies() {
    let path = database("ruri", ROWS);
    let m = modules(&path, 1, 0);
    // A rewritten R-URI does not count.
    let raw = request("sip:x@h", "sip:zed@h");
    let r = on_request(&m, &raw, |ctx| {
        ctx.new_uri = Some(b"sip:gw@h".to_vec());
        allow_trusted(ctx)
    });
    assert_eq!(r.0, -1);
    // For a reply the patterns are not looked at: the first row of the
    // address matches.
    let reply = msg(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1",
        "From: <sip:zed@h>;tag=1",
        "To: <sip:a@127.0.0.1>;tag=2",
        "Call-ID: trusted-test",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    ]);
    assert_eq!(on_request(&m, &reply, allow_trusted), (1, s(&["gw-any"])));
    // A From URI longer than Kamailio's MAX_URI_SIZE.
    let long = format!("sip:bob@{}", "h".repeat(1100));
    assert_eq!(t0(&m, "sip:x@h", &long).0, -1);
}

#[test]
fn an_unknown_protocol_fails_the_load() {
    let path = database("badproto", &[("1.2.3.4", "xyz", None, None, None, 0)]);
    let mut p = ModParams::new();
    p.push(
        "permissions",
        "db_url",
        ParamValue::Str(format!("sqlite://{}", path.display())),
    );
    p.push("permissions", "load_backends", ParamValue::Int(2));
    p.push("permissions", "db_mode", ParamValue::Int(1));
    let m = Modules::new(p.clone()).expect("valid");
    let e = m.permissions.start().expect_err("refused");
    assert!(e.contains("unknown protocol"), "{e}");
    // db_mode 0 does not load it.
    p.push("permissions", "db_mode", ParamValue::Int(0));
    assert!(
        Modules::new(p.clone())
            .expect("valid")
            .permissions
            .start()
            .is_ok()
    );
    p.push("permissions", "db_mode", ParamValue::Int(2));
    assert!(Modules::new(p).is_err());
}

#[test]
fn rpc_reloads() {
    let path = database(
        "reload",
        &[("127.0.0.1", "any", None, None, Some("one"), 0)],
    );
    let m = modules(&path, 1, 0);
    let reg = RpcRegistry::new(&m).expect("unique names");
    insert(&path, &("127.0.0.1", "any", None, None, Some("two"), 9));
    assert_eq!(t0(&m, "sip:x@h", "sip:a@h"), (1, s(&["one"])));
    assert_eq!(
        reg.dispatch(&m, "permissions.trustedReload", &[]),
        Ok(vec![RpcValue::Str("Reload OK".into())])
    );
    assert_eq!(t0(&m, "sip:x@h", "sip:a@h"), (1, s(&["two"])));
    // Within reload_delta (5 s) of the last one, for either table.
    assert_eq!(
        reg.dispatch(&m, "permissions.addressReload", &[]),
        Err(RpcError::new(500, "ongoing reload"))
    );
    // db_mode 0 has no cache to reload.
    let m = modules(&path, 0, 0);
    assert_eq!(
        reg.dispatch(&m, "permissions.trustedReload", &[]),
        Err(RpcError::new(500, "Reload failed."))
    );
}

use super::*;
use crate::engine::ctx::WorkerState;
use crate::engine::module::ModuleSet;
use crate::modules::testutil::{core, msg, rcv};
use crate::sip::Message;

fn modules(path: &std::path::Path, extra: &[(&str, &str, ParamValue)]) -> Modules {
    let mut p = ModParams::new();
    p.push(
        "sqlops",
        "sqlcon",
        ParamValue::Str(format!("ca => sqlite://{}", path.display())),
    );
    for (m, n, v) in extra {
        p.push(m, n, v.clone());
    }
    Modules::new(p).expect("valid")
}

/// Runs `f` on a context whose worker has `m`'s per-worker state.
fn with_ctx<R>(m: &Modules, worker: &mut WorkerState, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
    let raw = msg(&[
        "OPTIONS sip:a@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK1",
        "From: <sip:b@127.0.0.1>;tag=1",
        "To: <sip:a@127.0.0.1>",
        "Call-ID: sqlops-test",
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
    ]);
    let msg = Message::parse(&raw).expect("parses");
    let (core, rcv) = (core(), rcv());
    if worker.modules.is_none() {
        worker.modules = m.worker_state();
    }
    let mut out = Vec::new();
    let mut ctx = Ctx::new(&msg, &rcv, &core, worker, &mut out);
    ctx.modules = m;
    f(&mut ctx)
}

fn temp(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("cfgc-sqlops-{name}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn queries_results_and_return_codes() {
    let path = temp("codes");
    let m = modules(&path, &[]);
    let mut w = WorkerState::default();
    with_ctx(&m, &mut w, |ctx| {
        assert_eq!(
            sql_query2(
                ctx,
                b"ca",
                b"create table t (id int, name varchar(32), big bigint, d double)"
            ),
            2
        );
        assert_eq!(
            sql_query2(
                ctx,
                b"ca",
                b"insert into t values (1,'one',9000000000,1.5),(2,NULL,2,2.5)"
            ),
            2
        );
        // db_sqlite has no affected-rows capability.
        assert_eq!(sqlrows(ctx, "ca"), Value::str(b""));
        assert_eq!(
            sql_query(ctx, b"ca", b"select id,name,big,d from t order by id", b"r"),
            1
        );
        assert_eq!(dbr(ctx, "r", DbrKey::Rows), Value::Int(2));
        assert_eq!(dbr(ctx, "r", DbrKey::Cols), Value::Int(4));
        assert_eq!(dbr(ctx, "r", DbrKey::ColName(1)), Value::str(b"name"));
        assert_eq!(dbr(ctx, "r", DbrKey::Cell(0, 0)), Value::Int(1));
        assert_eq!(dbr(ctx, "r", DbrKey::Cell(0, 1)), Value::str(b"one"));
        assert_eq!(
            dbr(ctx, "r", DbrKey::Cell(0, 2)),
            Value::string("9000000000")
        );
        assert_eq!(dbr(ctx, "r", DbrKey::Cell(0, 3)), Value::Null);
        assert_eq!(dbr(ctx, "r", DbrKey::Cell(1, 1)), Value::Null);
        assert_eq!(dbr(ctx, "r", DbrKey::Cell(5, 0)), Value::Null);
        // Through pv::read, as the interpreter reads it.
        let pv = PvRef::Dbr("r".into(), DbrKey::Rows);
        assert_eq!(pv::read(ctx, &pv), Value::Int(2));
        // No rows: 2, and the container is emptied first.
        assert_eq!(
            sql_query(ctx, b"ca", b"select id from t where id=7", b"r"),
            2
        );
        assert_eq!(dbr(ctx, "r", DbrKey::Rows), Value::Int(0));
        // Rows but no container: 3.
        assert_eq!(sql_query2(ctx, b"ca", b"select id from t"), 3);
        // A failing query: -1.
        assert_eq!(sql_query(ctx, b"ca", b"select nope from t", b"r"), -1);
        // An unknown connection: -1.
        assert_eq!(sql_query2(ctx, b"cb", b"select 1"), -1);
        assert_eq!(sql_query(ctx, b"ca", b"select id from t", b"r"), 1);
        assert_eq!(sql_result_free(ctx, b"r"), 1);
        assert_eq!(dbr(ctx, "r", DbrKey::Rows), Value::Int(0));
        assert_eq!(dbr(ctx, "never", DbrKey::Cols), Value::Int(0));
    });
    let _ = std::fs::remove_file(path);
}

#[test]
fn results_maxsize_bounds_the_containers() {
    let path = temp("max");
    let m = modules(&path, &[("sqlops", "results_maxsize", ParamValue::Int(1))]);
    let mut w = WorkerState::default();
    with_ctx(&m, &mut w, |ctx| {
        assert_eq!(sql_query(ctx, b"ca", b"select 1", b"a"), 1);
        assert_eq!(sql_query(ctx, b"ca", b"select 1", b"b"), -1);
        assert_eq!(sql_query(ctx, b"ca", b"select 2", b"a"), 1);
    });
    let _ = std::fs::remove_file(path);
}

#[test]
fn unreachable_databases_refuse_start_up_unless_connect_mode_1() {
    let mut p = ModParams::new();
    p.push(
        "sqlops",
        "sqlcon",
        ParamValue::Str("ca=>sqlite:///nonexistent-dir-cfgc/x.db".into()),
    );
    let e = Modules::new(p.clone()).expect_err("cannot open");
    assert!(e.to_string().contains("failed to connect"), "{e}");
    p.push("sqlops", "connect_mode", ParamValue::Int(1));
    let m = Modules::new(p).expect("starts");
    let mut w = WorkerState::default();
    with_ctx(&m, &mut w, |ctx| {
        assert_eq!(sql_query2(ctx, b"ca", b"select 1"), -2);
    });
    for bad in ["ca", "=>sqlite:///x", "ca=>nourl"] {
        let mut p = ModParams::new();
        p.push("sqlops", "sqlcon", ParamValue::Str(bad.into()));
        assert!(Modules::new(p).is_err(), "{bad}");
    }
}

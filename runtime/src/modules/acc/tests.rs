use std::sync::{Arc, Mutex};

use super::*;
use crate::engine::ctx::WorkerState;
use crate::engine::log::LogSink;
use crate::engine::params::ParamError;
use crate::engine::pv::PvRef;
use crate::modules::Modules;
use crate::modules::testutil::{core, msg, rcv};

fn params(list: &[(&str, ParamValue)]) -> ModParams {
    let mut p = ModParams::new();
    for (n, v) in list {
        p.push("acc", n, v.clone());
    }
    p
}

#[test]
fn record_is_the_references_line_to_the_byte() {
    let mut extras = Vec::new();
    for (name, v) in [
        ("src_user", Value::str(b"alice")),
        ("src_domain", Value::str(b"127.0.0.1")),
        ("src_ip", Value::str(b"127.0.0.1")),
        ("dst_ouser", Value::str(b"bob")),
        ("dst_user", Value::str(b"bob")),
        ("dst_domain", Value::str(b"127.0.0.1")),
    ] {
        push_extra(&mut extras, name, &v);
    }
    let f = Fields {
        method: b"INVITE",
        from_tag: b"a3",
        to_tag: b"b1",
        call_id: b"inv3@x",
        code: b"200",
        reason: b"OK",
    };
    assert_eq!(
        String::from_utf8(record(ANSWERED, 1_700_000_000, &f, &extras)).expect("utf8"),
        "ACC: transaction answered: timestamp=1700000000;method=INVITE;from_tag=a3;to_tag=b1;\
call_id=inv3@x;code=200;reason=OK;src_user=alice;src_domain=127.0.0.1;src_ip=127.0.0.1;\
dst_ouser=bob;dst_user=bob;dst_domain=127.0.0.1\n"
    );
    let f = Fields {
        from_tag: b"a1",
        to_tag: b"b2",
        call_id: b"inv1@x",
        code: b"603",
        reason: b"Decline",
        ..f
    };
    assert_eq!(
        String::from_utf8(record(MISSED, 7, &f, b"")).expect("utf8"),
        "ACC: call missed: timestamp=7;method=INVITE;from_tag=a1;to_tag=b2;call_id=inv1@x;\
code=603;reason=Decline\n"
    );
}

#[test]
fn null_extras_are_empty_and_ints_decimal() {
    let mut out = Vec::new();
    push_extra(&mut out, "a", &Value::Null);
    push_extra(&mut out, "b", &Value::Int(-3));
    push_extra(&mut out, "c", &Value::str(b""));
    assert_eq!(out, b";a=;b=-3;c=");
}

#[test]
fn a_too_long_record_is_cut_at_a_pair() {
    let big = vec![b'x'; 40_000];
    let mut extras = Vec::new();
    push_extra(&mut extras, "one", &Value::str(&big));
    push_extra(&mut extras, "two", &Value::str(&big));
    let line = record(REQUEST, 1, &Fields::default(), &extras);
    let s = String::from_utf8(line).expect("utf8");
    assert!(s.contains(";one=x"), "first pair kept");
    assert!(!s.contains(";two="), "second pair cut");
    assert!(s.ends_with("x\n"));
}

#[test]
fn stock_parameters_are_read() {
    let p = params(&[
        ("early_media", ParamValue::Int(0)),
        ("report_ack", ParamValue::Int(0)),
        ("report_cancels", ParamValue::Int(0)),
        ("detect_direction", ParamValue::Int(0)),
        ("log_flag", ParamValue::Int(1)),
        ("log_missed_flag", ParamValue::Int(2)),
        (
            "log_extra",
            ParamValue::PvList(vec![(
                "src_user".into(),
                PvRef::Plain(cfgc_vocab::PvId::FromUser),
            )]),
        ),
        ("failed_transaction_flag", ParamValue::Int(3)),
    ]);
    let c = Config::from_params(&p).expect("stock acc params");
    assert_eq!(c.log_flag, Some(1));
    assert_eq!(c.log_missed_flag, Some(2));
    assert_eq!(c.failed_transaction_flag, Some(3));
    assert_eq!(c.log_level, 1);
    assert!(!c.early_media && !c.report_cancels);
}

#[test]
fn what_we_cannot_do_is_refused_at_start_up() {
    for (name, v) in [
        ("db_insert_mode", ParamValue::Int(1)),
        ("cdr_enable", ParamValue::Int(1)),
        ("report_ack", ParamValue::Int(1)),
        ("detect_direction", ParamValue::Int(1)),
        ("time_mode", ParamValue::Int(1)),
        ("multi_leg_info", ParamValue::Str("caller=$avp(s)".into())),
    ] {
        let e = params(&[(name, v)]).check_supported().expect_err(name);
        assert!(
            matches!(&e, ParamError::Unsupported { module, name: n, .. } if module == "acc" && n == name),
            "{e}"
        );
        let e = e.to_string();
        assert!(e.contains(name) && e.contains("not supported"), "{e}");
    }
    // Their defaults are fine.
    let ok = params(&[
        ("db_flag", ParamValue::Int(-1)),
        ("cdr_enable", ParamValue::Int(0)),
        ("db_url", ParamValue::Str(String::new())),
    ]);
    assert!(ok.check_supported().is_ok());
    assert!(Config::from_params(&ok).is_ok());
}

#[test]
fn database_accounting_reads_its_parameters() {
    // The stock WITH_ACCDB lines (db_extra as cfgc resolves it).
    let extra = ParamValue::PvList(Vec::new());
    let p = params(&[
        ("db_flag", ParamValue::Int(1)),
        ("db_missed_flag", ParamValue::Int(2)),
        (
            "db_url",
            ParamValue::Str("mysql://k:k@localhost/kamailio".into()),
        ),
        ("db_extra", extra),
        ("acc_sip_code_column", ParamValue::Str("code".into())),
    ]);
    assert!(p.check_supported().is_ok());
    let c = Config::from_params(&p).expect("stock acc db params");
    let d = c.db.expect("a db_url turns database accounting on");
    assert_eq!((d.flag, d.missed_flag), (Some(1), Some(2)));
    assert_eq!(
        (d.table_acc.as_str(), d.table_missed.as_str()),
        ("acc", "missed_calls")
    );
    assert_eq!(d.columns[4], "code");
    assert_eq!(d.columns[6], "time");
    // Without a db_url, nothing goes to a database whatever the flags.
    let c = Config::from_params(&params(&[("db_flag", ParamValue::Int(1))])).expect("ok");
    assert!(c.db.is_none());
    // A table name with PVs (evaluated per record by Kamailio) is refused.
    let e = Config::from_params(&params(&[
        ("db_url", ParamValue::Str("sqlite:///tmp/a.db".into())),
        ("db_table_acc", ParamValue::Str("acc_$var(x)".into())),
    ]));
    assert!(e.is_err(), "{e:?}");
}

#[test]
fn bad_values_are_refused() {
    for (name, v) in [
        ("log_flag", ParamValue::Int(32)),
        ("log_flag", ParamValue::Str("x".into())),
        ("log_facility", ParamValue::Str("LOG_NOPE".into())),
        ("failed_filter", ParamValue::Str("404,20".into())),
        ("failed_filter", ParamValue::Str("200".into())),
    ] {
        assert!(
            Config::from_params(&params(&[(name, v)])).is_err(),
            "{name}"
        );
    }
    let c = Config::from_params(&params(&[
        ("failed_filter", ParamValue::Str("404,486".into())),
        ("log_facility", ParamValue::Str("LOG_LOCAL0".into())),
        ("log_flag", ParamValue::Int(-1)),
    ]))
    .expect("ok");
    assert_eq!(c.failed_filter, [404, 486]);
    assert_eq!(c.log_flag, None);
}

#[test]
fn armed_from_the_flags_at_creation() {
    let c = Config {
        log_flag: Some(1),
        log_missed_flag: Some(2),
        ..Config::default()
    };
    assert_eq!(armed(&c, Method::Invite, 0), Armed::default());
    assert_eq!(
        armed(&c, Method::Invite, 1 << 1),
        Armed {
            reply: true,
            failure: false
        }
    );
    assert_eq!(
        armed(&c, Method::Invite, 1 << 2),
        Armed {
            reply: true,
            failure: true
        }
    );
    assert_eq!(
        armed(&c, Method::Bye, 1 << 2),
        Armed {
            reply: true,
            failure: false
        }
    );
    assert_eq!(armed(&c, Method::Cancel, 1 << 1), Armed::default());
    let c = Config {
        report_cancels: true,
        ..c
    };
    assert!(armed(&c, Method::Cancel, 1 << 1).reply);
}

#[test]
fn error_text_is_kamailios() {
    assert_eq!(error_text(408), "Request Timeout");
    assert_eq!(error_text(500), "Server Internal Error");
    assert_eq!(error_text(499), "Request Failure");
    assert_eq!(error_text(699), "Global Failure");
}

/// `acc_log_request` on a request, logged to memory.
fn log_request_of(comment: &[u8], debug: i32) -> Vec<String> {
    let raw = msg(&[
        "INVITE sip:bob@example.com SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "From: <sip:alice@example.com>;tag=a1",
        "To: <sip:bob@example.com>",
        "Call-ID: c1@x",
        "CSeq: 7 INVITE",
        "Content-Length: 0",
    ]);
    let m = crate::sip::Message::parse(&raw).expect("parses");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let core = crate::engine::CoreConfig {
        log: LogSink::Memory(lines.clone()),
        debug: debug.into(),
        ..core()
    };
    let rcv = rcv();
    let modules = Modules::default();
    let mut worker = WorkerState::default();
    let mut out = Vec::new();
    let mut ctx = Ctx::new(&m, &rcv, &core, &mut worker, &mut out);
    ctx.modules = &modules;
    assert_eq!(acc_log_request(&mut ctx, comment), 1);
    drop(ctx);
    let v = lines.lock().expect("lines").clone();
    v.into_iter()
        .map(|l| {
            let (a, b) = l.split_once("timestamp=").expect("record");
            format!(
                "{a}timestamp=T{}",
                b.trim_start_matches(|c: char| c.is_ascii_digit())
            )
        })
        .collect()
}

#[test]
fn acc_log_request_with_and_without_a_code() {
    assert_eq!(
        log_request_of(b"200 Done now", 2),
        [
            "NOTICE: acc [acc.c:287]: acc_log_request(): ACC: request accounted: timestamp=T;\
method=INVITE;from_tag=a1;to_tag=;call_id=c1@x;code=200;reason=Done now"
        ]
    );
    assert_eq!(
        log_request_of(b"just a note", 2),
        [
            "NOTICE: acc [acc.c:287]: acc_log_request(): ACC: request accounted: timestamp=T;\
method=INVITE;from_tag=a1;to_tag=;call_id=c1@x;code=;reason=just a note"
        ]
    );
    // NOTICE is not printed with debug=0.
    assert!(log_request_of(b"x", 0).is_empty());
}

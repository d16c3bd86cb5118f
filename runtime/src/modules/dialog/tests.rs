use super::*;
use crate::engine::params::ParamValue;
use crate::modules::Modules;
use crate::modules::testutil::{msg, run_with};
use crate::sip::Message;

fn modules(extra: &[(&str, ParamValue)]) -> Modules {
    let mut p = ModParams::new();
    p.push(M, "profiles_no_value", ParamValue::Str("calls".into()));
    p.push(M, "profiles_with_value", ParamValue::Str("caller".into()));
    for (n, v) in extra {
        p.push(M, n, v.clone());
    }
    Modules::new(p).expect("modules")
}

fn invite(call_id: &str) -> Vec<u8> {
    let cid = format!("Call-ID: {call_id}");
    msg(&[
        "INVITE sip:bob@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "From: <sip:alice@127.0.0.1>;tag=ft1",
        "To: <sip:bob@127.0.0.1>",
        &cid,
        "CSeq: 10 INVITE",
        "Contact: <sip:alice@127.0.0.1:5080>",
        "Content-Length: 0",
    ])
}

fn within(method: &str, call_id: &str, route: &str) -> Vec<u8> {
    let start = format!("{method} sip:bob@127.0.0.1:5090 SIP/2.0");
    let cid = format!("Call-ID: {call_id}");
    let cseq = format!("CSeq: 11 {method}");
    msg(&[
        &start,
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-2",
        route,
        "From: <sip:alice@127.0.0.1>;tag=ft1",
        "To: <sip:bob@127.0.0.1>;tag=tt1",
        &cid,
        &cseq,
        "Content-Length: 0",
    ])
}

fn ok_reply(call_id: &str) -> Vec<u8> {
    let cid = format!("Call-ID: {call_id}");
    msg(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "From: <sip:alice@127.0.0.1>;tag=ft1",
        "To: <sip:bob@127.0.0.1>;tag=tt1",
        &cid,
        "CSeq: 10 INVITE",
        "Content-Length: 0",
    ])
}

/// The `did` parameter `dlg_manage` left for the Record-Route.
fn did(ctx: &Ctx<'_>) -> Option<String> {
    ctx.headers.iter().find_map(|op| match op {
        HeaderOp::Note("rr.param", v) => Some(String::from_utf8_lossy(v).into_owned()),
        _ => None,
    })
}

#[test]
fn reverse_hex_round_trips() {
    for n in [0u32, 1, 0x4a5, 0x6dd, 4095, u32::MAX] {
        let mut v = Vec::new();
        push_reverse_hex(&mut v, n);
        assert_eq!(parse_reverse_hex(&v), Some(n));
    }
    let mut v = Vec::new();
    push_reverse_hex(&mut v, 0x4a5);
    assert_eq!(v, b"5a4");
    assert_eq!(parse_reverse_hex(b"xyz"), None);
    assert_eq!(parse_reverse_hex(b""), None);
}

#[test]
fn parameters_are_checked_as_kamailio_does() {
    let mut p = ModParams::new();
    p.push(M, "profiles_no_value", ParamValue::Str("a-b".into()));
    assert!(Dialog::from_params(&p).is_err());
    let mut p = ModParams::new();
    p.push(M, "default_timeout", ParamValue::Int(0));
    assert!(Dialog::from_params(&p).is_err());
    let mut p = ModParams::new();
    p.push(M, "dlg_match_mode", ParamValue::Int(3));
    assert!(Dialog::from_params(&p).is_err());
    let mut p = ModParams::new();
    p.push(M, "hash_size", ParamValue::Int(1000));
    p.push(M, "profiles_no_value", ParamValue::Str(" a ; b ;".into()));
    let d = Dialog::from_params(&p).expect("valid");
    assert_eq!(d.hash_size, 512);
    assert_eq!(d.profiles.len(), 2);
    assert_eq!(d.profile(b"b"), Some(1));
}

#[test]
fn a_call_is_created_confirmed_and_ended() {
    let m = modules(&[]);
    let now = Instant::now();
    let raw = invite("c1@x");
    let (id, _) = run_with(&raw, &m, now, |ctx| {
        assert_eq!(dlg_manage(ctx), 1);
        // A second call on the same message: a dialog is bound already.
        assert_eq!(dlg_manage(ctx), -1);
        assert_eq!(set_dlg_profile(ctx, b"calls"), 1);
        assert_eq!(set_dlg_profile_value(ctx, b"caller", b"alice"), 1);
        assert_eq!(set_dlg_profile_value(ctx, b"caller", b""), -1);
        assert_eq!(set_dlg_profile(ctx, b"nope"), -1);
        assert_eq!(is_in_profile_value(ctx, b"caller", b"alice"), 1);
        assert_eq!(is_in_profile_value(ctx, b"caller", b"bob"), -1);
        assert_eq!(is_known_dlg(ctx), 1);
        let id = current(ctx).expect("bound");
        let want = {
            let mut v = b";did=".to_vec();
            push_reverse_hex(&mut v, id.0);
            v.push(b'.');
            push_reverse_hex(&mut v, id.1);
            String::from_utf8(v).expect("ascii")
        };
        assert_eq!(did(ctx), Some(want));
        assert_eq!(pv_state(ctx), Value::Int(1));
        assert_eq!(pv_to_tag(ctx), Value::Null);
        id
    });
    assert_eq!(id.0, super::super::cfgutils::slot_hash(b"c1@x", 4096));
    assert_eq!(m.dialog.profile_size(0, None), 1);
    assert_eq!(m.dialog.profile_size(1, Some(b"alice")), 1);
    assert_eq!(m.dialog.profile_size(1, Some(b"bob")), 0);

    // The 2xx goes upstream.
    let reply = ok_reply("c1@x");
    let rm = Message::parse(&reply).expect("reply");
    run_with(&raw, &m, now, |ctx| {
        m.dialog
            .on_reply(tmcb::RESPONSE_OUT, ctx, &TmReply::Received(&rm));
    });
    let d = m.dialog.get(id).expect("dialog");
    assert_eq!((d.state, d.to_tag.as_slice()), (CONFIRMED_NA, &b"tt1"[..]));

    // ACK then BYE through loose_route's callback, by the did.
    let route = {
        let mut v = b"Route: <sip:127.0.0.1:5070;lr;did=".to_vec();
        push_reverse_hex(&mut v, id.0);
        v.push(b'.');
        push_reverse_hex(&mut v, id.1);
        v.push(b'>');
        String::from_utf8(v).expect("ascii")
    };
    let ack = within("ACK", "c1@x", &route);
    run_with(&ack, &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
        assert_eq!(pv_state(ctx), Value::Int(4));
    });
    let bye = within("BYE", "c1@x", &route);
    run_with(&bye, &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
        assert_eq!(pv_state(ctx), Value::Int(5));
        assert_eq!(is_in_profile(ctx, b"calls"), -1);
    });
    assert_eq!(m.dialog.profile_size(0, None), 0);
    // Kept for a while in state 5, then freed.
    m.dialog.expire(now + LINGER - Duration::from_millis(1));
    assert_eq!(m.dialog.len(), 1);
    m.dialog.expire(now + LINGER);
    assert!(m.dialog.is_empty());
}

#[test]
fn a_wrong_did_is_no_match_in_the_default_mode() {
    let m = modules(&[]);
    let now = Instant::now();
    let raw = invite("c2@x");
    run_with(&raw, &m, now, |ctx| assert_eq!(dlg_manage(ctx), 1));
    let bye = within("BYE", "c2@x", "Route: <sip:127.0.0.1:5070;lr;did=fff.fff>");
    run_with(&bye, &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
        assert_eq!(current(ctx), None);
    });
    // Without a did (mode 0) nothing is matched either.
    let bye = within("BYE", "c2@x", "Route: <sip:127.0.0.1:5070;lr>");
    run_with(&bye, &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
        assert_eq!(current(ctx), None);
    });
    // Mode 1 falls back to the Call-ID and tags.
    let m = modules(&[("dlg_match_mode", ParamValue::Int(1))]);
    run_with(&raw, &m, now, |ctx| assert_eq!(dlg_manage(ctx), 1));
    run_with(&bye, &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
        assert!(current(ctx).is_some());
    });
}

#[test]
fn the_dlg_flag_makes_the_dialog_when_tm_takes_the_request() {
    let m = modules(&[("dlg_flag", ParamValue::Int(4))]);
    let now = Instant::now();
    let raw = invite("c3@x");
    run_with(&raw, &m, now, |ctx| {
        // No dialog yet: the link waits.
        assert_eq!(set_dlg_profile(ctx, b"calls"), 1);
        assert_eq!(is_in_profile(ctx, b"calls"), -1);
        assert_eq!(m.dialog.request_in(ctx), 0, "flag not set");
        ctx.flags |= 1 << 4;
        assert_eq!(
            m.dialog.request_in(ctx),
            tmcb::RESPONSE_OUT | tmcb::ON_FAILURE
        );
        assert_eq!(is_in_profile(ctx, b"calls"), 1);
        assert!(did(ctx).is_some());
    });
    assert_eq!(m.dialog.profile_size(0, None), 1);
}

#[test]
fn a_negative_reply_fails_the_dialog_and_a_lifetime_ends_it() {
    let m = modules(&[]);
    let now = Instant::now();
    let raw = invite("c4@x");
    let id = run_with(&raw, &m, now, |ctx| {
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(set_dlg_profile(ctx, b"calls"), 1);
        current(ctx).expect("bound")
    })
    .0;
    run_with(&raw, &m, now, |ctx| {
        let r = TmReply::Local {
            code: 486,
            to_tag: b"x",
        };
        m.dialog.on_reply(tmcb::RESPONSE_OUT, ctx, &r);
    });
    assert_eq!(m.dialog.get(id).map(|d| d.state), Some(DELETED));
    assert_eq!(m.dialog.profile_size(0, None), 0);

    let raw = invite("c5@x");
    let id = run_with(&raw, &m, now, |ctx| {
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(set_dlg_profile(ctx, b"calls"), 1);
        assert_eq!(dlg_set_timeout(ctx, 0), -1);
        assert_eq!(dlg_set_timeout(ctx, 2), 1);
        current(ctx).expect("bound")
    })
    .0;
    let reply = ok_reply("c5@x");
    let rm = Message::parse(&reply).expect("reply");
    run_with(&raw, &m, now, |ctx| {
        m.dialog
            .on_reply(tmcb::RESPONSE_OUT, ctx, &TmReply::Received(&rm));
    });
    m.dialog.expire(now + Duration::from_millis(1999));
    assert_eq!(m.dialog.get(id).map(|d| d.state), Some(CONFIRMED_NA));
    m.dialog.expire(now + Duration::from_secs(2));
    assert_eq!(m.dialog.get(id).map(|d| d.state), Some(DELETED));
    assert_eq!(m.dialog.profile_size(0, None), 0);
}

#[test]
fn profile_counts_hold_with_two_workers() {
    let m = modules(&[]);
    let now = Instant::now();
    std::thread::scope(|s| {
        for w in 0..2 {
            let m = &m;
            s.spawn(move || {
                for i in 0..50 {
                    let raw = invite(&format!("w{w}-{i}@x"));
                    run_with(&raw, m, now, |ctx| {
                        assert_eq!(dlg_manage(ctx), 1);
                        assert_eq!(set_dlg_profile(ctx, b"calls"), 1);
                    });
                }
            });
        }
    });
    assert_eq!(m.dialog.profile_size(0, None), 100);
    assert_eq!(m.dialog.len(), 100);
}

#[test]
fn unset_is_refused_in_the_request_route() {
    let m = modules(&[]);
    let raw = invite("c6@x");
    run_with(&raw, &m, Instant::now(), |ctx| {
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(set_dlg_profile(ctx, b"calls"), 1);
        assert_eq!(unset_dlg_profile(ctx, b"calls"), -1);
        ctx.tm.route = crate::tm::RouteKind::Failure;
        assert_eq!(unset_dlg_profile(ctx, b"calls"), 1);
        assert_eq!(unset_dlg_profile(ctx, b"calls"), -1);
    });
}

#[test]
fn dialog_variables_wait_for_the_dialog_and_hold_strings_only() {
    let m = modules(&[]);
    let raw = invite("c7@x");
    let id = run_with(&raw, &m, Instant::now(), |ctx| {
        assert_eq!(set_dlg_var(ctx, "a", Value::Str(b"1".to_vec().into())), 1);
        assert_eq!(set_dlg_var(ctx, "b", Value::Str(b"x".to_vec().into())), 1);
        assert_eq!(set_dlg_var(ctx, "b", Value::Null), 1);
        assert_eq!(dlg_var(ctx, "a"), Value::str(b"1"));
        assert_eq!(dlg_var(ctx, "b"), Value::Null);
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(set_dlg_var(ctx, "n", Value::Int(5)), -1);
        assert_eq!(set_dlg_var(ctx, "e", Value::Str(Vec::new().into())), 1);
        current(ctx).expect("bound")
    })
    .0;
    let d = m.dialog.get(id).expect("dialog");
    assert_eq!(
        d.vars,
        vec![(b"a".to_vec(), b"1".to_vec()), (b"e".to_vec(), Vec::new())]
    );
    // Another message of the dialog reads them.
    run_with(&raw, &m, Instant::now(), |ctx| {
        assert_eq!(dlg_var(ctx, "a"), Value::str(b"1"));
        assert_eq!(dlg_var(ctx, "n"), Value::Null);
    });
}

#[test]
fn timeout_avp_sets_the_lifetime() {
    let mut p = ModParams::new();
    p.push(
        M,
        "timeout_avp",
        ParamValue::PvList(vec![("timeout_avp".into(), PvRef::Avp(0, 0))]),
    );
    let m = Modules::new(p).expect("modules");
    let raw = invite("c8@x");
    run_with(&raw, &m, Instant::now(), |ctx| {
        pv::set_avp(ctx, 0, Value::Int(30));
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(pv_lifetime(ctx), Value::Int(30));
    });
    let raw = invite("c9@x");
    run_with(&raw, &m, Instant::now(), |ctx| {
        // A string is no lifetime: the default.
        pv::set_avp(ctx, 0, Value::Str(b"30".to_vec().into()));
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(pv_lifetime(ctx), Value::Int(43200));
    });
}

/// The route to our Record-Route with the dialog's `did`.
fn did_route(id: (u32, u32)) -> String {
    let mut v = b"Route: <sip:127.0.0.1:5070;lr;did=".to_vec();
    push_reverse_hex(&mut v, id.0);
    v.push(b'.');
    push_reverse_hex(&mut v, id.1);
    v.push(b'>');
    String::from_utf8(v).expect("ascii")
}

#[test]
fn timeout_byes_are_built_from_both_legs() {
    let m = modules(&[
        ("send_bye", ParamValue::Int(1)),
        ("default_timeout", ParamValue::Int(3)),
    ]);
    let now = Instant::now();
    let raw = msg(&[
        "INVITE sip:bob@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "Record-Route: <sip:up1;lr>, <sip:up2;lr>",
        "From: \"A\" <sip:alice@127.0.0.1>;tag=ft1",
        "To: <sip:bob@127.0.0.1>",
        "Call-ID: b1@x",
        "CSeq: 10 INVITE",
        "Contact: <sip:alice@127.0.0.1:5080>",
        "Content-Length: 0",
    ]);
    let id = run_with(&raw, &m, now, |ctx| {
        assert_eq!(dlg_manage(ctx), 1);
        assert_eq!(crate::modules::rr::record_route(ctx), 1);
        m.dialog.request_in(ctx);
        current(ctx).expect("bound")
    })
    .0;
    let route = did_route(id);
    // The 2xx: the callee's proxy, ours, the caller's two.
    let ours = route.replace("Route: ", "Record-Route: ");
    let reply = msg(&[
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-1",
        "Record-Route: <sip:down1;lr>",
        &ours,
        "Record-Route: <sip:up1;lr>, <sip:up2;lr>",
        "From: \"A\" <sip:alice@127.0.0.1>;tag=ft1",
        "To: <sip:bob@127.0.0.1>;tag=tt1",
        "Call-ID: b1@x",
        "CSeq: 10 INVITE",
        "Contact: <sip:bob@10.0.0.2:5062>",
        "Content-Length: 0",
    ]);
    let rm = Message::parse(&reply).expect("reply");
    run_with(&raw, &m, now, |ctx| {
        m.dialog
            .on_reply(tmcb::RESPONSE_OUT, ctx, &TmReply::Received(&rm));
    });
    run_with(&within("ACK", "b1@x", &route), &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
    });
    // A request from the callee: its CSeq is the callee's.
    let upstream = msg(&[
        "INFO sip:alice@127.0.0.1:5080 SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK-3",
        &route,
        "From: <sip:bob@127.0.0.1>;tag=tt1",
        "To: \"A\" <sip:alice@127.0.0.1>;tag=ft1",
        "Call-ID: b1@x",
        "CSeq: 5 INFO",
        "Content-Length: 0",
    ]);
    run_with(&upstream, &m, now, |ctx| {
        assert_eq!(crate::modules::rr::loose_route(ctx), 1);
    });
    // Not yet.
    assert!(m.dialog.expire(now + Duration::from_secs(1)).is_empty());
    let mut ended = m.dialog.expire(now + Duration::from_secs(4));
    assert_eq!(ended.len(), 1);
    let (byes, ended_id, event) = ended.remove(0);
    assert_eq!((ended_id, event), (id, Some(END)));
    assert_eq!(byes.len(), 2);
    let (caller, callee) = (&byes[0].dialog, &byes[1].dialog);
    assert_eq!(caller.rem_target, b"sip:alice@127.0.0.1:5080");
    assert_eq!(
        caller.route_set,
        [b"<sip:up1;lr>".to_vec(), b"<sip:up2;lr>".to_vec()]
    );
    assert_eq!(caller.loc_seq, 6);
    assert_eq!(
        (
            &caller.loc_uri[..],
            &caller.loc_tag[..],
            &caller.rem_uri[..],
            &caller.rem_tag[..]
        ),
        (
            &b"sip:bob@127.0.0.1"[..],
            &b"tt1"[..],
            &b"sip:alice@127.0.0.1"[..],
            &b"ft1"[..]
        )
    );
    assert_eq!(callee.rem_target, b"sip:bob@10.0.0.2:5062");
    assert_eq!(callee.route_set, [b"<sip:down1;lr>".to_vec()]);
    assert_eq!(callee.loc_seq, 11);
    assert_eq!(byes[0].headers, b"Max-Forwards: 70\r\n");
    // Still confirmed (and counted) until a BYE completes.
    assert_eq!(m.dialog.get(id).map(|d| d.state), Some(CONFIRMED));
    assert!(m.dialog.expire(now + Duration::from_secs(5)).is_empty());
    let done = byes[1].on_done.clone().expect("on_done");
    done(&crate::tm::local::Completion {
        code: 408,
        reason: b"Request Timeout",
        reply: None,
    });
    assert_eq!(m.dialog.get(id).map(|d| d.state), Some(DELETED));
}

#[test]
fn dlg_bye_needs_a_confirmed_dialog_and_refuses_a_second_bye_to_a_side() {
    let m = modules(&[]);
    let now = Instant::now();
    let raw = invite("b2@x");
    let id = run_with(&raw, &m, now, |ctx| {
        // No dialog bound.
        assert_eq!(dlg_bye(ctx, b"all"), -1);
        assert_eq!(dlg_manage(ctx), 1);
        // Not confirmed: refused, and the side counts as done.
        assert_eq!(dlg_bye(ctx, b"caller"), -1);
        assert_eq!(dlg_bye(ctx, b"caller"), -1);
        current(ctx).expect("bound")
    })
    .0;
    let d = m.dialog.get(id).expect("dialog");
    assert_eq!(d.state, UNCONFIRMED);
}
